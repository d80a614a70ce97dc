"""What the operation tables share: call builders, a fresh complaint, and checks used by several."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlmodel import col, select

from models.policy import Policy
from tests.integration.access_matrix.cells import Actor, Cell
from tests.integration.access_matrix.world import COLLEAGUE_CONTACT, PHONE_KEY, TYPED, Env, _file


def fresh_complaint(env: Env, _actor: Actor, target: str | None) -> int:
    assert target is not None
    with env.db.write() as s:
        return _file(
            s, f"fresh-{uuid.uuid4()}", branch_id=env.branch[target], counter_id=env.counter[target],
            staff_id=env.person[target], category="2.2.2", contact=env.contact[target], ctx=env.ctx,
        )  # fmt: skip


def on_branch(fn: Callable[..., Any], **kw: Any) -> Callable[[Env, str, str | None, Any], Any]:
    """A call about the target branch."""
    return lambda e, tok, t, p: fn(e.ctx, tok, branch_id=e.branch[t or ""], **kw)


def on_person(fn: Callable[..., Any], **kw: Any) -> Callable[[Env, str, str | None, Any], Any]:
    """A call about the target branch's counter staff member (E1 alice at A, E9 at B)."""
    return lambda e, tok, t, p: fn(e.ctx, tok, staff_id=e.person[t or ""], **kw)


def on_prepared(fn: Callable[..., Any], *args: Any, **kw: Any) -> Callable[[Env, str, str | None, Any], Any]:
    """A call about what ``prepare`` made fresh for this cell (an entry, an appeal, a rating)."""
    return lambda e, tok, t, p: fn(e.ctx, tok, p, *args, **kw)


def plain(fn: Callable[..., Any], **kw: Any) -> Callable[[Env, str, str | None, Any], Any]:
    return lambda e, tok, t, p: fn(e.ctx, tok, **kw)


def _ids(c: Cell, column: Any, *where: Any) -> set[Any]:
    return set(c.read(select(column).where(*where)))


def _no_customer_data(c: Cell, result: Any, *, typed: bool = True) -> None:
    """No complaint's contact and no phone's key; with ``typed``, not even contact data a customer
    typed into a comment or a description (every page and export masks those; only the contact
    field, behind the audited reveal, holds a customer's number)."""
    shown = repr(result)
    secrets = [*c.env.contact.values(), COLLEAGUE_CONTACT, PHONE_KEY, *(TYPED if typed else ())]
    leaked = [text for text in secrets if text in shown]
    assert not leaked, f"customer contact data in the result: {leaked}"


def _only_rows(c: Cell, table: str, key: str, values: set[Any]) -> None:
    """The call added, changed or removed only rows of ``table`` whose ``key`` is in ``values``."""
    touched = {r[key] for r in c.removed(table)} | {r[key] for r in c.added(table)}
    assert touched <= values, f"{table} rows {sorted(map(str, touched))} changed, only {values} may"


def _policy_of(c: Cell, branch_id: int | None) -> dict[str, Any]:
    where = col(Policy.branch_id).is_(None) if branch_id is None else col(Policy.branch_id) == branch_id
    rows = c.read(select(Policy).where(where))
    return dict(rows[0].values) if rows else {}
