"""The admin app's door to internal supervision (inspections, spot checks) and the training archive.

Every call re-checks the sign-in and the caller's scope: a supervisor works on their own branch, an
administrator on every branch, and a staff member is refused (Forbidden). Results are plain frozen
dataclasses, so no ORM object ever reaches a screen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from admin import access
from admin.access import Caller
from admin.labels import Clause
from models.catalog import ConductClause
from models.errors import StaffNotFound
from models.inspection import (
    DEFAULT_TZ,
    draw_spot_checks,
    findings_of,
    iso_week,
    list_inspections,
    open_spot_checks,
    record_inspection,
)
from models.org import Branch, Role, Staff
from models.training import list_training, record_training
from rapport.core.context import AppContext

RECENT_INSPECTIONS = 50


@dataclass(frozen=True)
class StaffOption:
    id: int
    name: str
    employee_no: str
    branch_id: int | None


ClauseOption = Clause  # a clause an inspection may cite (admin/labels.py)


@dataclass(frozen=True)
class TaskRow:
    id: int
    staff_id: int
    staff_name: str
    window_start: datetime
    window_end: datetime
    week: str
    tz: str


@dataclass(frozen=True)
class FindingRow:
    clause_code: str
    clause_zh: str
    clause_en: str
    result: str
    note: str


@dataclass(frozen=True)
class InspectionRow:
    id: int
    at: datetime
    kind: str
    staff_name: str
    inspector_name: str
    notes: str
    spot_check_id: int | None
    findings: tuple[FindingRow, ...]
    tz: str


@dataclass(frozen=True)
class TrainingRow:
    id: int
    staff_id: int
    staff_name: str
    kind: str
    course: str
    completed_on: date
    passed: bool


GATE = access.Gate(access.SUPERVISION, refused="supervision is for supervisors and administrators")


def _tz(session: Session, user: Caller) -> str:
    """The time zone of the caller's branch (the default for an administrator without one)."""
    branch = session.get(Branch, user.branch_id) if user.branch_id is not None else None
    return branch.timezone if branch else DEFAULT_TZ


def _branch(user: Caller) -> int | None:
    """The branch the caller is limited to; None for an administrator (every branch)."""
    return user.require_branch("a supervisor without a branch supervises nobody")


def _in_scope(session: Session, user: Caller, staff_id: int) -> Staff:
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise StaffNotFound("no staff member with this id")
    user.check_branch(staff.branch_id, "this staff member belongs to another branch")
    return staff


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.exec(select(Staff).where(col(Staff.id).in_(ids))).all()
    return {s.id: s.display_name for s in rows if s.id is not None}


def staff_list(ctx: AppContext, token: str, *, everyone: bool = False) -> list[StaffOption]:
    """Active people in the caller's scope, by employee number: counter staff only (who is inspected),
    or ``everyone`` including supervisors (whose training is archived too)."""
    user = GATE.caller(ctx, token)
    with ctx.db.read() as session:
        stmt = select(Staff).where(Staff.active)
        if not everyone:
            stmt = stmt.where(Staff.role == Role.staff)
        if (branch_id := _branch(user)) is not None:
            stmt = stmt.where(Staff.branch_id == branch_id)
        rows = session.exec(stmt.order_by(col(Staff.employee_no))).all()
        return [
            StaffOption(s.id, s.display_name, s.employee_no, s.branch_id) for s in rows if s.id is not None
        ]


def inspection_clauses(ctx: AppContext, token: str) -> list[ClauseOption]:
    """Clauses an inspection may cite: the rateable ones and every conduct rule of section 2."""
    GATE.caller(ctx, token)
    with ctx.db.read() as session:
        rows = session.exec(
            select(ConductClause).where(ConductClause.active).order_by(col(ConductClause.sort_order))
        ).all()
        return [Clause.of(c) for c in rows if c.rateable or c.section == "2" or c.section.startswith("2.")]


def my_spot_checks(ctx: AppContext, token: str) -> list[TaskRow]:
    """The caller's open spot checks (this week and later), earliest window first."""
    user = GATE.caller(ctx, token)
    with ctx.db.read() as session:
        tasks = open_spot_checks(session, supervisor_id=user.id, now=ctx.clock())
        names = _names(session, {t.staff_id for t in tasks})
        tz = {b.id: b.timezone for b in session.exec(select(Branch)).all()}
        return [
            TaskRow(
                t.id,
                t.staff_id,
                names.get(t.staff_id, "?"),
                t.window_start,
                t.window_end,
                t.week,
                tz.get(t.branch_id, DEFAULT_TZ),
            )  # fmt: skip
            for t in tasks
            if t.id is not None
        ]


def inspections(ctx: AppContext, token: str, *, limit: int = RECENT_INSPECTIONS) -> list[InspectionRow]:
    """Recent inspections in the caller's scope, most recent first, with their findings."""
    user = GATE.caller(ctx, token)
    with ctx.db.read() as session:
        rows = list_inspections(session, branch_id=_branch(user), limit=limit)
        found = findings_of(session, [i.id for i in rows if i.id is not None])
        names = _names(session, {i.staff_id for i in rows} | {i.inspector_id for i in rows})
        clauses = {c.code: c for c in session.exec(select(ConductClause)).all()}
        tz = {b.id: b.timezone for b in session.exec(select(Branch)).all()}
        out = []
        for i in rows:
            assert i.id is not None
            findings = tuple(
                FindingRow(
                    f.clause_code,
                    clauses[f.clause_code].short_zh if f.clause_code in clauses else f.clause_code,
                    clauses[f.clause_code].short_en if f.clause_code in clauses else f.clause_code,
                    str(f.result),
                    f.note,
                )
                for f in found[i.id]
            )
            out.append(
                InspectionRow(
                    i.id,
                    i.at,
                    str(i.kind),
                    names.get(i.staff_id, "?"),
                    names.get(i.inspector_id, "?"),
                    i.notes,
                    i.spot_check_id,
                    findings,
                    tz.get(i.branch_id, DEFAULT_TZ),
                )  # fmt: skip
            )
        return out


def record(
    ctx: AppContext,
    token: str,
    *,
    staff_id: int,
    kind: str,
    notes: str,
    findings: Sequence[tuple[str, str, str]],
    spot_check_id: int | None = None,
) -> int:
    """Record an inspection made now by the caller; returns its id. Domain errors pass unchanged."""
    user = GATE.caller(ctx, token)
    with ctx.db.write() as session:
        _in_scope(session, user, staff_id)
        now = ctx.clock()
        inspection = record_inspection(
            session, inspector_id=user.id, staff_id=staff_id, kind=kind, at=now, notes=notes,
            findings=findings, spot_check_id=spot_check_id, now=now,
        )  # fmt: skip
        assert inspection.id is not None
        return inspection.id


def draw_this_week(ctx: AppContext, token: str) -> int:
    """Draw the current ISO week's spot checks: a supervisor's own, an admin's for every supervisor.

    Idempotent: a second press the same week draws nothing. Returns how many tasks were created.
    """
    user = GATE.caller(ctx, token)
    with ctx.db.write() as session:
        now = ctx.clock()
        created = draw_spot_checks(
            session, week=iso_week(now, _tz(session, user)), now=now, actor_staff_id=user.id,
            supervisor_id=None if user.is_admin else user.id,
        )  # fmt: skip
        return len(created)


def training(ctx: AppContext, token: str, *, staff_id: int | None = None) -> list[TrainingRow]:
    """The training archive in the caller's scope (or of one person), newest first."""
    user = GATE.caller(ctx, token)
    with ctx.db.read() as session:
        if staff_id is not None:
            _in_scope(session, user, staff_id)
        rows = list_training(session, branch_id=_branch(user), staff_id=staff_id)
        names = _names(session, {r.staff_id for r in rows})
        return [
            TrainingRow(
                r.id, r.staff_id, names.get(r.staff_id, "?"), str(r.kind), r.course, r.completed_on, r.passed
            )
            for r in rows
            if r.id is not None
        ]


def add_training(
    ctx: AppContext, token: str, *, staff_id: int, kind: str, course: str, completed_on: date, passed: bool
) -> int:
    """Add a training record for someone in the caller's scope; returns its id."""
    user = GATE.caller(ctx, token)
    with ctx.db.write() as session:
        _in_scope(session, user, staff_id)
        row = record_training(
            session, staff_id=staff_id, kind=kind, course=course, completed_on=completed_on, passed=passed,
            recorded_by=user.id, now=ctx.clock(),
        )  # fmt: skip
        assert row.id is not None
        return row.id
