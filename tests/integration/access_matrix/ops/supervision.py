"""admin/supervision.py: staff lists, inspections, spot checks and training."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import col, select

from admin import supervision
from models.inspection import Inspection, SpotCheckTask, iso_week
from models.org import Role, Staff
from models.training import TrainingRecord
from tests.integration.access_matrix.cells import SUPERVISION, Cell, Op
from tests.integration.access_matrix.world import NOW


def _active_in_scope(c: Cell, *where: Any) -> set[int]:
    stmt = select(Staff.id).where(col(Staff.active), *where)
    if c.actor.role is not Role.admin:
        stmt = stmt.where(Staff.branch_id == c.own)
    return set(c.read(stmt))


def check_staff_list(c: Cell, lists: tuple[list, list]) -> None:
    counter_staff, everyone = lists
    assert {s.id for s in counter_staff} == _active_in_scope(c, Staff.role == Role.staff)
    assert {s.id for s in everyone} == _active_in_scope(c)
    assert counter_staff and all(s.branch_id in c.scope for s in counter_staff)


def check_clauses(_c: Cell, rows: list) -> None:
    assert rows


def check_my_spot_checks(c: Cell, rows: list[supervision.TaskRow]) -> None:
    want = set(c.read(select(SpotCheckTask.id).where(SpotCheckTask.supervisor_id == c.caller)))
    got = {r.id for r in rows}
    assert got == want, f"tasks {sorted(got)} != the caller's own {sorted(want)}"
    assert bool(got) == (c.actor.role is Role.supervisor)
    assert all(r.staff_id in _active_in_scope(c) for r in rows)


def check_inspections(c: Cell, rows: list[supervision.InspectionRow]) -> None:
    want = set(c.read(select(Inspection.id).where(col(Inspection.branch_id).in_(c.scope))))
    got = {r.id for r in rows}
    assert got and got == want, f"inspections {sorted(got)} != in scope {sorted(want)}"


def check_record(c: Cell, inspection_id: int) -> None:
    [row] = c.added("inspection")
    got = (row["id"], row["inspector_id"], row["staff_id"], row["branch_id"])
    assert got == (inspection_id, c.caller, c.env.person[c.t], c.bid), got


def check_draw(c: Cell, _count: int) -> None:
    new = c.added("spot_check_task")
    assert not c.removed("spot_check_task") and {t["week"] for t in new} <= {iso_week(NOW)}
    if c.actor.role is Role.supervisor:  # their own draw only, in their own branch
        assert new, "a supervisor's first draw of the week creates tasks"
        assert {(t["supervisor_id"], t["branch_id"]) for t in new} == {(c.caller, c.own)}, new
    else:  # an administrator draws for every active supervisor with a branch
        supervisors = c.read(
            select(Staff.id).where(
                Staff.role == Role.supervisor, col(Staff.active), col(Staff.branch_id).is_not(None)
            )
        )
        drawn = c.read(select(SpotCheckTask.supervisor_id).where(SpotCheckTask.week == iso_week(NOW)))
        assert set(drawn) == set(supervisors), (drawn, supervisors)


def check_training_of(c: Cell, rows: list[supervision.TrainingRow]) -> None:
    person = c.env.person[c.t]
    assert rows and {r.staff_id for r in rows} == {person}, rows


def check_training_archive(c: Cell, rows: list[supervision.TrainingRow]) -> None:
    stmt = select(TrainingRecord.id).join(Staff, col(Staff.id) == col(TrainingRecord.staff_id))
    want = set(c.read(stmt.where(col(Staff.branch_id).in_(c.scope))))
    got = {r.id for r in rows}
    assert got and got == want, f"training {sorted(got)} != in scope {sorted(want)}"


def check_add_training(c: Cell, record_id: int) -> None:
    [row] = c.added("training_record")
    got = (row["id"], row["staff_id"], row["recorded_by"])
    assert got == (record_id, c.env.person[c.t], c.caller), got


SUPERVISION_OPS: list[Op] = [
    Op("supervision.staff_list", supervision.staff_list, SUPERVISION,
       lambda e, tok, t, p: (
           supervision.staff_list(e.ctx, tok), supervision.staff_list(e.ctx, tok, everyone=True)),
       check_staff_list),
    Op("supervision.inspection_clauses", supervision.inspection_clauses, SUPERVISION,
       lambda e, tok, t, p: supervision.inspection_clauses(e.ctx, tok), check_clauses),
    Op("supervision.my_spot_checks", supervision.my_spot_checks, SUPERVISION,
       lambda e, tok, t, p: supervision.my_spot_checks(e.ctx, tok), check_my_spot_checks),
    Op("supervision.inspections", supervision.inspections, SUPERVISION,
       lambda e, tok, t, p: supervision.inspections(e.ctx, tok), check_inspections),
    Op("supervision.record", supervision.record, SUPERVISION,
       lambda e, tok, t, p: supervision.record(
           e.ctx, tok, staff_id=e.person[t], kind="routine", notes="", findings=[("2.2.1", "compliant", "")]),
       check_record, scoped=True),
    Op("supervision.draw_this_week", supervision.draw_this_week, SUPERVISION,
       lambda e, tok, t, p: supervision.draw_this_week(e.ctx, tok), check_draw),
    Op("supervision.training (one person)", supervision.training, SUPERVISION,
       lambda e, tok, t, p: supervision.training(e.ctx, tok, staff_id=e.person[t]), check_training_of,
       scoped=True),
    Op("supervision.training (archive)", supervision.training, SUPERVISION,
       lambda e, tok, t, p: supervision.training(e.ctx, tok), check_training_archive),
    Op("supervision.add_training", supervision.add_training, SUPERVISION,
       lambda e, tok, t, p: supervision.add_training(
           e.ctx, tok, staff_id=e.person[t], kind="periodic", course="投诉处理",
           completed_on=date(2026, 11, 20), passed=True),
       check_add_training, scoped=True),
]  # fmt: skip
