"""Documents: CSV exports and the monthly PDF report of a branch and month, the badge sheet, and
rotating a staff member's badge code (with a confirmation step, since the printed badge dies).

The PDF is built in a worker thread (``app.call``); its progress callback runs in that thread, so it
hands each step to the event loop with ``call_soon_threadsafe`` and the bar moves while the rest of
the page stays responsive. Every file goes to the browser with ``FilePicker.save_file``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import flet as ft

from admin import documents
from admin.screens.common import ERROR, INK, MUTED, OK, TAP, named_dropdown
from admin.screens.errors import message_for
from models.auth import SessionExpired
from models.errors import Forbidden, StaffNotFound, ValidationFailed
from models.scores import Month
from rapport.core.i18n import t

if TYPE_CHECKING:
    from admin.host import AdminHost

log = logging.getLogger(__name__)
FORBIDDEN: dict[type[Exception], str] = {Forbidden: "documents.error.forbidden"}
GENERIC = "documents.error.generic"
CSV_KINDS = ("ratings", "complaints", "sanctions")
SERVICES = {
    "ratings": documents.ratings_export,
    "complaints": documents.complaints_export,
    "sanctions": documents.sanctions_export,
}


@dataclass
class DocumentsView:
    branches: list[documents.BranchOption] = field(default_factory=list)
    branch_id: int | None = None
    month: str = ""
    holders: list[documents.BadgeHolder] = field(default_factory=list)
    busy: str | None = None  # the document being made
    progress: float = 0.0
    step: str = ""
    month_error: str | None = None  # catalog key
    confirm: int | None = None  # staff id whose rotation awaits confirmation
    message: str | None = None
    values: dict[str, object] = field(default_factory=dict)
    ok: bool = False

    def say(self, key: str | None, ok: bool = False, **values: object) -> None:
        self.message, self.ok, self.values = key, ok, values


def _state(app: AdminHost) -> DocumentsView:
    view = app.view.get("documents")
    if not isinstance(view, DocumentsView):
        view = app.view["documents"] = DocumentsView()
    return view


async def load(app: AdminHost) -> None:
    v = _state(app)
    v.branches = await app.call(documents.branches)
    if v.branch_id not in {b.id for b in v.branches}:
        v.branch_id = v.branches[0].id if v.branches else None
    if not v.month:
        v.month = documents.default_month(app.ctx)
    v.holders = await app.call(documents.badge_holders, branch_id=v.branch_id) if v.branch_id else []


class Handlers:
    def __init__(self, app: AdminHost, v: DocumentsView):
        self.app, self.v = app, v
        self.loop: asyncio.AbstractEventLoop | None = None

    async def on_branch(self, e: ft.Event[Any]) -> None:
        self.v.branch_id = int(e.control.value) if e.control.value else None
        self.v.confirm = None
        self.v.say(None)
        await self._reload()

    async def on_month(self, e: ft.Event[Any]) -> None:
        self.v.month = (e.control.value or "").strip()
        if self.v.month_error:
            self.v.month_error = None
            self.app.render()

    def _progress(self, fraction: float, step: str) -> None:
        """Called in the builder's thread: hand the step to the event loop, which redraws."""
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self._show_progress, fraction, step)

    def _show_progress(self, fraction: float, step: str) -> None:
        if self.v.busy is None:  # a late call after the document was delivered
            return
        self.v.progress, self.v.step = fraction, step
        self.app.render()

    async def on_download(self, e: ft.Event[Any]) -> None:
        v, kind, locale = self.v, str(e.control.data), self.app.locale
        if v.busy or v.branch_id is None:
            return
        if kind != "badges":
            try:
                Month.parse(v.month)
            except ValidationFailed:
                v.month_error = "documents.error.month_format"
                v.say("documents.error.fix_month")
                self.app.render()
                return
        v.busy, v.progress, v.step, v.confirm = kind, 0.0, "", None
        v.say(None)
        self.app.render()
        self.loop = asyncio.get_running_loop()
        try:
            if kind == "report":
                made = await self.app.call(
                    documents.monthly_report,
                    branch_id=v.branch_id,
                    month=v.month,
                    locale=locale,
                    progress=self._progress,
                )
            elif kind == "badges":
                made = await self.app.call(documents.badges, branch_id=v.branch_id, locale=locale)
            else:
                made = await self.app.call(
                    SERVICES[kind], branch_id=v.branch_id, month=v.month, locale=locale
                )
            await ft.FilePicker().save_file(file_name=made.file_name, src_bytes=made.data)
        except SessionExpired:
            return
        except ValidationFailed as exc:
            if exc.field == "month":
                v.month_error = "documents.error.month_future"
                v.say("documents.error.fix_month")
            elif exc.field == "staff":
                v.say("documents.error.no_staff")
            else:
                v.say("documents.error.generic")
        except Exception as exc:
            key, values = message_for(
                exc, FORBIDDEN, log=log, failed="admin: making a document failed", generic=GENERIC
            )
            v.say(key, **values)
        else:
            v.say("documents.saved", ok=True, file=made.file_name)
        finally:
            v.busy = None
        self.app.render()

    async def on_rotate(self, e: ft.Event[Any]) -> None:
        self.v.confirm = int(e.control.data)
        self.v.say(None)
        self.app.render()

    async def on_cancel(self, _e: ft.Event[Any]) -> None:
        self.v.confirm = None
        self.app.render()

    async def on_confirm(self, e: ft.Event[Any]) -> None:
        v, staff_id = self.v, int(e.control.data)
        name = next((h.name for h in v.holders if h.id == staff_id), "")
        v.confirm = None
        try:
            await self.app.call(documents.rotate_token, staff_id)
        except SessionExpired:
            return
        except Exception as exc:
            key, values = message_for(
                exc,
                {StaffNotFound: "documents.error.staff_gone", **FORBIDDEN},
                log=log,
                failed="admin: rotating a badge code failed",
                generic=GENERIC,
            )
            v.say(key, **values)
        else:
            v.say("documents.rotated", ok=True, name=name)
        await self._reload()

    async def _reload(self) -> None:
        try:
            await load(self.app)
        except SessionExpired:
            return
        self.app.render()


def _button(locale: str, v: DocumentsView, h: Handlers, kind: str, icon: ft.IconData) -> ft.Control:
    return ft.Button(
        content=t(locale, f"documents.button.{kind}"),
        icon=icon,
        data=kind,
        key=f"documents-{kind}",
        on_click=h.on_download,
        disabled=v.busy is not None or v.branch_id is None,
        height=TAP,
    )


def _choices(locale: str, v: DocumentsView, h: Handlers) -> list[ft.Control]:
    branch: ft.Control
    if len(v.branches) > 1:
        branch = named_dropdown(
            t(locale, "documents.branch"),
            str(v.branch_id) if v.branch_id else None,
            [(str(b.id), f"{b.name(locale)} ({b.code})") for b in v.branches],
            key="documents-branch",
            on_select=h.on_branch,
            width=300,
        )
    else:
        names = [f"{b.name(locale)} ({b.code})" for b in v.branches] or [t(locale, "documents.no_branch")]
        branch = ft.Text(f"{t(locale, 'documents.branch')}: {names[0]}", size=16, key="documents-branch-name")
    month = ft.TextField(
        label=t(locale, "documents.month"),
        hint_text="YYYY-MM",
        value=v.month,
        max_length=7,
        on_change=h.on_month,
        key="documents-month",
        error=t(locale, v.month_error) if v.month_error else None,
        width=200,
    )
    return [ft.Row([branch, month], wrap=True, vertical_alignment=ft.CrossAxisAlignment.START)]


def _progress(locale: str, v: DocumentsView) -> ft.Control:
    """While a document is made: the step and a bar (the PDF moves it; a CSV shows it at the start)."""
    step = ft.Text(t(locale, "documents.building", step=v.step or "…"), color=MUTED, key="documents-step")
    bar = ft.ProgressBar(value=v.progress, key="documents-progress", bar_height=8, border_radius=4)
    return ft.Column([step, bar], visible=v.busy is not None, spacing=6, key="documents-busy")


def _staff(locale: str, v: DocumentsView, h: Handlers) -> list[ft.Control]:
    if not v.holders:
        return [ft.Text(t(locale, "documents.no_staff_list"), color=MUTED)]
    out: list[ft.Control] = []
    for p in v.holders:
        line: list[ft.Control] = [ft.Text(f"{p.name} ({p.employee_no})", size=16, expand=True)]
        if v.confirm == p.id:
            out.append(
                ft.Container(
                    key=f"rotate-ask-{p.id}",
                    bgcolor="#FFF4E5",
                    border_radius=12,
                    padding=12,
                    content=ft.Column(
                        [
                            ft.Text(t(locale, "documents.rotate_confirm", name=p.name), color=INK),
                            ft.Row(
                                [
                                    ft.Button(
                                        content=t(locale, "documents.rotate_yes"),
                                        data=p.id,
                                        height=TAP,
                                        key=f"rotate-confirm-{p.id}",
                                        on_click=h.on_confirm,
                                        style=ft.ButtonStyle(bgcolor=ERROR, color=ft.Colors.WHITE),
                                    ),
                                    ft.TextButton(
                                        content=t(locale, "documents.cancel"),
                                        height=TAP,
                                        key=f"rotate-cancel-{p.id}",
                                        on_click=h.on_cancel,
                                    ),
                                ],
                                wrap=True,
                            ),
                        ]
                    ),
                )
            )
            continue
        line.append(
            ft.TextButton(
                content=t(locale, "documents.rotate"),
                icon=ft.Icons.AUTORENEW,
                data=p.id,
                height=TAP,
                key=f"rotate-{p.id}",
                on_click=h.on_rotate,
                disabled=v.busy is not None,
            )
        )
        out.append(ft.Row(line, vertical_alignment=ft.CrossAxisAlignment.CENTER))
    return out


def build(app: AdminHost) -> ft.Control:
    locale, v = app.locale, _state(app)
    h = Handlers(app, v)
    message = t(locale, v.message, **v.values) if v.message else ""
    url = app.ctx.settings.effective_public_url
    badges_note = [
        ft.Text(t(locale, "documents.badges_note", url=url), color=MUTED, key="documents-badge-url")
    ]
    if not app.ctx.settings.public_url:
        badges_note.append(ft.Text(t(locale, "documents.badges_local"), color=ERROR))

    def heading(key: str) -> ft.Control:
        return ft.Text(t(locale, key), size=20, weight=ft.FontWeight.BOLD, color=INK)

    body = ft.Column(
        [
            ft.Text(t(locale, "documents.title"), size=24, weight=ft.FontWeight.BOLD, color=INK),
            ft.Text(message, color=OK if v.ok else ERROR, key="documents-message", visible=bool(message)),
            *_choices(locale, v, h),
            heading("documents.exports"),
            ft.Text(t(locale, "documents.exports_note"), color=MUTED),
            ft.Row(
                [_button(locale, v, h, k, ft.Icons.TABLE_VIEW_OUTLINED) for k in CSV_KINDS],
                wrap=True,
                spacing=8,
            ),
            heading("documents.report_title"),
            ft.Row([_button(locale, v, h, "report", ft.Icons.PICTURE_AS_PDF_OUTLINED)], wrap=True),
            _progress(locale, v),
            ft.Divider(),
            heading("documents.badges_title"),
            *badges_note,
            ft.Row([_button(locale, v, h, "badges", ft.Icons.QR_CODE_2)], wrap=True),
            *_staff(locale, v, h),
        ],
        spacing=12,
        scroll=ft.ScrollMode.AUTO,
        expand=True,
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
    )
    return ft.Container(content=body, padding=16, expand=True)
