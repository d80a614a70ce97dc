"""One scheduler per deployment: the app servers elect a leader, and only the leader runs the jobs.

Two kinds of lock, both released by the operating system or the database when the holder dies, so
another server takes over without anyone cleaning up:

* PostgreSQL: a session-level advisory lock, taken with ``pg_try_advisory_lock`` on a dedicated
  connection (not one from the pool, which would hand the session to other work). The lock lives as
  long as that session; if the leader's process dies its connection closes and the lock goes with it.
  The leader pings its connection on every check: when the ping fails the lock may be gone, and it
  steps down.
* SQLite (one machine): an exclusive ``flock`` on a lock file beside the database, in the data
  directory. The kernel drops it when the process dies.

Followers call :meth:`Leadership.try_acquire` again every few seconds. The ``job_run`` unique key
(:mod:`models.jobs`) stays the safety net for the seconds in which two servers might both think they
lead (a leader that lost its database connection and has not noticed yet).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.engine import URL

log = logging.getLogger(__name__)

# pg_try_advisory_lock(bigint): "RAPT". Advisory locks are per database, so two deployments on one
# PostgreSQL server (each with its own database) do not contend.
ADVISORY_KEY = 0x52415054
# Notice a dead peer within about half a minute rather than the kernel's two hours.
KEEPALIVE: dict[str, Any] = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "connect_timeout": 5,
}


class Leadership(Protocol):
    def try_acquire(self) -> bool:
        """Become the leader if nobody is; True if this process leads now."""

    def still_held(self) -> bool:
        """Whether this process still leads (called by the leader on every check)."""

    def release(self) -> None:
        """Stop leading (shutdown), so another server can take over at once."""


class FileLeadership:
    """An exclusive flock on ``path``; the file stays, the lock does not outlive the process."""

    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:  # no data directory (yet): nobody can lead from here
            log.warning("leader election: cannot open %s (%s)", self.path, exc.strerror or exc)
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        # For a person looking at the data directory: which process leads.
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def still_held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class PostgresLeadership:
    """A session-level advisory lock held on a connection of its own."""

    def __init__(self, conninfo: str, key: int = ADVISORY_KEY):
        self.conninfo = conninfo
        self.key = key
        self._conn: Any = None  # psycopg.Connection while leading (or trying)
        self._leading = False

    def _connect(self) -> Any:
        import psycopg

        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.conninfo, autocommit=True, **KEEPALIVE)
            self._leading = False
        return self._conn

    def try_acquire(self) -> bool:
        if self._leading:
            return self.still_held()
        try:
            row = self._connect().execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
        except Exception as exc:
            log.warning("leader election: database unreachable (%s)", type(exc).__name__)
            self._drop()
            return False
        self._leading = bool(row and row[0])
        if not self._leading:
            # A follower keeps no connection open between tries.
            self._drop()
        return self._leading

    def still_held(self) -> bool:
        if not self._leading:
            return False
        try:
            self._conn.execute("SELECT 1").fetchone()
        except Exception as exc:
            log.warning("leader election: lost the lock's connection (%s)", type(exc).__name__)
            self._drop()
            return False
        return True

    def release(self) -> None:
        if self._leading and self._conn is not None and not self._conn.closed:
            with contextlib.suppress(Exception):
                self._conn.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
        self._drop()

    def _drop(self) -> None:
        self._leading = False
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
        self._conn = None


def libpq_conninfo(url: URL) -> str:
    """A SQLAlchemy ``postgresql+psycopg://`` URL as a libpq URI for a connection of our own."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def lock_file_for(url: URL, data_dir: Path) -> Path:
    """Beside the SQLite database file (by default in the data directory); for an in-memory database,
    in the data directory."""
    database = url.database or ""
    if database and database != ":memory:":
        db_path = Path(database).resolve()
        return db_path.with_name(db_path.name + ".scheduler-lock")
    return data_dir.resolve() / "scheduler.lock"


def leadership_for(url: URL, data_dir: Path) -> Leadership:
    if url.get_backend_name() == "postgresql":
        return PostgresLeadership(libpq_conninfo(url))
    return FileLeadership(lock_file_for(url, data_dir))


class Election:
    """The loop each server runs: followers try to take the lock every ``retry_seconds``; the leader
    checks it still holds it as often, and steps down (``on_deposed``) the moment it does not."""

    def __init__(
        self,
        leadership: Leadership,
        *,
        on_elected: Callable[[], None],
        on_deposed: Callable[[], None],
        retry_seconds: float,
    ):
        self.leadership = leadership
        self.on_elected = on_elected
        self.on_deposed = on_deposed
        self.retry_seconds = retry_seconds
        self.leading = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="leader-election")

    async def _run(self) -> None:
        while True:
            try:
                await self.check()
            except Exception:  # never let the loop die: the next check tries again
                log.exception("leader election check failed")
            await asyncio.sleep(self.retry_seconds)

    async def check(self) -> None:
        if not self.leading:
            if await asyncio.to_thread(self.leadership.try_acquire):
                self.leading = True
                log.info(
                    "scheduler: this server (pid %d) is the leader and runs the scheduled jobs", os.getpid()
                )
                self.on_elected()
        elif not await asyncio.to_thread(self.leadership.still_held):
            self.leading = False
            log.warning("scheduler: this server (pid %d) lost the leadership; jobs stopped", os.getpid())
            self.on_deposed()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.leading:
            self.leading = False
            self.on_deposed()
        await asyncio.to_thread(self.leadership.release)
