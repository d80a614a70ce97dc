"""Admin app. In this first step it is an honest placeholder: it says on screen that sign-in and the
workspaces are not built yet, and links back to the customer page. Nothing here reads data."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import flet as ft

from rapport.context import AppContext
from rapport.i18n import other_locale, t
from rapport.ui_theme import apply_theme


def build_admin_main(ctx: AppContext) -> Callable[[ft.Page], Awaitable[None]]:
    async def main(page: ft.Page) -> None:
        locale = ctx.settings.locale
        apply_theme(page, t(locale, "admin.title"))

        def render() -> None:
            page.controls = [
                ft.SafeArea(
                    content=ft.Container(
                        padding=32,
                        content=ft.Column(
                            [
                                ft.Row(
                                    [
                                        ft.Text(
                                            t(locale, "admin.title"),
                                            size=24,
                                            weight=ft.FontWeight.BOLD,
                                            expand=True,
                                        ),
                                        ft.TextButton(
                                            content=t(locale, "lang.switch"),
                                            icon=ft.Icons.TRANSLATE,
                                            on_click=toggle,
                                            key="lang",
                                            height=48,
                                        ),
                                    ]
                                ),
                                ft.Icon(ft.Icons.CONSTRUCTION, size=64),
                                ft.Text(
                                    t(locale, "admin.placeholder.title"), size=22, key="placeholder-title"
                                ),
                                ft.Text(t(locale, "admin.placeholder.body"), size=16),
                                ft.TextButton(
                                    content=t(locale, "admin.placeholder.kiosk"), url="/", height=48
                                ),
                            ],
                            spacing=16,
                        ),
                    )
                )
            ]
            page.update()

        async def toggle(_e: ft.Event[Any]) -> None:
            nonlocal locale
            locale = other_locale(locale)
            render()

        render()

    return main
