"""The 差评 cases' screen state, kept in ``app.view["cases"]``: the open cases, the one case shown,
what is typed or picked in its forms and not sent yet, contacts revealed, and the last message.
Shared by admin/screens/cases.py and admin/screens/case_forms.py without either importing the other."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from admin import cases as service

if TYPE_CHECKING:
    from admin.host import AdminHost

KEY = "cases"


@dataclass
class CasesState:
    rows: list[service.CaseRow] = field(default_factory=list)
    open_id: int | None = None
    view: service.CaseView | None = None
    form: dict[str, str] = field(default_factory=dict)  # what is typed or picked, not sent yet
    revealed: dict[int, str] = field(default_factory=dict)  # case id -> the contact shown in full
    message: tuple[str, dict[str, Any], bool] | None = None


def state(app: AdminHost) -> CasesState:
    v = app.view.get(KEY)
    if not isinstance(v, CasesState):
        v = app.view[KEY] = CasesState()
    return v
