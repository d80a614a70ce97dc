"""Hotline entry: type in a complaint taken by phone, then read the tracking code out to the caller;
under the form, for supervisors and administrators, the month's 12345 work orders
(admin/screens/work_orders.py).

The draft (values, problems per field, and the idempotency key that makes a double submit store one
complaint) lives in ``app.view["hotline"]`` and survives a language switch or a visit to another tab.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import flet as ft

from admin import hotline
from admin.screens import work_orders
from admin.screens.common import INK, MUTED, TAP, named_dropdown
from admin.screens.errors import message_for
from models.auth import SessionExpired
from models.errors import IdempotencyConflict
from rapport.core.i18n import t
from rapport.ui.a11y import spell_code, spoken

if TYPE_CHECKING:
    from admin.host import AdminHost

log = logging.getLogger(__name__)
ROLES = hotline.ROLES
ERROR = "#B3261E"
NO_COUNTER = "none"
NO_SCORE = "none"


def _new_key() -> str:
    return f"hotline-{uuid.uuid4()}"


@dataclass
class Draft:
    options: hotline.HotlineOptions | None = None
    values: dict[str, Any] = field(default_factory=lambda: {"locale": "zh-CN", "consent": False})
    errors: dict[str, str] = field(default_factory=dict)
    error_values: dict[str, dict[str, object]] = field(default_factory=dict)  # what a message names
    message: str | None = None  # a catalog key about the form as a whole
    key: str = field(default_factory=_new_key)
    done: tuple[int, str] | None = None  # (complaint id, tracking code)
    busy: bool = False
    controls: dict[str, ft.Control] = field(default_factory=dict)
    owner: int | None = None  # who typed it: a draft never passes to the next person signing in here


def _draft(app: AdminHost) -> Draft:
    draft = app.view.get("hotline")
    owner = app.user.id if app.user else None
    if not isinstance(draft, Draft) or draft.owner != owner:
        draft = app.view["hotline"] = Draft(owner=owner)
    return draft


async def load(app: AdminHost) -> None:
    _draft(app).options = await app.call(hotline.options)
    await work_orders.load(app)


def _form(draft: Draft) -> dict[str, Any]:
    for name, control in draft.controls.items():  # what is on screen now, typed or chosen
        draft.values[name] = getattr(control, "value", None)
    form = dict(draft.values)
    if form.get("counter_id") == NO_COUNTER:
        form["counter_id"] = None
    if form.get("score") in (NO_SCORE, ""):
        form["score"] = None
    if draft.options is not None and draft.options.branch_id is not None:
        form.pop("branch_id", None)  # the server files it in the caller's own branch
    return form


async def _submit(app: AdminHost) -> None:
    draft = _draft(app)
    if draft.busy or draft.done is not None:
        return
    form = _form(draft)
    draft.busy, draft.errors, draft.error_values, draft.message = True, {}, {}, None
    app.render()
    try:
        draft.done = await app.call(hotline.record_hotline_complaint, form=form, idempotency_key=draft.key)
    except SessionExpired:
        return
    except hotline.HotlineFormInvalid as exc:
        draft.errors, draft.error_values = dict(exc.errors), dict(exc.values)
    except Exception as exc:
        draft.message, _ = message_for(
            exc,
            {IdempotencyConflict: "admin.hotline.error.conflict"},
            log=log,
            failed="admin: hotline entry failed",
        )
    finally:
        draft.busy = False
    app.render()


def _start_over(app: AdminHost) -> None:
    old = _draft(app)
    app.view["hotline"] = Draft(options=old.options, owner=old.owner)  # and a fresh idempotency key
    app.render()


def _choice(value: str, key: str) -> hotline.Choice:
    return hotline.Choice(value, t("zh-CN", key), t("en", key))


def build(app: AdminHost) -> ft.Control:
    draft = _draft(app)
    body = _done(app, draft) if draft.done is not None else _entry(app, draft)
    rows = [body]
    if work_orders.shown_to(app):
        width = min(640, (app.page.width or 640) - 32)
        rows.append(ft.Container(work_orders.build_card(app), width=width))
    column = ft.Column(rows, spacing=24, scroll=ft.ScrollMode.AUTO, expand=True)
    return ft.Container(content=column, padding=16, expand=True)


def _done(app: AdminHost, draft: Draft) -> ft.Control:
    locale = app.locale
    assert draft.done is not None
    complaint_id, code = draft.done

    async def new_entry(_e: ft.Event[Any]) -> None:
        _start_over(app)

    return ft.Column(
        [
            ft.Text(
                t(locale, "admin.hotline.done.title", id=complaint_id), size=24, weight=ft.FontWeight.BOLD
            ),
            ft.Text(t(locale, "admin.hotline.done.read_out"), size=18, color=INK, key="hotline-read-out"),
            spoken(
                code,
                label=spell_code(locale, code),
                size=44,
                weight=ft.FontWeight.BOLD,
                selectable=True,
                key="hotline-code",
                font_family="monospace",
                color=INK,
            ),
            ft.Text(t(locale, "admin.hotline.done.spelled", code=" ".join(code)), size=16, color=MUTED),
            ft.Button(
                content=t(locale, "admin.hotline.new"),
                icon=ft.Icons.ADD,
                on_click=new_entry,
                key="hotline-new",
                height=TAP,
            ),
        ],
        spacing=14,
    )


def _entry(app: AdminHost, draft: Draft) -> ft.Control:
    locale, values, opts = app.locale, draft.values, draft.options

    def problem(name: str) -> str | None:
        code = draft.errors.get(name)
        return t(locale, f"admin.hotline.error.{code}", **draft.error_values.get(name, {})) if code else None

    async def changed(e: ft.Event[Any]) -> None:
        values[str(e.control.data)] = e.control.value

    async def picked(e: ft.Event[Any]) -> None:
        values[str(e.control.data)] = e.control.value
        app.render()  # the dropdown's accessible name says the new choice

    async def branch_chosen(e: ft.Event[Any]) -> None:
        values["branch_id"], values["counter_id"] = e.control.value, None
        app.render()  # the counters are the chosen branch's

    async def submit(_e: ft.Event[Any]) -> None:
        await _submit(app)

    async def new_entry(_e: ft.Event[Any]) -> None:
        _start_over(app)

    def dropdown(name: str, choices: list[hotline.Choice], **kw: Any) -> ft.Control:
        return named_dropdown(
            t(locale, f"admin.hotline.{name}"),
            values.get(name),
            [(c.value, c.label(locale)) for c in choices],
            data=name,
            key=f"hotline-{name}",
            error_text=problem(name),
            on_select=kw.pop("on_select", picked),
            **kw,
        )

    def text(name: str, **kw: Any) -> ft.TextField:
        return ft.TextField(
            label=t(locale, f"admin.hotline.{name}"),
            data=name,
            key=f"hotline-{name}",
            value=values.get(name) or "",
            error=problem(name),
            on_change=changed,
            **kw,
        )

    controls: dict[str, ft.Control] = {}
    if opts is not None and opts.branch_id is None:  # an administrator: which branch took the call?
        controls["branch_id"] = dropdown("branch_id", opts.branches, on_select=branch_chosen)
    branch = str(opts.branch_id) if opts and opts.branch_id is not None else values.get("branch_id")
    counters = [_choice(NO_COUNTER, "admin.hotline.counter_not_known")]
    counters += opts.counters.get(str(branch), []) if opts else []
    controls["work_order_no"] = text(
        "work_order_no", max_length=40, hint_text=t(locale, "admin.hotline.work_order_no_hint")
    )
    controls["category"] = dropdown("category", opts.categories if opts else [])
    controls["description"] = text("description", multiline=True, min_lines=3, max_length=1000)
    controls["staff_no"] = text("staff_no", max_length=32, hint_text=t(locale, "admin.hotline.staff_no_hint"))
    controls["counter_id"] = dropdown("counter_id", counters)
    # The caller's own rating of the service, if they gave one: a 差评 opens a case (models/cases.py).
    scores = [_choice(NO_SCORE, "admin.hotline.score_none")]
    scores += [_choice(str(n), f"kiosk.score.{n}") for n in (5, 4, 3, 2, 1)]
    controls["score"] = dropdown("score", scores)
    controls["contact"] = text("contact", max_length=120, hint_text=t(locale, "admin.hotline.contact_hint"))
    controls["consent"] = ft.Checkbox(
        label=t(locale, "admin.hotline.consent"),
        data="consent",
        key="hotline-consent",
        value=bool(values.get("consent")),
        error=bool(problem("consent")),
        on_change=changed,
    )
    controls["locale"] = dropdown(
        "locale", [_choice("zh-CN", "admin.hotline.locale_zh"), _choice("en", "admin.hotline.locale_en")]
    )
    # What holds each value: a dropdown is drawn inside its named wrapper (common.named_dropdown).
    draft.controls = {
        n: c.content if isinstance(c, ft.Semantics) and c.content else c for n, c in controls.items()
    }
    message = t(locale, draft.message) if draft.message else None
    consent_problem = ft.Text(
        problem("consent") or "", color=ERROR, key="hotline-consent-error", visible=bool(problem("consent"))
    )
    fields: list[ft.Control] = []
    for name, control in controls.items():
        fields += [control, consent_problem] if name == "consent" else [control]
    rows: list[ft.Control] = [
        ft.Text(t(locale, "admin.hotline.title"), size=24, weight=ft.FontWeight.BOLD, color=INK),
        ft.Text(t(locale, "admin.hotline.intro"), color=MUTED),
        *fields,
        ft.Text(message or "", color=ERROR, key="hotline-message", visible=bool(message)),
        ft.Row(
            [
                ft.Button(
                    content=t(locale, "admin.hotline.submit"),
                    icon=ft.Icons.SEND,
                    on_click=submit,
                    key="hotline-submit",
                    height=TAP,
                    disabled=draft.busy,
                ),
                ft.TextButton(
                    content=t(locale, "admin.hotline.new"),
                    on_click=new_entry,
                    key="hotline-new",
                    height=TAP,
                    visible=draft.message == "admin.hotline.error.conflict",
                ),
            ],
            wrap=True,
        ),
    ]
    width = min(640, (app.page.width or 640) - 32)
    return ft.Column(rows, spacing=12, width=width)
