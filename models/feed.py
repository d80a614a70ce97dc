"""The provincial 好差评 feed's outbox: one record per counted rating, delivered by a worker.

A deployment that reports to its province's 好差评 platform (RAPPORT_FEED_URL, docs/OPERATIONS.md
"The provincial 好差评 feed") turns the feed on at start-up (:func:`switch_on`, from
``rapport.core.settings.apply_feed``). From then on every path that stores a rating (the intake of
:mod:`models.intake`, for the tablets and ``POST /api/v1/ratings``; :func:`models.rating.store_rating`,
for phones and the hotline) adds one :class:`FeedRecord` **in the rating's own transaction**, for a
counted rating only (a flagged press is kept but never counted, so never reported): the rating and its
record are committed together or not at all. With the feed off nothing is written and the intake pays
one attribute test.

A record's id is derived from the rating's id and the deployment's source (the implementing
department's code), so it is the same on every attempt and could be derived again: the platform
dedupes by it, which makes delivery exactly once from its point of view however often the worker
has to retry.

The worker (``rapport/usecases/feed.py``) takes a due record (:func:`due_records`, then
:func:`lease`), posts it outside any transaction, and records the answer (:func:`record_attempt`):

- 2xx: delivered.
- 5xx, 408, 429, a timeout or no connection: tried again after :func:`backoff` (exponential, capped).
- any other answer (4xx, and a 3xx, which a platform's intake never gives when configured right):
  paused, the answer kept; an administrator reads it (``rapport feed list --paused``) and, once the
  cause is fixed, resends it (``rapport feed resend ID``, :func:`resend`).

Every attempt is logged in :class:`FeedAttempt` (when, the status code, the outcome, an excerpt of the
answer). The first attempt waits until the rating's details window has closed
(:data:`FIRST_ATTEMPT_DELAY`, as long as ``models.rating.RATING_DETAILS_WINDOW``): the tap is stored
at once, and the reasons and comment a customer adds in the next minutes belong in the same record.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, Column, Index, String, insert
from sqlalchemy.engine import Dialect
from sqlmodel import Field, Session, SQLModel, col, select, update

import models.base  # noqa: F401  (naming convention first)
from models import audit
from models.clock import UTCDateTime
from models.errors import NotFound, ValidationFailed
from models.prepared import Prepared

ANSWER_MAX_CHARS = 500
# The back-off after the n-th failed attempt: BACKOFF_BASE * 2**(n-1), at most BACKOFF_CAP.
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=1)
# How long a record stays taken by the worker posting it; a worker that dies mid-post leaves it due
# again after this (same record id: the platform dedupes). Longer than the worker's HTTP timeout.
LEASE = timedelta(minutes=2)
# Answers that mean "not now" rather than "not this": tried again like a 5xx.
RETRY_STATUSES = frozenset({408, 425, 429})
# The first attempt waits this long after the rating: the customer may add reasons and a comment for
# models.rating.RATING_DETAILS_WINDOW (15 minutes; a test keeps the two equal), and they belong in the
# record. Not imported from there: models.rating imports this module.
FIRST_ATTEMPT_DELAY = timedelta(minutes=15)
# The namespace of record ids (a fixed, random UUID: changing it would change every id).
RECORD_NAMESPACE = uuid.UUID("6f1d2c4e-8a0b-4f7e-9c35-2b8e1d7a6c90")


class FeedStatus(StrEnum):
    pending = "pending"  # waiting for its first or next attempt
    delivered = "delivered"  # the platform answered 2xx
    paused = "paused"  # the platform refused it (4xx): kept for an administrator to resend


class Outcome(StrEnum):
    delivered = "delivered"
    retry = "retry"
    paused = "paused"


def _in(column: str, values: Any) -> str:
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


class FeedRecord(SQLModel, table=True):
    """One rating on its way to the provincial platform (the outbox)."""

    __tablename__ = "feed_record"
    __table_args__ = (
        CheckConstraint(_in("status", FeedStatus), name="status"),
        # The worker's one question: which pending records are due.
        Index("ix_feed_record_status_next", "status", "next_attempt_at"),
    )

    id: uuid.UUID = Field(primary_key=True)  # the record id the platform sees (record_id_for)
    rating_id: uuid.UUID = Field(foreign_key="rating.id", unique=True)
    status: str = Field(default=FeedStatus.pending, max_length=12)
    attempts: int = 0
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    next_attempt_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    last_attempt_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    last_status: int | None = None  # the HTTP status of the last answer; None: no answer (timeout, ...)
    last_answer: str = Field(default="", max_length=ANSWER_MAX_CHARS)  # an excerpt of it
    delivered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class FeedAttempt(SQLModel, table=True):
    """One delivery attempt of a record: the log an administrator reads."""

    __tablename__ = "feed_attempt"

    id: int | None = Field(default=None, primary_key=True)
    record_id: uuid.UUID = Field(foreign_key="feed_record.id", index=True)
    at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    status: int | None = None
    outcome: str = Field(sa_type=String(12))
    answer: str = Field(default="", max_length=ANSWER_MAX_CHARS)


# -- the switch -------------------------------------------------------------------------------------


class FeedSwitch:
    """Whether this process reports ratings (``on``), and the source its record ids are derived from.
    One per process, set at start-up; the intake reads ``on`` and nothing else."""

    __slots__ = ("on", "source")

    def __init__(self) -> None:
        self.on = False
        self.source = ""


FEED = FeedSwitch()


def switch_on(source: str) -> None:
    """Report every counted rating stored from now on; ``source`` (the implementing department's
    code) goes into each record id."""
    if not source:
        raise ValueError("the feed needs a source (the implementing department's code)")
    FEED.source = source
    FEED.on = True


def switch_off() -> None:
    FEED.on = False
    FEED.source = ""


def record_id_for(rating_id: uuid.UUID, source: str) -> uuid.UUID:
    """The record id of a rating: stable (the same on every attempt, derivable again) and unique
    across deployments reporting to one platform."""
    return uuid.uuid5(RECORD_NAMESPACE, f"{source}/{rating_id}")


# -- writing a record, in the rating's transaction ----------------------------------------------------

_RECORD_COLUMNS = ["id", "rating_id", "status", "attempts", "created_at", "next_attempt_at", "last_answer"]
_INSERT = Prepared(
    lambda _d: insert(FeedRecord.__table__),  # type: ignore[attr-defined]
    column_keys=_RECORD_COLUMNS,
)


def enqueue(conn: Any, dialect: Dialect, rating: dict[str, Any]) -> None:
    """The outbox record of a just-stored rating (``rating``: the row's columns), in the caller's
    transaction, uncommitted. The caller checks ``FEED.on`` and that the rating is counted."""
    created: datetime = rating["created_at"]
    _INSERT.rowcount(
        conn,
        dialect,
        {
            "id": record_id_for(rating["id"], FEED.source),
            "rating_id": rating["id"],
            "status": FeedStatus.pending.value,
            "attempts": 0,
            "created_at": created,
            "next_attempt_at": created + FIRST_ATTEMPT_DELAY,
            "last_answer": "",
        },
    )


# -- the worker's steps -------------------------------------------------------------------------------


def backoff(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt: 1, 2, 4, ... minutes, at most an hour."""
    if attempts < 1:
        return timedelta(0)
    if attempts > 12:  # 2**12 minutes is far past the cap; no need for larger powers
        return BACKOFF_CAP
    return min(BACKOFF_BASE * 2 ** (attempts - 1), BACKOFF_CAP)


def outcome_of(status: int | None) -> Outcome:
    """What an answer means for the record: None is no answer at all (timeout, refused connection)."""
    if status is None or status >= 500 or status in RETRY_STATUSES:
        return Outcome.retry
    if 200 <= status < 300:
        return Outcome.delivered
    return Outcome.paused


def due_records(session: Session, *, now: datetime, limit: int = 100) -> list[uuid.UUID]:
    """The pending records whose next attempt is due at ``now``, oldest due first."""
    return list(
        session.exec(
            select(FeedRecord.id)
            .where(col(FeedRecord.status) == FeedStatus.pending, col(FeedRecord.next_attempt_at) <= now)
            .order_by(col(FeedRecord.next_attempt_at))
            .limit(limit)
        ).all()
    )


def lease(session: Session, *, record_id: uuid.UUID, now: datetime) -> FeedRecord | None:
    """Take a due record for one attempt (uncommitted): its next attempt moves :data:`LEASE` ahead,
    so another worker leaves it alone while this one posts; None when it is no longer due."""
    changed = session.exec(
        update(FeedRecord)
        .where(
            col(FeedRecord.id) == record_id,
            col(FeedRecord.status) == FeedStatus.pending,
            col(FeedRecord.next_attempt_at) <= now,
        )
        .values(next_attempt_at=now + LEASE)
    )
    if changed.rowcount != 1:
        return None
    return session.get(FeedRecord, record_id)


def record_attempt(
    session: Session, *, record_id: uuid.UUID, status: int | None, answer: str, at: datetime
) -> FeedRecord:
    """Log one attempt and move the record on by its outcome (uncommitted)."""
    record = session.get(FeedRecord, record_id)
    if record is None:
        raise NotFound(f"no feed record {record_id}")
    outcome = outcome_of(status)
    excerpt = answer[:ANSWER_MAX_CHARS]
    record.attempts += 1
    record.last_attempt_at = at
    record.last_status = status
    record.last_answer = excerpt
    if outcome is Outcome.delivered:
        record.status = FeedStatus.delivered
        record.delivered_at = at
    elif outcome is Outcome.retry:
        record.status = FeedStatus.pending
        record.next_attempt_at = at + backoff(record.attempts)
    else:
        record.status = FeedStatus.paused
    session.add(record)
    session.add(FeedAttempt(record_id=record_id, at=at, status=status, outcome=outcome.value, answer=excerpt))
    return record


def resend(session: Session, *, record_id: uuid.UUID, now: datetime) -> FeedRecord:
    """Put a paused (or pending) record up for delivery at once (uncommitted, with its audit entry); a
    delivered record is refused: the platform has it."""
    record = session.get(FeedRecord, record_id)
    if record is None:
        raise NotFound(f"no feed record {record_id}")
    if record.status == FeedStatus.delivered:
        raise ValidationFailed("record", "this record was delivered already; the platform has it")
    was = record.status
    record.status = FeedStatus.pending
    record.next_attempt_at = now
    session.add(record)
    audit.append(
        session, action="feed.resent", entity="feed_record", entity_id=record_id, now=now,
        details={"was": was, "attempts": record.attempts, "last_status": record.last_status},
    )  # fmt: skip
    return record


@dataclass(frozen=True)
class FeedRecordView:
    id: uuid.UUID
    rating_id: uuid.UUID
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    last_attempt_at: datetime | None
    last_status: int | None
    last_answer: str
    delivered_at: datetime | None


def list_records(
    session: Session, *, status: FeedStatus | None = None, limit: int = 100
) -> list[FeedRecordView]:
    """The newest records first (of one status if given)."""
    query = select(FeedRecord).order_by(col(FeedRecord.created_at).desc()).limit(limit)
    if status is not None:
        query = query.where(col(FeedRecord.status) == status)
    return [
        FeedRecordView(
            id=r.id,
            rating_id=r.rating_id,
            status=r.status,
            attempts=r.attempts,
            created_at=r.created_at,
            next_attempt_at=r.next_attempt_at,
            last_attempt_at=r.last_attempt_at,
            last_status=r.last_status,
            last_answer=r.last_answer,
            delivered_at=r.delivered_at,
        )  # fmt: skip
        for r in session.exec(query).all()
    ]


def find_record(session: Session, record_id: str) -> FeedRecord:
    """The record with this id (as ``rapport feed list`` prints it), or :class:`NotFound`."""
    try:
        found = session.get(FeedRecord, uuid.UUID(record_id.strip()))
    except ValueError:
        raise ValidationFailed("record", f"{record_id!r} is not a record id (a UUID)") from None
    if found is None:
        raise NotFound(f"no feed record {record_id}")
    return found


__all__ = [
    "FEED",
    "FeedAttempt",
    "FeedRecord",
    "FeedRecordView",
    "FeedStatus",
    "Outcome",
    "backoff",
    "due_records",
    "enqueue",
    "find_record",
    "lease",
    "list_records",
    "outcome_of",
    "record_attempt",
    "record_id_for",
    "resend",
    "switch_off",
    "switch_on",
]
