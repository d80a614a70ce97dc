"""The reason chips of the details screen and the complaint form: customer reasons (kiosk/backend.py
``Reason``), the first six shown until "更多 / More" is tapped."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flet as ft

from kiosk.ui import TAP_MIN
from rapport.core.i18n import t

if TYPE_CHECKING:
    from kiosk import backend
    from kiosk.host import KioskHost

SHOWN_FIRST = 6  # reasons shown before "更多 / More"


def reason_chips(
    app: KioskHost,
    reasons: list[backend.Reason],
    *,
    selected: list[str],
    show_all: bool,
    on_select: Any,
    on_more: Any,
    prefix: str,
    size: int = 18,
) -> list[ft.Control]:
    """A chip for each reason, at most SHOWN_FIRST of them until "更多 / More" is tapped (or a reason
    further down is already picked), then all. Used by the details screen and the complaint form."""
    locale = app.state.locale
    rest_picked = any(r.code in selected for r in reasons[SHOWN_FIRST:])
    shown = reasons if show_all or rest_picked else reasons[:SHOWN_FIRST]
    chips: list[ft.Control] = [
        ft.Chip(
            label=ft.Text(reason.label(locale), size=size),
            selected=reason.code in selected,
            on_select=on_select,
            data=reason.code,
            key=f"{prefix}-{reason.code}",
            height=TAP_MIN,
        )
        for reason in shown
    ]
    if len(shown) < len(reasons):
        chips.append(
            ft.TextButton(
                content=ft.Text(t(locale, "details.more"), size=size),
                icon=ft.Icons.EXPAND_MORE,
                on_click=on_more,
                key=f"{prefix}-more",
                height=TAP_MIN,
            )
        )
    return chips
