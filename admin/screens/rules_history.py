"""The rules screen's history card: every saved version with who saved it, what changed, when it was
published and how it was adopted, and, for an administrator, the small form that records the
adoption inside the version's entry (劳动合同法 §4)."""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol

import flet as ft
from babel.dates import format_date

from admin import rules as service
from admin.screens.common import INK, MUTED, TAP
from admin.screens.rule_words import label
from admin.screens.rules_state import RulesState
from admin.screens.widgets import primary_button, scroll_key, titled_card
from rapport.core.i18n import fmt_datetime, join, t


class AdoptionHandlers(Protocol):
    """What the history card needs of the screen's handlers."""

    adopt_fields: dict[str, ft.TextField]

    async def on_adopt_open(self, e: ft.Event[Any]) -> None: ...
    async def on_adopt_cancel(self, e: ft.Event[Any]) -> None: ...
    async def on_adopt_edit(self, e: ft.Event[Any]) -> None: ...
    async def on_adopt_save(self, e: ft.Event[Any]) -> None: ...


def day_text(locale: str, value: date) -> str:
    return str(format_date(value, "medium", locale=locale.replace("-", "_")))


def adoption_text(locale: str, r: service.Revision) -> str:
    if r.adopted_on is None:
        return t(locale, "rules.adopt.none")
    return t(locale, "rules.adopt.line", on=day_text(locale, r.adopted_on), how=r.adopted_how)


def adoption_form(locale: str, v: RulesState, h: AdoptionHandlers) -> ft.Control:
    """The day and the way a version was adopted, with Save and Cancel, inside that version's entry."""

    def error(name: str) -> str | None:
        return t(locale, f"rules.adopt.error.{name}") if v.adopt_error == name else None

    day = h.adopt_fields["date"] = ft.TextField(
        label=t(locale, "rules.adopt.date"),
        value=v.adopt_date,
        error=error("adopted_on"),
        error_max_lines=3,
        on_change=h.on_adopt_edit,
        data="date",
        key="rules-adopt-date",
        keyboard_type=ft.KeyboardType.DATETIME,
        autofocus=True,
    )
    how = h.adopt_fields["how"] = ft.TextField(
        label=t(locale, "rules.adopt.how"),
        value=v.adopt_how,
        error=error("adopted_how"),
        error_max_lines=3,
        max_length=service.ADOPTED_HOW_MAX_CHARS,
        on_change=h.on_adopt_edit,
        data="how",
        key="rules-adopt-how",
    )
    save = primary_button(t(locale, "rules.adopt.save"), h.on_adopt_save, "rules-adopt-save", ft.Icons.SAVE)
    cancel = ft.TextButton(
        content=t(locale, "rules.adopt.cancel"),
        icon=ft.Icons.CLOSE,
        on_click=h.on_adopt_cancel,
        key="rules-adopt-cancel",
        height=TAP,
    )
    return ft.Container(
        content=ft.Column([day, how, ft.Row([save, cancel], wrap=True, spacing=8)], spacing=10),
        padding=ft.Padding.only(top=10, bottom=4),
        key="rules-adopt-form",
    )


def history(
    locale: str, v: RulesState, data: service.Rules, h: AdoptionHandlers, editable: bool
) -> ft.Control:
    """Every saved version: who saved it and what changed, when it was published and how it was
    adopted; an administrator records the adoption of each."""
    lines: list[ft.Control] = []
    for r in data.history:
        who = r.saved_by or t(locale, "rules.history.system")
        at = fmt_datetime(locale, r.saved_at, data.tz)
        parts = [t(locale, "rules.history.line", version=r.version, at=at, who=who)]
        if r.changed:
            parts.append(
                t(locale, "rules.history.changed", keys=join(locale, (label(locale, k) for k in r.changed)))
            )
        if r.removed:
            parts.append(
                t(locale, "rules.history.removed", keys=join(locale, (label(locale, k) for k in r.removed)))
            )
        if r.published_at is not None:
            parts.append(
                t(locale, "rules.history.published", at=fmt_datetime(locale, r.published_at, data.tz))
            )
        else:
            parts.append(t(locale, "rules.history.unpublished"))
        parts.append(adoption_text(locale, r))
        entry: list[ft.Control] = [
            ft.Column(
                [
                    ft.Text(parts[0], weight=ft.FontWeight.W_500, color=INK),
                    *(ft.Text(p, size=14, color=MUTED) for p in parts[1:]),
                ],
                spacing=0,
                key=f"rules-rev-{r.version}",
            )
        ]
        if editable and v.adopt == r.version:
            entry.append(adoption_form(locale, v, h))
        elif editable:
            entry.append(
                ft.OutlinedButton(
                    content=t(locale, "rules.adopt.open"),
                    icon=ft.Icons.HOW_TO_VOTE_OUTLINED,
                    on_click=h.on_adopt_open,
                    data=r.version,
                    key=f"rules-adopt-{r.version}",
                    height=TAP,
                )
            )
        lines.append(
            ft.Container(
                content=ft.Column(entry, spacing=4),
                key=scroll_key(f"rules-entry-{r.version}"),
                padding=ft.Padding.only(bottom=6),
            )
        )
    if not lines:
        lines.append(ft.Text(t(locale, "rules.history.none"), color=MUTED, key="rules-history-none"))
    return titled_card(t(locale, "rules.history"), lines, "rules-history")
