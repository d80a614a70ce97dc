"""The demo's services (事项) and transactions (办件): most of the last weeks' ratings are of a
transaction and claim it, some transactions were never rated, and the same seed gives the same
services and the same share of rated transactions."""

from __future__ import annotations

from sqlmodel import col, select

from models.participation import participation, total
from models.rating import Rating
from models.scores import local_month
from models.services import ServiceItem, ServiceTransaction
from rapport.usecases.demo import create_demo
from tests.conftest import clock_pinned


def test_the_demo_reports_transactions_most_of_them_rated(db):
    with clock_pinned() as now, db.write() as s:
        create_demo(s, days=10, evaluate=False)
    with db.read() as s:
        items = s.exec(select(ServiceItem.code, ServiceItem.name_zh).order_by(col(ServiceItem.code))).all()
        txs = s.exec(select(ServiceTransaction)).all()
        bound = {r.id: r for r in s.exec(select(Rating).where(col(Rating.transaction_id).is_not(None))).all()}
        branch_ids = sorted({t.branch_id for t in txs})
        month = local_month(now, "Asia/Shanghai")
        figures = total({b: total(participation(s, branch_id=b, month=month)) for b in branch_ids})
    assert ("YH-GR-001", "个人账户开户") in items and len(items) == 7
    rated = [t for t in txs if t.rating_id is not None]
    assert 0.5 < len(rated) / len(txs) < 0.95, (len(rated), len(txs))
    # Each rated transaction's rating is bound to it, of whoever served it at that counter, after it.
    for t in rated:
        r = bound[t.rating_id]
        assert (r.transaction_id, r.counter_id, r.staff_id) == (t.id, t.counter_id, t.staff_id)
        assert t.finished_at < r.created_at and not t.defaulted
    assert len(bound) == len(rated), "no rating is bound to a transaction it did not claim"
    assert len({t.number for t in txs}) == len({t.invitation_code for t in txs}) == len(txs)
    assert figures.transactions and figures.rate is not None and 0 < figures.rate < 1
