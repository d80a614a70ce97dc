"""Small shared pieces of my page (admin/screens/me.py): colours, number and date formats, tags and
stars (its cards and headings are admin/screens/widgets.py's)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import flet as ft
from babel.dates import format_date
from babel.numbers import format_decimal

from admin import staff_portal as portal
from rapport.core.i18n import fmt_datetime, join

RED, AMBER, GREEN, BLUE, GREY, GRID = "#B3261E", "#7D5700", "#2E6B3A", "#1E4E8C", "#8FA7CC", "#E0E3EA"
HALF = {"xs": 12, "md": 6}  # side by side from 768 px, stacked on a phone


def num(locale: str, value: float | None) -> str:
    return "—" if value is None else format_decimal(round(value, 2), "0.00", locale=locale.replace("-", "_"))


def day(locale: str, value: date | datetime, tz: str) -> str:
    if isinstance(value, datetime):
        value = value.astimezone(ZoneInfo(tz)).date()
    return str(format_date(value, "medium", locale=locale.replace("-", "_")))


def when(locale: str, value: datetime, tz: str) -> str:
    return fmt_datetime(locale, value, tz)


def clauses(locale: str, clauses: tuple[portal.Clause, ...]) -> str:
    return join(locale, (f"{c.short(locale)} ({c.code})" for c in clauses))


def tag(text: str, colour: str) -> ft.Control:
    return ft.Container(
        content=ft.Text(text, size=13, color=ft.Colors.WHITE),
        bgcolor=colour,
        padding=ft.Padding.symmetric(horizontal=8, vertical=2),
        border_radius=8,
    )


def stars(score: int) -> ft.Control:
    colour = RED if score <= 2 else AMBER if score == 3 else GREEN
    return ft.Text("★" * score + "☆" * (5 - score), size=18, color=colour)


def note(message: str, ok: bool) -> ft.Control:
    """The answer to the last action: blue when it worked, red when it did not."""
    return ft.Text(message, color=BLUE if ok else RED, key="me-message", weight=ft.FontWeight.W_500)
