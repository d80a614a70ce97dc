"""Group commit on SQLite (rapport/core/group_write.py): requests waiting to be stored share one
transaction, each in a savepoint of its own, and are answered only once that transaction is durable.

What a client relies on: an answer means the rating is stored (never before the commit); one
request's failure is its own (the others in the group are stored and answered); a commit that
fails stores none of the group and tells each of them; the API's answers are the same as when each
rating was its own transaction (201, 200 for a retry, 401, 409, 422), the device seen even on a
refusal.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel, func, select
from starlette.testclient import TestClient

import rapport.core.group_write as group_write
from models.catalog import load_catalog
from models.clock import utcnow
from models.devices import LAST_SEEN_RESOLUTION, find_device
from models.rating import Rating
from rapport.core.db import Database
from rapport.core.group_write import GroupWriter
from rapport.entry.server import create_app


@pytest.fixture
def db(tmp_path) -> Iterator[Database]:  # type: ignore[no-untyped-def]
    """An SQLite file (the group writer with savepoints is SQLite's), with the scratch tables."""
    database = Database.from_url(f"sqlite:///{tmp_path / 'group.db'}")
    SQLModel.metadata.create_all(database.engine)
    scratch_tables(database)
    yield database
    database.dispose()


def scratch_tables(database: Database, *, key: str = "INTEGER PRIMARY KEY") -> None:
    """Two scratch tables, made anew: ``note``, and ``child``, whose foreign key is checked only at
    COMMIT (a way to make a commit fail on purpose); then the catalogue (the ratings need it)."""
    with database.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS child"))
        conn.execute(text("DROP TABLE IF EXISTS note"))
        conn.execute(text(f"CREATE TABLE note (id {key}, body TEXT NOT NULL)"))
        conn.execute(
            text(
                "CREATE TABLE child (id INTEGER PRIMARY KEY, note_id INTEGER NOT NULL"
                " REFERENCES note (id) DEFERRABLE INITIALLY DEFERRED)"
            )
        )
    with database.write() as session:
        load_catalog(session)


def _note(body: str) -> Callable[[Any], str]:
    def work(conn: Any) -> str:
        conn.cursor().execute("INSERT INTO note (body) VALUES (?)", (body,))
        return body

    return work


def _notes(db: Database) -> list[str]:
    with db.engine.connect() as conn:
        return [row[0] for row in conn.execute(text("SELECT body FROM note ORDER BY id"))]


async def _gather(futures: list[asyncio.Future[Any]]) -> list[Any]:
    return await asyncio.wait_for(asyncio.gather(*futures, return_exceptions=True), timeout=20)


def _holding(writer: GroupWriter, release: threading.Event) -> asyncio.Future[Any]:
    """Queue a request that keeps the writer busy until ``release`` is set: what is submitted
    meanwhile waits, and forms the next group."""

    def hold(conn: Any) -> str:
        assert release.wait(20)
        return "held"

    return writer.submit(hold)


async def _as_one_group(writer: GroupWriter, works: list[Callable[[Any], Any]]) -> list[Any]:
    """Submit ``works`` while the writer is kept busy, so that they form one group; their outcomes
    (results or exceptions), in order."""
    release = threading.Event()
    first = _holding(writer, release)
    await asyncio.sleep(0.2)  # the writer has taken the holder and is inside it
    group = [writer.submit(work) for work in works]
    release.set()
    await first
    return await _gather(group)


def test_requests_that_wait_together_are_stored_in_one_commit_and_answered_only_after_it(db):
    writer = GroupWriter(db, name="test-group")

    async def scenario() -> None:
        release = threading.Event()
        first = _holding(writer, release)
        await asyncio.sleep(0.2)  # the writer has taken the first request and is inside it
        waiting = [writer.submit(_note(f"n{i}")) for i in range(5)]
        blocker = threading.Event()

        def slow(conn: Any) -> str:  # in the same group, after the others: the group stays open
            conn.cursor().execute("INSERT INTO note (body) VALUES ('slow')")
            assert blocker.wait(20)
            return "slow"

        waiting.append(writer.submit(slow))
        release.set()
        assert await asyncio.wait_for(first, 20) == "held"
        # n0 is done inside the group, but its group has not committed: no answer yet.
        done, _pending = await asyncio.wait(waiting[:1], timeout=0.3)
        assert not done and _notes(db) == []
        blocker.set()
        assert await _gather(waiting) == ["n0", "n1", "n2", "n3", "n4", "slow"]
        assert _notes(db) == ["n0", "n1", "n2", "n3", "n4", "slow"]  # stored when answered

    asyncio.run(scenario())
    assert writer.committed == (2, 7)  # the holder alone, then the six that waited for it


def test_a_request_that_fails_is_rolled_back_alone_and_the_rest_of_its_group_is_stored(db):
    writer = GroupWriter(db, name="test-group")

    def half_then_fail(conn: Any) -> str:
        conn.cursor().execute("INSERT INTO note (body) VALUES ('half')")
        raise ValueError("refused after writing")

    before, failed, after = asyncio.run(
        _as_one_group(writer, [_note("before"), half_then_fail, _note("after")])
    )
    assert (before, after) == ("before", "after")
    assert isinstance(failed, ValueError) and str(failed) == "refused after writing"
    assert _notes(db) == ["before", "after"]
    assert writer.committed == (2, 4)


def test_a_commit_that_fails_stores_nothing_of_its_group_and_answers_each_with_the_error(db):
    writer = GroupWriter(db, name="test-group")

    def orphan(conn: Any) -> str:  # a row whose foreign key is checked only at COMMIT, and fails it
        conn.cursor().execute("INSERT INTO child (id, note_id) VALUES (1, 999)")
        return "orphan"

    async def scenario() -> list[Any]:
        answers = await _as_one_group(writer, [_note("lost 1"), orphan, _note("lost 2")])
        # The writer goes on: the next request is a group of its own, stored.
        answers.append(await asyncio.wait_for(writer.submit(_note("next")), 20))
        return answers

    *failed, after = asyncio.run(scenario())
    assert all(isinstance(a, sqlite3.IntegrityError) for a in failed) and len(failed) == 3
    assert after == "next"
    assert _notes(db) == ["next"]  # nothing of the failed group
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM child")).scalar() == 0
    assert writer.committed == (2, 2)


def test_the_writer_thread_ends_when_idle_and_starts_again_on_demand(db, monkeypatch):
    # 0: the idle thread ends at once, with no timed wait (libfaketime, which date checks run under, stalls
    # timed waits)
    monkeypatch.setattr(group_write, "IDLE_S", 0)
    writer = GroupWriter(db, name="test-group-idle")

    async def one(body: str) -> str:
        return str(await asyncio.wait_for(writer.submit(_note(body)), 20))

    assert asyncio.run(one("a")) == "a"
    deadline = time.monotonic() + 10
    while any(t.name == "test-group-idle" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not any(t.name == "test-group-idle" for t in threading.enumerate())
    assert asyncio.run(one("b")) == "b"
    assert _notes(db) == ["a", "b"]


# --- through the API ------------------------------------------------------------------------------


def _post(client: TestClient, token: str, key: str, body: dict[str, Any]) -> Any:
    return client.post(
        "/api/v1/ratings", json=body, headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key}
    )


def test_ratings_posted_at_once_each_get_their_own_answer(db, world, ctx):
    ratings_posted_at_once(db, world, ctx)


def ratings_posted_at_once(db: Database, world: Any, ctx: Any) -> None:
    """Six ratings posted in the same moment (tests/integration/test_group_write_each_alone.py runs it
    on PostgreSQL): each its own answer, the device seen, then a retry and a reused key."""
    with db.write() as s:  # the device is due to be marked seen by the first request that names it
        device = find_device(s, world.device_token)
        device.last_seen_at = utcnow() - LAST_SEEN_RESOLUTION * 5
        s.add(device)
        s.commit()
    client = TestClient(create_app(ctx))
    requests = [
        (world.device_token, "ok-1", {"score": 5}),
        (world.device_token, "ok-2", {"score": 4, "staff": world.colleague_no}),
        (world.device_token, "nobody", {"score": 4, "staff": "E404"}),  # 422 staff
        (world.device_token, "bad-reason", {"score": 1, "reasons": ["9.9.9"]}),  # 422 reasons
        ("not-a-device-token", "stranger", {"score": 5}),  # 401
        (world.closed_device_token, "closed", {"score": 3}),  # counter-level feedback: 201
    ]
    start = threading.Barrier(len(requests))
    answers: list[Any] = [None] * len(requests)

    def post(i: int) -> None:
        token, key, body = requests[i]
        start.wait()
        answers[i] = _post(client, token, key, body)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(requests))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=30)
    codes = [a.status_code for a in answers]
    assert codes == [201, 201, 422, 422, 401, 201]
    assert answers[2].json()["error"]["field"] == "staff"
    assert answers[3].json()["error"]["field"] == "reasons"
    assert answers[1].json()["staff"] == world.colleague_no and answers[5].json()["staff"] is None
    with db.read() as s:
        keys = set(s.exec(select(Rating.idempotency_key)).all())
        assert keys == {"ok-1", "ok-2", "closed"}
        seen_at = find_device(s, world.device_token).last_seen_at
        assert seen_at is not None and utcnow() - seen_at < timedelta(minutes=1)
    # A retry and a reused key with another body, in the same moment: 200 with the same rating, 409.
    again = _post(client, world.device_token, "ok-1", {"score": 5})
    other = _post(client, world.device_token, "ok-1", {"score": 1})
    assert again.status_code == 200 and again.json() == answers[0].json()
    assert other.status_code == 409 and other.json()["error"]["field"] == "Idempotency-Key"
    with db.read() as s:
        assert s.exec(select(func.count()).select_from(Rating)).one() == 3
