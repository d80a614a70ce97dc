"""The indicators service halls are judged by (docs/RULES-CITED.md §1; definitions in
docs/INDICATORS.md), for one branch and month, per branch, counter and staff member.

Each is a count over a count, kept as both so a report can show "3 / 4" and a rate, and an empty
denominator shows as no figure rather than as 0% or 100%:

- 好评率: counted ratings of 4–5 ÷ counted ratings (default ratings among them only when the policy
  counts them; how many were defaults is kept beside, counted or not: ``defaults``,
  ``defaults_uncounted``).
- 差评率: 差评 (cases opened, models/cases.py) ÷ counted ratings.
- 差评核实率: cases with a finding ÷ 差评.
- 整改率: cases closed with an action (整改 done, or 解释说明) ÷ 差评.
- 实名差评回访率: cases with a callback contact reached at least once ÷ cases with a callback contact.
- 按时办结率: cases closed by their reply due time ÷ cases closed.
- 整改满意率: graded 满意 or 基本满意 ÷ graded.

A case belongs to the month it was opened in (the rating's month), in the branch's time zone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Literal

from sqlalchemy import case as when
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select

from models.case_flow import events_of
from models.cases import CallbackOutcome, CaseStatus, Grade, RatingCase
from models.complaint import Severity, branch_clocks
from models.errors import ValidationFailed
from models.org import Branch
from models.policy import PolicyValues, effective_policy
from models.rating import Rating
from models.scores import Month

Level = Literal["branch", "counter", "staff"]
GOOD = when((col(Rating.score) >= 4, 1), else_=0)


@dataclass(frozen=True)
class Indicators:
    rated: int = 0  # counted ratings
    good: int = 0  # counted ratings of 4 or 5
    # Default ratings (models/default_rating.py), reported apart: those counted (among ``rated``, by
    # the policy's default_rating_counted) and those kept out of every figure.
    defaults: int = 0
    defaults_uncounted: int = 0
    bad: int = 0  # 差评: cases opened
    verified: int = 0  # cases with a finding
    rectified: int = 0  # cases closed with an action
    with_contact: int = 0  # cases with a callback contact
    reached: int = 0  # of those, reached by a callback at least once
    closed: int = 0
    on_time: int = 0  # closed by the reply due time
    graded: int = 0
    graded_ok: int = 0  # 满意 or 基本满意

    def plus(self, other: Indicators) -> Indicators:
        return Indicators(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    @staticmethod
    def _rate(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    @property
    def good_rate(self) -> float | None:
        return self._rate(self.good, self.rated)

    @property
    def bad_rate(self) -> float | None:
        return self._rate(self.bad, self.rated)

    @property
    def verify_rate(self) -> float | None:
        return self._rate(self.verified, self.bad)

    @property
    def rectify_rate(self) -> float | None:
        return self._rate(self.rectified, self.bad)

    @property
    def callback_rate(self) -> float | None:
        return self._rate(self.reached, self.with_contact)

    @property
    def on_time_rate(self) -> float | None:
        return self._rate(self.on_time, self.closed)

    @property
    def satisfaction_rate(self) -> float | None:
        return self._rate(self.graded_ok, self.graded)


RATES = (
    ("good_rate", "good", "rated"),
    ("bad_rate", "bad", "rated"),
    ("verify_rate", "verified", "bad"),
    ("rectify_rate", "rectified", "bad"),
    ("callback_rate", "reached", "with_contact"),
    ("on_time_rate", "on_time", "closed"),
    ("satisfaction_rate", "graded_ok", "graded"),
)


def _key(level: Level, branch_id: int, counter_id: int | None, staff_id: int | None) -> int | None:
    return branch_id if level == "branch" else counter_id if level == "counter" else staff_id


def indicators(
    session: Session, *, branch_id: int, month: Month, level: Level = "branch"
) -> dict[int | None, Indicators]:
    """The month's indicators of a branch, keyed by branch id, counter id or staff id (None: ratings
    and cases with no counter, or no person rated)."""
    branch = session.get(Branch, branch_id)
    if branch is None:
        raise ValidationFailed("branch", "no such branch")
    return indicators_of_branches(session, [branch], local_months={branch_id: month}, level=level)[branch_id]


def indicators_of_branches(
    session: Session, branches: Sequence[Branch], *, local_months: dict[int, Month], level: Level = "branch"
) -> dict[int, dict[int | None, Indicators]]:
    """:func:`indicators` of several branches, each for its month (``local_months`` by branch id):
    one query for the ratings and one for the cases of all the branches whose month has the same
    bounds (the same time zone), not two per branch: an administrator's dashboard shows every
    branch of a region."""
    out: dict[int, dict[int | None, Indicators]] = {}
    for (start, end), ids in month_scopes(branches, local_months).items():
        for branch_id in ids:
            out[branch_id] = defaultdict(Indicators)
        counted = session.execute(
            sa_select(
                col(Rating.branch_id), col(Rating.counter_id), col(Rating.staff_id), col(Rating.counted),
                col(Rating.is_default), func.count(), func.sum(GOOD),
            )
            .where(
                col(Rating.branch_id).in_(ids), col(Rating.counted) | col(Rating.is_default),
                col(Rating.created_at) >= start, col(Rating.created_at) < end,
            )
            .group_by(
                col(Rating.branch_id), col(Rating.counter_id), col(Rating.staff_id), col(Rating.counted),
                col(Rating.is_default),
            )
        ).all()  # fmt: skip
        for branch_id, counter_id, staff_id, is_counted, is_default, n, good in counted:
            k = _key(level, branch_id, counter_id, staff_id)
            if is_counted:
                one = Indicators(rated=int(n), good=int(good or 0), defaults=int(n) if is_default else 0)
            else:
                one = Indicators(defaults_uncounted=int(n))
            out[branch_id][k] = out[branch_id][k].plus(one)
        cases = session.exec(
            select(RatingCase)
            .where(
                col(RatingCase.branch_id).in_(ids),
                col(RatingCase.opened_at) >= start,
                col(RatingCase.opened_at) < end,
            )
            .order_by(col(RatingCase.id))
        ).all()
        policies: dict[int, PolicyValues] = {}
        for case in cases:
            assert case.id is not None
            branch_id = case.branch_id
            if branch_id not in policies:
                policies[branch_id] = effective_policy(session, branch_id)
            closed = case.status == CaseStatus.closed
            reached = case.contact is not None and any(
                e.kind == "callback" and e.outcome == CallbackOutcome.reached
                for e in events_of(session, case.id)
            )
            on_time = False
            if closed and case.closed_at is not None:
                clock = branch_clocks(
                    session, branch_id, case.opened_at, Severity.normal, policies[branch_id]
                )
                on_time = case.closed_at <= clock.due_at
            ok = case.grade in (Grade.satisfied, Grade.fairly)
            k = _key(level, branch_id, case.counter_id, case.staff_id)
            out[branch_id][k] = out[branch_id][k].plus(
                Indicators(
                    bad=1, verified=int(case.finding is not None),
                    rectified=int(closed and case.action is not None),
                    with_contact=int(case.contact is not None), reached=int(reached), closed=int(closed),
                    on_time=int(on_time), graded=int(case.grade is not None), graded_ok=int(ok),
                )
            )  # fmt: skip
    return {branch_id: dict(figures) for branch_id, figures in out.items()}


def month_scopes(
    branches: Sequence[Branch], local_months: dict[int, Month]
) -> dict[tuple[datetime, datetime], list[int]]:
    """The branches by the bounds of their month (in their own time zones): the branches one query
    can cover."""
    scopes: dict[tuple[datetime, datetime], list[int]] = defaultdict(list)
    for branch in branches:
        assert branch.id is not None
        scopes[local_months[branch.id].bounds(branch.timezone)].append(branch.id)
    return dict(scopes)


def total(figures: dict[int | None, Indicators]) -> Indicators:
    result = Indicators()
    for one in figures.values():
        result = result.plus(one)
    return result
