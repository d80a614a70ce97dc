"""The personal file's earlier months read the branch's figure from the day roll-up (models/scores.py
``branch_months``, models/rollup.py): the same figures as counting the ratings, whether the job has
run, run on part of the days, or a day changed after it ran, in the branch's own time zone; and once
the days are counted, a closed month costs one statement instead of one per month."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event
from sqlmodel import select

from models import rollup
from models.org import Branch, Staff
from models.rating import Channel, Rating
from models.sanction import appeal_rating, decide_appeal
from models.scores import Month, branch_moments, branch_months, profile
from rapport.usecases import scheduler
from rapport.usecases.scheduler import job_named, run_due

# 10:00 on 20 November 2026 in Shanghai; the job counts up to 19 November.
NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
NOVEMBER = Month(2026, 11)
# The current month and the six before it: May 2026 begins more than ROLLUP_DAYS back, so its
# first days are never counted by the job and always come from the ratings.
MONTHS = [Month(2026, m) for m in range(5, 11)]


def _at(day: date, hour: int, minute: int, second: int, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=zone).astimezone(UTC)


def _fill(db, world, zone: ZoneInfo) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Ratings in every month from May to November: on each month's first local second and its
    last, mid-month for both staff members and for nobody, at no counter, and a flagged press
    (never counted). One of Y's October ratings is the one the test overturns later."""
    with db.write() as s:
        branch = s.get(Branch, world.branch_id)
        assert branch is not None
        branch.timezone = zone.key
        s.add(branch)
        ids = {p.employee_no: p.id for p in s.exec(select(Staff)).all()}
        x, y = ids["E1"], ids["E2"]
        rows: list[Rating] = []

        def rate(at: datetime, score: int, staff_id: int | None, **kw: object) -> Rating:
            row = Rating(
                idempotency_key=str(uuid.uuid4()), request_hash="t", branch_id=world.branch_id,
                counter_id=kw.pop("counter_id", world.counter_id), staff_id=staff_id,
                channel=Channel.kiosk, score=score, created_at=at, **kw,
            )  # fmt: skip
            rows.append(row)
            return row

        for i, m in enumerate([*MONTHS, NOVEMBER]):
            first = m.first_day
            last = m.next().first_day - timedelta(days=1)
            rate(_at(first, 0, 0, 1, zone), 1 + i % 5, x)
            rate(_at(last, 23, 59, 59, zone), 5 - i % 5, y)
            for day in range(3, 28, 6):
                rate(_at(first.replace(day=day), 11, day, 0, zone), 1 + (day + i) % 5, x)
                rate(_at(first.replace(day=day), 15, 0, day, zone), 1 + (day * i) % 5, y)
                rate(_at(first.replace(day=day), 16, 0, 0, zone), 4, None, counter_id=None)
            rate(_at(first.replace(day=10), 9, 0, 0, zone), 1, x, flagged=True, counted=False)
        disputed = rate(_at(date(2026, 10, 28), 10, 0, 0, zone), 1, y)
        s.add_all(rows)
        s.commit()
        boss = s.exec(select(Staff).where(Staff.employee_no == "S1")).one()
        return {"x": x, "y": y, "boss": boss.id, "disputed": disputed.id}


def _from_ratings(db, branch_id: int, zone: ZoneInfo) -> dict[Month, object]:  # type: ignore[no-untyped-def]
    with db.read() as s:
        return {m: branch_moments(s, branch_id, *m.bounds(zone.key)) for m in MONTHS}


def _months(db, branch_id: int, zone: ZoneInfo) -> dict[Month, object]:  # type: ignore[no-untyped-def]
    with db.read() as s:
        return branch_months(s, branch_id, zone.key, MONTHS)


def _roll(ctx, now: datetime = NOW) -> int:  # type: ignore[no-untyped-def]
    [run] = run_due(ctx, job_named(scheduler.ROLLUP), now)
    return run.items_done


def _statements(db, fn):  # type: ignore[no-untyped-def]
    """fn's result and how many queries (SELECT statements) it sent."""
    sent: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        return fn(), sum(1 for s in sent if s.lstrip().upper().startswith("SELECT"))
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


@pytest.mark.parametrize("zone", [ZoneInfo("Asia/Shanghai"), ZoneInfo("America/New_York")], ids=str)
def test_the_branch_figure_of_earlier_months_is_the_same_from_the_roll_up(db, world, ctx, zone):
    marks = _fill(db, world, zone)
    expected = _from_ratings(db, world.branch_id, zone)
    # Each month: its first and last second, 5 days × 3 mid-month; October also the disputed 1.
    assert [expected[m].n for m in MONTHS] == [17, 17, 17, 17, 17, 18]  # type: ignore[attr-defined]
    with db.read() as s:
        before = profile(s, marks["y"], NOVEMBER, history=7)  # type: ignore[arg-type]

    (nothing_counted, sent_live) = _statements(db, lambda: _months(db, world.branch_id, zone))
    assert nothing_counted == expected
    assert _roll(ctx) == rollup.ROLLUP_DAYS * 2  # each closed day of both branches
    (counted, sent_rolled) = _statements(db, lambda: _months(db, world.branch_id, zone))
    assert counted == expected
    # Counted: June to October from the roll-up in one statement, plus May's first days, which lie
    # beyond ROLLUP_DAYS, from the ratings. Not counted: one more statement per month.
    assert sent_rolled == 2 and sent_live == 1 + len(MONTHS), (sent_rolled, sent_live)
    with db.read() as s:
        after = profile(s, marks["y"], NOVEMBER, history=7)  # type: ignore[arg-type]
    assert after == before
    assert [m.month for m in after.months] == [str(m) for m in MONTHS] + ["2026-11"]


def test_a_day_changed_after_the_job_ran_is_read_from_the_ratings_again(db, world, ctx):
    zone = ZoneInfo("Asia/Shanghai")
    marks = _fill(db, world, zone)
    _roll(ctx)
    october = Month(2026, 10)
    with db.read() as s:
        y_before = profile(s, marks["y"], NOVEMBER, history=3)  # type: ignore[arg-type]
        whole_before = branch_months(s, world.branch_id, zone.key, [october])[october]
    with db.write() as s:
        appeal = appeal_rating(
            s, marks["disputed"], staff_id=marks["y"], statement="客户按错了。", now=NOW  # type: ignore[arg-type]
        )
        assert appeal.id is not None
        decide_appeal(
            s, appeal.id, overturn=True, reason="监控核实为误触。", actor_staff_id=marks["boss"], now=NOW  # type: ignore[arg-type]
        )
    after = _months(db, world.branch_id, zone)
    assert after == _from_ratings(db, world.branch_id, zone)
    assert after[october].n == whole_before.n - 1 and after[october].counts[0] == whole_before.counts[0] - 1
    with db.read() as s:
        y_after = profile(s, marks["y"], NOVEMBER, history=3)  # type: ignore[arg-type]
    assert y_after.months[1].score.n == y_before.months[1].score.n - 1
    # The job's next run counts that day again, and the figure stays the same.
    assert _roll(ctx, NOW + timedelta(hours=1)) == 1
    assert _months(db, world.branch_id, zone) == after


def test_part_of_the_days_counted_and_no_months_asked(db, world):
    zone = ZoneInfo("Asia/Shanghai")
    _fill(db, world, zone)
    with db.write() as s:
        for day in (date(2026, 9, 3), date(2026, 9, 4), date(2026, 9, 30), date(2026, 10, 1)):
            rollup.roll_day(s, branch_id=world.branch_id, day=day, tz=zone, now=NOW)
    assert _months(db, world.branch_id, zone) == _from_ratings(db, world.branch_id, zone)
    with db.read() as s:
        assert branch_months(s, world.branch_id, zone.key, []) == {}
