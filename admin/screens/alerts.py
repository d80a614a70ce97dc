"""Live alerts: new high-severity complaints, overdue ones, and bursts of low scores at a counter."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flet as ft

from admin import backend
from admin.screens.common import INK, MUTED, TAP
from rapport.core.i18n import fmt_datetime, pick, t

if TYPE_CHECKING:
    from admin.host import AdminHost

ICONS = {
    "high_complaint": (ft.Icons.PRIORITY_HIGH, "#B3261E"),
    "overdue": (ft.Icons.ALARM, "#7D5700"),
    "negative_burst": (ft.Icons.TRENDING_DOWN, "#B3261E"),
}


async def load(app: AdminHost) -> None:
    app.view["alerts"] = await app.call(backend.alerts)


def build(app: AdminHost) -> ft.Control:
    locale = app.locale

    async def on_open(e: ft.Event[Any]) -> None:
        await app.open_complaint(int(e.control.data))

    async def on_ack(e: ft.Event[Any]) -> None:
        await app.call(backend.acknowledge_alert, int(e.control.data))
        rows = await app.call(backend.alerts)
        app.view["alerts"], app.view["alerts_count"] = rows, len(rows)
        app.render()

    rows: list[backend.AlertRow] = app.view.get("alerts", [])
    items: list[ft.Control] = [
        ft.Text(t(locale, "admin.alerts.title"), size=24, weight=ft.FontWeight.BOLD, color=INK)
    ]
    if not rows:
        items.append(ft.Text(t(locale, "admin.alerts.none"), color=MUTED, key="alerts-empty"))
    for a in rows:
        icon, colour = ICONS.get(a.kind, (ft.Icons.NOTIFICATIONS, INK))
        where = " · ".join(
            x for x in (pick(locale, a.branch_zh, a.branch_en), pick(locale, a.counter_zh, a.counter_en)) if x
        )
        actions: list[ft.Control] = []
        if a.complaint_id:
            actions.append(
                ft.TextButton(
                    content=t(locale, "admin.alerts.open", id=a.complaint_id),
                    data=a.complaint_id,
                    on_click=on_open,
                    key=f"alert-open-{a.id}",
                    height=TAP,
                )
            )
        actions.append(
            ft.OutlinedButton(
                content=t(locale, "admin.alerts.ack"),
                data=a.id,
                on_click=on_ack,
                key=f"alert-ack-{a.id}",
                height=TAP,
            )
        )
        items.append(
            ft.Container(
                key=f"alert-{a.id}",
                bgcolor=ft.Colors.WHITE,
                border_radius=12,
                padding=12,
                content=ft.Row(
                    [
                        ft.Icon(icon, color=colour, size=32),
                        ft.Column(
                            [
                                ft.Text(
                                    t(locale, f"admin.alerts.kind.{a.kind}"),
                                    size=17,
                                    weight=ft.FontWeight.W_500,
                                ),
                                ft.Text(
                                    f"{where} · {fmt_datetime(locale, a.created_at)}", color=MUTED, size=14
                                ),
                            ],
                            spacing=2,
                            expand=True,
                        ),
                        *actions,
                    ],
                    wrap=False,
                ),
            )
        )
    return ft.Container(
        content=ft.Column(items, spacing=10, scroll=ft.ScrollMode.AUTO, expand=True), padding=16, expand=True
    )
