"""A screenshot of every customer screen at every size in both languages, for a person to look at:
test-artifacts/screenshots/<screen>-<size>-<lang>.png.

On each screen the tour checks that an expected text in that language is shown, that every tap
target it uses is at least 48 x 48 px, that nothing it checks (nor any other element of the
accessibility tree) sticks out of the viewport sideways, and that no text runs into the right edge
of the picture. Problems are collected, so one run gives every screenshot and the full list; the
pictures still need a person's eye (overlaps, ellipses, awkward wrapping).

Each size x language runs in one browser context; other pages open in new tabs of it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlmodel import select

from models.org import Staff
from rapport.core.i18n import t
from rapport.ui.a11y import spell_code
from tests.e2e.conftest import (
    SIZES,
    button,
    enable_semantics,
    icon_button,
    issue_code,
    open_page,
    pick,
    replace_multiline,
    screenshot,
    tracking_code_on_screen,
    type_into,
    type_multiline,
)

pytestmark = pytest.mark.e2e

TAP_MIN = 48
LANGS = ("zh-CN", "en")
# A fresh tablet is enrolled for every run, so the misuse interval never links two runs; the
# counters only vary the names on screen. Staff badges likewise.
COUNTERS = {"phone": "BJ-RM-01", "tablet": "BJ-RM-02", "portrait": "BJ-BJ-01"}
BADGES = {"phone": "E1002", "tablet": "E1005", "portrait": "E1009"}

# Elements of the accessibility tree wider than the viewport (JS, run in the page).
OVERFLOW_JS = """
() => [...document.querySelectorAll('flt-semantics')]
  .filter(e => (e.getAttribute('role') || e.getAttribute('aria-label') || e.children.length === 0))
  .map(e => [e.getAttribute('aria-label') || (e.textContent || '').slice(0, 40), e.getBoundingClientRect()])
  .filter(([, r]) => r.width > 0 && (r.left < -1 || r.right > window.innerWidth + 1))
  .map(([name, r]) => `${name} [${Math.round(r.left)}..${Math.round(r.right)}]`)
"""


def ink_at_right_edge(path: Path) -> list[int]:
    """Rows where dark pixels (text) touch the last 4 px of the picture. Every screen keeps a margin
    there, so text in it is text cut off by the edge; Flutter clips such an element's accessibility
    box to the screen, so the box alone cannot tell."""
    image = Image.open(path).convert("L")
    width, height = image.size
    strip = image.crop((width - 4, 0, width, height)).tobytes()
    return sorted({i // 4 for i, value in enumerate(strip) if value < 110})


def painted(path: Path) -> bool:
    """Every customer screen starts with a white header bar. Under heavy load headless Chromium
    sometimes stops repainting Flutter's canvas (the accessibility tree still updates), and the
    picture keeps showing Flet's "Working..." start-up frame."""
    return Image.open(path).convert("RGB").getpixel((2, 2)) == (255, 255, 255)


class Tour:
    def __init__(self, page, size: str, lang: str):  # type: ignore[no-untyped-def]
        self.page = page
        self.size = size
        self.lang = lang
        self.width = SIZES[size][0]
        self.problems: list[str] = []
        self.screen = "start"

    def t(self, key: str, **values: object) -> str:
        return t(self.lang, key, **values)

    def problem(self, what: str) -> None:
        self.problems.append(f"{self.screen}-{self.size}-{self.lang}: {what}")

    # -- checks -------------------------------------------------------------------------------
    def reveal(self, locator):  # type: ignore[no-untyped-def]
        """The element's box once it is wholly on screen. Flutter clips the accessibility box of an
        element cut off by the bottom edge, so scroll it up with the mouse wheel first."""
        height = SIZES[self.size][1]
        for _ in range(6):
            box = locator.bounding_box()
            if box is None or box["y"] + box["height"] < height - 1:
                return box
            self.page.mouse.move(self.width / 2, height / 2)
            self.page.mouse.wheel(0, box["y"] - height * 0.4)
            self.page.mouse.move(1, 1)  # no hover highlight left in the screenshots
            self.page.wait_for_timeout(300)
        return locator.bounding_box()

    def inside(self, locator, what: str) -> None:  # type: ignore[no-untyped-def]
        box = self.reveal(locator)
        if box is None:
            self.problem(f"{what} has no box")
        elif box["x"] < -0.5 or box["x"] + box["width"] > self.width + 0.5:
            self.problem(f"{what} is outside the viewport: x {box['x']:.0f}..{box['x'] + box['width']:.0f}")

    def shows(self, text: str, *, exact: bool = True) -> None:
        locator = self.page.get_by_text(text, exact=exact).first
        locator.wait_for()
        self.inside(locator, f"text {text!r}")

    def target(self, locator, what: str):  # type: ignore[no-untyped-def]
        locator.wait_for()
        box = self.reveal(locator)
        if box and (box["width"] < TAP_MIN or box["height"] < TAP_MIN):
            self.problem(f"tap target {what} is {box['width']:.0f} x {box['height']:.0f} px")
        self.inside(locator, f"tap target {what}")
        return locator

    def tap(self, locator, what: str) -> None:  # type: ignore[no-untyped-def]
        self.target(locator, what).click()

    def button(self, key: str, **values: object):  # type: ignore[no-untyped-def]
        return self.target(button(self.page, self.t(key, **values)), self.t(key, **values))

    def shot(self, screen: str) -> None:
        self.screen = screen
        self.page.mouse.move(0, 0)  # no hover highlight in the picture
        for item in self.page.evaluate(OVERFLOW_JS):
            self.problem(f"sticks out of the viewport: {item}")
        path = screenshot(self.page, f"{screen}-{self.size}-{self.lang}")
        for attempt in range(5):  # every screen has a white header; without it the canvas is not painted yet
            if painted(path):
                break
            if attempt >= 2:
                # Seen once in CI: a whole phone context whose canvas never painted although every
                # step of the walk worked through the semantics tree. A resize makes Flutter lay
                # out and paint again, as turning a real phone would.
                size = self.page.viewport_size or {"width": 390, "height": 844}
                self.page.set_viewport_size({"width": size["width"], "height": size["height"] + 1})
                self.page.wait_for_timeout(300)
                self.page.set_viewport_size(size)
            self.page.wait_for_timeout(1_000)
            path = screenshot(self.page, f"{screen}-{self.size}-{self.lang}")
        else:
            self.problem("the picture shows no screen: the browser did not paint the canvas")
        rows = ink_at_right_edge(path)
        if rows:
            self.problem(f"something is cut off at the right edge of the screen (rows {rows[0]}..{rows[-1]})")

    # -- moves --------------------------------------------------------------------------------
    def language(self) -> None:
        """Switch to the tour's language if the screen is in the other one (it resets to Chinese)."""
        switch = button(self.page, t("zh-CN", "lang.switch"))  # "English", shown while in Chinese
        wanted = button(self.page, self.t("lang.switch"))
        if self.lang == "en" and switch.count():
            self.tap(switch, "language switch")
            try:
                wanted.wait_for(timeout=10_000)
            except PlaywrightTimeout:
                # Seen once in CI (the status lookup, just opened): the screen stayed in Chinese for
                # 30 s after the tap; the cause is not known (that screen is drawn once before the
                # tap, no redraw replaces its switch). A person taps again; so does the tour, only
                # while the switch still says "English".
                if not (switch.count() and not wanted.count()):
                    raise
                self.tap(switch, "language switch")
        self.target(wanted, "language switch")

    def goto(self, url: str) -> None:
        """Open ``url`` in a new tab of the same context (warm cache). Not in the same tab: Flet keeps
        its session id in sessionStorage and would resume the previous screen instead."""
        page = self.page.context.new_page()
        page.set_default_timeout(30_000)
        self.page.close()
        self.page = page
        page.goto(url)
        enable_semantics(page)
        either = button(page, self.t("lang.switch")).or_(button(page, t("zh-CN", "lang.switch")))
        either.first.wait_for()
        self.language()


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("size", list(SIZES))
def test_every_customer_screen(server, browser, size, lang):
    with server.db.read() as s:
        person = s.exec(select(Staff).where(Staff.employee_no == BADGES[size])).one()
    tour = Tour(open_page(browser, server.url + "/", size), size, lang)
    try:
        _walk(tour, server, person)
    except Exception:
        screenshot(tour.page, f"failed-{tour.screen}-{size}-{lang}")  # what the page showed instead
        raise
    finally:
        tour.page.context.close()
    assert not tour.problems, "\n".join(tour.problems)


def _walk(tour: Tour, server, person: Staff) -> None:  # type: ignore[no-untyped-def]
    page, T = tour.page, tour.t

    # An unenrolled tablet asks for its enrolment code.
    tour.screen = "enrol"
    page.get_by_text(t("zh-CN", "kiosk.enrol.title")).wait_for()
    tour.language()
    tour.shows(T("kiosk.enrol.title"))
    tour.inside(page.get_by_label(T("kiosk.enrol.code"), exact=True), "the code field")
    submit = tour.button("kiosk.enrol.submit")
    tour.shot("enrol")
    type_into(page, T("kiosk.enrol.code"), issue_code(server, COUNTERS[tour.size]))
    submit.click()

    tour.screen = "welcome"
    tour.shows(T("kiosk.question"))
    tour.shows(T("kiosk.served_by"))
    faces = {score: tour.button(f"kiosk.score.{score}") for score in (5, 4, 3, 2, 1)}
    tour.target(icon_button(page, T("staff.open")), "staff control")
    tour.shot("welcome")

    faces[1].click()
    tour.screen = "details"
    tour.shows(T("details.title.low"))
    tour.shot("details")  # before the checks below scroll a long screen
    chips = page.get_by_role("checkbox")
    for i in range(chips.count()):
        tour.target(chips.nth(i), f"reason chip {i + 1}")
    tour.button("details.submit")
    tour.button("details.skip")
    complain = tour.button("details.complain")

    complain.click()
    tour.screen = "complaint"
    tour.shows(T("complaint.title"), exact=False)
    tour.button("complaint.submit").click()  # nothing chosen: the form explains what is missing
    tour.shows(T("complaint.error.category"))
    first_category = page.get_by_role("checkbox").first  # the category chips come before the consent box
    tour.target(first_category, "first category chip")
    first_category_name = str(first_category.get_attribute("aria-label"))
    tour.shot("complaint")
    tour.screen = "complaint-lower"
    consent = page.get_by_role("checkbox", name=T("complaint.consent", days=30), exact=True)
    tour.target(consent, "consent box")
    tour.inside(page.get_by_label(T("complaint.description"), exact=True), "description field")
    tour.inside(page.get_by_label(T("complaint.contact"), exact=True), "contact field")
    tour.button("complaint.submit")
    tour.button("complaint.cancel")
    tour.shot("complaint-lower")  # the end of the form, scrolled into view where it is long

    pick(page, first_category_name)  # the form is redrawn: wait for it
    described = "Waited an hour." if tour.lang == "en" else "等了一个小时。"
    type_multiline(page, T("complaint.description"), described)
    tour.button("complaint.submit").click()
    done_title = page.get_by_text(T("complaint.done.title"), exact=True).first
    try:
        done_title.wait_for(timeout=10_000)
    except Exception:
        # The form said something was missing (Flutter dropped a key of the description, or redrew
        # the chips under the pick): type it again and send it once more, before the idle reset.
        screenshot(page, f"retry-complaint-{tour.size}-{tour.lang}")
        chip = page.get_by_role("checkbox", name=first_category_name, exact=True)
        if chip.get_attribute("aria-checked") != "true":
            pick(page, first_category_name)
        replace_multiline(page, T("complaint.description"), described)
        tour.button("complaint.submit").click()
    tour.screen = "complaint-done"
    tour.shows(T("complaint.done.title"))
    tour.shows(T("complaint.done.code"))
    tour.inside(page.get_by_role("img", name=T("complaint.done.qr")), "QR code")
    code = tracking_code_on_screen(page)
    done = tour.button("kiosk.thanks.done")
    tour.shot("complaint-done")

    done.click()  # back to a clean welcome screen, in Chinese again
    tour.screen = "staff"
    button(page, t("zh-CN", "kiosk.score.5")).wait_for()
    tour.language()
    tour.tap(icon_button(page, T("staff.open")), "staff control")
    tour.shows(T("staff.title"))
    tour.inside(page.get_by_label(T("staff.employee_no"), exact=True), "employee number field")
    tour.inside(page.get_by_label(T("staff.pin"), exact=True), "PIN field")
    tour.button("staff.sign_in")
    tour.button("staff.sign_out")
    cancel = tour.button("staff.cancel")
    tour.shot("staff")

    cancel.click()
    tour.screen = "thanks"
    button(page, t("zh-CN", "kiosk.score.5")).wait_for()
    tour.language()
    tour.button("kiosk.score.5").click()
    tour.button("details.skip").click()
    tour.shows(T("kiosk.thanks.title"))
    tour.button("kiosk.thanks.done")
    tour.shot("thanks")

    # A customer's phone, from the QR code on a staff badge.
    tour.screen = "phone-welcome"
    tour.goto(f"{server.url}/s/{person.qr_token}")
    page = tour.page
    tour.shows(person.display_name)
    tour.shows(T("kiosk.question"))
    for score in (5, 4, 3, 2, 1):
        tour.button(f"kiosk.score.{score}")
    tour.shot("phone-welcome")

    tour.screen = "invalid-link"
    tour.goto(f"{server.url}/s/no-such-badge")
    tour.shows(T("phone.invalid.title"))
    tour.shows(T("phone.invalid.body"))
    tour.shot("invalid-link")

    # Following the complaint filed above.
    tour.screen = "status-lookup"
    tour.goto(f"{server.url}/t")
    page = tour.page
    tour.shows(T("status.title"))
    search = tour.button("status.search")
    tour.inside(page.get_by_label(T("status.code"), exact=True), "tracking code field")
    tour.shot("status-lookup")
    type_into(page, T("status.code"), code)
    search.click()

    tour.screen = "status-view"
    tour.shows(T("status.current", status=T("status.state.new")))
    # The code as a screen reader hears it, spelled out in its caption; the code as written is only
    # seen (rapport.ui.a11y.seen_only), so it is not read twice and has no node to find.
    tour.shows(spell_code(tour.lang, code))
    tour.shows(T("status.timeline"))
    tour.shows(T("status.event.received"))
    tour.button("status.another")
    tour.shot("status-view")
