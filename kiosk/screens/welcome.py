"""Welcome: where the customer is, who served them, and five faces to tap; the 大字 / Large text switch
on top. In large text (kiosk/large_text.py scales the whole screen) the screen keeps only what a
customer needs: who served them, the question and the faces, in one column."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import flet as ft
from babel.dates import format_skeleton

from kiosk import large_text
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


def served_line(app: KioskHost) -> ft.Control:
    """Large text: who served the customer in one line (the name only), or that the counter is closed."""
    locale, place = app.state.locale, app.state.place
    assert place is not None
    if place.staff is None:
        return ft.Text(t(locale, "kiosk.counter_closed"), size=24, weight=ft.FontWeight.BOLD, color=INK)
    return ft.Row(
        [
            ft.Text(t(locale, "kiosk.served_by"), size=16, color=INK),
            ft.Text(
                place.staff.display_name, size=24, weight=ft.FontWeight.BOLD, color=INK, key="staff-name"
            ),
        ],
        wrap=True,
        spacing=10,
        alignment=ft.MainAxisAlignment.CENTER,
        vertical_alignment=ft.CrossAxisAlignment.CENTER,
    )


def build(app: KioskHost) -> ft.Control:
    state = app.state
    locale = state.locale
    large = state.large_text
    narrow = is_narrow(app.page) or large  # large text: the faces in one column, at any width
    width = app.page.width or 1280
    buttons = [rating_button(locale, s, narrow, app.on_rate, width=width) for s in (5, 4, 3, 2, 1)]
    switch = ft.Row(
        [large_text.toggle(locale, large, app.on_toggle_large_text)], alignment=ft.MainAxisAlignment.END
    )
    if large:
        for face in buttons:
            assert isinstance(face, ft.Button)
            face.height = 64  # x SCALE: 96 px, so the five faces fit a tablet's height
        # A tablet keeps the switch beside who served them, so the five faces fit its height.
        top: list[ft.Control] = (
            [switch, served_line(app)]
            if is_narrow(app.page)
            else [ft.Row([ft.Container(served_line(app), expand=True), switch.controls[0]])]
        )
        body = ft.Column(
            [*top, question(locale, narrow, size=22, app=app), ft.Column(buttons, spacing=8)],
            spacing=14,
            horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        )
        # One column of a comfortable reading width, centred on a tablet.
        return frame(app, body, max_width=720, staff_control=state.mode is Mode.counter)
    faces: ft.Control = ft.Column(buttons, spacing=12) if narrow else ft.Row(buttons, spacing=16)
    body = ft.Column(
        [
            switch,
            staff_card(app),
            question(locale, narrow, app=app),
            ft.Text(t(locale, "kiosk.hint"), size=18, color=MUTED, text_align=ft.TextAlign.CENTER),
            faces,
            *([star] if (star := service_star(app)) else []),
        ],
        spacing=20,
        horizontal_alignment=ft.CrossAxisAlignment.CENTER,
    )
    return frame(app, body, max_width=1240, staff_control=state.mode is Mode.counter)


def question(
    locale: str, narrow: bool, *, size: int | None = None, app: KioskHost | None = None
) -> ft.Control:
    """The question over the faces: of the service just done when the place invites a rating of a
    transaction (办件), else of the service in general."""
    invitation = app.state.place.invitation if app is not None and app.state.place is not None else None
    words = (
        t(locale, "kiosk.question.service", service=invitation.service_name(locale))
        if invitation is not None
        else t(locale, "kiosk.question")
    )
    return ft.Text(
        words,
        size=size or (24 if narrow else 30),
        weight=ft.FontWeight.BOLD,
        color=INK,
        text_align=ft.TextAlign.CENTER,
        key="question",
    )
