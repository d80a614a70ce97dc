"""The customer app (kiosk/app.py) in process, under the Flet harness, against a real database.

Each test drives the screens as a customer (or staff member) would and checks both what is on the
screen and what was stored. Time is virtual: the app's idle watchdog and thank-you countdown sleep
on the harness clock (``h.advance``); the database's clock is ``ctx.clock``, set by ``at``.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import func, select

import kiosk.backend as backend
from kiosk.app import PHONE_KEY, TOKEN_KEY
from kiosk.state import Screen
from models.clock import utcnow
from models.codes import new_tracking_code, tracking_digest
from models.complaint import (
    Complaint,
    ComplaintCreate,
    ComplaintStatus,
    file_complaint,
    transition,
)
from models.devices import authenticate_device, issue_enrolment_code
from models.duty import on_duty
from models.org import Device, Duty, Staff
from models.rating import Channel, Rating, phone_key
from rapport.core.context import AppContext
from rapport.core.db import Database

sys.path.insert(0, str(Path(__file__).resolve().parent))  # no __init__.py here
from kiosk_support import KioskHarness, Open  # noqa: E402


# ----------------------------------------------------------------------------------------- fixtures
class Clock:
    """The database's idea of now (``ctx.clock``), moved by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def at(ctx: AppContext) -> Clock:
    clock = Clock(utcnow())
    ctx.clock = clock
    return clock


@pytest.fixture
async def counter(open_kiosk: Open, world) -> KioskHarness:
    """The enrolled tablet at counter A-01, where 王芳 (E1) is on duty."""
    return await open_kiosk(storage={TOKEN_KEY: world.device_token})


# ------------------------------------------------------------------------------------------ helpers
def ratings(db: Database) -> list[Rating]:
    with db.read() as s:
        return list(s.exec(select(Rating).order_by(Rating.created_at)).all())


def complaints(db: Database) -> list[Complaint]:
    with db.read() as s:
        return list(s.exec(select(Complaint)).all())


def count(db: Database, model: Any) -> int:
    with db.read() as s:
        return s.exec(select(func.count()).select_from(model)).one()


def value(h: KioskHarness, key: str) -> Any:
    return h.find(key).value


async def select_chip(h: KioskHarness, key: str) -> None:
    """Tap a chip: the client flips ``selected`` and sends a "select" event."""
    chip = h.find(key)
    selected = not chip.selected
    h.session.apply_patch(chip._i, {"selected": selected})
    await h.event(chip, "select", selected)


def on_welcome(h: KioskHarness) -> bool:
    return h.exists("question") and h.exists("rate-5")


async def back_to_welcome(h: KioskHarness) -> None:
    """Wait for a reset started by a timer: it reloads the counter in a thread, which ``advance``
    does not wait for (only a handler run by a click is awaited to its end)."""
    await h.wait_for(lambda: on_welcome(h))


def file_one(db: Database, world, *, description: str = "柜员态度很差") -> tuple[int, str]:
    with db.write() as s:
        complaint, code, _ = file_complaint(
            s, idempotency_key="hotline-1", data=ComplaintCreate(category="2.1.1", description=description),
            channel=Channel.kiosk, branch_id=world.branch_id, counter_id=world.counter_id,
        )  # fmt: skip
        assert complaint.id is not None and code is not None
        return complaint.id, code


# ---------------------------------------------------------------------------------- 1. counter flow
async def test_a_tap_at_the_counter_is_stored_at_once_then_details_thanks_and_back_to_welcome(
    counter: KioskHarness, db, world
):
    h = counter
    assert value(h, "staff-name") == "王芳"
    assert h.has_text("甲支行") and h.has_text("1号窗口") and h.has_text("工号 E1")
    assert [h.exists(f"rate-{s}") for s in range(1, 6)] == [True] * 5

    await h.click("rate-5")

    stored = ratings(db)
    assert len(stored) == 1
    r = stored[0]
    assert r.score == 5 and r.staff_id == world.staff_id
    assert (r.counter_id, r.branch_id) == (world.counter_id, world.branch_id)
    assert r.channel == Channel.kiosk and r.counted and not r.flagged
    assert value(h, "details-title") == "您满意哪些方面？"
    assert not h.exists("open-complaint")  # a good score offers no complaint

    await h.click("details-skip")
    assert value(h, "thanks-title") == "感谢您的评价！"
    assert value(h, "countdown") == "5 秒后返回首页"

    await h.advance(4)
    assert h.app.state.screen is Screen.thanks and h.exists("thanks-title")
    assert value(h, "countdown") == "1 秒后返回首页"
    await h.advance(1)
    await back_to_welcome(h)
    assert not h.exists("thanks-title")
    assert value(h, "staff-name") == "王芳"
    assert len(ratings(db)) == 1  # skipping stored nothing more


async def test_a_thank_you_countdown_does_not_cut_the_next_customer_short(counter: KioskHarness, db, at):
    h = counter
    await h.click("rate-4")
    await h.click("details-skip")
    await h.advance(2)
    await h.click("done")  # the customer leaves at once
    assert on_welcome(h)

    at.advance(10)
    await h.click("rate-2")  # the next customer, while the old countdown would still run
    await h.advance(10)
    assert h.app.state.screen is Screen.details and value(h, "details-title") == "哪些方面需要改进？"


async def test_a_save_whose_answer_was_lost_is_retried_with_the_same_key_and_stored_once(
    counter: KioskHarness, db, monkeypatch
):
    h = counter
    real, keys = backend.submit_tap, []

    def lost_answer(ctx, **kw):
        keys.append(kw["idempotency_key"])
        rating_id = real(ctx, **kw)
        if len(keys) == 1:
            raise ConnectionError("the answer never came back")
        return rating_id

    monkeypatch.setattr(backend, "submit_tap", lost_answer)

    await h.click("rate-4")
    assert value(h, "error-message") == "抱歉，评价暂时无法提交，请再试一次。"
    await h.click("retry")

    assert value(h, "details-title") == "您满意哪些方面？"
    assert len(keys) == 2 and keys[0] == keys[1]
    stored = ratings(db)
    assert len(stored) == 1 and stored[0].score == 4 and stored[0].counted


# ------------------------------------------------------------------------------------ 2. low score
async def test_a_low_score_asks_what_went_wrong_and_stores_the_reasons_and_cleaned_comment(
    counter: KioskHarness, db
):
    h = counter
    await h.click("rate-1")
    assert value(h, "details-title") == "哪些方面需要改进？"
    assert h.exists("open-complaint")

    # Customers' words (issue 19): 闲聊、离岗 is under "更多"; it stands for 2.4.1, 业务不熟练 for 2.1.1.
    await h.click("reason-more")
    await select_chip(h, "reason-off-task")
    await select_chip(h, "reason-unskilled")
    assert h.find("reason-off-task").selected and h.find("reason-unskilled").selected
    await h.fill("comment", "  等了\u200b四十分钟，\t\t 没人理  ")
    await h.click("details-submit")

    # A 差评 opens a case: the offer of a callback, then its tracking code (test_kiosk_callback.py).
    assert value(h, "callback-title") == "可以回访您吗？"
    await h.click("callback-skip")
    assert value(h, "case-done-title") == "我们会核实并答复您"
    [r] = ratings(db)
    assert r.score == 1
    assert r.reasons == ["2.4.1", "2.1.1"]
    assert r.comment == "等了四十分钟， 没人理"


async def test_a_reason_tapped_twice_is_not_stored(counter: KioskHarness, db):
    h = counter
    await h.click("rate-2")
    await select_chip(h, "reason-slow")
    await select_chip(h, "reason-rude")  # 态度不好: 2.2.1 and 2.3.2
    await select_chip(h, "reason-slow")
    assert not h.find("reason-slow").selected
    await h.click("details-submit")
    [r] = ratings(db)
    assert r.reasons == ["2.2.1", "2.3.2"] and r.comment == ""


# ------------------------------------------------------------------------------------- 3. complaint
@pytest.fixture
def serial_complaints(monkeypatch) -> list[str]:
    """One complaint filing at a time, as SQLite's write lock would do with a file database (the
    in-memory test database shares one connection between threads, which cannot interleave)."""
    real, lock, keys = backend.submit_complaint, threading.Lock(), []

    def serial(ctx: AppContext, **kwargs: Any) -> Any:
        with lock:
            keys.append(kwargs["idempotency_key"])
            return real(ctx, **kwargs)

    monkeypatch.setattr(backend, "submit_complaint", serial)
    return keys


async def test_a_complaint_is_validated_then_filed_once_with_its_tracking_code(
    counter: KioskHarness, db, world, serial_complaints
):
    h = counter
    await h.click("rate-2")
    await h.click("open-complaint")
    assert value(h, "complaint-title") == "提交投诉"
    await h.click("category-more")
    await select_chip(h, "category-off-task")  # 闲聊、离岗: filed under 2.4.1
    assert h.find("category-off-task").selected

    # No description: the description is marked and nothing is stored.
    await h.click("complaint-submit")
    assert h.find("description").error == "请描述发生了什么。"
    assert complaints(db) == []

    # A contact without consent: the consent box is marked and nothing is stored.
    await h.fill("description", "  柜员一直在玩手机，  让我等了半小时  ")
    await h.fill("contact", "138 1234 5678")
    await h.click("complaint-submit")
    assert value(h, "consent-error") == "留下联系方式需要先勾选同意。"
    assert h.find("description").error is None
    assert complaints(db) == []

    # With consent it is filed: pressed twice in a row (a double tap), it is stored once.
    await h.fill("consent", True)
    submitted = len(serial_complaints)
    await asyncio.gather(h.click("complaint-submit"), h.click("complaint-submit"))
    second, third = serial_complaints[submitted:]  # both presses reached the server...
    assert second == third == serial_complaints[0]  # ...with the key of the refused attempts

    assert value(h, "complaint-done-title") == "我们已收到您的投诉"
    [c] = complaints(db)
    [r] = ratings(db)
    assert c.status == ComplaintStatus.new
    assert c.category == "2.4.1"
    assert c.description == "柜员一直在玩手机， 让我等了半小时"
    assert (c.contact, c.contact_kind) == ("13812345678", "phone")
    assert c.consent_at is not None
    assert c.rating_id == r.id
    assert (c.staff_id, c.counter_id, c.branch_id) == (world.staff_id, world.counter_id, world.branch_id)
    assert c.channel == Channel.kiosk and c.locale == "zh-CN"
    assert c.due_at is not None and c.due_at > c.created_at
    shown = value(h, "tracking-code")
    assert tracking_digest(shown) == c.code_digest

    await h.click("done")
    assert on_welcome(h)


@pytest.mark.parametrize("then", ["types the contact", "unticks the box"])
async def test_consent_ticked_with_no_contact_asks_for_one_before_filing(
    counter: KioskHarness, db, then: str
):
    """The box agrees to be answered at "the above contact": ticked with the field empty, the customer
    expects an answer nobody could give. The form asks, and files nothing until one or the other."""
    h = counter
    await h.click("rate-2")
    await h.click("open-complaint")
    await select_chip(h, "category-slow")
    await h.fill("description", "等了一个小时")
    await h.fill("consent", True)
    await h.fill("contact", "   ")  # spaces are no contact
    await h.click("complaint-submit")
    asked = "您勾选了同意，却没有填写联系方式：请填写手机号码或电子邮箱，或取消勾选。"
    assert h.find("contact").error == asked
    assert h.app.state.screen is Screen.complaint and complaints(db) == []
    assert value(h, "description") == "等了一个小时" and value(h, "consent")  # nothing typed is lost

    if then == "types the contact":
        await h.fill("contact", "13812345678")
    else:
        await h.fill("consent", False)
    await h.click("complaint-submit")
    assert value(h, "complaint-done-title") == "我们已收到您的投诉"
    [c] = complaints(db)
    if then == "types the contact":
        assert (c.contact, c.contact_kind) == ("13812345678", "phone") and c.consent_at is not None
    else:
        assert (c.contact, c.consent_at) == (None, None)


async def test_a_complaint_whose_answer_was_lost_is_not_filed_twice_when_sent_again(
    counter: KioskHarness, db, monkeypatch
):
    """The complaint is stored but the answer never reaches the kiosk; the customer presses again."""
    h = counter
    real, keys = backend.submit_complaint, []

    def lost_answer(ctx, **kw):
        keys.append(kw["idempotency_key"])
        filed = real(ctx, **kw)
        if len(keys) == 1:
            raise ConnectionError("the answer never came back")
        return filed

    monkeypatch.setattr(backend, "submit_complaint", lost_answer)
    await h.click("rate-3")
    await h.click("open-complaint")
    await select_chip(h, "category-rude")
    await h.fill("description", "没有解释清楚收费")
    await h.click("complaint-submit")
    assert value(h, "form-error") == "抱歉，投诉暂时无法提交，请再试一次。"
    assert len(complaints(db)) == 1  # it was stored all the same

    await h.click("complaint-submit")  # the same draft, so the same key

    assert len(keys) == 2 and keys[0] == keys[1]
    assert len(complaints(db)) == 1
    assert value(h, "complaint-done-title") == "我们已收到您的投诉"
    # The code is derived from the server's secret and the key, so the customer still gets it.
    assert tracking_digest(value(h, "tracking-code")) == complaints(db)[0].code_digest


async def test_a_welcome_screen_left_in_english_returns_to_chinese_after_the_idle_time(counter: KioskHarness):
    h = counter
    await h.click("lang")
    assert h.has_text("How was your service today?")
    await h.advance(31)
    await h.wait_for(lambda: h.has_text("您对本次服务满意吗？"))
    assert not h.has_text("How was your service today?")


# ------------------------------------------------------------------------------------ 4. idle reset
async def test_a_customer_who_walks_away_leaves_nothing_behind(counter: KioskHarness, db, at):
    h = counter
    await h.click("rate-2")
    await h.click("open-complaint")
    await h.fill("description", "柜员的态度")
    await h.fill("contact", "13812345678")
    await h.fill("consent", True)

    await h.advance(29)
    assert h.app.state.screen is Screen.complaint
    assert value(h, "description") == "柜员的态度"  # still theirs
    await h.advance(1)

    await back_to_welcome(h)
    assert not h.exists("description")
    assert value(h, "staff-name") == "王芳"
    assert complaints(db) == []

    at.advance(60)  # the next customer
    await h.click("rate-2")
    assert not h.find("comment").value
    await h.click("open-complaint")
    assert not value(h, "description") and not value(h, "contact") and not value(h, "consent")
    assert not any(h.find(f"category-{key}").selected for key in ("unskilled", "slow", "rude"))
    assert not h.exists("category-off-task") and h.exists("category-more")  # "更多" folded again
    assert len(ratings(db)) == 2


async def test_typing_delays_the_idle_reset(counter: KioskHarness, db):
    h = counter
    await h.click("rate-1")
    await h.click("open-complaint")
    await h.advance(20)
    await h.fill("description", "我还在打字")
    await h.advance(20)
    assert h.app.state.screen is Screen.complaint  # 40 s since the tap, 20 s since typing
    assert value(h, "description") == "我还在打字"
    await h.fill("contact", "1381234")
    await h.advance(29)
    assert h.app.state.screen is Screen.complaint and value(h, "contact") == "1381234"
    await h.advance(1)
    await back_to_welcome(h)
    assert not h.exists("description")


async def test_an_idle_reset_while_the_socket_closes_keeps_resetting_after_it_comes_back(
    counter: KioskHarness, db, at, caplog
):
    h = counter
    await h.click("rate-2")
    await h.click("open-complaint")
    await h.fill("description", "第一位顾客的话")
    caplog.set_level(logging.DEBUG, logger="kiosk.app")
    with h.socket_closing():
        await h.advance(30)  # the idle reset, with the tablet's socket just gone
        # Its end: the counter reloaded (in a thread) and the screen that could not be sent noted.
        await h.wait_for(lambda: "kiosk: idle reset: the screen's socket had just closed" in caplog.text)
    assert h.app.state.screen is Screen.welcome  # kept on the server
    assert "Traceback" not in caplog.text
    await h.reconnect()
    await back_to_welcome(h)
    assert not h.exists("description")  # the tablet is shown the reset screen, not the old words

    at.advance(60)  # the next customer, and the next walk-away: the idle watcher still runs
    await h.click("rate-2")
    await h.click("open-complaint")
    await h.fill("description", "第二位顾客的话")
    await h.advance(30)
    await back_to_welcome(h)
    assert not h.exists("description")
    assert len(ratings(db)) == 2 and complaints(db) == []


async def test_the_thank_you_count_down_goes_on_through_a_socket_closing(
    counter: KioskHarness, db, caplog
):
    h = counter
    await h.click("rate-5")
    await h.click("details-skip")
    assert h.app.state.screen is Screen.thanks
    assert value(h, "countdown") == "5 秒后返回首页"
    with h.socket_closing():
        await h.advance(2)  # count-down updates that cannot be sent
    assert "Traceback" not in caplog.text
    await h.reconnect()
    await h.advance(1)
    assert value(h, "countdown") == "2 秒后返回首页"  # still counting, on the screen it came back to
    await h.advance(2)
    await back_to_welcome(h)  # the count-down's end, well before the 30 s idle reset


async def test_the_details_screen_is_reset_after_the_idle_time(counter: KioskHarness, db):
    h = counter
    await h.click("rate-3")
    await h.fill("comment", "半句")
    await h.advance(30)
    await back_to_welcome(h)
    [r] = ratings(db)
    assert r.comment == ""  # an unsent comment is not stored by the reset


# ---------------------------------------------------------------------------------------- 5. misuse
async def test_a_second_tap_within_five_seconds_is_thanked_but_flagged_and_not_counted(
    counter: KioskHarness, db, at
):
    h = counter
    await h.click("rate-5")
    await h.click("details-skip")
    await h.click("done")
    assert on_welcome(h)

    at.advance(3)
    await h.click("rate-1")
    assert value(h, "details-title") == "哪些方面需要改进？"
    await h.click("details-skip")
    assert value(h, "thanks-title") == "感谢您的评价！"

    first, second = ratings(db)
    assert (first.score, first.counted, first.flagged) == (5, True, False)
    assert (second.score, second.counted, second.flagged, second.flag_reason) == (1, False, True, "too_soon")

    await h.click("done")
    at.advance(10)
    await h.click("rate-4")
    assert ratings(db)[-1].counted


# -------------------------------------------------------------------------------------- 6. language
async def test_the_language_switch_shows_english_until_the_next_customer(counter: KioskHarness, db):
    h = counter
    assert h.has_text("您对本次服务满意吗？")
    await h.click("lang")
    assert h.has_text("How was your service today?") and h.has_text("You were served by")
    assert h.has_text("Branch A") and h.has_text("Counter 1") and h.has_text("Very satisfied")
    assert not h.has_text("您对本次服务满意吗？")
    assert h.session.page.title == "Rapport Feedback"

    await h.click("rate-5")
    assert value(h, "details-title") == "What did you like?"
    await h.click("details-skip")
    assert value(h, "thanks-title") == "Thank you for your feedback!"
    await h.click("done")

    assert h.has_text("您对本次服务满意吗？") and h.has_text("甲支行")
    assert not h.has_text("How was your service today?")


async def test_an_english_complaint_is_stored_in_english_and_the_idle_reset_restores_chinese(
    counter: KioskHarness, db
):
    h = counter
    await h.click("rate-2")
    await h.click("lang")
    await h.click("open-complaint")
    assert value(h, "complaint-title") == "File a complaint"
    await select_chip(h, "category-unskilled")
    await h.fill("description", "Rude")
    await h.click("complaint-submit")
    [c] = complaints(db)
    assert c.locale == "en"
    assert value(h, "complaint-done-title") == "We have received your complaint"
    await h.advance(30)
    await back_to_welcome(h)
    assert h.has_text("您对本次服务满意吗？")


# -------------------------------------------------------------------------------------- 7. phone QR
def qr_token(db: Database, employee_no: str) -> str:
    with db.read() as s:
        staff = s.exec(select(Staff).where(Staff.employee_no == employee_no)).one()
        return staff.qr_token


async def test_a_phone_rates_the_person_on_the_badge_once_per_window(open_kiosk: Open, db, world):
    token = qr_token(db, "E1")
    phone: dict = {}  # the phone's browser storage, kept between visits
    h = await open_kiosk(f"/s/{token}", storage=phone, width=390, height=844)

    assert value(h, "staff-name") == "王芳" and h.has_text("甲支行")
    assert [h.exists(f"rate-{s}") for s in range(1, 6)] == [True] * 5
    assert not h.exists("staff-open")  # no staff sign-in on a customer's phone
    assert TOKEN_KEY not in phone

    await h.click("rate-4")
    assert value(h, "details-title") == "您满意哪些方面？"
    await h.click("details-skip")
    assert h.has_text("您可以关闭此页面。")
    [r] = ratings(db)
    assert r.channel == Channel.qr and r.score == 4 and r.staff_id == world.staff_id
    assert r.counter_id is None and r.device_id is None
    assert r.phone_key == phone_key(phone[PHONE_KEY])
    assert r.counted and not r.flagged

    # The same phone comes back (a reload, or the QR code scanned again) and rates again.
    again = await open_kiosk(f"/s/{token}", storage=phone, width=390, height=844)
    await again.click("rate-1")
    assert value(again, "details-title") == "哪些方面需要改进？"
    await again.click("details-skip")
    assert value(again, "thanks-title") == "感谢您的评价！"
    first, second = ratings(db)
    assert second.phone_key == first.phone_key
    assert second.score == 1 and second.flagged and second.flag_reason == "repeat_phone"
    assert not second.counted  # stored, but the same phone does not count twice

    # Another phone counts.
    other = await open_kiosk(f"/s/{token}", storage={}, width=390, height=844)
    await other.click("rate-3")
    third = ratings(db)[-1]
    assert third.counted and third.phone_key != first.phone_key


async def test_an_unknown_badge_link_shows_a_clear_page_and_stores_nothing(open_kiosk: Open, db, world):
    h = await open_kiosk("/s/not-a-real-token", width=390, height=844)
    assert value(h, "invalid-title") == "二维码无效"
    assert not h.exists("rate-5") and not h.exists("staff-open")
    assert ratings(db) == []


async def test_a_phone_complaint_is_filed_against_the_person_on_the_badge(open_kiosk: Open, db, world):
    h = await open_kiosk(f"/s/{qr_token(db, 'E1')}", storage={}, width=390, height=844)
    await h.click("rate-1")
    await select_chip(h, "reason-slow")  # 等太久了: 2.2.3
    await h.fill("comment", "排队太久")
    await h.click("open-complaint")
    assert h.find("category-slow").selected and value(h, "description") == "排队太久"
    await h.click("complaint-submit")
    [c] = complaints(db)
    [r] = ratings(db)
    assert c.channel == Channel.qr and c.staff_id == world.staff_id and c.counter_id is None
    assert c.rating_id == r.id and c.description == "排队太久"
    assert c.category == "2.2.3"
    assert r.reasons == ["2.2.3"] and r.comment == "排队太久"  # kept with the rating as well
    assert tracking_digest(value(h, "tracking-code")) == c.code_digest
    await h.advance(60)  # no idle reset on a customer's own phone
    assert h.app.state.screen is Screen.complaint_done and h.exists("tracking-code")


# ---------------------------------------------------------------------------------- 8. status page
async def test_the_status_page_follows_a_complaint_to_its_reply_and_reopens_it_on_no(
    open_kiosk: Open, db, world
):
    complaint_id, code = file_one(db, world)

    h = await open_kiosk(f"/t/{code}", width=390, height=844)
    assert value(h, "status-current") == "当前状态：已收到"
    assert h.has_text(code) and h.has_text("收到投诉")
    assert not h.exists("satisfied-yes") and not h.exists("satisfied-no")
    assert not h.has_text("柜员态度很差")  # the description is not public
    assert not h.exists("rate-5") and not h.exists("staff-open")

    malformed = await open_kiosk("/t/NOT-A-CODE", width=390, height=844)
    assert malformed.find("status-code").error == "跟踪码格式不正确：应为 10 位字母和数字，如 3479A-CDEF4。"
    assert not malformed.exists("status-current")

    unknown = new_tracking_code()
    while tracking_digest(unknown) == tracking_digest(code):  # pragma: no cover
        unknown = new_tracking_code()
    missing = await open_kiosk(f"/t/{unknown}", width=390, height=844)
    assert missing.find("status-code").error == "没有找到该跟踪码，请核对后重新输入。"
    assert not missing.exists("status-current")

    with db.write() as s:
        for step in (ComplaintStatus.acknowledged, ComplaintStatus.investigating):
            transition(s, complaint_id=complaint_id, to=step, actor_staff_id=world.staff_id)
        transition(
            s, complaint_id=complaint_id, to=ComplaintStatus.resolved, actor_staff_id=world.staff_id,
            reply="已对柜员进行批评教育，并向您致歉。", root_cause="柜员解释收费标准时态度生硬",
            finding="substantiated", about="staff",
        )  # fmt: skip

    resolved = await open_kiosk(f"/t/{code.replace('-', '').lower()}", width=390, height=844)
    assert value(resolved, "status-current") == "当前状态：已处理，待您确认"
    assert value(resolved, "status-reply") == "已对柜员进行批评教育，并向您致歉。"
    assert resolved.has_text("您对本次投诉的处理结果满意吗？")
    grades = [f"complaint-grade-{g}" for g in ("satisfied", "fairly", "dissatisfied")]
    assert [resolved.find(k).content.value for k in grades] == ["满意", "基本满意", "不满意"]

    await resolved.click("complaint-grade-dissatisfied")

    assert value(resolved, "status-current") == "当前状态：调查处理中"
    assert value(resolved, "status-message") == "抱歉没有让您满意。投诉已重新打开并提交上级处理。"
    assert not any(resolved.exists(k) for k in grades)
    assert value(resolved, "status-graded") == "您的评价：不满意"
    assert not resolved.has_text("您对本次投诉的处理结果满意吗？")
    assert resolved.has_text("您表示不满意") and resolved.has_text("重新处理")
    [c] = complaints(db)
    assert c.status == ComplaintStatus.investigating
    assert c.escalation_level == 1 and (c.satisfied, c.grade) == (False, "dissatisfied")


async def test_a_satisfied_customer_closes_the_complaint(open_kiosk: Open, db, world):
    complaint_id, code = file_one(db, world)
    with db.write() as s:
        for step in (ComplaintStatus.acknowledged, ComplaintStatus.investigating, ComplaintStatus.resolved):
            transition(s, complaint_id=complaint_id, to=step, actor_staff_id=None, reply="已处理",
                       root_cause="说明不清", finding="unfounded", about="process")  # fmt: skip
    h = await open_kiosk(f"/t/{code}")
    await h.click("complaint-grade-satisfied")
    assert value(h, "status-current") == "当前状态：已结案"
    assert not h.exists("complaint-grade-satisfied")
    [c] = complaints(db)
    assert c.status == ComplaintStatus.closed and c.satisfied is True


async def test_the_status_page_refuses_more_than_ten_lookups_a_minute_from_one_client(
    open_kiosk: Open, db, world
):
    _id, code = file_one(db, world)
    h = await open_kiosk("/t")
    assert h.exists("status-code") and h.find("status-code").error is None
    # Not focused on opening (a screen reader would meet Flutter's unnamed editing input), only once
    # it shows an error to correct.
    assert not h.find("status-code").autofocus

    for _ in range(9):
        await h.fill("status-code", new_tracking_code())
        await h.click("status-search")
        assert h.find("status-code").error == "没有找到该跟踪码，请核对后重新输入。"
        assert h.find("status-code").autofocus
    await h.fill("status-code", code)
    await h.click("status-search")  # the tenth lookup still answers
    assert value(h, "status-current") == "当前状态：已收到"

    await h.click("status-again")
    await h.fill("status-code", code)
    await h.click("status-search")  # the eleventh is refused, even for a real code
    assert h.find("status-code").error == "查询过于频繁，请一分钟后再试。"
    assert not h.exists("status-current")

    # Another tab from the same address is refused too; the limit is per client, not per page.
    other = await open_kiosk(f"/t/{code}")
    assert other.find("status-code").error == "查询过于频繁，请一分钟后再试。"


# ---------------------------------------------------------------------------------- 9. staff sign-in
def duties(db: Database) -> list[tuple[int, int, bool]]:
    with db.read() as s:
        return [
            (d.staff_id, d.counter_id, d.ended_at is None) for d in s.exec(select(Duty).order_by(Duty.id))
        ]


def on_duty_at(db: Database, counter_id: int) -> str | None:
    with db.read() as s:
        staff = on_duty(s, counter_id=counter_id)
        return staff.employee_no if staff else None


async def staff_action(h: KioskHarness, employee_no: str, pin: str, button: str) -> None:
    if not h.exists("staff-no"):
        await h.click("staff-open")
    await h.fill("staff-no", employee_no)
    await h.fill("staff-pin", pin)
    await h.click(button)


async def test_staff_sign_in_and_out_at_a_closed_counter(open_kiosk: Open, db, world):
    h = await open_kiosk(storage={TOKEN_KEY: world.closed_device_token})
    assert h.has_text("本窗口暂停服务") and not h.exists("staff-name")
    before = duties(db)

    await staff_action(h, "E1", "1357", "staff-sign-in")
    assert h.find("staff-pin").error == "工号或 PIN 码不正确。"
    assert value(h, "staff-no") == "E1" and not value(h, "staff-pin")  # the PIN is never kept
    assert duties(db) == before

    await staff_action(h, "E2", "2468", "staff-sign-in")
    assert h.find("staff-pin").error == "入职培训考核尚未通过，暂不能上岗签到。请联系主管。"
    assert duties(db) == before and on_duty_at(db, world.closed_counter_id) is None

    await staff_action(h, "E1", "2468", "staff-sign-in")
    assert on_welcome(h) and value(h, "staff-name") == "王芳"
    assert h.has_text("王芳 已签到")
    assert not h.has_text("本窗口暂停服务")
    assert on_duty_at(db, world.closed_counter_id) == "E1"
    assert on_duty_at(db, world.counter_id) is None  # one counter at a time

    await h.click("rate-5")
    assert ratings(db)[-1].staff_id == world.staff_id
    await h.click("details-skip")
    await h.click("done")

    await staff_action(h, "E1", "2468", "staff-sign-out")
    assert on_welcome(h) and h.has_text("本窗口暂停服务") and not h.exists("staff-name")
    assert on_duty_at(db, world.closed_counter_id) is None


async def test_the_staff_screen_is_left_after_the_idle_time_without_keeping_the_number(
    counter: KioskHarness, db
):
    h = counter
    await h.click("staff-open")
    await h.fill("staff-no", "E1")
    await h.fill("staff-pin", "24")
    await h.advance(30)
    await back_to_welcome(h)
    assert not h.exists("staff-no")
    await h.click("staff-open")
    assert not value(h, "staff-no") and not value(h, "staff-pin")


async def test_staff_of_another_branch_cannot_sign_in(counter: KioskHarness, db, world):
    h = counter
    await staff_action(h, "E9", "2468", "staff-sign-in")
    assert h.find("staff-pin").error == "工号或 PIN 码不正确。"
    assert on_duty_at(db, world.counter_id) == "E1"


# ------------------------------------------------------------------------------------ 10. enrolment
async def test_a_tablet_enrols_with_a_one_time_code_from_the_address(open_kiosk: Open, db, world):
    with db.write() as s:
        code = issue_enrolment_code(s, counter_id=world.counter_id)
    devices_before = count(db, Device)
    storage: dict = {}

    h = await open_kiosk(f"/enrol/{code}", storage=storage)

    token = storage.get(TOKEN_KEY)
    assert isinstance(token, str) and token
    with db.read() as s:
        assert authenticate_device(s, token).counter_id == world.counter_id
    assert count(db, Device) == devices_before + 1
    assert on_welcome(h) and value(h, "staff-name") == "王芳" and h.has_text("1号窗口")
    assert h.session.page.route == "/"  # the spent code is gone from the address bar

    # The reloaded tablet opens straight on welcome with the stored token.
    reloaded = await open_kiosk("/", storage=storage)
    assert on_welcome(reloaded)

    # The code is spent: a second tablet is refused.
    second: dict = {}
    refused = await open_kiosk(f"/enrol/{code}", storage=second)
    assert refused.find("enrol-code").error == "登记码无效、已使用或已过期，请向管理员索取新的登记码。"
    assert second == {} and count(db, Device) == devices_before + 1


async def test_a_bad_enrolment_code_is_refused_and_can_be_corrected(open_kiosk: Open, db, world):
    storage: dict = {}
    h = await open_kiosk("/enrol/WXYZ-WXYZ", storage=storage)
    assert h.find("enrol-code").error == "登记码无效、已使用或已过期，请向管理员索取新的登记码。"
    assert value(h, "enrol-code") == "WXYZ-WXYZ"
    assert TOKEN_KEY not in storage and not on_welcome(h)

    with db.write() as s:
        code = issue_enrolment_code(s, counter_id=world.closed_counter_id)
    await h.fill("enrol-code", code.lower())
    await h.click("enrol-submit")
    assert on_welcome(h) and h.has_text("2号窗口") and h.has_text("本窗口暂停服务")
    assert isinstance(storage.get(TOKEN_KEY), str)


async def test_a_tablet_without_a_token_asks_for_enrolment(open_kiosk: Open, db):
    h = await open_kiosk("/")
    assert h.exists("enrol-code") and h.exists("enrol-submit") and not h.exists("rate-5")
    assert not h.find("enrol-code").autofocus
    await h.click("enrol-submit")
    assert h.find("enrol-code").error == "请输入登记码。"
    assert h.find("enrol-code").autofocus


async def test_the_lookup_limit_follows_the_policy_an_administrator_sets(open_kiosk: Open, db, world):
    from models.policy import set_policy

    with db.write() as s:
        set_policy(s, values={"status_lookups_per_minute": 2})
    h = await open_kiosk("/t")
    for _ in range(2):
        await h.fill("status-code", new_tracking_code())
        await h.click("status-search")
        assert h.find("status-code").error == "没有找到该跟踪码，请核对后重新输入。"
    await h.fill("status-code", new_tracking_code())
    await h.click("status-search")  # the third in the minute is refused
    assert h.find("status-code").error == "查询过于频繁，请一分钟后再试。"


async def test_a_rejected_complaint_under_the_bank_rules_tells_the_customer_the_remedies(
    open_kiosk: Open, db, world
):
    from models.presets import BANK_REMEDIES_EN, BANK_REMEDIES_ZH, apply_preset

    complaint_id, code = file_one(db, world)
    with db.write() as s:
        apply_preset(s, preset="bank", branch_id=world.branch_id)
    h = await open_kiosk(f"/t/{code}")
    assert not h.exists("status-remedies")  # nothing decided yet: no remedies to offer
    with db.write() as s:
        transition(
            s, complaint_id=complaint_id, to=ComplaintStatus.rejected, actor_staff_id=None,
            reply="经核查，收费符合公示标准。",
        )  # fmt: skip
    h = await open_kiosk(f"/t/{code}")
    assert value(h, "status-remedies") == BANK_REMEDIES_ZH
    assert BANK_REMEDIES_ZH.endswith("拨打金融监管投诉热线 12378。")
    await h.click("lang")
    assert value(h, "status-remedies") == BANK_REMEDIES_EN


async def test_without_remedies_in_the_rules_a_rejected_complaint_shows_none(open_kiosk: Open, db, world):
    complaint_id, code = file_one(db, world)
    with db.write() as s:
        transition(
            s, complaint_id=complaint_id, to=ComplaintStatus.rejected, actor_staff_id=None, reply="不予受理。"
        )
    h = await open_kiosk(f"/t/{code}")
    assert value(h, "status-current") == "当前状态：未予受理" and not h.exists("status-remedies")
