"""The monthly evaluation (conduct code §4): the rules run over a finished month propose rewards (the
Service Star, commendations, above the branch's bar) and penalties (substantiated complaints and
inspection violations, stepping up the escalation ladder), each once, with its evidence; and the
Service Star the tablets name, with the person's consent.

Separate from the ledger steps (:mod:`models.sanction.ledger_steps`) because it only *proposes*
through them: nothing here decides an entry. It imports the steps; they never import it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import fmean
from typing import Any

from sqlmodel import Session, col, func, select

from models.audit import append
from models.clock import utcnow
from models.complaint import Complaint, ComplaintStatus
from models.errors import StaffNotFound, ValidationFailed
from models.org import Branch, Staff
from models.policy import PolicyValues, rules_for_month
from models.sanction.ledger_steps import deducted_in_month, propose
from models.sanction.records import (
    IN_FORCE,
    MONEY,
    PENALTIES,
    Evaluation,
    Sanction,
    SanctionKind,
    SanctionStatus,
)
from models.scores import Month, Standing, leaderboard, local_month


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

    The finding is the complaint's own, or that of the 差评 case it joined (models/complaint/casework.py
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
