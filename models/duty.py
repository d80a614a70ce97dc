"""Who is signed in at which counter."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from models.clock import utcnow
from models.crypto import verify_secret
from models.errors import InductionNotPassed, NotOnDuty, SignInFailed, SignInThrottled
from models.org import Counter, Duty, Staff
from models.text import is_plain_key
from models.throttle import blocked_for, clear, record_failure
from models.training import has_passed_induction


def on_duty_where(counter_id: Any) -> tuple[Any, ...]:
    """Who is on duty at the counter ``counter_id`` (a bind parameter or a column) at the bound time
    ``at`` (bound twice: ``at`` and ``at_end``); the caller joins Duty to Staff and orders by
    ``Duty.started_at`` descending, so overlapping duties (a missed sign-out) give the latest
    sign-in. Shared with the rating intake (models/intake.py)."""
    return (
        col(Duty.counter_id) == counter_id,
        col(Duty.started_at) <= bindparam("at"),
        col(Duty.ended_at).is_(None) | (col(Duty.ended_at) > bindparam("at_end")),
        col(Staff.active),
    )


# Built once (bind counter_id, at, at_end).
_ON_DUTY = (
    select(Staff)
    .join(Duty, col(Duty.staff_id) == col(Staff.id))
    .where(*on_duty_where(bindparam("counter_id")))
    .order_by(col(Duty.started_at).desc())
    .limit(1)
)


def on_duty(session: Session, *, counter_id: int, at: datetime | None = None) -> Staff | None:
    """The staff member on duty at ``counter_id`` at time ``at`` (now by default), or None.

    If duties overlap (a sign-out was missed), the most recent sign-in wins.
    """
    at = at or utcnow()
    return session.exec(_ON_DUTY, params={"counter_id": counter_id, "at": at, "at_end": at}).first()


def start_duty(session: Session, *, staff_id: int, counter_id: int, at: datetime | None = None) -> Duty:
    """Sign a staff member in at a counter, ending any open duty of theirs or at that counter."""
    at = at or utcnow()
    open_duties = session.exec(
        select(Duty).where(
            col(Duty.ended_at).is_(None),
            (Duty.staff_id == staff_id) | (Duty.counter_id == counter_id),
        )
    ).all()
    for duty in open_duties:
        duty.ended_at = max(at, duty.started_at)
        session.add(duty)
    duty = Duty(staff_id=staff_id, counter_id=counter_id, started_at=at)
    session.add(duty)
    session.commit()
    return duty


PIN_LIMIT = 5
PIN_WINDOW = timedelta(minutes=10)


def sign_in(
    session: Session, *, counter_id: int, employee_no: str, pin: str, now: datetime | None = None
) -> Staff:
    """A staff member signs in at a counter with their employee number and PIN.

    Refused (each with its own exception) when the PIN is wrong or being guessed, the person is not
    of this counter's branch, or their induction training is not recorded as passed (conduct code §3.1.1:
    assessed before going on duty).
    """
    now = now or utcnow()
    staff = _check_pin(session, counter_id=counter_id, employee_no=employee_no, pin=pin, now=now)
    assert staff.id is not None
    if not has_passed_induction(session, staff.id):
        raise InductionNotPassed("induction training is not recorded as passed")
    start_duty(session, staff_id=staff.id, counter_id=counter_id, at=now)
    return staff


def sign_out(
    session: Session, *, counter_id: int, employee_no: str, pin: str, now: datetime | None = None
) -> Staff:
    """End the duty of the person signed in at this counter (their PIN confirms it is them)."""
    now = now or utcnow()
    staff = _check_pin(session, counter_id=counter_id, employee_no=employee_no, pin=pin, now=now)
    current = on_duty(session, counter_id=counter_id, at=now)
    if current is None or current.id != staff.id:
        raise NotOnDuty("this person is not signed in at this counter")
    for duty in session.exec(
        select(Duty).where(
            Duty.counter_id == counter_id, Duty.staff_id == staff.id, col(Duty.ended_at).is_(None)
        )
    ).all():
        duty.ended_at = max(now, duty.started_at)
        session.add(duty)
    session.commit()
    return staff


def _check_pin(session: Session, *, counter_id: int, employee_no: str, pin: str, now: datetime) -> Staff:
    employee_no = employee_no.strip().upper()
    if not is_plain_key(employee_no, 32):
        # No such number can exist (and NUL or an over-long key must not reach the database).
        raise SignInFailed("employee number or PIN is wrong")
    key = f"pin:{employee_no}"
    wait = blocked_for(session, key, limit=PIN_LIMIT, window=PIN_WINDOW, now=now)
    if wait is not None:
        raise SignInThrottled("too many wrong PINs", wait_seconds=int(wait.total_seconds()) + 1)
    staff = session.exec(select(Staff).where(Staff.employee_no == employee_no)).first()
    if staff is None or not staff.active or not verify_secret(staff.pin_hash, pin):
        record_failure(session, key, window=PIN_WINDOW, now=now)
        # One message for an unknown number and a wrong PIN: do not reveal which numbers exist.
        raise SignInFailed("employee number or PIN is wrong")
    clear(session, key)
    counter = session.get(Counter, counter_id)
    if counter is None or staff.branch_id != counter.branch_id:
        raise SignInFailed("this person does not work at this branch")
    return staff
