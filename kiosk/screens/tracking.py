"""The public status page of a complaint (/t/<code>): no account, no contact data, no names.

Its handlers live here, and :func:`find`, which the app also calls for a code in the address.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flet as ft

from kiosk import backend
from kiosk.screens.case_status import grade_row
from kiosk.screens.frame import form_width, frame
from kiosk.state import Screen
from kiosk.ui import ACCENT, INK, MUTED, TAP_MIN
from models.complaint import ComplaintNotFound, SatisfactionNotOpen
from rapport.core.i18n import fmt_datetime, fmt_due, t
from rapport.core.lanes import KIOSK
from rapport.ui.a11y import seen_only, spell_code, spoken

if TYPE_CHECKING:
    from kiosk.host import KioskHost


async def find(app: KioskHost, code: str) -> None:
    """Look a tracking code up: a complaint's status page, a 差评 case's, or the lookup form again."""
    from models.codes import normalise_tracking_code

    app.state.enrol_draft = code.strip()[:14]
    client = app.page.client_ip or "unknown"
    limit = await KIOSK.run(backend.status_lookups_per_minute, app.ctx)
    if not app.ctx.status_limiter.allow(client, limit):
        app.state.say("status.limited")
        app.state.go(Screen.status_lookup)
    elif normalise_tracking_code(code) is None:
        app.state.say("status.malformed" if code.strip() else "status.lookup")
        app.state.go(Screen.status_lookup)
    else:
        found = await KIOSK.run(backend.complaint_status, app.ctx, code)
        case = None if found is not None else await KIOSK.run(backend.case_status, app.ctx, code)
        if case is not None:  # the code of a 差评 case rather than of a complaint
            app.case_view, app.status_code = case, code.strip().upper()
            app.state.say(None)
            app.state.go(Screen.case_status)
        elif found is None:
            app.state.say("status.not_found")
            app.state.go(Screen.status_lookup)
        else:
            app.complaint_status, app.status_code = found, code.strip().upper()
            app.state.say(None)
            app.state.go(Screen.status_view)
    app.render()


class Handlers:
    """The status page's event handlers (async methods, as Flet awaits them)."""

    def __init__(self, app: KioskHost, field: ft.TextField | None = None):
        self.app = app
        self.field = field  # the lookup form's code field

    async def on_lookup(self, _e: ft.Event[Any]) -> None:
        code = (self.field.value if self.field else "") or ""
        await find(self.app, code)

    async def on_satisfied(self, e: ft.Event[Any]) -> None:
        app = self.app
        grade = str(e.control.data)
        try:
            code = app.status_code or ""
            result = await KIOSK.run(backend.answer, app.ctx, code=code, grade=grade)
        except (ComplaintNotFound, SatisfactionNotOpen):
            found = await KIOSK.run(backend.complaint_status, app.ctx, app.status_code or "")
            app.complaint_status = found or app.complaint_status
            app.state.say(None)
        else:
            app.complaint_status = result
            app.state.say("status.thanks_no" if grade == "dissatisfied" else "status.thanks_yes")
        app.render()


def lookup(app: KioskHost) -> ft.Control:
    locale = app.state.locale
    message = t(locale, app.state.message_key) if app.state.message_key else None
    h = Handlers(app)
    field = ft.TextField(
        label=t(locale, "status.code"),
        value=app.state.enrol_draft,
        key="status-code",
        max_length=14,
        capitalization=ft.TextCapitalization.CHARACTERS,
        text_size=22,
        on_submit=h.on_lookup,
        error=message,
        error_max_lines=3,
        # The focus goes to the field once it shows an error, not when the page opens: focused before
        # a screen reader has turned Flutter's semantics on, the field is edited through a hidden input
        # of Flutter's that has no name (axe: "form elements must have labels"), and stays so.
        autofocus=message is not None,
    )
    h.field = field
    body = ft.Column(
        [
            spoken(t(locale, "status.title"), size=26, weight=ft.FontWeight.BOLD, color=INK),
            spoken(t(locale, "status.lookup"), size=17, color=MUTED),
            field,
            ft.Button(
                content=ft.Text(t(locale, "status.search"), size=18),
                on_click=h.on_lookup,
                key="status-search",
                height=TAP_MIN,
                width=160,
            ),
        ],
        spacing=18,
        width=form_width(app, 520),
    )
    return frame(app, body)


def view(app: KioskHost) -> ft.Control:
    state = app.state
    locale = state.locale
    status = app.complaint_status
    assert status is not None
    tz = status.timezone
    code = app.status_code or ""
    rows: list[ft.Control] = [
        spoken(t(locale, "status.title"), size=26, weight=ft.FontWeight.BOLD, color=INK),
        # The code's caption is where a screen reader hears the code, spelled out; the code as written
        # is only seen, so it is not read a second time (tests/e2e/test_customer_journeys.py test_d).
        spoken(t(locale, "status.code"), label=spell_code(locale, code), size=16, color=MUTED),
        seen_only(ft.Text(code, size=22, color=INK, font_family="monospace", key="status-code-shown")),
        spoken(
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
            spoken(line or t(locale, "status.due_only", due=due), size=16, color=MUTED, key="status-due")
        )
        for n, ext in enumerate(status.extensions):
            extended = t(locale, "status.extended", reason=ext.reason, due=fmt_due(locale, ext.due_at, tz))
            rows.append(spoken(extended, size=16, color=INK, key=f"status-extended-{n}"))
    if status.reply:
        rows.append(
            ft.Container(
                content=ft.Column(
                    [
                        spoken(t(locale, "status.reply"), size=16, weight=ft.FontWeight.BOLD, color=INK),
                        spoken(status.reply, selectable=True, size=16, color=INK, key="status-reply"),
                    ]
                ),
                padding=16,
                border_radius=12,
                bgcolor=ft.Colors.WHITE,
            )
        )
    remedies = status.remedies_zh if locale == "zh-CN" else status.remedies_en
    if remedies:  # a bank's decision says what the customer may do next
        rows.append(spoken(remedies, size=16, color=INK, key="status-remedies"))
    if status.grade and not status.can_answer:
        graded = t(locale, "case_status.graded", grade=t(locale, f"case_status.grade.{status.grade}"))
        rows.append(spoken(graded, size=16, color=INK, key="status-graded"))
    if state.message_key:
        message = t(locale, state.message_key)
        rows.append(spoken(message, live=True, size=17, color=ACCENT, key="status-message"))
    if status.can_answer:
        rows += [
            spoken(t(locale, "status.ask"), size=18, weight=ft.FontWeight.W_500, color=INK),
            grade_row(locale, Handlers(app).on_satisfied, "complaint-grade-"),
        ]
    rows.append(spoken(t(locale, "status.timeline"), size=18, weight=ft.FontWeight.BOLD, color=INK))
    for entry in status.timeline:
        rows.append(
            ft.Row(
                [
                    ft.Icon(ft.Icons.CIRCLE, size=10, color=ACCENT),
                    spoken(fmt_datetime(locale, entry.at, tz), size=15, color=MUTED, width=190),
                    spoken(t(locale, f"status.event.{entry.kind}"), size=16, color=INK, expand=True),
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
