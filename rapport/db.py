"""The database engine, built once per process, and short sessions for each user action or job.

SQLite is tuned for durability: WAL, ``synchronous=FULL`` (read back and checked: with WAL,
NORMAL can lose an acknowledged commit on power loss), foreign keys and a busy timeout. Write
transactions start with ``BEGIN IMMEDIATE`` so a read that turns into a write cannot fail at once
with "database is locked"; read-only sessions keep SQLite's deferred BEGIN so readers never queue
behind writers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, create_engine

BUSY_TIMEOUT_MS = 10_000
_WRITE_OPTION = "rapport_write"


class DatabaseConfigError(Exception):
    """The database does not behave as Rapport requires (for example durability is off)."""


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Build the process's engine with the right pragmas and transaction behaviour."""
    kwargs: dict[str, Any] = {"echo": echo}
    if url.startswith("sqlite"):
        in_memory = url in ("sqlite://", "sqlite:///:memory:")
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000}
        if in_memory:
            kwargs["poolclass"] = StaticPool
        engine = create_engine(url, **kwargs)
        _install_sqlite_hooks(engine, in_memory=in_memory)
    else:
        kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=20)
        engine = create_engine(url, **kwargs)
    return engine


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

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(_WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """The engine plus the two kinds of session the app uses."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._write_engine = engine.execution_options(**{_WRITE_OPTION: True})

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

    def dispose(self) -> None:
        self.engine.dispose()
