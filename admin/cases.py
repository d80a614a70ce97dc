"""The admin app's door to the 差评 cases (models/cases.py, models/case_flow.py): the open cases of the
caller's branch (an administrator's: every branch), one case with its steps, and each handling step.

Who may do what: supervisors of the case's branch and administrators; counter staff are refused
(:class:`Forbidden`), and nobody handles a case in which they were the person rated
(:class:`~models.errors.ConflictOfInterest`, 回避; the list and the case say so, and the step is
refused in the model as well). Reads take a read session, so paging cases never delays a tap.

A case's clocks are those of a complaint filed at the moment of the rating, under the branch's
policy and calendar (models/complaint/ ``branch_clocks``): the first-contact clock when the
policy has one, and the reply clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from admin import access
from admin.access import Caller
from models import audit
from models import case_flow as flow
from models.cases import CaseStatus, RatingCase
from models.catalog import ConductClause
from models.complaint import Severity, branch_clocks, mask_contact
from models.errors import Forbidden, ValidationFailed
from models.inspection import DEFAULT_TZ
from models.org import Branch, Counter, Staff
from models.policy import effective_policy
from models.rating import Rating
from rapport.core.context import AppContext

LIST_MAX = 200
STATUS_FILTERS = {
    "open": [
        CaseStatus.pending,
        CaseStatus.verifying,
        CaseStatus.found,
        CaseStatus.acting,
        CaseStatus.answered,
    ],
    "closed": [CaseStatus.closed],
}


@dataclass(frozen=True)
class CaseRow:
    id: int
    score: int
    status: str
    opened_at: datetime
    branch_zh: str
    branch_en: str
    counter_zh: str | None
    counter_en: str | None
    staff_name: str | None
    first_due_at: datetime | None  # first contact, while nobody has called back yet
    reply_due_at: datetime
    promise_unit: str
    promise_amount: int
    conflicted: bool  # the caller was the person rated: they may read, not handle
    tz: str

    def next_due(self) -> tuple[str, datetime]:
        if self.status == CaseStatus.pending and self.first_due_at is not None:
            return "first_contact", self.first_due_at
        return "reply", self.reply_due_at


@dataclass(frozen=True)
class CaseStep:
    at: datetime
    kind: str
    outcome: str | None
    note: str
    actor: str


@dataclass(frozen=True)
class CaseView:
    row: CaseRow
    reasons_zh: tuple[str, ...]
    reasons_en: tuple[str, ...]
    comment: str
    finding: str | None
    about: str | None
    action: str | None
    action_text: str
    action_due_at: datetime | None
    action_done_at: datetime | None
    answer: str
    answered_via: str | None
    grade: str | None
    reopened: int
    complaint_id: int | None
    steps: tuple[CaseStep, ...]
    contact_masked: str  # the callback contact as screens show it ("138****5678"), "" when none


GATE = access.Gate(access.SUPERVISION, refused="差评 cases are for supervisors and administrators")


def _case(session: Session, user: Caller, case_id: int) -> RatingCase:
    case = session.get(RatingCase, case_id)
    if case is None:
        raise Forbidden("no such case")  # answered like another branch's: ids are not probed
    user.check_branch(case.branch_id, "this case belongs to another branch")
    return case


class _Places:
    """Branch, counter and staff names and each branch's clock inputs, read once per call."""

    def __init__(self, session: Session):
        self.session = session
        self.branches: dict[int, Branch] = {}
        self.policies: dict[int, Any] = {}

    def branch(self, branch_id: int) -> Branch:
        if branch_id not in self.branches:
            found = self.session.get(Branch, branch_id)
            assert found is not None
            self.branches[branch_id] = found
        return self.branches[branch_id]

    def policy(self, branch_id: int) -> Any:
        if branch_id not in self.policies:
            self.policies[branch_id] = effective_policy(self.session, branch_id)
        return self.policies[branch_id]


def _row(places: _Places, case: RatingCase, caller: Caller) -> CaseRow:
    assert case.id is not None
    session = places.session
    branch = places.branch(case.branch_id)
    counter = session.get(Counter, case.counter_id) if case.counter_id else None
    staff = session.get(Staff, case.staff_id) if case.staff_id else None
    clock = branch_clocks(
        session, case.branch_id, case.opened_at, Severity.normal, places.policy(case.branch_id)
    )
    return CaseRow(
        id=case.id, score=case.score, status=case.status, opened_at=case.opened_at,
        branch_zh=branch.name_zh, branch_en=branch.name_en,
        counter_zh=counter.name_zh if counter else None, counter_en=counter.name_en if counter else None,
        staff_name=staff.display_name if staff else None, first_due_at=clock.first_contact_due_at,
        reply_due_at=clock.due_at, promise_unit=clock.unit, promise_amount=clock.amount,
        conflicted=case.staff_id is not None and case.staff_id == caller.id,
        tz=branch.timezone or DEFAULT_TZ,
    )  # fmt: skip


def cases(ctx: AppContext, token: str, *, status: str = "open") -> list[CaseRow]:
    """The caller's cases (``open`` or ``closed``), oldest first: the one whose clock runs out first
    is on top."""
    if status not in STATUS_FILTERS:
        raise ValidationFailed("status", f"status is one of {', '.join(STATUS_FILTERS)}")
    user = GATE.caller(ctx, token)
    with ctx.db.read() as session:
        stmt = select(RatingCase).where(col(RatingCase.status).in_(STATUS_FILTERS[status]))
        if not user.is_admin:
            stmt = stmt.where(RatingCase.branch_id == user.branch_id)
        rows = session.exec(stmt.order_by(col(RatingCase.opened_at)).limit(LIST_MAX)).all()
        places = _Places(session)
        return [_row(places, c, user) for c in rows]


def _view(session: Session, case: RatingCase, user: Caller) -> CaseView:
    assert case.id is not None
    rating = session.get(Rating, case.rating_id)
    codes = list(rating.reasons) if rating else []
    clauses = {
        c.code: c for c in session.exec(select(ConductClause).where(col(ConductClause.code).in_(codes))).all()
    }
    events = flow.events_of(session, case.id)
    ids = {e.actor_id for e in events if e.actor_id}
    names = {s.id: s.display_name for s in session.exec(select(Staff).where(col(Staff.id).in_(ids))).all()}
    return CaseView(
        row=_row(_Places(session), case, user),
        reasons_zh=tuple(clauses[c].short_zh if c in clauses else c for c in codes),
        reasons_en=tuple(clauses[c].short_en if c in clauses else c for c in codes),
        comment=rating.comment if rating else "",
        finding=case.finding, about=case.about, action=case.action, action_text=case.action_text,
        action_due_at=case.action_due_at, action_done_at=case.action_done_at, answer=case.answer,
        answered_via=case.answered_via, grade=case.grade, reopened=case.reopened,
        complaint_id=case.complaint_id, contact_masked=mask_contact(case.contact, case.contact_kind),
        steps=tuple(
            CaseStep(e.at, e.kind, e.outcome, e.note, names.get(e.actor_id, "") if e.actor_id else "")
            for e in events
        ),
    )  # fmt: skip


def case(ctx: AppContext, token: str, case_id: int) -> CaseView:
    """One case with the rating's reasons and comment and every step so far."""
    user = GATE.caller(ctx, token)
    with ctx.db.read() as session:
        return _view(session, _case(session, user, case_id), user)


STEPS = ("callback", "finding", "action", "action_done", "answer", "grade")


def step(ctx: AppContext, token: str, case_id: int, kind: str, **fields: Any) -> CaseView:
    """One handling step (models/case_flow.py) by the caller: ``callback`` (outcome, note),
    ``finding`` (finding, about, note), ``action`` (action, text, due_at), ``action_done`` (note),
    ``answer`` (text, via), ``grade`` (grade, recorded after a callback). Refusals change nothing."""
    if kind not in STEPS:
        raise ValidationFailed("step", f"unknown step {kind!r}")
    user = GATE.caller(ctx, token)
    with ctx.db.write() as session:
        found = _case(session, user, case_id)
        assert found.id is not None
        now, me = ctx.clock(), user.id
        if kind == "callback":
            flow.record_callback(session, case_id=found.id, outcome=str(fields.get("outcome", "")),
                                 note=str(fields.get("note", "")), actor_id=me, now=now)  # fmt: skip
        elif kind == "finding":
            flow.record_finding(session, case_id=found.id, finding=str(fields.get("finding", "")),
                                about=str(fields.get("about", "")), note=str(fields.get("note", "")),
                                actor_id=me, now=now)  # fmt: skip
        elif kind == "action":
            due = fields.get("due_at")
            due_at = due if isinstance(due, datetime) else None
            flow.record_action(
                session,
                case_id=found.id,
                action=str(fields.get("action", "")),
                text=str(fields.get("text", "")),
                due_at=due_at,
                actor_id=me,
                now=now,
            )
        elif kind == "action_done":
            flow.complete_action(
                session, case_id=found.id, note=str(fields.get("note", "")), actor_id=me, now=now
            )
        elif kind == "answer":
            flow.answer_case(session, case_id=found.id, text=str(fields.get("text", "")),
                             via=str(fields.get("via", "")), actor_id=me, now=now)  # fmt: skip
        else:
            flow.grade_case(
                session, case_id=found.id, grade=str(fields.get("grade", "")), actor_id=me, now=now
            )
        session.refresh(found)
        return _view(session, found, user)


def reveal(ctx: AppContext, token: str, case_id: int) -> str | None:
    """The callback contact in full, to call the customer back; every reveal is an audit entry
    (``case.reveal_contact``). The person rated may not see it (回避)."""
    user = GATE.caller(ctx, token)
    with ctx.db.write() as session:
        found = _case(session, user, case_id)
        flow.check_not_involved(found, user.id)
        assert found.id is not None
        audit.append(session, action="case.reveal_contact", entity="rating_case", entity_id=found.id,
                     actor_staff_id=user.id, now=ctx.clock())  # fmt: skip
        session.commit()
        return found.contact
