"""A staff member reads her rules and decides whether the tablets may name her (issue 16, "Done when" 1).

黄丽 (e1008, the demo's second branch) signs in on a phone and opens "My page" → 规章制度 / My rules: the
rules that can reward or penalise her, in plain words written from the values in force, with each
version's publication and adoption (her branch's change of 150 yuan per deduction, adopted at a staff
representatives' assembly). She is this month's Service Star; she agrees to be named, and the
counter tablet's welcome screen names her; she withdraws, and the next customer's welcome screen does
not. The database is checked at each step. Screenshots of the rules tab at phone size in both
languages go to test-artifacts/screenshots/admin-me-rules-phone-*.png.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect
from sqlmodel import select

from models.clock import utcnow
from models.org import Staff
from models.policy import PolicyRevision, effective_policy, record_adoption, set_policy
from models.sanction import SanctionKind, decide, propose, set_public_name_consent
from models.scores import local_month
from rapport.core.i18n import t
from tests.e2e.conftest import (
    button,
    enable_semantics,
    enrol_tablet,
    icon_button,
    open_page,
    screenshot,
    sign_in_admin,
)
from tests.e2e.test_staff_self_service import read_to_the_end

pytestmark = pytest.mark.e2e

ADOPTED_HOW = "第三届职工代表大会第二次会议"
STAR_LINE = re.compile("服务之星：")
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def huang(server) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """黄丽 as this month's approved Service Star of her branch, not (yet) agreeing to be named; her
    branch's rules changed 40 days ago and that version's adoption recorded."""
    now = utcnow()
    with server.db.write() as s:
        people = {p.username: p for p in s.exec(select(Staff)).all() if p.username}
        her, root = people["e1008"], people["admin"]
        assert her.id and her.branch_id and root.id
        saved_at = now - timedelta(days=40)
        set_policy(s, values={"penalty_deduction_yuan": 150}, branch_id=her.branch_id, actor_staff_id=root.id,
                   now=saved_at)  # fmt: skip
        revision = s.exec(
            select(PolicyRevision)
            .where(PolicyRevision.branch_id == her.branch_id)
            .order_by(PolicyRevision.version.desc())  # type: ignore[attr-defined]
        ).first()
        assert revision is not None and revision.id is not None
        record_adoption(
            s, revision_id=revision.id, adopted_on=(saved_at - timedelta(days=5)).date(), how=ADOPTED_HOW,
            actor_staff_id=root.id, now=saved_at,
        )  # fmt: skip
        # This month's title: the latest approved one is the one the tablets name.
        month = local_month(now, "Asia/Shanghai")
        star = propose(
            s, staff_id=her.id, kind=SanctionKind.honorary_title, reason="本月公平得分最高",
            actor_staff_id=None, rule="service_star", month=str(month), now=now,
        )  # fmt: skip
        assert star.id is not None
        decide(s, star.id, approve=True, reason="同意授予服务之星", actor_staff_id=root.id, now=now)
        set_public_name_consent(s, staff_id=her.id, consent=False, now=now)
        policy = effective_policy(s, her.branch_id)
        return {
            "id": her.id, "name": her.display_name, "branch": her.branch_id, "version": revision.version,
            "published": revision.published_at, "adopted_on": revision.adopted_on, "month": month,
            "cap": policy.deduction_cap_yuan_per_month, "window": policy.appeal_window_days,
        }  # fmt: skip


def consent_of(server, staff_id: int):  # type: ignore[no-untyped-def]
    with server.db.read() as s:
        person = s.get(Staff, staff_id)
        assert person is not None
        return person.public_name_consent_at


def welcome_star(page, server, *, named: bool) -> str | None:  # type: ignore[no-untyped-def]
    """The Service Star line a customer arriving now sees on the tablet (the page opened afresh).
    The tab may first show the screen it had before the counter is read again, so the line is
    awaited in the state expected (``named``: shown; else gone) before it is read: CI once read the
    earlier screen, without the line, just after consent was given."""
    page.goto(f"{server.url}/")
    enable_semantics(page)
    button(page, "非常不满意").wait_for()
    line = page.get_by_text(STAR_LINE)
    try:
        line.first.wait_for(state="visible" if named else "detached", timeout=15_000)
    except PlaywrightTimeout:
        pass  # read as it is: the assertion after the call says what was wrong
    return line.first.inner_text() if line.count() else None


def zh_day(value: date) -> str:
    return f"{value.year}年{value.month}月{value.day}日"


def test_she_reads_her_rules_and_the_tablet_names_her_only_while_she_agrees(server, browser, huang):
    tablet = enrol_tablet(browser, server, "BJ-BJ-01")
    phone = open_page(browser, server.url + "/admin", "phone")
    try:
        assert welcome_star(tablet.page, server, named=False) is None, "no consent: nobody is named"

        sign_in_admin(phone, "e1008", "demo-staff", button(phone, "我的页面"))
        phone.get_by_text("公平评分", exact=True).wait_for(timeout=15_000)
        button(phone, "规章制度").click()
        phone.get_by_text(t("zh-CN", "me.rules.rewards"), exact=True).wait_for()
        screenshot(phone, "admin-me-rules-phone-zh")
        seen = read_to_the_end(phone)
        adopted_on = huang["adopted_on"]
        published = zh_day(huang["published"].astimezone(SHANGHAI).date())
        for words in (
            "之后为扣款 150 元",
            f"每人每月扣款合计不超过 {huang['cap']} 元",
            "不设罚款。",
            f"您可以在得知处理决定之日起 {huang['window']} 天内申诉",
            f"第 {huang['version']} 版（本网点的调整）· 公布于 {published}",
            f"通过：{zh_day(adopted_on)}，{ADOPTED_HOW}",
        ):
            assert words in seen, (words, seen)

        icon_button(phone, "English").click()
        button(phone, "My rules").click()
        phone.get_by_text("Rewards", exact=True).wait_for()
        phone.mouse.wheel(0, -5000)
        screenshot(phone, "admin-me-rules-phone-en")
        seen = read_to_the_end(phone)
        for words in (
            "then a deduction of 150 yuan",
            f"Deductions from your pay total at most {huang['cap']} yuan in a month",
            "There are no fines.",
            f"Version {huang['version']} (your branch's changes) · published",
            f"{ADOPTED_HOW}",
        ):
            assert words in seen, (words, seen)

        # Consent, on the scores tab, in English now.
        button(phone, "My scores").click()
        agree = button(phone, "Agree to show my name")
        agree.scroll_into_view_if_needed()
        agree.click()
        phone.get_by_text("Your consent is recorded.", exact=True).wait_for()
        assert consent_of(server, huang["id"]) is not None
        line = welcome_star(tablet.page, server, named=True)
        assert line is not None and line.endswith(f"服务之星：{huang['name']}"), line

        withdraw = button(phone, "Withdraw consent")
        withdraw.scroll_into_view_if_needed()
        withdraw.click()
        phone.get_by_text("Consent withdrawn: the tablets no longer show your name.", exact=True).wait_for()
        expect(button(phone, "Agree to show my name")).to_be_visible()
        assert consent_of(server, huang["id"]) is None
        gone = welcome_star(tablet.page, server, named=False)
        assert gone is None, "withdrawn: the next customer sees no name"
    finally:
        phone.context.close()
        tablet.page.context.close()
