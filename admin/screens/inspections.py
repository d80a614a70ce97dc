"""Inspections (conduct code §3.2.1): my spot checks this week, the inspection form with findings per clause,
and the recent inspections of the branch."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import flet as ft
from babel.dates import format_time

from admin import supervision
from admin.screens.common import ERROR, INK, MUTED, TAP, icon_button, named_dropdown
from admin.screens.errors import message_for
from admin.screens.widgets import card, error_line, primary_button
from models.auth import SessionExpired
from models.errors import Forbidden, StaffNotFound, ValidationFailed
from models.inspection import SpotCheckNotOpen
from models.org import Role
from rapport.core.i18n import fmt_datetime, pick, t
from rapport.ui.a11y import spoken

if TYPE_CHECKING:
    from admin.host import AdminHost

log = logging.getLogger(__name__)
KINDS = ("routine", "spot", "follow_up")
RESULTS = ("compliant", "violation")
FIELDS = ("staff_id", "kind", "findings", "clause", "result", "notes", "at")


@dataclass
class Finding:
    result: str | None = None
    note: str = ""


@dataclass
class InspectionsView:
    """What the section shows (loaded) and the form's draft, kept across re-renders."""

    tasks: list[supervision.TaskRow] = field(default_factory=list)
    staff: list[supervision.StaffOption] = field(default_factory=list)
    clauses: list[supervision.ClauseOption] = field(default_factory=list)
    recent: list[supervision.InspectionRow] = field(default_factory=list)
    staff_id: str | None = None
    kind: str = "routine"
    spot_check_id: int | None = None
    clause_pick: str | None = None
    findings: dict[str, Finding] = field(default_factory=dict)
    notes: str = ""
    errors: dict[str, str] = field(default_factory=dict)  # field -> catalog key
    message: str | None = None
    values: dict[str, object] = field(default_factory=dict)
    ok: bool = False

    def say(self, key: str | None, ok: bool = False, **values: object) -> None:
        self.message, self.ok, self.values = key, ok, values

    def reset_form(self) -> None:
        self.staff_id, self.kind, self.spot_check_id, self.clause_pick = None, "routine", None, None
        self.findings, self.notes, self.errors = {}, "", {}


def _state(app: AdminHost) -> InspectionsView:
    view = app.view.get("inspections")
    if not isinstance(view, InspectionsView):
        view = app.view["inspections"] = InspectionsView()
    return view


async def load(app: AdminHost) -> None:
    v = _state(app)
    v.tasks = await app.call(supervision.my_spot_checks)
    v.staff = await app.call(supervision.staff_list)
    v.clauses = await app.call(supervision.inspection_clauses)
    v.recent = await app.call(supervision.inspections)


def window(locale: str, start: datetime, end: datetime, tz: str) -> str:
    until = format_time(end.astimezone(ZoneInfo(tz)), "short", locale=locale.replace("-", "_"))
    return f"{fmt_datetime(locale, start, tz)}–{until}".replace("\u202f", " ")


# -- handlers -----------------------------------------------------------------------------------


class Handlers:
    """The section's event handlers (all async): they change the draft, call the backend, re-render."""

    def __init__(self, app: AdminHost):
        self.app, self.v = app, _state(app)

    async def _refresh(self) -> None:
        try:
            await load(self.app)
        except SessionExpired:
            return
        self.app.render()

    async def on_record_task(self, e: ft.Event[Any]) -> None:
        v = self.v
        task = next((x for x in v.tasks if x.id == e.control.data), None)
        if task is not None:
            v.reset_form()
            v.staff_id, v.kind, v.spot_check_id = str(task.staff_id), "spot", task.id
            v.say("admin.inspect.answering", ok=True, name=task.staff_name)
        self.app.render()

    async def on_staff(self, e: ft.Event[Any]) -> None:
        v = self.v
        v.staff_id = e.control.value or None
        v.errors.pop("staff_id", None)
        task = next((x for x in v.tasks if x.id == v.spot_check_id), None)
        if task is not None and str(task.staff_id) != v.staff_id:
            v.spot_check_id = None  # the form no longer answers that spot check
        self.app.render()

    async def on_kind(self, e: ft.Event[Any]) -> None:
        self.v.kind = e.control.value or "routine"
        if self.v.kind != "spot":
            self.v.spot_check_id = None
        self.app.render()

    async def on_clause(self, e: ft.Event[Any]) -> None:
        self.v.clause_pick = e.control.value or None

    async def on_add(self, _e: ft.Event[Any]) -> None:
        v = self.v
        if v.clause_pick and v.clause_pick not in v.findings:
            v.findings[v.clause_pick] = Finding()
            v.clause_pick = None
            v.errors.pop("findings", None)
        self.app.render()

    async def on_remove(self, e: ft.Event[Any]) -> None:
        self.v.findings.pop(str(e.control.data), None)
        self.app.render()

    async def on_result(self, e: ft.Event[Any]) -> None:
        code = str(e.control.data)
        if code in self.v.findings:
            self.v.findings[code].result = e.control.value
            self.v.errors.pop(f"result:{code}", None)
        self.app.render()

    async def on_finding_note(self, e: ft.Event[Any]) -> None:
        if (code := str(e.control.data)) in self.v.findings:
            self.v.findings[code].note = e.control.value or ""

    async def on_notes(self, e: ft.Event[Any]) -> None:
        self.v.notes = e.control.value or ""

    def _check(self) -> bool:
        v = self.v
        v.errors = {}
        if not v.staff_id:
            v.errors["staff_id"] = "admin.inspect.error.staff_required"
        if not v.findings:
            v.errors["findings"] = "admin.inspect.error.findings"
        for code, f in v.findings.items():
            if f.result not in RESULTS:
                v.errors[f"result:{code}"] = "admin.inspect.error.result_required"
        return not v.errors

    async def on_save(self, _e: ft.Event[Any]) -> None:
        v = self.v
        if not self._check() or v.staff_id is None:
            v.say("admin.inspect.error.fix_fields")
            self.app.render()
            return
        try:
            await self.app.call(
                supervision.record,
                staff_id=int(v.staff_id),
                kind=v.kind,
                notes=v.notes,
                findings=[(code, f.result or "", f.note) for code, f in v.findings.items()],
                spot_check_id=v.spot_check_id,
            )
        except SessionExpired:
            return
        except ValidationFailed as exc:
            name = exc.field if exc.field in FIELDS else "findings"
            v.errors[name] = f"admin.inspect.error.{name}"
            v.say("admin.inspect.error.fix_fields")
        except StaffNotFound:
            v.errors["staff_id"] = "admin.inspect.error.staff_gone"
            v.say("admin.inspect.error.fix_fields")
        except SpotCheckNotOpen:
            v.spot_check_id = None
            v.say("admin.inspect.error.spot_closed")
        except Exception as exc:
            key, values = message_for(
                exc,
                {Forbidden: "admin.inspect.error.forbidden"},
                log=log,
                failed="admin: recording an inspection failed",
                generic="admin.inspect.error.generic",
            )
            v.say(key, **values)
        else:
            v.reset_form()
            v.say("admin.inspect.saved", ok=True)
        await self._refresh()

    async def on_draw(self, _e: ft.Event[Any]) -> None:
        try:
            n = await self.app.call(supervision.draw_this_week)
        except SessionExpired:
            return
        except Forbidden:
            self.v.say("admin.inspect.error.forbidden")
        else:
            self.v.say("admin.inspect.drawn" if n else "admin.inspect.drawn_none", ok=True, n=n)
        await self._refresh()


# -- the body -----------------------------------------------------------------------------------


def _err(locale: str, v: InspectionsView, name: str) -> str | None:
    key = v.errors.get(name)
    return t(locale, key) if key else None


def _tasks(app: AdminHost, v: InspectionsView, h: Handlers) -> list[ft.Control]:
    locale = app.locale
    out: list[ft.Control] = [ft.Text(t(locale, "admin.inspect.tasks"), size=20, weight=ft.FontWeight.BOLD)]
    if app.user is not None and app.user.role in (Role.supervisor, Role.admin):
        out.append(
            ft.OutlinedButton(
                content=t(locale, "admin.inspect.draw"),
                icon=ft.Icons.CASINO_OUTLINED,
                on_click=h.on_draw,
                key="inspect-draw",
                height=TAP,
            )
        )
    if not v.tasks:
        out.append(ft.Text(t(locale, "admin.inspect.tasks_none"), color=MUTED, key="tasks-empty"))
    for task in v.tasks:
        answering = task.id == v.spot_check_id
        out.append(
            ft.Container(
                key=f"task-{task.id}",
                bgcolor="#DCE3F0" if answering else ft.Colors.WHITE,
                border_radius=12,
                padding=ft.Padding.symmetric(horizontal=14, vertical=6),
                content=ft.Row(
                    [
                        ft.Icon(ft.Icons.VISIBILITY_OUTLINED, color=INK),
                        ft.Text(task.staff_name, size=17, weight=ft.FontWeight.W_500, color=INK),
                        ft.Text(window(locale, task.window_start, task.window_end, task.tz), color=MUTED),
                        primary_button(
                            t(locale, "admin.inspect.record_task"),
                            h.on_record_task,
                            f"task-{task.id}-record",
                            data=task.id,
                        ),
                    ],
                    wrap=True,
                    vertical_alignment=ft.CrossAxisAlignment.CENTER,
                ),
            )
        )
    return out


def _finding_row(locale: str, v: InspectionsView, h: Handlers, code: str, label: str) -> ft.Control:
    f = v.findings[code]
    error = _err(locale, v, f"result:{code}")
    radios = ft.Row(
        [
            ft.Radio(value=r, label=t(locale, f"admin.inspect.result.{r}"), key=f"finding-{code}-{r}")
            for r in RESULTS
        ]
    )
    return ft.Container(
        key=f"finding-{code}",
        bgcolor=ft.Colors.WHITE,
        border_radius=12,
        padding=10,
        content=ft.Column(
            [
                ft.Row(
                    [
                        ft.Text(label, size=16, weight=ft.FontWeight.W_500, color=INK, expand=True),
                        icon_button(
                            ft.Icons.DELETE_OUTLINE,
                            t(locale, "admin.inspect.remove", clause=label),
                            h.on_remove,
                            data=code,
                            key=f"finding-{code}-remove",
                        ),
                    ]
                ),
                ft.RadioGroup(
                    content=radios,
                    value=f.result,
                    on_change=h.on_result,
                    data=code,
                    key=f"finding-{code}-result",
                ),
                error_line(error, f"finding-{code}-error"),
                ft.TextField(
                    label=t(locale, "admin.inspect.finding_note"),
                    value=f.note,
                    max_length=500,
                    on_change=h.on_finding_note,
                    data=code,
                    key=f"finding-{code}-note",
                ),
            ],
            spacing=4,
        ),
    )


def _form(app: AdminHost, v: InspectionsView, h: Handlers) -> list[ft.Control]:
    locale = app.locale
    names = {c.code: f"{c.code} {pick(locale, c.short_zh, c.short_en)}" for c in v.clauses}
    staff = named_dropdown(
        t(locale, "admin.inspect.staff"),
        v.staff_id,
        [(str(s.id), f"{s.name} ({s.employee_no})") for s in v.staff],
        key="inspect-staff",
        on_select=h.on_staff,
        error_text=_err(locale, v, "staff_id"),
        col={"xs": 12, "md": 8},
    )
    kind = named_dropdown(
        t(locale, "admin.inspect.kind"),
        v.kind,
        [(k, t(locale, f"admin.inspect.kind.{k}")) for k in KINDS],
        key="inspect-kind",
        on_select=h.on_kind,
        error_text=_err(locale, v, "kind"),
        col={"xs": 12, "md": 4},
    )
    clause = named_dropdown(
        t(locale, "admin.inspect.clause"),
        v.clause_pick,
        [(c, n) for c, n in names.items() if c not in v.findings],
        key="inspect-clause",
        on_select=h.on_clause,
        error_text=_err(locale, v, "clause"),
        enable_filter=True,
        editable=True,
        expand=True,
    )
    add = ft.OutlinedButton(
        content=t(locale, "admin.inspect.add_finding"),
        icon=ft.Icons.ADD,
        on_click=h.on_add,
        key="inspect-add-finding",
        height=TAP,
    )
    findings_error = _err(locale, v, "findings") or _err(locale, v, "result")
    out: list[ft.Control] = [
        ft.Text(t(locale, "admin.inspect.form"), size=20, weight=ft.FontWeight.BOLD),
        # Not a wrapping row: it cannot hold a field that expands (Flutter then draws the whole form as
        # a grey error box); on a phone each field takes the full width.
        ft.ResponsiveRow([staff, kind], vertical_alignment=ft.CrossAxisAlignment.START),
    ]
    task = next((x for x in v.tasks if x.id == v.spot_check_id), None)
    if task is not None:
        when = window(locale, task.window_start, task.window_end, task.tz)
        out.append(ft.Text(t(locale, "admin.inspect.linked", window=when), color=INK, key="inspect-linked"))
    out += [
        ft.Text(t(locale, "admin.inspect.findings"), size=16, weight=ft.FontWeight.W_500),
        ft.Row([clause, add], vertical_alignment=ft.CrossAxisAlignment.CENTER),
        *(_finding_row(locale, v, h, code, names.get(code, code)) for code in v.findings),
        error_line(findings_error, "inspect-findings-error"),
        ft.TextField(
            label=t(locale, "admin.inspect.notes"),
            value=v.notes,
            multiline=True,
            max_length=1000,
            on_change=h.on_notes,
            key="inspect-notes",
            error=_err(locale, v, "notes"),
        ),
        ft.Row([primary_button(t(locale, "admin.inspect.save"), h.on_save, "inspect-save", ft.Icons.SAVE)]),
    ]
    return out


def _recent(locale: str, v: InspectionsView) -> list[ft.Control]:
    out: list[ft.Control] = [ft.Text(t(locale, "admin.inspect.recent"), size=20, weight=ft.FontWeight.BOLD)]
    if not v.recent:
        out.append(ft.Text(t(locale, "admin.inspect.recent_none"), color=MUTED, key="inspections-empty"))
    for row in v.recent:
        lines: list[ft.Control] = [
            ft.Row(
                [
                    ft.Text(row.staff_name, size=17, weight=ft.FontWeight.W_500, color=INK),
                    ft.Text(t(locale, f"admin.inspect.kind.{row.kind}"), color=MUTED),
                    ft.Text(fmt_datetime(locale, row.at, row.tz), color=MUTED),
                    ft.Text(t(locale, "admin.inspect.by", name=row.inspector_name), color=MUTED),
                ],
                wrap=True,
            )
        ]
        for f in row.findings:
            result = t(locale, f"admin.inspect.result.{f.result}")
            text = f"{f.clause_code} {pick(locale, f.clause_zh, f.clause_en)}: {result}"
            lines.append(
                ft.Text(
                    f"{text} · {f.note}" if f.note else text, color=ERROR if f.result == "violation" else INK
                )
            )
        if row.notes:
            lines.append(spoken(row.notes, color=MUTED, selectable=True))
        out.append(card(*lines, key=f"inspection-{row.id}", spacing=4))
    return out


def build(app: AdminHost) -> ft.Control:
    locale, v = app.locale, _state(app)
    h = Handlers(app)
    message = t(locale, v.message, **v.values) if v.message else None
    body = ft.Column(
        [
            ft.Text(t(locale, "admin.inspect.title"), size=24, weight=ft.FontWeight.BOLD, color=INK),
            ft.Text(
                message or "",
                color="#1E4E8C" if v.ok else ERROR,
                key="inspect-message",
                visible=bool(message),
            ),
            *_tasks(app, v, h),
            ft.Divider(),
            *_form(app, v, h),
            ft.Divider(),
            *_recent(locale, v),
        ],
        spacing=12,
        scroll=ft.ScrollMode.AUTO,
        expand=True,
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
    )
    return ft.Container(content=body, padding=16, expand=True)
