"""The ledger section's per-session state: what was loaded, which part is open, and every draft (the
evaluation's month, decision reasons per card, the proposal form), kept across re-renders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from admin.ledger import LedgerView, ledger_view
from models.auth import SessionExpired

if TYPE_CHECKING:
    from admin.host import AdminHost

KEY = "ledger"
TABS = ("proposals", "propose", "list", "appeals")


@dataclass
class ProposalDraft:
    staff_id: str | None = None
    kind: str | None = None
    amount: str = ""
    clauses: list[str] = field(default_factory=list)
    clause_pick: str | None = None
    reason: str = ""
    errors: dict[str, str] = field(default_factory=dict)  # field -> catalog key
    error_values: dict[str, dict[str, object]] = field(default_factory=dict)  # field -> the key's blanks


@dataclass
class LedgerState:
    data: LedgerView | None = None
    tab: str = "proposals"
    eval_month: str | None = None
    eval_branch: str | None = None
    status_filter: str = "all"
    month_filter: str = "all"
    reasons: dict[str, str] = field(default_factory=dict)  # "p<id>" / "a<id>" -> draft reason
    card_errors: dict[str, str] = field(default_factory=dict)  # "p<id>" / "a<id>" -> catalog key
    card_error_values: dict[str, dict[str, object]] = field(default_factory=dict)  # the key's blanks
    expanded: set[int] = field(default_factory=set)
    draft: ProposalDraft = field(default_factory=ProposalDraft)
    message: str | None = None
    values: dict[str, object] = field(default_factory=dict)
    ok: bool = False

    def say(self, key: str | None, ok: bool = False, **values: object) -> None:
        self.message, self.ok, self.values = key, ok, values


def state(app: AdminHost) -> LedgerState:
    v = app.view.get(KEY)
    if not isinstance(v, LedgerState):
        v = app.view[KEY] = LedgerState()
    return v


async def load(app: AdminHost) -> None:
    v = state(app)
    v.data = await app.call(
        ledger_view,
        status=None if v.status_filter == "all" else v.status_filter,
        month=None if v.month_filter == "all" else v.month_filter,
    )
    if v.eval_month is None:
        v.eval_month = v.data.last_month
    if v.eval_branch is None and len(v.data.branches) == 1:
        v.eval_branch = str(v.data.branches[0].id)


async def reload(app: AdminHost) -> None:
    """Load again and redraw; an ended sign-in has already sent the user to sign in."""
    try:
        await load(app)
    except SessionExpired:
        return
    app.render()
