"""The supervisor's ledger, leaderboard and personal file in Chromium, on the demo server, and the
Service Star on a counter tablet: 郭主管 (sup.renmin) runs last month's evaluation, finds 王芳's
Service Star among the proposals with its evidence, approves it with a reason, and a newly enrolled
tablet at 人民路支行 names her on its welcome screen. Then the leaderboard and a personal file. Each
step is checked in the database; the screenshots (phone and tablet, zh-CN and en) are for a person
to look at: test-artifacts/screenshots/admin-ledger-*, admin-leaderboard-*, admin-personal-file-*,
kiosk-service-star-*.

Last month at 人民路支行 holds exactly the ratings made here: 王芳 (E1001) 27 fives and 3 fours,
李娜 (E1002) 18 fives and 6 fours, 陈静 (E1005) 6 fives (too few to be ranked). The suite's pinned clock
(tests/e2e/conftest.py) puts the demo's three days of ratings in this month; run at another time
(RAPPORT_E2E_AT, a month's first three days), they reach last month and the demo's evaluation may
have proposed rewards from them, so the fixture takes those ratings and rewards out first. The demo's
last-month casework (complaints, an inspection) and the warnings it led to stay: the run here may
find those, and adds the rewards.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlmodel import Session, col, select

from models.clock import branch_zone, utcnow
from models.org import Branch, Counter, Staff
from models.rating import Channel, Rating
from models.rollup import day_changed
from models.sanction import Sanction, SanctionKind
from models.scores import local_month
from tests.e2e.conftest import (
    button,
    enrol_tablet,
    icon_button,
    log_tail,
    open_page,
    open_section,
    screenshot,
    sign_in_admin,
    type_multiline,
)

pytestmark = pytest.mark.e2e

REASON = "上月全支行公平得分最高，且无投诉，同意授予。"
SIZES = ("tablet", "phone")


def _month_zh(month: str) -> str:
    year, number = month.split("-")
    return f"{year}年{int(number)}月"


@pytest.fixture(scope="module")
def last_month(server) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Ratings for last month at 人民路支行; returns the month and staff ids by employee number."""
    with server.db.write() as s:
        branch = s.exec(select(Branch).where(Branch.code == "BJ-RM")).one()
        counter = s.exec(select(Counter).where(Counter.code == "BJ-RM-02")).one()
        month = local_month(utcnow(), branch.timezone).previous()
        start, end = month.bounds(branch.timezone)
        _clear_the_demos_month(s, branch, str(month), start, end)
        staff = {p.employee_no: p.id for p in s.exec(select(Staff)).all()}
        plan = {"E1001": [5] * 27 + [4] * 3, "E1002": [5] * 18 + [4] * 6, "E1005": [5] * 6}
        for n, (employee_no, scores) in enumerate(plan.items()):
            for i, score in enumerate(scores):
                s.add(
                    Rating(
                        idempotency_key=f"e2e-ledger-{uuid.uuid4()}",
                        request_hash="e2e",
                        staff_id=staff[employee_no],
                        counter_id=counter.id,
                        branch_id=branch.id,  # type: ignore[arg-type]
                        channel=Channel.kiosk,
                        score=score,
                        created_at=start + timedelta(days=4 + n, hours=1, minutes=11 * i),
                    )
                )
        s.commit()
    return {"month": str(month), "staff": staff}


def _clear_the_demos_month(s: Session, branch: Branch, month: str, start: datetime, end: datetime) -> None:
    """Take the demo's ratings of ``month`` at ``branch`` out, and the rewards its evaluation
    proposed from them (none of them exist when the demo's days all fall in this month)."""
    assert branch.id is not None
    demo_ratings = s.exec(
        select(Rating).where(
            Rating.branch_id == branch.id,
            col(Rating.created_at) >= start,
            col(Rating.created_at) < end,
            col(Rating.idempotency_key).startswith("demo-"),
        )
    ).all()
    tz = branch_zone(branch.timezone)
    for rating in demo_ratings:
        # The dashboards' day totals of a closed day are read from the ratings again.
        day_changed(s, branch_id=branch.id, at=rating.created_at, tz=tz)
        s.delete(rating)
    rewards = s.exec(
        select(Sanction).where(
            Sanction.branch_id == branch.id,
            Sanction.month == month,
            col(Sanction.rule).in_(["service_star", "commendation"]),
        )
    ).all()
    for reward in rewards:
        s.delete(reward)
    s.flush()


def sign_in(browser, server, size: str):  # type: ignore[no-untyped-def]
    page = open_page(browser, server.url + "/admin", size)
    try:
        sign_in_admin(page, "sup.renmin", "demo-sup.renmin", page.get_by_text("投诉队列", exact=True))
    except PlaywrightTimeout:
        pytest.fail(
            f"sup.renmin did not get in; the page shows {page.inner_text('body')!r}\n{log_tail(server)}"
        )
    return page


def shown(page, locator, name: str) -> None:  # type: ignore[no-untyped-def]
    """Wait for ``locator``; if it never shows, fail with a screenshot and what the page says."""
    try:
        locator.wait_for()
    except PlaywrightTimeout:
        screenshot(page, f"failed-{name}")
        pytest.fail(f"{locator} did not show; the page says {page.inner_text('body')!r}")


def scroll_to(page, locator) -> None:  # type: ignore[no-untyped-def]
    """Scroll the Flutter view (a canvas: the DOM does not scroll) until ``locator`` is in its upper half."""
    size = page.viewport_size
    page.mouse.move(size["width"] / 2, size["height"] * 0.7)
    for _ in range(20):
        box = locator.bounding_box()
        if box is not None and 120 < box["y"] < size["height"] / 2:
            return
        page.mouse.wheel(0, 250 if box is None or box["y"] > 120 else -250)
        page.wait_for_timeout(250)


def switch_language(page, size: str, name: str, then: str) -> None:  # type: ignore[no-untyped-def]
    """Tap the language switch ``name`` until the text ``then`` shows. A tap that lands while the
    page is redrawing after the previous tap (a tab change, say) can be lost on a loaded machine;
    the user would tap again, and so does this, up to three times."""
    switch = button(page, name) if size == "tablet" else icon_button(page, name)
    for attempt in range(3):
        switch.click()
        try:
            page.get_by_text(then, exact=True).first.wait_for(timeout=10_000)
            return
        except PlaywrightTimeout:
            if attempt == 2:
                raise


def to_english(page, size: str, then: str) -> None:  # type: ignore[no-untyped-def]
    switch_language(page, size, "English", then)


def to_chinese(page, size: str, then: str) -> None:  # type: ignore[no-untyped-def]
    switch_language(page, size, "中文", then)


def star_of(server, month: str) -> Sanction | None:  # type: ignore[no-untyped-def]
    with server.db.read() as s:
        return s.exec(
            select(Sanction).where(
                Sanction.rule == "service_star",
                Sanction.kind == SanctionKind.honorary_title,
                Sanction.month == month,
                Sanction.branch_id == select(Branch.id).where(Branch.code == "BJ-RM").scalar_subquery(),
            )
        ).first()


def test_1_the_supervisor_runs_last_months_evaluation_and_approves_the_service_star(
    server, browser, last_month
):  # type: ignore[no-untyped-def]
    month, label = last_month["month"], _month_zh(last_month["month"])
    page = sign_in(browser, server, "tablet")
    try:
        button(page, "奖惩台账").click()
        page.get_by_text("月度评估", exact=True).wait_for()
        button(page, "运行评估").click()
        done = re.compile(rf"^人民路支行{label}：新增 (\d+) 项提议，另有 (\d+) 项此前已提出。$")
        page.get_by_text(done).wait_for()
        found = done.match(page.get_by_text(done).inner_text())
        assert found and int(found.group(1)) >= 1, page.get_by_text(done).inner_text()

        star = star_of(server, month)
        assert star is not None and star.staff_id == last_month["staff"]["E1001"], log_tail(server)
        assert star.status == "proposed" and star.evidence["ratings"]["count"] == 30
        # Its card (and the bonus's) shows the evidence: 30 ratings averaging 4.9, ranked first.
        figures = page.get_by_text(
            re.compile(r"^评价 30 条 · 平均 4.90 · 公平得分 [\d.]+（95% 区间 [\d.]+–[\d.]+）· 第 1 名$")
        ).first
        figures.wait_for()
        scroll_to(page, figures)
        page.mouse.move(0, 0)
        screenshot(page, "admin-ledger-tablet-zh")

        type_multiline(page, f"对 #{star.id} 的决定理由（必填）", REASON)
        button(page, f"批准 #{star.id}").click()
        page.get_by_text(f"提议 #{star.id} 已批准。", exact=True).wait_for()
        star = star_of(server, month)
        assert star is not None and (star.status, star.decision_reason) == ("approved", REASON)

        to_english(page, "tablet", "Monthly evaluation")
        page.mouse.move(0, 0)
        screenshot(page, "admin-ledger-tablet-en")
    finally:
        page.context.close()


def test_2_a_counter_tablet_names_the_service_star(server, browser, last_month):  # type: ignore[no-untyped-def]
    star = star_of(server, last_month["month"])
    if star is None or star.status != "approved":
        pytest.skip("run with test 1, which approves the Service Star")
    line = f"{_month_zh(last_month['month'])}服务之星：王芳"
    for size in SIZES:
        tablet = enrol_tablet(browser, server, "BJ-RM-03", size)
        page = tablet.page
        try:
            page.get_by_text(line, exact=True).wait_for()
            screenshot(page, f"kiosk-service-star-{size}-zh-CN")
            button(page, "English").click()
            page.get_by_text(re.compile(r"^Service Star of \w+ \d{4}: 王芳$")).wait_for()
            screenshot(page, f"kiosk-service-star-{size}-en")
        finally:
            page.context.close()


@pytest.mark.parametrize("size", SIZES)
def test_3_the_leaderboard_opens_a_personal_file(server, browser, last_month, size):  # type: ignore[no-untyped-def]
    page = sign_in(browser, server, size)
    try:
        open_section(page, "人员排行")  # a tab, or under 更多 on a phone
        page.get_by_text("服务排行榜", exact=True).wait_for()
        page.get_by_text(re.compile(r"^公平得分的算法")).wait_for()
        # Last month, whose ratings at the branch are the fixture's: 王芳 first, 李娜 second.
        label = _month_zh(last_month["month"])
        page.get_by_role("button", name=re.compile(r"^月份: ")).click()
        button(page, label).click()
        shown(page, button(page, f"月份: {label}"), f"leaderboard-month-{size}")
        first = page.get_by_role("button", name=re.compile(r"^打开王芳的个人档案 第 1 名 "))
        shown(page, first, f"leaderboard-{size}")
        shown(page, page.get_by_role("button", name=re.compile(r"^打开李娜的个人档案 第 2 名 ")), size)
        page.mouse.move(0, 0)
        screenshot(page, f"admin-leaderboard-{size}-zh")

        page.get_by_role("button", name=re.compile(r"^打开王芳的个人档案")).click()
        page.get_by_text("个人档案", exact=True).wait_for()
        page.get_by_text("王芳", exact=True).wait_for()
        page.get_by_text("近六个月（公平得分）", exact=True).wait_for()
        page.mouse.move(0, 0)
        screenshot(page, f"admin-personal-file-{size}-zh")
        # Further down: the ledger, with the Service Star approved in test 1 and who approved it.
        ledger_part = page.get_by_text("奖惩记录", exact=True)
        scroll_to(page, ledger_part)
        page.get_by_text(re.compile(r"^批准 · 郭主管 · ")).first.wait_for()
        screenshot(page, f"admin-personal-file-records-{size}-zh")

        to_english(page, size, "Personal file")
        page.mouse.move(0, 0)
        screenshot(page, f"admin-personal-file-{size}-en")
        button(page, "Back to the leaderboard").click()
        page.get_by_text("Leaderboard", exact=True).wait_for()
        page.mouse.move(0, 0)
        screenshot(page, f"admin-leaderboard-{size}-en")
        if size == "phone":
            open_section(page, "Ledger", more="More")
            page.get_by_text("Monthly evaluation", exact=True).wait_for()
            page.mouse.move(0, 0)
            screenshot(page, "admin-ledger-phone-en")
            button(page, "Propose").click()
            page.get_by_text("Propose a reward or penalty", exact=True).wait_for()
            button(page, "Submit the proposal").click()
            page.get_by_text("Please correct the marked fields.", exact=True).wait_for()
            page.mouse.move(0, 0)
            screenshot(page, "admin-ledger-propose-phone-en")
            page.get_by_role("button", name=re.compile(r"^Proposals \(\d+\)$")).click()
            to_chinese(page, size, "月度评估")
            page.mouse.move(0, 0)
            screenshot(page, "admin-ledger-phone-zh")
    finally:
        page.context.close()
