"""The append-only audit log: each entry hashes the one before it, so an edited or deleted row breaks
the chain at a point `rapport audit verify` can name.

Entries hold ids and hashes only, never personal data: the log must outlive erasure of contact data
without keeping a copy of it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, insert, text
from sqlalchemy.engine import Dialect
from sqlmodel import Field, Session, SQLModel, col, select

import models.base  # noqa: F401  (naming convention first)
from models.clock import UTCDateTime, utcnow
from models.prepared import Prepared

GENESIS = "0" * 64


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    actor_staff_id: int | None = Field(default=None, index=True)
    action: str = Field(max_length=48, index=True)
    entity: str = Field(max_length=32)
    entity_id: str = Field(max_length=64)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


def entry_hash(
    *, seq: int, prev_hash: str, at: datetime, actor_staff_id: int | None, action: str, entity: str,
    entity_id: str, details: dict[str, Any],
) -> str:  # fmt: skip
    """SHA-256 over the previous hash and a canonical JSON of the entry (its position included, so a
    deleted row cannot be hidden by renumbering)."""
    body = json.dumps(
        {
            "seq": seq, "at": at.isoformat(timespec="microseconds"), "actor": actor_staff_id,
            "action": action, "entity": entity, "entity_id": entity_id, "details": details,
        },  # fmt: skip
        sort_keys=True, ensure_ascii=False, separators=(",", ":"),
    )  # fmt: skip
    return hashlib.sha256(f"{prev_hash}|{body}".encode()).hexdigest()


_CHAIN_LOCK = "SELECT pg_advisory_xact_lock(734501)"


def _lock_chain(session: Session) -> None:
    """Serialise appends. SQLite: the write session already holds BEGIN IMMEDIATE. PostgreSQL: a
    transaction-scoped advisory lock, released at commit."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(text(_CHAIN_LOCK))


def _entry(
    last: tuple[int | None, str] | None, *, at: datetime, actor_staff_id: int | None, action: str,
    entity: str, entity_id: object, details: dict[str, Any] | None,
) -> dict[str, Any]:  # fmt: skip
    """The columns of the entry that follows ``last`` ((id, hash) of the newest entry, or None).
    The time is hashed as it is stored, in UTC: an entry written with another zone's time could not
    be verified against its own row."""
    at = at.astimezone(UTC)
    seq = (last[0] or 0) + 1 if last else 1
    prev = last[1] if last else GENESIS
    payload = dict(details or {})
    return {
        "id": seq, "at": at, "actor_staff_id": actor_staff_id, "action": action, "entity": entity,
        "entity_id": str(entity_id), "details": payload, "prev_hash": prev,
        "hash": entry_hash(seq=seq, prev_hash=prev, at=at, actor_staff_id=actor_staff_id, action=action,
                           entity=entity, entity_id=str(entity_id), details=payload),
    }  # fmt: skip


def append(
    session: Session,
    *,
    action: str,
    entity: str,
    entity_id: object,
    actor_staff_id: int | None = None,
    details: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> AuditEvent:
    """Add one entry in the caller's transaction (the caller commits with its own change, so the
    change and its audit entry land together or not at all)."""
    _lock_chain(session)
    last = session.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc()).limit(1)).first()
    event = AuditEvent(
        **_entry(
            (last.id, last.hash) if last else None, at=now or utcnow(), actor_staff_id=actor_staff_id,
            action=action, entity=entity, entity_id=entity_id, details=details,
        )
    )  # fmt: skip
    session.add(event)
    session.flush()
    return event


_LAST = Prepared(
    lambda _d: select(col(AuditEvent.id), col(AuditEvent.hash)).order_by(col(AuditEvent.id).desc()).limit(1)
)
_COLUMNS = [c.key for c in AuditEvent.__table__.columns]  # type: ignore[attr-defined]
_INSERT = Prepared(lambda _d: insert(AuditEvent), column_keys=_COLUMNS)


def append_on(
    conn: Any,
    dialect: Dialect,
    *,
    action: str,
    entity: str,
    entity_id: object,
    now: datetime,
    actor_staff_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> int:
    """:func:`append` on the driver's connection (:mod:`models.prepared`), for a caller that writes
    without an ORM session (a complaint filed from a device, models/complaint/intake.py): the same
    lock, the same link to the newest entry, the same hash; uncommitted. Returns the entry's id."""
    if dialect.name == "postgresql":
        cursor = conn.cursor()
        try:
            cursor.execute(_CHAIN_LOCK)
        finally:
            cursor.close()
    last = _LAST.first(conn, dialect)
    values = _entry(
        (last[0], last[1]) if last else None, at=now, actor_staff_id=actor_staff_id, action=action,
        entity=entity, entity_id=entity_id, details=details,
    )  # fmt: skip
    _INSERT.rowcount(conn, dialect, values)
    return int(values["id"])


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    entries: int
    first_broken: int | None = None
    reason: str = ""


def verify(session: Session, *, batch: int = 5000) -> ChainReport:
    """Walk the chain in order; report the first entry whose link or content does not check out."""
    prev, expected_seq, count, last_id = GENESIS, 1, 0, 0
    while True:
        rows = session.exec(
            select(AuditEvent).where(col(AuditEvent.id) > last_id).order_by(col(AuditEvent.id)).limit(batch)
        ).all()
        if not rows:
            return ChainReport(ok=True, entries=count)
        for row in rows:
            assert row.id is not None
            if row.id != expected_seq:
                return ChainReport(False, count, expected_seq, f"entry {expected_seq} is missing")
            if row.prev_hash != prev:
                return ChainReport(False, count, row.id, "it does not link to the entry before it")
            recomputed = entry_hash(
                seq=row.id, prev_hash=row.prev_hash, at=row.at, actor_staff_id=row.actor_staff_id,
                action=row.action, entity=row.entity, entity_id=row.entity_id, details=row.details,
            )  # fmt: skip
            if recomputed != row.hash:
                return ChainReport(False, count, row.id, "its content was changed after it was written")
            prev, expected_seq, count, last_id = row.hash, row.id + 1, count + 1, row.id
