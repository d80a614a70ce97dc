"""Two cards of the rules screen: the complaint-clock presets (pick one, see what it would change,
apply it) and the working-day calendar (a year's holidays and make-up working days, imported from
the calendar package or marked by hand), both for the scope the rules screen shows.

Its state and handlers live here (not on the app); the rules screen loads it with its own scope and
places :func:`preset_card` and :func:`calendar_card`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import flet as ft
from babel.dates import format_skeleton

from admin import calendar as service
from admin.rules import Scope
from admin.screens.common import ERROR, INK, MUTED, OK, icon_button, named_dropdown
from admin.screens.rule_words import choice_label, label
from admin.screens.widgets import primary_button, scroll_key, titled_card
from models.auth import SessionExpired
from models.errors import Forbidden, NotFound, ValidationFailed
from models.holidays import MANUAL, CalendarUnavailable, package_years
from rapport.core.i18n import pick, t

if TYPE_CHECKING:
    from admin.host import AdminHost

log = logging.getLogger(__name__)
KEY = "calendar"
HOLIDAY, WORKDAY = "#8C1D18", "#1E4E8C"


@dataclass
class CalendarState:
    view: service.CalendarView | None = None
    branch_id: int | None = None
    year: int | None = None  # None: the current year
    preset: str = "hall"
    day: str = ""  # the mark form, as typed
    kind: str = "workday"
    name: str = ""
    message: tuple[str, dict[str, Any], bool] | None = None  # catalog key, values, good news
    preset_message: tuple[str, dict[str, Any], bool] | None = None
    field_error: tuple[str, str] | None = None  # (field, sentence) of the mark form
    at: str = "import"  # where the card's message shows: by the import button, or by the mark form


def state(app: AdminHost) -> CalendarState:
    v = app.view.get(KEY)
    if not isinstance(v, CalendarState):
        v = app.view[KEY] = CalendarState()
    return v


async def load(app: AdminHost, branch_id: int | None) -> None:
    """The scope's calendar for the year chosen; a new scope starts with no message."""
    v = state(app)
    if v.branch_id != branch_id:
        v.branch_id, v.message, v.preset_message, v.field_error = branch_id, None, None, None
    try:
        v.view = await app.call(service.calendar, branch_id, v.year)
    except (Forbidden, NotFound):
        v.view = None


# -- words --------------------------------------------------------------------------------------


def _babel(locale: str) -> str:
    return locale.replace("-", "_")


def day_text(locale: str, day: date) -> str:
    """11月21日周六 / Sat, Nov 21."""
    return format_skeleton("MMMEd", day, locale=_babel(locale))


def span_days(locale: str, span: service.Span) -> str:
    if span.first == span.last:
        return day_text(locale, span.first)
    return t(
        locale, "calendar.span.range", first=day_text(locale, span.first), last=day_text(locale, span.last)
    )


def holiday_name(locale: str, name: str) -> str:
    """The package names holidays in English ("National Day"); the catalog has each in both languages.
    A name typed by hand shows as typed."""
    key = "calendar.name." + "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_")
    text = t(locale, key)
    return name if text == key else text


def span_line(locale: str, span: service.Span) -> str:
    parts = [span_days(locale, span), t(locale, f"calendar.kind.{span.kind}")]
    if span.days > 1:
        parts.append(t(locale, "calendar.span.days", n=span.days))
    if span.name:
        parts.insert(1, holiday_name(locale, span.name))
    return " · ".join(parts)


def span_source(locale: str, span: service.Span) -> str:
    if not span.own:
        return t(locale, "calendar.source.deployment")
    if span.source == MANUAL:
        return t(locale, "calendar.source.manual")
    return t(locale, "calendar.source.imported", source=span.source)


def refusal(locale: str, exc: Exception, year: int | None = None) -> str:
    """A refusal in the user's language, each with its own sentence."""
    if isinstance(exc, CalendarUnavailable):
        first, last, _source = package_years()
        return t(locale, "calendar.error.unavailable", year=year or "", first=first, last=last)
    if isinstance(exc, service.CalendarRefused):
        return t(locale, f"calendar.error.{exc.reason}", **exc.values)
    if isinstance(exc, Forbidden):
        return t(locale, "calendar.error.forbidden")
    return t(locale, "calendar.error.generic")


def preset_value(locale: str, key: str, text: str) -> str:
    if text == "":
        return t(locale, "calendar.preset.empty")
    return choice_label(locale, key, text)


def scope_name(locale: str, scope: Scope) -> str:
    if scope.branch_id is None:
        return t(locale, "calendar.scope.global")
    return pick(locale, scope.name_zh, scope.name_en)


# -- handlers -----------------------------------------------------------------------------------


class Handlers:
    """``reload`` reads the whole rules screen again (a preset changes its settings too); ``scroll``
    brings a scroll key of the screen into view (a re-render starts the list at the top, and the
    outcome of an action must be seen where it was taken)."""

    def __init__(
        self,
        app: AdminHost,
        reload: Callable[[], Awaitable[None]],
        scroll: Callable[[str], Awaitable[None]] | None = None,
    ):
        self.app, self.v, self.reload, self.scroll = app, state(app), reload, scroll

    async def _reload(self, show: str | None = None) -> None:
        try:
            await self.reload()
        except SessionExpired:
            return
        self.app.render()
        if show is not None and self.scroll is not None:
            await self.scroll(show)

    async def on_year(self, e: ft.Event[Any]) -> None:
        self.v.year, self.v.message = int(e.control.value), None
        await self._reload("rules-calendar")

    async def on_preset(self, e: ft.Event[Any]) -> None:
        self.v.preset, self.v.preset_message = str(e.control.value), None
        self.app.render()

    async def on_day(self, e: ft.Event[Any]) -> None:
        self.v.day = str(e.control.value or "")

    async def on_kind(self, e: ft.Event[Any]) -> None:
        self.v.kind = str(e.control.value or "workday")

    async def on_name(self, e: ft.Event[Any]) -> None:
        self.v.name = str(e.control.value or "")

    async def _do(self, fn: Any, *args: Any) -> Any:
        """Run a change; a refusal becomes the card's message (in the user's language), never a crash."""
        v = self.v
        try:
            return await self.app.call(fn, v.branch_id, *args)
        except SessionExpired:
            raise
        except (CalendarUnavailable, service.CalendarRefused, Forbidden) as exc:
            text = refusal(self.app.locale, exc, args[0] if fn is service.import_year else None)
            if isinstance(exc, service.CalendarRefused) and exc.reason in ("date", "year", "kind", "name"):
                v.field_error = (exc.field if exc.reason != "year" else "day", text)
            v.message = ("calendar.refused", {"text": text}, False)
        except ValidationFailed as exc:
            log.info("admin: calendar change refused: %s", exc)
            v.message = ("calendar.refused", {"text": refusal(self.app.locale, exc)}, False)
        except Exception:
            log.exception("admin: a calendar change failed")
            v.message = ("calendar.error.generic", {}, False)
        return None

    async def on_import(self, _e: ft.Event[Any]) -> None:
        v = self.v
        if v.view is None:
            return
        v.field_error, v.message, v.at = None, None, "import"
        try:
            done = await self._do(service.import_year, v.view.year)
        except SessionExpired:
            return
        if done is not None:
            v.message = (
                "calendar.imported",
                {
                    "year": done.year,
                    "holidays": done.holidays,
                    "workdays": done.workdays,
                    "kept": done.kept_manual,
                },
                True,
            )
        await self._reload("calendar-message-at")

    async def on_mark(self, _e: ft.Event[Any]) -> None:
        v = self.v
        v.field_error, v.message, v.at = None, None, "mark"
        if not v.day.strip():
            text = t(self.app.locale, "calendar.error.no_day")
            v.field_error, v.message = ("day", text), ("calendar.refused", {"text": text}, False)
            self.app.render()
            if self.scroll is not None:
                await self.scroll("calendar-message-at")
            return
        try:
            done = await self._do(service.mark_day, v.day, v.kind, v.name)
        except SessionExpired:
            return
        if done is not None:
            v.message = (
                "calendar.marked",
                {
                    "day": day_text(self.app.locale, done.day),
                    "kind": t(self.app.locale, f"calendar.kind.{done.kind}"),
                },
                True,
            )
            v.day, v.name, v.year = "", "", done.day.year
        await self._reload("calendar-message-at")

    async def on_clear(self, e: ft.Event[Any]) -> None:
        first, last = e.control.data
        self.v.field_error, self.v.message, self.v.at = None, None, "mark"
        try:
            gone = await self._do(service.clear_days, first, last)
        except SessionExpired:
            return
        if gone is not None:
            self.v.message = ("calendar.cleared", {"n": gone}, True)
        await self._reload("calendar-message-at")

    async def on_apply(self, _e: ft.Event[Any]) -> None:
        v, locale = self.v, self.app.locale
        v.preset_message = None
        try:
            changed = await self.app.call(service.use_preset, v.branch_id, v.preset)
        except SessionExpired:
            return
        except (Forbidden, service.CalendarRefused, ValidationFailed) as exc:
            v.preset_message = ("calendar.refused", {"text": refusal(locale, exc)}, False)
        except Exception:
            log.exception("admin: applying a preset failed")
            v.preset_message = ("calendar.error.generic", {}, False)
        else:
            name = t(locale, f"calendar.preset.{v.preset}")
            key = "calendar.preset.applied" if changed else "calendar.preset.nothing"
            v.preset_message = (key, {"preset": name, "n": len(changed)}, True)
        await self._reload("preset-message-at")


# -- drawing ------------------------------------------------------------------------------------


def _message(locale: str, message: tuple[str, dict[str, Any], bool] | None, key: str) -> list[ft.Control]:
    if message is None:
        return []
    catalog_key, values, ok = message
    text = ft.Text(
        t(locale, catalog_key, **values), color=OK if ok else ERROR, weight=ft.FontWeight.W_500, key=key
    )
    return [ft.Container(text, key=scroll_key(f"{key}-at"))]


def preset_card(app: AdminHost, h: Handlers) -> ft.Control | None:
    """Pick a preset, read what it would change here (before → after), apply it (administrators)."""
    locale, v = app.locale, state(app)
    view = v.view
    if view is None:
        return None
    where = scope_name(locale, view.scope)
    picker = named_dropdown(
        t(locale, "calendar.preset.pick"),
        v.preset,
        [(p.name, t(locale, f"calendar.preset.{p.name}")) for p in view.presets],
        on_select=h.on_preset,
        key="preset-pick",
        width=320,
    )
    chosen = next((p for p in view.presets if p.name == v.preset), view.presets[0])
    lines: list[ft.Control] = [
        ft.Text(t(locale, "calendar.preset.intro"), color=MUTED),
        picker,
        ft.Text(t(locale, f"calendar.preset.about.{chosen.name}"), color=MUTED, size=14),
    ]
    if chosen.changes:
        lines.append(
            ft.Text(t(locale, "calendar.preset.would", scope=where), color=INK, weight=ft.FontWeight.W_500)
        )
        for c in chosen.changes:
            before, after = preset_value(locale, c.key, c.before), preset_value(locale, c.key, c.after)
            lines.append(
                ft.Text(
                    t(
                        locale,
                        "calendar.preset.change",
                        label=label(locale, c.key),
                        before=before,
                        after=after,
                    ),
                    key=f"preset-change-{c.key}",
                    color=INK,
                )
            )
    else:
        lines.append(
            ft.Text(t(locale, "calendar.preset.in_force", scope=where), color=MUTED, key="preset-in-force")
        )
    if view.editable:
        lines.append(
            primary_button(
                t(locale, "calendar.preset.apply", scope=where),
                h.on_apply,
                "preset-apply",
                ft.Icons.PLAYLIST_ADD_CHECK,
                disabled=not chosen.changes,
            )
        )
    lines += _message(locale, v.preset_message, "preset-message")
    return titled_card(t(locale, "calendar.preset.title"), lines, scroll_key("rules-presets"))


def _span_row(locale: str, span: service.Span, h: Handlers, editable: bool) -> ft.Control:
    colour = HOLIDAY if span.kind == "holiday" else WORKDAY
    text = ft.Column(
        [
            ft.Text(span_line(locale, span), color=colour, weight=ft.FontWeight.W_500),
            ft.Text(span_source(locale, span), color=MUTED, size=13),
        ],
        spacing=0,
        expand=True,
    )
    row: list[ft.Control] = [text]
    if editable and span.own:
        row.append(
            icon_button(
                ft.Icons.DELETE_OUTLINE,
                t(locale, "calendar.clear", days=span_days(locale, span)),
                h.on_clear,
                data=(span.first, span.last),
                key=f"calendar-clear-{span.first.isoformat()}",
            )
        )
    return ft.Row(
        row, key=f"calendar-span-{span.first.isoformat()}", vertical_alignment=ft.CrossAxisAlignment.CENTER
    )


def _mark_form(locale: str, v: CalendarState, h: Handlers) -> list[ft.Control]:
    error = dict([v.field_error]) if v.field_error else {}
    return [
        ft.Text(t(locale, "calendar.mark.title"), weight=ft.FontWeight.W_500, color=INK),
        ft.ResponsiveRow(
            [
                ft.Container(
                    ft.TextField(
                        label=t(locale, "calendar.mark.day"),
                        value=v.day,
                        hint_text="2026-11-21",
                        helper=t(locale, "calendar.mark.day_help"),
                        error=error.get("day"),
                        on_change=h.on_day,
                        key="calendar-day",
                    ),
                    col={"xs": 12, "md": 4},
                    padding=ft.Padding.only(top=8),
                ),
                ft.Container(
                    named_dropdown(
                        t(locale, "calendar.mark.kind"),
                        v.kind,
                        [(k, t(locale, f"calendar.kind.{k}.long")) for k in ("workday", "holiday")],
                        on_select=h.on_kind,
                        key="calendar-kind",
                        width=260,
                    ),
                    col={"xs": 12, "md": 4},
                    padding=ft.Padding.only(top=8),
                ),
                ft.Container(
                    ft.TextField(
                        label=t(locale, "calendar.mark.name"),
                        value=v.name,
                        max_length=64,
                        error=error.get("name"),
                        on_change=h.on_name,
                        key="calendar-name",
                    ),
                    col={"xs": 12, "md": 4},
                    padding=ft.Padding.only(top=8),
                ),
            ],
            spacing=12,
        ),
        primary_button(t(locale, "calendar.mark.save"), h.on_mark, "calendar-mark", ft.Icons.EVENT_AVAILABLE),
    ]


def calendar_card(app: AdminHost, h: Handlers) -> ft.Control | None:
    """The year's marks in force here, as runs of days; an administrator imports the year and marks
    or clears days."""
    locale, v = app.locale, state(app)
    view = v.view
    if view is None:
        return None
    first, last, source = view.package
    intro = "calendar.intro.branch" if view.scope.branch_id is not None else "calendar.intro.global"
    lines: list[ft.Control] = [
        ft.Text(t(locale, intro, scope=scope_name(locale, view.scope)), color=MUTED),
        named_dropdown(
            t(locale, "calendar.year"),
            str(view.year),
            [(str(y), t(locale, "calendar.year.option", year=y)) for y in view.years],
            on_select=h.on_year,
            key="calendar-year",
            width=200,
        ),
    ]
    if view.spans:
        summary = t(
            locale, "calendar.summary", year=view.year, holidays=view.holidays, workdays=view.workdays
        )
    else:
        summary = t(locale, "calendar.summary.none", year=view.year)
    lines.append(ft.Text(summary, color=INK, weight=ft.FontWeight.W_500, key="calendar-summary"))
    if view.editable:
        lines += [
            primary_button(
                t(locale, "calendar.import", year=view.year),
                h.on_import,
                "calendar-import",
                ft.Icons.DOWNLOAD,
            ),
            ft.Text(
                t(locale, "calendar.import.help", first=first, last=last, source=source), color=MUTED, size=13
            ),
        ]
    if v.at == "import":
        lines += _message(locale, v.message, "calendar-message")
    lines += [_span_row(locale, s, h, view.editable) for s in view.spans]
    if v.at != "import":
        lines += _message(locale, v.message, "calendar-message")  # by the form and the marks it changed
    if view.editable:
        lines += _mark_form(locale, v, h)
    return titled_card(t(locale, "calendar.title"), lines, scroll_key("rules-calendar"))
