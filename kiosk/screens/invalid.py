"""A QR link that is unknown or revoked: a clear page, not an error."""

from __future__ import annotations

from typing import TYPE_CHECKING

import flet as ft

from kiosk.screens.frame import form_width, frame
from kiosk.ui import INK, MUTED
from rapport.core.i18n import t

if TYPE_CHECKING:
    from kiosk.host import KioskHost


def build(app: KioskHost) -> ft.Control:
    locale = app.state.locale
    body = ft.Column(
        [
            ft.Icon(ft.Icons.QR_CODE_2, size=72, color=MUTED),
            ft.Text(
                t(locale, "phone.invalid.title"),
                size=26,
                weight=ft.FontWeight.BOLD,
                color=INK,
                key="invalid-title",
            ),
            ft.Text(t(locale, "phone.invalid.body"), size=17, color=MUTED, text_align=ft.TextAlign.CENTER),
        ],
        horizontal_alignment=ft.CrossAxisAlignment.CENTER,
        spacing=16,
        width=form_width(app, 520),
    )
    return frame(app, body)
