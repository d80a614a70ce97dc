"""A tap's request (models/rating.py tap_request, what the kiosk's submit_tap validates): the same
as ``parse_rating({"score": score})`` for every input, good or bad, although the validated request
of each score is kept and handed out again; one that a caller changed is never handed out again."""

from __future__ import annotations

import pytest

from models.errors import ValidationFailed
from models.rating import parse_rating, tap_request


@pytest.mark.parametrize("score", [1, 2, 3, 4, 5])
def test_each_score_gives_what_validation_gives_and_asked_again_the_same(score):
    first = tap_request(score)
    assert first == parse_rating({"score": score})
    assert (first.score, first.reasons, first.comment) == (score, [], "")
    assert tap_request(score) is first  # kept: not validated again


@pytest.mark.parametrize("bad", [0, 6, -1, True, False, 4.0, "4", None, [4]])
def test_a_bad_score_is_refused_with_the_same_message_and_nothing_is_kept(bad):
    with pytest.raises(ValidationFailed) as expected:
        parse_rating({"score": bad})
    with pytest.raises(ValidationFailed) as got:
        tap_request(bad)
    assert (got.value.field, str(got.value)) == (expected.value.field, str(expected.value))
    assert "score" in got.value.field
    # A refused score leaves the good ones as they were.
    assert tap_request(4) == parse_rating({"score": 4})


def test_a_kept_request_that_was_changed_is_replaced_by_a_fresh_one():
    kept = tap_request(2)
    kept.reasons.append("2.2.1")  # a caller that should not have, did
    fresh = tap_request(2)
    assert fresh is not kept and fresh == parse_rating({"score": 2})
    fresh.comment = "slow"
    assert tap_request(2) == parse_rating({"score": 2})
    changed = tap_request(3)
    changed.score = 1
    again = tap_request(3)
    assert again.score == 3 and again is not changed
    assert tap_request(1).score == 1
