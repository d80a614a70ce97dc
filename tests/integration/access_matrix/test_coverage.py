"""The matrix stays complete: no admin service without a row, no row without a service."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from admin import backend, dashboard, documents, hotline, jobs, ledger, rules, staff_portal, supervision
from admin import calendar as calendar_desk
from admin import cases as case_desk
from admin import extensions as extension_desk
from tests.integration.access_matrix import ops
from tests.integration.access_matrix.ops import OPS

ADMIN_MODULES = (
    backend, hotline, supervision, dashboard, jobs, documents, staff_portal, ledger, rules, extension_desk,
    calendar_desk, case_desk,
)  # fmt: skip


def admin_services() -> dict[str, Callable[..., Any]]:
    """Every public function of the admin modules whose first two parameters are (ctx, token)."""
    found = {}
    for module in ADMIN_MODULES:
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ != module.__name__ or name.startswith("_"):
                continue
            if list(inspect.signature(fn).parameters)[:2] == ["ctx", "token"]:
                found[f"{module.__name__}.{name}"] = fn
    return found


def test_the_matrix_covers_every_admin_service() -> None:
    services = admin_services()
    covered = {op.fn for op in OPS}
    missing = sorted(name for name, fn in services.items() if fn not in covered)
    assert not missing, f"add these services to OPS in {ops.__name__}: {missing}"
    stale = sorted(op.name for op in OPS if op.fn not in services.values())
    assert not stale, f"these OPS rows no longer name a (ctx, token, ...) service: {stale}"
    assert len(services) >= 20  # the introspection itself still finds the services
