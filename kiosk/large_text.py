"""大字模式 (large text, issue 19): the customer screens at SCALE times their size, in high contrast.

The mode is applied once, at the root: after a screen is built the app hands its control tree to
``enlarge``, which multiplies every text size (an explicit ``size``, a field's text and labels, or
Flutter's default when none is given), every icon and avatar, and the height of every button and
tappable box (so bigger words never clip in a fixed-height button), and darkens any text colour whose
contrast on the kiosk's light surface is below CONTRAST_MIN. Screens keep their own sizes and know
nothing of the mode, except welcome (the toggle, a simpler one-column layout) and the thank-you
countdown, which in this mode never runs out before the policy's idle time.

A counter tablet drops the mode with every reset (the next customer starts at normal size); a phone
keeps it in the browser's storage under PREF_KEY, as the counter keeps its device token.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import flet as ft

from kiosk.ui import INK, SURFACE, TAP_MIN
from rapport.core.i18n import t
from rapport.ui import ui_theme

SCALE = 1.5  # at least 1.5 times the normal size (适老化: large text)
CONTRAST_MIN = 7.0  # WCAG AAA for normal text, dark on light
PREF_KEY = "rapport.large_text"  # the phone's browser storage: "1" while the mode is on
# Flutter's Material 3 sizes where a control gives none (bodyMedium, a field's text, helper, icon).
DEFAULT_TEXT = 14.0
DEFAULT_FIELD_TEXT = 16.0
DEFAULT_FIELD_SMALL = 12.0
DEFAULT_ICON = 24.0
BUTTON_INK = ui_theme.ACCENT  # a button's words where the button gives no colour: the theme's seed, 8:1
BACKGROUND = SURFACE  # the darkest light surface a customer text stands on (cards are white)
_FIELD_STYLES = {"label_style": DEFAULT_FIELD_TEXT, "hint_style": DEFAULT_FIELD_TEXT,
                 "helper_style": DEFAULT_FIELD_SMALL, "counter_style": DEFAULT_FIELD_SMALL,
                 "error_style": DEFAULT_FIELD_SMALL}  # fmt: skip
_BUTTONS = (ft.Button, ft.TextButton, ft.OutlinedButton)
# A chip is left at its height (TAP_MIN): its one line of larger words still fits, without gaps.
_TAPPABLE = (*_BUTTONS, ft.FilledButton, ft.IconButton)


def _tappable(control: ft.BaseControl) -> bool:
    return isinstance(control, _TAPPABLE) or (isinstance(control, ft.Container) and bool(control.on_click))


# -- contrast ----------------------------------------------------------------------------------
def contrast(foreground: str, background: str = BACKGROUND) -> float:
    """WCAG contrast ratio of a colour on the kiosk's light surface (or ``background``)."""
    return ui_theme.contrast(foreground, background)


def darkened(colour: str, minimum: float = CONTRAST_MIN) -> str:
    """The colour, or the same hue darkened step by step until it reaches ``minimum`` on BACKGROUND
    (an error stays red, a link blue). Names and unknown forms are left alone."""
    rgb = ui_theme.rgb(colour) if colour.startswith("#") else None
    if rgb is None:
        return colour
    for step in range(21):
        factor = 1 - step * 0.05
        candidate = "#" + "".join(f"{round(c * factor * 255):02X}" for c in rgb)
        if contrast(candidate) >= minimum:
            return candidate
    return INK


# -- the tree walk -----------------------------------------------------------------------------
def children(control: ft.BaseControl) -> Iterator[ft.BaseControl]:
    """Every control held in a field of ``control`` (content, controls, label, icon, ...)."""
    for f in dataclasses.fields(control):
        if f.metadata.get("skip") or f.name.startswith("_"):
            continue
        value = getattr(control, f.name, None)
        if isinstance(value, ft.BaseControl):
            yield value
        elif isinstance(value, (list, tuple)):
            yield from (v for v in value if isinstance(v, ft.BaseControl))


def walk(control: ft.BaseControl) -> Iterator[ft.BaseControl]:
    yield control
    for child in children(control):
        yield from walk(child)


def _style(style: ft.TextStyle | None, default: float) -> ft.TextStyle:
    if style is None:
        return ft.TextStyle(size=default * SCALE)
    return dataclasses.replace(style, size=(style.size or default) * SCALE)


def _enlarge_one(control: ft.BaseControl, max_width: float) -> None:
    if isinstance(control, ft.Text):
        control.size = (control.size or DEFAULT_TEXT) * SCALE
        if isinstance(control.color, str):
            control.color = darkened(control.color)
    elif isinstance(control, ft.Icon):
        control.size = (control.size or DEFAULT_ICON) * SCALE
    elif isinstance(control, ft.CircleAvatar) and control.radius:
        control.radius *= SCALE
    elif isinstance(control, ft.TextField):
        control.text_size = (control.text_size or DEFAULT_FIELD_TEXT) * SCALE
        for name, default in _FIELD_STYLES.items():
            setattr(control, name, _style(getattr(control, name), default))
    if isinstance(control, ft.LayoutControl) and _tappable(control):
        # A fixed size grows with its words; a free one follows them anyway.
        if control.height:
            control.height *= SCALE
        if control.width:
            control.width = min(control.width * SCALE, max_width)


def enlarge(root: ft.BaseControl, *, max_width: float) -> ft.BaseControl:
    """Scale a freshly built screen in place (see the module's docstring); returns ``root``.
    ``max_width`` caps a fixed-width button, which must never get wider than the screen."""
    for control in list(walk(root)):
        _enlarge_one(control, max_width)
        if isinstance(control, _BUTTONS) and not isinstance(control, ft.FilledButton):
            # Material's lighter primary on a light button is below 7:1: the words go darker.
            for inner in walk(control):
                if isinstance(inner, ft.Text) and inner.color is None:
                    inner.color = BUTTON_INK
    return root


# -- the mode's timing and its toggle ----------------------------------------------------------
def thanks_seconds(normal: int, idle_seconds: int, *, on: bool) -> int:
    """The thank-you countdown: in large text never shorter than the policy's idle time."""
    return max(normal, idle_seconds) if on else normal


def toggle(locale: str, on: bool, on_click: Any) -> ft.Control:
    """One large switch, 大字 / Large text: a bordered pill with its word and an on/off mark. In the
    accessibility tree it is one switch named by its word, checked while the mode is on."""
    word = t(locale, "kiosk.large_text")
    mark = ft.Icon(ft.Icons.TOGGLE_ON if on else ft.Icons.TOGGLE_OFF, size=40,
                   color=INK if on else "#5F6368")  # fmt: skip
    pill = ft.Container(
        content=ft.Row(
            [
                ft.Icon(ft.Icons.TEXT_INCREASE, size=28, color=INK),
                ft.Text(word, size=22, weight=ft.FontWeight.BOLD, color=INK),
                mark,
            ],
            spacing=10,
            tight=True,
            vertical_alignment=ft.CrossAxisAlignment.CENTER,
        ),  # fmt: skip
        on_click=on_click,
        ink=True,
        height=TAP_MIN + 8,
        padding=ft.Padding.symmetric(horizontal=18),
        border=ft.Border.all(2, INK),
        border_radius=32,
        bgcolor="#FFF4CC" if on else ft.Colors.WHITE,
        key="large-text",
    )
    return ft.Semantics(content=pill, toggled=on, container=True)
