"""The rules editor in Chromium on the demo server: the administrator (admin/demo-admin) opens the
rules, changes the status lookups per minute, saves, and sees the new version; the database holds the
new value, with a revision. The reset button then puts the default back (so the other browser tests
run on the demo's rules). Screenshots for a person to look at, phone and tablet, zh-CN and en:
test-artifacts/screenshots/admin-rules-*.png (copied by hand to docs/screenshots after looking)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlmodel import col, select

from models.policy import PolicyRevision, effective_policy
from tests.e2e.conftest import (
    button,
    icon_button,
    log_tail,
    open_page,
    open_section,
    screenshot,
    sign_in_admin,
    type_into,
)

pytestmark = pytest.mark.e2e

LOOKUPS = "每分钟最多查询次数"
SAVED = re.compile(r"^已保存为第 (\d+) 版：修改了 1 项。$")


def open_rules(browser, server, size: str):  # type: ignore[no-untyped-def]
    """A fresh browser context signed in as the administrator, on the rules section."""
    page = open_page(browser, server.url + "/admin", size)
    try:
        sign_in_admin(page, "admin", "demo-admin", button(page, "规则设置"))
        button(page, "规则设置").click(timeout=15_000)
        page.get_by_text("评价终端", exact=True).wait_for(timeout=15_000)
    except PlaywrightTimeout:
        screenshot(page, f"failed-rules-{size}")
        pytest.fail(
            f"admin did not reach the rules; the page shows {page.inner_text('body')!r}\n{log_tail(server)}"
        )
    return page


def scroll_until(page, locator) -> None:  # type: ignore[no-untyped-def]
    """Wheel the section down until ``locator`` is inside the window above the bottom bar (Flutter's
    semantics tree also holds nodes just outside the view, so being "visible" is not enough)."""
    size = page.viewport_size or {"width": 390, "height": 844}
    page.mouse.move(size["width"] / 2, size["height"] * 0.6)  # below the section tabs, above the bar
    for _ in range(40):
        box = locator.first.bounding_box() if locator.count() else None
        if box and box["y"] >= 0 and box["y"] + box["height"] <= size["height"] - 140:
            return
        page.mouse.wheel(0, 300)
        page.wait_for_timeout(250)
    raise AssertionError(f"{locator} never came into view")


def lookups(server) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """The global status lookups per minute in force, and how many revisions the rules have."""
    with server.db.read() as s:
        revisions = len(s.exec(select(PolicyRevision).where(col(PolicyRevision.branch_id).is_(None))).all())
        return effective_policy(s).status_lookups_per_minute, revisions


def test_the_admin_saves_a_rule_and_resets_it(server, browser):  # type: ignore[no-untyped-def]
    before, revisions = lookups(server)
    assert before == 10, "the demo runs on the default rules"
    page = open_rules(browser, server, "tablet")
    try:
        scroll_until(page, page.get_by_label(LOOKUPS, exact=True))
        type_into(page, LOOKUPS, "12")
        page.get_by_text("已修改，尚未保存", exact=True).wait_for()
        page.get_by_text("1 项修改未保存", exact=True).wait_for()
        button(page, "保存修改").click()
        page.get_by_text(SAVED).wait_for()
        assert lookups(server) == (12, revisions + 1), log_tail(server)
        page.get_by_text("修改：每分钟最多查询次数").first.wait_for()
        page.mouse.move(0, 0)
        screenshot(page, "admin-rules-tablet-zh")

        button(page, "English").click()
        page.get_by_text("Kiosk", exact=True).wait_for()
        page.mouse.move(0, 0)
        screenshot(page, "admin-rules-tablet-en")

        reset = button(page, "Back to the default (10)")
        scroll_until(page, reset)
        reset.click()
        page.get_by_text(
            re.compile(r"^“Most status lookups per minute” reset; saved as version \d+\.$")
        ).wait_for()
        assert lookups(server) == (10, revisions + 2)
    finally:
        page.context.close()


def test_the_rules_on_a_phone_in_both_languages(server, browser):  # type: ignore[no-untyped-def]
    page = open_rules(browser, server, "phone")
    try:
        page.mouse.move(0, 0)
        screenshot(page, "admin-rules-phone-zh")
        icon_button(page, "English").click()
        page.get_by_text("Kiosk", exact=True).wait_for()
        page.mouse.move(0, 0)
        screenshot(page, "admin-rules-phone-en")
        scroll_until(page, page.get_by_text("Revision history", exact=True))
        screenshot(page, "admin-rules-history-phone-en")
    finally:
        page.context.close()


def test_a_supervisor_reads_the_rules_of_the_branch_but_cannot_change_them(server, browser):  # type: ignore[no-untyped-def]
    page = open_page(browser, server.url + "/admin", "phone")
    try:
        sign_in_admin(page, "sup.renmin", "demo-sup.renmin", button(page, "投诉处理"))
        open_section(page, "规则设置")  # on a supervisor's phone, under 更多
        page.get_by_text("适用范围：人民路支行", exact=True).wait_for()
        page.get_by_text("您可以查看本支行的规则；只有管理员可以修改。", exact=True).wait_for()
        field = page.get_by_label("无操作自动返回首页", exact=True)
        field.wait_for()
        assert field.is_disabled()
        assert button(page, "保存修改").count() == 0
        page.mouse.move(0, 0)
        screenshot(page, "admin-rules-supervisor-phone-zh")
    finally:
        page.context.close()
