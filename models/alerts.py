"""Live alerts for supervisors (conduct code §2.5.1: report at once, never hide or delay).

An alert is a row first (so nothing is lost when no screen is open) and a push second. Each has a
``dedupe_key`` so the same situation raises one alert however often it is checked: a high-severity
complaint once, a complaint whose reply is due soon once and an overdue one once per escalation
level, a negative burst at a counter once per window, an appeal nearing or past its decision time
once each (models/appeal_clock.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, Column, Index, String
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

import models.base  # noqa: F401  (naming convention first)
from models.clock import UTCDateTime, utcnow
from models.policy import PolicyValues, effective_policy
from models.prepared import Prepared


class AlertKind(StrEnum):
    high_complaint = "high_complaint"
    overdue = "overdue"
    negative_burst = "negative_burst"
    due_soon = "due_soon"
    first_contact = "first_contact"  # a new case not acknowledged by its first-contact due time
    escalation = "escalation"  # 督办: still overdue N working days after its due time
    appeal_due_soon = "appeal_due_soon"  # an undecided appeal nearing its decision time
    appeal_overdue = "appeal_overdue"  # an undecided appeal past its decision time


class Alert(SQLModel, table=True):
    __table_args__ = (
        CheckConstraint(
            "kind IN ('high_complaint', 'overdue', 'negative_burst', 'due_soon', 'first_contact',"
            " 'escalation', 'appeal_due_soon', 'appeal_overdue')",
            name="kind",
        ),
        Index("ix_alert_branch_open", "branch_id", "acknowledged_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    branch_id: int = Field(foreign_key="branch.id")
    kind: AlertKind = Field(sa_type=String(16))
    complaint_id: int | None = Field(default=None, foreign_key="complaint.id")
    counter_id: int | None = Field(default=None, foreign_key="counter.id")
    dedupe_key: str = Field(max_length=96, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    acknowledged_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    acknowledged_by: int | None = Field(default=None, foreign_key="staff.id")


@dataclass(frozen=True)
class AlertView:
    id: int
    branch_id: int
    kind: str
    complaint_id: int | None
    counter_id: int | None
    created_at: datetime


def view(alert: Alert) -> AlertView:
    assert alert.id is not None
    return AlertView(
        alert.id, alert.branch_id, str(alert.kind), alert.complaint_id, alert.counter_id, alert.created_at
    )


def raise_alert(
    session: Session,
    *,
    branch_id: int,
    kind: AlertKind,
    dedupe_key: str,
    complaint_id: int | None = None,
    counter_id: int | None = None,
    now: datetime | None = None,
) -> AlertView | None:
    """Store an alert once; returns it if new, None if this situation was already raised."""
    if session.exec(select(Alert.id).where(Alert.dedupe_key == dedupe_key)).first() is not None:
        return None
    alert = Alert(
        branch_id=branch_id,
        kind=kind,
        dedupe_key=dedupe_key,
        complaint_id=complaint_id,
        counter_id=counter_id,
        created_at=now or utcnow(),
    )
    session.add(alert)
    try:
        session.commit()
    except IntegrityError:  # raised meanwhile by another server
        session.rollback()
        return None
    return view(alert)


def _insert_once(dialect_name: str) -> Any:
    table = Alert.__table__  # type: ignore[attr-defined]
    key = [table.c.dedupe_key]
    if dialect_name == "sqlite":
        return sqlite_insert(table).on_conflict_do_nothing(index_elements=key).returning(table.c.id)
    if dialect_name == "postgresql":
        return pg_insert(table).on_conflict_do_nothing(index_elements=key).returning(table.c.id)
    raise ValueError(f"alerts are stored on SQLite or PostgreSQL, not {dialect_name}")


_ALERT_COLUMNS = ["branch_id", "kind", "dedupe_key", "complaint_id", "counter_id", "created_at"]
_INSERT_ONCE = Prepared(_insert_once, column_keys=[*_ALERT_COLUMNS, "acknowledged_at", "acknowledged_by"])


def raise_alert_on(
    conn: Any,
    dialect: Dialect,
    *,
    branch_id: int,
    kind: AlertKind,
    dedupe_key: str,
    now: datetime,
    complaint_id: int | None = None,
    counter_id: int | None = None,
) -> AlertView | None:
    """:func:`raise_alert` on the driver's connection (:mod:`models.prepared`) in the caller's
    transaction, uncommitted: stored once by its dedupe key, so the alert lands with the change that
    raised it. Returns it if new (the caller publishes it after the commit), None if it was raised
    before."""
    values = {
        "branch_id": branch_id, "kind": kind.value, "dedupe_key": dedupe_key, "complaint_id": complaint_id,
        "counter_id": counter_id, "created_at": now, "acknowledged_at": None, "acknowledged_by": None,
    }  # fmt: skip
    row = _INSERT_ONCE.first(conn, dialect, values)
    if row is None:
        return None
    return AlertView(int(row[0]), branch_id, kind.value, complaint_id, counter_id, now)


NEGATIVE_SCORE = 2  # ratings at this score or below count towards a negative burst


def is_negative_burst(scores: list[int], policy: PolicyValues) -> bool:
    """Policy rule: at least N ratings in the window, and at least the share of them at 1–2."""
    return burst_reached(len(scores), sum(1 for s in scores if s <= NEGATIVE_SCORE), policy)


def burst_reached(total: int, low: int, policy: PolicyValues) -> bool:
    """:func:`is_negative_burst` from the counts: ``total`` ratings in the window, ``low`` of them at 1–2."""
    return total >= policy.burst_alert_min_ratings and low / total >= policy.burst_alert_low_share


def recent_scores(session: Session, *, counter_id: int, policy: PolicyValues, now: datetime) -> list[int]:
    """The counted scores customers gave at a counter within the policy's burst window before ``now``
    (a default rating, given by the policy to a transaction nobody rated, says nothing of the mood)."""
    from models.rating import Rating

    window = timedelta(minutes=policy.burst_alert_window_minutes)
    return list(
        session.exec(
            select(Rating.score).where(
                Rating.counter_id == counter_id,
                Rating.counted,
                col(Rating.is_default).is_(False),
                col(Rating.created_at) > now - window,
            )
        ).all()
    )


def check_negative_burst(
    session: Session, *, branch_id: int, counter_id: int, policy: PolicyValues, now: datetime | None = None
) -> AlertView | None:
    now = now or utcnow()
    window = timedelta(minutes=policy.burst_alert_window_minutes)
    if not is_negative_burst(recent_scores(session, counter_id=counter_id, policy=policy, now=now), policy):
        return None
    # One alert per counter per window-sized bucket of time.
    bucket = int(now.timestamp() // window.total_seconds())
    return raise_alert(
        session,
        branch_id=branch_id,
        kind=AlertKind.negative_burst,
        counter_id=counter_id,
        dedupe_key=f"burst:{counter_id}:{bucket}",
        now=now,
    )


# A reply due within this time is "due soon", as on the dashboard (models/reports/open_complaints.py).
DUE_SOON = timedelta(hours=24)


def open_complaints_due(
    session: Session, *, before: datetime, not_before: datetime | None = None
) -> list[tuple[int, int, int]]:
    """(id, branch_id, escalation_level) of every open complaint due before ``before`` (and, when
    given, not before ``not_before``), oldest due first."""
    from models.complaint import Complaint, ComplaintStatus

    open_states = [
        ComplaintStatus.new.value,
        ComplaintStatus.acknowledged.value,
        ComplaintStatus.investigating.value,
    ]
    stmt = select(Complaint.id, Complaint.branch_id, Complaint.escalation_level).where(
        col(Complaint.status).in_(open_states), col(Complaint.due_at) < before
    )
    if not_before is not None:
        stmt = stmt.where(col(Complaint.due_at) >= not_before)
    rows = session.exec(stmt.order_by(col(Complaint.due_at), col(Complaint.id))).all()
    return [(int(i), int(b), int(level)) for i, b, level in rows if i is not None]


def first_contacts_due(session: Session, *, before: datetime) -> list[tuple[int, int, int]]:
    """(id, branch_id, escalation_level) of every new (unacknowledged) complaint whose first-contact
    clock ran out before ``before``."""
    from models.complaint import Complaint, ComplaintStatus

    stmt = select(Complaint.id, Complaint.branch_id, Complaint.escalation_level).where(
        Complaint.status == ComplaintStatus.new.value,
        col(Complaint.first_contact_due_at).is_not(None),
        col(Complaint.first_contact_due_at) < before,
    )
    rows = session.exec(stmt.order_by(col(Complaint.first_contact_due_at), col(Complaint.id))).all()
    return [(int(i), int(b), int(level)) for i, b, level in rows if i is not None]


def escalations_due(session: Session, *, now: datetime) -> list[tuple[int, int, int]]:
    """The open overdue complaints whose 督办 time (models.complaint.escalation_time, by each
    branch's policy and calendar) has passed at ``now``."""
    from models.complaint import Complaint, escalation_time

    late = open_complaints_due(session, before=now)
    ids = [c[0] for c in late]
    due = dict(session.exec(select(Complaint.id, Complaint.due_at).where(col(Complaint.id).in_(ids))).all())
    policies: dict[int, PolicyValues] = {}
    out = []
    for complaint in late:
        branch_id = complaint[1]
        policy = policies.setdefault(branch_id, effective_policy(session, branch_id))
        at = escalation_time(session, branch_id, due[complaint[0]], policy)
        if at is not None and at <= now:
            out.append(complaint)
    return out


def raise_sla_alert(
    session: Session, *, kind: AlertKind, complaint: tuple[int, int, int], now: datetime
) -> AlertView | None:
    """The due-soon warning or the overdue escalation of one complaint, once per escalation level."""
    complaint_id, branch_id, level = complaint
    return raise_alert(
        session,
        branch_id=branch_id,
        kind=kind,
        complaint_id=complaint_id,
        dedupe_key=f"{kind.value}:{complaint_id}:{level}",
        now=now,
    )


def sweep_overdue(session: Session, *, now: datetime | None = None) -> list[AlertView]:
    """Raise an alert for every open complaint past its due time (once per escalation level)."""
    now = now or utcnow()
    raised = []
    for c in open_complaints_due(session, before=now):
        alert = raise_sla_alert(session, kind=AlertKind.overdue, complaint=c, now=now)
        if alert:
            raised.append(alert)
    return raised


def open_alerts(session: Session, *, branch_ids: list[int] | None, limit: int = 50) -> list[AlertView]:
    stmt = select(Alert).where(col(Alert.acknowledged_at).is_(None))
    if branch_ids is not None:
        stmt = stmt.where(col(Alert.branch_id).in_(branch_ids))
    return [view(a) for a in session.exec(stmt.order_by(col(Alert.id).desc()).limit(limit)).all()]


def acknowledge(
    session: Session,
    *,
    alert_id: int,
    staff_id: int,
    branch_ids: list[int] | None,
    now: datetime | None = None,
) -> None:
    alert = session.get(Alert, alert_id)
    if alert is None or (branch_ids is not None and alert.branch_id not in branch_ids):
        return
    if alert.acknowledged_at is None:
        alert.acknowledged_at, alert.acknowledged_by = now or utcnow(), staff_id
        session.add(alert)
        session.commit()
