"""admin/hotline.py: a complaint taken by telephone, and the month's 12345 work orders."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

from sqlmodel import col, select

from admin import hotline
from models.complaint import Complaint, ComplaintCreate, file_complaint
from models.complaint.work_order import WorkOrderMonth
from models.rating import Channel
from tests.integration.access_matrix.cells import ALL, SUPERVISION, Actor, Cell, Op
from tests.integration.access_matrix.common import _no_customer_data, on_branch
from tests.integration.access_matrix.world import NOW, Env


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


def fresh_work_order(env: Env, _actor: Actor, target: str | None) -> str:
    """A work order entered at the target branch this month; its number."""
    assert target is not None
    number = f"WO-{uuid.uuid4().hex[:12].upper()}"
    data = ComplaintCreate(category="2.2.2", description="12345 转来：等候太久")
    with env.db.write() as s:
        file_complaint(
            s, idempotency_key=f"wo-{number}", data=data, channel=Channel.hotline,
            branch_id=env.branch[target], now=NOW, code_secret=env.ctx.secret_key, work_order_no=number,
        )  # fmt: skip
    return number


def _orders_of(c: Cell) -> set[str]:
    """Every work order of the target branch (all entered this month)."""
    number = col(Complaint.work_order_no)
    rows = c.read(select(number).where(Complaint.branch_id == c.bid, number.is_not(None)))
    assert c.prepared in rows, rows
    return set(rows)


def check_work_orders(c: Cell, r: WorkOrderMonth) -> None:
    assert {o.work_order_no for o in r.orders} == _orders_of(c), r.orders
    assert {o.branch_id for o in r.orders} == {c.bid}, r.orders
    assert r.responded.of == len(r.orders) and all(o.tracking_code for o in r.orders)
    _no_customer_data(c, r)
    assert not c.added("audit_event"), "looking is not a download"


def check_work_orders_export(c: Cell, d: hotline.WorkOrderDownload) -> None:
    assert d.file_name == f"rapport-work-orders-{c.t}-{NOV}.csv", d.file_name
    text = d.data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))[1:]
    assert {r[0] for r in rows} == _orders_of(c) and {r[2] for r in rows} == {c.t}, rows
    _no_customer_data(c, text)
    audit = [
        (r["actor_staff_id"], str(r["entity_id"]), r["details"]["document"])
        for r in c.added("audit_event")
        if r["action"] == "document.download"
    ]
    assert audit == [(c.caller, str(c.bid), "work_orders")], audit


NOV = "2026-11"


HOTLINE_OPS: list[Op] = [
    Op("hotline.options", hotline.options, ALL,
       lambda e, tok, t, p: hotline.options(e.ctx, tok), check_options),
    Op("hotline.record_hotline_complaint", hotline.record_hotline_complaint, ALL,
       lambda e, tok, t, p: hotline.record_hotline_complaint(
           e.ctx, tok, form=_hotline_form(e, t), idempotency_key=f"hotline-{uuid.uuid4()}"),
       check_hotline, scoped=True),
    Op("hotline.work_orders", hotline.work_orders, SUPERVISION,
       on_branch(hotline.work_orders, month=NOV), check_work_orders, scoped=True, prepare=fresh_work_order),
    Op("hotline.work_orders_export", hotline.work_orders_export, SUPERVISION,
       on_branch(hotline.work_orders_export, month=NOV, locale="zh-CN"), check_work_orders_export,
       scoped=True, prepare=fresh_work_order),
]  # fmt: skip
