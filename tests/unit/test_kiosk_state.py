"""The kiosk flow as plain data (kiosk/state.py): no database, no Flet."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from kiosk.backend import FiledComplaint, Place, StaffCard
from kiosk.state import KioskState, Mode, Screen

FILED = FiledComplaint(
    code="3479A-CDEF4",
    due_at=datetime(2026, 3, 1, tzinfo=UTC),
    promise_unit="opening_hours",
    promise_amount=72,
)


def place(staff: StaffCard | None = StaffCard("E1", "王芳")) -> Place:
    return Place(
        branch_name_zh="甲支行", branch_name_en="Branch A", counter_name_zh="1号窗口",
        counter_name_en="Counter 1", staff=staff, timezone="Asia/Shanghai", idle_reset_seconds=30,
        contact_retention_days=30,
    )  # fmt: skip


def enrolled_state() -> KioskState:
    state = KioskState(locale="zh-CN", default_locale="zh-CN")
    state.enrolled("device-token", place())
    return state


def test_a_tap_goes_to_saving_then_to_details_once_saved():
    state = enrolled_state()
    assert state.screen is Screen.welcome
    before = state.generation

    pending = state.tap(4)

    assert state.screen is Screen.saving
    assert state.generation > before
    assert (pending.score, pending.staff_no) == (4, "E1")  # the person the customer was shown
    assert state.pending is pending and state.score == 4
    assert pending.idempotency_key

    rating_id = uuid.uuid4()
    state.saved(rating_id)
    assert state.screen is Screen.details
    assert state.rating_id == rating_id
    assert state.pending is None
    assert state.details.reasons == [] and state.details.comment == ""
    assert state.message_key is None


def test_a_tap_at_a_closed_counter_names_nobody():
    state = KioskState(locale="zh-CN", default_locale="zh-CN")
    state.enrolled("device-token", place(staff=None))
    assert state.tap(3).staff_no is None


@pytest.mark.parametrize("score", [0, 6, -1])
def test_a_score_outside_one_to_five_is_refused(score):
    state = enrolled_state()
    with pytest.raises(ValueError):
        state.tap(score)
    assert state.screen is Screen.welcome and state.pending is None


def test_a_failed_save_keeps_the_pending_tap_and_its_key_so_try_again_replays_the_same_request():
    state = enrolled_state()
    pending = state.tap(2)
    key = pending.idempotency_key

    state.failed()

    assert state.screen is Screen.error
    assert state.message_key == "kiosk.error.save"
    assert state.pending is pending and state.pending.idempotency_key == key
    assert state.score == 2

    # "Try again" (KioskApp.on_retry) goes back to saving and replays ``state.pending`` as it is.
    state.go(Screen.saving)
    assert state.pending is not None and state.pending.idempotency_key == key
    assert state.pending.score == 2 and state.pending.staff_no == "E1"
    state.saved(uuid.uuid4())
    assert state.screen is Screen.details and state.pending is None


def test_a_new_tap_gets_a_new_idempotency_key():
    state = enrolled_state()
    first = state.tap(5).idempotency_key
    state.saved(uuid.uuid4())
    state.reset()
    assert state.tap(5).idempotency_key != first


@pytest.mark.parametrize(
    ("score", "polarity", "offers_complaint"),
    [(1, "negative", True), (2, "negative", True), (3, "negative", True),
     (4, "positive", False), (5, "positive", False)],
)  # fmt: skip
def test_the_details_screen_asks_what_went_wrong_and_offers_a_complaint_up_to_three(
    score, polarity, offers_complaint
):
    state = enrolled_state()
    state.tap(score)
    state.saved(uuid.uuid4())
    assert state.polarity == polarity
    assert state.offers_complaint is offers_complaint


def test_reasons_toggle_on_and_off_in_the_order_chosen():
    state = enrolled_state()
    state.tap(1)
    state.saved(uuid.uuid4())
    state.details.toggle("2.4.1")
    state.details.toggle("2.1.1")
    state.details.toggle("2.2.1")
    state.details.toggle("2.4.1")
    assert state.details.reasons == ["2.1.1", "2.2.1"]


def test_opening_a_complaint_carries_the_first_reason_as_category_and_the_comment_as_description():
    state = enrolled_state()
    state.tap(2)
    state.saved(uuid.uuid4())
    state.details.toggle("2.4.1")
    state.details.toggle("2.1.1")
    state.details.comment = "等了四十分钟"
    state.say("kiosk.error.save")

    state.open_complaint()

    assert state.screen is Screen.complaint
    assert state.complaint.category == "2.4.1"
    assert state.complaint.description == "等了四十分钟"
    assert state.complaint.contact == "" and state.complaint.consent is False
    assert state.message_key is None
    form = state.complaint_form()
    assert form == {"category": "2.4.1", "description": "等了四十分钟", "consent": False, "locale": "zh-CN"}


def test_opening_a_complaint_without_reasons_leaves_the_category_open():
    state = enrolled_state()
    state.tap(1)
    state.saved(uuid.uuid4())
    state.open_complaint()
    assert state.complaint.category is None and state.complaint.description == ""
    assert state.complaint_form()["category"] == ""


def test_the_complaint_form_sends_a_contact_only_when_one_was_typed():
    state = enrolled_state()
    state.open_complaint()
    state.complaint.contact = "   "
    assert "contact" not in state.complaint_form()
    state.complaint.contact = " 13812345678 "
    state.complaint.consent = True
    form = state.complaint_form()
    assert form["contact"] == "13812345678" and form["consent"] is True


def test_a_replayed_complaint_keeps_the_code_already_shown():
    state = enrolled_state()
    state.open_complaint()
    filed = FILED
    state.complaint_filed(filed)
    assert state.screen is Screen.complaint_done and state.filed is filed
    state.complaint_filed(None)
    assert state.screen is Screen.complaint_done and state.filed is filed


def dirty_state(token: str | None) -> KioskState:
    """A session in the middle of everything a customer (and a staff member) can leave behind."""
    state = KioskState(locale="zh-CN", default_locale="zh-CN")
    if token:
        state.enrolled(token, place())
    state.locale = "en"
    state.tap(2)
    state.saved(uuid.uuid4())
    state.details.toggle("2.4.1")
    state.details.comment = "rude"
    state.open_complaint()
    state.complaint.contact = "13812345678"
    state.complaint.consent = True
    state.complaint_filed(FILED)
    state.staff_no_draft = "E1"
    state.say("staff.error.failed", "pin", minutes=3)
    return state


def test_reset_clears_everything_a_customer_left_and_restores_the_default_language():
    state = dirty_state("device-token")
    old_key = state.complaint.idempotency_key
    before = state.generation

    state.reset()

    assert state.screen is Screen.welcome
    assert state.generation > before
    assert state.locale == "zh-CN"
    assert state.pending is None and state.score is None and state.rating_id is None
    assert state.details.reasons == [] and state.details.comment == ""
    assert state.complaint.category is None and state.complaint.description == ""
    assert state.complaint.contact == "" and state.complaint.consent is False
    assert state.complaint.idempotency_key != old_key  # the next complaint is a new request
    assert state.filed is None
    assert state.staff_no_draft == ""
    assert (state.message_key, state.message_field, state.message_values) == (None, None, {})
    # What identifies the tablet stays.
    assert state.device_token == "device-token" and state.place == place()


def test_reset_also_clears_a_pending_tap():
    state = enrolled_state()
    state.tap(3)
    state.failed()
    state.reset()
    assert state.pending is None and state.score is None and state.screen is Screen.welcome


def test_reset_lands_on_enrolment_when_the_tablet_has_no_device_token():
    state = dirty_state(None)
    state.reset()
    assert state.screen is Screen.enrol
    assert state.locale == "zh-CN"
    assert state.filed is None and state.details.comment == ""


def test_reset_restores_an_english_default_too():
    state = KioskState(locale="en", default_locale="en")
    state.enrolled("device-token", place())
    state.locale = "zh-CN"
    state.reset()
    assert state.locale == "en"


@pytest.mark.parametrize(
    ("mode", "token", "home"),
    [(Mode.counter, "device-token", Screen.welcome), (Mode.counter, None, Screen.enrol),
     (Mode.phone, None, Screen.welcome), (Mode.status, None, Screen.status_lookup),
     (Mode.status, "device-token", Screen.status_lookup)],
)  # fmt: skip
def test_the_home_screen_depends_on_the_mode(mode, token, home):
    state = KioskState(locale="zh-CN", default_locale="zh-CN", mode=mode, device_token=token)
    assert state.home is home
    state.reset()
    assert state.screen is home


def test_enrolment_and_its_loss():
    state = KioskState(locale="zh-CN", default_locale="zh-CN")
    state.enrol_draft = "ABCD-EFGH"
    state.enrolled("device-token", place())
    assert state.screen is Screen.welcome and state.enrol_draft == "" and state.counter == place()
    state.needs_enrolment("kiosk.device.revoked")
    assert state.screen is Screen.enrol
    assert state.device_token is None and state.place is None
    assert state.message_key == "kiosk.device.revoked"
