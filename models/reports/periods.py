"""Periods in local time, and the rating filters every dashboard query shares.

Branches are grouped by time zone (:class:`Zone`, :func:`zones`) and each group has its own UTC
boundaries for today and this month, computed here in Python (zoneinfo) so the same SQL runs on
SQLite and PostgreSQL; the helpers below turn them into ``WHERE`` clauses on ix_rating_branch_created,
fetch closed days from the roll-up (models/rollup.py) and pack (branch, counter, score) into one
integer key. Kept apart from the figures so :mod:`models.reports.ratings` and
:mod:`models.reports.clauses` use one definition of a period.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Integer, and_, func, literal_column, or_
from sqlmodel import Session, col, select

from models import rollup
from models.clock import branch_zone, local_midnight
from models.org import Branch
from models.rating import Rating


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
