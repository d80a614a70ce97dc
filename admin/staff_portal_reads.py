"""What a staff member's own page reads about them (admin/staff_portal.py calls these inside its
sessions): the fair score and its trend, the telling comments, the complaints about them. Each takes
the caller (admin/access.py Caller), never a staff id, and returns only the records of
admin/staff_portal_types.py: no customer data, no colleague named."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from admin.access import Caller
from admin.staff_portal_types import (
    AppealInfo,
    Clause,
    CommentRow,
    Comments,
    ComplaintRow,
    DayPoint,
    Figures,
    MonthPoint,
    MyScores,
)
from models.catalog import ConductClause
from models.complaint import Complaint
from models.org import Branch
from models.policy import effective_policy
from models.rating import Rating
from models.sanction import Appeal, AppealStatus, appeal_due, appeals_of
from models.scores import Score, local_month, profile
from models.text import CONTACT_MASK, mask_contacts
from rapport.core.context import AppContext

COMPLAINTS_MAX = 200
# A rating worth listing under "comments": it says something, scores low, or has a story of its own.
LOW_SCORE = 3
MASK = CONTACT_MASK
redact = mask_contacts  # mobile numbers and e-mail addresses a customer typed into free text


def clauses_by_code(session: Session) -> dict[str, Clause]:
    return {c.code: Clause.of(c) for c in session.exec(select(ConductClause)).all()}


def clause_of(names: dict[str, Clause], code: str) -> Clause:
    return names.get(code) or Clause.unknown(code)


def appeal_info(a: Appeal | None, decision_days: int = 30) -> AppealInfo | None:
    if a is None or a.id is None:
        return None
    due = appeal_due(a, decision_days) if a.status == AppealStatus.open else None
    return AppealInfo(a.id, str(a.status), a.statement, a.filed_at, a.decided_at, a.decision_reason, due)


# -- reading ---------------------------------------------------------------------------------------


def figures_of(s: Score) -> Figures:
    return Figures(s.n, s.mean, s.score, s.low, s.high, s.ranked, s.counts)


def scores_of(session: Session, staff: Caller, ctx: AppContext) -> MyScores:
    assert staff.branch_id is not None
    branch = session.get(Branch, staff.branch_id)
    assert branch is not None
    policy = effective_policy(session, staff.branch_id)
    p = profile(session, staff.id, local_month(ctx.clock(), branch.timezone), policy=policy)
    return MyScores(
        month=p.month,
        current=figures_of(p.current),
        min_ranked=policy.min_ratings_ranked,
        branch_counts=p.branch.counts,
        branch_mean=p.branch.mean,
        branch_median=p.branch_median,
        rank=p.rank,
        ranked_count=p.ranked_count,
        months=tuple(MonthPoint(m.month, figures_of(m.score)) for m in p.months),
        days=tuple(DayPoint(d, m.n, m.mean) for d, m in p.days),
    )


def telling(score: int, comment: str, reasons: list[str], flagged: bool, overturned: bool) -> bool:
    return bool(comment or reasons) or score <= LOW_SCORE or flagged or overturned


def comments_of(session: Session, staff: Caller, ctx: AppContext, limit: int) -> Comments:
    """My ratings that say something (a comment or reasons), score low, were set aside or appealed,
    newest first. Only the columns shown are read: never the phone key or the device."""
    limit = max(1, min(int(limit), 500))
    appealed = {a.rating_id: a for a in appeals_of(session, staff_id=staff.id) if a.rating_id is not None}
    shown = [
        col(Rating.id),
        col(Rating.created_at),
        col(Rating.score),
        col(Rating.channel),
        col(Rating.reasons),
        col(Rating.comment),
        col(Rating.flagged),
        col(Rating.flag_reason),
        col(Rating.overturned),
        col(Rating.counted),
    ]
    stmt = (
        sa_select(*shown)
        .where(col(Rating.staff_id) == staff.id)
        .order_by(col(Rating.created_at).desc(), col(Rating.id))
        .execution_options(yield_per=200)
    )
    # Reasons are a JSON list, which SQL cannot portably test for emptiness: filter while streaming,
    # and stop as soon as one more than the page is found.
    found = []
    result = session.execute(stmt)
    try:
        for row in result:
            if row.id in appealed or telling(
                row.score, row.comment, row.reasons, row.flagged, row.overturned
            ):
                found.append(row)
                if len(found) > limit:
                    break
    finally:
        result.close()  # a streamed result left open would hold its cursor
    names = clauses_by_code(session)
    window = timedelta(days=effective_policy(session, staff.branch_id).appeal_window_days)
    now = ctx.clock()
    cleared = cleared_ratings(session, [r.id for r in found[:limit]])
    out = []
    for r in found[:limit]:
        appeal = appealed.get(r.id)
        until = r.created_at + window
        # Offered on what counts against me: a counted rating of 3 or below (the model would take any).
        open_ = (
            appeal is None
            and r.score <= LOW_SCORE
            and r.counted  # not a flagged press, nor a default rating the policy does not count
            and not (r.overturned or r.flagged or r.id in cleared)
            and now <= until
        )
        out.append(
            CommentRow(
                id=str(r.id),
                at=r.created_at,
                score=r.score,
                channel=str(r.channel),
                reasons=tuple(clause_of(names, c) for c in r.reasons),
                comment=redact(r.comment),
                flagged=r.flagged,
                flag_reason=r.flag_reason,
                overturned=r.overturned,
                appeal=appeal_info(appeal),
                appeal_until=until if open_ else None,
                cleared=cleared.get(r.id),
            )
        )
    return Comments(tuple(out), len(found) > limit)


def cleared_ratings(session: Session, rating_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Of these ratings, the 差评 whose case found they do not weigh on the person, with why: the
    page says so rather than leave a 1 unexplained (models/scores.py ``cleared_ratings``)."""
    from models.case_flow import weighs_on_person
    from models.cases import Finding, RatingCase

    rows = session.exec(
        select(RatingCase.rating_id, RatingCase.finding, RatingCase.about).where(
            col(RatingCase.rating_id).in_(rating_ids), col(RatingCase.finding).is_not(None)
        )
    ).all()
    out: dict[uuid.UUID, str] = {}
    for rating_id, finding, about in rows:
        if not weighs_on_person(finding, about):
            out[rating_id] = finding if finding in (Finding.unfounded, Finding.unverifiable) else str(about)
    return out


def complaints_of(session: Session, staff: Caller) -> tuple[ComplaintRow, ...]:
    rows = session.exec(
        select(Complaint)
        .where(Complaint.staff_id == staff.id)
        .order_by(col(Complaint.created_at).desc(), col(Complaint.id).desc())
        .limit(COMPLAINTS_MAX)
    ).all()
    names = clauses_by_code(session)
    return tuple(
        ComplaintRow(
            id=c.id,
            filed_at=c.created_at,
            category=clause_of(names, c.category),
            severity=str(c.severity),
            status=str(c.status),
            description=redact(c.description),
            reply=redact(c.reply) if c.reply else None,
            resolved_at=c.resolved_at,
            closed_at=c.closed_at,
        )
        for c in rows
        if c.id is not None
    )
