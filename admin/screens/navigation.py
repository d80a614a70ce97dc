"""The admin app's navigation on a phone (issue 19): a bar at the bottom with the sections the signed-in
role uses most (admin/sections.py ``bar_sections``) and 更多 / More, a sheet holding the rest. A wide
window keeps the row of tabs (common.py ``section_tabs``). Every entry is a button named by its text
(what a screen reader says and what the browser tests find) and keyed ``nav-<section>`` like a tab,
so a test can open a section the same way at any width; the sheet's entries only while it is open.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flet as ft

from admin.screens.common import CURRENT, INK, MUTED, TAP, icon_button, marked_current, section_label
from rapport.core.i18n import t

if TYPE_CHECKING:
    from admin.host import AdminHost

BAR_HEIGHT = 64
MORE = "more"


def bottom_bar(app: AdminHost, bar: list[Any], rest: list[Any]) -> ft.Control:
    """The sections in ``bar`` side by side, then 更多 / More when ``rest`` is not empty; the open
    section's entry (or More, when the open section is one of the rest) is shaded and marked selected."""

    async def on_more(_e: ft.Event[Any]) -> None:
        app.page.show_dialog(more_sheet(app, rest))

    entries = [
        _entry(s.icon, section_label(app, s), s.key == app.section, app.on_section, s.key, f"nav-{s.key}")
        for s in bar
    ]
    if rest:
        elsewhere = any(s.key == app.section for s in rest)
        entries.append(
            _entry(ft.Icons.MENU, t(app.locale, "admin.nav.more"), elsewhere, on_more, MORE, "nav-more")
        )
    return ft.Container(
        content=ft.Row(entries, spacing=0, wrap=False),
        padding=ft.Padding.symmetric(horizontal=4, vertical=4),
        bgcolor=ft.Colors.WHITE,
        border=ft.Border.only(top=ft.BorderSide(1, "#E0E3EA")),
        key="bottom-bar",
    )


def _entry(icon: ft.IconData, label: str, current: bool, handler: Any, data: str, key: str) -> ft.Control:
    """One entry of the bar: icon over a one-line label, the whole cell one button; the open one is
    shaded and, for a screen reader, marked current (common.py ``marked_current``)."""
    entry = ft.TextButton(
        content=ft.Column(
            [
                ft.Icon(icon, size=22, color=INK if current else MUTED),
                ft.Text(
                    label,
                    size=12,
                    max_lines=1,
                    overflow=ft.TextOverflow.ELLIPSIS,
                    weight=ft.FontWeight.BOLD if current else None,
                    color=INK if current else MUTED,
                ),
            ],
            spacing=2,
            tight=True,
            horizontal_alignment=ft.CrossAxisAlignment.CENTER,
        ),
        on_click=handler,
        data=data,
        key=key,
        height=BAR_HEIGHT - 8,
        style=ft.ButtonStyle(
            padding=ft.Padding.symmetric(horizontal=2, vertical=4),
            shape=ft.RoundedRectangleBorder(radius=12),
            bgcolor=CURRENT if current else None,
        ),
    )
    return marked_current(entry, current, expand=True)


def more_sheet(app: AdminHost, rest: list[Any]) -> ft.BottomSheet:
    """The sections not in the bar, two to a line, under a heading with a close button."""

    async def on_pick(e: ft.Event[Any]) -> None:
        app.page.pop_dialog()
        await app.on_section(e)

    async def on_close(_e: ft.Event[Any]) -> None:
        app.page.pop_dialog()

    close = t(app.locale, "admin.nav.more_close")
    entries: list[ft.Control] = [
        ft.Container(
            col=6,
            content=marked_current(
                ft.TextButton(
                    content=ft.Text(
                        section_label(app, s),
                        max_lines=2,
                        overflow=ft.TextOverflow.ELLIPSIS,
                        weight=ft.FontWeight.BOLD if s.key == app.section else None,
                    ),
                    icon=s.icon,
                    on_click=on_pick,
                    data=s.key,
                    key=f"nav-{s.key}",
                    height=TAP + 4,
                    style=ft.ButtonStyle(
                        alignment=ft.Alignment.CENTER_LEFT,
                        shape=ft.RoundedRectangleBorder(radius=12),
                        bgcolor=CURRENT if s.key == app.section else None,
                    ),
                ),
                s.key == app.section,
            ),
        )
        for s in rest
    ]
    return ft.BottomSheet(
        content=ft.Container(
            content=ft.Column(
                [
                    ft.Row(
                        [
                            ft.Text(
                                t(app.locale, "admin.nav.more_title"),
                                size=18,
                                weight=ft.FontWeight.BOLD,
                                color=INK,
                                expand=True,
                            ),
                            icon_button(ft.Icons.CLOSE, close, on_close, key="more-close"),
                        ]
                    ),
                    ft.ResponsiveRow(entries, spacing=4, run_spacing=4),
                ],
                tight=True,
                spacing=8,
            ),
            padding=ft.Padding.only(left=16, right=16, top=8, bottom=16),
            key="more-sheet",  # on the content: a sheet keyed alike would be matched to the last one
        ),
        scrollable=True,  # as tall as the entries need, past the default 9/16 of the window
    )
