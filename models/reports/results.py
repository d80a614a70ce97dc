"""What the dashboard's figures look like: frozen results (counts, sums and low scores per branch and
counter, the daily trend, the score distribution, open complaints by SLA state, the clause heat map)
and the score constants they share.

Apart from the queries (:mod:`models.reports.ratings`, :mod:`models.reports.open_complaints`,
:mod:`models.reports.clauses`) so the screens that draw a figure can name its type without the SQL
behind it, and each query module imports its results from here rather than through the package.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from models import rollup

LOW_SCORE = rollup.LOW_SCORE
SCORES = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class Stats:
    """Counted ratings in a period: how many, the sum of their scores, how many were low."""

    count: int = 0
    total: int = 0
    low: int = 0

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None

    @property
    def low_share(self) -> float | None:
        """Between 0 and 1; None without ratings."""
        return self.low / self.count if self.count else None

    def __add__(self, other: Stats) -> Stats:
        return Stats(self.count + other.count, self.total + other.total, self.low + other.low)


@dataclass(frozen=True)
class CounterSummary:
    """One counter of a branch; ``counter_id`` None holds ratings given at no counter (QR, hotline)."""

    counter_id: int | None
    branch_id: int
    code: str | None
    name_zh: str | None
    name_en: str | None
    today: Stats
    month: Stats


@dataclass(frozen=True)
class BranchSummary:
    branch_id: int
    code: str
    name_zh: str
    name_en: str
    timezone: str
    today: Stats
    month: Stats
    counters: tuple[CounterSummary, ...]


@dataclass(frozen=True)
class Summary:
    today: Stats
    month: Stats
    branches: tuple[BranchSummary, ...]


@dataclass(frozen=True)
class TrendPoint:
    day: date
    count: int
    total: int

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None


@dataclass(frozen=True)
class Distribution:
    """Counted ratings of this month per score: ``counts[0]`` is score 1, ``counts[4]`` score 5."""

    counts: tuple[int, int, int, int, int]

    @property
    def total(self) -> int:
        return sum(self.counts)

    def count(self, score: int) -> int:
        return self.counts[score - 1]


class SlaState(StrEnum):
    on_time = "on_time"
    due_soon = "due_soon"  # due within DUE_SOON
    overdue = "overdue"


@dataclass(frozen=True)
class SlaRow:
    severity: str
    on_time: int = 0
    due_soon: int = 0
    overdue: int = 0

    @property
    def total(self) -> int:
        return self.on_time + self.due_soon + self.overdue


@dataclass(frozen=True)
class ComplaintsBySla:
    """Open complaints (new, acknowledged, investigating), one row per severity, high first."""

    rows: tuple[SlaRow, ...]

    def state_total(self, state: SlaState) -> int:
        return sum(getattr(r, state.value) for r in self.rows)

    @property
    def total(self) -> int:
        return sum(r.total for r in self.rows)


@dataclass(frozen=True)
class ClauseHeat:
    code: str
    ratings: int = 0
    complaints: int = 0
    inspections: int = 0

    @property
    def total(self) -> int:
        return self.ratings + self.complaints + self.inspections


@dataclass(frozen=True)
class ClauseHeatMap:
    """Clauses cited this month, most cited first. ``inspections_available`` is False while the
    database has no inspection tables."""

    clauses: tuple[ClauseHeat, ...]
    inspections_available: bool
