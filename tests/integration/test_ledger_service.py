"""The ledger's service layer (admin/ledger.py) on a real database: the monthly evaluation of October
2026 at branch A (tests/ledger_world.py), the evidence each proposal shows, decisions that need a
written reason and are never about oneself, branch scope for supervisors, the leaderboard, and a
personal file that carries nothing about a customer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlmodel import SQLModel, func, select

import models.auth
import models.crypto
from admin import ledger
from models import auth, sanction
from models.audit import AuditEvent
from models.errors import Forbidden, ValidationFailed
from models.org import Staff
from models.policy import set_policy
from models.rating import Channel, Rating
from models.sanction import Appeal, Evaluation, Sanction, SanctionStatus
from rapport.core.context import AppContext
from tests.ledger_world import APPEALED_COMMENT, CONTACT, NOW, OCTOBER, PASSWORD, LedgerWorld, seed

# Rules saved by then are the ones an evaluation of October uses (published before it began).
BEFORE_OCTOBER = datetime(2026, 9, 30, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch):
    """Still argon2id, with the cost turned down: the tests sign several people in."""
    monkeypatch.setattr(
        models.crypto, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    models.auth._dummy_hash.cache_clear()
    yield
    models.auth._dummy_hash.cache_clear()


@pytest.fixture
def lw(db, world, ctx: AppContext) -> LedgerWorld:
    ctx.clock = lambda: NOW
    return seed(db, world)


def token(ctx: AppContext, login: str) -> str:
    with ctx.db.write() as s:
        return auth.authenticate(s, login=login, password=PASSWORD, client="192.0.2.10", now=NOW)[1]


def snapshot(db) -> dict[str, list[tuple]]:
    """Every row of every table but the sign-in bookkeeping."""
    with db.read() as s:
        return {
            t.name: sorted(repr(tuple(r)) for r in s.execute(t.select()).all())
            for t in SQLModel.metadata.sorted_tables
            if t.name not in ("login_session", "throttle")
        }


def proposals_of(view: ledger.LedgerView, employee_no: str) -> dict[str, ledger.Entry]:
    return {e.kind: e for e in view.proposals if e.employee_no == employee_no}


def refused(db, call: Callable[[], Any], error: type[Exception] = Forbidden) -> Exception:
    """The call raises ``error`` and the database is exactly as before."""
    before = snapshot(db)
    with pytest.raises(error) as caught:
        call()
    assert snapshot(db) == before
    return caught.value


# -- the evaluation and its evidence -------------------------------------------------------------------


def test_october_proposes_the_service_star_and_a_warning_with_the_evidence_behind_each(ctx, lw, db):
    boss = token(ctx, "boss.a")
    done = ledger.run_evaluation(ctx, boss, month=OCTOBER)
    assert (done.month, done.proposed, done.existing, done.branch.name_zh) == (OCTOBER, 3, 0, "甲支行")

    view = ledger.ledger_view(ctx, boss)
    star = proposals_of(view, "E1")
    assert set(star) == {"honorary_title", "bonus"} and star["bonus"].amount_yuan == 500
    title = star["honorary_title"]
    assert (title.rule, title.month, title.proposed_by, title.status) == (
        "service_star",
        OCTOBER,
        None,
        "proposed",
    )
    # Branch A in October: 25 fives and 22 fours; the fair score shrinks 王芳's 5.0 towards 213/47.
    score = (10 * 213 / 47 + 125) / (10 + 25)
    # Her own spread is nil; the interval borrows the branch's (squares 25·25 + 22·16 = 977) by the
    # same prior weight: (10·v_branch + 24·0) / 34.
    v_branch = (977 - 213**2 / 47) / 46
    half = 1.96 * (10 * v_branch / 34 / 35) ** 0.5
    assert title.evidence.figures == ledger.Figures(
        count=25,
        mean=5.0,
        score=round(score, 3),
        low=round(score - half, 3),
        high=round(min(5.0, score + half), 3),
        rank=1,
    )
    assert [c.code for c in title.clauses] == ["4.1.1"] and title.clauses[0].short_zh == "表彰荣誉"

    [warning] = proposals_of(view, "E2").values()
    assert (warning.kind, warning.rule, warning.amount_yuan) == ("warning", "conduct", None)
    assert [c.code for c in warning.clauses] == ["2.2.1", "2.2.2", "2.2.3", "4.2.1"]
    ev = warning.evidence
    assert ev.figures is None and ev.prior == ()
    assert [(c.id, c.category.code, c.category.short_en, c.status) for c in ev.complaints] == [
        (lw.complaints[0], "2.2.1", "Courtesy", "resolved"),
        (lw.complaints[1], "2.2.2", "Patience", "resolved"),
    ]
    assert all(c.resolved_at is not None and c.resolved_at.month == 10 for c in ev.complaints)
    [inspection] = ev.inspections
    # The compliant finding (2.2.1) is part of the inspection but not what was violated.
    assert inspection.id == lw.inspection and [c.code for c in inspection.violated] == ["2.2.3"]
    assert inspection.at.day == 15 and inspection.inspector == "郭主管"
    # A second run finds the same proposals already made and adds nothing.
    again = ledger.run_evaluation(ctx, boss, month=OCTOBER)
    assert (again.proposed, again.existing) == (0, 3)
    assert len(ledger.ledger_view(ctx, boss).proposals) == 3


def test_an_unfinished_or_malformed_month_is_refused_and_nothing_is_stored(ctx, lw, db):
    boss = token(ctx, "boss.a")
    err = refused(db, lambda: ledger.run_evaluation(ctx, boss, month="2026-11"), ValidationFailed)
    assert err.field == "month_not_ended"  # type: ignore[attr-defined]
    for bad in ("2026-13", "October", ""):
        err = refused(db, lambda bad=bad: ledger.run_evaluation(ctx, boss, month=bad), ValidationFailed)
        assert err.field == "month"  # type: ignore[attr-defined]
    root = token(ctx, "root")
    err = refused(db, lambda: ledger.run_evaluation(ctx, root, month=OCTOBER), ValidationFailed)
    assert err.field == "branch"  # type: ignore[attr-defined]
    with db.read() as s:
        assert s.exec(select(func.count()).select_from(Evaluation)).one() == 0


# -- decisions ---------------------------------------------------------------------------------------


def test_a_decision_needs_a_written_reason_and_is_audited(ctx, lw, db):
    boss = token(ctx, "boss.a")
    ledger.run_evaluation(ctx, boss, month=OCTOBER)
    title = proposals_of(ledger.ledger_view(ctx, boss), "E1")["honorary_title"]
    for reason in ("", "   ", "好"):
        err = refused(
            db,
            lambda reason=reason: ledger.decide_proposal(ctx, boss, title.id, approve=True, reason=reason),
            ValidationFailed,
        )
        assert err.field == "reason"  # type: ignore[attr-defined]

    ledger.decide_proposal(ctx, boss, title.id, approve=True, reason="十月评价全支行最高，无投诉")
    with db.read() as s:
        row = s.get(Sanction, title.id)
        assert row is not None
        assert (row.status, row.decision_reason, row.decided_by) == (
            SanctionStatus.approved,
            "十月评价全支行最高，无投诉",
            lw.staff["S1"],
        )
        actions = s.exec(
            select(AuditEvent.action).where(
                AuditEvent.entity == "sanction", AuditEvent.entity_id == str(title.id)
            )
        ).all()
    assert "sanction.approve" in actions
    [entry] = [e for e in ledger.ledger_view(ctx, boss, status="approved").entries if e.id == title.id]
    assert [(s.kind, s.actor) for s in entry.timeline] == [("proposed", None), ("approved", "郭主管")]
    # Decided once: a second decision is refused and changes nothing.
    refused(
        db,
        lambda: ledger.decide_proposal(ctx, boss, title.id, approve=False, reason="改变主意了"),
        ledger.sanction.LedgerStepRefused,
    )


def test_nobody_decides_their_own_proposal_or_a_case_about_themselves(ctx, lw, db):
    boss, root = token(ctx, "boss.a"), token(ctx, "root")
    mine = ledger.propose_by_hand(
        ctx, boss, staff_id=lw.staff["E2"], kind="criticism", reason="多次离岗未报备", clauses=["2.4.1"]
    )
    err = refused(db, lambda: ledger.decide_proposal(ctx, boss, mine, approve=True, reason="同意批评"))
    assert isinstance(err, ledger.DecisionRefused) and err.why == "own_proposal"
    about_boss = ledger.propose_by_hand(
        ctx, root, staff_id=lw.staff["S1"], kind="commendation", reason="检查工作认真细致", clauses=["3.2.1"]
    )
    err = refused(db, lambda: ledger.decide_proposal(ctx, boss, about_boss, approve=True, reason="谢谢表扬"))
    assert isinstance(err, ledger.DecisionRefused) and err.why == "about_self"
    ledger.decide_proposal(ctx, root, mine, approve=True, reason="情况属实，同意")
    with db.read() as s:
        row = s.get(Sanction, mine)
        assert row is not None and row.status == SanctionStatus.approved
        assert row.clauses == ["2.4.1", "4.2.1"]


def test_a_proposal_by_hand_is_validated_and_a_bad_one_stores_nothing(ctx, lw, db):
    boss = token(ctx, "boss.a")
    e2 = lw.staff["E2"]
    cases = [
        ({"kind": "deduction", "reason": "违规收费", "clauses": ["2.1.2"]}, "amount_yuan"),
        ({"kind": "fine", "reason": "违规收费", "clauses": ["2.1.2"], "amount_yuan": 100}, "kind"),
        (
            {"kind": "warning", "reason": "违规收取费用", "clauses": ["2.1.2"], "amount_yuan": 100},
            "amount_yuan",
        ),
        ({"kind": "bonus", "reason": "表现很好很好", "clauses": ["2.2.1"], "amount_yuan": 0}, "amount_yuan"),
        ({"kind": "medal", "reason": "表现很好", "clauses": ["2.2.1"]}, "kind"),
        ({"kind": "warning", "reason": "", "clauses": ["2.2.1"]}, "reason"),
        ({"kind": "warning", "reason": "态度差劲", "clauses": ["9.9.9"]}, "clauses"),
    ]
    for kwargs, field in cases:
        err = refused(
            db,
            lambda kwargs=kwargs: ledger.propose_by_hand(ctx, boss, staff_id=e2, **kwargs),
            ValidationFailed,
        )
        assert err.field == field, kwargs  # type: ignore[attr-defined]
    fine = ledger.propose_by_hand(
        ctx, boss, staff_id=e2, kind="deduction", reason="违规收费", clauses=["2.1.2"], amount_yuan=300
    )
    with db.read() as s:
        row = s.get(Sanction, fine)
        assert row is not None and (row.amount_yuan, row.requires_report, row.proposed_by) == (
            300,
            True,
            lw.staff["S1"],
        )


# -- scope -------------------------------------------------------------------------------------------


def test_a_supervisor_sees_and_decides_only_their_own_branch(ctx, lw, db):
    boss_a, boss_b, root = token(ctx, "boss.a"), token(ctx, "boss.b"), token(ctx, "root")
    ledger.run_evaluation(ctx, boss_a, month=OCTOBER)
    # E9 is all of branch B's ranking, so at its mean: relative to the branch nobody stands out there,
    # and the fixed lines (25 ratings of 5 clear 4.5) name them the Service Star.
    with db.write() as s:
        set_policy(s, values={"reward_basis": "absolute"}, branch_id=lw_branch_b(lw, db), now=BEFORE_OCTOBER)
    done_b = ledger.run_evaluation(ctx, boss_b, month=OCTOBER)
    assert done_b.branch.name_zh == "乙支行" and done_b.proposed == 2
    b_view = ledger.ledger_view(ctx, boss_b)
    theirs = [e for e in b_view.proposals if e.employee_no == "E9"]
    assert len(theirs) == 2 and {e.employee_no for e in b_view.proposals} == {"E9"}
    assert {p.employee_no for p in b_view.people} == {"E9"} and [b.name_zh for b in b_view.branches] == [
        "乙支行"
    ]

    a_view = ledger.ledger_view(ctx, boss_a)
    assert {e.employee_no for e in a_view.proposals + a_view.entries} == {"E1", "E2"}
    assert "E9" not in {p.employee_no for p in a_view.people} and "S1" not in {
        p.employee_no for p in a_view.people
    }
    assert [a.id for a in a_view.appeals] == [lw.appeal] and ledger.ledger_view(ctx, boss_b).appeals == ()

    other = theirs[0].id
    refused(db, lambda: ledger.decide_proposal(ctx, boss_a, other, approve=True, reason="看起来不错"))
    refused(db, lambda: ledger.decide_appeal(ctx, boss_b, lw.appeal, overturn=True, reason="同意撤销"))
    refused(db, lambda: ledger.run_evaluation(ctx, boss_a, month="2026-09", branch_id=lw_branch_b(lw, db)))
    refused(db, lambda: ledger.board(ctx, boss_a, month=OCTOBER, branch_id=lw_branch_b(lw, db)))
    refused(db, lambda: ledger.personal_file(ctx, boss_a, lw.staff["E9"]))
    refused(
        db,
        lambda: ledger.propose_by_hand(
            ctx, boss_a, staff_id=lw.staff["E9"], kind="warning", reason="迟到多次", clauses=["2.4.1"]
        ),
    )
    # An administrator sees both branches and may decide either.
    everything = ledger.ledger_view(ctx, root)
    assert {e.employee_no for e in everything.proposals} == {"E1", "E2", "E9"} and len(
        everything.branches
    ) == 2
    ledger.decide_proposal(ctx, root, other, approve=False, reason="奖金预算已用完")
    [rejected] = list(ledger.ledger_view(ctx, boss_b, status="rejected").entries)
    assert rejected.id == other and rejected.decision_reason == "奖金预算已用完"
    assert [(s.kind, s.actor) for s in rejected.timeline] == [("proposed", None), ("rejected", "系统管理员")]


def lw_branch_b(lw: LedgerWorld, db) -> int:
    with db.read() as s:
        person = s.get(Staff, lw.staff["E9"])
        assert person is not None and person.branch_id is not None
        return person.branch_id


def test_counter_staff_are_refused_every_ledger_service(ctx, lw, db):
    alice = token(ctx, "alice")
    calls: list[Callable[[], Any]] = [
        lambda: ledger.ledger_view(ctx, alice),
        lambda: ledger.run_evaluation(ctx, alice, month=OCTOBER),
        lambda: ledger.board(ctx, alice, month=OCTOBER),
        lambda: ledger.personal_file(ctx, alice, lw.staff["E1"]),
        lambda: ledger.decide_appeal(ctx, alice, lw.appeal, overturn=True, reason="我申诉我同意"),
        lambda: ledger.propose_by_hand(
            ctx, alice, staff_id=lw.staff["E2"], kind="warning", reason="同事迟到", clauses=["2.4.1"]
        ),
    ]
    for call in calls:
        refused(db, call)


# -- appeals -----------------------------------------------------------------------------------------


def test_an_appealed_rating_is_shown_without_the_customer_and_overturning_takes_it_out_of_the_score(
    ctx, lw, db
):
    boss = token(ctx, "boss.a")
    [appeal] = ledger.ledger_view(ctx, boss).appeals
    assert (appeal.staff_name, appeal.target, appeal.entry) == ("王芳", "rating", None)
    assert appeal.rating is not None
    assert (appeal.rating.score, appeal.rating.comment, appeal.rating.counter_zh) == (
        1,
        APPEALED_COMMENT,
        "1号窗口",
    )
    assert [c.code for c in appeal.rating.reasons] == ["2.2.1"]
    assert "p" * 64 not in repr(appeal)  # the phone's key stays in the database
    refused(
        db, lambda: ledger.decide_appeal(ctx, boss, lw.appeal, overturn=True, reason=""), ValidationFailed
    )

    ledger.decide_appeal(ctx, boss, lw.appeal, overturn=True, reason="监控显示该时段无客户在此窗口")
    with db.read() as s:
        rating = s.get(Rating, lw.appealed_rating)
        decided = s.get(Appeal, lw.appeal)
    assert rating is not None and (rating.overturned, rating.counted) == (True, False)
    assert decided is not None and decided.decided_by == lw.staff["S1"]
    assert ledger.ledger_view(ctx, boss).appeals == ()
    file = ledger.personal_file(ctx, boss, lw.staff["E1"], month="2026-11")
    assert [(a.id, a.status) for a in file.appeals] == [(lw.appeal, "overturned")]
    assert file.profile.current.n == 0  # the only November rating was set aside
    assert [(c.comment, c.overturned, c.counted) for c in file.comments] == [(APPEALED_COMMENT, True, False)]


# -- people --------------------------------------------------------------------------------------------


def test_the_leaderboard_ranks_only_people_with_enough_ratings(ctx, lw, db, world):
    with db.write() as s:
        newcomer = Staff(employee_no="E3", display_name="周杰", branch_id=world.branch_id)
        s.add(newcomer)
        s.commit()
        assert newcomer.id is not None
        for i in range(5):
            s.add(
                Rating(
                    idempotency_key=f"new-{i}",
                    request_hash="t",
                    staff_id=newcomer.id,
                    branch_id=world.branch_id,
                    channel=Channel.kiosk,
                    score=5,
                    created_at=NOW.replace(month=10, day=20, hour=i),
                )
            )
        s.commit()
    board = ledger.board(ctx, token(ctx, "boss.a"), month=OCTOBER)
    assert (board.branch.name_zh, board.month, board.min_ranked, board.branch_count) == (
        "甲支行",
        OCTOBER,
        20,
        52,
    )
    assert [(s.employee_no, s.rank, s.score.n) for s in board.ranked] == [("E1", 1, 25), ("E2", 2, 22)]
    assert [(s.employee_no, s.rank, s.score.n) for s in board.unranked] == [("E3", None, 5)]
    first = board.ranked[0].score
    assert (
        first.mean == 5.0 and first.score is not None and 4.0 < first.score < 5.0
    )  # shrunk towards the branch
    assert board.months[:2] == ("2026-11", "2026-10")


def test_the_personal_file_gathers_everything_about_a_person_and_nothing_about_customers(ctx, lw, db):
    boss = token(ctx, "boss.a")
    ledger.run_evaluation(ctx, boss, month=OCTOBER)
    file = ledger.personal_file(ctx, boss, lw.staff["E2"], month=OCTOBER)
    assert (file.name, file.employee_no, file.branch.name_zh, file.month) == ("李娜", "E2", "甲支行", OCTOBER)
    assert (file.profile.current.n, file.profile.current.mean, file.profile.rank) == (22, 4.0, 2)
    assert [m.month for m in file.profile.months] == [
        "2026-05",
        "2026-06",
        "2026-07",
        "2026-08",
        "2026-09",
        OCTOBER,
    ]
    assert file.profile.current.counts == (0, 0, 0, 22, 0)
    assert [c.id for c in file.complaints] == sorted(lw.complaints, reverse=True)
    assert [(i.id, [c.code for c in i.violated]) for i in file.inspections] == [(lw.inspection, ["2.2.3"])]
    assert file.inspections[0].findings[0].note == "长时间离岗"
    assert [e.kind for e in file.entries] == ["warning"] and file.entries[0].timeline[0].kind == "proposed"
    assert file.training == ()  # bob-the-new-hire has no induction yet
    text = repr(file)
    # Neither the customer's contact nor their own words (which may hold one) are in the file.
    assert CONTACT not in text and "办理业务时态度冷淡" not in text
    e1 = ledger.personal_file(ctx, boss, lw.staff["E1"], month="2026-11")
    assert [c.comment for c in e1.comments] == [APPEALED_COMMENT] and "p" * 64 not in repr(e1)
    assert [t.course for t in e1.training] == ["入职培训"]


def test_an_entry_history_names_who_did_each_step_with_the_reasons(ctx, lw, db):
    boss, root = token(ctx, "boss.a"), token(ctx, "root")
    e2 = lw.staff["E2"]
    fine = ledger.propose_by_hand(
        ctx,
        root,
        staff_id=e2,
        kind="deduction",
        reason="十月两次有效投诉",
        clauses=["2.2.1"],
        amount_yuan=200,
    )
    ledger.decide_proposal(ctx, boss, fine, approve=True, reason="投诉属实，按制度扣减")
    with db.write() as s:
        sanction.acknowledge(s, fine, staff_id=e2, now=NOW)
        sanction.file_report(
            s, fine, staff_id=e2, report="我已重新学习服务规范，今后主动问候并耐心解释。", now=NOW
        )
        sanction.appeal_sanction(s, fine, staff_id=e2, statement="其中一件投诉与我无关。", now=NOW)
    mine = [a for a in ledger.ledger_view(ctx, boss).appeals if a.target == "sanction"]
    assert [a.entry.id for a in mine if a.entry] == [fine]
    err = refused(
        db, lambda: ledger.decide_appeal(ctx, boss, mine[0].id, overturn=True, reason="确有一件无关")
    )
    assert isinstance(err, ledger.DecisionRefused) and err.why == "own_decision"
    ledger.decide_appeal(ctx, root, mine[0].id, overturn=False, reason="两件投诉均经核实")

    [entry] = [e for e in ledger.ledger_view(ctx, boss).entries if e.id == fine]
    assert entry.status == "closed" and entry.report is not None and entry.report.startswith("我已重新学习")
    steps = [(s.kind, s.actor, s.note) for s in entry.timeline]
    assert steps == [
        ("proposed", "系统管理员", None),
        ("approved", "郭主管", "投诉属实，按制度扣减"),
        ("acknowledged", "李娜", None),
        ("report", "李娜", None),
        ("closed", "李娜", None),
        ("appealed", "李娜", "其中一件投诉与我无关。"),
        ("upheld", "系统管理员", "两件投诉均经核实"),
    ]
