"""Two parts of the ledger section: the ledger itself (filtered by status and month, each entry
opening to its history) and the open appeals with what was appealed. An appealed rating is shown as
the staff member's supervisor may see it: score, reasons, comment, time and counter, never who gave
it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import flet as ft

from admin.ledger import STATUSES, AppealRow
from admin.screens import ledger_cards as cards
from admin.screens.common import INK, MUTED, TAP, named_dropdown
from admin.screens.ledger_state import LedgerState, reload, state
from rapport.core.i18n import fmt_datetime, t
from rapport.ui.a11y import spoken

if TYPE_CHECKING:
    from admin.host import AdminHost


class Handlers:
    def __init__(self, app: AdminHost):
        self.app, self.v = app, state(app)

    async def on_status(self, e: ft.Event[Any]) -> None:
        self.v.status_filter = e.control.value or "all"
        await reload(self.app)

    async def on_month(self, e: ft.Event[Any]) -> None:
        self.v.month_filter = e.control.value or "all"
        await reload(self.app)

    async def on_toggle(self, e: ft.Event[Any]) -> None:
        entry_id = int(e.control.data)
        self.v.expanded ^= {entry_id}
        self.app.render()


def entries(app: AdminHost, v: LedgerState) -> list[ft.Control]:
    locale, data, h = app.locale, v.data, Handlers(app)
    assert data is not None
    filters = ft.Row(
        [
            named_dropdown(
                t(locale, "admin.ledger.list.status"),
                v.status_filter,
                [("all", t(locale, "admin.ledger.list.status_all"))]
                + [(s, t(locale, f"admin.ledger.status.{s}")) for s in STATUSES],
                key="ledger-status",
                on_select=h.on_status,
                width=200,
            ),
            named_dropdown(
                t(locale, "admin.ledger.list.month"),
                v.month_filter,
                [("all", t(locale, "admin.ledger.list.month_all"))]
                + [(m, cards.month_label(locale, m)) for m in data.months],
                key="ledger-month",
                on_select=h.on_month,
                width=200,
            ),
        ],
        wrap=True,
        spacing=12,
        run_spacing=8,
    )
    out: list[ft.Control] = [
        ft.Text(t(locale, "admin.ledger.list.title"), size=20, weight=ft.FontWeight.BOLD),
        filters,
    ]
    if not data.entries:
        out.append(ft.Text(t(locale, "admin.ledger.list.none"), color=MUTED, key="ledger-empty"))
    for entry in data.entries:
        key = f"entry-{entry.id}"
        open_ = entry.id in v.expanded
        content: list[ft.Control] = [
            cards.headline(locale, entry),
            ft.Text(
                t(
                    locale,
                    "admin.ledger.list.proposed",
                    time=fmt_datetime(locale, entry.proposed_at, entry.tz),
                ),
                color=MUTED,
            ),
            ft.Row(
                [
                    ft.TextButton(
                        content=t(locale, "admin.ledger.list.hide" if open_ else "admin.ledger.list.show"),
                        icon=ft.Icons.EXPAND_LESS if open_ else ft.Icons.EXPAND_MORE,
                        on_click=h.on_toggle,
                        data=entry.id,
                        key=f"{key}-toggle",
                        height=TAP,
                    )
                ]
            ),
        ]
        if open_:
            content += [
                *cards.why(locale, entry),
                cards.evidence(locale, entry.evidence, entry.tz, penalty=not entry.is_reward, key=key),
                *cards.history(locale, entry, key=key),
            ]
        out.append(cards.card(content, key=key))
    return out


def rating_lines(locale: str, appeal: AppealRow) -> list[ft.Control]:
    r = appeal.rating
    if r is None:
        return []
    where = r.counter(locale) or t(locale, f"admin.channel.{r.channel}")
    lines: list[ft.Control] = [
        ft.Text(
            t(
                locale,
                "admin.ledger.appeal.rating",
                score=r.score,
                time=fmt_datetime(locale, r.created_at, appeal.tz),
                counter=where,
            ),
            color=INK,
            weight=ft.FontWeight.W_500,
            key=f"appeal-{appeal.id}-rating",
        )
    ]
    if r.reasons:
        lines.append(
            ft.Text(t(locale, "admin.ledger.appeal.reasons", reasons=cards.clauses(locale, r.reasons)))
        )
    if r.comment:
        lines.append(spoken(t(locale, "admin.ledger.appeal.comment", comment=r.comment), selectable=True))
    if not r.reasons and not r.comment:
        lines.append(ft.Text(t(locale, "admin.ledger.appeal.no_reasons"), color=MUTED))
    return lines


def appeals(app: AdminHost, v: LedgerState, box: Callable[[str], list[ft.Control]]) -> list[ft.Control]:
    locale, data = app.locale, v.data
    assert data is not None
    out: list[ft.Control] = [
        ft.Text(t(locale, "admin.ledger.appeals.title"), size=20, weight=ft.FontWeight.BOLD)
    ]
    if not data.appeals:
        out.append(ft.Text(t(locale, "admin.ledger.appeals.none"), color=MUTED, key="appeals-empty"))
    for a in data.appeals:
        content: list[ft.Control] = [
            ft.Text(
                t(
                    locale,
                    "admin.ledger.appeal.head",
                    name=a.staff_name,
                    no=a.employee_no,
                    time=fmt_datetime(locale, a.filed_at, a.tz),
                ),
                size=17,
                weight=ft.FontWeight.W_600,
                color=INK,
            ),
            spoken(t(locale, "admin.ledger.appeal.statement", text=a.statement), color=INK, selectable=True),
            *rating_lines(locale, a),
        ]
        if a.due_at is not None:
            late = a.due_at < data.now
            content.append(
                ft.Text(
                    t(
                        locale,
                        "admin.ledger.appeal.overdue" if late else "admin.ledger.appeal.due",
                        time=fmt_datetime(locale, a.due_at, a.tz),
                    ),
                    color=cards.ERROR if late else MUTED,
                    weight=ft.FontWeight.W_500 if late else None,
                    key=f"appeal-{a.id}-due",
                )  # fmt: skip
            )
        if a.entry is not None:
            content += [
                ft.Text(t(locale, "admin.ledger.appeal.entry"), weight=ft.FontWeight.W_500),
                cards.headline(locale, a.entry),
                *cards.why(locale, a.entry),
                *cards.history(locale, a.entry, key=f"appeal-{a.id}"),
            ]
        hint = (
            "admin.ledger.appeal.hint_rating" if a.rating is not None else "admin.ledger.appeal.hint_sanction"
        )
        own = "own_appeal" if a.staff_id == data.me else None
        content.append(ft.Text(t(locale, f"admin.ledger.error.{own}" if own else hint), color=MUTED))
        content += box(f"a{a.id}")
        out.append(cards.card(content, key=f"appeal-{a.id}"))
    return out
