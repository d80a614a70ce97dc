"""Working days and day-based deadlines, as China's rules count them (docs/RULES-CITED.md §3).

Why this is apart from :mod:`models.sla`: opening hours decide when a clock that runs "in opening
hours" ticks; working days decide a deadline counted in days. A hall that opens on Saturday morning
still counts "5 working days" in 工作日 only.

1. A working day (工作日) is Monday to Friday, minus statutory holidays, plus the make-up working
   days (调休) that each year's State Council notice moves onto weekends. Both lists are data
   (:class:`WorkCalendar`), loaded per year (``rapport calendar import``), never guessed.
2. A period counted in days starts the day after the event (民法典 §201): a case filed on Monday at
   16:00 with "5 working days" has Tuesday as its first day.
3. Working days: the N-th working day after the event is the last day. Calendar days: the N-th day
   after the event is the last day, and if that day is not a working day (a statutory holiday or a
   weekend), the period ends on the next working day instead (民法典 §203).
4. The period ends at the branch's close of business on its last day, or at 24:00 (by policy). The
   close of business is the end of that day's last opening window; a last day with no opening
   hours of its own ends at the policy's closing time.

Pure functions, no database and no clock read; answers are aware UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

Counting = Literal["working_days", "calendar_days"]
Ends = Literal["close", "midnight"]
# Far enough for any policy (365 days, extended twice) plus long holidays; stops a calendar that
# marks every day a holiday from looping for ever.
_SEARCH_LIMIT_DAYS = 3 * 366


class NoWorkingDay(ValueError):
    """The calendar has no working day within the search limit (every day marked a holiday)."""


@dataclass(frozen=True)
class WorkCalendar:
    """Which days are working days: weekdays not on holiday, and the make-up days on weekends.

    ``holidays`` and ``workdays`` are kept disjoint by :meth:`of` (a day marked both is a holiday:
    a branch that is shut cannot be worked at)."""

    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)

    @classmethod
    def of(cls, *, holidays: Iterable[date | str] = (), workdays: Iterable[date | str] = ()) -> WorkCalendar:
        off = frozenset(_day(d) for d in holidays)
        on = frozenset(_day(d) for d in workdays) - off
        return cls(off, on)

    def is_working_day(self, day: date) -> bool:
        if day in self.holidays:
            return False
        return day in self.workdays or day.isoweekday() <= 5

    def next_working_day(self, day: date) -> date:
        """``day`` itself when it is a working day, else the first working day after it."""
        for _ in range(_SEARCH_LIMIT_DAYS):
            if self.is_working_day(day):
                return day
            day += timedelta(days=1)
        raise NoWorkingDay(f"no working day within {_SEARCH_LIMIT_DAYS} days of {day.isoformat()}")


def _day(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def last_day(filed: date, days: int, *, counting: Counting, calendar: WorkCalendar) -> date:
    """The last day of a period of ``days`` counted from the day after ``filed`` (steps 2–3)."""
    if days < 1:
        raise ValueError("a period in days is at least 1 day long")
    if counting == "calendar_days":
        return calendar.next_working_day(filed + timedelta(days=days))
    day, counted = filed, 0
    for _ in range(days * 7 + _SEARCH_LIMIT_DAYS):
        day += timedelta(days=1)
        if calendar.is_working_day(day):
            counted += 1
            if counted == days:
                return day
    raise NoWorkingDay(f"fewer than {days} working days within reach after {filed.isoformat()}")


def day_deadline(
    start: datetime,
    days: int,
    *,
    counting: Counting,
    calendar: WorkCalendar,
    tz: str,
    ends: Ends,
    closing: time,
    closing_on: Callable[[date], time | None] | None = None,
) -> datetime:
    """When a period of ``days`` working or calendar days from ``start`` ends (steps 2–4), in UTC.

    ``closing`` is the close of business; ``closing_on(day)`` may give a day's own (the end of its
    last opening window), None meaning it has no hours of its own."""
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("a deadline needs an aware datetime")
    zone = ZoneInfo(tz)
    filed = start.astimezone(zone).date()
    final = last_day(filed, days, counting=counting, calendar=calendar)
    if ends == "midnight":
        local = datetime.combine(final + timedelta(days=1), time.min)
    else:
        own = closing_on(final) if closing_on is not None else None
        local = datetime.combine(final, own or closing)
    return local.replace(tzinfo=zone).astimezone(UTC)
