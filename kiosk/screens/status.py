"""Small full-screen states: loading, saving, and a failed save with "try again"."""

from __future__ import annotations

from typing import TYPE_CHECKING

import flet as ft

from kiosk.ui import INK, TAP_MIN
from rapport.core.i18n import t
from rapport.ui.a11y import set_language, spoken

if TYPE_CHECKING:
    from kiosk.host import KioskHost


def _centred(controls: list[ft.Control]) -> ft.Control:
    return ft.Container(
        content=ft.Column(
            controls,
            horizontal_alignment=ft.CrossAxisAlignment.CENTER,
            alignment=ft.MainAxisAlignment.CENTER,
            spacing=24,
        ),
        padding=24,
        expand=True,
        alignment=ft.Alignment.CENTER,
    )


def loading() -> ft.Control:
    return _centred([ft.ProgressRing(width=56, height=56)])


def saving(app: KioskHost) -> ft.Control:
    set_language(app.page, app.state.locale)
    return _centred(
        [
            ft.ProgressRing(width=56, height=56),
            spoken(t(app.state.locale, "kiosk.saving"), live=True, size=20, color=INK),
        ]
    )


def failed(app: KioskHost) -> ft.Control:
    locale = app.state.locale
    set_language(app.page, locale)
    return _centred(
        [
            ft.Icon(ft.Icons.ERROR_OUTLINE, size=72, color="#C62828"),
            spoken(
                t(locale, app.state.message_key or "kiosk.error.save"),
                live=True,
                size=22,
                color=INK,
                text_align=ft.TextAlign.CENTER,
                key="error-message",
            ),
            ft.Button(
                content=ft.Text(t(locale, "kiosk.error.retry"), size=20),
                on_click=app.on_retry,
                key="retry",
                height=TAP_MIN,
                width=220,
            ),
        ]
    )
