"""Staff sign in / out at the counter: employee number and PIN (reached by a discreet control)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import flet as ft

from kiosk.screens.frame import form_width, frame
from kiosk.ui import INK, TAP_MIN
from rapport.i18n import t

if TYPE_CHECKING:
    from kiosk.app import KioskApp


def build(app: KioskApp) -> ft.Control:
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
    app.staff_fields = (number, pin)
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
                        on_click=app.on_staff_sign_in,
                        key="staff-sign-in",
                        height=TAP_MIN,
                        width=140,
                    ),
                    ft.OutlinedButton(
                        content=ft.Text(t(locale, "staff.sign_out"), size=18),
                        on_click=app.on_staff_sign_out,
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
