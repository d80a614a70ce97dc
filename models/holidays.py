"""The working-day calendar as data: statutory holidays and make-up working days (调休), per year.

Why data and not a package call at run time: each year's State Council notice moves days about, and
a deadline promised to a customer must never move because a package was upgraded. So a year is
copied into the database once, on purpose (``rapport calendar import YEAR``, from the
``chinese-calendar`` package), and administrators correct or add days by hand.

1. A row is one day in one scope: the whole deployment (``branch_id`` NULL) or one branch, marked
   ``holiday`` (shut, though a weekday) or ``workday`` (worked, though a weekend). A day with no row
   is what its weekday says.
2. A branch's calendar is the deployment's rows overlaid by the branch's own (a region that keeps a
   local holiday, or works a day the rest does not); the policy's own ``holidays`` list (days a branch
   is shut, e.g. for works) is added as holidays on top.
3. Importing a year replaces that scope's imported rows for that year and leaves days set by hand
   alone; every import and every change is an audit entry.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from importlib import metadata
from typing import Any, Literal

from sqlalchemy import CheckConstraint, Column, ColumnElement, Index, bindparam, text
from sqlalchemy.engine import Dialect
from sqlmodel import Field, Session, SQLModel, col, select

import models.base  # noqa: F401  (naming convention first)
from models import audit
from models.clock import UTCDateTime, utcnow
from models.errors import NotFound, ValidationFailed
from models.prepared import Prepared
from models.workdays import WorkCalendar

DayKind = Literal["holiday", "workday"]
KINDS: tuple[DayKind, ...] = ("holiday", "workday")
MANUAL = "manual"


class CalendarDay(SQLModel, table=True):
    __tablename__ = "calendar_day"
    __table_args__ = (
        CheckConstraint("kind IN ('holiday', 'workday')", name="kind"),
        # One row per day and scope; NULL (the deployment) is a scope of its own.
        Index(
            "uq_calendar_day_deployment",
            "day",
            unique=True,
            sqlite_where=text("branch_id IS NULL"),
            postgresql_where=text("branch_id IS NULL"),
        ),  # fmt: skip
        Index("uq_calendar_day_branch", "branch_id", "day", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    branch_id: int | None = Field(default=None, foreign_key="branch.id")
    day: date
    kind: str = Field(max_length=8)
    name: str = Field(default="", max_length=64)
    source: str = Field(default=MANUAL, max_length=64)  # "manual", or "chinese-calendar 1.11.0"
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    updated_by: int | None = Field(default=None, foreign_key="staff.id")


class CalendarUnavailable(ValidationFailed):
    """The calendar package has no data for the year asked for."""

    code = "calendar_unavailable"


@dataclass(frozen=True)
class Imported:
    year: int
    holidays: int
    workdays: int
    kept_manual: int  # days of that year set by hand, left as they were
    source: str


def _scope(branch_id: int | None) -> ColumnElement[bool]:
    return (
        col(CalendarDay.branch_id).is_(None) if branch_id is None else col(CalendarDay.branch_id) == branch_id
    )


def published_year(year: int) -> tuple[dict[date, str], dict[date, str], str]:
    """(holidays, make-up working days, source) of ``year`` from the ``chinese-calendar`` package.

    Raises :class:`CalendarUnavailable` naming the years it does cover when ``year`` is not one."""
    from chinese_calendar import constants

    version = metadata.version("chinese-calendar")
    years = {d.year for d in constants.holidays} | {d.year for d in constants.workdays}
    if year not in years:
        raise CalendarUnavailable(
            "year",
            f"chinese-calendar {version} has no holidays for {year} (it covers {min(years)} to "
            f"{max(years)}); enter that year's days by hand on the rules screen, or upgrade the package "
            f"once the State Council has published them",
        )
    off = {d: str(n) for d, n in constants.holidays.items() if d.year == year}
    on = {d: str(n) for d, n in constants.workdays.items() if d.year == year}
    return off, on, f"chinese-calendar {version}"


def package_years() -> tuple[int, int, str]:
    """(first year, last year, "chinese-calendar X.Y.Z"): what the installed package can import."""
    from chinese_calendar import constants

    years = {d.year for d in constants.holidays} | {d.year for d in constants.workdays}
    return min(years), max(years), f"chinese-calendar {metadata.version('chinese-calendar')}"


def import_year(
    session: Session,
    *,
    year: int,
    branch_id: int | None = None,
    actor_staff_id: int | None = None,
    now: datetime | None = None,
) -> Imported:
    """Copy ``year`` from the package into a scope (step 3); commits."""
    off, on, source = published_year(year)
    now = now or utcnow()
    rows = session.exec(
        select(CalendarDay).where(
            _scope(branch_id),
            col(CalendarDay.day) >= date(year, 1, 1),
            col(CalendarDay.day) <= date(year, 12, 31),
        )
    ).all()
    manual = {r.day for r in rows if r.source == MANUAL}
    for row in rows:
        if row.source != MANUAL:
            session.delete(row)
    session.flush()
    counts = {"holiday": 0, "workday": 0}
    for kind, days in (("holiday", off), ("workday", on)):
        for day, name in sorted(days.items()):
            if day in manual:
                continue
            session.add(
                CalendarDay(branch_id=branch_id, day=day, kind=kind, name=name[:64], source=source,
                            updated_at=now, updated_by=actor_staff_id)
            )  # fmt: skip
            counts[kind] += 1
    kept = len(manual & (off.keys() | on.keys()))
    audit.append(
        session, action="calendar.import", entity="calendar", entity_id=year, actor_staff_id=actor_staff_id,
        now=now, details={"branch": branch_id, "source": source, **counts, "kept_manual": kept},
    )  # fmt: skip
    session.commit()
    return Imported(year, counts["holiday"], counts["workday"], kept, source)


def set_day(
    session: Session,
    *,
    day: date,
    kind: str | None,
    name: str = "",
    branch_id: int | None = None,
    actor_staff_id: int | None = None,
    now: datetime | None = None,
) -> None:
    """Mark ``day`` a holiday or a make-up working day in a scope, or (``kind`` None) drop the
    scope's mark so the day is what its weekday (or the deployment) says; audited, commits."""
    if kind is not None and kind not in KINDS:
        raise ValidationFailed("kind", f"a calendar day is a holiday or a workday, not {kind!r}")
    name = name.strip()
    if len(name) > 64:
        raise ValidationFailed("name", "a day's name is at most 64 characters")
    now = now or utcnow()
    row = session.exec(select(CalendarDay).where(_scope(branch_id), col(CalendarDay.day) == day)).first()
    if kind is None:
        if row is None:
            raise NotFound(f"{day.isoformat()} has no mark in this calendar")
        session.delete(row)
    else:
        row = row or CalendarDay(branch_id=branch_id, day=day, kind=kind)
        row.kind, row.name, row.source, row.updated_at, row.updated_by = (
            kind,
            name,
            MANUAL,
            now,
            actor_staff_id,
        )
        session.add(row)
    audit.append(
        session, action="calendar.set", entity="calendar", entity_id=day.isoformat(),
        actor_staff_id=actor_staff_id, now=now, details={"branch": branch_id, "kind": kind},
    )  # fmt: skip
    session.commit()


def clear_days(
    session: Session,
    *,
    first: date,
    last: date,
    branch_id: int | None = None,
    actor_staff_id: int | None = None,
    now: datetime | None = None,
) -> int:
    """Drop every mark of one scope from ``first`` to ``last`` (a holiday's run of days, say) in one
    transaction with one audit entry; returns how many went. A range with no mark is :class:`NotFound`."""
    if last < first:
        raise ValidationFailed("last", "the last day of a range is not before its first")
    rows = session.exec(
        select(CalendarDay).where(
            _scope(branch_id), col(CalendarDay.day) >= first, col(CalendarDay.day) <= last
        )
    ).all()
    if not rows:
        raise NotFound(f"no day from {first.isoformat()} to {last.isoformat()} has a mark in this calendar")
    for row in rows:
        session.delete(row)
    audit.append(
        session, action="calendar.clear", entity="calendar", entity_id=first.isoformat(),
        actor_staff_id=actor_staff_id, now=now or utcnow(),
        details={"branch": branch_id, "first": first.isoformat(), "last": last.isoformat(),
                 "days": len(rows)},
    )  # fmt: skip
    session.commit()
    return len(rows)


@dataclass(frozen=True)
class MarkedDay:
    day: date
    kind: str
    name: str
    source: str
    branch_id: int | None  # where the mark in force comes from


def marked_days(session: Session, *, branch_id: int | None, year: int | None = None) -> list[MarkedDay]:
    """The marks in force for a scope (the deployment's overlaid by the branch's), by day."""
    stmt = select(CalendarDay).where(
        col(CalendarDay.branch_id).is_(None)
        if branch_id is None
        else (col(CalendarDay.branch_id).is_(None) | (col(CalendarDay.branch_id) == branch_id))
    )
    if year is not None:
        stmt = stmt.where(
            col(CalendarDay.day) >= date(year, 1, 1), col(CalendarDay.day) <= date(year, 12, 31)
        )
    merged: dict[date, MarkedDay] = {}
    for row in sorted(session.exec(stmt).all(), key=lambda r: r.branch_id is not None):
        merged[row.day] = MarkedDay(row.day, row.kind, row.name, row.source, row.branch_id)
    return [merged[d] for d in sorted(merged)]


def work_calendar(
    session: Session, branch_id: int | None, extra_holidays: Iterable[str] = ()
) -> WorkCalendar:
    """The branch's working-day calendar (step 2), ready for :mod:`models.workdays`."""
    marks = marked_days(session, branch_id=branch_id)
    off = [m.day for m in marks if m.kind == "holiday"] + [date.fromisoformat(d) for d in extra_holidays]
    on = [m.day for m in marks if m.kind == "workday"]
    return WorkCalendar.of(holidays=off, workdays=on)


# -- the same calendar on the driver's connection, for a complaint filed from a device ---------------

# The marks of a branch's calendar from a day on, as the driver returns them (branch_id, day, kind):
# the cache key.
_MARKS = Prepared(
    lambda _d: select(col(CalendarDay.branch_id), col(CalendarDay.day), col(CalendarDay.kind)).where(
        col(CalendarDay.branch_id).is_(None) | (col(CalendarDay.branch_id) == bindparam("branch_id")),
        col(CalendarDay.day) >= bindparam("since", type_=CalendarDay.__table__.c.day.type),  # type: ignore[attr-defined]
    )
)
# Calendars by the rows they were built from. Reading a branch's marks is one indexed query of a few
# dozen rows a year; building the calendar from them (dates parsed, the branch's marks laid over the
# deployment's) is what costs, and the marks change only when an administrator edits them or
# imports a year. Keyed by the rows themselves, not a version, so a changed, added or removed mark
# (by this process or any other) is never answered from here.
_CALENDARS: dict[tuple[Any, ...], WorkCalendar] = {}
_CALENDARS_MAX = 256


def work_calendar_on(
    conn: Any, dialect: Dialect, branch_id: int, extra_holidays: Iterable[str] = (), *, since: date = date.min
) -> WorkCalendar:
    """:func:`work_calendar` on the driver's connection (:mod:`models.prepared`), in the caller's
    transaction: the same marks, merged the same way, built once per distinct set of marks. With
    ``since``, only the marks from that day on (a deadline counted from a day never looks at an
    earlier one, and a calendar of years keeps its past): the calendar answers for those days."""
    cursor = _MARKS.execute(conn, dialect, {"branch_id": branch_id, "since": since})
    try:
        rows = tuple(cursor.fetchall())
    finally:
        cursor.close()
    key = (rows, tuple(extra_holidays))
    calendar = _CALENDARS.get(key)
    if calendar is None:
        merged: dict[date, str] = {}
        # The deployment's marks first, then the branch's over them (as marked_days does).
        for _branch, day, kind in sorted(rows, key=lambda r: r[0] is not None):
            merged[day if isinstance(day, date) else date.fromisoformat(str(day))] = str(kind)
        off = [d for d, k in merged.items() if k == "holiday"] + [date.fromisoformat(d) for d in key[1]]
        on = [d for d, k in merged.items() if k == "workday"]
        calendar = WorkCalendar.of(holidays=off, workdays=on)
        if len(_CALENDARS) >= _CALENDARS_MAX:
            _CALENDARS.clear()
        _CALENDARS[key] = calendar
    return calendar
