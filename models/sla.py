"""Reply clocks that follow a branch's business hours (seed 二(五)2: reply within the set time).

"Within 24 hours" counts only the hours a branch is open: its business days (ISO weekdays, Monday 1),
from opening to closing, holidays excepted. A clock started while the branch is closed starts at the
next opening; a clock that runs out exactly at closing is due at closing, not at the next opening.

Pure functions, no database and no clock read. The arithmetic is done in the branch's local wall clock
one day at a time, and results are returned as aware UTC datetimes. Each open day contributes its
wall-clock hours, so a daylight-saving change (at night, outside opening hours) neither adds nor
removes business time. Known limit: a start inside the repeated hour of a DST fall-back that is also
inside opening hours is read as the first of the two hours.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_HHMM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
_ONE_DAY = timedelta(days=1)


def parse_hhmm(value: str | time) -> time:
    """``"09:00"`` -> ``time(9, 0)``; a ``time`` passes through. Raises ValueError otherwise."""
    if isinstance(value, time):
        return value
    match = _HHMM.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"time of day must be HH:MM (00:00 to 23:59), got {value!r}")
    return time(int(match.group(1)), int(match.group(2)))


@dataclass(frozen=True)
class BusinessHours:
    """When a branch is open, in its local wall clock."""

    days: frozenset[int]
    opening: time
    closing: time
    holidays: frozenset[date]

    @classmethod
    def of(
        cls,
        *,
        business_days: Iterable[int],
        opening: str | time,
        closing: str | time,
        holidays: Iterable[str | date] = (),
    ) -> BusinessHours:
        days = frozenset(business_days)
        if not days:
            raise ValueError("at least one business day is needed")
        if not days <= set(range(1, 8)):
            raise ValueError("business days are ISO weekdays, 1 (Monday) to 7 (Sunday)")
        open_at, close_at = parse_hhmm(opening), parse_hhmm(closing)
        if close_at <= open_at:
            raise ValueError("closing time must be after opening time")
        off = frozenset(d if isinstance(d, date) else date.fromisoformat(d) for d in holidays)
        return cls(days, open_at, close_at, off)

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """The day's opening hours as naive local datetimes, or None when the branch is closed."""
        if day.isoweekday() not in self.days or day in self.holidays:
            return None
        return datetime.combine(day, self.opening), datetime.combine(day, self.closing)


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("business-hours arithmetic needs an aware datetime")
    return moment.astimezone(zone).replace(tzinfo=None)


def _utc(local: datetime, zone: ZoneInfo) -> datetime:
    return local.replace(tzinfo=zone).astimezone(UTC)


def add_business_hours(
    start: datetime,
    hours: float,
    *,
    tz: str,
    business_days: Iterable[int],
    opening: str | time,
    closing: str | time,
    holidays: Iterable[str | date] = (),
) -> datetime:
    """``start`` plus ``hours`` of the branch's opening hours, as an aware UTC datetime.

    1. ``start`` is read in the branch's local time (``tz``, an IANA name such as Asia/Shanghai).
    2. Day by day from the start's date: a closed day (not a business day, or a holiday) adds nothing;
       an open day adds the part of its opening hours after the cursor.
    3. The day on which the remaining time fits is the answer: at most that day's closing.
    """
    if not math.isfinite(hours) or hours < 0:
        raise ValueError("hours must be a finite number, zero or more")
    calendar = BusinessHours.of(
        business_days=business_days, opening=opening, closing=closing, holidays=holidays
    )
    zone = ZoneInfo(tz)
    cursor = _local(start, zone)
    remaining = timedelta(hours=hours)
    day = cursor.date()
    # Terminates: at least one weekday is open and holidays are finite, so every week past the last
    # holiday takes a bite out of ``remaining``.
    while True:
        window = calendar.window(day)
        if window is not None:
            opens, closes = window
            begin = max(cursor, opens)
            if begin < closes:
                available = closes - begin
                if remaining <= available:
                    return _utc(begin + remaining, zone)
                remaining -= available
        day += _ONE_DAY
        cursor = datetime.combine(day, time.min)


def business_minutes_between(
    start: datetime,
    end: datetime,
    *,
    tz: str,
    business_days: Iterable[int],
    opening: str | time,
    closing: str | time,
    holidays: Iterable[str | date] = (),
) -> float:
    """Minutes of opening hours from ``start`` to ``end``; negative when ``end`` is earlier.

    For "time left" displays: ``business_minutes_between(now, due_at, ...)`` is the business time
    left (negative: overdue by that much). The inverse of :func:`add_business_hours`:
    ``business_minutes_between(s, add_business_hours(s, h, ...), ...) == h * 60``.
    """
    calendar = BusinessHours.of(
        business_days=business_days, opening=opening, closing=closing, holidays=holidays
    )
    zone = ZoneInfo(tz)
    if end < start:
        return -_open_minutes(_local(end, zone), _local(start, zone), calendar)
    return _open_minutes(_local(start, zone), _local(end, zone), calendar)


def _open_minutes(first: datetime, last: datetime, calendar: BusinessHours) -> float:
    total = timedelta(0)
    day = first.date()
    while day <= last.date():
        window = calendar.window(day)
        if window is not None:
            begin, finish = max(first, window[0]), min(last, window[1])
            if begin < finish:
                total += finish - begin
        day += _ONE_DAY
    return total.total_seconds() / 60
