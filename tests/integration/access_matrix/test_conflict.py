"""回避: the cells of a complaint about the caller (docs/RULES-CITED.md §2)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from admin import backend
from admin import extensions as extension_desk
from models.complaint import Complaint
from models.errors import ConflictOfInterest
from models.policy import set_policy
from tests.integration.access_matrix.cells import added, changed, snapshot
from tests.integration.access_matrix.world import Env, _file, set_active, sign_in


def acting(action: str, **fields: str) -> Callable[[Env, str, int], Any]:
    """A complaint action; ``{login}`` in it names that person's id (assign:{root})."""
    return lambda e, tok, cid: backend.act(e.ctx, tok, cid, action.format(**e.staff), **fields)


CONFLICT_CELLS: dict[str, Callable[[Env, str, int], Any]] = {
    "backend.act acknowledged": acting("acknowledged", note="已受理"),
    "backend.act rejected": acting("rejected", note="重复投诉"),
    "backend.act assign_me": acting("assign_me"),
    "backend.act assign (to the administrator)": acting("assign:{root}"),
    "backend.reveal": lambda e, tok, cid: backend.reveal(e.ctx, tok, cid),
    "extensions.ask": lambda e, tok, cid: extension_desk.ask(e.ctx, tok, cid, "需要更多时间核实"),
}


def complaint_about(env: Env, login: str) -> int:
    """A fresh complaint at branch A naming ``login``, whose rules allow an extension."""
    with env.db.write() as s:
        set_policy(s, values={"extension_lengths": [15]}, branch_id=env.branch["A"])
        return _file(
            s, f"conflict-{uuid.uuid4()}", branch_id=env.branch["A"], counter_id=env.counter["A"],
            staff_id=env.staff[login], category="2.2.2", contact=env.contact["A"], ctx=env.ctx,
        )  # fmt: skip


@pytest.mark.parametrize("cell", list(CONFLICT_CELLS))
def test_a_supervisor_named_in_a_complaint_is_refused_and_a_colleague_is_not(env: Env, cell: str) -> None:
    """boss.a is named: refused with ConflictOfInterest, nothing written; ghost.a, another supervisor
    of branch A, takes the same step."""
    cid = complaint_about(env, "boss.a")
    call = CONFLICT_CELLS[cell]
    named, colleague = sign_in(env, "boss.a"), sign_in(env, "ghost.a")
    assert backend.detail(env.ctx, named, cid).conflicted, "the named supervisor may still read it"
    before = snapshot(env.db)
    with pytest.raises(ConflictOfInterest):
        call(env, named, cid)
    assert not changed(before, snapshot(env.db))
    call(env, colleague, cid)
    after = snapshot(env.db)
    assert {r["actor_staff_id"] for r in added(before, after, "audit_event")} == {env.staff["ghost.a"]}


def test_the_person_named_is_not_given_the_complaint_and_the_administrator_takes_it_alone(env: Env) -> None:
    cid = complaint_about(env, "boss.a")
    colleague, root = sign_in(env, "ghost.a"), sign_in(env, "root")
    before = snapshot(env.db)
    for token in (colleague, root):
        with pytest.raises(ConflictOfInterest):
            backend.act(env.ctx, token, cid, f"assign:{env.staff['boss.a']}")
    assert not changed(before, snapshot(env.db))
    # The other supervisors of branch A leave: boss.a is its only one, so an administrator handles it.
    for login in ("gone.a", "left.a", "ghost.a"):
        set_active(env, login, False)
    shown = backend.detail(env.ctx, root, cid)
    assert shown.to_admin and [h.id for h in shown.handlers] == [env.staff["root"]], shown.handlers
    backend.act(env.ctx, root, cid, "assign_me")
    backend.act(env.ctx, root, cid, "acknowledged", note="已受理")
    with env.db.read() as s:
        row = s.get(Complaint, cid)
        assert row is not None and (row.status, row.assignee_id) == ("acknowledged", env.staff["root"])
