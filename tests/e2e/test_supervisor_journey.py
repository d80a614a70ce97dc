"""A supervisor's day in the admin app, end to end in Chromium (issue "Done when 1"): a complaint filed
at a kiosk reaches the supervisor's open screen live, the supervisor takes it through every step to
a reply, the customer answers on their status page and the case closes; an overdue complaint is
flagged in the queue; another branch's supervisor sees none of it. Each step is checked in the
database. Also the admin screenshots for the docs (tablet and phone, zh-CN).

The tests run in order and share one signed-in supervisor page (the module's ``renmin`` fixture),
as a supervisor keeps the queue open all day.

Note: headless Chromium sometimes paints a glyph of a text field's Chinese text wrongly (a stroke or
a character missing, two overlapping, once an IME composing underline) although the value sent and
stored is right. Nothing here can see that: look at the detail screenshot before publishing it.
"""

from __future__ import annotations

import re
import time
import uuid
from datetime import timedelta
from io import BytesIO
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect
from sqlmodel import select

from models.alerts import Alert
from models.clock import utcnow
from models.codes import tracking_digest
from models.complaint import Complaint, ComplaintStatus, file_complaint, parse_complaint
from models.org import Counter
from models.rating import Channel
from rapport.core.context import AppContext
from rapport.core.settings import Settings
from rapport.usecases.alerting import overdue_sweep
from tests.e2e.conftest import (
    button,
    choose,
    enrol_tablet,
    icon_button,
    log_tail,
    open_page,
    pick,
    reveal,
    screenshot,
    selectable_texts,
    sign_in_admin,
    tap_face,
    tracking_code_on_screen,
    type_multiline,
)

pytestmark = pytest.mark.e2e

ROOT_CAUSE = "问题根源（解决前必填）"
REPLY = "给客户的答复（将显示在查询页面）"
NEEDS_FINDING = "请先选择核实结论（属实、部分属实、不属实或无法核实）及其涉及的方面。"
ALERTS_TAB = re.compile(r"^实时提醒(（(\d+)）)?$")
# The end of an overdue card's name: how late the reply is.
OVERDUE_LABEL = re.compile(r" 已超时 (\d+ 小时 \d+ 分|\d+ 分钟)$")
# What one test leaves for the next: the kiosk complaint's id and tracking code, the overdue one's id.
JOURNEY: dict[str, Any] = {}


# -- helpers ----------------------------------------------------------------------------------------


def sign_in(browser, server, login: str, size: str = "tablet"):  # type: ignore[no-untyped-def]
    """A fresh browser context signed in to /admin, on the complaint queue."""
    page = open_page(browser, server.url + "/admin", size)
    try:
        sign_in_admin(page, login, f"demo-{login}", page.get_by_text("投诉队列", exact=True))
    except PlaywrightTimeout:
        screenshot(page, f"failed-sign-in-{login}")
        shown = page.inner_text("body")
        pytest.fail(f"{login} did not reach the queue; the page shows {shown!r}\n{log_tail(server)}")
    return page


def alerts_tab(page):  # type: ignore[no-untyped-def]
    return page.get_by_role("button", name=ALERTS_TAB)


def alerts_count(page) -> int:  # type: ignore[no-untyped-def]
    """The number on the alerts tab: "实时提醒（3）" is 3, a plain "实时提醒" is none."""
    label = alerts_tab(page).inner_text().strip()
    found = ALERTS_TAB.match(label)
    assert found, f"the alerts tab reads {label!r}"
    return int(found.group(2) or 0)


EVERYTHING_SHOWN_JS = """() => [...document.querySelectorAll('flt-semantics')]
  .map(e => (e.getAttribute('aria-label') || '') + ' ' + [...e.childNodes]
    .filter(n => n.nodeType === Node.TEXT_NODE || n.tagName === 'SPAN').map(n => n.textContent).join(' '))
  .filter(t => t.trim()).join(' ')"""


def everything_shown(page) -> str:  # type: ignore[no-untyped-def]
    """Every text and accessible name on screen: Flutter merges a tappable card's texts into one name,
    which ``get_by_text`` does not search."""
    return re.sub(r"\s+", " ", str(page.evaluate(EVERYTHING_SHOWN_JS)))


def status_of(server, complaint_id: int) -> Complaint:  # type: ignore[no-untyped-def]
    with server.db.read() as s:
        complaint = s.get(Complaint, complaint_id)
        assert complaint is not None
        return complaint


def card(page, complaint_id: int):  # type: ignore[no-untyped-def]
    """A complaint's card in the queue: one button named by its tooltip and everything it shows,
    "查看投诉 #7 紧急 #7 廉洁自律 新投诉 人民路支行 · 1号窗口 · 王芳 <filed> 剩余 23 小时 5 分"."""
    return page.get_by_role("button", name=re.compile(rf"^查看投诉 #{complaint_id} "))


def show_filter(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """Pick one of the queue's filter chips (a chip already selected stays selected)."""
    chip = page.get_by_role("checkbox", name=name, exact=True)
    if chip.get_attribute("aria-checked") != "true":
        pick(page, name)


def open_complaint(page, complaint_id: int) -> None:  # type: ignore[no-untyped-def]
    card(page, complaint_id).click()
    page.get_by_text(f"投诉 #{complaint_id}", exact=True).wait_for()


def wait_for_status(page, complaint_id: int, status: str) -> None:  # type: ignore[no-untyped-def]
    """The detail screen's heading reads "紧急 投诉 #7 廉洁自律 <status> ..." (one merged text)."""
    heading = re.compile(rf"投诉 #{complaint_id} \S+ (\S+) ")
    deadline = time.monotonic() + 15
    while True:
        found = heading.search(everything_shown(page))
        if found and found.group(1) == status:
            return
        if time.monotonic() > deadline:
            shown = everything_shown(page)
            pytest.fail(
                f"complaint #{complaint_id} shows {found and found.group(1)!r}, not {status!r}: {shown}"
            )
        page.wait_for_timeout(200)


def act(page, action: str, *, expect_text: str = "已保存。") -> None:  # type: ignore[no-untyped-def]
    """Press a casework button and wait for the screen's answer."""
    button(page, action).click()
    page.get_by_text(expect_text, exact=True).wait_for()


def red_share(page, locator, *, wait: float = 10.0) -> float:  # type: ignore[no-untyped-def]
    """The share of error-red (#B3261E) pixels in the lower right quarter of a queue card, where its
    due-time label is (the severity badge, top left, is left out: a high one is red too).

    What can hide the label from a screenshot: the card's accessibility node can appear a frame
    before the canvas shows it (or while the list settles after a filter change); the card can lie
    just below the window (Flutter keeps nodes of nearly visible rows); and the live-alert toast
    ("新提醒：…", raised by the overdue sweep just before) covers the bottom of the window for a few
    seconds. So: wait for the toast to go, wheel the card into the window, and retry the screenshot
    for up to `wait` seconds until red shows; what the last attempt saw is returned (and saved)."""
    toast = page.get_by_text(re.compile("^新提醒："))
    if toast.count():
        toast.first.wait_for(state="hidden", timeout=15_000)
    size = page.viewport_size or {"width": 1280, "height": 800}
    deadline = time.monotonic() + wait
    while True:
        page.mouse.move(size["width"] / 2, size["height"] / 2)
        box = locator.bounding_box()
        assert box is not None
        outside = box["y"] < 0 or box["y"] + box["height"] > size["height"]
        if outside and time.monotonic() < deadline:
            page.mouse.wheel(0, box["y"] - size["height"] / 3)
            page.wait_for_timeout(400)
            continue
        page.mouse.move(0, 0)  # no hover shade
        clip = {"x": box["x"] + box["width"] / 2, "y": box["y"] + box["height"] * 0.7,
                "width": box["width"] / 2, "height": box["height"] * 0.3}  # fmt: skip
        image = Image.open(BytesIO(page.screenshot(clip=clip))).convert("RGB")
        raw = image.tobytes()
        pixels = [tuple(raw[i : i + 3]) for i in range(0, len(raw), 3)]
        red = [p for p in pixels if p[0] > 150 and p[0] - p[1] > 70 and p[0] - p[2] > 70]
        share = len(red) / max(1, len(pixels))
        if share > 0.01:
            return share
        if time.monotonic() > deadline:
            screenshot(page, "failed-overdue-not-red")
            return share
        page.wait_for_timeout(250)


@pytest.fixture(scope="module")
def renmin(server, browser):  # type: ignore[no-untyped-def]
    """The 人民路支行 supervisor's page, signed in at tablet size and kept open for the whole module."""
    page = sign_in(browser, server, "sup.renmin")
    yield page
    page.context.close()


# -- the journey ------------------------------------------------------------------------------------


def test_1_a_high_severity_kiosk_complaint_reaches_the_open_queue_live(server, browser, renmin):
    supervisor = renmin
    alerts_tab(supervisor).wait_for()
    before = alerts_count(supervisor)
    supervisor.evaluate("window.__notReloaded = true")

    tablet = enrol_tablet(browser, server, "BJ-RM-01")
    kiosk = tablet.page
    try:
        tap_face(kiosk, "非常不满意", "哪些方面需要改进？", server)
        button(kiosk, "我要正式投诉").click()
        kiosk.get_by_text("投诉类别").wait_for()
        button(kiosk, "更多").click()  # 索要好处 (2.1.2 廉洁自律, high severity) is past the first six
        pick(kiosk, "索要好处")
        type_multiline(kiosk, "发生了什么（必填，最多 1000 字）", "柜员暗示办理业务要收好处费。")
        button(kiosk, "提交投诉").click()

        # The supervisor's page learns of it without a reload: a toast and a count on the alerts tab.
        toast = supervisor.get_by_text("新提醒：新的紧急投诉", exact=True).first
        problems = []
        try:
            toast.wait_for(timeout=10_000)
        except PlaywrightTimeout:
            problems.append("no toast 新提醒：新的紧急投诉 on the supervisor's page")
        expect(alerts_tab(supervisor)).not_to_have_text(
            re.compile(rf"^实时提醒(（{before}）)?$" if before else r"^实时提醒$"), timeout=10_000
        )
        assert alerts_count(supervisor) >= before + 1
        assert supervisor.evaluate("window.__notReloaded === true"), "the supervisor's page was reloaded"

        kiosk.get_by_text("我们已收到您的投诉").wait_for()
        code = tracking_code_on_screen(kiosk)
    finally:
        kiosk.context.close()

    with server.db.read() as s:
        complaint = s.exec(select(Complaint).where(Complaint.code_digest == tracking_digest(code))).first()
        assert complaint is not None, (
            f"no complaint has the code shown on the kiosk ({code})\n{log_tail(server)}"
        )
        counter = s.exec(select(Counter).where(Counter.code == "BJ-RM-01")).one()
        alert = s.exec(select(Alert).where(Alert.complaint_id == complaint.id)).all()
    assert (complaint.status, complaint.severity, complaint.category) == ("new", "high", "2.1.2")
    assert complaint.counter_id == counter.id
    assert [(a.kind, a.acknowledged_at) for a in alert] == [("high_complaint", None)]
    JOURNEY.update(code=code, id=complaint.id)
    assert not problems, problems


def _file_high_in_db(server) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """A high-severity complaint filed straight through the model, for running test 2 on its own."""
    with server.db.write() as s:
        counter = s.exec(select(Counter).where(Counter.code == "BJ-RM-01")).one()
        data = parse_complaint({"category": "2.1.2", "description": "柜员暗示办理业务要收好处费。"})
        c, code, _ = file_complaint(
            s, idempotency_key=f"e2e-{uuid.uuid4()}", data=data, channel=Channel.kiosk,
            branch_id=counter.branch_id, counter_id=counter.id, score=1,
        )  # fmt: skip
        assert c.id is not None and code is not None
        return c.id, code


def test_2_the_supervisor_takes_it_from_new_to_a_reply_and_the_customer_closes_it(server, browser, renmin):
    page = renmin
    if "id" not in JOURNEY:
        JOURNEY["id"], JOURNEY["code"] = _file_high_in_db(server)
    complaint_id, code = JOURNEY["id"], JOURNEY["code"]

    # The queue was drawn before the complaint came in: the refresh button brings it in.
    show_filter(page, "待处理")
    icon_button(page, "刷新").click()
    card(page, complaint_id).wait_for()
    open_complaint(page, complaint_id)
    wait_for_status(page, complaint_id, "新投诉")
    shown = everything_shown(page)
    for text in (
        "紧急 投诉",
        "人民路支行 · 1号窗口 · 被投诉人：",
        "客户未留联系方式（可凭跟踪码查询）",
        "收到投诉",
    ):
        assert text in shown, f"{text!r} is not on the detail screen: {shown!r}"
    assert "柜员暗示办理业务要收好处费。" in selectable_texts(page)
    assert button(page, "标记为已处理并答复").count() == 0, "a new complaint cannot be resolved yet"

    act(page, "受理")
    wait_for_status(page, complaint_id, "已受理")
    assert status_of(server, complaint_id).status == ComplaintStatus.acknowledged
    act(page, "开始调查 / 重新处理")
    wait_for_status(page, complaint_id, "调查中")
    assert status_of(server, complaint_id).status == ComplaintStatus.investigating

    # Resolving needs a root cause first.
    act(page, "标记为已处理并答复", expect_text="请先填写问题根源。")
    assert status_of(server, complaint_id).status == ComplaintStatus.investigating

    reply = "经调查，该柜员已停岗接受调查，相关费用一律不收取。感谢您的监督。"
    type_multiline(page, ROOT_CAUSE, "柜员违规索要好处费")
    type_multiline(page, REPLY, reply)
    # ... and the finding with what it is about; what was typed stays while the step is refused.
    act(page, "标记为已处理并答复", expect_text=NEEDS_FINDING)
    assert status_of(server, complaint_id).status == ComplaintStatus.investigating
    choose(page, "核实结论（解决前必填）", "属实")
    choose(page, "涉及（解决前必填）", "工作人员")
    act(page, "标记为已处理并答复")
    wait_for_status(page, complaint_id, "待客户确认")
    complaint = status_of(server, complaint_id)
    assert complaint.status == ComplaintStatus.resolved, log_tail(server)
    assert (complaint.root_cause, complaint.reply, complaint.satisfied) == ("柜员违规索要好处费", reply, None)
    assert (complaint.finding, complaint.about) == ("substantiated", "staff")
    assert complaint.resolved_at is not None

    # The customer opens their status page from the code the kiosk showed, reads the reply, agrees.
    customer = open_page(browser, f"{server.url}/t/{code}", "phone")
    try:
        customer.get_by_text("当前状态：已处理，待您确认").wait_for()
        for text in ("我们的答复", "您对本次投诉的处理结果满意吗？"):
            customer.get_by_text(text, exact=True).wait_for()
        assert reply in selectable_texts(customer)
        button(customer, "满意").click()
        # Read on the screen, not in the live region that also announces it (flt-announcement-polite).
        customer.locator("flt-semantics-host").get_by_text("感谢您的确认，本投诉已结案。").wait_for()
        customer.get_by_text("当前状态：已结案").wait_for()
    finally:
        customer.context.close()
    complaint = status_of(server, complaint_id)
    closed = (complaint.status, complaint.satisfied, complaint.grade)
    assert closed == (ComplaintStatus.closed, True, "satisfied")
    assert complaint.closed_at is not None and complaint.contact_erase_after is not None

    # Back on the supervisor's screen the case shows as closed.
    button(page, "返回队列").click()
    show_filter(page, "已结案")
    open_complaint(page, complaint_id)
    wait_for_status(page, complaint_id, "已结案")
    shown = everything_shown(page)
    for event in ("已受理", "开始调查", "已答复", "已处理", "您确认了处理结果", "已结案"):
        assert f" {event} " in shown, f"the timeline lacks {event!r}: {shown!r}"
    assert button(page, "受理").count() == 0 and button(page, "由我处理").count() == 0
    # The docs picture: the whole life of the complaint is on this screen now.
    page.mouse.move(0, 0)
    screenshot(page, "admin-complaint-tablet-zh")
    button(page, "返回队列").click()
    page.get_by_text("投诉队列", exact=True).wait_for()


def test_3_an_overdue_complaint_is_flagged_in_the_queue(server, renmin):
    page = renmin
    # Filed two weeks ago: 72 opening hours (the normal SLA, 8 h a day, six days a week) after ten
    # days ago is about now, so ten days would be only just late.
    filed = utcnow() - timedelta(days=14)
    with server.db.write() as s:
        counter = s.exec(select(Counter).where(Counter.code == "BJ-RM-02")).one()
        data = parse_complaint({"category": "2.2.3", "description": "两周前的投诉，至今没有回音。"})
        complaint, _code, _ = file_complaint(
            s, idempotency_key=f"e2e-overdue-{uuid.uuid4()}", data=data, channel=Channel.kiosk,
            branch_id=counter.branch_id, counter_id=counter.id, now=filed,
        )  # fmt: skip
        overdue_id = complaint.id
        assert overdue_id is not None and complaint.due_at < utcnow()
    JOURNEY["overdue_id"] = overdue_id

    # The SLA sweep raises an alert for it (run here on the same database; the server's own sweep,
    # every minute, would do the same, and the alert is raised once whichever runs first).
    ctx = AppContext(settings=Settings(), db=server.db, secret_key="x" * 40)
    overdue_sweep(ctx)
    with server.db.read() as s:
        kinds = s.exec(select(Alert.kind).where(Alert.complaint_id == overdue_id)).all()
    assert list(kinds) == ["overdue"]

    show_filter(page, "已超时")
    overdue = card(page, overdue_id)
    reveal(page, overdue)
    assert card(page, JOURNEY.get("id", -1)).count() == 0, "a closed complaint is not overdue"
    # The card counts how late the reply is, in red.
    name = str(overdue.get_attribute("aria-label") or overdue.inner_text())
    assert OVERDUE_LABEL.search(name), f"the overdue card reads {name!r}"
    h, m = re.findall(r"已超时 (\d+) 小时 (\d+) 分$", name)[0]
    late = (utcnow() - status_of(server, overdue_id).due_at).total_seconds() / 60
    assert abs(int(h) * 60 + int(m) - late) < 3, f"{name!r}, but it is {late:.0f} minutes late"
    share = red_share(page, overdue)
    assert share > 0.01, f"the overdue label is not red ({share:.2%} red pixels)"
    # Every card under 已超时 is late.
    cards = page.get_by_role("button", name=re.compile(r"^查看投诉 #"))
    for i in range(cards.count()):
        shown = str(cards.nth(i).get_attribute("aria-label") or cards.nth(i).inner_text())
        assert OVERDUE_LABEL.search(shown), f"{shown!r} is listed under 已超时"

    # The same complaint leads the open queue, most urgent (earliest due) first.
    show_filter(page, "待处理")
    reveal(page, card(page, overdue_id))
    first = str(cards.first.get_attribute("aria-label") or cards.first.inner_text())
    assert OVERDUE_LABEL.search(first), f"the open queue starts with {first!r}, not an overdue complaint"
    # Under 全部 the closed complaint is there too. The list holds every complaint of the demo's
    # months, earliest due first, and the journey's complaint, filed today, is due among the last: it
    # is looked for from the end up (from the top, 49 steps of wheeling once did not reach it).
    show_filter(page, "全部")
    reveal(page, card(page, overdue_id))
    if "id" in JOURNEY:
        reveal(page, card(page, JOURNEY["id"]), wait=60.0, from_end=True)
    screenshot(page, "admin-queue-tablet-zh")


def complaint_ref(complaint_id: int) -> re.Pattern[str]:
    """A complaint's number as the screens write it; a 差评 case's "差评 #N" is another series."""
    return re.compile(rf"(?<!差评 )#{complaint_id}\b")


def test_4_the_other_branch_sees_none_of_it(server, browser):
    mine = [JOURNEY[k] for k in ("id", "overdue_id") if k in JOURNEY]
    assert mine, "run with the tests before"
    with server.db.write() as s:  # one of their own, so the queue has something to show
        counter = s.exec(select(Counter).where(Counter.code == "BJ-BJ-01")).one()
        data = parse_complaint({"category": "2.2.3", "description": "滨江支行的投诉。"})
        theirs, _code, _ = file_complaint(
            s, idempotency_key=f"e2e-binjiang-{uuid.uuid4()}", data=data, channel=Channel.kiosk,
            branch_id=counter.branch_id, counter_id=counter.id,
        )  # fmt: skip
        assert theirs.id is not None
        theirs_id = theirs.id
    page = sign_in(browser, server, "sup.binjiang")
    try:
        for name in ("待处理", "已超时", "待客户确认", "已结案", "全部"):
            show_filter(page, name)
            page.wait_for_timeout(300)
            shown = everything_shown(page)
            for complaint_id in mine:
                # "差评 #N" above the queue is a rating case's number, not a complaint's.
                found = complaint_ref(complaint_id).search(shown)
                assert not found, f"#{complaint_id} under {name}: {shown!r}"
            assert "人民路支行" not in shown, f"a 人民路支行 complaint shows under {name}: {shown!r}"
        card(page, theirs_id).wait_for()  # under 全部, the last filter
        assert "滨江支行" in shown
        alerts_tab(page).click()
        # The section's heading (a text, not the tab: with no alerts the tab reads "实时提醒" too).
        page.locator("span", has_text=re.compile(r"^实时提醒$")).first.wait_for()
        shown = everything_shown(page)
        for complaint_id in mine:
            assert not complaint_ref(complaint_id).search(shown), f"an alert about #{complaint_id}: {shown!r}"
        assert "人民路支行" not in shown, shown
    finally:
        page.context.close()


def test_5_dashboard_and_phone_screenshots(server, browser, renmin):
    page = renmin
    button(page, "看板").click()
    page.get_by_text("服务看板", exact=True).wait_for()
    page.get_by_text("各窗口评价", exact=True).wait_for()
    screenshot(page, "admin-dashboard-tablet-zh")
    button(page, "投诉处理").click()
    # The queue keeps the place its list was scrolled to (test 3 wheeled down it): back to the top.
    page.mouse.move(640, 400)
    page.mouse.wheel(0, -100_000)
    page.get_by_text("投诉队列", exact=True).wait_for()

    phone = sign_in(browser, server, "sup.renmin", "phone")
    try:
        show_filter(phone, "全部")
        if "overdue_id" in JOURNEY:
            card(phone, JOURNEY["overdue_id"]).wait_for()
        phone.mouse.move(0, 0)
        screenshot(phone, "admin-queue-phone-zh")
    finally:
        phone.context.close()
