"""The forms of one 差评 case's page: the next steps its state allows (callback, finding, action,
done, answer, the grade heard on a callback), each with what it needs, drawn from the case's state
(admin/screens/cases_state.py); the handlers are the screen's (admin/screens/cases.py)."""

from __future__ import annotations

from typing import Any, Protocol

import flet as ft

from admin import cases as service
from admin.screens.cases_state import CasesState
from admin.screens.common import INK, MUTED, TAP, named_dropdown
from models.cases import About, CallbackOutcome, CaseStatus, Finding, Grade
from rapport.core.i18n import t


class CaseFormHandlers(Protocol):
    """What the case's forms need of the screen's handlers."""

    async def on_field(self, e: ft.Event[Any]) -> None: ...
    async def on_pick(self, e: ft.Event[Any]) -> None: ...
    async def on_callback(self, e: ft.Event[Any]) -> None: ...
    async def on_finding(self, e: ft.Event[Any]) -> None: ...
    async def on_action(self, e: ft.Event[Any]) -> None: ...
    async def on_action_done(self, e: ft.Event[Any]) -> None: ...
    async def on_answer(self, e: ft.Event[Any]) -> None: ...
    async def on_grade(self, e: ft.Event[Any]) -> None: ...


def _text_field(
    label: str, key: str, v: CasesState, h: CaseFormHandlers, multiline: bool = True
) -> ft.Control:
    return ft.TextField(
        label=label,
        value=v.form.get(key, ""),
        data=key,
        key=f"case-{key}",
        on_change=h.on_field,
        multiline=multiline,
        min_lines=1,
        max_lines=4,
        max_length=1000 if multiline else None,
    )


def _button(text: str, key: str, handler: Any, data: Any = None, outlined: bool = False) -> ft.Control:
    kind = ft.OutlinedButton if outlined else ft.Button
    return kind(content=text, key=key, on_click=handler, data=data, height=TAP)


def forms(locale: str, view: service.CaseView, v: CasesState, h: CaseFormHandlers) -> list[ft.Control]:
    """The next steps the case's state allows, each with what it needs."""
    status = CaseStatus(view.row.status)
    out: list[ft.Control] = []
    if status is CaseStatus.closed:
        return [ft.Text(t(locale, "cases.closed"), color=MUTED, key="case-closed")]

    def section(key: str) -> ft.Control:
        return ft.Text(t(locale, key), size=17, weight=ft.FontWeight.W_500, color=INK)

    # Callbacks, any time until closed.
    out += [
        section("cases.form.callback"),
        _text_field(t(locale, "cases.form.callback_note"), "callback_note", v, h),
        ft.Row(
            [
                _button(
                    t(locale, f"cases.outcome.{o}"), f"case-callback-{o}", h.on_callback, o, outlined=True
                )
                for o in CallbackOutcome
            ],
            wrap=True,
            spacing=8,
            run_spacing=8,
        ),
    ]
    if status in (CaseStatus.pending, CaseStatus.verifying, CaseStatus.found):
        out += [
            section("cases.form.finding"),
            ft.Row(
                [
                    named_dropdown(
                        t(locale, "cases.form.finding_pick"),
                        v.form.get("finding") or view.finding,
                        [(f, t(locale, f"cases.outcome.{f}")) for f in Finding],
                        data="finding",
                        key="case-finding",
                        on_select=h.on_pick,
                        width=220,
                    ),
                    named_dropdown(
                        t(locale, "cases.form.about"),
                        v.form.get("about") or view.about,
                        [(a, t(locale, f"cases.about.{a}")) for a in About],
                        data="about",
                        key="case-about",
                        on_select=h.on_pick,
                        width=220,
                    ),
                ],
                wrap=True,
                spacing=12,
                run_spacing=8,
            ),
            _text_field(t(locale, "cases.form.finding_note"), "finding_note", v, h),
            _button(t(locale, "cases.form.finding_save"), "case-finding-save", h.on_finding),
        ]
    if status is CaseStatus.found or status is CaseStatus.acting:
        if status is CaseStatus.acting:
            out += [
                section("cases.form.acting"),
                _button(t(locale, "cases.form.action_done"), "case-action-done", h.on_action_done),
            ]
        elif view.finding is not None and view.action is None:
            action = v.form.get("action", "rectify")
            out += [
                section("cases.form.action"),
                named_dropdown(
                    t(locale, "cases.form.action_pick"),
                    action,
                    [(a, t(locale, f"cases.action.{a}")) for a in ("rectify", "explain")],
                    data="action",
                    key="case-action",
                    on_select=h.on_pick,
                    width=260,
                ),
                _text_field(t(locale, f"cases.form.action_text.{action}"), "action_text", v, h),
            ]
            if action == "rectify":
                out.append(
                    _text_field(t(locale, "cases.form.action_days"), "action_days", v, h, multiline=False)
                )
            out.append(_button(t(locale, "cases.form.action_save"), "case-action-save", h.on_action))
        else:
            out += [
                section("cases.form.answer"),
                named_dropdown(
                    t(locale, "cases.form.via"),
                    v.form.get("via", "callback"),
                    [(w, t(locale, f"cases.outcome.{w}")) for w in ("callback", "status_page")],
                    data="via",
                    key="case-via",
                    on_select=h.on_pick,
                    width=260,
                ),
                _text_field(t(locale, "cases.form.answer_text"), "answer", v, h),
                _button(t(locale, "cases.form.answer_save"), "case-answer-save", h.on_answer),
            ]
    if status is CaseStatus.answered:
        out += [
            section("cases.form.grade"),
            ft.Row(
                [
                    _button(t(locale, f"cases.outcome.{g}"), f"case-grade-{g}", h.on_grade, g, outlined=True)
                    for g in Grade
                ],
                wrap=True,
                spacing=8,
                run_spacing=8,
            ),
        ]
    return out
