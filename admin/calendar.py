"""The admin app's door to the working-day calendar (models/holidays.py) and the complaint-clock
presets (models/presets.py ``PRESETS``), both shown on the rules screen.

Who may do what, as for the rules: an administrator reads and changes the deployment's calendar and
any branch's own marks, and applies a preset to any scope; a supervisor reads their own branch's
calendar and what each preset would change there; staff are refused (:class:`Forbidden`). Reads take
a read session, so browsing a year never waits for (or delays) a kiosk's tap.

Why a calendar year is imported only when asked: a deadline promised to a customer must not move
because a package was upgraded (models/holidays.py), so the screen imports a year on an
administrator's tap and says plainly when the package has no data for it
(:class:`~models.holidays.CalendarUnavailable`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, func, select

from admin import access
from admin.rules import Scope, branch_or_global, scope_of, text_of
from models import holidays as cal
from models.errors import NotFound, ValidationFailed
from models.inspection import DEFAULT_TZ
from models.org import Role
from models.presets import PRESETS, apply_preset, preset_changes
from rapport.core.context import AppContext

FIRST_YEAR, LAST_YEAR = 2000, 2100  # years a calendar may be kept for
_DAY = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?")


class CalendarRefused(ValidationFailed):
    """A refused calendar change. ``reason`` is a stable word the screen turns into a sentence
    (date, year, kind, name, nothing_marked, preset); ``values`` fills in its blanks."""

    def __init__(self, field: str, reason: str, message: str, **values: str):
        super().__init__(field, f"{field}: {message}")
        self.reason = reason
        self.values = values


@dataclass(frozen=True)
class Span:
    """A run of consecutive days with the same mark (a holiday's week is one line, not seven)."""

    first: date
    last: date
    kind: str  # holiday or workday
    name: str
    source: str  # "manual", or the package it was imported from
    own: bool  # marked in this scope; False: the deployment's mark, seen from a branch

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


@dataclass(frozen=True)
class PresetChange:
    key: str
    before: str  # as the rules form writes it (admin.rules.text_of)
    after: str


@dataclass(frozen=True)
class Preset:
    name: str  # hall, bank or generic
    changes: tuple[PresetChange, ...]  # empty: every value of the preset is already in force here


@dataclass(frozen=True)
class CalendarView:
    scope: Scope
    year: int
    years: tuple[int, ...]  # the years the screen offers (marked ones, and around today)
    spans: tuple[Span, ...]
    holidays: int  # days of the year marked holiday in force here
    workdays: int  # make-up working days in force here
    package: tuple[int, int, str]  # first and last year the package can import, and its name
    presets: tuple[Preset, ...]
    editable: bool


@dataclass(frozen=True)
class Marked:
    day: date
    kind: str
    name: str


# -- access -------------------------------------------------------------------------------------


GATE = access.Gate(access.SUPERVISION, refused="the calendar is for supervisors and administrators")
OWN_BRANCH_ONLY = "a supervisor reads the calendar of their own branch only"
EDITORS_ONLY = "only administrators change the calendar and the rules"  # Caller.require returns the actor


# -- typed input --------------------------------------------------------------------------------


def parse_day(text: str) -> date:
    """A typed day: 2026-11-21, 2026/11/21 or 2026年11月21日 (full-width digits read as ASCII)."""
    text = unicodedata.normalize("NFKC", text).strip()
    found = _DAY.fullmatch(text)
    try:
        day = date(*(int(g) for g in found.groups())) if found else None
    except ValueError:
        day = None
    if day is None:
        raise CalendarRefused("day", "date", f"{text!r} is not a date written YYYY-MM-DD", text=text)
    _year(day.year)
    return day


def _year(year: int) -> int:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise CalendarRefused(
            "year", "year", f"a calendar is kept for {FIRST_YEAR} to {LAST_YEAR}, not {year}",
            text=str(year), first=str(FIRST_YEAR), last=str(LAST_YEAR),
        )  # fmt: skip
    return year


def _preset(name: str) -> str:
    if name not in PRESETS:
        raise CalendarRefused("preset", "preset", f"unknown preset {name!r}", text=name)
    return name


# -- reading ------------------------------------------------------------------------------------


def _spans(marks: list[cal.MarkedDay], branch_id: int | None) -> tuple[Span, ...]:
    out: list[Span] = []
    for m in marks:
        own = m.branch_id == branch_id
        last = out[-1] if out else None
        if (
            last is not None
            and last.last + timedelta(days=1) == m.day
            and (last.kind, last.name, last.source, last.own) == (m.kind, m.name, m.source, own)
        ):
            out[-1] = Span(last.first, m.day, last.kind, last.name, last.source, own)
        else:
            out.append(Span(m.day, m.day, m.kind, m.name, m.source, own))
    return tuple(out)


def _marked_years(session: Session, branch_id: int | None) -> set[int]:
    scope: ColumnElement[bool] = col(cal.CalendarDay.branch_id).is_(None)
    if branch_id is not None:
        scope = scope | (col(cal.CalendarDay.branch_id) == branch_id)
    bounds = session.exec(
        select(func.min(cal.CalendarDay.day), func.max(cal.CalendarDay.day)).where(scope)
    ).one()
    if bounds[0] is None:
        return set()
    return set(range(bounds[0].year, bounds[1].year + 1))


def _presets(session: Session, branch_id: int | None) -> tuple[Preset, ...]:
    return tuple(
        Preset(
            name,
            tuple(
                PresetChange(key, text_of(before), text_of(after))
                for key, before, after in preset_changes(session, preset=name, branch_id=branch_id)
            ),
        )
        for name in PRESETS
    )


def calendar(
    ctx: AppContext, token: str, branch_id: int | None = None, year: int | None = None
) -> CalendarView:
    """A year of the calendar in force for the deployment (``branch_id`` None) or one branch, as
    runs of days, with what the presets would change there. ``year`` defaults to the current one
    in the scope's time zone."""
    user = GATE.caller(ctx, token)
    user.check_branch(branch_id, OWN_BRANCH_ONLY)
    with ctx.db.read() as session:
        branch = branch_or_global(session, branch_id)
        today = ctx.clock().astimezone(ZoneInfo(branch.timezone if branch else DEFAULT_TZ)).date()
        year = _year(year if year is not None else today.year)
        marks = cal.marked_days(session, branch_id=branch_id, year=year)
        years = {today.year - 1, today.year, today.year + 1, year} | _marked_years(session, branch_id)
        return CalendarView(
            scope=scope_of(branch),
            year=year,
            years=tuple(sorted(y for y in years if FIRST_YEAR <= y <= LAST_YEAR)),
            spans=_spans(marks, branch_id),
            holidays=sum(m.kind == "holiday" for m in marks),
            workdays=sum(m.kind == "workday" for m in marks),
            package=cal.package_years(),
            presets=_presets(session, branch_id),
            editable=user.is_admin,
        )


# -- writing ------------------------------------------------------------------------------------


def import_year(ctx: AppContext, token: str, branch_id: int | None, year: int) -> cal.Imported:
    """Fill a year of a scope from the calendar package (administrators); days set by hand stay.
    Raises :class:`~models.holidays.CalendarUnavailable` for a year the package does not cover."""
    actor = GATE.caller(ctx, token).require(Role.admin, message=EDITORS_ONLY)
    with ctx.db.write() as session:
        branch_or_global(session, branch_id)
        return cal.import_year(
            session, year=_year(year), branch_id=branch_id, actor_staff_id=actor, now=ctx.clock()
        )


def mark_day(
    ctx: AppContext, token: str, branch_id: int | None, day: str, kind: str, name: str = ""
) -> Marked:
    """Mark a typed day a holiday or a make-up working day in a scope (administrators), replacing
    that scope's mark of the day if it had one."""
    actor = GATE.caller(ctx, token).require(Role.admin, message=EDITORS_ONLY)
    with ctx.db.write() as session:
        branch_or_global(session, branch_id)
        when = parse_day(day)
        if kind not in cal.KINDS:
            raise CalendarRefused("kind", "kind", f"a day is a holiday or a workday, not {kind!r}", text=kind)
        name = unicodedata.normalize("NFC", name).strip()
        if len(name) > 64:
            raise CalendarRefused("name", "name", "a day's name is at most 64 characters", n="64")
        cal.set_day(
            session, day=when, kind=kind, name=name, branch_id=branch_id, actor_staff_id=actor,
            now=ctx.clock(),
        )  # fmt: skip
        return Marked(when, kind, name)


def clear_days(ctx: AppContext, token: str, branch_id: int | None, first: date, last: date) -> int:
    """Drop a scope's marks from ``first`` to ``last`` (administrators): the days go back to what
    their weekday, or the deployment's calendar, says. Returns how many marks went."""
    actor = GATE.caller(ctx, token).require(Role.admin, message=EDITORS_ONLY)
    with ctx.db.write() as session:
        branch_or_global(session, branch_id)
        try:
            return cal.clear_days(
                session, first=first, last=last, branch_id=branch_id, actor_staff_id=actor, now=ctx.clock()
            )  # fmt: skip
        except NotFound:
            raise CalendarRefused(
                "day", "nothing_marked", "no day of this range has a mark here", text=first.isoformat()
            ) from None


def use_preset(ctx: AppContext, token: str, branch_id: int | None, preset: str) -> tuple[str, ...]:
    """Store a preset's clock settings as a scope's own rules (administrators): one audited policy
    change naming the preset. Returns the settings whose value in force changed (empty: none did,
    and nothing was written)."""
    actor = GATE.caller(ctx, token).require(Role.admin, message=EDITORS_ONLY)
    with ctx.db.write() as session:
        branch_or_global(session, branch_id)
        changes = preset_changes(session, preset=_preset(preset), branch_id=branch_id)
        if not changes:
            return ()
        apply_preset(session, preset=preset, branch_id=branch_id, actor_staff_id=actor, now=ctx.clock())
        return tuple(key for key, _before, _after in changes)
