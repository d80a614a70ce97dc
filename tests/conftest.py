"""Shared fixtures: a fresh database per test (SQLite in memory, and PostgreSQL when
RAPPORT_TEST_DATABASE_URL is set), and a small seeded world to act in."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

import models  # noqa: F401  (registers tables)
import models.auth
import models.crypto
from models.catalog import load_catalog
from models.clock import parse_instant, pin, utcnow
from models.crypto import hash_secret
from models.devices import register_device
from models.duty import start_duty
from models.org import Branch, Counter, Role, Staff
from models.training import TrainingKind, record_training
from rapport.core.context import AppContext
from rapport.core.db import Database
from rapport.core.settings import Settings

PG_URL = os.environ.get("RAPPORT_TEST_DATABASE_URL", "")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


# The demo's ratings are random (seeded) in the days before "now": a test that builds one runs at
# this instant (an ordinary working Wednesday morning in Shanghai, mid-month), so the demo is the
# same on every run whatever the day, and whatever the test asserts of it cannot come and go.
DEMO_AT = "2026-11-18T10:30:00+08:00"


@contextmanager
def clock_pinned(at: str = DEMO_AT) -> Iterator[datetime]:
    """This process's clock reads ``at`` (and runs on) inside the block; subprocesses that need the
    same time get ``RAPPORT_CLOCK_AT``."""
    instant = parse_instant(at)
    pin(instant)
    try:
        yield instant
    finally:
        pin(None)


CHEAP_ARGON2 = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(autouse=True)
def cheap_argon2(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Passwords and PINs stay argon2id in every in-process test, at the lowest cost: at the real
    cost one hash takes about 0.2 s on a CI machine and the suite makes thousands. The real
    parameters are held by tests/unit/test_crypto.py (marked ``real_argon2``); servers the browser
    and CLI tests start run with them too."""
    if request.node.get_closest_marker("real_argon2"):
        yield
        return
    monkeypatch.setattr(models.crypto, "_hasher", CHEAP_ARGON2)
    models.auth._dummy_hash.cache_clear()
    yield
    models.auth._dummy_hash.cache_clear()


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A throwaway PostgreSQL database for this run, migrated with Alembic once."""
    from rapport.core.migrate import upgrade

    base = make_url(PG_URL)
    name = f"rapport_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    db = Database.from_url(url)
    upgrade(db.engine)
    db.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest) -> Iterator[Database]:
    if request.param == "sqlite":
        database = Database.from_url("sqlite://")
        SQLModel.metadata.create_all(database.engine)
    else:
        url = request.getfixturevalue("pg_template")
        database = Database.from_url(url)
        tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
        with database.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    with database.write() as session:
        load_catalog(session)
    yield database
    database.dispose()


@dataclass
class World:
    branch_id: int
    other_branch_id: int
    counter_id: int
    closed_counter_id: int
    staff_no: str
    staff_id: int
    colleague_no: str
    other_branch_staff_no: str
    device_token: str
    closed_device_token: str


@pytest.fixture
def world(db: Database) -> World:
    """One branch with two counters (one staffed, one closed), a tablet each, and a second branch."""
    with db.write() as s:
        a = Branch(code="A", name_zh="甲支行", name_en="Branch A")
        b = Branch(code="B", name_zh="乙支行", name_en="Branch B")
        s.add_all([a, b])
        s.flush()
        assert a.id and b.id
        c1 = Counter(branch_id=a.id, code="A-01", name_zh="1号窗口", name_en="Counter 1")
        c2 = Counter(branch_id=a.id, code="A-02", name_zh="2号窗口", name_en="Counter 2")
        s.add_all([c1, c2])
        pin = hash_secret("2468")
        alice = Staff(employee_no="E1", display_name="王芳", branch_id=a.id, pin_hash=pin)
        bob = Staff(employee_no="E2", display_name="李娜", branch_id=a.id, pin_hash=pin)
        carol = Staff(employee_no="E9", display_name="张伟", branch_id=b.id, pin_hash=pin)
        boss = Staff(employee_no="S1", display_name="郭主管", role=Role.supervisor, branch_id=a.id)
        s.add_all([alice, bob, carol, boss])
        s.commit()
        for person in (alice, bob, carol):  # everyone but bob-the-new-hire has passed induction
            assert person.id is not None
            if person is not bob:
                record_training(
                    s,
                    staff_id=person.id,
                    kind=TrainingKind.induction,
                    course="入职培训",
                    completed_on=date(2026, 1, 5),
                    passed=True,
                )
        assert c1.id and c2.id and alice.id
        _d1, token1 = register_device(s, counter_id=c1.id, label="tablet 1")
        _d2, token2 = register_device(s, counter_id=c2.id, label="tablet 2")
        start_duty(s, staff_id=alice.id, counter_id=c1.id, at=utcnow() - timedelta(hours=1))
        return World(
            branch_id=a.id, other_branch_id=b.id, counter_id=c1.id, closed_counter_id=c2.id,
            staff_no="E1", staff_id=alice.id, colleague_no="E2", other_branch_staff_no="E9",
            device_token=token1, closed_device_token=token2,
        )  # fmt: skip


@pytest.fixture
def ctx(db: Database, tmp_path) -> AppContext:  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path, database_url="sqlite://", locale="zh-CN")
    return AppContext(settings=settings, db=db, secret_key="test-secret-" + "x" * 32)


# Slow suites first so that, run in parallel (`make test`: `pytest -n 2` without the browser tests),
# the long tests start early and the quick ones fill in at the end; the browser tests last.
_ORDER = {"battery": 0, "integration": 1, "ui": 2, "unit": 3, "e2e": 4}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order the suites (above). The browser tests share one server and one Chromium per package
    (tests/e2e/conftest.py), closed when the last of them ends, so Playwright's event loop is gone
    before any asyncio test runs in the same process."""

    def suite(item: pytest.Item) -> int:
        parts = item.path.parts
        return next((_ORDER[p] for p in reversed(parts) if p in _ORDER), 1)

    items.sort(key=suite)  # stable: keeps the order within each suite


def pytest_report_header() -> list[str]:
    required = os.environ.get("RAPPORT_REQUIRE_BROWSER") == "1"
    browser = "required" if required else "run if Chromium is installed"
    return [f"rapport: database backends {', '.join(BACKENDS)}; browser tests {browser}"]
