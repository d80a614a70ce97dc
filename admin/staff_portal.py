"""A counter staff member's own page in the admin app: my scores, the comments and complaints about
me, my ledger records, and the three things I may do about them (acknowledge, report, appeal).

Why it is built this way:
1. Every function takes only the sign-in token and resolves the person from it. No function accepts
   a staff id, so nobody can ask for a colleague's page; an id of a ledger entry or rating that is
   not the caller's answers exactly like one that does not exist.
2. Only role staff: supervisors and administrators have the personal file and the ledger instead.
3. Nothing here carries customer data. A rating's phone key and device, a complaint's contact,
   tracking code and internal casework notes are never read into a result; free text written by a
   customer (a comment, a complaint's description) has anything that looks like a mobile number or
   an e-mail address masked, because a customer sometimes types one in.
4. Colleagues are never named: the branch appears only as a median, a distribution and a count of
   ranked people.
"""

from __future__ import annotations

import uuid

from sqlmodel import Session, col, select

from admin import access
from admin.access import Caller
from admin.staff_portal_reads import (
    MASK,
    redact,
)
from admin.staff_portal_reads import appeal_info as _appeal
from admin.staff_portal_reads import clause_of as _clause
from admin.staff_portal_reads import clauses_by_code as _clauses
from admin.staff_portal_reads import comments_of as _comments
from admin.staff_portal_reads import complaints_of as _complaints
from admin.staff_portal_reads import scores_of as _scores
from admin.staff_portal_types import (
    AppealInfo,
    Clause,
    CommentRow,
    Comments,
    ComplaintRow,
    DayPoint,
    Figures,
    FindingRow,
    InspectionRow,
    Me,
    MonthPoint,
    MyRules,
    MyScores,
    Overview,
    RecordRow,
    RuleVersion,
    TrainingRow,
)
from models.errors import NotFound, ValidationFailed
from models.inspection import findings_of, list_inspections
from models.org import Branch, Role, Staff
from models.policy import PolicyRevision, effective_policy
from models.sanction import (
    REWARDS,
    Sanction,
    SanctionKind,
    SanctionNotFound,
    SanctionStatus,
    acknowledge,
    appeal_rating,
    appeal_sanction,
    appeal_until,
    appeals_of,
    file_report,
    mark_told,
    sanctions_of,
    set_public_name_consent,
)
from models.training import list_training
from rapport.core.context import AppContext

COMMENTS_PAGE = 30
INSPECTIONS_MAX = 100
APPEALABLE = (SanctionStatus.approved, SanctionStatus.acknowledged, SanctionStatus.closed)


# -- who is asking ---------------------------------------------------------------------------------


# The caller must be counter staff of a branch; GATE.caller resumes the sign-in in a short write
# transaction of its own (admin/access.py).
GATE = access.Gate(
    (Role.staff,),
    refused="this page is for counter staff; supervisors and administrators have their own",
    branch_needed="a staff member without a branch has no page of their own",
)


def _who(session: Session, me: Caller) -> Me:
    staff = session.get(Staff, me.id)
    assert staff is not None
    branch = session.get(Branch, staff.branch_id)
    assert branch is not None and staff.id is not None
    return Me(
        staff.id, staff.display_name, staff.employee_no, branch.name_zh, branch.name_en, branch.timezone,
        staff.public_name_consent_at,
    )  # fmt: skip


def _ids(value: object) -> tuple[int, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(sorted(int(x) for x in value if isinstance(x, int) and not isinstance(x, bool)))


def _tell(session: Session, staff: Caller, ctx: AppContext) -> None:
    """My page is about to show me all my records: every approved penalty I had not seen is told to
    me now, and its appeal window counts from here (models/sanction/ ``mark_told``)."""
    mark_told(session, staff_id=staff.id, now=ctx.clock())


def _records(session: Session, staff: Caller, ctx: AppContext) -> tuple[RecordRow, ...]:
    """My records (the page showing them all calls :func:`_tell` first)."""
    now = ctx.clock()
    appealed = {a.sanction_id: a for a in appeals_of(session, staff_id=staff.id) if a.sanction_id is not None}
    names = _clauses(session)
    policy = effective_policy(session, staff.branch_id)
    out = []
    for s in sanctions_of(session, staff_id=staff.id):
        assert s.id is not None
        reward = SanctionKind(s.kind) in REWARDS
        status = SanctionStatus(s.status)
        appeal = appealed.get(s.id)
        until = appeal_until(s, policy.appeal_window_days)
        open_ = not reward and appeal is None and status in APPEALABLE and until is not None and now <= until
        out.append(
            RecordRow(
                id=s.id,
                kind=str(s.kind),
                reward=reward,
                amount_yuan=s.amount_yuan,
                clauses=tuple(_clause(names, c) for c in s.clauses),
                reason=s.reason,
                status=str(status),
                month=s.month,
                proposed_at=s.proposed_at,
                decided_at=s.decided_at,
                decision_reason=s.decision_reason,
                acknowledged_at=s.acknowledged_at,
                requires_report=s.requires_report,
                report=s.report,
                reported_at=s.reported_at,
                closed_at=s.closed_at,
                evidence_complaints=_ids(s.evidence.get("complaints")),
                evidence_inspections=_ids(s.evidence.get("inspections")),
                appeal=_appeal(appeal, policy.appeal_decision_days),
                can_acknowledge=not reward and status is SanctionStatus.approved,
                can_report=s.requires_report and status is SanctionStatus.acknowledged,
                appeal_until=until if open_ else None,
            )
        )
    return tuple(out)


def _inspections(session: Session, staff: Caller) -> tuple[InspectionRow, ...]:
    rows = list_inspections(session, staff_id=staff.id, limit=INSPECTIONS_MAX)
    found = findings_of(session, [i.id for i in rows if i.id is not None])
    inspectors = {i.inspector_id for i in rows}
    people = session.exec(select(Staff).where(col(Staff.id).in_(inspectors))).all() if inspectors else []
    who = {p.id: p.display_name for p in people}
    names = _clauses(session)
    return tuple(
        InspectionRow(
            id=i.id,
            at=i.at,
            kind=str(i.kind),
            inspector=who.get(i.inspector_id, "?"),
            notes=i.notes,
            findings=tuple(
                FindingRow(_clause(names, f.clause_code), str(f.result), f.note) for f in found[i.id]
            ),
        )
        for i in rows
        if i.id is not None
    )


def _training(session: Session, staff: Caller) -> tuple[TrainingRow, ...]:
    return tuple(
        TrainingRow(r.id, str(r.kind), r.course, r.completed_on, r.passed)
        for r in list_training(session, staff_id=staff.id)
        if r.id is not None
    )


# The settings that decide a reward or a penalty, or my rights about one: what "my rules" explains.
RULE_KEYS = (
    "min_ratings_ranked", "score_prior_weight", "service_star_enabled", "reward_basis",
    "reward_min_above_mean", "commendation_top_share", "service_star_min_score", "commendation_min_score",
    "service_star_bonus_yuan", "complaints_for_penalty", "inspection_violation_penalty",
    "penalty_deduction_yuan", "deduction_cap_yuan_per_month", "fines_enabled", "dismissal_after_penalties",
    "escalation_lookback_months", "appeal_window_days", "appeal_decision_days", "default_rating_days",
    "default_rating_score", "default_rating_counted",
)  # fmt: skip
RULE_VERSIONS_MAX = 20


def _rules(session: Session, staff: Caller) -> MyRules:
    policy = effective_policy(session, staff.branch_id)
    rows = session.exec(
        select(PolicyRevision)
        .where(col(PolicyRevision.branch_id).is_(None) | (col(PolicyRevision.branch_id) == staff.branch_id))
        .order_by(col(PolicyRevision.saved_at).desc(), col(PolicyRevision.id).desc())
        .limit(RULE_VERSIONS_MAX)
    ).all()
    return MyRules(
        values={k: getattr(policy, k) for k in RULE_KEYS},
        versions=tuple(
            RuleVersion(
                r.version,
                "global" if r.branch_id is None else "branch",
                r.published_at,
                r.adopted_on,
                r.adopted_how,
            )  # fmt: skip
            for r in rows
        ),
    )


def my_rules(ctx: AppContext, token: str) -> MyRules:
    """The rules that apply to me, in force now, with their versions (read only)."""
    me = GATE.caller(ctx, token)
    with ctx.db.read() as session:
        return _rules(session, me)


def overview(ctx: AppContext, token: str, *, comments: int = COMMENTS_PAGE) -> Overview:
    """Everything on my page in one read: the section loads it when it opens (and so tells me of any
    approved penalty I had not seen)."""
    staff = GATE.caller(ctx, token)
    with ctx.db.write() as session:  # telling me of new penalties writes (mark_told)
        _tell(session, staff, ctx)
        return Overview(
            me=_who(session, staff),
            scores=_scores(session, staff, ctx),
            comments=_comments(session, staff, ctx, comments),
            complaints=_complaints(session, staff),
            records=_records(session, staff, ctx),
            inspections=_inspections(session, staff),
            training=_training(session, staff),
            rules=_rules(session, staff),
        )


def my_scores(ctx: AppContext, token: str) -> MyScores:
    me = GATE.caller(ctx, token)
    with ctx.db.read() as session:
        return _scores(session, me, ctx)


def my_comments(ctx: AppContext, token: str, *, limit: int = COMMENTS_PAGE) -> Comments:
    """My telling ratings, newest first; ``limit`` grows as I ask for older ones."""
    me = GATE.caller(ctx, token)
    with ctx.db.read() as session:
        return _comments(session, me, ctx, limit)


def my_complaints(ctx: AppContext, token: str) -> tuple[ComplaintRow, ...]:
    me = GATE.caller(ctx, token)
    with ctx.db.read() as session:
        return _complaints(session, me)


def my_records(ctx: AppContext, token: str) -> tuple[RecordRow, ...]:
    staff = GATE.caller(ctx, token)
    with ctx.db.write() as session:  # telling me of new penalties writes (mark_told)
        _tell(session, staff, ctx)
        return _records(session, staff, ctx)


def my_inspections(ctx: AppContext, token: str) -> tuple[InspectionRow, ...]:
    me = GATE.caller(ctx, token)
    with ctx.db.read() as session:
        return _inspections(session, me)


def my_training(ctx: AppContext, token: str) -> tuple[TrainingRow, ...]:
    me = GATE.caller(ctx, token)
    with ctx.db.read() as session:
        return _training(session, me)


# -- acting ----------------------------------------------------------------------------------------


def _mine(session: Session, staff: Caller, sanction_id: int) -> Sanction:
    row = session.get(Sanction, sanction_id) if isinstance(sanction_id, int) else None
    if row is None or row.staff_id != staff.id:
        # Someone else's entry is as unknown to me as one that does not exist.
        raise SanctionNotFound("no ledger entry of yours with this id")
    return row


def set_public_consent(ctx: AppContext, token: str, consent: bool) -> Me:
    """I agree, or no longer agree, to have my name shown in public: the Service Star on my branch's
    tablets names me only while I do (个人信息保护法 §25). Audited; withdrawable at any time."""
    if not isinstance(consent, bool):
        raise ValidationFailed("consent", "consent is yes or no")
    staff = GATE.caller(ctx, token)
    with ctx.db.write() as session:
        set_public_name_consent(session, staff_id=staff.id, consent=consent, now=ctx.clock())
        return _who(session, staff)


def acknowledge_record(ctx: AppContext, token: str, sanction_id: int) -> RecordRow:
    """I have read an approved penalty (I may still appeal it). Returns the entry as it is now."""
    staff = GATE.caller(ctx, token)
    with ctx.db.write() as session:
        _mine(session, staff, sanction_id)
        acknowledge(session, sanction_id, staff_id=staff.id, now=ctx.clock())
        return _record(session, staff, ctx, sanction_id)


def write_report(ctx: AppContext, token: str, sanction_id: int, report: str) -> RecordRow:
    """The self-review and rectification report an acknowledged economic penalty requires."""
    staff = GATE.caller(ctx, token)
    with ctx.db.write() as session:
        _mine(session, staff, sanction_id)
        file_report(session, sanction_id, staff_id=staff.id, report=report, now=ctx.clock())
        return _record(session, staff, ctx, sanction_id)


def appeal_record(ctx: AppContext, token: str, sanction_id: int, statement: str) -> RecordRow:
    """Appeal a penalty with a statement, within the policy's window after the decision."""
    staff = GATE.caller(ctx, token)
    with ctx.db.write() as session:
        _mine(session, staff, sanction_id)
        appeal_sanction(session, sanction_id, staff_id=staff.id, statement=statement, now=ctx.clock())
        return _record(session, staff, ctx, sanction_id)


def appeal_a_rating(ctx: AppContext, token: str, rating_id: str, statement: str) -> AppealInfo:
    """Appeal a rating I believe mistaken or false; a supervisor decides, and an overturned rating
    leaves every score."""
    staff = GATE.caller(ctx, token)
    with ctx.db.write() as session:
        try:
            key = uuid.UUID(str(rating_id))
        except ValueError:
            raise NotFound("no rating of yours with this id") from None
        appeal = appeal_rating(session, key, staff_id=staff.id, statement=statement, now=ctx.clock())
        info = _appeal(appeal)
        assert info is not None
        return info


def _record(session: Session, staff: Caller, ctx: AppContext, sanction_id: int) -> RecordRow:
    return next(r for r in _records(session, staff, ctx) if r.id == sanction_id)


__all__ = [
    "MASK",
    "redact",
    "COMMENTS_PAGE",
    "AppealInfo",
    "Clause",
    "CommentRow",
    "Comments",
    "ComplaintRow",
    "DayPoint",
    "Figures",
    "FindingRow",
    "InspectionRow",
    "Me",
    "MonthPoint",
    "MyRules",
    "MyScores",
    "Overview",
    "RecordRow",
    "RuleVersion",
    "TrainingRow",
    "acknowledge_record",
    "appeal_a_rating",
    "appeal_record",
    "my_comments",
    "my_complaints",
    "my_inspections",
    "my_records",
    "my_rules",
    "my_scores",
    "my_training",
    "overview",
    "set_public_consent",
    "write_report",
]
