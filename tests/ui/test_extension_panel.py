"""The complaint detail screen's extension panel, in process: a supervisor asks with a reason, cannot
decide, an administrator who did not ask approves; refusals are explained in the screen's language."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from models.clock import pin
from models.complaint import Complaint, ComplaintCreate, file_complaint
from models.crypto import hash_secret
from models.extension_rows import ComplaintExtension
from models.holidays import import_year
from models.org import Role, Staff
from models.presets import apply_preset
from models.rating import Channel

sys.path.insert(0, str(Path(__file__).resolve().parent))  # no __init__.py here
from admin_support import PASSWORD, Open, admin_tabs, sign_in  # noqa: E402,F401

SH = ZoneInfo("Asia/Shanghai")
FILED = datetime(2026, 9, 17, 10, 0, tzinfo=SH)


@pytest.fixture(autouse=True)
def fixed_clock():
    pin(datetime(2026, 9, 25, 9, 0, tzinfo=SH))
    yield
    pin(None)


@pytest.fixture
def case(db, world) -> int:
    """Branch A on the bank preset with 2026's calendar, its supervisor and two administrators with
    passwords, and one complaint filed on 17 September (due 8 October, 24:00)."""
    with db.write() as s:
        boss = s.exec(select(Staff).where(Staff.employee_no == "S1")).one()
        boss.username, boss.password_hash = "boss.a", hash_secret(PASSWORD)
        s.add(boss)
        for n in (1, 2):
            s.add(Staff(employee_no=f"A{n}", display_name=f"管理员{n}", role=Role.admin, username=f"admin{n}",
                        password_hash=hash_secret(PASSWORD)))  # fmt: skip
        s.commit()
        import_year(s, year=2026)
        apply_preset(s, preset="bank", branch_id=world.branch_id)
        data = ComplaintCreate(category="2.2.2", description="转账被退回，原因没讲清楚。", locale="zh-CN")
        complaint, _code, _ = file_complaint(
            s, idempotency_key="ext-1", data=data, channel=Channel.kiosk, branch_id=world.branch_id, now=FILED
        )
        assert complaint.id is not None
        return complaint.id


def due_of(db, cid: int) -> datetime:
    with db.read() as s:
        row = s.get(Complaint, cid)
        assert row is not None
        return row.due_at


async def test_a_supervisor_asks_and_another_administrator_approves(open_admin: Open, case, db):
    h = await open_admin()
    await sign_in(h, "boss.a")
    await h.click(f"complaint-{case}")
    assert h.find("extension-ask").content == "申请延期（再延 15 日）"
    await h.click("extension-ask")  # no reason yet: nothing is asked
    assert h.find("extension-message").value == "请填写延期理由：客户会看到它。"
    await h.fill("extension-reason", "需调取监控核实")
    await h.click("extension-ask")
    assert h.find("extension-message").value == "延期申请已提交，等待管理员审批。"
    assert h.has_text("第 1 次延期：再延 15 日 · 待审批") and h.has_text("理由：需调取监控核实")
    assert h.exists("extension-waiting") and not h.exists("extension-approve")

    h2 = await open_admin()
    await sign_in(h2, "admin1")
    await h2.click(f"complaint-{case}")
    await h2.click("extension-approve")
    assert h2.find("extension-message").value.startswith("已批准延期")
    assert h2.has_text("第 1 次延期：再延 15 日 · 已批准")
    # 30 days from 17 September end on Saturday 17 October: moved to Monday 19 October, 24:00.
    assert due_of(db, case) == datetime(2026, 10, 20, 0, 0, tzinfo=SH)
    assert h2.has_text("新的答复时间：2026年10月19日 24:00 前")
    # The next one (30 more days) can be asked for now.
    assert h2.find("extension-ask").content == "申请延期（再延 30 日）"


async def test_the_administrator_who_asked_cannot_approve_and_a_second_request_waits(
    open_admin: Open, case, db
):
    h = await open_admin()
    await sign_in(h, "admin1")
    await h.click(f"complaint-{case}")
    await h.fill("extension-reason", "涉及总行政策")
    await h.click("extension-ask")
    assert h.exists("extension-waiting") and not h.exists("extension-approve")
    assert not h.exists("extension-ask"), "one request at a time"
    with db.read() as s:
        [row] = s.exec(select(ComplaintExtension)).all()
        assert row.status == "requested"
    assert due_of(db, case) == datetime(2026, 10, 9, 0, 0, tzinfo=SH)


async def test_a_branch_whose_rules_allow_no_extension_says_so(open_admin: Open, case, db, world):
    with db.write() as s:
        apply_preset(s, preset="hall", branch_id=world.branch_id)
    h = await open_admin()
    await sign_in(h, "boss.a")
    await h.click(f"complaint-{case}")
    assert h.find("extension-none").value == "本网点规则不允许延长答复时限。"
    assert not h.exists("extension-ask")
