"""The ledger's own steps (conduct code §4): propose, decide, acknowledge and report, with the monthly
deduction cap and the fines switch that money taken from pay must pass, and the ledger's lists.

Separate from the appeals (:mod:`models.sanction.appeals`) and the monthly evaluation
(:mod:`models.sanction.evaluation`), which both build on these steps and helpers; this module imports
neither of them. Every step commits with its audit entry (ids only, never the text).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from models.audit import append
from models.catalog import ConductClause
from models.clock import utcnow
from models.errors import Forbidden, StaffNotFound, ValidationFailed
from models.org import Branch, Staff
from models.policy import effective_policy
from models.sanction.records import (
    FROM_PAY,
    IN_FORCE,
    KIND_CLAUSE,
    MONEY,
    NEEDS_REPORT,
    REASON_MAX_CHARS,
    REASON_MIN_CHARS,
    REPORT_MAX_CHARS,
    Appeal,
    LedgerStepRefused,
    Sanction,
    SanctionKind,
    SanctionNotFound,
    SanctionStatus,
)
from models.scores import Month, local_month
from models.text import clean_text

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
