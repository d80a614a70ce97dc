"""The admin app's documents section in process: a supervisor makes last month's PDF report and
watches the progress bar move while it is built, downloads CSV exports after a wrong month is
refused, prints the badge sheet, and rotates a badge code (asked first); the old badge link then
shows the kiosk's "no longer valid" page while the new one works. An administrator picks any branch,
on a phone, in English."""

from __future__ import annotations

import asyncio
import csv
import io
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest
from sqlmodel import select

import admin.documents
from kiosk.app import KioskApp
from models.audit import AuditEvent
from models.crypto import hash_secret
from models.org import Role, Staff
from models.rating import Channel, Rating
from rapport.core.context import AppContext
from rapport.usecases import report_pdf

sys.path.insert(0, str(Path(__file__).resolve().parent))  # no __init__.py here
from admin_support import PASSWORD, admin_tabs, open_section, sign_in  # noqa: E402
from harness import FletHarness  # noqa: E402

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai; last month is 2026-10


@pytest.fixture
def ids(db, world, ctx: AppContext) -> dict[str, int]:
    """Staff ids by employee number. Supervisor S1 of branch A signs in as boss.a, an administrator as
    root; 25 October ratings for 王芳 (E1) and 3 for 李娜 (E2)."""
    ctx.clock = lambda: NOW
    with db.write() as s:
        boss = s.exec(select(Staff).where(Staff.employee_no == "S1")).one()
        boss.username, boss.password_hash = "boss.a", hash_secret(PASSWORD)
        root = Staff(
            employee_no="A0",
            display_name="系统管理员",
            role=Role.admin,
            username="root",
            password_hash=hash_secret(PASSWORD),
        )
        s.add_all([boss, root])
        s.commit()
        people = {p.employee_no: p.id for p in s.exec(select(Staff)).all() if p.id is not None}
        start = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)
        for i, (who, score) in enumerate([("E1", 5)] * 20 + [("E1", 4)] * 5 + [("E2", 2)] * 3):
            s.add(
                Rating(
                    idempotency_key=f"k{i}",
                    request_hash="x",
                    staff_id=people[who],
                    branch_id=world.branch_id,
                    counter_id=world.counter_id,
                    channel=Channel.kiosk,
                    score=score,
                    created_at=start + timedelta(days=i % 28, minutes=i),
                )
            )
        s.commit()
        return people


def downloads(h: FletHarness) -> list[dict[str, Any]]:
    """What the app asked the browser to save (FilePicker.save_file), in order."""
    return [args for ctype, method, args in h.invocations if ctype == "FilePicker" and method == "save_file"]


def pdf_text(data: bytes) -> str:
    doc = pdfium.PdfDocument(data)
    try:
        return "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()


async def open_documents(open_: Any, login: str, **size: Any) -> FletHarness:
    h = await open_(**size)
    await sign_in(h, login)
    await open_section(h, "documents")
    return h


async def test_the_monthly_report_shows_its_progress_while_it_is_built_then_downloads(
    ctx: AppContext, ids, monkeypatch: pytest.MonkeyPatch
):
    # The real builder, held after its first step so the test can look at the screen meanwhile.
    first_step, release = threading.Event(), threading.Event()
    real = report_pdf.build_report

    def held(session: Any, **kwargs: Any) -> bytes:
        progress = kwargs.pop("progress")

        def report(fraction: float, step: str) -> None:
            progress(fraction, step)
            if not first_step.is_set():
                first_step.set()
                assert release.wait(10), "the test never released the builder"

        return real(session, progress=report, **kwargs)

    monkeypatch.setattr(admin.documents, "build_report", held)
    async with admin_tabs(ctx) as open_:
        h = await open_documents(open_, "boss.a")
        assert h.find("documents-month").value == "2026-10"  # last month by default
        assert h.find("documents-branch-name").value == "网点: 甲支行 (A)"
        assert h.find("documents-busy").visible is False

        click = asyncio.create_task(h.click("documents-report"))
        await h.wait_for(lambda: first_step.is_set() and h.find("documents-progress").value > 0)
        assert h.find("documents-busy").visible is True
        assert h.find("documents-step").value == "正在生成：统计网点概况"
        assert h.find("documents-report").disabled and h.find("documents-ratings").disabled
        assert downloads(h) == []
        release.set()
        await asyncio.wait_for(click, 10)

        [saved] = downloads(h)
        assert saved["file_name"] == "rapport-A-2026-10.pdf"
        text = pdf_text(saved["src_bytes"])
        assert "甲支行" in text and "王芳" in text and "E1" in text
        assert h.find("documents-message").value == "已下载 rapport-A-2026-10.pdf"
        assert h.find("documents-busy").visible is False and not h.find("documents-report").disabled


async def test_a_wrong_month_is_refused_with_a_reason_then_csv_exports_download(ctx: AppContext, db, ids):
    async with admin_tabs(ctx) as open_:
        h = await open_documents(open_, "boss.a")
        await h.fill("documents-month", "2026/10")
        await h.click("documents-ratings")
        assert h.find("documents-month").error == "请按 YYYY-MM 格式填写月份，例如 2026-10。"
        assert h.find("documents-message").value == "请修改月份后再试。"
        await h.fill("documents-month", "2026-12")
        await h.click("documents-complaints")
        assert h.find("documents-month").error == "该月份尚未开始，请选择本月或之前的月份。"
        assert downloads(h) == []

        await h.fill("documents-month", "2026-10")
        assert h.find("documents-month").error is None
        await h.click("documents-ratings")
        await h.click("documents-sanctions")
        ratings, sanctions = downloads(h)
        assert ratings["file_name"] == "rapport-ratings-A-2026-10.csv"
        rows = list(csv.reader(io.StringIO(ratings["src_bytes"].decode("utf-8-sig"))))
        assert rows[0][:2] == ["编号", "时间"] and len(rows) == 1 + 28
        assert sanctions["file_name"] == "rapport-sanctions-A-2026-10.csv"
        assert sanctions["src_bytes"].decode("utf-8-sig").count("\r\n") == 1  # the header only
    with db.read() as s:
        audited = s.exec(select(AuditEvent).where(AuditEvent.action == "document.download")).all()
        assert [e.details["document"] for e in audited] == ["ratings", "sanctions"]
        assert {e.actor_staff_id for e in audited} == {ids["S1"]}


async def test_the_badge_sheet_downloads_for_the_branch(ctx: AppContext, ids):
    async with admin_tabs(ctx) as open_:
        h = await open_documents(open_, "boss.a")
        assert h.has_text("王芳 (E1)") and h.has_text("李娜 (E2)") and not h.has_text("张伟")
        assert h.find("documents-badge-url").value == "卡片上的二维码指向 http://127.0.0.1:8550/s/…"
        assert h.has_text("尚未设置 RAPPORT_PUBLIC_URL：二维码指向本机地址，顾客的手机无法打开。")
        await h.click("documents-badges")
        [saved] = downloads(h)
        assert saved["file_name"] == "rapport-badges-A.pdf"
        text = pdf_text(saved["src_bytes"])
        assert "王芳" in text and "李娜" in text and "张伟" not in text


async def open_kiosk(ctx: AppContext, route: str) -> FletHarness:
    async def main(page: Any) -> None:
        await KioskApp(page, ctx).start()

    return await FletHarness.start(main, route=route, width=390, height=844)


def token_of(db, employee_no: str) -> str:
    with db.read() as s:
        return s.exec(select(Staff).where(Staff.employee_no == employee_no)).one().qr_token


async def test_rotating_a_badge_code_asks_first_then_the_old_link_is_no_longer_valid(
    ctx: AppContext, db, ids
):
    old = token_of(db, "E1")
    async with admin_tabs(ctx) as open_:
        h = await open_documents(open_, "boss.a")
        e1 = ids["E1"]
        await h.click(f"rotate-{e1}")
        assert h.find(f"rotate-ask-{e1}").visible
        assert h.has_text("更换后，王芳 已打印的二维码将立即失效，需要重新打印卡片。确定更换吗？")
        await h.click(f"rotate-cancel-{e1}")
        assert not h.exists(f"rotate-ask-{e1}") and token_of(db, "E1") == old

        await h.click(f"rotate-{e1}")
        await h.click(f"rotate-confirm-{e1}")
        assert h.find("documents-message").value == "已更换 王芳 的二维码，请重新打印二维码卡片。"
    new = token_of(db, "E1")
    assert new != old and len(new) >= 22
    with db.read() as s:
        [event] = s.exec(select(AuditEvent).where(AuditEvent.action == "staff.qr_token_rotate")).all()
        assert event.entity_id == str(ids["E1"]) and event.actor_staff_id == ids["S1"]
        assert old not in str(event.details) and new not in str(event.details)

    stale = await open_kiosk(ctx, f"/s/{old}")
    try:
        assert stale.find("invalid-title").value == "二维码无效"
        assert not stale.exists("rate-5")
    finally:
        await stale.close()
    fresh = await open_kiosk(ctx, f"/s/{new}")
    try:
        assert fresh.find("staff-name").value == "王芳" and fresh.exists("rate-5")
    finally:
        await fresh.close()


async def test_an_administrator_on_a_phone_in_english_picks_another_branch(ctx: AppContext, ids, world):
    async with admin_tabs(ctx) as open_:
        h = await open_documents(open_, "root", width=390, height=844)
        await h.click("lang")
        assert h.has_text("Exports and documents") and h.has_text("王芳 (E1)")
        branch = h.find("documents-branch")
        assert [o.text for o in branch.options] == ["Branch A (A)", "Branch B (B)"]
        h.session.apply_patch(branch._i, {"value": str(world.other_branch_id)})
        await h.event(branch, "select", str(world.other_branch_id))
        assert h.has_text("张伟 (E9)") and not h.has_text("王芳 (E1)")
        await h.click("documents-badges")
        [saved] = downloads(h)
        assert saved["file_name"] == "rapport-badges-B.pdf"
        assert h.find("documents-message").value == "Downloaded rapport-badges-B.pdf"
