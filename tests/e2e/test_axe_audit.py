"""Issue 19, Done-when 1: axe-core (axe-playwright-python) audits every customer screen and the main
admin screens at phone (390×844) and tablet (1280×800) size, in zh-CN and en, with Flutter's
semantics tree turned on. A serious or critical violation fails the test unless its rule is in
``AXE_EXCEPTIONS`` — each one a limitation of Flutter's (or Flet's) web semantics that the app
cannot fix, explained there and in docs/ACCESSIBILITY.md ("axe exceptions"), which cites this table.

One server for the package (conftest), one browser context per flow, each screen audited in both
languages by its own language switch; the failures of every screen are collected and reported
together, so one run shows them all."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

import pytest
from sqlmodel import select

from models.org import Staff
from rapport.core.i18n import t
from tests.e2e.conftest import (
    button,
    enrol_tablet,
    icon_button,
    open_page,
    reveal,
    sign_in_admin,
    tap_face,
    tracking_code_on_screen,
    type_multiline,
)

pytestmark = pytest.mark.e2e

FAILING_IMPACTS = {"serious", "critical"}

# rule id -> why it cannot be fixed in this app. Keep this short; every entry is cited, with its rule
# id, in docs/ACCESSIBILITY.md. Moderate and minor findings (region, meta-viewport) never fail the
# test; the document lists them too.
AXE_EXCEPTIONS: dict[str, str] = {
    "aria-command-name": (
        "Flet 1.0.5 builds the eye button of a password field (TextField can_reveal_password) in Dart "
        "with neither tooltip nor semantics label, so Flutter web emits an unnamed role=button; the app "
        "cannot name a widget it does not build (only the admin sign-in form has one)"
    ),
}
# Where an exception may show up: a finding of an excepted rule on any other screen still fails.
EXCEPTION_SCREENS: dict[str, set[str]] = {"aria-command-name": {"admin sign-in"}}

ZH, EN = "zh-CN", "en"


@dataclass
class Audit:
    """The findings of one flow: every serious or critical violation not excepted, by screen."""

    size: str
    axe: object = field(default=None)
    failures: list[str] = field(default_factory=list)
    screens: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        from axe_playwright_python.sync_playwright import Axe

        self.axe = Axe()

    def run(self, page, screen: str, locale: str) -> None:  # type: ignore[no-untyped-def]
        page.wait_for_timeout(300)  # the last frame's semantics update
        results = self.axe.run(page).response  # type: ignore[attr-defined]
        self.screens.append(f"{screen} ({locale})")
        for v in results["violations"]:
            if v["impact"] not in FAILING_IMPACTS:
                continue
            if v["id"] in AXE_EXCEPTIONS and screen in EXCEPTION_SCREENS.get(v["id"], set()):
                continue
            nodes = "; ".join(re.sub(r'\s*style="[^"]*"', "", n["html"])[:160] for n in v["nodes"][:3])
            where = f"{screen} {self.size} {locale}"
            self.failures.append(f"{where}: {v['id']} ({v['impact']}) {v['help']}: {nodes}")

    def both_languages(  # type: ignore[no-untyped-def]
        self, page, screen: str, ready_zh: str, ready_en: str, *, ready_is_button: bool = False
    ) -> None:
        """Audit a screen in Chinese, switch it to English (its own language button), audit, and
        switch back. ``ready_*`` is a text (or a button's name) the screen shows once drawn in that
        language."""

        def ready(text: str):  # type: ignore[no-untyped-def]
            return button(page, text) if ready_is_button else page.get_by_text(text).first

        ready(ready_zh).wait_for()
        self.run(page, screen, ZH)
        button(page, t(ZH, "lang.switch")).click()
        ready(ready_en).wait_for()
        button(page, t(EN, "lang.switch")).wait_for()
        self.run(page, screen, EN)
        button(page, t(EN, "lang.switch")).click()
        ready(ready_zh).wait_for()

    def check(self) -> None:
        assert self.screens, "nothing was audited"
        assert not self.failures, "axe found serious or critical violations:\n" + "\n".join(self.failures)


def same(key: str, **values: object) -> tuple[str, str]:
    return t(ZH, key, **values), t(EN, key, **values)


@pytest.mark.parametrize("size", ["phone", "tablet"])
def test_customer_screens(server, browser, size):
    audit = Audit(size)
    # An unenrolled browser: the enrolment form.
    page = open_page(browser, server.url + "/", size)
    audit.both_languages(page, "enrol", *same("kiosk.enrol.title"))
    page.context.close()
    # A badge link that does not exist: the invalid-link screen.
    page = open_page(browser, server.url + "/s/NO-SUCH-BADGE", size)
    audit.both_languages(page, "invalid link", *same("phone.invalid.title"))
    page.context.close()
    # A person's badge on a phone: the faces.
    with server.db.read() as s:
        token = s.exec(select(Staff.qr_token).where(Staff.employee_no == "E1002")).one()
    page = open_page(browser, f"{server.url}/s/{token}", size)
    audit.both_languages(page, "faces (badge)", *same("kiosk.score.1"))
    page.context.close()

    # A counter tablet: welcome, staff sign-in, details, complaint form, complaint done.
    page = enrol_tablet(browser, server, "BJ-BJ-03" if size == "phone" else "BJ-RM-02", size).page
    audit.both_languages(page, "welcome", *same("kiosk.score.1"))
    icon_button(page, t(ZH, "staff.open")).click()
    audit.both_languages(page, "staff sign-in", *same("staff.title"))
    button(page, t(ZH, "staff.cancel")).click()
    tap_face(page, t(ZH, "kiosk.score.2"), t(ZH, "details.title.low"), server)
    audit.both_languages(page, "details (reasons)", *same("details.title.low"))
    button(page, t(ZH, "details.complain")).click()
    audit.both_languages(page, "complaint form", *same("complaint.category"))
    page.get_by_role("checkbox").first.click()
    type_multiline(page, t(ZH, "complaint.description"), "等了一个小时，没有人解释。")
    button(page, t(ZH, "complaint.submit")).click()
    audit.both_languages(page, "complaint done", *same("complaint.done.title"))
    code = tracking_code_on_screen(page)
    page.context.close()

    # The status pages: the lookup form and a complaint's page.
    page = open_page(browser, server.url + "/t", size)
    audit.both_languages(page, "status lookup", *same("status.lookup"))
    page.context.close()
    page = open_page(browser, f"{server.url}/t/{code}", size)
    audit.both_languages(page, "status page", *same("status.timeline"))
    page.context.close()
    audit.check()


def open_section(page, label: str) -> None:  # type: ignore[no-untyped-def]
    """A section of the admin app by its name: a tab (wide) or the bottom bar, else its More sheet."""
    entry = button(page, label)
    if not entry.count():
        button(page, t(ZH, "admin.nav.more")).click()
        entry.last.wait_for()
    entry.last.click()


def file_at_renmin(server) -> None:  # type: ignore[no-untyped-def]
    """A complaint at the supervisor's branch, so the queue has a card to open whatever ran before."""
    from models.complaint import file_complaint, parse_complaint
    from models.org import Counter
    from models.rating import Channel

    with server.db.write() as s:
        branch_id = s.exec(select(Counter.branch_id).where(Counter.code == "BJ-RM-01")).one()
        data = parse_complaint({"category": "2.2.3", "description": "等了一个小时。"})
        file_complaint(
            s, idempotency_key=f"axe-{uuid.uuid4()}", data=data, channel=Channel.kiosk, branch_id=branch_id
        )


@pytest.mark.parametrize("size", ["phone", "tablet"])
def test_admin_screens(server, browser, size):
    audit = Audit(size)
    file_at_renmin(server)
    page = open_page(browser, server.url + "/admin", size)
    audit.both_languages(page, "admin sign-in", *same("admin.sign_in.title"))
    sign_in_admin(page, "sup.renmin", "demo-sup.renmin", page.get_by_text("投诉队列", exact=True))
    audit.both_languages(page, "complaint queue", *same("admin.queue.title"))
    first_card = page.get_by_role("button", name=re.compile(r"^查看投诉 #")).first
    reveal(page, first_card)
    first_card.click()
    button(page, t(ZH, "admin.detail.back")).wait_for()
    audit.both_languages(page, "complaint detail", *same("admin.detail.back"), ready_is_button=True)
    button(page, t(ZH, "admin.detail.back")).click()
    # Back on the queue before the next section is asked for. The tabs now outlive a redraw (admin/app.py
    # ``_frame``, tests/ui/test_admin_redraw.py), but without this wait 1 of 17 runs still timed out
    # waiting for the dashboard, for a reason not yet found; this audit is about the screens, not that.
    page.get_by_text(t(ZH, "admin.queue.title"), exact=True).first.wait_for()
    open_section(page, t(ZH, "admin.dash.nav"))
    audit.both_languages(page, "dashboard", *same("admin.dash.title"))
    page.context.close()

    page = open_page(browser, server.url + "/admin", size)
    sign_in_admin(page, "e1001", "demo-staff", button(page, t(ZH, "me.nav")))
    audit.both_languages(page, "my page", *same("me.scores.fair"))
    page.context.close()
    audit.check()
