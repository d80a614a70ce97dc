"""参评率 (participation) and the figures per 事项, from the transactions (办件) of a branch's month
(issue 18; definitions in docs/INDICATORS.md).

A figure here is about **transactions**: those finished in the branch's local month (the branch's
time zone, as in models/indicators.py), each with the one rating it got (``rating_id``, claimed by
the first counted rating or by the default, models/services.py). So a transaction finished on
31 October and rated on 1 November counts in October here, while the rating itself counts in
November's rating figures (models/indicators.py). Kept apart from models/indicators.py because
those count ratings and cases by the month they were given; these count transactions by the month
they finished, and one query over ``service_transaction`` answers every level at once.

- ``transactions``: finished in the month.
- ``rated``: of those, rated by the customer: its rating is counted and is not a default. A tap
  flagged ``already_rated`` is not the transaction's rating; an overturned one is no longer counted.
- 参评率 = ``rated`` ÷ ``transactions``.
- ``defaulted``: given the default rating (counted or not, models/default_rating.py), never in
  ``rated``; ``defaults_counted``: of those, counted by the policy.
- ``ratings``, ``score_sum``, ``good``: the counted ratings of the transactions (the customers' and
  the counted defaults), for the average and the 好评率 per 事项.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any, Literal

from sqlalchemy import case as when
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select

from models.errors import ValidationFailed
from models.indicators import month_scopes
from models.org import Branch
from models.rating import Rating
from models.scores import Month
from models.services import ServiceItem, ServiceTransaction

Level = Literal["branch", "counter", "staff", "service"]


@dataclass(frozen=True)
class Participation:
    transactions: int = 0
    rated: int = 0  # by a customer: counted, not a default
    defaulted: int = 0  # given the default rating, counted or not
    defaults_counted: int = 0
    ratings: int = 0  # counted ratings (the customers' and counted defaults)
    score_sum: int = 0
    good: int = 0  # counted ratings of 4 or 5

    def plus(self, other: Participation) -> Participation:
        return Participation(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    @property
    def rate(self) -> float | None:
        """参评率."""
        return self.rated / self.transactions if self.transactions else None

    @property
    def mean(self) -> float | None:
        return self.score_sum / self.ratings if self.ratings else None

    @property
    def good_rate(self) -> float | None:
        return self.good / self.ratings if self.ratings else None


def _flag(condition: Any) -> Any:
    return func.sum(when((condition, 1), else_=0))


def participation(
    session: Session, *, branch_id: int, month: Month, level: Level = "branch"
) -> dict[int | None, Participation]:
    """The month's figures of a branch's transactions, keyed by branch, counter, staff or service
    id (None: transactions with nobody named as having served them, at level "staff")."""
    branch = session.get(Branch, branch_id)
    if branch is None:
        raise ValidationFailed("branch", "no such branch")
    return participation_of_branches(session, [branch], local_months={branch_id: month}, level=level)[
        branch_id
    ]


def participation_of_branches(
    session: Session, branches: Sequence[Branch], *, local_months: dict[int, Month], level: Level = "branch"
) -> dict[int, dict[int | None, Participation]]:
    """:func:`participation` of several branches, each for its month (``local_months`` by branch
    id), in one query per distinct month bounds (models/indicators.py ``month_scopes``)."""
    tx, rating = ServiceTransaction, Rating
    counted = col(rating.counted).is_(True)
    default = col(tx.defaulted).is_(True)
    out: dict[int, dict[int | None, Participation]] = {}
    for (start, end), ids in month_scopes(branches, local_months).items():
        for branch_id in ids:
            out[branch_id] = defaultdict(Participation)
        rows = session.execute(
            sa_select(
                col(tx.branch_id), col(tx.service_item_id), col(tx.counter_id), col(tx.staff_id),
                func.count(), _flag(counted & ~default), _flag(default), _flag(counted & default),
                _flag(counted), func.sum(when((counted, col(rating.score)), else_=0)),
                _flag(counted & (col(rating.score) >= 4)),
            )
            .select_from(tx)
            .outerjoin(rating, col(rating.id) == col(tx.rating_id))
            .where(col(tx.branch_id).in_(ids), col(tx.finished_at) >= start, col(tx.finished_at) < end)
            .group_by(col(tx.branch_id), col(tx.service_item_id), col(tx.counter_id), col(tx.staff_id))
        ).all()  # fmt: skip
        for branch_id, service_id, counter_id, staff_id, *counts in rows:
            keys = {"branch": branch_id, "counter": counter_id, "staff": staff_id, "service": service_id}
            key = keys[level]
            mine = out[branch_id]
            mine[key] = mine[key].plus(Participation(*(int(n or 0) for n in counts)))
    return {branch_id: dict(figures) for branch_id, figures in out.items()}


def total(figures: dict[int | None, Participation]) -> Participation:
    result = Participation()
    for one in figures.values():
        result = result.plus(one)
    return result


@dataclass(frozen=True)
class ServiceFigures:
    """One 事项's line of the dashboard and the monthly report."""

    service_id: int
    code: str
    name_zh: str
    name_en: str
    figures: Participation

    def name(self, locale: str) -> str:
        return self.name_en if locale != "zh-CN" and self.name_en else self.name_zh


def per_service(session: Session, *, branch_id: int, month: Month) -> list[ServiceFigures]:
    """The month's figures of each 事项 the branch had a transaction of, by code."""
    return _service_lines(session, participation(session, branch_id=branch_id, month=month, level="service"))


def per_service_of_branches(
    session: Session, branches: Sequence[Branch], *, local_months: dict[int, Month]
) -> list[ServiceFigures]:
    """The figures of each 事项 summed over several branches, each for its month (an administrator's
    dashboard), by code."""
    by_branch = participation_of_branches(session, branches, local_months=local_months, level="service")
    summed: dict[int | None, Participation] = defaultdict(Participation)
    for figures in by_branch.values():
        for service_id, one in figures.items():
            summed[service_id] = summed[service_id].plus(one)
    return _service_lines(session, dict(summed))


def _service_lines(session: Session, figures: dict[int | None, Participation]) -> list[ServiceFigures]:
    if not figures:
        return []
    items = session.exec(select(ServiceItem).where(col(ServiceItem.id).in_(list(figures)))).all()
    lines = [
        ServiceFigures(i.id, i.code, i.name_zh, i.name_en, figures[i.id]) for i in items if i.id is not None
    ]
    return sorted(lines, key=lambda line: line.code)


__all__ = [
    "Level",
    "Participation",
    "ServiceFigures",
    "participation",
    "participation_of_branches",
    "per_service",
    "per_service_of_branches",
    "total",
]
