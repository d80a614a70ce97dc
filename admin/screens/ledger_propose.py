"""Proposing a reward or penalty by hand: whom, what kind, the amount when money is involved, the
clauses of the code of conduct it rests on, and why. It then waits, like the monthly evaluation's
proposals, for the decision of another supervisor or an administrator."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import flet as ft

from admin import ledger as service
from admin.screens import ledger_cards as cards
from admin.screens.common import INK, MUTED, TAP, named_dropdown
from admin.screens.errors import message_for
from admin.screens.ledger_state import LedgerState, ProposalDraft, reload, state
from admin.screens.widgets import primary_button
from models.auth import SessionExpired
from models.errors import Forbidden, StaffNotFound, ValidationFailed
from models.sanction import KIND_CLAUSE, MONEY, DeductionOverCap, FinesOff, SanctionKind
from rapport.core.i18n import t

if TYPE_CHECKING:
    from admin.host import AdminHost

log = logging.getLogger(__name__)
KINDS = tuple(str(k) for k in SanctionKind)
AMOUNT_MAX = 1_000_000
FIELDS = ("staff_id", "kind", "amount_yuan", "clauses", "reason")


def parse_amount(text: str) -> int | None:
    """A whole number of yuan from 1 to 1,000,000 (spaces and thousands commas allowed), or None."""
    cleaned = text.strip().replace(",", "").replace("，", "").replace(" ", "")
    if not cleaned.isdigit() or not cleaned.isascii():
        return None
    value = int(cleaned)
    return value if 1 <= value <= AMOUNT_MAX else None


class Handlers:
    def __init__(self, app: AdminHost):
        self.app, self.v = app, state(app)

    @property
    def d(self) -> ProposalDraft:
        return self.v.draft

    async def on_staff(self, e: ft.Event[Any]) -> None:
        self.d.staff_id = e.control.value or None
        self.d.errors.pop("staff_id", None)
        self.app.render()  # the kinds offered follow the person's branch (fines only where turned on)

    async def on_kind(self, e: ft.Event[Any]) -> None:
        self.d.kind = e.control.value or None
        self.d.errors.pop("kind", None)
        self.app.render()  # the amount field shows for money only

    async def on_amount(self, e: ft.Event[Any]) -> None:
        self.d.amount = e.control.value or ""

    async def on_clause(self, e: ft.Event[Any]) -> None:
        self.d.clause_pick = e.control.value or None

    async def on_add(self, _e: ft.Event[Any]) -> None:
        d = self.d
        if d.clause_pick and d.clause_pick not in d.clauses:
            d.clauses.append(d.clause_pick)
            d.errors.pop("clauses", None)
        d.clause_pick = None
        self.app.render()

    async def on_remove(self, e: ft.Event[Any]) -> None:
        code = str(e.control.data)
        if code in self.d.clauses:
            self.d.clauses.remove(code)
        self.app.render()

    async def on_reason(self, e: ft.Event[Any]) -> None:
        self.d.reason = e.control.value or ""

    def _check(self) -> int | None:
        d = self.d
        d.errors, d.error_values = {}, {}
        amount = None
        if not d.staff_id:
            d.errors["staff_id"] = "admin.ledger.form.error.staff_id"
        if d.kind not in KINDS:
            d.errors["kind"] = "admin.ledger.form.error.kind"
        elif SanctionKind(d.kind) in MONEY:
            amount = parse_amount(d.amount)
            if amount is None:
                d.errors["amount_yuan"] = "admin.ledger.form.error.amount_yuan"
        if len(d.reason.strip()) < 4:
            d.errors["reason"] = "admin.ledger.form.error.reason"
        return amount

    async def on_submit(self, _e: ft.Event[Any]) -> None:
        v, d = self.v, self.d
        amount = self._check()
        if d.errors or d.staff_id is None or d.kind is None:
            v.say("admin.ledger.form.fix")
            self.app.render()
            return
        try:
            new_id = await self.app.call(
                service.propose_by_hand,
                staff_id=int(d.staff_id),
                kind=d.kind,
                reason=d.reason,
                clauses=list(d.clauses),
                amount_yuan=amount,
            )
        except SessionExpired:
            return
        except DeductionOverCap as exc:
            d.errors["amount_yuan"] = "admin.ledger.form.error.over_cap"
            d.error_values["amount_yuan"] = over_cap_values(exc)
            v.say("admin.ledger.form.fix")
        except FinesOff:
            d.errors["kind"] = "admin.ledger.error.fines_off"
            v.say("admin.ledger.form.fix")
        except ValidationFailed as exc:
            name = exc.field if exc.field in FIELDS else "reason"
            d.errors[name] = f"admin.ledger.form.error.{name}"
            v.say("admin.ledger.form.fix")
        except StaffNotFound:
            d.errors["staff_id"] = "admin.ledger.form.error.staff_id"
            v.say("admin.ledger.form.fix")
        except Exception as exc:
            key, values = message_for(
                exc,
                {Forbidden: "admin.ledger.form.error.forbidden"},
                log=log,
                failed="admin: proposing by hand failed",
            )
            v.say(key, **values)
        else:
            v.draft = ProposalDraft()
            v.say("admin.ledger.form.saved", ok=True, id=new_id)
        await reload(self.app)


def over_cap_values(exc: DeductionOverCap) -> dict[str, object]:
    """The blanks of the over-the-cap message: the cap, what the month already took, what is left."""
    return {"cap": exc.cap, "taken": exc.taken, "left": max(exc.cap - exc.taken, 0), "month": exc.month}


def _err(locale: str, d: ProposalDraft, name: str) -> str | None:
    key = d.errors.get(name)
    return t(locale, key, **d.error_values.get(name, {})) if key else None


def build(app: AdminHost, v: LedgerState) -> list[ft.Control]:
    locale, data, d, h = app.locale, v.data, v.draft, Handlers(app)
    assert data is not None
    names = {c.code: f"{c.code} {c.short(locale)}" for c in data.clauses}
    money = d.kind in KINDS and SanctionKind(str(d.kind)) in MONEY
    chosen = next((p for p in data.people if str(p.id) == d.staff_id), None)
    fines_here = chosen.branch_id in data.fines_at if chosen else bool(data.fines_at)
    # A wrapping row cannot hold an expanding field: on a phone each field takes the card's width.
    page_width = app.page.width or 1280
    wide = page_width - 60 if page_width < 600 else 0
    person = named_dropdown(
        t(locale, "admin.ledger.form.staff"),
        d.staff_id,
        [(str(p.id), f"{p.name} ({p.employee_no})") for p in data.people],
        key="propose-staff",
        on_select=h.on_staff,
        error_text=_err(locale, d, "staff_id"),
        width=wide or 360,
    )
    kind = named_dropdown(
        t(locale, "admin.ledger.form.kind"),
        d.kind,
        # A fine only where the person's branch has turned fines on (off by default, RULES-CITED §4).
        [(k, t(locale, f"admin.ledger.kind.{k}")) for k in KINDS if k != SanctionKind.fine or fines_here],
        key="propose-kind",
        on_select=h.on_kind,
        error_text=_err(locale, d, "kind"),
        width=wide or 240,
    )
    out: list[ft.Control] = [
        ft.Text(t(locale, "admin.ledger.form.title"), size=20, weight=ft.FontWeight.BOLD),
        ft.Text(t(locale, "admin.ledger.form.hint"), color=MUTED),
        ft.Row(
            [person, kind],
            wrap=True,
            spacing=12,
            run_spacing=8,
            vertical_alignment=ft.CrossAxisAlignment.START,
        ),
    ]
    if money:
        out.append(
            ft.TextField(
                label=t(locale, "admin.ledger.form.amount"),
                value=d.amount,
                max_length=9,
                keyboard_type=ft.KeyboardType.NUMBER,
                on_change=h.on_amount,
                key="propose-amount",
                error=_err(locale, d, "amount_yuan"),
                width=wide or 240,
            )
        )
    if d.kind in KINDS:
        code = KIND_CLAUSE[SanctionKind(str(d.kind))]
        out.append(ft.Text(t(locale, "admin.ledger.form.kind_clause", clause=code), color=MUTED))
    pick = named_dropdown(
        t(locale, "admin.ledger.form.clause"),
        d.clause_pick,
        [(c, n) for c, n in names.items() if c not in d.clauses],
        key="propose-clause",
        on_select=h.on_clause,
        error_text=_err(locale, d, "clauses"),
        enable_filter=True,
        editable=True,
        width=wide or None,
        expand=not wide,
    )
    add = ft.OutlinedButton(
        content=t(locale, "admin.ledger.form.add_clause"),
        icon=ft.Icons.ADD,
        on_click=h.on_add,
        key="propose-add-clause",
        height=TAP,
    )
    if wide:  # a phone: the picker on its own line, the button under it
        out += [pick, ft.Row([add])]
    else:
        out.append(ft.Row([pick, add], vertical_alignment=ft.CrossAxisAlignment.CENTER))
    if d.clauses:
        out.append(
            ft.Row(
                [
                    ft.Chip(
                        label=ft.Text(names.get(code, code), color=INK),
                        on_delete=h.on_remove,
                        delete_icon_tooltip=t(locale, "admin.ledger.form.remove_clause", clause=code),
                        data=code,
                        key=f"propose-clause-{code}",
                    )
                    for code in d.clauses
                ],
                wrap=True,
                spacing=8,
                run_spacing=8,
            )
        )
    out += [
        ft.TextField(
            label=t(locale, "admin.ledger.form.reason"),
            value=d.reason,
            multiline=True,
            min_lines=2,
            max_length=1000,
            on_change=h.on_reason,
            key="propose-reason",
            error=_err(locale, d, "reason"),
        ),
        ft.Row(
            [
                primary_button(
                    t(locale, "admin.ledger.form.submit"), h.on_submit, "propose-submit", ft.Icons.SEND
                )
            ]
        ),
    ]
    return [cards.card(out, key="propose-form")]
