"""A rating's request fingerprint (models/rating.py request_hash) tells a retry (same key, same request:
the stored rating again) from a reused key (409). Stored fingerprints must keep matching: the same
request hashes to the same digest as it always has, whether it takes the taps' cached path or not."""

from __future__ import annotations

from models.rating import Channel, RatingCreate, request_hash

# Digests of these requests as stored by earlier releases (computed before the taps' cache existed).
TAP = "a67bdd9123b6e2869faf38980eb463637b6b47750469c1e4375361c2dd1954b6"
DETAILED = "2afe9aa3f33182b0fbfd749999e89f3bdd692f3fd4f4c7f512e408c0ee2b5b30"


def test_a_tap_hashes_as_stored_before():
    data = RatingCreate(score=4)
    assert request_hash(requested_staff=None, counter_id=3, channel=Channel.kiosk, data=data) == TAP
    # Asked again (the cached path): the same.
    assert request_hash(requested_staff=None, counter_id=3, channel=Channel.kiosk, data=data) == TAP


def test_a_rating_with_reasons_a_comment_and_a_transaction_hashes_as_stored_before():
    data = RatingCreate(score=2, reasons=["2.2.1"], comment="慢")
    digest = request_hash(
        requested_staff="E1", counter_id=3, channel=Channel.kiosk, data=data, transaction_id=9
    )
    assert digest == DETAILED


def test_any_difference_in_the_request_is_another_fingerprint():
    base = {"requested_staff": None, "counter_id": 3, "channel": Channel.kiosk}
    tap = request_hash(**base, data=RatingCreate(score=4))  # type: ignore[arg-type]
    others = {
        request_hash(**base, data=RatingCreate(score=5)),  # type: ignore[arg-type]
        request_hash(**{**base, "counter_id": 4}, data=RatingCreate(score=4)),  # type: ignore[arg-type]
        request_hash(**{**base, "requested_staff": "E1"}, data=RatingCreate(score=4)),  # type: ignore[arg-type]
        request_hash(**{**base, "channel": Channel.qr}, data=RatingCreate(score=4)),  # type: ignore[arg-type]
        request_hash(**base, data=RatingCreate(score=4, comment="好")),  # type: ignore[arg-type]
        request_hash(**base, data=RatingCreate(score=4), transaction_id=1),  # type: ignore[arg-type]
    }
    assert tap not in others and len(others) == 6
