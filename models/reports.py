"""Dashboard figures: ratings by branch and counter, the daily trend, the score distribution, open
complaints by SLA state, and the clauses cited most. Pure reads over a Session, a scope
(``branch_ids``; None for every branch) and ``now`` (aware UTC); results are frozen dataclasses.

Rules shared by every figure:
* Only counted ratings (``counted`` true): flagged presses are kept but never shown in a score.
* "Today" and "this month" are the branch's local calendar day and month (``Branch.timezone``).
  Branches are grouped by time zone and each group is queried with its own UTC boundaries, so a
  chain spanning time zones is right per branch. The trend merges groups by local date.
* A period ends with the local day that holds ``now`` (its midnight, not ``now`` itself), so a
  server whose clock runs a little behind the kiosks' still shows the newest ratings.
* A "low" score is ``LOW_SCORE`` (2) or less.

Speed (docs/QUALITY.md: every dashboard query p95 < 100 ms on 2,000,000 ratings): every rating query
filters on ``branch_id IN (...)`` and a ``created_at`` range, so it walks ix_rating_branch_created
even for "all branches" (there is no index on created_at alone), and aggregates in SQL. Day
boundaries are computed here in Python (zoneinfo), so the same SQL runs on SQLite and PostgreSQL and
days with a daylight-saving change are right. The month-wide figures (summary, trend, distribution,
clause heat map) take closed days from the roll-up (models/rollup.py) and count from the ratings
only today and any day the roll-up does not hold, so they cost about the same at 10,000,000
ratings as at 2,000,000 (docs/PERFORMANCE.md) and are the same whether or not its job has run.
"""

from __future__ import annotations

import logging
from collections import Counter as Tally
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    cast,
    func,
    literal_column,
    or_,
    union_all,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select as sa_select
from sqlmodel import Session, SQLModel, col, select

from models import rollup
from models.clock import HEAD_OFFICE_TZ, UTCDateTime, branch_zone, local_midnight
from models.complaint import Complaint, ComplaintStatus, Severity
from models.org import Branch, Counter
from models.rating import Rating

log = logging.getLogger(__name__)

LOW_SCORE = rollup.LOW_SCORE
SCORES = (1, 2, 3, 4, 5)
DUE_SOON = timedelta(hours=24)
OPEN_STATUSES = (ComplaintStatus.new, ComplaintStatus.acknowledged, ComplaintStatus.investigating)
SEVERITY_ORDER = (Severity.high, Severity.normal, Severity.low)
# The inspections feature is optional here: its tables are looked up by name at run time.
INSPECTION, INSPECTION_FINDING = "inspection", "inspection_finding"
DEFAULT_TZ = HEAD_OFFICE_TZ


# ---------------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class Stats:
    """Counted ratings in a period: how many, the sum of their scores, how many were low."""

    count: int = 0
    total: int = 0
    low: int = 0

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None

    @property
    def low_share(self) -> float | None:
        """Between 0 and 1; None without ratings."""
        return self.low / self.count if self.count else None

    def __add__(self, other: Stats) -> Stats:
        return Stats(self.count + other.count, self.total + other.total, self.low + other.low)


@dataclass(frozen=True)
class CounterSummary:
    """One counter of a branch; ``counter_id`` None holds ratings given at no counter (QR, hotline)."""

    counter_id: int | None
    branch_id: int
    code: str | None
    name_zh: str | None
    name_en: str | None
    today: Stats
    month: Stats


@dataclass(frozen=True)
class BranchSummary:
    branch_id: int
    code: str
    name_zh: str
    name_en: str
    timezone: str
    today: Stats
    month: Stats
    counters: tuple[CounterSummary, ...]


@dataclass(frozen=True)
class Summary:
    today: Stats
    month: Stats
    branches: tuple[BranchSummary, ...]


@dataclass(frozen=True)
class TrendPoint:
    day: date
    count: int
    total: int

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None


@dataclass(frozen=True)
class Distribution:
    """Counted ratings of this month per score: ``counts[0]`` is score 1, ``counts[4]`` score 5."""

    counts: tuple[int, int, int, int, int]

    @property
    def total(self) -> int:
        return sum(self.counts)

    def count(self, score: int) -> int:
        return self.counts[score - 1]


class SlaState(StrEnum):
    on_time = "on_time"
    due_soon = "due_soon"  # due within DUE_SOON
    overdue = "overdue"


@dataclass(frozen=True)
class SlaRow:
    severity: str
    on_time: int = 0
    due_soon: int = 0
    overdue: int = 0

    @property
    def total(self) -> int:
        return self.on_time + self.due_soon + self.overdue


@dataclass(frozen=True)
class ComplaintsBySla:
    """Open complaints (new, acknowledged, investigating), one row per severity, high first."""

    rows: tuple[SlaRow, ...]

    def state_total(self, state: SlaState) -> int:
        return sum(getattr(r, state.value) for r in self.rows)

    @property
    def total(self) -> int:
        return sum(r.total for r in self.rows)


@dataclass(frozen=True)
class ClauseHeat:
    code: str
    ratings: int = 0
    complaints: int = 0
    inspections: int = 0

    @property
    def total(self) -> int:
        return self.ratings + self.complaints + self.inspections


@dataclass(frozen=True)
class ClauseHeatMap:
    """Clauses cited this month, most cited first. ``inspections_available`` is False while the
    database has no inspection tables."""

    clauses: tuple[ClauseHeat, ...]
    inspections_available: bool


# ---------------------------------------------------------------------------------------------------
# Periods in local time


@dataclass(frozen=True)
class Zone:
    """Branches sharing a time zone, with that zone's period boundaries for ``now`` (UTC)."""

    tz: ZoneInfo
    branch_ids: tuple[int, ...]
    today: date
    day_start: datetime
    day_end: datetime
    month_start: datetime

    @classmethod
    def at(cls, tz: ZoneInfo, branch_ids: tuple[int, ...], now: datetime) -> Zone:
        if now.tzinfo is None:
            raise ValueError("now must be an aware datetime")
        today = now.astimezone(tz).date()
        return cls(
            tz=tz,
            branch_ids=branch_ids,
            today=today,
            day_start=local_midnight(today, tz),
            day_end=local_midnight(today + timedelta(days=1), tz),
            month_start=local_midnight(today.replace(day=1), tz),
        )

    def days(self, n: int) -> list[date]:
        """The last ``n`` local days, oldest first, ending today."""
        return [self.today - timedelta(days=i) for i in range(n - 1, -1, -1)]


def _branches(session: Session, branch_ids: Sequence[int] | None) -> list[Branch]:
    stmt = select(Branch).order_by(col(Branch.code))
    if branch_ids is not None:
        if not branch_ids:
            return []
        stmt = stmt.where(col(Branch.id).in_(list(branch_ids)))
    return list(session.exec(stmt).all())


def zones(branches: Iterable[Branch], now: datetime) -> list[Zone]:
    """The branches grouped by time zone, each group with its period boundaries."""
    groups: dict[str, list[int]] = {}
    for b in branches:
        assert b.id is not None
        groups.setdefault(branch_zone(b.timezone).key, []).append(b.id)
    return [Zone.at(ZoneInfo(key), tuple(ids), now) for key, ids in sorted(groups.items())]


def _counted(zone: Zone, start: datetime, end: datetime | None = None) -> list[ColumnElement[bool]]:
    """Counted ratings of the zone's branches from ``start`` to ``end`` (default: end of today)."""
    return [
        col(Rating.branch_id).in_(zone.branch_ids),
        col(Rating.created_at) >= start,
        col(Rating.created_at) < (end or zone.day_end),
        col(Rating.counted).is_(True),
    ]


def _counted_in(ranges: Sequence[tuple[tuple[int, ...], datetime, datetime]]) -> list[ColumnElement[bool]]:
    """Counted ratings in any of the (branches, start, end) ranges."""
    at = col(Rating.created_at)
    spans = [and_(col(Rating.branch_id).in_(ids), at >= start, at < end) for ids, start, end in ranges]
    return [or_(*spans), col(Rating.counted).is_(True)]


def _day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    return local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz)


def _closed(
    session: Session, zone: Zone, first: date, keys: Sequence[str], of: str = "scores"
) -> rollup.ClosedDays:
    """The zone's closed days from ``first`` up to today (models/rollup.py)."""
    return rollup.closed_days(
        session, tz=zone.tz, branch_ids=zone.branch_ids, first=first, end=zone.today, keys=keys, of=of
    )


_COUNTER_SPAN = 1 << 32  # counter ids below this; branch ids below 2**28 keep the key in 63 bits


def _cell_key() -> ColumnElement[int]:
    """(branch, counter, score) as one integer: ((branch * 2**32) + counter) * 8 + score, counter 0
    for ratings at no counter. Unpacked by :func:`_unpack_cell`."""
    # Constants written into the SQL, not bound: PostgreSQL matches the grouped expression to the
    # selected one by its text, and two sets of parameters would not match.
    span, eight, zero = (literal_column(str(v), Integer) for v in (_COUNTER_SPAN, 8, 0))
    counter = func.coalesce(col(Rating.counter_id), zero)
    return (col(Rating.branch_id) * span + counter) * eight + col(Rating.score)


def _unpack_cell(packed: int) -> tuple[int, int | None, int]:
    rest, score = divmod(packed, 8)
    branch_id, counter_id = divmod(rest, _COUNTER_SPAN)
    return branch_id, counter_id or None, score


def _n(value: Any) -> int:
    return int(value or 0)  # SUM over no rows is NULL; PostgreSQL sums come back as Decimal


# ---------------------------------------------------------------------------------------------------
# Ratings


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


# ---------------------------------------------------------------------------------------------------
# Complaints


def complaints_by_sla(
    session: Session, *, branch_ids: Sequence[int] | None, now: datetime
) -> ComplaintsBySla:
    """Open complaints by severity and SLA state: overdue (due time passed), due soon (due within
    24 h) or on time. One grouped query over ix_complaint_branch_status_due."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    due = col(Complaint.due_at)
    state = case(
        (due < now, SlaState.overdue.value),
        (due < now + DUE_SOON, SlaState.due_soon.value),
        else_=SlaState.on_time.value,
    ).label("state")
    stmt = (
        sa_select(col(Complaint.severity), state, func.count())
        .where(col(Complaint.status).in_([s.value for s in OPEN_STATUSES]))
        .group_by(col(Complaint.severity), state)
    )
    if branch_ids is not None:
        stmt = stmt.where(col(Complaint.branch_id).in_(list(branch_ids)))
    found: dict[str, dict[str, int]] = {}
    for severity, st, n in session.execute(stmt).all():
        found.setdefault(str(severity), {})[str(st)] = int(n)
    return ComplaintsBySla(tuple(SlaRow(sev.value, **found.get(sev.value, {})) for sev in SEVERITY_ORDER))


# ---------------------------------------------------------------------------------------------------
# Clause heat map


def clause_heat(
    session: Session, *, branch_ids: Sequence[int] | None, now: datetime, limit: int = 10
) -> ClauseHeatMap:
    """The clauses cited most this month, with counts per source, most cited first (ties by code).

    1. Low ratings: the reasons of counted ratings scored ``LOW_SCORE`` or less. Reasons are a JSON
       list, which SQLite and PostgreSQL unnest differently, so the database groups those rows of
       the month by their reasons' text (a few dozen distinct lists) and each list is decoded and
       counted here once, times its count. Decoding every row in Python instead cost 4x the query
       itself on 2,000,000 ratings (docs/PERFORMANCE.md).
    2. Complaints: filed this month (by branch local month), grouped by category in SQL. Rejected
       complaints are left out: rejecting one means it was found to have no basis.
    3. Inspections: violations found by inspections held this month, when those tables exist.
    """
    ratings: Tally[str] = Tally()
    complaints: Tally[str] = Tally()
    all_zones = zones(_branches(session, branch_ids), now)
    # The JSON text, not the JSON type: grouped in SQL, decoded here once per distinct list.
    reasons_text = cast(col(Rating.reasons), String)
    for zone in all_zones:
        closed = _closed(session, zone, zone.today.replace(day=1), ("code",), of="reasons")
        for code, n in closed.rows:
            ratings[code] += int(n)
        live = [*closed.ranges(zone.tz), (zone.branch_ids, zone.day_start, zone.day_end)]
        stmt = (
            sa_select(reasons_text, func.count())
            .where(*_counted_in(live), col(Rating.score) <= LOW_SCORE)
            .group_by(reasons_text)
        )
        for text, n in session.execute(stmt).all():
            for code in rollup.reason_codes(text):  # a clause counts once per rating
                ratings[code] += int(n)
        c_stmt = (
            select(col(Complaint.category), func.count())
            .where(
                col(Complaint.branch_id).in_(zone.branch_ids),
                col(Complaint.created_at) >= zone.month_start,
                col(Complaint.created_at) < zone.day_end,
                col(Complaint.status) != ComplaintStatus.rejected.value,
            )
            .group_by(col(Complaint.category))
        )
        for code, n in session.exec(c_stmt).all():
            complaints[str(code)] += int(n)
    inspections = _inspection_counts(session, all_zones)
    codes = set(ratings) | set(complaints) | set(inspections or {})
    heat = [
        ClauseHeat(code, ratings[code], complaints[code], (inspections or {}).get(code, 0)) for code in codes
    ]
    heat.sort(key=lambda h: (-h.total, h.code))
    return ClauseHeatMap(tuple(heat[:limit]), inspections_available=inspections is not None)


def _table(session: Session, name: str) -> Table | None:
    """The table if the database has it: the registered model's metadata, else reflected."""
    conn = session.connection()
    if not sa_inspect(conn).has_table(name):
        return None
    known = SQLModel.metadata.tables.get(name)
    return known if known is not None else Table(name, MetaData(), autoload_with=conn)


def _inspection_counts(session: Session, all_zones: list[Zone]) -> dict[str, int] | None:
    """Violations found by inspections this month, per clause; None while the database has no
    inspection tables.

    The inspections feature (models/inspection.py) is built and migrated separately, so this reads
    its tables by name rather than importing it: ``inspection_finding`` (``clause_code``,
    ``result``, ``inspection_id``) joined to ``inspection`` (``branch_id``, ``at``: when it took
    place). Only findings with the result "violation" count; a compliant finding cites no problem.
    """
    finding, inspection = _table(session, INSPECTION_FINDING), _table(session, INSPECTION)
    if finding is None or inspection is None:
        return None
    needed = {"clause_code", "result", "inspection_id"} <= set(finding.c.keys())
    if not needed or not {"id", "branch_id", "at"} <= set(inspection.c.keys()):
        log.warning("the inspection tables do not have the expected columns; left out of the heat map")
        return None
    at = inspection.c.at
    counts: Tally[str] = Tally()
    for zone in all_zones:
        stmt = (
            sa_select(finding.c.clause_code, func.count())
            .select_from(finding.join(inspection, finding.c.inspection_id == inspection.c.id))
            .where(
                inspection.c.branch_id.in_(zone.branch_ids),
                at >= _db_time(at, zone.month_start),
                at < _db_time(at, zone.day_end),
                finding.c.result == "violation",
            )
            .group_by(finding.c.clause_code)
        )
        for code, n in session.execute(stmt).all():
            counts[str(code)] += int(n)
    return dict(counts)


def _db_time(column: Any, value: datetime) -> datetime:
    """A model's UTCDateTime column takes aware values; a reflected DateTime takes naive UTC."""
    return value if isinstance(column.type, UTCDateTime) else value.replace(tzinfo=None)
