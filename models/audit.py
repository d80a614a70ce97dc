"""The append-only audit log: each entry hashes the one before it, so an edited or deleted row breaks
the chain at a point `rapport audit verify` can name.

Entries hold ids and hashes only, never personal data: the log must outlive erasure of contact data
without keeping a copy of it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, text
from sqlmodel import Field, Session, SQLModel, col, select

import models.base  # noqa: F401  (naming convention first)
from models.clock import UTCDateTime, utcnow

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


def _lock_chain(session: Session) -> None:
    """Serialise appends. SQLite: the write session already holds BEGIN IMMEDIATE. PostgreSQL: a
    transaction-scoped advisory lock, released at commit."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(734501)"))


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
    seq = (last.id or 0) + 1 if last else 1
    prev = last.hash if last else GENESIS
    at = now or utcnow()
    payload = dict(details or {})
    event = AuditEvent(
        id=seq, at=at, actor_staff_id=actor_staff_id, action=action, entity=entity,
        entity_id=str(entity_id), details=payload, prev_hash=prev,
        hash=entry_hash(seq=seq, prev_hash=prev, at=at, actor_staff_id=actor_staff_id, action=action,
                        entity=entity, entity_id=str(entity_id), details=payload),
    )  # fmt: skip
    session.add(event)
    session.flush()
    return event


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
