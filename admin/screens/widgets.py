"""The admin screens' shared pieces of look: a white card, its heading, a titled card, a field's error
line and the primary button. A screen builds from these rather than from its own copy, so every card
has the same corners and padding and every primary action the same tap height; the key (and so what
the browser and UI tests find) is always the caller's."""

from __future__ import annotations

from typing import Any

import flet as ft

from admin.screens.common import ERROR, INK, TAP


def card(
    *controls: ft.Control,
    key: Any = None,
    spacing: int = 6,
    padding: int = 14,
    bgcolor: str = ft.Colors.WHITE,
    col: Any = 12,
    stretch: bool = False,
) -> ft.Container:
    """A white card with rounded corners holding ``controls`` one under another; ``col`` is its width
    in a ResponsiveRow (12, the whole row, by default) and ``stretch`` widens each line to the card."""
    column = ft.Column(
        list(controls),
        spacing=spacing,
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH if stretch else ft.CrossAxisAlignment.START,
    )
    return ft.Container(content=column, bgcolor=bgcolor, border_radius=12, padding=padding, key=key, col=col)


def heading(text: str) -> ft.Text:
    """A card's title."""
    return ft.Text(text, size=18, weight=ft.FontWeight.BOLD, color=INK)


def titled_card(title: str, controls: list[ft.Control], key: Any) -> ft.Container:
    """A card under a heading: a section of a settings page (rules, presets, the calendar)."""
    return card(heading(title), *controls, key=key, spacing=8)


def error_line(text: str | None, key: str) -> ft.Text:
    """What is wrong with the field above, in red; there (hidden) when nothing is, so it can be updated."""
    return ft.Text(text or "", color=ERROR, visible=bool(text), key=key)


def primary_button(
    label: str, on_click: Any, key: str, icon: ft.IconData | None = None, **kw: Any
) -> ft.Button:
    """The action a form or card is for: a filled button a finger can hit (``kw``: data, disabled...)."""
    return ft.Button(content=label, icon=icon, on_click=on_click, key=key, height=TAP, **kw)


def scroll_key(name: str) -> ft.ScrollKey:
    """A key a page can scroll to (``page.scroll_to(scroll_key=name)``) and tests still find by name."""
    return ft.ScrollKey(name)  # type: ignore[call-arg]  # a dataclass mypy cannot see
