"""Recording how each saved version of the rules was adopted, in process (issue 16; 劳动合同法 §4:
rules on pay and discipline are adopted democratically and made known to staff): every version of
the history card says when it was published and how it was adopted; an administrator opens the
form inside a version's entry, a bad date is refused under the date field with the note kept, an
empty note under its own field, then a good record is saved and the line shows it; a supervisor
reads the lines but gets no button. Both languages, under a pinned clock."""

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
from models.org import Role, Staff
from models.policy import PolicyRevision, set_policy

sys.path.insert(0, str(Path(__file__).resolve().parent))  # no __init__.py here
from admin_support import PASSWORD, Open, open_section, sign_in  # noqa: E402
from harness import FletHarness  # noqa: E402

SH = ZoneInfo("Asia/Shanghai")
SAVED = datetime(2026, 11, 2, 9, 0, tzinfo=SH)  # when the versions were saved (and published)
HOW = "职工代表大会讨论通过"
WORDS = {
    "zh-CN": {
        "published": "公布于 2026年11月2日 09:00",
        "none": "尚未登记通过情况",
        "button": "登记通过情况",
        "date": "通过日期（YYYY-MM-DD）",
        "how": "通过方式（如职工代表大会）",
        "bad_date": "请按 YYYY-MM-DD 填写通过日期，例如 2026-11-18，且不能晚于今天。",
        "no_how": "请写明通过方式，最多 200 字。",
        "not_saved": "第 1 版的通过情况未保存：请更正表单中标出的内容。",
        "done": "已登记第 1 版的通过情况。",
        "adopted": f"通过：2026年11月10日，{HOW}",
    },
    "en": {
        "published": "Published Nov 2, 2026 9:00 AM",
        "none": "Adoption not recorded yet",
        "button": "Record adoption",
        "date": "Adopted on (YYYY-MM-DD)",
        "how": "How it was adopted (e.g. staff representatives' assembly)",
        "bad_date": "Write the date as YYYY-MM-DD, for example 2026-11-18, no later than today.",
        "no_how": "Say how the version was adopted, in at most 200 characters.",
        "not_saved": "The adoption of version 1 was not saved: correct what the form marks.",
        "done": "The adoption of version 1 is recorded.",
        "adopted": f"Adopted Nov 10, 2026: {HOW}",
    },
}


@pytest.fixture(autouse=True)
def fixed_clock():
    pin(datetime(2026, 11, 18, 10, 30, tzinfo=SH))
    yield
    pin(None)


@pytest.fixture
def versions(db, world) -> None:
    """root (an administrator), boss.a (branch A's supervisor); version 1 of the global rules and of
    branch A's, both saved by root on 2 November, their adoption not recorded."""
    with db.write() as s:
        s.add(Staff(employee_no="A0", display_name="管理员", role=Role.admin))
        s.flush()
        people = {p.employee_no: p for p in s.exec(select(Staff)).all()}
        for number, login in (("A0", "root"), ("S1", "boss.a")):
            people[number].username, people[number].password_hash = login, hash_secret(PASSWORD)
        s.commit()
        root = people["A0"].id
        set_policy(s, values={"min_ratings_ranked": 25}, actor_staff_id=root, now=SAVED)
        set_policy(
            s, values={"min_ratings_ranked": 30}, branch_id=world.branch_id, actor_staff_id=root, now=SAVED
        )


async def rules_section(open_admin: Open, login: str, locale: str, width: float) -> FletHarness:
    h = await open_admin(width=width, height=844 if width < 700 else 800)
    await sign_in(h, login)
    await open_section(h, "rules")
    if locale == "en":
        await h.click("lang")
    return h


def lines(h: FletHarness, version: int = 1) -> list[str]:
    return [str(c.value) for c in h.find(f"rules-rev-{version}").controls]


def adoption(db, branch_id: int | None = None) -> tuple[date | None, str]:
    with db.read() as s:
        where = (
            col(PolicyRevision.branch_id).is_(None)
            if branch_id is None
            else col(PolicyRevision.branch_id) == branch_id
        )
        row = s.exec(select(PolicyRevision).where(where)).one()
        return row.adopted_on, row.adopted_how


def audited(db) -> list[str]:
    with db.read() as s:
        return [
            a.action for a in s.exec(select(AuditEvent).where(AuditEvent.action == "policy.adopted")).all()
        ]


@pytest.mark.parametrize(("locale", "width"), [("zh-CN", 1280), ("en", 390)])
async def test_an_admin_records_how_a_version_was_adopted(open_admin, versions, db, locale, width):
    w = WORDS[locale]
    h = await rules_section(open_admin, "root", locale, width)
    assert lines(h)[-2:] == [w["published"], w["none"]]
    assert h.find("rules-adopt-1").content == w["button"] and h.find("rules-adopt-1").height == 48
    assert not h.exists("rules-adopt-form")

    await h.click("rules-adopt-1")
    assert not h.exists("rules-adopt-1")  # the form takes the button's place
    day, how = h.find("rules-adopt-date"), h.find("rules-adopt-how")
    assert (day.label, day.value) == (w["date"], "2026-11-02")  # the day the version was saved
    assert (how.label, how.value, how.max_length) == (w["how"], "", 200)
    assert h.find("rules-adopt-save").height == 48 and h.find("rules-adopt-cancel").height == 48

    # A date that is no date, then one in the future: refused under the date field, the note kept.
    await h.fill("rules-adopt-how", HOW)
    for bad in ("2026-11-31", "2026-12-01"):
        await h.fill("rules-adopt-date", bad)
        await h.click("rules-adopt-save")
        assert h.find("rules-adopt-date").error == w["bad_date"], bad
        assert h.find("rules-adopt-how").error is None
        assert (h.find("rules-adopt-date").value, h.find("rules-adopt-how").value) == (bad, HOW)
        assert h.find("rules-message").value == w["not_saved"]
        assert adoption(db) == (None, "") and audited(db) == []

    # An empty note: refused under its own field.
    await h.fill("rules-adopt-date", "2026-11-10")
    await h.fill("rules-adopt-how", "  ")
    await h.click("rules-adopt-save")
    assert h.find("rules-adopt-how").error == w["no_how"] and h.find("rules-adopt-date").error is None
    assert h.find("rules-adopt-date").value == "2026-11-10" and adoption(db) == (None, "")

    await h.fill("rules-adopt-how", HOW)
    await h.click("rules-adopt-save")
    assert not h.exists("rules-adopt-form") and h.exists("rules-adopt-1")
    assert h.find("rules-message").value == w["done"]
    assert lines(h)[-2:] == [w["published"], w["adopted"]]
    assert adoption(db) == (date(2026, 11, 10), HOW) and audited(db) == ["policy.adopted"]

    # Opened again, the form shows what was recorded; Cancel closes it and changes nothing.
    await h.click("rules-adopt-1")
    assert (h.find("rules-adopt-date").value, h.find("rules-adopt-how").value) == ("2026-11-10", HOW)
    await h.click("rules-adopt-cancel")
    assert not h.exists("rules-adopt-form") and audited(db) == ["policy.adopted"]


async def test_the_draft_survives_a_language_switch(open_admin, versions, db):
    h = await rules_section(open_admin, "root", "zh-CN", 1280)
    await h.click("rules-adopt-1")
    await h.fill("rules-adopt-date", "2026-13-01")
    await h.fill("rules-adopt-how", HOW)
    await h.click("rules-adopt-save")
    await h.click("lang")
    assert h.find("rules-adopt-date").error == WORDS["en"]["bad_date"]
    assert (h.find("rules-adopt-date").value, h.find("rules-adopt-how").value) == ("2026-13-01", HOW)
    assert h.find("rules-adopt-date").label == WORDS["en"]["date"]


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
async def test_a_supervisor_reads_publication_and_adoption_without_a_button(
    open_admin, versions, db, world, locale
):
    with db.write() as s:
        row = s.exec(select(PolicyRevision).where(PolicyRevision.branch_id == world.branch_id)).one()
        row.adopted_on, row.adopted_how = date(2026, 11, 10), HOW
        s.add(row)
        s.commit()
    h = await rules_section(open_admin, "boss.a", locale, 390)
    w = WORDS[locale]
    assert lines(h)[-2:] == [w["published"], w["adopted"]]
    assert not h.exists("rules-adopt-1") and not h.exists("rules-adopt-form")
    assert not h.has_text(w["button"])
