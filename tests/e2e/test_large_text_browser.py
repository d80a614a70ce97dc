"""大字模式 (large text, issue 19) in the browser: a counter tablet and a customer's phone, each language.

The walk turns large text on with its switch on the welcome screen (found by role and name, its state
read from aria-checked), then goes to the reasons after a low score and to the complaint form, and
takes test-artifacts/screenshots/kiosk-large-<screen>-<size>-<lang>.png on each (copied by hand to
docs/screenshots after looking at them). On every screen nothing may stick out of the viewport and
no text may run into the right edge. The phone then opens its badge link again in a new tab: the
switch is still on (the browser's storage). That the tablet drops it on the idle reset is checked
in process, on a virtual clock (tests/ui/test_kiosk_large_text.py).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlmodel import select

from models.org import Staff
from rapport.core.i18n import t
from tests.e2e.conftest import button, enable_semantics, enrol_tablet, open_page, screenshot, tap_face
from tests.e2e.test_screenshot_tour import OVERFLOW_JS, ink_at_right_edge, painted

pytestmark = pytest.mark.e2e

BADGE = "E1004"  # the phone's staff badge
COUNTER = "BJ-RM-02"  # a fresh tablet is enrolled there
SWITCHED_ON_JS = """name => [...document.querySelectorAll('flt-semantics[role=switch]')]
  .some(e => e.getAttribute('aria-checked') === 'true'
             && (e.getAttribute('aria-label') || '').includes(name))"""


def large_switch(page, lang: str):  # type: ignore[no-untyped-def]
    return page.get_by_role("switch", name=t(lang, "kiosk.large_text"), exact=True)


def switch_on(page, lang: str) -> None:  # type: ignore[no-untyped-def]
    """Tap the large-text switch until it says it is on. A tap can be lost while Flutter replaces the
    switch's element (the screen settling after a language change); tap again only while it still
    says off, so a late first tap is never undone by a second."""
    switch = large_switch(page, lang)
    name = t(lang, "kiosk.large_text")
    for attempt in range(3):
        if switch.get_attribute("aria-checked") != "true":
            switch.click()
        try:
            page.wait_for_function(SWITCHED_ON_JS, arg=name, timeout=5_000 if attempt < 2 else 30_000)
            return
        except PlaywrightTimeout:
            if attempt == 2:
                raise


def check_and_shoot(page, name: str) -> list[str]:  # type: ignore[no-untyped-def]
    page.mouse.move(0, 0)
    problems = [f"{name}: sticks out of the viewport: {item}" for item in page.evaluate(OVERFLOW_JS)]
    path = screenshot(page, name)
    for _ in range(3):
        if painted(path):
            break
        page.wait_for_timeout(1_000)
        path = screenshot(page, name)
    if rows := ink_at_right_edge(path):
        problems.append(f"{name}: text cut off at the right edge (rows {rows[0]}..{rows[-1]})")
    return problems


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
@pytest.mark.parametrize("size", ["phone", "tablet"])
def test_large_text_welcome_reasons_and_complaint(server, browser, size, lang):
    with server.db.read() as s:
        person = s.exec(select(Staff).where(Staff.employee_no == BADGE)).one()
    if size == "phone":
        page = open_page(browser, f"{server.url}/s/{person.qr_token}", "phone")
    else:
        page = enrol_tablet(browser, server, COUNTER, "tablet").page
    problems: list[str] = []
    try:
        button(page, t("zh-CN", "kiosk.score.1")).wait_for()
        if lang == "en":
            button(page, t("zh-CN", "lang.switch")).click()
        assert large_switch(page, lang).get_attribute("aria-checked") == "false"
        switch_on(page, lang)
        for score in (5, 4, 3, 2, 1):
            button(page, t(lang, f"kiosk.score.{score}")).wait_for()
        problems += check_and_shoot(page, f"kiosk-large-welcome-{size}-{lang}")

        tap_face(page, t(lang, "kiosk.score.1"), t(lang, "details.title.low"), server)
        button(page, t(lang, "details.submit")).wait_for()
        problems += check_and_shoot(page, f"kiosk-large-reasons-{size}-{lang}")

        button(page, t(lang, "details.complain")).click()
        page.get_by_text(t(lang, "complaint.title")).first.wait_for()
        problems += check_and_shoot(page, f"kiosk-large-complaint-{size}-{lang}")

        if size == "phone":  # the same phone comes back later: still large text
            again = page.context.new_page()
            again.set_default_timeout(30_000)
            again.goto(f"{server.url}/s/{person.qr_token}")

            enable_semantics(again)
            switch = large_switch(again, "zh-CN")  # a new visit starts in the default language
            switch.wait_for()
            assert switch.get_attribute("aria-checked") == "true"
    except Exception:
        screenshot(page, f"failed-large-{size}-{lang}")
        raise
    finally:
        page.context.close()
    assert not problems, "\n".join(problems)
