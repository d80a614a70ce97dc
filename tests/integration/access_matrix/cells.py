"""The matrix's rows (actors), its columns' shape (``Op``), and one cell: call, compare, check."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlmodel import SQLModel

from admin import backend
from models import auth
from models.auth import IDLE_TIMEOUT, SessionExpired
from models.crypto import new_token
from models.errors import Forbidden
from models.org import Role
from tests.integration.access_matrix.world import BOOKKEEPING, NOW, Env, set_active, sign_in

# --- actors (rows) -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    name: str
    token: Callable[[Env], str]
    role: Role | None = None  # None: no valid sign-in
    branch: str | None = None  # "A" / "B" for staff and supervisors
    login: str | None = None


def _idle(env: Env) -> str:
    return sign_in(env, "ghost.a", at=NOW - IDLE_TIMEOUT - timedelta(minutes=1))


def _signed_out(env: Env) -> str:
    token = sign_in(env, "ghost.a")
    backend.sign_out(env.ctx, token)
    return token


def _disabled(env: Env) -> str:
    set_active(env, "gone.a", True)
    token = sign_in(env, "gone.a")
    with env.db.write() as s:
        auth.disable_account(s, staff_id=env.staff["gone.a"], actor_staff_id=env.staff["root"], now=NOW)
    return token


def _deactivated(env: Env) -> str:
    """Set inactive behind the sessions' back: the session row is still open."""
    set_active(env, "left.a", True)
    token = sign_in(env, "left.a")
    set_active(env, "left.a", False)
    return token


def _person(login: str) -> Callable[[Env], str]:
    return lambda env: sign_in(env, login)


ACTORS = [
    Actor("no token", lambda env: ""),
    Actor("made-up token", lambda env: new_token(32)),
    Actor("kiosk device token", lambda env: env.device_a),
    Actor("idle session", _idle),
    Actor("signed-out session", _signed_out),
    Actor("disabled account", _disabled),
    Actor("deactivated account", _deactivated),
    Actor("staff A", _person("alice"), Role.staff, "A", "alice"),
    Actor("supervisor A", _person("boss.a"), Role.supervisor, "A", "boss.a"),
    Actor("supervisor B", _person("boss.b"), Role.supervisor, "B", "boss.b"),
    Actor("admin", _person("root"), Role.admin, None, "root"),
]


# --- services (columns) --------------------------------------------------------------------------

Snapshot = dict[str, dict[str, Any]]  # table -> repr of a row -> the row


def snapshot(db) -> Snapshot:
    with db.read() as s:
        return {
            t.name: {repr(tuple(row)): row._mapping for row in s.execute(t.select()).all()}
            for t in SQLModel.metadata.sorted_tables
            if t.name not in BOOKKEEPING
        }


def changed(before: Snapshot, after: Snapshot) -> set[str]:
    return {name for name in before if before[name].keys() != after[name].keys()}


def added(before: Snapshot, after: Snapshot, table: str) -> list[Any]:
    return [row for text, row in after[table].items() if text not in before[table]]


def removed(before: Snapshot, after: Snapshot, table: str) -> list[Any]:
    return added(after, before, table)


@dataclass
class Cell:
    env: Env
    actor: Actor
    target: str | None
    token: str
    prepared: Any
    before: Snapshot
    after: Snapshot

    @property
    def caller(self) -> int:
        assert self.actor.login is not None
        return self.env.staff[self.actor.login]

    @property
    def scope(self) -> set[int]:
        """The branches the caller may see."""
        if self.actor.role is Role.admin:
            return set(self.env.branch.values())
        assert self.actor.branch is not None
        return {self.env.branch[self.actor.branch]}

    @property
    def own(self) -> int | None:
        return self.env.branch[self.actor.branch] if self.actor.branch else None

    @property
    def t(self) -> str:
        assert self.target is not None
        return self.target

    @property
    def bid(self) -> int:
        return self.env.branch[self.t]

    def read(self, stmt: Any) -> list[Any]:
        with self.env.db.read() as s:
            return list(s.exec(stmt).all())

    def added(self, table: str) -> list[Any]:
        return added(self.before, self.after, table)

    def removed(self, table: str) -> list[Any]:
        return removed(self.before, self.after, table)


ALL = frozenset(Role)
SUPERVISION = frozenset({Role.supervisor, Role.admin})
ADMIN = frozenset({Role.admin})


@dataclass(frozen=True)
class Op:
    name: str
    fn: Callable[..., Any]
    roles: frozenset[Role]
    call: Callable[[Env, str, str | None, Any], Any]
    check: Callable[[Cell, Any], None]
    scoped: bool = False  # names a branch's complaint, alert or person: called for A and for B
    prepare: Callable[[Env, Actor, str | None], Any] | None = None
    dead_token_is_a_no_op: bool = False  # sign_out: idempotent for an unknown or ended token
    # Out of scope, the call does nothing and raises nothing (instead of Forbidden); still checked
    # to change nothing.
    quiet_refusal: bool = False
    # What a caller of an allowed role gets for another branch's data (or, on a staff member's own
    # page, someone else's): Forbidden, or NotFound where the service answers it like a missing id.
    out_of_scope: type[Exception] = Forbidden
    targets: tuple[str | None, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "targets", ("A", "B") if self.scoped else (None,))


STAFF = frozenset({Role.staff})


def expected(op: Op, actor: Actor, target: str | None) -> type[Exception] | None:
    """None: allowed. Otherwise the exception the call must be refused with."""
    if actor.role is None:
        return None if op.dead_token_is_a_no_op else SessionExpired
    if actor.role not in op.roles:
        return Forbidden
    if op.scoped and actor.role is not Role.admin and actor.branch != target:
        return op.out_of_scope
    return None


def run_cell(env: Env, op: Op, actor: Actor, target: str | None) -> str | None:
    """One cell of the matrix; returns what went wrong, or None."""
    label = f"{op.name} | {actor.name} | {'branch ' + target if target else '-'}"
    want = expected(op, actor, target)
    token = actor.token(env)
    prepared = op.prepare(env, actor, target) if op.prepare else None
    before = snapshot(env.db)
    got: Exception | None = None
    result: Any = None
    try:
        result = op.call(env, token, target, prepared)
    except Exception as exc:  # every outcome is compared below, whatever it raised
        got = exc
    after = snapshot(env.db)
    if want is None:
        if got is not None:
            return f"{label}: should be allowed, raised {type(got).__name__}: {got}"
        try:
            op.check(Cell(env, actor, target, token, prepared, before, after), result)
        except AssertionError as exc:
            return f"{label}: allowed, but {exc or 'the result is wrong'}"
        return None
    problems = []
    if got is None and not (op.quiet_refusal and want is Forbidden):
        problems.append(f"should be refused with {want.__name__}, was allowed and returned {result!r:.300}")
    elif got is not None and not isinstance(got, want):
        problems.append(f"should be refused with {want.__name__}, raised {type(got).__name__}: {got}")
    if touched := changed(before, after):
        problems.append(f"a refused call changed {sorted(touched)}")
    return f"{label}: {'; '.join(problems)}" if problems else None
