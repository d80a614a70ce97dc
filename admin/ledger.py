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
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from models import auth, sanction, scores
from models.catalog import ConductClause
from models.complaint import Complaint
from models.errors import Forbidden, StaffNotFound, ValidationFailed
from models.inspection import DEFAULT_TZ, FindingResult, Inspection, findings_of, list_inspections
from models.org import Branch, Counter, Role, Staff
from models.policy import effective_policy
from models.rating import Rating
from models.sanction import Appeal, Sanction, SanctionStatus
from models.scores import Month, local_month
from models.training import list_training
from rapport.context import AppContext

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
# What the screens get


@dataclass(frozen=True)
class Clause:
    code: str
    short_zh: str
    short_en: str

    def short(self, locale: str) -> str:
        return self.short_zh if locale == "zh-CN" else self.short_en


@dataclass(frozen=True)
class BranchOption:
    id: int
    name_zh: str
    name_en: str

    def name(self, locale: str) -> str:
        return self.name_zh if locale == "zh-CN" else self.name_en


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    employee_no: str
    branch_id: int | None


@dataclass(frozen=True)
class Figures:
    """The ratings behind a reward: as the monthly evaluation saw them."""

    count: int | None
    mean: float | None
    score: float | None
    low: float | None
    high: float | None
    rank: int | None


@dataclass(frozen=True)
class ComplaintFact:
    id: int
    category: Clause
    status: str
    severity: str
    created_at: datetime
    resolved_at: datetime | None


@dataclass(frozen=True)
class Finding:
    clause: Clause
    result: str
    note: str


@dataclass(frozen=True)
class InspectionFact:
    id: int
    at: datetime
    kind: str
    inspector: str
    notes: str
    findings: tuple[Finding, ...]

    @property
    def violated(self) -> tuple[Clause, ...]:
        return tuple(f.clause for f in self.findings if f.result == FindingResult.violation)


@dataclass(frozen=True)
class PenaltyFact:
    id: int
    kind: str
    status: str
    decided_at: datetime | None


@dataclass(frozen=True)
class Evidence:
    figures: Figures | None
    complaints: tuple[ComplaintFact, ...]
    inspections: tuple[InspectionFact, ...]
    prior: tuple[PenaltyFact, ...]

    @property
    def empty(self) -> bool:
        return self.figures is None and not (self.complaints or self.inspections or self.prior)


@dataclass(frozen=True)
class Step:
    """One step of an entry's life: ``actor`` None means the monthly evaluation (no person)."""

    kind: str  # proposed approved rejected acknowledged report closed appealed upheld overturned
    at: datetime
    actor: str | None
    note: str | None = None  # a decision's reason, an appeal's statement


@dataclass(frozen=True)
class Entry:
    id: int
    staff_id: int
    staff_name: str
    employee_no: str
    branch: BranchOption
    kind: str
    status: str
    amount_yuan: int | None
    clauses: tuple[Clause, ...]
    reason: str
    rule: str
    month: str | None
    proposed_by: str | None
    proposed_by_id: int | None
    proposed_at: datetime
    decision_reason: str | None
    report: str | None
    requires_report: bool
    evidence: Evidence
    timeline: tuple[Step, ...]
    tz: str

    @property
    def is_reward(self) -> bool:
        return sanction.SanctionKind(self.kind) in sanction.REWARDS


@dataclass(frozen=True)
class RatingFact:
    """An appealed rating as the staff member's supervisor may see it: no phone, device or contact."""

    score: int
    reasons: tuple[Clause, ...]
    comment: str
    created_at: datetime
    channel: str
    counter_zh: str | None
    counter_en: str | None

    def counter(self, locale: str) -> str | None:
        return self.counter_zh if locale == "zh-CN" else self.counter_en


@dataclass(frozen=True)
class AppealRow:
    id: int
    staff_id: int
    staff_name: str
    employee_no: str
    target: str
    statement: str
    status: str
    filed_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    decision_reason: str | None
    rating: RatingFact | None
    entry: Entry | None
    tz: str


@dataclass(frozen=True)
class LedgerView:
    now: datetime
    tz: str
    me: int  # the caller, who decides nothing about themselves nor their own proposals
    branches: tuple[BranchOption, ...]  # the caller's scope: one branch for a supervisor
    months: tuple[str, ...]  # this month first, then the twelve before it
    last_month: str
    proposals: tuple[Entry, ...]  # waiting for a decision, oldest first
    entries: tuple[Entry, ...]  # the ledger list under the filters, newest first
    appeals: tuple[AppealRow, ...]  # open, oldest first
    people: tuple[Person, ...]  # whom the caller may propose for
    clauses: tuple[Clause, ...]  # what a proposal may cite


@dataclass(frozen=True)
class EvaluationSummary:
    branch: BranchOption
    month: str
    proposed: int
    existing: int


@dataclass(frozen=True)
class Standing:
    staff_id: int
    name: str
    employee_no: str
    rank: int | None
    score: scores.Score


@dataclass(frozen=True)
class Board:
    branch: BranchOption
    branches: tuple[BranchOption, ...]
    month: str
    months: tuple[str, ...]
    branch_count: int
    branch_mean: float | None
    min_ranked: int
    prior_weight: int
    ranked: tuple[Standing, ...]
    unranked: tuple[Standing, ...]


@dataclass(frozen=True)
class CommentRow:
    score: int
    comment: str
    reasons: tuple[Clause, ...]
    created_at: datetime
    counted: bool
    overturned: bool


@dataclass(frozen=True)
class TrainingFact:
    kind: str
    course: str
    completed_on: date
    passed: bool


@dataclass(frozen=True)
class PersonalFile:
    staff_id: int
    name: str
    employee_no: str
    role: str
    active: bool
    branch: BranchOption
    tz: str
    month: str
    months: tuple[str, ...]
    min_ranked: int
    profile: scores.Profile
    comments: tuple[CommentRow, ...]
    complaints: tuple[ComplaintFact, ...]
    inspections: tuple[InspectionFact, ...]
    training: tuple[TrainingFact, ...]
    entries: tuple[Entry, ...]
    appeals: tuple[AppealRow, ...]


# ---------------------------------------------------------------------------------------------------
# Scope


@dataclass(frozen=True)
class _Caller:
    id: int
    role: Role
    branch_id: int | None

    @property
    def scope(self) -> int | None:
        """The one branch the caller works on; None for an administrator (every branch)."""
        return None if self.role is Role.admin else self.branch_id


def _caller(session: Session, token: str, ctx: AppContext) -> _Caller:
    staff = auth.resume(session, token=token, now=ctx.clock())
    role = Role(staff.role)
    if role not in (Role.supervisor, Role.admin):
        raise Forbidden("the ledger is for supervisors and administrators")
    if role is Role.supervisor and staff.branch_id is None:
        raise Forbidden("a supervisor without a branch supervises nobody")
    assert staff.id is not None
    return _Caller(staff.id, role, staff.branch_id)


def _check_branch(user: _Caller, branch_id: int | None) -> None:
    if user.role is not Role.admin and branch_id != user.branch_id:
        raise Forbidden("this belongs to another branch")


def _person_in_scope(session: Session, user: _Caller, staff_id: int) -> Staff:
    staff = session.get(Staff, staff_id)
    if staff is None or staff.branch_id is None:
        raise StaffNotFound("no staff member with this id at a branch")
    _check_branch(user, staff.branch_id)
    return staff


def _branches(session: Session, user: _Caller) -> tuple[BranchOption, ...]:
    stmt = select(Branch).order_by(col(Branch.code))
    if user.scope is not None:
        stmt = stmt.where(Branch.id == user.scope)
    return tuple(BranchOption(b.id, b.name_zh, b.name_en) for b in session.exec(stmt).all() if b.id)


def _pick_branch(session: Session, user: _Caller, branch_id: int | None) -> Branch:
    """The branch a monthly action is about: a supervisor's own; an administrator must name one."""
    if branch_id is None:
        if user.scope is None:
            raise ValidationFailed("branch", "choose a branch")
        branch_id = user.scope
    _check_branch(user, branch_id)
    branch = session.get(Branch, branch_id)
    if branch is None:
        raise ValidationFailed("branch", "no such branch")
    return branch


def _tz(session: Session, user: _Caller) -> str:
    branch = session.get(Branch, user.branch_id) if user.branch_id is not None else None
    return branch.timezone if branch else DEFAULT_TZ


def _months(now: datetime, tz: str) -> tuple[str, ...]:
    out, m = [], local_month(now, tz)
    for _ in range(MONTHS_OFFERED):
        out.append(str(m))
        m = m.previous()
    return tuple(out)


# ---------------------------------------------------------------------------------------------------
# Building the plain views


class _Views:
    """Turns ORM rows into the dataclasses above within one session, looking each name up once."""

    def __init__(self, session: Session):
        self.s = session
        self.clauses = {c.code: c for c in session.exec(select(ConductClause)).all()}
        self.branches = {b.id: b for b in session.exec(select(Branch)).all()}

    def clause(self, code: str) -> Clause:
        c = self.clauses.get(code)
        return Clause(code, c.short_zh, c.short_en) if c else Clause(code, code, code)

    def name(self, staff_id: int | None) -> str | None:
        staff = self.s.get(Staff, staff_id) if staff_id is not None else None
        return staff.display_name if staff else None

    def branch(self, branch_id: int) -> BranchOption:
        b = self.branches[branch_id]
        return BranchOption(branch_id, b.name_zh, b.name_en)

    def tz(self, branch_id: int) -> str:
        b = self.branches.get(branch_id)
        return b.timezone if b else DEFAULT_TZ

    def complaints(self, ids: Sequence[int]) -> tuple[ComplaintFact, ...]:
        if not ids:
            return ()
        rows = self.s.exec(select(Complaint).where(col(Complaint.id).in_(list(ids)))).all()
        return tuple(self.complaint(c) for c in sorted(rows, key=lambda c: c.id or 0))

    def complaint(self, c: Complaint) -> ComplaintFact:
        assert c.id is not None
        return ComplaintFact(
            c.id, self.clause(c.category), str(c.status), str(c.severity), c.created_at, c.resolved_at
        )

    def inspections(self, rows: Sequence[Inspection]) -> tuple[InspectionFact, ...]:
        found = findings_of(self.s, [i.id for i in rows if i.id is not None])
        return tuple(
            InspectionFact(
                i.id,
                i.at,
                str(i.kind),
                self.name(i.inspector_id) or "?",
                i.notes,
                tuple(Finding(self.clause(f.clause_code), str(f.result), f.note) for f in found[i.id]),
            )
            for i in rows
            if i.id is not None
        )

    def evidence(self, raw: dict) -> Evidence:
        figures = None
        if isinstance(raw.get("ratings"), dict):
            r = raw["ratings"]
            figures = Figures(
                r.get("count"), r.get("mean"), r.get("score"), r.get("low"), r.get("high"), raw.get("rank")
            )
        inspection_ids = [int(i) for i in raw.get("inspections") or []]
        inspections = (
            self.s.exec(
                select(Inspection).where(col(Inspection.id).in_(inspection_ids)).order_by(col(Inspection.at))
            ).all()
            if inspection_ids
            else []
        )
        prior_ids = [int(i) for i in raw.get("prior_penalties") or []]
        prior = [self.s.get(Sanction, i) for i in prior_ids]
        return Evidence(
            figures,
            self.complaints([int(i) for i in raw.get("complaints") or []]),
            self.inspections(inspections),
            tuple(PenaltyFact(p.id, str(p.kind), str(p.status), p.decided_at) for p in prior if p and p.id),
        )

    def timeline(self, row: Sanction, appeal: Appeal | None) -> tuple[Step, ...]:
        """Every step with who and when; a decision carries its reason, an appeal its statement."""
        steps = [Step("proposed", row.proposed_at, self.name(row.proposed_by))]
        if row.decided_at is not None:
            kind = "rejected" if row.status == SanctionStatus.rejected else "approved"
            steps.append(Step(kind, row.decided_at, self.name(row.decided_by), row.decision_reason))
        staff = self.name(row.staff_id)
        if row.acknowledged_at is not None:
            steps.append(Step("acknowledged", row.acknowledged_at, staff))
        if row.reported_at is not None:
            steps.append(Step("report", row.reported_at, staff))
        # A rejection or an overturn also sets closed_at; their own step says it already.
        if row.closed_at is not None and row.status not in (
            SanctionStatus.rejected,
            SanctionStatus.overturned,
        ):
            steps.append(Step("closed", row.closed_at, staff))
        if appeal is not None:
            steps.append(Step("appealed", appeal.filed_at, staff, appeal.statement))
            if appeal.decided_at is not None:
                steps.append(
                    Step(
                        str(appeal.status),
                        appeal.decided_at,
                        self.name(appeal.decided_by),
                        appeal.decision_reason,
                    )
                )
        return tuple(sorted(steps, key=lambda s: s.at))

    def entry(self, row: Sanction) -> Entry:
        assert row.id is not None
        staff = self.s.get(Staff, row.staff_id)
        appeal = self.s.exec(select(Appeal).where(Appeal.sanction_id == row.id)).first()
        return Entry(
            row.id,
            row.staff_id,
            staff.display_name if staff else "?",
            staff.employee_no if staff else "?",
            self.branch(row.branch_id),
            str(row.kind),
            str(row.status),
            row.amount_yuan,
            tuple(self.clause(c) for c in row.clauses),
            row.reason,
            row.rule,
            row.month,
            self.name(row.proposed_by),
            row.proposed_by,
            row.proposed_at,
            row.decision_reason,
            row.report,
            row.requires_report,
            self.evidence(row.evidence or {}),
            self.timeline(row, appeal),
            self.tz(row.branch_id),
        )

    def rating(self, rating_id: object) -> RatingFact | None:
        r = self.s.get(Rating, rating_id)
        if r is None:
            return None
        counter = self.s.get(Counter, r.counter_id) if r.counter_id is not None else None
        return RatingFact(
            r.score,
            tuple(self.clause(c) for c in r.reasons),
            r.comment,
            r.created_at,
            str(r.channel),
            counter.name_zh if counter else None,
            counter.name_en if counter else None,
        )

    def appeal(self, a: Appeal) -> AppealRow:
        assert a.id is not None
        staff = self.s.get(Staff, a.staff_id)
        target = self.s.get(Sanction, a.sanction_id) if a.sanction_id is not None else None
        return AppealRow(
            a.id,
            a.staff_id,
            staff.display_name if staff else "?",
            staff.employee_no if staff else "?",
            str(a.target),
            a.statement,
            str(a.status),
            a.filed_at,
            a.decided_at,
            self.name(a.decided_by),
            a.decision_reason,
            self.rating(a.rating_id) if a.rating_id is not None else None,
            self.entry(target) if target is not None else None,
            self.tz(a.branch_id),
        )


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
    with ctx.db.write() as session:
        user = _caller(session, token, ctx)
    with ctx.db.read() as session:
        v = _Views(session)
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
        )


def run_evaluation(
    ctx: AppContext, token: str, *, month: str, branch_id: int | None = None
) -> EvaluationSummary:
    """Run the monthly rules for a finished month of a branch (a supervisor's own; an administrator
    names one). Raises ValidationFailed("month") for a malformed month, ("month_not_ended") for a
    month that is not over yet, ("branch") when an administrator named none."""
    period = Month.parse(month)
    with ctx.db.write() as session:
        user = _caller(session, token, ctx)
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
    with ctx.db.write() as session:
        user = _caller(session, token, ctx)
        row = session.get(Sanction, sanction_id)
        if row is None:
            raise sanction.SanctionNotFound("no ledger entry with this id")
        _check_branch(user, row.branch_id)
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
    with ctx.db.write() as session:
        user = _caller(session, token, ctx)
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
    with ctx.db.write() as session:
        user = _caller(session, token, ctx)
        appeal = session.get(Appeal, appeal_id)
        if appeal is None:
            raise sanction.AppealNotFound("no appeal with this id")
        _check_branch(user, appeal.branch_id)
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
    with ctx.db.write() as session:
        user = _caller(session, token, ctx)
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
    with ctx.db.write() as session:
        user = _caller(session, token, ctx)
        staff = _person_in_scope(session, user, staff_id)
    with ctx.db.read() as session:
        v = _Views(session)
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
                    r.comment,
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
