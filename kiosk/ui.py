"""Building blocks shared by the kiosk screens: sizes, colours, the header, rating faces."""

from __future__ import annotations

import flet as ft

from rapport.core.i18n import t
from rapport.ui import ui_theme

TAP_MIN = 56  # comfortably above the 48 px minimum tap target
FACES = {
    1: (ft.Icons.SENTIMENT_VERY_DISSATISFIED, "#C62828"),
    2: (ft.Icons.SENTIMENT_DISSATISFIED, "#EF6C00"),
    3: (ft.Icons.SENTIMENT_NEUTRAL, "#757575"),
    4: (ft.Icons.SENTIMENT_SATISFIED, "#2E7D32"),
    5: (ft.Icons.SENTIMENT_VERY_SATISFIED, "#1B5E20"),
}
# Text and background colours come from the shared theme (tests/unit/test_contrast.py measures them).
INK, MUTED, SURFACE, ACCENT = ui_theme.INK, ui_theme.MUTED, ui_theme.SURFACE, ui_theme.ACCENT


def is_narrow(page: ft.Page) -> bool:
    return (page.width or 1280) < 600


def language_button(locale: str, on_click: ft.ControlEventHandler[ft.TextButton]) -> ft.Control:
    return ft.TextButton(
        content=ft.Text(t(locale, "lang.switch"), size=18),
        icon=ft.Icons.TRANSLATE,
        on_click=on_click,
        tooltip=t(locale, "lang.switch.label"),
        key="lang",
        height=TAP_MIN,
    )


def header(title: str, subtitle: str, trailing: ft.Control | None) -> ft.Control:
    lines: list[ft.Control] = [ft.Text(title, size=20, weight=ft.FontWeight.BOLD, color=INK)]
    if subtitle:
        lines.append(ft.Text(subtitle, size=16, color=MUTED))
    texts = ft.Column(lines, spacing=2, expand=True, alignment=ft.MainAxisAlignment.CENTER)
    return ft.Container(
        content=ft.Row(
            [texts] + ([trailing] if trailing else []), vertical_alignment=ft.CrossAxisAlignment.CENTER
        ),
        padding=ft.Padding.symmetric(horizontal=20, vertical=12),
        bgcolor=ft.Colors.WHITE,
    )


def rating_button(
    locale: str, score: int, narrow: bool, on_click: ft.ControlEventHandler[ft.Button], *, width: float = 1280
) -> ft.Control:
    icon, colour = FACES[score]
    word = t(locale, f"kiosk.score.{score}")
    # Five buttons share the row: on a portrait tablet a long English word must still fit whole.
    word_size = 20 if width >= 1000 else 17
    if narrow:
        content: ft.Control = ft.Row(
            [ft.Icon(icon, size=44, color=colour), ft.Text(word, size=20, color=INK, expand=True)],
            spacing=16,
        )
        height = 72
    else:
        content = ft.Column(
            [
                ft.Icon(icon, size=88, color=colour),
                ft.Text(
                    word,
                    size=word_size,
                    color=INK,
                    text_align=ft.TextAlign.CENTER,
                    weight=ft.FontWeight.W_500,
                ),
            ],
            horizontal_alignment=ft.CrossAxisAlignment.CENTER,
            alignment=ft.MainAxisAlignment.CENTER,
            spacing=12,
        )
        height = 200
    return ft.Button(
        content=content,
        on_click=on_click,
        data=score,
        key=f"rate-{score}",
        bgcolor=ft.Colors.WHITE,
        style=ft.ButtonStyle(
            shape=ft.RoundedRectangleBorder(radius=20),
            padding=16 if narrow else ft.Padding.symmetric(horizontal=4, vertical=16),
        ),
        expand=not narrow,
        height=height,
    )
