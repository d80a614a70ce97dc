"""大字模式 (large text, issue 19) in process, on the harness's virtual clock.

The switch on the welcome screen turns large text on; every text of the customer screens is then at
least 1.5 times the size it has at normal size (measured on the screens as drawn, both ways, against
the sizes the screens themselves give); the thank-you countdown lasts the policy's idle time. A
counter tablet is back at normal size after the idle reset (or the end of a customer's visit); a
phone keeps the choice in its browser storage and has it again on the next visit.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import flet as ft
import pytest
from sqlmodel import select

from kiosk import large_text
from kiosk.app import TOKEN_KEY
from kiosk.state import THANKS_SECONDS, Screen
from models.clock import pin
from models.org import Staff
from rapport.core.db import Database

sys.path.insert(0, str(Path(__file__).resolve().parent))  # no __init__.py here
from kiosk_support import KioskHarness, Open  # noqa: E402

SH = ZoneInfo("Asia/Shanghai")
IDLE = 30  # the default policy's idle time (models/policy.py)


@pytest.fixture(autouse=True)
def fixed_clock():
    pin(datetime(2026, 11, 18, 10, 30, tzinfo=SH))
    yield
    pin(None)


def qr_token(db: Database, employee_no: str) -> str:
    with db.read() as s:
        return s.exec(select(Staff).where(Staff.employee_no == employee_no)).one().qr_token


# -- what is on screen ---------------------------------------------------------------------------
def switch_on(h: KioskHarness) -> bool:
    """The switch's state as the accessibility tree gets it: the Semantics around the pill."""
    [node] = h.find_all(
        lambda c: isinstance(c, ft.Semantics) and getattr(c.content, "key", None) == "large-text"
    )
    return bool(node.toggled)


def text_sizes(h: KioskHarness) -> list[float]:
    """The size of every text on screen, Flutter's default where a text gives none."""
    sizes = []
    for c in h.controls(visible_only=True):
        if isinstance(c, ft.Text) and c.value:
            sizes.append(c.size or large_text.DEFAULT_TEXT)
        elif isinstance(c, ft.TextField):
            sizes.append(c.text_size or large_text.DEFAULT_FIELD_TEXT)
    return sizes


def on_welcome(h: KioskHarness) -> bool:
    return h.exists("question") and h.exists("rate-5")


# -- the size ------------------------------------------------------------------------------------
async def visit(h: KioskHarness, *, large: bool) -> dict[str, list[float]]:
    """Text sizes on welcome, the reasons after a low score, the complaint form and the thank-you."""
    if large:
        await h.click("large-text")
        assert switch_on(h) and h.app.state.large_text
    seen = {"welcome": text_sizes(h)}
    await h.click("rate-2")
    seen["reasons"] = text_sizes(h)
    await h.click("open-complaint")
    seen["complaint"] = text_sizes(h)
    await h.app.on_done(None)  # as the idle reset would: a tablet is back at normal size
    await h.wait_for(lambda: on_welcome(h))
    assert not h.app.state.large_text
    if large:
        await h.click("large-text")
    await h.click("rate-5")
    await h.click("details-skip")
    assert h.app.state.screen is Screen.thanks
    seen["thanks"] = text_sizes(h)
    return seen


@pytest.mark.parametrize("size", [(1280, 800), (390, 844)], ids=["tablet", "phone"])
async def test_every_text_is_at_least_one_and_a_half_times_its_normal_size(open_kiosk: Open, world, db, size):
    normal_h = await open_kiosk(storage={TOKEN_KEY: world.device_token}, width=size[0], height=size[1])
    normal = await visit(normal_h, large=False)
    large_h = await open_kiosk(storage={TOKEN_KEY: world.device_token}, width=size[0], height=size[1])
    large = await visit(large_h, large=True)

    for screen, sizes in normal.items():
        assert large[screen], screen
        # The smallest text of the screen in large text against the smallest one at normal size ...
        assert min(large[screen]) >= large_text.SCALE * min(sizes), screen
        # ... and the screens that keep every text (all but welcome, which drops its hints), text by text.
        if screen != "welcome":
            assert len(large[screen]) == len(sizes), screen
            assert all(b >= 1.5 * a for a, b in zip(sizes, large[screen], strict=True)), screen
    assert large_text.SCALE >= 1.5


async def test_large_text_is_high_contrast(open_kiosk: Open, world):
    h = await open_kiosk(storage={TOKEN_KEY: world.device_token})
    await h.click("large-text")
    await h.click("rate-1")
    await h.click("open-complaint")
    await h.click("complaint-submit")  # nothing chosen: the error texts show too
    colours = [c.color for c in h.controls(visible_only=True) if isinstance(c, ft.Text) and c.color]
    assert colours
    for colour in colours:
        assert large_text.contrast(str(colour)) >= large_text.CONTRAST_MIN, colour


# -- the tablet forgets it, the phone keeps it ---------------------------------------------------
async def test_the_tablet_returns_to_normal_size_on_the_idle_reset(open_kiosk: Open, world):
    h = await open_kiosk(storage={TOKEN_KEY: world.device_token})
    normal_question = h.find("question").size
    assert not switch_on(h)
    await h.click("large-text")
    assert switch_on(h) and h.find("question").size >= 1.5 * 22

    await h.advance(IDLE - 1)
    assert switch_on(h)  # still this customer's
    await h.advance(1)
    await h.wait_for(lambda: on_welcome(h) and not switch_on(h))
    assert not h.app.state.large_text and h.find("question").size == normal_question


async def test_the_thank_you_waits_the_idle_time_in_large_text_then_the_tablet_is_normal_again(
    open_kiosk: Open, world
):
    h = await open_kiosk(storage={TOKEN_KEY: world.device_token})
    await h.click("large-text")
    await h.click("rate-5")
    await h.click("details-skip")
    assert h.app.state.screen is Screen.thanks
    assert h.find("countdown").value and str(IDLE) in h.find("countdown").value
    await h.advance(THANKS_SECONDS + 1)
    assert h.app.state.screen is Screen.thanks  # no 5 s countdown in large text
    await h.advance(IDLE)
    await h.wait_for(lambda: on_welcome(h))
    assert not switch_on(h) and not h.app.state.large_text

    await h.click("rate-5")  # at normal size, the countdown is short again
    await h.click("details-skip")
    assert str(THANKS_SECONDS) in h.find("countdown").value


async def test_the_phone_remembers_large_text_across_visits(open_kiosk: Open, world, db):
    token = qr_token(db, "E1")
    storage: dict = {}  # the phone's browser storage, kept between visits
    first = await open_kiosk(f"/s/{token}", storage=storage, width=390, height=844)
    assert not switch_on(first)
    normal = min(text_sizes(first))
    await first.click("large-text")
    assert switch_on(first) and storage[large_text.PREF_KEY] == "1"
    await first.advance(2 * IDLE)  # no idle reset on a customer's own phone
    assert switch_on(first)
    await first.click("rate-5")
    await first.click("details-skip")
    await first.click("done")  # back to welcome: still large
    assert on_welcome(first) and switch_on(first)
    await first.close()

    again = await open_kiosk(f"/s/{token}", storage=storage, width=390, height=844)
    assert switch_on(again) and again.app.state.large_text
    assert min(text_sizes(again)) >= large_text.SCALE * normal
    await again.click("large-text")  # and off again, remembered too
    assert not switch_on(again) and storage[large_text.PREF_KEY] == "0"
