"""The admin app's door to extensions of a complaint's reply time (models/extensions.py).

Who may do what: a supervisor of the complaint's branch, or an administrator, sees a complaint's
extension requests and asks for one; only an administrator other than the one who asked decides.
Everyone else is refused (:class:`Forbidden`), and so is a person the complaint involves, for both
(:class:`~models.errors.ConflictOfInterest`, 回避): the panel offers them neither. Reads take a
read session, so paging through cases never waits for (or delays) a kiosk's tap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from admin import access
from admin.access import Caller
from models.complaint import Complaint, ComplaintNotFound, ComplaintStatus, involved_staff
from models.extensions import (
    OPEN,
    ExtensionView,
    decide_extension,
    extensions_of,
    next_length,
    request_extension,
)
from models.org import Staff
from models.policy import effective_policy
from rapport.core.context import AppContext


@dataclass(frozen=True)
class ExtensionRow:
    id: int
    seq: int
    length: int
    unit: str  # the reply clock's unit: working_days, calendar_days, opening_hours or hours
    reason: str
    status: str  # requested, approved or refused
    requested_by: str
    requested_at: datetime
    decided_by: str
    decided_at: datetime | None
    due_after: datetime | None


@dataclass(frozen=True)
class Panel:
    """A complaint's extensions as its detail screen shows them, and what the caller may do now."""

    rows: tuple[ExtensionRow, ...]
    next_length: int | None  # the length of an extension asked for now; None: the rules allow no more
    unit: str
    can_request: bool  # open case, rules allow one more, none waiting, and the caller may ask
    decidable: int | None  # the waiting request this caller may decide (an administrator who did not ask)
    waiting_on_other: bool  # a request is waiting and this caller may not decide it


GATE = access.Gate(access.SUPERVISION, refused="extensions are for supervisors and administrators")


def _complaint(session: Session, user: Caller, complaint_id: int) -> Complaint:
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise ComplaintNotFound(f"no complaint with id {complaint_id}")
    user.check_branch(complaint.branch_id, "this complaint belongs to another branch")
    return complaint


def _actor(session: Session, user: Caller) -> Staff:
    """The caller's row in this write transaction: models/extensions.py checks the role and
    branch of the person asking or deciding on the row itself."""
    staff = session.get(Staff, user.id)
    assert staff is not None  # resumed a moment ago; an account is disabled, never deleted
    return staff


def _rows(session: Session, views: list[ExtensionView]) -> tuple[ExtensionRow, ...]:
    ids = {v.requested_by for v in views} | {v.decided_by for v in views if v.decided_by}
    names = {s.id: s.display_name for s in session.exec(select(Staff).where(col(Staff.id).in_(ids))).all()}
    return tuple(
        ExtensionRow(
            v.id,
            v.seq,
            v.length,
            v.unit,
            v.reason,
            v.status,
            names.get(v.requested_by, ""),
            v.requested_at,
            names.get(v.decided_by, "") if v.decided_by else "",
            v.decided_at,
            v.due_after,
        )  # fmt: skip
        for v in views
    )


def extensions(ctx: AppContext, token: str, complaint_id: int) -> Panel:
    """A complaint's extension requests, newest last, and what the caller may do."""
    user = GATE.caller(ctx, token)
    with ctx.db.read() as session:
        complaint = _complaint(session, user, complaint_id)
        views = extensions_of(session, complaint_id)
        policy = effective_policy(session, complaint.branch_id)
        length = next_length(policy, sum(v.status == "approved" for v in views))
        waiting = next((v for v in views if v.status == "requested"), None)
        is_open = ComplaintStatus(complaint.status) in OPEN
        free = user.id not in involved_staff(session, complaint)
        may_decide = free and waiting is not None and user.is_admin and waiting.requested_by != user.id
        return Panel(
            rows=_rows(session, views),
            next_length=length,
            unit=complaint.promise_unit,
            can_request=free
            and is_open
            and length is not None
            and waiting is None
            and complaint.promise_amount > 0,
            decidable=waiting.id if may_decide and waiting is not None else None,
            waiting_on_other=waiting is not None and not may_decide,
        )


def ask(ctx: AppContext, token: str, complaint_id: int, reason: str) -> ExtensionRow:
    """Ask for the next extension of a complaint's reply time, with the reason the customer is told."""
    user = GATE.caller(ctx, token)
    with ctx.db.write() as session:
        _complaint(session, user, complaint_id)
        view = request_extension(
            session, complaint_id=complaint_id, actor=_actor(session, user), reason=reason, now=ctx.clock()
        )
        return _rows(session, [view])[0]


def decide(ctx: AppContext, token: str, extension_id: int, approve: bool, note: str = "") -> ExtensionRow:
    """Approve or refuse a waiting request (an administrator other than the one who asked)."""
    user = GATE.caller(ctx, token)
    with ctx.db.write() as session:
        view = decide_extension(
            session,
            extension_id=extension_id,
            actor=_actor(session, user),
            approve=approve,
            note=note,
            now=ctx.clock(),
        )
        return _rows(session, [view])[0]
