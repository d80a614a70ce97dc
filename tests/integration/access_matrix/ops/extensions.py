"""admin/extensions.py: asking for and deciding a complaint's extension."""

from __future__ import annotations

from sqlmodel import select

from admin import extensions as extension_desk
from models.complaint import Complaint
from models.extensions import request_extension
from models.org import Staff
from models.policy import set_policy
from tests.integration.access_matrix.cells import ADMIN, SUPERVISION, Actor, Cell, Op, changed
from tests.integration.access_matrix.common import fresh_complaint
from tests.integration.access_matrix.world import NOW, Env


def extendable_case(env: Env, actor: Actor, target: str | None) -> int:
    """A fresh complaint of the target branch, whose rules allow one 15-day extension."""
    with env.db.write() as s:
        set_policy(s, values={"extension_lengths": [15]}, branch_id=env.branch[target or ""])
    return fresh_complaint(env, actor, target)


def waiting_extension(env: Env, actor: Actor, target: str | None) -> int:
    """An extension of a fresh complaint, asked for by the target branch's supervisor."""
    complaint_id = extendable_case(env, actor, target)
    with env.db.write() as s:
        boss = s.get(Staff, env.staff["boss.a" if target == "A" else "boss.b"])
        assert boss is not None
        asked = request_extension(s, complaint_id=complaint_id, actor=boss, reason="需调取记录核实", now=NOW)
        return asked.id


def check_extension_panel(c: Cell, panel: extension_desk.Panel) -> None:
    assert panel.rows == () and panel.unit == "opening_hours" and panel.decidable is None, panel
    assert not changed(c.before, c.after), changed(c.before, c.after)


def check_ask_extension(c: Cell, row: extension_desk.ExtensionRow) -> None:
    [added] = c.added("complaint_extension")
    got = (added["complaint_id"], added["requested_by"], added["status"])
    assert got == (c.prepared, c.caller, "requested"), got
    assert row.reason == "需要更多时间核实" and row.length == 15
    audit = [(r["action"], r["actor_staff_id"]) for r in c.added("audit_event")]
    assert audit == [("complaint.extension.request", c.caller)], audit


def check_decide_extension(c: Cell, row: extension_desk.ExtensionRow) -> None:
    assert row.status == "approved" and row.due_after is not None, row
    [complaint] = c.read(select(Complaint).where(Complaint.id == row_complaint(c)))
    assert complaint.due_at == row.due_after
    audit = [(r["action"], r["actor_staff_id"]) for r in c.added("audit_event")]
    assert audit == [("complaint.extension.decide", c.caller)], audit


def row_complaint(c: Cell) -> int:
    from models.extension_rows import ComplaintExtension

    ask = select(ComplaintExtension.complaint_id).where(ComplaintExtension.id == c.prepared)
    [complaint_id] = c.read(ask)
    return int(complaint_id)


EXTENSION_OPS = [
    Op("extensions.extensions", extension_desk.extensions, SUPERVISION,
       lambda e, tok, t, p: extension_desk.extensions(e.ctx, tok, p), check_extension_panel,
       scoped=True, prepare=fresh_complaint),
    Op("extensions.ask", extension_desk.ask, SUPERVISION,
       lambda e, tok, t, p: extension_desk.ask(e.ctx, tok, p, "需要更多时间核实"), check_ask_extension,
       scoped=True, prepare=extendable_case),
    Op("extensions.decide", extension_desk.decide, ADMIN,
       lambda e, tok, t, p: extension_desk.decide(e.ctx, tok, p, True), check_decide_extension,
       scoped=True, prepare=waiting_extension),
]  # fmt: skip
