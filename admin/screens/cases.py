"""The 差评 cases in the complaints section: a block of open cases above the complaint queue, each
with the clock that runs out next, and one case's page with its steps and the next step's form
(callback, finding, action, done, answer, the grade a customer gave on the phone).

Its state and handlers live here (not on the app): the queue screen places :func:`block` and, while
a case is open, shows :func:`page` instead of the queue.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import flet as ft

from admin import cases as service
from admin.screens.case_forms import forms
from admin.screens.cases_state import state
from admin.screens.common import ERROR, INK, MUTED, OK, TAP, due_label
from models.auth import SessionExpired
from models.case_flow import CaseStepRefused
from models.errors import ConflictOfInterest, Forbidden
from rapport.core.i18n import fmt_datetime, fmt_due, join, pick, t

if TYPE_CHECKING:
    from admin.host import AdminHost

log = logging.getLogger(__name__)


async def load(app: AdminHost) -> None:
    v = state(app)
    try:
        v.rows = await app.call(service.cases)
    except Forbidden:
        v.rows = []
    if v.open_id is not None:
        try:
            v.view = await app.call(service.case, v.open_id)
        except Forbidden:
            v.open_id, v.view = None, None


# -- words --------------------------------------------------------------------------------------


def place(locale: str, row: service.CaseRow) -> str:
    parts = (
        pick(locale, row.branch_zh, row.branch_en),
        pick(locale, row.counter_zh, row.counter_en),
        row.staff_name,
    )
    return " · ".join(p for p in parts if p)


def refusal(locale: str, exc: Exception) -> str:
    if isinstance(exc, ConflictOfInterest):
        return t(locale, "cases.error.conflict")
    if isinstance(exc, CaseStepRefused):
        return t(locale, f"cases.error.{exc.reason}")
    if isinstance(exc, Forbidden):
        return t(locale, "cases.error.forbidden")
    return t(locale, "cases.error.generic")


def step_line(locale: str, tz: str, s: service.CaseStep) -> str:
    what = t(locale, f"cases.step.{s.kind}")
    if s.outcome:
        what += " · " + t(locale, f"cases.outcome.{s.outcome}")
    who = s.actor or t(locale, "cases.step.customer")
    return f"{fmt_datetime(locale, s.at, tz)} · {what} · {who}"


# -- handlers -----------------------------------------------------------------------------------


class Handlers:
    def __init__(self, app: AdminHost):
        self.app, self.v = app, state(app)

    async def on_open(self, e: ft.Event[Any]) -> None:
        self.v.open_id, self.v.form, self.v.message = int(e.control.data), {}, None
        try:
            await load(self.app)
        except SessionExpired:
            return
        self.app.render()

    async def on_back(self, _e: ft.Event[Any]) -> None:
        self.v.open_id, self.v.view, self.v.message = None, None, None
        try:
            await load(self.app)
        except SessionExpired:
            return
        self.app.render()

    async def on_field(self, e: ft.Event[Any]) -> None:
        self.v.form[str(e.control.data)] = str(e.control.value or "")

    async def on_pick(self, e: ft.Event[Any]) -> None:
        self.v.form[str(e.control.data)] = str(e.control.value or "")
        self.app.render()  # a choice can change what the form asks next (a deadline for 整改)

    async def _step(self, kind: str, done: str, **fields: Any) -> None:
        v, locale = self.v, self.app.locale
        if v.open_id is None:
            return
        try:
            v.view = await self.app.call(service.step, v.open_id, kind, **fields)
        except SessionExpired:
            return
        except (ConflictOfInterest, CaseStepRefused, Forbidden) as exc:
            v.message = ("cases.refused", {"text": refusal(locale, exc)}, False)
        except Exception:
            log.exception("admin: a case step failed")
            v.message = ("cases.refused", {"text": refusal(locale, RuntimeError())}, False)
        else:
            v.form, v.message = {}, (done, {}, True)
        try:
            await load(self.app)
        except SessionExpired:
            return
        self.app.render()

    async def on_callback(self, e: ft.Event[Any]) -> None:
        await self._step(
            "callback",
            "cases.done.callback",
            outcome=str(e.control.data),
            note=self.v.form.get("callback_note", ""),
        )

    async def on_finding(self, _e: ft.Event[Any]) -> None:
        f = self.v.form
        await self._step(
            "finding",
            "cases.done.finding",
            finding=f.get("finding", ""),
            about=f.get("about", ""),
            note=f.get("finding_note", ""),
        )

    async def on_action(self, _e: ft.Event[Any]) -> None:
        f, locale = self.v.form, self.app.locale
        due: datetime | None = None
        if f.get("action", "rectify") == "rectify":
            try:
                days = int(f.get("action_days", "") or "0")
            except ValueError:
                days = 0
            if not 1 <= days <= 90:
                self.v.message = ("cases.refused", {"text": t(locale, "cases.error.days")}, False)
                self.app.render()
                return
            assert self.v.view is not None
            tz = ZoneInfo(self.v.view.row.tz)
            today = self.app.ctx.clock().astimezone(tz).date()
            due = datetime.combine(today + timedelta(days=days + 1), datetime.min.time(), tzinfo=tz)
        await self._step(
            "action",
            "cases.done.action",
            action=f.get("action", "rectify"),
            text=f.get("action_text", ""),
            due_at=due,
        )

    async def on_action_done(self, _e: ft.Event[Any]) -> None:
        await self._step("action_done", "cases.done.action_done")

    async def on_answer(self, _e: ft.Event[Any]) -> None:
        f = self.v.form
        await self._step(
            "answer", "cases.done.answer", text=f.get("answer", ""), via=f.get("via", "callback")
        )

    async def on_reveal(self, _e: ft.Event[Any]) -> None:
        v = self.v
        if v.open_id is None:
            return
        try:
            contact = await self.app.call(service.reveal, v.open_id)
        except SessionExpired:
            return
        except (ConflictOfInterest, Forbidden) as exc:
            v.message = ("cases.refused", {"text": refusal(self.app.locale, exc)}, False)
        else:
            if contact:
                v.revealed[v.open_id] = contact
        self.app.render()

    async def on_grade(self, e: ft.Event[Any]) -> None:
        await self._step("grade", "cases.done.grade", grade=str(e.control.data))


# -- drawing ------------------------------------------------------------------------------------


def _card(app: AdminHost, row: service.CaseRow, h: Handlers) -> ft.Control:
    locale, now = app.locale, app.ctx.clock()
    clock, at = row.next_due()
    due, overdue = due_label(locale, at, now, clock)
    title = t(locale, "cases.card.title", id=row.id, score=t(locale, f"kiosk.score.{row.score}"))
    return ft.Container(
        key=f"case-{row.id}",
        on_click=h.on_open,
        data=row.id,
        tooltip=t(locale, "cases.card.open", id=row.id),
        bgcolor="#FFF8F6",
        border_radius=12,
        padding=14,
        content=ft.Column(
            [
                ft.Row(
                    [
                        ft.Text(title, size=17, weight=ft.FontWeight.W_500, color=INK, expand=True),
                        ft.Text(t(locale, f"cases.status.{row.status}"), color=MUTED),
                    ]
                ),
                ft.Text(place(locale, row), color=MUTED, size=14),
                ft.Row(
                    [
                        ft.Text(
                            fmt_datetime(locale, row.opened_at, row.tz), size=14, color=MUTED, expand=True
                        ),
                        ft.Text(
                            due,
                            size=15,
                            color=ERROR if overdue else INK,
                            weight=ft.FontWeight.BOLD if overdue else None,
                        ),
                    ]
                ),
            ],
            spacing=4,
        ),
    )


def block(app: AdminHost) -> list[ft.Control]:
    """The open cases, for the top of the complaint queue (nothing when there are none)."""
    v = state(app)
    if not v.rows:
        return []
    h = Handlers(app)
    head = ft.Text(
        t(app.locale, "cases.block.title", n=len(v.rows)),
        size=20,
        weight=ft.FontWeight.BOLD,
        color=INK,
        key="cases-title",
    )
    return [head, *(_card(app, r, h) for r in v.rows)]


def page(app: AdminHost) -> ft.Control:
    """One case: what the customer said, the clocks, every step, and the next step's form."""
    locale, v = app.locale, state(app)
    h = Handlers(app)
    view = v.view
    items: list[ft.Control] = [
        ft.TextButton(
            content=t(locale, "cases.back"),
            icon=ft.Icons.ARROW_BACK,
            on_click=h.on_back,
            key="case-back",
            height=TAP,
        ),
    ]
    if view is None:
        items.append(ft.Text(t(locale, "cases.error.gone"), color=MUTED))
        return ft.Container(ft.Column(items, scroll=ft.ScrollMode.AUTO, expand=True), padding=16, expand=True)
    row, tz = view.row, view.row.tz
    score = t(locale, f"kiosk.score.{row.score}")
    items += [
        ft.Text(
            t(locale, "cases.card.title", id=row.id, score=score),
            size=24,
            weight=ft.FontWeight.BOLD,
            color=INK,
            key="case-title",
        ),
        ft.Text(place(locale, row), color=MUTED),
        ft.Text(t(locale, "cases.opened", at=fmt_datetime(locale, row.opened_at, tz)), color=MUTED),
        ft.Text(
            t(locale, f"cases.status.{row.status}"), color=INK, weight=ft.FontWeight.W_500, key="case-status"
        ),
    ]
    if row.first_due_at is not None:
        items.append(
            ft.Text(t(locale, "cases.first_due", due=fmt_due(locale, row.first_due_at, tz)), color=INK)
        )
    promise = t(locale, f"promise.{row.promise_unit}", amount=row.promise_amount)
    items.append(
        ft.Text(
            t(locale, "cases.reply_due", promise=promise, due=fmt_due(locale, row.reply_due_at, tz)),
            color=INK,
            key="case-reply-due",
        )
    )
    reasons = pick(locale, view.reasons_zh, view.reasons_en)
    if reasons:
        items.append(ft.Text(t(locale, "cases.reasons", reasons=join(locale, reasons)), color=INK))
    if view.comment:
        items.append(ft.Text(t(locale, "cases.comment", text=view.comment), color=INK))
    if view.contact_masked and not row.conflicted:
        shown = v.revealed.get(row.id)
        items.append(
            ft.Text(
                t(locale, "cases.contact", contact=shown or view.contact_masked),
                color=INK,
                key="case-contact",
            )
        )
        if shown is None:
            items.append(
                ft.TextButton(
                    content=t(locale, "cases.contact.reveal"),
                    icon=ft.Icons.VISIBILITY_OUTLINED,
                    on_click=h.on_reveal,
                    key="case-reveal",
                    height=TAP,
                )  # fmt: skip
            )
    elif not view.contact_masked:
        items.append(ft.Text(t(locale, "cases.contact.none"), color=MUTED, key="case-contact"))
    if view.complaint_id:
        items.append(ft.Text(t(locale, "cases.complaint", id=view.complaint_id), color=MUTED))
    if view.finding:
        items.append(
            ft.Text(
                t(
                    locale,
                    "cases.finding",
                    finding=t(locale, f"cases.outcome.{view.finding}"),
                    about=t(locale, f"cases.about.{view.about}"),
                ),
                color=INK,
                key="case-finding-line",
            )
        )
    if view.action:
        due = fmt_due(locale, view.action_due_at, tz) if view.action_due_at else ""
        line = t(locale, f"cases.action_line.{view.action}", text=view.action_text, due=due)
        items.append(ft.Text(line, color=INK, key="case-action-line"))
    if view.grade:
        items.append(
            ft.Text(t(locale, "cases.grade", grade=t(locale, f"cases.outcome.{view.grade}")), color=INK)
        )
    items.append(ft.Text(t(locale, "cases.steps"), size=17, weight=ft.FontWeight.W_500, color=INK))
    if view.steps:
        items += [ft.Text(step_line(locale, tz, s), color=MUTED, size=14) for s in view.steps]
    else:
        items.append(ft.Text(t(locale, "cases.steps.none"), color=MUTED, size=14))
    if v.message is not None:
        key, values, ok = v.message
        items.append(
            ft.Text(
                t(locale, key, **values),
                color=OK if ok else ERROR,
                weight=ft.FontWeight.W_500,
                key="case-message",
            )
        )
    if row.conflicted:
        items.append(ft.Text(t(locale, "cases.error.conflict"), color=ERROR, key="case-conflict"))
    else:
        items += forms(locale, view, v, h)
    return ft.Container(
        ft.Column(
            items,
            spacing=10,
            scroll=ft.ScrollMode.AUTO,
            expand=True,
            horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        ),
        padding=16,
        expand=True,
    )
