"""The roll-up of closed days (models/rollup.py, the ``rating-rollup`` job): dashboards read closed
days from it, and every way a closed day can change sends that day back to the ratings until the job
counts it again. tests/integration/test_reports.py runs every hand-worked dashboard figure with and
without the roll-up; this file covers what changes a day, time zones and when a day closes."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from models import reports, rollup, sanction
from models.org import Branch, Staff
from models.rating import Rating
from rapport.usecases import scheduler
from rapport.usecases.scheduler import job_named, run_due

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=SH).astimezone(UTC)


def rating(branch_id, counter_id, score, at, staff_id=None, reasons=()) -> Rating:
    return Rating(
        idempotency_key=str(uuid.uuid4()), request_hash="t", branch_id=branch_id, counter_id=counter_id,
        staff_id=staff_id, channel="kiosk", score=score, created_at=at, reasons=list(reasons),
    )  # fmt: skip


def figures(db, branch_id: int, now: datetime = NOW):
    with db.read() as s:
        summary = reports.summary(s, branch_ids=[branch_id], now=now)
        trend = reports.trend(s, branch_ids=[branch_id], now=now)
        dist = reports.distribution(s, branch_ids=[branch_id], now=now)
        heat = reports.clause_heat(s, branch_ids=[branch_id], now=now)
    return summary, trend, dist, heat


def live_days(db, branch_id: int, tz: ZoneInfo, first: date, end: date) -> dict[date, tuple[int, ...]]:
    with db.read() as s:
        return rollup.closed_days(
            s, tz=tz, branch_ids=[branch_id], first=first, end=end, keys=("score",)
        ).live


def roll(ctx, now: datetime = NOW) -> int:
    [run] = run_due(ctx, job_named(scheduler.ROLLUP), now)
    return run.items_done


def test_an_overturned_appeal_leaves_the_month_at_once_and_the_job_counts_its_day_again(db, world, ctx):
    a, c1 = world.branch_id, world.counter_id
    three_days_ago = NOW - timedelta(days=3)
    with db.write() as s:
        boss = s.exec(select(Staff).where(Staff.employee_no == "S1")).one()
        target = rating(a, c1, 1, three_days_ago, staff_id=world.staff_id, reasons=["2.2.1", "2.3.1"])
        s.add_all([
            target,
            rating(a, c1, 2, three_days_ago, reasons=["2.2.1"]),
            rating(a, c1, 5, three_days_ago),
            rating(a, c1, 4, NOW - timedelta(days=2)),
        ])  # fmt: skip
        s.commit()
        target_id, boss_id = target.id, boss.id
    assert roll(ctx) == rollup.ROLLUP_DAYS * 2  # each closed day of both branches
    before = figures(db, a)
    assert before[0].month == reports.Stats(4, 12, 2)
    assert {(h.code, h.ratings) for h in before[3].clauses} == {("2.2.1", 2), ("2.3.1", 1)}
    day = three_days_ago.astimezone(SH).date()
    assert live_days(db, a, SH, date(2026, 11, 1), NOW.astimezone(SH).date()) == {}

    with db.write() as s:
        statement = "当时不是我在这个窗口"
        appeal = sanction.appeal_rating(s, target_id, staff_id=world.staff_id, statement=statement, now=NOW)
        sanction.decide_appeal(
            s, appeal.id, overturn=True, reason="监控显示该时段无客户", actor_staff_id=boss_id, now=NOW
        )
    # Before the job runs again: that day is read from the ratings, the others still from the roll-up.
    assert live_days(db, a, SH, date(2026, 11, 1), NOW.astimezone(SH).date()) == {day: (a,)}
    summary, trend, dist, heat = figures(db, a)
    assert summary.month == reports.Stats(3, 11, 1)
    assert {p.day: p.count for p in trend if p.count} == {day: 2, day + timedelta(days=1): 1}
    assert dist.counts == (0, 1, 0, 1, 1)
    assert {(h.code, h.ratings) for h in heat.clauses} == {("2.2.1", 1)}

    assert roll(ctx, NOW + timedelta(hours=1)) == 1  # only the changed day is counted again
    assert live_days(db, a, SH, date(2026, 11, 1), NOW.astimezone(SH).date()) == {}
    assert figures(db, a) == (summary, trend, dist, heat)


def test_closed_days_are_read_from_the_roll_up_and_a_changed_day_from_the_ratings(db, world, ctx):
    """How the figures are made: a rating slipped into a counted day without telling the roll-up is
    not seen (nothing in Rapport does that), until the day is marked changed."""
    a, c1 = world.branch_id, world.counter_id
    with db.write() as s:
        s.add(rating(a, c1, 5, NOW - timedelta(days=5)))
        s.commit()
    roll(ctx)
    late = NOW - timedelta(days=4)
    with db.write() as s:
        s.add(rating(a, c1, 2, late))
        s.commit()
    assert figures(db, a)[0].month == reports.Stats(1, 5, 0)
    with db.write() as s:
        rollup.day_changed(s, branch_id=a, at=late, tz=SH)
        s.commit()
    assert figures(db, a)[0].month == reports.Stats(2, 7, 1)


def test_a_day_is_counted_only_after_it_closed_and_a_grace_period(db, world, ctx):
    a, c1 = world.branch_id, world.counter_id
    midnight = datetime(2026, 11, 20, 0, 0, tzinfo=SH).astimezone(UTC)
    with db.write() as s:
        s.add(rating(a, c1, 3, midnight - timedelta(seconds=1)))  # 19 Nov, 23:59:59
        s.commit()
    nineteenth = date(2026, 11, 19)
    assert rollup.newest_closed_day(SH, midnight + timedelta(minutes=10)) == date(2026, 11, 18)
    assert rollup.newest_closed_day(SH, midnight + rollup.GRACE) == nineteenth

    roll(ctx, midnight + timedelta(minutes=10))
    assert nineteenth in live_days(db, a, SH, nineteenth, date(2026, 11, 20))
    with db.write() as s, pytest.raises(ValueError, match="has not closed"):
        rollup.roll_day(s, branch_id=a, day=nineteenth, tz=SH, now=midnight + timedelta(minutes=10))

    roll(ctx, midnight + timedelta(hours=1))  # the next run (hourly)
    assert live_days(db, a, SH, nineteenth, date(2026, 11, 20)) == {}
    with db.read() as s:
        closed = rollup.closed_days(
            s, tz=SH, branch_ids=[a], first=nineteenth, end=date(2026, 11, 20), keys=("day", "score")
        )
    assert closed.rows == [(nineteenth, 3, 1)]


def test_days_with_a_daylight_saving_change_count_from_local_midnight_to_local_midnight(db, world, ctx):
    """New York's 1 November 2026 lasts 25 hours; ratings just inside and outside it."""
    a, c1 = world.branch_id, world.counter_id
    with db.write() as s:
        s.get(Branch, a).timezone = "America/New_York"
        s.add_all(
            [
                rating(a, c1, 1, datetime(2026, 10, 31, 23, 59, tzinfo=NY)),
                rating(a, c1, 2, datetime(2026, 11, 1, 0, 1, tzinfo=NY)),  # EDT, 04:01 UTC
                rating(a, c1, 3, datetime(2026, 11, 1, 23, 59, tzinfo=NY)),  # EST, 04:59 UTC next day
                rating(a, c1, 4, datetime(2026, 11, 2, 0, 1, tzinfo=NY)),
            ]
        )
        s.commit()
    live = figures(db, a)
    expected = {date(2026, 10, 31): (1, 1), date(2026, 11, 1): (2, 5), date(2026, 11, 2): (1, 4)}
    assert {p.day: (p.count, p.total) for p in live[1] if p.count} == expected
    assert live[0].month == reports.Stats(3, 9, 1)
    assert roll(ctx) == rollup.ROLLUP_DAYS * 2
    assert figures(db, a) == live


def test_a_branch_moved_to_another_time_zone_is_read_from_the_ratings_until_counted_again(db, world, ctx):
    a, c1 = world.branch_id, world.counter_id
    with db.write() as s:
        s.add_all([rating(a, c1, 5, NOW - timedelta(days=d, hours=9)) for d in range(1, 12)])
        s.commit()
    roll(ctx)
    with db.write() as s:
        s.get(Branch, a).timezone = "Europe/London"
        s.commit()
    london = ZoneInfo("Europe/London")
    today = NOW.astimezone(london).date()
    assert len(live_days(db, a, london, today - timedelta(days=10), today)) == 10
    live = figures(db, a)
    assert roll(ctx, NOW + timedelta(hours=1)) == rollup.ROLLUP_DAYS  # every day of this branch again
    assert live_days(db, a, london, today - timedelta(days=10), today) == {}
    assert figures(db, a) == live


def test_the_days_the_roll_up_misses_are_read_as_few_ranges():
    d = date(2026, 11, 1)
    closed = rollup.ClosedDays(
        live={
            d: (1, 2),
            d + timedelta(days=1): (1, 2),
            d + timedelta(days=2): (1,),
            d + timedelta(days=5): (2,),
        }
    )
    start = datetime(2026, 10, 31, 16, 0, tzinfo=UTC)  # 1 November, midnight in Shanghai
    day = timedelta(days=1)
    assert closed.ranges(SH) == [
        ((2,), start, start + 2 * day),
        ((1,), start, start + 3 * day),
        ((2,), start + 5 * day, start + 6 * day),
    ]


def test_the_roll_up_refuses_keys_it_does_not_keep(db, world):
    with db.read() as s, pytest.raises(ValueError, match="not"):
        rollup.closed_days(
            s, tz=SH, branch_ids=[world.branch_id], first=date(2026, 11, 1), end=date(2026, 11, 2),
            keys=("staff_id",),
        )  # fmt: skip
