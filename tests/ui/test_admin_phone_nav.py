"""The admin app's navigation on a phone (issue 19): a bar at the bottom with the role's most used
sections and 更多 / More for the rest; a wide window keeps the row of tabs; a resize switches."""

from __future__ import annotations

import sys
from pathlib import Path

import flet as ft
import pytest
from sqlmodel import select

from admin.sections import BAR_SIZE, bar_sections, visible_sections
from models.crypto import hash_secret
from models.org import Role, Staff

sys.path.insert(0, str(Path(__file__).resolve().parent))  # no __init__.py here
from admin_support import PASSWORD, Open, sign_in  # noqa: E402

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def people(db, world):
    """The branch's supervisor and a counter member of staff, both with passwords."""
    with db.write() as s:
        boss = s.exec(select(Staff).where(Staff.employee_no == "S1")).one()
        boss.username, boss.password_hash = "boss.a", hash_secret(PASSWORD)
        alice = s.exec(select(Staff).where(Staff.employee_no == world.staff_no)).one()
        alice.username, alice.password_hash = "alice", hash_secret(PASSWORD)
        s.add_all([boss, alice])
        s.commit()


def bar_keys(h) -> list[str]:  # type: ignore[no-untyped-def]
    bar = h.find("bottom-bar")
    return [str(c.key) for c in h.controls() if str(c.key).startswith("nav-") and _inside(c, bar)]


def current(h) -> list[str]:  # type: ignore[no-untyped-def]
    """The bar's entries marked selected for a screen reader (Semantics ``selected``, which Flutter web
    gives as ``aria-current``); every entry says whether it is."""
    marks = {key: h.find(key).parent for key in bar_keys(h)}
    assert all(isinstance(m, ft.Semantics) and m.selected is not None for m in marks.values()), marks
    return [key for key, mark in marks.items() if mark.selected]


def _inside(control, ancestor) -> bool:  # type: ignore[no-untyped-def]
    node = control
    while node is not None:
        if node is ancestor:
            return True
        node = node.parent
    return False


@pytest.mark.parametrize("role", list(Role))
def test_every_section_of_a_role_is_in_the_bar_or_under_more(role):
    bar, rest = bar_sections(role)
    assert len(bar) + (1 if rest else 0) <= BAR_SIZE
    keys = [s.key for s in visible_sections(role)]
    in_bar = {s.key for s in bar}
    assert [s.key for s in bar] == [k for k in keys if k in in_bar], "the bar keeps the tabs' order"
    assert [s.key for s in rest] == [k for k in keys if k not in in_bar], "so does More"


async def test_a_supervisor_on_a_phone_has_a_bottom_bar_and_more_for_the_rest(open_admin: Open, people):
    h = await open_admin(**PHONE)
    await sign_in(h, "boss.a")
    assert h.exists("filter-open"), "a supervisor lands on the queue"
    assert bar_keys(h) == ["nav-complaints", "nav-dashboard", "nav-alerts", "nav-more"]
    assert current(h) == ["nav-complaints"], "the open section is marked for a screen reader"
    assert not h.exists("nav-rules") and not h.exists("nav-people")
    assert h.has_text("投诉处理") and h.has_text("更多")

    await h.click("nav-dashboard")
    assert h.exists("dash-scope")
    await h.click("nav-more")
    sheet = h.find("more-sheet").parent
    assert isinstance(sheet, ft.BottomSheet) and sheet.open and h.has_text("更多功能")
    rest = {s.key for s in bar_sections(Role.supervisor)[1]}
    assert {"rules", "people", "ledger", "account"} <= rest
    for key in rest:
        assert h.exists(f"nav-{key}")
    await h.click("nav-rules")
    assert not sheet.open, "picking a section closes the sheet"
    assert h.exists("rules-save") or h.has_text("规则设置")
    # The section is one of the rest: More is the shaded entry, and the one marked current.
    assert h.find("nav-more").style.bgcolor is not None
    assert h.find("nav-complaints").style.bgcolor is None
    assert current(h) == ["nav-more"]

    # The sheet closes without a pick too.
    await h.click("nav-more")
    await h.click("more-close")
    assert not any(d.open for d in h.session.page._dialogs.controls)

    # In English.
    await h.click("lang")
    assert h.has_text("More") and h.has_text("Complaints")


async def test_staff_on_a_phone_have_all_their_sections_in_the_bar(open_admin: Open, people):
    h = await open_admin(**PHONE)
    await sign_in(h, "alice")
    assert bar_keys(h) == [f"nav-{s.key}" for s in visible_sections(Role.staff)]
    assert not h.exists("nav-more")


async def test_a_resize_switches_between_the_tabs_and_the_bar(open_admin: Open, people):
    h = await open_admin()
    await sign_in(h, "boss.a")
    assert not h.exists("bottom-bar") and h.exists("nav-rules"), "wide: every section a tab"
    page = h.session.page
    for width, phone in ((390, True), (1280, False)):
        h.session.apply_patch(page._i, {"width": width, "height": 844})
        await h.session.dispatch_event(page._i, "resize", {"width": width, "height": 844})
        await h.settle()
        assert h.exists("bottom-bar") is phone
        assert h.exists("nav-rules") is not phone
