"""Live alerts: raised once per situation, and pushed to the right supervisors at once."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import func, select

from kiosk import backend as kiosk_backend
from models.alerts import Alert, AlertKind, is_negative_burst, sweep_overdue
from models.clock import utcnow
from models.complaint import ComplaintCreate, file_complaint
from models.policy import PolicyValues
from models.rating import Channel
from rapport.usecases.alerting import after_complaint, overdue_sweep

POLICY = PolicyValues()


def test_a_burst_needs_enough_ratings_and_enough_of_them_low():
    assert not is_negative_burst([1, 1, 1], POLICY)  # only three ratings
    assert is_negative_burst([1, 2, 5, 4], POLICY)  # half of four
    assert not is_negative_burst([1, 5, 5, 4], POLICY)


def alerts(db) -> list[Alert]:
    with db.read() as s:
        return list(s.exec(select(Alert).order_by(Alert.id)).all())  # type: ignore[arg-type]


def tap(ctx, world, score: int, key: str) -> None:
    kiosk_backend.submit_tap(
        ctx, device_token=world.device_token, idempotency_key=key, score=score, staff_no=None
    )


def test_low_scores_at_one_counter_raise_one_burst_alert(ctx, db, world):
    # One alert per counter and 15-minute bucket: start a minute into the current bucket, so the
    # 50 s of taps never straddle two (from the wall clock's now, a run crossing :00/:15/:30/:45
    # raised two alerts).
    window = timedelta(minutes=PolicyValues().burst_alert_window_minutes).total_seconds()
    now = utcnow().timestamp()
    start = datetime.fromtimestamp(now - now % window + 60, tz=UTC)
    for i, score in enumerate([1, 5, 2, 1, 1, 2]):
        ctx.clock = lambda i=i: start + timedelta(seconds=10 * i)  # outside the misuse interval
        tap(ctx, world, score, f"b{i}")
    raised = alerts(db)
    assert [(a.kind, a.counter_id) for a in raised] == [(AlertKind.negative_burst, world.counter_id)]


def file(db, world, category: str, key: str, now=None) -> int:
    with db.write() as s:
        c, _code, _ = file_complaint(
            s, idempotency_key=key, data=ComplaintCreate(category=category, description="x"),
            channel=Channel.kiosk, branch_id=world.branch_id, now=now,
        )  # fmt: skip
        assert c.id is not None
        return c.id


def test_a_high_severity_complaint_raises_one_alert_and_a_normal_one_none(ctx, db, world):
    high = file(db, world, "2.1.2", "h")  # integrity: high severity by policy
    normal = file(db, world, "2.2.1", "n")
    assert after_complaint(ctx, complaint_id=high) is not None
    assert after_complaint(ctx, complaint_id=high) is None  # the same situation again
    assert after_complaint(ctx, complaint_id=normal) is None
    assert [(a.kind, a.complaint_id) for a in alerts(db)] == [(AlertKind.high_complaint, high)]


def test_the_overdue_sweep_alerts_once_per_complaint(ctx, db, world):
    late = file(db, world, "2.2.1", "late", now=utcnow() - timedelta(days=30))
    file(db, world, "2.2.2", "fresh")
    assert overdue_sweep(ctx) == 1
    assert overdue_sweep(ctx) == 0
    with db.write() as s:
        assert sweep_overdue(s) == []
    assert [(a.kind, a.complaint_id) for a in alerts(db)] == [(AlertKind.overdue, late)]


async def test_an_alert_reaches_subscribers_of_its_branch_only(ctx, db, world):
    mine: list[int] = []
    theirs: list[int] = []

    async def on_mine(alert):
        mine.append(alert.complaint_id)

    async def on_theirs(alert):
        theirs.append(alert.complaint_id)

    ctx.alerts.subscribe([world.branch_id], on_mine)
    ctx.alerts.subscribe([world.other_branch_id], on_theirs)
    high = file(db, world, "2.1.3", "h2")
    # Raised in a worker thread, as the kiosk does; delivered on this event loop.
    await asyncio.to_thread(after_complaint, ctx, complaint_id=high)
    for _ in range(20):
        if mine:
            break
        await asyncio.sleep(0.01)
    assert mine == [high] and theirs == []
    with db.read() as s:
        assert s.exec(select(func.count()).select_from(Alert)).one() == 1


@pytest.mark.parametrize("share", [0.0, 1.5])
def test_policy_refuses_an_impossible_burst_share(share):
    with pytest.raises(ValueError):
        PolicyValues(burst_alert_low_share=share)
