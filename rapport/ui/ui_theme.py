"""Look shared by the kiosk and admin apps: the bundled CJK font and a calm colour scheme."""

from __future__ import annotations

import flet as ft

from rapport.core.context import FONT_FAMILY

FONT_FILE = "fonts/NotoSansSC-Rapport-Regular.otf"


def apply_theme(page: ft.Page, title: str) -> None:
    # Without a bundled CJK font, Flutter web draws Chinese as boxes when offline.
    page.fonts = {FONT_FAMILY: FONT_FILE}
    page.theme = ft.Theme(font_family=FONT_FAMILY, color_scheme_seed="#1E4E8C", use_material3=True)
    page.theme_mode = ft.ThemeMode.LIGHT
    page.title = title
    page.padding = 0
    page.spacing = 0
