"""What every in-process admin test needs: fresh tabs of the admin app, and signing in."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from harness import FletHarness

from admin.app import AdminApp
from rapport.core.context import AppContext

PASSWORD = "correct horse 42"
Open = Callable[..., Awaitable[FletHarness]]


@asynccontextmanager
async def admin_tabs(ctx: AppContext) -> AsyncIterator[Open]:
    """``await open_(storage=..., width=..., height=...)`` opens a fresh tab; all close at the end."""
    opened: list[FletHarness] = []

    async def open_(*, storage: dict | None = None, width: float = 1280, height: float = 800) -> FletHarness:
        async def main(page: Any) -> None:
            await AdminApp(page, ctx).start()

        h = FletHarness(main, route="/", local_storage=storage, width=width, height=height)
        opened.append(h)
        await h.__aenter__()
        return h

    try:
        yield open_
    finally:
        for h in reversed(opened):
            await h.close()


async def sign_in(h: FletHarness, login: str, password: str = PASSWORD) -> None:
    await h.fill("login", login)
    await h.fill("password", password)
    await h.click("sign-in")


async def open_section(h: FletHarness, key: str) -> None:
    """Open a section as a person would at the tab's width: a tab on a wide window; on a phone the
    bottom bar's entry, or 更多 / More and then the entry in its sheet (admin/screens/navigation.py)."""
    if not h.exists(f"nav-{key}") and h.exists("nav-more"):
        await h.click("nav-more")
    await h.click(f"nav-{key}")
