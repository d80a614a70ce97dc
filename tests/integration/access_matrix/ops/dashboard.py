"""admin/dashboard.py: the dashboard."""

from __future__ import annotations

from sqlmodel import col, func, select

from admin import dashboard
from models.complaint import Complaint
from models.org import Role
from models.rating import Rating
from tests.integration.access_matrix.cells import SUPERVISION, Cell, Op


def check_dashboard(c: Cell, d: dashboard.DashboardData) -> None:
    assert {b.branch_id for b in d.summary.branches} == c.scope, d.summary.branches
    counted = c.read(
        select(func.count())
        .select_from(Rating)
        .where(col(Rating.counted), col(Rating.branch_id).in_(c.scope))
    )[0]
    assert d.summary.month.count == counted, (d.summary.month, counted)
    open_complaints = c.read(
        select(func.count()).select_from(Complaint).where(col(Complaint.branch_id).in_(c.scope))
    )[0]
    assert d.complaints.total == open_complaints, (d.complaints, open_complaints)
    cited = set().union(*(c.env.clauses[k] for k, b in c.env.branch.items() if b in c.scope))
    assert {h.code for h in d.heat.clauses} == cited, d.heat.clauses
    want_name = None if c.actor.role is Role.admin else c.env.branch_en[c.actor.branch or ""]
    assert d.branch_en == want_name, d.branch_en


DASHBOARD_OPS: list[Op] = [
    Op("dashboard.dashboard", dashboard.dashboard, SUPERVISION,
       lambda e, tok, t, p: dashboard.dashboard(e.ctx, tok), check_dashboard),
]  # fmt: skip
