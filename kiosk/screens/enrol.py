"""Enrolment: bind this tablet to a counter with a one-time code from an administrator."""

from __future__ import annotations

from typing import TYPE_CHECKING

import flet as ft

from kiosk.ui import INK, MUTED, TAP_MIN, header, language_button
from rapport.i18n import t

if TYPE_CHECKING:
    from kiosk.app import KioskApp


def build(app: KioskApp) -> ft.Control:
    locale = app.state.locale
    message = app.state.message_key
    code = ft.TextField(
        label=t(locale, "kiosk.enrol.code"),
        key="enrol-code",
        autofocus=True,
        capitalization=ft.TextCapitalization.CHARACTERS,
        max_length=12,
        text_size=24,
        on_submit=app.on_enrol,
        error=t(locale, message) if message else None,
        error_max_lines=3,
        value=app.state.enrol_draft,
    )
    app.enrol_field = code
    form = ft.Column(
        [
            ft.Text(t(locale, "kiosk.enrol.title"), size=28, weight=ft.FontWeight.BOLD, color=INK),
            ft.Text(t(locale, "kiosk.enrol.body"), size=18, color=MUTED),
            code,
            ft.Button(
                content=ft.Text(t(locale, "kiosk.enrol.submit"), size=20),
                on_click=app.on_enrol,
                key="enrol-submit",
                height=TAP_MIN,
                width=200,
            ),
        ],
        spacing=20,
        width=560,
    )
    return ft.Column(
        [
            header(t(locale, "app.name"), "", language_button(locale, app.on_toggle_language)),
            ft.Container(content=form, padding=24, alignment=ft.Alignment.TOP_CENTER, expand=True),
        ],
        spacing=0,
        expand=True,
    )
