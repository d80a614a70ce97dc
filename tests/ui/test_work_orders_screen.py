"""The hotline screen's 12345 card in process: a supervisor enters a call with its work-order number,
sees the month's orders and rates as n/N (x%) ('–' with nothing to count), is told which complaint
already holds a number entered twice, downloads the month, in both languages; counter staff taking
calls do not see the card."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from models.clock import pin
from models.complaint import Complaint, ComplaintStatus, transition
from models.crypto import hash_secret
from models.org import Staff

sys.path.insert(0, str(Path(__file__).resolve().parent))  # no __init__.py here
from admin_support import PASSWORD, Open, open_section, sign_in  # noqa: E402
from harness import FletHarness  # noqa: E402

NOW = datetime(2026, 11, 18, 10, 30, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Wednesday morning


@pytest.fixture(autouse=True)
def fixed_clock() -> Iterator[None]:
    pin(NOW)
    yield
    pin(None)


@pytest.fixture
def people(db, world) -> None:
    with db.write() as s:
        for number, login in (("S1", "boss.a"), (world.staff_no, "alice")):
            person = s.exec(select(Staff).where(Staff.employee_no == number)).one()
            person.username, person.password_hash = login, hash_secret(PASSWORD)
            s.add(person)
        s.commit()


def stored(db) -> list[Complaint]:
    with db.read() as s:
        return list(s.exec(select(Complaint)).all())


def downloads(h: FletHarness) -> list[dict[str, Any]]:
    return [args for ctype, method, args in h.invocations if ctype == "FilePicker" and method == "save_file"]


async def enter_call(h: FletHarness, number: str) -> None:
    await h.fill("hotline-work_order_no", number)
    await h.fill("hotline-category", "2.2.2")
    await h.event("hotline-category", "select", "2.2.2")
    await h.fill("hotline-description", "12345 转来：窗口人员态度生硬")
    await h.click("hotline-submit")


async def test_a_supervisor_enters_a_work_order_and_reads_the_month(open_admin: Open, people, db, world):
    h = await open_admin()
    await sign_in(h, "boss.a")
    await open_section(h, "hotline")
    assert h.find("wo-month").value == "2026-11"
    assert h.find("wo-empty").value == "2026-11 没有 12345 工单。"
    assert h.find("wo-responded").value == "按时响应：–" and h.find("wo-satisfied").value.endswith("：–")

    await enter_call(h, " gd-2026-1118-7 ")
    code = h.find("hotline-code").value
    [row] = stored(db)
    assert row.work_order_no == "GD-2026-1118-7"
    await h.click("wo-show")
    assert h.exists("wo-order-GD-2026-1118-7") and not h.exists("wo-empty")
    assert h.has_text(f"工单 GD-2026-1118-7 · 投诉 #{row.id} · 查询码 {code} · 待首次联系")
    assert h.find("wo-responded").value == "按时响应：0/1 (0%)"
    assert h.find("wo-resolved").value == "已解决：0/1 (0%)"
    assert h.find("wo-satisfied").value == "满意（含基本满意，占已评价）：–"

    with db.write() as s:  # a supervisor calls the customer back within the hour
        assert row.id is not None
        transition(s, complaint_id=row.id, to=ComplaintStatus.acknowledged, actor_staff_id=None,
                   now=NOW + timedelta(hours=1))  # fmt: skip
    await h.click("wo-show")
    assert h.find("wo-responded").value == "按时响应：1/1 (100%)"
    assert h.has_text("已按时响应") and h.has_text("办理中")

    # The same work order again: refused on its field, naming the complaint and its code.
    await h.click("hotline-new")
    await enter_call(h, "GD-2026-1118-7")
    assert not h.exists("hotline-code")
    assert h.find("hotline-work_order_no").error == (
        f"工单 GD-2026-1118-7 已登记为投诉 #{row.id}（查询码 {code}）。"
        "请在投诉处理中跟进该投诉，不要重复登记。"
    )
    assert len(stored(db)) == 1

    await h.click("wo-download")
    [saved] = downloads(h)
    assert saved["file_name"] == "rapport-work-orders-A-2026-11.csv"
    rows = list(csv.reader(io.StringIO(saved["src_bytes"].decode("utf-8-sig"))))
    assert [r[:3] for r in rows[1:]] == [["GD-2026-1118-7", "办理中", "A"]]
    assert code not in saved["src_bytes"].decode("utf-8-sig"), "no tracking code in the file"
    assert h.find("wo-message").value == "已下载 rapport-work-orders-A-2026-11.csv。"

    await h.click("lang")
    assert h.find("wo-responded").value == "Responded in time: 1/1 (100%)"
    assert h.find("hotline-work_order_no").error.startswith("Work order GD-2026-1118-7 was already entered")
    assert h.has_text(f"Work order GD-2026-1118-7 · complaint #{row.id} · tracking code {code} · in progress")

    await h.fill("wo-month", "2026-13")
    await h.click("wo-show")
    assert h.find("wo-month").error == "Write the month as YYYY-MM, for example 2026-11."
    assert not h.exists("wo-responded"), "no figures for a month that is not one"
    await h.fill("wo-month", "2026-12")
    await h.click("wo-show")
    assert h.find("wo-month").error == "That month has not begun yet."
    await h.fill("wo-month", "2026-10")
    await h.click("wo-show")
    assert h.find("wo-empty").value == "No 12345 work orders in 2026-10."
    assert h.find("wo-resolved").value == "Resolved: –"


async def test_counter_staff_take_calls_with_a_work_order_but_do_not_see_the_month(
    open_admin: Open, people, db, world
):
    h = await open_admin(width=390, height=844)
    await sign_in(h, "alice")
    await open_section(h, "hotline")
    assert not h.exists("wo-card")
    await enter_call(h, "WO-1")
    assert h.exists("hotline-code") and [c.work_order_no for c in stored(db)] == ["WO-1"]
