"""The public results board in the kiosk app (/board/<code>, kiosk/screens/board.py): an unknown
branch gets a page in both languages rather than a crash, the language button and ``?lang=en``
switch the words, and the figures are read again every REFRESH_SECONDS on the kiosk's lane until
the session ends."""

from __future__ import annotations

import dataclasses
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kiosk.app import KioskApp
from kiosk.screens import board as board_screen
from kiosk.screens.board import PAGE_SECONDS, REFRESH_SECONDS
from models.cases import RatingCase
from models.rating import Channel, Rating
from models.services import ServiceItem, ServiceTransaction

sys.path.insert(0, str(Path(__file__).resolve().parent))  # no __init__.py here
from harness import FletHarness  # noqa: E402

NOW = datetime(2026, 10, 20, 3, 0, tzinfo=UTC)
Open = Callable[..., Awaitable[FletHarness]]


def add_rating(db, world, score: int, *, session=None, **kw: Any) -> Rating:  # type: ignore[no-untyped-def]
    row = Rating(
        idempotency_key=f"ui-board-{uuid.uuid4()}", request_hash="x", staff_id=world.staff_id,
        counter_id=world.counter_id, branch_id=world.branch_id, channel=Channel.kiosk, score=score,
        created_at=NOW - timedelta(days=1), **kw,
    )  # fmt: skip
    if session is not None:
        session.add(row)
        session.flush()
        return row
    with db.write() as s:
        s.add(row)
        s.commit()
    return row


@pytest.fixture
async def open_board(ctx, world) -> AsyncIterator[Open]:
    pinned = dataclasses.replace(ctx, clock=lambda: NOW)
    opened: list[FletHarness] = []

    async def open_(route: str, *, width: float = 1920, height: float = 1080) -> FletHarness:
        async def main(page: Any) -> None:
            await KioskApp(page, pinned, sleep=h.clock.sleep).start()

        h = FletHarness(main, route=route, width=width, height=height)
        opened.append(h)
        await h.__aenter__()
        await h.wait_for(lambda: h.exists("board") or h.exists("board-unknown"))
        return h

    yield open_
    for h in reversed(opened):
        await h.close()


def value(h: FletHarness, key: str) -> str:
    return str(h.find(key).value)  # type: ignore[attr-defined]


async def test_an_unknown_branch_says_so_in_both_languages(open_board: Open):
    for route in ("/board/NOPE", "/board/", "/board/" + "X" * 300, "/board/NOPE?lang=en"):
        h = await open_board(route)
        assert h.exists("board-unknown") and not h.exists("board")
        assert h.has_text("没有这个网点") and h.has_text("No such branch"), route
        assert not h.errors


async def test_the_board_shows_the_figures_and_switches_language(open_board: Open, db, world):
    for score in (5, 4, 2):
        add_rating(db, world, score)
    h = await open_board("/board/A")
    assert h.has_text("甲支行") and h.has_text("好评率") and h.has_text("回访率")
    assert value(h, "board-rated") == "3"
    assert value(h, "board-good_rate") == "66.7%"
    assert value(h, "board-bad_rate") == "0.0%"  # no case was opened for the 2
    assert value(h, "board-rectify_rate") == "暂无"  # no 差评: nothing to divide by
    assert h.find("board-good_rate").semantics_label == "好评率：66.7%（2 / 3）"  # type: ignore[attr-defined]
    assert h.session.page.locale_configuration.current_locale.language_code == "zh"
    await h.click("lang")
    assert h.has_text("Branch A") and h.has_text("Good ratings") and not h.has_text("好评率")
    assert value(h, "board-rectify_rate") == "None yet"
    assert h.find("board-good_rate").semantics_label == "Good ratings: 66.7% (2 of 3)"  # type: ignore[attr-defined]
    assert h.session.page.locale_configuration.current_locale.language_code == "en"
    await h.click("lang")
    assert h.has_text("好评率")


async def test_bad_ratings_by_indicator_and_the_figures_per_service(open_board: Open, db, world):
    with db.write() as s:
        # Two 差评 (their cases opened): 态度不好 and 等太久了 (服务态度, 服务效率), and one with no reason.
        for score, reasons in ((1, ["2.2.1", "2.2.3"]), (2, [])):
            r = add_rating(db, world, score, session=s, reasons=reasons)
            s.add(
                RatingCase(
                    rating_id=r.id, branch_id=r.branch_id, counter_id=r.counter_id, staff_id=r.staff_id,
                    channel="kiosk", score=score, opened_at=r.created_at,
                )
            )  # fmt: skip
        item = ServiceItem(code="S-001", name_zh="不动产登记", name_en="Property registration")
        s.add(item)
        s.flush()
        for i in range(3):  # three transactions of 不动产登记 yesterday, one rated 5 by its customer
            tx = ServiceTransaction(
                number=f"N-{i}", idempotency_key=f"k-{i}", request_hash="x", service_item_id=item.id,
                branch_id=world.branch_id, counter_id=world.counter_id, finished_at=NOW - timedelta(days=1),
                invitation_code=f"ABCDEFG{i + 2}",
            )  # fmt: skip
            s.add(tx)
            s.flush()
            if i == 0:
                r = add_rating(db, world, 5, session=s, transaction_id=tx.id)
                tx.rating_id = r.id
        s.commit()
    h = await open_board("/board/A")
    assert h.has_text("本月差评按评价指标") and h.has_text("各事项") and h.has_text("不动产登记")
    indicators = ("overall", "efficiency", "competence", "attitude")
    assert [value(h, f"board-indicator-{k}") for k in indicators] == ["0", "1", "0", "1"]
    assert h.find("board-indicator-attitude").semantics_label == "服务态度：差评 1 件"  # type: ignore[attr-defined]
    assert value(h, "board-indicators-total") == "差评 2 件，其中未选原因 1 件"
    figures = ("transactions", "rated", "defaulted", "good_rate", "participation_rate")
    assert [value(h, f"board-service-S-001-{k}") for k in figures] == ["3", "1", "0", "100.0%", "33.3%"]
    said = h.find("board-service-S-001-participation_rate").semantics_label  # type: ignore[attr-defined]
    assert said == "参评率：33.3%（1 / 3）"
    await h.click("lang")
    assert h.has_text("Bad ratings by indicator") and h.has_text("Property registration")
    assert value(h, "board-indicators-total") == "2 bad ratings, 1 without a reason"
    assert h.find("board-indicator-efficiency").semantics_label == "Bad ratings about Efficiency: 1"  # type: ignore[attr-defined]
    said = h.find("board-service-S-001-participation_rate").semantics_label  # type: ignore[attr-defined]
    assert said == "Participation: 33.3% (1 of 3)"
    h = await open_board("/board/A", width=390, height=844)  # a phone: the same figures
    assert value(h, "board-indicator-attitude") == "1" and value(h, "board-service-S-001-transactions") == "3"
    assert not h.errors


async def test_lang_en_in_the_address_opens_in_english(open_board: Open, world):
    h = await open_board("/board/A?lang=en")
    assert h.has_text("Branch A") and h.has_text("Called back") and not h.has_text("回访率")
    h = await open_board("/board/A?lang=zh-CN")
    assert h.has_text("甲支行")


async def test_a_phone_sees_the_same_board(open_board: Open, db, world):
    add_rating(db, world, 5)
    h = await open_board("/board/A", width=390, height=844)
    assert value(h, "board-rated") == "1" and value(h, "board-A-01-rated") == "1"
    assert value(h, "board-A-02-rated") == "0"


async def test_the_board_refreshes_until_the_session_ends(open_board: Open, db, world, monkeypatch):
    reads: list[str] = []
    real = board_screen.read_board

    def counted(ctx: Any, code: str) -> Any:
        reads.append(code)
        return real(ctx, code)

    monkeypatch.setattr(board_screen, "read_board", counted)
    h = await open_board("/board/A")
    assert value(h, "board-rated") == "0" and reads == ["A"]
    add_rating(db, world, 5)
    await h.advance(REFRESH_SECONDS - 1)
    assert value(h, "board-rated") == "0"
    await h.advance(1)
    await h.wait_for(lambda: value(h, "board-rated") == "1")
    assert value(h, "board-good_rate") == "100.0%" and reads == ["A", "A"]
    await h.close()  # the session ends: the refresh is cancelled, no more reads
    await h.advance(REFRESH_SECONDS * 3)
    assert reads == ["A", "A"] and not h.errors


async def test_a_refresh_while_the_socket_closes_does_not_freeze_the_board(open_board: Open, db, world):
    """A hall's screen nobody touches: a refresh sent just as its socket closed used to end the
    refresh for good, leaving the hall on old figures until someone reloaded it."""
    h = await open_board("/board/A")
    add_rating(db, world, 5)
    with h.socket_closing():
        await h.advance(REFRESH_SECONDS)  # read and drawn on the server, not sent
        await h.wait_for(lambda: value(h, "board-rated") == "1")
    await h.reconnect()
    assert value(h, "board-rated") == "1"  # the screen that came back shows that refresh
    add_rating(db, world, 1)
    await h.advance(REFRESH_SECONDS)
    await h.wait_for(lambda: value(h, "board-rated") == "2")  # and the refresh goes on
    assert not h.errors


def add_services(db, world, n: int) -> list[str]:  # type: ignore[no-untyped-def]
    """``n`` 事项 with one transaction each finished yesterday at counter A-01; their codes."""
    codes = [f"S-{i:03d}" for i in range(n)]
    with db.write() as s:
        for i, code in enumerate(codes):
            item = ServiceItem(code=code, name_zh=f"事项{i:03d}", name_en=f"Service {i:03d}")
            s.add(item)
            s.flush()
            s.add(
                ServiceTransaction(
                    number=f"N-{code}", idempotency_key=f"k-{code}", request_hash="x",
                    service_item_id=item.id, branch_id=world.branch_id, counter_id=world.counter_id,
                    finished_at=NOW - timedelta(days=1), invitation_code=f"INV{i:03d}",
                )
            )  # fmt: skip
        s.commit()
    return codes


def shown_services(h: FletHarness, codes: list[str]) -> set[str]:
    return {code for code in codes if h.exists(f"board-service-{code}")}


async def test_the_hall_screen_pages_through_many_services_by_itself(open_board: Open, db, world):
    """At 1920×1080 nobody scrolls: the 事项 that do not fit are shown a page at a time, the next every
    PAGE_SECONDS with "第 n/N 页"; every one of them comes round, each page's figures are on it, and
    the counters and the branch's figures stay on screen throughout."""
    codes = add_services(db, world, 25)
    h = await open_board("/board/A")
    first = shown_services(h, codes)
    per_page = len(first)
    assert 5 <= per_page < len(codes), per_page  # compact rows: many fit, not all
    pages = -(-len(codes) // per_page)
    seen: list[set[str]] = []
    for n in range(1, pages + 1):
        shown = shown_services(h, codes)
        assert shown and not any(shown & before for before in seen), f"page {n} repeats a 事项"
        seen.append(shown)
        assert value(h, "board-services-page") == f"第 {n}/{pages} 页"
        said = h.find("board-services-page").semantics_label  # type: ignore[attr-defined]
        assert said == f"各事项，第 {n} 页，共 {pages} 页"
        for code in shown:  # the figures of each 事项 shown, beside its name
            assert value(h, f"board-service-{code}-transactions") == "1"
            assert value(h, f"board-service-{code}-participation_rate") == "0.0%"
        assert value(h, "board-A-01-rated") == "0" and value(h, "board-A-02-rated") == "0"
        assert value(h, "board-rated") == "0" and h.exists("board-indicator-attitude")
        assert not h.exists("board-counters-page")  # two counters fit: that column does not page
        await h.advance(PAGE_SECONDS - 1)
        assert shown_services(h, codes) == shown, "the page changed early"
        await h.advance(1)
    assert set().union(*seen) == set(codes)
    assert shown_services(h, codes) == first and value(h, "board-services-page") == f"第 1/{pages} 页"
    # In English too, and a paused screen stays on its page (WCAG 2.2.2) until it is resumed.
    await h.click("lang")
    assert value(h, "board-services-page") == f"Page 1/{pages}"
    said = h.find("board-services-page").semantics_label  # type: ignore[attr-defined]
    assert said == f"By service, page 1 of {pages}"
    await h.click("board-pause")
    assert h.has_text("Resume pages")
    await h.advance(PAGE_SECONDS * 3)
    assert shown_services(h, codes) == first
    await h.click("board-next-page")  # a screen reader's user (or anyone) can step through
    assert shown_services(h, codes) == seen[1] and value(h, "board-services-page") == f"Page 2/{pages}"
    await h.click("board-pause")
    assert h.has_text("Pause pages")
    await h.advance(PAGE_SECONDS)
    assert shown_services(h, codes) == seen[2 % pages]
    assert not h.errors


async def test_the_pages_turn_beside_the_refresh(open_board: Open, db, world, monkeypatch):
    """Paging does not change when the figures are read: still every REFRESH_SECONDS, and a page
    turned shows the figures last read."""
    reads: list[str] = []
    real = board_screen.read_board

    def counted(ctx: Any, code: str) -> Any:
        reads.append(code)
        return real(ctx, code)

    monkeypatch.setattr(board_screen, "read_board", counted)
    codes = add_services(db, world, 25)
    h = await open_board("/board/A")
    add_rating(db, world, 5)
    await h.advance(REFRESH_SECONDS - 1)
    assert reads == ["A"] and value(h, "board-rated") == "0"
    await h.advance(1)
    await h.wait_for(lambda: value(h, "board-rated") == "1")
    assert reads == ["A", "A"] and shown_services(h, codes)
    await h.close()
    await h.advance(REFRESH_SECONDS * 3)
    assert reads == ["A", "A"] and not h.errors


async def test_a_phone_shows_every_service_on_one_scrolling_page(open_board: Open, db, world):
    codes = add_services(db, world, 25)
    for width, height in ((390, 844), (1600, 560)):  # a phone, and a window too low for one screen
        h = await open_board("/board/A", width=width, height=height)
        assert shown_services(h, codes) == set(codes), (width, height)
        assert not h.exists("board-services-page") and not h.exists("board-pause")
        assert value(h, "board-service-S-024-transactions") == "1"
        await h.advance(PAGE_SECONDS * 2)
        assert shown_services(h, codes) == set(codes)
        assert not h.errors
