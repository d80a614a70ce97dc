"""Dashboard figures: ratings by branch and counter, the daily trend, the score distribution, open
complaints by SLA state, and the clauses cited most. Pure reads over a Session, a scope
(``branch_ids``; None for every branch) and ``now`` (aware UTC); results are frozen dataclasses.

Rules shared by every figure:
* Only counted ratings (``counted`` true): flagged presses are kept but never shown in a score.
* "Today" and "this month" are the branch's local calendar day and month (``Branch.timezone``).
  Branches are grouped by time zone and each group is queried with its own UTC boundaries, so a
  chain spanning time zones is right per branch. The trend merges groups by local date.
* A period ends with the local day that holds ``now`` (its midnight, not ``now`` itself), so a
  server whose clock runs a little behind the kiosks' still shows the newest ratings.
* A "low" score is ``LOW_SCORE`` (2) or less.

Speed (docs/QUALITY.md: every dashboard query p95 < 100 ms on 2,000,000 ratings): every rating query
filters on ``branch_id IN (...)`` and a ``created_at`` range, so it walks ix_rating_branch_created
even for "all branches" (there is no index on created_at alone), and aggregates in SQL. Day
boundaries are computed here in Python (zoneinfo), so the same SQL runs on SQLite and PostgreSQL and
days with a daylight-saving change are right. The month-wide figures (summary, trend, distribution,
clause heat map) take closed days from the roll-up (models/rollup.py) and count from the ratings
only today and any day the roll-up does not hold, so they cost about the same at 10,000,000
ratings as at 2,000,000 (docs/PERFORMANCE.md) and are the same whether or not its job has run.

The package is split along its seams (issue 17), each module importing the ones below it directly and
never through this package, so there is no import cycle:

- :mod:`models.reports.results`: the frozen results and the score constants;
- :mod:`models.reports.periods`: local periods per time zone and the shared rating filters;
- :mod:`models.reports.ratings`: the summary, the daily trend and the score distribution;
- :mod:`models.reports.open_complaints`: open complaints by SLA state;
- :mod:`models.reports.clauses`: the clause heat map (ratings' reasons, complaints, inspections).

Everything is re-exported here: ``from models.reports import X`` and ``reports.X`` work as before.
"""

# Re-exported as before the split (benchmarks/bench_dashboard.py counts ratings with reports.func).
from sqlalchemy import func

from models.rating import Rating
from models.reports.clauses import INSPECTION, INSPECTION_FINDING, clause_heat
from models.reports.open_complaints import DUE_SOON, OPEN_STATUSES, SEVERITY_ORDER, complaints_by_sla
from models.reports.periods import Zone, zones
from models.reports.ratings import DEFAULT_TZ, distribution, summary, trend
from models.reports.results import (
    LOW_SCORE,
    SCORES,
    BranchSummary,
    ClauseHeat,
    ClauseHeatMap,
    ComplaintsBySla,
    CounterSummary,
    Distribution,
    SlaRow,
    SlaState,
    Stats,
    Summary,
    TrendPoint,
)

__all__ = [
    "DEFAULT_TZ",
    "DUE_SOON",
    "INSPECTION",
    "INSPECTION_FINDING",
    "LOW_SCORE",
    "OPEN_STATUSES",
    "SCORES",
    "SEVERITY_ORDER",
    "BranchSummary",
    "ClauseHeat",
    "ClauseHeatMap",
    "ComplaintsBySla",
    "CounterSummary",
    "Distribution",
    "Rating",
    "SlaRow",
    "SlaState",
    "Stats",
    "Summary",
    "TrendPoint",
    "Zone",
    "clause_heat",
    "complaints_by_sla",
    "distribution",
    "func",
    "summary",
    "trend",
    "zones",
]
