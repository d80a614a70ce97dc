"""The public status page of a complaint (/t/<code>): no account, no contact data, no names."""

from __future__ import annotations

from typing import TYPE_CHECKING

import flet as ft

from kiosk.screens.case_status import grade_row
from kiosk.screens.frame import form_width, frame
from kiosk.ui import INK, MUTED, TAP_MIN
from rapport.i18n import fmt_datetime, fmt_due, t

if TYPE_CHECKING:
    from kiosk.app import KioskApp


def lookup(app: KioskApp) -> ft.Control:
    locale = app.state.locale
    message = t(locale, app.state.message_key) if app.state.message_key else None
    field = ft.TextField(
        label=t(locale, "status.code"),
        value=app.state.enrol_draft,
        key="status-code",
        max_length=14,
        capitalization=ft.TextCapitalization.CHARACTERS,
        text_size=22,
        on_submit=app.on_status_lookup,
        error=message,
        error_max_lines=3,
        autofocus=True,
    )
    app.status_field = field
    body = ft.Column(
        [
            ft.Text(t(locale, "status.title"), size=26, weight=ft.FontWeight.BOLD, color=INK),
            ft.Text(t(locale, "status.lookup"), size=17, color=MUTED),
            field,
            ft.Button(
                content=ft.Text(t(locale, "status.search"), size=18),
                on_click=app.on_status_lookup,
                key="status-search",
                height=TAP_MIN,
                width=160,
            ),
        ],
        spacing=18,
        width=form_width(app, 520),
    )
    return frame(app, body)


def view(app: KioskApp) -> ft.Control:
    state = app.state
    locale = state.locale
    status = app.complaint_status
    assert status is not None
    tz = status.timezone
    rows: list[ft.Control] = [
        ft.Text(t(locale, "status.title"), size=26, weight=ft.FontWeight.BOLD, color=INK),
        ft.Text(app.status_code or "", size=22, color=MUTED, font_family="monospace"),
        ft.Text(
            t(locale, "status.current", status=t(locale, f"status.state.{status.status}")),
            size=20,
            weight=ft.FontWeight.W_500,
            color=INK,
            key="status-current",
        ),
    ]
    if status.status not in ("closed", "rejected"):
        due = fmt_due(locale, status.due_at, tz)
        # A complaint filed before promises were recorded (amount 0) shows its due time alone.
        promise = t(locale, f"promise.{status.promise_unit}", amount=status.promise_amount)
        line = t(locale, "status.due", promise=promise, due=due) if status.promise_amount else None
        rows.append(
            ft.Text(line or t(locale, "status.due_only", due=due), size=16, color=MUTED, key="status-due")
        )
        for n, ext in enumerate(status.extensions):
            extended = t(locale, "status.extended", reason=ext.reason, due=fmt_due(locale, ext.due_at, tz))
            rows.append(ft.Text(extended, size=16, color=INK, key=f"status-extended-{n}"))
    if status.reply:
        rows.append(
            ft.Container(
                content=ft.Column(
                    [
                        ft.Text(t(locale, "status.reply"), size=16, weight=ft.FontWeight.BOLD),
                        ft.Text(status.reply, size=16, selectable=True, key="status-reply"),
                    ]
                ),
                padding=16,
                border_radius=12,
                bgcolor=ft.Colors.WHITE,
            )
        )
    remedies = status.remedies_zh if locale == "zh-CN" else status.remedies_en
    if remedies:  # a bank's decision says what the customer may do next
        rows.append(ft.Text(remedies, size=16, color=INK, key="status-remedies"))
    if status.grade and not status.can_answer:
        graded = t(locale, "case_status.graded", grade=t(locale, f"case_status.grade.{status.grade}"))
        rows.append(ft.Text(graded, size=16, color=INK, key="status-graded"))
    if state.message_key:
        rows.append(ft.Text(t(locale, state.message_key), size=17, color="#1E4E8C", key="status-message"))
    if status.can_answer:
        rows += [
            ft.Text(t(locale, "status.ask"), size=18, weight=ft.FontWeight.W_500, color=INK),
            grade_row(locale, app.on_satisfied, "complaint-grade-"),
        ]
    rows.append(ft.Text(t(locale, "status.timeline"), size=18, weight=ft.FontWeight.BOLD, color=INK))
    for entry in status.timeline:
        rows.append(
            ft.Row(
                [
                    ft.Icon(ft.Icons.CIRCLE, size=10, color="#1E4E8C"),
                    ft.Text(fmt_datetime(locale, entry.at, tz), size=15, color=MUTED, width=190),
                    ft.Text(t(locale, f"status.event.{entry.kind}"), size=16, color=INK, expand=True),
                ],
                spacing=10,
            )
        )
    rows.append(
        ft.TextButton(
            content=ft.Text(t(locale, "status.another"), size=17),
            on_click=app.on_status_again,
            key="status-again",
            height=TAP_MIN,
        )
    )
    return frame(app, ft.Column(rows, spacing=14, width=form_width(app, 640)))
