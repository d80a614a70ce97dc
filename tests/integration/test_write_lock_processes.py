"""Writers of one SQLite file in several processes take turns through the lock file.

``rapport serve --workers N`` runs N processes on one SQLite file. Each process queues its own
writers (rapport.core.db.WriteLock); the writer whose turn it is also takes an exclusive ``flock`` on
``<database>-writer.lock``, so a process's writer waits for another process's transaction on the
kernel's queue, which wakes it as soon as the lock is free, instead of sleeping in SQLite's busy
handler. These tests hold the lock file from outside and watch a child process wait for it, and run
two processes writing at once: every write stored, none refused.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

import rapport.core.db as db_module
from rapport.core.db import Database, write_lock_for

ROOT = Path(__file__).resolve().parents[2]

WRITER = """
import sys, time
import pytest
from sqlalchemy import text
from rapport.core.db import Database
db = Database.from_url(f"sqlite:///{sys.argv[1]}")
tag, n = sys.argv[2], int(sys.argv[3])
print("ready", flush=True)
for i in range(n):
    with db.write() as s:
        row = {"who": f"{tag}-{i}", "at": time.time()}
        s.execute(text("INSERT INTO note (who, at) VALUES (:who, :at)"), row)
        s.commit()
    stored = time.time()
print("done", stored, flush=True)
"""


def _database(tmp_path: Path) -> Database:
    db = Database.from_url(f"sqlite:///{tmp_path / 'rapport.db'}")
    with db.write() as s:
        s.execute(text("CREATE TABLE note (who TEXT PRIMARY KEY, at REAL NOT NULL)"))
        s.commit()
    return db


def _writer(tmp_path: Path, tag: str, n: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path / "rapport.db"), tag, str(n)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip


def test_a_writer_in_another_process_waits_while_the_lock_file_is_held(tmp_path):
    db = _database(tmp_path)
    lock_file = tmp_path / "rapport.db-writer.lock"
    assert lock_file.exists(), "the first write made the lock file beside the database"
    fd = os.open(lock_file, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as another process's writer in its transaction
    try:
        child = _writer(tmp_path, "child", 1)
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        time.sleep(1.0)
        with db.read() as s:
            assert s.execute(text("SELECT count(*) FROM note")).scalar() == 0, "it waited for its turn"
        released = time.time()
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    out, err = child.communicate(timeout=30)
    assert child.returncode == 0, err
    done, stored = out.split()
    assert done == "done"
    assert float(stored) >= released, "committed after the lock was released, not before"
    assert float(stored) - released < 1.0, "and at once, not after a busy handler's sleep"
    with db.read() as s:
        assert s.execute(text("SELECT count(*) FROM note")).scalar() == 1
    db.dispose()


def test_two_processes_writing_at_once_store_every_write(tmp_path):
    db = _database(tmp_path)
    writers = [_writer(tmp_path, tag, 300) for tag in ("a", "b")]
    for w in writers:
        out, err = w.communicate(timeout=120)
        assert w.returncode == 0, err
        assert out.split()[:2] == ["ready", "done"]
    with db.read() as s:
        assert s.execute(text("SELECT count(*) FROM note")).scalar() == 600
    lock = write_lock_for(db.engine)
    assert lock is not None and lock.owner is None
    db.dispose()


def _open_lock_files() -> list[str]:
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.endswith(("-writer.lock", "-processes.lock")):
            found.append(target)
    return found


def test_a_disposed_database_keeps_no_lock_file_open(tmp_path):
    db = _database(tmp_path)
    files = {str(tmp_path / "rapport.db-writer.lock"), str(tmp_path / "rapport.db-processes.lock")}
    assert files <= set(_open_lock_files())
    db.dispose()
    assert not files & set(_open_lock_files())
    again = Database.from_url(f"sqlite:///{tmp_path / 'rapport.db'}")  # the next turn opens it again
    with again.write() as s:
        s.execute(text("INSERT INTO note (who, at) VALUES ('after', 0)"))
        s.commit()
    with again.read() as s:
        assert s.execute(text("SELECT count(*) FROM note")).scalar() == 1
    again.dispose()


def test_a_turn_whose_lock_file_fails_passes_on_instead_of_blocking_the_others(tmp_path, monkeypatch):
    db = _database(tmp_path)
    lock = write_lock_for(db.engine)
    assert lock is not None

    def broken() -> None:
        raise OSError("the lock file's disk went away")

    monkeypatch.setattr(lock, "_take_file", broken)
    # A turn that goes to the lock file: one due to look again for other processes (a process that
    # looked lately and found itself alone skips the file, and so cannot fail on it).
    monkeypatch.setattr(lock, "_recheck_at", 0.0)
    with pytest.raises(OSError, match="went away"), db.write() as s:
        s.execute(text("INSERT INTO note (who, at) VALUES ('x', 0)"))
    assert lock.owner is None, "the turn was handed on"
    monkeypatch.undo()
    with db.write() as s:  # the next writer is not blocked
        s.execute(text("INSERT INTO note (who, at) VALUES ('y', 0)"))
        s.commit()
    db.dispose()


def _writes(db: Database, tag: str, n: int) -> None:
    for i in range(n):
        with db.write() as s:
            s.execute(text("INSERT INTO note (who, at) VALUES (:who, 0)"), {"who": f"{tag}-{i}"})
            s.commit()


def test_a_process_writing_alone_skips_the_lock_file_until_another_process_joins(tmp_path, monkeypatch):
    """The lock file costs two system calls a turn; a process that is the only one writing the file
    (the only holder of ``<database>-processes.lock``) skips it, and takes it again once another
    process has joined, within ALONE_RECHECK_S."""
    monkeypatch.setattr(db_module, "ALONE_RECHECK_S", 0.2)
    db = _database(tmp_path)
    lock = write_lock_for(db.engine)
    assert lock is not None
    taken: list[int] = []
    real_flock = fcntl.flock

    def watching(fd: int, op: int) -> None:
        if fd == lock._fd and op == fcntl.LOCK_EX:
            taken.append(fd)
        real_flock(fd, op)

    monkeypatch.setattr(db_module.fcntl, "flock", watching)
    time.sleep(0.25)
    _writes(db, "alone", 5)
    assert taken == [], "alone: no turn took the lock file"
    # Another process joins: its own open of the members file, held shared, as every writer holds it.
    other = os.open(tmp_path / "rapport.db-processes.lock", os.O_RDWR)
    real_flock(other, fcntl.LOCK_SH)
    try:
        time.sleep(0.25)
        _writes(db, "shared", 5)
        assert len(taken) == 5, "with another process, every turn takes the lock file"
        # And a writer of the other process in its transaction holds this process's writers back.
        holder = os.open(tmp_path / "rapport.db-writer.lock", os.O_RDWR)
        real_flock(holder, fcntl.LOCK_EX)
        child = _writer(tmp_path, "child", 1)
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        time.sleep(0.5)
        with db.read() as s:
            assert s.execute(text("SELECT count(*) FROM note WHERE who LIKE 'child-%'")).scalar() == 0
        real_flock(holder, fcntl.LOCK_UN)
        os.close(holder)
        out, err = child.communicate(timeout=30)
        assert child.returncode == 0, err
    finally:
        os.close(other)
    time.sleep(0.25)
    taken.clear()
    _writes(db, "alone-again", 5)
    assert taken == [], "the other process gone: alone again"
    with db.read() as s:
        assert s.execute(text("SELECT count(*) FROM note")).scalar() == 16
    db.dispose()
