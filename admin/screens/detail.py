"""One complaint: what happened, the masked contact, the timeline, and the next steps allowed.

回避: a viewer the complaint involves (named in it, or served its customer at the counter) reads it
with every field read-only and no step, assignment or reveal offered, and is told why; the
complaint is offered only to people who may take it (admin/backend.py ``Detail.handlers``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import flet as ft

from admin import backend
from admin.screens import extension_panel
from admin.screens.common import INK, MUTED, TAP, due_label, is_narrow, named_dropdown, severity_badge
from admin.screens.errors import message_for
from models.auth import SessionExpired
from models.cases import About, Finding
from models.complaint import InvalidTransition
from models.errors import ValidationFailed
from rapport.core.i18n import fmt_datetime, pick, t
from rapport.ui.a11y import spoken

if TYPE_CHECKING:
    from admin.host import AdminHost

log = logging.getLogger(__name__)
KEY = "detail"


@dataclass
class DetailView:
    """The open complaint's page: the form as typed while a step is refused, and the revealed contact."""

    draft: dict[str, str] = field(default_factory=dict)
    revealed: str | None = None


def state(app: AdminHost) -> DetailView:
    v = app.view.get(KEY)
    if not isinstance(v, DetailView):
        v = app.view[KEY] = DetailView()
    return v


def forget(app: AdminHost) -> None:
    """A complaint is opened or left: nothing typed or revealed on the last one carries over."""
    app.view.pop(KEY, None)


def build(app: AdminHost) -> ft.Control:
    locale = app.locale
    d = app.detail
    assert d is not None
    v = state(app)
    form: dict[str, ft.TextField | ft.Dropdown] = {}  # the pickers and fields, once drawn below

    def typed() -> dict[str, str]:
        return {name: str(f.value or "") for name, f in form.items()}

    async def on_pick(_e: ft.Event[Any]) -> None:
        """A finding or its subject was picked: keep the whole form as it stands and redraw, so the
        picker's accessible name says the choice (admin/screens/common.py ``named_dropdown``)."""
        v.draft = typed()
        app.render()

    async def on_action(e: ft.Event[Any]) -> None:
        action = str(e.control.data)
        values = typed()
        v.draft = values  # redrawn as typed if the step is refused; cleared when it is taken
        try:
            await app.call(backend.act, d.row.id, action, **values)
        except SessionExpired:
            return
        except ValidationFailed as exc:
            known = ("root_cause", "note", "finding", "about")
            app.say(f"admin.error.{exc.field}" if exc.field in known else "admin.error.generic")
        except Exception as exc:
            key, shown = message_for(
                exc,
                {InvalidTransition: "admin.error.invalid"},
                log=log,
                failed="admin: complaint action failed",
            )
            app.say(key, **shown)
        else:
            v.draft = {}
            app.say("admin.action.done", ok=True)
        await app.reload_detail()

    async def on_reveal(_e: ft.Event[Any]) -> None:
        try:
            v.revealed = await app.call(backend.reveal, d.row.id)
        except SessionExpired:
            return
        app.render()

    async def on_back(_e: ft.Event[Any]) -> None:
        await app.close_complaint()

    row = d.row
    message = t(locale, app.message_key, **app.message_values) if app.message_key else None
    now = app.ctx.clock()
    due, overdue = due_label(locale, row.due_at, now)
    clock, first_at = row.next_due()
    contact_due = due_label(locale, first_at, now, clock) if clock == "first_contact" else None
    contact: list[ft.Control] = []
    if d.has_contact:
        shown = v.revealed or d.contact_masked
        contact.append(
            spoken(t(locale, "admin.detail.contact", contact=shown), key="contact", selectable=True)
        )
        if not v.revealed and not d.conflicted:
            contact.append(
                ft.TextButton(
                    content=t(locale, "admin.detail.reveal"),
                    icon=ft.Icons.VISIBILITY,
                    on_click=on_reveal,
                    key="reveal",
                    height=TAP,
                )
            )
    else:
        contact.append(ft.Text(t(locale, "admin.detail.no_contact"), color=MUTED))
    draft = v.draft  # what was typed before a step was refused: kept, not lost
    # On a phone the pickers take the whole width (their labels fit on one line) and each step of the
    # timeline is a time and what happened over the who and the note, not three narrow columns.
    narrow = is_narrow(app)
    picker_width = max(160, (app.page.width or 0) - 32) if narrow else 240
    # The finding and what it is about, in the words of a 差评 case (models/cases.py).
    named = {
        name: named_dropdown(
            t(locale, f"admin.detail.{name}"),
            draft.get(name) or getattr(d, name),
            [(w, t(locale, f"{words}.{w}")) for w in choices],
            key=name,
            on_select=on_pick,
            width=picker_width,
        )
        for name, words, choices in (("finding", "cases.outcome", Finding), ("about", "cases.about", About))
    }
    pickers: dict[str, ft.Dropdown] = {name: wrapper.content for name, wrapper in named.items()}  # type: ignore[attr-defined]
    fields: dict[str, ft.TextField] = {
        "root_cause": ft.TextField(
            label=t(locale, "admin.detail.root_cause"),
            value=draft.get("root_cause", d.root_cause or ""),
            multiline=True,
            max_length=1000,
            key="root_cause",
        ),
        "corrective_action": ft.TextField(
            label=t(locale, "admin.detail.corrective"),
            value=draft.get("corrective_action", d.corrective_action or ""),
            multiline=True,
            max_length=1000,
            key="corrective_action",
        ),
        "reply": ft.TextField(
            label=t(locale, "admin.detail.reply"),
            value=draft.get("reply", d.reply or ""),
            multiline=True,
            max_length=2000,
            key="reply",
        ),
        "note": ft.TextField(
            label=t(locale, "admin.detail.note"),
            value=draft.get("note", ""),
            multiline=True,
            max_length=1000,
            key="note",
        ),
    }
    if row.status in ("closed", "rejected") or d.conflicted:
        # Nothing can be saved on a closed case (only reopening), nor by someone who must stand aside:
        # show the fields, but not as editable.
        for text in fields.values():
            text.read_only = True
        for picker in pickers.values():
            picker.disabled = True
    form.update({**pickers, **fields})
    actions: list[ft.Control] = [
        ft.Button(
            content=t(locale, f"admin.action.{s}"),
            on_click=on_action,
            data=s,
            key=f"action-{s}",
            height=TAP,
        )
        for s in d.next_statuses
    ]
    if row.status in ("acknowledged", "investigating") and not d.conflicted:
        actions.insert(
            0,
            ft.OutlinedButton(
                content=t(locale, "admin.detail.save_investigation"),
                on_click=on_action,
                data="investigation",
                key="action-investigation",
                height=TAP,
            ),
        )
    if row.status not in ("closed", "rejected") and not d.conflicted:
        actions.append(
            ft.TextButton(
                content=t(locale, "admin.detail.assign_me"),
                on_click=on_action,
                data="assign_me",
                key="action-assign_me",
                height=TAP,
            )
        )
        me = app.user.id if app.user else None
        actions += [
            ft.TextButton(
                content=t(locale, "admin.detail.assign_to", name=h.name),
                on_click=on_action,
                data=f"assign:{h.id}",
                key=f"action-assign-{h.id}",
                height=TAP,
            )
            for h in d.handlers
            if h.id != me
        ]
    stand_aside = [
        ft.Text(t(locale, key), color="#B3261E", key=f"detail-{name}")
        for name, key, shown in (
            ("conflict", "admin.detail.conflict", d.conflicted),
            ("to-admin", "admin.detail.to_admin", d.to_admin and row.status not in ("closed", "rejected")),
        )
        if shown
    ]
    timeline = [_timeline_step(locale, e, narrow) for e in d.events]
    where = t(
        locale,
        "admin.detail.where",
        branch=pick(locale, row.branch_zh, row.branch_en),
        counter=pick(locale, row.counter_zh, row.counter_en) or t(locale, f"admin.channel.{d.channel}"),
        staff=row.staff_name or t(locale, "admin.detail.nobody"),
    )
    body = ft.Column(
        [
            ft.Row(
                [
                    ft.TextButton(
                        content=t(locale, "admin.detail.back"),
                        icon=ft.Icons.ARROW_BACK,
                        on_click=on_back,
                        key="back",
                        height=TAP,
                    )
                ]
            ),
            ft.Row(
                [
                    severity_badge(locale, row.severity),
                    ft.Text(t(locale, "admin.detail.title", id=row.id), size=24, weight=ft.FontWeight.BOLD),
                    ft.Text(pick(locale, row.category_zh, row.category_en), size=18, color=INK),
                    ft.Text(
                        t(locale, f"admin.state.{row.status}"), size=16, color=MUTED, key="detail-status"
                    ),
                ],
                wrap=True,
            ),
            ft.Text(where, color=MUTED),
            ft.Text(
                contact_due[0] if contact_due else "",
                color="#B3261E" if contact_due and contact_due[1] else INK,
                visible=contact_due is not None,
                key="detail-contact-due",
            ),
            ft.Text(
                due,
                color="#B3261E" if overdue else INK,
                visible=row.status in ("new", "acknowledged", "investigating"),
            ),
            ft.Text(t(locale, "admin.detail.assignee", name=d.assignee), visible=bool(d.assignee)),
            *stand_aside,
            extension_panel.build(app),
            ft.Text(t(locale, "admin.detail.description"), weight=ft.FontWeight.BOLD),
            # Selectable (a supervisor copies from it) and read as text, not as an empty field.
            spoken(
                t(locale, "admin.detail.text_erased") if d.text_erased else d.description,
                selectable=True,
                color=MUTED if d.text_erased else None,
                key="description",
            ),
            *contact,
            ft.Row(list(named.values()), wrap=True, spacing=12, run_spacing=8),
            ft.Text(
                t(locale, "admin.detail.graded", grade=t(locale, f"case_status.grade.{d.grade}")),
                key="detail-grade",
                visible=bool(d.grade),
            ),
            *fields.values(),
            ft.Text(
                message or "",
                color="#1E4E8C" if app.message_ok else "#B3261E",
                key="detail-message",
                visible=bool(message),
            ),
            ft.Row(actions, wrap=True, spacing=8, run_spacing=8),
            ft.Text(t(locale, "admin.detail.timeline"), weight=ft.FontWeight.BOLD),
            *timeline,
        ],
        spacing=10,
        scroll=ft.ScrollMode.AUTO,
        expand=True,
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
    )
    return ft.Container(content=body, padding=16, expand=True)


def _timeline_step(locale: str, e: Any, narrow: bool) -> ft.Control:
    """One event of the timeline: when, what, and who with the note (and whether the customer sees it)."""
    when = ft.Text(fmt_datetime(locale, e.at), size=14, color=MUTED, width=None if narrow else 180)
    what = ft.Text(t(locale, f"status.event.{e.kind}"), size=15, color=INK, width=None if narrow else 150)
    rest = " · ".join(x for x in (e.actor, e.note, t(locale, "admin.detail.public") if e.public else "") if x)
    if narrow:
        lines: list[ft.Control] = [ft.Row([when, what], wrap=True, spacing=12)]
        if rest:
            lines.append(ft.Text(rest, size=14, color=MUTED))
        return ft.Column(lines, spacing=2)
    return ft.Row(
        [when, what, ft.Text(rest, size=14, color=MUTED, expand=True)],
        vertical_alignment=ft.CrossAxisAlignment.START,
    )
