import threading

import pytest
from sqlalchemy import event, inspect, text
from sqlmodel import SQLModel

from rapport.core.db import Database
from rapport.core.migrate import current_revision, head_revision, is_current, upgrade


@pytest.fixture
def file_db(tmp_path):
    database = Database.from_url(f"sqlite:///{tmp_path / 'r.db'}")
    yield database
    database.dispose()


def test_sqlite_runs_durable_wal_with_foreign_keys(file_db):
    with file_db.read() as s:
        assert s.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert s.execute(text("PRAGMA synchronous")).scalar_one() == 2  # FULL
        assert s.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        assert s.execute(text("PRAGMA busy_timeout")).scalar_one() >= 5000


def test_write_sessions_begin_immediate_and_read_sessions_do_not(file_db):
    seen: list[str] = []
    event.listen(file_db.engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    with file_db.write() as s:
        s.execute(text("SELECT 1"))
    with file_db.read() as s:
        s.execute(text("SELECT 1"))
    begins = [stmt for stmt in seen if stmt.startswith("BEGIN")]
    assert begins == ["BEGIN IMMEDIATE", "BEGIN"]


def test_booleans_and_nulls_are_stored_as_integers_and_null_through_the_drivers_adapters(file_db):
    """The engine registers the sqlite3 driver's adapters for bool and None (rapport/core/db.py
    _bind_plainly: a faster path, not a different value): True and False are still stored as the
    integers 1 and 0, None as NULL, on the intake's connection and on an ORM session's alike."""
    import sqlite3

    assert sqlite3.adapters[(bool, sqlite3.PrepareProtocol)] is int
    with file_db.raw_write() as conn:
        conn.cursor().execute("CREATE TABLE flags (b BOOLEAN, n INTEGER)")
        conn.cursor().execute("INSERT INTO flags VALUES (?, ?), (?, ?)", (True, None, False, 7))
    with file_db.write() as s:
        s.execute(text("INSERT INTO flags VALUES (:b, :n)"), {"b": True, "n": None})
        s.commit()
    with file_db.read() as s:
        stored = s.execute(text("SELECT b, typeof(b), n, typeof(n) FROM flags ORDER BY rowid")).all()
    assert [tuple(r) for r in stored] == [
        (1, "integer", None, "null"), (0, "integer", 7, "integer"), (1, "integer", None, "null"),
    ]  # fmt: skip


def test_a_rating_channel_is_stored_as_its_text_through_the_drivers_adapter(file_db):
    """models/rating.py registers the driver's adapter for Channel (a faster path, not a different
    value): the member is stored as its plain text, read back as text, and equal to the member."""
    import sqlite3

    from models.rating import Channel

    assert (Channel, sqlite3.PrepareProtocol) in sqlite3.adapters
    with file_db.raw_write() as conn:
        conn.cursor().execute("CREATE TABLE channels (c VARCHAR(8))")
        conn.cursor().execute("INSERT INTO channels VALUES (?), (?)", (Channel.kiosk, Channel.hotline))
    with file_db.read() as s:
        stored = s.execute(text("SELECT c, typeof(c) FROM channels ORDER BY rowid")).all()
    assert [tuple(r) for r in stored] == [("kiosk", "text"), ("hotline", "text")]
    assert type(stored[0][0]) is str and Channel(stored[0][0]) is Channel.kiosk


def test_two_writers_wait_for_each_other_instead_of_failing(file_db):
    with file_db.write() as s:
        s.execute(text("CREATE TABLE t (n INTEGER)"))
        s.commit()
    errors: list[Exception] = []

    def writer() -> None:
        try:
            for _ in range(50):
                with file_db.write() as s:
                    n = s.execute(text("SELECT count(*) FROM t")).scalar_one()
                    s.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
                    s.commit()
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    with file_db.read() as s:
        values = s.execute(text("SELECT n FROM t ORDER BY n")).scalars().all()
    # Read-then-write under BEGIN IMMEDIATE is serialised: every count is distinct.
    assert values == list(range(200))


def test_migrations_build_the_same_schema_as_the_models_and_can_run_twice(file_db):
    upgrade(file_db.engine)
    upgrade(file_db.engine)
    assert current_revision(file_db.engine) == head_revision() and is_current(file_db.engine)
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with file_db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []
    assert set(inspect(file_db.engine).get_table_names()) >= {"rating", "staff", "device", "duty"}


def test_upgrading_a_database_that_already_holds_complaints_keeps_them(file_db):
    """Adding columns to a table others refer to must work on SQLite with foreign keys on."""
    from alembic import command

    from rapport.core.migrate import alembic_config

    cfg = alembic_config(file_db.engine)
    with file_db.engine.connect() as conn:
        conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
        with conn.begin():
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "e1af16e6ae23")  # complaints, before casework columns
    with file_db.write() as s:
        s.execute(
            text(
                "INSERT INTO branch (id, code, name_zh, name_en, timezone) VALUES (1, 'A', '甲', 'A', 'UTC')"
            )
        )
        s.execute(text("INSERT INTO conduct_clause (code, section, sort_order, title_zh, title_en, short_zh, "
                       "short_en, description_zh, description_en, rateable, polarity, active) VALUES "
                       "('2.2.1', '2.2', 0, 't', 't', 's', 's', 'd', 'd', 1, 'both', 1)"))  # fmt: skip
        s.execute(text(
            "INSERT INTO complaint (id, idempotency_key, request_hash, code_digest, branch_id, channel, "
            "category, description, severity, status, locale, created_at, due_at, escalation_level) "
            "VALUES (1, 'k', 'h', 'd', 1, 'kiosk', '2.2.1', 'x', 'normal', 'new', 'zh-CN', "
            "'2026-01-01 00:00:00', '2026-01-02 00:00:00', 0)"
        ))  # fmt: skip
        s.execute(text("INSERT INTO complaint_event (complaint_id, at, kind, public, note) "
                       "VALUES (1, '2026-01-01 00:00:00', 'received', 1, '')"))  # fmt: skip
        s.execute(text(
            "INSERT INTO rating (id, idempotency_key, request_hash, branch_id, channel, score, reasons, "
            "comment, created_at, flagged, counted) VALUES ('0123456789abcdef0123456789abcdef', 'r', 'h', "
            "1, 'kiosk', 4, '[]', '', '2026-01-01 00:00:00', 0, 1)"
        ))  # fmt: skip
        s.commit()
    upgrade(file_db.engine)
    assert is_current(file_db.engine)
    with file_db.read() as s:  # a column added later to a table with rows: its default fills them
        assert s.execute(text("SELECT overturned, counted FROM rating")).one() == (0, 1)
    with file_db.read() as s:
        assert s.execute(text("SELECT count(*) FROM complaint_event")).scalar_one() == 1
        assert s.execute(text("SELECT root_cause FROM complaint WHERE id = 1")).scalar_one() is None
        assert s.execute(text("PRAGMA foreign_keys")).scalar_one() == 1


def _pg_url() -> str:
    import os

    url = os.environ.get("RAPPORT_TEST_DATABASE_URL")
    if not url:
        pytest.skip("PostgreSQL: set RAPPORT_TEST_DATABASE_URL")
    return url


def test_a_postgresql_connection_just_checked_in_is_not_pinged_again(monkeypatch):
    """The intake's round trips: a connection back in the pool a moment ago is used without a ping."""
    from rapport.core import db as dbmod

    database = Database.from_url(_pg_url())
    pings: list[int] = []
    real = database.engine.dialect.do_ping
    monkeypatch.setattr(database.engine.dialect, "do_ping", lambda c: pings.append(1) or real(c))
    try:
        for _ in range(5):
            with database.raw_write() as conn:
                conn.cursor().execute("SELECT 1")
        assert pings == []  # one connection, checked out five times within the idle time
        monkeypatch.setattr(dbmod, "PING_AFTER_IDLE_SECONDS", 0.0)
        with database.raw_write() as conn:
            conn.cursor().execute("SELECT 1")
        assert pings == [1]
    finally:
        database.dispose()


def test_a_postgresql_connection_that_died_while_idle_is_replaced_before_use(monkeypatch):
    from rapport.core import db as dbmod

    database = Database.from_url(_pg_url())
    try:
        with database.engine.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        killer = Database.from_url(_pg_url())
        with killer.engine.connect() as conn:  # the server drops the pooled connection
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
        killer.dispose()
        monkeypatch.setattr(dbmod, "PING_AFTER_IDLE_SECONDS", 0.0)  # as if it had been idle a while
        with database.engine.connect() as conn:
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
    finally:
        database.dispose()
