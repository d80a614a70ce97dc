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
from kiosk.screens.board import REFRESH_SECONDS
from models.rating import Channel, Rating

sys.path.insert(0, str(Path(__file__).resolve().parent))  # no __init__.py here
from harness import FletHarness  # noqa: E402

NOW = datetime(2026, 10, 20, 3, 0, tzinfo=UTC)
Open = Callable[..., Awaitable[FletHarness]]


def add_rating(db, world, score: int) -> None:
    with db.write() as s:
        s.add(
            Rating(
                idempotency_key=f"ui-board-{uuid.uuid4()}", request_hash="x", staff_id=world.staff_id,
                counter_id=world.counter_id, branch_id=world.branch_id, channel=Channel.kiosk, score=score,
                created_at=NOW - timedelta(days=1),
            )
        )  # fmt: skip
        s.commit()


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
