"""Misuse flags, phone (QR) ratings, rating details, policy scopes, and signing in at a counter."""

from datetime import timedelta

import pytest
from sqlmodel import select

from models.clock import utcnow
from models.devices import authenticate_device
from models.duty import on_duty, sign_in, sign_out
from models.errors import (
    InductionNotPassed,
    NotOnDuty,
    QrTokenUnknown,
    RatingThrottled,
    SignInFailed,
    SignInThrottled,
    ValidationFailed,
)
from models.intake import rate_at_device
from models.org import Staff
from models.policy import effective_policy, set_policy
from models.rating import RatingCreate, add_rating_details, rate_by_qr


def tap(db, world, key, at, score=5):
    with db.write() as s:
        device = authenticate_device(s, world.device_token, now=at)
        rating, _ = rate_at_device(
            s, device=device, idempotency_key=key, data=RatingCreate(score=score), now=at
        )
        return rating


def test_presses_inside_the_minimum_interval_are_stored_flagged_and_not_counted(db, world):
    t0 = utcnow()
    first = tap(db, world, "a", t0)
    second = tap(db, world, "b", t0 + timedelta(seconds=2))
    third = tap(db, world, "c", t0 + timedelta(seconds=9))
    assert (first.counted, first.flagged) == (True, False)
    assert (second.counted, second.flagged, second.flag_reason) == (False, True, "too_soon")
    assert third.counted


def test_a_replayed_press_keeps_the_flag_it_was_stored_with(db, world):
    t0 = utcnow()
    tap(db, world, "a", t0)
    first = tap(db, world, "b", t0 + timedelta(seconds=10))
    replay = tap(db, world, "b", t0 + timedelta(seconds=11))  # retry of "b" after a lost answer
    assert replay.id == first.id and replay.counted


def test_a_burst_of_presses_is_flagged(db, world):
    with db.write() as s:
        set_policy(
            s, values={"min_press_interval_seconds": 0, "burst_max_presses": 3}, branch_id=world.branch_id
        )
    t0 = utcnow()
    results = [tap(db, world, f"k{i}", t0 + timedelta(seconds=i * 6)) for i in range(4)]
    assert [r.counted for r in results] == [True, True, True, False]
    assert results[-1].flag_reason == "burst"


def test_branch_policy_overrides_the_global_policy_which_overrides_defaults(db, world):
    with db.write() as s:
        set_policy(s, values={"idle_reset_seconds": 45})
        set_policy(s, values={"qr_window_hours": 6}, branch_id=world.branch_id)
        mine = effective_policy(s, world.branch_id)
        other = effective_policy(s, world.other_branch_id)
    assert (mine.idle_reset_seconds, mine.qr_window_hours) == (45, 6)
    assert (other.idle_reset_seconds, other.qr_window_hours) == (45, 12)


def test_a_bad_policy_edit_is_refused_and_changes_nothing(db, world):
    with db.write() as s:
        with pytest.raises(ValueError):
            set_policy(s, values={"idle_reset_seconds": 2})
        assert effective_policy(s).idle_reset_seconds == 30


def qr_token(db, employee_no: str) -> str:
    with db.read() as s:
        return s.exec(select(Staff).where(Staff.employee_no == employee_no)).one().qr_token


def by_phone(db, token, phone, key, at, score=4):
    with db.write() as s:
        rating, _ = rate_by_qr(
            s, qr_token=token, phone_id=phone, idempotency_key=key, data=RatingCreate(score=score), now=at
        )
        return rating


def test_one_counted_rating_per_phone_per_person_per_window(db, world):
    token = qr_token(db, world.staff_no)
    t0 = utcnow()
    first = by_phone(db, token, "phone-1", "q1", t0)
    repeat = by_phone(db, token, "phone-1", "q2", t0 + timedelta(hours=1))
    other_phone = by_phone(db, token, "phone-2", "q3", t0 + timedelta(hours=1))
    next_day = by_phone(db, token, "phone-1", "q4", t0 + timedelta(hours=13))
    assert first.counted and first.channel == "qr" and first.counter_id is None
    assert (repeat.counted, repeat.flag_reason) == (False, "repeat_phone")
    assert other_phone.counted and next_day.counted
    assert first.phone_key and "phone-1" not in first.phone_key


def test_a_phone_pressing_too_often_is_throttled_and_nothing_is_stored(db, world):
    token = qr_token(db, world.staff_no)
    t0 = utcnow()
    for i in range(6):
        by_phone(db, token, "busy", f"b{i}", t0 + timedelta(minutes=i))
    with pytest.raises(RatingThrottled):
        by_phone(db, token, "busy", "b6", t0 + timedelta(minutes=7))
    # A retry of an already stored rating is still answered, not throttled.
    assert by_phone(db, token, "busy", "b5", t0 + timedelta(minutes=8)).idempotency_key == "b5"


@pytest.mark.parametrize("token", ["", "nope", "x" * 300])
def test_unknown_qr_tokens_are_refused(db, world, token):
    with db.write() as s, pytest.raises(QrTokenUnknown):
        rate_by_qr(s, qr_token=token, phone_id="p", idempotency_key="k", data=RatingCreate(score=5))


def test_a_deactivated_persons_badge_no_longer_works(db, world):
    token = qr_token(db, world.staff_no)
    with db.write() as s:
        staff = s.exec(select(Staff).where(Staff.employee_no == world.staff_no)).one()
        staff.active = False
        s.add(staff)
        s.commit()
    with db.write() as s, pytest.raises(QrTokenUnknown):
        rate_by_qr(s, qr_token=token, phone_id="p", idempotency_key="k", data=RatingCreate(score=5))


def test_reasons_and_a_comment_can_follow_the_tap_for_a_short_while(db, world):
    t0 = utcnow()
    rating = tap(db, world, "a", t0, score=2)
    assert rating.id is not None
    with db.write() as s:
        updated = add_rating_details(s, rating_id=rating.id, reasons=["2.2.2"], comment=" 等太久 ", now=t0)
    assert (updated.reasons, updated.comment, updated.score) == (["2.2.2"], "等太久", 2)
    with db.write() as s, pytest.raises(ValidationFailed):
        add_rating_details(s, rating_id=rating.id, reasons=[], comment="later", now=t0 + timedelta(hours=1))
    with db.write() as s, pytest.raises(ValidationFailed):
        add_rating_details(s, rating_id=rating.id, reasons=["4.2.1"], comment="", now=t0)


def test_staff_sign_in_and_out_at_a_counter_with_their_pin(db, world):
    now = utcnow()
    with db.write() as s:
        sign_in(s, counter_id=world.closed_counter_id, employee_no="e1", pin="2468", now=now)
    with db.read() as s:
        current = on_duty(s, counter_id=world.closed_counter_id, at=now + timedelta(seconds=1))
        assert current is not None and current.employee_no == "E1"
    with db.write() as s, pytest.raises(SignInFailed):
        sign_out(s, counter_id=world.closed_counter_id, employee_no="E1", pin="0000", now=now)
    with db.write() as s:
        sign_out(
            s,
            counter_id=world.closed_counter_id,
            employee_no="E1",
            pin="2468",
            now=now + timedelta(minutes=1),
        )
    with db.read() as s:
        assert on_duty(s, counter_id=world.closed_counter_id, at=now + timedelta(minutes=2)) is None
    with db.write() as s, pytest.raises(NotOnDuty):
        sign_out(
            s,
            counter_id=world.closed_counter_id,
            employee_no="E1",
            pin="2468",
            now=now + timedelta(minutes=3),
        )


def test_a_new_hire_without_passed_induction_cannot_sign_in(db, world):
    with db.write() as s, pytest.raises(InductionNotPassed):
        sign_in(s, counter_id=world.closed_counter_id, employee_no=world.colleague_no, pin="2468")
    with db.read() as s:
        assert on_duty(s, counter_id=world.closed_counter_id) is None


def test_staff_of_another_branch_cannot_sign_in_here(db, world):
    with db.write() as s, pytest.raises(SignInFailed):
        sign_in(s, counter_id=world.closed_counter_id, employee_no=world.other_branch_staff_no, pin="2468")


def test_pin_guessing_is_throttled_then_allowed_again_after_the_window(db, world):
    now = utcnow()
    for _ in range(5):
        with db.write() as s, pytest.raises(SignInFailed):
            sign_in(s, counter_id=world.closed_counter_id, employee_no="E1", pin="1111", now=now)
    with db.write() as s, pytest.raises(SignInThrottled) as info:
        sign_in(s, counter_id=world.closed_counter_id, employee_no="E1", pin="2468", now=now)
    assert 0 < info.value.details["wait_seconds"] <= 601
    with db.write() as s:
        sign_in(
            s,
            counter_id=world.closed_counter_id,
            employee_no="E1",
            pin="2468",
            now=now + timedelta(minutes=11),
        )


def test_policy_values_are_checked_as_they_will_be_read_global_under_branch(db, world):
    """A branch override is valid on top of the global rules, not the defaults; a global change that
    would leave a branch's own values contradictory is refused, and nothing is written either way."""
    with db.write() as s:
        set_policy(s, values={"closing_time": "20:00"})
        assert effective_policy(s, world.branch_id).closing_time == "20:00"
        set_policy(s, values={"opening_time": "18:00"}, branch_id=world.branch_id)  # 18:00–20:00 there
        assert effective_policy(s, world.branch_id).opening_time == "18:00"
        with pytest.raises(ValueError):
            set_policy(s, values={"closing_time": "17:00"})  # would close the branch before it opens
        s.rollback()
        assert effective_policy(s).closing_time == "20:00"
