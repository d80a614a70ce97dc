"""Time in one place: UTC everywhere inside, aware datetimes in Python, naive UTC in the database.

Every part of Rapport that needs "now" asks :func:`utcnow`, so a whole process can be run at another
time by :func:`pin` (``RAPPORT_CLOCK_AT``, for the browser tests and for trying a policy on a given
day; production refuses it). A pinned clock keeps running at the real rate from the pinned instant:
idle timeouts, throttles and job ticks behave as they do in service.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)

HEAD_OFFICE_TZ = "Asia/Shanghai"


# How far this process's clock is from the system clock (zero unless pinned).
_shift = timedelta(0)


def utcnow() -> datetime:
    return datetime.now(UTC) + _shift


def pin(at: datetime | None) -> None:
    """Make :func:`utcnow` read ``at`` now and run on from there; ``None`` follows the system clock."""
    global _shift
    if at is not None and at.tzinfo is None:
        raise ValueError("naive datetime given; pin the clock to an aware instant")
    _shift = timedelta(0) if at is None else at - datetime.now(UTC)


def parse_instant(text: str) -> datetime:
    """An ISO-8601 instant with its UTC offset ("2026-11-18T10:30:00+08:00"); ValueError otherwise."""
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        raise ValueError("give the UTC offset too, e.g. 2026-11-18T10:30:00+08:00")
    return value


def branch_zone(name: str | None) -> ZoneInfo:
    """A branch's time zone; the head office's when it has none or an unknown name (a bad value in
    the data must not break a dashboard)."""
    try:
        return ZoneInfo(name or HEAD_OFFICE_TZ)
    except (KeyError, ValueError):
        log.warning("unknown branch time zone %r; using %s", name, HEAD_OFFICE_TZ)
        return ZoneInfo(HEAD_OFFICE_TZ)


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant a local calendar day starts (zoneinfo settles days with a DST change)."""
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


# The last two times stored on SQLite and their text, (time, text, time before, its text), swapped as
# one tuple (threads share it): a tap binds its moment three times (the duty it falls in, twice, and
# the rating's own time) and the start of its presses window between them.
_LAST_TEXT: list[tuple[Any, Any, Any, Any]] = [(None, None, None, None)]
# A UTC time as stored on SQLite: "YYYY-MM-DD HH:MM:" (_MINUTE), then "SS.ffffff" (_SECONDS).
# The last two minutes a time was stored in and their text up to the seconds, (fields, text, fields
# before, its text), swapped as one tuple: a tap's moment and the start of its presses window are
# in two minutes, and the seconds alone cost half of what all seven fields do (docs/PERFORMANCE.md).
_LAST_MINUTES: list[tuple[Any, Any, Any, Any]] = [(None, None, None, None)]
_MINUTE = "%04d-%02d-%02d %02d:%02d:"
_SECONDS = "%02d.%06d"


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC (portable across SQLite and PostgreSQL) and returns aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; Rapport stores only aware UTC datetimes")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)

    # On SQLite each value went through three functions (this type's, then the dialect's string
    # formatting or parsing); the rating intake converts several per tap (docs/PERFORMANCE.md). One
    # function each way instead, storing and reading the same text: SQLAlchemy's SQLite format,
    # "YYYY-MM-DD HH:MM:SS.ffffff" (tests/unit/test_clock.py holds the two to the same result).

    def bind_processor(self, dialect: Any) -> Any:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        last, minutes = _LAST_TEXT, _LAST_MINUTES

        def to_text(value: datetime | None) -> str | None:
            if value is None:
                return None
            recent = last[0]
            if value is recent[0]:
                return recent[1]
            if value is recent[2]:
                return recent[3]
            if value.tzinfo is None:
                raise ValueError("naive datetime given; Rapport stores only aware UTC datetimes")
            utc = value if value.tzinfo is UTC else value.astimezone(UTC)
            # Python's own formatting of the fields: ``isoformat`` formats through the C library's
            # printf, about 7,000 instructions a call under callgrind (docs/PERFORMANCE.md).
            minute = (utc.year, utc.month, utc.day, utc.hour, utc.minute)
            seen = minutes[0]
            if minute == seen[0]:
                head = seen[1]
            elif minute == seen[2]:
                head = seen[3]
            else:
                head = _MINUTE % minute
                minutes[0] = (minute, head, seen[0], seen[1])
            text = head + _SECONDS % (utc.second, utc.microsecond)
            last[0] = (value, text, recent[0], recent[1])
            return text

        return to_text

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)

        # The last text read in this column and its time, as one tuple (threads share it): a
        # device's last_seen_at is the same text tap after tap (docs/PERFORMANCE.md).
        last: list[tuple[str | None, datetime | None]] = [(None, None)]

        def from_text(value: str | None) -> datetime | None:
            if value is None:
                return None
            seen = last[0]
            if value == seen[0]:
                return seen[1]
            parsed = _parsed(value)
            last[0] = (value, parsed)
            return parsed

        return from_text


def _parsed(value: str) -> datetime:
    """A time as SQLite holds it, aware in UTC."""
    try:
        parsed = datetime.fromisoformat(value + "+00:00")  # as UTC (its tzinfo UTC itself)
    except ValueError:  # not as Rapport writes it (with an offset): read it as it is
        parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:  # a date alone
        return parsed.replace(tzinfo=UTC)
    return parsed if parsed.tzinfo is UTC else parsed.astimezone(UTC)
