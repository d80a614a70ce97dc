"""Fair scores: per staff member, counter and branch, per local day or month.

The rules, all in one place so a supervisor can be told exactly how a number came about:

* Only counted ratings: a flagged press (``counted`` false) or a rating overturned on appeal
  (``overturned``, which also clears ``counted``) is kept but never enters a score.
* The **mean** is the plain average of those ratings.
* The **score** is shrunk towards the branch mean ``m`` of the same period by a prior weight ``C``
  (policy ``score_prior_weight``): ``(C·m + sum) / (C + n)``. Two ratings of 5 do not beat forty
  ratings averaging 4.8; with many ratings the score approaches the mean.
* Its **95% interval** is ``score ± 1.96·sqrt(v / (C + n))``, clipped to 1–5. The variance ``v`` is
  shrunk the same way: ``(C·v_branch + (n − 1)·v_own) / (C + n − 1)`` from the sample variances of
  the branch's and the person's ratings (only the branch's below two ratings), so four identical
  ratings do not claim a zero-width interval.
* Nobody is **ranked** below ``min_ratings_ranked`` counted ratings (policy, default 20).

Periods are the branch's local calendar (``Branch.timezone``): a month is ``YYYY-MM``. Every query
walks an index that starts with the grouping column and ``created_at`` and carries ``counted`` and
``score``, so a month of a branch or a year of one person is answered from the index.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from models import rollup
from models.errors import ValidationFailed
from models.org import Branch, Staff
from models.policy import PolicyValues, effective_policy
from models.rating import Rating

Z95 = 1.96
MONTH_RE = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


# ---------------------------------------------------------------------------------------------------
# Periods


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        m = MONTH_RE.fullmatch(text.strip()) if isinstance(text, str) else None
        if m is None:
            raise ValidationFailed("month", f"a month is written YYYY-MM, like 2026-11; got {text!r}")
        return cls(int(m.group(1)), int(m.group(2)))

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def next(self) -> Month:
        return Month(self.year + (self.month == 12), self.month % 12 + 1)

    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def bounds(self, tz: str) -> tuple[datetime, datetime]:
        """Start (inclusive) and end (exclusive) of the month in the zone, as aware UTC."""
        return local_day_start(self.first_day, tz), local_day_start(self.next().first_day, tz)

    def days(self) -> list[date]:
        out, d = [], self.first_day
        end = self.next().first_day
        while d < end:
            out.append(d)
            d = date.fromordinal(d.toordinal() + 1)
        return out


def local_day_start(day: date, tz: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def local_month(now: datetime, tz: str) -> Month:
    return Month.of(now.astimezone(ZoneInfo(tz)).date())


# ---------------------------------------------------------------------------------------------------
# Arithmetic (pure, hand-checkable)


@dataclass(frozen=True)
class Moments:
    """Counted ratings of one group in one period: how many, the sum, the sum of squares, and how many
    of each score (``counts[0]`` is score 1)."""

    n: int = 0
    total: int = 0
    squares: int = 0
    counts: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)

    @classmethod
    def of(cls, scores: Iterable[int]) -> Moments:
        s = list(scores)
        counts = tuple(sum(1 for x in s if x == k) for k in (1, 2, 3, 4, 5))
        return cls(len(s), sum(s), sum(x * x for x in s), counts)  # type: ignore[arg-type]

    def __add__(self, other: Moments) -> Moments:
        return Moments(
            self.n + other.n,
            self.total + other.total,
            self.squares + other.squares,
            tuple(a + b for a, b in zip(self.counts, other.counts, strict=True)),  # type: ignore[arg-type]
        )

    def __sub__(self, other: Moments) -> Moments:
        """Take ratings back out (a 差评 whose finding clears the person, :func:`cleared_ratings`)."""
        return Moments(
            self.n - other.n,
            self.total - other.total,
            self.squares - other.squares,
            tuple(a - b for a, b in zip(self.counts, other.counts, strict=True)),  # type: ignore[arg-type]
        )

    @property
    def mean(self) -> float | None:
        return self.total / self.n if self.n else None

    @property
    def variance(self) -> float | None:
        """Sample variance (n − 1 in the denominator); None below two ratings."""
        if self.n < 2:
            return None
        return max(0.0, (self.squares - self.total * self.total / self.n) / (self.n - 1))


@dataclass(frozen=True)
class Score:
    n: int
    mean: float | None
    score: float | None  # shrunk towards the branch mean
    low: float | None  # 95% interval
    high: float | None
    ranked: bool
    counts: tuple[int, int, int, int, int]


def _pooled_variance(own: Moments, branch: Moments, prior_weight: int) -> float | None:
    mine, theirs = own.variance, branch.variance
    if theirs is None:
        return mine
    if mine is None:
        return theirs
    weight = prior_weight + own.n - 1
    return (prior_weight * theirs + (own.n - 1) * mine) / weight if weight else mine


def fair_score(own: Moments, branch: Moments, *, prior_weight: int, min_ranked: int) -> Score:
    """The score of one person (or counter) against the branch it belongs to, same period."""
    if own.n == 0:
        return Score(0, None, None, None, None, False, own.counts)
    m = branch.mean if branch.mean is not None else own.mean
    assert m is not None and own.mean is not None
    c = prior_weight
    score = (c * m + own.total) / (c + own.n)
    v = _pooled_variance(own, branch, c)
    if v is None:
        low = high = None
    else:
        half = Z95 * math.sqrt(v / (c + own.n))
        low, high = max(1.0, score - half), min(5.0, score + half)
    return Score(own.n, own.mean, score, low, high, own.n >= min_ranked, own.counts)


# ---------------------------------------------------------------------------------------------------
# Queries


def _tally(pairs: Iterable[tuple[Any, Any]]) -> Moments:
    """Moments from (score, how many) pairs: the database only counts ratings per score, the least
    work per index entry; sums and squares follow here from at most five rows."""
    counts = [0, 0, 0, 0, 0]
    for score, n in pairs:
        counts[int(score) - 1] += int(n or 0)
    return Moments(
        sum(counts),
        sum(k * c for k, c in zip(range(1, 6), counts, strict=True)),
        sum(k * k * c for k, c in zip(range(1, 6), counts, strict=True)),
        tuple(counts),  # type: ignore[arg-type]
    )


def _tally_by(rows: Iterable[Sequence[Any]]) -> dict[Any, Moments]:
    """(key, score, how many) rows to Moments per key."""
    groups: dict[Any, list[tuple[Any, Any]]] = {}
    for key, score, n in rows:
        groups.setdefault(key, []).append((score, n))
    return {key: _tally(pairs) for key, pairs in groups.items()}


def _period(owner: Any, owner_id: int, start: datetime, end: datetime) -> list[ColumnElement[bool]]:
    """Counted ratings of one branch or one person (``owner`` is the column) from start to end."""
    return [
        col(owner) == owner_id,
        col(Rating.created_at) >= start,
        col(Rating.created_at) < end,
        col(Rating.counted).is_(True),
    ]


def _per_score(session: Session, where: list[ColumnElement[bool]], *keys: Any) -> Sequence[Any]:
    """(*keys, score, how many) rows of the ratings ``where`` selects."""
    score = col(Rating.score)
    return session.execute(sa_select(*keys, score, func.count()).where(*where).group_by(*keys, score)).all()


def cleared_ratings(
    session: Session, owner: Any, owner_id: int, start: datetime, end: datetime
) -> list[tuple[Any, int, datetime, int]]:
    """(id, staff id, when, score) of the counted ratings of one branch or person (``owner`` is the
    column) in a period whose 差评 case found that they do not weigh on the person rated: unfounded,
    not verifiable, or about the service, process, policy or facilities (models/case_flow.py
    ``weighs_on_person``). They stay in the branch's and the counter's figures and leave the
    person's, as an upheld appeal does; a 差评 weighs until its finding says otherwise."""
    from sqlalchemy import or_

    from models.cases import About, Finding, RatingCase

    rows = session.execute(
        sa_select(col(Rating.id), col(Rating.staff_id), col(Rating.created_at), col(Rating.score))
        .join(RatingCase, col(RatingCase.rating_id) == col(Rating.id))
        .where(
            *_period(owner, owner_id, start, end),
            col(Rating.staff_id).is_not(None),
            col(RatingCase.finding).is_not(None),
            or_(
                col(RatingCase.finding).in_([Finding.unfounded, Finding.unverifiable]),
                col(RatingCase.about) != About.staff,
            ),
        )
    ).all()
    return [(r[0], int(r[1]), r[2], int(r[3])) for r in rows]


def _cleared_by_staff(rows: list[tuple[Any, int, datetime, int]]) -> dict[int, Moments]:
    out: dict[int, list[int]] = {}
    for _id, staff_id, _at, score in rows:
        out.setdefault(staff_id, []).append(score)
    return {k: Moments.of(v) for k, v in out.items()}


def branch_moments(session: Session, branch_id: int, start: datetime, end: datetime) -> Moments:
    return _tally(_per_score(session, _period(Rating.branch_id, branch_id, start, end)))


def branch_months(session: Session, branch_id: int, tz: str, months: Iterable[Month]) -> dict[Month, Moments]:
    """The branch's counted ratings in each of some months, as :func:`branch_moments` counts them:
    closed local days from the roll-up (models/rollup.py), the days it does not hold (not counted
    yet, changed since, today, or further back than ``ROLLUP_DAYS``) from the ratings, in as few
    ranges as runs of days allow. A closed month is then a few hundred roll-up rows rather than
    every one of its ratings (docs/PERFORMANCE.md, the personal file at 10,000,000)."""
    wanted = sorted(set(months), key=lambda m: (m.year, m.month))
    if not wanted:
        return {}
    zone = ZoneInfo(tz)
    closed = rollup.closed_days(
        session,
        tz=zone,
        branch_ids=[branch_id],
        first=wanted[0].first_day,
        end=wanted[-1].next().first_day,
        keys=["day", "score"],
    )
    per_month: dict[Month, list[tuple[int, int]]] = {}
    for day, score, n in closed.rows:
        per_month.setdefault(Month.of(day), []).append((score, n))
    live: dict[Month, dict[date, tuple[int, ...]]] = {}
    for day, ids in closed.live.items():
        live.setdefault(Month.of(day), {})[day] = ids
    out: dict[Month, Moments] = {}
    for m in wanted:
        found = _tally(per_month.get(m, []))
        for _ids, start, end in rollup.ClosedDays(live=live.get(m, {})).ranges(zone):
            found = found + branch_moments(session, branch_id, start, end)
        out[m] = found
    return out


def branch_and_staff_moments(
    session: Session, branch_id: int, start: datetime, end: datetime
) -> tuple[Moments, dict[int, Moments]]:
    """The branch's counted ratings in a period, whole and per staff member, in one pass over them
    (ratings given to nobody in particular count for the branch only)."""
    rows = _per_score(session, _period(Rating.branch_id, branch_id, start, end), col(Rating.staff_id))
    tallies = _tally_by(rows)
    whole = sum(tallies.values(), Moments())
    cleared = _cleared_by_staff(cleared_ratings(session, Rating.branch_id, branch_id, start, end))
    people = {int(k): m - cleared.get(int(k), Moments()) for k, m in tallies.items() if k is not None}
    return whole, people


def moments_by_staff(session: Session, branch_id: int, start: datetime, end: datetime) -> dict[int, Moments]:
    """Counted ratings of a branch in a period, per staff member they were given to."""
    return branch_and_staff_moments(session, branch_id, start, end)[1]


def moments_by_counter(
    session: Session, branch_id: int, start: datetime, end: datetime
) -> dict[int | None, Moments]:
    rows = _per_score(session, _period(Rating.branch_id, branch_id, start, end), col(Rating.counter_id))
    return {(int(k) if k is not None else None): m for k, m in _tally_by(rows).items()}


def staff_moments(session: Session, staff_id: int, start: datetime, end: datetime) -> Moments:
    own = _tally(_per_score(session, _period(Rating.staff_id, staff_id, start, end)))
    cleared = cleared_ratings(session, Rating.staff_id, staff_id, start, end)
    return own - Moments.of(score for *_rest, score in cleared)


def staff_daily(session: Session, staff_id: int, month: Month, tz: str) -> dict[date, Moments]:
    """One person's counted ratings per local day of a month (days without ratings left out)."""
    start, end = month.bounds(tz)
    rows = session.exec(
        select(col(Rating.id), col(Rating.created_at), col(Rating.score)).where(
            Rating.staff_id == staff_id,
            col(Rating.created_at) >= start,
            col(Rating.created_at) < end,
            col(Rating.counted).is_(True),
        )
    ).all()
    cleared = {r[0] for r in cleared_ratings(session, Rating.staff_id, staff_id, start, end)}
    zone = ZoneInfo(tz)
    by_day: dict[date, list[int]] = {}
    for rating_id, at, score in rows:
        if rating_id in cleared:
            continue
        by_day.setdefault(at.astimezone(zone).date(), []).append(int(score))
    return {d: Moments.of(s) for d, s in sorted(by_day.items())}


# ---------------------------------------------------------------------------------------------------
# What the screens show


@dataclass(frozen=True)
class Standing:
    staff_id: int
    employee_no: str
    name: str
    score: Score
    rank: int | None  # 1 = best; None when not ranked (too few ratings)


@dataclass(frozen=True)
class Leaderboard:
    branch_id: int
    month: str
    branch: Moments
    min_ranked: int
    prior_weight: int
    ranked: tuple[Standing, ...]  # best first
    unranked: tuple[Standing, ...]  # too few ratings, by count


def _policy(session: Session, branch_id: int, policy: PolicyValues | None) -> PolicyValues:
    return policy if policy is not None else effective_policy(session, branch_id)


def leaderboard(
    session: Session, branch_id: int, month: Month, *, policy: PolicyValues | None = None
) -> Leaderboard:
    """Everyone at the branch with ratings in the month (plus active counter staff without any): the
    ranked ones by score (ties by more ratings, then employee number), then the rest."""
    branch = session.get(Branch, branch_id)
    if branch is None:
        raise ValidationFailed("branch", "no such branch")
    p = _policy(session, branch_id, policy)
    start, end = month.bounds(branch.timezone)
    whole, per_staff = branch_and_staff_moments(session, branch_id, start, end)
    people = session.exec(
        select(Staff).where(
            col(Staff.id).in_(list(per_staff)) | ((Staff.branch_id == branch_id) & (Staff.role == "staff"))
        )
    ).all()
    standings = []
    for s in people:
        assert s.id is not None
        own = per_staff.get(s.id, Moments())
        if own.n == 0 and not s.active:
            continue
        sc = fair_score(own, whole, prior_weight=p.score_prior_weight, min_ranked=p.min_ratings_ranked)
        standings.append((s, sc))
    ranked = sorted(
        (x for x in standings if x[1].ranked),
        key=lambda x: (-(x[1].score or 0), -x[1].n, x[0].employee_no),
    )
    rest = sorted((x for x in standings if not x[1].ranked), key=lambda x: (-x[1].n, x[0].employee_no))
    return Leaderboard(
        branch_id,
        str(month),
        whole,
        p.min_ratings_ranked,
        p.score_prior_weight,
        tuple(
            Standing(s.id, s.employee_no, s.display_name, sc, i + 1)  # type: ignore[arg-type]
            for i, (s, sc) in enumerate(ranked)
        ),
        tuple(Standing(s.id, s.employee_no, s.display_name, sc, None) for s, sc in rest),  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class MonthScore:
    month: str
    score: Score


@dataclass(frozen=True)
class Profile:
    """One person's standing, for their own page and their personal file: this month, the months
    before it, and where they sit against the branch without naming anyone else."""

    staff_id: int
    branch_id: int
    month: str
    current: Score
    branch: Moments
    branch_median: float | None  # median of the ranked colleagues' scores, the person included
    rank: int | None
    ranked_count: int
    months: tuple[MonthScore, ...]  # oldest first, ending with ``month``
    days: tuple[tuple[date, Moments], ...]  # this month, days with ratings


def profile(
    session: Session,
    staff_id: int,
    month: Month,
    *,
    history: int = 6,
    policy: PolicyValues | None = None,
) -> Profile:
    staff = session.get(Staff, staff_id)
    if staff is None or staff.branch_id is None:
        raise ValidationFailed("staff", "no such staff member at a branch")
    branch = session.get(Branch, staff.branch_id)
    assert branch is not None and branch.id is not None
    p = _policy(session, branch.id, policy)
    board = leaderboard(session, branch.id, month, policy=p)
    mine = next((s for s in (*board.ranked, *board.unranked) if s.staff_id == staff_id), None)
    current = (
        mine.score
        if mine
        else fair_score(
            Moments(), board.branch, prior_weight=p.score_prior_weight, min_ranked=p.min_ratings_ranked
        )
    )
    scores = [s.score.score for s in board.ranked if s.score.score is not None]
    earlier: list[Month] = []
    for _ in range(max(0, history - 1)):
        earlier.insert(0, (earlier[0] if earlier else month).previous())
    own_by_month = {m: staff_moments(session, staff_id, *m.bounds(branch.timezone)) for m in earlier}
    # The branch's figure only for months the person has ratings in, from the roll-up where it can.
    wholes = branch_months(session, branch.id, branch.timezone, [m for m in earlier if own_by_month[m].n])
    months = [
        MonthScore(
            str(m),
            fair_score(
                own_by_month[m],
                wholes.get(m, Moments()),
                prior_weight=p.score_prior_weight,
                min_ranked=p.min_ratings_ranked,
            ),
        )
        for m in earlier
    ]
    months.append(MonthScore(str(month), current))
    days = staff_daily(session, staff_id, month, branch.timezone)
    return Profile(
        staff_id,
        branch.id,
        str(month),
        current,
        board.branch,
        median(scores) if scores else None,
        mine.rank if mine else None,
        len(board.ranked),
        tuple(months),
        tuple(days.items()),
    )


def counter_scores(
    session: Session, branch_id: int, month: Month, *, policy: PolicyValues | None = None
) -> dict[int | None, Score]:
    branch = session.get(Branch, branch_id)
    if branch is None:
        raise ValidationFailed("branch", "no such branch")
    p = _policy(session, branch_id, policy)
    start, end = month.bounds(branch.timezone)
    whole = branch_moments(session, branch_id, start, end)
    return {
        k: fair_score(v, whole, prior_weight=p.score_prior_weight, min_ranked=p.min_ratings_ranked)
        for k, v in moments_by_counter(session, branch_id, start, end).items()
    }
