"""The hotline screen's 12345 card: a month's work orders, each with where it stands and its result,
the three rates as "n/N (x%)" ('–' when there is nothing to count), and the month as CSV.

Shown to those who may see complaints (supervisors, administrators; admin/hotline.py
``WORK_ORDER_ROLES``); counter staff who take calls see the form only. The month chosen and what
was fetched live in ``app.view["work_orders"]``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import flet as ft

from admin import hotline
from admin.screens.common import ERROR, INK, MUTED, OK
from admin.screens.errors import message_for
from admin.screens.widgets import card, heading, primary_button
from models.auth import SessionExpired
from models.complaint.work_order import Rate, WorkOrderMonth, WorkOrderResult
from models.errors import ValidationFailed
from models.scores import Month, local_month
from rapport.core.i18n import fmt_datetime, fmt_number, pick, t

if TYPE_CHECKING:
    from admin.host import AdminHost

log = logging.getLogger(__name__)
RATES = ("responded", "resolved", "satisfied")


@dataclass
class WorkOrdersView:
    month: str = ""
    data: WorkOrderMonth | None = None
    month_error: str | None = None  # catalog key
    message: str | None = None  # catalog key
    values: dict[str, object] | None = None
    ok: bool = False
    busy: bool = False


def shown_to(app: AdminHost) -> bool:
    return app.user is not None and app.user.role in hotline.WORK_ORDER_ROLES


def _state(app: AdminHost) -> WorkOrdersView:
    view = app.view.get("work_orders")
    if not isinstance(view, WorkOrdersView):
        view = app.view["work_orders"] = WorkOrdersView()
    return view


def rate_text(locale: str, rate: Rate) -> str:
    """``n/N (x%)``, or '–' when N is 0."""
    if rate.share is None:
        return "–"
    return f"{rate.count}/{rate.of} ({fmt_number(locale, rate.share * 100)}%)"


async def load(app: AdminHost) -> None:
    if not shown_to(app):
        return
    v = _state(app)
    if not v.month:
        v.month = str(local_month(app.ctx.clock(), hotline.DEFAULT_TZ))
    await _fetch(app, v)


def _month_ok(v: WorkOrdersView) -> bool:
    """The month is written YYYY-MM (checked here: the service's refusal is then a future month)."""
    try:
        Month.parse(v.month)
    except ValidationFailed:
        v.month_error, v.data = "work_orders.error.month_format", None
        return False
    return True


async def _fetch(app: AdminHost, v: WorkOrdersView) -> bool:
    v.month_error = v.message = None
    if not _month_ok(v):
        return False
    try:
        v.data = await app.call(hotline.work_orders, month=v.month)
        return True
    except SessionExpired:
        return False
    except ValidationFailed as exc:
        _month_problem(v, exc)
    except Exception as exc:
        v.message, _ = message_for(exc, {}, log=log, failed="admin: work orders failed")
    v.data = None
    return False


def _month_problem(v: WorkOrdersView, exc: ValidationFailed) -> None:
    if exc.field == "month":
        v.month_error = "work_orders.error.month_future"
    else:
        v.message = "work_orders.error.generic"


def _order(locale: str, o: WorkOrderResult) -> ft.Control:
    state = t(locale, f"work_orders.state.{o.state.value}")
    title = t(
        locale, "work_orders.row.title", number=o.work_order_no, id=o.complaint_id,
        code=o.tracking_code or "–", state=state,
    )  # fmt: skip
    detail = t(
        locale, "work_orders.row.detail", branch=pick(locale, o.branch_name_zh, o.branch_name_en),
        received=fmt_datetime(locale, o.received_at, o.timezone),
        responded=t(locale, f"work_orders.responded.{'yes' if o.responded else 'no'}"),
        resolved=t(locale, f"work_orders.resolved.{'yes' if o.resolved else 'no'}"),
        grade=t(locale, f"work_orders.grade.{o.grade or 'none'}"),
    )  # fmt: skip
    if o.closed_at is not None:
        closed = fmt_datetime(locale, o.closed_at, o.timezone)
        detail += " · " + t(locale, "work_orders.row.closed", closed=closed)
    lines: list[ft.Control] = [
        ft.Text(title, weight=ft.FontWeight.BOLD, color=INK, selectable=True),
        ft.Text(detail, color=MUTED),
    ]
    return ft.Container(ft.Column(lines, spacing=2), key=f"wo-order-{o.work_order_no}", padding=4)


def build_card(app: AdminHost) -> ft.Control:
    locale, v = app.locale, _state(app)

    async def on_month(e: ft.Event[Any]) -> None:
        v.month = (e.control.value or "").strip()

    async def show(_e: ft.Event[Any]) -> None:
        if v.busy:
            return
        v.busy = True
        try:
            await _fetch(app, v)
        finally:
            v.busy = False
        app.render()

    async def download(_e: ft.Event[Any]) -> None:
        if v.busy:
            return
        v.month_error = v.message = None
        if not _month_ok(v):
            app.render()
            return
        v.busy = True
        try:
            made = await app.call(hotline.work_orders_export, month=v.month, locale=locale)
            await ft.FilePicker().save_file(file_name=made.file_name, src_bytes=made.data)
            v.message, v.values, v.ok = "work_orders.downloaded", {"name": made.file_name}, True
        except SessionExpired:
            return
        except ValidationFailed as exc:
            _month_problem(v, exc)
        except Exception as exc:
            v.message, _ = message_for(exc, {}, log=log, failed="admin: work orders export failed")
            v.ok = False
        finally:
            v.busy = False
        app.render()

    month = ft.TextField(
        label=t(locale, "work_orders.month"), value=v.month, key="wo-month", width=200, on_change=on_month,
        error=t(locale, v.month_error) if v.month_error else None,
    )  # fmt: skip
    controls: list[ft.Control] = [
        heading(t(locale, "work_orders.title")),
        ft.Text(t(locale, "work_orders.intro"), color=MUTED),
        ft.Row(
            [
                month,
                primary_button(
                    t(locale, "work_orders.show"), show, "wo-show", ft.Icons.REFRESH, disabled=v.busy
                ),
                ft.OutlinedButton(
                    content=t(locale, "work_orders.download"), icon=ft.Icons.DOWNLOAD, on_click=download,
                    key="wo-download", disabled=v.busy or v.data is None,
                ),
            ],
            wrap=True,
            vertical_alignment=ft.CrossAxisAlignment.START,
        ),
    ]  # fmt: skip
    if v.message:
        text = t(locale, v.message, **(v.values or {})) if v.ok else t(locale, v.message)
        controls.append(ft.Text(text, color=OK if v.ok else ERROR, key="wo-message"))
    data = v.data
    if data is not None:
        for name in RATES:
            label = t(locale, f"work_orders.rate.{name}")
            value = rate_text(locale, getattr(data, name))
            line = t(locale, "work_orders.rate_line", label=label, value=value)
            controls.append(ft.Text(line, key=f"wo-{name}", color=INK))
        if not data.orders:
            empty = t(locale, "work_orders.empty", month=data.month)
            controls.append(ft.Text(empty, color=MUTED, key="wo-empty"))
        controls += [_order(locale, o) for o in data.orders]
    return card(*controls, key="wo-card", spacing=10)
