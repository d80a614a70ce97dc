"""Dashboard figures (models/reports/ and admin/dashboard.py) on a hand-made month of ratings and
complaints, with "now" fixed at 2026-03-15 10:00 in Shanghai (02:00 UTC). Every expected number
below is worked out by hand from the seed."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import inspect as sa_inspect
from sqlmodel import SQLModel, select

from admin import backend
from admin.dashboard import dashboard
from models import reports, rollup
from models.auth import SessionExpired
from models.complaint import Complaint
from models.crypto import hash_secret
from models.errors import Forbidden
from models.org import Branch, Counter, Role, Staff
from models.rating import Rating
from rapport.usecases import scheduler
from rapport.usecases.scheduler import job_named, run_due

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 15, 10, 0, tzinfo=SH).astimezone(UTC)
PASSWORD = "correct horse 42"


def local(month: int, day: int, hour: int, minute: int = 0, tz: ZoneInfo = SH) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=tz).astimezone(UTC)


def rating(branch_id, counter_id, score, at, reasons=(), counted=True) -> Rating:
    return Rating(
        idempotency_key=str(uuid.uuid4()), request_hash="t", branch_id=branch_id, counter_id=counter_id,
        channel="kiosk" if counter_id else "qr", score=score, reasons=list(reasons), created_at=at,
        counted=counted, flagged=not counted, flag_reason=None if counted else "too_soon",
    )  # fmt: skip


def complaint(branch_id, category, created_at, severity, status, due_at) -> Complaint:
    return Complaint(
        idempotency_key=str(uuid.uuid4()), request_hash="t", code_digest=uuid.uuid4().hex,
        branch_id=branch_id, channel="kiosk", category=category, description="x", severity=severity,
        status=status, created_at=created_at, due_at=due_at,
    )  # fmt: skip


@pytest.fixture(params=["live", "rolled-up"])
def seeded(request, db, world, ctx):
    """Branch A (counters 1 and 2, and QR ratings at no counter) and branch B (counter B-01).

    Every test runs twice: with every day read from the ratings, and after the roll-up job has
    counted the closed days (models/rollup.py), which must not change a single figure."""
    counter = _seed(db, world)
    if request.param == "rolled-up":
        [run] = run_due(ctx, job_named(scheduler.ROLLUP), NOW)
        assert run.items_done == rollup.ROLLUP_DAYS * 2  # each closed day of both branches
    return counter


def _seed(db, world):
    a, b, c1, c2 = world.branch_id, world.other_branch_id, world.counter_id, world.closed_counter_id
    with db.write() as s:
        b1 = Counter(branch_id=b, code="B-01", name_zh="乙1号窗口", name_en="B Counter 1")
        s.add(b1)
        s.flush()
        s.add_all([
            # Branch A, counter 1
            rating(a, c1, 5, local(3, 15, 9)),
            rating(a, c1, 1, local(3, 15, 8), ["2.2.1", "2.2.2"]),
            rating(a, c1, 2, local(3, 15, 0, 10), ["2.2.1"]),  # 14 Mar 16:10 UTC: still today locally
            rating(a, c1, 4, local(3, 14, 23, 30)),  # 15:30 UTC on the 14th: yesterday, locally too
            rating(a, c1, 3, local(3, 1, 0, 30)),  # 28 Feb in UTC, but this month locally
            rating(a, c1, 1, local(2, 28, 23, 30), ["2.2.3"]),  # last month: trend only
            rating(a, c1, 4, local(2, 14, 0, 5)),  # the first day of the 30-day window
            rating(a, c1, 5, local(2, 13, 23, 55)),  # just before the window
            rating(a, c1, 1, local(3, 15, 9, 1), ["2.4.1"], counted=False),  # flagged: nowhere
            # Branch A, counter 2 and no counter
            rating(a, c2, 3, local(3, 15, 9, 30)),
            rating(a, c2, 2, local(3, 10, 12), ["2.3.1"]),
            rating(a, None, 5, local(3, 12, 15)),
            # Branch B
            rating(b, b1.id, 1, local(3, 15, 9), ["2.2.1"]),
            rating(b, b1.id, 5, local(3, 2, 11)),
        ])  # fmt: skip
        hours = timedelta(hours=1)
        s.add_all([
            complaint(a, "2.2.2", local(3, 14, 9), "high", "new", NOW + 2 * hours),  # due soon
            complaint(a, "2.2.3", local(2, 20, 9), "high", "acknowledged", NOW - hours),  # overdue
            complaint(a, "2.2.1", local(3, 10, 9), "normal", "rejected", NOW - hours),  # not open
            complaint(a, "2.3.1", local(3, 1, 0, 30), "normal", "investigating", NOW + 72 * hours),
            complaint(a, "2.2.2", local(3, 5, 9), "normal", "new", NOW + 23 * hours),  # due soon
            complaint(a, "2.2.1", local(3, 12, 9), "low", "resolved", NOW - hours),  # not open
            complaint(b, "2.4.1", local(3, 14, 9), "high", "new", NOW - hours),
        ])  # fmt: skip
        s.commit()
        return b1.id


def test_today_and_this_month_follow_the_local_calendar_per_counter_and_branch(db, world, seeded):
    with db.read() as s:
        result = reports.summary(s, branch_ids=[world.branch_id], now=NOW)
    assert [b.branch_id for b in result.branches] == [world.branch_id]
    branch = result.branches[0]
    assert branch.today == reports.Stats(count=4, total=11, low=2)
    assert branch.month == reports.Stats(count=8, total=25, low=3)
    assert branch.today.mean == 2.75 and branch.today.low_share == 0.5
    assert branch.month.mean == 3.125 and branch.month.low_share == 0.375
    assert result.today == branch.today and result.month == branch.month
    by_counter = {c.counter_id: c for c in branch.counters}
    assert list(by_counter) == [world.counter_id, world.closed_counter_id, None]  # by code, no counter last
    one, two, none = by_counter[world.counter_id], by_counter[world.closed_counter_id], by_counter[None]
    assert one.today == reports.Stats(3, 8, 2) and one.month == reports.Stats(5, 15, 2)
    assert one.today.mean == pytest.approx(8 / 3) and one.month.low_share == 0.4
    assert two.today == reports.Stats(1, 3, 0) and two.month == reports.Stats(2, 5, 1)
    assert none.today == reports.Stats() and none.month == reports.Stats(1, 5, 0)
    assert none.today.mean is None and none.today.low_share is None
    assert (one.code, one.name_zh, one.name_en) == ("A-01", "1号窗口", "Counter 1")


def test_the_trend_has_thirty_local_days_with_a_late_evening_rating_on_its_own_day(db, world, seeded):
    with db.read() as s:
        days = reports.trend(s, branch_ids=[world.branch_id], now=NOW)
    assert len(days) == 30
    assert days[0].day == date(2026, 2, 14) and days[-1].day == date(2026, 3, 15)
    got = {p.day: (p.count, p.total) for p in days if p.count}
    assert got == {
        date(2026, 2, 14): (1, 4),
        date(2026, 2, 28): (1, 1),
        date(2026, 3, 1): (1, 3),
        date(2026, 3, 10): (1, 2),
        date(2026, 3, 12): (1, 5),
        date(2026, 3, 14): (1, 4),  # the 23:30 rating
        date(2026, 3, 15): (4, 11),  # including the one at 00:10 local (the 14th in UTC)
    }
    assert days[-1].mean == 2.75 and days[1].mean is None


def test_the_distribution_counts_this_months_counted_ratings_per_score(db, world, seeded):
    with db.read() as s:
        mine = reports.distribution(s, branch_ids=[world.branch_id], now=NOW)
        everyone = reports.distribution(s, branch_ids=None, now=NOW)
    assert mine.counts == (1, 2, 2, 1, 2) and mine.total == 8 and mine.count(5) == 2
    assert everyone.counts == (2, 2, 2, 1, 3)


def test_open_complaints_are_split_by_deadline_and_severity(db, world, seeded):
    with db.read() as s:
        mine = reports.complaints_by_sla(s, branch_ids=[world.branch_id], now=NOW)
        everyone = reports.complaints_by_sla(s, branch_ids=None, now=NOW)
    assert mine.rows == (
        reports.SlaRow("high", on_time=0, due_soon=1, overdue=1),
        reports.SlaRow("normal", on_time=1, due_soon=1, overdue=0),
        reports.SlaRow("low"),
    )
    assert mine.total == 4 and mine.state_total(reports.SlaState.overdue) == 1
    assert everyone.rows[0] == reports.SlaRow("high", on_time=0, due_soon=1, overdue=2)


def test_the_heat_map_counts_clauses_in_low_ratings_and_complaints_of_this_month(db, world, seeded):
    with db.read() as s:
        mine = reports.clause_heat(s, branch_ids=[world.branch_id], now=NOW)
        everyone = reports.clause_heat(s, branch_ids=None, now=NOW)
    assert mine.clauses == (
        reports.ClauseHeat("2.2.1", ratings=2, complaints=1),
        reports.ClauseHeat("2.2.2", ratings=1, complaints=2),
        reports.ClauseHeat("2.3.1", ratings=1, complaints=1),
    )
    assert mine.inspections_available == sa_inspect(db.engine).has_table("inspection_finding")
    assert everyone.clauses[0] == reports.ClauseHeat("2.2.1", ratings=3, complaints=1)
    assert reports.ClauseHeat("2.4.1", complaints=1) in everyone.clauses


def test_a_scope_of_one_branch_never_includes_another(db, world, seeded):
    with db.read() as s:
        theirs = reports.summary(s, branch_ids=[world.other_branch_id], now=NOW)
        nobody = reports.summary(s, branch_ids=[], now=NOW)
        everyone = reports.summary(s, branch_ids=None, now=NOW)
    assert [b.code for b in theirs.branches] == ["B"]
    assert theirs.today == reports.Stats(1, 1, 1) and theirs.month == reports.Stats(2, 6, 1)
    assert [c.counter_id for c in theirs.branches[0].counters] == [seeded]
    assert nobody.branches == () and nobody.month == reports.Stats()
    assert everyone.today == reports.Stats(5, 12, 3) and everyone.month == reports.Stats(10, 31, 4)
    assert [b.code for b in everyone.branches] == ["A", "B"]


def test_each_branch_uses_its_own_time_zone_across_a_daylight_saving_change(db, world):
    london = ZoneInfo("Europe/London")  # clocks go forward at 01:00 UTC on 29 March 2026
    now = datetime(2026, 3, 30, 12, 0, tzinfo=UTC)
    with db.write() as s:
        lon = Branch(code="L", name_zh="伦敦", name_en="London", timezone="Europe/London")
        s.add(lon)
        s.flush()
        assert lon.id is not None
        s.add_all([
            rating(lon.id, None, 5, datetime(2026, 3, 29, 23, 30, tzinfo=UTC)),  # 00:30 BST on the 30th
            rating(lon.id, None, 1, datetime(2026, 3, 28, 23, 30, tzinfo=UTC)),  # 23:30 GMT on the 28th
            rating(lon.id, None, 3, datetime(2026, 2, 28, 23, 30, tzinfo=UTC)),  # February in London
            # Shanghai: 30 Mar 06:30 local; London's 29 Mar in UTC terms but not in either local calendar
            rating(world.branch_id, world.counter_id, 4, datetime(2026, 3, 29, 22, 30, tzinfo=UTC)),
        ])  # fmt: skip
        s.commit()
        lon_id = lon.id
    with db.read() as s:
        mine = reports.trend(s, branch_ids=[lon_id], now=now, days=3)
        both = reports.summary(s, branch_ids=[lon_id, world.branch_id], now=now)
    assert [(p.day, p.count) for p in mine] == [
        (date(2026, 3, 28), 1),
        (date(2026, 3, 29), 0),
        (date(2026, 3, 30), 1),
    ]
    by_code = {b.code: b for b in both.branches}
    assert by_code["L"].today == reports.Stats(1, 5, 0) and by_code["L"].month == reports.Stats(2, 6, 1)
    assert by_code["A"].today == reports.Stats(1, 4, 0)
    assert reports.Zone.at(london, (lon_id,), now).day_start == datetime(2026, 3, 29, 23, 0, tzinfo=UTC)


def test_the_heat_map_leaves_inspections_out_while_their_tables_do_not_exist(db, world, seeded, monkeypatch):
    monkeypatch.setattr(reports.clauses, "INSPECTION_FINDING", "no_such_table")
    with db.read() as s:
        heat = reports.clause_heat(s, branch_ids=[world.branch_id], now=NOW)
    assert not heat.inspections_available
    assert heat.clauses[0] == reports.ClauseHeat("2.2.1", ratings=2, complaints=1)


def test_violations_found_by_inspections_this_month_join_the_heat_map(db, world, seeded):
    inspection = pytest.importorskip("models.inspection")
    tables = [
        t.__table__ for t in (inspection.SpotCheckTask, inspection.Inspection, inspection.InspectionFinding)
    ]
    # Until the inspections migration lands, PostgreSQL (built by migrations) lacks the tables. The
    # per-run database is thrown away at the end, so creating them here leaves nothing behind.
    SQLModel.metadata.create_all(db.engine, tables=tables)
    V, C = "violation", "compliant"
    with db.write() as s:
        boss = s.exec(select(Staff).where(Staff.employee_no == "S1")).one()
        carol = s.exec(select(Staff).where(Staff.employee_no == world.other_branch_staff_no)).one()
        held = [
            (world.branch_id, world.staff_id, local(3, 3, 10), [("2.4.1", V), ("2.2.1", V), ("2.3.2", C)]),
            (world.branch_id, world.staff_id, local(2, 27, 10), [("2.4.1", V)]),  # last month
            (world.other_branch_id, carol.id, local(3, 3, 10), [("2.4.1", V)]),  # another branch
        ]
        for branch_id, staff_id, at, findings in held:
            row = inspection.Inspection(
                staff_id=staff_id, branch_id=branch_id, inspector_id=boss.id, kind="routine", at=at
            )
            s.add(row)
            s.flush()
            for code, result in findings:
                s.add(inspection.InspectionFinding(inspection_id=row.id, clause_code=code, result=result))
        s.commit()
    with db.read() as s:
        heat = reports.clause_heat(s, branch_ids=[world.branch_id], now=NOW)
    assert heat.inspections_available
    found = {h.code: h for h in heat.clauses}
    assert found["2.4.1"] == reports.ClauseHeat("2.4.1", inspections=1)
    assert found["2.2.1"] == reports.ClauseHeat("2.2.1", ratings=2, complaints=1, inspections=1)
    assert "2.3.2" not in found, "a compliant finding cites no problem"


# -- the admin door: sign-in re-checked, scope by role ----------------------------------------------


@pytest.fixture
def at_now(ctx):
    return dataclasses.replace(ctx, clock=lambda: NOW)


def token_for(ctx, db, employee_no: str, *, role: Role | None = None, branch_id: int | None = -1) -> str:
    with db.write() as s:
        staff = s.exec(select(Staff).where(Staff.employee_no == employee_no)).first()
        if staff is None:
            staff = Staff(employee_no=employee_no, display_name=employee_no)
        staff.username, staff.password_hash = employee_no.lower(), hash_secret(PASSWORD)
        if role is not None:
            staff.role = role
        if branch_id != -1:
            staff.branch_id = branch_id
        s.add(staff)
        s.commit()
    _user, token = backend.sign_in(
        ctx, login=employee_no.lower(), password=PASSWORD, client="t", totp_code=None
    )
    return token


def test_a_supervisor_gets_their_own_branch_and_an_admin_every_branch(at_now, db, world, seeded):
    boss = dashboard(at_now, token_for(at_now, db, "S1"))
    assert boss.branch_zh == "甲支行" and boss.branch_name("en") == "Branch A"
    assert [b.code for b in boss.summary.branches] == ["A"]
    assert boss.summary.month == reports.Stats(8, 25, 3) and boss.complaints.total == 4
    assert boss.distribution.counts == (1, 2, 2, 1, 2) and len(boss.trend) == 30
    assert boss.clause("2.2.1", "zh-CN") == "热情礼貌" and boss.clause("2.2.1", "en") == "Courtesy"
    admin = dashboard(at_now, token_for(at_now, db, "A1", role=Role.admin, branch_id=None))
    assert admin.branch_zh is None and [b.code for b in admin.summary.branches] == ["A", "B"]
    assert admin.summary.month == reports.Stats(10, 31, 4)


def test_staff_may_not_open_the_dashboard_and_an_ended_sign_in_is_refused(at_now, db, world, seeded):
    with pytest.raises(Forbidden):
        dashboard(at_now, token_for(at_now, db, world.staff_no))
    orphan = token_for(at_now, db, "S7", role=Role.supervisor, branch_id=None)
    with pytest.raises(Forbidden):  # a supervisor without a branch sees nothing rather than everything
        dashboard(at_now, orphan)
    token = token_for(at_now, db, "S1")
    backend.sign_out(at_now, token)
    with pytest.raises(SessionExpired):
        dashboard(at_now, token)
