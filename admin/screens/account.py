"""My account: set up an authenticator app (TOTP) by scanning a QR code, then confirm a code."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flet as ft

from admin import backend
from admin.screens.common import INK, MUTED, TAP
from models.errors import ValidationFailed
from rapport.core.i18n import t
from rapport.ui.a11y import spoken
from rapport.ui.qr import qr_png

if TYPE_CHECKING:
    from admin.host import AdminHost


async def load(app: AdminHost) -> None:
    app.view["account"] = await app.call(backend.totp_state)
    app.view.pop("account_error", None)


def build(app: AdminHost) -> ft.Control:
    locale = app.locale
    state: backend.TotpState | None = app.view.get("account")
    error = app.view.get("account_error")
    code = ft.TextField(
        label=t(locale, "admin.account.code"),
        key="totp-code",
        max_length=6,
        width=220,
        keyboard_type=ft.KeyboardType.NUMBER,
        error=t(locale, error) if error else None,
    )

    async def on_start(_e: ft.Event[Any]) -> None:
        try:
            app.view["account"] = await app.call(backend.totp_start)
        except ValidationFailed:
            app.view["account_error"] = "admin.account.already"
        app.render()

    async def on_confirm(_e: ft.Event[Any]) -> None:
        try:
            app.view["account"] = await app.call(backend.totp_confirm, code.value or "")
            app.view.pop("account_error", None)
        except ValidationFailed:
            app.view["account_error"] = "admin.account.wrong_code"
        app.render()

    items: list[ft.Control] = [
        ft.Text(t(locale, "admin.account.title"), size=24, weight=ft.FontWeight.BOLD, color=INK),
        ft.Text(t(locale, "admin.account.totp"), size=18, weight=ft.FontWeight.W_500),
    ]
    if state is not None and state.enrolled:
        items.append(ft.Text(t(locale, "admin.account.enrolled"), color="#2E7D32", key="totp-enrolled"))
    elif state is not None and state.pending_uri:
        items += [
            ft.Text(t(locale, "admin.account.scan"), color=MUTED),
            ft.Image(
                src=qr_png(state.pending_uri),
                width=200,
                height=200,
                semantics_label=t(locale, "admin.account.qr"),
            ),
            spoken(
                t(locale, "admin.account.secret", secret=state.pending_secret or ""),
                selectable=True,
                key="totp-secret",
                color=MUTED,
            ),
            code,
            ft.Button(
                content=t(locale, "admin.account.confirm"),
                on_click=on_confirm,
                key="totp-confirm",
                height=TAP,
            ),
        ]
    else:
        items += [
            ft.Text(t(locale, "admin.account.why"), color=MUTED),
            ft.Button(
                content=t(locale, "admin.account.start"),
                icon=ft.Icons.QR_CODE,
                on_click=on_start,
                key="totp-start",
                height=TAP,
            ),
        ]
        if error:
            items.append(ft.Text(t(locale, error), color="#B3261E"))
    return ft.Container(
        content=ft.Column(items, spacing=12, scroll=ft.ScrollMode.AUTO, expand=True), padding=16, expand=True
    )
