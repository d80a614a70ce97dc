"""Fixtures for the in-process UI tests (the harness module sits beside this file)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # harness.py and admin_support.py live here

from admin_support import Open, admin_tabs  # noqa: E402

from rapport.core.context import AppContext  # noqa: E402


@pytest.fixture
async def open_admin(ctx: AppContext) -> AsyncIterator[Open]:
    """Tabs of the admin app on the test database; modules needing a fixed clock override this."""
    async with admin_tabs(ctx) as open_:
        yield open_
