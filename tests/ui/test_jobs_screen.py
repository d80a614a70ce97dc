"""The scheduled-jobs section in process: an administrator sees each job's last run, next run,
duration and last error (in both languages, on a phone too); a supervisor has no such tab and the
service behind it refuses them."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

import models.retention
from admin.jobs import job_overview
from models.auth import authenticate
from models.complaint import ComplaintCreate, ComplaintStatus, file_complaint, transition
from models.crypto import hash_secret
from models.errors import Forbidden
from models.org import Role, Staff
from models.rating import Channel
from rapport.core.context import AppContext
from rapport.usecases import scheduler
from rapport.usecases.scheduler import job_named, run_due

sys.path.insert(0, str(Path(__file__).resolve().parent))  # no __init__.py here
from admin_support import PASSWORD, Open, open_section, sign_in  # noqa: E402

NOW = datetime(2026, 11, 27, 2, 5, tzinfo=UTC)  # Friday 10:05 in Shanghai


@pytest.fixture
def accounts(ctx, db, world) -> dict[str, int]:
    ctx.clock = lambda: NOW  # runs and sign-ins on one fixed clock
    with db.write() as s:
        boss = s.exec(select(Staff).where(Staff.employee_no == "S1")).one()
        boss.username, boss.password_hash = "boss.a", hash_secret(PASSWORD)
        root = Staff(
            employee_no="A0",
            display_name="管理员",
            role=Role.admin,
            username="root",
            password_hash=hash_secret(PASSWORD),
        )
        s.add_all([boss, root])
        s.commit()
        assert boss.id and root.id
        return {"boss.a": boss.id, "root": root.id}


def failing_retention(ctx: AppContext, db, world, monkeypatch) -> int:  # type: ignore[no-untyped-def]
    """A retention run in which one complaint's erasure fails; returns that complaint's id."""
    month_ago = NOW - timedelta(days=31)
    with db.write() as s:
        c, _code, _ = file_complaint(
            s,
            idempotency_key="retained",
            data=ComplaintCreate(category="2.2.1", description="x", contact="13812345678", consent=True),
            channel=Channel.kiosk,
            branch_id=world.branch_id,
            now=month_ago,
        )
        assert c.id is not None
        transition(
            s, complaint_id=c.id, to=ComplaintStatus.rejected, actor_staff_id=None, note="dup", now=month_ago
        )

    def broken(session, *, complaint_id, now):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk full")

    monkeypatch.setattr(models.retention, "erase_contact", broken)
    run_due(ctx, job_named(scheduler.RETENTION), NOW)
    return c.id


async def test_an_administrator_sees_each_jobs_last_run_next_run_and_last_error(
    open_admin: Open, ctx, db, world, accounts, monkeypatch
):
    h = await open_admin()
    await sign_in(h, "root")
    await open_section(h, "jobs")
    names = [job.name for job in scheduler.jobs()]
    assert all(h.exists(f"job-{name}") for name in names)
    assert h.find("job-sla-sweep-last").value == "尚未运行。"
    assert h.find("job-retention-error").value == "没有错误记录。"
    nexts = {name: h.find(f"job-{name}-next").value.removeprefix("下次运行：") for name in names}
    assert nexts == {
        "sla-sweep": "2026年11月27日 10:06",
        "alert-rules": "2026年11月27日 10:06",
        "monthly-evaluation": "2026年12月1日 00:00",
        "spot-check-draw": "2026年11月30日 08:00",
        "retention": "2026年11月28日 03:30",
        "rating-rollup": "2026年11月27日 11:00",  # on the hour (UTC)
        "default-rating": "2026年11月27日 11:00",
        # The test database is in memory: no nightly backup, and the card says why.
        "backup": "此处不运行：PostgreSQL 数据库请用 pg_dump 备份（见 docs/OPERATIONS.md）。",
    }

    run_due(ctx, job_named(scheduler.SLA_SWEEP), NOW)
    broken = failing_retention(ctx, db, world, monkeypatch)
    await h.click("jobs-refresh")
    assert h.find("job-sla-sweep-last").value.startswith("上次运行 2026年11月27日 10:05 · 用时 0 秒 · ")
    assert h.find("job-retention-last").value.endswith("完成 0 项，失败 1 项")
    assert (
        h.find("job-retention-error").value
        == f"最近错误 2026年11月27日 10:05：complaint {broken}: RuntimeError"
    )
    assert h.has_text("运行批次 2026-11-27，执行服务器 ")

    await h.click("lang")
    assert h.has_text("Scheduled jobs") and h.has_text("Data retention")
    assert h.find("job-retention-error").value.startswith("Last error Nov 27, 2026 10:05 AM: complaint ")
    assert h.find("job-spot-check-draw-last").value == "Not run yet."


async def test_the_jobs_section_works_on_a_phone(open_admin: Open, ctx, accounts):
    h = await open_admin(width=390, height=844)
    await sign_in(h, "root")
    await open_section(h, "jobs")
    run_due(ctx, job_named(scheduler.ALERT_RULES), NOW)
    await h.click("jobs-refresh")
    assert h.find("jobs-refresh").height == 48
    assert h.find("job-alert-rules-last").value.endswith("完成 0 项，失败 0 项")


async def test_a_supervisor_has_no_jobs_tab_and_the_service_refuses_them(open_admin: Open, ctx, db, accounts):
    h = await open_admin()
    await sign_in(h, "boss.a")
    await h.settle()
    assert h.exists("nav-complaints") and not h.exists("nav-jobs")
    with db.write() as s:
        _staff, token = authenticate(s, login="boss.a", password=PASSWORD, client="test", now=NOW)
    with pytest.raises(Forbidden):
        job_overview(ctx, token)
