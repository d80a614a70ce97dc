"""Rating intake under concurrency (issue #7): what the faster intake path must still guarantee.

* Two requests racing with one Idempotency-Key get one row, both answered with it (201 and 200);
  with different bodies, one rating and one 409. The database decides (unique key), on a real
  SQLite file with several connections and on PostgreSQL.
* SQLite writers of this process queue on a first-come, first-served lock that passes straight to
  the next writer, is released when a transaction fails, and never makes a thread wait on itself.
* One API request is one write transaction (device, rating and answer), acknowledged after its
  commit; a refused rating stores nothing but still marks the device as seen.
* The kiosk's welcome screen reads without taking the write lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, SQLModel, func, select
from starlette.testclient import TestClient

from kiosk.backend import load_counter
from models.catalog import ConductClause, load_catalog
from models.clock import utcnow
from models.devices import LAST_SEEN_RESOLUTION, find_device
from models.errors import IdempotencyConflict
from models.intake import rate_at_device
from models.org import Device
from models.policy import effective_policy
from models.rating import (
    Channel,
    Rating,
    RatingCreate,
    decide_kiosk_flag,
    kiosk_flag,
    submit_rating,
)
from rapport.core.db import BUSY_TIMEOUT_MS, Database, WriteLock, make_engine, write_lock_for
from rapport.entry.server import create_app
from tests.conftest import BACKENDS


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path) -> Iterator[Database]:  # type: ignore[no-untyped-def]
    """A database that real threads can race on: an SQLite *file* (separate connections, WAL),
    or the PostgreSQL test database."""
    if request.param == "sqlite":
        database = Database.from_url(f"sqlite:///{tmp_path / 'race.db'}")
        SQLModel.metadata.create_all(database.engine)
    else:
        database = Database.from_url(request.getfixturevalue("pg_template"))
        tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
        with database.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    with database.write() as session:
        load_catalog(session)
    yield database
    database.dispose()


def _race(n: int, fn) -> list[object]:  # type: ignore[no-untyped-def]
    """Run ``fn(i)`` in ``n`` threads released at the same moment; results (or exceptions) by i."""
    start = threading.Barrier(n)
    results: list[object] = [None] * n

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = fn(i)
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=30)
    return results


def _rows(db: Database, key: str) -> int:
    with db.read() as s:
        return s.exec(select(func.count()).select_from(Rating).where(Rating.idempotency_key == key)).one()


def _submit(db: Database, world, key: str, score: int) -> tuple[str, bool]:  # type: ignore[no-untyped-def]
    with db.write() as s:
        rating, created = submit_rating(
            s, idempotency_key=key, data=RatingCreate(score=score), channel=Channel.kiosk,
            branch_id=world.branch_id, staff_id=world.staff_id, counter_id=world.counter_id,
        )  # fmt: skip
        return str(rating.id), created


def test_racing_retries_of_one_rating_store_one_row_and_all_get_it(db, world):
    for round_ in range(5):
        key = f"race-{round_}"
        results = _race(4, lambda _i, key=key: _submit(db, world, key, 4))
        assert not [r for r in results if isinstance(r, Exception)], results
        ids = {r[0] for r in results}  # type: ignore[index]
        assert len(ids) == 1, "every caller is answered with the one stored rating"
        assert sorted(r[1] for r in results) == [False, False, False, True]  # type: ignore[index]
        assert _rows(db, key) == 1


def test_racing_different_ratings_under_one_key_store_one_and_refuse_the_rest(db, world):
    results = _race(3, lambda i: _submit(db, world, "same-key", 1 + i))
    stored = [r for r in results if isinstance(r, tuple)]
    refused = [r for r in results if isinstance(r, IdempotencyConflict)]
    assert len(stored) == 1 and stored[0][1] is True and len(refused) == 2, results
    assert _rows(db, "same-key") == 1
    with db.read() as s:
        score = s.exec(select(Rating.score).where(Rating.idempotency_key == "same-key")).one()
    assert score == 1 + results.index(stored[0])  # the row is the winner's, not a mix


def test_a_retry_stays_a_retry_after_its_reason_was_retired(db, world):
    body = RatingCreate(score=2, reasons=["2.2.1"])
    with db.write() as s:
        first, created = submit_rating(
            s, idempotency_key="k-retired", data=body, channel=Channel.kiosk, branch_id=world.branch_id
        )
        assert created
        clause = s.exec(select(ConductClause).where(ConductClause.code == "2.2.1")).one()
        clause.active = False
        s.add(clause)
        s.commit()
    with db.write() as s:
        again, created = submit_rating(
            s, idempotency_key="k-retired", data=body, channel=Channel.kiosk, branch_id=world.branch_id
        )
    assert (again.id, created) == (first.id, False)
    assert _rows(db, "k-retired") == 1


def test_a_new_rating_is_returned_as_stored_and_can_be_changed_in_its_session(db, world):
    with db.write() as s:
        rating, created = submit_rating(
            s, idempotency_key="k-obj", data=RatingCreate(score=5, comment="好"), channel=Channel.kiosk,
            branch_id=world.branch_id, staff_id=world.staff_id,
        )  # fmt: skip
        assert created and rating in s and not s.dirty
        rating.comment = "很好"
        s.commit()
    with db.read() as s:
        stored = s.get(Rating, rating.id)
        assert stored is not None and stored.comment == "很好" and stored.score == 5


# --- the SQLite write lock -----------------------------------------------------------------------


def sqlite_only(db: Database) -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the in-process write lock is for SQLite only; PostgreSQL keeps row locks")


def test_the_write_lock_is_released_when_a_transaction_fails(db, world):
    sqlite_only(db)
    lock = write_lock_for(db.engine)
    assert lock is not None
    with pytest.raises(RuntimeError), db.write() as s:
        s.execute(text("UPDATE device SET label = 'x'"))
        assert lock.owner == threading.get_ident()
        raise RuntimeError("the service failed half-way")
    assert lock.owner is None
    # Another thread can write at once (it would wait BUSY_TIMEOUT_MS if the lock had leaked).
    t0 = time.perf_counter()
    assert _race(1, lambda _i: _submit(db, world, "after-failure", 3))[0][1] is True  # type: ignore[index]
    assert time.perf_counter() - t0 < BUSY_TIMEOUT_MS / 1000 / 2
    with db.read() as s:
        assert all(d.label != "x" for d in s.exec(select(Device)).all())


BAD_COUNTER = "INSERT INTO counter (branch_id, code, name_zh, name_en, active) VALUES (999, 'X', 'x', 'x', 1)"


def test_a_failed_commit_releases_the_write_lock(db, world):
    sqlite_only(db)
    lock = write_lock_for(db.engine)
    with pytest.raises(Exception), db.write() as s:  # noqa: B017 - any database error will do
        s.execute(text(BAD_COUNTER))
        s.commit()  # the foreign key fails
    assert lock is not None and lock.owner is None


def test_writers_take_turns_in_arrival_order():
    lock = WriteLock()
    assert lock.acquire(timeout=1)
    order: list[int] = []
    threads = []
    for i in range(5):
        th = threading.Thread(target=lambda i=i: (lock.acquire(timeout=5), order.append(i), lock.release()))
        th.start()
        threads.append(th)
        time.sleep(0.02)  # each one queued before the next arrives
    lock.release()
    for th in threads:
        th.join(timeout=5)
    assert order == [0, 1, 2, 3, 4]
    assert lock.owner is None


def test_a_waiting_writer_gives_up_after_the_busy_timeout_and_keeps_no_place():
    lock = WriteLock()
    assert lock.acquire(timeout=1)
    assert _race(1, lambda _i: lock.acquire(timeout=0.05)) == [False]
    lock.release()
    assert lock.owner is None and lock.acquire(timeout=0.05)


def _handover_delay(db: Database, attempt: int) -> float:
    """Seconds from one writer's commit to the start of the writer that waited for it."""
    committed = threading.Event()
    began: list[float] = []
    done_at: list[float] = []

    def holder() -> None:
        with db.write() as s:
            s.execute(text("UPDATE device SET label = :l"), {"l": f"held-{attempt}"})
            committed.set()
            time.sleep(0.25)  # SQLite's busy handler would be asleep for 100 ms at a time by now
            s.commit()
            done_at.append(time.perf_counter())

    def waiter() -> None:
        committed.wait()
        with db.write() as s:
            s.execute(text("SELECT 1"))
            began.append(time.perf_counter())
            s.commit()

    threads = [threading.Thread(target=holder), threading.Thread(target=waiter)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=10)
    return began[0] - done_at[0]


def test_a_waiting_writer_starts_as_soon_as_the_lock_is_freed(db, world):
    """SQLite's busy handler would wake the second writer up to 100 ms late; the queue hands over."""
    sqlite_only(db)
    delays = [_handover_delay(db, attempt) for attempt in range(3)]
    assert sorted(delays)[1] < 0.04, delays


def test_a_write_session_inside_another_on_the_same_thread_fails_instead_of_hanging(db, tmp_path):
    """The lock does not wait for its own holder: SQLite refuses the inner writer as it always did
    (here after a 100 ms busy timeout), instead of the thread waiting 10 s on itself."""
    sqlite_only(db)
    inner_db = Database(make_engine(f"sqlite:///{tmp_path / 'race.db'}"))
    event.listen(inner_db.engine, "connect", lambda conn, _rec: conn.execute("PRAGMA busy_timeout=100"))
    t0 = time.perf_counter()
    with db.write() as outer:
        outer.execute(text("UPDATE device SET label = 'outer'"))
        with pytest.raises(OperationalError, match="locked"), inner_db.write() as inner:
            inner.execute(text("SELECT 1"))
        outer.commit()
    assert time.perf_counter() - t0 < 2
    assert write_lock_for(db.engine).owner is None  # type: ignore[union-attr]
    inner_db.dispose()


# --- one transaction per API request ---------------------------------------------------------------


def _traced(db: Database, session: Session | None = None) -> list[str]:
    """Every statement SQLite runs from now on, as SQLite reports it: the intake's prepared
    statements go to the driver directly (models/prepared.py), past SQLAlchemy's statement events.
    The test database is in memory: one connection (StaticPool) serves every session, so it is
    taken from ``session`` when one is open (checking it out again would roll that session back)."""
    seen: list[str] = []
    if session is not None:
        raw = session.connection().connection.dbapi_connection
    else:
        with db.engine.connect() as conn:
            raw = conn.connection.dbapi_connection
    assert raw is not None
    raw.set_trace_callback(seen.append)  # type: ignore[attr-defined]
    return seen


def _words(traced: list[str]) -> list[str]:
    """The first word (BEGIN, INSERT, UPDATE, COMMIT, ...) of each traced statement."""
    return [sql.split()[0].upper() for sql in traced]


def _post(client: TestClient, token: str, key: str, body: dict) -> object:  # type: ignore[type-arg]
    return client.post(
        "/api/v1/ratings", json=body, headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key}
    )


def test_an_api_rating_is_one_write_transaction_with_the_device_seen_in_it(db, world, ctx):
    sqlite_only(db)
    client = TestClient(create_app(ctx))
    seen = _traced(db)
    r = _post(client, world.device_token, "one-tx", {"score": 4})
    assert r.status_code == 201 and r.json()["staff"] == world.staff_no
    assert _words(seen).count("BEGIN") == 1 and "INSERT" in _words(seen)
    with db.read() as s:
        device = find_device(s, world.device_token)
        assert device.last_seen_at is not None  # moved in that same transaction
    seen.clear()
    again = _post(client, world.device_token, "one-tx", {"score": 4})
    assert again.status_code == 200 and again.json() == r.json()
    assert _words(seen).count("BEGIN") == 1


def test_a_refused_api_rating_stores_nothing_but_the_device_is_seen(db, world, ctx):
    client = TestClient(create_app(ctx))
    with db.write() as s:
        device = find_device(s, world.device_token)
        device.last_seen_at = utcnow() - LAST_SEEN_RESOLUTION * 5
        s.add(device)
        s.commit()
    r = _post(client, world.device_token, "bad-reason", {"score": 1, "reasons": ["9.9.9"]})
    assert r.status_code == 422 and r.json()["error"]["field"] == "reasons"
    with db.read() as s:
        assert s.exec(select(func.count()).select_from(Rating)).one() == 0
        seen_at = find_device(s, world.device_token).last_seen_at
        assert seen_at is not None and utcnow() - seen_at < timedelta(minutes=1)


def test_concurrent_api_clients_are_all_answered_once_each(db, world, ctx):
    client = TestClient(create_app(ctx))
    results = _race(8, lambda i: _post(client, world.device_token, f"api-{i % 4}", {"score": 5}))
    codes = sorted(r.status_code for r in results)  # type: ignore[attr-defined]
    assert codes == [200] * 4 + [201] * 4
    for k in range(4):
        ids = {r.json()["id"] for i, r in enumerate(results) if i % 4 == k}  # type: ignore[attr-defined]
        assert len(ids) == 1 and _rows(db, f"api-{k}") == 1


# --- kiosk reads ----------------------------------------------------------------------------------


def test_the_welcome_screen_reads_without_the_write_lock_unless_the_device_is_due(db, world, ctx):
    sqlite_only(db)
    load_counter(ctx, world.device_token)  # first sight: marks the device as seen
    seen = _traced(db)
    place = load_counter(ctx, world.device_token)
    assert place.staff is not None and place.staff.employee_no == world.staff_no
    assert "UPDATE" not in _words(seen) and _words(seen).count("BEGIN") == 1  # one deferred read
    with db.write() as s:
        device = find_device(s, world.device_token)
        device.last_seen_at = utcnow() - LAST_SEEN_RESOLUTION * 2
        s.add(device)
        s.commit()
    seen.clear()
    load_counter(ctx, world.device_token)
    assert _words(seen).count("UPDATE") == 1
    with db.read() as s:
        seen_at = find_device(s, world.device_token).last_seen_at
        assert seen_at is not None and utcnow() - seen_at < timedelta(minutes=1)


def test_the_kiosk_flag_reads_a_bounded_number_of_presses_and_decides_as_before(db, world):
    now = utcnow()
    with db.write() as s:
        device = find_device(s, world.device_token)
        assert device.id is not None
        policy = effective_policy(s, world.branch_id)
        for i in range(policy.burst_max_presses * 3):
            rate_at_device(
                s, device=device, idempotency_key=f"burst-{i}", data=RatingCreate(score=5),
                now=now - timedelta(seconds=policy.burst_window_seconds / 2) + timedelta(milliseconds=i),
            )  # fmt: skip
        fetched = _traced(db, s) if db.engine.dialect.name == "sqlite" else None
        flag = kiosk_flag(s, device_id=device.id, now=now, policy=policy)
        if fetched is not None:
            assert any("FROM rating" in sql and "LIMIT" in sql for sql in fetched), fetched
        everything = s.exec(select(Rating.created_at).where(Rating.device_id == device.id)).all()
        ages = sorted((now - at for at in everything), key=lambda a: a)
        assert flag == decide_kiosk_flag(ages, policy) and flag is not None
