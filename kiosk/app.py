"""The customer Flet app: one small object per browser session holding the state, the routing and the
handlers several screens share. A screen depends only on the protocol in kiosk/host.py, never on this
class; a flow that belongs to one screen keeps its handlers beside it (kiosk/screens/<flow>.py).

Handlers are ``async`` and run database work on a thread of the kiosk's lane (rapport/core/lanes.py,
never shared with the admin app, so a tap does not queue behind office pages): a plain ``def``
handler would run on the server's single event loop and stall every other kiosk meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import flet as ft

from kiosk import backend, large_text
from kiosk.host import KioskHost
from kiosk.screens import (
    board,
    case_callback,
    case_status,
    complaint,
    complaint_done,
    details,
    enrol,
    invalid,
    staff,
    status,
    thanks,
    tracking,
    welcome,
)
from kiosk.state import CUSTOMER_SCREENS, THANKS_SECONDS, TOKEN_KEY, KioskState, Mode, Screen
from kiosk.ui import SURFACE
from models.errors import DeviceNotAuthorized, NotFound, QrTokenUnknown, RatingThrottled
from rapport.core.context import AppContext
from rapport.core.i18n import other_locale, t
from rapport.core.lanes import KIOSK
from rapport.ui.a11y import set_language
from rapport.ui.timers import timer_step
from rapport.ui.ui_theme import apply_theme

__all__ = ["PHONE_KEY", "TOKEN_KEY", "KioskApp", "build_kiosk_main"]  # TOKEN_KEY: kiosk/state.py

log = logging.getLogger(__name__)
PHONE_KEY = "rapport.phone_id"
Sleep = Callable[[float], Awaitable[Any]]


class KioskApp:
    def __init__(self, page: ft.Page, ctx: AppContext, *, sleep: Sleep = asyncio.sleep):
        self.page = page
        self.ctx = ctx
        self.sleep = sleep
        self.prefs = ft.SharedPreferences()
        locale = ctx.settings.locale
        self.state = KioskState(locale=locale, default_locale=locale)
        self.public_url = ctx.settings.effective_public_url
        self.reasons: tuple[backend.Reason, ...] = ()
        self.countdown: ft.Text | None = None
        self.thanks_seconds = THANKS_SECONDS  # longer in large text (kiosk/large_text.py)
        self.complaint_status: backend.ComplaintStatus | None = None
        self.case_view: backend.CasePublic | None = None  # a 差评 case's status page (case_status.py)
        self.status_code: str | None = None
        self.phone_id: str | None = None
        self.idle_seconds = 0
        self.closed = False
        self.opened_route = "/"
        self.nudges: int | None = None  # the subscription to this counter's invitations

    # -- start-up -------------------------------------------------------------------------
    async def start(self) -> None:
        if board.is_board_route(self.page.route):  # the public results board (/board/<code>) runs alone
            await board.open_board(self.page, self.ctx, sleep=self.sleep, elsewhere=self._start_kiosk)
            return
        await self._start_kiosk()

    async def _start_kiosk(self) -> None:
        apply_theme(self.page, t(self.state.locale, "app.name"))
        # The language before the first draw: a change of language arriving with a field's autofocus
        # (the status lookup, the enrol form) left Flutter's editing input unlabelled (axe "label").
        set_language(self.page, self.state.locale)
        self.page.bgcolor = SURFACE
        self.page.on_resize = self._on_resize
        self.page.on_close = self._on_close
        self.page.on_connect = self._on_reconnect
        self.render()
        self.reasons = await KIOSK.run(backend.reasons, self.ctx)
        await self._open_route()
        self.page.run_task(self._watch_idle)

    @staticmethod
    def _clean_route(route: str | None) -> str:
        return (route or "/").rstrip("/") or "/"

    async def _open_route(self) -> None:
        """Show what the address asks for: a counter, a badge (/s/), a complaint (/t/), enrolment."""
        route = self._clean_route(self.page.route)
        self.opened_route = route
        if board.is_board_route(route):  # the tab re-attached at a board's address: the board takes it
            self.closed = True
            await board.open_board(self.page, self.ctx, sleep=self.sleep)
        elif route.startswith("/enrol/"):
            await enrol.enrol_with(self, route.removeprefix("/enrol/"))
        elif route.startswith("/s/"):
            await self._open_badge(route.removeprefix("/s/"))
        elif route.startswith("/v/"):
            await self._open_invitation(route.removeprefix("/v/"))
        elif route == "/t" or route.startswith("/t/"):
            self.state.mode = Mode.status
            code = route.removeprefix("/t").strip("/")
            if code:
                await tracking.find(self, code)
            else:
                self.state.go(Screen.status_lookup)
                self.render()
        else:
            token = await self.prefs.get(TOKEN_KEY)
            if isinstance(token, str) and token:
                await self._load(token)
            else:
                self.state.needs_enrolment()
                self.render()

    async def _load(self, token: str) -> None:
        try:
            place = await KIOSK.run(backend.load_counter, self.ctx, token)
        except DeviceNotAuthorized:
            await self.prefs.remove(TOKEN_KEY)
            self.state.needs_enrolment("kiosk.device.revoked")
        else:
            self.state.enrolled(token, place)
        self.render()

    def _listen(self) -> None:
        """Hear the counter's nudges (rapport/core/counter_signals.py) once a tablet knows its
        counter (loaded, or just enrolled): a transaction just finished there, so the welcome screen
        asks about that service at once."""
        place = self.state.place
        if self.nudges is None and self.state.mode is Mode.counter and place is not None and place.counter_id:
            self.nudges = self.ctx.counters.subscribe(place.counter_id, self._on_nudge)

    async def _on_nudge(self) -> None:
        token = self.state.device_token
        if self.closed or self.state.mode is not Mode.counter or self.state.screen is not Screen.welcome:
            return  # any other screen reads the invitation on its way back to welcome
        if not token:
            return
        try:
            place = await KIOSK.run(backend.load_counter, self.ctx, token)
        except DeviceNotAuthorized:
            return  # the next tap or reset finds out and asks for enrolment
        # A customer may have tapped meanwhile: only the welcome screen takes the new invitation.
        if self.state.screen is Screen.welcome and self.state.device_token == token and not self.closed:
            self.state.place = place
            self.render()

    async def _open_invitation(self, code: str) -> None:
        """A receipt's link: the customer rates that transaction (办件) on their own phone."""
        self.state.mode = Mode.phone
        self.state.invite_code = code
        try:
            self.state.place = await KIOSK.run(backend.load_invited, self.ctx, code)
        except NotFound:
            self.state.go(Screen.invalid_link)
            self.state.say("phone.invite")
        else:
            if self.state.place.invitation is None:
                self.state.go(Screen.invalid_link)
                self.state.say(
                    "phone.invite_ended" if self.state.place.invitation_ended else "phone.invite_rated"
                )
            else:
                await self._phone_id()
                self.state.go(Screen.welcome)
        self.render()

    async def _phone_id(self) -> None:
        """This phone's random id (kept in its browser) and its large-text choice."""
        phone_id = await self.prefs.get(PHONE_KEY)
        if not isinstance(phone_id, str) or not phone_id:
            phone_id = uuid.uuid4().hex
            await self.prefs.set(PHONE_KEY, phone_id)
        self.phone_id = phone_id
        # A customer who chose large text on their phone gets it again on their next visit.
        self.state.large_text = await self.prefs.get(large_text.PREF_KEY) == "1"

    async def _open_badge(self, token: str) -> None:
        self.state.mode = Mode.phone
        self.state.qr_token = token
        try:
            self.state.place = await KIOSK.run(backend.load_badge, self.ctx, token)
        except QrTokenUnknown:
            self.state.go(Screen.invalid_link)
        else:
            await self._phone_id()
            self.state.go(Screen.welcome)
        self.render()

    def reasons_for(self, polarity: str) -> list[backend.Reason]:
        return [r for r in self.reasons if r.polarity in (polarity, "both")]

    @property
    def contact_retention_days(self) -> int:
        return self.state.place.contact_retention_days if self.state.place else 30

    # -- rendering ------------------------------------------------------------------------
    def render(self) -> None:
        self._listen()
        screen = self.state.screen
        self.countdown = None
        builders: dict[Screen, Callable[[KioskHost], ft.Control]] = {
            Screen.welcome: welcome.build, Screen.enrol: enrol.build, Screen.saving: status.saving,
            Screen.error: status.failed, Screen.details: details.build, Screen.complaint: complaint.build,
            Screen.complaint_done: complaint_done.build, Screen.staff: staff.build,
            Screen.status_lookup: tracking.lookup, Screen.status_view: tracking.view,
            Screen.invalid_link: invalid.build, Screen.callback: case_callback.build,
            Screen.case_done: case_callback.done, Screen.case_status: case_status.view,
        }  # fmt: skip
        if screen is Screen.thanks:
            content, self.countdown = thanks.build(self, self.thanks_seconds)
        elif screen in builders:
            content = builders[screen](self)
        else:
            content = status.loading()
        if self.state.large_text:  # 大字模式: the whole screen, scaled once here
            large_text.enlarge(content, max_width=(self.page.width or 1280) - 32)
        self.page.controls = [ft.SafeArea(content=content, expand=True)]
        self.page.update()

    async def _on_resize(self, _e: ft.PageResizeEvent) -> None:
        self.render()

    async def _on_close(self, _e: ft.Event[Any]) -> None:
        self.closed = True
        if self.nudges is not None:
            self.ctx.counters.unsubscribe(self.nudges)
            self.nudges = None

    async def _on_reconnect(self, _e: ft.Event[Any]) -> None:
        """A reload re-attaches the browser to this session: show fresh data, not the old screen.

        Opening another address in the same tab (a second badge, say) also re-attaches; then the
        old screen must go entirely, or a tap could rate the person of the previous badge.
        """
        if self._clean_route(self.page.route) != self.opened_route:
            self.state = KioskState(
                locale=self.state.default_locale, default_locale=self.state.default_locale
            )
            self.complaint_status, self.status_code, self.phone_id = None, None, None
            self.case_view = None
            await self._open_route()
            return
        if self.state.screen in (Screen.status_view, Screen.case_status) and self.status_code:
            await tracking.find(self, self.status_code)
        elif (
            self.state.screen is Screen.welcome
            and self.state.mode is Mode.counter
            and self.state.device_token
        ):
            await self._load(self.state.device_token)

    # -- idle reset -----------------------------------------------------------------------
    def touch(self) -> None:
        self.idle_seconds = 0

    async def _watch_idle(self) -> None:
        """On a shared counter tablet, a customer who walks away must not leave their words behind."""
        while not self.closed:
            await self.sleep(1)
            self.idle_seconds += 1
            limit = self.state.place.idle_reset_seconds if self.state.place else 30
            state = self.state
            # A customer's screen, or the welcome screen left in another customer's language.
            leftover = state.screen in CUSTOMER_SCREENS or (
                state.screen is Screen.welcome and (state.locale != state.default_locale or state.large_text)
            )
            if state.mode is Mode.counter and leftover and self.idle_seconds >= limit:
                await timer_step("kiosk: idle reset", self._back_to_welcome, log)

    # -- common ---------------------------------------------------------------------------
    async def on_toggle_language(self, _e: ft.Event[Any]) -> None:
        self.touch()
        self.state.locale = other_locale(self.state.locale)
        self.page.title = t(self.state.locale, "app.name")
        self.render()

    async def on_toggle_large_text(self, _e: ft.Event[Any]) -> None:
        self.touch()
        self.state.large_text = not self.state.large_text
        if self.state.mode is Mode.phone:  # a phone is one customer's own: remember their choice
            await self.prefs.set(large_text.PREF_KEY, "1" if self.state.large_text else "0")
        self.render()

    async def on_touch_field(self, _e: ft.Event[Any]) -> None:
        self.touch()

    async def on_done(self, _e: ft.Event[Any]) -> None:
        await self._back_to_welcome()

    async def _back_to_welcome(self) -> None:
        self.touch()
        self.state.reset()
        if self.state.mode is Mode.counter and self.state.device_token:
            # Refresh who is on duty: the next customer may be served by someone else.
            await self._load(self.state.device_token)
        else:
            self.render()

    # -- rating ---------------------------------------------------------------------------
    async def on_rate(self, e: ft.Event[ft.Button]) -> None:
        self.touch()
        if self.state.screen is not Screen.welcome:
            return  # a second tap while the first is being saved
        self.state.tap(int(e.control.data))
        self.render()
        await self._save()

    async def on_retry(self, _e: ft.Event[Any]) -> None:
        self.touch()
        if self.state.screen is Screen.error and self.state.pending:
            self.state.go(Screen.saving)
            self.render()
            await self._save()

    async def _save(self) -> None:
        pending = self.state.pending
        assert pending is not None
        try:
            if self.state.mode is Mode.phone and self.state.invite_code:
                rating_id = await KIOSK.run(
                    backend.submit_invited_tap, self.ctx, code=self.state.invite_code,
                    phone_id=self.phone_id or "", idempotency_key=pending.idempotency_key,
                    score=pending.score,
                )  # fmt: skip
            elif self.state.mode is Mode.phone:
                rating_id = await KIOSK.run(
                    backend.submit_phone_tap,
                    self.ctx,
                    qr_token=self.state.qr_token or "",
                    phone_id=self.phone_id or "",
                    idempotency_key=pending.idempotency_key,
                    score=pending.score,
                )
            else:
                assert self.state.device_token
                rating_id = await KIOSK.run(
                    backend.submit_tap, self.ctx, device_token=self.state.device_token,
                    idempotency_key=pending.idempotency_key, score=pending.score, staff_no=pending.staff_no,
                    transaction_id=pending.transaction_id,
                )  # fmt: skip
        except DeviceNotAuthorized:
            await self.prefs.remove(TOKEN_KEY)
            self.state.needs_enrolment("kiosk.device.revoked")
        except QrTokenUnknown:
            self.state.go(Screen.invalid_link)
        except NotFound:  # a receipt's link that expired while the page was open
            self.state.go(Screen.invalid_link)
            self.state.say("phone.invite")
        except RatingThrottled:
            self.state.pending = None
            self.state.failed("phone.throttled")
        except Exception:
            log.exception("kiosk: saving a rating failed")
            self.state.failed()
        else:
            self.state.saved(rating_id)
        self.render()

    # -- thanks ---------------------------------------------------------------------------
    async def thank(self) -> None:
        idle = self.state.place.idle_reset_seconds if self.state.place else 30
        self.thanks_seconds = large_text.thanks_seconds(THANKS_SECONDS, idle, on=self.state.large_text)
        self.state.thank()
        self.render()
        self.page.run_task(self._count_down, self.state.generation)

    async def _count_down(self, generation: int) -> None:
        for remaining in range(self.thanks_seconds, 0, -1):
            if self.state.generation != generation or self.closed:
                return
            if (countdown := self.countdown) is not None:
                countdown.value = t(self.state.locale, "kiosk.thanks.countdown", seconds=remaining)
                await timer_step("kiosk: thank-you count-down", countdown.update, log)
            await self.sleep(1)
        if self.state.generation == generation and not self.closed:
            await timer_step("kiosk: thank-you reset", self._back_to_welcome, log)

    # -- staff sign-in at the counter (its form and handlers: kiosk/screens/staff.py) ------
    async def on_open_staff(self, _e: ft.Event[Any]) -> None:
        self.touch()
        self.state.say(None)
        self.state.go(Screen.staff)
        self.render()

    # -- status page (its lookup and handlers: kiosk/screens/tracking.py, case_status.py) --
    async def on_status_again(self, _e: ft.Event[Any]) -> None:
        self.complaint_status, self.status_code, self.case_view = None, None, None
        self.state.enrol_draft = ""
        self.state.say(None)
        self.state.go(Screen.status_lookup)
        self.render()


def build_kiosk_main(ctx: AppContext) -> Callable[[ft.Page], Awaitable[None]]:
    async def main(page: ft.Page) -> None:
        await KioskApp(page, ctx).start()

    return main
