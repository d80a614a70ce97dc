"""The admin app's sections per role."""

from __future__ import annotations

import pytest

from admin.sections import SECTIONS, visible_sections
from models.org import Role

SUPERVISOR_SECTIONS = {
    "complaints",
    "dashboard",
    "alerts",
    "hotline",
    "inspections",
    "training",
    "documents",
    "ledger",
    "people",
    "rules",
    "account",
}
EXPECTED_SECTIONS = {
    Role.staff: {"hotline", "me", "account"},
    Role.supervisor: SUPERVISOR_SECTIONS,
    Role.admin: SUPERVISOR_SECTIONS | {"audit", "jobs"},
}


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_each_role_sees_exactly_its_sections(role: Role) -> None:
    assert {s.key for s in visible_sections(role)} == EXPECTED_SECTIONS[role]


def test_every_section_is_assigned_in_the_expected_table() -> None:
    assert {s.key for s in SECTIONS} == set().union(*EXPECTED_SECTIONS.values())
