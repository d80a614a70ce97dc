"""The database engine, built once per process, and short sessions for each user action or job.

SQLite is tuned for durability: WAL, ``synchronous=FULL`` (read back and checked: with WAL,
NORMAL can lose an acknowledged commit on power loss), foreign keys and a busy timeout. Write
transactions start with ``BEGIN IMMEDIATE`` so a read that turns into a write cannot fail at once
with "database is locked"; read-only sessions keep SQLite's deferred BEGIN so readers never queue
behind writers.

Writers of one SQLite file in this process queue on a :class:`WriteLock` (first come, first served)
taken just before ``BEGIN IMMEDIATE`` and released just after the ``COMMIT`` or ``ROLLBACK``. Without
it a writer that finds the file locked sleeps in SQLite's busy handler (1, 2, 5, ... 100 ms between
tries) and wakes late, or is overtaken, however soon the lock was freed: under 32 concurrent API
clients that was most of the latency. With it the lock passes straight to the next writer in line.
Across processes (``rapport serve --workers N``, the CLI) the writer whose turn it is in its process
also takes an exclusive ``flock`` on ``<database>-writer.lock``, which the kernel passes to the
next process as soon as it is freed: with two workers under the API's load the 99th percentile
was 447 ms through the busy handler and 37-45 ms with the lock file (docs/PERFORMANCE.md). SQLite's
busy timeout still covers any other program writing the file. PostgreSQL has row locks and no such
queue.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import sqlite3
import threading
import time
import weakref
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from sqlalchemy import event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, create_engine

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000
_BUSY_TIMEOUT_S = BUSY_TIMEOUT_MS / 1000
ALONE_RECHECK_S = 1.0  # how often a process writing alone looks again for another (WriteLock)
_WRITE_OPTION = "rapport_write"
_LOCK_HELD = "rapport_write_lock"  # key in a pooled connection's ``info``: the WriteLock it holds


class WriteLock:
    """A first-come, first-served lock that is handed straight to the next waiter on release.

    ``threading.Lock`` promises no order; here each waiter parks on its own lock, queued, and
    :meth:`release` wakes exactly the first one, which then owns the lock without a race.
    """

    def __init__(self, path: str | None = None, members: str | None = None) -> None:
        self._mutex = threading.Lock()
        self._waiters: deque[threading.Lock] = deque()
        self._owner: int | None = None
        self._path = path
        self._fd: int | None = None
        # Every process writing the file holds a shared flock on ``members`` while it has the lock
        # file open; a process that finds itself the only holder skips the lock file for its turns
        # (two system calls a tap), looking again every ALONE_RECHECK_S.
        self._members_path = members
        self._members: int | None = None
        self._alone = False
        self._recheck_at = 0.0
        self._file_held = False
        _all_locks.add(self)

    def _take_file(self) -> None:
        """The lock across processes, once this process's turn has come: an exclusive ``flock`` on
        the lock file beside the database, which the kernel hands to the next process waiting as
        soon as it is released (SQLite's busy handler would sleep up to 100 ms between tries). It
        waits as long as the holder's transaction lasts; a process that dies releases it."""
        if self._path is None:
            return
        if self._fd is None:
            try:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
                if self._members_path is not None:
                    self._members = os.open(self._members_path, os.O_RDWR | os.O_CREAT, 0o600)
                    fcntl.flock(self._members, fcntl.LOCK_SH)
            except OSError as exc:  # a read-only directory: SQLite's busy timeout alone, as before
                log.warning("no lock file %s (%s): other processes' writers wait in SQLite", self._path, exc)
                self._close_files()
                self._path = None
                return
            self._recheck_at = 0.0
        if self._members is not None:
            now = time.monotonic()
            if now >= self._recheck_at:
                self._alone = self._only_process()
                self._recheck_at = now + ALONE_RECHECK_S
            if self._alone:
                return
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        self._file_held = True

    def _only_process(self) -> bool:
        """Whether no other process holds the members file: an exclusive lock on it is granted
        only then. Converting a flock may drop the shared one first, so it is taken again after."""
        assert self._members is not None
        try:
            fcntl.flock(self._members, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fcntl.flock(self._members, fcntl.LOCK_SH)
            return False
        fcntl.flock(self._members, fcntl.LOCK_SH)
        return True

    def _close_files(self) -> None:
        for fd in (self._fd, self._members):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._fd = self._members = None
        self._file_held = self._alone = False

    def _forked(self) -> None:
        """In a forked child: the lock file's descriptor is shared with the parent, whose flock it
        would share too (closing this copy leaves the parent's lock held; unlocking it would not);
        the child opens its own on its first turn."""
        self._close_files()

    def _drop_file(self) -> None:
        if self._file_held and self._fd is not None:
            self._file_held = False
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    @property
    def owner(self) -> int | None:
        """The ident of the thread holding the lock, or None."""
        return self._owner

    def acquire(self, timeout: float) -> bool:
        me = threading.get_ident()
        with self._mutex:  # free, or queued: decided under one hold of the mutex (no lost wake-up)
            if self._owner is None:
                self._owner = me
                gate = None
            else:
                gate = threading.Lock()
                gate.acquire()
                self._waiters.append(gate)
        if gate is None:
            if self._alone and time.monotonic() < self._recheck_at:
                return True  # writing alone, as looked at lately: no lock file (_take_file)
            return self._turn_taken()
        if gate.acquire(timeout=timeout):
            self._owner = me
            return self._turn_taken()
        with self._mutex:
            if gate in self._waiters:  # still queued: give up the place
                self._waiters.remove(gate)
                return False
        # Handed over between the timeout and taking the mutex: it is ours after all.
        gate.acquire()
        self._owner = me
        return self._turn_taken()

    def _turn_taken(self) -> bool:
        """This process's turn is ours: now the other processes' (if the lock file fails, the turn
        passes on rather than being held by a writer that never writes)."""
        try:
            self._take_file()
        except BaseException:
            self.release()
            raise
        return True

    def forget_file(self) -> None:
        """Close the lock file while no writer holds it (a database disposed of); the next turn
        opens it again. Keeps a process that opens many databases (a test run) from holding a
        descriptor for each."""
        with self._mutex:
            if self._owner is None and self._fd is not None:
                self._close_files()

    def release(self) -> None:
        if self._file_held:
            self._drop_file()
        with self._mutex:
            if self._waiters:
                self._owner = -1  # held on behalf of the waiter woken below until it runs
                self._waiters.popleft().release()
            else:
                self._owner = None


def _after_fork() -> None:
    for lock in list(_all_locks):
        lock._forked()


# Every write lock of this process, for the fork hook (asking for the pid on every turn cost a
# system call per tap).
_all_locks: weakref.WeakSet[WriteLock] = weakref.WeakSet()
os.register_at_fork(after_in_child=_after_fork)

_locks: dict[str, WriteLock] = {}
_locks_mutex = threading.Lock()


def write_lock_for(engine: Engine) -> WriteLock | None:
    """The process-wide write lock of an SQLite engine's file (None for other databases).

    Keyed by the file's absolute path, so two ``Database`` objects on one file share a queue; an
    in-memory database is its own engine's.
    """
    if not is_sqlite(engine):
        return None
    name = engine.url.database or ""
    key = f"memory:{id(engine.pool)}" if name in ("", ":memory:") else os.path.abspath(name)
    with _locks_mutex:
        if key not in _locks:
            memory = key.startswith("memory:")
            _locks[key] = WriteLock(
                None if memory else f"{key}-writer.lock", None if memory else f"{key}-processes.lock"
            )
        return _locks[key]


class DatabaseConfigError(Exception):
    """The database does not behave as Rapport requires (for example durability is off)."""


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Build the process's engine with the right pragmas and transaction behaviour."""
    kwargs: dict[str, Any] = {"echo": echo}
    if url.startswith("sqlite"):
        _bind_plainly()
        in_memory = url in ("sqlite://", "sqlite:///:memory:")
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000}
        kwargs["json_serializer"] = _json_text
        if in_memory:
            kwargs["poolclass"] = StaticPool
        engine = create_engine(url, **kwargs)
        _install_sqlite_hooks(engine, in_memory=in_memory)
    else:
        kwargs.update(pool_size=10, max_overflow=20)
        engine = create_engine(url, **kwargs)
        _ping_when_idle(engine)
    return engine


# A pooled PostgreSQL connection is pinged on checkout only when it has been idle this long.
PING_AFTER_IDLE_SECONDS = 10.0


def _json_text(value: Any) -> str:
    """JSON columns' text on SQLite: ``json.dumps`` (SQLAlchemy's default), with the empty list every
    tap's reasons are written without a call."""
    if type(value) is list and not value:
        return "[]"
    return json.dumps(value)


def _bind_plainly() -> None:
    """Have the sqlite3 driver bind ``None`` and ``bool`` through its table of adapters. It binds
    only exact ``int``, ``float``, ``str`` and ``bytearray`` values directly; any other value (every
    NULL, every boolean) it first offers to the adaptation protocol, whose failed attribute lookup
    builds and discards an ``AttributeError``: seven per rating, 2% of a tap's instructions under
    callgrind (docs/PERFORMANCE.md). Registered, they are found in the table at once and stored as
    before: NULL, and 0 or 1. The table is the driver's, for the whole process: Rapport's own."""
    sqlite3.register_adapter(bool, int)
    sqlite3.register_adapter(type(None), _null)


def _null(_value: None) -> None:
    return None


def _ping_when_idle(engine: Engine) -> None:
    """SQLAlchemy's ``pool_pre_ping``, but only for a connection idle for
    :data:`PING_AFTER_IDLE_SECONDS`: the ping is a round trip to the server on every checkout, one
    of the five a rating's intake made (docs/PERFORMANCE.md), while a connection checked in a moment
    ago is almost always alive. A dead one is replaced before use, as with ``pool_pre_ping``; one
    that died within the idle time (the server restarted just then) fails its request once, which
    the kiosk and the API's clients retry with the same Idempotency-Key."""

    @event.listens_for(engine, "connect")
    def _connected(_dbapi_conn: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is not None and time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # the pool discards it and checks out another (as pre-ping does)
            raise DisconnectionError("a pooled connection did not answer its ping") from exc


_IDLE_SINCE = "rapport_idle_since"


def _install_sqlite_hooks(engine: Engine, *, in_memory: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from the driver so we can emit our own BEGIN.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        if not in_memory:
            cur.execute("PRAGMA journal_mode=WAL")
            mode = cur.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                raise DatabaseConfigError(f"SQLite refused WAL journal mode (got {mode!r}).")
        cur.execute("PRAGMA synchronous=FULL")
        level = cur.execute("PRAGMA synchronous").fetchone()[0]
        if int(level) != 2:  # 2 == FULL
            raise DatabaseConfigError(f"SQLite refused synchronous=FULL (got {level!r}).")
        cur.close()

    lock = write_lock_for(engine)
    assert lock is not None

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(_WRITE_OPTION, False)
        if not immediate:
            conn.exec_driver_sql("BEGIN")
            return
        fairy = conn.connection
        _begin_immediate(lock, fairy.info, fairy.dbapi_connection, run=conn.exec_driver_sql)

    # The COMMIT or ROLLBACK itself has to be over before the next writer may begin, and SQLAlchemy's
    # commit/rollback events fire before it; so the dialect's own calls are wrapped (the pool's
    # reset-on-return rolls back through them too).
    dialect = engine.dialect
    do_commit, do_rollback = dialect.do_commit, dialect.do_rollback

    def _commit(fairy: Any) -> None:
        try:
            do_commit(fairy)
        finally:
            _release_if_done(_info_of(fairy), getattr(fairy, "dbapi_connection", None))

    def _rollback(fairy: Any) -> None:
        try:
            do_rollback(fairy)
        finally:
            _release_if_done(_info_of(fairy), getattr(fairy, "dbapi_connection", None))

    dialect.do_commit = _commit  # type: ignore[method-assign, assignment]
    dialect.do_rollback = _rollback  # type: ignore[method-assign, assignment]

    @event.listens_for(engine, "close")
    @event.listens_for(engine, "invalidate")
    def _on_gone(_dbapi_conn: Any, record: Any, *_exc: Any) -> None:
        # A closed connection holds no SQLite lock any more, so it must not keep ours either.
        held = record.info.pop(_LOCK_HELD, None)
        if held is not None:
            held.release()


def _begin_immediate(lock: WriteLock, info: dict[str, Any], dbapi: Any, run: Any = None) -> None:
    """Queue for the write lock, then ``BEGIN IMMEDIATE`` on the driver connection ``dbapi`` of a
    pooled connection whose record's ``info`` is given (through ``run`` when given: SQLAlchemy's own
    execution, so its statement events see it).

    A thread that already holds the lock (a second write session opened inside a first) goes
    straight to SQLite, which refuses it as it always did, instead of waiting on itself."""
    if lock._owner != threading.get_ident():
        if not lock.acquire(_BUSY_TIMEOUT_S):
            raise OperationalError("BEGIN IMMEDIATE", None, Exception("database is locked"))
        info[_LOCK_HELD] = lock
    try:
        if run is not None:
            run("BEGIN IMMEDIATE")
        else:
            dbapi.execute("BEGIN IMMEDIATE")  # the driver's statement cache
    except BaseException:
        _release_if_done(info, dbapi, force=True)
        raise


def _leave_autocommit(fairy: Any) -> None:
    """Back to ordinary transactions before the connection returns to the pool; a connection that
    cannot (it broke in the block) is discarded instead of being handed out in autocommit."""
    try:
        fairy.dbapi_connection.autocommit = False
    except Exception:
        fairy.invalidate()


def _info_of(fairy: Any) -> dict[str, Any] | None:
    # The first connect of an engine rolls back through an ad-hoc proxy that has no ``info``.
    try:
        info: dict[str, Any] = fairy.info
    except (AttributeError, NotImplementedError):
        return None
    return info


def _release_if_done(info: dict[str, Any] | None, dbapi_conn: Any, *, force: bool = False) -> None:
    """Release the write lock this connection holds, once its transaction is really over."""
    if info is None or _LOCK_HELD not in info:
        return
    if force or dbapi_conn is None or not dbapi_conn.in_transaction:
        info.pop(_LOCK_HELD).release()


class Database:
    """The engine plus the two kinds of session the app uses."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._write_engine = engine.execution_options(**{_WRITE_OPTION: True})
        self._write_lock = write_lock_for(engine)
        # SQLite: one connection kept out of the pool for raw_write (the rating intake). Checking a
        # connection out and back in (with the pool's reset) cost about a sixth of what a tap costs
        # beyond the raw insert (docs/PERFORMANCE.md); the next raw_write takes it back instead.
        self._spare: deque[_Kept] = deque(maxlen=1)

    @property
    def dialect(self) -> Dialect:
        return self.engine.dialect

    @classmethod
    def from_url(cls, url: str) -> Database:
        return cls(make_engine(url))

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reads: deferred transaction, never blocks writers."""
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session for one unit of work; services commit, anything uncommitted rolls back."""
        with Session(self._write_engine, expire_on_commit=False) as session:
            yield session

    def raw_write(self, *, lazy: bool = False) -> _RawWrite:
        """The driver's connection (sqlite3's or psycopg's) in one write transaction,
        committed when the block ends normally and rolled back when it raises: for the rating
        intake (models/intake.py), whose prepared statements need no ORM session. On SQLite it
        takes the same place in the write queue and the same ``BEGIN IMMEDIATE`` as :meth:`write`.

        ``lazy`` (PostgreSQL; ignored on SQLite): no transaction is open until the block calls
        :func:`models.prepared.begin`; until then each statement commits on its own. A block whose
        only write is one statement then costs two round trips fewer (no ``BEGIN``, no ``COMMIT``),
        with the same durability (the server commits the statement before it answers). The block
        must begin before the first of several writes that belong together. Under PostgreSQL's
        READ COMMITTED, reads see the same data inside or outside a transaction: each statement
        takes its own snapshot either way.
        """
        return _RawWrite(self, lazy)

    def dispose(self) -> None:
        while self._spare:
            self._spare.pop().fairy.close()
        if self._write_lock is not None:
            self._write_lock.forget_file()
        self.engine.dispose()


class _RawWrite:
    """:meth:`Database.raw_write`'s block, written out as a class: it runs for every tap, and a
    generator-based context manager cost several calls more on each (docs/PERFORMANCE.md). The pool
    proxy's attributes are read once per connection, not per statement: every attribute of the proxy
    goes through its ``__getattr__`` hook first."""

    __slots__ = ("_db", "_lazy", "_kept", "_keep")

    def __init__(self, db: Database, lazy: bool):
        self._db = db
        self._lazy = lazy
        self._kept: _Kept | None = None
        self._keep = False

    def __enter__(self) -> Any:
        db = self._db
        lock = db._write_lock
        keep = lock is not None  # SQLite (PostgreSQL's pool pings an idle connection)
        kept: _Kept
        try:
            kept = db._spare.pop() if keep else _Kept.of(db._write_engine.raw_connection())
        except IndexError:  # in use by another thread's raw_write, or none kept yet
            kept = _Kept.of(db._write_engine.raw_connection())
        lazy = self._lazy and not keep and db.dialect.name == "postgresql"
        dbapi = kept.dbapi
        try:
            if lock is not None:
                _begin_immediate(lock, kept.info, dbapi)
            elif lazy:
                dbapi.autocommit = True
        except BaseException:
            kept.fairy.close()
            raise
        self._kept, self._keep, self._lazy = kept, keep, lazy
        return dbapi

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        kept, keep = self._kept, self._keep
        assert kept is not None
        fairy, dbapi = kept.fairy, kept.dbapi
        done = False
        try:
            try:
                if exc_type is not None:
                    fairy.rollback()
                else:
                    try:
                        if keep:  # SQLite: COMMIT from the statement cache (commit() prepares anew)
                            dbapi.execute("COMMIT")
                        else:
                            fairy.commit()
                    except BaseException:
                        fairy.rollback()
                        raise
                    done = True
            finally:
                _release_if_done(kept.info, dbapi)
                if self._lazy:
                    _leave_autocommit(fairy)
        finally:
            spare = self._db._spare
            if keep and done and not spare:
                spare.append(kept)  # committed: nothing for the pool's reset to undo
            else:
                fairy.close()


class _Kept(NamedTuple):
    """A pooled connection (SQLAlchemy's proxy), its driver connection and its record's ``info``."""

    fairy: Any
    dbapi: Any
    info: dict[str, Any]

    @classmethod
    def of(cls, fairy: Any) -> _Kept:
        return cls(fairy, fairy.dbapi_connection, fairy.info)
