"""What a tap's write transaction holds (rapport.core.db.Database.raw_write, models/intake.py).

A tap at a counter and an API rating use a *lazy* write on PostgreSQL: a rating that is the only
write is one statement, committed by the server before it answers (no BEGIN, no COMMIT: two round
trips fewer, docs/PERFORMANCE.md), while a rating that brings a case, a feed record or a
transaction's binding with it, or moves the device's last_seen_at, opens a transaction first so
that all of it commits together or not at all. SQLite ignores ``lazy``: every write there is one
``BEGIN IMMEDIATE`` transaction. The time is pinned (NOW); nothing reads the wall clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, func, select

from models.cases import RatingCase
from models.feed import FeedRecord, switch_off
from models.intake import take_rating_with_token
from models.org import Device
from models.rating import Channel, Rating, RatingCreate
from rapport.core.db import Database
from rapport.core.settings import Settings, apply_feed
from tests.conftest import World

NOW = datetime(2026, 11, 18, 2, 30, tzinfo=UTC)  # a Wednesday, 10:30 in Shanghai


class Boom(Exception):
    """A failure after the rating's statements ran, before the block ends."""


def _seen_now(db: Database) -> None:
    """Every device seen at NOW, so a tap at NOW has no last_seen_at to move (that write has a test
    of its own)."""
    with db.write() as s:
        for device in s.exec(select(Device)).all():
            device.last_seen_at = NOW
        s.commit()


def _stored(db: Database, key: str) -> int:
    with db.read() as s:
        counted = select(func.count()).select_from(Rating).where(col(Rating.idempotency_key) == key)
        return s.exec(counted).one()


def _cases(db: Database) -> int:
    with db.read() as s:
        return s.exec(select(func.count()).select_from(RatingCase)).one()


def _take(conn, db: Database, world: World, key: str, score: int, at: datetime = NOW):  # type: ignore[no-untyped-def]
    return take_rating_with_token(
        conn, db.dialect, token=world.device_token, idempotency_key=key, data=RatingCreate(score=score),
        staff_no=None, now=at,
    )  # fmt: skip


def test_a_bad_rating_and_its_case_are_stored_together_or_not_at_all(db, world):
    _seen_now(db)
    with pytest.raises(Boom), db.raw_write(lazy=True) as conn:
        taken = _take(conn, db, world, "txn-bad-1", score=1)
        assert taken.created
        raise Boom
    assert (_stored(db, "txn-bad-1"), _cases(db)) == (0, 0), "the rating and its case rolled back together"

    with db.raw_write(lazy=True) as conn:
        _take(conn, db, world, "txn-bad-1", score=1)
    assert (_stored(db, "txn-bad-1"), _cases(db)) == (1, 1)


def test_with_the_feed_on_a_good_rating_and_its_feed_record_are_stored_together(db, world):
    apply_feed(
        Settings(
            feed_url="http://127.0.0.1:9/feed",
            feed_region_code="440304",
            feed_department_code="11440300MB2C92162R",
            feed_department_name="政务服务中心",
        )  # fmt: skip
    )
    try:
        _seen_now(db)
        with pytest.raises(Boom), db.raw_write(lazy=True) as conn:
            _take(conn, db, world, "txn-feed-1", score=5)
            raise Boom
        with db.read() as s:
            records = s.exec(select(func.count()).select_from(FeedRecord)).one()
        assert (_stored(db, "txn-feed-1"), records) == (0, 0)
    finally:
        switch_off()


def test_a_moved_last_seen_and_the_rating_are_one_transaction(db, world):
    _seen_now(db)
    later = NOW + timedelta(minutes=5)  # the device's last_seen_at is due to move
    with pytest.raises(Boom), db.raw_write(lazy=True) as conn:
        _take(conn, db, world, "txn-seen-1", score=5, at=later)
        raise Boom
    with db.read() as s:
        seen = {d.last_seen_at for d in s.exec(select(Device)).all()}
    assert seen == {NOW}, "last_seen_at rolled back with the rating"
    assert _stored(db, "txn-seen-1") == 0


def _postgresql_only(db: Database) -> None:
    if db.dialect.name != "postgresql":
        pytest.skip("SQLite ignores lazy: every write there is one BEGIN IMMEDIATE transaction")


def test_on_postgresql_a_lone_rating_is_committed_by_its_one_statement(db, world):
    """Seen from another connection while the block is still open: the lone rating is already there
    (it needed no transaction), the bad rating is not (it opened one for its case)."""
    _postgresql_only(db)
    _seen_now(db)
    with db.raw_write(lazy=True) as conn:
        _take(conn, db, world, "txn-lone-1", score=5)
        assert _stored(db, "txn-lone-1") == 1
        assert conn.info.transaction_status == 0  # idle: nothing left to commit
    with db.raw_write(lazy=True) as conn:
        # 30 s later: not a press too soon (a flagged rating opens no case), last_seen_at not due.
        _take(conn, db, world, "txn-lone-2", score=1, at=NOW + timedelta(seconds=30))
        assert (_stored(db, "txn-lone-2"), _cases(db)) == (0, 0), "not visible before the commit"
    assert (_stored(db, "txn-lone-2"), _cases(db)) == (1, 1)


def test_on_postgresql_the_connection_goes_back_to_the_pool_out_of_autocommit(db, world):
    _postgresql_only(db)
    _seen_now(db)
    with db.raw_write(lazy=True) as conn:
        used = conn
        _take(conn, db, world, "txn-pool-1", score=5)
    assert used.autocommit is False
    # A broken block too: the connection is back in ordinary transactions (or discarded).
    with pytest.raises(Boom), db.raw_write(lazy=True) as conn:
        used = conn
        raise Boom
    assert used.closed or used.autocommit is False
    # And an ordinary write on the pool still rolls back what it does not commit.
    with db.write() as s:
        s.add(
            Rating(
                idempotency_key="txn-pool-2",
                request_hash="x",
                branch_id=world.branch_id,
                score=3,
                channel=Channel.hotline,
                created_at=NOW,
            )
        )
        s.flush()
        s.rollback()
    assert _stored(db, "txn-pool-2") == 0


def test_without_lazy_a_raw_write_is_one_transaction_from_its_first_statement(db, world):
    """The complaint intake and other callers of raw_write keep the ordinary transaction."""
    _seen_now(db)
    with pytest.raises(Boom), db.raw_write() as conn:
        _take(conn, db, world, "txn-plain-1", score=5)
        raise Boom
    assert _stored(db, "txn-plain-1") == 0


def test_the_intakes_kept_connection_is_reused_and_given_back(tmp_path):
    """SQLite keeps one connection out of the pool for raw_write (a sixth of a tap's own cost was the
    pool's checkout and reset): a committed block leaves it for the next, a failed one hands it back
    to the pool, and disposing of the database leaves nothing checked out."""
    db = Database.from_url(f"sqlite:///{tmp_path / 'rapport.db'}")
    pool = db.engine.pool
    with db.raw_write() as conn:
        first = conn
        conn.cursor().execute("CREATE TABLE note (n INTEGER)")
    assert pool.checkedout() == 1, "kept for the next raw_write"  # type: ignore[attr-defined]
    with db.raw_write() as conn:
        assert conn is first, "the committed block's connection, taken again"
        conn.cursor().execute("INSERT INTO note VALUES (1)")
    with pytest.raises(Boom), db.raw_write() as conn:
        conn.cursor().execute("INSERT INTO note VALUES (2)")
        raise Boom
    assert pool.checkedout() == 0, "a failed block's connection went back to the pool"  # type: ignore[attr-defined]
    with db.raw_write() as conn:
        assert conn.cursor().execute("SELECT n FROM note").fetchall() == [(1,)]
    db.dispose()
    assert pool.checkedout() == 0  # type: ignore[attr-defined]
