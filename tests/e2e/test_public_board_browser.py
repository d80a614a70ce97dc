"""Issue 18, Done-when 3: the public results board (/board/<branch code>) in a real browser, on the
hall's big screen (1920×1080) and on a phone (390×844), in Chinese and English. The figures are read
from the accessibility tree and checked against the database (the month's indicators of the branch,
models/indicators.py); a comment and a contact stored with a 差评 are nowhere on the page, and a member
of staff on duty who has not agreed to be named in public is not named, while one who has is. The
month's 差评 by evaluation indicator and the figures per 事项 (a service with three transactions this
month, one rated) are read from the page too, and neither a transaction's number nor its receipt code
is on it."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from sqlmodel import select

from kiosk.board import bad_by_indicator
from models.cases import RatingCase
from models.clock import utcnow
from models.duty import on_duty
from models.indicators import Indicators, indicators, total
from models.org import Branch, Counter
from models.participation import per_service
from models.rating import Channel, Rating
from models.sanction import set_public_name_consent
from models.scores import local_month
from models.services import ServiceItem, ServiceTransaction
from rapport.core.i18n import t
from tests.e2e.conftest import ax_names, button, enable_semantics
from tests.e2e.conftest import screenshot as take_screenshot

BRANCH = "BJ-RM"
# The hall's big screen; a smaller one (1366×768), where the 事项 and counters take turns in pages; a phone.
VIEWPORTS = {"hall": (1920, 1080), "hall-1366": (1366, 768), "phone": (390, 844)}
PAGE_SECONDS = 12  # kiosk/screens/board.py: how long a page of the hall's screen stays
COMMENT = "BOARD-SECRET 排队时工作人员态度恶劣"
CONTACT = "13987654321"
SERVICE, TX_NUMBER, RECEIPT = "E2E-S1", "BJ-E2E-TX-", "ZXCVBNM"
RATES = ("good_rate", "bad_rate", "rectify_rate", "callback_rate")
PARTS = {
    "good_rate": ("good", "rated"),
    "bad_rate": ("bad", "rated"),
    "rectify_rate": ("rectified", "bad"),
    "callback_rate": ("reached", "with_contact"),
}


def expected_sentences(locale: str, figures: Indicators) -> list[str]:
    """What the board must say of ``figures``, worked out here from the database's counts."""
    out = [t(locale, "board.spoken.rated", n=figures.rated)]
    for name in RATES:
        part, whole = (getattr(figures, p) for p in PARTS[name])
        label = t(locale, f"board.{name}")
        if not whole:
            out.append(t(locale, "board.spoken.none", label=label))
        else:
            value = f"{part / whole * 100:.1f}%"
            out.append(t(locale, "board.spoken.rate", label=label, value=value, part=part, whole=whole))
    return out


@pytest.fixture(scope="module")
def world(server):
    """A 差评 with a comment and a contact at counter 01, and consent withdrawn by whoever is on duty at
    counter 02; returns the names the page may and may not show, and the expected figures."""
    now = utcnow()
    with server.db.write() as s:
        branch = s.exec(select(Branch).where(Branch.code == BRANCH)).one()
        counters = s.exec(select(Counter).where(Counter.branch_id == branch.id).order_by(Counter.code)).all()
        on = {c.code: on_duty(s, counter_id=c.id, at=now) for c in counters}  # type: ignore[arg-type]
        named, hidden = on[f"{BRANCH}-01"], on[f"{BRANCH}-02"]
        assert named is not None and hidden is not None and named.public_name_consent_at is not None
        set_public_name_consent(s, staff_id=hidden.id, consent=False, now=now)  # type: ignore[arg-type]
        rating = Rating(
            idempotency_key=f"e2e-board-{uuid.uuid4()}", request_hash="x", staff_id=named.id,
            counter_id=counters[0].id, branch_id=branch.id, channel=Channel.kiosk, score=1,
            created_at=now - timedelta(minutes=30), comment=COMMENT, reasons=["2.2.1", "2.2.3"],
        )  # fmt: skip
        s.add(rating)
        s.flush()
        s.add(
            RatingCase(
                rating_id=rating.id, branch_id=branch.id, counter_id=rating.counter_id, staff_id=named.id,
                channel="kiosk", score=1, opened_at=rating.created_at, contact=CONTACT, contact_kind="phone",
                consent_at=rating.created_at,
            )
        )  # fmt: skip
        # A 事项 with three transactions finished this morning at counter 01, the first rated 5.
        item = ServiceItem(code=SERVICE, name_zh="不动产登记", name_en="Property registration")
        s.add(item)
        s.flush()
        for i in range(3):
            tx = ServiceTransaction(
                number=f"{TX_NUMBER}{i}", idempotency_key=f"e2e-board-tx-{i}", request_hash="x",
                service_item_id=item.id, branch_id=branch.id, counter_id=counters[0].id, staff_id=named.id,
                finished_at=now - timedelta(hours=1), invitation_code=f"{RECEIPT}{i + 2}",
            )  # fmt: skip
            s.add(tx)
            s.flush()
            if i == 0:
                rated = Rating(
                    idempotency_key=f"e2e-board-tx-{uuid.uuid4()}", request_hash="x", staff_id=named.id,
                    counter_id=counters[0].id, branch_id=branch.id, channel=Channel.kiosk, score=5,
                    created_at=now - timedelta(minutes=50), transaction_id=tx.id,
                )  # fmt: skip
                s.add(rated)
                s.flush()
                tx.rating_id, tx.rated_at = rated.id, rated.created_at
        s.commit()
        names = (named.display_name, hidden.display_name, hidden.employee_no, named.employee_no)
    with server.db.read() as s:
        assert branch.id is not None
        month = local_month(utcnow(), branch.timezone)
        per_counter = indicators(s, branch_id=branch.id, month=month, level="counter")
        bad = bad_by_indicator(s, branch_id=branch.id, month=month, timezone=branch.timezone)
        [service] = [
            line for line in per_service(s, branch_id=branch.id, month=month) if line.code == SERVICE
        ]
    by_counter = {c.code: per_counter.get(c.id, Indicators()) for c in counters}
    return {
        "named": names[0], "hidden": names[1], "numbers": names[2:], "branch": total(per_counter),
        "counters": by_counter, "counter_names": {c.code: (c.name_zh, c.name_en) for c in counters},
        "bad": bad, "service": service.figures,
    }  # fmt: skip


def indicator_sentences(locale: str, bad) -> list[str]:  # type: ignore[no-untyped-def]
    """What the board must say of the month's 差评 by indicator."""
    out = [t(locale, "board.indicators.total", bad=bad.bad, without=bad.without_reason)]
    for row in bad.indicators:
        out.append(t(locale, "board.spoken.indicator", indicator=row.name(locale), n=row.bad))
    return out


def service_sentences(locale: str, f) -> list[str]:  # type: ignore[no-untyped-def]
    """What the board must say of the 事项's figures (models/participation.py), worked out here."""
    out = [
        t(locale, "board.spoken.count", label=t(locale, f"board.service.{name}"), n=n)
        for name, n in (("transactions", f.transactions), ("rated", f.rated), ("defaulted", f.defaulted))
    ]
    for name, part, whole in (
        ("good_rate", f.good, f.ratings),
        ("participation_rate", f.rated, f.transactions),
    ):
        value = f"{part / whole * 100:.1f}%"
        out.append(
            t(
                locale,
                "board.spoken.rate",
                label=t(locale, f"board.{name}"),
                value=value,
                part=part,
                whole=whole,
            )
        )
    return out


def screenshot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """A screenshot of the page as drawn: now and then the first frame of a fresh tab is not painted
    yet when the words are already in the semantics tree (an all-white image of a few KB); try again."""
    for _ in range(10):
        if take_screenshot(page, name).stat().st_size > 10_000:
            return
        page.wait_for_timeout(1000)
    raise AssertionError(f"{name}: the page was never drawn")


def open_board(browser, server, viewport: str, query: str = ""):  # type: ignore[no-untyped-def]
    width, height = VIEWPORTS[viewport]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{server.url}/board/{BRANCH}{query}")
    enable_semantics(page)
    return page


def said(page) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(name for _role, name in ax_names(page))


IN_WINDOW_JS = """() => {
  const [w, h] = [window.innerWidth, window.innerHeight];
  return [...document.querySelectorAll('flt-semantics')]
    .filter(e => !e.querySelector('flt-semantics'))
    .map(e => [(e.getAttribute('aria-label') || e.textContent || '').split(/\\s+/).join(' ').trim(),
               e.getBoundingClientRect()])
    .filter(([n, r]) => n && r.width > 0 && r.height > 0
            && r.top >= -1 && r.left >= -1 && r.bottom <= h + 1 && r.right <= w + 1)
    .map(([n, r]) => [n, (r.top + r.bottom) / 2]);
}"""
Shown = list[tuple[str, float]]  # what is wholly inside the window: (accessible name, its middle's height)


def in_window(page) -> Shown:  # type: ignore[no-untyped-def]
    """What a screen reader can reach that is wholly inside the window as it is, without scrolling."""
    return [(name, y) for name, y in page.evaluate(IN_WINDOW_JS)]


def in_a_row(shown: Shown, title: str, sentences: list[str]) -> bool:
    """A row titled ``title`` (or "title，staff") with each of ``sentences`` beside it, all in the window."""
    rows = [
        y
        for name, y in shown
        if name == title or name.startswith(f"{title}，") or name.startswith(f"{title},")
    ]
    return any(all(any(n == s and abs(y - row) < 20 for n, y in shown) for s in sentences) for row in rows)


def watch_pages(page, done, name: str) -> list[Shown]:  # type: ignore[no-untyped-def]
    """Watch the hall's screen without touching it: what is inside the window, page after page (the
    pages turn by themselves every PAGE_SECONDS), until ``done(pages)`` or a page comes round again.
    Nothing scrolls. A screenshot of each page after the first."""
    assert page.evaluate("document.scrollingElement.scrollHeight") <= page.viewport_size["height"]
    pages: list[Shown] = []
    while True:
        now = in_window(page)
        if now in pages:
            return pages
        pages.append(now)
        if len(pages) > 1:
            screenshot(page, f"{name}-page{len(pages)}")
        if done(pages) or len(pages) > 6:
            return pages
        deadline = time.monotonic() + PAGE_SECONDS + 10
        while in_window(page) == now and time.monotonic() < deadline:
            page.wait_for_timeout(500)
        page.wait_for_timeout(500)  # the whole new page drawn


def scroll_to_end(page) -> None:  # type: ignore[no-untyped-def]
    size = page.viewport_size or {"width": 390, "height": 844}
    page.mouse.move(size["width"] / 2, size["height"] / 2)
    page.mouse.wheel(0, 100_000)
    page.wait_for_timeout(600)


def counter_rows(locale: str, world) -> list[tuple[str, list[str]]]:  # type: ignore[no-untyped-def]
    index = 0 if locale == "zh-CN" else 1
    return [
        (world["counter_names"][code][index], expected_sentences(locale, figures))
        for code, figures in world["counters"].items()
    ]


@pytest.mark.parametrize(
    ("viewport", "locale"),
    [("hall", "zh-CN"), ("hall", "en"), ("hall-1366", "zh-CN"), ("phone", "zh-CN"), ("phone", "en")],
)
def test_the_board_in_a_browser(server, browser, world, viewport, locale):
    # English: the hall's screen through the language button, the phone through ?lang=en.
    by_address = locale == "en" and viewport == "phone"
    page = open_board(browser, server, viewport, "?lang=en" if by_address else "")
    name = f"public-board-{viewport}-{locale}"
    try:
        page.get_by_text("人民路支行" if by_address is False else "Renmin Road Branch").first.wait_for()
        if locale == "en" and not by_address:
            button(page, t("zh-CN", "lang.switch")).click()
            page.get_by_text("Renmin Road Branch").first.wait_for()
        page.get_by_text(t(locale, "board.good_rate")).first.wait_for()
        assert page.evaluate("document.documentElement.lang") == ("zh-CN" if locale == "zh-CN" else "en-US")
        screenshot(page, name)
        top = said(page)
        for sentence in expected_sentences(locale, world["branch"]):
            assert sentence in top, f"{sentence!r} not in the accessibility tree:\n{top}"
        assert world["bad"].bad >= 1 and world["service"].transactions == 3 and world["service"].rated == 1
        service = "不动产登记" if locale == "zh-CN" else "Property registration"
        rows = [(service, service_sentences(locale, world["service"])), *counter_rows(locale, world)]
        if viewport.startswith("hall"):
            # Nobody scrolls the hall's screen: every section's figures are inside the window, at once
            # or page after page, each counter's and the 事项's beside their names.
            first = [n for n, _y in in_window(page)]
            for sentence in expected_sentences(locale, world["branch"]) + indicator_sentences(
                locale, world["bad"]
            ):
                assert sentence in first, f"{sentence!r} is not inside the window"

            def done(pages: list[Shown]) -> bool:
                return all(any(in_a_row(p, title, sentences) for p in pages) for title, sentences in rows)

            pages = watch_pages(page, done, name)
            missing = [title for title, s in rows if not any(in_a_row(p, title, s) for p in pages)]
            assert not missing, f"never inside the window with its figures: {missing}"
            if viewport == "hall":  # a branch like the demo's fits the big screen: no pages
                assert len(pages) == 1 and t(locale, "board.paging.next") not in top
            else:
                assert len(pages) > 1 and t(locale, "board.paging.next") in top
                page_words = t(
                    locale, "board.page.spoken", section=t(locale, "board.services"), page=2, pages=2
                )
                assert any(page_words == n for p in pages for n, _y in p), "no page indicator said"
            whole = "\n".join([top, said(page)] + [n for p in pages for n, _y in p])
        else:
            scroll_to_end(page)  # a phone scrolls, as any page does
            screenshot(page, f"{name}-end")
            whole = top + "\n" + said(page)
        for sentence in indicator_sentences(locale, world["bad"]) + service_sentences(
            locale, world["service"]
        ):
            assert sentence in whole, f"{sentence!r} not in the accessibility tree:\n{whole}"
        assert service in whole
        for counter, sentences in counter_rows(locale, world):
            assert counter in whole, f"{counter} not on the board"
            for sentence in sentences:
                assert sentence in whole, f"{counter}: {sentence!r} not in the accessibility tree"
        assert world["named"] in whole, "the staff member who agreed to be named is not named"
        assert world["hidden"] not in whole, "a staff member without consent is named"
        receipts = (TX_NUMBER, RECEIPT)  # a transaction's number, a receipt's code
        for secret in (COMMENT, "BOARD-SECRET", CONTACT, "139****4321", *world["numbers"], *receipts):
            assert secret not in whole, f"{secret!r} is on the public board"
        body = page.content()
        for secret in (COMMENT, CONTACT, world["hidden"]):
            assert secret not in body
    finally:
        page.context.close()


def test_an_unknown_branch_in_a_browser(server, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        page.goto(f"{server.url}/board/NO-SUCH")
        enable_semantics(page)
        page.get_by_text("没有这个网点").first.wait_for()
        page.get_by_text("No such branch").first.wait_for()
        screenshot(page, "public-board-unknown-phone")
    finally:
        context.close()
