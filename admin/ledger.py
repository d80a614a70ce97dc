"""The admin app's door to the reward and penalty ledger, appeals, leaderboards and personal files.

Every call re-checks the sign-in and the caller's scope: a supervisor works on their own branch, an
administrator on every branch, a staff member is refused (:class:`Forbidden`). A decision the model
would refuse because it concerns the caller (their own case, their own proposal, an appeal against
their own decision) is refused here first as :class:`DecisionRefused`, which names why, so the screen
can say it in the user's language. Results are plain frozen dataclasses; no ORM object leaves here,
and nothing about a customer (contact, phone or device) is ever put in one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from admin import access
from admin.access import Caller
from admin.ledger_types import (
    AppealRow,
    Board,
    BranchOption,
    Clause,
    CommentRow,
    ComplaintFact,
    Entry,
    EvaluationSummary,
    Evidence,
    Figures,
    Finding,
    InspectionFact,
    LedgerView,
    PenaltyFact,
    Person,
    PersonalFile,
    RatingFact,
    Standing,
    Step,
    TrainingFact,
)
from admin.ledger_views import Views
from models import sanction, scores
from models.complaint import Complaint
from models.errors import Forbidden, StaffNotFound, ValidationFailed
from models.inspection import DEFAULT_TZ, list_inspections
from models.org import Branch, Staff
from models.policy import effective_policy
from models.rating import Rating
from models.sanction import Appeal, Sanction, SanctionStatus
from models.scores import Month, local_month
from models.text import mask_contacts
from models.training import list_training
from rapport.core.context import AppContext

MONTHS_OFFERED = 13  # this month and the twelve before it
LEDGER_LIMIT = 200
RECENT_COMMENTS = 20
STATUSES = tuple(str(s) for s in SanctionStatus)


class DecisionRefused(Forbidden):
    """The caller may not decide this one: ``why`` is about_self, own_proposal, own_appeal or
    own_decision (the appeal is against a penalty the caller approved)."""

    code = "decision_refused"

    def __init__(self, why: str):
        super().__init__(f"decision refused: {why}")
        self.why = why


# ---------------------------------------------------------------------------------------------------
# Scope


OTHER_BRANCH = "this belongs to another branch"


GATE = access.Gate(
    access.SUPERVISION,
    refused="the ledger is for supervisors and administrators",
    branch_needed="a supervisor without a branch supervises nobody",
)


def _missing(user: Caller, error: Exception) -> Exception:
    """What to raise for an id that names nothing: a supervisor gets the same Forbidden as for another
    branch's id, so probing ids tells them nothing; an administrator (every branch) hears it is gone."""
    return error if user.is_admin else Forbidden(OTHER_BRANCH)


def _person_in_scope(session: Session, user: Caller, staff_id: int) -> Staff:
    staff = session.get(Staff, staff_id)
    if staff is None or staff.branch_id is None:
        raise _missing(user, StaffNotFound("no staff member with this id at a branch"))
    user.check_branch(staff.branch_id, OTHER_BRANCH)
    return staff


def _branches(session: Session, user: Caller) -> tuple[BranchOption, ...]:
    stmt = select(Branch).order_by(col(Branch.code))
    if user.scope is not None:
        stmt = stmt.where(Branch.id == user.scope)
    return tuple(BranchOption(b.id, b.name_zh, b.name_en) for b in session.exec(stmt).all() if b.id)


def _pick_branch(session: Session, user: Caller, branch_id: int | None) -> Branch:
    """The branch a monthly action is about: a supervisor's own; an administrator must name one."""
    if branch_id is None:
        if user.scope is None:
            raise ValidationFailed("branch", "choose a branch")
        branch_id = user.scope
    user.check_branch(branch_id, OTHER_BRANCH)
    branch = session.get(Branch, branch_id)
    if branch is None:
        raise ValidationFailed("branch", "no such branch")
    return branch


def _tz(session: Session, user: Caller) -> str:
    branch = session.get(Branch, user.branch_id) if user.branch_id is not None else None
    return branch.timezone if branch else DEFAULT_TZ


def _months(now: datetime, tz: str) -> tuple[str, ...]:
    out, m = [], local_month(now, tz)
    for _ in range(MONTHS_OFFERED):
        out.append(str(m))
        m = m.previous()
    return tuple(out)


# ---------------------------------------------------------------------------------------------------
# The ledger section


def ledger_view(
    ctx: AppContext, token: str, *, status: str | None = None, month: str | None = None
) -> LedgerView:
    """Everything the ledger section shows: proposals, the filtered ledger, open appeals, and what the
    forms offer. ``status`` and ``month`` narrow the ledger list only (None: all)."""
    if status is not None and status not in STATUSES:
        raise ValidationFailed("status", "unknown ledger status")
    if month is not None:
        Month.parse(month)
    now = ctx.clock()
    user = GATE.caller(ctx, token)
    with ctx.db.read() as session:
        v = Views(session)
        tz = _tz(session, user)
        proposals = sanction.ledger(
            session, branch_id=user.scope, status=[SanctionStatus.proposed], limit=500
        )
        entries = sanction.ledger(
            session,
            branch_id=user.scope,
            status=[status] if status else None,
            month=month,
            limit=LEDGER_LIMIT,
        )
        appeals = sanction.open_appeals(session, branch_id=user.scope)
        people = select(Staff).where(Staff.active, col(Staff.branch_id).is_not(None), Staff.id != user.id)
        if user.scope is not None:
            people = people.where(Staff.branch_id == user.scope)
        months = _months(now, tz)
        return LedgerView(
            now=now,
            tz=tz,
            me=user.id,
            branches=_branches(session, user),
            months=months,
            last_month=months[1],
            proposals=tuple(v.entry(r) for r in reversed(proposals)),
            entries=tuple(v.entry(r) for r in entries),
            appeals=tuple(v.appeal(a) for a in appeals),
            people=tuple(
                Person(p.id, p.display_name, p.employee_no, p.branch_id)
                for p in session.exec(people.order_by(col(Staff.employee_no))).all()
                if p.id is not None
            ),
            clauses=tuple(
                v.clause(c.code)
                for c in sorted(v.clauses.values(), key=lambda c: c.sort_order)
                if c.active and c.section != "1" and not c.code.startswith("4.")
            ),
            fines_at=frozenset(
                b.id for b in _branches(session, user) if effective_policy(session, b.id).fines_enabled
            ),
        )


def run_evaluation(
    ctx: AppContext, token: str, *, month: str, branch_id: int | None = None
) -> EvaluationSummary:
    """Run the monthly rules for a finished month of a branch (a supervisor's own; an administrator
    names one). Raises ValidationFailed("month") for a malformed month, ("month_not_ended") for a
    month that is not over yet, ("branch") when an administrator named none."""
    period = Month.parse(month)
    user = GATE.caller(ctx, token)
    with ctx.db.write() as session:
        branch = _pick_branch(session, user, branch_id)
        assert branch.id is not None
        try:
            result = sanction.evaluate_month(
                session, branch_id=branch.id, month=period, actor_staff_id=user.id, now=ctx.clock()
            )
        except ValidationFailed as exc:
            if exc.field == "month":
                raise ValidationFailed("month_not_ended", str(exc)) from None
            raise
        return EvaluationSummary(
            BranchOption(branch.id, branch.name_zh, branch.name_en),
            result.month,
            len(result.proposed),
            result.existing,
        )


def decide_proposal(ctx: AppContext, token: str, sanction_id: int, *, approve: bool, reason: str) -> None:
    """Approve or reject a proposal in the caller's scope with a written reason."""
    user = GATE.caller(ctx, token)
    with ctx.db.write() as session:
        row = session.get(Sanction, sanction_id)
        if row is None:
            raise _missing(user, sanction.SanctionNotFound("no ledger entry with this id"))
        user.check_branch(row.branch_id, OTHER_BRANCH)
        if row.staff_id == user.id:
            raise DecisionRefused("about_self")
        if row.proposed_by is not None and row.proposed_by == user.id:
            raise DecisionRefused("own_proposal")
        sanction.decide(
            session, sanction_id, approve=approve, reason=reason, actor_staff_id=user.id, now=ctx.clock()
        )


def propose_by_hand(
    ctx: AppContext,
    token: str,
    *,
    staff_id: int,
    kind: str,
    reason: str,
    clauses: Sequence[str],
    amount_yuan: int | None = None,
) -> int:
    """Propose a reward or penalty for someone in the caller's scope; returns the entry's id. It waits
    for another supervisor's or an administrator's decision like any proposal."""
    user = GATE.caller(ctx, token)
    with ctx.db.write() as session:
        _person_in_scope(session, user, staff_id)
        row = sanction.propose(
            session,
            staff_id=staff_id,
            kind=kind,
            reason=reason,
            clauses=clauses,
            amount_yuan=amount_yuan,
            actor_staff_id=user.id,
            now=ctx.clock(),
        )
        assert row.id is not None
        return row.id


def decide_appeal(ctx: AppContext, token: str, appeal_id: int, *, overturn: bool, reason: str) -> None:
    """Uphold (the rating or penalty stands) or overturn an open appeal in the caller's scope."""
    user = GATE.caller(ctx, token)
    with ctx.db.write() as session:
        appeal = session.get(Appeal, appeal_id)
        if appeal is None:
            raise _missing(user, sanction.AppealNotFound("no appeal with this id"))
        user.check_branch(appeal.branch_id, OTHER_BRANCH)
        if appeal.staff_id == user.id:
            raise DecisionRefused("own_appeal")
        target = session.get(Sanction, appeal.sanction_id) if appeal.sanction_id is not None else None
        if target is not None and target.decided_by == user.id:
            raise DecisionRefused("own_decision")
        sanction.decide_appeal(
            session, appeal_id, overturn=overturn, reason=reason, actor_staff_id=user.id, now=ctx.clock()
        )


# ---------------------------------------------------------------------------------------------------
# The people section


def board(ctx: AppContext, token: str, *, month: str | None = None, branch_id: int | None = None) -> Board:
    """The leaderboard of a branch for a month (default: this month; an administrator's default
    branch is the first one)."""
    now = ctx.clock()
    user = GATE.caller(ctx, token)
    with ctx.db.read() as session:
        branches = _branches(session, user)
        if branch_id is None and user.scope is None and branches:
            branch_id = branches[0].id
        branch = _pick_branch(session, user, branch_id)
        assert branch.id is not None
        months = _months(now, branch.timezone)
        period = Month.parse(month) if month else Month.parse(months[0])
        lb = scores.leaderboard(session, branch.id, period)

        def standing(s: scores.Standing) -> Standing:
            return Standing(s.staff_id, s.name, s.employee_no, s.rank, s.score)

        return Board(
            BranchOption(branch.id, branch.name_zh, branch.name_en),
            branches,
            str(period),
            months,
            lb.branch.n,
            lb.branch.mean,
            lb.min_ranked,
            lb.prior_weight,
            tuple(standing(s) for s in lb.ranked),
            tuple(standing(s) for s in lb.unranked),
        )


def personal_file(ctx: AppContext, token: str, staff_id: int, *, month: str | None = None) -> PersonalFile:
    """One page about one person in the caller's scope: scores (the month, six months, the spread),
    recent comments, complaints about them, inspections, training, ledger entries and appeals."""
    now = ctx.clock()
    user = GATE.caller(ctx, token)
    with ctx.db.read() as session:
        staff = _person_in_scope(session, user, staff_id)
        v = Views(session)
        assert staff.branch_id is not None
        tz = v.tz(staff.branch_id)
        months = _months(now, tz)
        period = Month.parse(month) if month else Month.parse(months[0])
        policy = effective_policy(session, staff.branch_id)
        comments = session.exec(
            select(Rating)
            .where(Rating.staff_id == staff_id, Rating.comment != "")
            .order_by(col(Rating.created_at).desc())
            .limit(RECENT_COMMENTS)
        ).all()
        complaints = session.exec(
            select(Complaint).where(Complaint.staff_id == staff_id).order_by(col(Complaint.created_at).desc())
        ).all()
        return PersonalFile(
            staff_id=staff_id,
            name=staff.display_name,
            employee_no=staff.employee_no,
            role=str(staff.role),
            active=staff.active,
            branch=v.branch(staff.branch_id),
            tz=tz,
            month=str(period),
            months=months,
            min_ranked=policy.min_ratings_ranked,
            profile=scores.profile(session, staff_id, period, policy=policy),
            comments=tuple(
                CommentRow(
                    r.score,
                    mask_contacts(r.comment),
                    tuple(v.clause(c) for c in r.reasons),
                    r.created_at,
                    r.counted,
                    r.overturned,
                )
                for r in comments
            ),
            complaints=tuple(v.complaint(c) for c in complaints),
            inspections=v.inspections(list_inspections(session, staff_id=staff_id, limit=50)),
            training=tuple(
                TrainingFact(str(r.kind), r.course, r.completed_on, r.passed)
                for r in list_training(session, staff_id=staff_id)
            ),
            entries=tuple(v.entry(r) for r in sanction.sanctions_of(session, staff_id=staff_id)),
            appeals=tuple(v.appeal(a) for a in sanction.appeals_of(session, staff_id=staff_id)),
        )


__all__ = [
    "AppealRow",
    "Board",
    "BranchOption",
    "Clause",
    "CommentRow",
    "ComplaintFact",
    "DecisionRefused",
    "Entry",
    "EvaluationSummary",
    "Evidence",
    "Figures",
    "Finding",
    "InspectionFact",
    "LedgerView",
    "PenaltyFact",
    "Person",
    "PersonalFile",
    "RatingFact",
    "STATUSES",
    "Standing",
    "Step",
    "TrainingFact",
    "board",
    "decide_appeal",
    "decide_proposal",
    "ledger_view",
    "personal_file",
    "propose_by_hand",
    "run_evaluation",
]
