"""Issue 15, Done when 2: a case for every 差评, opened exactly once per rating from each channel
that takes ratings (a counter tablet, a phone through a badge, an integration's
``POST /api/v1/ratings``; the hotline's in tests/integration/test_hotline.py), also when the request
is retried with the same idempotency key; none for a flagged press or a rating above the policy's
line; a formal complaint about the same rating joins its case. Runs on SQLite, and on PostgreSQL
where RAPPORT_TEST_DATABASE_URL is set."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import func, select
from starlette.testclient import TestClient

from kiosk import backend as kiosk
from models.cases import CaseStatus, RatingCase
from models.clock import pin
from models.complaint import Complaint
from models.org import Staff
from models.policy import set_policy
from models.rating import Rating
from rapport.server import create_app

NOW = datetime(2026, 11, 18, 2, 30, tzinfo=UTC)  # Wednesday 10:30 in Shanghai, the branch open
FORM = {"category": "2.2.2", "description": "等了很久也没人解释。", "contact": "", "consent": False}


@pytest.fixture(autouse=True)
def fixed_clock():
    pin(NOW)
    yield
    pin(None)


def key() -> str:
    return f"case-{uuid.uuid4()}"


def cases(db) -> list[RatingCase]:
    with db.read() as s:
        return list(s.exec(select(RatingCase).order_by(RatingCase.id)).all())


def ratings(db) -> int:
    with db.read() as s:
        return s.exec(select(func.count()).select_from(Rating)).one()


def qr_token(db, employee_no: str) -> str:
    with db.read() as s:
        return s.exec(select(Staff.qr_token).where(Staff.employee_no == employee_no)).one()


def test_a_tablet_tap_opens_one_case_and_a_retry_opens_no_second(ctx, db, world):
    tap = key()
    first = kiosk.submit_tap(
        ctx, device_token=world.device_token, idempotency_key=tap, score=1, staff_no=None
    )
    again = kiosk.submit_tap(
        ctx, device_token=world.device_token, idempotency_key=tap, score=1, staff_no=None
    )
    assert first == again and ratings(db) == 1
    [case] = cases(db)
    assert (case.rating_id, case.branch_id, case.counter_id, case.staff_id) == (
        first, world.branch_id, world.counter_id, world.staff_id,
    )  # fmt: skip
    with db.read() as s:
        rated_at = s.get(Rating, first).created_at  # type: ignore[union-attr]
    assert (case.channel, case.score, case.status, case.opened_at) == (
        "kiosk",
        1,
        CaseStatus.pending,
        rated_at,
    )
    assert case.complaint_id is None


def test_only_ratings_at_or_below_the_line_open_a_case(ctx, db, world):
    for score in (5, 4, 3):
        pin(NOW + timedelta(minutes=score))  # apart, so no press counts as too fast
        kiosk.submit_tap(
            ctx, device_token=world.device_token, idempotency_key=key(), score=score, staff_no=None
        )
    assert cases(db) == []
    pin(NOW + timedelta(minutes=10))
    kiosk.submit_tap(ctx, device_token=world.device_token, idempotency_key=key(), score=2, staff_no=None)
    assert [c.score for c in cases(db)] == [2]

    # A branch that also treats 基本满意 (3) as a 差评 says so in its rules.
    with db.write() as s:
        set_policy(s, values={"bad_rating_max_score": 3}, branch_id=world.branch_id)
    pin(NOW + timedelta(minutes=20))
    kiosk.submit_tap(ctx, device_token=world.device_token, idempotency_key=key(), score=3, staff_no=None)
    assert [c.score for c in cases(db)] == [2, 3]


def test_a_flagged_press_opens_no_case(ctx, db, world):
    kiosk.submit_tap(ctx, device_token=world.device_token, idempotency_key=key(), score=1, staff_no=None)
    pin(NOW + timedelta(seconds=1))  # faster than the policy's minimum interval: misuse, flagged
    kiosk.submit_tap(ctx, device_token=world.device_token, idempotency_key=key(), score=1, staff_no=None)
    with db.read() as s:
        flags = [r.flagged for r in s.exec(select(Rating).order_by(Rating.created_at)).all()]
    assert flags == [False, True]
    assert len(cases(db)) == 1


def test_a_phone_rating_through_a_badge_opens_one_case(ctx, db, world):
    token, tap = qr_token(db, world.staff_no), key()
    first = kiosk.submit_phone_tap(ctx, qr_token=token, phone_id="phone-1", idempotency_key=tap, score=2)
    again = kiosk.submit_phone_tap(ctx, qr_token=token, phone_id="phone-1", idempotency_key=tap, score=2)
    assert first == again and ratings(db) == 1
    [case] = cases(db)
    assert (case.rating_id, case.channel, case.staff_id, case.counter_id) == (
        first,
        "qr",
        world.staff_id,
        None,
    )
    # The same phone rating the same person again inside the window: kept, flagged, no case.
    pin(NOW + timedelta(minutes=5))
    kiosk.submit_phone_tap(ctx, qr_token=token, phone_id="phone-1", idempotency_key=key(), score=1)
    assert ratings(db) == 2 and len(cases(db)) == 1


def test_an_integration_rating_opens_one_case_and_a_replay_none(ctx, db, world):
    client = TestClient(create_app(ctx, scheduler=False))
    headers = {"Authorization": f"Bearer {world.device_token}", "Idempotency-Key": key()}
    body = {"staff": world.staff_no, "score": 1}
    first = client.post("/api/v1/ratings", json=body, headers=headers)
    again = client.post("/api/v1/ratings", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    [case] = cases(db)
    assert str(case.rating_id) == first.json()["id"] and case.staff_id == world.staff_id


def test_a_formal_complaint_about_the_rating_joins_its_case(ctx, db, world):
    rating_id = kiosk.submit_tap(
        ctx, device_token=world.device_token, idempotency_key=key(), score=1, staff_no=None
    )
    filing = key()
    filed = kiosk.submit_complaint(
        ctx, idempotency_key=filing, form=FORM, device_token=world.device_token, rating_id=rating_id
    )
    assert filed is not None
    # Retried: the same complaint, still one case.
    kiosk.submit_complaint(
        ctx, idempotency_key=filing, form=FORM, device_token=world.device_token, rating_id=rating_id
    )
    with db.read() as s:
        [complaint] = s.exec(select(Complaint)).all()
    [case] = cases(db)
    assert (case.rating_id, case.complaint_id) == (rating_id, complaint.id)


def test_a_complaint_without_a_bad_rating_opens_no_case(ctx, db, world):
    filed = kiosk.submit_complaint(ctx, idempotency_key=key(), form=FORM, device_token=world.device_token)
    assert filed is not None and cases(db) == []
