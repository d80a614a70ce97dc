"""Browser tests: a real `rapport serve` process on a free port with demo data, driven by Debian's
Chromium through Playwright. Without Chromium these tests skip, unless RAPPORT_REQUIRE_BROWSER=1
(set by CI), where a missing browser is a failure.

The suite runs at one fixed time whatever the day it is run on: the demo, the server and this process
share a clock pinned to ``E2E_AT`` (``RAPPORT_CLOCK_AT`` for the two commands, ``models.clock.pin``
here), which then runs on at the real rate. ``RAPPORT_E2E_AT=<ISO time>`` runs the suite at another
instant (the README's development section lists the dates that break naive code), and
``RAPPORT_E2E_AT=system`` follows the system clock (under ``faketime``, say)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from models.clock import parse_instant, pin, utcnow
from rapport.core.db import Database
from tests.serving import clean_env, free_port, stop, wait_until_up

CHROMIUM = os.environ.get("RAPPORT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SIZES = {"phone": (390, 844), "tablet": (1280, 800), "portrait": (800, 1280)}
# An ordinary working Wednesday morning in Shanghai, in the middle of a month: the demo's three days
# of ratings all fall in this month, and last month holds only what a test puts there.
DEFAULT_E2E_AT = "2026-11-18T10:30:00+08:00"


@dataclass
class Server:
    url: str
    data_dir: Path
    db: Database
    log: Path


def e2e_instant() -> datetime | None:
    """When the browser suite runs: RAPPORT_E2E_AT, or the default; None for "system"."""
    value = os.environ.get("RAPPORT_E2E_AT", "").strip() or DEFAULT_E2E_AT
    return None if value == "system" else parse_instant(value)


@pytest.fixture(scope="package", autouse=True)
def pinned_clock() -> Iterator[datetime | None]:
    """This process's clock, pinned for the package (see the module docstring)."""
    at = e2e_instant()
    pin(at)
    yield at
    pin(None)


def _same_clock(env: dict[str, str], pinned: datetime | None) -> dict[str, str]:
    """``env`` for a command that must read the time this process reads (pinned at launch)."""
    return {**env, "RAPPORT_CLOCK_AT": utcnow().isoformat()} if pinned is not None else env


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory, pinned_clock: datetime | None) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("e2e-data")
    port = free_port()
    env = clean_env(RAPPORT_DATA_DIR=str(data_dir), RAPPORT_PORT=str(port), RAPPORT_LOCALE="zh-CN")
    subprocess.run(
        [sys.executable, "-m", "rapport", "demo", "--days", "3"],
        env=_same_clock(env, pinned_clock),
        check=True,
        capture_output=True,
    )
    log = data_dir / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "rapport", "serve"],
            env=_same_clock(env, pinned_clock),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    wait_until_up(f"{url}/healthz", proc, log)
    db = Database.from_url(f"sqlite:///{data_dir / 'rapport.db'}")
    yield Server(url=url, data_dir=data_dir, db=db, log=log)
    db.dispose()
    stop(proc)


@pytest.fixture(scope="package")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        if os.environ.get("RAPPORT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"Chromium not found at {CHROMIUM}; install Debian's chromium package")
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """When a browser test fails, its report also holds what every page still open showed (the text
    of its semantics tree, what a screen reader reads) and the end of the server's log, and a
    screenshot of each page goes to test-artifacts/failures: a failure seen once in CI can then be
    read, not guessed at."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    funcargs = getattr(item, "funcargs", {})
    if report.when != "call" or not report.failed or "browser" not in funcargs:
        return
    shown: list[str] = []
    for c, context in enumerate(funcargs["browser"].contexts):
        for n, page in enumerate(context.pages):
            try:
                text = page.inner_text("body", timeout=2_000)
                path = ARTIFACTS / "failures" / f"{item.name}-{c}-{n}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(path), timeout=5_000)
            except Exception as exc:  # a page gone or hung: say so and go on with the others
                text, path = f"(could not be read: {exc})", None
            shown.append(f"--- page {c}-{n} {page.url} (screenshot: {path})\n{text}")
    if shown:
        report.sections.append(("what the browser showed", "\n".join(shown)))
    server = funcargs.get("server")
    if isinstance(server, Server):
        report.sections.append(("the end of the server's log", log_tail(server, 60)))


def open_page(browser, url: str, size: str = "tablet"):  # type: ignore[no-untyped-def]
    """A fresh browser context (empty localStorage) at one of the three sizes, semantics on."""
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(url)
    enable_semantics(page)
    return page


def enable_semantics(page) -> None:  # type: ignore[no-untyped-def]
    # Flutter builds its accessibility tree only when asked; the placeholder turns it on.
    page.wait_for_selector("flt-semantics-placeholder", state="attached", timeout=30_000)
    page.evaluate("document.querySelector('flt-semantics-placeholder').click()")


def screenshot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    path = ARTIFACTS / "screenshots" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(400)  # let the last frame paint
    page.screenshot(path=str(path))
    return path


# -- helpers for the customer journeys and the screenshot tour ----------------------------------


@dataclass
class Tablet:
    """A browser page enrolled as a counter tablet through a one-time enrolment link."""

    page: Any  # a Playwright Page
    counter_code: str
    enrolment_code: str

    def device_id(self, server: Server) -> int:
        from sqlmodel import select

        from models.crypto import token_digest
        from models.devices import normalise_code
        from models.org import EnrolmentCode

        digest = token_digest(normalise_code(self.enrolment_code))
        with server.db.read() as s:
            entry = s.exec(select(EnrolmentCode).where(EnrolmentCode.code_digest == digest)).one()
        assert entry.device_id is not None, "the enrolment code was not spent"
        return entry.device_id


def issue_code(server: Server, counter_code: str) -> str:
    """A fresh one-time enrolment code for a demo counter (BJ-RM-01 ... BJ-BJ-03)."""
    from sqlmodel import select

    from models.devices import issue_enrolment_code
    from models.org import Counter

    with server.db.write() as s:
        counter = s.exec(select(Counter).where(Counter.code == counter_code)).one()
        assert counter.id is not None
        return issue_enrolment_code(s, counter_id=counter.id)


def enrol_tablet(browser, server: Server, counter_code: str, size: str = "tablet") -> Tablet:  # type: ignore[no-untyped-def]
    """A fresh browser context enrolled at ``counter_code``, waiting on its welcome screen."""
    code = issue_code(server, counter_code)
    page = open_page(browser, f"{server.url}/enrol/{code}", size)
    button(page, "非常不满意").wait_for()
    return Tablet(page=page, counter_code=counter_code, enrolment_code=code)


def button(page, name: str):  # type: ignore[no-untyped-def]
    """A button by its exact text ("满意" is also a substring of "非常满意" and "不满意")."""
    return page.get_by_role("button", name=name, exact=True)


def tap_face(page, face: str, then: str, server: Server | None = None) -> None:  # type: ignore[no-untyped-def]
    """Tap a rating face and wait for the screen it leads to (text ``then``). On a loaded machine a tap
    sent while Flutter is still settling the welcome screen can be dropped (seen once in CI: the
    reasons never came); tap again while the face is still there, as a customer would. A tap that
    did land leaves the welcome screen, and the kiosk ignores a second tap while it saves the first,
    so this can never store two ratings."""
    tap_until(page, face, then, server)


def tap_until(page, name: str, then: str, server: Server | None = None) -> None:  # type: ignore[no-untyped-def]
    """Tap the button ``name`` and wait for the text ``then``; if it has not come in 10 s and the
    button is still there, tap once more, as a person would. Only for taps a second time cannot
    double: a rating face (ignored while the first saves) or a complaint's submit (the filing
    carries the form's idempotency key, so a second tap returns the same complaint). CI once waited
    30 s for "我们已收到您的投诉" with no error in the server's log, the cause not found."""
    button(page, name).click()
    try:
        page.get_by_text(then).first.wait_for(timeout=10_000)
        return
    except Exception:
        pass
    if button(page, name).count():
        try:
            button(page, name).click(timeout=5_000)
        except Exception:
            pass  # the screen changed meanwhile: the first tap landed late
    try:
        page.get_by_text(then).first.wait_for(timeout=30_000)
    except Exception as exc:
        raise AssertionError(
            f"after tapping {name!r}, {then!r} never showed\n{log_tail(server) if server else ''}"
        ) from exc


def icon_button(page, tooltip: str):  # type: ignore[no-untyped-def]
    """An icon-only button. Flutter web puts the tooltip on a wrapper rather than naming the button
    itself, so fall back to the label when no button carries the name."""
    named = page.get_by_role("button", name=tooltip, exact=True)
    return named.or_(page.get_by_label(tooltip, exact=True)).first


# The focus must be on an editable element: while Flutter moves it into a field, the field's
# semantics node can hold it for a moment, and a ``fill`` then fails ("Element is not an <input>").
FOCUSED_FIELD_JS = """label => {
  const e = document.activeElement;
  return !!e && (e.tagName === 'INPUT' || e.tagName === 'TEXTAREA')
    && (e.getAttribute('aria-label') === label || e.classList.contains('flt-text-editing'));
}"""


def focus(page, label: str):  # type: ignore[no-untyped-def]
    """Click the text field labelled ``label``, wait until it has the keyboard focus and return the
    element that has it. Text sent before Flutter has moved the focus can be lost (a ``fill`` straight
    after another field's is), a screen rebuilt meanwhile drops the focus (click again then), and
    Flutter sometimes edits in a hidden input of its own rather than in the labelled one, so always
    type into the focused element."""
    for attempt in range(3):
        page.get_by_label(label, exact=True).click()
        try:
            page.wait_for_function(FOCUSED_FIELD_JS, arg=label, timeout=2_000 * (attempt + 1))
            return page.locator(":focus")
        except Exception:
            pass
    active = page.evaluate("document.activeElement?.outerHTML?.slice(0, 300)")
    raise AssertionError(f"{label!r} did not take the focus; the focus is on {active}")


def pick(page, name: str | re.Pattern[str]) -> None:  # type: ignore[no-untyped-def]
    """Tick a chip or check box (role checkbox, named by its text) and wait until it shows ticked:
    a complaint category redraws the whole form, which would swallow the next click or keys."""
    from playwright.sync_api import expect

    box = page.get_by_role("checkbox", name=name, **({"exact": True} if isinstance(name, str) else {}))
    box.click()
    expect(box).to_have_attribute("aria-checked", "true")


def type_into(page, label: str, text: str, *, counts: str | None = None) -> None:  # type: ignore[no-untyped-def]
    """A single-line text field. ``counts``: what the field's counter then says in the semantics tree
    (Flutter's own "还可输入 N 个字符"), proof that Flutter, not only the DOM, holds the text."""
    field = focus(page, label).element_handle()
    field.fill(text)
    _check_typed(page, label, field, text, counts)


def type_multiline(page, label: str, text: str, *, counts: str | None = None) -> None:  # type: ignore[no-untyped-def]
    """A multi-line text field: Flutter's textarea does not take ``fill``, so type key by key."""
    field = focus(page, label).element_handle()
    page.keyboard.type(text)
    _check_typed(page, label, field, text, counts)


def replace_multiline(page, label: str, text: str) -> None:  # type: ignore[no-untyped-def]
    """Replace everything a multi-line field holds with ``text`` (select all, then type)."""
    field = focus(page, label).element_handle()
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type(text)
    _check_typed(page, label, field, text)


def _check_typed(page, label: str, field, text: str, counts: str | None = None) -> None:  # type: ignore[no-untyped-def]
    """Flutter can drop the first keys sent while it is still attaching its editor to a field that
    has just taken the focus, and it may replace the editor element when the form redraws (an error
    message appearing): check what the field holds and, if needed, focus it again by its label,
    select all and type again.

    The DOM alone can be wrong both ways: an editor element holds text Flutter never read, or Flutter
    holds text its element no longer shows. Where the field has a counter, ``counts`` (its text once
    Flutter holds ``text``) is read from the semantics tree too: CI once filed a complaint without
    the contact the DOM showed typed."""
    # Read the element that has the focus now: when Flutter has swapped its editor element, the old
    # handle still holds the text although the field does not.
    holds = """([e, text, counts]) => {
      const a = document.activeElement;
      const f = a && (a.tagName === 'INPUT' || a.tagName === 'TEXTAREA') ? a : e;
      const typed = !!f && typeof f.value === 'string' && f.value.endsWith(text);
      return typed && (counts === null
        || [...document.querySelectorAll('flt-semantics')].some(s => s.textContent === counts));
    }"""
    try:
        page.wait_for_function(holds, arg=[field, text, counts], timeout=3_000)
        return
    except Exception:
        pass
    for attempt in range(3):  # refocus, select all and type again; Flutter settles within a try or two
        field = focus(page, label).element_handle()
        page.keyboard.press("ControlOrMeta+A")
        page.keyboard.type(text)
        try:
            page.wait_for_function(holds, arg=[field, text, counts], timeout=3_000)
            return
        except Exception as exc:
            if attempt == 2:
                said = f" (its counter never said {counts!r})" if counts else ""
                raise AssertionError(f"{label!r} does not hold {text!r}{said}") from exc


EMPTY_FIELDS = "请填写用户名和密码。"


def sign_in_admin(page, login: str, password: str, landed) -> None:  # type: ignore[no-untyped-def]
    """Fill in the admin sign-in form and tap 登录 until ``landed`` (a locator on the first screen
    after signing in) shows. Two races end in "fill in both" while both fields look filled: Flutter
    can drop a ``fill`` into an editor element it is replacing (the DOM element holds the text, the
    field does not), and the tap can reach the server before the field's last change. The form then
    keeps what it holds and says so; type both again and tap again, as a person would (either field
    can be the one dropped). Anything else (a wrong password, a screen that never comes) raises the
    timeout."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(3):
        type_into(page, "用户名或工号", login)
        type_into(page, "密码", password)
        button(page, "登录").click()
        try:
            landed.wait_for(timeout=15_000 if attempt == 2 else 6_000)
            return
        except PlaywrightTimeout:
            if attempt == 2 or not page.get_by_text(EMPTY_FIELDS, exact=True).is_visible():
                raise


def field_value(page, label: str) -> str:  # type: ignore[no-untyped-def]
    """What a text field holds. Flutter copies the text into the DOM element only while it has focus."""
    field = focus(page, label)
    page.wait_for_timeout(200)
    return str(field.input_value())


TRACKING_CODE = re.compile(r"\b[0-9A-Z]{5}-[0-9A-Z]{5}\b")


SELECTED_TEXT_JS = """field => {
  const active = document.activeElement;
  return field.value || (active && active.classList.contains('flt-text-editing') ? active.value : '') || null;
}"""


def selectable_texts(page) -> list[str]:  # type: ignore[no-untyped-def]
    """The texts of the selectable (``selectable=True``) texts on screen.

    Flutter web exposes selectable text as a read-only text field, not as text, and fills in its
    value only while it has focus (in the field itself or in Flutter's own hidden editing input):
    so focus each one in turn and read it."""
    fields = page.locator("flt-semantics textarea[disabled], flt-semantics input[disabled]")
    values = []
    for i in range(fields.count()):
        field = fields.nth(i)
        field.click(force=True)
        try:
            found = page.wait_for_function(SELECTED_TEXT_JS, arg=field.element_handle(), timeout=3_000)
            values.append(str(found.json_value()))
        except Exception:  # an empty selectable text stays empty
            values.append("")
    return values + spoken_texts(page)  # selectable texts given a label (rapport.ui.a11y.spoken)


def tracking_code_on_screen(page) -> str:  # type: ignore[no-untyped-def]
    """The XXXXX-XXXXX tracking code on the complaint-done screen: plain text if it is exposed as
    such, else the selectable text that holds it."""
    found = TRACKING_CODE.search(page.inner_text("body"))
    if found:
        return found.group()
    spelled = spoken_code(page.inner_text("body"))  # spelled out for a screen reader (issue 19)
    if spelled:
        return spelled
    codes = [v for v in selectable_texts(page) if TRACKING_CODE.fullmatch(v.strip())]
    assert len(codes) == 1, f"expected one tracking code on screen, found {codes}"
    return codes[0].strip()


def reveal(page, locator, *, wait: float = 30.0, from_end: bool = False) -> None:  # type: ignore[no-untyped-def]
    """Wait for a card in a long list that may lie outside the window. Flutter leaves rows well outside the
    viewport out of the semantics tree, and the list keeps its scroll offset across filter changes,
    so how far down a card is depends on what the tests before filed and scrolled: wheel to the top,
    then down through the list (and round again) until the card is there, for up to ``wait`` s.
    ``from_end``: start at the bottom and wheel up, for a card the list's order puts near its end."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    size = page.viewport_size or {"width": 1280, "height": 800}
    deadline = time.monotonic() + wait
    steps = 0
    way = -1 if from_end else 1  # the direction of the search: up from the end, or down from the top
    page.mouse.move(size["width"] / 2, size["height"] / 2)
    for _ in range(3 if from_end else 1):  # a lazy list learns its full length as it is wheeled
        page.mouse.wheel(0, -100_000 * way)
        page.wait_for_timeout(300)
    while time.monotonic() < deadline:
        try:
            # The semantics tree follows a scroll within a frame or two; a long wait per step only
            # shortens how far down the list the search reaches in ``wait`` s.
            locator.wait_for(timeout=1_500 if steps == 0 else 500)
            return
        except PlaywrightTimeout:
            pass
        page.mouse.move(size["width"] / 2, size["height"] / 2)
        steps += 1
        # Most of a screen at a time; after 50 steps back to where the search began, and again.
        page.mouse.wheel(0, -100_000 * way if steps % 50 == 0 else size["height"] * 0.6 * way)
        page.wait_for_timeout(200)
    locator.wait_for(timeout=1_000)


def log_tail(server: Server, lines: int = 40) -> str:
    """The end of the server's log, for an assertion message."""
    text = server.log.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:])


def into_view(page, locator) -> None:  # type: ignore[no-untyped-def]
    """Wheel down until ``locator`` sits inside the window, above the rules screen's bottom bar, for a
    screenshot of what a person sees there (being in the semantics tree is not being in view)."""
    size = page.viewport_size or {"width": 1280, "height": 800}
    for _ in range(60):
        box = locator.first.bounding_box() if locator.count() else None
        if box and box["y"] >= 150 and box["y"] + box["height"] <= size["height"] - 140:
            break
        page.mouse.move(size["width"] / 2, size["height"] * 0.6)
        page.mouse.wheel(0, -200 if box and box["y"] < 150 else 300)
        page.wait_for_timeout(200)
    page.mouse.move(0, 0)


def choose(page, label: str, option: str) -> None:  # type: ignore[no-untyped-def]
    """Open the dropdown named ``label`` and pick ``option`` from its menu. The dropdown's accessible
    node ("label: choice", admin/screens/common.py ``named_dropdown``) spans the whole row while
    the field is narrower, so click near its left edge, where the field is; the menu's entries are
    buttons named by their text."""
    field = page.get_by_role("button", name=re.compile(rf"^{re.escape(label)}(: |$)")).first
    reveal(page, field)
    into_view(page, field)
    item = button(page, option)
    for attempt in range(4):
        # A menu that is slow to open (a busy machine) would be shut again by a second click on the
        # field, so click only while no entry is shown, and wait longer each time.
        if item.count() == 0:
            box = field.bounding_box()
            assert box is not None, f"the dropdown {label!r} is not drawn"
            page.mouse.click(box["x"] + 60, box["y"] + box["height"] / 2)
        try:
            item.last.wait_for(timeout=3_000 * (attempt + 1))
            break
        except Exception:
            continue
    else:
        shown = [name for role, name in ax_names(page) if role == "button"]
        raise AssertionError(f"the dropdown {label!r} did not show {option!r}; buttons on screen: {shown!r}")
    item.last.click()
    page.get_by_role("button", name=f"{label}: {option}", exact=True).wait_for()


def type_at(page, label: str, text: str) -> None:  # type: ignore[no-untyped-def]
    """Type into a text field far down a long screen: bring it into view, click where it is drawn
    (its accessible name may carry its value, so it is found by the start of its label), select what
    it holds and type. It does not check the text arrived: the caller checks the outcome of the
    action that uses it, and types again if it did not (Flutter can drop keys sent while it attaches
    its editor)."""
    field = page.get_by_label(re.compile(rf"^{re.escape(label)}")).first
    reveal(page, field)
    into_view(page, field)
    box = field.bounding_box()
    assert box is not None, f"{label!r} is not drawn"
    page.mouse.click(box["x"] + min(60, box["width"] / 2), box["y"] + box["height"] / 2)
    page.wait_for_timeout(300)
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type(text)
    page.wait_for_timeout(300)


# -- reading the accessibility tree (issue 19) ----------------------------------------------------

# A tracking code as rapport.ui.a11y.spell_code says it: "跟踪码 3 4 7 9 A，C D E F 4".
_GROUP = r"((?:[0-9A-Z] ){4}[0-9A-Z])"
SPOKEN_CODE = re.compile(rf"(?:跟踪码|Tracking code) {_GROUP}(?:，|, ){_GROUP}")


def spoken_code(text: str) -> str | None:
    """The XXXXX-XXXXX code spelled out in ``text`` (an accessible name or the page's text), or None."""
    found = SPOKEN_CODE.search(text)
    return None if found is None else "-".join(g.replace(" ", "") for g in found.groups())


SPOKEN_TEXTS_JS = """() => Array.from(document.querySelectorAll('flt-semantics > span'))
  .map(e => e.textContent || '').filter(t => t.trim())"""


def spoken_texts(page) -> list[str]:  # type: ignore[no-untyped-def]
    """Every text node of Flutter's semantics tree, whole (a selectable text with a label is one)."""
    return [str(v) for v in page.evaluate(SPOKEN_TEXTS_JS)]


def aria_tree(page) -> str:  # type: ignore[no-untyped-def]
    """What a screen reader is given: Chromium's accessibility tree of the page as YAML (roles,
    names, text), built from Flutter's semantics nodes; never the canvas."""
    return str(page.locator("body").aria_snapshot())


def ax_names(page) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(role, accessible name) of every node of Chromium's accessibility tree, as a screen reader
    receives it (Chrome DevTools Protocol, Accessibility.getFullAXTree); ignored nodes left out."""
    cdp = page.context.new_cdp_session(page)
    try:
        nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    finally:
        cdp.detach()
    out = []
    for node in nodes:
        if node.get("ignored"):
            continue
        role = str(node.get("role", {}).get("value", ""))
        name = " ".join(str(node.get("name", {}).get("value", "")).split())
        if name:
            out.append((role, name))
    return out


# -- the admin app on a phone (issue 19) ---------------------------------------------------------

TOO_WIDE_JS = """() => {
  const right = window.innerWidth;
  const name = e => (e.getAttribute('aria-label') || e.textContent || e.id || '').trim().slice(0, 60);
  const wide = [...document.querySelectorAll('flt-semantics')]
    .map(e => [e, e.getBoundingClientRect()])
    .filter(([e, r]) => r.width > 0 && r.height > 0 && (r.right > right + 1 || r.left < -1))
    .map(([e, r]) => `${name(e)} [${Math.round(r.left)}..${Math.round(r.right)}]`);
  return {scroll: document.documentElement.scrollWidth, inner: right, wide: wide};
}"""


def assert_fits_width(page, where: str) -> None:  # type: ignore[no-untyped-def]
    """Nothing on screen is wider than the window: the document does not scroll sideways and no node
    of Flutter's semantics tree reaches past the window's left or right edge. The second is the check
    that counts, as Flutter draws on a canvas the size of the window whatever it holds; nodes above or
    below the window (a long list) are fine."""
    found = page.evaluate(TOO_WIDE_JS)
    assert found["scroll"] <= found["inner"], f"{where}: the page scrolls sideways ({found})"
    assert not found["wide"], f"{where}: wider than the {found['inner']} px window: {found['wide']}"


def open_section(page, name: str, more: str = "更多") -> None:  # type: ignore[no-untyped-def]
    """Open an admin section by its name at any width: its tab, or on a phone its entry in the bottom
    bar, or More (``more``, in the screen's language) and then its entry in the sheet."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    entry = button(page, name)
    if not entry.count():
        button(page, more).click()
        entry.first.wait_for()
    # A click can wait out its whole time on a node that a rebuild took away (the bar redraws as a
    # sheet over it closes; CI once waited 30 s on one): tried again on the node found anew. Choosing
    # the section that is open already changes nothing, so a click that did land is not undone.
    for attempt in range(3):
        try:
            entry.first.click(timeout=10_000)
            return
        except PlaywrightTimeout:
            if attempt == 2:
                raise
