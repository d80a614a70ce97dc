"""Issue 19, customer words for reasons, in Chromium at phone size: after a low score the kiosk offers
what customers say went wrong, after a high one what they liked, in zh-CN and en, six chips first and
"更多 / More" revealing the rest; the rating stores the conduct clauses those words stand for.
Screenshots: reasons-phone-{zh,en}[-more].png among the test artifacts."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlmodel import col, select

from models.catalog import customer_reasons
from models.rating import Rating
from tests.e2e.conftest import button, enrol_tablet, log_tail, pick, screenshot, tap_face

pytestmark = pytest.mark.e2e
SIX = 6  # chips shown before "更多 / More" (kiosk/screens/reason_chips.py)


def words(polarity: str, locale: str) -> list[str]:
    return [r.label(locale) for r in customer_reasons() if r.polarity == polarity]


def chip_names(page) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(c.get_attribute("aria-label")) for c in page.get_by_role("checkbox").all()]


def more_reveals_the_rest(page, first: list[str], everything: list[str], more: str, shot: str) -> None:  # type: ignore[no-untyped-def]
    expect(page.get_by_role("checkbox", name=first[-1], exact=True)).to_be_visible()
    assert chip_names(page) == first
    screenshot(page, shot)
    button(page, more).click()
    expect(page.get_by_role("checkbox", name=everything[SIX], exact=True)).to_be_attached()
    assert not button(page, more).count()
    assert set(chip_names(page)) == set(everything)
    screenshot(page, f"{shot}-more")


def test_a_low_score_offers_complaints_in_customers_words_and_stores_their_clauses(server, browser):
    low = words("negative", "zh-CN")
    tablet = enrol_tablet(browser, server, "BJ-RM-02", "phone")
    page = tablet.page
    tap_face(page, "非常不满意", "哪些方面需要改进？", server)
    more_reveals_the_rest(page, low[:SIX], low, "更多", "reasons-phone-zh")
    pick(page, "没讲清楚")  # 2.3.1 (main) and 2.3.4
    pick(page, "闲聊、离岗")  # 2.4.1, one of the rest
    button(page, "提交").click()
    page.get_by_text("可以回访您吗？", exact=True).wait_for()

    with server.db.read() as s:
        rows = s.exec(
            select(Rating)
            .where(Rating.device_id == tablet.device_id(server))
            .order_by(col(Rating.created_at))
        ).all()
    assert rows, log_tail(server)
    assert rows[-1].score == 1 and rows[-1].reasons == ["2.3.1", "2.4.1", "2.3.4"]
    page.context.close()


def test_a_high_score_offers_praise_in_customers_words_in_english(server, browser):
    high = words("positive", "en")
    tablet = enrol_tablet(browser, server, "BJ-RM-01", "phone")
    page = tablet.page
    page.get_by_role("button", name=re.compile("English")).click()
    tap_face(page, "Very satisfied", "What did you like?", server)
    more_reveals_the_rest(page, high[:SIX], high, "More", "reasons-phone-en")
    page.context.close()
