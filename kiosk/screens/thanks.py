"""Thank-you: a short message and a visible countdown back to a clean welcome screen."""

from __future__ import annotations

from typing import TYPE_CHECKING

import flet as ft

from kiosk.screens.frame import frame
from kiosk.state import Mode
from kiosk.ui import INK, MUTED, TAP_MIN
from rapport.core.i18n import t

if TYPE_CHECKING:
    from kiosk.host import KioskHost


def build(app: KioskHost, seconds: int) -> tuple[ft.Control, ft.Text]:
    locale = app.state.locale
    countdown = ft.Text(
        t(locale, "kiosk.thanks.countdown", seconds=seconds), size=18, color=MUTED, key="countdown"
    )
    lines: list[ft.Control] = [
        ft.Icon(ft.Icons.CHECK_CIRCLE, size=96, color="#2E7D32"),
        ft.Text(
            t(locale, "kiosk.thanks.title"),
            size=32,
            weight=ft.FontWeight.BOLD,
            color=INK,
            text_align=ft.TextAlign.CENTER,
            key="thanks-title",
        ),
        ft.Text(t(locale, "kiosk.thanks.body"), size=20, color=MUTED, text_align=ft.TextAlign.CENTER),
    ]
    if app.state.mode is Mode.phone:
        lines.append(ft.Text(t(locale, "phone.done"), size=18, color=MUTED))
    lines += [
        countdown,
        ft.Button(
            content=ft.Text(t(locale, "kiosk.thanks.done"), size=20),
            on_click=app.on_done,
            key="done",
            height=TAP_MIN,
            width=200,
        ),
    ]
    body = ft.Column(lines, horizontal_alignment=ft.CrossAxisAlignment.CENTER, spacing=20)
    return frame(app, ft.Container(content=body, padding=ft.Padding.only(top=40))), countdown
