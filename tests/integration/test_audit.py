"""The hash-chained audit log: tampering is found and named; concurrent appends keep the chain."""

import threading

from sqlalchemy import text
from sqlmodel import SQLModel

from models.audit import append, verify
from rapport.core.db import Database


def fill(db, n: int) -> None:
    for i in range(n):
        with db.write() as s:
            append(
                s,
                action="complaint.acknowledge",
                entity="complaint",
                entity_id=i,
                actor_staff_id=1,
                details={"status": "acknowledged"},
            )
            s.commit()


def test_an_untouched_chain_verifies(db):
    fill(db, 5)
    with db.read() as s:
        report = verify(s)
    assert report.ok and report.entries == 5 and report.first_broken is None


def test_an_edited_entry_is_named(db):
    fill(db, 5)
    with db.write() as s:
        s.execute(text("UPDATE audit_event SET entity_id = '99' WHERE id = 3"))
        s.commit()
    with db.read() as s:
        report = verify(s)
    assert not report.ok and report.first_broken == 3 and "changed" in report.reason


def test_a_deleted_entry_is_named(db):
    fill(db, 5)
    with db.write() as s:
        s.execute(text("DELETE FROM audit_event WHERE id = 2"))
        s.commit()
    with db.read() as s:
        report = verify(s)
    assert not report.ok and report.first_broken == 2 and "missing" in report.reason


def test_an_entry_rewritten_with_a_fresh_hash_still_breaks_the_next_link(db):
    fill(db, 4)
    with db.write() as s:
        s.execute(text("UPDATE audit_event SET hash = :h WHERE id = 2"), {"h": "f" * 64})
        s.commit()
    with db.read() as s:
        report = verify(s)
    assert not report.ok and report.first_broken == 2


def test_an_entry_rolled_back_with_its_change_leaves_no_trace(db):
    with db.write() as s:
        append(s, action="policy.update", entity="policy", entity_id=1)
        s.rollback()
    fill(db, 1)
    with db.read() as s:
        assert verify(s).entries == 1


def test_concurrent_appends_keep_the_chain_intact(db, tmp_path):
    if db.engine.dialect.name == "sqlite":
        # The in-memory test database is one shared connection; concurrency needs a real file.
        db = Database.from_url(f"sqlite:///{tmp_path / 'audit.db'}")
        SQLModel.metadata.create_all(db.engine)
    errors: list[Exception] = []

    def worker() -> None:
        try:
            fill(db, 15)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    with db.read() as s:
        report = verify(s)
    assert report.ok and report.entries == 60
