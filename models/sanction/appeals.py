"""Appeals (conduct code §4): a staff member's statement against a rating they believe mistaken or false,
or against an approved penalty, filed within the policy's window from when they were told of it and
decided by someone other than the one who approved it, by a due time fixed when it is filed.

Separate from the ledger steps (:mod:`models.sanction.ledger_steps`), whose helpers it uses, because an
appeal reaches beyond the ledger: an overturned rating leaves every score (models/rollup.py).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from models import rollup
from models.audit import append
from models.clock import branch_zone, utcnow
from models.errors import Forbidden, NotFound
from models.org import Branch
from models.policy import effective_policy
from models.rating import Rating
from models.sanction.ledger_steps import _audit, _own_penalty, _sanction, _text
from models.sanction.records import (
    IN_FORCE,
    PENALTIES,
    REASON_MAX_CHARS,
    STATEMENT_MAX_CHARS,
    Appeal,
    AppealNotFound,
    AppealStatus,
    AppealTarget,
    LedgerStepRefused,
    Sanction,
    SanctionStatus,
)


def appeal_until(row: Sanction, window_days: int) -> datetime | None:
    """The last moment the person may appeal this penalty: ``window_days`` after they were told of it
    (``told_at``); None while they have not been told, when the window has not started."""
    return row.told_at + timedelta(days=window_days) if row.told_at is not None else None


def appeal_due(appeal: Appeal, decision_days: int) -> datetime:
    """When the appeal must be decided by: as fixed when it was filed, or (an appeal filed before due
    times were kept) ``decision_days`` after it was filed."""
    return appeal.decision_due_at or appeal.filed_at + timedelta(days=decision_days)


def mark_told(session: Session, *, staff_id: int, now: datetime) -> list[int]:
    """The person's page is showing them their records: every approved penalty they had not been told
    of is told now (one audit entry naming them). Returns the ids marked; commits only if any."""
    rows = session.exec(
        select(Sanction).where(
            Sanction.staff_id == staff_id,
            col(Sanction.told_at).is_(None),
            col(Sanction.status).in_([str(s) for s in IN_FORCE]),
            col(Sanction.kind).in_([str(k) for k in PENALTIES]),
        )
    ).all()
    if not rows:
        return []
    for row in rows:
        row.told_at = now
        session.add(row)
    ids = sorted(r.id for r in rows if r.id is not None)
    append(
        session, action="sanction.told", entity="staff", entity_id=staff_id, actor_staff_id=staff_id,
        details={"sanctions": ids}, now=now,
    )  # fmt: skip
    session.commit()
    return ids


def _statement(statement: str) -> str:
    return _text(statement, "statement", max_chars=STATEMENT_MAX_CHARS, what="why you appeal")


def appeal_sanction(
    session: Session, sanction_id: int, *, staff_id: int, statement: str, now: datetime | None = None
) -> Appeal:
    now = now or utcnow()
    row = _own_penalty(session, sanction_id, staff_id)
    if row.is_reward or row.status not in (
        SanctionStatus.approved,
        SanctionStatus.acknowledged,
        SanctionStatus.closed,
    ):
        raise LedgerStepRefused("only a penalty that was approved can be appealed")
    if session.exec(select(Appeal).where(Appeal.sanction_id == sanction_id)).first() is not None:
        raise LedgerStepRefused("this penalty was already appealed")
    policy = effective_policy(session, row.branch_id)
    until = appeal_until(row, policy.appeal_window_days)
    if until is not None and now > until:
        raise LedgerStepRefused(
            f"appeals are open for {policy.appeal_window_days} days after you were told of the decision"
        )
    row.told_at = row.told_at or now  # appealing it, the person knows of it
    appeal = Appeal(
        staff_id=staff_id,
        branch_id=row.branch_id,
        target=AppealTarget.sanction,
        sanction_id=row.id,
        statement=_statement(statement),
        filed_at=now,
        decision_due_at=now + timedelta(days=policy.appeal_decision_days),
    )
    row.status_before_appeal, row.status = SanctionStatus(row.status), SanctionStatus.appealed
    session.add(appeal)
    session.add(row)
    session.flush()
    _audit(session, "appeal.file", appeal, staff_id, now, target="sanction", sanction=row.id)
    session.commit()
    return appeal


def appeal_rating(
    session: Session, rating_id: uuid.UUID, *, staff_id: int, statement: str, now: datetime | None = None
) -> Appeal:
    now = now or utcnow()
    rating = session.get(Rating, rating_id)
    if rating is None or rating.staff_id != staff_id:
        # Someone else's rating is as unknown to the caller as one that does not exist.
        raise NotFound("no rating of yours with this id")
    if rating.overturned:
        raise LedgerStepRefused("this rating was already set aside")
    if not rating.counted:  # a flagged press, a second rating of a transaction, an uncounted default
        raise LedgerStepRefused("this rating is not counted in any score, so there is nothing to appeal")
    if session.exec(select(Appeal).where(Appeal.rating_id == rating_id)).first() is not None:
        raise LedgerStepRefused("this rating was already appealed")
    policy = effective_policy(session, rating.branch_id)
    window = policy.appeal_window_days
    if now > rating.created_at + timedelta(days=window):
        raise LedgerStepRefused(f"a rating can be appealed for {window} days after it was given")
    appeal = Appeal(
        staff_id=staff_id,
        branch_id=rating.branch_id,
        target=AppealTarget.rating,
        rating_id=rating.id,
        statement=_statement(statement),
        filed_at=now,
        decision_due_at=now + timedelta(days=policy.appeal_decision_days),
    )
    session.add(appeal)
    session.flush()
    _audit(session, "appeal.file", appeal, staff_id, now, target="rating", rating=str(rating.id))
    session.commit()
    return appeal


def decide_appeal(
    session: Session,
    appeal_id: int,
    *,
    overturn: bool,
    reason: str,
    actor_staff_id: int,
    now: datetime | None = None,
) -> Appeal:
    now = now or utcnow()
    appeal = session.get(Appeal, appeal_id)
    if appeal is None:
        raise AppealNotFound("no appeal with this id")
    if appeal.staff_id == actor_staff_id:
        raise Forbidden("nobody decides their own appeal")
    if appeal.status != AppealStatus.open:
        raise LedgerStepRefused(f"this appeal was already decided ({appeal.status})")
    target = _sanction(session, appeal.sanction_id) if appeal.sanction_id is not None else None
    if target is not None and target.decided_by == actor_staff_id:
        # The one who approved the penalty does not judge the appeal against it.
        raise Forbidden("another supervisor or an administrator decides an appeal against your decision")
    appeal.decision_reason = _text(
        reason, "reason", max_chars=REASON_MAX_CHARS, what="the reason for your decision"
    )
    appeal.status = AppealStatus.overturned if overturn else AppealStatus.upheld
    appeal.decided_by, appeal.decided_at = actor_staff_id, now
    if appeal.rating_id is not None:
        rating = session.get(Rating, appeal.rating_id)
        assert rating is not None
        if overturn:
            if rating.counted:  # it leaves the scores: its day's roll-up is stale (models/rollup.py)
                branch = session.get(Branch, rating.branch_id)
                tz = branch_zone(branch.timezone if branch else None)
                rollup.day_changed(session, branch_id=rating.branch_id, at=rating.created_at, tz=tz)
            rating.overturned, rating.counted = True, False
            session.add(rating)
    elif target is not None:
        row = target
        if overturn:
            row.status, row.closed_at = SanctionStatus.overturned, now
        else:
            row.status = row.status_before_appeal or SanctionStatus.approved
        session.add(row)
    session.add(appeal)
    session.flush()
    _audit(session, "appeal.overturn" if overturn else "appeal.uphold", appeal, actor_staff_id, now)
    session.commit()
    return appeal


def open_appeals(session: Session, *, branch_id: int | None) -> list[Appeal]:
    stmt = select(Appeal).where(Appeal.status == AppealStatus.open)
    if branch_id is not None:
        stmt = stmt.where(Appeal.branch_id == branch_id)
    return list(session.exec(stmt.order_by(col(Appeal.filed_at))).all())


def appeals_of(session: Session, *, staff_id: int) -> list[Appeal]:
    return list(
        session.exec(
            select(Appeal).where(Appeal.staff_id == staff_id).order_by(col(Appeal.filed_at).desc())
        ).all()
    )
