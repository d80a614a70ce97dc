"""The dashboard section in process: a supervisor signs in, opens the dashboard and reads the same
figures the reports compute — their own branch only — in both languages."""

from __future__ import annotations

import dataclasses
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import flet as ft
import pytest
from sqlmodel import select

from admin import sections
from admin.screens import dashboard
from models.complaint import Complaint
from models.crypto import hash_secret
from models.org import Role, Staff
from models.rating import Rating
from rapport.core.context import AppContext

sys.path.insert(0, str(Path(__file__).resolve().parent))  # no __init__.py here
from admin_support import PASSWORD, Open, admin_tabs, sign_in  # noqa: E402,F401
from harness import FletHarness  # noqa: E402

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 15, 10, 0, tzinfo=SH).astimezone(UTC)


def local(month: int, day: int, hour: int) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=SH).astimezone(UTC)


@pytest.fixture(autouse=True)
def dashboard_section(monkeypatch):
    """Registers the section as admin/sections.py will (one line there)."""
    if sections.by_key("dashboard") is None:
        section = sections.Section(
            "dashboard",
            "admin.dash.nav",
            ft.Icons.INSIGHTS,
            sections.SUPERVISION,
            dashboard.build,
            dashboard.load,
        )
        monkeypatch.setattr(sections, "SECTIONS", [*sections.SECTIONS, section])


@pytest.fixture
def seeded(db, world):
    """Branch A: three ratings today (5, 1, 3), one on the 10th (4), a flagged one; an overdue
    high-severity complaint. Branch B: a low rating today that A's supervisor must not see."""
    a, b = world.branch_id, world.other_branch_id

    def rating(branch_id, counter_id, score, at, reasons=(), counted=True) -> Rating:
        return Rating(
            idempotency_key=str(uuid.uuid4()), request_hash="t", branch_id=branch_id, counter_id=counter_id,
            channel="kiosk", score=score, reasons=list(reasons), created_at=at, counted=counted,
            flagged=not counted,
        )  # fmt: skip

    with db.write() as s:
        s.add_all([
            rating(a, world.counter_id, 5, local(3, 15, 9)),
            rating(a, world.counter_id, 1, local(3, 15, 8), ["2.2.1"]),
            rating(a, world.counter_id, 4, local(3, 10, 11)),
            rating(a, world.counter_id, 1, local(3, 15, 9), ["2.2.1"], counted=False),
            rating(a, world.closed_counter_id, 3, local(3, 15, 9)),
            rating(b, None, 1, local(3, 15, 9), ["2.4.1"]),
        ])  # fmt: skip
        s.add(
            Complaint(
                idempotency_key="c1",
                request_hash="t",
                code_digest="d1",
                branch_id=a,
                channel="kiosk",
                category="2.2.2",
                description="x",
                severity="high",
                status="new",
                created_at=local(3, 14, 9),
                due_at=NOW - timedelta(hours=1),
            )
        )
        boss = s.exec(select(Staff).where(Staff.employee_no == "S1")).one()
        boss.username, boss.password_hash = "boss.a", hash_secret(PASSWORD)
        admin = Staff(employee_no="A1", display_name="管理员", role=Role.admin, username="root",
                      password_hash=hash_secret(PASSWORD))  # fmt: skip
        alice = s.exec(select(Staff).where(Staff.employee_no == world.staff_no)).one()
        alice.username, alice.password_hash = "alice", hash_secret(PASSWORD)
        s.add_all([boss, admin, alice])
        s.commit()


def value(h: FletHarness, key: str) -> str:
    return str(h.find(key).value)


async def test_a_supervisor_reads_their_branchs_figures_on_the_dashboard(open_admin: Open, seeded, world):
    h = await open_admin()
    await sign_in(h, "boss.a")
    await h.click("nav-dashboard")
    assert h.has_text("服务看板") and value(h, "dash-scope").startswith("甲支行 · 截至 2026年3月15日 10:00")
    # Today 5, 1, 3 (B's rating and the flagged press are not counted); this month also a 4.
    assert [value(h, f"dash-today-{k}") for k in ("count", "mean", "low")] == ["3", "3.00", "33.3%"]
    assert [value(h, f"dash-month-{k}") for k in ("count", "mean", "low")] == ["4", "3.25", "25%"]
    one = f"dash-counter-{world.counter_id}"
    assert [value(h, f"{one}-{k}") for k in ("counter", "today_count", "today_mean", "month_count")] == [
        "1号窗口", "2", "3.00", "3",
    ]  # fmt: skip
    assert value(h, f"{one}-month_mean") == "3.33" and value(h, f"{one}-month_low") == "33.3%"
    assert value(h, f"dash-counter-{world.closed_counter_id}-month_mean") == "3.00"
    assert not h.exists(f"dash-branch-{world.branch_id}-counter"), "one branch: no branch rows"
    assert [value(h, f"dash-dist-{s}") for s in (1, 2, 5)] == ["1 分：1 条", "2 分：0 条", "5 分：1 条"]
    assert value(h, "dash-trend-2026-03-15") == "3/15：3 条，平均 3.00 分"
    assert value(h, "dash-trend-summary") == "近 30 天每日平均分与评价数：共 4 条，平均 3.25 分"
    assert value(h, "dash-sla-high-overdue") == "1" and value(h, "dash-sla-normal-due_soon") == "0"
    assert value(h, "dash-heat-2.2.1") == "2.2.1 热情礼貌" and value(h, "dash-heat-2.2.1-ratings") == "1"
    assert value(h, "dash-heat-2.2.2-complaints") == "1"
    assert not h.exists("dash-heat-2.4.1"), "branch B's clause is not in A's heat map"


async def test_the_dashboard_follows_the_language_and_refreshes(open_admin: Open, seeded, db, world):
    h = await open_admin(width=800, height=1280)
    await sign_in(h, "boss.a")
    await h.click("nav-dashboard")
    await h.click("lang")
    assert h.has_text("Service dashboard") and value(h, "dash-heat-2.2.1") == "2.2.1 Courtesy"
    assert value(h, "dash-dist-1") == "Score 1: 1" and value(h, "dash-month-low") == "25%"
    with db.write() as s:
        s.add(Rating(idempotency_key="late", request_hash="t", branch_id=world.branch_id, channel="qr",
                     score=5, reasons=[], created_at=NOW - timedelta(minutes=5)))  # fmt: skip
        s.commit()
    await h.click("dash-refresh")
    assert value(h, "dash-today-count") == "4" and value(h, "dash-today-mean") == "3.50"
    assert value(h, f"dash-counter-none-{world.branch_id}-counter") == "No counter (QR, hotline)"


async def test_an_admin_sees_every_branch_with_a_row_per_branch(open_admin: Open, seeded, world):
    h = await open_admin()
    await sign_in(h, "root")
    await h.click("nav-dashboard")
    assert value(h, "dash-scope").startswith("全部网点")
    assert value(h, "dash-today-count") == "4" and value(h, "dash-today-low") == "50%"
    assert value(h, f"dash-branch-{world.other_branch_id}-counter") == "乙支行"
    assert value(h, "dash-heat-2.4.1-ratings") == "1"


async def test_staff_get_no_dashboard_tab(open_admin: Open, seeded):
    h = await open_admin()
    await sign_in(h, "alice")
    assert not h.exists("sign-in"), "signed in"
    assert not h.exists("nav-dashboard") and not h.exists("dash-scope")


@pytest.fixture
async def open_admin(ctx: AppContext) -> AsyncIterator[Open]:
    """The dashboard at a fixed moment, so its figures are exact."""
    async with admin_tabs(dataclasses.replace(ctx, clock=lambda: NOW)) as open_:
        yield open_
