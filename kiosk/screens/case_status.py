"""The status page of a 差评 case (/t/<code>, the code the kiosk showed after the rating): where the
verification stands, the promised reply time, the answer once given, and the customer's grade of
the handling (满意 / 基本满意 / 不满意; 不满意 sends the case back). Nothing internal is shown."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import flet as ft

from kiosk import backend
from kiosk.screens.frame import form_width, frame
from kiosk.ui import ACCENT, INK, MUTED, TAP_MIN
from models.case_flow import CaseStepRefused
from models.errors import NotFound
from rapport.core.i18n import fmt_datetime, fmt_due, t
from rapport.core.lanes import KIOSK
from rapport.ui.a11y import seen_only, spell_code, spoken

if TYPE_CHECKING:
    from kiosk.host import KioskHost

log = logging.getLogger(__name__)
GRADES = ("satisfied", "fairly", "dissatisfied")


class Handlers:
    def __init__(self, app: KioskHost):
        self.app = app

    async def on_grade(self, e: ft.Event[Any]) -> None:
        await grade(self.app, str(e.control.data))


def grade_row(locale: str, on_click: Any, key_prefix: str) -> ft.Control:
    """The three grades of the handling, 满意 / 基本满意 / 不满意, as large buttons: the same words on a
    差评 case's status page and a complaint's (models/cases.py ``Grade``)."""
    return ft.Row(
        [
            ft.OutlinedButton(
                content=ft.Text(t(locale, f"case_status.grade.{g}"), size=18),
                on_click=on_click,
                data=g,
                key=f"{key_prefix}{g}",
                height=TAP_MIN,
            )
            for g in GRADES
        ],
        wrap=True,
        spacing=12,
        run_spacing=12,
    )


async def grade(app: KioskHost, value: str) -> None:
    """The customer's grade; a case no longer waiting for one shows as it now stands."""
    code = app.status_code or ""
    try:
        app.case_view = await KIOSK.run(backend.grade_case, app.ctx, code=code, grade=value)
    except (CaseStepRefused, NotFound):
        app.case_view = await KIOSK.run(backend.case_status, app.ctx, code) or app.case_view
        app.state.say(None)
    else:
        app.state.say(f"case_status.thanks.{value}")
    app.render()


def view(app: KioskHost) -> ft.Control:
    locale, case = app.state.locale, app.case_view
    assert case is not None
    tz = case.timezone
    code = app.status_code or ""
    rows: list[ft.Control] = [
        spoken(t(locale, "case_status.title"), size=26, weight=ft.FontWeight.BOLD, color=INK),
        # Heard once, spelled out in its caption; the code as written is only seen.
        spoken(t(locale, "status.code"), label=spell_code(locale, code), size=16, color=MUTED),
        seen_only(ft.Text(code, size=22, color=INK, font_family="monospace")),
        spoken(
            t(locale, "case_status.current", status=t(locale, f"case_status.state.{case.status}")),
            size=20,
            weight=ft.FontWeight.W_500,
            color=INK,
            key="case-status-current",
        ),  # fmt: skip
        spoken(
            t(locale, "case_status.rated", at=fmt_datetime(locale, case.opened_at, tz)), size=16, color=MUTED
        ),
    ]
    if case.status != "closed":
        promise = t(locale, f"promise.{case.promise_unit}", amount=case.promise_amount)
        rows.append(spoken(t(locale, "status.due", promise=promise, due=fmt_due(locale, case.due_at, tz)),
                           size=16, color=MUTED, key="case-status-due"))  # fmt: skip
    if case.answer:
        rows.append(
            ft.Container(
                content=ft.Column(
                    [
                        spoken(
                            t(locale, "case_status.answer"), size=16, weight=ft.FontWeight.BOLD, color=INK
                        ),
                        spoken(case.answer, size=16, color=INK, key="case-status-answer"),
                    ]
                ),
                padding=16,
                border_radius=12,
                bgcolor=ft.Colors.WHITE,
            )
        )
    if case.grade and not case.can_grade:
        graded = t(locale, "case_status.graded", grade=t(locale, f"case_status.grade.{case.grade}"))
        rows.append(spoken(graded, size=16, color=INK, key="case-status-graded"))
    if app.state.message_key:
        message = t(locale, app.state.message_key)
        rows.append(spoken(message, live=True, size=17, color=ACCENT, key="case-status-message"))
    if case.can_grade:
        rows += [
            spoken(t(locale, "case_status.ask"), size=18, weight=ft.FontWeight.W_500, color=INK),
            grade_row(locale, Handlers(app).on_grade, "case-grade-"),
        ]
    rows.append(
        ft.TextButton(
            content=ft.Text(t(locale, "status.another"), size=17),
            on_click=app.on_status_again,
            key="status-again",
            height=TAP_MIN,
        )  # fmt: skip
    )
    return frame(app, ft.Column(rows, spacing=14, width=form_width(app, 640)))
