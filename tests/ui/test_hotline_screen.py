"""The hotline entry screen in process: a supervisor types in a phone complaint and reads out the code;
field problems show on their fields; a double submit stores one complaint; staff land on it; the
caller's rating is picked in either language."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import flet as ft
import pytest
from sqlmodel import col, select

from admin import hotline as backend
from admin import sections
from admin.screens import hotline
from admin.sections import Section
from models.clock import pin
from models.codes import tracking_digest
from models.complaint import Complaint
from models.crypto import hash_secret
from models.org import Staff

sys.path.insert(0, str(Path(__file__).resolve().parent))  # no __init__.py here
from admin_support import PASSWORD, Open, admin_tabs, open_section, sign_in  # noqa: E402,F401
from harness import FletHarness  # noqa: E402


@pytest.fixture(autouse=True)
def fixed_clock() -> Iterator[None]:
    pin(datetime(2026, 11, 18, 10, 30, tzinfo=ZoneInfo("Asia/Shanghai")))  # a Wednesday morning
    yield
    pin(None)


@pytest.fixture(autouse=True)
def hotline_section(monkeypatch: pytest.MonkeyPatch) -> None:
    """The registry line the hotline section needs (admin/sections.py), added for these tests."""
    section = Section(
        "hotline",
        "admin.hotline.nav",
        ft.Icons.PHONE_IN_TALK_OUTLINED,
        hotline.ROLES,
        hotline.build,
        hotline.load,
    )
    if sections.by_key("hotline") is None:
        monkeypatch.setattr(sections, "SECTIONS", [*sections.SECTIONS, section])


@pytest.fixture
def people(db, world) -> None:
    with db.write() as s:
        for number, login in (("S1", "boss.a"), (world.staff_no, "alice")):
            person = s.exec(select(Staff).where(Staff.employee_no == number)).one()
            person.username, person.password_hash = login, hash_secret(PASSWORD)
            s.add(person)
        s.commit()


async def choose(h: FletHarness, key: str, value: str) -> None:
    await h.fill(key, value)
    await h.event(key, "select", value)


def stored(db) -> list[Complaint]:
    with db.read() as s:
        return list(s.exec(select(Complaint)).all())


async def test_a_supervisor_records_a_phone_complaint_and_reads_out_the_code(
    open_admin: Open, people, db, world
):
    h = await open_admin()
    await sign_in(h, "boss.a")
    await open_section(h, "hotline")
    assert h.has_text("登记热线投诉")

    await choose(h, "hotline-category", "2.2.2")
    await h.fill("hotline-description", "客户来电：柜员办理时一直在看手机")
    await h.fill("hotline-staff_no", "e2")
    await choose(h, "hotline-counter_id", str(world.counter_id))
    await h.fill("hotline-contact", "13812345678")
    await h.fill("hotline-consent", True)
    await h.click("hotline-submit")

    code = h.find("hotline-code").value
    assert h.has_text("请把这个查询码读给来电客户")
    [row] = stored(db)
    assert row.code_digest == tracking_digest(code) and row.channel == "hotline"
    assert row.counter_id == world.counter_id and row.staff_id is not None and row.contact == "13812345678"

    await h.click("hotline-new")
    assert not h.exists("hotline-code") and h.find("hotline-description").value == ""


async def test_problems_show_on_their_fields_and_the_fixed_draft_is_stored_once(
    open_admin: Open, people, db, world, monkeypatch: pytest.MonkeyPatch
):
    h = await open_admin()
    await sign_in(h, "boss.a")
    await open_section(h, "hotline")
    await h.fill("hotline-staff_no", world.other_branch_staff_no)
    await h.fill("hotline-contact", "13812345678")
    await h.click("hotline-submit")
    assert h.find("hotline-category").error_text == "请选择投诉类别。"
    assert h.find("hotline-description").error == "请填写事情经过。"
    assert h.find("hotline-staff_no").error == "这位员工不属于本网点。"
    assert h.find("hotline-consent").error is True and h.exists("hotline-consent-error")
    assert h.find("hotline-contact").value == "13812345678", "the draft survives the round trip"
    assert stored(db) == []

    await choose(h, "hotline-category", "2.3.1")
    await h.fill("hotline-description", "电话投诉：等候太久")
    await h.fill("hotline-staff_no", "")
    await h.fill("hotline-consent", True)
    calls: list[str] = []

    def counted(*args: Any, **kwargs: Any) -> tuple[int, str]:
        calls.append(kwargs["idempotency_key"])
        return record(*args, **kwargs)

    record = backend.record_hotline_complaint
    monkeypatch.setattr(backend, "record_hotline_complaint", counted)
    # Two clicks racing (a double tap): the second arrives while the first is still being stored.
    await asyncio.gather(h.click("hotline-submit"), h.event("hotline-submit", "click", force=True))
    assert h.exists("hotline-code")
    assert len(calls) == 1, "the second tap is ignored while the first is on its way"
    [row] = stored(db)
    assert row.staff_id is None and row.category == "2.3.1"


async def test_counter_staff_land_on_their_own_page_and_can_open_hotline_entry(
    open_admin: Open, people, db, world
):
    h = await open_admin()
    await sign_in(h, "alice")
    assert h.exists("nav-me") and not h.exists("hotline-submit") and not h.exists("filter-open")
    await open_section(h, "hotline")
    assert h.exists("hotline-submit")


async def test_the_callers_rating_is_picked_in_both_languages_and_a_bad_one_opens_a_case(
    open_admin: Open, people, db, world
):
    from models.cases import RatingCase
    from models.rating import Rating

    def kept() -> tuple[list[tuple[int, str]], list[tuple[int, int | None]]]:
        with db.read() as s:
            ratings = [(r.score, r.channel) for r in s.exec(select(Rating).order_by(col(Rating.score)))]
            cases = [(c.score, c.complaint_id) for c in s.exec(select(RatingCase))]
        return ratings, cases

    h = await open_admin(width=390, height=844)
    await sign_in(h, "boss.a")
    await open_section(h, "hotline")
    score = h.find("hotline-score")
    assert score.label == "来电客户对服务的评价（可不填）" and score.value is None
    assert [o.text for o in score.options] == [
        "客户未评价",
        "非常满意",
        "满意",
        "基本满意",
        "不满意",
        "非常不满意",
    ]
    await choose(h, "hotline-category", "2.2.2")
    await h.fill("hotline-description", "客户来电：等了一个小时没人理")
    await h.fill("hotline-staff_no", world.staff_no)
    await choose(h, "hotline-score", "1")
    await h.click("hotline-submit")
    assert h.exists("hotline-code")
    [row] = stored(db)
    assert kept() == ([(1, "hotline")], [(1, row.id)])

    await h.click("hotline-new")
    await h.click("lang")
    english = h.find("hotline-score")
    assert english.label == "The caller's rating of the service (optional)" and english.value is None
    assert [o.text for o in english.options] == [
        "The caller gave none", "Very satisfied", "Satisfied", "Fairly satisfied", "Dissatisfied",
        "Very dissatisfied",
    ]  # fmt: skip
    await choose(h, "hotline-category", "2.3.1")
    await h.fill("hotline-description", "Caller: waited an hour, then was served well")
    await h.fill("hotline-score", "9")  # not one of the options: a stale or tampered value
    await h.click("hotline-submit")
    assert h.find("hotline-score").error_text == "Choose one of the five levels, or “The caller gave none”."
    await h.click("lang")
    assert h.find("hotline-score").error_text == "请选择五级评价之一，或选“客户未评价”。"
    await h.click("lang")
    assert len(stored(db)) == 1 and kept()[0] == [(1, "hotline")], "nothing stored"

    await choose(h, "hotline-score", "4")
    await h.click("hotline-submit")
    assert h.exists("hotline-code")
    assert kept() == ([(1, "hotline"), (4, "hotline")], [(1, row.id)]), "a 满意 opens no case"
