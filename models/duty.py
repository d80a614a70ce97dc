"""Who is signed in at which counter."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from models.clock import utcnow
from models.org import Duty, Staff


def on_duty(session: Session, *, counter_id: int, at: datetime | None = None) -> Staff | None:
    """The staff member on duty at ``counter_id`` at time ``at`` (now by default), or None.

    If duties overlap (a sign-out was missed), the most recent sign-in wins.
    """
    at = at or utcnow()
    stmt = (
        select(Staff)
        .join(Duty, col(Duty.staff_id) == col(Staff.id))
        .where(
            Duty.counter_id == counter_id,
            col(Duty.started_at) <= at,
            (col(Duty.ended_at).is_(None)) | (col(Duty.ended_at) > at),
            Staff.active,
        )
        .order_by(col(Duty.started_at).desc())
        .limit(1)
    )
    return session.exec(stmt).first()


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
