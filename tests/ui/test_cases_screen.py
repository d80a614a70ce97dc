"""The 差评 cases in the complaints section, in process: a supervisor sees the open case above the
complaints with its first-contact clock, opens it, records a reached callback, the finding 部分属实
about the process, a rectification with a deadline, marks it done, answers the customer and records
their grade 基本满意; the case closes. A step out of order is explained in the screen's language, and
a supervisor who is the person rated reads the case but gets no forms (回避)."""

from __future__ import annotations

import sys
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from kiosk import backend as kiosk
from models.cases import RatingCase
from models.clock import pin
from models.crypto import hash_secret
from models.holidays import import_year
from models.org import Staff
from models.presets import apply_preset

sys.path.insert(0, str(Path(__file__).resolve().parent))  # no __init__.py here
from admin_support import PASSWORD, Open, sign_in  # noqa: E402
from harness import FletHarness  # noqa: E402

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def fixed_clock():
    pin(datetime(2026, 11, 18, 10, 30, tzinfo=SH))  # a Wednesday morning, the branch open
    yield
    pin(None)


@pytest.fixture
def case_id(ctx, db, world) -> int:
    """Branch A on the hall preset with 2026's calendar, its supervisor with a password, and one
    非常不满意 tap at counter 1 (王芳 on duty)."""
    with db.write() as s:
        boss = s.exec(select(Staff).where(Staff.employee_no == "S1")).one()
        boss.username, boss.password_hash = "boss.a", hash_secret(PASSWORD)
        s.add(boss)
        s.commit()
        import_year(s, year=2026)
        apply_preset(s, preset="hall", branch_id=world.branch_id)
    kiosk.submit_tap(
        ctx, device_token=world.device_token, idempotency_key=str(uuid.uuid4()), score=1, staff_no=None
    )
    with db.read() as s:
        [case] = s.exec(select(RatingCase)).all()
        assert case.id is not None
        return case.id


def case_row(db, case_id: int) -> RatingCase:
    with db.read() as s:
        row = s.get(RatingCase, case_id)
        assert row is not None
        return row


async def pick(h: FletHarness, key: str, value: str) -> None:
    await h.fill(key, value)
    await h.event(key, "select", value)


async def test_a_supervisor_handles_a_bad_rating_from_callback_to_closed(open_admin: Open, case_id, db):
    h = await open_admin(width=390, height=844)
    await sign_in(h, "boss.a")
    assert h.find("cases-title").value == "差评待核实（1 件）"
    assert h.has_text(f"差评 #{case_id} · 非常不满意") and h.has_text("首次联系剩余")
    await h.click(f"case-{case_id}")
    assert h.find("case-status").value == "待核实"
    assert h.find("case-contact").value == "客户没有留下回访联系方式：结果请在查询页面告知。"
    assert not h.exists("case-reveal")
    # Hall preset: first contact by the next working day's close, the reply in 5 working days.
    assert h.has_text("首次联系（回访）时限：2026年11月19日 17:00 前")
    assert h.find("case-reply-due").value == "核实、整改并答复：5 个工作日内（2026年11月25日 17:00 前）"

    # An action before any finding is refused in words, and nothing changes.
    await h.fill("case-callback_note", "客户说排队时没人解释")
    await h.click("case-callback-reached")
    assert h.find("case-message").value == "已记录回访。" and h.find("case-status").value == "核实中"

    await pick(h, "case-finding", "partly")
    await pick(h, "case-about", "process")
    await h.click("case-finding-save")
    assert h.find("case-finding-line").value == "核实结论：部分属实 · 涉及：办事流程"

    await h.fill("case-action_text", "高峰时段增开一个窗口，并安排引导员。")
    await h.fill("case-action_days", "0")
    await h.click("case-action-save")
    assert h.find("case-message").value == "未保存：请填写 1 至 90 之间的天数。"
    await h.fill("case-action_days", "3")
    await h.click("case-action-save")
    assert h.find("case-status").value == "整改中"
    assert h.find("case-action-line").value == (
        "整改：高峰时段增开一个窗口，并安排引导员。（限 2026年11月21日 24:00 前完成）"
    )
    await h.click("case-action-done")
    await pick(h, "case-via", "callback")
    await h.click("case-answer-save")
    assert h.find("case-message").value == "未保存：请填写内容。"
    await h.fill("case-answer", "已在高峰时段增开窗口，感谢您的意见。")
    await h.click("case-answer-save")
    assert h.find("case-status").value == "已反馈，待客户评价"
    await h.click("case-grade-fairly")
    assert h.find("case-status").value == "已办结" and h.exists("case-closed")

    row = case_row(db, case_id)
    assert (row.status, row.finding, row.about, row.action, row.answered_via, row.grade) == (
        "closed", "partly", "process", "rectify", "callback", "fairly",
    )  # fmt: skip

    await h.click("lang")
    assert h.find("case-status").value == "Closed"
    assert h.has_text("Finding: Partly substantiated · about: The process")
    await h.click("case-back")
    assert not h.exists(f"case-{case_id}")  # closed: no longer in the open block

    # The dashboard's indicators of the month, each with its definition one tap away.
    await h.click("nav-dashboard")
    assert h.find("dash-ind-rectify_rate").title.value == "Rectified  100% (1/1)"
    assert h.find("dash-ind-satisfaction_rate").title.value == "Satisfied with the handling  100% (1/1)"
    assert h.find("dash-ind-callback_rate").title.value == "Called back  —"  # no callback contact left
    assert h.find("dash-ind-rectify_rate-def").value == (
        "Bad ratings closed with a rectification or an explanation ÷ bad ratings"
    )


async def test_the_callback_contact_is_masked_until_revealed_with_an_audit_entry(
    open_admin: Open, case_id, db
):
    from models.audit import AuditEvent

    with db.write() as s:
        row = s.get(RatingCase, case_id)
        assert row is not None
        row.contact, row.contact_kind = "13812345678", "phone"
        s.add(row)
        s.commit()
    h = await open_admin()
    await sign_in(h, "boss.a")
    await h.click(f"case-{case_id}")
    assert h.find("case-contact").value == "回访联系方式：138****5678"
    await h.click("case-reveal")
    assert h.find("case-contact").value == "回访联系方式：13812345678" and not h.exists("case-reveal")
    with db.read() as s:
        actions = s.exec(select(AuditEvent.action).where(AuditEvent.entity == "rating_case")).all()
    assert list(actions) == ["case.reveal_contact"]


async def test_the_person_rated_reads_their_case_but_cannot_handle_it(open_admin: Open, case_id, db):
    with db.write() as s:
        row = s.get(RatingCase, case_id)
        boss = s.exec(select(Staff).where(Staff.employee_no == "S1")).one()
        assert row is not None
        row.staff_id = boss.id  # the supervisor served at the counter and was rated
        s.add(row)
        s.commit()
    h = await open_admin()
    await sign_in(h, "boss.a")
    await h.click(f"case-{case_id}")
    assert h.find("case-conflict").value == "此差评涉及您本人，按回避规定由其他主管或管理员处理。"
    for key in ("case-callback-reached", "case-finding-save", "case-answer-save"):
        assert not h.exists(key), key
    assert case_row(db, case_id).status == "pending"
