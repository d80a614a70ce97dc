"""After a complaint: an apology, the promised reply time, and the tracking code with its QR code."""

from __future__ import annotations

from typing import TYPE_CHECKING

import flet as ft

from kiosk.screens.frame import form_width, frame
from kiosk.ui import INK, MUTED, TAP_MIN
from rapport.core.i18n import fmt_due, t
from rapport.ui.a11y import spell_code, spoken
from rapport.ui.qr import qr_png

if TYPE_CHECKING:
    from kiosk.host import KioskHost


def build(app: KioskHost) -> ft.Control:
    state = app.state
    locale = state.locale
    filed = state.filed
    assert filed is not None
    tz = state.place.timezone if state.place else "Asia/Shanghai"
    body = ft.Column(
        [
            ft.Icon(ft.Icons.MARK_EMAIL_READ_OUTLINED, size=64, color="#1E4E8C"),
            spoken(
                t(locale, "complaint.done.title"),
                size=26,
                weight=ft.FontWeight.BOLD,
                color=INK,
                text_align=ft.TextAlign.CENTER,
                key="complaint-done-title",
            ),
            spoken(
                t(
                    locale,
                    "complaint.done.apology",
                    promise=t(locale, f"promise.{filed.promise_unit}", amount=filed.promise_amount),
                    due=fmt_due(locale, filed.due_at, tz),
                ),
                size=17,
                color=INK,
                text_align=ft.TextAlign.CENTER,
                key="complaint-done-apology",
            ),
            *code_block(app, filed.code),
            ft.Button(
                content=ft.Text(t(locale, "kiosk.thanks.done"), size=18),
                on_click=app.on_done,
                key="done",
                height=TAP_MIN,
                width=200,
            ),
        ],
        horizontal_alignment=ft.CrossAxisAlignment.CENTER,
        spacing=14,
        width=form_width(app, 640),
    )
    return frame(app, body)


def code_block(app: KioskHost, code: str) -> list[ft.Control]:
    """The tracking code, its QR code for the status page, and where to look it up: after a
    complaint and after a 差评 alike."""
    locale = app.state.locale
    return [
        spoken(t(locale, "complaint.done.code"), size=16, color=MUTED),
        # Selectable (a phone can copy it) and spelled out for a screen reader, in its groups.
        spoken(
            code,
            label=spell_code(locale, code),
            selectable=True,
            size=40,
            weight=ft.FontWeight.BOLD,
            color=INK,
            key="tracking-code",
            font_family="monospace",
        ),  # fmt: skip
        ft.Image(
            src=qr_png(f"{app.public_url}/t/{code}"),
            width=180,
            height=180,
            semantics_label=t(locale, "complaint.done.qr"),
        ),  # fmt: skip
        spoken(
            t(locale, "complaint.done.code.hint", url=f"{app.public_url}/t"),
            size=15,
            color=MUTED,
            text_align=ft.TextAlign.CENTER,
        ),  # fmt: skip
    ]
