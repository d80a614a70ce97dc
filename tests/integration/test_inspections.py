"""Internal supervision and the training archive: inspections with findings per clause, the weekly
draw of unannounced spot checks, training records and the induction gate at the counter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from admin import backend, supervision
from models.audit import AuditEvent, verify
from models.crypto import hash_secret
from models.duty import sign_in
from models.errors import Forbidden, InductionNotPassed, StaffNotFound, ValidationFailed
from models.inspection import (
    Inspection,
    InspectionFinding,
    SpotCheckNotOpen,
    SpotCheckTask,
    draw_spot_checks,
    iso_week,
    open_spot_checks,
    record_inspection,
    window_starts,
)
from models.org import Role, Staff
from models.training import TrainingKind, TrainingRecord, list_training, record_training

SHANGHAI = ZoneInfo("Asia/Shanghai")
WEEK = "2026-W48"  # Monday 23 to Sunday 29 November 2026
BEFORE_WEEK = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)  # Sunday evening in Shanghai
IN_WEEK = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)  # Tuesday 11:00 in Shanghai
PASSWORD = "correct horse 42"
PASSWORD_HASH = hash_secret(PASSWORD)  # once: hashing is slow on purpose


@dataclass
class People:
    boss_a: int
    boss_b: int
    admin: int
    alice: int
    bob: int
    carol: int


@pytest.fixture
def people(db, world) -> People:
    with db.write() as s:
        by_no = {p.employee_no: p for p in s.exec(select(Staff)).all()}
        boss_b = Staff(
            employee_no="S2", display_name="乙主管", role=Role.supervisor, branch_id=world.other_branch_id
        )
        admin = Staff(employee_no="A1", display_name="管理员", role=Role.admin)
        s.add_all([boss_b, admin])
        for person, login in (
            (by_no["S1"], "boss.a"),
            (boss_b, "boss.b"),
            (admin, "admin"),
            (by_no["E1"], "alice"),
        ):
            person.username, person.password_hash = login, PASSWORD_HASH
        s.commit()
        ids = {p.employee_no: p.id for p in s.exec(select(Staff)).all()}
    return People(ids["S1"], ids["S2"], ids["A1"], ids["E1"], ids["E2"], ids["E9"])


def inspect(db, inspector: int, staff: int, **kw):
    args: dict[str, Any] = {
        "kind": "routine",
        "at": IN_WEEK,
        "notes": "",
        "findings": [("2.2.1", "violation", "没有主动问候")],
        "now": IN_WEEK,
    } | kw
    with db.write() as s:
        return record_inspection(s, inspector_id=inspector, staff_id=staff, **args)


def tasks_of(db, supervisor: int) -> list[SpotCheckTask]:
    with db.read() as s:
        return list(s.exec(select(SpotCheckTask).where(SpotCheckTask.supervisor_id == supervisor)).all())


# --- inspections ------------------------------------------------------------------------------


def test_a_supervisor_records_an_inspection_with_a_courtesy_violation(db, people):
    inspection = inspect(
        db,
        people.boss_a,
        people.alice,
        notes="  午间高峰\u200b 抽查 ",
        findings=[("2.2.1", "violation", "没有主动问候"), ("2.3.1", "compliant", "")],
    )
    with db.read() as s:
        row = s.get(Inspection, inspection.id)
        findings = s.exec(
            select(InspectionFinding).where(InspectionFinding.inspection_id == inspection.id)
        ).all()
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "inspection.record")).all()
        assert verify(s).ok
    assert row is not None and row.notes == "午间高峰 抽查" and row.kind == "routine"
    assert {(f.clause_code, f.result, f.note) for f in findings} == {
        ("2.2.1", "violation", "没有主动问候"),
        ("2.3.1", "compliant", ""),
    }
    assert len(events) == 1 and events[0].actor_staff_id == people.boss_a
    assert events[0].details == {
        "staff_id": people.alice, "kind": "routine", "spot_check_id": None, "findings": 2, "violations": 1,
    }  # fmt: skip
    assert "问候" not in str(events[0].details)


@pytest.mark.parametrize(
    ("change", "error", "field", "message"),
    [
        ({"findings": []}, ValidationFailed, "findings", "at least one finding"),
        ({"findings": [("9.9.9", "violation", "")]}, ValidationFailed, "clause", "not an active clause"),
        ({"findings": [("2.2.1", "bad", "")]}, ValidationFailed, "result", "compliant or a violation"),
        (
            {"findings": [("2.2.1", "violation", ""), ("2.2.1", "compliant", "")]},
            ValidationFailed,
            "clause",
            "listed twice",
        ),
        ({"kind": "surprise"}, ValidationFailed, "kind", "routine, spot or follow_up"),
        ({"at": IN_WEEK + timedelta(hours=1)}, ValidationFailed, "at", "future"),
        ({"spot_check_id": 999, "kind": "spot"}, Forbidden, None, "not yours"),
    ],
)
def test_an_inspection_that_breaks_a_rule_is_refused_with_its_message(
    db, people, change, error, field, message
):
    with pytest.raises(error, match=message) as caught:
        inspect(db, people.boss_a, people.alice, **change)
    if field is not None:
        assert caught.value.field == field
    with db.read() as s:
        assert s.exec(select(Inspection)).all() == []


def test_inactive_staff_cannot_be_inspected_and_nobody_inspects_themselves(db, people):
    with db.write() as s:
        alice = s.get(Staff, people.alice)
        assert alice is not None
        alice.active = False
        s.add(alice)
        s.commit()
    with pytest.raises(StaffNotFound, match="no active staff member"):
        inspect(db, people.boss_a, people.alice)
    with pytest.raises(ValidationFailed, match="nobody inspects themselves"):
        inspect(db, people.boss_a, people.boss_a)
    with pytest.raises(Forbidden, match="only active supervisors and administrators"):
        inspect(db, people.bob, people.alice)


def test_a_supervisor_of_branch_b_cannot_inspect_branch_a_staff_but_an_admin_can(db, people):
    with pytest.raises(Forbidden, match="another branch"):
        inspect(db, people.boss_b, people.alice)
    assert (
        inspect(db, people.admin, people.alice).branch_id == inspect(db, people.boss_a, people.bob).branch_id
    )


# --- spot checks --------------------------------------------------------------------------------


def test_the_draw_gives_each_supervisor_spot_checks_in_business_hours_of_that_week(db, people, world):
    with db.write() as s:
        created = draw_spot_checks(s, week=WEEK, per_supervisor=3, seed=7, now=BEFORE_WEEK)
    by_boss = {people.boss_a: {people.alice, people.bob}, people.boss_b: {people.carol}}
    assert {t.supervisor_id for t in created} == set(by_boss)
    for boss, staff in by_boss.items():
        mine = [t for t in created if t.supervisor_id == boss]
        assert {t.staff_id for t in mine} == staff  # fewer staff than asked for: each once
    for task in created:
        start, end = task.window_start.astimezone(SHANGHAI), task.window_end.astimezone(SHANGHAI)
        assert end - start == timedelta(hours=1)
        assert start.weekday() < 5 and start.hour >= 9 and (end.hour, end.minute) <= (17, 0)
        assert iso_week(task.window_start) == WEEK == task.week
        assert task.branch_id == (
            world.branch_id if task.supervisor_id == people.boss_a else world.other_branch_id
        )
    with db.write() as s:
        assert draw_spot_checks(s, week=WEEK, seed=8, now=BEFORE_WEEK) == []
        assert draw_spot_checks(s, week=WEEK, now=IN_WEEK) == []
        assert len(s.exec(select(SpotCheckTask)).all()) == 3
        assert [e.action for e in s.exec(select(AuditEvent)).all()].count("spot_check.draw") == 1


def test_a_draw_made_mid_week_never_lands_in_the_past_and_a_finished_week_draws_nothing(db, people):
    friday_afternoon = datetime(2026, 11, 27, 7, 30, tzinfo=UTC)  # 15:30 in Shanghai
    with db.write() as s:
        created = draw_spot_checks(s, week=WEEK, seed=1, now=friday_afternoon)
        late = draw_spot_checks(s, week="2026-W47", seed=1, now=friday_afternoon)
    assert created and late == []
    for task in created:
        assert friday_afternoon <= task.window_start <= datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    assert len(window_starts(WEEK, "Asia/Shanghai")) == 5 * 85


def test_a_bad_week_is_refused(db, people):
    with db.write() as s, pytest.raises(ValidationFailed, match="ISO week"):
        draw_spot_checks(s, week="2026-48")


def test_recording_a_spot_check_closes_its_task_once(db, people):
    with db.write() as s:
        draw_spot_checks(s, week=WEEK, seed=3, now=BEFORE_WEEK, supervisor_id=people.boss_a)
    assert tasks_of(db, people.boss_b) == []
    task = tasks_of(db, people.boss_a)[0]
    with pytest.raises(ValidationFailed, match="kind spot"):
        inspect(db, people.boss_a, task.staff_id, spot_check_id=task.id)
    other = people.bob if task.staff_id == people.alice else people.alice
    with pytest.raises(ValidationFailed, match="another staff member"):
        inspect(db, people.boss_a, other, kind="spot", spot_check_id=task.id)
    with pytest.raises(Forbidden, match="not yours"):
        inspect(db, people.admin, task.staff_id, kind="spot", spot_check_id=task.id)

    done = inspect(db, people.boss_a, task.staff_id, kind="spot", spot_check_id=task.id)
    with db.read() as s:
        closed = s.get(SpotCheckTask, task.id)
        assert closed is not None and closed.done_inspection_id == done.id
        still_open = open_spot_checks(s, supervisor_id=people.boss_a, now=IN_WEEK)
    assert task.id not in {t.id for t in still_open} and len(still_open) == 1
    with pytest.raises(SpotCheckNotOpen, match="already recorded"):
        inspect(db, people.boss_a, task.staff_id, kind="spot", spot_check_id=task.id)


def test_a_spot_check_of_a_finished_week_is_no_longer_open(db, people):
    with db.write() as s:
        draw_spot_checks(s, week=WEEK, seed=3, now=BEFORE_WEEK, supervisor_id=people.boss_a)
    task = tasks_of(db, people.boss_a)[0]
    next_week = IN_WEEK + timedelta(days=7)
    with db.read() as s:
        assert open_spot_checks(s, supervisor_id=people.boss_a, now=next_week) == []
    with pytest.raises(SpotCheckNotOpen):
        inspect(
            db, people.boss_a, task.staff_id, kind="spot", spot_check_id=task.id, at=next_week, now=next_week
        )


# --- training -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"course": "  \u200b "}, "course", "name the course"),
        ({"completed_on": date(2026, 11, 25)}, "completed_on", "future"),
        ({"kind": "refresher"}, "kind", "induction or periodic"),
    ],
)
def test_a_training_record_that_breaks_a_rule_is_refused(db, people, change, field, message):
    args = {
        "kind": "periodic",
        "course": "投诉处理",
        "completed_on": date(2026, 11, 24),
        "passed": True,
    } | change
    with db.write() as s, pytest.raises(ValidationFailed, match=message) as caught:
        record_training(s, staff_id=people.alice, now=IN_WEEK, **args)
    assert caught.value.field == field


def test_training_today_in_the_branch_time_zone_is_not_the_future(db, people):
    late_evening_utc = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)  # already the 25th in Shanghai
    with db.write() as s:
        row = record_training(
            s, staff_id=people.alice, kind=TrainingKind.periodic, course="  礼仪\n复训 ",
            completed_on=date(2026, 11, 25), passed=True, recorded_by=people.boss_a, now=late_evening_utc,
        )  # fmt: skip
        with pytest.raises(StaffNotFound):
            record_training(
                s, staff_id=999, kind="periodic", course="x", completed_on=date(2026, 1, 1), passed=True
            )
    assert row.course == "礼仪 复训"
    with db.read() as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.entity_id == str(row.id))).one()
        branch_a = list_training(s, branch_id=people_branch(s, people.alice))
        only_alice = list_training(s, staff_id=people.alice)
    assert event.action == "training.record" and event.actor_staff_id == people.boss_a
    assert event.details == {"staff_id": people.alice, "kind": "periodic", "passed": True}
    assert only_alice[0].id == row.id and {r.staff_id for r in only_alice} == {people.alice}
    assert people.carol not in {r.staff_id for r in branch_a}


def people_branch(s, staff_id: int) -> int | None:
    person = s.get(Staff, staff_id)
    return person.branch_id if person else None


def test_a_new_hire_signs_in_at_the_counter_only_after_passing_induction(db, people, world):
    with db.write() as s, pytest.raises(InductionNotPassed):
        sign_in(s, counter_id=world.closed_counter_id, employee_no="E2", pin="2468")
    with db.write() as s:
        record_training(
            s,
            staff_id=people.bob,
            kind="induction",
            course="入职培训",
            completed_on=date(2026, 1, 10),
            passed=False,
        )
    with db.write() as s, pytest.raises(InductionNotPassed):
        sign_in(s, counter_id=world.closed_counter_id, employee_no="E2", pin="2468")
    with db.write() as s:
        record_training(
            s,
            staff_id=people.bob,
            kind="induction",
            course="入职补考",
            completed_on=date(2026, 1, 17),
            passed=True,
        )
    with db.write() as s:
        assert sign_in(s, counter_id=world.closed_counter_id, employee_no="E2", pin="2468").id == people.bob


# --- the admin backend: sign-in and scope -------------------------------------------------------


def token_for(ctx, login: str) -> str:
    _user, token = backend.sign_in(ctx, login=login, password=PASSWORD, client="127.0.0.1", totp_code=None)
    return token


def test_staff_are_refused_and_supervisors_see_only_their_branch(ctx, people, world):
    with pytest.raises(Forbidden):
        supervision.staff_list(ctx, token_for(ctx, "alice"))
    boss_a, admin = token_for(ctx, "boss.a"), token_for(ctx, "admin")
    assert {s.id for s in supervision.staff_list(ctx, boss_a)} == {people.alice, people.bob}
    assert people.boss_a in {s.id for s in supervision.staff_list(ctx, boss_a, everyone=True)}
    assert {s.id for s in supervision.staff_list(ctx, admin)} == {people.alice, people.bob, people.carol}
    with pytest.raises(Forbidden):
        supervision.record(ctx, boss_a, staff_id=people.carol, kind="routine", notes="", findings=[])
    with pytest.raises(Forbidden):
        supervision.add_training(
            ctx, boss_a, staff_id=people.carol, kind="periodic", course="x", completed_on=date(2026, 1, 1),
            passed=True,
        )  # fmt: skip
    codes = {c.code for c in supervision.inspection_clauses(ctx, boss_a)}
    assert {"2.2.1", "2.4.3", "2.5.3", "1.3.2"} <= codes and not codes & {"1.1", "3.1.1", "4.2.1"}


def test_the_backend_records_lists_and_draws_for_the_signed_in_supervisor(ctx, people, world):
    ctx.clock = lambda: IN_WEEK
    boss_a, boss_b = token_for(ctx, "boss.a"), token_for(ctx, "boss.b")
    assert supervision.draw_this_week(ctx, boss_a) == 2
    assert supervision.draw_this_week(ctx, boss_a) == 0
    assert supervision.my_spot_checks(ctx, boss_b) == []
    tasks = supervision.my_spot_checks(ctx, boss_a)
    assert len(tasks) == 2 and all(t.window_start >= IN_WEEK for t in tasks)
    inspection_id = supervision.record(
        ctx, boss_a, staff_id=tasks[0].staff_id, kind="spot", notes="ok",
        findings=[("2.2.1", "violation", "")], spot_check_id=tasks[0].id,
    )  # fmt: skip
    assert [t.id for t in supervision.my_spot_checks(ctx, boss_a)] == [tasks[1].id]
    rows = supervision.inspections(ctx, boss_a)
    assert [r.id for r in rows] == [inspection_id] and rows[0].findings[0].clause_en == "Courtesy"
    assert supervision.inspections(ctx, boss_b) == []
    supervision.add_training(
        ctx, boss_a, staff_id=people.bob, kind="induction", course="入职培训",
        completed_on=date(2026, 11, 20), passed=True,
    )  # fmt: skip
    assert [r.course for r in supervision.training(ctx, boss_a, staff_id=people.bob)] == ["入职培训"]
    assert people.carol not in {r.staff_id for r in supervision.training(ctx, boss_a)}
    with db_read(ctx) as s:
        assert s.exec(
            select(TrainingRecord).where(TrainingRecord.staff_id == people.bob)
        ).one().recorded_by == (people.boss_a)


def db_read(ctx):
    return ctx.db.read()
