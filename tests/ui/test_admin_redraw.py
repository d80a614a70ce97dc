"""The admin app's frame outlives a redraw: a tab the supervisor taps while the screen is being drawn
again (back from a complaint, a refresh) is the tab the redrawn screen shows, so the tap is not lost.
Flet drops an event for a control that is no longer on the page."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import pytest
from sqlmodel import select

from models.complaint import ComplaintCreate, file_complaint
from models.crypto import hash_secret
from models.org import Staff
from models.rating import Channel

sys.path.insert(0, str(Path(__file__).resolve().parent))  # no __init__.py here
from admin_support import PASSWORD, Open, sign_in  # noqa: E402

FILED = datetime.fromisoformat("2026-11-30T16:00:00+08:00")


@pytest.fixture
def case_id(db, world) -> int:
    with db.write() as s:
        boss = s.exec(select(Staff).where(Staff.employee_no == "S1")).one()
        boss.username, boss.password_hash = "boss.a", hash_secret(PASSWORD)
        s.add(boss)
        data = ComplaintCreate(category="2.2.2", description="窗口长时间无人。", locale="zh-CN")
        complaint, _code, _ = file_complaint(
            s, idempotency_key="redraw-1", data=data, channel=Channel.kiosk, branch_id=world.branch_id,
            now=FILED,
        )  # fmt: skip
        s.commit()
        assert complaint.id is not None
        return complaint.id


@pytest.mark.parametrize("width", [1280, 390], ids=["tabs", "phone-bar"])
async def test_a_tab_tapped_as_the_queue_is_drawn_again_opens_its_section(open_admin: Open, case_id, width):
    h = await open_admin(width=width, height=800)
    await sign_in(h, "boss.a")
    await h.click(f"complaint-{case_id}")
    tab = h.find("nav-dashboard")  # the dashboard's tab as the complaint's page shows it
    await h.click("back")  # the queue is drawn again
    assert h.exists(f"complaint-{case_id}")
    await h.event(tab, "click")  # the tap that reached the server after the redraw
    assert h.exists("dash-scope") and not h.exists(f"complaint-{case_id}")


async def test_the_current_tab_follows_the_section_after_a_redraw(open_admin: Open, case_id):
    h = await open_admin()
    await sign_in(h, "boss.a")
    await h.click("nav-dashboard")
    assert h.exists("dash-scope")
    await h.click("nav-complaints")
    assert h.exists(f"complaint-{case_id}") and not h.exists("dash-scope")
    current = [c for c in h.controls() if getattr(c, "key", None) in ("nav-complaints", "nav-dashboard")]
    styles = {c.key: c.style.bgcolor if c.style else None for c in current}
    assert styles["nav-complaints"] is not None and styles["nav-dashboard"] is None
