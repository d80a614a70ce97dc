"""admin/hotline.py: a complaint taken by telephone."""

from __future__ import annotations

import uuid
from typing import Any

from admin import hotline
from models.rating import Channel
from tests.integration.access_matrix.cells import ALL, Cell, Op
from tests.integration.access_matrix.world import Env


def check_options(c: Cell, r: hotline.HotlineOptions) -> None:
    branches = {int(b.value) for b in r.branches}
    assert branches == c.scope, f"branches offered {branches} != scope {c.scope}"
    assert set(r.counters) == {str(b) for b in c.scope}, r.counters
    assert r.branch_id == c.own, r.branch_id


def check_hotline(c: Cell, result: tuple[int, str]) -> None:
    cid, code = result
    [row] = c.added("complaint")
    assert row["id"] == cid and code
    got = (row["branch_id"], row["counter_id"], row["staff_id"], row["channel"])
    assert got == (c.bid, c.env.counter[c.t], c.env.person[c.t], Channel.hotline), got
    audit = [r["actor_staff_id"] for r in c.added("audit_event") if r["action"] == "complaint.hotline"]
    assert audit == [c.caller], audit


def _hotline_form(env: Env, target: str) -> dict[str, Any]:
    return {
        "branch_id": str(env.branch[target]), "category": "2.2.2", "description": "电话投诉：柜员态度差",
        "staff_no": env.person_no[target], "counter_id": str(env.counter[target]), "locale": "zh-CN",
    }  # fmt: skip


HOTLINE_OPS: list[Op] = [
    Op("hotline.options", hotline.options, ALL,
       lambda e, tok, t, p: hotline.options(e.ctx, tok), check_options),
    Op("hotline.record_hotline_complaint", hotline.record_hotline_complaint, ALL,
       lambda e, tok, t, p: hotline.record_hotline_complaint(
           e.ctx, tok, form=_hotline_form(e, t), idempotency_key=f"hotline-{uuid.uuid4()}"),
       check_hotline, scoped=True),
]  # fmt: skip
