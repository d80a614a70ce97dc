"""Issue 15, Done when 2: a case for every 差评, opened exactly once per rating from each channel
that takes ratings (a counter tablet, a phone through a badge, an integration's
``POST /api/v1/ratings``, the caller's rating typed into the hotline form), also when the request
is retried with the same idempotency key; none for a flagged press or a rating above the policy's
line; a formal complaint about the same rating joins its case. Runs on SQLite, and on PostgreSQL
where RAPPORT_TEST_DATABASE_URL is set."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import func, select
from starlette.testclient import TestClient

from admin import hotline
from kiosk import backend as kiosk
from models import auth
from models.audit import AuditEvent
from models.cases import CaseStatus, RatingCase
from models.clock import pin
from models.complaint import Complaint
from models.crypto import hash_secret
from models.errors import IdempotencyConflict
from models.org import Staff
from models.policy import set_policy
from models.rating import Rating
from rapport.entry.server import create_app

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
    pin(NOW)  # again: setting up the database (PostgreSQL) may take longer than the interval
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


def hotline_token(ctx, db) -> str:
    """The branch A supervisor, signed in to the admin app, who takes the call; the clock stands still."""
    ctx.clock = lambda: NOW
    with db.write() as s:
        boss = s.exec(select(Staff).where(Staff.employee_no == "S1")).one()
        boss.password_hash = hash_secret("correct horse 42")
        s.add(boss)
        s.commit()
        return auth.authenticate(s, login="S1", password="correct horse 42", client="10.0.0.9", now=NOW)[1]


def call(**fields) -> dict:
    return {**FORM, "description": "来电：柜员态度很差。", "locale": "zh-CN", **fields}


def test_a_hotline_bad_rating_opens_one_case_joined_by_its_complaint_and_a_retry_opens_no_second(
    ctx, db, world
):
    token, filing = hotline_token(ctx, db), key()
    form = call(staff_no=world.staff_no, counter_id=str(world.counter_id), score="2")
    first = hotline.record_hotline_complaint(ctx, token, form=form, idempotency_key=filing)
    again = hotline.record_hotline_complaint(ctx, token, form=form, idempotency_key=filing)
    assert first == again and ratings(db) == 1
    with db.read() as s:
        [rating] = s.exec(select(Rating)).all()
        [complaint] = s.exec(select(Complaint)).all()
        [typed] = s.exec(select(AuditEvent).where(AuditEvent.action == "complaint.hotline")).all()
    assert (rating.channel, rating.score, rating.counted, rating.flagged, rating.created_at) == (
        "hotline", 2, True, False, NOW,
    )  # fmt: skip
    assert (rating.branch_id, rating.counter_id, rating.staff_id) == (
        world.branch_id, world.counter_id, world.staff_id,
    )  # fmt: skip
    [case] = cases(db)
    assert (case.rating_id, case.complaint_id, case.channel, case.score, case.status, case.opened_at) == (
        rating.id, complaint.id, "hotline", 2, CaseStatus.pending, NOW,
    )  # fmt: skip
    assert (complaint.id, complaint.rating_id, complaint.channel) == (first[0], rating.id, "hotline")
    assert typed.details == {"rating_id": str(rating.id), "score": 2}, "who typed the rating in"

    with pytest.raises(IdempotencyConflict):  # the same key for a different call
        hotline.record_hotline_complaint(ctx, token, form=call(score="1"), idempotency_key=filing)
    assert ratings(db) == 1 and len(cases(db)) == 1


def test_a_hotline_rating_of_4_opens_none_and_a_form_without_a_rating_stores_no_rating(ctx, db, world):
    token = hotline_token(ctx, db)
    good = hotline.record_hotline_complaint(ctx, token, form=call(score="4"), idempotency_key=key())
    with db.read() as s:
        [rating] = s.exec(select(Rating)).all()
        complaint = s.get(Complaint, good[0])
    assert (rating.channel, rating.score, rating.counted) == ("hotline", 4, True)
    assert complaint is not None and complaint.rating_id == rating.id and cases(db) == []

    filing = key()
    none = hotline.record_hotline_complaint(ctx, token, form=call(), idempotency_key=filing)
    with db.read() as s:
        complaint = s.get(Complaint, none[0])
    assert complaint is not None and complaint.rating_id is None
    assert ratings(db) == 1 and cases(db) == []

    # The form changed under the same key (a 差评 added after an answer was lost): the complaint
    # refuses the different call, and the rating and case stored in its transaction go with it.
    with pytest.raises(IdempotencyConflict):
        hotline.record_hotline_complaint(ctx, token, form=call(score="1"), idempotency_key=filing)
    assert ratings(db) == 1 and cases(db) == []
