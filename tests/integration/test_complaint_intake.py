"""A complaint filed from a tablet or through ``POST /api/v1/complaints`` (models/complaint_intake.py,
on the driver's connection, with the calendar and the opening hours built once per set of values):
its due times are those the session's path computes (models/complaint/rules.py branch_clocks) for
every kind of clock, they follow the calendar and the rules as they are at filing time (a holiday
added, a branch's make-up day, a changed policy: none answered from a stale cache), the audit chain
stays one chain with the session's entries, and a high-severity complaint's alert is stored with it
once. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, delete, select

from models.alerts import Alert, AlertView
from models.audit import AuditEvent, append, append_on, verify
from models.complaint import Complaint, Severity, branch_clocks
from models.holidays import import_year, set_day, work_calendar, work_calendar_on
from models.policy import effective_policy, set_policy
from models.prepared import driver_of
from models.presets import apply_preset
from rapport.core.context import AppContext
from rapport.usecases.filing import Filing, file_at_place

SH = ZoneInfo("Asia/Shanghai")
FORM = {"category": "2.2.2", "description": "等了一个小时没人理。"}
BRIBE = {"category": "2.1.2", "description": "柜员私下索要好处费"}  # a high-severity clause by default


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def file(ctx: AppContext, world: Any, now: datetime, key: str, form: dict[str, Any] = FORM) -> Filing:
    ctx.clock = lambda: now
    return file_at_place(ctx, idempotency_key=key, form=dict(form), device_token=world.device_token)


def stored(db: Any, key: str) -> Complaint:
    with db.read() as s:
        return s.exec(select(Complaint).where(Complaint.idempotency_key == key)).one()


def reference(db: Any, branch_id: int, now: datetime) -> tuple[datetime, datetime | None, str, int]:
    """The due times the session's path computes (the uncached calendar, read through the ORM)."""
    with db.read() as s:
        clock = branch_clocks(s, branch_id, now, Severity.normal, effective_policy(s, branch_id))
    return clock.due_at, clock.first_contact_due_at, clock.unit, clock.amount


def test_a_holiday_added_or_removed_and_a_branchs_make_up_day_move_the_next_due_time(db, ctx, world):
    with db.write() as s:
        import_year(s, year=2026)
        apply_preset(s, preset="hall", branch_id=world.branch_id)  # 5 working days, close of business
    monday = at(2026, 11, 30, 16, 0)
    first = file(ctx, world, monday, "k-1")
    assert first.due_at == at(2026, 12, 7, 17, 0)  # Tue, Wed, Thu, Fri, Mon
    with db.write() as s:  # the region shuts on Thursday 3 December
        set_day(s, day=date(2026, 12, 3), kind="holiday", name="local")
    second = file(ctx, world, monday, "k-2")
    assert second.due_at == at(2026, 12, 8, 17, 0) == reference(db, world.branch_id, monday)[0]
    with db.write() as s:  # this branch works Saturday 5 December (its own make-up day)
        set_day(s, day=date(2026, 12, 5), kind="workday", branch_id=world.branch_id)
    third = file(ctx, world, monday, "k-3")
    assert third.due_at == at(2026, 12, 7, 17, 0) == reference(db, world.branch_id, monday)[0]
    with db.write() as s:  # the holiday is dropped again: Saturday is the fifth working day
        set_day(s, day=date(2026, 12, 3), kind=None)
    fourth = file(ctx, world, monday, "k-4")
    assert fourth.due_at < at(2026, 12, 7) and fourth.due_at == reference(db, world.branch_id, monday)[0]
    # Each complaint kept the promise it was given when it was filed.
    assert [stored(db, k).due_at for k in ("k-1", "k-2", "k-3", "k-4")] == [
        first.due_at, second.due_at, third.due_at, fourth.due_at,
    ]  # fmt: skip
    # The calendar's own audit entries and the complaints' are one chain.
    with db.read() as s:
        assert verify(s).ok
        actions = s.exec(select(AuditEvent.action).order_by(col(AuditEvent.id))).all()
    assert actions[-7:] == ["complaint.file", "calendar.set", "complaint.file", "calendar.set",
                            "complaint.file", "calendar.set", "complaint.file"]  # fmt: skip


def test_a_changed_policy_moves_the_next_due_time(db, ctx, world):
    with db.write() as s:
        import_year(s, year=2026)
        apply_preset(s, preset="hall", branch_id=world.branch_id)
    monday = at(2026, 11, 30, 16, 0)
    assert file(ctx, world, monday, "k-1").due_at == at(2026, 12, 7, 17, 0)
    with db.write() as s:
        set_policy(s, values={"sla_days": 3}, branch_id=world.branch_id)
    assert file(ctx, world, monday, "k-2").due_at == at(2026, 12, 3, 17, 0)
    with db.write() as s:  # the branch closes at 16:30 now; the calendar is the same
        set_policy(s, values={"closing_time": "16:30"}, branch_id=world.branch_id)
    assert file(ctx, world, monday, "k-3").due_at == at(2026, 12, 3, 16, 30)
    with db.write() as s:  # the policy's own holidays count too
        set_policy(s, values={"holidays": ["2026-12-02"]}, branch_id=world.branch_id)
    assert file(ctx, world, monday, "k-4").due_at == at(2026, 12, 4, 16, 30)
    with db.write() as s:
        apply_preset(s, preset="bank", branch_id=world.branch_id)  # 15 calendar days, to 24:00
    filed = file(ctx, world, monday, "k-5")
    assert (filed.due_at, filed.promise_unit, filed.promise_amount) == (at(2026, 12, 16), "calendar_days", 15)


@pytest.mark.parametrize("preset", ["generic", "hall", "bank"])
@pytest.mark.parametrize(
    "now",
    [
        at(2026, 9, 30, 16, 59),  # the eve of the National Day week
        at(2026, 10, 1, 10, 0),  # in it
        at(2026, 10, 10, 8, 0),  # a make-up Saturday before opening
        at(2026, 12, 31, 23, 59),  # the last minute of the year
        at(2026, 6, 19, 12, 0),  # the Dragon Boat Festival
    ],
)
def test_every_kind_of_clock_is_due_when_the_sessions_path_says(db, ctx, world, preset, now):
    with db.write() as s:
        import_year(s, year=2026)
        apply_preset(s, preset=preset, branch_id=world.branch_id)
    filed = file(ctx, world, now, "k-1")
    row = stored(db, "k-1")
    assert (row.due_at, row.first_contact_due_at, row.promise_unit, row.promise_amount) == reference(
        db, world.branch_id, now
    )
    assert filed.due_at == row.due_at and filed.promise_unit == row.promise_unit


def test_the_calendar_read_on_the_driver_is_the_branchs_calendar(db, world):
    with db.write() as s:
        import_year(s, year=2026)
        set_day(s, day=date(2026, 10, 8), kind="workday", branch_id=world.branch_id)  # over a holiday
        set_day(s, day=date(2026, 11, 16), kind="holiday", branch_id=world.branch_id)
        set_day(s, day=date(2026, 11, 17), kind="holiday", branch_id=world.other_branch_id)
        extra = ["2026-11-18"]
        for branch in (world.branch_id, world.other_branch_id):
            conn, dialect = driver_of(s)
            assert work_calendar_on(conn, dialect, branch, extra) == work_calendar(s, branch, extra)
            # Asked again with the same marks: the same calendar, built once.
            assert work_calendar_on(conn, dialect, branch, extra) is work_calendar_on(
                conn, dialect, branch, extra
            )
        ours = work_calendar_on(conn, dialect, world.branch_id, extra)
        # Read from a day on (as a filing reads it), it answers for those days as the whole one does.
        later = work_calendar_on(conn, dialect, world.branch_id, extra, since=date(2026, 10, 8))
    days = [date(2026, 10, 8) + timedelta(days=n) for n in range(90)]
    assert [later.is_working_day(d) for d in days] == [ours.is_working_day(d) for d in days]
    assert len(later.holidays) < len(ours.holidays)
    assert ours.is_working_day(date(2026, 10, 8)) and not ours.is_working_day(date(2026, 10, 7))
    assert not ours.is_working_day(date(2026, 11, 16)) and ours.is_working_day(date(2026, 11, 17))
    assert not ours.is_working_day(date(2026, 11, 18))


def test_a_high_severity_complaint_stores_its_alert_with_it_once_and_a_retry_raises_a_lost_one(
    db, ctx, world
):
    published: list[AlertView] = []
    ctx.alerts.publish = published.append  # type: ignore[method-assign, assignment]
    now = at(2026, 11, 30, 10, 0)
    normal = file(ctx, world, now, "k-normal")
    high = file(ctx, world, now, "k-high", BRIBE)
    again = file(ctx, world, now, "k-high", BRIBE)
    assert (normal.severity, high.severity, again.severity) == ("normal", "high", "high")
    assert again.code == high.code and not again.created
    complaint = stored(db, "k-high")
    with db.read() as s:
        alerts = s.exec(select(Alert)).all()
    assert [(a.kind, a.complaint_id, a.branch_id, a.created_at) for a in alerts] == [
        ("high_complaint", complaint.id, world.branch_id, now)
    ]
    assert [(p.id, p.kind, p.complaint_id) for p in published] == [
        (alerts[0].id, "high_complaint", complaint.id)
    ]
    # Had the alert been lost (it is never deleted; a restore from an older copy, say), the retry
    # raises it again, once, as the alert hook after the commit always did.
    with db.write() as s:
        s.exec(delete(Alert))  # type: ignore[call-overload]
        s.commit()
    file(ctx, world, now, "k-high", BRIBE)
    file(ctx, world, now, "k-high", BRIBE)
    with db.read() as s:
        assert [a.complaint_id for a in s.exec(select(Alert)).all()] == [complaint.id]
    assert len(published) == 2


def test_audit_entries_written_with_a_local_time_verify_on_either_path(db, world):
    """Both appends hash the time as it is stored (UTC): before, an entry written with a branch's
    local time (as every complaint filed with a local ``now`` was) failed ``rapport audit verify``."""
    with db.write() as s:
        append(s, action="test.local", entity="test", entity_id=1, now=at(2026, 11, 30, 9, 0))
        conn, dialect = driver_of(s)
        append_on(conn, dialect, action="test.local", entity="test", entity_id=2, now=at(2026, 11, 30, 9, 1))
        s.commit()
    with db.read() as s:
        assert verify(s).ok
        rows = s.exec(select(AuditEvent).where(AuditEvent.action == "test.local")).all()
    assert [r.at for r in rows] == [at(2026, 11, 30, 9, 0), at(2026, 11, 30, 9, 1)]
