"""`rapport calendar`, `rapport policy preset` and `rapport sla due`: the complaint clocks from the
command line, for scripted roll-outs and for checking a policy before a holiday (docs/OPERATIONS.md).

Registered on the main command by :mod:`rapport.entry.cli`; the helpers it shares (settings checked,
database migrated, branch codes) come from :mod:`rapport.entry.cli_common`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

calendar_app = typer.Typer(no_args_is_help=True, help="Statutory holidays and make-up working days.")
policy_app = typer.Typer(no_args_is_help=True, help="The rules (policy) of the deployment or a branch.")
sla_app = typer.Typer(no_args_is_help=True, help="Complaint clocks.")

BranchOption = Annotated[
    str | None, typer.Option("--branch", help="Branch code, e.g. BJ-RM (default: the whole deployment).")
]


def register(app: typer.Typer) -> None:
    app.add_typer(calendar_app, name="calendar")
    app.add_typer(policy_app, name="policy")
    app.add_typer(sla_app, name="sla")


def _branch_id(ctx: object, code: str | None) -> tuple[int | None, str]:
    from rapport.entry.cli_common import branch_by_code as _branch_by_code

    if code is None:
        return None, "the whole deployment"
    branch_id, _tz = _branch_by_code(ctx, code)  # type: ignore[arg-type]
    return branch_id, code


@calendar_app.command("import")
def calendar_import(
    year: Annotated[int, typer.Argument(help="The year, e.g. 2026.")],
    branch: BranchOption = None,
) -> None:
    """Copy a year's statutory holidays and make-up working days from the chinese-calendar package
    into the database (days set by hand are kept). Deadlines then never move with a package upgrade."""
    from models.holidays import CalendarUnavailable, import_year
    from rapport.entry.cli_common import fail as _fail
    from rapport.entry.cli_common import open_context as _context

    ctx = _context()
    branch_id, scope = _branch_id(ctx, branch)
    try:
        with ctx.db.write() as session:
            done = import_year(session, year=year, branch_id=branch_id, now=ctx.clock())
    except CalendarUnavailable as exc:
        raise _fail(f"{exc}.") from None
    kept = f"; {done.kept_manual} days set by hand kept" if done.kept_manual else ""
    print(
        f"Imported {year} for {scope} from {done.source}: {done.holidays} holidays, "
        f"{done.workdays} make-up working days{kept}."
    )


@calendar_app.command("show")
def calendar_show(
    year: Annotated[int, typer.Argument(help="The year, e.g. 2026.")],
    branch: BranchOption = None,
) -> None:
    """List the holidays and make-up working days in force for a year."""
    from models.holidays import marked_days
    from rapport.entry.cli_common import open_context as _context

    ctx = _context()
    branch_id, scope = _branch_id(ctx, branch)
    with ctx.db.read() as session:
        days = marked_days(session, branch_id=branch_id, year=year)
    if not days:
        print(f"No holidays or make-up working days for {year} in {scope}: `rapport calendar import {year}`.")
        return
    for d in days:
        where = "" if d.branch_id is None or branch_id is None else "  (this branch)"
        print(f"{d.day.isoformat()} {d.day:%a}  {d.kind:<8} {d.name}{where}")


@policy_app.command("preset")
def policy_preset(
    name: Annotated[str, typer.Argument(help="hall (政务服务大厅), bank (银行网点) or generic.")],
    branch: BranchOption = None,
) -> None:
    """Apply a named set of complaint-clock values; prints each value that changes (audited)."""
    from models.errors import ValidationFailed
    from models.presets import PRESETS, apply_preset, preset_changes
    from rapport.entry.cli_common import fail as _fail
    from rapport.entry.cli_common import open_context as _context

    if name not in PRESETS:
        raise _fail(f"unknown preset {name!r}: choose one of {', '.join(PRESETS)}.")
    ctx = _context()
    branch_id, scope = _branch_id(ctx, branch)
    with ctx.db.write() as session:
        changes = preset_changes(session, preset=name, branch_id=branch_id)
        try:
            apply_preset(session, preset=name, branch_id=branch_id)
        except ValidationFailed as exc:
            raise _fail(f"the preset does not fit {scope}'s other rules: {exc}") from None
    if not changes:
        print(f"Preset {name} applied to {scope}: its values were already in force.")
        return
    print(f"Preset {name} applied to {scope}:")
    for key, before, after in changes:
        print(f"  {key}: {before} -> {after}")


CLOCK_WORDS = {
    "opening_hours": "opening hours",
    "hours": "hours",
    "working_days": "working days",
    "calendar_days": "calendar days",
}


@sla_app.command("due")
def sla_due(
    branch: Annotated[str, typer.Option("--branch", help="Branch code, e.g. BJ-RM.")],
    filed: Annotated[
        str,
        typer.Option(
            help="When the case is filed: 2026-11-30T16:00 (branch time) "
            "or with an offset, 2026-11-30T16:00+08:00."
        ),
    ],
    clock: Annotated[str | None, typer.Option(help="first_contact or reply (default: both).")] = None,
) -> None:
    """Print the due times a case filed then would get under the branch's current policy."""
    from models.complaint import Severity, branch_clocks
    from models.policy import effective_policy
    from rapport.entry.cli_common import branch_by_code as _branch_by_code
    from rapport.entry.cli_common import fail as _fail
    from rapport.entry.cli_common import open_context as _context

    if clock not in (None, "first_contact", "reply"):
        raise _fail(f"--clock must be first_contact or reply; got {clock!r}.")
    try:
        moment = datetime.fromisoformat(filed)
    except ValueError:
        raise _fail(
            f"--filed {filed!r} is not a time: write it as 2026-11-30T16:00 or 2026-11-30T16:00+08:00."
        ) from None
    ctx = _context()
    branch_id, tz = _branch_by_code(ctx, branch)
    zone = ZoneInfo(tz)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)

    def local(at: datetime) -> str:
        here = at.astimezone(zone)
        if here.hour == here.minute == 0 and policy.sla_day_ends == "midnight":
            # A period that ends at 24:00 is written on its last day, as the rule says it.
            return f"{(here - timedelta(days=1)):%Y-%m-%d} 24:00 ({(here - timedelta(days=1)):%a})"
        return f"{here:%Y-%m-%d %H:%M (%a)}"

    with ctx.db.read() as session:
        policy = effective_policy(session, branch_id)
        per_severity = {s: branch_clocks(session, branch_id, moment, s, policy) for s in Severity}
    print(f"{branch}, filed {local(moment)}, times in {tz}:")
    first = per_severity[Severity.normal].first_contact_due_at
    if clock in (None, "first_contact"):
        if first is None:
            print("  first_contact  (no separate clock in this policy)")
        else:
            n = policy.first_contact_working_days
            print(f"  first_contact  {local(first)}  {n} working day{'s' if n > 1 else ''}")
    if clock in (None, "reply"):
        if policy.sla_clock == "opening_hours":
            for severity in reversed(Severity):
                c = per_severity[severity]
                print(f"  reply[{severity.value}]  {local(c.due_at)}  {c.amount} {CLOCK_WORDS[c.unit]}")
        else:
            c = per_severity[Severity.normal]
            ends = "at close of business" if policy.sla_day_ends == "close" else "at 24:00"
            print(f"  reply  {local(c.due_at)}  {c.amount} {CLOCK_WORDS[c.unit]}, ending {ends}")
