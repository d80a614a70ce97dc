"""Group commit: the requests waiting to be stored, stored together in one transaction.

A commit is most of what storing a rating costs: on SQLite the fsync, the WAL frames of every index
page the row touched, the file locks; on PostgreSQL the WAL flush and a round trip; on both, the
threads handing the interpreter lock to each other around each of them (docs/PERFORMANCE.md, "Group
commit"). When 32 integrations post ratings at once, a writer that commits each one alone spends its
time on that.

A :class:`GroupWriter` is one thread (or a few, ``threads``), started when work arrives and gone
after a quiet moment, that takes every request queued (up to :data:`MOST`) into one write
transaction (``rapport.core.db.Database.raw_write``), then one ``COMMIT``, and only then answers
each request (its result, or its own exception). A request is never answered before the commit that
holds it is durable. A lone request is a group of one: no waiting for company, the same transaction
as when it was stored alone.

What one request's failure does to the others depends on ``savepoints``:

- With savepoints (SQLite, where a savepoint costs no round trip): each request runs in a
  ``SAVEPOINT`` of its own, so one that raises is rolled back alone and the others go on. If the
  commit fails, every request in the group gets the error and nothing of them is stored (a retry
  with the same Idempotency-Key is then stored as new).
- Without (PostgreSQL, where a savepoint and its release are two more round trips a request, which
  cost more than the commit they share): a request may raise only the exceptions named ``clean``,
  which it must raise before it writes anything (an unknown device token). Any other exception, or a
  commit that fails (a deadlock with another worker's group, say), rolls the whole group back, and
  each of its requests is then stored alone, in a transaction of its own, and answered with what
  that gives: exactly what it would have got had it never been grouped.

Without savepoints, a writer may also read ahead (``read_ahead``): a group of two or more first
asks for what its requests will read, all in one go (on PostgreSQL one round trip for the lot, where
each request reading for itself waits for one round trip after another, and its thread takes the
interpreter lock back after each). Each request names what it reads by a key when it is submitted;
only the first request with a given key in a group gets what was read ahead (a later one with the
same key reads for itself, after the writes of those before it). A request stored alone reads for
itself.

And its requests may be written in steps (``staged``): each is a generator that pauses (yields)
once, after sending a write whose answer it needs, before reading it. The group runs each request up
to its pause, in order, in one pipeline (models.prepared.pipelined), so that every request's write
is sent before any answer is awaited; then it finishes each, in order, with the answers in. A
request's reads before its pause still see the writes sent by the requests before it (an answer
waited for waits for every statement sent before it); what it does after its pause comes after the
writes of the whole group. A request stored alone runs its steps without pausing.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import queue
import threading
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from models.prepared import pipelined, run_steps
from rapport.core.db import Database

log = logging.getLogger(__name__)

MOST = 64  # requests in one transaction at most (a bound on how long it holds the write lock)
IDLE_S = 2.0  # the thread ends after this long with nothing to do (started again on demand)


@dataclass(frozen=True, slots=True)
class _Work:
    run: Callable[[Any], Any]  # the request's work on the transaction's connection
    context: contextvars.Context  # the request's (its id in every log line)
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    key: Hashable | None = None  # what it reads, for a writer that reads ahead


# A writer's read-ahead: given the group's connection (in its transaction) and the distinct keys of
# the requests that named one, what each key's request would read, by key.
ReadAhead = Callable[[Any, list[Any]], Mapping[Any, Any]]


class GroupWriter:
    """Runs ``work(conn)`` callables for the event loop, in groups sharing one write transaction.

    ``savepoints``: each request in a savepoint of its own (see the module's text). Without:
    ``clean`` names the exceptions a request raises before writing anything; ``lazy``, that a
    request stored alone runs in a lazy ``raw_write`` (on PostgreSQL each statement commits until
    the request begins a transaction itself: its work must call ``models.prepared.begin`` before
    a second write); ``threads``, how many groups may be stored at once (each with its own
    connection and transaction); ``read_ahead`` and ``staged`` (only without savepoints): see the
    module's text. With ``read_ahead``, each request's work is called with two arguments, the
    connection and what was read ahead for it (None when it was not: it reads for itself); with
    ``staged``, it returns a generator that yields once (:func:`models.prepared.run_steps`)."""

    def __init__(
        self,
        db: Database,
        *,
        name: str,
        savepoints: bool = True,
        clean: tuple[type[Exception], ...] = (),
        lazy: bool = False,
        threads: int = 1,
        read_ahead: ReadAhead | None = None,
        staged: bool = False,
    ):
        if threads < 1:
            raise ValueError("a group writer needs at least one thread")
        if (read_ahead is not None or staged) and savepoints:
            raise ValueError("a group writer reads ahead or runs requests in steps only without savepoints")
        self._db = db
        self._name = name
        self._savepoints = savepoints
        self._clean = clean
        self._lazy = lazy
        self._most_threads = threads
        self._read_ahead = read_ahead
        self._staged = staged
        self._queue: queue.SimpleQueue[_Work] = queue.SimpleQueue()
        self._mutex = threading.Lock()
        self._threads: set[threading.Thread] = set()
        self.committed = (0, 0)  # (groups, requests) committed so far: what grouping achieved
        self.stored_alone = 0  # requests run alone after their group was rolled back, whatever came of it

    @property
    def threads(self) -> int:
        """How many groups may be stored at once (each on a thread of its own)."""
        return self._most_threads

    @property
    def staged(self) -> bool:
        """Whether each request's work is written in steps (it returns a generator)."""
        return self._staged

    def submit(self, work: Callable[..., Any], *, key: Hashable | None = None) -> asyncio.Future[Any]:
        """Queue ``work`` (called with the DBAPI connection, inside the group's transaction, and for a
        writer that reads ahead with what was read for ``key``); the future has its result or
        exception once the transaction that holds it is committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.put(_Work(work, contextvars.copy_context(), loop, future, key))
        with self._mutex:
            if len(self._threads) < self._most_threads:
                thread = threading.Thread(target=self._serve, name=self._name, daemon=True)
                self._threads.add(thread)
                thread.start()
        return future

    def _serve(self) -> None:
        try:
            self._loop_until_idle()
        except BaseException:  # not an Exception (those are answered): let a later submit start anew
            with self._mutex:
                self._threads.discard(threading.current_thread())
            raise

    def _loop_until_idle(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=IDLE_S)
            except queue.Empty:
                with self._mutex:
                    if self._queue.empty():  # submit() puts before it looks at the threads
                        self._threads.discard(threading.current_thread())
                        return
                continue
            group = [first]
            while len(group) < MOST:
                try:
                    group.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._store(group)

    def _store(self, group: list[_Work]) -> None:
        if self._savepoints:
            self._store_with_savepoints(group)
        else:
            self._store_or_each_alone(group)

    def _store_with_savepoints(self, group: list[_Work]) -> None:
        outcomes: list[tuple[bool, Any]] = []
        try:
            with self._db.raw_write() as conn:
                cursor = conn.cursor()
                try:
                    for work in group:
                        outcomes.append(_in_savepoint(cursor, conn, work))
                finally:
                    cursor.close()
        except BaseException as exc:  # the commit (or a savepoint) failed: nothing of the group is stored
            log.exception("a group of %d writes failed; each request is answered with the error", len(group))
            outcomes = [(False, exc)] * len(group)
            if not isinstance(exc, Exception):  # answered, then the thread ends as it was told
                self._answer(group, outcomes)
                raise
        else:
            self._count(len(group))
        self._answer(group, outcomes)

    def _count(self, requests: int, *, alone: bool = False) -> None:
        with self._mutex:
            if alone:
                self.stored_alone += requests
            else:
                groups, stored = self.committed
                self.committed = (groups + 1, stored + requests)

    def _store_or_each_alone(self, group: list[_Work]) -> None:
        if len(group) == 1:  # as when it was stored alone: on PostgreSQL, a lone write is one statement
            outcome = self._alone(group[0])
            if outcome[0]:
                self._count(1)
            self._answer(group, [outcome])
            return
        outcomes: list[tuple[bool, Any]] = []
        try:
            with self._db.raw_write() as conn:
                aheads = self._aheads(conn, group)
                if self._staged:
                    outcomes = self._in_steps(conn, group, aheads)
                else:
                    for work, ahead in zip(group, aheads, strict=True):
                        try:
                            value = work.context.run(work.run, conn, *ahead)
                        except self._clean as exc:  # raised before it wrote anything: the others go on
                            outcomes.append((False, exc))
                        else:
                            outcomes.append((True, value))
        except Exception:
            # One request failed after it may have written, or the commit failed: nothing of the group
            # is stored; each is stored alone, as it would have been without the others.
            log.warning("a group of %d writes rolled back; each is stored alone", len(group), exc_info=True)
            outcomes = [self._alone(work) for work in group]
            self._count(len(group), alone=True)
        except BaseException as exc:  # answered, then the thread ends as it was told
            self._answer(group, [(False, exc)] * len(group))
            raise
        else:
            self._count(len(group))
        self._answer(group, outcomes)

    def _in_steps(
        self, conn: Any, group: list[_Work], aheads: list[tuple[Any, ...]]
    ) -> list[tuple[bool, Any]]:
        """Each request of a staged writer up to its pause, in one pipeline; then each to its end.
        A ``clean`` exception before the pause is the request's answer; any other, or a request that
        pauses twice, ends the group (each is then stored alone)."""
        outcomes: list[tuple[bool, Any]] = [(False, None)] * len(group)
        paused: list[tuple[int, _Work, Any]] = []
        with pipelined(conn, self._db.dialect):
            for i, (work, ahead) in enumerate(zip(group, aheads, strict=True)):
                try:
                    steps = work.context.run(work.run, conn, *ahead)
                    work.context.run(next, steps)
                except StopIteration as stop:  # done without pausing (a refusal, a retry)
                    outcomes[i] = (True, stop.value)
                except self._clean as exc:  # raised before it wrote anything: the others go on
                    outcomes[i] = (False, exc)
                else:
                    paused.append((i, work, steps))
        for i, work, steps in paused:  # every answer has come (leaving the pipeline waits for them)
            try:
                work.context.run(next, steps)
            except StopIteration as stop:
                outcomes[i] = (True, stop.value)
            else:
                raise RuntimeError("a request written in steps pauses once")
        return outcomes

    def _aheads(self, conn: Any, group: list[_Work]) -> list[tuple[Any, ...]]:
        """Each request's extra arguments: none for a writer that does not read ahead; else what was
        read ahead for it, or None for a request without a key or not the first with its key."""
        if self._read_ahead is None:
            return [()] * len(group)
        firsts: dict[Hashable, int] = {}
        for i, work in enumerate(group):
            if work.key is not None and work.key not in firsts:
                firsts[work.key] = i
        read = self._read_ahead(conn, list(firsts)) if firsts else {}
        aheads: list[tuple[Any, ...]] = [(None,)] * len(group)
        for key, i in firsts.items():
            aheads[i] = (read.get(key),)
        return aheads

    def _alone(self, work: _Work) -> tuple[bool, Any]:
        """One request in a transaction of its own."""
        extra = (None,) if self._read_ahead is not None else ()
        try:
            with self._db.raw_write(lazy=self._lazy) as conn:
                value = work.context.run(work.run, conn, *extra)
                if self._staged:
                    value = work.context.run(run_steps, value)
        except Exception as exc:
            return False, exc
        return True, value

    @staticmethod
    def _answer(group: list[_Work], outcomes: list[tuple[bool, Any]]) -> None:
        """Each request's outcome, on its own event loop (one wake-up per loop for the group)."""
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
        for work, (ok, value) in zip(group, outcomes, strict=True):
            by_loop.setdefault(work.loop, []).append((work.future, ok, value))
        for loop, answers in by_loop.items():
            try:
                loop.call_soon_threadsafe(_deliver, answers)
            except RuntimeError:  # that loop has closed: nobody is waiting for these answers
                pass


def _in_savepoint(cursor: Any, conn: Any, work: _Work) -> tuple[bool, Any]:
    """Run one request's work in a savepoint: kept if it returns, rolled back alone if it raises.
    A failure of the savepoint statements themselves (the transaction is gone) ends the group."""
    cursor.execute("SAVEPOINT rapport_request")
    try:
        value = work.context.run(work.run, conn)
    except Exception as exc:
        cursor.execute("ROLLBACK TO rapport_request")
        cursor.execute("RELEASE rapport_request")
        return False, exc
    cursor.execute("RELEASE rapport_request")
    return True, value


def _deliver(answers: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for future, ok, value in answers:
        if future.done():  # the request was cancelled (its client went away)
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
