"""The admin app's sections: what each role may open, and how each section loads and draws.

A section module provides ``build(app) -> ft.Control`` (the body under the top bar and the section
tabs) and, when it shows data, ``async load(app)`` that fetches it through ``app.call`` and keeps it
in ``app.view[<section key>]``. ``app`` is the host as the screens see it (admin/host.py
``AdminHost``), never the app class: the app imports this registry and the screens, and neither
imports the app. Adding a section means adding one line here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import flet as ft

from admin.screens import (
    account,
    alerts,
    audit,
    dashboard,
    documents,
    hotline,
    inspections,
    ledger,
    me,
    people,
    queue,
    training,
)
from admin.screens import jobs as job_screens
from admin.screens import rules as rules_screen
from models.org import Role

if TYPE_CHECKING:
    from admin.host import AdminHost

SUPERVISION = frozenset({Role.supervisor, Role.admin})
EVERYONE = frozenset(Role)


@dataclass(frozen=True)
class Section:
    key: str
    label_key: str
    icon: ft.IconData
    roles: frozenset[Role]
    build: Callable[[AdminHost], ft.Control]
    load: Callable[[AdminHost], Awaitable[None]] | None = None


SECTIONS: list[Section] = [
    # Counter staff land on their own page (scores, comments, records); supervisors on the queue.
    Section("me", "me.nav", ft.Icons.BADGE_OUTLINED, frozenset({Role.staff}), me.build, me.load),
    Section(
        "complaints", "admin.nav.complaints", ft.Icons.REPORT_OUTLINED, SUPERVISION, queue.build, queue.load
    ),
    Section("dashboard", "admin.dash.nav", ft.Icons.INSIGHTS, SUPERVISION, dashboard.build, dashboard.load),
    Section(
        "alerts", "admin.nav.alerts", ft.Icons.NOTIFICATIONS_OUTLINED, SUPERVISION, alerts.build, alerts.load
    ),
    Section(
        "hotline",
        "admin.hotline.nav",
        ft.Icons.PHONE_IN_TALK_OUTLINED,
        hotline.ROLES,
        hotline.build,
        hotline.load,
    ),
    Section(
        "inspections",
        "admin.inspect.nav",
        ft.Icons.FACT_CHECK_OUTLINED,
        SUPERVISION,
        inspections.build,
        inspections.load,
    ),
    Section(
        "training", "admin.training.nav", ft.Icons.SCHOOL_OUTLINED, SUPERVISION, training.build, training.load
    ),
    Section(
        "documents",
        "documents.nav",
        ft.Icons.DESCRIPTION_OUTLINED,
        SUPERVISION,
        documents.build,
        documents.load,
    ),
    Section("ledger", "admin.ledger.nav", ft.Icons.GAVEL, SUPERVISION, ledger.build, ledger.load),
    Section(
        "people", "admin.people.nav", ft.Icons.LEADERBOARD_OUTLINED, SUPERVISION, people.build, people.load
    ),
    Section("rules", "rules.nav", ft.Icons.TUNE, SUPERVISION, rules_screen.build, rules_screen.load),
    Section(
        "audit", "admin.nav.audit", ft.Icons.POLICY_OUTLINED, frozenset({Role.admin}), audit.build, audit.load
    ),
    Section(
        "jobs", "jobs.nav", ft.Icons.SCHEDULE, frozenset({Role.admin}), job_screens.build, job_screens.load
    ),
    Section(
        "account",
        "admin.nav.account",
        ft.Icons.MANAGE_ACCOUNTS_OUTLINED,
        EVERYONE,
        account.build,
        account.load,
    ),
]


# On a phone the bottom bar holds at most BAR_SIZE entries: a role with that many sections or fewer
# has them all there; any other has its most used ones (below, drawn in the order of SECTIONS) and
# 更多 / More for the rest (admin/screens/navigation.py). A supervisor works the queue, answers the
# live alerts and reads the dashboard; an administrator also sets the rules.
BAR_SIZE = 4
MOST_USED: dict[Role, tuple[str, ...]] = {
    Role.staff: ("me", "hotline", "account"),
    Role.supervisor: ("complaints", "dashboard", "alerts"),
    Role.admin: ("complaints", "dashboard", "rules"),
}


def visible_sections(role: Role) -> list[Section]:
    return [s for s in SECTIONS if role in s.roles]


def bar_sections(role: Role) -> tuple[list[Section], list[Section]]:
    """The sections in a phone's bottom bar and those under More (empty when all fit in the bar)."""
    visible = visible_sections(role)
    if len(visible) <= BAR_SIZE:
        return visible, []
    wanted = MOST_USED.get(role, ())
    bar = [s for s in visible if s.key in wanted][: BAR_SIZE - 1]
    return bar, [s for s in visible if s not in bar]


def by_key(key: str) -> Section | None:
    return next((s for s in SECTIONS if s.key == key), None)
