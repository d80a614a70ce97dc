"""The monthly evaluation, on top of the ledger's proposals: pick a finished month (and, for an
administrator, a branch) and run the policy's rules. It only proposes; a month not over yet is
refused with a clear message, and a second run adds only what the first did not propose."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import flet as ft

from admin import ledger as service
from admin.screens import ledger_cards as cards
from admin.screens.common import MUTED, named_dropdown
from admin.screens.errors import message_for
from admin.screens.ledger_state import LedgerState, reload, state
from admin.screens.widgets import primary_button
from models.auth import SessionExpired
from models.errors import Forbidden, ValidationFailed
from rapport.core.i18n import t

if TYPE_CHECKING:
    from admin.host import AdminHost

log = logging.getLogger(__name__)


class Handlers:
    def __init__(self, app: AdminHost):
        self.app, self.v = app, state(app)

    async def on_eval_month(self, e: ft.Event[Any]) -> None:
        self.v.eval_month = e.control.value or None

    async def on_eval_branch(self, e: ft.Event[Any]) -> None:
        self.v.eval_branch = e.control.value or None

    async def on_run(self, _e: ft.Event[Any]) -> None:
        v = self.v
        month = v.eval_month or ""
        label = cards.month_label(self.app.locale, month) if month else ""
        if v.data is not None and len(v.data.branches) > 1 and not v.eval_branch:
            v.say("admin.ledger.error.branch")
            self.app.render()
            return
        try:
            done = await self.app.call(
                service.run_evaluation,
                month=month,
                branch_id=int(v.eval_branch) if v.eval_branch else None,
            )
        except SessionExpired:
            return
        except ValidationFailed as exc:
            known = ("month", "month_not_ended", "branch")
            v.say(
                f"admin.ledger.error.{exc.field}" if exc.field in known else "admin.error.generic",
                month=label,
            )
        except Exception as exc:
            key, values = message_for(
                exc,
                {Forbidden: "admin.ledger.error.forbidden"},
                log=log,
                failed="admin: monthly evaluation failed",
            )
            v.say(key, **values)
        else:
            v.say(
                "admin.ledger.eval.done",
                ok=True,
                branch=done.branch.name(self.app.locale),
                month=label,
                proposed=done.proposed,
                existing=done.existing,
            )
        await reload(self.app)


def card(app: AdminHost, v: LedgerState) -> ft.Control:
    h = Handlers(app)
    locale, data = app.locale, v.data
    assert data is not None
    fields: list[ft.Control] = []
    if len(data.branches) > 1:
        fields.append(
            named_dropdown(
                t(locale, "admin.ledger.eval.branch"),
                v.eval_branch,
                [(str(b.id), b.name(locale)) for b in data.branches],
                key="eval-branch",
                on_select=h.on_eval_branch,
                width=240,
            )
        )
    fields += [
        named_dropdown(
            t(locale, "admin.ledger.eval.month"),
            v.eval_month,
            [(m, cards.month_label(locale, m)) for m in data.months],
            key="eval-month",
            on_select=h.on_eval_month,
            width=200,
        ),
        primary_button(t(locale, "admin.ledger.eval.run"), h.on_run, "eval-run", ft.Icons.PLAY_ARROW),
    ]
    return cards.card(
        [
            ft.Text(t(locale, "admin.ledger.eval.title"), size=20, weight=ft.FontWeight.BOLD),
            ft.Text(t(locale, "admin.ledger.eval.hint"), color=MUTED),
            ft.Row(
                fields, wrap=True, spacing=12, run_spacing=8, vertical_alignment=ft.CrossAxisAlignment.CENTER
            ),
        ],
        key="eval-card",
    )
