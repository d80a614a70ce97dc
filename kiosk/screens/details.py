"""Details after a tap: reason chips from the conduct catalog, an optional comment, and (after a low
score) the offer to file a formal complaint. The tap itself is already stored."""

from __future__ import annotations

from typing import TYPE_CHECKING

import flet as ft

from kiosk.screens.frame import form_width, frame
from kiosk.ui import INK, MUTED, TAP_MIN
from rapport.i18n import t

if TYPE_CHECKING:
    from kiosk.app import KioskApp

COMMENT_MAX = 500


def build(app: KioskApp) -> ft.Control:
    state = app.state
    locale = state.locale
    score = state.score or 3
    title_key = (
        "details.title.high" if score >= 4 else "details.title.low" if score <= 2 else "details.title.mid"
    )
    chips: list[ft.Control] = [
        ft.Chip(
            label=ft.Text(reason.label(locale), size=18),
            selected=reason.code in state.details.reasons,
            on_select=app.on_toggle_reason,
            data=reason.code,
            key=f"reason-{reason.code}",
            height=TAP_MIN,
        )
        for reason in app.reasons_for(state.polarity)
    ]
    comment = ft.TextField(
        label=t(locale, "details.comment"),
        helper=t(locale, "details.comment.hint"),
        helper_max_lines=3,
        value=state.details.comment,
        multiline=True,
        min_lines=2,
        max_lines=4,
        max_length=COMMENT_MAX,
        on_change=app.on_comment_change,
        key="comment",
    )
    actions: list[ft.Control] = [
        ft.Button(
            content=ft.Text(t(locale, "details.submit"), size=18),
            on_click=app.on_details_submit,
            key="details-submit",
            height=TAP_MIN,
            width=160,
        ),
        ft.TextButton(
            content=ft.Text(t(locale, "details.skip"), size=18),
            on_click=app.on_details_skip,
            key="details-skip",
            height=TAP_MIN,
        ),
    ]
    if state.offers_complaint:
        actions.append(
            ft.OutlinedButton(
                content=ft.Text(t(locale, "details.complain"), size=18),
                icon=ft.Icons.REPORT_OUTLINED,
                on_click=app.on_open_complaint,
                key="open-complaint",
                height=TAP_MIN,
            )
        )
    body = ft.Column(
        [
            ft.Text(t(locale, title_key), size=26, weight=ft.FontWeight.BOLD, color=INK, key="details-title"),
            ft.Text(t(locale, "details.hint"), size=16, color=MUTED),
            ft.Row(chips, wrap=True, spacing=10, run_spacing=10),
            comment,
            ft.Row(actions, wrap=True, spacing=12, run_spacing=12),
        ],
        spacing=18,
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        width=form_width(app, 860),
    )
    return frame(app, body)
