"""Scheduled jobs for administrators: for each job its last run (when, how it went, how long, how
many items), when it runs next, and its last error. Read-only; a refresh button reloads."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import flet as ft

from admin import jobs as service
from admin.screens.common import INK, MUTED, TAP
from models.jobs import JobRunView
from rapport.core.i18n import fmt_datetime, fmt_number, t
from rapport.ui.a11y import spoken

if TYPE_CHECKING:
    from admin.host import AdminHost

STATUS_COLOURS = {"ok": "#2E7D32", "failed": "#B3261E", "running": "#7D5700"}


async def load(app: AdminHost) -> None:
    app.view["jobs"] = await app.call(service.job_overview)


def _duration(locale: str, span: timedelta | None) -> str:
    if span is None:
        return t(locale, "jobs.duration.unfinished")
    seconds = span.total_seconds()
    if seconds < 60:
        return t(locale, "jobs.duration.seconds", n=fmt_number(locale, seconds, 1))
    return t(locale, "jobs.duration.minutes", n=fmt_number(locale, seconds / 60, 1))


def _last_run(locale: str, run: JobRunView | None, key: str) -> list[ft.Control]:
    if run is None:
        return [ft.Text(t(locale, "jobs.never"), color=MUTED, key=f"{key}-last")]
    status = t(locale, f"jobs.status.{run.status}")
    items = t(locale, "jobs.items", done=run.items_done, failed=run.items_failed)
    line = t(
        locale,
        "jobs.last_run",
        at=fmt_datetime(locale, run.started_at),
        duration=_duration(locale, run.duration),
        items=items,
    )
    return [
        ft.Row(
            [
                ft.Text(status, color=STATUS_COLOURS.get(run.status, INK), weight=ft.FontWeight.BOLD),
                ft.Text(line, color=INK, key=f"{key}-last"),
            ],
            wrap=True,
            spacing=8,
        ),
        ft.Text(t(locale, "jobs.slot", slot=run.slot, runner=run.runner or "—"), color=MUTED, size=13),
    ]


def _card(app: AdminHost, row: service.JobRow) -> ft.Control:
    locale = app.locale
    key = f"job-{row.name}"
    lines: list[ft.Control] = [
        ft.Text(t(locale, f"jobs.name.{row.name}"), size=18, weight=ft.FontWeight.W_500, color=INK),
        ft.Text(t(locale, f"jobs.schedule.{row.name}"), color=MUTED, size=14),
        *_last_run(locale, row.last, key),
        ft.Text(
            t(locale, "jobs.next_run", at=fmt_datetime(locale, row.next_run))
            if row.next_run is not None
            else t(locale, f"jobs.not_here.{row.name}"),
            color=INK,
            key=f"{key}-next",
        ),
    ]
    failure = row.last_failure
    if failure is None:
        lines.append(ft.Text(t(locale, "jobs.no_error"), color=MUTED, key=f"{key}-error"))
    else:
        text = t(
            locale, "jobs.last_error", at=fmt_datetime(locale, failure.started_at), error=failure.error or "—"
        )
        lines.append(spoken(text, color=STATUS_COLOURS["failed"], key=f"{key}-error", selectable=True))
    return ft.Container(
        key=key,
        bgcolor=ft.Colors.WHITE,
        border_radius=12,
        padding=12,
        content=ft.Column(lines, spacing=4),
    )


def build(app: AdminHost) -> ft.Control:
    locale = app.locale
    rows: list[service.JobRow] = app.view.get("jobs", [])

    async def on_refresh(_e: ft.Event[Any]) -> None:
        await load(app)
        app.render()

    items: list[ft.Control] = [
        ft.Row(
            [
                ft.Text(t(locale, "jobs.title"), size=24, weight=ft.FontWeight.BOLD, color=INK, expand=True),
                ft.OutlinedButton(
                    content=t(locale, "jobs.refresh"),
                    icon=ft.Icons.REFRESH,
                    on_click=on_refresh,
                    key="jobs-refresh",
                    height=TAP,
                ),
            ],
            vertical_alignment=ft.CrossAxisAlignment.CENTER,
        ),
        ft.Text(t(locale, "jobs.intro"), color=MUTED, size=14),
    ]
    items += [_card(app, row) for row in rows]
    column = ft.Column(
        items,
        spacing=10,
        scroll=ft.ScrollMode.AUTO,
        expand=True,
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
    )
    return ft.Container(content=column, padding=16, expand=True)
