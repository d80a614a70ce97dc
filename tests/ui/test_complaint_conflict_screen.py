"""回避 on a complaint's detail screen, in process: the supervisor a complaint names reads it, is told
why they cannot handle it (in both languages), and is offered no step, assignment, reveal or
extension; the administrator, offered because the branch has no other supervisor, gets them all."""

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
from models.org import Role, Staff
from models.policy import set_policy
from models.rating import Channel

sys.path.insert(0, str(Path(__file__).resolve().parent))  # no __init__.py here
from admin_support import PASSWORD, Open, sign_in  # noqa: E402

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 24, 9, 30, tzinfo=SH)
DECISIONS = ("acknowledged", "rejected", "investigation", "assign_me")


@pytest.fixture(autouse=True)
def fixed_clock():
    pin(NOW)
    yield
    pin(None)


@pytest.fixture
def complaint(db, world) -> int:
    """A complaint at branch A about its only supervisor, boss.a (郭主管), with a contact; an
    administrator with a password; the branch's rules allow an extension."""
    with db.write() as s:
        boss = s.exec(select(Staff).where(Staff.employee_no == "S1")).one()
        boss.username, boss.password_hash = "boss.a", hash_secret(PASSWORD)
        s.add(boss)
        s.add(Staff(employee_no="A1", display_name="管理员", role=Role.admin, username="admin1",
                    password_hash=hash_secret(PASSWORD)))  # fmt: skip
        s.commit()
        set_policy(s, values={"extension_lengths": [15]}, branch_id=world.branch_id)
        data = ComplaintCreate(category="2.2.2", description="主管当众训斥客户。", contact="13812345678",
                               consent=True)  # fmt: skip
        row, _code, _ = file_complaint(
            s, idempotency_key="coi-ui-1", data=data, channel=Channel.kiosk, branch_id=world.branch_id,
            counter_id=world.counter_id, staff_id=boss.id, now=NOW,
        )  # fmt: skip
        assert row.id is not None
        return row.id


def status_of(db, cid: int) -> str:
    with db.read() as s:
        row = s.get(Complaint, cid)
        assert row is not None
        return str(row.status)


async def test_the_supervisor_named_reads_the_complaint_and_is_told_why_they_cannot_handle_it(
    open_admin: Open, complaint: int, db
):
    h = await open_admin()
    await sign_in(h, "boss.a")
    await h.click(f"complaint-{complaint}")
    assert h.find("detail-conflict").value == (
        "此投诉涉及您本人（被投诉或当时为该客户办理业务），按回避规定您只能查看，不能受理、调查、办结、"
        "驳回或被指派；由本网点其他主管或管理员处理。"
    )
    assert h.find("detail-to-admin").value == "本网点没有无需回避的主管，此投诉由管理员处理。"
    assert h.find("description").value == "主管当众训斥客户。"  # they may read it
    for key in (*(f"action-{a}" for a in DECISIONS), "reveal", "extension-ask"):
        assert not h.exists(key), key
    assert not [c.key for c in h.controls() if str(c.key or "").startswith("action-")]
    assert h.find("root_cause").read_only and h.find("reply").read_only

    await h.click("lang")
    assert h.find("detail-conflict").value.startswith(
        "This complaint involves you (it names you, or you served this customer at the counter)."
    )
    assert h.find("detail-to-admin").value == (
        "No supervisor of this branch is free of a conflict of interest, so an administrator handles "
        "this complaint."
    )
    assert not h.exists("action-acknowledged")
    assert status_of(db, complaint) == "new"


async def test_the_administrator_it_goes_to_is_offered_every_step(open_admin: Open, complaint: int, db):
    h = await open_admin()
    await sign_in(h, "admin1")
    await h.click(f"complaint-{complaint}")
    assert not h.exists("detail-conflict")
    assert h.find("detail-to-admin").value == "本网点没有无需回避的主管，此投诉由管理员处理。"
    assert h.exists("action-assign_me") and h.exists("reveal") and h.exists("extension-ask")
    assert not [c.key for c in h.controls() if str(c.key or "").startswith("action-assign-")], (
        "nobody else to give it to: the named supervisor is never offered"
    )
    await h.click("action-acknowledged")
    assert h.find("detail-message").value == "已保存。"
    assert status_of(db, complaint) == "acknowledged"
