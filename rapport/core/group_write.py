"""Group commit for SQLite: the requests waiting to be stored, stored together in one transaction.

SQLite takes one durable commit at a time, and a commit is most of what storing a rating costs: the
fsync, the WAL frames of every index page the row touched, the file locks, and the threads handing
the interpreter lock to each other around each of them (docs/PERFORMANCE.md, "Group commit"). When
32 integrations post ratings at once, a writer that commits each one alone spends its time on that.

A :class:`GroupWriter` is one thread, started when work arrives and gone after a quiet moment, that
takes every request queued (up to :data:`MOST`) into one write transaction
(``rapport.core.db.Database.raw_write``): each request's work runs in a ``SAVEPOINT`` of its own, so
one that raises is rolled back alone and the others go on; then one ``COMMIT``, and only then is
each request answered (its result, or its own exception). A request is never answered before the
commit that holds it is durable; if that commit fails, every request in it gets the error and
nothing of them is stored (a retry with the same Idempotency-Key is then stored as new). A lone
request is a group of one: no waiting for company, the same transaction as before.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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


class GroupWriter:
    """Runs ``work(conn)`` callables for the event loop, in groups sharing one SQLite transaction."""

    def __init__(self, db: Database, *, name: str):
        self._db = db
        self._name = name
        self._queue: queue.SimpleQueue[_Work] = queue.SimpleQueue()
        self._mutex = threading.Lock()
        self._thread: threading.Thread | None = None
        self.committed = (0, 0)  # (groups, requests) committed so far: what grouping achieved

    def submit(self, work: Callable[[Any], Any]) -> asyncio.Future[Any]:
        """Queue ``work`` (called with the DBAPI connection, inside the group's transaction, in a
        savepoint of its own); the future has its result or exception once the group is committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.put(_Work(work, contextvars.copy_context(), loop, future))
        with self._mutex:
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name=self._name, daemon=True)
                self._thread.start()
        return future

    def _serve(self) -> None:
        try:
            self._loop_until_idle()
        except BaseException:  # not an Exception (those are answered): let a later submit start anew
            with self._mutex:
                self._thread = None
            raise

    def _loop_until_idle(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=IDLE_S)
            except queue.Empty:
                with self._mutex:
                    if self._queue.empty():  # submit() puts before it looks at the thread
                        self._thread = None
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
            groups, requests = self.committed
            self.committed = (groups + 1, requests + len(group))
        self._answer(group, outcomes)

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
