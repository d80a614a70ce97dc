"""Reply clocks that follow a branch's business hours (conduct code §2.5.2: reply within the set time).

"Within 24 hours" counts only the hours a branch is open: its business days (ISO weekdays, Monday 1),
from opening to closing (or in each of a weekday's windows, a lunch break between them), holidays
excepted and make-up working days (调休) open. Day-based deadlines ("5 working days") are counted
by :mod:`models.workdays` instead. A clock started while the branch is closed starts at the
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


Span = tuple[time, time]
_WEEK_PART = re.compile(r"([1-7])(?:-([1-7]))?((?:\s+\S+)+)")


def parse_weekly(text: str) -> tuple[tuple[Span, ...], ...]:
    """Opening hours per ISO weekday from ``"1-5 09:00-12:00 13:30-17:00; 6 09:00-12:00"``.

    Parts are separated by ``;``; each names a weekday or a range of them (Monday 1) and one or more
    ``HH:MM-HH:MM`` windows, in order and not overlapping (a lunch break is the gap between two).
    A weekday no part names is closed. Raises ValueError with the part at fault."""
    week: list[tuple[Span, ...]] = [()] * 7
    parts = [p.strip() for p in text.split(";") if p.strip()]
    if not parts:
        raise ValueError("opening hours name at least one weekday, e.g. 1-5 09:00-17:00")
    for part in parts:
        match = _WEEK_PART.fullmatch(part)
        if match is None:
            raise ValueError(f"{part!r}: write a weekday or range (1 is Monday) and HH:MM-HH:MM windows")
        first, last = int(match.group(1)), int(match.group(2) or match.group(1))
        if last < first:
            raise ValueError(f"{part!r}: the weekday range runs backwards")
        spans: list[Span] = []
        for window in match.group(3).split():
            opens, sep, closes = window.partition("-")
            if not sep:
                raise ValueError(f"{part!r}: {window!r} is not a window like 09:00-12:00")
            span = (parse_hhmm(opens), parse_hhmm(closes))
            if span[1] <= span[0]:
                raise ValueError(f"{part!r}: {window!r} closes before it opens")
            if spans and span[0] < spans[-1][1]:
                raise ValueError(f"{part!r}: windows must be in order and not overlap")
            spans.append(span)
        for weekday in range(first, last + 1):
            if week[weekday - 1]:
                raise ValueError(f"{part!r}: weekday {weekday} is named twice")
            week[weekday - 1] = tuple(spans)
    return tuple(week)


def format_weekly(week: tuple[tuple[Span, ...], ...]) -> str:
    """The inverse of :func:`parse_weekly`, runs of equal weekdays joined (``1-5 09:00-17:00``)."""
    parts: list[str] = []
    day = 1
    while day <= 7:
        spans = week[day - 1]
        last = day
        while last < 7 and week[last] == spans:
            last += 1
        if spans:
            windows = " ".join(f"{a:%H:%M}-{b:%H:%M}" for a, b in spans)
            parts.append(f"{day}-{last} {windows}" if last > day else f"{day} {windows}")
        day = last + 1
    return "; ".join(parts)


@dataclass(frozen=True)
class BusinessHours:
    """When a branch is open, in its local wall clock: opening windows per ISO weekday (Monday 1),
    none on holidays; a make-up working day (调休) on a weekend opens with a full working day's
    hours (the first of Monday to Friday that has any)."""

    week: tuple[tuple[Span, ...], ...]
    holidays: frozenset[date]
    workdays: frozenset[date] = frozenset()

    @classmethod
    def of(
        cls,
        *,
        business_days: Iterable[int] = (1, 2, 3, 4, 5, 6),
        opening: str | time = "09:00",
        closing: str | time = "17:00",
        holidays: Iterable[str | date] = (),
        workdays: Iterable[str | date] = (),
        weekly: str = "",
    ) -> BusinessHours:
        off = frozenset(d if isinstance(d, date) else date.fromisoformat(d) for d in holidays)
        on = frozenset(d if isinstance(d, date) else date.fromisoformat(d) for d in workdays) - off
        if weekly.strip():
            week = parse_weekly(weekly)
            if not any(week):
                raise ValueError("at least one business day is needed")
            return cls(week, off, on)
        days = frozenset(business_days)
        if not days:
            raise ValueError("at least one business day is needed")
        if not days <= set(range(1, 8)):
            raise ValueError("business days are ISO weekdays, 1 (Monday) to 7 (Sunday)")
        open_at, close_at = parse_hhmm(opening), parse_hhmm(closing)
        if close_at <= open_at:
            raise ValueError("closing time must be after opening time")
        span = ((open_at, close_at),)
        return cls(tuple(span if d in days else () for d in range(1, 8)), off, on)

    def spans(self, day: date) -> tuple[Span, ...]:
        if day in self.holidays:
            return ()
        if day in self.workdays and day.isoweekday() >= 6:
            return next((s for s in self.week[:5] if s), self.week[day.isoweekday() - 1])
        return self.week[day.isoweekday() - 1]

    def windows(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The day's opening windows as naive local datetimes; empty when the branch is closed."""
        return tuple((datetime.combine(day, a), datetime.combine(day, b)) for a, b in self.spans(day))

    def closing_on(self, day: date) -> time | None:
        """The close of business on ``day`` (the end of its last window), or None when closed."""
        spans = self.spans(day)
        return spans[-1][1] if spans else None


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
    workdays: Iterable[str | date] = (),
    weekly: str = "",
) -> datetime:
    """``start`` plus ``hours`` of the branch's opening hours, as an aware UTC datetime.

    1. ``start`` is read in the branch's local time (``tz``, an IANA name such as Asia/Shanghai).
    2. Day by day from the start's date: a closed day (not a business day, or a holiday) adds nothing;
       an open day adds the part of each of its opening windows after the cursor (a lunch break
       adds nothing).
    3. The day on which the remaining time fits is the answer: at most that day's closing.
    """
    if not math.isfinite(hours) or hours < 0:
        raise ValueError("hours must be a finite number, zero or more")
    calendar = BusinessHours.of(
        business_days=business_days, opening=opening, closing=closing, holidays=holidays,
        workdays=workdays, weekly=weekly,
    )  # fmt: skip
    return add_open_hours(start, hours, tz=tz, calendar=calendar)


def add_open_hours(start: datetime, hours: float, *, tz: str, calendar: BusinessHours) -> datetime:
    """:func:`add_business_hours` with the opening hours already built (a caller that counts many
    clocks on the same hours builds them once)."""
    if not math.isfinite(hours) or hours < 0:
        raise ValueError("hours must be a finite number, zero or more")
    zone = ZoneInfo(tz)
    cursor = _local(start, zone)
    remaining = timedelta(hours=hours)
    day = cursor.date()
    # Terminates: at least one weekday is open and holidays are finite, so every week past the last
    # holiday takes a bite out of ``remaining``.
    while True:
        for opens, closes in calendar.windows(day):
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
    workdays: Iterable[str | date] = (),
    weekly: str = "",
) -> float:
    """Minutes of opening hours from ``start`` to ``end``; negative when ``end`` is earlier.

    For "time left" displays: ``business_minutes_between(now, due_at, ...)`` is the business time
    left (negative: overdue by that much). The inverse of :func:`add_business_hours`:
    ``business_minutes_between(s, add_business_hours(s, h, ...), ...) == h * 60``.
    """
    calendar = BusinessHours.of(
        business_days=business_days, opening=opening, closing=closing, holidays=holidays,
        workdays=workdays, weekly=weekly,
    )  # fmt: skip
    zone = ZoneInfo(tz)
    if end < start:
        return -_open_minutes(_local(end, zone), _local(start, zone), calendar)
    return _open_minutes(_local(start, zone), _local(end, zone), calendar)


def _open_minutes(first: datetime, last: datetime, calendar: BusinessHours) -> float:
    total = timedelta(0)
    day = first.date()
    while day <= last.date():
        for opens, closes in calendar.windows(day):
            begin, finish = max(first, opens), min(last, closes)
            if begin < finish:
                total += finish - begin
        day += _ONE_DAY
    return total.total_seconds() / 60
