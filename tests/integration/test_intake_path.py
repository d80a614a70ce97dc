"""The intake's one query (models/intake.py) reads what the separate reads read.

Every counter tap and API rating learns, in one statement, the device, who is on duty, the policy and
the device's recent presses. These tests hold that statement to the plain functions that read each
of those on their own (models.duty.on_duty, models.policy.effective_policy,
models.rating.recent_presses), including when the policy's burst rule changes between two taps.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from models.clock import utcnow
from models.duty import on_duty
from models.intake import device_by_token, take_rating_with_token
from models.policy import effective_policy, set_policy
from models.prepared import driver_of
from models.rating import FlagReason, RatingCreate, recent_presses
from rapport.core.db import Database
from tests.conftest import World


def _tap(db: Database, world: World, key: str, at, score: int = 4):  # type: ignore[no-untyped-def]
    with db.raw_write() as conn:
        return take_rating_with_token(
            conn, db.dialect, token=world.device_token, idempotency_key=key, data=RatingCreate(score=score),
            staff_no=None, now=at,
        )  # fmt: skip


def _known(db: Database, world: World, at):  # type: ignore[no-untyped-def]
    with db.write() as s:
        conn, dialect = driver_of(s)
        known = device_by_token(conn, dialect, world.device_token, now=at)
        policy = effective_policy(s, world.branch_id)
        presses = recent_presses(conn, dialect, device_id=known.device.id, now=at, policy=policy)
        person = on_duty(s, counter_id=known.device.counter_id, at=at)
        staff = (person.id, person.employee_no) if person is not None else None
        s.rollback()  # device_by_token may have moved the device's last_seen_at
    return known, policy, presses, staff


def test_the_one_query_reads_the_device_duty_policy_and_presses_as_the_separate_reads(db, world):
    start = utcnow() - timedelta(minutes=5)
    policy = effective_policy_of(db, world)
    # A first read under this policy makes it the one the query counts presses for (the query
    # counts in the window of the policy last seen; another test may have left a different one).
    _known(db, world, start - timedelta(seconds=1))
    # Presses one second apart: none yet, a few, then more than a burst allows.
    for i in range(policy.burst_max_presses + 3):
        at = start + timedelta(seconds=i)
        known, policy_now, presses, staff = _known(db, world, at)
        assert known.policy == policy_now
        assert known.presses == presses, f"after {i} presses"
        assert known.on_duty == staff and staff is not None
        assert known.device.branch_id == world.branch_id
        _tap(db, world, f"one-query-{i}", at)
    # The last reads saw a full burst: counted up to the policy's maximum, not beyond.
    assert known.presses[0] == policy.burst_max_presses


def test_a_changed_burst_rule_takes_effect_on_the_next_tap(db, world):
    start = utcnow() - timedelta(minutes=5)
    for i in range(3):  # three presses 10 s apart: no flag under the defaults (8 in 60 s)
        taken = _tap(db, world, f"rule-{i}", start + timedelta(seconds=10 * i))
        assert not taken.rating.flagged
    with db.write() as s:
        set_policy(s, values={"burst_max_presses": 3, "burst_window_seconds": 120}, branch_id=world.branch_id)
    taken = _tap(db, world, "rule-3", start + timedelta(seconds=30))
    assert taken.rating.flagged and not taken.rating.counted  # 3 earlier presses in 120 s: a burst
    with db.read() as s:
        assert effective_policy(s, world.branch_id).burst_max_presses == 3
    with db.write() as s:  # back to a wide rule: the next tap, 60 s later, is counted again
        set_policy(s, values={"burst_max_presses": 50, "burst_window_seconds": 10}, branch_id=world.branch_id)
    taken = _tap(db, world, "rule-4", start + timedelta(seconds=90))
    assert not taken.rating.flagged and taken.rating.counted


def test_a_press_too_soon_after_the_last_is_flagged_by_the_one_query(db, world):
    at = utcnow() - timedelta(minutes=1)
    assert not _tap(db, world, "soon-0", at).rating.flagged
    policy = effective_policy_of(db, world)
    soon = at + timedelta(seconds=policy.min_press_interval_seconds) - timedelta(milliseconds=100)
    taken = _tap(db, world, "soon-1", soon)
    assert taken.rating.flagged
    with db.read() as s:
        from models.rating import Rating

        stored = s.get(Rating, taken.rating.id)
        assert stored is not None and stored.flag_reason == FlagReason.too_soon.value


def effective_policy_of(db: Database, world: World):  # type: ignore[no-untyped-def]
    with db.read() as s:
        return effective_policy(s, world.branch_id)


def test_who_is_on_duty_is_read_newest_first_whatever_the_counters_history(db, world):
    """A counter signs people in and out for years; a tap must not read that whole history."""
    if db.dialect.name != "sqlite":
        return  # the plan checked is SQLite's (PostgreSQL's planner has the same index to use)
    from models.intake import _DEVICE

    sql = _DEVICE._compile(db.dialect).sql
    params = _DEVICE._compile(db.dialect).order
    assert params is not None
    with db.read() as s:
        raw = s.connection().connection.dbapi_connection
        assert raw is not None
        plan = [row[3] for row in raw.execute("EXPLAIN QUERY PLAN " + sql, [None] * len(params))]
    duty = [step for step in plan if step.startswith(("SEARCH duty ", "SCAN duty"))]
    assert duty and all("ix_duty_counter_started" in step for step in duty), plan
    assert not any("TEMP B-TREE" in step for step in plan), plan


def test_a_low_rating_says_when_it_makes_its_counters_window_a_negative_burst(db, world):
    """Default policy: at least 4 counted ratings in 15 minutes, at least half of them at 1-2. The
    count is taken in the rating's own transaction, so only the rating that tips it asks for an alert
    (rapport/usecases/alerting.after_rating raises it once, after the commit)."""
    start = utcnow()
    taps = [(5, False), (1, False), (4, False), (2, True), (5, False), (1, True), (4, False), (4, False)]
    for i, (score, burst) in enumerate(taps):
        taken = _tap(db, world, f"nb-{i}", start + timedelta(seconds=30 * i), score=score)
        assert (taken.created, taken.burst) == (True, burst), (i, score)
    # A retry of a stored low rating asks for nothing: its alert, if any, was raised the first time.
    again = _tap(db, world, "nb-3", start + timedelta(seconds=90), score=2)
    assert (again.created, again.burst) == (False, False)
    # Outside the window the early low ratings no longer count.
    late = _tap(db, world, "nb-late", start + timedelta(minutes=20), score=1)
    assert late.burst is False


def test_devices_read_together_are_what_each_token_reads_alone(db, world):
    """A group of API ratings reads its devices in one go (models/intake.py read_devices; on
    PostgreSQL in one round trip): each token's answer is the device query's own, in any order, an
    unknown token reads nothing, and a token of the wrong form is not asked about."""
    from models.errors import DeviceNotAuthorized
    from models.intake import _DEVICE, TOKEN_MAX, _device_params, read_devices

    at = utcnow() - timedelta(minutes=1)
    _tap(db, world, "before-the-read", at - timedelta(seconds=20))  # a press in the window
    tokens = [world.closed_device_token, "no-such-token", world.device_token, "", "x" * (TOKEN_MAX + 1)]
    with db.raw_write() as conn:
        read = read_devices(conn, db.dialect, tokens, now=at)
        assert list(read) == tokens[:3]
        for token in tokens[:3]:
            assert read[token].at == at
            assert read[token].row == _DEVICE.first(conn, db.dialect, _device_params(token, at))
        assert read["no-such-token"].row is None
        assert read[world.device_token].row[9] == 1  # the press before, counted
        known = device_by_token(conn, db.dialect, world.device_token, now=at, read=read[world.device_token])
        assert known.device.counter_id == world.counter_id and known.presses[0] == 1
        assert known.on_duty == (world.staff_id, world.staff_no)
        with pytest.raises(DeviceNotAuthorized, match="unknown or revoked"):
            device_by_token(conn, db.dialect, "no-such-token", now=at, read=read["no-such-token"])
        with pytest.raises(ValueError, match="at the moment it was read for"):
            device_by_token(
                conn,
                db.dialect,
                world.device_token,
                now=at + timedelta(seconds=1),
                read=read[world.device_token],
            )
