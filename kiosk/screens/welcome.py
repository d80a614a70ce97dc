"""Welcome: where the customer is, who served them, and five faces to tap."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import flet as ft
from babel.dates import format_skeleton

from kiosk.screens.frame import frame
from kiosk.state import Mode
from kiosk.ui import INK, MUTED, is_narrow, rating_button
from rapport.core.i18n import t

if TYPE_CHECKING:
    from kiosk.host import KioskHost

STAR = "#B8860B"  # a muted gold: noticed, but quieter than the faces


def staff_card(app: KioskHost) -> ft.Control:
    locale = app.state.locale
    place = app.state.place
    assert place is not None
    if place.staff is None:
        lines: list[ft.Control] = [
            ft.Text(t(locale, "kiosk.counter_closed"), size=24, weight=ft.FontWeight.BOLD, color=INK),
            ft.Text(t(locale, "kiosk.counter_closed.hint"), size=16, color=MUTED),
        ]
        avatar: ft.Control = ft.Icon(ft.Icons.STOREFRONT, size=48, color=MUTED)
    else:
        lines = [
            ft.Text(t(locale, "kiosk.served_by"), size=16, color=MUTED),
            ft.Text(
                place.staff.display_name, size=28, weight=ft.FontWeight.BOLD, color=INK, key="staff-name"
            ),
            ft.Text(t(locale, "kiosk.employee_no", no=place.staff.employee_no), size=16, color=MUTED),
        ]
        avatar = ft.CircleAvatar(
            content=ft.Text(place.staff.display_name[:1], size=28), radius=36, bgcolor="#DCE3F0", color=INK
        )
    return ft.Container(
        content=ft.Row([avatar, ft.Column(lines, spacing=2, expand=True)], spacing=20),
        padding=20,
        border_radius=16,
        bgcolor=ft.Colors.WHITE,
    )


def service_star(app: KioskHost) -> ft.Control | None:
    """One quiet line naming the branch's Service Star, when there is one and the policy shows it."""
    place, locale = app.state.place, app.state.locale
    if place is None or not place.star_name or not place.star_month:
        return None
    year, month = (int(x) for x in place.star_month.split("-"))
    when = format_skeleton("yMMMM", date(year, month, 1), locale=locale.replace("-", "_"))
    return ft.Row(
        [
            ft.Icon(ft.Icons.STAR_ROUNDED, color=STAR, size=22),
            ft.Text(
                t(locale, "kiosk.star.line", month=when, name=place.star_name),
                size=16,
                color=MUTED,
                key="service-star",
                # A long name wraps under the icon's line rather than pushing the screen wider.
                expand=is_narrow(app.page),
            ),
        ],
        alignment=ft.MainAxisAlignment.CENTER,
        vertical_alignment=ft.CrossAxisAlignment.CENTER,
        spacing=6,
    )


def build(app: KioskHost) -> ft.Control:
    state = app.state
    locale = state.locale
    narrow = is_narrow(app.page)
    width = app.page.width or 1280
    buttons = [rating_button(locale, s, narrow, app.on_rate, width=width) for s in (5, 4, 3, 2, 1)]
    faces: ft.Control = ft.Column(buttons, spacing=12) if narrow else ft.Row(buttons, spacing=16)
    body = ft.Column(
        [
            staff_card(app),
            ft.Text(
                t(locale, "kiosk.question"),
                size=24 if narrow else 30,
                weight=ft.FontWeight.BOLD,
                color=INK,
                text_align=ft.TextAlign.CENTER,
                key="question",
            ),
            ft.Text(t(locale, "kiosk.hint"), size=18, color=MUTED, text_align=ft.TextAlign.CENTER),
            faces,
            *([star] if (star := service_star(app)) else []),
        ],
        spacing=20,
        horizontal_alignment=ft.CrossAxisAlignment.CENTER,
    )
    return frame(app, body, max_width=1240, staff_control=state.mode is Mode.counter)
