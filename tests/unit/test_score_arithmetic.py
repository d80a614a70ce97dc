"""The fair-score arithmetic against values worked out by hand (models/scores.py docstring).

The fixed data: person X has 5, 5, 4; person Y has 3, 3, 2, 4; the branch is the two together.
  branch: n 7, sum 26, mean 26/7, squares 104, sample variance (104 − 26²/7)/6 = 26/21
  X: n 3, sum 14, mean 14/3, sample variance (66 − 14²/3)/2 = 1/3
     score (10·26/7 + 14)/(10 + 3) = (358/7)/13 = 358/91 ≈ 3.934
     variance shrunk: (10·26/21 + 2·1/3)/12 = 137/126
     interval 358/91 ± 1.96·√((137/126)/13)
  Y: n 4, sum 12, mean 3, sample variance (38 − 144/4)/3 = 2/3
     score (260/7 + 12)/14 = 172/49 ≈ 3.510
     variance shrunk: (10·26/21 + 3·2/3)/13 = 302/273, interval ± 1.96·√((302/273)/14)
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import pytest

from models.errors import ValidationFailed
from models.scores import Moments, Month, fair_score

X = Moments.of([5, 5, 4])
Y = Moments.of([3, 3, 2, 4])
BRANCH = X + Y


def test_moments_hold_count_sum_squares_and_distribution():
    assert (X.n, X.total, X.squares, X.counts) == (3, 14, 66, (0, 0, 0, 1, 2))
    assert (BRANCH.n, BRANCH.total, BRANCH.counts) == (7, 26, (0, 1, 2, 2, 2))
    assert X.mean == pytest.approx(14 / 3)
    assert X.variance == pytest.approx(1 / 3)
    assert Y.variance == pytest.approx(2 / 3)
    assert Moments.of([4]).variance is None


def test_score_is_shrunk_towards_the_branch_mean_with_its_95_percent_interval():
    x = fair_score(X, BRANCH, prior_weight=10, min_ranked=3)
    assert x.mean == pytest.approx(14 / 3)
    assert x.score == pytest.approx(358 / 91)
    half = 1.96 * math.sqrt(137 / 126 / 13)
    assert (x.low, x.high) == (pytest.approx(358 / 91 - half), pytest.approx(358 / 91 + half))
    y = fair_score(Y, BRANCH, prior_weight=10, min_ranked=3)
    assert y.score == pytest.approx(172 / 49)
    half = 1.96 * math.sqrt(302 / 273 / 14)
    assert (y.low, y.high) == (pytest.approx(172 / 49 - half), pytest.approx(172 / 49 + half))


def test_a_tiny_perfect_sample_does_not_beat_a_large_very_good_one():
    branch = Moments.of([3] * 50)
    two_fives = fair_score(Moments.of([5, 5]), branch + Moments.of([5, 5]), prior_weight=10, min_ranked=1)
    many = Moments.of([5] * 32 + [4] * 8)  # mean 4.8 over 40 ratings
    forty = fair_score(many, branch + many, prior_weight=10, min_ranked=1)
    assert two_fives.mean == 5 and forty.mean == pytest.approx(4.8)
    assert two_fives.score is not None and forty.score is not None
    assert forty.score > two_fives.score


def test_identical_ratings_still_get_an_interval_of_honest_width():
    same = Moments.of([5, 5, 5, 5])
    s = fair_score(same, BRANCH + same, prior_weight=10, min_ranked=1)
    assert same.variance == 0
    assert s.low is not None and s.high is not None and s.high - s.low > 0.5
    # Without a prior there is nothing to borrow from: the person's own (zero) spread.
    bare = fair_score(same, BRANCH + same, prior_weight=0, min_ranked=1)
    assert bare.low == bare.high == 5.0


def test_without_prior_weight_the_score_is_the_mean():
    assert fair_score(X, BRANCH, prior_weight=0, min_ranked=1).score == pytest.approx(14 / 3)


def test_one_rating_borrows_the_branch_variance_for_its_interval():
    one = Moments.of([5])
    branch = BRANCH + one  # n 8, sum 31, squares 66 + 38 + 25 = 129
    variance = (129 - 31 * 31 / 8) / 7
    s = fair_score(one, branch, prior_weight=10, min_ranked=1)
    assert s.score == pytest.approx((10 * 31 / 8 + 5) / 11)
    half = 1.96 * math.sqrt(variance / 11)
    assert s.low == pytest.approx(s.score - half) and s.high == pytest.approx(s.score + half)


def test_the_interval_never_leaves_one_to_five():
    fives = Moments.of([5, 5, 1])
    s = fair_score(fives, fives, prior_weight=0, min_ranked=1)
    assert s.low is not None and s.high is not None
    assert 1.0 <= s.low and s.high == 5.0


def test_nobody_is_ranked_below_the_minimum_count():
    assert fair_score(X, BRANCH, prior_weight=10, min_ranked=4).ranked is False
    assert fair_score(Y, BRANCH, prior_weight=10, min_ranked=4).ranked is True
    empty = fair_score(Moments(), BRANCH, prior_weight=10, min_ranked=1)
    assert (empty.n, empty.score, empty.ranked) == (0, None, False)


def test_months_parse_strictly_and_cover_the_local_calendar():
    m = Month.parse("2026-11")
    assert (
        str(m) == "2026-11"
        and str(m.previous()) == "2026-10"
        and str(Month.parse("2026-12").next()) == "2027-01"
    )
    start, end = m.bounds("Asia/Shanghai")
    # Midnight in Shanghai is 16:00 UTC the day before.
    assert start == datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
    assert end == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    assert len(m.days()) == 30 and m.days()[0] == date(2026, 11, 1)
    for bad in ("2026-13", "2026-1", "26-11", "", "2026-11-01", "november"):
        with pytest.raises(ValidationFailed) as err:
            Month.parse(bad)
        assert err.value.field == "month"
