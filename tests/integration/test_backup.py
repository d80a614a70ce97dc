"""Backups while the kiosk is busy, restores that refuse to do harm, retention, and the export.

Backups work on a real SQLite file (the shared ``db`` fixture is in memory), migrated with Alembic
exactly as `rapport serve` would do it.
"""

from __future__ import annotations

import io
import json
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table
from sqlmodel import select

from models.auth import authenticate, create_user, start_totp_enrolment
from models.catalog import load_catalog
from models.complaint import ComplaintCreate, file_complaint
from models.org import Branch, Counter, Staff
from models.rating import Channel, Rating, RatingCreate, rate_by_qr, submit_rating
from rapport.core.db import Database
from rapport.core.migrate import head_revision, upgrade
from rapport.usecases.backup import (
    BackupError,
    backup_sqlite,
    manifest_path_for,
    prune_backups,
    restore_sqlite,
    verify_backup,
)
from rapport.usecases.data_export import export_data, exported_columns


def file_database(path: Path) -> tuple[Database, int, int]:
    """A migrated SQLite file with one branch and one staff member; returns (db, branch, staff)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = Database.from_url(f"sqlite:///{path}")
    upgrade(db.engine)
    with db.write() as s:
        load_catalog(s)
        branch = Branch(code="A", name_zh="甲支行", name_en="Branch A")
        s.add(branch)
        s.flush()
        assert branch.id is not None
        s.add(Counter(branch_id=branch.id, code="A-01", name_zh="1号窗口", name_en="Counter 1"))
        staff = Staff(employee_no="E1", display_name="王芳", branch_id=branch.id)
        s.add(staff)
        s.commit()
        assert staff.id is not None
        return db, branch.id, staff.id


def rate(db: Database, branch_id: int, staff_id: int, key: str, score: int = 4) -> None:
    with db.write() as s:
        submit_rating(
            s,
            idempotency_key=key,
            data=RatingCreate(score=score, comment=f"评论 {key}"),
            channel=Channel.kiosk,
            branch_id=branch_id,
            staff_id=staff_id,
        )


def keys_in(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT idempotency_key FROM rating")}


def integrity(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


@pytest.fixture
def live(tmp_path: Path):
    db, branch_id, staff_id = file_database(tmp_path / "live" / "rapport.db")
    for n in range(50):
        rate(db, branch_id, staff_id, f"seed-{n}")
    yield db, branch_id, staff_id
    db.dispose()


def test_a_backup_taken_while_ratings_are_written_restores_with_every_acknowledged_rating(tmp_path, live):
    db, branch_id, staff_id = live
    acknowledged: list[str] = []
    lock, stop = threading.Lock(), threading.Event()
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        n = 0
        try:
            while not stop.is_set():
                key = f"{name}-{n}"
                rate(db, branch_id, staff_id, key, score=1 + n % 5)
                with lock:  # acknowledged: the commit has returned
                    acknowledged.append(key)
                n += 1
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"w{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    while len(acknowledged) < 100 and not errors:
        time.sleep(0.01)
    with lock:
        before = set(acknowledged) | {f"seed-{n}" for n in range(50)}
    progress: list[tuple[int, int]] = []

    def on_step(done: int, total: int) -> None:
        with lock:
            progress.append((done, len(acknowledged)))
        time.sleep(0.01)  # a slow disk: the writers keep committing between steps

    try:
        result = backup_sqlite(db, tmp_path / "backups", pages_per_step=4, on_step=on_step)
    finally:
        time.sleep(0.05)
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors
    assert len(progress) > 3, "the backup was not taken in steps"
    assert progress[-1][1] > progress[0][1], "no rating was written while the backup ran"

    fresh = tmp_path / "fresh" / "rapport.db"
    restored = restore_sqlite(result.path, f"sqlite:///{fresh}")
    assert restored.schema_revision_after == head_revision()
    assert integrity(fresh) == "ok" and integrity(result.path) == "ok"
    in_backup = keys_in(fresh)
    assert before <= in_backup, f"{len(before - in_backup)} acknowledged ratings are missing"
    assert result.row_counts["rating"] == len(in_backup)
    # One snapshot, taken before the first step: nothing acknowledged later (bar one commit in flight
    # per writer) is in it, however long the copy took.
    assert len(in_backup) <= progress[0][1] + 50 + len(threads)


def test_the_backup_is_a_single_file_with_a_manifest_that_describes_it(tmp_path, live):
    db, *_ = live
    now = datetime(2026, 5, 1, 2, 30, tzinfo=UTC)
    result = backup_sqlite(db, tmp_path / "b", now=now)
    assert result.path.name == "rapport-20260501-023000.db"
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == [
        "rapport-20260501-023000.db",
        "rapport-20260501-023000.manifest.json",
    ]
    manifest = json.loads(result.manifest_path.read_text())
    assert manifest["integrity_check"] == "ok" and manifest["created_at"] == "2026-05-01T02:30:00Z"
    assert manifest["schema_revision"] == head_revision() and manifest["tables"]["rating"] == 50
    assert manifest["sha256"] == result.sha256 and manifest["size_bytes"] == result.path.stat().st_size
    assert result.path.stat().st_mode & 0o077 == 0, "a backup holds password hashes: owner only"
    with sqlite3.connect(result.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    again = backup_sqlite(db, tmp_path / "b", now=now)
    assert again.path.name == "rapport-20260501-023000-2.db", "a second backup in the same second"


def test_restore_refuses_a_directory_that_already_holds_a_database(tmp_path, live):
    db, *_ = live
    result = backup_sqlite(db, tmp_path / "b")
    target = tmp_path / "occupied" / "rapport.db"
    target.parent.mkdir()
    target.write_bytes(b"someone's data")
    with pytest.raises(BackupError, match="already exists.*empty data directory"):
        restore_sqlite(result.path, f"sqlite:///{target}")
    assert target.read_bytes() == b"someone's data"


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _corrupt_and_rehash(path: Path) -> None:
    """Damage the pages but forge the manifest's hash: only the integrity check can catch it."""
    import hashlib

    with sqlite3.connect(path) as conn:
        page = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'rating'").fetchone()[0]
    data = bytearray(path.read_bytes())
    start = (root - 1) * page
    data[start + 8 : start + 200] = b"\x7f" * 192  # a b-tree page's cell pointers
    path.write_bytes(bytes(data))
    manifest_path = manifest_path_for(path)
    manifest = json.loads(manifest_path.read_text())
    manifest["sha256"] = hashlib.sha256(bytes(data)).hexdigest()
    manifest_path.write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_flip_a_byte, "does not match its manifest"),
        (_corrupt_and_rehash, "integrity_check|not a readable SQLite database"),
        (lambda p: manifest_path_for(p).unlink(), "has no manifest"),
    ],
    ids=["tampered", "corrupted", "no-manifest"],
)
def test_restore_refuses_a_damaged_backup_and_creates_nothing(tmp_path, live, damage, message):
    db, *_ = live
    result = backup_sqlite(db, tmp_path / "b")
    damage(result.path)
    target = tmp_path / "fresh" / "rapport.db"
    with pytest.raises(BackupError, match=message):
        restore_sqlite(result.path, f"sqlite:///{target}")
    leftovers = list(target.parent.glob("*")) if target.parent.exists() else []
    assert leftovers == [], "a refused restore must leave nothing behind"


def test_an_untouched_backup_passes_verification(tmp_path, live):
    db, *_ = live
    result = backup_sqlite(db, tmp_path / "b")
    assert verify_backup(result.path)["tables"]["rating"] == 50


def test_restore_refuses_a_backup_from_a_newer_rapport(tmp_path, live):
    db, *_ = live
    result = backup_sqlite(db, tmp_path / "b")
    with sqlite3.connect(result.path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'ffffffffffff'")
    _rehash(result.path, schema_revision="ffffffffffff")
    with pytest.raises(BackupError, match="ffffffffffff.*does not know"):
        restore_sqlite(result.path, f"sqlite:///{tmp_path / 'fresh' / 'rapport.db'}")


def _rehash(path: Path, **changes: object) -> None:
    import hashlib

    manifest_path = manifest_path_for(path)
    manifest = json.loads(manifest_path.read_text())
    manifest.update(changes, sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    manifest_path.write_text(json.dumps(manifest))


def test_backing_up_postgresql_or_a_missing_file_explains_what_to_do(tmp_path):
    with pytest.raises(BackupError, match="pg_dump"):
        backup_sqlite("postgresql+psycopg://u@localhost/rapport", tmp_path)
    with pytest.raises(BackupError, match="no database at"):
        backup_sqlite(f"sqlite:///{tmp_path / 'nothing.db'}", tmp_path / "b")
    assert not (tmp_path / "nothing.db").exists(), "a backup must not create the database it looks for"


def _backups_at(tmp_path: Path, db: Database, days_ago: list[int], now: datetime) -> Path:
    dest = tmp_path / "b"
    for d in days_ago:
        backup_sqlite(db, dest, now=now - timedelta(days=d))
    return dest


def test_retention_keeps_the_newest_count_and_leaves_other_files_alone(tmp_path, live):
    db, *_ = live
    now = datetime(2026, 5, 20, 1, 0, tzinfo=UTC)
    dest = _backups_at(tmp_path, db, [0, 1, 2, 3, 4], now)
    (dest / "notes.txt").write_text("mine")
    removed = prune_backups(dest, keep=2, now=now)
    assert sorted(p.name for p in removed) == [
        "rapport-20260516-010000.db",
        "rapport-20260517-010000.db",
        "rapport-20260518-010000.db",
    ]
    assert sorted(p.name for p in dest.iterdir()) == [
        "notes.txt",
        "rapport-20260519-010000.db",
        "rapport-20260519-010000.manifest.json",
        "rapport-20260520-010000.db",
        "rapport-20260520-010000.manifest.json",
    ]


def test_retention_by_days_never_removes_a_backup_younger_than_the_limit(tmp_path, live):
    db, *_ = live
    now = datetime(2026, 5, 20, 1, 0, tzinfo=UTC)
    dest = _backups_at(tmp_path, db, [0, 1, 2, 10, 40], now)
    removed = prune_backups(dest, keep=1, keep_days=7, now=now)
    assert sorted(p.name for p in removed) == ["rapport-20260410-010000.db", "rapport-20260510-010000.db"]
    assert len(list(dest.glob("*.db"))) == 3
    with pytest.raises(BackupError, match="RAPPORT_BACKUP_KEEP"):
        prune_backups(dest, keep=0, now=now)


# --- export ---------------------------------------------------------------------------------------


def test_the_export_leaves_out_secrets_and_contact_data_and_keeps_the_records(db, world):
    with db.write() as s:
        admin = create_user(
            s,
            employee_no="A1",
            display_name="管理员",
            role="admin",
            branch_id=None,
            username="boss",
            password="correct horse battery",
        )
        assert admin.id is not None
        totp_secret, _uri = start_totp_enrolment(s, staff_id=admin.id)
        _staff, session_token = authenticate(s, login="boss", password="correct horse battery", client="t")
        complaint, tracking_code, _ = file_complaint(
            s,
            idempotency_key="c1",
            channel=Channel.kiosk,
            branch_id=world.branch_id,
            data=ComplaintCreate(
                category="2.2.1", description="等了四十分钟", contact="13812345678", consent=True
            ),
        )
        staff = s.exec(select(Staff).where(Staff.employee_no == world.staff_no)).one()
        rate_by_qr(
            s,
            qr_token=staff.qr_token,
            phone_id="phone-abc",
            idempotency_key="q1",
            data=RatingCreate(score=2, comment="态度一般"),
        )
        secrets = {
            "contact": "13812345678",
            "totp": totp_secret,
            "session token": session_token,
            "tracking code": tracking_code,
            "badge token": staff.qr_token,
            "pin hash": staff.pin_hash,
            "password hash": admin.password_hash,
            "phone key": s.exec(select(Rating.phone_key).where(Rating.idempotency_key == "q1")).one(),
        }
    out = io.StringIO()
    result = export_data(db, out)
    text = out.getvalue()
    for what, value in secrets.items():
        assert value and value not in text, f"the export contains the {what}"
    lines = [json.loads(line) for line in text.splitlines()]
    header, rows, end = lines[0], lines[1:-1], lines[-1]
    assert header["format"] == "rapport-export"
    assert {"login_session", "totp_secret"} <= set(header["omitted_tables"])
    assert {"staff.password_hash", "staff.pin_hash", "staff.qr_token", "complaint.contact"} <= set(
        header["omitted_columns"]
    )
    tables = {r["table"] for r in rows}
    assert "login_session" not in tables and "totp_secret" not in tables
    complaint_rows = [r["row"] for r in rows if r["table"] == "complaint"]
    assert complaint_rows[0]["description"] == "等了四十分钟" and "contact" not in complaint_rows[0]
    assert complaint_rows[0]["contact_kind"] == "phone"
    assert {r["row"]["comment"] for r in rows if r["table"] == "rating"} == {"态度一般"}
    staff_rows = [r["row"] for r in rows if r["table"] == "staff"]
    assert {"王芳", "管理员"} <= {r["display_name"] for r in staff_rows}
    assert end == {"end": True, "tables": result.rows}
    assert sum(result.rows.values()) == len(rows)


def test_a_new_column_that_looks_secret_is_left_out_until_someone_says_it_is_harmless():
    table = Table(
        "webhook",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("url", String),
        Column("api_token", String),
        Column("signing_key", String),
        Column("owner_email", String),
    )
    keep, left_out = exported_columns(table)
    assert keep == ["id", "url"]
    assert set(left_out) == {"webhook.api_token", "webhook.signing_key", "webhook.owner_email"}


def test_a_restored_copy_can_be_exported(tmp_path, live):
    db, *_ = live
    result = backup_sqlite(db, tmp_path / "b")
    fresh = tmp_path / "fresh" / "rapport.db"
    restore_sqlite(result.path, f"sqlite:///{fresh}")
    copy = Database.from_url(f"sqlite:///{fresh}")
    try:
        out = io.StringIO()
        assert export_data(copy, out).rows["rating"] == 50
    finally:
        copy.dispose()
