"""The reward and penalty ledger (conduct code §4) with due process, appeals, and the monthly evaluation.

A **Sanction** is one ledger entry about one staff member. Its life:

    proposed ──approve──▶ approved ──acknowledge──▶ acknowledged ──rectification──▶ closed
        │                    │   (a penalty; without a rectification report due it closes at once)
        └──reject──▶ rejected └──(a reward stays approved: it is in effect)

and, for an approved, acknowledged or closed penalty, within the policy's appeal window:

    ──appeal──▶ appealed ──decide──▶ back where it was (upheld) | overturned

Nothing is applied automatically: the monthly evaluation only *proposes*, with the evidence and the
clauses behind each proposal and a snapshot of the rules it used, and a supervisor or administrator
decides each proposal with a written reason. Nobody decides a proposal about themselves or one they
made. Every step is one audit entry written in the same transaction (ids only, never the text).

An **Appeal** is a staff member's statement against a rating they believe mistaken or false, or
against a penalty. An overturned rating is kept, marked ``overturned`` and no longer ``counted``, so it
leaves every score; an overturned penalty no longer counts towards escalation.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from statistics import fmean
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, Index, String
from sqlmodel import Field, Session, SQLModel, col, func, select

import models.base  # noqa: F401  (naming convention first)
from models import rollup
from models.audit import append
from models.catalog import ConductClause
from models.clock import UTCDateTime, branch_zone, utcnow
from models.complaint import Complaint, ComplaintStatus
from models.errors import DomainError, Forbidden, NotFound, StaffNotFound, ValidationFailed
from models.org import Branch, Role, Staff
from models.policy import PolicyValues, effective_policy, rules_for_month
from models.rating import Rating
from models.scores import Month, Standing, leaderboard, local_month
from models.text import clean_text

REASON_MAX_CHARS = 1000
REPORT_MAX_CHARS = 4000
STATEMENT_MAX_CHARS = 2000
REASON_MIN_CHARS = 4


class SanctionKind(StrEnum):
    commendation = "commendation"
    honorary_title = "honorary_title"
    bonus = "bonus"
    warning = "warning"
    criticism = "criticism"
    deduction = "deduction"
    fine = "fine"
    dismissal = "dismissal"  # a recommendation: the decision itself follows labour law, outside Rapport


REWARDS = frozenset({SanctionKind.commendation, SanctionKind.honorary_title, SanctionKind.bonus})
# Money taken from pay: capped per person and month (PolicyValues.deduction_cap_yuan_per_month).
FROM_PAY = frozenset({SanctionKind.deduction, SanctionKind.fine})
PENALTIES = frozenset(SanctionKind) - REWARDS
MONEY = frozenset({SanctionKind.bonus, SanctionKind.deduction, SanctionKind.fine})
# Conduct code §4.2.2: an economic penalty comes with a written self-review and rectification report.
NEEDS_REPORT = frozenset({SanctionKind.deduction, SanctionKind.fine})
# The clause of the code each kind rests on (conduct code §4).
KIND_CLAUSE = {
    SanctionKind.commendation: "4.1.1",
    SanctionKind.honorary_title: "4.1.1",
    SanctionKind.bonus: "4.1.2",
    SanctionKind.warning: "4.2.1",
    SanctionKind.criticism: "4.2.1",
    SanctionKind.deduction: "4.2.2",
    SanctionKind.fine: "4.2.2",
    SanctionKind.dismissal: "4.2.3",
}


class SanctionStatus(StrEnum):
    proposed = "proposed"
    approved = "approved"
    rejected = "rejected"
    acknowledged = "acknowledged"
    closed = "closed"
    appealed = "appealed"
    overturned = "overturned"


# Statuses in which a penalty stands (counts towards escalation and shows in the personal file).
IN_FORCE = (
    SanctionStatus.approved,
    SanctionStatus.acknowledged,
    SanctionStatus.closed,
    SanctionStatus.appealed,
)


class AppealTarget(StrEnum):
    rating = "rating"
    sanction = "sanction"


class AppealStatus(StrEnum):
    open = "open"
    upheld = "upheld"  # the rating or penalty stands
    overturned = "overturned"  # it is set aside


def _in(column: str, values: Any) -> str:
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


class SanctionNotFound(NotFound):
    code = "sanction_not_found"


class AppealNotFound(NotFound):
    code = "appeal_not_found"


class LedgerStepRefused(DomainError):
    """The entry's status does not allow this step (or changed meanwhile)."""

    code = "ledger_step_refused"


class Evaluation(SQLModel, table=True):
    """One run of the monthly rules for a branch: when, by whom, and the rules as they were."""

    __table_args__ = (Index("ix_evaluation_branch_month", "branch_id", "month"),)

    id: int | None = Field(default=None, primary_key=True)
    branch_id: int = Field(foreign_key="branch.id")
    month: str = Field(max_length=7)
    run_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    run_by: int | None = Field(default=None, foreign_key="staff.id")
    rules: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # The published rule versions used ({"global": 3, "branch": 1}; 0: none then, the defaults): only
    # versions published before the month began (models/policy.py rules_for_month).
    rule_versions: dict[str, int] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    proposed: int = 0


class Sanction(SQLModel, table=True):
    __table_args__ = (
        CheckConstraint(_in("kind", SanctionKind), name="kind"),
        CheckConstraint(_in("status", SanctionStatus), name="status"),
        CheckConstraint("amount_yuan IS NULL OR amount_yuan > 0", name="amount"),
        Index("ix_sanction_staff_proposed", "staff_id", "proposed_at"),
        Index("ix_sanction_branch_status", "branch_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff.id")
    branch_id: int = Field(foreign_key="branch.id")
    kind: SanctionKind = Field(sa_type=String(16))
    status: SanctionStatus = Field(default=SanctionStatus.proposed, sa_type=String(16))
    amount_yuan: int | None = None
    clauses: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # {"ratings": {...figures...}, "complaints": [ids], "inspections": [ids], "prior_penalties": [ids]}
    evidence: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    reason: str = Field(max_length=REASON_MAX_CHARS)
    # "manual", or the monthly rule that proposed it: "service_star", "commendation", "conduct".
    rule: str = Field(default="manual", max_length=32)
    month: str | None = Field(default=None, max_length=7)
    evaluation_id: int | None = Field(default=None, foreign_key="evaluation.id")
    # A rule's proposal for a staff member and month exists once, however often the month is run.
    dedupe_key: str | None = Field(default=None, max_length=80, unique=True)
    requires_report: bool = False
    proposed_by: int | None = Field(default=None, foreign_key="staff.id")
    proposed_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    decided_by: int | None = Field(default=None, foreign_key="staff.id")
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    decision_reason: str | None = Field(default=None, max_length=REASON_MAX_CHARS)
    acknowledged_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    # When the person was told of the approved penalty: their page first showed it to them, or they
    # acknowledged it, whichever came first. The appeal window counts from here (公务员法 §95).
    told_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    report: str | None = Field(default=None, max_length=REPORT_MAX_CHARS)
    reported_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    closed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    # The status an appeal interrupted, restored when the penalty is upheld.
    status_before_appeal: SanctionStatus | None = Field(default=None, sa_type=String(16))

    @property
    def is_reward(self) -> bool:
        return SanctionKind(self.kind) in REWARDS


class Appeal(SQLModel, table=True):
    __table_args__ = (
        CheckConstraint(_in("target", AppealTarget), name="target"),
        CheckConstraint(_in("status", AppealStatus), name="status"),
        CheckConstraint("(rating_id IS NULL) <> (sanction_id IS NULL)", name="one_target"),
        Index("ix_appeal_branch_status", "branch_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    branch_id: int = Field(foreign_key="branch.id")
    target: AppealTarget = Field(sa_type=String(16))
    # One appeal per rating and per penalty, ever.
    rating_id: uuid.UUID | None = Field(default=None, foreign_key="rating.id", unique=True)
    sanction_id: int | None = Field(default=None, foreign_key="sanction.id", unique=True)
    statement: str = Field(max_length=STATEMENT_MAX_CHARS)
    status: AppealStatus = Field(default=AppealStatus.open, sa_type=String(16))
    filed_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    decided_by: int | None = Field(default=None, foreign_key="staff.id")
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    decision_reason: str | None = Field(default=None, max_length=REASON_MAX_CHARS)
    # When it must be decided by: filed_at + the policy's appeal_decision_days, fixed when filed.
    decision_due_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


# ---------------------------------------------------------------------------------------------------
# Helpers


def _text(value: str | None, field: str, *, max_chars: int, what: str) -> str:
    text = clean_text(value or "", max_chars=max_chars)
    if len(text) < REASON_MIN_CHARS:
        raise ValidationFailed(field, f"write {what} (at least {REASON_MIN_CHARS} characters)")
    return text


def _staff(session: Session, staff_id: int) -> Staff:
    staff = session.get(Staff, staff_id)
    if staff is None or staff.branch_id is None:
        raise StaffNotFound("no staff member with this id at a branch")
    return staff


def _sanction(session: Session, sanction_id: int) -> Sanction:
    row = session.get(Sanction, sanction_id)
    if row is None:
        raise SanctionNotFound("no ledger entry with this id")
    return row


def _clauses(session: Session, codes: Sequence[str]) -> list[str]:
    wanted = list(dict.fromkeys(c.strip() for c in codes if c and c.strip()))
    if not wanted:
        raise ValidationFailed("clauses", "cite at least one clause of the code of conduct")
    found = set(session.exec(select(ConductClause.code).where(col(ConductClause.code).in_(wanted))).all())
    missing = [c for c in wanted if c not in found]
    if missing:
        raise ValidationFailed("clauses", f"no clause {missing[0]} in the code of conduct")
    return wanted


def _amount(kind: SanctionKind, amount_yuan: int | None) -> int | None:
    if kind in MONEY:
        if amount_yuan is None or isinstance(amount_yuan, bool) or amount_yuan <= 0:
            raise ValidationFailed("amount_yuan", "give the amount in yuan, a whole number above zero")
        if amount_yuan > 1_000_000:
            raise ValidationFailed("amount_yuan", "the amount cannot exceed 1,000,000 yuan")
        return int(amount_yuan)
    if amount_yuan:
        raise ValidationFailed("amount_yuan", "only a bonus, a deduction or a fine carries an amount")
    return None


class FinesOff(ValidationFailed):
    """The ``fine`` kind while the policy's ``fines_enabled`` is off (the default)."""

    code = "fines_off"

    def __init__(self) -> None:
        super().__init__(
            "kind",
            "fines are off: employer fines have no legal basis since the 企业职工奖惩条例 was abolished "
            "(docs/RULES-CITED.md §4); propose a deduction, or an administrator turns fines on",
        )


class DeductionOverCap(ValidationFailed):
    """A deduction that would take a person's approved deductions in the month over the cap
    (工资支付暂行规定 §16); ``cap``, ``taken`` (already approved this month) and ``asked`` in yuan."""

    code = "deduction_over_cap"

    def __init__(self, *, cap: int, taken: int, asked: int, month: str):
        super().__init__(
            "amount_yuan",
            f"{asked} yuan would take the deductions of {month} to {taken + asked} yuan, over the cap of "
            f"{cap} yuan a month (工资支付暂行规定 §16, docs/RULES-CITED.md §4); "
            f"{max(cap - taken, 0)} yuan left",
        )
        self.cap, self.taken, self.asked, self.month = cap, taken, asked, month


def deducted_in_month(
    session: Session, staff_id: int, month: Month, tz: str, *, leave_out: int | None = None
) -> int:
    """Yuan taken from this person's pay by deductions and fines approved within the month (those
    since set aside on appeal or rejected do not count); ``leave_out``: the entry being decided."""
    start, end = month.bounds(tz)
    query = select(func.coalesce(func.sum(Sanction.amount_yuan), 0)).where(
        Sanction.staff_id == staff_id,
        col(Sanction.kind).in_([str(k) for k in FROM_PAY]),
        col(Sanction.status).in_([str(s) for s in IN_FORCE]),
        col(Sanction.decided_at) >= start,
        col(Sanction.decided_at) < end,
    )
    if leave_out is not None:
        query = query.where(Sanction.id != leave_out)
    return int(session.exec(query).one() or 0)


def check_deduction_cap(
    session: Session, staff: Staff, amount: int, now: datetime, *, leave_out: int | None = None
) -> None:
    """Refuse (:class:`DeductionOverCap`) a deduction the month's cap cannot take: at proposal, so
    nobody proposes what cannot be approved, and again at approval, since others may have been approved
    meanwhile. The month is the calendar month of ``now`` at the person's branch."""
    assert staff.branch_id is not None and staff.id is not None
    branch = session.get(Branch, staff.branch_id)
    tz = branch.timezone if branch is not None else "Asia/Shanghai"
    cap = effective_policy(session, staff.branch_id).deduction_cap_yuan_per_month
    month = local_month(now, tz)
    taken = deducted_in_month(session, staff.id, month, tz, leave_out=leave_out)
    if taken + amount > cap:
        raise DeductionOverCap(cap=cap, taken=taken, asked=amount, month=str(month))


def _audit(
    session: Session, action: str, row: Sanction | Appeal, actor: int | None, now: datetime, **d: Any
) -> None:
    entity = "sanction" if isinstance(row, Sanction) else "appeal"
    append(session, action=action, entity=entity, entity_id=row.id, actor_staff_id=actor, details=d, now=now)


# ---------------------------------------------------------------------------------------------------
# Ledger steps (each commits with its audit entry)


def propose(
    session: Session,
    *,
    staff_id: int,
    kind: SanctionKind | str,
    reason: str,
    clauses: Sequence[str] = (),
    amount_yuan: int | None = None,
    evidence: dict[str, Any] | None = None,
    actor_staff_id: int | None,
    now: datetime | None = None,
    rule: str = "manual",
    month: str | None = None,
    evaluation_id: int | None = None,
    dedupe_key: str | None = None,
    commit: bool = True,
) -> Sanction:
    """A proposal by a supervisor (``rule`` manual) or by the monthly evaluation.

    A fine is refused while the branch's policy has fines off (:class:`FinesOff`), and a deduction or
    fine the month's cap cannot take is refused (:func:`check_deduction_cap`)."""
    now = now or utcnow()
    try:
        kind = SanctionKind(kind)
    except ValueError:
        raise ValidationFailed("kind", "choose a kind of reward or penalty from the list") from None
    staff = _staff(session, staff_id)
    if actor_staff_id is not None and actor_staff_id == staff_id:
        raise Forbidden("nobody proposes a reward or penalty for themselves")
    if kind is SanctionKind.fine and not effective_policy(session, staff.branch_id).fines_enabled:
        raise FinesOff()
    text = _text(reason, "reason", max_chars=REASON_MAX_CHARS, what="why you propose this")
    cited = _clauses(session, [*clauses, KIND_CLAUSE[kind]])
    amount = _amount(kind, amount_yuan)
    if kind in FROM_PAY and amount is not None:
        check_deduction_cap(session, staff, amount, now)
    row = Sanction(
        staff_id=staff_id,
        branch_id=staff.branch_id,  # type: ignore[arg-type]
        kind=kind,
        amount_yuan=amount,
        clauses=cited,
        evidence=evidence or {},
        reason=text,
        rule=rule,
        month=month,
        evaluation_id=evaluation_id,
        dedupe_key=dedupe_key,
        requires_report=kind in NEEDS_REPORT,
        proposed_by=actor_staff_id,
        proposed_at=now,
    )
    session.add(row)
    session.flush()
    _audit(session, "sanction.propose", row, actor_staff_id, now, staff=staff_id, kind=str(kind), rule=rule)
    if commit:
        session.commit()
    return row


def decide(
    session: Session,
    sanction_id: int,
    *,
    approve: bool,
    reason: str,
    actor_staff_id: int,
    now: datetime | None = None,
) -> Sanction:
    now = now or utcnow()
    row = _sanction(session, sanction_id)
    if row.staff_id == actor_staff_id:
        raise Forbidden("nobody decides a reward or penalty about themselves")
    if row.proposed_by is not None and row.proposed_by == actor_staff_id:
        raise Forbidden("another supervisor or an administrator decides a proposal you made")
    if row.status != SanctionStatus.proposed:
        raise LedgerStepRefused(f"this entry was already decided ({row.status})")
    text = _text(reason, "reason", max_chars=REASON_MAX_CHARS, what="the reason for your decision")
    if approve and SanctionKind(row.kind) in FROM_PAY and row.amount_yuan:
        if row.kind == SanctionKind.fine and not effective_policy(session, row.branch_id).fines_enabled:
            raise FinesOff()
        check_deduction_cap(session, _staff(session, row.staff_id), row.amount_yuan, now, leave_out=row.id)
    row.decision_reason = text
    row.status = SanctionStatus.approved if approve else SanctionStatus.rejected
    row.decided_by, row.decided_at = actor_staff_id, now
    if not approve:
        row.closed_at = now
    session.add(row)
    session.flush()
    _audit(session, "sanction.approve" if approve else "sanction.reject", row, actor_staff_id, now)
    session.commit()
    return row


def _own_penalty(session: Session, sanction_id: int, staff_id: int) -> Sanction:
    row = _sanction(session, sanction_id)
    if row.staff_id != staff_id:
        raise Forbidden("this entry is about someone else")
    return row


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


def acknowledge(
    session: Session, sanction_id: int, *, staff_id: int, now: datetime | None = None
) -> Sanction:
    """The staff member confirms they have read an approved penalty (not that they agree: they may
    still appeal). Without a report due, the entry closes."""
    now = now or utcnow()
    row = _own_penalty(session, sanction_id, staff_id)
    if row.is_reward or row.status != SanctionStatus.approved:
        raise LedgerStepRefused("only an approved penalty waits for your acknowledgement")
    row.acknowledged_at = now
    row.told_at = row.told_at or now
    if row.requires_report:
        row.status = SanctionStatus.acknowledged
    else:
        row.status, row.closed_at = SanctionStatus.closed, now
    session.add(row)
    session.flush()
    _audit(session, "sanction.acknowledge", row, staff_id, now)
    session.commit()
    return row


def file_report(
    session: Session, sanction_id: int, *, staff_id: int, report: str, now: datetime | None = None
) -> Sanction:
    """The written self-review and rectification report an economic penalty requires; filing it
    closes the entry."""
    now = now or utcnow()
    row = _own_penalty(session, sanction_id, staff_id)
    if not row.requires_report or row.status != SanctionStatus.acknowledged:
        raise LedgerStepRefused("a rectification report is due only on an acknowledged economic penalty")
    text = clean_text(report or "", max_chars=REPORT_MAX_CHARS)
    if len(text) < 20:
        raise ValidationFailed(
            "report", "describe what went wrong and what you will change (at least 20 characters)"
        )
    row.report, row.reported_at = text, now
    row.status, row.closed_at = SanctionStatus.closed, now
    session.add(row)
    session.flush()
    _audit(session, "sanction.report", row, staff_id, now)
    session.commit()
    return row


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


# ---------------------------------------------------------------------------------------------------
# The monthly evaluation


@dataclass(frozen=True)
class EvaluationResult:
    evaluation_id: int
    branch_id: int
    month: str
    proposed: tuple[int, ...]  # new sanction ids
    existing: int  # proposals the rules would make that an earlier run already made


def _substantiated(
    session: Session, branch_id: int, start: datetime, end: datetime
) -> dict[int, list[Complaint]]:
    """Complaints about a named staff member, resolved (not rejected) within the period, that were
    found substantiated, or partly, about that staff member (models/case_flow.py ``weighs_on_person``).

    The finding is the complaint's own, or that of the 差评 case it joined (models/complaint.py
    ``finding_of``). A complaint found unfounded or unverifiable, or about the service, the process,
    the policy or the facilities, never weighs on the person at the counter; nor does one resolved
    without a finding (only rows from before findings existed: resolving now needs one)."""
    from models.case_flow import weighs_on_person
    from models.cases import RatingCase

    rows = session.exec(
        select(Complaint).where(
            Complaint.branch_id == branch_id,
            col(Complaint.staff_id).is_not(None),
            col(Complaint.status).in_([ComplaintStatus.resolved, ComplaintStatus.closed]),
            col(Complaint.resolved_at) >= start,
            col(Complaint.resolved_at) < end,
        )
    ).all()
    ids = [c.id for c in rows]
    cases = {
        complaint_id: (finding, about)
        for complaint_id, finding, about in session.exec(
            select(RatingCase.complaint_id, RatingCase.finding, RatingCase.about).where(
                col(RatingCase.complaint_id).in_(ids)
            )
        ).all()
    }
    out: dict[int, list[Complaint]] = {}
    for c in rows:
        finding, about = (c.finding, c.about) if c.finding and c.about else cases.get(c.id, (None, None))
        if weighs_on_person(finding, about):
            out.setdefault(c.staff_id, []).append(c)  # type: ignore[arg-type]
    return out


def _violations(
    session: Session, branch_id: int, start: datetime, end: datetime
) -> dict[int, list[tuple[int, str]]]:
    """Inspection findings of a violation in the period, per staff member: (inspection id, clause)."""
    from models.inspection import FindingResult, Inspection, InspectionFinding

    rows = session.exec(
        select(Inspection.staff_id, Inspection.id, InspectionFinding.clause_code)
        .join(InspectionFinding, col(InspectionFinding.inspection_id) == col(Inspection.id))
        .where(
            Inspection.branch_id == branch_id,
            col(Inspection.at) >= start,
            col(Inspection.at) < end,
            InspectionFinding.result == FindingResult.violation,
        )
    ).all()
    out: dict[int, list[tuple[int, str]]] = {}
    for staff_id, inspection_id, clause in rows:
        out.setdefault(int(staff_id), []).append((int(inspection_id or 0), str(clause)))
    return out


def _prior_penalties(session: Session, staff_id: int, since: datetime) -> list[Sanction]:
    return list(
        session.exec(
            select(Sanction).where(
                Sanction.staff_id == staff_id,
                col(Sanction.kind).in_([str(k) for k in PENALTIES]),
                col(Sanction.status).in_([str(s) for s in IN_FORCE]),
                col(Sanction.decided_at) >= since,
            )
        ).all()
    )


def next_penalty(prior: int, policy: PolicyValues) -> SanctionKind:
    """The escalation ladder of conduct code §4.2: a first violation earns a warning, the next ones an
    economic penalty, and a dismissal recommendation once ``dismissal_after_penalties`` penalties
    stand in the look-back window."""
    if prior >= policy.dismissal_after_penalties:
        return SanctionKind.dismissal
    if prior == 0:
        return SanctionKind.warning
    return SanctionKind.deduction


def _figures(score: Any) -> dict[str, Any]:
    return {
        "count": score.n,
        "mean": round(score.mean, 3) if score.mean is not None else None,
        "score": round(score.score, 3) if score.score is not None else None,
        "low": round(score.low, 3) if score.low is not None else None,
        "high": round(score.high, 3) if score.high is not None else None,
    }


# Fair scores this close count as equal: the mean of identical scores may differ from them in the
# last bit, and a branch whose people all score alike must reward nobody.
SAME_SCORE = 1e-9


@dataclass(frozen=True)
class RewardBar:
    """What a fair score must reach for a reward in one branch's month. The absolute basis is a fixed
    line that every person or nobody reaches depending on the site, so by default the line is the
    branch's own mean (policy ``reward_basis``, docs/OPERATIONS.md)."""

    basis: str  # "relative" or "absolute"
    branch_mean: float | None  # the mean of the ranked people's fair scores; None when nobody is ranked
    star: float  # the Service Star's fair score is at least this
    commendation: float  # so is every commended person's
    max_commendations: int | None  # None: as many as reach the line (the absolute basis)


def reward_bar(policy: PolicyValues, ranked: Sequence[float]) -> RewardBar:
    """The line from the policy and the month's ranked fair scores: relative, strictly above the
    branch mean by the policy's margin, with commendations capped at a share of the ranked people
    (rounded down); absolute, the policy's two minimum scores and no cap."""
    mean = fmean(ranked) if ranked else None
    if policy.reward_basis == "absolute":
        return RewardBar("absolute", mean, policy.service_star_min_score, policy.commendation_min_score, None)
    if mean is None:  # nobody ranked: nobody to compare, nobody rewarded
        return RewardBar("relative", None, math.inf, math.inf, 0)
    line = mean + policy.reward_min_above_mean + SAME_SCORE
    # The same tolerance keeps a share of 0.58 of 50 ranked people at 29, not 28.999… rounded down.
    cap = math.floor(policy.commendation_top_share * len(ranked) + SAME_SCORE)
    return RewardBar("relative", mean, line, line, cap)


def evaluate_month(
    session: Session,
    *,
    branch_id: int,
    month: Month,
    actor_staff_id: int | None,
    now: datetime | None = None,
) -> EvaluationResult:
    """Run the monthly rules for a finished month and store their proposals (each once)."""
    now = now or utcnow()
    branch = session.get(Branch, branch_id)
    if branch is None:
        raise ValidationFailed("branch", "no such branch")
    start, end = month.bounds(branch.timezone)
    if end > now:
        raise ValidationFailed("month", f"{month} has not ended yet; evaluate a finished month")
    # The rules as published before the month began, not as they are now: a change saved during the
    # month binds from the next month on (劳动合同法 §4).
    month_rules = rules_for_month(session, branch_id=branch_id, month_start=start)
    policy = month_rules.policy
    rules = {
        k: v
        for k, v in policy.model_dump().items()
        if k.startswith(
            ("service_star", "commendation", "reward_", "complaints_", "inspection_", "penalty_", "dismissal")
        )
        or k in (
            "escalation_lookback_months", "min_ratings_ranked", "score_prior_weight",
            "deduction_cap_yuan_per_month",
        )
    }  # fmt: skip
    ev = Evaluation(
        branch_id=branch_id, month=str(month), run_at=now, run_by=actor_staff_id, rules=rules,
        rule_versions=month_rules.versions,
    )  # fmt: skip
    session.add(ev)
    session.flush()
    assert ev.id is not None
    board = leaderboard(session, branch_id, month, policy=policy)
    complaints = _substantiated(session, branch_id, start, end)
    violations = _violations(session, branch_id, start, end)
    created: list[int] = []
    existing = 0

    def make(staff_id: int, rule: str, kind: SanctionKind, **kw: Any) -> None:
        nonlocal existing
        key = f"{month}:{rule}:{kind}:{staff_id}"
        if session.exec(select(Sanction.id).where(Sanction.dedupe_key == key)).first() is not None:
            existing += 1
            return
        row = propose(
            session, staff_id=staff_id, kind=kind, actor_staff_id=None, now=now, rule=rule, month=str(month),
            evaluation_id=ev.id, dedupe_key=key, commit=False, **kw,
        )  # fmt: skip
        assert row.id is not None
        created.append(row.id)

    # Rewards: only ranked people with a clean month (no substantiated complaint, no violation), and
    # only above the line of the policy's basis (relative to the branch by default).
    bar = reward_bar(policy, [s.score.score for s in board.ranked if s.score.score is not None])
    mean_zh = mean_en = ""
    if bar.basis == "relative" and bar.branch_mean is not None:
        mean_zh = f"，高于本支行参与排名员工的平均公平得分 {bar.branch_mean:.2f}"
        mean_en = f", above the branch mean of {bar.branch_mean:.2f}"

    def evidence(s: Standing) -> dict[str, Any]:
        mean = round(bar.branch_mean, 3) if bar.branch_mean is not None else None
        return {"ratings": _figures(s.score), "rank": s.rank, "basis": bar.basis, "branch_mean": mean}

    clean = [s for s in board.ranked if s.staff_id not in complaints and s.staff_id not in violations]
    top = clean[0] if clean else None
    # Only a star actually proposed leaves the commendations: with the title off, the best may be commended.
    star = top if policy.service_star_enabled and top and (top.score.score or 0) >= bar.star else None
    if star:
        reason = (
            f"{month} 服务之星：在 {len(board.ranked)} 名参与排名的员工中公平得分最高{mean_zh}。\n"
            f"Service Star {month}: best fair score of the {len(board.ranked)} ranked staff{mean_en}."
        )
        figures = evidence(star)
        make(star.staff_id, "service_star", SanctionKind.honorary_title, reason=reason, evidence=figures)
        if policy.service_star_bonus_yuan:
            make(
                star.staff_id, "service_star", SanctionKind.bonus, reason=reason, evidence=figures,
                amount_yuan=policy.service_star_bonus_yuan,
            )  # fmt: skip
    commended = 0
    for s in clean:
        if s is star or (s.score.score or 0) < bar.commendation:
            continue
        if bar.max_commendations is not None and commended >= bar.max_commendations:
            break
        commended += 1
        make(
            s.staff_id, "commendation", SanctionKind.commendation,
            reason=f"{month} 公平得分 {s.score.score:.2f}{mean_zh}，无有效投诉和违规。\n"
            f"Fair score {s.score.score:.2f} in {month}{mean_en}, with a clean record.",
            evidence=evidence(s),
        )  # fmt: skip

    # Penalties: enough substantiated complaints, or an inspection violation, escalate on the ladder.
    lookback = now - timedelta(days=31 * policy.escalation_lookback_months)
    for staff_id in sorted(set(complaints) | set(violations)):
        mine = complaints.get(staff_id, [])
        found = violations.get(staff_id, []) if policy.inspection_violation_penalty else []
        if len(mine) < policy.complaints_for_penalty and not found:
            continue
        prior = _prior_penalties(session, staff_id, lookback)
        kind = next_penalty(len(prior), policy)
        amount = policy.penalty_deduction_yuan if kind in MONEY else None
        if amount is not None:
            # What the month's cap still takes (工资支付暂行规定 §16): less, or a criticism when none is left.
            left = policy.deduction_cap_yuan_per_month - deducted_in_month(
                session, staff_id, local_month(now, branch.timezone), branch.timezone
            )
            amount = min(amount, max(left, 0)) or None
            if amount is None:
                kind = SanctionKind.criticism
        zh, en = [], []
        if len(mine) >= policy.complaints_for_penalty:
            zh.append(f"有效投诉 {len(mine)} 件")
            en.append(f"{len(mine)} substantiated complaints")
        if found:
            checks = len({i for i, _ in found})
            zh.append(f"检查发现违规 {checks} 次")
            en.append(f"{checks} inspection(s) with a violation")
        make(
            staff_id, "conduct", kind,
            reason=f"{month}：" + "，".join(zh) + f"；此前有效处罚 {len(prior)} 项。\n"
            f"{month}: " + ", ".join(en) + f"; {len(prior)} earlier penalties in force.",
            clauses=[c.category for c in mine] + [clause for _, clause in found],
            evidence={
                "complaints": sorted(c.id for c in mine if c.id is not None),
                "inspections": sorted({i for i, _ in found}),
                "prior_penalties": sorted(p.id for p in prior if p.id is not None),
            },
            amount_yuan=amount,
        )  # fmt: skip
    ev.proposed = len(created)
    session.add(ev)
    session.flush()
    append(
        session, action="evaluation.run", entity="evaluation", entity_id=ev.id, actor_staff_id=actor_staff_id,
        details={
            "branch": branch_id, "month": str(month), "proposed": len(created), "existing": existing,
            "rule_versions": month_rules.versions,
        },
        now=now,
    )  # fmt: skip
    session.commit()
    return EvaluationResult(ev.id, branch_id, str(month), tuple(created), existing)


def current_service_star(
    session: Session, branch_id: int, now: datetime | None = None
) -> tuple[Staff, str] | None:
    """The Service Star of the latest month that has an approved one (within the last two months),
    if that person has agreed to be named in public (``Staff.public_name_consent_at``, withdrawable
    at any time: 个人信息保护法 §25). Without their consent nobody is named; an earlier star is not
    put in their place."""
    now = now or utcnow()
    branch = session.get(Branch, branch_id)
    if branch is None:
        return None
    from models.scores import local_month

    this = local_month(now, branch.timezone)
    months = [str(this), str(this.previous()), str(this.previous().previous())]
    row = session.exec(
        select(Sanction)
        .where(
            Sanction.branch_id == branch_id,
            Sanction.rule == "service_star",
            Sanction.kind == SanctionKind.honorary_title,
            col(Sanction.status).in_([SanctionStatus.approved, SanctionStatus.closed]),
            col(Sanction.month).in_(months),
        )
        .order_by(col(Sanction.month).desc())
    ).first()
    if row is None:
        return None
    staff = session.get(Staff, row.staff_id)
    if staff is None or not staff.active or staff.public_name_consent_at is None:
        return None
    return staff, row.month or ""


def set_public_name_consent(
    session: Session, *, staff_id: int, consent: bool, now: datetime | None = None
) -> Staff:
    """Give or withdraw one's consent to be named in public (the Service Star on the tablets). Only a
    change is written, with an audit entry (``staff.public_name_consent``); asking for the state one
    is already in writes nothing."""
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise StaffNotFound("no staff member with this id")
    if (staff.public_name_consent_at is not None) == consent:
        return staff
    now = now or utcnow()
    staff.public_name_consent_at = now if consent else None
    session.add(staff)
    append(
        session, action="staff.public_name_consent", entity="staff", entity_id=staff_id,
        actor_staff_id=staff_id, details={"consent": consent}, now=now,
    )  # fmt: skip
    session.commit()
    return staff


def sanctions_of(session: Session, *, staff_id: int) -> list[Sanction]:
    return list(
        session.exec(
            select(Sanction).where(Sanction.staff_id == staff_id).order_by(col(Sanction.proposed_at).desc())
        ).all()
    )


def ledger(
    session: Session,
    *,
    branch_id: int | None,
    status: Sequence[str] | None = None,
    month: str | None = None,
    limit: int = 200,
) -> list[Sanction]:
    stmt = select(Sanction)
    if branch_id is not None:
        stmt = stmt.where(Sanction.branch_id == branch_id)
    if status:
        stmt = stmt.where(col(Sanction.status).in_(list(status)))
    if month:
        stmt = stmt.where(Sanction.month == month)
    return list(
        session.exec(
            stmt.order_by(col(Sanction.proposed_at).desc(), col(Sanction.id).desc()).limit(limit)
        ).all()
    )


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


__all__ = [
    "Appeal",
    "AppealStatus",
    "AppealTarget",
    "Evaluation",
    "EvaluationResult",
    "LedgerStepRefused",
    "Role",
    "Sanction",
    "SanctionKind",
    "SanctionStatus",
]


def evaluate_finished_months(
    session: Session, *, now: datetime | None = None, catch_up: int = 12
) -> list[EvaluationResult]:
    """The scheduled run: every finished local month of a branch after its latest evaluation gets one
    (by nobody: ``run_by`` is empty), oldest first, at most ``catch_up`` months back; a branch never
    evaluated starts with last month. Run it as often as you like: on the 1st it does the work once,
    and after downtime it catches up every month that was missed."""
    from models.scores import Month, local_month

    now = now or utcnow()
    results = []
    for branch in session.exec(select(Branch).order_by(col(Branch.id))).all():
        assert branch.id is not None
        target = local_month(now, branch.timezone).previous()
        latest = session.exec(
            select(func.max(Evaluation.month)).where(Evaluation.branch_id == branch.id)
        ).one()
        month = Month.parse(latest).next() if latest else target
        months: list[Month] = []
        while (month.year, month.month) <= (target.year, target.month):
            months.append(month)
            month = month.next()
        for m in months[-catch_up:]:
            results.append(
                evaluate_month(session, branch_id=branch.id, month=m, actor_staff_id=None, now=now)
            )
    return results
