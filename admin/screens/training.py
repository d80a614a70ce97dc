"""The training archive (conduct code §3.1): each person's courses, and a form to add a record. A new hire
signs in at a counter only once a passed induction is recorded here."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import flet as ft

from admin import supervision
from admin.screens.common import ERROR, INK, MUTED, named_dropdown
from admin.screens.errors import message_for
from admin.screens.widgets import card, primary_button
from models.auth import SessionExpired
from models.errors import Forbidden, StaffNotFound, ValidationFailed
from rapport.core.i18n import t

if TYPE_CHECKING:
    from admin.host import AdminHost

log = logging.getLogger(__name__)
KINDS = ("induction", "periodic")
FIELDS = ("staff_id", "kind", "course", "completed_on")
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
PASSED = "#2E7D32"


@dataclass
class TrainingView:
    rows: list[supervision.TrainingRow] = field(default_factory=list)
    staff: list[supervision.StaffOption] = field(default_factory=list)
    staff_id: str | None = None
    kind: str = "induction"
    course: str = ""
    completed_on: str = ""
    passed: bool = False
    errors: dict[str, str] = field(default_factory=dict)  # field -> catalog key
    message: str | None = None
    ok: bool = False

    def say(self, key: str | None, ok: bool = False) -> None:
        self.message, self.ok = key, ok


def _state(app: AdminHost) -> TrainingView:
    view = app.view.get("training")
    if not isinstance(view, TrainingView):
        view = app.view["training"] = TrainingView()
    return view


async def load(app: AdminHost) -> None:
    v = _state(app)
    v.staff = await app.call(supervision.staff_list, everyone=True)
    v.rows = await app.call(supervision.training)


def parse_date(text: str) -> date | None:
    """A calendar date typed as YYYY-MM-DD, or None."""
    text = text.strip()
    if not DATE_RE.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


class Handlers:
    def __init__(self, app: AdminHost):
        self.app, self.v = app, _state(app)

    async def on_staff(self, e: ft.Event[Any]) -> None:
        self.v.staff_id = e.control.value or None
        if self.v.errors.pop("staff_id", None):
            self.app.render()

    async def on_kind(self, e: ft.Event[Any]) -> None:
        self.v.kind = e.control.value or "induction"

    async def on_course(self, e: ft.Event[Any]) -> None:
        self.v.course = e.control.value or ""

    async def on_date(self, e: ft.Event[Any]) -> None:
        self.v.completed_on = e.control.value or ""

    async def on_passed(self, e: ft.Event[Any]) -> None:
        self.v.passed = bool(e.control.value)

    async def on_save(self, _e: ft.Event[Any]) -> None:
        v = self.v
        v.errors = {}
        when = parse_date(v.completed_on)
        if not v.staff_id:
            v.errors["staff_id"] = "admin.training.error.staff_required"
        if not v.course.strip():
            v.errors["course"] = "admin.training.error.course"
        if when is None:
            v.errors["completed_on"] = "admin.training.error.date_format"
        if v.errors or v.staff_id is None or when is None:
            v.say("admin.training.error.fix_fields")
            self.app.render()
            return
        try:
            await self.app.call(
                supervision.add_training,
                staff_id=int(v.staff_id),
                kind=v.kind,
                course=v.course,
                completed_on=when,
                passed=v.passed,
            )
        except SessionExpired:
            return
        except ValidationFailed as exc:
            name = exc.field if exc.field in FIELDS else "course"
            v.errors[name] = f"admin.training.error.{name}"
            v.say("admin.training.error.fix_fields")
        except StaffNotFound:
            v.errors["staff_id"] = "admin.training.error.staff_required"
            v.say("admin.training.error.fix_fields")
        except Exception as exc:
            key, _ = message_for(
                exc,
                {Forbidden: "admin.training.error.forbidden"},
                log=log,
                failed="admin: recording training failed",
                generic="admin.training.error.generic",
            )
            v.say(key)
        else:
            v.course, v.completed_on, v.passed = "", "", False
            v.say("admin.training.saved", ok=True)
        try:
            await load(self.app)
        except SessionExpired:
            return
        self.app.render()


def _err(locale: str, v: TrainingView, name: str) -> str | None:
    key = v.errors.get(name)
    return t(locale, key) if key else None


def _form(locale: str, v: TrainingView, h: Handlers) -> list[ft.Control]:
    return [
        ft.Text(t(locale, "admin.training.form"), size=20, weight=ft.FontWeight.BOLD),
        # A responsive row, not a wrapping one: a wrapping row cannot hold a field that expands (Flutter
        # then draws the whole form as a grey error box); on a phone each field takes the full width.
        ft.ResponsiveRow(
            [
                named_dropdown(
                    t(locale, "admin.training.staff"),
                    v.staff_id,
                    [(str(s.id), f"{s.name} ({s.employee_no})") for s in v.staff],
                    key="training-staff",
                    on_select=h.on_staff,
                    error_text=_err(locale, v, "staff_id"),
                    col={"xs": 12, "md": 8},
                ),
                named_dropdown(
                    t(locale, "admin.training.kind"),
                    v.kind,
                    [(k, t(locale, f"admin.training.kind.{k}")) for k in KINDS],
                    key="training-kind",
                    on_select=h.on_kind,
                    error_text=_err(locale, v, "kind"),
                    col={"xs": 12, "md": 4},
                ),
            ],
            vertical_alignment=ft.CrossAxisAlignment.START,
        ),
        ft.TextField(
            label=t(locale, "admin.training.course"),
            value=v.course,
            max_length=120,
            on_change=h.on_course,
            key="training-course",
            error=_err(locale, v, "course"),
        ),
        ft.TextField(
            label=t(locale, "admin.training.date"),
            hint_text="YYYY-MM-DD",
            value=v.completed_on,
            max_length=10,
            on_change=h.on_date,
            key="training-date",
            error=_err(locale, v, "completed_on"),
            width=240,
        ),
        ft.Checkbox(
            label=t(locale, "admin.training.passed"),
            value=v.passed,
            on_change=h.on_passed,
            key="training-passed",
        ),
        ft.Row([primary_button(t(locale, "admin.training.save"), h.on_save, "training-save", ft.Icons.SAVE)]),
    ]


def _archive(locale: str, v: TrainingView) -> list[ft.Control]:
    """One card per person: an induction badge, then their courses, newest first."""
    out: list[ft.Control] = [ft.Text(t(locale, "admin.training.archive"), size=20, weight=ft.FontWeight.BOLD)]
    for person in sorted(v.staff, key=lambda s: s.employee_no):
        mine = [r for r in v.rows if r.staff_id == person.id]
        inducted = any(r.kind == "induction" and r.passed for r in mine)
        lines: list[ft.Control] = [
            ft.Row(
                [
                    ft.Text(f"{person.name} ({person.employee_no})", size=17, weight=ft.FontWeight.W_500),
                    ft.Text(
                        t(locale, "admin.training.inducted" if inducted else "admin.training.not_inducted"),
                        color=PASSED if inducted else ERROR,
                        key=f"training-induction-{person.id}",
                    ),
                ],
                wrap=True,
            )
        ]
        if not mine:
            lines.append(ft.Text(t(locale, "admin.training.none"), color=MUTED))
        for r in mine:
            outcome = t(locale, f"admin.training.result.{'passed' if r.passed else 'failed'}")
            kind = t(locale, f"admin.training.kind.{r.kind}")
            lines.append(
                ft.Text(
                    f"{r.completed_on.isoformat()} · {kind} · {r.course} · {outcome}",
                    color=INK if r.passed else ERROR,
                    key=f"training-{r.id}",
                )
            )
        out.append(card(*lines, key=f"training-person-{person.id}", spacing=4))
    return out


def build(app: AdminHost) -> ft.Control:
    locale, v = app.locale, _state(app)
    h = Handlers(app)
    message = t(locale, v.message) if v.message else None
    body = ft.Column(
        [
            ft.Text(t(locale, "admin.training.title"), size=24, weight=ft.FontWeight.BOLD, color=INK),
            ft.Text(
                message or "",
                color="#1E4E8C" if v.ok else ERROR,
                key="training-message",
                visible=bool(message),
            ),
            *_form(locale, v, h),
            ft.Divider(),
            *_archive(locale, v),
        ],
        spacing=12,
        scroll=ft.ScrollMode.AUTO,
        expand=True,
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
    )
    return ft.Container(content=body, padding=16, expand=True)
