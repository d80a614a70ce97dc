"""The frame every customer screen shares: header with place and language switch, scrolling body."""

from __future__ import annotations

from typing import TYPE_CHECKING

import flet as ft

from kiosk.state import Mode
from kiosk.ui import TAP_MIN, header, language_button
from rapport.core.i18n import t
from rapport.ui.a11y import set_language

if TYPE_CHECKING:
    from kiosk.host import KioskHost


def frame(
    app: KioskHost, body: ft.Control, *, max_width: int = 980, staff_control: bool = False
) -> ft.Control:
    state = app.state
    locale = state.locale
    # Flutter's own words (a field's "characters remaining") and the document's lang follow this.
    set_language(app.page, locale)
    place = state.place
    if place is not None and state.mode is Mode.counter:
        title, subtitle = place.branch_name(locale), place.counter_name(locale)
    elif place is not None:
        title, subtitle = place.branch_name(locale), ""
    else:
        title, subtitle = t(locale, "app.name"), ""
    trailing: list[ft.Control] = [language_button(locale, app.on_toggle_language)]
    if staff_control:
        trailing.insert(
            0,
            ft.IconButton(
                # An Icon with a semantics label gives the button its accessible name.
                icon=ft.Icon(
                    ft.Icons.BADGE_OUTLINED, color="#8A8F98", semantics_label=t(locale, "staff.open")
                ),
                tooltip=t(locale, "staff.open"),
                on_click=app.on_open_staff,
                key="staff-open",
                width=TAP_MIN,
                height=TAP_MIN,
            ),
        )
    # Never wider than the screen: a phone gets the full width, a tablet a centred column.
    width = min(max_width, app.page.width or max_width)
    content = ft.Container(
        content=body,
        padding=ft.Padding.symmetric(horizontal=16, vertical=16),
        width=width,
    )
    return ft.Column(
        [
            header(title, subtitle, ft.Row(trailing, spacing=4)),
            ft.Column(
                [
                    ft.Row(
                        [content],
                        alignment=ft.MainAxisAlignment.CENTER,
                    )
                ],
                scroll=ft.ScrollMode.AUTO,
                expand=True,
            ),
        ],
        spacing=0,
        expand=True,
    )


def form_width(app: KioskHost, preferred: int = 720) -> float:
    return min(preferred, (app.page.width or preferred) - 32)
