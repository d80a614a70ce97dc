"""The calendar desk (admin/calendar.py) beyond the access matrix: typed days in the forms people
use, refusals that change nothing, a preset applied twice writes once, and a branch's view shows
the deployment's marks under its own."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from admin import calendar as desk
from models import auth
from models.audit import AuditEvent
from models.clock import pin
from models.crypto import hash_secret
from models.holidays import CalendarDay, CalendarUnavailable, set_day
from models.org import Role, Staff
from models.policy import PolicyRevision

PASSWORD = "correct horse 42"


@pytest.fixture(autouse=True)
def fixed_clock():
    pin(datetime(2026, 11, 18, 2, 30, tzinfo=UTC))
    yield
    pin(None)


@pytest.fixture
def token(db, ctx) -> str:
    with db.write() as s:
        s.add(Staff(employee_no="A0", display_name="管理员", role=Role.admin, username="root",
                    password_hash=hash_secret(PASSWORD)))  # fmt: skip
        s.commit()
        return auth.authenticate(s, login="root", password=PASSWORD, client="192.0.2.10", now=ctx.clock())[1]


def counts(db) -> tuple[int, int, int]:
    with db.read() as s:
        return (
            len(s.exec(select(CalendarDay)).all()),
            len(s.exec(select(AuditEvent)).all()),
            len(s.exec(select(PolicyRevision)).all()),
        )


@pytest.mark.parametrize(
    "typed, day",
    [
        ("2026-11-21", date(2026, 11, 21)),
        ("2026/11/21", date(2026, 11, 21)),
        (" 2026-1-4 ", date(2026, 1, 4)),
        ("2026年11月21日", date(2026, 11, 21)),
        ("２０２６－１１－２１", date(2026, 11, 21)),
    ],
)
def test_a_day_is_read_as_people_type_it(typed, day):
    assert desk.parse_day(typed) == day


@pytest.mark.parametrize(
    "typed, reason",
    [
        ("2026-02-30", "date"),
        ("21/11/2026", "date"),
        ("", "date"),
        ("1899-12-31", "year"),
        ("tomorrow", "date"),
    ],
)
def test_a_bad_day_is_refused_with_its_reason(typed, reason):
    with pytest.raises(desk.CalendarRefused) as err:
        desk.parse_day(typed)
    assert err.value.reason == reason


def test_refusals_change_nothing(db, ctx, world, token):
    before = counts(db)
    with pytest.raises(desk.CalendarRefused, match="holiday or a workday"):
        desk.mark_day(ctx, token, world.branch_id, "2026-11-21", "weekend")
    with pytest.raises(desk.CalendarRefused) as err:
        desk.mark_day(ctx, token, world.branch_id, "2026-11-21", "workday", "名" * 65)
    assert err.value.reason == "name"
    with pytest.raises(desk.CalendarRefused) as err:
        desk.clear_days(ctx, token, world.branch_id, date(2026, 11, 21), date(2026, 11, 22))
    assert err.value.reason == "nothing_marked"
    with pytest.raises(CalendarUnavailable, match="has no holidays for 2027"):
        desk.import_year(ctx, token, None, 2027)
    with pytest.raises(desk.CalendarRefused) as err:
        desk.use_preset(ctx, token, world.branch_id, "school")
    assert err.value.reason == "preset"
    assert counts(db) == before


def test_a_preset_applied_twice_is_written_once(db, ctx, world, token):
    changed = desk.use_preset(ctx, token, world.branch_id, "bank")
    assert set(changed) >= {"sla_clock", "sla_day_ends", "extension_lengths"}  # 15 days is the default
    after_first = counts(db)
    assert desk.use_preset(ctx, token, world.branch_id, "bank") == ()
    assert counts(db) == after_first
    view = desk.calendar(ctx, token, world.branch_id)
    bank = next(p for p in view.presets if p.name == "bank")
    assert bank.changes == ()
    hall = next(p for p in view.presets if p.name == "hall")
    changes = {(c.key, c.before, c.after) for c in hall.changes}
    assert ("sla_clock", "calendar_days", "working_days") in changes


def test_a_branch_sees_the_deployments_marks_under_its_own(db, ctx, world, token):
    with db.write() as s:
        set_day(s, day=date(2026, 10, 1), kind="holiday", name="National Day")
        set_day(s, day=date(2026, 10, 2), kind="holiday", name="National Day")
        set_day(s, day=date(2026, 10, 2), kind="workday", name="值班", branch_id=world.branch_id)
    view = desk.calendar(ctx, token, world.branch_id, 2026)
    assert [(s.first, s.last, s.kind, s.own) for s in view.spans] == [
        (date(2026, 10, 1), date(2026, 10, 1), "holiday", False),
        (date(2026, 10, 2), date(2026, 10, 2), "workday", True),
    ]
    assert (view.holidays, view.workdays) == (1, 1)
    glob = desk.calendar(ctx, token, None, 2026)
    assert [(s.first, s.last, s.own) for s in glob.spans] == [(date(2026, 10, 1), date(2026, 10, 2), True)]
    assert 2025 in glob.years and 2027 in glob.years  # around the current year, to import the next
