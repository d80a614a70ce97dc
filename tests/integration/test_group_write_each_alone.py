"""Group commit without savepoints (rapport/core/group_write.py), as PostgreSQL's ``POST /api/v1/ratings``
stores the ratings waiting: one transaction for the group, no savepoint round trips.

What a client relies on, on either database: an answer means the rating is stored (never before the
commit); a request that refuses before writing (an unknown device token) is answered alone and the
rest of its group is stored; any other failure, or a commit that fails, costs nobody else their
answer: the group is rolled back and each of its requests is stored alone, answered exactly as if it
had never been grouped. With two threads, two groups are stored at once (PostgreSQL only: SQLite has
one writer at a time).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Generator, Iterator
from functools import partial
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel, select

from models.cases import RatingCase
from models.errors import DeviceNotAuthorized
from models.rating import FlagReason, Rating, RatingCreate
from rapport.core.db import Database
from rapport.core.group_write import GroupWriter
from rapport.entry.api import rating_writer
from tests.conftest import BACKENDS
from tests.integration.test_group_write import ratings_posted_at_once, scratch_tables


class Refused(Exception):
    """A refusal raised before the request writes anything (as an unknown device token is)."""


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path) -> Iterator[Database]:  # type: ignore[no-untyped-def]
    """The schema plus two scratch tables: ``note``, and ``child``, whose foreign key is checked only
    at COMMIT (a way to make a commit fail on purpose). SQLite as a file (the writer's threads use
    their own connections), or the run's PostgreSQL database, emptied."""
    if request.param == "sqlite":
        database = Database.from_url(f"sqlite:///{tmp_path / 'group.db'}")
        SQLModel.metadata.create_all(database.engine)
        scratch_tables(database)
    else:
        database = Database.from_url(request.getfixturevalue("pg_template"))
        tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
        with database.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        scratch_tables(database, key="SERIAL PRIMARY KEY")
    yield database
    database.dispose()


def _run(db: Database, conn: Any, sql: str, *args: Any) -> None:
    """``sql`` written with ``?`` placeholders, on the driver's cursor of either database."""
    if db.dialect.name != "sqlite":
        sql = sql.replace("?", "%s")
    conn.cursor().execute(sql, args)


def _note(db: Database, body: str) -> Callable[[Any], str]:
    def work(conn: Any) -> str:
        _run(db, conn, "INSERT INTO note (body) VALUES (?)", body)
        return body

    return work


def _notes(db: Database) -> list[str]:
    with db.engine.connect() as conn:
        return [row[0] for row in conn.execute(text("SELECT body FROM note ORDER BY body"))]


def _writer(db: Database, threads: int = 1) -> GroupWriter:
    return GroupWriter(db, name="test-each-alone", savepoints=False, clean=(Refused,), threads=threads)


async def _as_one_group(
    writer: GroupWriter, works: list[Callable[..., Any]], keys: list[Any] | None = None
) -> list[Any]:
    """Submit ``works`` (each with its key of ``keys``, for a writer that reads ahead) while each of
    the writer's threads is kept busy by a request of its own, then free one thread, so that they
    form one group; their outcomes (results or exceptions), in order. Each holder is a group of its
    own (``committed`` counts them)."""
    holders = [threading.Event() for _ in range(writer.threads)]

    def holding(release: threading.Event) -> Callable[..., Any]:
        def hold(conn: Any, *_ahead: Any) -> str:
            assert release.wait(20)
            return "held"

        def hold_in_steps(conn: Any, *_ahead: Any) -> Iterator[None]:  # a writer of requests in steps
            yield from ()
            return hold(conn)

        return hold_in_steps if writer.staged else hold

    held = []
    for release in holders:
        held.append(writer.submit(holding(release)))
        await asyncio.sleep(0.2)  # a thread has taken the holder and is inside it
    group = [
        writer.submit(work, key=key) for work, key in zip(works, keys or [None] * len(works), strict=True)
    ]
    holders[0].set()  # one thread takes every request waiting, as one group
    assert await asyncio.wait_for(held[0], 20) == "held"
    outcomes = await asyncio.wait_for(asyncio.gather(*group, return_exceptions=True), timeout=20)
    for release, holder in zip(holders[1:], held[1:], strict=True):
        release.set()
        assert await asyncio.wait_for(holder, 20) == "held"
    return outcomes


def test_requests_that_wait_together_share_one_commit_and_are_answered_after_it(db):
    writer = _writer(db)
    answered_early: list[bool] = []

    def last(conn: Any) -> str:  # the group's last request: the others are done, not yet committed
        _run(db, conn, "INSERT INTO note (body) VALUES (?)", "n9")
        answered_early.append(any(f.done() for f in futures))
        answered_early.append(_notes(db) != [])  # nothing of the group is visible before its commit
        return "n9"

    futures: list[asyncio.Future[Any]] = []

    async def scenario() -> list[Any]:
        release = threading.Event()

        def hold(conn: Any) -> str:
            assert release.wait(20)
            return "held"

        first = writer.submit(hold)
        await asyncio.sleep(0.2)
        futures.extend(writer.submit(_note(db, f"n{i}")) for i in range(4))
        futures.append(writer.submit(last))
        release.set()
        await asyncio.wait_for(first, 20)
        return await asyncio.wait_for(asyncio.gather(*futures), timeout=20)

    assert asyncio.run(scenario()) == ["n0", "n1", "n2", "n3", "n9"]
    assert answered_early == [False, False]
    assert _notes(db) == ["n0", "n1", "n2", "n3", "n9"]
    assert writer.committed == (2, 6)  # the holder alone, then the five that waited for it
    assert writer.stored_alone == 0


def test_a_refusal_before_writing_is_answered_alone_and_its_group_is_stored_in_one_commit(db):
    writer = _writer(db)

    def refuse(conn: Any) -> str:
        raise Refused("unknown device token")

    before, refused, after = asyncio.run(
        _as_one_group(writer, [_note(db, "before"), refuse, _note(db, "after")])
    )
    assert (before, after) == ("before", "after")
    assert isinstance(refused, Refused) and str(refused) == "unknown device token"
    assert _notes(db) == ["after", "before"]
    assert writer.committed == (2, 4) and writer.stored_alone == 0


def test_a_failure_after_writing_rolls_the_group_back_and_stores_each_request_alone(db):
    writer = _writer(db)

    def half_then_fail(conn: Any) -> str:
        _run(db, conn, "INSERT INTO note (body) VALUES (?)", "half")
        raise ValueError("failed after writing")

    before, failed, after = asyncio.run(
        _as_one_group(writer, [_note(db, "before"), half_then_fail, _note(db, "after")])
    )
    assert (before, after) == ("before", "after")
    assert isinstance(failed, ValueError) and str(failed) == "failed after writing"
    assert _notes(db) == ["after", "before"]  # nothing of the failed request, the others once each
    assert writer.stored_alone == 3
    assert writer.committed == (1, 1)  # only the holder was committed as a group


def test_a_statement_that_fails_is_only_its_own_requests_error(db):
    # On PostgreSQL a failed statement aborts the whole transaction: the other requests of its group
    # could not even run after it. Each is stored alone instead.
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO note (id, body) VALUES (1000, 'taken')"))
    writer = _writer(db)

    def duplicate(conn: Any) -> str:
        _run(db, conn, "INSERT INTO note (id, body) VALUES (?, ?)", 1000, "twice")
        return "twice"

    before, failed, after = asyncio.run(
        _as_one_group(writer, [_note(db, "before"), duplicate, _note(db, "after")])
    )
    assert (before, after) == ("before", "after")
    assert "IntegrityError" in {cls.__name__ for cls in type(failed).__mro__}, failed
    assert _notes(db) == ["after", "before", "taken"]
    assert writer.stored_alone == 3


def test_a_commit_that_fails_stores_the_rest_of_its_group_each_alone(db):
    writer = _writer(db)

    def orphan(conn: Any) -> str:  # a row whose foreign key is checked only at COMMIT, and fails it
        _run(db, conn, "INSERT INTO child (id, note_id) VALUES (?, ?)", 1, 999)
        return "orphan"

    async def scenario() -> list[Any]:
        answers = await _as_one_group(writer, [_note(db, "kept 1"), orphan, _note(db, "kept 2")])
        answers.append(await asyncio.wait_for(writer.submit(_note(db, "next")), 20))  # it goes on
        return answers

    kept_1, failed, kept_2, after = asyncio.run(scenario())
    assert (kept_1, kept_2, after) == ("kept 1", "kept 2", "next")
    assert "IntegrityError" in {cls.__name__ for cls in type(failed).__mro__}, failed
    assert _notes(db) == ["kept 1", "kept 2", "next"]
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM child")).scalar() == 0
    assert writer.stored_alone == 3


def test_two_threads_store_a_second_group_while_the_first_is_still_open(db):
    if db.dialect.name == "sqlite":
        pytest.skip("SQLite has one writer at a time: its group writer keeps one thread")
    writer = _writer(db, threads=2)

    async def scenario() -> tuple[str, bool]:
        release = threading.Event()

        def hold(conn: Any) -> str:
            _run(db, conn, "INSERT INTO note (body) VALUES (?)", "held")
            assert release.wait(20)
            return "held"

        first = writer.submit(hold)
        await asyncio.sleep(0.2)  # one thread is inside the holder's transaction
        second = await asyncio.wait_for(writer.submit(_note(db, "second")), 20)
        still_open = not first.done()
        release.set()
        await asyncio.wait_for(first, 20)
        return second, still_open

    assert asyncio.run(scenario()) == ("second", True)
    assert _notes(db) == ["held", "second"]


def test_a_group_writer_needs_a_thread(db):
    with pytest.raises(ValueError, match="at least one thread"):
        GroupWriter(db, name="none", threads=0)


def test_ratings_posted_at_once_each_get_their_own_answer_on_postgresql(db, world, ctx):
    if db.dialect.name == "sqlite":
        pytest.skip("SQLite's ratings are grouped with savepoints: tests/integration/test_group_write.py")
    ratings_posted_at_once(db, world, ctx)


def _reading_writer(db: Database, asked: list[list[Any]], fail: bool = False) -> GroupWriter:
    """A writer that reads ahead: what it reads for a key is ``read <key>``; ``asked`` gets the
    keys of each read-ahead, ``fail`` makes the read-ahead raise."""

    def read_ahead(conn: Any, keys: list[Any]) -> dict[Any, str]:
        asked.append(keys)
        if fail:
            raise RuntimeError("the read-ahead failed")
        return {key: f"read {key}" for key in keys}

    return GroupWriter(db, name="test-read-ahead", savepoints=False, clean=(Refused,), read_ahead=read_ahead)


def _echo(db: Database, body: str) -> Callable[[Any, Any], tuple[str, Any]]:
    """A request that stores ``body`` and answers what was read ahead for it."""

    def work(conn: Any, ahead: Any) -> tuple[str, Any]:
        _run(db, conn, "INSERT INTO note (body) VALUES (?)", body)
        return body, ahead

    return work


def test_a_group_reads_ahead_once_for_the_first_request_of_each_key(db):
    asked: list[list[Any]] = []
    writer = _reading_writer(db, asked)

    async def scenario() -> list[Any]:
        release = threading.Event()

        def hold(conn: Any, ahead: Any) -> str:
            assert release.wait(20)
            return f"held, {ahead}"

        first = writer.submit(hold, key="h")
        await asyncio.sleep(0.2)  # the holder is stored alone: it reads for itself
        group = [
            writer.submit(_echo(db, "a1"), key="a"),
            writer.submit(_echo(db, "b1"), key="b"),
            writer.submit(_echo(db, "a2"), key="a"),  # a second of key a: reads after a1's write
            writer.submit(_echo(db, "none")),  # no key: nothing read for it
        ]
        release.set()
        return [await asyncio.wait_for(first, 20), *await asyncio.wait_for(asyncio.gather(*group), 20)]

    answers = asyncio.run(scenario())
    assert answers == ["held, None", ("a1", "read a"), ("b1", "read b"), ("a2", None), ("none", None)]
    assert asked == [["a", "b"]]  # once for the group, each key once, in the order they came
    assert _notes(db) == ["a1", "a2", "b1", "none"]
    assert writer.committed == (2, 5)


def test_a_read_ahead_that_fails_stores_each_request_of_its_group_alone(db):
    asked: list[list[Any]] = []
    writer = _reading_writer(db, asked, fail=True)
    answers = asyncio.run(_as_one_group(writer, [_echo(db, "one"), _echo(db, "two")], keys=["k1", "k2"]))
    assert asked == [["k1", "k2"]]
    assert answers == [("one", None), ("two", None)]  # each read for itself, alone
    assert _notes(db) == ["one", "two"]
    assert writer.stored_alone == 2


def test_only_a_writer_without_savepoints_reads_ahead(db):
    with pytest.raises(ValueError, match="only without savepoints"):
        GroupWriter(db, name="both", read_ahead=lambda conn, keys: {})


def test_two_taps_of_one_tablet_in_one_group_are_taken_one_after_the_other(db, world, ctx):
    """The API's writer (rapport/entry/api.py rating_writer; on PostgreSQL it reads a group's devices
    ahead and sends the group's rows together): a tablet's second tap in the same group still sees
    its first, as it would have stored alone (too soon: flagged); a retry in the same group is
    answered with the first's rating; a revoked or unknown token is still refused."""
    writer, take = rating_writer(ctx, "test-intake")
    taps = [
        (world.device_token, "tap-1", 5),
        (world.closed_device_token, "closed-1", 1),
        ("not-a-device-token", "stranger", 5),
        (world.device_token, "tap-1", 5),  # the first tap again, with its key: a retry
        (world.device_token, "tap-2", 4),  # a second press of the same tablet, a moment after the first
    ]
    works = [
        partial(take, ctx, token, key, None, RatingCreate(score=score), None) for token, key, score in taps
    ]
    first, closed, stranger, retry, second = asyncio.run(
        _as_one_group(writer, works, [t for t, _k, _s in taps])
    )
    assert first.created and not first.rating.flagged and first.staff_no == world.staff_no
    assert closed.created and closed.rating.counted and closed.rating.staff is None
    assert isinstance(stranger, DeviceNotAuthorized)
    assert not retry.created and retry.rating.id == first.rating.id
    assert second.created and second.rating.flagged and not second.rating.counted
    assert second.values["flag_reason"] == FlagReason.too_soon.value
    holders = writer.threads
    assert writer.committed == (holders + 1, holders + 5) and writer.stored_alone == 0
    with db.read() as s:
        keys = sorted(s.exec(select(Rating.idempotency_key)).all())
        assert keys == ["closed-1", "tap-1", "tap-2"]
        case = s.exec(select(RatingCase)).one()  # the low rating's case, opened with it
        assert case.rating_id == closed.rating.id


def _steps_writer(db: Database) -> GroupWriter:
    return GroupWriter(db, name="test-steps", savepoints=False, clean=(Refused,), staged=True)


def _count_notes(db: Database, conn: Any) -> int:
    cursor = conn.cursor()
    cursor.execute("SELECT count(*) FROM note")
    return int(cursor.fetchone()[0])


def _note_in_steps(db: Database, body: str) -> Callable[[Any], Iterator[None]]:
    """A request in steps: it reads how many notes it sees, sends its own, pauses, then reads again."""

    def work(conn: Any) -> Generator[None, None, tuple[str, int, int]]:
        before = _count_notes(db, conn)
        _run(db, conn, "INSERT INTO note (body) VALUES (?)", body)
        yield
        return body, before, _count_notes(db, conn)

    return work


def test_a_group_in_steps_sends_every_write_before_it_reads_any_answer(db):
    """Each request reads what the requests before it in the group sent, and after its pause it
    finds the whole group's writes (on PostgreSQL they were all sent in one pipeline)."""
    writer = _steps_writer(db)
    answers = asyncio.run(_as_one_group(writer, [_note_in_steps(db, f"n{i}") for i in range(4)]))
    assert answers == [("n0", 0, 4), ("n1", 1, 4), ("n2", 2, 4), ("n3", 3, 4)]
    assert _notes(db) == ["n0", "n1", "n2", "n3"]
    assert writer.committed == (2, 5) and writer.stored_alone == 0


def test_a_request_in_steps_may_end_or_refuse_before_its_pause_and_one_that_fails_after_costs_nobody(db):
    writer = _steps_writer(db)

    def found_before(conn: Any) -> Generator[None, None, str]:  # a retry answered without writing
        yield from ()
        return "found"

    def refused(conn: Any) -> Generator[None, None, str]:
        raise Refused("unknown device token")
        yield

    def fails_after(conn: Any) -> Generator[None, None, str]:
        _run(db, conn, "INSERT INTO note (body) VALUES (?)", "half")
        yield
        raise ValueError("failed after its pause")

    kept, found, refusal = asyncio.run(
        _as_one_group(writer, [_note_in_steps(db, "kept"), found_before, refused])
    )
    assert kept == ("kept", 0, 1) and found == "found" and isinstance(refusal, Refused)
    assert writer.stored_alone == 0
    before, failed, after = asyncio.run(
        _as_one_group(writer, [_note_in_steps(db, "before"), fails_after, _note_in_steps(db, "after")])
    )
    # The group was rolled back and each request stored alone, as if it had never been grouped.
    assert before == ("before", 1, 2) and after == ("after", 2, 3)
    assert isinstance(failed, ValueError) and str(failed) == "failed after its pause"
    assert _notes(db) == ["after", "before", "kept"]
    assert writer.stored_alone == 3


def test_a_write_that_fails_in_a_group_in_steps_is_only_its_own_requests_error(db):
    # On PostgreSQL the failed insert is found only when an answer is read (in the pipeline, by a
    # later request's read, or on leaving it): the group is rolled back and each is stored alone.
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO note (id, body) VALUES (1000, 'taken')"))
    writer = _steps_writer(db)

    def duplicate(conn: Any) -> Generator[None, None, str]:
        _run(db, conn, "INSERT INTO note (id, body) VALUES (?, ?)", 1000, "twice")
        yield
        return "twice"

    before, failed, after = asyncio.run(
        _as_one_group(writer, [_note_in_steps(db, "before"), duplicate, _note_in_steps(db, "after")])
    )
    assert before == ("before", 1, 2) and after == ("after", 2, 3)  # each alone, as without the others
    assert "IntegrityError" in {cls.__name__ for cls in type(failed).__mro__}, failed
    assert _notes(db) == ["after", "before", "taken"]
    assert writer.stored_alone == 3

    async def next_one() -> Any:  # the writer's connection goes on
        return await asyncio.wait_for(writer.submit(_note_in_steps(db, "next")), 20)

    assert asyncio.run(next_one()) == ("next", 3, 4)
