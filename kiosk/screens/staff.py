"""Staff sign in / out at the counter: employee number and PIN (reached by a discreet control).

Its handlers live here, holding the two fields of the form they were drawn with.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import flet as ft

from kiosk import backend
from kiosk.screens.frame import form_width, frame
from kiosk.ui import INK, TAP_MIN
from models.errors import InductionNotPassed, NotOnDuty, SignInFailed, SignInThrottled
from rapport.core.i18n import t
from rapport.core.lanes import KIOSK

if TYPE_CHECKING:
    from kiosk.host import KioskHost


class Handlers:
    """The sign-in form's event handlers (async methods, as Flet awaits them)."""

    def __init__(self, app: KioskHost, fields: tuple[ft.TextField, ft.TextField]):
        self.app = app
        self.fields = fields  # employee number, PIN

    async def on_sign_in(self, _e: ft.Event[Any]) -> None:
        await self._staff(backend.staff_sign_in, "staff.signed_in")

    async def on_sign_out(self, _e: ft.Event[Any]) -> None:
        await self._staff(backend.staff_sign_out, "staff.signed_out")

    async def _staff(self, action: Callable[..., tuple[backend.Place, str]], done_key: str) -> None:
        app = self.app
        app.touch()
        assert app.state.device_token
        number, pin = (f.value or "" for f in self.fields)
        app.state.staff_no_draft = number.strip()
        if not number.strip() or not pin:
            app.state.say("staff.error.empty")
            app.render()
            return
        try:
            place, name = await KIOSK.run(
                action, app.ctx, device_token=app.state.device_token, employee_no=number, pin=pin
            )
        except SignInThrottled as exc:
            minutes = max(1, round(int(str(exc.details.get("wait_seconds", 60))) / 60))
            app.state.say("staff.error.throttled", minutes=minutes)
        except SignInFailed:
            app.state.say("staff.error.failed")
        except InductionNotPassed:
            app.state.say("staff.error.induction")
        except NotOnDuty:
            app.state.say("staff.error.not_on_duty")
        else:
            app.state.place = place
            app.state.reset()
            app.render()
            app.page.show_dialog(ft.SnackBar(ft.Text(t(app.state.locale, done_key, name=name))))
            return
        app.render()


def build(app: KioskHost) -> ft.Control:
    state = app.state
    locale = state.locale
    message = t(locale, state.message_key, **state.message_values) if state.message_key else None
    number = ft.TextField(
        label=t(locale, "staff.employee_no"),
        value=state.staff_no_draft,
        key="staff-no",
        autofocus=True,
        max_length=32,
        on_change=app.on_touch_field,
    )
    pin = ft.TextField(
        label=t(locale, "staff.pin"),
        password=True,
        key="staff-pin",
        max_length=12,
        keyboard_type=ft.KeyboardType.NUMBER,
        on_change=app.on_touch_field,
        error=message,
    )
    h = Handlers(app, (number, pin))
    body = ft.Column(
        [
            ft.Text(
                t(locale, "staff.title"), size=26, weight=ft.FontWeight.BOLD, color=INK, key="staff-title"
            ),
            number,
            pin,
            ft.Row(
                [
                    ft.Button(
                        content=ft.Text(t(locale, "staff.sign_in"), size=18),
                        on_click=h.on_sign_in,
                        key="staff-sign-in",
                        height=TAP_MIN,
                        width=140,
                    ),
                    ft.OutlinedButton(
                        content=ft.Text(t(locale, "staff.sign_out"), size=18),
                        on_click=h.on_sign_out,
                        key="staff-sign-out",
                        height=TAP_MIN,
                        width=140,
                    ),
                    ft.TextButton(
                        content=ft.Text(t(locale, "staff.cancel"), size=18),
                        on_click=app.on_done,
                        key="staff-cancel",
                        height=TAP_MIN,
                    ),
                ],
                wrap=True,
                spacing=12,
            ),
        ],
        spacing=18,
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        width=form_width(app, 480),
    )
    return frame(app, body)
