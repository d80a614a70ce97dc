"""My page, the other three tabs: the comments on my ratings (customer data masked), the complaints
about me (never a contact or a tracking code), and my records (ledger, inspections, training) with
the actions each record allows. One form at a time opens inside the card it is about."""

from __future__ import annotations

from typing import TYPE_CHECKING

import flet as ft

from admin import staff_portal as portal
from admin.screens.common import INK, MUTED, TAP, severity_badge
from admin.screens.me_parts import (
    AMBER,
    BLUE,
    GREEN,
    RED,
    clauses,
    day,
    note,
    stars,
    tag,
    when,
)
from admin.screens.widgets import card, heading, primary_button
from models.sanction import REASON_MIN_CHARS, REPORT_MAX_CHARS, STATEMENT_MAX_CHARS
from rapport.core.i18n import t

if TYPE_CHECKING:
    from admin.host import AdminHost
    from admin.screens.me_state import MeHandlers as Handlers
    from admin.screens.me_state import MeView

REPORT_MIN_CHARS = 20  # what models/sanction.file_report asks of a rectification report
FORMS = {  # action -> (label, minimum length, maximum length)
    "appeal_rating": ("me.form.appeal_rating", REASON_MIN_CHARS, STATEMENT_MAX_CHARS),
    "appeal_record": ("me.form.appeal_record", REASON_MIN_CHARS, STATEMENT_MAX_CHARS),
    "report": ("me.form.report", REPORT_MIN_CHARS, REPORT_MAX_CHARS),
}


# -- the one open form ---------------------------------------------------------------------------------


def _form(app: AdminHost, v: MeView, h: Handlers, action: str, target: str) -> list[ft.Control]:
    """The statement or report field, with Send and Cancel, when this card's form is the open one."""
    locale = app.locale
    label, least, most = FORMS[action]
    if v.form != (action, target):
        return []
    error = t(locale, v.error, min=least) if v.error else None
    v.text_field = ft.TextField(
        label=t(locale, label),
        helper=t(locale, "me.form.least", min=least),
        value=v.draft,
        multiline=True,
        min_lines=3,
        max_lines=8,
        max_length=most,
        on_change=h.on_draft,
        error=error,
        key="me-form-text",
        autofocus=True,
    )
    send = primary_button(t(locale, f"me.form.send.{action}"), h.on_submit, "me-form-submit", ft.Icons.SEND)
    cancel = ft.TextButton(
        content=t(locale, "me.form.cancel"), on_click=h.on_cancel, key="me-form-cancel", height=TAP
    )
    return [v.text_field, ft.Row([send, cancel], wrap=True)]


def _opener(locale: str, h: Handlers, action: str, target: str, key: str, icon: ft.IconData) -> ft.Control:
    return ft.OutlinedButton(
        content=t(locale, f"me.open.{action}"),
        icon=icon,
        on_click=h.on_open,
        data=f"{action}:{target}",
        key=key,
        height=TAP,
    )


def _appeal_status(locale: str, a: portal.AppealInfo, tz: str, key: str) -> list[ft.Control]:
    colour = {"open": AMBER, "upheld": MUTED, "overturned": GREEN}.get(a.status, MUTED)
    out: list[ft.Control] = [
        ft.Text(
            t(locale, f"me.appeal.{a.status}", filed=day(locale, a.filed_at, tz)),
            color=colour,
            weight=ft.FontWeight.W_500,
            key=key,
        ),
        ft.Text(t(locale, "me.appeal.statement", text=a.statement), size=14, color=MUTED),
    ]
    if a.due_at is not None:
        out.append(
            ft.Text(t(locale, "me.appeal.due", day=day(locale, a.due_at, tz)), size=14, key=f"{key}-due")
        )
    if a.decision_reason:
        out.append(ft.Text(t(locale, "me.appeal.reason", text=a.decision_reason), size=14))
    return out


def _answer(locale: str, v: MeView, where: str) -> list[ft.Control]:
    """The message about the last action, in the card it was taken on."""
    if v.message is None or v.at != where:
        return []
    return [note(t(locale, v.message, **v.values), v.ok)]


# -- comments ----------------------------------------------------------------------------------------


def comments_tab(app: AdminHost, v: MeView, h: Handlers, data: portal.Overview) -> list[ft.Control]:
    locale, tz = app.locale, data.me.tz
    out: list[ft.Control] = [ft.Text(t(locale, "me.comments.intro"), color=MUTED)]
    if not data.comments.rows:
        out.append(ft.Text(t(locale, "me.comments.none"), color=MUTED, key="me-comments-empty"))
    for r in data.comments.rows:
        head: list[ft.Control] = [
            stars(r.score),
            ft.Text(t(locale, "me.comments.score", score=r.score), size=14, color=MUTED),
            ft.Text(
                f"{when(locale, r.at, tz)} · {t(locale, f'me.channel.{r.channel}')}", size=14, color=MUTED
            ),
        ]
        if r.flagged and not r.overturned:
            head.append(tag(t(locale, f"me.flag.{r.flag_reason or 'other'}"), MUTED))
        if r.overturned:
            head.append(tag(t(locale, "me.comments.overturned"), GREEN))
        if r.cleared:  # the 差评's case found it does not weigh on me
            head.append(tag(t(locale, f"me.comments.cleared.{r.cleared}"), GREEN))
        lines: list[ft.Control] = [ft.Row(head, wrap=True, vertical_alignment=ft.CrossAxisAlignment.CENTER)]
        if r.reasons:
            lines.append(
                ft.Text(t(locale, "me.comments.reasons", clauses=clauses(locale, r.reasons)), size=14)
            )
        if r.comment:
            lines.append(ft.Text(r.comment, size=16, color=INK))
        if r.appeal is not None:
            lines += _appeal_status(locale, r.appeal, tz, f"me-comment-{r.id}-appeal-status")
        if r.appeal_until is not None:
            if v.form == ("appeal_rating", r.id):
                lines += _form(app, v, h, "appeal_rating", r.id)
            else:
                lines.append(
                    ft.Row(
                        [
                            _opener(
                                locale, h, "appeal_rating", r.id, f"me-comment-{r.id}-appeal", ft.Icons.GAVEL
                            ),
                            ft.Text(
                                t(locale, "me.appeal.until", day=day(locale, r.appeal_until, tz)),
                                size=13,
                                color=MUTED,
                            ),
                        ],
                        wrap=True,
                        vertical_alignment=ft.CrossAxisAlignment.CENTER,
                    )
                )
        lines += _answer(locale, v, f"rating:{r.id}")
        out.append(card(*lines, key=f"me-comment-{r.id}"))
    if data.comments.more:
        out.append(
            ft.Row(
                [
                    ft.OutlinedButton(
                        content=t(locale, "me.comments.more"),
                        icon=ft.Icons.EXPAND_MORE,
                        on_click=h.on_more,
                        key="me-more",
                        height=TAP,
                    )
                ]
            )
        )
    return out


# -- complaints --------------------------------------------------------------------------------------


def complaints_tab(locale: str, data: portal.Overview) -> list[ft.Control]:
    tz = data.me.tz
    out: list[ft.Control] = [ft.Text(t(locale, "me.complaints.intro"), color=MUTED)]
    if not data.complaints:
        out.append(ft.Text(t(locale, "me.complaints.none"), color=MUTED, key="me-complaints-empty"))
    for c in data.complaints:
        lines: list[ft.Control] = [
            ft.Row(
                [
                    ft.Text(
                        f"#{c.id} {clauses(locale, (c.category,))}",
                        size=17,
                        weight=ft.FontWeight.W_500,
                        color=INK,
                    ),
                    severity_badge(locale, c.severity),
                    tag(
                        t(locale, f"admin.state.{c.status}"),
                        BLUE if c.status not in ("closed", "rejected") else MUTED,
                    ),
                ],
                wrap=True,
                vertical_alignment=ft.CrossAxisAlignment.CENTER,
            ),
            ft.Text(t(locale, "me.complaints.filed", day=when(locale, c.filed_at, tz)), size=14, color=MUTED),
            ft.Text(t(locale, "me.complaints.description", text=c.description), size=15),
        ]
        if c.resolved_at:
            lines.append(
                ft.Text(t(locale, "me.complaints.resolved", day=when(locale, c.resolved_at, tz)), size=14)
            )
        if c.closed_at:
            lines.append(
                ft.Text(t(locale, "me.complaints.closed", day=when(locale, c.closed_at, tz)), size=14)
            )
        if c.reply:
            lines.append(ft.Text(t(locale, "me.complaints.reply", text=c.reply), size=15))
        out.append(card(*lines, key=f"me-complaint-{c.id}"))
    return out


# -- records -----------------------------------------------------------------------------------------


def _record(app: AdminHost, v: MeView, h: Handlers, r: portal.RecordRow, tz: str) -> ft.Control:
    locale = app.locale
    title = t(locale, f"me.kind.{r.kind}")
    if r.amount_yuan:
        title = t(locale, "me.record.amount", kind=title, amount=r.amount_yuan)
    lines: list[ft.Control] = [
        ft.Row(
            [
                ft.Icon(
                    ft.Icons.EMOJI_EVENTS_OUTLINED if r.reward else ft.Icons.WARNING_AMBER,
                    color=GREEN if r.reward else RED,
                ),
                ft.Text(title, size=17, weight=ft.FontWeight.W_500, color=INK),
                tag(t(locale, f"me.status.{r.status}"), GREEN if r.status == "closed" else BLUE),
            ],
            wrap=True,
            vertical_alignment=ft.CrossAxisAlignment.CENTER,
        ),
        ft.Text(t(locale, "me.record.clauses", clauses=clauses(locale, r.clauses)), size=14, color=MUTED),
        ft.Text(t(locale, "me.record.reason", text=r.reason), size=15),
        ft.Text(t(locale, "me.record.proposed", day=day(locale, r.proposed_at, tz)), size=14, color=MUTED),
    ]
    if r.decided_at is not None:
        lines.append(
            ft.Text(
                t(
                    locale,
                    "me.record.decided",
                    day=day(locale, r.decided_at, tz),
                    text=r.decision_reason or "",
                ),
                size=14,
            )
        )
    for name, ids in (("complaints", r.evidence_complaints), ("inspections", r.evidence_inspections)):
        if ids:
            listed = ", ".join(f"#{i}" for i in ids)
            lines.append(ft.Text(t(locale, f"me.record.evidence.{name}", ids=listed), size=14, color=MUTED))
    if r.acknowledged_at is not None:
        lines.append(
            ft.Text(t(locale, "me.record.acknowledged", day=day(locale, r.acknowledged_at, tz)), size=14)
        )
    if r.report:
        lines.append(
            ft.Text(
                t(locale, "me.record.report_filed", day=day(locale, r.reported_at or r.proposed_at, tz)),
                size=14,
            )
        )
        lines.append(ft.Text(r.report, size=15))
    if r.appeal is not None:
        lines += _appeal_status(locale, r.appeal, tz, f"me-record-{r.id}-appeal-status")
    if r.can_acknowledge:
        lines.append(ft.Text(t(locale, "me.record.ack_hint"), size=13, color=MUTED))
    actions: list[ft.Control] = []
    if r.can_acknowledge:
        actions.append(
            primary_button(
                t(locale, "me.open.acknowledge"),
                h.on_acknowledge,
                f"me-record-{r.id}-ack",
                ft.Icons.DONE,
                data=str(r.id),
            )
        )
    if r.can_report and v.form != ("report", str(r.id)):
        actions.append(
            _opener(locale, h, "report", str(r.id), f"me-record-{r.id}-report", ft.Icons.EDIT_NOTE)
        )
    if r.appeal_until is not None and v.form != ("appeal_record", str(r.id)):
        actions.append(
            _opener(locale, h, "appeal_record", str(r.id), f"me-record-{r.id}-appeal", ft.Icons.GAVEL)
        )
    if actions:
        lines.append(ft.Row(actions, wrap=True))
    if r.appeal_until is not None:
        lines.append(
            ft.Text(t(locale, "me.appeal.until", day=day(locale, r.appeal_until, tz)), size=13, color=MUTED)
        )
    for action in ("report", "appeal_record"):
        lines += _form(app, v, h, action, str(r.id))
    lines += _answer(locale, v, f"record:{r.id}")
    return card(*lines, key=f"me-record-{r.id}")


def records_tab(app: AdminHost, v: MeView, h: Handlers, data: portal.Overview) -> list[ft.Control]:
    locale, tz = app.locale, data.me.tz
    out: list[ft.Control] = [heading(t(locale, "me.records.title"))]
    if not data.records:
        out.append(ft.Text(t(locale, "me.records.none"), color=MUTED, key="me-records-empty"))
    out += [_record(app, v, h, r, tz) for r in data.records]
    out.append(heading(t(locale, "me.inspections.title")))
    if not data.inspections:
        out.append(ft.Text(t(locale, "me.inspections.none"), color=MUTED, key="me-inspections-empty"))
    for i in data.inspections:
        lines: list[ft.Control] = [
            ft.Text(
                t(
                    locale,
                    "me.inspections.head",
                    day=when(locale, i.at, tz),
                    kind=t(locale, f"admin.inspect.kind.{i.kind}"),
                    inspector=i.inspector,
                ),
                size=15,
                weight=ft.FontWeight.W_500,
            ),
        ]
        for f in i.findings:
            result = t(locale, f"admin.inspect.result.{f.result}")
            text = f"{clauses(locale, (f.clause,))}: {result}" + (f" — {f.note}" if f.note else "")
            lines.append(ft.Text(text, size=14, color=RED if f.result == "violation" else INK))
        if i.notes:
            lines.append(ft.Text(i.notes, size=14, color=MUTED))
        out.append(card(*lines, key=f"me-inspection-{i.id}"))
    out.append(heading(t(locale, "me.training.title")))
    if not data.training:
        out.append(ft.Text(t(locale, "me.training.none"), color=MUTED, key="me-training-empty"))
    for r in data.training:
        outcome = t(locale, f"admin.training.result.{'passed' if r.passed else 'failed'}")
        kind = t(locale, f"admin.training.kind.{r.kind}")
        out.append(
            ft.Text(
                f"{day(locale, r.completed_on, data.me.tz)} · {kind} · {r.course} · {outcome}",
                color=INK if r.passed else RED,
                key=f"me-training-{r.id}",
            )
        )
    return out
