"""Fair scores from the database: the same hand-computed figures as tests/unit/test_scores.py, with
flagged presses and an overturned rating in the data that must not move them."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from models.org import Staff
from models.policy import set_policy
from models.rating import Channel, Rating
from models.sanction import appeal_rating, decide_appeal
from models.scores import Month, counter_scores, leaderboard, profile

NOVEMBER = Month(2026, 11)
# 10:00 in Shanghai on 2 November 2026, and a day later each further rating.
BASE = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def rate(s, world, staff_id: int, score: int, n: int, **kw) -> Rating:  # type: ignore[no-untyped-def]
    row = Rating(
        idempotency_key=f"k-{uuid.uuid4()}",
        request_hash="x",
        staff_id=staff_id,
        counter_id=world.counter_id,
        branch_id=world.branch_id,
        channel=Channel.kiosk,
        score=score,
        created_at=BASE + timedelta(days=n),
        **kw,
    )
    s.add(row)
    return row


@pytest.fixture
def scored(db, world):  # type: ignore[no-untyped-def]
    """X = 王芳 (E1): 5, 5, 4 counted, plus a flagged 1 and a 1 she appeals; Y = 李娜 (E2): 3, 3, 2, 4;
    the supervisor S1 decides the appeal. Policy: prior weight 10, ranked from 4 ratings."""
    with db.write() as s:
        ids = {p.employee_no: p.id for p in s.exec(select(Staff)).all()}
        x, y, boss = ids["E1"], ids["E2"], ids["S1"]
        for n, score in enumerate([5, 5, 4]):
            rate(s, world, x, score, n)
        for n, score in enumerate([3, 3, 2, 4]):
            rate(s, world, y, score, n)
        rate(s, world, x, 1, 5, flagged=True, counted=False, flag_reason="too_fast")
        disputed = rate(s, world, x, 1, 6)
        # Outside the month (October in Shanghai): must not count either.
        s.add(
            Rating(
                idempotency_key="october", request_hash="x", staff_id=y, counter_id=world.counter_id,
                branch_id=world.branch_id, channel=Channel.kiosk, score=1,
                created_at=datetime(2026, 10, 31, 15, 59, tzinfo=UTC),
            )
        )  # fmt: skip
        s.commit()
        set_policy(s, values={"score_prior_weight": 10, "min_ratings_ranked": 4})
    return {"x": x, "y": y, "boss": boss, "disputed": disputed.id}


def overturn(db, scored) -> None:  # type: ignore[no-untyped-def]
    with db.write() as s:
        appeal = appeal_rating(
            s, scored["disputed"], staff_id=scored["x"], statement="客户按错了，当时在夸我。", now=NOW
        )
        assert appeal.id is not None
        decide_appeal(
            s, appeal.id, overturn=True, reason="监控核实为误触。", actor_staff_id=scored["boss"], now=NOW
        )


def test_an_appealed_rating_counts_until_the_appeal_overturns_it(db, scored):
    with db.read() as s:
        before = {p.staff_id: p for p in leaderboard(s, world_branch(s), NOVEMBER).unranked}
    # With the disputed 1 counted, X has 5, 5, 4, 1 and the branch 5, 5, 4, 1, 3, 3, 2, 4 (sum 27).
    x = before.get(scored["x"])
    assert x is None  # four ratings: X is ranked before the appeal
    with db.read() as s:
        board = leaderboard(s, world_branch(s), NOVEMBER)
    x_before = next(p for p in board.ranked if p.staff_id == scored["x"])
    assert x_before.score.n == 4
    assert x_before.score.score == pytest.approx((10 * 27 / 8 + 15) / 14)

    overturn(db, scored)
    with db.read() as s:
        board = leaderboard(s, world_branch(s), NOVEMBER)
        disputed = s.get(Rating, scored["disputed"])
    assert disputed is not None and disputed.overturned and not disputed.counted  # kept, not counted
    assert board.branch.n == 7 and board.branch.total == 26
    (y,) = board.ranked
    assert y.staff_id == scored["y"] and y.rank == 1
    assert y.score.score == pytest.approx(172 / 49)
    half = 1.96 * math.sqrt(302 / 273 / 14)  # variance shrunk towards the branch's 26/21
    assert y.score.low == pytest.approx(172 / 49 - half) and y.score.high == pytest.approx(172 / 49 + half)
    # X now has three counted ratings: below the minimum of four, listed apart with no rank.
    x = next(p for p in board.unranked if p.staff_id == scored["x"])
    assert (x.rank, x.score.n, x.score.ranked) == (None, 3, False)
    assert x.score.score == pytest.approx(358 / 91)
    assert x.score.mean == pytest.approx(14 / 3)


def test_profile_places_a_person_against_the_branch_without_naming_anyone(db, scored):
    overturn(db, scored)
    with db.read() as s:
        p = profile(s, scored["y"], NOVEMBER, history=3)
    assert p.current.score == pytest.approx(172 / 49) and p.rank == 1 and p.ranked_count == 1
    assert p.branch_median == pytest.approx(172 / 49)
    assert [m.month for m in p.months] == ["2026-09", "2026-10", "2026-11"]
    # October holds one rating of 1 for Y: a month of its own, scored against October's branch.
    assert p.months[1].score.n == 1 and p.months[1].score.score == pytest.approx(1.0)
    assert [d.isoformat() for d, _ in p.days] == ["2026-11-02", "2026-11-03", "2026-11-04", "2026-11-05"]
    assert "王芳" not in repr(p) and "E1" not in repr(p)


def test_counter_scores_use_the_same_rules(db, scored):
    overturn(db, scored)
    with db.read() as s:
        by_counter = counter_scores(s, world_branch(s), NOVEMBER)
    only = by_counter[scored_counter(db)]
    assert only.n == 7 and only.mean == pytest.approx(26 / 7)


def world_branch(s) -> int:  # type: ignore[no-untyped-def]
    staff = s.exec(select(Staff).where(Staff.employee_no == "E1")).one()
    return int(staff.branch_id)


def scored_counter(db) -> int:  # type: ignore[no-untyped-def]
    with db.read() as s:
        row = s.exec(select(Rating).where(Rating.idempotency_key != "october")).first()
        assert row is not None and row.counter_id is not None
        return row.counter_id
