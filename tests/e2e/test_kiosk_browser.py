"""The walking skeleton end to end: enrol a tablet, tap a face, find the rating in the database."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlmodel import col, select

from models.devices import issue_enrolment_code
from models.org import Counter, Device, Staff
from models.rating import Rating
from rapport.core.i18n import t
from tests.e2e.conftest import EMPTY_FIELDS, enable_semantics, open_page, screenshot, sign_in_admin
from tests.e2e.conftest import type_into as type_field

pytestmark = pytest.mark.e2e


def enrolment_url(server, counter_code: str) -> str:  # type: ignore[no-untyped-def]
    with server.db.write() as s:
        counter = s.exec(select(Counter).where(Counter.code == counter_code)).one()
        assert counter.id is not None
        return f"{server.url}/enrol/{issue_enrolment_code(s, counter_id=counter.id)}"


def ratings_at(server, counter_code: str) -> list[tuple[Rating, str | None]]:  # type: ignore[no-untyped-def]
    with server.db.read() as s:
        counter = s.exec(select(Counter).where(Counter.code == counter_code)).one()
        rows = s.exec(
            select(Rating, Staff.employee_no)
            .join(Staff, col(Staff.id) == col(Rating.staff_id), isouter=True)
            .where(Rating.counter_id == counter.id, col(Rating.device_id).is_not(None))
        ).all()
        return [(r, no) for r, no in rows]


def test_enrolled_tablet_shows_chinese_and_a_tap_stores_a_rating(server, browser):
    fonts: list[int] = []
    width, height = 1280, 800
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.on("response", lambda r: fonts.append(r.status) if r.url.endswith(".otf") else None)
    page.goto(enrolment_url(server, "BJ-RM-01"))
    enable_semantics(page)

    page.get_by_role("button", name="非常满意", exact=True).wait_for()
    # The welcome screen names the branch, the counter and the person on duty, in Chinese.
    for text in ("人民路支行", "1号窗口", "您对本次服务满意吗？", "为您服务的是"):
        assert page.get_by_text(text).count() >= 1, text
    assert fonts and all(status == 200 for status in fonts), "the bundled CJK font must load"
    assert page.url.endswith("/"), "the spent enrolment code is dropped from the address bar"
    screenshot(page, "kiosk-welcome-tablet-zh")

    before = len(ratings_at(server, "BJ-RM-01"))
    page.get_by_role("button", name="非常满意", exact=True).click()
    # The tap is stored at once; the customer may add what they liked, or skip.
    page.get_by_text("您满意哪些方面？").wait_for()
    page.get_by_role("button", name="跳过", exact=True).click()
    page.get_by_text("感谢您的评价！").wait_for()
    screenshot(page, "kiosk-thanks-tablet-zh")

    rows = ratings_at(server, "BJ-RM-01")
    assert len(rows) == before + 1
    rating, employee_no = rows[-1] if len(rows) == 1 else max(rows, key=lambda x: x[0].created_at)
    assert rating.score == 5 and rating.channel == "kiosk" and rating.counted
    with server.db.read() as s:
        on_screen = s.exec(select(Staff).where(Staff.employee_no == employee_no)).one()
    assert on_screen.display_name and employee_no == "E1001"

    # The thank-you screen counts down and returns to a clean welcome screen by itself.
    page.get_by_role("button", name="非常满意", exact=True).wait_for(timeout=15_000)
    context.close()


def test_the_device_token_survives_a_reload_and_language_switches(server, browser):
    page = open_page(browser, enrolment_url(server, "BJ-BJ-03"), "portrait")
    # The last demo counter has nobody on duty: the kiosk says so and still takes feedback.
    page.get_by_text("本窗口暂停服务").wait_for()
    page.reload()
    enable_semantics(page)
    page.get_by_text("本窗口暂停服务").wait_for()
    with server.db.read() as s:
        assert s.exec(select(Device).where(col(Device.last_seen_at).is_not(None))).first() is not None

    page.get_by_role("button", name=re.compile("English")).click()
    page.get_by_role("button", name="Very dissatisfied", exact=True).wait_for()
    page.get_by_text("This counter is closed").wait_for()
    screenshot(page, "kiosk-closed-portrait-en")
    page.get_by_role("button", name="Dissatisfied", exact=True).click()
    page.get_by_text("What went wrong?").wait_for()
    page.get_by_role("button", name="Skip", exact=True).click()
    # A 差评 opens a case, at a closed counter too: the callback offer (declined), then its code.
    page.get_by_text("May we call you back about this?", exact=True).wait_for()
    page.get_by_role("button", name="No, thank you", exact=True).click()
    page.get_by_text("We will look into it and answer you", exact=True).wait_for()
    rating, employee_no = ratings_at(server, "BJ-BJ-03")[-1]
    assert (rating.score, employee_no) == (2, None)
    # The next customer starts in the default language again.
    page.get_by_role("button", name="Done", exact=True).click()
    page.get_by_role("button", name="非常不满意", exact=True).wait_for()
    page.context.close()


def test_phone_size_lays_the_faces_out_in_a_column(server, browser):
    page = open_page(browser, enrolment_url(server, "BJ-RM-02"), "phone")
    buttons = [
        page.get_by_role("button", name=n, exact=True)
        for n in ("非常满意", "满意", "基本满意", "不满意", "非常不满意")
    ]
    buttons[-1].wait_for()
    boxes = [b.bounding_box() for b in buttons]
    assert all(b is not None for b in boxes)
    assert all(b["height"] >= 48 and b["width"] >= 48 for b in boxes if b)  # tap targets
    lefts = {round(b["x"]) for b in boxes if b}
    assert len(lefts) == 1, "one column on a phone"
    assert all(b["x"] + b["width"] <= 390 for b in boxes if b), "nothing off-screen"
    screenshot(page, "kiosk-welcome-phone-zh")
    page.context.close()


def test_an_unenrolled_browser_is_asked_for_a_code_and_a_wrong_one_is_explained(server, browser):
    page = open_page(browser, server.url + "/", "tablet")
    page.get_by_text("登记柜台平板").wait_for()
    # The field takes the focus only once it shows an error (kiosk/screens/enrol.py): focus it first.
    type_field(page, t("zh-CN", "kiosk.enrol.code"), "WRONG-CODE")
    page.get_by_role("button", name="登记", exact=True).click()
    page.get_by_text(re.compile("登记码无效")).wait_for()
    screenshot(page, "kiosk-enrol-error-tablet-zh")
    page.context.close()


def type_into(page, label: str, text: str) -> None:  # type: ignore[no-untyped-def]
    """Flutter sends keys to the focused field only: focus the field first, then fill it."""
    page.get_by_label(label, exact=True).click()
    page.get_by_label(label, exact=True).fill(text)


def test_a_supervisor_signs_in_to_the_admin_app_and_sees_the_queue(server, browser):
    page = open_page(browser, server.url + "/admin", "tablet")
    assert page.url.endswith("/admin/")
    wrong = page.get_by_text("用户名或密码不正确。")
    for attempt in range(3):  # a typed field can be dropped: "fill in both", then both again (conftest)
        type_into(page, "用户名或工号", "sup.renmin")
        type_into(page, "密码", "wrong-password")
        page.get_by_role("button", name="登录", exact=True).click()
        try:
            wrong.wait_for(timeout=6_000 if attempt < 2 else 30_000)
            break
        except PlaywrightTimeout:
            if attempt == 2 or not page.get_by_text(EMPTY_FIELDS, exact=True).is_visible():
                raise
    sign_in_admin(page, "sup.renmin", "demo-sup.renmin", page.get_by_text("投诉队列"))
    screenshot(page, "admin-queue-tablet-zh")
    page.context.close()
