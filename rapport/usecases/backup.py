"""Backups of a SQLite database while it is in use, their retention, and restoring one.

A backup is two files in the backup directory (``<data dir>/backups`` unless told otherwise):

- ``rapport-YYYYmmdd-HHMMSS.db``: a complete, self-contained SQLite database (rollback journal mode,
  so no ``-wal`` file belongs to it), readable only by its owner;
- ``rapport-YYYYmmdd-HHMMSS.manifest.json``: when it was taken (UTC), the schema revision, the row
  count of every table, the head of the audit chain, and the SHA-256 of the ``.db`` file.

These functions are plain and synchronous so the nightly job can call them in a worker thread:
:func:`run_backup` (backup, then retention) or :func:`backup_sqlite` and :func:`prune_backups`
separately. PostgreSQL is backed up with ``pg_dump`` (docs/OPERATIONS.md); :class:`BackupError`
says so in one sentence.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy.engine import make_url

from models.clock import utcnow
from rapport.core.db import Database
from rapport.core.settings import Settings

MANIFEST_FORMAT = "rapport-backup"
MANIFEST_VERSION = 1
# Pages copied per step of the online backup (4 MiB with SQLite's 4 KiB pages), and the pause between
# steps that leaves the disk to the server's own writes.
PAGES_PER_STEP = 1024
STEP_PAUSE_S = 0.002
_NAME = re.compile(r"^rapport-(\d{8}-\d{6})(?:-(\d+))?\.db$")
_PARTIAL_SUFFIX = ".partial"
PG_DUMP_SENTENCE = (
    "the database is PostgreSQL: back it up with pg_dump and restore it with pg_restore "
    "(the exact commands are in docs/OPERATIONS.md, section Backups)."
)


class BackupError(Exception):
    """A backup or restore cannot be done; the message is one sentence saying why and what to do."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    manifest_path: Path
    created_at: datetime
    schema_revision: str | None
    row_counts: dict[str, int]
    sha256: str
    size_bytes: int
    pruned: tuple[Path, ...] = ()


@dataclass(frozen=True)
class RestoreResult:
    database: Path
    schema_revision_before: str | None
    schema_revision_after: str | None
    row_counts: dict[str, int] = field(default_factory=dict)


def sqlite_file(database_url: str) -> Path:
    """The database file behind a SQLite URL; :class:`BackupError` for PostgreSQL or in-memory."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        raise BackupError(PG_DUMP_SENTENCE)
    if not url.database or url.database == ":memory:":
        raise BackupError("the database is in memory; there is no file to back up or restore.")
    return Path(url.database).resolve()


def default_backup_dir(settings: Settings) -> Path:
    return settings.data_dir / "backups"


def run_backup(
    settings: Settings, *, dest_dir: Path | None = None, now: datetime | None = None
) -> BackupResult:
    """Back up the configured database, then apply the retention settings to that directory.

    This is the nightly job's whole body: ``run_backup(ctx.settings)``.
    """
    dest = dest_dir or default_backup_dir(settings)
    result = backup_sqlite(settings.effective_database_url, dest, now=now)
    pruned = prune_backups(
        dest, keep=settings.backup_keep, keep_days=settings.backup_keep_days, now=now, spare=result.path
    )
    return replace(result, pruned=tuple(pruned))


def backup_sqlite(
    source: Database | str,
    dest_dir: Path,
    *,
    now: datetime | None = None,
    pages_per_step: int = PAGES_PER_STEP,
    on_step: Callable[[int, int], None] | None = None,
) -> BackupResult:
    """Copy a live SQLite database into ``dest_dir`` and check the copy.

    1. Open the source file on a connection of our own and start a read transaction. In WAL mode a
       reader never blocks writers, and the steps below all read this one snapshot: the copy holds
       every transaction committed before the call, and the backup does not restart when the
       server commits in between (it would without the transaction, possibly for ever under load).
    2. Copy with the online backup API in steps of ``pages_per_step`` pages, pausing between steps.
    3. Switch the copy to rollback-journal mode (one self-contained file), run
       ``PRAGMA integrity_check`` on it and count its rows; anything but ``ok`` is an error.
    4. Write it under a temporary name, fsync, rename into place, then the manifest the same way,
       so a crash never leaves a file that looks like a finished backup.
    """
    url = source.engine.url.render_as_string(hide_password=False) if isinstance(source, Database) else source
    src_path = sqlite_file(url)
    if not src_path.is_file():
        raise BackupError(f"there is no database at {src_path} to back up.")
    now = now or utcnow()
    dest_dir.mkdir(parents=True, exist_ok=True)
    final = _free_name(dest_dir, now)
    partial = final.with_name(f".{final.name}{_PARTIAL_SUFFIX}")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(_uri(src_path, "mode=rw"), uri=True, isolation_level=None, timeout=10)
    try:
        dst = sqlite3.connect(partial, isolation_level=None)
        os.chmod(partial, 0o600)  # it holds password hashes and customers' contact details
        try:
            src.execute("BEGIN")
            src.execute("SELECT count(*) FROM sqlite_master").fetchone()  # pins the snapshot
            src.backup(dst, pages=pages_per_step, progress=_progress(on_step))
            src.execute("COMMIT")
            dst.execute("PRAGMA journal_mode=DELETE")
            facts = _inspect(dst)
        finally:
            dst.close()
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"the backup of {src_path} failed: {exc}.") from exc
    finally:
        src.close()
    if facts["integrity_check"] != "ok":
        partial.unlink(missing_ok=True)
        raise BackupError(
            f"the copy failed PRAGMA integrity_check ({facts['integrity_check']}); "
            f"check the disk and the source database, then try again."
        )
    digest, size = _sha256(partial), partial.stat().st_size
    _fsync(partial)
    manifest = {
        "format": MANIFEST_FORMAT,
        "version": MANIFEST_VERSION,
        "created_at": now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "file": final.name,
        "size_bytes": size,
        "sha256": digest,
        **facts,
    }
    manifest_path = manifest_path_for(final)
    os.replace(partial, final)
    _write_atomically(manifest_path, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    _fsync_dir(dest_dir)
    return BackupResult(
        path=final,
        manifest_path=manifest_path,
        created_at=now,
        schema_revision=facts["schema_revision"],
        row_counts=facts["tables"],
        sha256=digest,
        size_bytes=size,
    )


def manifest_path_for(backup: Path) -> Path:
    return backup.with_name(backup.name.removesuffix(".db") + ".manifest.json")


def prune_backups(
    dest_dir: Path,
    *,
    keep: int,
    keep_days: int = 0,
    now: datetime | None = None,
    spare: Path | None = None,
) -> list[Path]:
    """Delete old backups (and their manifests) from ``dest_dir``; return the deleted ``.db`` files.

    A backup is deleted only when it is not among the newest ``keep`` and, if ``keep_days`` is above
    0, also older than ``keep_days`` days: a stopped schedule never eats the last good backups, and a
    busy day of manual backups never pushes out last week's. ``spare`` (the backup just taken) is
    never deleted. Files that do not look like Rapport backups are left alone; temporary files of an
    interrupted backup are removed after a day.
    """
    if keep < 1:
        raise BackupError("keep at least one backup (RAPPORT_BACKUP_KEEP must be 1 or more).")
    now = now or utcnow()
    backups = sorted((p for p in dest_dir.glob("rapport-*.db") if _taken_at(p)), key=_order, reverse=True)
    removed: list[Path] = []
    for path in backups[keep:]:
        taken = _taken_at(path)
        assert taken is not None
        if path == spare or (keep_days > 0 and now - taken < timedelta(days=keep_days)):
            continue
        path.unlink(missing_ok=True)
        manifest_path_for(path).unlink(missing_ok=True)
        removed.append(path)
    for stale in dest_dir.glob(f".rapport-*.db{_PARTIAL_SUFFIX}"):
        if now.timestamp() - stale.stat().st_mtime > 86400:
            stale.unlink(missing_ok=True)
    return removed


def read_manifest(backup: Path) -> dict[str, Any]:
    path = manifest_path_for(backup)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(
            f"{backup.name} has no manifest beside it ({path.name}); restore only a backup made by "
            f"`rapport backup`, with its manifest."
        ) from None
    except (ValueError, OSError) as exc:
        raise BackupError(f"the manifest {path.name} cannot be read ({exc}).") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise BackupError(f"{path.name} is not a Rapport backup manifest.")
    return manifest


def verify_backup(backup: Path) -> dict[str, Any]:
    """Check a backup file before anything is done with it; return its manifest.

    1. The manifest must be there and name this file.
    2. The file's SHA-256 must equal the manifest's (a changed or truncated file fails here).
    3. ``PRAGMA integrity_check`` on the file, opened read-only, must say ``ok``.
    """
    if not backup.is_file():
        raise BackupError(f"there is no backup file at {backup}.")
    manifest = read_manifest(backup)
    if manifest.get("file") != backup.name:
        raise BackupError(
            f"the manifest beside {backup.name} describes another file ({manifest.get('file')})."
        )
    if _sha256(backup) != manifest.get("sha256"):
        raise BackupError(
            f"{backup.name} does not match its manifest (SHA-256 differs): it was changed or damaged "
            f"after the backup was taken; use another backup."
        )
    try:
        conn = sqlite3.connect(_uri(backup, "mode=ro&immutable=1"), uri=True)
        try:
            verdict = _integrity(conn)
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{backup.name} is not a readable SQLite database ({exc}).") from None
    if verdict != "ok":
        raise BackupError(f"{backup.name} fails PRAGMA integrity_check ({verdict}); use another backup.")
    return manifest


def restore_sqlite(backup: Path, database_url: str) -> RestoreResult:
    """Restore ``backup`` as the database at ``database_url``, then migrate it to this code's head.

    1. Only into an empty place: if the database file (or its ``-wal``/``-journal``) exists, refuse.
    2. Verify the backup (:func:`verify_backup`), and that this code knows its schema revision (a
       backup from a newer Rapport cannot be run by an older one).
    3. Copy it beside the target under a temporary name, fsync, and link it into place; linking
       fails if a database appeared meanwhile, so a restore never overwrites one.
    4. Run the migrations up to head.
    """
    from rapport.core.migrate import current_revision, upgrade

    target = sqlite_file(database_url)
    present = [p for p in _database_files(target) if p.exists()]
    if present:
        raise BackupError(
            f"a database already exists at {present[0]}; restore only into an empty data directory "
            f"(move the old database away first, or point RAPPORT_DATA_DIR at a new directory)."
        )
    manifest = verify_backup(backup)
    revision = manifest.get("schema_revision")
    if revision is not None and not _known_revision(revision):
        raise BackupError(
            f"the backup has schema revision {revision}, which this version of Rapport does not know; "
            f"restore it with the Rapport version that made it, then upgrade."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.restoring")
    temp.unlink(missing_ok=True)
    try:
        shutil.copyfile(backup, temp)
        os.chmod(temp, 0o600)
        _fsync(temp)
        os.link(temp, target)
    except FileExistsError:
        raise BackupError(
            f"a database appeared at {target} during the restore; nothing was changed."
        ) from None
    finally:
        temp.unlink(missing_ok=True)
    _fsync_dir(target.parent)
    db = Database.from_url(database_url)
    try:
        upgrade(db.engine)
        after = current_revision(db.engine)
    finally:
        db.dispose()
    return RestoreResult(
        database=target,
        schema_revision_before=revision,
        schema_revision_after=after,
        row_counts=dict(manifest.get("tables") or {}),
    )


def _known_revision(revision: str) -> bool:
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from rapport.core.migrate import alembic_config_for_scripts

    try:
        return ScriptDirectory.from_config(alembic_config_for_scripts()).get_revision(revision) is not None
    except CommandError:
        return False


def _uri(path: Path, query: str) -> str:
    return f"file:{quote(str(path.resolve()))}?{query}"


def _database_files(target: Path) -> list[Path]:
    return [target] + [target.with_name(target.name + s) for s in ("-wal", "-shm", "-journal")]


def _inspect(conn: sqlite3.Connection) -> dict[str, Any]:
    """Integrity verdict, schema revision, row counts and the audit chain's head of a copy."""
    names = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    tables = {name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names}
    revision = None
    if "alembic_version" in names:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        revision = row[0] if row else None
    audit_head = None
    if "audit_event" in names:
        row = conn.execute("SELECT id, hash FROM audit_event ORDER BY id DESC LIMIT 1").fetchone()
        audit_head = {"id": row[0], "hash": row[1]} if row else None
    return {
        "integrity_check": _integrity(conn),
        "schema_revision": revision,
        "tables": tables,
        # Anchors the audit chain outside the database: a deleted tail shows against this.
        "audit_head": audit_head,
    }


def _integrity(conn: sqlite3.Connection) -> str:
    rows = conn.execute("PRAGMA integrity_check").fetchall()
    return "; ".join(str(r[0]) for r in rows[:5])


def _progress(on_step: Callable[[int, int], None] | None) -> Callable[[int, int, int], None]:
    """Called by SQLite after each step: report it, then pause so the server's writes get the disk
    (the backup's own ``sleep`` only applies when a step finds the database busy)."""

    def step(_status: int, remaining: int, total: int) -> None:
        if on_step is not None:
            on_step(total - remaining, total)
        time.sleep(STEP_PAUSE_S)

    return step


def _free_name(dest_dir: Path, now: datetime) -> Path:
    stamp = now.astimezone(UTC).strftime("%Y%m%d-%H%M%S")
    path, n = dest_dir / f"rapport-{stamp}.db", 1
    while path.exists() or manifest_path_for(path).exists():
        n += 1
        path = dest_dir / f"rapport-{stamp}-{n}.db"
    return path


def _taken_at(path: Path) -> datetime | None:
    match = _NAME.match(path.name)
    if not match:
        return None
    return datetime.strptime(match.group(1), "%Y%m%d-%H%M%S").replace(tzinfo=UTC)


def _order(path: Path) -> tuple[datetime, int]:
    match = _NAME.match(path.name)
    assert match is not None
    return _taken_at(path) or datetime.min.replace(tzinfo=UTC), int(match.group(2) or 1)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fsync(path: Path) -> None:
    with path.open("rb+") as f:
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # not possible on every platform; the rename is still atomic
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomically(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}{_PARTIAL_SUFFIX}")
    with temp.open("w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temp, path)
