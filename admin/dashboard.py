"""The supervisor dashboard's door to the model. Every call re-checks the sign-in, then fixes the
scope: a supervisor sees their own branch, an administrator every branch, a staff member nothing
(:class:`Forbidden`). The figures themselves come from :mod:`models.reports`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from admin import access
from admin.labels import Clause
from models import reports
from models.bilingual import pick
from models.catalog import ConductClause
from models.indicators import Indicators, indicators_of_branches, total
from models.org import Branch
from models.participation import (
    Participation,
    ServiceFigures,
    participation_of_branches,
    per_service_of_branches,
)
from models.participation import total as participation_total
from models.scores import local_month
from rapport.core.context import AppContext

ClauseLabel = Clause  # the name this module's data used before admin/labels.py


@dataclass(frozen=True)
class DashboardData:
    now: datetime
    # None: every branch (an administrator); otherwise the one branch of a supervisor.
    branch_zh: str | None
    branch_en: str | None
    summary: reports.Summary
    trend: tuple[reports.TrendPoint, ...]
    distribution: reports.Distribution
    complaints: reports.ComplaintsBySla
    heat: reports.ClauseHeatMap
    clauses: dict[str, ClauseLabel]
    # The 差评 indicators of this month (models/indicators.py), in all and per branch (zh, en, figures).
    cases: Indicators = Indicators()
    case_branches: tuple[tuple[str, str, Indicators], ...] = ()
    # The month's default ratings per counter (counted, not counted; models/default_rating.py).
    counter_defaults: dict[int | None, tuple[int, int]] = field(default_factory=dict)
    # The month's transactions (办件): 参评率 in all and per branch, and the figures per 事项
    # (models/participation.py); empty when the scope had no transaction this month.
    participation: Participation = Participation()
    participation_branches: tuple[tuple[str, str, Participation], ...] = ()
    services: tuple[ServiceFigures, ...] = ()

    def branch_name(self, locale: str) -> str | None:
        return pick(locale, self.branch_zh, self.branch_en)

    def clause(self, code: str, locale: str) -> str:
        label = self.clauses.get(code)
        return label.short(locale) if label else code


# The figures of every branch for an administrator, of their own for a supervisor; staff, and a
# supervisor without a branch, are refused with the same words.
REFUSED = "the dashboard is for supervisors and administrators"
GATE = access.Gate(access.SUPERVISION, refused=REFUSED, branch_needed=REFUSED)


def dashboard(ctx: AppContext, token: str) -> DashboardData:
    """Every figure of the dashboard for the signed-in supervisor or administrator.

    1. The sign-in is re-checked in a short write session of its own (admin/access.py: it may end
       an idle session or move ``last_seen_at`` on); an ended one raises ``auth.SessionExpired``.
    2. The figures are read in a separate read session, so a dashboard on SQLite never holds the
       write lock that rating intake needs.
    """
    now = ctx.clock()
    branch_ids = GATE.caller(ctx, token).branch_ids
    with ctx.db.read() as session:
        return _gather(session, branch_ids, now)


def _gather(session: Session, branch_ids: list[int] | None, now: datetime) -> DashboardData:
    branch = session.get(Branch, branch_ids[0]) if branch_ids is not None else None
    heat = reports.clause_heat(session, branch_ids=branch_ids, now=now)
    codes = [h.code for h in heat.clauses]
    clauses = {
        c.code: Clause.of(c)
        for c in session.exec(select(ConductClause).where(col(ConductClause.code).in_(codes))).all()
    }
    scope = session.exec(
        select(Branch).where(col(Branch.id).in_(branch_ids)) if branch_ids is not None else select(Branch)
    ).all()
    per_branch, everything = [], Indicators()
    counter_defaults: dict[int | None, tuple[int, int]] = {}
    taken, taken_branches = Participation(), []
    months = {b.id: local_month(now, b.timezone) for b in scope if b.id is not None}
    # Every branch's figures in a few queries (one per time zone), not a few per branch.
    cases_of = indicators_of_branches(session, scope, local_months=months, level="counter")
    taken_of = participation_of_branches(session, scope, local_months=months)
    for b in sorted(scope, key=lambda b: b.code):
        assert b.id is not None
        by_counter = cases_of[b.id]
        for counter_id, one in by_counter.items():
            if one.defaults or one.defaults_uncounted:
                counter_defaults[counter_id] = (one.defaults, one.defaults_uncounted)
        figures = total(by_counter)
        per_branch.append((b.name_zh, b.name_en, figures))
        everything = everything.plus(figures)
        mine = participation_total(taken_of[b.id])
        if mine.transactions:
            taken_branches.append((b.name_zh, b.name_en, mine))
            taken = taken.plus(mine)
    return DashboardData(
        cases=everything,
        case_branches=tuple(per_branch),
        counter_defaults=counter_defaults,
        participation=taken,
        participation_branches=tuple(taken_branches),
        services=tuple(per_service_of_branches(session, scope, local_months=months)),
        now=now,
        branch_zh=branch.name_zh if branch else None,
        branch_en=branch.name_en if branch else None,
        summary=reports.summary(session, branch_ids=branch_ids, now=now),
        trend=reports.trend(session, branch_ids=branch_ids, now=now),
        distribution=reports.distribution(session, branch_ids=branch_ids, now=now),
        complaints=reports.complaints_by_sla(session, branch_ids=branch_ids, now=now),
        heat=heat,
        clauses=clauses,
    )
