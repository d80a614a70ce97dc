"""The complaint queue: filters, most urgent first, a countdown to each due time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import flet as ft

from admin import backend
from admin.screens import cases
from admin.screens.common import INK, MUTED, due_label, icon_button, is_narrow, named_dropdown, severity_badge
from models.auth import SessionExpired
from rapport.core.i18n import fmt_datetime, pick, t

if TYPE_CHECKING:
    from admin.host import AdminHost

KEY = "queue"
FILTERS = ("open", "overdue", "resolved", "closed", "all")


@dataclass
class QueueView:
    """The complaint queue as loaded, its status filter, and the severity and text that narrow it."""

    filter: str = "open"
    rows: list[backend.QueueRow] = field(default_factory=list)
    severity: str = "all"
    text: str = ""


def state(app: AdminHost) -> QueueView:
    v = app.view.get(KEY)
    if not isinstance(v, QueueView):
        v = app.view[KEY] = QueueView()
    return v


def rows(app: AdminHost) -> list[backend.QueueRow]:
    """The loaded queue (empty before it is first loaded), without creating the screen's state."""
    v = app.view.get(KEY)
    return v.rows if isinstance(v, QueueView) else []


async def load_rows(app: AdminHost) -> None:
    v = state(app)
    status = "open" if v.filter == "overdue" else v.filter
    v.rows = await app.call(backend.queue, status=status, overdue_only=v.filter == "overdue")


async def load(app: AdminHost) -> None:
    await load_rows(app)
    await cases.load(app)  # the open 差评 cases, shown above the complaints


async def refresh(app: AdminHost) -> None:
    """Read the queue again and redraw (the refresh button, a filter, back from a complaint)."""
    try:
        await load_rows(app)
    except SessionExpired:
        return
    app.render()


def build(app: AdminHost) -> ft.Control:
    if cases.state(app).open_id is not None:  # a 差评 case is open: its page instead of the queue
        return cases.page(app)
    locale = app.locale
    now = app.ctx.clock()
    v = state(app)

    async def on_filter(e: ft.Event[ft.Chip]) -> None:
        v.filter = str(e.control.data)
        await refresh(app)

    async def on_refresh(_e: ft.Event[Any]) -> None:
        await refresh(app)

    async def on_open(e: ft.Event[Any]) -> None:
        await app.open_complaint(int(e.control.data))

    chips: list[ft.Control] = [
        ft.Chip(
            label=ft.Text(t(locale, f"admin.queue.filter.{f}")),
            selected=v.filter == f,
            on_select=on_filter,
            data=f,
            key=f"filter-{f}",
        )
        for f in FILTERS
    ]
    chips.append(icon_button(ft.Icons.REFRESH, t(locale, "admin.queue.refresh"), on_refresh, key="refresh"))
    severity = v.severity
    needle = v.text.strip().lower()

    async def on_severity(e: ft.Event[Any]) -> None:
        v.severity = e.control.value or "all"
        app.render()

    async def on_text(e: ft.Event[Any]) -> None:
        v.text = e.control.value or ""
        app.render()

    refine = ft.Row(
        [
            # Named "<label>: <choice>" for a screen reader (Flutter leaves a dropdown's button unnamed).
            named_dropdown(
                t(locale, "admin.queue.severity"),
                severity,
                [(k, t(locale, f"admin.queue.severity.{k}")) for k in ("all", "high", "normal", "low")],
                key="filter-severity",
                width=180,
                on_select=on_severity,
            ),
            ft.TextField(
                label=t(locale, "admin.queue.search"),
                value=v.text,
                key="filter-text",
                # On a phone the whole width, so its label (longer in English) stays on one line.
                width=max(200, (app.page.width or 0) - 32) if is_narrow(app) else 400,
                on_submit=on_text,
                on_blur=on_text,
            ),
        ],
        wrap=True,
        spacing=12,
        run_spacing=8,
    )
    cards: list[ft.Control] = []
    # On a phone the status goes to the second line, leaving the first to the category's name (whole
    # words, not "Clear expla / nations" squeezed beside "Awaiting customer").
    narrow = is_narrow(app)
    for row in matching(v.rows, severity=severity, needle=needle):
        clock, at = row.next_due()
        due, overdue = due_label(locale, at, now, clock)
        active = row.status in ("new", "acknowledged", "investigating")
        where = " · ".join(
            x
            for x in (
                pick(locale, row.branch_zh, row.branch_en),
                pick(locale, row.counter_zh, row.counter_en),
                row.staff_name,
            )
            if x
        )
        cards.append(
            ft.Container(
                key=f"complaint-{row.id}",
                on_click=on_open,
                data=row.id,
                tooltip=t(locale, "admin.queue.open", id=row.id),
                bgcolor=ft.Colors.WHITE,
                border_radius=12,
                padding=14,
                content=ft.Column(
                    [
                        ft.Row(
                            [
                                severity_badge(locale, row.severity),
                                ft.Text(f"#{row.id}", color=MUTED),
                                ft.Text(
                                    pick(locale, row.category_zh, row.category_en),
                                    size=17,
                                    weight=ft.FontWeight.W_500,
                                    color=INK,
                                    expand=True,
                                ),
                                ft.Text(
                                    t(locale, f"admin.state.{row.status}"), color=MUTED, visible=not narrow
                                ),
                            ],
                            wrap=False,
                        ),
                        ft.Row(
                            [
                                ft.Text(where, color=MUTED, size=14, expand=True),
                                ft.Text(t(locale, f"admin.state.{row.status}"), color=MUTED, visible=narrow),
                            ],
                            vertical_alignment=ft.CrossAxisAlignment.START,
                        ),
                        ft.Row(
                            [
                                ft.Text(
                                    fmt_datetime(locale, row.created_at), size=14, color=MUTED, expand=True
                                ),
                                ft.Text(
                                    due,
                                    size=15,
                                    color="#B3261E" if overdue and active else INK,
                                    weight=ft.FontWeight.BOLD if overdue and active else None,
                                    visible=active,
                                ),
                            ]
                        ),
                    ],
                    spacing=4,
                ),
            )
        )
    if not cards:
        cards.append(ft.Text(t(locale, "admin.queue.empty"), color=MUTED, key="queue-empty"))
    body = ft.Column(
        [
            ft.Text(t(locale, "admin.queue.title"), size=24, weight=ft.FontWeight.BOLD, color=INK),
            *cases.block(app),
            ft.Text(t(locale, "cases.queue.complaints"), size=20, weight=ft.FontWeight.BOLD, color=INK)
            if cases.state(app).rows
            else ft.Container(),
            ft.Row(chips, wrap=True, spacing=8, run_spacing=8),
            refine,
            *cards,
        ],
        spacing=12,
        scroll=ft.ScrollMode.AUTO,
        expand=True,
    )
    return ft.Container(content=body, padding=16, expand=True)


def matching(rows: list[Any], *, severity: str, needle: str) -> list[Any]:
    """Narrow the loaded queue by severity and by text in branch, counter, person or category; "#23"
    is complaint 23 alone (not #230 or #123), the number a customer or a colleague quotes."""
    number = int(needle[1:]) if needle[:1] == "#" and needle[1:].isdigit() else None
    found = []
    for row in rows:
        if severity != "all" and row.severity != severity:
            continue
        if number is not None:
            if row.id == number:
                found.append(row)
            continue
        haystack = " ".join(
            x or ""
            for x in (
                row.branch_zh,
                row.branch_en,
                row.counter_zh,
                row.counter_en,
                row.staff_name,
                row.category_zh,
                row.category_en,
                f"#{row.id}",
            )
        ).lower()
        if needle and needle not in haystack:
            continue
        found.append(row)
    return found
