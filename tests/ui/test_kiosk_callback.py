"""After a 差评 at the counter tablet, in process: the kiosk asks "may we call you back?", refuses an
empty or malformed contact and a contact without consent (nothing stored), keeps one with consent,
and shows the case's tracking code; the status page at that code shows the answer once given and
takes the customer's grade 基本满意, which closes the case. A 3 (基本满意) opens no case and is
thanked as before."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from kiosk import backend
from kiosk.app import TOKEN_KEY, KioskApp
from models import case_flow as flow
from models.audit import AuditEvent
from models.cases import RatingCase
from models.clock import pin
from models.org import Staff
from rapport.core.context import AppContext

sys.path.insert(0, str(Path(__file__).resolve().parent))  # no __init__.py here
from harness import FletHarness  # noqa: E402

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def fixed_clock():
    pin(datetime(2026, 11, 18, 10, 30, tzinfo=SH))
    yield
    pin(None)


@pytest.fixture
async def open_kiosk(ctx: AppContext) -> AsyncIterator[Any]:
    opened: list[FletHarness] = []

    async def open_(route: str = "/", *, storage: dict | None = None) -> FletHarness:
        async def main(page: Any) -> None:
            await KioskApp(page, ctx).start()

        h = FletHarness(main, route=route, local_storage=storage)
        opened.append(h)
        await h.__aenter__()
        return h

    yield open_
    for h in reversed(opened):
        await h.close()


def the_case(db) -> RatingCase:
    with db.read() as s:
        [case] = s.exec(select(RatingCase)).all()
        return case


def value(h: FletHarness, key: str) -> Any:
    return h.find(key).value


async def test_a_bad_rating_offers_a_callback_and_shows_the_cases_code(open_kiosk, db, world):
    h = await open_kiosk(storage={TOKEN_KEY: world.device_token})
    await h.click("rate-1")
    await h.click("details-skip")
    assert value(h, "callback-title") == "可以回访您吗？"

    await h.click("callback-leave")  # nothing typed
    assert value(h, "callback-error") == "请填写手机号或电子邮箱，或选择“不用了”。"
    await h.fill("callback-contact", "12345")
    await h.click("callback-leave")
    assert value(h, "callback-error") == "请勾选同意，我们才会保存联系方式。"
    await h.fill("callback-consent", True)
    await h.click("callback-leave")
    assert value(h, "callback-error") == "请填写 11 位手机号（如 138 1234 5678）或电子邮箱。"
    assert the_case(db).contact is None

    await h.fill("callback-contact", "138 1234 5678")
    await h.click("callback-leave")
    assert value(h, "case-done-title") == "我们会核实并答复您"
    assert (
        value(h, "case-done-promise")
        == "我们将在72 个营业小时内（2026年11月28日 10:30 前）回访您，告诉您处理结果。"
    )
    code = str(value(h, "tracking-code"))
    case = the_case(db)
    assert (case.contact, case.contact_kind, case.consent_at is not None) == ("13812345678", "phone", True)
    with db.read() as s:
        audited = s.exec(select(AuditEvent.action).where(AuditEvent.entity == "rating_case")).all()
    assert list(audited) == ["case.contact"]

    # A supervisor verifies, explains and answers on the status page.
    with db.write() as s:
        boss = s.exec(select(Staff.id).where(Staff.employee_no == "S1")).one()
        assert case.id is not None
        flow.record_finding(s, case_id=case.id, finding="partly", about="process", actor_id=boss)
        flow.record_action(
            s, case_id=case.id, action="explain", text="午间只开一个窗口，已调整排班。", actor_id=boss
        )
        flow.answer_case(
            s, case_id=case.id, text="已调整午间排班，感谢您的意见。", via="status_page", actor_id=boss
        )

    page = await open_kiosk(route=f"/t/{code}")
    assert value(page, "case-status-current") == "当前状态：已处理，请您评价"
    assert value(page, "case-status-answer") == "已调整午间排班，感谢您的意见。"
    assert not page.has_text("13812345678") and not page.has_text("138****5678")
    await page.click("case-grade-fairly")
    assert value(page, "case-status-message") == "感谢您的评价。"
    assert value(page, "case-status-current") == "当前状态：已办结"
    assert value(page, "case-status-graded") == "您的评价：基本满意"
    assert not page.exists("case-grade-fairly")
    closed = the_case(db)
    assert (closed.status, closed.grade) == ("closed", "fairly")

    await page.click("lang")
    assert value(page, "case-status-graded") == "Your grade: Fairly satisfied"


async def test_the_same_code_is_shown_again_and_no_contact_is_needed(open_kiosk, db, world, ctx):
    h = await open_kiosk(storage={TOKEN_KEY: world.device_token})
    await h.click("rate-2")
    await h.click("details-skip")
    await h.click("callback-skip")
    assert (
        value(h, "case-done-promise")
        == "我们将在72 个营业小时内（2026年11月28日 10:30 前）核实处理，结果可用下面的跟踪码查询。"
    )
    code = value(h, "tracking-code")
    assert the_case(db).contact is None and the_case(db).code_digest is not None
    again = backend.case_ticket(ctx, rating_id=the_case(db).rating_id)  # a lost answer, asked again
    assert again is not None and again.code == code


async def test_a_middling_score_opens_no_case(open_kiosk, db, world):
    h = await open_kiosk(storage={TOKEN_KEY: world.device_token})
    await h.click("rate-3")
    await h.click("details-skip")
    assert value(h, "thanks-title") == "感谢您的评价！"
    with db.read() as s:
        assert s.exec(select(RatingCase)).all() == []
