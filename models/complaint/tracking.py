"""The customer's view of a complaint, by tracking code and without an account: the public status page
(no contact, no staff, no internal notes) and the customer's grade of the handling, which closes a
resolved complaint or reopens it one severity step higher.

Separate from filing (:mod:`models.complaint.filing`) and the staff's casework
(:mod:`models.complaint.casework`): this is all a tracking code opens, and nothing here is reached
by a staff member's session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select, update

from models import audit
from models.cases import Grade
from models.clock import utcnow
from models.codes import normalise_tracking_code, tracking_digest
from models.complaint.records import (
    Complaint,
    ComplaintEvent,
    ComplaintNotFound,
    ComplaintStatus,
    EventKind,
    SatisfactionNotOpen,
    Severity,
    _event,
)
from models.complaint.rules import (
    FINAL_STATUSES,
    _branch_tz,
    _promise,
    branch_clocks,
    contact_erase_time,
    next_severity,
    satisfaction_open,
)
from models.errors import ValidationFailed
from models.extension_rows import ComplaintExtension
from models.policy import PolicyValues, effective_policy

# ---------------------------------------------------------------------------------------------------
# The customer's view (tracking code, no account)


@dataclass(frozen=True)
class ComplaintStatusView:
    """What the holder of a tracking code may see: no contact, no staff, no internal notes."""

    status: ComplaintStatus
    severity: Severity
    category: str
    locale: str
    created_at: datetime
    due_at: datetime
    promise_unit: str
    promise_amount: int
    timezone: str  # the branch's, for every time shown
    # Approved extensions of the reply time: (when, the reason given, the new due time), oldest first.
    extensions: tuple[tuple[datetime, str, datetime], ...]
    reply: str | None
    satisfied: bool | None
    grade: str | None  # the customer's last grade of the handling
    can_answer_satisfaction: bool
    # Once rejected or closed: what the customer may do next, per language (policy remedies_*).
    remedies_zh: str
    remedies_en: str
    timeline: tuple[tuple[datetime, EventKind], ...]


def _by_code(session: Session, code: str) -> Complaint | None:
    raw = normalise_tracking_code(code)
    if raw is None:
        return None
    return session.exec(select(Complaint).where(Complaint.code_digest == tracking_digest(raw))).first()


def _extensions(session: Session, complaint: Complaint) -> tuple[tuple[datetime, str, datetime], ...]:
    rows = session.exec(
        select(ComplaintExtension)
        .where(ComplaintExtension.complaint_id == complaint.id, ComplaintExtension.status == "approved")
        .order_by(col(ComplaintExtension.seq))
    ).all()
    return tuple((r.decided_at, r.reason, r.due_after) for r in rows if r.decided_at and r.due_after)


def _view(session: Session, complaint: Complaint) -> ComplaintStatusView:
    events = session.exec(
        select(ComplaintEvent)
        .where(ComplaintEvent.complaint_id == complaint.id, col(ComplaintEvent.public))
        .order_by(col(ComplaintEvent.at), col(ComplaintEvent.id))
    ).all()
    status = ComplaintStatus(complaint.status)
    final = status in FINAL_STATUSES
    policy = effective_policy(session, complaint.branch_id) if final else None
    return ComplaintStatusView(
        status=status, severity=Severity(complaint.severity), category=complaint.category,
        locale=complaint.locale, created_at=complaint.created_at, due_at=complaint.due_at,
        promise_unit=complaint.promise_unit, promise_amount=complaint.promise_amount,
        timezone=_branch_tz(session, complaint.branch_id), extensions=_extensions(session, complaint),
        reply=complaint.reply,
        satisfied=complaint.satisfied, grade=complaint.grade,
        can_answer_satisfaction=satisfaction_open(status, complaint.satisfied),
        remedies_zh=policy.remedies_zh if policy else "", remedies_en=policy.remedies_en if policy else "",
        timeline=tuple((e.at, EventKind(e.kind)) for e in events),
    )  # fmt: skip


def public_status(session: Session, *, code: str) -> ComplaintStatusView | None:
    """The status page for a tracking code; None if the code is malformed or unknown."""
    complaint = _by_code(session, code)
    return None if complaint is None else _view(session, complaint)


def answer_satisfaction(
    session: Session,
    *,
    code: str,
    grade: Grade | str,
    policy: PolicyValues | None = None,
    now: datetime | None = None,
) -> ComplaintStatusView:
    """The customer's grade of the handling: 满意, 基本满意 or 不满意 (:class:`models.cases.Grade`, as for
    a 差评 case).

    1. Unknown or malformed code -> :class:`ComplaintNotFound`; not resolved, or already answered
       for this resolution -> :class:`SatisfactionNotOpen`; not a grade -> :class:`ValidationFailed`.
    2. 满意 or 基本满意: closed now, contact to be erased after the retention period; public events
       satisfied and closed; the grade is kept (``satisfied`` True).
    3. 不满意: back to investigating, escalation level + 1, severity one step up (at most high), due
       time recomputed from now; public events unsatisfied and reopened, an internal escalated event.
    4. The change is a conditional UPDATE (still resolved and unanswered) that must change exactly
       one row, so two answers racing cannot both apply.
    ``policy`` defaults to the complaint branch's effective policy.
    """
    if str(grade) not in set(Grade):
        raise ValidationFailed("grade", f"a grade is satisfied, fairly or dissatisfied, not {grade!r}")
    grade = Grade(grade)
    satisfied = grade is not Grade.dissatisfied
    complaint = _by_code(session, code)
    if complaint is None:
        raise ComplaintNotFound("no complaint with this tracking code")
    if not satisfaction_open(ComplaintStatus(complaint.status), complaint.satisfied):
        raise SatisfactionNotOpen("this complaint is not waiting for your answer")
    assert complaint.id is not None
    if policy is None:
        policy = effective_policy(session, complaint.branch_id)
    now = now or utcnow()
    events: list[ComplaintEvent] = []
    values: dict[str, Any]
    if satisfied:
        values = {
            "satisfied": True, "grade": grade.value, "status": ComplaintStatus.closed.value, "closed_at": now,
            "contact_erase_after": contact_erase_time(now, policy),
        }  # fmt: skip
        events += [
            _event(complaint.id, now, EventKind.satisfied),
            _event(complaint.id, now, EventKind.closed),
        ]
    else:
        old = Severity(complaint.severity)
        severity = next_severity(old)
        level = complaint.escalation_level + 1
        values = {
            "satisfied": False, "grade": grade.value, "status": ComplaintStatus.investigating.value,
            "resolved_at": None,
            "severity": severity.value,
            **_promise(branch_clocks(session, complaint.branch_id, now, severity, policy)),
            "escalation_level": col(Complaint.escalation_level) + 1,
        }  # fmt: skip
        events += [
            _event(complaint.id, now, EventKind.unsatisfied),
            _event(complaint.id, now, EventKind.reopened),
            _event(
                complaint.id, now, EventKind.escalated, public=False,
                note=f"customer not satisfied; severity {old.value} -> {severity.value}, level {level}",
            ),
        ]  # fmt: skip
    changed = session.exec(
        update(Complaint)
        .where(
            col(Complaint.id) == complaint.id,
            col(Complaint.status) == ComplaintStatus.resolved.value,
            col(Complaint.satisfied).is_(None),
        )
        .values(**values)
    )
    if changed.rowcount != 1:
        session.rollback()
        raise SatisfactionNotOpen("this complaint is not waiting for your answer")
    session.add_all(events)
    audit.append(
        session, action="complaint.satisfied" if satisfied else "complaint.unsatisfied", entity="complaint",
        entity_id=complaint.id, details={"grade": grade.value}, now=now,
    )  # fmt: skip
    session.commit()
    session.refresh(complaint)
    return _view(session, complaint)
