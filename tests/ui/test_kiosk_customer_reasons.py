"""Issue 19, customer words for reasons, in process: after a low (or middling) score the kiosk offers
what customers say went wrong (等太久了, 态度不好 …), after a high score what they liked (很快, 态度好 …),
six at first and "更多 / More" for the rest; the rating stores the conduct clauses those words stand
for, and a formal complaint is filed under the main clause of the reason picked as its category."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from kiosk.app import TOKEN_KEY, KioskApp
from models.catalog import ConductClause
from models.clock import pin
from models.complaint import Complaint
from models.rating import Rating
from rapport.core.context import AppContext

sys.path.insert(0, str(Path(__file__).resolve().parent))  # no __init__.py here
from harness import FletHarness  # noqa: E402

SH = ZoneInfo("Asia/Shanghai")
LOW_FIRST = ["等太久了", "态度不好", "没讲清楚", "业务不熟练", "环境不好", "乱收费、推销"]
LOW_MORE = ["不耐烦", "没认真听我说", "闲聊、离岗", "推来推去没解决", "没告诉我进展", "泄露了我的信息",
            "索要好处", "投诉没人管"]  # fmt: skip
HIGH_FIRST_EN = ["Quick", "Friendly", "Explained clearly", "Knew the job", "Patient", "Put me first"]
HIGH_MORE_EN = ["Listened to me", "Kept me informed", "Honest", "Warm and polite", "Kept my privacy",
                "Calm and orderly", "Complaint handled well"]  # fmt: skip


class KioskHarness(FletHarness):
    app: KioskApp


Open = Callable[..., Awaitable[KioskHarness]]


@pytest.fixture(autouse=True)
def fixed_clock():
    pin(datetime(2026, 11, 18, 10, 30, tzinfo=SH))
    yield
    pin(None)


@pytest.fixture
async def counter(ctx: AppContext, world) -> AsyncIterator[KioskHarness]:
    harness: KioskHarness | None = None

    async def main(page: Any) -> None:
        assert harness is not None
        harness.app = KioskApp(page, ctx, sleep=harness.clock.sleep)
        await harness.app.start()

    harness = KioskHarness(main, route="/", local_storage={TOKEN_KEY: world.device_token})
    await harness.__aenter__()
    yield harness
    await harness.close()


def chips(h: FletHarness, prefix: str) -> list[str]:
    """The labels of the reason chips on screen, in order."""
    found = h.find_all(lambda c: c._c == "Chip" and str(getattr(c.key, "value", c.key)).startswith(prefix))
    return [c.label.value for c in found]


async def tap(h: FletHarness, key: str) -> None:
    chip = h.find(key)
    h.session.apply_patch(chip._i, {"selected": not chip.selected})
    await h.event(chip, "select", not chip.selected)


def clause_titles(db) -> set[str]:  # type: ignore[no-untyped-def]
    with db.read() as s:
        return {t for c in s.exec(select(ConductClause)).all() for t in (c.short_zh, c.title_zh, c.short_en)}


async def test_a_low_score_offers_six_complaints_in_customers_words_and_more_on_request(counter, db):
    h = counter
    await h.click("rate-1")
    assert chips(h, "reason-") == LOW_FIRST
    assert h.find("reason-more").content.value == "更多"
    assert not set(h.texts()) & clause_titles(db)  # no 以客为先, 反馈确认 … on the customer's screen

    await h.click("reason-more")
    assert chips(h, "reason-") == LOW_FIRST + LOW_MORE
    assert not h.exists("reason-more")

    await tap(h, "reason-passed-around")  # 推来推去没解决: 1.3.2 (main) and 2.1.1
    await tap(h, "reason-rude")  # 态度不好: 2.2.1 (main) and 2.3.2
    await h.click("details-submit")
    with db.read() as s:
        [rating] = s.exec(select(Rating)).all()
    assert rating.score == 1 and rating.reasons == ["1.3.2", "2.2.1", "2.1.1", "2.3.2"]


async def test_a_middling_score_gets_the_low_list_and_a_high_score_the_praise_list_in_english(counter, db):
    h = counter
    await h.click("rate-3")  # the details screen's threshold: below 4 asks what to improve
    assert chips(h, "reason-") == LOW_FIRST
    await h.click("details-skip")
    await h.click("done")

    await h.click("lang")
    await h.click("rate-5")
    assert chips(h, "reason-") == HIGH_FIRST_EN
    assert h.find("reason-more").content.value == "More"
    await h.click("reason-more")
    assert chips(h, "reason-") == HIGH_FIRST_EN + HIGH_MORE_EN
    await tap(h, "reason-kept-informed")  # 2.3.4
    await tap(h, "reason-quick")  # 2.2.3
    await h.click("details-submit")
    with db.read() as s:
        rated = s.exec(select(Rating).where(Rating.score == 5)).one()
    assert rated.reasons == ["2.3.4", "2.2.3"]


async def test_a_complaint_takes_a_customer_reason_as_its_category_and_files_its_main_clause(counter, db):
    h = counter
    await h.click("rate-2")
    assert not h.exists("reason-impatient")  # folded under "更多"
    await h.click("reason-more")
    await tap(h, "reason-impatient")  # 不耐烦: 2.2.2
    await h.click("open-complaint")
    # The reason picked is the category, shown unfolded since it is not among the first six.
    assert chips(h, "category-") == LOW_FIRST + LOW_MORE
    assert h.find("category-impatient").selected
    await tap(h, "category-unclear")  # 没讲清楚: 2.3.1 (main) and 2.3.4
    await h.fill("description", "问了三遍也没说明白要带什么材料")
    await h.click("complaint-submit")
    with db.read() as s:
        [complaint] = s.exec(select(Complaint)).all()
        [rating] = s.exec(select(Rating)).all()
    assert complaint.category == "2.3.1"
    assert rating.reasons == ["2.2.2"]  # what they chose on the details screen, kept with the rating
