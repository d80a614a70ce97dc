"""The complaint queue and detail screen show the clock that runs out next: a new case under a
first-contact clock counts down to first contact, then (acknowledged) to the reply."""

from __future__ import annotations

import re
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from models.clock import pin
from models.complaint import ComplaintCreate, file_complaint
from models.crypto import hash_secret
from models.holidays import import_year
from models.org import Staff
from models.presets import apply_preset
from models.rating import Channel

sys.path.insert(0, str(Path(__file__).resolve().parent))  # no __init__.py here
from admin_support import PASSWORD, Open, admin_tabs, sign_in  # noqa: E402,F401

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def hall_case(db, world) -> int:
    """Branch A on the hall preset; a complaint filed Monday 30 November 16:00 (first contact due
    Tuesday 1 December 17:00, reply due Monday 7 December 17:00)."""
    with db.write() as s:
        boss = s.exec(select(Staff).where(Staff.employee_no == "S1")).one()
        boss.username, boss.password_hash = "boss.a", hash_secret(PASSWORD)
        s.add(boss)
        s.commit()
        import_year(s, year=2026)
        apply_preset(s, preset="hall", branch_id=world.branch_id)
        data = ComplaintCreate(category="2.2.2", description="窗口长时间无人。", locale="zh-CN")
        complaint, _code, _ = file_complaint(
            s, idempotency_key="clock-1", data=data, channel=Channel.kiosk, branch_id=world.branch_id,
            now=datetime(2026, 11, 30, 16, 0, tzinfo=SH),
        )  # fmt: skip
        assert complaint.id is not None
        return complaint.id


def shows(h, pattern: str) -> bool:  # type: ignore[no-untyped-def]
    """Some text on screen matches ``pattern`` (the clock runs on from the pinned instant, so a
    label may be a minute off the hour)."""
    return any(re.fullmatch(pattern, text) for text in h.texts())


@pytest.fixture
def at():  # type: ignore[no-untyped-def]
    def set_clock(*args: int) -> None:
        pin(datetime(*args, tzinfo=SH))

    yield set_clock
    pin(None)


async def test_a_new_case_counts_down_to_first_contact_then_to_the_reply(open_admin: Open, hall_case, at):
    at(2026, 12, 1, 10, 0)
    h = await open_admin()
    await sign_in(h, "boss.a")
    assert shows(h, r"首次联系剩余 (7 小时 0|6 小时 59) 分")
    await h.click(f"complaint-{hall_case}")
    assert re.fullmatch(r"首次联系剩余 (7 小时 0|6 小时 59) 分", h.find("detail-contact-due").value)
    assert shows(h, r"剩余 (151 小时 0|150 小时 59) 分")  # the reply clock, shown beside it
    await h.click("action-acknowledged")
    assert not h.find("detail-contact-due").visible
    await h.click("back")
    assert shows(h, r"剩余 (151 小时 0|150 小时 59) 分") and not h.has_text("首次联系")


async def test_a_missed_first_contact_shows_overdue_in_the_queue(open_admin: Open, hall_case, at):
    at(2026, 12, 1, 18, 0)
    h = await open_admin()
    await sign_in(h, "boss.a")
    assert shows(h, r"首次联系已超时 1 小时 [01] 分"), " | ".join(h.texts())
