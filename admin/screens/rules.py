"""The rules editor: every policy setting of the global rules or of one branch, grouped in cards, with
where each value comes from; administrators change values (only the changed ones are saved, as a new
version) or drop a branch's own value, supervisors read their branch's rules. The versions saved so
far are listed under the cards, each with when it was published (on every staff member's rules page
from the moment it was saved) and how it was adopted; an administrator records the adoption in a
small form inside that version's entry (劳动合同法 §4: rules on pay and discipline are adopted
democratically and made known to staff).

Typing does not rebuild the screen (that would fight the cursor): a change updates only the field's
"changed, not saved yet" line and the count of unsaved changes in the bar at the bottom, which stays
in view with the Save button and the outcome of the last action.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import flet as ft

from admin import rules as service
from admin.screens import calendar as calendar_cards
from admin.screens.common import ERROR, INK, MUTED, OK, TAP, named_dropdown
from admin.screens.errors import message_for
from admin.screens.rule_words import choice_label, label
from admin.screens.rules_history import history as _history
from admin.screens.rules_state import GLOBAL, RulesState, revision_of, setting_of, state
from admin.screens.widgets import primary_button, scroll_key, titled_card
from models.auth import SessionExpired
from models.errors import Forbidden, NotFound, ValidationFailed
from models.org import Role
from rapport.core.i18n import fmt_number, pick, t

if TYPE_CHECKING:
    from admin.host import AdminHost

log = logging.getLogger(__name__)
CHANGED = "#7D5700"
# The format each kind of text field expects, under rules.format.*
FORMATS = {
    "time": "time",
    "weekdays": "weekdays",
    "dates": "dates",
    "clauses": "clauses",
    "int_list": "list",
    "text_list": "list",
}


async def load(app: AdminHost) -> None:
    """The chosen scope's rules; a supervisor always gets their own branch's."""
    v = state(app)
    if app.user is not None and app.user.role is not Role.admin:
        v.scope = str(app.user.branch_id) if app.user.branch_id is not None else GLOBAL
    try:
        v.data = await app.call(service.rules, None if v.scope == GLOBAL else int(v.scope))
    except Forbidden:
        v.data, v.message = None, ("rules.forbidden", {}, False)
    except NotFound:
        v.scope, v.message = GLOBAL, ("rules.not_found", {}, False)
        v.data = await app.call(service.rules, None)
    if v.data is not None:
        await calendar_cards.load(app, v.data.scope.branch_id)


# -- words --------------------------------------------------------------------------------------


def shown(locale: str, s: service.Setting, text: str) -> str:
    if s.kind == "bool":
        return t(locale, f"rules.{'on' if text == 'true' else 'off'}")
    return choice_label(locale, s.key, text) if s.kind == "choice" else text


def bounds(locale: str, s: service.Setting) -> str:
    """What may be typed: the range with its unit ("From 1 to 100,000 ratings"), or a format."""
    if s.kind in FORMATS:
        return t(locale, f"rules.format.{FORMATS[s.kind]}")
    if s.minimum is None and s.maximum is None:
        return ""
    unit = t(locale, f"rules.unit.{s.unit}") if s.unit else ""
    low = fmt_number(locale, s.minimum, 3) if s.minimum is not None else ""
    high = fmt_number(locale, s.maximum, 3) if s.maximum is not None else ""
    key = "rules.at_least" if s.maximum is None else "rules.at_most" if s.minimum is None else "rules.range"
    if s.min_exclusive and s.minimum is not None and s.maximum is not None:
        key = "rules.range_above"
    return t(locale, key, min=low, max=high, unit=unit).strip()


def error_text(locale: str, s: service.Setting | None, exc: service.RuleInvalid) -> str:
    """The refusal in the user's language: each reason has its sentence, filled from the setting."""
    reason = exc.reason
    if reason == "range" and s is not None:
        return t(locale, "rules.error.range", range=bounds(locale, s))
    if reason in ("too_few", "too_many") and s is not None:
        n = s.min_items if reason == "too_few" else s.max_items
        return t(locale, f"rules.error.{reason}", n=n if n is not None else "")
    if reason in ("weekday", "date", "clause", "choice"):
        return t(locale, f"rules.error.{reason}", text=exc.values.get("text", ""))
    if reason == "breaks_branch":
        name = exc.values.get(pick(locale, "branch_zh", "branch_en"), "")
        return t(locale, "rules.error.breaks_branch", branch=name)
    known = ("integer", "number", "bool", "time", "hours_order", "sla_order", "with_defaults", "global_only")
    return t(locale, f"rules.error.{reason}" if reason in (*known, "unknown") else "rules.error.invalid")


def source_text(locale: str, s: service.Setting, draft: str | None) -> tuple[str, str]:
    if draft is not None and draft != s.text:
        return t(locale, "rules.source.unsaved"), CHANGED
    return t(locale, f"rules.source.{s.source}"), MUTED


# -- handlers -----------------------------------------------------------------------------------


class Handlers:
    """Event handlers (all async). Field edits update two texts in place; actions re-render."""

    def __init__(self, app: AdminHost):
        self.app, self.v = app, state(app)
        self.sources: dict[str, ft.Text] = {}
        self.pending: ft.Text | None = None
        self.adopt_fields: dict[str, ft.TextField] = {}  # the open adoption form's fields, as drawn

    def changes(self) -> dict[str, str]:
        out = {}
        for key, text in self.v.drafts.items():
            s = setting_of(self.v, key)
            if s is not None and text != s.text:
                out[key] = text
        return out

    async def on_edit(self, e: ft.Event[Any]) -> None:
        key, value = str(e.control.data), e.control.value
        self.v.drafts[key] = ("true" if value else "false") if isinstance(value, bool) else str(value or "")
        s, locale = setting_of(self.v, key), self.app.locale
        if s is not None and (line := self.sources.get(key)) is not None:
            line.value, line.color = source_text(locale, s, self.v.drafts[key])
            line.update()
        if self.pending is not None:
            self.pending.value = pending_text(locale, len(self.changes()))
            self.pending.update()

    async def _reload(self) -> None:
        try:
            await load(self.app)
        except SessionExpired:
            return
        self.app.render()

    async def on_scope(self, e: ft.Event[Any]) -> None:
        had = bool(self.changes())
        self.v.scope, self.v.drafts, self.v.error = e.control.value or GLOBAL, {}, None
        self.v.close_adoption()
        self.v.message = ("rules.discarded", {}, False) if had else None
        await self._reload()

    async def on_discard(self, _e: ft.Event[Any]) -> None:
        self.v.drafts, self.v.error, self.v.message = {}, None, ("rules.discarded", {}, True)
        self.app.render()

    async def on_save(self, _e: ft.Event[Any]) -> None:
        v, changes = self.v, self.changes()
        if not changes or v.data is None:
            v.error, v.message = None, ("rules.nothing", {}, False)
            self.app.render()
            return
        await self._act(service.save_rules, v.data.scope.branch_id, changes)

    async def on_reset(self, e: ft.Event[Any]) -> None:
        if self.v.data is not None:
            await self._act(service.reset_rule, self.v.data.scope.branch_id, str(e.control.data))

    async def _act(self, fn: Any, branch_id: int | None, arg: Any) -> None:
        """Save or reset; a refusal keeps the drafts and points at the field, success starts afresh."""
        v, saved = self.v, None
        try:
            saved = await self.app.call(fn, branch_id, arg)
        except SessionExpired:
            return
        except service.RuleInvalid as exc:
            v.error, v.message = exc, ("rules.not_saved", {}, False)
            self.app.render()
            if v.body is not None:
                await v.body.scroll_to(scroll_key=f"rules-block-{exc.field}", duration=300)
            return
        except Exception as exc:
            key, values = message_for(
                exc,
                {Forbidden: "rules.forbidden", NotFound: "rules.forbidden"},
                log=log,
                failed="admin: saving the rules failed",
                generic="rules.generic",
            )
            v.message = (key, values, False)
        else:
            v.error = None
            if fn is service.reset_rule:
                v.drafts.pop(str(arg), None)
                done = "rules.reset_done" if saved.changed else "rules.reset_nothing"
                v.message = (done, {"version": saved.version, "field": str(arg)}, True)
            else:
                v.drafts = {}
                done = "rules.saved" if saved.changed else "rules.unchanged"
                v.message = (done, {"version": saved.version, "n": len(saved.changed)}, True)
        await self._reload()
        if saved is not None and saved.changed and v.body is not None:
            # A render starts the list at the top again: bring back the setting just saved.
            await v.body.scroll_to(scroll_key=f"rules-block-{saved.changed[0]}", duration=0)

    # -- the adoption of a saved version

    async def on_adopt_open(self, e: ft.Event[Any]) -> None:
        """Open the form on a version, prefilled with the day it was saved (or what was recorded)."""
        v = self.v
        r = revision_of(v, int(e.control.data))
        if r is None or v.data is None:
            return
        if v.adopt != r.version:
            v.close_adoption()
            v.adopt = r.version
            saved = r.saved_at.astimezone(ZoneInfo(v.data.tz)).date()
            v.adopt_date = (r.adopted_on or saved).isoformat()
            v.adopt_how = r.adopted_how
        v.message = None
        self.app.render()
        await _scroll(v, f"rules-entry-{r.version}")  # a render starts the list at the top again

    async def on_adopt_cancel(self, _e: ft.Event[Any]) -> None:
        version = self.v.adopt
        self.v.close_adoption()
        self.app.render()
        await _scroll(self.v, f"rules-entry-{version}")

    async def on_adopt_edit(self, e: ft.Event[Any]) -> None:
        if e.control.data == "date":
            self.v.adopt_date = str(e.control.value or "")
        else:
            self.v.adopt_how = str(e.control.value or "")

    async def on_adopt_save(self, _e: ft.Event[Any]) -> None:
        """Record it; a refusal keeps what was typed with the problem under its field, success closes
        the form and reloads the history. A second tap while the first is on its way is ignored."""
        v = self.v
        r = revision_of(v, v.adopt)
        if r is None or v.busy:
            return
        for name, control in self.adopt_fields.items():  # what they hold now, even if an event is late
            if name == "date":
                v.adopt_date = str(control.value or "")
            else:
                v.adopt_how = str(control.value or "")
        v.busy, v.adopt_error = True, None
        try:
            await self.app.call(service.record_adoption, r.id, v.adopt_date, v.adopt_how)
        except SessionExpired:
            return
        except ValidationFailed as exc:
            v.busy = False
            v.adopt_error = exc.field if exc.field in ("adopted_on", "adopted_how") else "adopted_how"
            v.message = ("rules.adopt.not_saved", {"version": r.version}, False)
            self.app.render()
            await _scroll(v, f"rules-entry-{r.version}")
            return
        except NotFound:
            v.close_adoption()
            v.message = ("rules.adopt.gone", {}, False)
        except Forbidden:
            v.close_adoption()
            v.message = ("rules.forbidden", {}, False)
        except Exception:
            log.exception("admin: recording the adoption of the rules failed")
            v.message = ("rules.generic", {}, False)
        else:
            v.close_adoption()
            v.message = ("rules.adopt.done", {"version": r.version}, True)
        finally:
            v.busy = False
        await self._reload()
        await _scroll(v, f"rules-entry-{r.version}")


def pending_text(locale: str, n: int) -> str:
    return t(locale, "rules.pending", n=n) if n else t(locale, "rules.no_pending")


# -- drawing ------------------------------------------------------------------------------------


def _field(locale: str, v: RulesState, s: service.Setting, h: Handlers, editable: bool) -> ft.Control:
    draft = v.drafts.get(s.key)
    value = s.text if draft is None else draft
    name = label(locale, s.key)
    help_ = t(locale, f"rules.help.{s.key}")
    help_ = "" if help_ == f"rules.help.{s.key}" else help_
    only = t(locale, "rules.global_only") if s.global_only else ""
    error = error_text(locale, s, v.error) if v.error is not None and v.error.field == s.key else None
    disabled = not editable or s.global_only
    control: ft.Control
    if s.kind == "bool":
        control = ft.Switch(
            label=name,
            value=value == "true",
            on_change=h.on_edit,
            data=s.key,
            key=f"rules-{s.key}",
            disabled=disabled,
        )
        notes = [x for x in (help_, only, error) if x]
    elif s.kind == "choice":
        control = named_dropdown(
            name,
            value,
            [(c, choice_label(locale, s.key, c)) for c in s.choices],
            on_select=h.on_edit,
            data=s.key,
            key=f"rules-{s.key}",
            disabled=disabled,
            width=320,
        )
        notes = [x for x in (help_, only, error) if x]
    else:
        helper = "\n".join(x for x in (help_, bounds(locale, s), only) if x)
        control = ft.TextField(
            label=name,
            value=value,
            helper=helper,
            helper_max_lines=4,
            error=error,
            error_max_lines=3,
            on_change=h.on_edit,
            data=s.key,
            key=f"rules-{s.key}",
            disabled=disabled,
            multiline=s.kind in ("dates", "clauses", "prose"),
            min_lines=1,
            max_lines=4,
        )
        notes = []
    source, colour = source_text(locale, s, draft)
    line = h.sources[s.key] = ft.Text(source, size=13, color=colour, key=f"rules-source-{s.key}")
    foot: list[ft.Control] = [line]
    scope_override = s.source == ("branch" if v.data and v.data.scope.branch_id is not None else "global")
    if editable and scope_override:
        which = "branch" if s.source == "branch" else "global"
        foot.append(
            ft.TextButton(
                content=t(locale, f"rules.reset.{which}", value=shown(locale, s, s.inherited)),
                icon=ft.Icons.UNDO,
                on_click=h.on_reset,
                data=s.key,
                key=f"rules-reset-{s.key}",
                height=TAP,
            )
        )
    texts = [ft.Text(x, size=13, color=ERROR if x == error else MUTED) for x in notes]
    return ft.Container(
        content=ft.Column(
            [control, *texts, ft.Row(foot, wrap=True, spacing=4)],
            spacing=2,
            horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        ),
        key=scroll_key(f"rules-block-{s.key}"),
        col={"xs": 12, "md": 6},
        padding=ft.Padding.only(top=8, bottom=8),  # room for the field's floating label
    )


def _scope_picker(locale: str, v: RulesState, data: service.Rules, h: Handlers, editable: bool) -> ft.Control:
    if not editable:
        name = pick(locale, data.scope.name_zh, data.scope.name_en)
        return ft.Text(t(locale, "rules.scope.fixed", name=name), size=16, color=INK, key="rules-scope-name")
    options = [(GLOBAL, t(locale, "rules.scope.global"))] + [
        (str(s.branch_id), pick(locale, s.name_zh, s.name_en)) for s in data.scopes if s.branch_id is not None
    ]
    return named_dropdown(
        t(locale, "rules.scope"), v.scope, options, on_select=h.on_scope, key="rules-scope", width=320
    )


def _message(locale: str, v: RulesState) -> str | None:
    if v.message is None:
        return None
    key, values, _ok = v.message
    if key == "rules.not_saved" and v.error is not None:
        s = setting_of(v, v.error.field)
        return t(locale, key, label=label(locale, v.error.field), error=error_text(locale, s, v.error))
    if "field" in values:
        values = {**values, "label": label(locale, str(values["field"]))}
        values.pop("field")
    return t(locale, key, **values)


def _bar(locale: str, v: RulesState, h: Handlers, editable: bool, narrow: bool) -> ft.Control:
    """Always in view: the outcome of the last action, the unsaved count, Discard and Save."""
    items: list[ft.Control] = []
    if (message := _message(locale, v)) is not None:
        ok = v.message is not None and v.message[2]
        items.append(
            ft.Text(message, color=OK if ok else ERROR, key="rules-message", weight=ft.FontWeight.W_500)
        )
    if editable:
        h.pending = ft.Text(
            pending_text(locale, len(h.changes())),
            color=MUTED,
            key="rules-pending",
            size=13 if narrow else 15,
        )
        buttons: list[ft.Control] = [
            ft.OutlinedButton(
                content=t(locale, "rules.discard_short" if narrow else "rules.discard"),
                icon=ft.Icons.CLOSE,
                on_click=h.on_discard,
                key="rules-discard",
                height=TAP,
            ),
            primary_button(
                t(locale, "rules.save_short" if narrow else "rules.save"),
                h.on_save,
                "rules-save",
                ft.Icons.SAVE,
            ),
        ]
        row = [ft.Container(h.pending, expand=True), *buttons]
        items.append(
            ft.Row(row, spacing=8 if narrow else 10, vertical_alignment=ft.CrossAxisAlignment.CENTER)
        )
    return ft.Container(
        content=ft.Column(items, spacing=6),
        padding=ft.Padding.symmetric(horizontal=16, vertical=8),
        bgcolor=ft.Colors.WHITE,
        border=ft.Border.only(top=ft.BorderSide(1, "#E0E3EA")),
        visible=bool(items),
    )


async def _scroll(v: RulesState, key: str) -> None:
    if v.body is not None:
        await v.body.scroll_to(scroll_key=key, duration=0)


def build(app: AdminHost) -> ft.Control:
    locale, v = app.locale, state(app)
    h = Handlers(app)
    data = v.data
    editable = bool(data and data.editable)
    narrow = (app.page.width or 1280) < 700
    head: list[ft.Control] = [
        ft.Text(t(locale, "rules.title"), size=24, weight=ft.FontWeight.BOLD, color=INK),
        ft.Text(t(locale, "rules.intro"), color=MUTED),
    ]
    cards: list[ft.Control] = []
    if data is not None:
        head.append(_scope_picker(locale, v, data, h, editable))
        version = (
            t(locale, "rules.version", n=data.version) if data.version else t(locale, "rules.version.none")
        )
        head.append(ft.Text(version, color=MUTED, key="rules-version"))
        if not editable:
            head.append(ft.Text(t(locale, "rules.readonly"), color=CHANGED, key="rules-readonly"))
        calendar_h = calendar_cards.Handlers(
            app, reload=lambda: load(app), scroll=lambda key: _scroll(v, key)
        )
        for group in data.groups:
            if group == "complaints" and (presets := calendar_cards.preset_card(app, calendar_h)) is not None:
                cards.append(presets)  # the clock presets just above the clock settings they set
            fields = [_field(locale, v, s, h, editable) for s in data.settings if s.group == group]
            cards.append(
                titled_card(
                    t(locale, f"rules.group.{group}"),
                    [ft.ResponsiveRow(fields, spacing=16)],
                    f"rules-{group}",
                )
            )
            if group == "hours" and (days := calendar_cards.calendar_card(app, calendar_h)) is not None:
                cards.append(days)  # the calendar right after the opening hours it shuts and opens
        cards.append(_history(locale, v, data, h, editable))
    body = v.body = ft.Column(
        [*head, *cards],
        spacing=12,
        scroll=ft.ScrollMode.AUTO,
        expand=True,
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
    )
    return ft.Column(
        [ft.Container(content=body, padding=16, expand=True), _bar(locale, v, h, editable, narrow)],
        spacing=0,
        expand=True,
    )
