"""The reward and penalty ledger (conduct code §4) for supervisors and administrators, in four parts:
proposals waiting for a decision (with the monthly evaluation that makes them), a form to propose by
hand, the ledger with each entry's history, and open appeals. Nothing takes effect without a
person's decision and written reason; the evidence is shown beside every decision button."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import flet as ft

from admin import ledger as service
from admin.screens import ledger_cards as cards
from admin.screens import ledger_eval, ledger_list, ledger_propose
from admin.screens.common import INK, MUTED, TAP, icon_button
from admin.screens.errors import message_for
from admin.screens.ledger_propose import over_cap_values
from admin.screens.ledger_state import TABS, LedgerState, load, reload, state
from models.auth import SessionExpired
from models.errors import Forbidden, NotFound, ValidationFailed
from models.sanction import DeductionOverCap, FinesOff, LedgerStepRefused
from rapport.core.i18n import t

if TYPE_CHECKING:
    from admin.host import AdminHost

__all__ = ["build", "decide", "load"]
log = logging.getLogger(__name__)


class Handlers:
    def __init__(self, app: AdminHost):
        self.app, self.v = app, state(app)

    async def on_tab(self, e: ft.Event[Any]) -> None:
        self.v.tab = str(e.control.data)
        self.v.say(None)
        self.app.render()

    async def on_refresh(self, _e: ft.Event[Any]) -> None:
        self.v.say(None)
        await reload(self.app)

    async def on_reason(self, e: ft.Event[Any]) -> None:
        self.v.reasons[str(e.control.data)] = e.control.value or ""

    async def on_decide(self, e: ft.Event[Any]) -> None:
        """data is ("p" | "a", id, True for approve / overturn)."""
        target, item_id, yes = e.control.data
        await decide(self.app, self.v, target, int(item_id), bool(yes))


async def decide(app: AdminHost, v: LedgerState, target: str, item_id: int, yes: bool) -> None:
    """Decide a proposal ("p") or an appeal ("a") with the reason typed on its card.

    1. An empty reason is refused on the card before anything is sent.
    2. A refusal about the caller (their own case, proposal or decision) is said on the card.
    3. An entry decided meanwhile by someone else refreshes the list and says so.
    """
    slot = f"{target}{item_id}"
    reason = v.reasons.get(slot, "").strip()
    v.card_errors.pop(slot, None)
    v.card_error_values.pop(slot, None)
    v.say(None)
    if not reason:
        v.card_errors[slot] = "admin.ledger.error.reason"
        app.render()
        return
    try:
        if target == "p":
            await app.call(service.decide_proposal, item_id, approve=yes, reason=reason)
        else:
            await app.call(service.decide_appeal, item_id, overturn=yes, reason=reason)
    except SessionExpired:
        return
    except DeductionOverCap as exc:  # others were approved since it was proposed
        v.card_errors[slot] = "admin.ledger.form.error.over_cap"
        v.card_error_values[slot] = over_cap_values(exc)
        app.render()
        return
    except FinesOff:
        v.card_errors[slot] = "admin.ledger.error.fines_off"
        app.render()
        return
    except ValidationFailed:
        v.card_errors[slot] = "admin.ledger.error.reason"
        app.render()
        return
    except service.DecisionRefused as exc:
        v.card_errors[slot] = f"admin.ledger.error.{exc.why}"
        app.render()
        return
    except Exception as exc:
        key, values = message_for(
            exc,
            {
                LedgerStepRefused: "admin.ledger.error.step",
                NotFound: "admin.ledger.error.gone",
                Forbidden: "admin.ledger.error.forbidden",
            },
            log=log,
            failed="admin: ledger decision failed",
        )
        v.say(key, **values)
    else:
        v.reasons.pop(slot, None)
        done = ("approved" if yes else "rejected") if target == "p" else ("overturned" if yes else "upheld")
        v.say(f"admin.ledger.done.{done}", ok=True, id=item_id)
    await reload(app)


# -- the body -----------------------------------------------------------------------------------


def _tabs(app: AdminHost, v: LedgerState, h: Handlers) -> ft.Control:
    counts = {
        "proposals": len(v.data.proposals) if v.data else 0,
        "appeals": len(v.data.appeals) if v.data else 0,
    }
    buttons: list[ft.Control] = []
    for tab in TABS:
        chosen = tab == v.tab
        buttons.append(
            ft.TextButton(
                content=ft.Text(
                    t(app.locale, f"admin.ledger.tab.{tab}", n=counts.get(tab, 0)),
                    weight=ft.FontWeight.BOLD if chosen else None,
                ),
                on_click=h.on_tab,
                data=tab,
                key=f"ledger-tab-{tab}",
                height=TAP,
                style=ft.ButtonStyle(bgcolor="#DCE3F0" if chosen else None),
            )
        )
    return ft.Row(buttons, wrap=True, spacing=4, run_spacing=4)


def decision_box(
    app: AdminHost, v: LedgerState, h: Handlers, slot: str, *, yes: str, no: str
) -> list[ft.Control]:
    """The reason field and the two decision buttons of one card (``slot`` "p<id>" or "a<id>")."""
    locale = app.locale
    error = v.card_errors.get(slot)
    target, item_id = slot[0], int(slot[1:])
    key = "decide" if target == "p" else "appeal"
    return [
        ft.TextField(
            label=t(locale, "admin.ledger.decide.reason", id=item_id),
            value=v.reasons.get(slot, ""),
            multiline=True,
            min_lines=1,
            max_length=1000,
            on_change=h.on_reason,
            data=slot,
            key=f"{key}-{item_id}-reason",
            error=t(locale, error, **v.card_error_values.get(slot, {})) if error else None,
            error_max_lines=4,
        ),
        ft.Row(
            [
                ft.Button(
                    content=t(locale, yes, id=item_id),
                    icon=ft.Icons.CHECK,
                    on_click=h.on_decide,
                    data=(target, item_id, True),
                    key=f"{key}-{item_id}-{'approve' if target == 'p' else 'overturn'}",
                    height=TAP,
                ),
                ft.OutlinedButton(
                    content=t(locale, no, id=item_id),
                    icon=ft.Icons.CLOSE,
                    on_click=h.on_decide,
                    data=(target, item_id, False),
                    key=f"{key}-{item_id}-{'reject' if target == 'p' else 'uphold'}",
                    height=TAP,
                ),
            ],
            wrap=True,
            spacing=12,
            run_spacing=8,
        ),
    ]


def _proposals(app: AdminHost, v: LedgerState, h: Handlers) -> list[ft.Control]:
    locale, data = app.locale, v.data
    assert data is not None
    out: list[ft.Control] = [
        ledger_eval.card(app, v),
        ft.Text(t(locale, "admin.ledger.proposals.title"), size=20, weight=ft.FontWeight.BOLD),
    ]
    if not data.proposals:
        out.append(ft.Text(t(locale, "admin.ledger.proposals.none"), color=MUTED, key="proposals-empty"))
    for entry in data.proposals:
        content = [
            cards.headline(locale, entry),
            *cards.why(locale, entry),
            cards.evidence(
                locale, entry.evidence, entry.tz, penalty=not entry.is_reward, key=f"proposal-{entry.id}"
            ),
        ]
        own = (
            "about_self"
            if entry.staff_id == data.me
            else "own_proposal"
            if entry.proposed_by_id == data.me
            else None
        )
        if own:
            content.append(
                ft.Text(t(locale, f"admin.ledger.error.{own}"), color=MUTED, key=f"proposal-{entry.id}-own")
            )
        content += decision_box(
            app, v, h, f"p{entry.id}", yes="admin.ledger.approve", no="admin.ledger.reject"
        )
        out.append(cards.card(content, key=f"proposal-{entry.id}"))
    return out


def build(app: AdminHost) -> ft.Control:
    locale, v = app.locale, state(app)
    h = Handlers(app)
    message = t(locale, v.message, **v.values) if v.message else None
    top = ft.Row(
        [
            ft.Text(
                t(locale, "admin.ledger.title"), size=24, weight=ft.FontWeight.BOLD, color=INK, expand=True
            ),
            icon_button(
                ft.Icons.REFRESH, t(locale, "admin.ledger.refresh"), h.on_refresh, key="ledger-refresh"
            ),
        ]
    )
    parts: list[ft.Control] = [
        top,
        ft.Text(
            message or "",
            color=cards.OK if v.ok else cards.ERROR,
            key="ledger-message",
            visible=bool(message),
        ),
    ]
    if v.data is None:
        parts.append(ft.Text(t(locale, "admin.ledger.unavailable"), color=MUTED))
    else:
        parts.append(_tabs(app, v, h))
        if v.tab == "propose":
            parts += ledger_propose.build(app, v)
        elif v.tab == "list":
            parts += ledger_list.entries(app, v)
        elif v.tab == "appeals":
            parts += ledger_list.appeals(
                app,
                v,
                lambda slot: decision_box(
                    app, v, h, slot, yes="admin.ledger.appeal.overturn", no="admin.ledger.appeal.uphold"
                ),
            )
        else:
            parts += _proposals(app, v, h)
    body = ft.Column(
        parts,
        spacing=12,
        scroll=ft.ScrollMode.AUTO,
        expand=True,
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
    )
    return ft.Container(content=body, padding=16, expand=True)
