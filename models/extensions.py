"""Extending a complaint's reply clock (docs/RULES-CITED.md §2: the bank rule of 15 → 30 → 60 days).

1. A supervisor of the complaint's branch (or an administrator) asks for an extension with a
   reason. The policy's ``extension_lengths`` says how many extensions a case may have and how long
   each is, in the reply clock's own unit (days for a day clock, opening hours otherwise): the
   bank preset allows two, of 15 and then 30 calendar days. One request may be open at a time.
2. An administrator other than the one who asked decides (四眼原则: nobody approves their own
   request). Neither asking nor deciding is done by a person the complaint names or whose customer
   they served (回避, :func:`models.complaint.involved_staff`): ConflictOfInterest. Approved: the
   reply clock is counted again from the filing with the longer period (by the same calendar and
   rule), the complaint's due time and promise change, and the customer's status page shows the
   extension, its reason and the new due time. Refused: nothing changes.
3. Every step is an audit entry committed with the change; a decision is a conditional UPDATE on
   the request's status, so two administrators deciding at once cannot both apply it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select, update

from models import audit
from models.clock import utcnow
from models.complaint import (
    Complaint,
    ComplaintEvent,
    ComplaintNotFound,
    ComplaintStatus,
    EventKind,
    InvalidTransition,
    Severity,
    branch_clocks,
    check_not_involved,
)
from models.errors import Forbidden, NotFound, ValidationFailed
from models.extension_rows import REASON_MAX_CHARS, ComplaintExtension
from models.org import Role, Staff
from models.policy import PolicyValues, effective_policy
from models.text import clean_text

OPEN = (ComplaintStatus.new, ComplaintStatus.acknowledged, ComplaintStatus.investigating)


class ExtensionRefused(ValidationFailed):
    """The request breaks the policy. ``reason`` is a stable word for the screens: none_allowed,
    all_used, waiting (one is already open), closed (the case is not open) or legacy (filed before
    promises were recorded)."""

    code = "extension_refused"

    def __init__(self, reason: str, message: str):
        super().__init__("complaint", message)
        self.reason = reason


@dataclass(frozen=True)
class ExtensionView:
    id: int
    seq: int
    length: int
    unit: str
    reason: str
    status: str
    requested_by: int
    requested_at: datetime
    decided_by: int | None
    decided_at: datetime | None
    due_before: datetime
    due_after: datetime | None


def view(e: ComplaintExtension) -> ExtensionView:
    assert e.id is not None
    return ExtensionView(
        e.id, e.seq, e.length, e.unit, e.reason, e.status, e.requested_by, e.requested_at,
        e.decided_by, e.decided_at, e.due_before, e.due_after,
    )  # fmt: skip


def extensions_of(session: Session, complaint_id: int) -> list[ExtensionView]:
    rows = session.exec(
        select(ComplaintExtension)
        .where(ComplaintExtension.complaint_id == complaint_id)
        .order_by(col(ComplaintExtension.seq))
    ).all()
    return [view(r) for r in rows]


def _may_ask(staff: Staff, complaint: Complaint) -> None:
    role = Role(staff.role)
    if role is Role.admin or (role is Role.supervisor and staff.branch_id == complaint.branch_id):
        return
    raise Forbidden("only a supervisor of the complaint's branch or an administrator asks for an extension")


def next_length(policy: PolicyValues, approved: int) -> int | None:
    """The length of the next extension, or None when the policy allows no more."""
    lengths = policy.extension_lengths
    return lengths[approved] if approved < len(lengths) else None


def request_extension(
    session: Session, *, complaint_id: int, actor: Staff, reason: str, now: datetime | None = None
) -> ExtensionView:
    """Step 1; commits. Raises ComplaintNotFound, Forbidden, ValidationFailed or ExtensionRefused."""
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise ComplaintNotFound(f"no complaint with id {complaint_id}")
    _may_ask(actor, complaint)
    check_not_involved(session, complaint, actor.id)
    reason = clean_text(reason or "", max_chars=REASON_MAX_CHARS)
    if not reason:
        raise ValidationFailed("reason", "say why the case needs more time: the customer is told the reason")
    if ComplaintStatus(complaint.status) not in OPEN:
        raise ExtensionRefused("closed", "only an open complaint's reply time can be extended")
    if complaint.promise_amount == 0:
        raise ExtensionRefused(
            "legacy", "this complaint was filed before reply promises were recorded; it cannot be extended"
        )
    rows = extensions_of(session, complaint_id)
    if any(r.status == "requested" for r in rows):
        raise ExtensionRefused(
            "complaint", "an extension of this complaint is already waiting for a decision"
        )
    policy = effective_policy(session, complaint.branch_id)
    length = next_length(policy, sum(r.status == "approved" for r in rows))
    if length is None:
        allowed = len(policy.extension_lengths)
        raise ExtensionRefused(
            "none_allowed" if allowed == 0 else "all_used",
            "this branch's rules allow no extension of the reply time"
            if allowed == 0
            else f"this branch's rules allow {allowed} extension(s) and all are used",
        )
    now = now or utcnow()
    assert actor.id is not None
    row = ComplaintExtension(
        complaint_id=complaint_id, seq=len(rows) + 1, length=length, unit=complaint.promise_unit,
        reason=reason, requested_by=actor.id, requested_at=now, due_before=complaint.due_at,
    )  # fmt: skip
    session.add(row)
    session.flush()
    audit.append(
        session, action="complaint.extension.request", entity="complaint", entity_id=complaint_id,
        actor_staff_id=actor.id, now=now, details={"extension": row.id, "length": length, "unit": row.unit},
    )  # fmt: skip
    session.commit()
    return view(row)


def decide_extension(
    session: Session,
    *,
    extension_id: int,
    actor: Staff,
    approve: bool,
    note: str = "",
    now: datetime | None = None,
) -> ExtensionView:
    """Step 2; commits. Raises NotFound, Forbidden (not an administrator, or the requester),
    ConflictOfInterest (the complaint involves the administrator) or InvalidTransition (already
    decided, or the case closed meanwhile)."""
    row = session.get(ComplaintExtension, extension_id)
    if row is None:
        raise NotFound(f"no extension request {extension_id}")
    if Role(actor.role) is not Role.admin:
        raise Forbidden("an administrator decides an extension")
    if actor.id == row.requested_by:
        raise Forbidden("someone other than the one who asked must decide an extension")
    if row.status != "requested":
        raise InvalidTransition(f"this extension was already {row.status}")
    complaint = session.get(Complaint, row.complaint_id)
    assert complaint is not None
    check_not_involved(session, complaint, actor.id)
    now = now or utcnow()
    note = clean_text(note or "", max_chars=REASON_MAX_CHARS)
    values: dict[str, object] = {"status": "approved" if approve else "refused", "decided_by": actor.id,
                                 "decided_at": now, "decision_note": note}  # fmt: skip
    if approve:
        if ComplaintStatus(complaint.status) not in OPEN:
            raise InvalidTransition("the complaint is no longer open; nothing to extend")
        policy = effective_policy(session, complaint.branch_id)
        longer = _extended_policy(policy, complaint, row.length)
        clock = branch_clocks(
            session, complaint.branch_id, complaint.created_at, Severity(complaint.severity), longer
        )
        # Never earlier than the time already promised, whatever the calendar says now.
        values["due_after"] = due_after = max(clock.due_at, complaint.due_at)
    changed = session.exec(
        update(ComplaintExtension)
        .where(col(ComplaintExtension.id) == extension_id, col(ComplaintExtension.status) == "requested")
        .values(**values)
    ).rowcount
    if changed != 1:
        session.rollback()
        raise InvalidTransition("this extension was decided meanwhile")
    if approve:
        assert complaint.id is not None
        complaint.due_at = due_after
        complaint.promise_amount = clock.amount
        session.add(complaint)
        session.add(ComplaintEvent(complaint_id=complaint.id, at=now, kind=EventKind.extended, public=True,
                                   actor_staff_id=actor.id))  # fmt: skip
    audit.append(
        session, action="complaint.extension.decide", entity="complaint", entity_id=complaint.id,
        actor_staff_id=actor.id, now=now, details={"extension": extension_id, "approved": approve},
    )  # fmt: skip
    session.commit()
    session.refresh(row)
    return view(row)


def _extended_policy(policy: PolicyValues, complaint: Complaint, length: int) -> PolicyValues:
    """The policy with the complaint's promised period made ``length`` longer, in its own unit."""
    total = complaint.promise_amount + length
    if complaint.promise_unit in ("working_days", "calendar_days"):
        return policy.model_copy(update={"sla_clock": complaint.promise_unit, "sla_days": total})
    hours = {f"sla_hours_{s.value}": total for s in Severity}
    in_hours = complaint.promise_unit == "opening_hours"
    return policy.model_copy(
        update={"sla_clock": "opening_hours", "sla_in_business_hours": in_hours, **hours}
    )


def pending_extensions(session: Session, *, branch_ids: list[int] | None) -> list[tuple[ExtensionView, int]]:
    """(request, branch id) of every extension waiting for a decision, oldest first."""
    stmt = (
        select(ComplaintExtension, Complaint.branch_id)
        .join(Complaint, col(Complaint.id) == col(ComplaintExtension.complaint_id))
        .where(ComplaintExtension.status == "requested")
        .order_by(col(ComplaintExtension.requested_at))
    )
    if branch_ids is not None:
        stmt = stmt.where(col(Complaint.branch_id).in_(branch_ids))
    return [(view(e), int(b)) for e, b in session.exec(stmt).all()]
