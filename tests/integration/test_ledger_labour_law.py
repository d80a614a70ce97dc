"""The ledger within labour law (docs/RULES-CITED.md §4): a month's deductions from one person's pay
are capped (工资支付暂行规定 §16), checked when proposed and again when approved; employer fines are
refused unless an administrator turned them on; the monthly evaluation proposes no more than the cap
leaves. Times are pinned: November 2026 in Shanghai."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from models.audit import AuditEvent
from models.complaint import ComplaintCreate, ComplaintStatus, file_complaint, transition
from models.org import Role, Staff
from models.policy import set_policy
from models.rating import Channel
from models.sanction import (
    DeductionOverCap,
    FinesOff,
    Sanction,
    SanctionKind,
    SanctionStatus,
    decide,
    deducted_in_month,
    evaluate_month,
    propose,
)
from models.scores import Month

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # Friday 10:00 in Shanghai
NOVEMBER = Month(2026, 11)


def people(db) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with db.write() as s:
        if s.exec(select(Staff).where(Staff.employee_no == "A1")).first() is None:
            s.add(Staff(employee_no="A1", display_name="管理员", role=Role.admin))
            s.commit()
        return {p.employee_no: p.id for p in s.exec(select(Staff)).all()}  # type: ignore[misc]


def deduct(db, who: dict[str, int], amount: int, *, at: datetime = NOW, approve: bool = True) -> int:  # type: ignore[no-untyped-def]
    with db.write() as s:
        row = propose(
            s, staff_id=who["E2"], kind="deduction", amount_yuan=amount, clauses=["2.3.1"],
            reason="同一问题第二次被投诉。", actor_staff_id=who["S1"], now=at,
        )  # fmt: skip
        assert row.id is not None
        if approve:
            decide(s, row.id, approve=True, reason="情节属实。", actor_staff_id=who["A1"], now=at)
        return row.id


def stored(db) -> list[tuple[str, int | None, str]]:  # type: ignore[no-untyped-def]
    with db.read() as s:
        rows = s.exec(select(Sanction).order_by(Sanction.id)).all()  # type: ignore[arg-type]
        return [(str(r.kind), r.amount_yuan, str(r.status)) for r in rows]


def test_a_deduction_over_the_months_cap_is_refused_at_proposal_naming_the_cap(db, world):
    who = people(db)
    deduct(db, who, 200)
    with pytest.raises(DeductionOverCap, match="over the cap of 300 yuan a month") as refused:
        deduct(db, who, 150)
    assert (refused.value.field, refused.value.cap, refused.value.taken, refused.value.asked) == (
        "amount_yuan", 300, 200, 150,
    )  # fmt: skip
    assert "工资支付暂行规定 §16" in str(refused.value) and "100 yuan left" in str(refused.value)
    assert stored(db) == [("deduction", 200, "approved")]  # nothing written for the refused one
    deduct(db, who, 100)  # exactly up to the cap is allowed
    with db.read() as s:
        assert deducted_in_month(s, who["E2"], NOVEMBER, "Asia/Shanghai") == 300


def test_the_cap_is_checked_again_at_approval_counting_what_was_approved_meanwhile(db, world):
    who = people(db)
    first = deduct(db, who, 200, approve=False)
    second = deduct(db, who, 200, approve=False)  # each fits alone: both may be proposed
    with db.write() as s:
        decide(s, first, approve=True, reason="经核实属实。", actor_staff_id=who["A1"], now=NOW)
    with db.write() as s, pytest.raises(DeductionOverCap) as refused:
        decide(s, second, approve=True, reason="经核实属实。", actor_staff_id=who["A1"], now=NOW)
    assert (refused.value.taken, refused.value.asked) == (200, 200)
    with db.write() as s:  # still waiting for a decision; rejecting it is always possible
        row = s.get(Sanction, second)
        assert row is not None and (row.status, row.decision_reason) == (SanctionStatus.proposed, None)
        decide(s, second, approve=False, reason="超出当月扣款上限。", actor_staff_id=who["A1"], now=NOW)
        approvals = s.exec(select(AuditEvent).where(AuditEvent.action == "sanction.approve")).all()
    assert len(approvals) == 1


def test_the_cap_counts_the_calendar_month_only_and_a_rejected_deduction_not_at_all(db, world):
    who = people(db)
    october = datetime(2026, 10, 31, 15, 30, tzinfo=UTC)  # 23:30 on 31 October in Shanghai
    deduct(db, who, 300, at=october)
    deduct(db, who, 300, approve=False)
    with db.write() as s:
        [waiting] = [r for r in s.exec(select(Sanction)).all() if r.status == SanctionStatus.proposed]
        decide(s, waiting.id, approve=False, reason="不予批准。", actor_staff_id=who["A1"], now=NOW)  # type: ignore[arg-type]
    deduct(db, who, 300)  # November: October's and the rejected one do not count
    with db.read() as s:
        assert deducted_in_month(s, who["E2"], NOVEMBER, "Asia/Shanghai") == 300
        assert deducted_in_month(s, who["E2"], Month(2026, 10), "Asia/Shanghai") == 300


def test_a_fine_is_refused_until_an_administrator_turns_fines_on(db, world):
    who = people(db)
    with db.write() as s, pytest.raises(FinesOff, match="企业职工奖惩条例") as refused:
        propose(
            s, staff_id=who["E2"], kind="fine", amount_yuan=100, clauses=["2.1.2"], reason="违规收费。",
            actor_staff_id=who["S1"], now=NOW,
        )  # fmt: skip
    assert refused.value.field == "kind" and stored(db) == []
    with db.write() as s:
        set_policy(s, values={"fines_enabled": True}, branch_id=world.branch_id, actor_staff_id=who["A1"])
        fine = propose(
            s, staff_id=who["E2"], kind="fine", amount_yuan=100, clauses=["2.1.2"], reason="违规收费。",
            actor_staff_id=who["S1"], now=NOW,
        )  # fmt: skip
        assert fine.id is not None
        fine_id = fine.id
        # Turned off again before the decision: it cannot be approved either.
        set_policy(s, values={"fines_enabled": False}, branch_id=world.branch_id, actor_staff_id=who["A1"])
    with db.write() as s, pytest.raises(FinesOff):
        decide(s, fine_id, approve=True, reason="经核实属实。", actor_staff_id=who["A1"], now=NOW)
    assert stored(db) == [("fine", 100, "proposed")]


def _complaints_in(db, who: dict[str, int], month: Month) -> None:  # type: ignore[no-untyped-def]
    start, _ = month.bounds("Asia/Shanghai")
    with db.write() as s:
        staff = s.get(Staff, who["E2"])
        assert staff is not None and staff.branch_id is not None
        for n in range(2):
            filed = start + timedelta(days=9, hours=2 + n)
            data = ComplaintCreate(category="2.2.2", description="态度很差，不耐烦。")
            c, _code, _ = file_complaint(
                s, idempotency_key=f"cap-{month}-{n}", data=data, channel=Channel.kiosk,
                branch_id=staff.branch_id, staff_id=who["E2"], now=filed,
            )  # fmt: skip
            assert c.id is not None
            for h, to in enumerate((ComplaintStatus.acknowledged, ComplaintStatus.investigating), start=1):
                transition(
                    s, complaint_id=c.id, to=to, actor_staff_id=who["S1"], now=filed + timedelta(hours=h)
                )
            transition(
                s, complaint_id=c.id, to=ComplaintStatus.resolved, actor_staff_id=who["S1"],
                root_cause="服务态度问题", finding="substantiated", about="staff",
                now=filed + timedelta(hours=3),
            )  # fmt: skip


@pytest.mark.parametrize(
    ("taken", "proposed"), [(0, ("deduction", 200)), (150, ("deduction", 150)), (300, ("criticism", None))]
)
def test_the_evaluation_proposes_no_more_than_the_cap_leaves(db, world, taken, proposed):
    """李娜 has a warning in force and two substantiated complaints in November: the ladder says a
    deduction of 200 yuan, which the evaluation run on 1 December lowers to what December's cap leaves
    (a criticism when nothing is left)."""
    who = people(db)
    run_at = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    with db.write() as s:
        warning = propose(
            s, staff_id=who["E2"], kind="warning", clauses=["2.2.2"], reason="首次被有效投诉。",
            actor_staff_id=who["S1"], now=NOW,
        )  # fmt: skip
        decide(s, warning.id, approve=True, reason="经核实属实。", actor_staff_id=who["A1"], now=NOW)  # type: ignore[arg-type]
    if taken:
        deduct(db, who, taken, at=run_at - timedelta(minutes=30))  # 09:30 on 1 December: December's
    _complaints_in(db, who, NOVEMBER)
    with db.write() as s:
        result = evaluate_month(
            s, branch_id=world.branch_id, month=NOVEMBER, actor_staff_id=who["A1"], now=run_at
        )
        rows = [s.get(Sanction, i) for i in result.proposed]
    mine = [(str(r.kind), r.amount_yuan) for r in rows if r is not None and r.staff_id == who["E2"]]
    assert mine == [proposed]
    assert SanctionKind.fine not in {r.kind for r in rows if r is not None}


# -- appeals on a clock (公务员法 §95: requested within 30 days of being told, decided within 30) --------


def approved_warning(db, who: dict[str, int], at: datetime) -> int:  # type: ignore[no-untyped-def]
    with db.write() as s:
        row = propose(
            s, staff_id=who["E2"], kind="warning", clauses=["2.2.2"], reason="首次被有效投诉。",
            actor_staff_id=who["S1"], now=at,
        )  # fmt: skip
        assert row.id is not None
        decide(s, row.id, approve=True, reason="经核实属实。", actor_staff_id=who["A1"], now=at)
        return row.id


def test_the_appeal_window_counts_from_when_the_person_was_told_not_from_the_decision(db, world):
    from models.sanction import LedgerStepRefused, appeal_sanction, appeal_until, mark_told

    who = people(db)
    decided = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)
    first, second = approved_warning(db, who, decided), approved_warning(db, who, decided)
    told = datetime(2026, 10, 20, 2, 0, tzinfo=UTC)  # the page first showed them on 20 October
    with db.write() as s:
        assert mark_told(s, staff_id=who["E2"], now=told) == [first, second]
        assert mark_told(s, staff_id=who["E2"], now=told + timedelta(days=1)) == []  # once only
        row = s.get(Sanction, first)
        assert row is not None and appeal_until(row, 30) == told + timedelta(days=30)
        # 5 November: 35 days after the decision, 16 after being told: still open.
        appeal = appeal_sanction(
            s, first, staff_id=who["E2"], statement="处罚依据不足。", now=told + timedelta(days=16)
        )
        assert appeal.decision_due_at == told + timedelta(days=16 + 30)
    with db.write() as s, pytest.raises(LedgerStepRefused, match="30 days after you were told"):
        appeal_sanction(
            s, second, staff_id=who["E2"], statement="处罚依据不足。", now=told + timedelta(days=31)
        )
    with db.read() as s:
        told_log = s.exec(select(AuditEvent).where(AuditEvent.action == "sanction.told")).all()
    assert [a.details for a in told_log] == [{"sanctions": [first, second]}]


def test_an_upheld_appeal_restores_the_same_penalty_and_never_a_heavier_one(db, world):
    from models.sanction import appeal_sanction, decide_appeal

    who = people(db)
    entry = deduct(db, who, 200)
    with db.write() as s:
        appeal = appeal_sanction(s, entry, staff_id=who["E2"], statement="金额过高。", now=NOW)
        assert appeal.id is not None
        decide_appeal(
            s, appeal.id, overturn=False, reason="证据充分，维持。", actor_staff_id=who["S1"], now=NOW
        )
        row = s.get(Sanction, entry)
        assert row is not None
        assert (row.kind, row.amount_yuan, row.status) == ("deduction", 200, SanctionStatus.approved)
