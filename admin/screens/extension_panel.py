"""The "extend the reply time" panel of a complaint's detail screen: the requests so far, asking for
the next one with a reason (the customer is told it), and an administrator's decision.

Its state and handlers live here (not on the app): the detail screen only places :func:`build`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import flet as ft

from admin import extensions as service
from admin.screens.common import ERROR, INK, MUTED, OK, TAP
from admin.screens.errors import Key, message_for
from models.auth import SessionExpired
from models.complaint import InvalidTransition
from models.errors import Forbidden, ValidationFailed
from models.extensions import ExtensionRefused
from rapport.core.i18n import fmt_datetime, fmt_due, t

if TYPE_CHECKING:
    from admin.host import AdminHost

log = logging.getLogger(__name__)
REFUSALS: dict[type[Exception], Key] = {  # a subclass before its base
    ExtensionRefused: lambda exc: f"admin.ext.error.{exc.reason}",
    ValidationFailed: "admin.ext.error.reason",
    Forbidden: "admin.ext.error.forbidden",
    InvalidTransition: "admin.ext.error.decided",
}
KEY = "extension"


@dataclass
class PanelState:
    complaint_id: int | None = None
    panel: service.Panel | None = None
    reason: str = ""
    message: str | None = None  # catalog key
    ok: bool = False
    values: dict[str, Any] = field(default_factory=dict)


def state(app: AdminHost) -> PanelState:
    v = app.view.get(KEY)
    if not isinstance(v, PanelState):
        v = app.view[KEY] = PanelState()
    return v


async def load(app: AdminHost, complaint_id: int) -> None:
    """Read the panel for a complaint (a new complaint starts with an empty draft and no message)."""
    v = state(app)
    if v.complaint_id != complaint_id:
        v.complaint_id, v.reason, v.message = complaint_id, "", None
    v.panel = await app.call(service.extensions, complaint_id)


def amount(locale: str, length: int, unit: str) -> str:
    return t(locale, f"promise.{unit}", amount=length)


def _row(locale: str, tz: str, r: service.ExtensionRow) -> ft.Control:
    lines: list[ft.Control] = [
        ft.Text(
            t(
                locale,
                "admin.ext.row",
                seq=r.seq,
                amount=amount(locale, r.length, r.unit),
                status=t(locale, f"admin.ext.status.{r.status}"),
            ),
            weight=ft.FontWeight.W_500,
            color=INK,
        ),  # fmt: skip
        ft.Text(t(locale, "admin.ext.reason", reason=r.reason), color=INK),
        ft.Text(
            t(locale, "admin.ext.asked", name=r.requested_by, at=fmt_datetime(locale, r.requested_at, tz)),
            size=14,
            color=MUTED,
        ),  # fmt: skip
    ]
    if r.decided_at is not None:
        lines.append(
            ft.Text(
                t(locale, "admin.ext.decided", name=r.decided_by, at=fmt_datetime(locale, r.decided_at, tz)),
                size=14,
                color=MUTED,
            )  # fmt: skip
        )
    if r.due_after is not None:
        lines.append(ft.Text(t(locale, "admin.ext.new_due", due=fmt_due(locale, r.due_after, tz)), color=INK))
    return ft.Column(lines, spacing=2, key=f"extension-{r.seq}")


def build(app: AdminHost, tz: str = "Asia/Shanghai") -> ft.Control:
    locale, v, h = app.locale, state(app), Handlers(app)
    p = v.panel
    parts: list[ft.Control] = [ft.Text(t(locale, "admin.ext.title"), weight=ft.FontWeight.BOLD, color=INK)]
    if p is None:
        return ft.Column(parts)
    parts += [_row(locale, tz, r) for r in p.rows]
    if p.can_request and p.next_length is not None:
        parts += [
            ft.TextField(
                label=t(locale, "admin.ext.reason_label"),
                value=v.reason,
                multiline=True,
                max_length=500,
                on_change=h.on_reason,
                key="extension-reason",
            ),  # fmt: skip
            ft.OutlinedButton(
                content=t(locale, "admin.ext.ask", amount=amount(locale, p.next_length, p.unit)),
                icon=ft.Icons.MORE_TIME,
                on_click=h.on_ask,
                key="extension-ask",
                height=TAP,
            ),  # fmt: skip
        ]
    if p.decidable is not None:
        parts.append(
            ft.Row(
                [
                    ft.Button(
                        content=t(locale, "admin.ext.approve"),
                        on_click=h.on_decide,
                        data=True,
                        key="extension-approve",
                        height=TAP,
                    ),  # fmt: skip
                    ft.OutlinedButton(
                        content=t(locale, "admin.ext.refuse"),
                        on_click=h.on_decide,
                        data=False,
                        key="extension-refuse",
                        height=TAP,
                    ),  # fmt: skip
                ],
                wrap=True,
                spacing=8,
            )
        )
    elif p.waiting_on_other:
        parts.append(ft.Text(t(locale, "admin.ext.waiting"), color=MUTED, key="extension-waiting"))
    if not p.rows and p.next_length is None:
        parts.append(ft.Text(t(locale, "admin.ext.none_allowed"), color=MUTED, key="extension-none"))
    if v.message:
        parts.append(
            ft.Text(t(locale, v.message, **v.values), color=OK if v.ok else ERROR, key="extension-message")
        )
    return ft.Container(
        content=ft.Column(parts, spacing=8),
        padding=12,
        border_radius=12,
        bgcolor=ft.Colors.WHITE,
        key="extension-panel",
    )


class Handlers:
    def __init__(self, app: AdminHost):
        self.app, self.v = app, state(app)

    async def on_reason(self, e: ft.Event[Any]) -> None:
        self.v.reason = e.control.value or ""

    async def _after(self, call: Any, *args: Any, done: str) -> None:
        v = self.v
        assert v.complaint_id is not None
        try:
            await self.app.call(call, *args)
        except SessionExpired:
            return
        except Exception as exc:
            key, values = message_for(exc, REFUSALS, log=log, failed="admin: extension step failed")
            v.message, v.ok, v.values = key, False, values
        else:
            v.message, v.ok, v.values, v.reason = done, True, {}, ""
        await self.app.reload_detail()

    async def on_ask(self, _e: ft.Event[Any]) -> None:
        v = self.v
        if not v.reason.strip():
            v.message, v.ok, v.values = "admin.ext.error.reason", False, {}
            self.app.render()
            return
        await self._after(service.ask, v.complaint_id, v.reason, done="admin.ext.asked_ok")

    async def on_decide(self, e: ft.Event[Any]) -> None:
        p = self.v.panel
        if p is None or p.decidable is None:
            return
        approve = bool(e.control.data)
        await self._after(
            service.decide,
            p.decidable,
            approve,
            done="admin.ext.approved_ok" if approve else "admin.ext.refused_ok",
        )
