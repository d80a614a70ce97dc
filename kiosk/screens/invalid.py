"""A link that is unknown or revoked (a badge's QR code, a receipt's rating link), or a receipt's
transaction already rated: a clear page, not an error."""

from __future__ import annotations

from typing import TYPE_CHECKING

import flet as ft

from kiosk.screens.frame import form_width, frame
from kiosk.ui import INK, MUTED
from rapport.core.i18n import t

if TYPE_CHECKING:
    from kiosk.host import KioskHost


# What the page says, by the link that led here: a badge's QR code, or a receipt's (/v/<code>).
PAGES = ("phone.invalid", "phone.invite", "phone.invite_rated", "phone.invite_ended")


def build(app: KioskHost) -> ft.Control:
    locale = app.state.locale
    page = app.state.message_key if app.state.message_key in PAGES else "phone.invalid"
    body = ft.Column(
        [
            ft.Icon(ft.Icons.QR_CODE_2, size=72, color=MUTED),
            ft.Text(
                t(locale, f"{page}.title"),
                size=26,
                weight=ft.FontWeight.BOLD,
                color=INK,
                key="invalid-title",
            ),
            ft.Text(t(locale, f"{page}.body"), size=17, color=MUTED, text_align=ft.TextAlign.CENTER),
        ],
        horizontal_alignment=ft.CrossAxisAlignment.CENTER,
        spacing=16,
        width=form_width(app, 520),
    )
    return frame(app, body)
