"""Closed days counted once: the roll-up behind the month-wide dashboard figures.

A region's month is about 80,000 ratings at 2,000,000 stored and 400,000 at 10,000,000; counting
them per branch, counter and score on every dashboard view means sorting every one of them
(docs/PERFORMANCE.md). A local day that has closed hardly ever changes, so it is counted once,
shortly after it closes, by the ``rating-rollup`` job (rapport/usecases/scheduler.py):

* ``rating_day``: per (branch, local day, counter, score), how many counted ratings; counter 0
  stands for ratings taken at no counter (phone, hotline).
* ``rating_day_reason``: per (branch, local day, clause), how many counted low ratings (score
  ``LOW_SCORE`` or less) cite the clause among their reasons (the clause heat map).
* ``rating_day_mark``: per (branch, local day), ``version`` (raised by every change to a counted
  rating of that day), ``rolled`` (the version the rows were counted at) and ``timezone`` (the zone
  the day's bounds were taken in); one mark covers both tables. A day's rows are used only while
  ``rolled = version`` and the zone is still the branch's; otherwise the day is read from the
  ratings, as are days not counted yet and today. So the figures never depend on whether or when
  the job ran: only their cost does.

What changes a closed day, and tells this module in the same transaction (:func:`day_changed`): a
supervisor overturning a rating on appeal (models/sanction/) takes it out of every score. Nothing
else edits or deletes counted ratings (the retention job deletes flagged presses, which are never
counted), and ratings are stored with the time they are taken, so a day gets no new ratings once
it has closed; :data:`GRACE` after local midnight covers a rating taken at 23:59:59 whose commit
is still on its way.

Why versions rather than deleting a changed day's rows: on PostgreSQL (read committed) a roll-up
that counted a day just before an appeal committed would then mark the day fresh over the appeal's
change. The roll-up reads the version first and marks the day only ``WHERE version = <it>``; the
appeal's upsert of the mark waits for the roll-up's row lock or makes it wait; either way a change
the count missed leaves the day stale. On SQLite writers take turns anyway.
"""

from __future__ import annotations

import json
import logging
from collections import Counter as Tally
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Column, Date, Integer, String, and_, cast, delete, func, null, union_all, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, Session, SQLModel, col

import models.base  # noqa: F401  (naming convention first)
from models.clock import UTCDateTime, local_midnight
from models.rating import Rating

log = logging.getLogger(__name__)

# The dashboards read this month and the last 30 days, the personal file this month and the five
# before it (models/scores.py ``profile``): six months of at most 31 days. Closed days further back
# are not counted, and are read from the ratings when asked for.
ROLLUP_DAYS = 6 * 31
GRACE = timedelta(minutes=15)
NO_COUNTER = 0
LOW_SCORE = 2  # a "low" rating: this score or less


class RatingDay(SQLModel, table=True):
    __tablename__ = "rating_day"
    __table_args__ = ({"sqlite_with_rowid": False},)

    branch_id: int = Field(foreign_key="branch.id", primary_key=True)
    day: date = Field(primary_key=True)
    counter_id: int = Field(primary_key=True)  # NO_COUNTER for ratings at no counter
    score: int = Field(primary_key=True)
    n: int


class RatingDayReason(SQLModel, table=True):
    __tablename__ = "rating_day_reason"
    __table_args__ = ({"sqlite_with_rowid": False},)

    branch_id: int = Field(foreign_key="branch.id", primary_key=True)
    day: date = Field(primary_key=True)
    code: str = Field(primary_key=True, max_length=16)  # a clause of the code of conduct
    n: int


class RatingDayMark(SQLModel, table=True):
    __tablename__ = "rating_day_mark"

    branch_id: int = Field(foreign_key="branch.id", primary_key=True)
    day: date = Field(primary_key=True)
    timezone: str = Field(default="", max_length=64)
    version: int = 0
    rolled: int = -1
    rolled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


_DAY: Any = RatingDay.__table__  # type: ignore[attr-defined]
_REASON: Any = RatingDayReason.__table__  # type: ignore[attr-defined]
_MARK: Any = RatingDayMark.__table__  # type: ignore[attr-defined]
TABLES = {"scores": _DAY, "reasons": _REASON}


def _insert(session: Session, table: Any) -> Any:
    name = session.get_bind().dialect.name
    if name == "sqlite":
        return sqlite_insert(table)
    if name == "postgresql":
        return pg_insert(table)
    raise ValueError(f"the roll-up runs on SQLite or PostgreSQL, not {name}")


# ---------------------------------------------------------------------------------------------------
# Writing


def day_changed(session: Session, *, branch_id: int, at: datetime, tz: ZoneInfo) -> None:
    """A counted rating taken at ``at`` in this branch changed: its local day is read from the
    ratings until the job counts it again. Part of the caller's transaction (it commits)."""
    stmt = _insert(session, _MARK).values(
        branch_id=branch_id, day=at.astimezone(tz).date(), timezone=tz.key, version=1, rolled=-1
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[_MARK.c.branch_id, _MARK.c.day], set_={"version": _MARK.c.version + 1}
    )
    session.execute(stmt)


def newest_closed_day(tz: ZoneInfo, now: datetime) -> date:
    """The newest local day the job may count at ``now``: yesterday, once GRACE has passed."""
    return (now - GRACE).astimezone(tz).date() - timedelta(days=1)


def days_due(session: Session, *, branch_id: int, tz: ZoneInfo, now: datetime) -> list[date]:
    """The branch's closed days of the last ROLLUP_DAYS not counted, changed since, or counted in
    another time zone; oldest first."""
    last = newest_closed_day(tz, now)
    first = last - timedelta(days=ROLLUP_DAYS - 1)
    marks = session.execute(
        sa_select(_MARK.c.day, _MARK.c.version, _MARK.c.rolled, _MARK.c.timezone).where(
            _MARK.c.branch_id == branch_id, _MARK.c.day >= first, _MARK.c.day <= last
        )
    ).all()
    fresh = {day for day, version, rolled, zone in marks if rolled == version and zone == tz.key}
    return [d for i in range(ROLLUP_DAYS) if (d := first + timedelta(days=i)) not in fresh]


def roll_day(session: Session, *, branch_id: int, day: date, tz: ZoneInfo, now: datetime) -> int:
    """Count one closed local day of a branch, in one transaction (it commits); returns how many
    counted ratings it found."""
    if day > newest_closed_day(tz, now):
        raise ValueError(f"{day} has not closed yet in {tz.key}")
    where_mark = and_(_MARK.c.branch_id == branch_id, _MARK.c.day == day)
    session.execute(
        _insert(session, _MARK)
        .values(branch_id=branch_id, day=day, timezone=tz.key, version=0, rolled=-1)
        .on_conflict_do_nothing(index_elements=[_MARK.c.branch_id, _MARK.c.day])
    )
    version = session.execute(sa_select(_MARK.c.version).where(where_mark)).scalar_one()
    for table in TABLES.values():
        session.execute(delete(table).where(table.c.branch_id == branch_id, table.c.day == day))
    counted = [
        col(Rating.branch_id) == branch_id,
        col(Rating.created_at) >= local_midnight(day, tz),
        col(Rating.created_at) < local_midnight(day + timedelta(days=1), tz),
        col(Rating.counted).is_(True),
    ]
    counter = func.coalesce(col(Rating.counter_id), NO_COUNTER)
    by_cell = sa_select(counter, col(Rating.score), func.count()).where(*counted)
    rows = session.execute(by_cell.group_by(counter, col(Rating.score))).all()
    if rows:
        session.execute(
            _DAY.insert(),
            [{"branch_id": branch_id, "day": day, "counter_id": c, "score": s, "n": n} for c, s, n in rows],
        )
    # Low ratings grouped by their reasons' JSON text (a few distinct lists), each decoded once.
    text = cast(col(Rating.reasons), String)
    cited: Tally[str] = Tally()
    lists = sa_select(text, func.count()).where(*counted, col(Rating.score) <= LOW_SCORE).group_by(text)
    for reasons, n in session.execute(lists).all():
        for code in reason_codes(reasons):  # a clause counts once per rating
            cited[code] += int(n)
    if cited:
        session.execute(
            _REASON.insert(),
            [{"branch_id": branch_id, "day": day, "code": code, "n": n} for code, n in sorted(cited.items())],
        )
    session.execute(
        update(_MARK)
        .where(where_mark, _MARK.c.version == version)
        .values(rolled=version, timezone=tz.key, rolled_at=now)
    )
    session.commit()
    return sum(int(n) for _c, _s, n in rows)


# ---------------------------------------------------------------------------------------------------
# Reading


@dataclass(frozen=True)
class ClosedDays:
    """Counted ratings of some closed local days: ``rows`` from the roll-up, grouped by the keys
    asked for, each followed by its count; ``live``, the (day, branches) the roll-up could not
    answer, to be read from the ratings."""

    rows: list[tuple[Any, ...]] = field(default_factory=list)
    live: dict[date, tuple[int, ...]] = field(default_factory=dict)

    def ranges(self, tz: ZoneInfo) -> list[tuple[tuple[int, ...], datetime, datetime]]:
        """:attr:`live` as few (branches, UTC start, UTC end) ranges as runs of days allow."""
        runs: dict[int, list[list[date]]] = {}  # branch -> runs of consecutive days
        for day in sorted(self.live):
            for branch_id in self.live[day]:
                branch_runs = runs.setdefault(branch_id, [])
                if branch_runs and branch_runs[-1][1] == day:
                    branch_runs[-1][1] = day + timedelta(days=1)
                else:
                    branch_runs.append([day, day + timedelta(days=1)])
        merged: dict[tuple[date, date], list[int]] = {}
        for branch_id, branch_runs in runs.items():
            for start, end in branch_runs:
                merged.setdefault((start, end), []).append(branch_id)
        return [
            (tuple(sorted(ids)), local_midnight(start, tz), local_midnight(end, tz))
            for (start, end), ids in sorted(merged.items())
        ]


def closed_days(
    session: Session,
    *,
    tz: ZoneInfo,
    branch_ids: Sequence[int],
    first: date,
    end: date,
    keys: Sequence[str],
    of: str = "scores",
) -> ClosedDays:
    """Local days ``first`` to ``end`` (exclusive) of branches in zone ``tz``, as far as the roll-up
    holds them: counted ratings (``of="scores"``, keys among branch_id, day, counter_id, score; the
    counter is None for ratings at no counter) or clauses cited by low ratings (``of="reasons"``,
    keys among branch_id, day, code), grouped by ``keys``. One statement reads both the rows and
    which days they cover, so the two agree even on PostgreSQL, where each statement sees the
    database of its own moment."""
    if of not in TABLES:
        raise ValueError(f"the roll-up keeps {sorted(TABLES)}, not {of!r}")
    table = TABLES[of]
    unknown = set(keys) - ({c.key for c in table.columns} - {"n"})
    if unknown:
        raise ValueError(f"the roll-up of {of} is not kept by {sorted(unknown)}")
    if first >= end or not branch_ids:
        return ClosedDays()
    fresh = and_(
        _MARK.c.branch_id.in_(list(branch_ids)),
        _MARK.c.day >= first,
        _MARK.c.day < end,
        _MARK.c.rolled == _MARK.c.version,
        _MARK.c.timezone == tz.key,
    )
    grouped = [table.c[k] for k in keys]
    day = table.c.day
    counts = (
        sa_select(
            cast(0, Integer).label("part"),
            *grouped,
            func.sum(table.c.n),
            cast(null(), Integer),
            cast(null(), Date),
        )
        .select_from(table.join(_MARK, and_(_MARK.c.branch_id == table.c.branch_id, _MARK.c.day == day)))
        .where(fresh)
        .group_by(*grouped)
    )
    covered = sa_select(
        cast(1, Integer),
        *[cast(null(), table.c[k].type) for k in keys],
        cast(null(), Integer),
        _MARK.c.branch_id,
        _MARK.c.day,
    ).where(fresh)
    rows: list[tuple[Any, ...]] = []
    done: set[tuple[int, date]] = set()
    width = len(keys)
    for part, *values in session.execute(union_all(counts, covered)).all():
        if part == 0:
            row = [_day(v) if k == "day" else v for k, v in zip(keys, values[:width], strict=True)]
            if "counter_id" in keys:
                i = keys.index("counter_id")
                row[i] = row[i] or None
            rows.append((*row, int(values[width])))
        else:
            done.add((int(values[width + 1]), _day(values[width + 2])))
    live: dict[date, tuple[int, ...]] = {}
    for day in _span(first, end):
        missing = tuple(b for b in branch_ids if (b, day) not in done)
        if missing:
            live[day] = missing
    return ClosedDays(rows, live)


def reason_codes(text: str | None) -> set[str]:
    """The clause codes of one stored reasons list (JSON text); nothing for anything unreadable."""
    try:
        codes = json.loads(text) if text else []
    except ValueError:
        log.warning("unreadable rating reasons %r; left out of the heat map", text[:80] if text else text)
        return set()
    return {str(c) for c in codes} if isinstance(codes, list) else set()


def _span(first: date, end: date) -> Iterable[date]:
    return (first + timedelta(days=i) for i in range((end - first).days))


def _day(value: Any) -> date:
    """A date column through a UNION comes back as text from SQLite."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))


__all__ = [
    "GRACE",
    "LOW_SCORE",
    "NO_COUNTER",
    "ROLLUP_DAYS",
    "ClosedDays",
    "RatingDay",
    "RatingDayMark",
    "RatingDayReason",
    "closed_days",
    "day_changed",
    "days_due",
    "newest_closed_day",
    "reason_codes",
    "roll_day",
]
