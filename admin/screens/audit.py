"""The audit log for administrators: newest first, filtered by action, and a chain check."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flet as ft

from admin import backend
from admin.screens.common import INK, MUTED, TAP
from rapport.core.i18n import fmt_datetime, t

if TYPE_CHECKING:
    from admin.host import AdminHost


async def load(app: AdminHost, *, verify_chain: bool = False) -> None:
    prefix = app.view.get("audit_filter", "")
    app.view["audit"] = await app.call(backend.audit_log, action_prefix=prefix, verify_chain=verify_chain)


def build(app: AdminHost) -> ft.Control:
    locale = app.locale
    page: backend.AuditPage | None = app.view.get("audit")

    async def on_filter(e: ft.Event[Any]) -> None:
        app.view["audit_filter"] = e.control.value or ""
        await load(app)
        app.render()

    async def on_verify(_e: ft.Event[Any]) -> None:
        await load(app, verify_chain=True)
        app.render()

    items: list[ft.Control] = [
        ft.Text(t(locale, "admin.audit.title"), size=24, weight=ft.FontWeight.BOLD, color=INK),
        ft.Row(
            [
                ft.TextField(
                    label=t(locale, "admin.audit.filter"),
                    value=app.view.get("audit_filter", ""),
                    on_submit=on_filter,
                    key="audit-filter",
                    width=320,
                ),
                ft.Button(
                    content=t(locale, "admin.audit.verify"),
                    icon=ft.Icons.VERIFIED_OUTLINED,
                    on_click=on_verify,
                    key="audit-verify",
                    height=TAP,
                ),
            ],
            wrap=True,
        ),
    ]
    if page is not None and page.chain_ok is not None:
        if page.chain_ok:
            text, colour = t(locale, "admin.audit.ok", n=page.chain_entries), "#2E7D32"
        else:
            text, colour = t(locale, "admin.audit.broken", id=page.first_broken), "#B3261E"
        items.append(ft.Text(text, color=colour, size=16, weight=ft.FontWeight.BOLD, key="audit-result"))
    for row in page.rows if page else []:
        items.append(
            ft.Row(
                [
                    ft.Text(f"#{row.id}", width=60, color=MUTED),
                    ft.Text(fmt_datetime(locale, row.at), width=180, color=MUTED),
                    ft.Text(row.action, width=220, color=INK),
                    ft.Text(f"{row.entity} {row.entity_id}", width=140, color=MUTED),
                    ft.Text(row.actor or "—", expand=True, color=MUTED),
                ],
                key=f"audit-{row.id}",
            )
        )
    return ft.Container(
        content=ft.Column(items, spacing=8, scroll=ft.ScrollMode.AUTO, expand=True), padding=16, expand=True
    )
