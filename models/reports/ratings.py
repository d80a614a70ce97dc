"""The rating figures of the dashboard: count, mean and low share per branch and counter for today
and this month (:func:`summary`), the daily trend (:func:`trend`) and this month's score distribution
(:func:`distribution`).

Each takes closed days from the roll-up (models/rollup.py) and counts from the ratings only today
and any day the roll-up does not hold, per time zone (:mod:`models.reports.periods`). Apart from the
complaint and clause figures because these are the ones that read the ratings table at volume.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, literal_column, union_all
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from models.clock import HEAD_OFFICE_TZ
from models.org import Counter
from models.rating import Rating
from models.reports.periods import (
    _branches,
    _cell_key,
    _closed,
    _counted,
    _counted_in,
    _day_bounds,
    _n,
    _unpack_cell,
    zones,
)
from models.reports.results import (
    LOW_SCORE,
    SCORES,
    BranchSummary,
    CounterSummary,
    Distribution,
    Stats,
    Summary,
    TrendPoint,
)

DEFAULT_TZ = HEAD_OFFICE_TZ


def summary(session: Session, *, branch_ids: Sequence[int] | None, now: datetime) -> Summary:
    """Count, mean and low share per branch and per counter, for today and this month.

    Per time zone: today's counted ratings, counted per (branch, counter, score) with one integer
    key to group by (:func:`_cell_key`: SQLite sorts every matching row to group them, and one
    integer sorts faster than three columns); the month's closed days from the roll-up
    (models/rollup.py), and any closed day it does not hold from the ratings, the same way; the
    month is those plus today. Sums and low counts follow from the score; branch and overall totals
    are added up here from those few rows. Active counters without ratings are listed with zeros.
    """
    branches = _branches(session, branch_ids)
    cells: dict[tuple[int, int | None], list[Stats]] = {}  # (branch, counter) -> [today, month]

    def add(which: tuple[int, ...], branch_id: int, counter_id: int | None, score: int, n: Any) -> None:
        cell = cells.setdefault((branch_id, counter_id), [Stats(), Stats()])
        n = _n(n)
        stats = Stats(n, score * n, n if score <= LOW_SCORE else 0)
        for i in which:
            cell[i] = cell[i] + stats

    key = _cell_key()
    for zone in zones(branches, now):
        today = sa_select(key, func.count()).where(*_counted(zone, zone.day_start)).group_by(key)
        for packed, n in session.execute(today).all():
            add((0, 1), *_unpack_cell(int(packed)), n)
        closed = _closed(session, zone, zone.today.replace(day=1), ("branch_id", "counter_id", "score"))
        for branch_id, counter_id, score, n in closed.rows:
            add((1,), branch_id, counter_id, score, n)
        if closed.live:
            rest = sa_select(key, func.count()).where(*_counted_in(closed.ranges(zone.tz))).group_by(key)
            for packed, n in session.execute(rest).all():
                add((1,), *_unpack_cell(int(packed)), n)
    ids = [b.id for b in branches]
    counters = {c.id: c for c in session.exec(select(Counter).where(col(Counter.branch_id).in_(ids))).all()}
    for counter in counters.values():
        if counter.active:
            cells.setdefault((counter.branch_id, counter.id), [Stats(), Stats()])
    out: list[BranchSummary] = []
    for b in branches:
        assert b.id is not None
        rows = []
        for (branch_id, counter_id), (day, month) in cells.items():
            if branch_id != b.id:
                continue
            c = counters.get(counter_id) if counter_id is not None else None
            rows.append(
                CounterSummary(
                    counter_id=counter_id,
                    branch_id=b.id,
                    code=c.code if c else None,
                    name_zh=c.name_zh if c else None,
                    name_en=c.name_en if c else None,
                    today=day,
                    month=month,
                )
            )
        rows.sort(key=lambda r: (r.code is None, r.code or ""))
        out.append(
            BranchSummary(
                branch_id=b.id,
                code=b.code,
                name_zh=b.name_zh,
                name_en=b.name_en,
                timezone=b.timezone,
                today=sum((r.today for r in rows), Stats()),
                month=sum((r.month for r in rows), Stats()),
                counters=tuple(rows),
            )
        )
    return Summary(
        today=sum((b.today for b in out), Stats()),
        month=sum((b.month for b in out), Stats()),
        branches=tuple(out),
    )


def trend(
    session: Session, *, branch_ids: Sequence[int] | None, now: datetime, days: int = 30
) -> tuple[TrendPoint, ...]:
    """Count and mean of counted ratings per local day, the last ``days`` days ending today.

    Days without ratings are present with zeros. With branches in several time zones the days are
    merged by local date (the few hours where two zones' "today" differ may add one extra date;
    the newest ``days`` dates are kept).
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    merged: dict[date, tuple[int, int]] = {}

    def add(day: date, n: Any, total: Any) -> None:
        old_n, old_s = merged.get(day, (0, 0))
        merged[day] = (old_n + _n(n), old_s + _n(total))

    for zone in zones(_branches(session, branch_ids), now):
        local_days = zone.days(days)
        for day in local_days:
            add(day, 0, 0)
        closed = _closed(session, zone, local_days[0], ("day", "score"))
        for day, score, n in closed.rows:
            add(day, n, score * n)
        # Today and any closed day the roll-up does not hold: one range aggregate per day, glued
        # with UNION ALL (each a plain range scan of the (branch_id, created_at) index, with no
        # per-row bucket expression and no sort for a GROUP BY).
        live = [*sorted(closed.live.items()), (zone.today, zone.branch_ids)]
        stmt: Any = union_all(
            *[
                sa_select(literal_column(str(i)), func.count(), func.sum(col(Rating.score))).where(
                    *_counted_in([(ids, *_day_bounds(day, zone.tz))])
                )
                for i, (day, ids) in enumerate(live)
            ]
        )
        for i, n, total in session.execute(stmt).all():
            add(live[int(i)][0], n, total)
    if not merged:  # no branch in scope: still a row of empty days, in the default time zone
        today = now.astimezone(ZoneInfo(DEFAULT_TZ)).date()
        merged = {today - timedelta(days=i): (0, 0) for i in range(days)}
    keep = sorted(merged)[-days:]
    return tuple(TrendPoint(day, *merged[day]) for day in keep)


def distribution(session: Session, *, branch_ids: Sequence[int] | None, now: datetime) -> Distribution:
    """Counted ratings of this month per score (1-5)."""
    counts = dict.fromkeys(SCORES, 0)
    for zone in zones(_branches(session, branch_ids), now):
        closed = _closed(session, zone, zone.today.replace(day=1), ("score",))
        for score, n in closed.rows:
            counts[int(score)] += int(n)
        live = [*closed.ranges(zone.tz), (zone.branch_ids, zone.day_start, zone.day_end)]
        stmt = select(col(Rating.score), func.count()).where(*_counted_in(live)).group_by(col(Rating.score))
        for score, n in session.exec(stmt).all():
            counts[int(score)] += int(n)
    c = tuple(counts[s] for s in SCORES)
    return Distribution((c[0], c[1], c[2], c[3], c[4]))
