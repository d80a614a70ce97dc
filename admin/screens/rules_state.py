"""The rules screen's state, kept in ``app.view["rules"]`` across re-renders and language switches:
the scope shown, the drafts typed and not saved, the last refusal and message, and the one open
adoption form. Its own module so the screen (admin/screens/rules.py) and the history card
(admin/screens/rules_history.py) share it without importing each other."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import flet as ft

from admin import rules as service

if TYPE_CHECKING:
    from admin.host import AdminHost

KEY = "rules"
GLOBAL = "global"


@dataclass
class RulesState:
    data: service.Rules | None = None
    scope: str = GLOBAL  # GLOBAL or a branch id
    drafts: dict[str, str] = field(default_factory=dict)  # setting -> what was typed, not saved yet
    error: service.RuleInvalid | None = None
    message: tuple[str, dict[str, Any], bool] | None = None  # catalog key, values, good news
    body: ft.Column | None = None  # the scrolling column, to bring a refused field into view
    # The one open adoption form: the version it is about, what was typed, and the refusal
    # (the field it names, "adopted_on" or "adopted_how"); kept across re-renders.
    adopt: int | None = None
    adopt_date: str = ""
    adopt_how: str = ""
    adopt_error: str | None = None
    busy: bool = False

    def close_adoption(self) -> None:
        self.adopt, self.adopt_date, self.adopt_how, self.adopt_error = None, "", "", None


def revision_of(v: RulesState, version: int | None) -> service.Revision | None:
    if v.data is None or version is None:
        return None
    return next((r for r in v.data.history if r.version == version), None)


def setting_of(v: RulesState, key: str) -> service.Setting | None:
    return next((s for s in v.data.settings if s.key == key), None) if v.data else None


def state(app: AdminHost) -> RulesState:
    v = app.view.get(KEY)
    if not isinstance(v, RulesState):
        v = app.view[KEY] = RulesState()
    return v
