"""Issue 19, Done-when 2: what a blind customer needs after a complaint — the tracking code, the
promised reply time and the status — is in the accessibility tree Chromium builds from Flutter's
semantics, in the screen's language, and it is what the database holds.

Everything here is read from the accessibility tree alone (Chrome's full AX tree through the
DevTools protocol, the tree a screen reader is given): no screenshot, no canvas."""

from __future__ import annotations

import pytest
from sqlmodel import select

from models.codes import tracking_digest
from models.complaint import Complaint
from models.org import Branch
from rapport.core.i18n import fmt_due, t
from tests.e2e.conftest import (
    ax_names,
    button,
    enrol_tablet,
    log_tail,
    open_page,
    spoken_code,
    tap_face,
    type_multiline,
)

pytestmark = pytest.mark.e2e

LANG = {"zh-CN": "zh-CN", "en": "en-US"}  # the document's lang, which picks the screen reader's voice
COUNTERS = {"zh-CN": "BJ-BJ-01", "en": "BJ-BJ-02"}


def switch_to(page, locale: str) -> None:  # type: ignore[no-untyped-def]
    """The screens open in Chinese (the server's default); English through the language button."""
    if locale != "zh-CN":
        button(page, t("zh-CN", "lang.switch")).click()
        button(page, t(locale, "lang.switch")).wait_for()


def spoken(page) -> str:  # type: ignore[no-untyped-def]
    """Every accessible name on the page, one per line."""
    return "\n".join(name for _role, name in ax_names(page))


def file_complaint(server, browser, locale: str) -> str:  # type: ignore[no-untyped-def]
    """File a complaint as a customer at a counter, in ``locale``; the page is left on the screen
    that follows, whose accessibility tree is returned."""
    tablet = enrol_tablet(browser, server, COUNTERS[locale], "phone")
    page = tablet.page
    switch_to(page, locale)
    tap_face(page, t(locale, "kiosk.score.2"), t(locale, "details.title.low"), server)
    button(page, t(locale, "details.complain")).click()
    page.get_by_text(t(locale, "complaint.category")).first.wait_for()
    reason = page.get_by_role("checkbox").first  # the first reason offered is the category
    reason.click()
    from playwright.sync_api import expect

    expect(reason).to_have_attribute("aria-checked", "true")
    form = spoken(page)
    # Flutter's own announcement of a length-limited field speaks the screen's language.
    remaining = "还可输入" if locale == "zh-CN" else "characters remaining"
    assert remaining in form, form
    if locale == "zh-CN":
        assert "characters remaining" not in form, form
    type_multiline(page, t(locale, "complaint.description"), "Waited an hour. 等了一个小时。")
    button(page, t(locale, "complaint.submit")).click()
    page.get_by_text(t(locale, "complaint.done.title")).wait_for()
    assert page.evaluate("document.documentElement.lang") == LANG[locale]
    tree = spoken(page)
    page.context.close()
    return tree


def complaint_of(server, code: str) -> tuple[Complaint, str]:  # type: ignore[no-untyped-def]
    with server.db.read() as s:
        complaint = s.exec(select(Complaint).where(Complaint.code_digest == tracking_digest(code))).first()
        assert complaint is not None, f"no complaint has the code the tree gave ({code})\n{log_tail(server)}"
        branch = s.get(Branch, complaint.branch_id)
        assert branch is not None
        return complaint, branch.timezone


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_code_promise_and_status_from_the_accessibility_tree(server, browser, locale):
    tree = file_complaint(server, browser, locale)

    # The code, spelled out character by character in its two groups, in the screen's language.
    code = spoken_code(tree)
    assert code is not None, f"no spelled-out tracking code in the accessibility tree:\n{tree}"
    assert t(locale, "a11y.code", code="") in tree
    complaint, tz = complaint_of(server, code)
    assert complaint.locale == locale
    # The promise and the date it falls due, as the database holds them.
    due = fmt_due(locale, complaint.due_at, tz)
    promise = t(locale, f"promise.{complaint.promise_unit}", amount=complaint.promise_amount)
    apology = t(locale, "complaint.done.apology", promise=promise, due=due)
    assert " ".join(apology.split()) in tree, f"{apology!r} not in the tree:\n{tree}"

    # The status page, opened by the code as the QR code does, in the same language.
    page = open_page(browser, f"{server.url}/t/{code}", "phone")
    page.get_by_text(t("zh-CN", "status.title")).first.wait_for()
    switch_to(page, locale)
    current = t(locale, "status.current", status=t(locale, f"status.state.{complaint.status}"))
    page.get_by_text(current).first.wait_for()
    assert page.evaluate("document.documentElement.lang") == LANG[locale]
    status_tree = spoken(page)
    assert spoken_code(status_tree) == code, status_tree
    assert current in status_tree, status_tree
    due_line = t(locale, "status.due", promise=promise, due=due)
    assert " ".join(due_line.split()) in status_tree, f"{due_line!r} not in the tree:\n{status_tree}"
    assert t(locale, "status.event.received") in status_tree
    page.context.close()
