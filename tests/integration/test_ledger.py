"""The reward and penalty ledger with due process, on demo data (issue 5, point 2): the monthly
evaluation proposes, a supervisor approves one and rejects another, the staff member acknowledges,
files the rectification report and appeals; every step lands in the audit chain and
`rapport audit verify` passes (and catches an edit)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlmodel import select

from models.audit import AuditEvent
from models.clock import utcnow
from models.errors import Forbidden, ValidationFailed
from models.org import Branch, Staff
from models.policy import PolicyValues, set_policy
from models.rating import Channel, Rating
from models.sanction import (
    Appeal,
    AppealStatus,
    LedgerStepRefused,
    Sanction,
    SanctionKind,
    SanctionStatus,
    acknowledge,
    appeal_rating,
    appeal_sanction,
    decide,
    decide_appeal,
    evaluate_month,
    file_report,
    next_penalty,
    propose,
)
from models.scores import leaderboard, local_month
from rapport.core.db import Database
from rapport.core.migrate import upgrade
from rapport.usecases.demo import create_demo
from tests.conftest import clock_pinned

REPORT = "我在办理业务时解释不清，今后会先确认客户的材料再说明流程，并参加沟通培训。"


def rapport(*args: str, data_dir) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    return subprocess.run(
        [sys.executable, "-m", "rapport", *args],
        env={**env, "RAPPORT_DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module", autouse=True)
def pinned():  # type: ignore[no-untyped-def]
    """The module runs at one instant whatever the day, so the demo below is always the same."""
    with clock_pinned():
        yield


@pytest.fixture(scope="module")
def demo(tmp_path_factory, pinned):  # type: ignore[no-untyped-def]
    data_dir = tmp_path_factory.mktemp("ledger")
    db = Database.from_url(f"sqlite:///{data_dir / 'rapport.db'}")
    upgrade(db.engine)
    with db.write() as s:
        create_demo(s, days=45, evaluate=False)  # October covered from the 4th on
    yield db, data_dir
    db.engine.dispose()


def ids(s) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {p.employee_no: p.id for p in s.exec(select(Staff)).all()}


def test_the_monthly_evaluation_then_due_process_end_to_end(demo):
    db, data_dir = demo
    now = utcnow()
    with db.write() as s:
        people = ids(s)
        branch = s.exec(select(Branch).where(Branch.code == "BJ-RM")).one()
        assert branch.id is not None
        month = local_month(now, branch.timezone).previous()
        admin, boss, subject, inspected = people["A001"], people["S001"], people["E1003"], people["E1004"]

        # The demo's scores are random; a low bar makes sure the Service Star rule has someone to name.
        # Saved before the month began: a month's evaluation uses only the rules published by then.
        set_policy(
            s, values={"service_star_min_score": 1.0}, branch_id=branch.id, now=now - timedelta(days=62)
        )

        # 1. The evaluation proposes, and proposes each thing once however often it runs.
        first = evaluate_month(s, branch_id=branch.id, month=month, actor_staff_id=admin, now=now)
        again = evaluate_month(s, branch_id=branch.id, month=month, actor_staff_id=admin, now=now)
        assert first.proposed and again.proposed == () and again.existing == len(first.proposed)
        rows = {(r.staff_id, r.kind): r for r in s.exec(select(Sanction)).all()}
        assert all(r.status == SanctionStatus.proposed for r in rows.values())  # nothing applied by itself
        board = leaderboard(s, branch.id, month)
        # The star is the best ranked person with a clean month.
        star = next(p.staff_id for p in board.ranked if p.staff_id not in (subject, inspected))
        assert (star, SanctionKind.honorary_title) in rows and (star, SanctionKind.bonus) in rows
        assert rows[(star, SanctionKind.bonus)].amount_yuan == 500
        # Two substantiated complaints about E1003 and a breach found on inspection of E1004: a first
        # penalty each is a warning, citing the clauses behind it and carrying the evidence.
        warning = rows[(subject, SanctionKind.warning)]
        assert warning.clauses == ["2.2.2", "2.3.1", "4.2.1"]
        assert len(warning.evidence["complaints"]) == 2 and warning.evidence["inspections"] == []
        breach = rows[(inspected, SanctionKind.warning)]
        assert breach.clauses == ["2.2.1", "4.2.1"] and len(breach.evidence["inspections"]) == 1
        assert warning.evaluation_id == first.evaluation_id

        # 2. The supervisor decides: a reason is required, then one approval and one rejection.
        with pytest.raises(ValidationFailed) as err:
            decide(s, warning.id, approve=True, reason=" ", actor_staff_id=boss, now=now)  # type: ignore[arg-type]
        assert err.value.field == "reason"
        s.rollback()
        assert s.get(Sanction, warning.id).status == SanctionStatus.proposed
        decide(s, warning.id, approve=True, reason="两件投诉经核实属实。", actor_staff_id=boss, now=now)  # type: ignore[arg-type]
        bonus = rows[(star, SanctionKind.bonus)]
        decide(
            s,
            bonus.id,
            approve=False,
            reason="本季度奖金预算已用完，仅授予称号。",
            actor_staff_id=boss,
            now=now,
        )  # type: ignore[arg-type]
        assert s.get(Sanction, bonus.id).status == SanctionStatus.rejected
        with pytest.raises(LedgerStepRefused):
            decide(s, bonus.id, approve=True, reason="改为批准。", actor_staff_id=admin, now=now)  # type: ignore[arg-type]
        s.rollback()

        # An economic penalty proposed by hand: its proposer may not approve it; an admin does.
        fine = propose(
            s, staff_id=subject, kind="deduction", amount_yuan=200, clauses=["2.3.1"],
            reason="同一问题第二次被投诉。", actor_staff_id=boss, now=now,
        )  # fmt: skip
        assert fine.requires_report and fine.clauses == ["2.3.1", "4.2.2"]
        with pytest.raises(Forbidden):
            decide(s, fine.id, approve=True, reason="批准。", actor_staff_id=boss, now=now)  # type: ignore[arg-type]
        s.rollback()
        decide(s, fine.id, approve=True, reason="情节属实，按制度扣发绩效。", actor_staff_id=admin, now=now)  # type: ignore[arg-type]

        # 3. The staff member acknowledges; the warning closes, the deduction waits for a report.
        with pytest.raises(Forbidden):
            acknowledge(s, warning.id, staff_id=inspected, now=now)  # type: ignore[arg-type]
        s.rollback()
        assert acknowledge(s, warning.id, staff_id=subject, now=now).status == SanctionStatus.closed  # type: ignore[arg-type]
        assert acknowledge(s, fine.id, staff_id=subject, now=now).status == SanctionStatus.acknowledged  # type: ignore[arg-type]
        with pytest.raises(ValidationFailed) as err:
            file_report(s, fine.id, staff_id=subject, report="知道了", now=now)  # type: ignore[arg-type]
        assert err.value.field == "report"
        s.rollback()
        closed = file_report(s, fine.id, staff_id=subject, report=REPORT, now=now)  # type: ignore[arg-type]
        assert closed.status == SanctionStatus.closed and closed.report == REPORT

        # 4. ...and appeals the warning. Whoever approved it does not judge the appeal.
        appeal = appeal_sanction(
            s, warning.id, staff_id=subject, statement="第二件投诉的客户并非我接待。", now=now
        )  # type: ignore[arg-type]
        assert s.get(Sanction, warning.id).status == SanctionStatus.appealed
        with pytest.raises(LedgerStepRefused):
            appeal_sanction(s, warning.id, staff_id=subject, statement="再次申诉。", now=now)  # type: ignore[arg-type]
        s.rollback()
        with pytest.raises(Forbidden):
            decide_appeal(s, appeal.id, overturn=True, reason="同意。", actor_staff_id=boss, now=now)  # type: ignore[arg-type]
        s.rollback()
        decide_appeal(
            s, appeal.id, overturn=False, reason="调取录像，两次均为本人接待。", actor_staff_id=admin, now=now
        )  # type: ignore[arg-type]
        assert s.get(Sanction, warning.id).status == SanctionStatus.closed  # upheld: back where it was

        # A rating they believe mistaken: appealed and overturned, kept but no longer counted.
        mistaken = s.exec(
            select(Rating)
            .where(Rating.staff_id == subject, Rating.score <= 2, Rating.counted)
            .order_by(Rating.created_at.desc())  # type: ignore[attr-defined]
        ).first()
        assert mistaken is not None
        rating_appeal = appeal_rating(s, mistaken.id, staff_id=subject, statement="客户说按错了。", now=now)  # type: ignore[arg-type]
        decide_appeal(
            s, rating_appeal.id, overturn=True, reason="客户来电确认误触。", actor_staff_id=boss, now=now
        )  # type: ignore[arg-type]
        s.refresh(mistaken)
        assert mistaken.overturned and not mistaken.counted
        assert s.get(Appeal, rating_appeal.id).status == AppealStatus.overturned

        # 5. Every step is in the audit chain, by the right person.
        log = s.exec(
            select(AuditEvent).where(AuditEvent.entity.in_(["sanction", "appeal", "evaluation"]))
        ).all()  # type: ignore[attr-defined]
        steps = {(e.action, e.entity_id, e.actor_staff_id) for e in log}
        for expected in [
            ("evaluation.run", str(first.evaluation_id), admin),
            ("sanction.propose", str(warning.id), None),
            ("sanction.approve", str(warning.id), boss),
            ("sanction.reject", str(bonus.id), boss),
            ("sanction.propose", str(fine.id), boss),
            ("sanction.approve", str(fine.id), admin),
            ("sanction.acknowledge", str(warning.id), subject),
            ("sanction.acknowledge", str(fine.id), subject),
            ("sanction.report", str(fine.id), subject),
            ("appeal.file", str(appeal.id), subject),
            ("appeal.uphold", str(appeal.id), admin),
            ("appeal.file", str(rating_appeal.id), subject),
            ("appeal.overturn", str(rating_appeal.id), boss),
        ]:
            assert expected in steps, expected
        # The log holds ids, never the words people wrote.
        assert not any(REPORT[:8] in str(e.details) or "客户" in str(e.details) for e in log)
        report_entry = next(e.id for e in log if e.action == "sanction.report")

    verified = rapport("audit", "verify", data_dir=data_dir)
    assert verified.returncode == 0, verified.stderr
    assert "intact" in verified.stdout

    with db.write() as s:
        s.execute(
            text("UPDATE audit_event SET details = '{\"forged\": 1}' WHERE id = :id"), {"id": report_entry}
        )
        s.commit()
    broken = rapport("audit", "verify", data_dir=data_dir)
    assert broken.returncode == 1 and str(report_entry) in broken.stdout + broken.stderr


def test_repeated_violations_climb_the_ladder():
    policy = PolicyValues(dismissal_after_penalties=3)
    assert [next_penalty(n, policy) for n in range(5)] == [
        SanctionKind.warning,
        SanctionKind.deduction,
        SanctionKind.deduction,
        SanctionKind.dismissal,
        SanctionKind.dismissal,
    ]


def test_a_second_month_with_complaints_escalates_to_an_economic_penalty(db, world):
    """An approved warning in force makes the next month's proposal a deduction with a report due."""
    from models.complaint import ComplaintCreate, ComplaintStatus, file_complaint, transition
    from models.scores import Month

    with db.write() as s:
        people = ids(s)
        e1, boss = people["E1"], people["S1"]
        admin = Staff(employee_no="A1", display_name="管理员", role="admin")
        s.add(admin)
        s.commit()
        assert admin.id is not None
        for month, when in ((Month(2026, 9), "2026-09-10"), (Month(2026, 10), "2026-10-10")):
            start, _ = month.bounds("Asia/Shanghai")
            for n in range(2):
                filed = start + timedelta(days=9, hours=2 + n)
                data = ComplaintCreate(category="2.2.2", description="态度很差，不耐烦。")
                c, _code, _ = file_complaint(
                    s, idempotency_key=f"c-{when}-{n}", data=data, channel=Channel.kiosk,
                    branch_id=world.branch_id, staff_id=e1, now=filed,
                )  # fmt: skip
                assert c.id is not None
                for h, to in enumerate(
                    (ComplaintStatus.acknowledged, ComplaintStatus.investigating), start=1
                ):
                    transition(
                        s, complaint_id=c.id, to=to, actor_staff_id=boss, now=filed + timedelta(hours=h)
                    )
                transition(
                    s, complaint_id=c.id, to=ComplaintStatus.resolved, actor_staff_id=boss,
                    root_cause="服务态度问题", finding="substantiated", about="staff",
                    now=filed + timedelta(hours=3),
                )  # fmt: skip
            run_at = month.next().bounds("Asia/Shanghai")[0] + timedelta(days=1)
            result = evaluate_month(
                s, branch_id=world.branch_id, month=month, actor_staff_id=admin.id, now=run_at
            )
            (proposal_id,) = result.proposed
            row = s.get(Sanction, proposal_id)
            assert row is not None
            if month == Month(2026, 9):
                assert (
                    row.kind == SanctionKind.warning and row.amount_yuan is None and not row.requires_report
                )
                decide(s, proposal_id, approve=True, reason="经核实属实。", actor_staff_id=boss, now=run_at)
            else:
                assert row.kind == SanctionKind.deduction and row.amount_yuan == 200 and row.requires_report
                assert len(row.evidence["prior_penalties"]) == 1


@pytest.mark.parametrize(
    ("kind", "amount", "clauses", "field"),
    [
        ("warning", 100, [], "amount_yuan"),  # only money kinds carry an amount
        ("deduction", None, [], "amount_yuan"),
        ("deduction", 0, [], "amount_yuan"),
        ("fine", 100, [], "kind"),  # fines are off unless an administrator turns them on
        ("bonus", 2_000_000, [], "amount_yuan"),
        ("warning", None, ["9.9.9"], "clauses"),
        ("promotion", None, [], "kind"),
    ],
)
def test_a_bad_proposal_is_refused_by_name_and_stores_nothing(db, world, kind, amount, clauses, field):
    with db.write() as s:
        people = ids(s)
        with pytest.raises(ValidationFailed) as err:
            propose(
                s, staff_id=people["E1"], kind=kind, amount_yuan=amount, clauses=clauses,
                reason="理由写清楚了。", actor_staff_id=people["S1"],
            )  # fmt: skip
        assert err.value.field == field
        s.rollback()
        assert s.exec(select(Sanction)).all() == []
        assert s.exec(select(AuditEvent).where(AuditEvent.entity == "sanction")).all() == []


def test_people_act_only_on_their_own_entries_and_rewards_need_no_acknowledgement(db, world):
    with db.write() as s:
        people = ids(s)
        e1, e2, boss = people["E1"], people["E2"], people["S1"]
        with pytest.raises(Forbidden):
            propose(s, staff_id=boss, kind="commendation", reason="我自己很好。", actor_staff_id=boss)
        s.rollback()
        reward = propose(
            s, staff_id=e1, kind="commendation", reason="主动帮助老人办理。", actor_staff_id=None
        )
        with pytest.raises(Forbidden):
            decide(s, reward.id, approve=True, reason="表扬自己。", actor_staff_id=e1)  # type: ignore[arg-type]
        s.rollback()
        decide(s, reward.id, approve=True, reason="事迹属实。", actor_staff_id=boss)  # type: ignore[arg-type]
        with pytest.raises(LedgerStepRefused):
            acknowledge(s, reward.id, staff_id=e1)  # type: ignore[arg-type]
        s.rollback()
        with pytest.raises(LedgerStepRefused):
            appeal_sanction(s, reward.id, staff_id=e1, statement="不需要申诉。")  # type: ignore[arg-type]
        s.rollback()
        rating = Rating(
            idempotency_key="r1", request_hash="x", staff_id=e1, branch_id=world.branch_id,
            channel=Channel.kiosk, score=1,
        )  # fmt: skip
        s.add(rating)
        s.commit()
        from models.errors import NotFound

        with pytest.raises(NotFound):  # someone else's rating is as good as unknown
            appeal_rating(s, rating.id, staff_id=e2, statement="这不是我的评价。")
        s.rollback()
        assert s.exec(select(Appeal)).all() == []


def test_the_scheduled_run_evaluates_each_finished_month_once_and_catches_up(db, world):
    from datetime import UTC, datetime

    from models.sanction import Evaluation, evaluate_finished_months

    with db.write() as s:
        # 1 December 00:30 in Shanghai: November has just ended for both branches.
        first = evaluate_finished_months(s, now=datetime(2026, 11, 30, 16, 30, tzinfo=UTC))
        assert sorted((r.branch_id, r.month) for r in first) == [
            (world.branch_id, "2026-11"),
            (world.other_branch_id, "2026-11"),
        ]
        # Hourly runs the same month do nothing more.
        assert evaluate_finished_months(s, now=datetime(2026, 11, 30, 17, 30, tzinfo=UTC)) == []
        # Down from before New Year until February: December and January are caught up, once each.
        later = evaluate_finished_months(s, now=datetime(2027, 2, 3, 2, 0, tzinfo=UTC))
        assert sorted((r.branch_id, r.month) for r in later) == sorted(
            (b, m) for b in (world.branch_id, world.other_branch_id) for m in ("2026-12", "2027-01")
        )
        assert evaluate_finished_months(s, now=datetime(2027, 2, 3, 3, 0, tzinfo=UTC)) == []
        assert len(s.exec(select(Evaluation)).all()) == 6
