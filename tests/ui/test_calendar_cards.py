"""The presets and calendar cards of the rules screen, in process: an administrator imports a year
(and is told plainly when the calendar package has no data for one), marks a make-up working day
for one branch, applies the hall preset there after reading what it changes, and removes the mark;
a bad date is refused by name and writes nothing; a supervisor reads their branch's calendar and
the presets but changes nothing; both languages."""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from models.audit import AuditEvent
from models.clock import pin
from models.crypto import hash_secret
from models.holidays import CalendarDay, marked_days
from models.org import Role, Staff
from models.policy import effective_policy

sys.path.insert(0, str(Path(__file__).resolve().parent))  # no __init__.py here
from admin_support import PASSWORD, Open, open_section, sign_in  # noqa: E402
from harness import FletHarness  # noqa: E402

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def fixed_clock():
    pin(datetime(2026, 11, 18, 10, 30, tzinfo=SH))  # the calendar card opens on 2026
    yield
    pin(None)


@pytest.fixture
def logins(db, world) -> None:
    """root (an administrator) and boss.a (the supervisor of branch A)."""
    with db.write() as s:
        s.add(Staff(employee_no="A0", display_name="管理员", role=Role.admin))
        s.flush()
        people = {p.employee_no: p for p in s.exec(select(Staff)).all()}
        for number, login in (("A0", "root"), ("S1", "boss.a")):
            people[number].username, people[number].password_hash = login, hash_secret(PASSWORD)
        s.commit()


async def rules_section(open_admin: Open, login: str, width: float = 1280) -> FletHarness:
    h = await open_admin(width=width, height=844 if width < 700 else 800)
    await sign_in(h, login)
    await open_section(h, "rules")
    return h


async def pick(h: FletHarness, key: str, value: str) -> None:
    await h.fill(key, value)
    await h.event(key, "select", value)


def text(h: FletHarness, key: str) -> str:
    return str(h.find(key).value)


def scrolled_to(h: FletHarness) -> str:
    """The key the rules screen last scrolled to (a re-render starts it at the top)."""
    args = [a for _type, method, a in h.invocations if method == "scroll_to"][-1]
    key = args["scroll_key"]
    return str(key.value if hasattr(key, "value") else key)


def rows(db, branch_id: int | None = None, year: int = 2026) -> list[tuple[date, str]]:
    with db.read() as s:
        return [(m.day, m.kind) for m in marked_days(s, branch_id=branch_id, year=year)]


def audit_actions(db) -> list[str]:
    with db.read() as s:
        return list(s.exec(select(AuditEvent.action).order_by(col(AuditEvent.id))).all())


async def test_an_admin_imports_a_year_and_is_told_when_the_package_has_none(open_admin, logins, db):
    h = await rules_section(open_admin, "root")
    assert text(h, "calendar-summary") == "2026 年还没有任何标记：目前只按星期计算（周六、周日休息）。"
    assert h.find("calendar-import").content == "导入 2026 年的节假日安排"

    await h.click("calendar-import")
    imported = rows(db)
    holidays = sum(kind == "holiday" for _d, kind in imported)
    assert sum(kind == "workday" for _d, kind in imported) == 6 and holidays > 20
    assert text(h, "calendar-message") == (
        f"已导入 2026 年：节假日 {holidays} 天，调休上班日 6 天；保留手工标记 0 天。"
    )
    assert text(h, "calendar-summary") == f"2026 年：节假日 {holidays} 天，调休上班日 6 天。"
    # The National Day week is one line, with its Chinese name; the Saturday worked after it, another.
    assert h.has_text("10月1日周四 至 10月7日周三 · 国庆节 · 节假日 · 共 7 天")
    assert h.has_text("10月10日周六 · 国庆节 · 调休上班日")

    # 2027 is not in the package yet: said in the screen's language, nothing written.
    await pick(h, "calendar-year", "2027")
    assert text(h, "calendar-summary") == "2027 年还没有任何标记：目前只按星期计算（周六、周日休息）。"
    before = audit_actions(db)
    await h.click("calendar-import")
    message = text(h, "calendar-message")
    assert message.startswith("未保存：日历包没有 2027 年的节假日数据（只有 2004–2026 年）。"), message
    assert rows(db, year=2027) == [] and audit_actions(db) == before

    await h.click("lang")
    assert h.find("calendar-import").content == "Import the 2027 holidays"
    await pick(h, "calendar-year", "2026")
    assert h.has_text("Thu, Oct 1 to Wed, Oct 7 · National Day · holiday · 7 days")


async def test_an_admin_marks_a_make_up_day_for_a_branch_and_applies_the_hall_preset(
    open_admin, logins, db, world
):
    h = await rules_section(open_admin, "root")
    await pick(h, "rules-scope", str(world.branch_id))
    assert h.has_text("甲支行的日历 = 全行日历 + 本支行单独标记的日子")

    # A bad date: the field says why, nothing is written.
    before = audit_actions(db)
    await h.fill("calendar-day", "2026-11-31")
    await h.click("calendar-mark")
    assert h.find("calendar-day").error == "“2026-11-31”不是有效日期：请按 YYYY-MM-DD 填写，例如 2026-11-21。"
    assert rows(db, world.branch_id) == [] and audit_actions(db) == before
    await h.fill("calendar-day", "")
    await h.click("calendar-mark")
    assert h.find("calendar-day").error == "请先填写日期。"

    # Saturday 21 November worked at branch A only (typed with a Chinese keyboard's digits).
    await h.fill("calendar-day", "２０２６年１１月２１日")
    await h.fill("calendar-name", "本支行补班")
    await h.click("calendar-mark")
    assert text(h, "calendar-message") == "已保存：11月21日周六为调休上班日。"
    assert scrolled_to(h) == "calendar-message-at"  # the outcome is brought into view
    assert h.has_text("11月21日周六 · 本支行补班 · 调休上班日")
    assert rows(db, world.branch_id) == [(date(2026, 11, 21), "workday")] and rows(db) == []
    assert h.find("calendar-day").value == ""  # the form starts afresh

    # The hall preset: what it would change, then applied.
    await pick(h, "preset-pick", "hall")
    assert text(h, "preset-change-sla_clock") == "答复时限的计算方式：按营业时间计小时 → 按工作日计算"
    assert text(h, "preset-change-sla_days") == "答复时限（天）：15 → 5"
    assert h.find("preset-apply").content == "应用到甲支行"
    await h.click("preset-apply")
    assert scrolled_to(h) == "preset-message-at"
    assert text(h, "preset-message").startswith("已应用“政务服务大厅”预设：改变了 ")
    assert h.exists("preset-in-force") and h.find("preset-apply").disabled
    # The rules cards below show the new values, from the branch's own settings.
    assert h.find("rules-sla_clock").value == "working_days"
    assert text(h, "rules-source-sla_clock") == "来源：本支行设置"
    with db.read() as s:
        assert (effective_policy(s, world.branch_id).sla_clock, effective_policy(s).sla_clock) == (
            "working_days",
            "opening_hours",
        )
    assert audit_actions(db)[-2:] == ["calendar.set", "policy.update"]

    # The mark goes again.
    await h.click("calendar-clear-2026-11-21")
    assert text(h, "calendar-message") == "已删除 1 天的标记。"
    assert rows(db, world.branch_id) == [] and not h.exists("calendar-span-2026-11-21")
    assert audit_actions(db)[-1] == "calendar.clear"

    await h.click("lang")
    assert h.find("preset-apply").content == "Apply to Branch A"
    assert text(h, "preset-in-force") == "Every setting of this preset is already in force for Branch A."


async def test_a_supervisor_reads_the_branch_calendar_and_presets_but_changes_nothing(
    open_admin, logins, db, world
):
    from models.holidays import import_year, set_day

    with db.write() as s:
        import_year(s, year=2026)
        set_day(s, day=date(2026, 11, 21), kind="workday", branch_id=world.branch_id)
    h = await rules_section(open_admin, "boss.a", width=390)
    assert h.has_text("11月21日周六 · 调休上班日")
    assert h.has_text("10月1日周四 至 10月7日周三 · 国庆节 · 节假日 · 共 7 天")
    assert h.has_text("全行日历") and h.has_text("手工标记")  # where each mark comes from
    changes = ("calendar-import", "calendar-mark", "calendar-day", "preset-apply")
    for key in (*changes, "calendar-clear-2026-11-21"):
        assert not h.exists(key), key
    assert text(h, "preset-change-sla_clock") == "答复时限的计算方式：按营业时间计小时 → 按工作日计算"
    with db.read() as s:
        assert len(s.exec(select(CalendarDay)).all()) > 20
