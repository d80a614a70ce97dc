"""Look shared by the kiosk and admin apps: the bundled CJK font and a calm colour scheme.

Every colour text is drawn in is named here, and Flutter's own text colours (a button's words, a
field's label, its counter and hint, an error) are pinned to them in the colour scheme instead of
being derived from the seed, so tests/unit/test_contrast.py can measure each against the
backgrounds it sits on (WCAG 2.x: at least 4.5:1; docs/ACCESSIBILITY.md)."""

from __future__ import annotations

import flet as ft

from rapport.core.context import FONT_FAMILY

FONT_FILE = "fonts/NotoSansSC-Rapport-Regular.otf"

# Text colours.
INK = "#1A1C1E"  # body text and titles (Material 3's on-surface)
MUTED = "#44474E"  # secondary text, field labels, counters and hints (Material 3's on-surface-variant)
ACCENT = "#1E4E8C"  # the seed: buttons' words, links, messages that something worked
ERROR = "#B3261E"  # what went wrong, a field to fix
# Backgrounds text is drawn on (the lightest first).
WHITE = "#FFFFFF"  # cards, buttons, the header
SURFACE = "#F5F7FA"  # the page
SELECTED = "#DCE3F0"  # a selected tab, an avatar
BACKGROUNDS = (WHITE, SURFACE, SELECTED)
TEXT_COLOURS = {"ink": INK, "muted": MUTED, "accent": ACCENT, "error": ERROR}


def rgb(colour: str) -> tuple[float, float, float] | None:
    """``#RRGGBB`` (or ``#AARRGGBB``) as three channels from 0 to 1; None for anything else."""
    value = colour.strip().lstrip("#")
    if len(value) == 8:  # ARGB: the colour without its alpha
        value = value[2:]
    if len(value) != 6:
        return None
    try:
        return (int(value[0:2], 16) / 255, int(value[2:4], 16) / 255, int(value[4:6], 16) / 255)
    except ValueError:
        return None


def _luminance(channels: tuple[float, float, float]) -> float:
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(foreground: str, background: str) -> float:
    """WCAG 2.x contrast ratio of two colours (1 to 21): what tests/unit/test_contrast.py holds every
    text colour to, and what large text (kiosk/large_text.py) darkens colours until they reach."""
    fg, bg = rgb(foreground), rgb(background)
    if fg is None or bg is None:
        raise ValueError(f"not a #RRGGBB colour: {foreground!r} / {background!r}")
    high, low = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def color_scheme() -> ft.ColorScheme:
    """The seed's scheme, with the roles Flutter draws text in pinned to the colours above."""
    return ft.ColorScheme(
        primary=ACCENT,
        on_primary=WHITE,
        on_surface=INK,
        on_surface_variant=MUTED,
        error=ERROR,
        on_error=WHITE,
    )


def apply_theme(page: ft.Page, title: str) -> None:
    # Without a bundled CJK font, Flutter web draws Chinese as boxes when offline.
    page.fonts = {FONT_FAMILY: FONT_FILE}
    page.theme = ft.Theme(
        font_family=FONT_FAMILY, color_scheme_seed=ACCENT, color_scheme=color_scheme(), use_material3=True
    )
    page.theme_mode = ft.ThemeMode.LIGHT
    page.title = title
    page.padding = 0
    page.spacing = 0
