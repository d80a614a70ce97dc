"""The one access helper of the admin app (admin/access.py): who is calling, what they may see, and
that the sign-in is resumed in a short write transaction of its own while a service that only reads
does its work in a read session.

The access matrix (tests/integration/access_matrix/) holds every service to its scope; this
file holds the helper itself."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import text
from sqlmodel import Session, SQLModel, col, select

from admin import (
    access,
    backend,
    calendar,
    cases,
    dashboard,
    documents,
    extensions,
    hotline,
    jobs,
    ledger,
    rules,
    staff_portal,
    supervision,
)
from admin.access import Caller, Gate
from models import auth
from models.auth import LoginSession, SessionExpired
from models.catalog import load_catalog
from models.crypto import hash_secret
from models.errors import Forbidden
from models.org import Branch, Role, Staff
from rapport.core.context import AppContext
from rapport.core.db import Database, write_lock_for
from rapport.core.settings import Settings

PASSWORD = "correct horse 42"
NOW = datetime(2026, 11, 24, 1, 30, tzinfo=UTC)


def person(role: Role, branch_id: int | None, staff_id: int = 7) -> Caller:
    staff = Staff(
        id=staff_id, employee_no=f"X{staff_id}", display_name="某人", role=role, branch_id=branch_id
    )
    return Caller.of(staff)


# --- the caller: pure rules -----------------------------------------------------------------------


def test_an_administrator_sees_every_branch_and_data_of_none() -> None:
    root = person(Role.admin, None)
    assert root.is_admin and root.branches is None and root.branch_ids is None and root.scope is None
    for branch_id in (1, 2, 999, None):
        assert root.may_see(branch_id)
        root.check_branch(branch_id)
    assert root.require_branch("never raised") is None


@pytest.mark.parametrize("role", [Role.supervisor, Role.staff], ids=str)
def test_a_supervisor_or_staff_member_sees_their_own_branch_only(role: Role) -> None:
    me = person(role, 1)
    assert not me.is_admin and me.branches == frozenset({1}) and me.branch_ids == [1] and me.scope == 1
    me.check_branch(1)
    for other in (2, None):
        assert not me.may_see(other)
        with pytest.raises(Forbidden, match="not yours"):
            me.check_branch(other, "this branch is not yours")
    assert me.require_branch("never raised") == 1


def test_someone_without_a_branch_sees_no_branch() -> None:
    me = person(Role.supervisor, None)
    assert me.branches == frozenset() and me.branch_ids == []
    with pytest.raises(Forbidden, match="another branch"):
        me.check_branch(None)
    with pytest.raises(Forbidden, match="supervises nobody"):
        me.require_branch("a supervisor without a branch supervises nobody")


def test_require_names_the_roles_allowed_and_returns_the_actor() -> None:
    boss = person(Role.supervisor, 1, staff_id=12)
    assert boss.require(Role.supervisor, Role.admin, message="x") == 12
    with pytest.raises(Forbidden, match="only administrators"):
        boss.require(Role.admin, message="only administrators change the rules")


def test_a_role_read_back_as_text_is_a_role() -> None:
    staff = Staff(id=3, employee_no="S3", display_name="主管", role=cast(Role, "supervisor"), branch_id=2)
    me = Caller.of(staff)
    assert me.role is Role.supervisor and (me.name, me.employee_no) == ("主管", "S3")


def test_a_caller_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        person(Role.staff, 1).branch_id = 2  # type: ignore[misc]


# --- the caller: resumed from a sign-in -----------------------------------------------------------


@dataclasses.dataclass
class Accounts:
    ctx: AppContext
    staff: dict[str, int]  # login -> id
    branch_a: int
    branch_b: int


@pytest.fixture
def accounts(db: Database, world: Any, ctx: AppContext) -> Accounts:
    ctx.clock = lambda: NOW
    with db.write() as s:
        s.add(Staff(employee_no="A0", display_name="管理员", role=Role.admin))
        s.commit()
        logins = {"E1": "alice", "S1": "boss.a", "A0": "root"}
        people = s.exec(select(Staff).where(col(Staff.employee_no).in_(list(logins)))).all()
        hashed = hash_secret(PASSWORD)
        for p in people:
            p.username, p.password_hash = logins[p.employee_no], hashed
            s.add(p)
        s.commit()
        ids = {logins[p.employee_no]: p.id for p in people if p.id is not None}
    return Accounts(ctx, ids, world.branch_id, world.other_branch_id)


def sign_in(a: Accounts, login: str, *, at: datetime = NOW) -> str:
    with a.ctx.db.write() as s:
        return auth.authenticate(s, login=login, password=PASSWORD, client="192.0.2.10", now=at)[1]


def test_the_caller_is_who_signed_in_with_their_scope(accounts: Accounts) -> None:
    boss = access.caller(accounts.ctx, sign_in(accounts, "boss.a"), access.SUPERVISION, refused="x")
    assert (boss.id, boss.role, boss.branch_id) == (
        accounts.staff["boss.a"],
        Role.supervisor,
        accounts.branch_a,
    )
    assert boss.branches == frozenset({accounts.branch_a}) and boss.name == "郭主管"
    root = access.caller(accounts.ctx, sign_in(accounts, "root"), (Role.admin,), refused="x")
    assert root.is_admin and root.branch_id is None


def test_a_role_not_allowed_is_refused_with_the_services_words(accounts: Accounts) -> None:
    token = sign_in(accounts, "alice")
    with pytest.raises(Forbidden, match="the ledger is for supervisors"):
        access.caller(accounts.ctx, token, access.SUPERVISION, refused="the ledger is for supervisors")
    assert access.caller(accounts.ctx, token).role is Role.staff  # every role by default


def test_a_dead_sign_in_is_refused_before_any_role_check(accounts: Accounts) -> None:
    idle = sign_in(accounts, "boss.a", at=NOW - auth.IDLE_TIMEOUT - timedelta(minutes=1))
    for token in ("", "made-up", idle):
        with pytest.raises(SessionExpired):
            access.caller(accounts.ctx, token, (Role.admin,), refused="never this")
    with accounts.ctx.db.read() as s:  # the idle session was ended, and that was committed
        ended = s.exec(select(LoginSession).where(LoginSession.staff_id == accounts.staff["boss.a"])).one()
        assert ended.end_reason == "idle"


def test_branch_needed_refuses_anyone_but_an_administrator_without_a_branch(accounts: Accounts) -> None:
    token, root = sign_in(accounts, "boss.a"), sign_in(accounts, "root")
    with accounts.ctx.db.write() as s:
        boss = s.get(Staff, accounts.staff["boss.a"])
        assert boss is not None
        boss.branch_id = None
        s.add(boss)
        s.commit()
    with pytest.raises(Forbidden, match="supervises nobody"):
        access.caller(accounts.ctx, token, branch_needed="a supervisor without a branch supervises nobody")
    assert access.caller(accounts.ctx, root, branch_needed="never this").is_admin


def test_the_sign_in_is_resumed_and_committed_and_the_write_lock_let_go(accounts: Accounts) -> None:
    """Resuming moves last_seen_at on (committed: a read sees it) in a transaction that is over when
    the caller is returned: no write lock is held while the service goes on reading."""
    token = sign_in(accounts, "root")
    later = NOW + timedelta(minutes=5)
    accounts.ctx.clock = lambda: later
    access.caller(accounts.ctx, token)
    lock = write_lock_for(accounts.ctx.db.engine)
    assert lock is None or lock.owner is None
    with accounts.ctx.db.read() as s:
        row = s.exec(select(LoginSession).where(LoginSession.staff_id == accounts.staff["root"])).one()
        assert row.last_seen_at == later


def test_a_role_or_branch_change_applies_at_the_next_call(accounts: Accounts) -> None:
    token = sign_in(accounts, "boss.a")
    assert access.caller(accounts.ctx, token).branches == frozenset({accounts.branch_a})
    with accounts.ctx.db.write() as s:
        boss = s.get(Staff, accounts.staff["boss.a"])
        assert boss is not None
        boss.branch_id, boss.role = accounts.branch_b, Role.staff
        s.add(boss)
        s.commit()
    me = access.caller(accounts.ctx, token)
    assert (me.role, me.branches) == (Role.staff, frozenset({accounts.branch_b}))


# --- services that only read do so in a read session ----------------------------------------------


class Counting(Database):
    """The test's database, counting the sessions opened."""

    def __init__(self, inner: Database) -> None:
        self.__dict__.update(inner.__dict__)
        self.writes = self.reads = 0

    @contextmanager
    def write(self) -> Iterator[Session]:
        self.writes += 1
        with super().write() as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        self.reads += 1
        with super().read() as session:
            yield session


Service = Callable[[AppContext, str, Accounts], Any]
READS: dict[str, tuple[str, Service]] = {
    "backend.current_user": ("root", lambda c, t, a: backend.current_user(c, t)),
    "backend.queue": ("root", lambda c, t, a: backend.queue(c, t, status="all")),
    "backend.alert_scope": ("boss.a", lambda c, t, a: backend.alert_scope(c, t)),
    "backend.alerts": ("root", lambda c, t, a: backend.alerts(c, t)),
    "backend.audit_log": ("root", lambda c, t, a: backend.audit_log(c, t, verify_chain=True)),
    "backend.totp_state": ("alice", lambda c, t, a: backend.totp_state(c, t)),
    "calendar.calendar": ("boss.a", lambda c, t, a: calendar.calendar(c, t, a.branch_a)),
    "cases.cases": ("boss.a", lambda c, t, a: cases.cases(c, t)),
    "dashboard.dashboard": ("boss.a", lambda c, t, a: dashboard.dashboard(c, t)),
    "documents.branches": ("boss.a", lambda c, t, a: documents.branches(c, t)),
    "documents.badge_holders": (
        "boss.a",
        lambda c, t, a: documents.badge_holders(c, t, branch_id=a.branch_a),
    ),
    "hotline.options": ("alice", lambda c, t, a: hotline.options(c, t)),
    "jobs.job_overview": ("root", lambda c, t, a: jobs.job_overview(c, t)),
    "ledger.ledger_view": ("boss.a", lambda c, t, a: ledger.ledger_view(c, t)),
    "ledger.board": ("boss.a", lambda c, t, a: ledger.board(c, t)),
    "ledger.personal_file": ("boss.a", lambda c, t, a: ledger.personal_file(c, t, a.staff["alice"])),
    "rules.rules": ("boss.a", lambda c, t, a: rules.rules(c, t, a.branch_a)),
    "staff_portal.my_scores": ("alice", lambda c, t, a: staff_portal.my_scores(c, t)),
    "staff_portal.my_comments": ("alice", lambda c, t, a: staff_portal.my_comments(c, t)),
    "staff_portal.my_complaints": ("alice", lambda c, t, a: staff_portal.my_complaints(c, t)),
    "staff_portal.my_inspections": ("alice", lambda c, t, a: staff_portal.my_inspections(c, t)),
    "staff_portal.my_training": ("alice", lambda c, t, a: staff_portal.my_training(c, t)),
    "staff_portal.my_rules": ("alice", lambda c, t, a: staff_portal.my_rules(c, t)),
    "supervision.staff_list": ("boss.a", lambda c, t, a: supervision.staff_list(c, t)),
    "supervision.inspection_clauses": ("boss.a", lambda c, t, a: supervision.inspection_clauses(c, t)),
    "supervision.my_spot_checks": ("boss.a", lambda c, t, a: supervision.my_spot_checks(c, t)),
    "supervision.inspections": ("boss.a", lambda c, t, a: supervision.inspections(c, t)),
    "supervision.training": ("boss.a", lambda c, t, a: supervision.training(c, t)),
}


@pytest.mark.parametrize("name", list(READS))
def test_a_service_that_only_reads_writes_nothing_but_the_sign_in(accounts: Accounts, name: str) -> None:
    """No write transaction while the sign-in was seen within the minute (the caller is read in a read
    session); one, short, to move ``last_seen_at`` on once the minute has passed; the work always in
    read sessions."""
    login, call = READS[name]
    token = sign_in(accounts, login)
    counting = Counting(accounts.ctx.db)
    ctx = dataclasses.replace(accounts.ctx, db=counting)
    call(ctx, token, accounts)
    assert counting.writes == 0, f"{name} opened {counting.writes} write transactions"
    assert counting.reads >= 1  # the sign-in (and the work, for a service with more to read)

    later = NOW + auth.LAST_SEEN_RESOLUTION
    call(dataclasses.replace(ctx, clock=lambda: later), token, accounts)
    assert counting.writes == 1, f"{name} opened {counting.writes} write transactions a minute on"
    with accounts.ctx.db.read() as s:
        row = s.exec(select(LoginSession).where(LoginSession.staff_id == accounts.staff[login])).one()
        assert row.last_seen_at == later


# --- a gate: the declared door of a service module ------------------------------------------------


def test_a_gate_is_a_frozen_declaration_whatever_the_roles_are_given_as() -> None:
    gate = Gate((Role.admin, Role.supervisor), refused="x")
    assert gate == Gate(frozenset({Role.supervisor, Role.admin}), refused="x")
    assert gate.roles == frozenset({Role.supervisor, Role.admin}) and isinstance(gate.roles, frozenset)
    assert Gate().roles == access.EVERY_ROLE and Gate().branch_needed is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        gate.refused = "y"  # type: ignore[misc]


def test_a_gate_refuses_a_role_it_does_not_name_with_its_own_words(accounts: Accounts) -> None:
    gate = Gate(access.SUPERVISION, refused="the ledger is for supervisors")
    with pytest.raises(Forbidden, match="the ledger is for supervisors"):
        gate.caller(accounts.ctx, sign_in(accounts, "alice"))
    boss = gate.caller(accounts.ctx, sign_in(accounts, "boss.a"))
    assert (boss.id, boss.role) == (accounts.staff["boss.a"], Role.supervisor)
    assert access.SIGNED_IN.caller(accounts.ctx, sign_in(accounts, "alice")).role is Role.staff


def test_a_gate_that_needs_a_branch_lets_only_an_administrator_in_without_one(accounts: Accounts) -> None:
    gate = Gate(
        access.SUPERVISION, refused="x", branch_needed="a supervisor without a branch supervises nobody"
    )
    token, root = sign_in(accounts, "boss.a"), sign_in(accounts, "root")
    assert gate.caller(accounts.ctx, token).branch_id == accounts.branch_a
    with accounts.ctx.db.write() as s:
        boss = s.get(Staff, accounts.staff["boss.a"])
        assert boss is not None
        boss.branch_id = None
        s.add(boss)
        s.commit()
    with pytest.raises(Forbidden, match="supervises nobody"):
        gate.caller(accounts.ctx, token)
    assert gate.caller(accounts.ctx, root).is_admin


def test_a_gate_refuses_an_ended_sign_in_before_any_role_or_branch(accounts: Accounts) -> None:
    token = sign_in(accounts, "alice")
    with accounts.ctx.db.write() as s:
        auth.logout(s, token=token, now=NOW)
    never = Gate((Role.admin,), refused="never this", branch_needed="never this")
    for gate in (access.SIGNED_IN, never, calendar.GATE, dashboard.GATE, jobs.GATE, backend.AUDITORS):
        with pytest.raises(SessionExpired):
            gate.caller(accounts.ctx, token)


# Each module's refusals, word for word as before its door became a Gate (screens and tests match them).
REFUSALS: dict[str, tuple[str, Service, str]] = {
    "calendar, staff": (
        "alice",
        lambda c, t, a: calendar.calendar(c, t, a.branch_a),
        "the calendar is for supervisors and administrators",
    ),
    "calendar, another branch": (
        "boss.a",
        lambda c, t, a: calendar.calendar(c, t, a.branch_b),
        "a supervisor reads the calendar of their own branch only",
    ),
    "calendar, a supervisor's change": (
        "boss.a",
        lambda c, t, a: calendar.mark_day(c, t, a.branch_a, "2026-12-24", "holiday"),
        "only administrators change the calendar and the rules",
    ),
    "cases, staff": (
        "alice",
        lambda c, t, a: cases.cases(c, t),
        "差评 cases are for supervisors and administrators",
    ),
    "extensions, staff": (
        "alice",
        lambda c, t, a: extensions.extensions(c, t, 1),
        "extensions are for supervisors and administrators",
    ),
    "dashboard, staff": (
        "alice",
        lambda c, t, a: dashboard.dashboard(c, t),
        "the dashboard is for supervisors and administrators",
    ),
    "jobs, a supervisor": (
        "boss.a",
        lambda c, t, a: jobs.job_overview(c, t),
        "the scheduled jobs are for administrators",
    ),
    "audit log, a supervisor": (
        "boss.a",
        lambda c, t, a: backend.audit_log(c, t),
        "the audit log is for administrators",
    ),
}


@pytest.mark.parametrize("name", list(REFUSALS))
def test_each_service_refuses_in_its_own_words(accounts: Accounts, name: str) -> None:
    login, call, words = REFUSALS[name]
    with pytest.raises(Forbidden) as refused:
        call(accounts.ctx, sign_in(accounts, login), accounts)
    assert str(refused.value) == words


def test_a_supervisor_without_a_branch_has_no_dashboard(accounts: Accounts) -> None:
    token = sign_in(accounts, "boss.a")
    with accounts.ctx.db.write() as s:
        boss = s.get(Staff, accounts.staff["boss.a"])
        assert boss is not None
        boss.branch_id = None
        s.add(boss)
        s.commit()
    with pytest.raises(Forbidden, match="the dashboard is for supervisors and administrators"):
        dashboard.dashboard(accounts.ctx, token)


def test_no_admin_module_resumes_a_sign_in_but_the_access_helper() -> None:
    """Every door is a Gate: no module keeps a "who is calling" function of its own."""
    folder = Path(access.__file__).parent
    for path in sorted(folder.glob("*.py")):
        if path.name == "access.py":
            continue
        source = path.read_text(encoding="utf-8")
        for needle in ("auth.resume", "def _caller", "def _me(", "def _supervisor", "access.caller("):
            assert needle not in source, f"{path.name} has {needle!r}"
    doors = (calendar, cases, dashboard, documents, extensions, hotline, jobs, ledger, rules, staff_portal)
    for module in (*doors, supervision):
        assert isinstance(module.GATE, Gate) and module.GATE.refused, module.__name__


# --- a read goes on while another connection holds SQLite's write lock ----------------------------


@pytest.fixture
def on_disk(tmp_path: Path) -> Iterator[Accounts]:
    """A supervisor and an administrator on a database FILE: the in-memory database of the other
    tests is one connection shared by every session, so no other connection could hold a lock."""
    db = Database.from_url(f"sqlite:///{tmp_path / 'rapport.db'}")
    SQLModel.metadata.create_all(db.engine)
    hashed = hash_secret(PASSWORD)
    with db.write() as s:
        load_catalog(s)
        a = Branch(code="A", name_zh="甲支行", name_en="Branch A")
        b = Branch(code="B", name_zh="乙支行", name_en="Branch B")
        s.add_all([a, b])
        s.flush()
        people = {
            "boss.a": Staff(employee_no="S1", display_name="郭主管", role=Role.supervisor, branch_id=a.id),
            "root": Staff(employee_no="A0", display_name="管理员", role=Role.admin),
        }
        for login, p in people.items():
            p.username, p.password_hash = login, hashed
        s.add_all(people.values())
        s.commit()
        ids = {login: p.id for login, p in people.items() if p.id is not None}
        assert a.id is not None and b.id is not None
        branches = (a.id, b.id)
    settings = Settings(data_dir=tmp_path, database_url="sqlite://", locale="zh-CN")
    ctx = AppContext(settings=settings, db=db, secret_key="test-secret-" + "x" * 32, clock=lambda: NOW)
    yield Accounts(ctx, ids, *branches)
    db.dispose()


class LockedWhileReading(Database):
    """The test's database: as the service opens its first read session, another thread takes
    SQLite's write lock on a connection of its own (BEGIN IMMEDIATE and an UPDATE) and keeps it until
    the test lets go. A service that wrote after that point would wait behind it; here it fails at
    once instead."""

    def __init__(self, inner: Database) -> None:
        self.__dict__.update(inner.__dict__)
        self.inner = inner
        self.held, self.release = threading.Event(), threading.Event()
        self.holder: threading.Thread | None = None

    def _hold(self) -> None:
        with self.inner.write() as s:
            s.execute(text("UPDATE branch SET name_en = name_en"))
            self.held.set()
            self.release.wait(30)
            s.rollback()

    @contextmanager
    def read(self) -> Iterator[Session]:
        if self.holder is None:
            self.holder = threading.Thread(target=self._hold)
            self.holder.start()
            assert self.held.wait(10), "the other connection never took the write lock"
        with super().read() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        assert self.holder is None, "the service opened a write transaction after it began reading"
        with super().write() as session:
            yield session


HELD: dict[str, tuple[str, Service]] = {
    "dashboard.dashboard": ("boss.a", lambda c, t, a: dashboard.dashboard(c, t)),
    "calendar.calendar": ("boss.a", lambda c, t, a: calendar.calendar(c, t, a.branch_a)),
    "cases.cases": ("boss.a", lambda c, t, a: cases.cases(c, t)),
    "jobs.job_overview": ("root", lambda c, t, a: jobs.job_overview(c, t)),
}


@pytest.mark.parametrize("name", list(HELD))
def test_a_read_answers_while_another_connection_holds_the_write_lock(on_disk: Accounts, name: str) -> None:
    """The gate's own write is over before the work begins, and the work only reads: it answers at
    once although a kiosk's tap (say) is holding the write lock all along."""
    login, call = HELD[name]
    token = sign_in(on_disk, login)
    locked = LockedWhileReading(on_disk.ctx.db)
    ctx = dataclasses.replace(on_disk.ctx, db=locked)
    lock = write_lock_for(locked.engine)
    try:
        started = time.monotonic()
        call(ctx, token, on_disk)
        took = time.monotonic() - started
        assert locked.holder is not None and locked.held.is_set()
        assert lock is not None and lock.owner == locked.holder.ident  # held from first read to now
    finally:
        locked.release.set()
        if locked.holder is not None:
            locked.holder.join(10)
    assert took < 2.0, f"{name} took {took:.1f} s"
    assert lock.owner is None


def test_a_fresh_sign_in_of_an_account_switched_off_is_refused_and_ended(accounts: Accounts) -> None:
    """The read-only path answers only for an active account: one made inactive a second after its
    sign-in (directly in the table, as any other process could) is refused at the next call, and its
    session is ended in the write that follows."""
    token = sign_in(accounts, "boss.a")
    with accounts.ctx.db.write() as s:
        boss = s.get(Staff, accounts.staff["boss.a"])
        assert boss is not None
        boss.active = False
        s.add(boss)
        s.commit()
    with pytest.raises(SessionExpired):
        access.SIGNED_IN.caller(accounts.ctx, token)
    with accounts.ctx.db.read() as s:
        row = s.exec(select(LoginSession).where(LoginSession.staff_id == accounts.staff["boss.a"])).one()
        assert row.ended_at is not None and row.end_reason == "disabled"


def test_reading_the_caller_without_writing_answers_only_what_resume_would_write_nothing_for(
    accounts: Accounts,
) -> None:
    token = sign_in(accounts, "alice")
    with accounts.ctx.db.read() as s:
        fresh = auth.resume_if_unchanged(s, token=token, now=NOW + timedelta(seconds=59))
        stale = auth.resume_if_unchanged(s, token=token, now=NOW + auth.LAST_SEEN_RESOLUTION)
        unknown = auth.resume_if_unchanged(s, token="not-a-token", now=NOW)
    assert fresh is not None and fresh.id == accounts.staff["alice"]
    assert stale is None and unknown is None
