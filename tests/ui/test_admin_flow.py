"""The admin app in process: sign-in, the scoped complaint queue, casework steps and the audited
reveal of a customer's contact — each checked on screen and in the database."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from admin.app import TOKEN_KEY
from models.audit import AuditEvent, verify
from models.clock import utcnow
from models.complaint import Complaint, ComplaintCreate, file_complaint
from models.crypto import hash_secret
from models.org import Role, Staff
from models.rating import Channel

sys.path.insert(0, str(Path(__file__).resolve().parent))  # no __init__.py here
from admin_support import PASSWORD, Open, admin_tabs, sign_in  # noqa: E402,F401


@pytest.fixture
def people(db, world):
    """Supervisors of branch A and branch B and a staff member, all with passwords."""
    with db.write() as s:
        boss = s.exec(select(Staff).where(Staff.employee_no == "S1")).one()
        boss.username, boss.password_hash = "boss.a", hash_secret(PASSWORD)
        other = Staff(
            employee_no="S2",
            display_name="乙主管",
            role=Role.supervisor,
            branch_id=world.other_branch_id,
            username="boss.b",
            password_hash=hash_secret(PASSWORD),
        )
        alice = s.exec(select(Staff).where(Staff.employee_no == world.staff_no)).one()
        alice.username, alice.password_hash = "alice", hash_secret(PASSWORD)
        s.add_all([boss, other, alice])
        s.commit()


def file(db, world, *, branch_id=None, contact="13812345678", now=None) -> int:
    data = ComplaintCreate(category="2.2.2", description="等了四十分钟没人理", contact=contact, consent=True)
    with db.write() as s:
        complaint, _code, _ = file_complaint(
            s,
            idempotency_key=f"k-{branch_id}-{contact}",
            data=data,
            channel=Channel.kiosk,
            branch_id=branch_id or world.branch_id,
            counter_id=world.counter_id if branch_id is None else None,
            now=now,
        )
        assert complaint.id is not None
        return complaint.id


def status_of(db, cid: int) -> str:
    with db.read() as s:
        row = s.get(Complaint, cid)
        assert row is not None
        return str(row.status)


async def test_a_wrong_password_is_refused_with_a_clear_message(open_admin: Open, people):
    h = await open_admin()
    # No field takes the focus as the page opens (a screen reader would meet Flutter's unnamed input).
    assert not h.find("login").autofocus and not h.find("password").autofocus
    await sign_in(h, "boss.a", "wrong password!")
    assert h.find("sign-in-error").value == "用户名或密码不正确。"
    assert not h.exists("filter-open")
    # The login stays, the password is cleared and the cursor waits in it for the next try.
    assert h.find("login").value == "boss.a" and not h.find("password").value
    assert h.find("password").autofocus and not h.find("login").autofocus


async def test_a_tap_with_a_field_empty_asks_for_both_and_keeps_what_was_typed(open_admin: Open, people):
    h = await open_admin()
    await h.fill("login", "boss.a")
    password = h.find("password")
    await h.click("sign-in")
    assert h.find("sign-in-error").value == "请填写用户名和密码。" and h.find("sign-in-error").visible
    # Nothing was redrawn: a redraw would put the fields back as the server last saw them, wiping
    # keystrokes still on their way from the browser.
    assert h.find("password") is password and h.find("login").value == "boss.a"
    await h.fill("password", PASSWORD)
    await h.click("sign-in")
    assert h.exists("filter-open")


async def test_a_supervisor_works_a_complaint_from_queue_to_resolved(open_admin: Open, people, db, world):
    cid = file(db, world)
    storage: dict = {}
    h = await open_admin(storage=storage)
    await sign_in(h, "BOSS.A")
    assert storage.get(TOKEN_KEY), "the session token is kept for a reload"
    assert h.exists(f"complaint-{cid}") and h.has_text("耐心细致")

    await h.click(f"complaint-{cid}")
    assert h.find("contact").value == "联系方式：138****5678"
    await h.click("action-acknowledged")
    assert status_of(db, cid) == "acknowledged" and h.find("detail-status").value == "已受理"
    await h.click("action-investigating")
    await h.fill("reply", "已向您致歉")
    await h.click("action-resolved")
    assert h.find("detail-message").value == "请先填写问题根源。"
    assert status_of(db, cid) == "investigating"

    await h.fill("root_cause", "高峰期只开了一个窗口")
    await h.fill("reply", "已增开窗口并向您致歉")
    await h.click("action-resolved")
    # ... and a finding with what it is about; what was typed is still there while it is refused.
    needs = "请先选择核实结论（属实、部分属实、不属实或无法核实）及其涉及的方面。"
    assert h.find("detail-message").value == needs
    assert status_of(db, cid) == "investigating"
    typed = (h.find("root_cause").value, h.find("reply").value)
    assert typed == ("高峰期只开了一个窗口", "已增开窗口并向您致歉")
    assert [o.text for o in h.find("finding").options] == ["属实", "部分属实", "不属实", "无法核实"]
    await h.fill("finding", "partly")
    await h.event("finding", "select", "partly")
    await h.fill("about", "process")
    await h.event("about", "select", "process")
    # The pickers say their choice to a screen reader, and the typed text survived the redraw.
    assert h.find("finding").parent.label == "核实结论（解决前必填）: 部分属实"
    assert h.find("about").parent.label == "涉及（解决前必填）: 办事流程"
    assert (h.find("root_cause").value, h.find("reply").value) == typed
    await h.click("action-resolved")
    assert status_of(db, cid) == "resolved"
    assert h.find("finding").value == "partly" and h.find("finding").disabled is not True
    with db.read() as s:
        row = s.get(Complaint, cid)
        assert (
            row is not None
            and row.reply == "已增开窗口并向您致歉"
            and row.root_cause == "高峰期只开了一个窗口"
            and (row.finding, row.about) == ("partly", "process")
        )

    await h.click("reveal")
    assert h.find("contact").value == "联系方式：13812345678"
    with db.read() as s:
        actions = [e.action for e in s.exec(select(AuditEvent)).all()]
        assert verify(s).ok
    assert "complaint.reveal_contact" in actions and "complaint.resolved" in actions


async def test_a_supervisor_sees_only_their_own_branch(open_admin: Open, people, db, world):
    mine = file(db, world)
    theirs = file(db, world, branch_id=world.other_branch_id, contact="13900001111")
    h = await open_admin()
    await sign_in(h, "boss.b")
    assert h.exists(f"complaint-{theirs}") and not h.exists(f"complaint-{mine}")


async def test_a_staff_member_gets_no_complaint_queue(open_admin: Open, people, db, world):
    file(db, world)
    h = await open_admin()
    await sign_in(h, "alice")
    # Staff take hotline calls; complaint handling and alerts are for supervisors.
    assert h.exists("nav-hotline") and not h.exists("filter-open") and not h.exists("nav-alerts")


async def test_a_reload_keeps_the_sign_in_and_sign_out_ends_it(open_admin: Open, people, db, world):
    storage: dict = {}
    h = await open_admin(storage=storage)
    await sign_in(h, "boss.a")
    again = await open_admin(storage=storage)
    assert again.exists("filter-open")
    await again.click("sign-out")
    assert TOKEN_KEY not in storage and again.exists("sign-in")
    # The old tab's token is dead on the server: its next action sends it to sign in.
    await h.click("refresh")
    assert h.exists("sign-in") and h.find("sign-in-error").value == "登录已过期，请重新登录。"


async def test_overdue_filter_lists_only_late_open_complaints(open_admin: Open, people, db, world):
    # 72 business hours of 8 a day, Monday to Saturday, run out within 11 calendar days at worst
    late = file(db, world, now=utcnow() - timedelta(days=20))
    on_time = file(db, world, contact="13700001111")
    h = await open_admin()
    await sign_in(h, "boss.a")
    assert h.exists(f"complaint-{late}") and h.exists(f"complaint-{on_time}")
    await h.event("filter-overdue", "select", True)
    assert h.exists(f"complaint-{late}") and not h.exists(f"complaint-{on_time}")
    assert h.has_text("已超时")


async def test_a_new_high_severity_complaint_appears_at_once_on_the_supervisors_screen(
    open_admin: Open, people, db, world, ctx
):
    import asyncio

    from rapport.usecases.alerting import after_complaint

    h = await open_admin()
    await sign_in(h, "boss.a")
    assert h.find("nav-alerts") is not None and not h.has_text("实时提醒（1）")
    data = ComplaintCreate(category="2.1.2", description="柜员暗示要红包")
    with db.write() as s:
        complaint, _code, _ = file_complaint(
            s, idempotency_key="bribe", data=data, channel=Channel.kiosk, branch_id=world.branch_id
        )
    assert complaint.id is not None
    await asyncio.to_thread(after_complaint, ctx, complaint_id=complaint.id)
    await h.wait_for(lambda: h.has_text("实时提醒（1）"))
    await h.click("nav-alerts")
    assert h.has_text("新的紧急投诉")
    [alert] = list(h.find_all(lambda c: str(getattr(c, "key", "")).startswith("alert-ack-")))
    await h.click(alert.key)
    assert h.exists("alerts-empty") and not h.has_text("实时提醒（1）")


async def test_an_administrator_reads_the_audit_log_and_verifies_the_chain(
    open_admin: Open, people, db, world
):
    with db.write() as s:
        admin = Staff(
            employee_no="A9",
            display_name="管理员",
            role=Role.admin,
            username="root.admin",
            password_hash=hash_secret(PASSWORD),
        )
        s.add(admin)
        s.commit()
    file(db, world)
    h = await open_admin()
    await sign_in(h, "root.admin")
    await h.click("nav-audit")
    assert h.has_text("complaint.file") and h.has_text("auth.login")
    await h.click("audit-verify")
    assert h.find("audit-result").value.startswith("哈希链完整")


async def test_a_supervisor_has_no_audit_tab(open_admin: Open, people):
    h = await open_admin()
    await sign_in(h, "boss.a")
    assert h.exists("nav-complaints") and not h.exists("nav-audit")


async def test_a_supervisor_sets_up_an_authenticator_and_then_needs_its_code(open_admin: Open, people, ctx):
    from datetime import timedelta

    from models.auth import totp_code

    h = await open_admin()
    await sign_in(h, "boss.a")
    await h.click("nav-account")
    await h.click("totp-start")
    secret = h.find("totp-secret").value.rsplit("：", 1)[-1].strip()
    await h.fill("totp-code", "000000" if totp_code(secret, ctx.clock()) != "000000" else "111111")
    await h.click("totp-confirm")
    assert not h.exists("totp-enrolled")
    await h.fill("totp-code", totp_code(secret, ctx.clock()))
    await h.click("totp-confirm")
    assert h.exists("totp-enrolled")
    await h.click("sign-out")

    await sign_in(h, "boss.a")
    assert h.exists("totp") and h.find("sign-in-error").value == "请输入身份验证器上的 6 位动态验证码。"
    # Only the code is asked for now: the login and password stay, the cursor is in the code field.
    assert h.find("password").value == PASSWORD and h.find("totp").autofocus
    assert not h.find("password").autofocus and not h.find("login").autofocus
    # The code used to confirm cannot be replayed; the next one (30 s later) signs in.
    later = ctx.clock() + timedelta(seconds=30)
    await h.fill("totp", totp_code(secret, later))
    real = ctx.clock
    ctx.clock = lambda: real() + timedelta(seconds=30)
    await h.click("sign-in")
    assert h.exists("nav-complaints")


async def test_the_queue_narrows_by_severity_and_by_person_or_counter(open_admin: Open, people, db, world):
    normal = file(db, world)
    data = ComplaintCreate(category="2.1.2", description="索要好处费")  # integrity: high severity
    with db.write() as s:
        high, _code, _ = file_complaint(
            s, idempotency_key="hi", data=data, channel=Channel.kiosk, branch_id=world.branch_id
        )
    h = await open_admin()
    await sign_in(h, "boss.a")
    assert h.exists(f"complaint-{normal}") and h.exists(f"complaint-{high.id}")
    # The browser sets the dropdown's value, then sends "select".
    h.session.apply_patch(h.find("filter-severity")._i, {"value": "high"})
    await h.event("filter-severity", "select", "high")
    assert h.exists(f"complaint-{high.id}") and not h.exists(f"complaint-{normal}")
    h.session.apply_patch(h.find("filter-severity")._i, {"value": "all"})
    await h.event("filter-severity", "select", "all")
    await h.fill("filter-text", "1号窗口")
    await h.submit("filter-text")
    assert h.exists(f"complaint-{normal}") and not h.exists(f"complaint-{high.id}")
