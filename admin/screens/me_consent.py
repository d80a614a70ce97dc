"""My consent to be named in public, on my page: the Service Star is named on my branch's counter
tablets only while I agree (个人信息保护法 §25, docs/RULES-CITED.md §4). One card says what is shown,
where, and since when I agree; one button gives or withdraws it, at any time."""

from __future__ import annotations

from typing import TYPE_CHECKING

import flet as ft

from admin import staff_portal as portal
from admin.screens.common import INK, MUTED, TAP
from rapport.core.i18n import fmt_datetime, t

if TYPE_CHECKING:
    from admin.screens.me_state import MeHandlers as Handlers


def card(locale: str, me: portal.Me, h: Handlers) -> ft.Control:
    agreed = me.public_consent_at is not None
    state = (
        t(locale, "me.consent.yes", since=fmt_datetime(locale, me.public_consent_at, me.tz))
        if me.public_consent_at is not None
        else t(locale, "me.consent.no")
    )
    button = (ft.OutlinedButton if agreed else ft.Button)(
        content=t(locale, "me.consent.withdraw" if agreed else "me.consent.give"),
        icon=ft.Icons.VISIBILITY_OFF_OUTLINED if agreed else ft.Icons.VISIBILITY_OUTLINED,
        on_click=h.on_consent,
        data=not agreed,
        key="me-consent-withdraw" if agreed else "me-consent-give",
        height=TAP,
    )
    return ft.Container(
        content=ft.Column(
            [
                ft.Text(t(locale, "me.consent.title"), size=18, weight=ft.FontWeight.BOLD, color=INK),
                ft.Text(t(locale, "me.consent.what"), color=MUTED),
                ft.Text(state, color=INK, key="me-consent-state", weight=ft.FontWeight.W_500),
                ft.Row([button], wrap=True),
            ],
            spacing=8,
        ),
        padding=16,
        border_radius=12,
        bgcolor=ft.Colors.WHITE,
        key="me-consent",
    )
