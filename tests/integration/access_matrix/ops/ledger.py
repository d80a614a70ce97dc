"""admin/ledger.py: the ledger, the leaderboard and the personal file."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from admin import ledger
from models.complaint import Complaint
from models.org import Staff
from models.rating import Rating
from models.sanction import (
    Appeal,
    AppealStatus,
    Sanction,
    SanctionKind,
    SanctionStatus,
    appeal_rating,
    propose,
)
from tests.integration.access_matrix.cells import SUPERVISION, Actor, Cell, Op, changed
from tests.integration.access_matrix.common import (
    _ids,
    _no_customer_data,
    _only_rows,
    on_branch,
    on_person,
    on_prepared,
    plain,
)
from tests.integration.access_matrix.world import NOW, OCTOBER, Env, _rating


def fresh_proposal(env: Env, _actor: Actor, target: str | None) -> int:
    with env.db.write() as s:
        row = propose(
            s,
            staff_id=env.person[target or ""],
            kind=SanctionKind.warning,
            reason="检查发现违规",
            clauses=["2.2.1"],
            actor_staff_id=None,
            now=NOW,
        )
        assert row.id is not None
        return row.id


def fresh_rating_appeal(env: Env, _actor: Actor, target: str | None) -> int:
    person = env.person[target or ""]
    with env.db.write() as s:
        rating = _rating(s, env, env.person_no[target or ""], target or "", score=1)
        appeal = appeal_rating(s, rating, staff_id=person, statement="这位顾客认错了人", now=NOW)
        assert appeal.id is not None
        return appeal.id


# the ledger, the leaderboard and the personal file: only the caller's branch (an admin's: all)


def _in_scope(c: Cell, model: Any, *where: Any) -> set[Any]:
    return _ids(c, model.id, col(model.branch_id).in_(c.scope), *where)


def check_ledger_view(c: Cell, v: ledger.LedgerView) -> None:
    assert {b.id for b in v.branches} == c.scope and v.me == c.caller, v.branches
    entries = _in_scope(c, Sanction)
    assert entries and {e.id for e in v.entries} == entries, v.entries
    proposed = _in_scope(c, Sanction, Sanction.status == SanctionStatus.proposed)
    assert proposed and {e.id for e in v.proposals} == proposed, v.proposals
    appeals = _in_scope(c, Appeal, Appeal.status == AppealStatus.open)
    assert appeals and {a.id for a in v.appeals} == appeals, v.appeals
    people = _ids(c, Staff.id, col(Staff.active), col(Staff.branch_id).in_(c.scope), Staff.id != c.caller)
    assert {p.id for p in v.people} == people, v.people
    staff_in_scope = _ids(c, Staff.id, col(Staff.branch_id).in_(c.scope))
    assert {a.staff_id for a in v.appeals} <= staff_in_scope
    _no_customer_data(c, v)


def check_run_evaluation(c: Cell, r: ledger.EvaluationSummary) -> None:
    assert (r.branch.id, r.month) == (c.bid, OCTOBER), r
    [run] = c.added("evaluation")
    assert (run["branch_id"], run["run_by"], run["month"]) == (c.bid, c.caller, OCTOBER), run
    made = c.added("sanction")
    assert {(s["branch_id"], s["month"]) for s in made} <= {(c.bid, OCTOBER)}, made
    assert not c.removed("sanction") and len(made) == r.proposed
    conduct = _ids(c, Sanction.staff_id, Sanction.month == OCTOBER, Sanction.rule == "conduct")
    assert c.env.person[c.t] in conduct, "the October violation was not proposed as a penalty"


def check_decide_proposal(c: Cell, _r: None) -> None:
    [row] = c.read(select(Sanction).where(Sanction.id == c.prepared))
    assert (row.status, row.decided_by, row.decided_at) == (SanctionStatus.approved, c.caller, NOW), row
    _only_rows(c, "sanction", "id", {c.prepared})
    assert changed(c.before, c.after) == {"sanction", "audit_event"}


def check_propose_by_hand(c: Cell, sanction_id: int) -> None:
    [row] = c.added("sanction")
    got = (row["id"], row["staff_id"], row["branch_id"], row["proposed_by"], row["status"])
    assert got == (sanction_id, c.env.person[c.t], c.bid, c.caller, SanctionStatus.proposed), got
    assert changed(c.before, c.after) == {"sanction", "audit_event"}


def check_decide_appeal(c: Cell, _r: None) -> None:
    [appeal] = c.read(select(Appeal).where(Appeal.id == c.prepared))
    assert (appeal.status, appeal.decided_by, appeal.branch_id) == (AppealStatus.overturned, c.caller, c.bid)
    [rating] = c.read(select(Rating).where(Rating.id == appeal.rating_id))
    assert rating.overturned and not rating.counted, rating
    _only_rows(c, "appeal", "id", {c.prepared})
    _only_rows(c, "rating", "id", {appeal.rating_id})
    # The rating's day goes back to being counted from the ratings (models/rollup.py).
    _only_rows(c, "rating_day_mark", "branch_id", {rating.branch_id})
    assert changed(c.before, c.after) == {"appeal", "rating", "audit_event", "rating_day_mark"}


def _standings(c: Cell, b: ledger.Board, branch_id: int) -> None:
    assert b.branch.id == branch_id and {o.id for o in b.branches} == c.scope, (b.branch, b.branches)
    shown = {s.staff_id for s in (*b.ranked, *b.unranked)}
    rated = _ids(c, Rating.staff_id, Rating.branch_id == branch_id, col(Rating.counted))
    assert rated and shown == rated, f"board {shown} != people rated at the branch {rated}"


def check_board(c: Cell, b: ledger.Board) -> None:
    _standings(c, b, c.bid)


def check_board_default(c: Cell, b: ledger.Board) -> None:
    """A supervisor's own branch; an administrator's first branch by code (A)."""
    _standings(c, b, c.own if c.own is not None else c.env.branch["A"])


def check_personal_file(c: Cell, f: ledger.PersonalFile) -> None:
    person = c.env.person[c.t]
    assert (f.staff_id, f.branch.id) == (person, c.bid), (f.staff_id, f.branch)
    assert f.profile.staff_id == person and f.profile.branch_id == c.bid
    entries = _ids(c, Sanction.id, Sanction.staff_id == person)
    assert entries and {e.id for e in f.entries} == entries, f.entries
    appeals = _ids(c, Appeal.id, Appeal.staff_id == person)
    assert appeals and {a.id for a in f.appeals} == appeals, f.appeals
    complaints = _ids(c, Complaint.id, Complaint.staff_id == person)
    assert complaints and {x.id for x in f.complaints} == complaints, f.complaints
    commented = _ids(c, Rating.id, Rating.staff_id == person, Rating.comment != "")
    assert len(f.comments) == len(commented), f.comments
    _no_customer_data(c, f)


LEDGER_OPS = [
    Op("ledger.ledger_view", ledger.ledger_view, SUPERVISION, plain(ledger.ledger_view), check_ledger_view),
    Op(
        "ledger.run_evaluation",
        ledger.run_evaluation,
        SUPERVISION,
        on_branch(ledger.run_evaluation, month=OCTOBER),
        check_run_evaluation,
        scoped=True,
    ),
    Op(
        "ledger.decide_proposal",
        ledger.decide_proposal,
        SUPERVISION,
        on_prepared(ledger.decide_proposal, approve=True, reason="证据确凿，同意"),
        check_decide_proposal,
        scoped=True,
        prepare=fresh_proposal,
    ),
    Op(
        "ledger.propose_by_hand",
        ledger.propose_by_hand,
        SUPERVISION,
        on_person(ledger.propose_by_hand, kind="criticism", reason="多次迟到", clauses=["2.2.1"]),
        check_propose_by_hand,
        scoped=True,
    ),
    Op(
        "ledger.decide_appeal",
        ledger.decide_appeal,
        SUPERVISION,
        on_prepared(ledger.decide_appeal, overturn=True, reason="监控显示顾客认错了人"),
        check_decide_appeal,
        scoped=True,
        prepare=fresh_rating_appeal,
    ),
    Op(
        "ledger.board (a branch)",
        ledger.board,
        SUPERVISION,
        on_branch(ledger.board),
        check_board,
        scoped=True,
    ),
    Op("ledger.board (default)", ledger.board, SUPERVISION, plain(ledger.board), check_board_default),
    Op(
        "ledger.personal_file",
        ledger.personal_file,
        SUPERVISION,
        on_person(ledger.personal_file),
        check_personal_file,
        scoped=True,
    ),
]
