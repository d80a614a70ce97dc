"""The kiosk Flet app: one small object per browser session holding the state and the handlers.

Handlers are ``async`` and run database work in a thread (``asyncio.to_thread``): a plain ``def``
handler would run on the server's single event loop and stall every other kiosk meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import flet as ft

from kiosk import backend
from kiosk.screens import enrol, status, thanks, welcome
from kiosk.state import THANKS_SECONDS, KioskState, Screen
from kiosk.ui import SURFACE
from models.errors import DeviceNotAuthorized, EnrolmentCodeInvalid
from rapport.context import AppContext
from rapport.i18n import other_locale, t
from rapport.ui_theme import apply_theme

log = logging.getLogger(__name__)
TOKEN_KEY = "rapport.device_token"
Sleep = Callable[[float], Awaitable[Any]]


class KioskApp:
    def __init__(self, page: ft.Page, ctx: AppContext, *, sleep: Sleep = asyncio.sleep):
        self.page = page
        self.ctx = ctx
        self.sleep = sleep
        self.prefs = ft.SharedPreferences()
        locale = ctx.settings.locale
        self.state = KioskState(locale=locale, default_locale=locale)
        self.enrol_field: ft.TextField | None = None
        self.countdown: ft.Text | None = None

    # -- start-up -------------------------------------------------------------------------
    async def start(self) -> None:
        apply_theme(self.page, t(self.state.locale, "app.name"))
        self.page.bgcolor = SURFACE
        self.page.on_resize = self._on_resize
        self.render()
        route = (self.page.route or "/").rstrip("/")
        if route.startswith("/enrol/"):
            await self._enrol_with(route.removeprefix("/enrol/"))
            return
        token = await self.prefs.get(TOKEN_KEY)
        if not isinstance(token, str) or not token:
            self.state.needs_enrolment()
            self.render()
            return
        await self._load(token)

    async def _load(self, token: str) -> None:
        try:
            view = await asyncio.to_thread(backend.load_counter, self.ctx, token)
        except DeviceNotAuthorized:
            await self.prefs.remove(TOKEN_KEY)
            self.state.needs_enrolment("kiosk.device.revoked")
        else:
            self.state.enrolled(token, view)
        self.render()

    # -- rendering ------------------------------------------------------------------------
    def render(self) -> None:
        screen = self.state.screen
        self.countdown = None
        if screen is Screen.welcome:
            content = welcome.build(self)
        elif screen is Screen.thanks:
            content, self.countdown = thanks.build(self, THANKS_SECONDS)
        elif screen is Screen.enrol:
            content = enrol.build(self)
        elif screen is Screen.saving:
            content = status.saving(self)
        elif screen is Screen.error:
            content = status.failed(self)
        else:
            content = status.loading()
        self.page.controls = [ft.SafeArea(content=content, expand=True)]
        self.page.update()

    async def _on_resize(self, _e: ft.PageResizeEvent) -> None:
        self.render()

    # -- handlers -------------------------------------------------------------------------
    async def on_toggle_language(self, _e: ft.Event[Any]) -> None:
        self.state.locale = other_locale(self.state.locale)
        self.page.title = t(self.state.locale, "app.name")
        self.render()

    async def on_rate(self, e: ft.Event[ft.Button]) -> None:
        if self.state.screen is not Screen.welcome:
            return  # a second tap while the first is being saved
        self.state.tap(int(e.control.data))
        self.render()
        await self._save()

    async def on_retry(self, _e: ft.Event[Any]) -> None:
        if self.state.screen is Screen.error and self.state.pending:
            self.state.go(Screen.saving)
            self.render()
            await self._save()

    async def _save(self) -> None:
        pending = self.state.pending
        assert pending is not None and self.state.device_token
        try:
            await asyncio.to_thread(
                backend.submit_tap, self.ctx, device_token=self.state.device_token,
                idempotency_key=pending.idempotency_key, score=pending.score, staff_no=pending.staff_no,
            )  # fmt: skip
        except DeviceNotAuthorized:
            await self.prefs.remove(TOKEN_KEY)
            self.state.needs_enrolment("kiosk.device.revoked")
            self.render()
            return
        except Exception:
            log.exception("kiosk: saving a rating failed")
            self.state.failed()
            self.render()
            return
        self.state.saved()
        self.render()
        self.page.run_task(self._count_down, self.state.generation)

    async def _count_down(self, generation: int) -> None:
        for remaining in range(THANKS_SECONDS, 0, -1):
            if self.state.generation != generation:
                return
            if self.countdown is not None:
                self.countdown.value = t(self.state.locale, "kiosk.thanks.countdown", seconds=remaining)
                self.countdown.update()
            await self.sleep(1)
        if self.state.generation == generation:
            await self._back_to_welcome()

    async def on_done(self, _e: ft.Event[Any]) -> None:
        await self._back_to_welcome()

    async def _back_to_welcome(self) -> None:
        self.state.reset()
        if self.state.device_token:
            # Refresh who is on duty: the next customer may be served by someone else.
            await self._load(self.state.device_token)
        else:
            self.render()

    async def on_enrol(self, _e: ft.Event[Any]) -> None:
        code = (self.enrol_field.value if self.enrol_field else "") or ""
        await self._enrol_with(code)

    async def _enrol_with(self, code: str) -> None:
        self.state.enrol_draft = code.strip()[:12]  # keep what was typed if it is refused
        if not code.strip():
            self.state.needs_enrolment("kiosk.enrol.empty")
            self.render()
            return
        try:
            enrolled = await asyncio.to_thread(backend.enrol, self.ctx, code)
        except EnrolmentCodeInvalid:
            self.state.needs_enrolment("kiosk.enrol.invalid")
            self.render()
            return
        await self.prefs.set(TOKEN_KEY, enrolled.token)
        self.state.enrolled(enrolled.token, enrolled.view)
        if self.page.route.startswith("/enrol/"):
            # Drop the spent code from the address bar so a reload does not try it again.
            await self.page.push_route("/")
        self.render()


def build_kiosk_main(ctx: AppContext) -> Callable[[ft.Page], Awaitable[None]]:
    async def main(page: ft.Page) -> None:
        await KioskApp(page, ctx).start()

    return main
