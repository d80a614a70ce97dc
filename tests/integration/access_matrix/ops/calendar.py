"""admin/calendar.py: the working-day calendar and the clock presets."""

from __future__ import annotations

from datetime import date
from typing import Any

from admin import calendar as calendar_desk
from models.org import Role
from tests.integration.access_matrix.cells import ADMIN, SUPERVISION, Actor, Cell, Op, changed
from tests.integration.access_matrix.common import _only_rows, _policy_of, on_branch, plain
from tests.integration.access_matrix.world import Env

# the working-day calendar and the clock presets: read like the rules, changed by administrators only


def check_calendar(c: Cell, v: calendar_desk.CalendarView) -> None:
    assert v.scope.branch_id == c.bid and v.year == 2026, (v.scope, v.year)
    assert [(s.first, s.kind, s.own) for s in v.spans] == [(date(2026, 11, 21), "workday", True)], v.spans
    assert {p.name for p in v.presets} == {"hall", "bank", "generic"}
    assert v.editable == (c.actor.role is Role.admin)


def check_global_calendar(c: Cell, v: calendar_desk.CalendarView) -> None:
    assert v.scope.branch_id is None and v.editable and v.spans == (), v


def check_import_calendar(c: Cell, r: Any) -> None:
    assert (r.year, r.workdays) == (2026, 6) and r.holidays > 20, r
    rows = c.added("calendar_day")
    assert len(rows) == r.holidays + r.workdays and {x["branch_id"] for x in rows} == {c.bid}
    audit = [(a["action"], a["actor_staff_id"]) for a in c.added("audit_event")]
    assert audit == [("calendar.import", c.caller)], audit


def check_mark_day(c: Cell, r: calendar_desk.Marked) -> None:
    assert (r.day, r.kind) == (date(2026, 11, 28), "workday"), r
    [row] = c.added("calendar_day")
    assert (row["branch_id"], row["day"], row["updated_by"]) == (c.bid, date(2026, 11, 28), c.caller), row
    assert changed(c.before, c.after) == {"calendar_day", "audit_event"}


def check_clear_days(c: Cell, n: int) -> None:
    assert n == 1 and [r["branch_id"] for r in c.removed("calendar_day")] == [c.bid]
    assert changed(c.before, c.after) == {"calendar_day", "audit_event"}


def check_use_preset(c: Cell, keys: tuple[str, ...]) -> None:
    assert "sla_clock" in keys and _policy_of(c, c.bid)["sla_clock"] == "working_days", keys
    _only_rows(c, "policy", "branch_id", {c.bid})
    [audit] = c.added("audit_event")
    assert (audit["actor_staff_id"], audit["details"].get("preset")) == (c.caller, "hall"), audit


def make_up_day(env: Env, _actor: Actor, target: str | None) -> None:
    """Saturday 2026-11-21 worked at the target branch only."""
    from models.holidays import set_day

    with env.db.write() as s:
        set_day(s, day=date(2026, 11, 21), kind="workday", branch_id=env.branch[target or ""])


CALENDAR_OPS = [
    Op("calendar.calendar (a branch)", calendar_desk.calendar, SUPERVISION,
       on_branch(calendar_desk.calendar, year=2026), check_calendar, scoped=True, prepare=make_up_day),
    Op("calendar.calendar (global)", calendar_desk.calendar, ADMIN,
       plain(calendar_desk.calendar, year=2026), check_global_calendar),
    Op("calendar.import_year", calendar_desk.import_year, ADMIN,
       on_branch(calendar_desk.import_year, year=2026), check_import_calendar, scoped=True),
    Op("calendar.mark_day", calendar_desk.mark_day, ADMIN,
       on_branch(calendar_desk.mark_day, day="2026-11-28", kind="workday"), check_mark_day, scoped=True),
    Op("calendar.clear_days", calendar_desk.clear_days, ADMIN,
       on_branch(calendar_desk.clear_days, first=date(2026, 11, 21), last=date(2026, 11, 21)),
       check_clear_days, scoped=True, prepare=make_up_day),
    Op("calendar.use_preset", calendar_desk.use_preset, ADMIN,
       on_branch(calendar_desk.use_preset, preset="hall"), check_use_preset, scoped=True),
]  # fmt: skip
