"""12345 work orders (工单): a hotline entry may carry the number of the work order the 12345
government service hotline sent the hall, and once its complaint is final the hall owes the hotline
a result record: was the order responded to in time, was it resolved, was the customer satisfied.

The record is a computed view of the complaint (:func:`work_order_results`), never a stored copy:
whatever the complaint records (its first contact, its closing, the customer's grade) is what the
record says, so the two cannot drift apart, and a reopened complaint has no record until it is final
again.

What counts (docs/OPERATIONS.md "12345 work orders"; docs/RULES-CITED.md §1 for the clocks):

- **Responded** (响应): the first contact with the customer (the complaint acknowledged, or
  rejected, or replied to, whichever came first) by the first-contact due time the complaint was
  given when filed (the hall preset's 1 working day); under a policy without a first-contact clock,
  by the reply due time.
- **Resolved** (解决): closed with a resolution (status closed; a rejection is final but not
  resolved).
- **Satisfied** (满意): the customer graded the handling 满意 or 基本满意; the rate's denominator
  is the orders the customer graded at all, since an ungraded order is neither.

The number is written as the hotline wrote it, in letters, digits and hyphens (upper-cased, full-width
characters folded), at most 40 characters, and is unique: a work order entered twice is refused
(:class:`WorkOrderTaken`) naming the complaint that already holds it and its tracking code.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Session, col, select

from models.codes import derived_tracking_code, tracking_digest
from models.complaint.records import (
    WORK_ORDER_NO_MAX,
    Complaint,
    ComplaintEvent,
    ComplaintStatus,
    EventKind,
)
from models.errors import DomainError, ValidationFailed
from models.org import Branch
from models.scores import Month

_NUMBER = re.compile(r"[A-Z0-9]+(?:-[A-Z0-9]+)*")
# The steps that are a contact with the customer; from new, only acknowledging or rejecting.
CONTACT_EVENTS = (EventKind.acknowledged, EventKind.rejected, EventKind.replied)
_CODE_ATTEMPTS = 5  # as many as filing draws (models/complaint/filing.py)


class WorkOrderTaken(DomainError):
    """This work order was already entered: ``complaint_id`` holds it, ``tracking_code`` is that
    complaint's code (None when it cannot be recovered), ``status`` where it stands."""

    code = "work_order_taken"

    def __init__(self, number: str, complaint_id: int, tracking_code: str | None, status: str):
        where = f"complaint #{complaint_id}" + (f", tracking code {tracking_code}" if tracking_code else "")
        super().__init__(
            f"work order {number} was already entered as {where}; follow that complaint up instead",
            number=number, complaint_id=complaint_id, tracking_code=tracking_code, status=status,
        )  # fmt: skip
        self.number, self.complaint_id = number, complaint_id
        self.tracking_code, self.status = tracking_code, status


def parse_work_order_no(value: Any) -> str | None:
    """The work-order number as stored, or None when none was given (empty or blank).

    Full-width characters are folded (NFKC) and letters upper-cased; what is left must be letters,
    digits and single hyphens between them, at most 40 characters, else :class:`ValidationFailed`
    on ``work_order_no`` saying which rule it broke."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationFailed("work_order_no", "a work-order number is text")
    text = unicodedata.normalize("NFKC", value).strip().upper()
    if not text:
        return None
    if len(text) > WORK_ORDER_NO_MAX:
        raise ValidationFailed(
            "work_order_no", f"a work-order number has at most {WORK_ORDER_NO_MAX} characters"
        )
    if not _NUMBER.fullmatch(text):
        raise ValidationFailed(
            "work_order_no", "a work-order number is letters, digits and hyphens, as the hotline wrote it"
        )
    return text


def tracking_code_of(complaint: Complaint, code_secret: str | None) -> str | None:
    """The complaint's tracking code, recomputed from the server's secret and the filing's key (only
    its digest is stored; :func:`models.codes.derived_tracking_code`); None without the secret or for
    a complaint filed without it."""
    if not code_secret:
        return None
    for attempt in range(_CODE_ATTEMPTS):
        code = derived_tracking_code(code_secret, complaint.idempotency_key, attempt)
        if tracking_digest(code) == complaint.code_digest:
            return code
    return None


def check_work_order_free(
    session: Session, number: str, *, idempotency_key: str, code_secret: str | None
) -> None:
    """Raise :class:`WorkOrderTaken` when another filing already holds ``number``. The filing with
    the same idempotency key is a retry of the same entry, not a second one, and passes."""
    held = session.exec(select(Complaint).where(Complaint.work_order_no == number)).first()
    if held is None or held.idempotency_key == idempotency_key:
        return
    assert held.id is not None
    raise WorkOrderTaken(number, held.id, tracking_code_of(held, code_secret), str(held.status))


# ---------------------------------------------------------------------------------------------------
# The result record


class WorkOrderState(StrEnum):
    awaiting_contact = "awaiting_contact"  # new: nobody has contacted the customer yet
    in_progress = "in_progress"  # acknowledged or being investigated (again, if reopened)
    awaiting_grade = "awaiting_grade"  # resolved, the customer's grade not yet given
    closed = "closed"  # final, resolved: the result record is due
    rejected = "rejected"  # final, not resolved: the result record is due


_STATE_OF = {
    ComplaintStatus.new: WorkOrderState.awaiting_contact,
    ComplaintStatus.acknowledged: WorkOrderState.in_progress,
    ComplaintStatus.investigating: WorkOrderState.in_progress,
    ComplaintStatus.resolved: WorkOrderState.awaiting_grade,
    ComplaintStatus.closed: WorkOrderState.closed,
    ComplaintStatus.rejected: WorkOrderState.rejected,
}


@dataclass(frozen=True)
class WorkOrderResult:
    """One work order and what its complaint says about it. ``final``: the complaint is closed or
    rejected, so this is the result record to send to the hotline."""

    work_order_no: str
    complaint_id: int
    tracking_code: str | None
    state: WorkOrderState
    received_at: datetime
    first_contact_at: datetime | None
    respond_by: datetime | None  # the first-contact due time, else the reply due time
    responded: bool  # first contact by ``respond_by``
    resolved: bool  # closed with a resolution
    grade: str | None  # satisfied / fairly / dissatisfied (models.cases.Grade), None if not given
    satisfied: bool | None  # 满意 or 基本满意; None if not graded
    closed_at: datetime | None
    reply: str | None
    branch_id: int
    branch_code: str
    branch_name_zh: str
    branch_name_en: str
    timezone: str

    @property
    def final(self) -> bool:
        return self.state in (WorkOrderState.closed, WorkOrderState.rejected)


@dataclass(frozen=True)
class Rate:
    """``count`` of ``of``; ``share`` is None when there is nothing to count (``of`` = 0)."""

    count: int
    of: int

    @property
    def share(self) -> float | None:
        return self.count / self.of if self.of else None


@dataclass(frozen=True)
class WorkOrderMonth:
    """A month's work orders (by the local month they were received in, oldest first) and the three
    rates: responded and resolved of all of them, satisfied of those the customer graded."""

    month: str
    orders: tuple[WorkOrderResult, ...]

    @property
    def responded(self) -> Rate:
        return Rate(sum(o.responded for o in self.orders), len(self.orders))

    @property
    def resolved(self) -> Rate:
        return Rate(sum(o.resolved for o in self.orders), len(self.orders))

    @property
    def satisfied(self) -> Rate:
        graded = [o for o in self.orders if o.satisfied is not None]
        return Rate(sum(bool(o.satisfied) for o in graded), len(graded))


def _first_contacts(session: Session, ids: list[int]) -> dict[int, datetime]:
    if not ids:
        return {}
    rows = session.exec(
        select(ComplaintEvent.complaint_id, ComplaintEvent.at).where(
            col(ComplaintEvent.complaint_id).in_(ids),
            col(ComplaintEvent.kind).in_([k.value for k in CONTACT_EVENTS]),
        )
    ).all()
    first: dict[int, datetime] = {}
    for complaint_id, at in rows:
        if complaint_id not in first or at < first[complaint_id]:
            first[complaint_id] = at
    return first


def work_order_results(
    session: Session, complaints: Iterable[Complaint], *, code_secret: str | None
) -> list[WorkOrderResult]:
    """The work order of each complaint that has one (others are left out), in the order given."""
    rows = [c for c in complaints if c.work_order_no and c.id is not None]
    contacts = _first_contacts(session, [c.id for c in rows if c.id is not None])
    branches: dict[int, Branch | None] = {}
    out = []
    for c in rows:
        assert c.id is not None and c.work_order_no is not None
        if c.branch_id not in branches:
            branches[c.branch_id] = session.get(Branch, c.branch_id)
        branch = branches[c.branch_id]
        assert branch is not None
        status = ComplaintStatus(c.status)
        contact = contacts.get(c.id)
        respond_by = c.first_contact_due_at or c.due_at
        final = status in (ComplaintStatus.closed, ComplaintStatus.rejected)
        out.append(
            WorkOrderResult(
                work_order_no=c.work_order_no, complaint_id=c.id,
                tracking_code=tracking_code_of(c, code_secret),
                state=_STATE_OF[status], received_at=c.created_at, first_contact_at=contact,
                respond_by=respond_by, responded=contact is not None and contact <= respond_by,
                resolved=status is ComplaintStatus.closed, grade=c.grade, satisfied=c.satisfied,
                closed_at=c.closed_at if final else None,
                reply=c.reply, branch_id=c.branch_id, branch_code=branch.code, branch_name_zh=branch.name_zh,
                branch_name_en=branch.name_en, timezone=branch.timezone,
            )
        )  # fmt: skip
    return out


def work_order_result(
    session: Session, complaint_id: int, *, code_secret: str | None
) -> WorkOrderResult | None:
    """The work order of one complaint; None when it came with none (or there is no such complaint)."""
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        return None
    found = work_order_results(session, [complaint], code_secret=code_secret)
    return found[0] if found else None


def month_work_orders(
    session: Session, month: Month, *, branch_ids: list[int] | None, code_secret: str | None
) -> WorkOrderMonth:
    """The work orders received in ``month`` (each branch's own local month) at ``branch_ids``
    (None: every branch), oldest first."""
    stmt = select(Branch).order_by(col(Branch.code))
    if branch_ids is not None:
        stmt = stmt.where(col(Branch.id).in_(branch_ids))
    complaints: list[Complaint] = []
    for branch in session.exec(stmt).all():
        start, end = month.bounds(branch.timezone)
        complaints += session.exec(
            select(Complaint).where(
                Complaint.branch_id == branch.id,
                col(Complaint.work_order_no).is_not(None),
                col(Complaint.created_at) >= start,
                col(Complaint.created_at) < end,
            )
        ).all()
    complaints.sort(key=lambda c: (c.created_at, c.id or 0))
    return WorkOrderMonth(str(month), tuple(work_order_results(session, complaints, code_secret=code_secret)))
