"""The working-day calendar as data and the clocks built on it, through the real services on SQLite
and PostgreSQL: importing a year, marking days, presets, and the promise a filed complaint carries."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from models.audit import AuditEvent
from models.complaint import ComplaintCreate, file_complaint, public_status
from models.errors import NotFound, ValidationFailed
from models.holidays import CalendarDay, CalendarUnavailable, import_year, marked_days, set_day, work_calendar
from models.policy import effective_policy
from models.presets import apply_preset, preset_changes
from models.rating import Channel

SH = ZoneInfo("Asia/Shanghai")


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def audit_actions(session, action: str) -> list[AuditEvent]:
    return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


def file(session, branch_id: int, now: datetime, key: str = "k-1"):
    data = ComplaintCreate(category="2.2.2", description="等了一个小时没人理。", locale="zh-CN")
    complaint, code, _ = file_complaint(
        session, idempotency_key=key, data=data, channel=Channel.kiosk, branch_id=branch_id, now=now,
        code_secret="s" * 40,
    )  # fmt: skip
    return complaint, code


def test_importing_2026_stores_its_holidays_and_make_up_days_and_is_audited(db, world):
    with db.write() as s:
        done = import_year(s, year=2026, now=at(2026, 11, 1, 9))
        assert (done.holidays, done.workdays, done.kept_manual) == (33, 6, 0)
        assert done.source.startswith("chinese-calendar ")
        marks = {m.day: m.kind for m in marked_days(s, branch_id=None, year=2026)}
        assert marks[date(2026, 10, 1)] == "holiday" and marks[date(2026, 9, 20)] == "workday"
        assert date(2026, 10, 8) not in marks
        [entry] = audit_actions(s, "calendar.import")
        assert entry.details == {"branch": None, "source": done.source, "holiday": 33, "workday": 6,
                                 "kept_manual": 0}  # fmt: skip


def test_a_year_the_package_does_not_have_is_refused_naming_the_years_it_has_and_nothing_is_written(
    db, world
):
    with (
        db.write() as s,
        pytest.raises(CalendarUnavailable, match=r"no holidays for 1999 \(it covers 20\d\d to"),
    ):
        import_year(s, year=1999)
    with db.read() as s:
        assert s.exec(select(CalendarDay)).all() == [] and audit_actions(s, "calendar.import") == []


def test_importing_again_replaces_imported_days_and_keeps_days_set_by_hand(db, world):
    with db.write() as s:
        import_year(s, year=2026)
        # A region works 2 October this year, and closes on 24 December for a local reason.
        set_day(s, day=date(2026, 10, 2), kind="workday", name="本地调整")
        set_day(s, day=date(2026, 12, 24), kind="holiday", name="local")
        again = import_year(s, year=2026)
        assert again.kept_manual == 1 and again.holidays == 32
        marks = {m.day: (m.kind, m.source) for m in marked_days(s, branch_id=None, year=2026)}
        assert marks[date(2026, 10, 2)] == ("workday", "manual")
        assert marks[date(2026, 12, 24)] == ("holiday", "manual")
        assert len([d for d, (_k, src) in marks.items() if src != "manual"]) == 32 + 6
        assert len(audit_actions(s, "calendar.set")) == 2


def test_a_branch_override_changes_that_branch_only(db, world):
    with db.write() as s:
        import_year(s, year=2026)
        set_day(s, day=date(2026, 10, 8), kind="holiday", name="地方假日", branch_id=world.branch_id)
        ours = work_calendar(s, world.branch_id)
        theirs = work_calendar(s, world.other_branch_id)
    assert not ours.is_working_day(date(2026, 10, 8)) and theirs.is_working_day(date(2026, 10, 8))
    assert ours.is_working_day(date(2026, 10, 10)) and not ours.is_working_day(date(2026, 10, 1))


def test_bad_calendar_edits_are_refused_and_change_nothing(db, world):
    with db.write() as s:
        with pytest.raises(ValidationFailed, match="holiday or a workday"):
            set_day(s, day=date(2026, 10, 9), kind="vacation")
        with pytest.raises(ValidationFailed, match="64 characters"):
            set_day(s, day=date(2026, 10, 9), kind="holiday", name="x" * 65)
        with pytest.raises(NotFound, match="no mark"):
            set_day(s, day=date(2026, 10, 9), kind=None)
    with db.read() as s:
        assert s.exec(select(CalendarDay)).all() == [] and audit_actions(s, "calendar.set") == []


def test_a_preset_shows_what_changes_and_is_one_audited_policy_change(db, world):
    with db.write() as s:
        changes = preset_changes(s, preset="hall", branch_id=world.branch_id)
        assert ("sla_clock", "opening_hours", "working_days") in changes
        assert ("sla_days", 15, 5) in changes and ("first_contact_working_days", 0, 1) in changes
        apply_preset(s, preset="hall", branch_id=world.branch_id, actor_staff_id=world.staff_id)
        assert preset_changes(s, preset="hall", branch_id=world.branch_id) == []
        assert effective_policy(s, world.other_branch_id).sla_clock == "opening_hours"
        [entry] = [e for e in audit_actions(s, "policy.update") if e.details.get("preset") == "hall"]
        assert entry.details["branch"] == world.branch_id and "sla_clock" in entry.details["keys"]
        with pytest.raises(ValidationFailed, match="unknown preset 'shop'"):
            apply_preset(s, preset="shop", branch_id=world.branch_id)


@pytest.mark.parametrize(
    ("preset", "filed", "due", "unit", "amount"),
    [
        ("hall", at(2026, 11, 30, 16, 0), at(2026, 12, 7, 17, 0), "working_days", 5),
        ("hall", at(2026, 9, 30, 10, 0), at(2026, 10, 13, 17, 0), "working_days", 5),
        ("bank", at(2026, 9, 17, 10, 0), at(2026, 10, 9, 0, 0), "calendar_days", 15),
    ],
)
def test_a_filed_complaint_is_due_by_the_branchs_calendar_and_keeps_the_promise_it_was_given(
    db, world, preset, filed, due, unit, amount
):
    with db.write() as s:
        import_year(s, year=2026)
        apply_preset(s, preset=preset, branch_id=world.branch_id)
        complaint, code = file(s, world.branch_id, filed)
        assert complaint.due_at == due
        assert (complaint.promise_unit, complaint.promise_amount) == (unit, amount)
        if preset == "hall":
            assert complaint.first_contact_due_at is not None and complaint.first_contact_due_at > filed
        # The customer's status page states the same promise, in the branch's time zone, even after
        # the policy changes.
        apply_preset(s, preset="generic", branch_id=world.branch_id)
        view = public_status(s, code=code)
        assert view is not None and view.due_at == due and view.timezone == "Asia/Shanghai"
        assert (view.promise_unit, view.promise_amount) == (unit, amount)


def test_without_a_calendar_the_generic_clock_is_as_before_and_a_first_contact_clock_is_off(db, world):
    with db.write() as s:
        complaint, _ = file(s, world.branch_id, at(2026, 9, 30, 16, 0))
        assert complaint.promise_unit == "opening_hours"
        assert complaint.promise_amount == effective_policy(s, world.branch_id).sla_hours_normal
        assert complaint.first_contact_due_at is None
        rows = s.exec(select(CalendarDay).where(col(CalendarDay.branch_id).is_(None))).all()
        assert rows == []
