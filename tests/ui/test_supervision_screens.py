"""The admin app's inspection and training sections in process: a supervisor draws this week's spot
checks, records one with a violation of 2.2.1, and records a new hire's induction; each is checked in
the database and on screen, and the new hire can then sign in at a counter."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import flet as ft
import pytest
from sqlmodel import select

from admin import sections
from admin.screens import inspections, training
from models.crypto import hash_secret
from models.duty import sign_in as counter_sign_in
from models.errors import InductionNotPassed
from models.inspection import Inspection, InspectionFinding, SpotCheckTask
from models.org import Staff
from models.training import TrainingRecord
from rapport.core.context import AppContext

sys.path.insert(0, str(Path(__file__).resolve().parent))  # no __init__.py here
from admin_support import PASSWORD, Open, admin_tabs, sign_in  # noqa: E402,F401
from harness import FletHarness  # noqa: E402

TUESDAY = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai, week 2026-W48


@pytest.fixture(autouse=True)
def supervision_sections(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register the two sections as admin/sections.py will (unless it already does)."""
    mine = [
        sections.Section(
            "inspections", "admin.inspect.nav", ft.Icons.FACT_CHECK_OUTLINED, sections.SUPERVISION,
            inspections.build, inspections.load,
        ),
        sections.Section(
            "training", "admin.training.nav", ft.Icons.SCHOOL_OUTLINED, sections.SUPERVISION,
            training.build, training.load,
        ),
    ]  # fmt: skip
    known = {s.key for s in sections.SECTIONS}
    monkeypatch.setattr(sections, "SECTIONS", [*sections.SECTIONS, *(s for s in mine if s.key not in known)])


@pytest.fixture
def ids(db, world) -> dict[str, int]:
    """Staff ids by employee number; supervisor S1 of branch A can sign in as boss.a."""
    with db.write() as s:
        boss = s.exec(select(Staff).where(Staff.employee_no == "S1")).one()
        boss.username, boss.password_hash = "boss.a", hash_secret(PASSWORD)
        s.add(boss)
        s.commit()
        return {p.employee_no: p.id for p in s.exec(select(Staff)).all() if p.id is not None}


async def signed_in(open_admin: Open, section: str) -> FletHarness:
    h = await open_admin()
    await h.fill("login", "boss.a")
    await h.fill("password", PASSWORD)
    await h.click("sign-in")
    await h.click(f"nav-{section}")
    return h


async def choose(h: FletHarness, key: str, value: str) -> None:
    """Pick a dropdown option as the client does: the new value, then a "select" event."""
    await h.fill(key, value)
    await h.event(key, "select", value)


async def test_a_supervisor_draws_and_records_a_spot_check_with_a_courtesy_violation(open_admin, ids, db):
    h = await signed_in(open_admin, "inspections")
    assert h.exists("tasks-empty") and h.exists("inspections-empty")

    await h.click("inspect-draw")
    assert h.find("inspect-message").value == "已为本周抽取 2 项抽查。"
    with db.read() as s:
        tasks = s.exec(select(SpotCheckTask).order_by(SpotCheckTask.window_start)).all()  # type: ignore[arg-type]
    assert {t.staff_id for t in tasks} == {ids["E1"], ids["E2"]} and all(
        h.exists(f"task-{t.id}") for t in tasks
    )
    await h.click("inspect-draw")
    assert h.find("inspect-message").value.startswith("没有新的抽查")

    task = tasks[0]
    await h.click(f"task-{task.id}-record")
    assert h.find("inspect-staff").value == str(task.staff_id) and h.find("inspect-kind").value == "spot"
    assert h.exists("inspect-linked")
    await choose(h, "inspect-clause", "2.2.1")
    await h.click("inspect-add-finding")
    await h.click("inspect-save")  # no result chosen yet: a field-level message, nothing stored
    assert h.find("finding-2.2.1-error").value == "请为该条款选择符合或违反。"
    with db.read() as s:
        assert s.exec(select(Inspection)).all() == []

    await h.fill("finding-2.2.1-result", "violation")
    await h.fill("finding-2.2.1-note", "没有主动问候")
    await h.fill("inspect-notes", "午间高峰抽查")
    await h.click("inspect-save")

    assert h.find("inspect-message").value == "检查已保存。"
    with db.read() as s:
        [row] = s.exec(select(Inspection)).all()
        [finding] = s.exec(select(InspectionFinding)).all()
        done = s.get(SpotCheckTask, task.id)
    assert (row.kind, row.spot_check_id, row.staff_id, row.notes) == (
        "spot",
        task.id,
        task.staff_id,
        "午间高峰抽查",
    )
    assert (finding.clause_code, finding.result, finding.note) == ("2.2.1", "violation", "没有主动问候")
    assert done is not None and done.done_inspection_id == row.id
    assert h.exists(f"inspection-{row.id}") and h.has_text("2.2.1 热情礼貌: 违反 · 没有主动问候")
    assert not h.exists(f"task-{task.id}") and h.exists(f"task-{tasks[1].id}")
    assert not h.exists("finding-2.2.1"), "the form is cleared after saving"


async def test_saving_an_empty_inspection_marks_the_fields_to_fix(open_admin, ids, db):
    h = await signed_in(open_admin, "inspections")
    await h.click("inspect-save")
    assert h.find("inspect-staff").error_text == "请选择被检查的员工。"
    assert h.find("inspect-findings-error").value.startswith("请至少添加一条检查结果")
    await choose(h, "inspect-staff", str(ids["E1"]))
    await choose(h, "inspect-kind", "follow_up")
    await choose(h, "inspect-clause", "2.4.3")  # an internal clause, not offered on rating screens
    await h.click("inspect-add-finding")
    await h.fill("finding-2.4.3-result", "compliant")
    await h.click("inspect-save")
    with db.read() as s:
        [row] = s.exec(select(Inspection)).all()
    assert (row.kind, row.staff_id, row.spot_check_id) == ("follow_up", ids["E1"], None)
    await h.click("lang")
    assert h.has_text("Inspections and spot checks") and h.has_text("2.4.3 Equipment use: Compliant")


async def test_a_supervisor_records_a_new_hires_induction_who_can_then_take_a_counter(
    open_admin, ids, db, world
):
    bob = ids["E2"]
    h = await signed_in(open_admin, "training")
    assert h.find(f"training-induction-{bob}").value.startswith("岗前培训未通过")

    await h.fill("training-date", "2026-13-01")
    await h.click("training-save")
    assert h.find("training-staff").error_text == "请选择员工。"
    assert h.find("training-course").error == "请填写课程名称。"
    assert h.find("training-date").error.startswith("请按 YYYY-MM-DD 格式")

    await choose(h, "training-staff", str(bob))
    await h.fill("training-course", "入职培训")
    await h.fill("training-date", "2026-11-25")  # tomorrow in Shanghai
    await h.fill("training-passed", True)
    await h.click("training-save")
    assert h.find("training-date").error == "日期不能晚于今天。"

    await h.fill("training-date", "2026-11-20")
    await h.click("training-save")
    assert h.find("training-message").value == "培训记录已保存。"
    with db.read() as s:
        [record] = s.exec(select(TrainingRecord).where(TrainingRecord.staff_id == bob)).all()
    assert (record.kind, record.course, record.completed_on, record.passed) == (
        "induction", "入职培训", date(2026, 11, 20), True,
    )  # fmt: skip
    assert record.recorded_by == ids["S1"]
    assert h.exists(f"training-{record.id}") and h.find(f"training-induction-{bob}").value == "岗前培训已通过"
    with db.write() as s:
        assert counter_sign_in(s, counter_id=world.closed_counter_id, employee_no="E2", pin="2468").id == bob


async def test_a_failed_induction_keeps_the_new_hire_off_the_counter(open_admin, ids, db, world):
    h = await signed_in(open_admin, "training")
    await choose(h, "training-staff", str(ids["E2"]))
    await h.fill("training-course", "入职培训")
    await h.fill("training-date", "2026-11-20")
    await h.click("training-save")
    assert h.has_text("2026-11-20 · 岗前培训（新员工） · 入职培训 · 未通过")
    with db.write() as s, pytest.raises(InductionNotPassed):
        counter_sign_in(s, counter_id=world.closed_counter_id, employee_no="E2", pin="2468")


@pytest.fixture
async def open_admin(ctx: AppContext) -> AsyncIterator[Open]:
    """The screens on a fixed Tuesday, so this week's spot checks are predictable."""
    ctx.clock = lambda: TUESDAY
    async with admin_tabs(ctx) as open_:
        yield open_
