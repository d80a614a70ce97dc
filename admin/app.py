"""The admin Flet app (/admin): sign-in, then the complaint queue and casework for supervisors and
administrators. The sign-in lives on the server (models/auth/: idle 30 min, absolute 12 h); the
browser keeps only the session token, and every action re-checks it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import flet as ft

from admin import backend
from admin.screens import detail, extension_panel, queue, sign_in
from admin.screens.common import is_narrow, section_tabs, top_bar
from admin.screens.navigation import bottom_bar
from admin.sections import bar_sections, by_key, visible_sections
from models.auth import LoginFailed, LoginThrottled, SecondFactorRequired, SessionExpired
from models.errors import Forbidden
from rapport.core.context import AppContext
from rapport.core.i18n import other_locale, t
from rapport.core.lanes import ADMIN
from rapport.ui.a11y import set_language
from rapport.ui.ui_theme import apply_theme

log = logging.getLogger(__name__)
TOKEN_KEY = "rapport.admin_token"


class AdminApp:
    """The host of the admin screens: they see it only as ``admin.host.AdminHost``; each keeps its own
    drafts and widgets in ``view`` (the complaint queue, the open complaint, the sections)."""

    def __init__(self, page: ft.Page, ctx: AppContext):
        self.page = page
        self.ctx = ctx
        self.prefs = ft.SharedPreferences()
        self.locale = ctx.settings.locale
        self.token: str | None = None
        self.user: backend.User | None = None
        self.screen = "sign_in"
        self.message_key: str | None = None
        self.message_values: dict[str, object] = {}
        self.message_ok = False
        self.login_draft = ""
        self.password_draft = ""  # kept only while the authenticator code is asked for
        self.totp_needed = False
        self.detail: backend.Detail | None = None  # the open complaint (admin/screens/detail.py)
        self.section = "complaints"
        # Per-section data and drafts, keyed by section (see admin/sections.py).
        self.view: dict[str, Any] = {}
        self.alert_token: int | None = None
        # (what they show, top bar, tabs or bar) of the last draw: see _frame.
        self._framed: tuple[tuple[Any, ...], ft.Control, ft.Control] | None = None

    @property
    def queue_rows(self) -> list[backend.QueueRow]:
        """The complaint queue as last loaded (admin/screens/queue.py keeps it)."""
        return queue.rows(self)

    async def start(self) -> None:
        apply_theme(self.page, t(self.locale, "admin.title"))
        set_language(self.page, self.locale)  # before the first draw (render keeps it in step)
        self.page.bgcolor = "#F5F7FA"
        self.page.on_close = self._on_close
        self.page.on_resize = self._on_resize
        token = await self.prefs.get(TOKEN_KEY)
        if isinstance(token, str) and token:
            try:
                self.user = await ADMIN.run(backend.current_user, self.ctx, token)
                self.token = token
                await self._home()
                return
            except SessionExpired:
                await self.prefs.remove(TOKEN_KEY)
        self.render()

    def say(self, key: str | None, ok: bool = False, **values: object) -> None:
        self.message_key, self.message_ok, self.message_values = key, ok, values

    def render(self) -> None:
        if self.user is None:
            content = sign_in.build(self)
        else:
            # Every role has at least its account page; a section the role cannot open is never drawn.
            sections = visible_sections(self.user.role)
            if self.section == "complaints" and self.screen == "detail" and self.detail is not None:
                body = detail.build(self)
            else:
                current = next((s for s in sections if s.key == self.section), sections[0])
                body = current.build(self)
            # A wide window has a row of tabs under the top bar; a phone a bar at the bottom with the
            # role's most used sections and More for the rest, leaving the screen to the content.
            narrow = is_narrow(self)
            top, nav = self._frame(narrow, sections)
            if narrow:
                frame = [top, ft.Container(content=body, expand=True), nav]
            else:
                frame = [top, nav, body]
            content = ft.Column(
                frame,
                spacing=0,
                expand=True,
                horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
            )
        # Flutter's own words (a field's "N characters remaining") and <html lang> follow the admin's
        # language, as the kiosk's do (rapport/ui/a11y.py); it changes the page only when it changed.
        set_language(self.page, self.locale)
        self.page.controls = [ft.SafeArea(content=content, expand=True)]
        self.page.update()

    def _frame(self, narrow: bool, sections: list[Any]) -> tuple[ft.Control, ft.Control]:
        """The top bar and the tabs (or the phone's bar), the same controls from one draw to the next
        while what they show is the same. A tap reaches the server after the screen it was made on:
        made while the screen was being drawn again (back from a complaint, a refresh, an alert
        coming in), it names a tab of the draw before, and Flet drops an event for a control that is
        no longer on the page (tests/ui/test_admin_redraw.py)."""
        assert self.user is not None
        shown = (narrow, self.locale, self.user, self.section, self.view.get("alerts_count", 0))
        if self._framed is None or self._framed[0] != shown:
            if narrow:
                bar, rest = bar_sections(self.user.role)
                nav = bottom_bar(self, bar, rest)
            else:
                nav = section_tabs(self, sections)
            self._framed = (shown, top_bar(self), nav)
        return self._framed[1], self._framed[2]

    async def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """For sections: run ``fn(ctx, token, *args)`` in a thread, as every backend call does."""
        return await self._call(fn, *args, **kwargs)

    async def on_section(self, e: ft.Event[Any]) -> None:
        await self.open_section(str(e.control.data))

    async def open_section(self, key: str) -> None:
        section = by_key(key)
        if section is None or self.user is None or self.user.role not in section.roles:
            return
        self.section, self.screen, self.detail = key, "section", None
        self.say(None)
        if section.load is not None:
            try:
                await section.load(self)
            except SessionExpired:
                return
        self.render()

    async def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a backend call on the admin lane (rapport/core/lanes.py); an ended sign-in sends the user
        back to sign in."""
        try:
            return await ADMIN.run(fn, self.ctx, self.token or "", *args, **kwargs)
        except SessionExpired:
            await self._signed_out("admin.session.expired")
            raise

    # -- live alerts ----------------------------------------------------------------------
    async def _subscribe_alerts(self) -> None:
        """Supervisors and admins hear of new alerts in their scope the moment they are raised."""
        if self.user is None or not self.user.can_handle_complaints() or self.alert_token is not None:
            return
        scope = await self._call(backend.alert_scope)
        self.alert_token = self.ctx.alerts.subscribe(scope, self._on_alert)
        self.view["alerts_count"] = len(await self._call(backend.alerts))

    def _unsubscribe_alerts(self) -> None:
        if self.alert_token is not None:
            self.ctx.alerts.unsubscribe(self.alert_token)
            self.alert_token = None

    async def _on_alert(self, alert: Any) -> None:
        if self.user is None:
            return
        rows = await self._call(backend.alerts)
        self.view["alerts"] = rows
        self.view["alerts_count"] = len(rows)
        self.render()
        kind = t(self.locale, f"admin.alerts.kind.{alert.kind}")
        self.page.show_dialog(
            ft.SnackBar(ft.Text(t(self.locale, "admin.alerts.toast", kind=kind)), key="alert-toast")
        )

    async def _on_resize(self, _e: Any) -> None:
        self.render()  # phone and tablet layouts differ (top bar, widths)

    async def _on_close(self, _e: ft.Event[Any]) -> None:
        self._unsubscribe_alerts()

    async def _signed_out(self, message: str | None = None) -> None:
        self._unsubscribe_alerts()
        self.user, self.token, self.detail = None, None, None
        detail.forget(self)
        self.screen = "sign_in"
        await self.prefs.remove(TOKEN_KEY)
        self.say(message)
        self.render()

    # -- sign-in --------------------------------------------------------------------------
    async def sign_in(self, login: str, password: str, totp: str | None) -> None:
        """The sign-in form was sent (admin/screens/sign_in.py checks that both fields are filled)."""
        self.login_draft = login
        self.password_draft = ""
        try:
            self.user, self.token = await ADMIN.run(
                backend.sign_in,
                self.ctx,
                login=login,
                password=password,
                client=self.page.client_ip or "unknown",
                totp_code=totp,
            )
        except SecondFactorRequired as exc:
            self.totp_needed = True
            self.password_draft = password
            enrolled = exc.details.get("enrolled", True)
            self.say("admin.sign_in.totp_needed" if enrolled else "admin.sign_in.totp_not_enrolled")
        except LoginThrottled as exc:
            minutes = max(1, round(int(str(exc.details.get("wait_seconds", 60))) / 60))
            self.say("admin.sign_in.throttled", minutes=minutes)
        except LoginFailed:
            self.say("admin.sign_in.failed")
        else:
            self.totp_needed = False
            await self.prefs.set(TOKEN_KEY, self.token or "")
            self.say(None)
            await self._home()
            return
        self.render()

    async def on_sign_out(self, _e: ft.Event[Any]) -> None:
        if self.token:
            await ADMIN.run(backend.sign_out, self.ctx, self.token)
        await self._signed_out()

    async def on_toggle_language(self, _e: ft.Event[Any]) -> None:
        self.locale = other_locale(self.locale)
        self.page.title = t(self.locale, "admin.title")
        self.render()

    # -- queue ----------------------------------------------------------------------------
    async def _home(self) -> None:
        await self._subscribe_alerts()
        if self.user is not None and visible_sections(self.user.role):
            await self.open_section(visible_sections(self.user.role)[0].key)
            return
        self.render()

    async def open_complaint(self, complaint_id: int) -> None:
        """From the queue or an alert: the complaint's page, under the complaints tab."""
        self.section = "complaints"
        await self._open(complaint_id)

    async def _open(self, complaint_id: int) -> None:
        try:
            self.detail = await self._call(backend.detail, complaint_id)
            await extension_panel.load(self, complaint_id)
        except SessionExpired:
            return
        except Forbidden:
            self.say("admin.error.forbidden")
        else:
            self.screen = "detail"
            detail.forget(self)
        self.render()

    async def close_complaint(self) -> None:
        self.screen, self.detail = "queue", None
        detail.forget(self)
        self.say(None)
        await queue.refresh(self)

    async def reload_detail(self) -> None:
        """Read the open complaint and its extension panel again and redraw (after a step on it)."""
        assert self.detail is not None
        complaint_id = self.detail.row.id
        try:
            self.detail = await self._call(backend.detail, complaint_id)
            await extension_panel.load(self, complaint_id)
        except SessionExpired:
            return
        self.render()


def build_admin_main(ctx: AppContext) -> Callable[[ft.Page], Awaitable[None]]:
    async def main(page: ft.Page) -> None:
        await AdminApp(page, ctx).start()

    return main
