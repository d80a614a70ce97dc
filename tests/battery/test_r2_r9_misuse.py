"""R2: the same idempotency key with a different body is refused clearly and stores nothing — over
the HTTP API, a counter tap and a complaint.
R9: one kiosk pressed 100 times in a minute keeps every press but counts only those outside the
minimum interval; one badge used from one phone 20 times is throttled."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import func, select
from starlette.testclient import TestClient

from kiosk import backend as kiosk
from models.clock import utcnow
from models.complaint import Complaint
from models.errors import IdempotencyConflict, RatingThrottled
from models.org import Staff
from models.policy import effective_policy
from models.rating import Rating
from rapport.entry.server import create_app


def count(db, model) -> int:  # type: ignore[no-untyped-def]
    with db.read() as s:
        return s.exec(select(func.count()).select_from(model)).one()


def test_r2_http_same_key_other_body_is_409_naming_the_header_and_stores_nothing(ctx, world, db):
    client = TestClient(create_app(ctx, scheduler=False))
    headers = {"Authorization": f"Bearer {world.device_token}", "Idempotency-Key": "ticket-42"}
    assert client.post("/api/v1/ratings", json={"score": 5}, headers=headers).status_code == 201
    for other in ({"score": 1}, {"score": 5, "comment": "改了"}, {"score": 5, "reasons": ["2.2.1"]}):
        r = client.post("/api/v1/ratings", json=other, headers=headers)
        assert r.status_code == 409
        error = r.json()["error"]
        assert error["code"] == "idempotency_conflict" and error["field"] == "Idempotency-Key"
        assert "different" in error["message"] or "Idempotency-Key" in error["message"]
    assert count(db, Rating) == 1


def test_r2_counter_tap_and_complaint_reuse_of_a_key_is_refused(ctx, world, db):
    kiosk.submit_tap(ctx, device_token=world.device_token, idempotency_key="tap-1", score=4, staff_no=None)
    with pytest.raises(IdempotencyConflict):
        kiosk.submit_tap(
            ctx, device_token=world.device_token, idempotency_key="tap-1", score=1, staff_no=None
        )
    form = {"category": "2.2.1", "description": "柜员态度不好。"}
    kiosk.submit_complaint(ctx, idempotency_key="c-1", form=form, device_token=world.device_token)
    with pytest.raises(IdempotencyConflict):
        kiosk.submit_complaint(
            ctx,
            idempotency_key="c-1",
            form={**form, "description": "换了内容"},
            device_token=world.device_token,
        )
    assert (count(db, Rating), count(db, Complaint)) == (1, 1)


def test_r9_a_hundred_presses_in_a_minute_are_kept_and_only_spaced_ones_count(ctx, world, db):
    with db.read() as s:
        policy = effective_policy(s, world.branch_id)
    t0 = utcnow()
    for i in range(100):  # one press every 0.6 s
        at = t0 + timedelta(milliseconds=600 * i)
        ctx.clock = lambda at=at: at  # type: ignore[method-assign]
        kiosk.submit_tap(
            ctx, device_token=world.device_token, idempotency_key=f"p{i}", score=1, staff_no=None
        )
    with db.read() as s:
        rows = s.exec(select(Rating).order_by(Rating.created_at)).all()  # type: ignore[arg-type]
    assert len(rows) == 100  # nothing thrown away
    counted = [r for r in rows if r.counted]
    # Presses inside the minimum interval, and beyond the burst limit, are kept but flagged.
    assert all(r.flagged and r.flag_reason in ("too_soon", "burst") for r in rows if not r.counted)
    assert 1 <= len(counted) <= 60 / policy.min_press_interval_seconds + 1
    assert rows[0].counted and not rows[1].counted


def test_r9_one_phone_using_one_badge_twenty_times_is_throttled(ctx, world, db):
    with db.read() as s:
        token = s.exec(select(Staff.qr_token).where(Staff.employee_no == world.staff_no)).one()
        limit = effective_policy(s, world.branch_id).qr_max_presses_per_hour
    t0 = utcnow()
    outcomes = []
    for i in range(20):
        at = t0 + timedelta(seconds=30 * i)
        ctx.clock = lambda at=at: at  # type: ignore[method-assign]
        try:
            kiosk.submit_phone_tap(ctx, qr_token=token, phone_id="phone-1", idempotency_key=f"q{i}", score=1)
            outcomes.append("stored")
        except RatingThrottled:
            outcomes.append("throttled")
    assert outcomes[:limit] == ["stored"] * limit
    assert set(outcomes[limit:]) == {"throttled"}
    with db.read() as s:
        rows = s.exec(select(Rating)).all()
    assert len(rows) == limit
    assert sum(r.counted for r in rows) == 1  # one counted rating per phone, person and window
