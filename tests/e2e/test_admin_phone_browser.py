"""The admin app on a phone (issue 19, Done-when 4), in Chromium at 390×844: a supervisor finds the
sections in a bar at the bottom (the most used ones and 更多 / More for the rest) and handles a
complaint from the queue to closed through it, in zh-CN, with no sideways scrolling: after each step
the document is no wider than the window and no node of Flutter's semantics tree reaches past its
edge (conftest ``assert_fits_width``). The navigation is checked in English too. Each step is in
test-artifacts/screenshots/admin-phone-*.png; 10 and 11 (the queue under 全部 / All) are the
README's docs/screenshots/admin-queue-phone-zh.png and -en.png.
The database shows each step, and the complaint closed at the end.
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlmodel import select

from models.complaint import Complaint, ComplaintStatus, file_complaint, parse_complaint
from models.org import Counter
from models.rating import Channel
from tests.e2e.conftest import (
    assert_fits_width,
    button,
    choose,
    icon_button,
    log_tail,
    open_page,
    open_section,
    pick,
    reveal,
    screenshot,
    sign_in_admin,
    type_multiline,
)

pytestmark = pytest.mark.e2e

ROOT_CAUSE = "问题根源（解决前必填）"
REPLY = "给客户的答复（将显示在查询页面）"
# The bar of a supervisor's phone, in order; the alerts' entry carries the number waiting.
BAR_ZH = ("投诉处理", "看板", re.compile(r"^实时提醒(（\d+）)?$"), "更多")
BAR_EN = ("Complaints", "Dashboard", re.compile(r"^Alerts( \(\d+\))?$"), "More")
# Some of what is under More, never in the bar.
MORE_ZH = ("电话登记", "检查", "培训", "文档导出", "奖惩台账", "人员排行", "规则设置", "我的账号")
MORE_EN = ("Hotline", "Inspections", "Training", "Documents", "Ledger", "People", "Rules", "My account")


def file_one(server) -> int:  # type: ignore[no-untyped-def]
    """A new complaint at 人民路支行's counter 2, filed straight through the model."""
    with server.db.write() as s:
        counter = s.exec(select(Counter).where(Counter.code == "BJ-RM-02")).one()
        data = parse_complaint({"category": "2.2.3", "description": "排队四十分钟，窗口一直没人叫号。"})
        complaint, _code, _ = file_complaint(
            s, idempotency_key=f"e2e-phone-{uuid.uuid4()}", data=data, channel=Channel.kiosk,
            branch_id=counter.branch_id, counter_id=counter.id,
        )  # fmt: skip
        assert complaint.id is not None
        return complaint.id


def status_of(server, complaint_id: int) -> Complaint:  # type: ignore[no-untyped-def]
    with server.db.read() as s:
        complaint = s.get(Complaint, complaint_id)
        assert complaint is not None
        return complaint


def entry(page, name):  # type: ignore[no-untyped-def]
    """A navigation entry (or any button) by its exact name or a pattern."""
    if isinstance(name, str):
        return button(page, name)
    return page.get_by_role("button", name=name)


def check_bar(page, names, absent) -> None:  # type: ignore[no-untyped-def]
    """The bottom bar holds ``names``, side by side along the bottom of the window, and none of
    ``absent`` (they are under More)."""
    size = page.viewport_size
    boxes = []
    for name in names:
        found = entry(page, name)
        found.first.wait_for()
        assert found.count() == 1, f"{name!r} is on screen {found.count()} times"
        box = found.first.bounding_box()
        assert box is not None and box["height"] >= 48, f"{name!r}: {box}"
        assert box["y"] + box["height"] <= size["height"] + 1 and box["y"] >= size["height"] - 90, (
            f"{name!r} is not in a bar at the bottom: {box}"
        )
        boxes.append(box)
    lefts = [b["x"] for b in boxes]
    assert lefts == sorted(lefts), f"the bar's entries are out of order: {boxes}"
    for name in absent:
        assert entry(page, name).count() == 0, f"{name!r} is in the bar; it belongs under More"


def check_current(page, current, others) -> None:  # type: ignore[no-untyped-def]
    """The open section's bar entry is marked current for a screen reader (``aria-current="true"``),
    not only shaded; the other entries say they are not (common.py ``marked_current``)."""
    from playwright.sync_api import expect

    expect(entry(page, current).first).to_have_attribute("aria-current", "true")
    for name in others:
        expect(entry(page, name).first).to_have_attribute("aria-current", "false")


def check_more(page, more: str, title: str, names) -> None:  # type: ignore[no-untyped-def]
    """More opens a sheet naming the rest of the sections; it closes again."""
    button(page, more).click()
    page.get_by_text(title, exact=True).wait_for()
    for name in names:
        button(page, name).wait_for()
    page.mouse.move(0, 0)  # off the entries: no hover shade in the screenshot


def bottom(page) -> None:  # type: ignore[no-untyped-def]
    """Wheel the screen to its end, then move the pointer off it (no hover shade)."""
    page.mouse.move(195, 400)
    page.mouse.wheel(0, 100_000)
    page.wait_for_timeout(500)
    page.mouse.move(0, 0)


def near_top(page, locator) -> None:  # type: ignore[no-untyped-def]
    """Wheel the screen until ``locator`` sits just under the top bar, for the README's queue picture."""
    locator.wait_for()
    page.wait_for_timeout(500)  # the list redrawn after a filter settles first
    for _ in range(15):
        box = locator.bounding_box()
        if box is not None and abs(box["y"] - 130) < 30:
            break
        page.mouse.move(195, 400)
        page.mouse.wheel(0, 300 if box is None else box["y"] - 130)
        page.wait_for_timeout(400)
    page.mouse.move(0, 0)


def step(page, action: str, status: str, *, expect_text: str = "已保存。") -> None:  # type: ignore[no-untyped-def]
    """Press a casework button, wait for the answer and the new status."""
    button(page, action).click()
    page.get_by_text(expect_text, exact=True).wait_for()
    page.get_by_text(status, exact=True).first.wait_for()


def test_a_supervisor_handles_a_complaint_end_to_end_on_a_phone(server, browser):  # type: ignore[no-untyped-def]
    complaint_id = file_one(server)
    page = open_page(browser, server.url + "/admin", "phone")
    try:
        try:
            sign_in_admin(page, "sup.renmin", "demo-sup.renmin", page.get_by_text("投诉队列", exact=True))
        except PlaywrightTimeout:
            screenshot(page, "failed-phone-sign-in")
            pytest.fail(f"no queue after signing in: {page.inner_text('body')!r}\n{log_tail(server)}")

        # 1. The queue, with the navigation in one bar at the bottom.
        check_bar(page, BAR_ZH, MORE_ZH)
        check_current(page, "投诉处理", ("看板", "更多"))
        card = page.get_by_role("button", name=re.compile(rf"^查看投诉 #{complaint_id} "))
        reveal(page, card)
        page.mouse.move(0, 0)
        assert_fits_width(page, "the queue")
        screenshot(page, "admin-phone-1-queue-zh")

        # 2. More: every other section, in a sheet; closed again with its close button.
        check_more(page, "更多", "更多功能", MORE_ZH)
        assert_fits_width(page, "the More sheet")
        screenshot(page, "admin-phone-2-more-zh")
        icon_button(page, "关闭菜单").click()
        page.get_by_text("更多功能", exact=True).wait_for(state="hidden")

        # 3. The dashboard from the bar, and back to the complaints. Its tables are stacked, a block
        # per counter (and per severity), on a phone: nothing in it scrolls sideways, top to bottom.
        open_section(page, "看板")
        page.get_by_text("服务看板", exact=True).wait_for()
        check_bar(page, BAR_ZH, ())
        check_current(page, "看板", ("投诉处理", "更多"))
        page.mouse.move(0, 0)
        assert_fits_width(page, "the dashboard")
        screenshot(page, "admin-phone-3-dashboard-zh")
        for _ in range(8):  # down a screenful at a time: the counters, the deadlines, the clauses
            page.mouse.move(195, 400)
            page.mouse.wheel(0, 600)
            page.wait_for_timeout(300)
            assert_fits_width(page, "the dashboard, further down")
        page.mouse.move(0, 0)
        open_section(page, "投诉处理")
        page.get_by_text("投诉队列", exact=True).wait_for()

        # 4. The complaint: take it, acknowledge it, investigate.
        reveal(page, card)
        card.click()
        page.get_by_text(f"投诉 #{complaint_id}", exact=True).wait_for()
        check_bar(page, BAR_ZH, ())
        page.mouse.move(0, 0)
        assert_fits_width(page, "the complaint")
        screenshot(page, "admin-phone-4-complaint-zh")
        step(page, "由我处理", "新投诉")
        assert status_of(server, complaint_id).assignee_id is not None
        step(page, "受理", "已受理")
        assert status_of(server, complaint_id).status == ComplaintStatus.acknowledged
        step(page, "开始调查 / 重新处理", "调查中")
        assert status_of(server, complaint_id).status == ComplaintStatus.investigating
        assert_fits_width(page, "the complaint under investigation")
        screenshot(page, "admin-phone-5-investigating-zh")

        # 5. The investigation and the reply, then resolved.
        reply = "已增开窗口并调整叫号，感谢您的反馈。"
        type_multiline(page, ROOT_CAUSE, "午间只开一个窗口")
        type_multiline(page, REPLY, reply)
        choose(page, "核实结论（解决前必填）", "属实")
        choose(page, "涉及（解决前必填）", "办事流程")
        page.mouse.move(0, 0)
        assert_fits_width(page, "the investigation form")
        screenshot(page, "admin-phone-6-investigation-zh")
        step(page, "标记为已处理并答复", "待客户确认")
        complaint = status_of(server, complaint_id)
        assert complaint.status == ComplaintStatus.resolved, log_tail(server)
        assert (complaint.root_cause, complaint.reply) == ("午间只开一个窗口", reply)
        assert (complaint.finding, complaint.about) == ("substantiated", "process")
        assert_fits_width(page, "the resolved complaint")
        screenshot(page, "admin-phone-7-resolved-zh")

        # 6. Closed from the phone, and back in the queue under 已结案.
        step(page, "结案", "已结案")
        complaint = status_of(server, complaint_id)
        assert complaint.status == ComplaintStatus.closed and complaint.closed_at is not None
        page.mouse.move(0, 0)
        assert_fits_width(page, "the closed complaint")
        screenshot(page, "admin-phone-8-closed-zh")
        bottom(page)  # the steps taken and the timeline, under the form
        assert_fits_width(page, "the timeline")
        screenshot(page, "admin-phone-8-closed-timeline-zh")
        page.mouse.wheel(0, -100_000)
        button(page, "返回队列").click()
        pick(page, "已结案")
        reveal(page, card)
        page.mouse.move(0, 0)
        assert_fits_width(page, "the closed queue")
        screenshot(page, "admin-phone-9-queue-closed-zh")
        pick(page, "全部")
        near_top(page, page.get_by_role("checkbox", name="待处理"))  # the complaints, under the 差评
        screenshot(page, "admin-phone-10-queue-all-zh")

        # 7. The same navigation in English.
        icon_button(page, "English").click()
        page.get_by_text("Complaint queue", exact=True).wait_for()
        check_bar(page, BAR_EN, MORE_EN)
        assert_fits_width(page, "the queue in English")
        near_top(page, page.get_by_role("checkbox", name="Open"))
        screenshot(page, "admin-phone-11-queue-all-en")
        check_more(page, "More", "More sections", MORE_EN)
        assert_fits_width(page, "the More sheet in English")
        screenshot(page, "admin-phone-12-more-en")
        button(page, "People").click()
        page.get_by_text("More sections", exact=True).wait_for(state="hidden")
        page.get_by_text("Leaderboard", exact=True).wait_for()
        check_current(page, "More", ("Complaints", "Dashboard"))
        open_section(page, "Complaints", more="More")
        page.get_by_text("Complaint queue", exact=True).wait_for()
    finally:
        page.context.close()
    assert status_of(server, complaint_id).status == ComplaintStatus.closed
