"""Fixtures for the in-process UI tests (the harness module sits beside this file)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # harness.py and admin_support.py live here

from admin_support import Open, admin_tabs  # noqa: E402
from kiosk_support import KioskHarness  # noqa: E402
from kiosk_support import Open as OpenKiosk  # noqa: E402

from kiosk.app import KioskApp  # noqa: E402
from rapport.core.context import AppContext  # noqa: E402


@pytest.fixture
async def open_admin(ctx: AppContext) -> AsyncIterator[Open]:
    """Tabs of the admin app on the test database; modules needing a fixed clock override this."""
    async with admin_tabs(ctx) as open_:
        yield open_


@pytest.fixture
async def open_kiosk(ctx: AppContext) -> AsyncIterator[OpenKiosk]:
    """Open the customer app in a fresh (fake) browser tab: ``await open_kiosk(route, storage=...)``."""
    opened: list[KioskHarness] = []

    async def open_(route: str = "/", *, storage: dict | None = None, **kwargs: Any) -> KioskHarness:
        harness: KioskHarness | None = None

        async def main(page: Any) -> None:
            assert harness is not None
            harness.app = KioskApp(page, ctx, sleep=harness.clock.sleep)
            await harness.app.start()

        harness = KioskHarness(main, route=route, local_storage=storage, **kwargs)
        opened.append(harness)
        await harness.__aenter__()
        return harness

    yield open_
    for h in reversed(opened):
        await h.close()
