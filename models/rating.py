"""Ratings: one tap of a customer, with optional reasons (clause codes) and a comment."""

from __future__ import annotations

import functools
import hashlib
import json
import sqlite3
import uuid
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from sqlalchemy import JSON, CheckConstraint, Column, Index, String, bindparam, update
from sqlalchemy import false as sa_false
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import configure_mappers, make_transient_to_detached
from sqlmodel import Field, Session, SQLModel, col, func, select

import models.base  # noqa: F401  (naming convention first)
from models.cases import MAX_CASE_SCORE, open_case, opens_case
from models.catalog import ConductClause
from models.clock import UTCDateTime, utcnow
from models.errors import (
    IdempotencyConflict,
    QrTokenUnknown,
    RatingThrottled,
    ValidationFailed,
)
from models.feed import FEED, enqueue
from models.org import Staff
from models.policy import PolicyValues, effective_policy
from models.prepared import Prepared, driver_of
from models.services import claim
from models.text import clean_text, is_plain_key

COMMENT_MAX_CHARS = 500
REASONS_MAX = 8
IDEMPOTENCY_KEY_MAX = 100


class Channel(StrEnum):
    kiosk = "kiosk"
    qr = "qr"
    hotline = "hotline"


# The sqlite3 driver stores a Channel as its text either way; with an adapter registered it finds
# that at once, instead of first failing the adaptation protocol's lookup (an AttributeError built
# and dropped, about 2,000 instructions a tap: docs/PERFORMANCE.md, rapport/core/db.py _bind_plainly).
sqlite3.register_adapter(Channel, str.__str__)


class Rating(SQLModel, table=True):
    __table_args__ = (
        CheckConstraint("score BETWEEN 1 AND 5", name="score"),
        CheckConstraint("channel IN ('kiosk', 'qr', 'hotline')", name="channel"),
        # Dashboards aggregate by branch and time; carrying counted/score/counter in the index lets
        # them be answered from the index alone.
        Index("ix_rating_branch_created_score", "branch_id", "created_at", "counted", "score", "counter_id"),
        # A person's page and the monthly evaluation read their scores from this index alone.
        Index("ix_rating_staff_created_score", "staff_id", "created_at", "counted", "score"),
        Index("ix_rating_counter_created", "counter_id", "created_at"),
        Index("ix_rating_device_created", "device_id", "created_at"),
        Index("ix_rating_phone_created", "phone_key", "created_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    idempotency_key: str = Field(max_length=IDEMPOTENCY_KEY_MAX, unique=True)
    # Fingerprint of the request that created the rating, to tell a retry from a reused key.
    request_hash: str = Field(max_length=64)
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    counter_id: int | None = Field(default=None, foreign_key="counter.id")
    branch_id: int = Field(foreign_key="branch.id")
    device_id: int | None = Field(default=None, foreign_key="device.id")
    channel: Channel = Field(sa_type=String(8))
    score: int
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    comment: str = Field(default="", max_length=COMMENT_MAX_CHARS)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    flagged: bool = False
    flag_reason: str | None = Field(default=None, max_length=64)
    counted: bool = True
    # Set when a supervisor upholds the staff member's appeal against this rating (models/sanction/):
    # the rating is kept, and ``counted`` is cleared so it leaves every score.
    overturned: bool = False
    # For ratings from a phone: a digest of the browser's random id, never the id itself.
    phone_key: str | None = Field(default=None, max_length=64)
    # The transaction (办件, models/services.py) this rating is of; None for walk-up feedback.
    transaction_id: int | None = Field(default=None, foreign_key="service_transaction.id", index=True)
    # Given by the policy's default-rating rule, not by a customer (models/default_rating.py).
    is_default: bool = Field(default=False, sa_column_kwargs={"server_default": sa_false()})


class RatingCreate(BaseModel):
    """What a customer (or a device on their behalf) submits. Validated before anything is stored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    score: int
    reasons: list[str] = Field(default_factory=list)  # a new list, not a copy of a default
    comment: str = ""

    @field_validator("score", mode="before")
    @classmethod
    def _score(cls, v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 5:
            raise ValueError("score must be a whole number from 1 to 5")
        return v

    @field_validator("reasons", mode="before")
    @classmethod
    def _reasons(cls, v: Any) -> list[str]:
        if v is None:
            return []
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise ValueError("reasons must be a list of clause codes")
        if len(v) > REASONS_MAX:
            raise ValueError(f"at most {REASONS_MAX} reasons")
        return list(dict.fromkeys(x.strip() for x in v))  # keep order, drop repeats

    @field_validator("comment", mode="before")
    @classmethod
    def _comment(cls, v: Any) -> str:
        if v is None:
            return ""
        if not isinstance(v, str):
            raise ValueError("comment must be text")
        return clean_text(v, max_chars=COMMENT_MAX_CHARS)


def parse_rating(data: dict[str, Any]) -> RatingCreate:
    """Validate a submission from a screen; the first problem is raised as ValidationFailed naming the
    field, like every other refusal (the HTTP API maps pydantic's errors itself, to 422)."""
    try:
        return RatingCreate.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "rating"
        raise ValidationFailed(field, err["msg"].removeprefix("Value error, ")) from None


def tap_request(score: Any) -> RatingCreate:
    """``parse_rating({"score": score})``: a tap's request is its score alone, so the validated
    request of each score is kept and handed out again, after checking that it is still what
    validation made (a caller that changed it gets a new one). Validating it anew cost about 2% of
    a tap's instructions (docs/PERFORMANCE.md)."""
    if type(score) is int:
        kept = _TAP_REQUESTS.get(score)
        if kept is not None:
            held, reasons, comment = kept.score, kept.reasons, kept.comment
            if held == score and not reasons and not comment and type(reasons) is list:
                return kept
    data = parse_rating({"score": score})
    _TAP_REQUESTS[data.score] = data  # only a valid score gets here: at most five entries
    return data


_TAP_REQUESTS: dict[int, RatingCreate] = {}


class RatingPublic(BaseModel):
    id: uuid.UUID
    staff: str | None
    counter_id: int | None
    branch_id: int
    channel: Channel
    score: int
    reasons: list[str]
    comment: str
    created_at: datetime
    flagged: bool
    counted: bool


def request_hash(
    *,
    requested_staff: str | None,
    counter_id: int | None,
    channel: Channel,
    data: RatingCreate,
    transaction_id: int | None = None,
) -> str:
    # The request as the client made it (the staff it named, not whoever the server resolved), so
    # a retry after a change of duty is still recognised as the same request.
    if not data.comment and not data.reasons:  # a tap: few distinct requests, each hashed once
        # The channel as itself: a str enum hashes and encodes as its value.
        return _hash_of_tap(requested_staff, counter_id, channel, data.score, transaction_id)
    return _hash_of(
        requested_staff, counter_id, channel, data.score, data.reasons, data.comment, transaction_id
    )


def _hash_of(
    staff: str | None,
    counter_id: int | None,
    channel: str,
    score: int,
    reasons: list[str],
    comment: str,
    transaction_id: int | None,
) -> str:
    body: dict[str, Any] = {
        "staff": staff, "counter_id": counter_id, "channel": channel, "score": score, "reasons": reasons,
        "comment": comment,
    }  # fmt: skip
    if transaction_id is not None:  # only then, so the fingerprints stored before transactions still match
        body["transaction"] = transaction_id
    raw = json.dumps(body, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(raw).hexdigest()


@functools.lru_cache(maxsize=4096)
def _hash_of_tap(
    staff: str | None, counter_id: int | None, channel: str, score: int, transaction_id: int | None
) -> str:
    return _hash_of(staff, counter_id, channel, score, [], "", transaction_id)


def _check_reasons(session: Session, reasons: list[str]) -> None:
    if not reasons:
        return
    known = set(
        session.exec(
            select(ConductClause.code).where(
                ConductClause.code.in_(reasons),  # type: ignore[attr-defined]
                ConductClause.rateable,
                ConductClause.active,
            )
        ).all()
    )
    unknown = [r for r in reasons if r not in known]
    if unknown:
        raise ValidationFailed("reasons", f"unknown reason code: {', '.join(unknown)}")


def validate_idempotency_key(key: str | None) -> str:
    key = (key or "").strip()
    if not key:
        raise ValidationFailed("Idempotency-Key", "an Idempotency-Key is required")
    if len(key) > IDEMPOTENCY_KEY_MAX or not key.isascii() or not key.isprintable():
        raise ValidationFailed(
            "Idempotency-Key",
            f"the Idempotency-Key must be printable ASCII, at most {IDEMPOTENCY_KEY_MAX} characters",
        )
    return key


def submit_rating(
    session: Session,
    *,
    idempotency_key: str,
    data: RatingCreate,
    channel: Channel,
    branch_id: int,
    staff_id: int | None = None,
    counter_id: int | None = None,
    device_id: int | None = None,
    requested_staff: str | None = None,
    phone: str | None = None,
    flag: FlagReason | None = None,
    now: datetime | None = None,
    transaction_id: int | None = None,
) -> tuple[Rating, bool]:
    """Store a rating once and commit (with whatever the caller's transaction already holds).
    Returns ``(rating, created)``.

    1. A new key: the reasons are checked against the catalog and the rating is inserted and
       committed; ``created`` is True only after the commit.
    2. A key seen before with the same request: the stored rating (``created`` False).
    3. A key seen before with a different request: :class:`IdempotencyConflict`.

    :func:`store_rating` does the work; this commits it.
    """
    rating, created = store_rating(
        session, idempotency_key=idempotency_key, data=data, channel=channel, branch_id=branch_id,
        staff_id=staff_id, counter_id=counter_id, device_id=device_id, requested_staff=requested_staff,
        phone=phone, flag=flag, now=now, transaction_id=transaction_id,
    )  # fmt: skip
    session.commit()
    return rating, created


def store_rating(
    session: Session,
    *,
    idempotency_key: str,
    data: RatingCreate,
    channel: Channel,
    branch_id: int,
    staff_id: int | None = None,
    counter_id: int | None = None,
    device_id: int | None = None,
    requested_staff: str | None = None,
    phone: str | None = None,
    flag: FlagReason | None = None,
    now: datetime | None = None,
    transaction_id: int | None = None,
) -> tuple[Rating, bool]:
    """:func:`submit_rating` without the commit: the rating (and the case a 差评 opens) is left in
    the session's transaction, for a caller that stores something with it and commits both at once
    (the hotline's complaint, admin/hotline.py). ``created`` means inserted in this transaction.

    The insert comes first and the unique index on the key decides (``ON CONFLICT DO NOTHING``):
    nothing is looked up before a new rating, which is nearly every call, and two requests racing
    with one key (threads, or servers on PostgreSQL) get one row, both answered with it. Only when
    the insert stored nothing is the existing row read and its request fingerprint compared.
    """
    key = validate_idempotency_key(idempotency_key)
    digest = request_hash(
        requested_staff=requested_staff, counter_id=counter_id, channel=channel, data=data,
        transaction_id=transaction_id,
    )  # fmt: skip
    try:
        _check_reasons(session, data.reasons)
    except ValidationFailed:
        existing = _by_key(session, key)  # a retry stays a retry if a clause was retired meanwhile
        if existing is None:
            raise
        return _replay(existing, digest), False
    values: dict[str, Any] = {
        "id": uuid.uuid4(), "idempotency_key": key, "request_hash": digest, "staff_id": staff_id,
        "counter_id": counter_id, "branch_id": branch_id, "device_id": device_id, "channel": channel,
        "score": data.score, "reasons": data.reasons, "comment": data.comment,
        "created_at": now or utcnow(), "flagged": flag is not None,
        "flag_reason": flag.value if flag else None, "counted": flag is None, "overturned": False,
        "phone_key": phone, "transaction_id": transaction_id, "is_default": False,
    }  # fmt: skip
    if not _insert_once(session, values):
        existing = _by_key(session, key)
        if existing is None:  # pragma: no cover - the conflicting row cannot vanish: ratings are kept
            raise IdempotencyConflict("this Idempotency-Key is in use by another request; try again")
        return _replay(existing, digest), False
    if transaction_id is not None:
        conn, dialect = driver_of(session)
        bind_to_transaction(conn, dialect, values)
    _open_case(session, values)
    if FEED.on and values["counted"]:  # the provincial feed's record, in the rating's transaction
        conn, dialect = driver_of(session)
        enqueue(conn, dialect, values)
    return as_loaded(session, values), True


_RATING: Any = Rating.__table__  # type: ignore[attr-defined]


# A rating kept but not counted because its transaction already had its rating (bind id, flag_reason).
_NOT_COUNTED = Prepared(
    lambda _d: (
        update(_RATING)
        .where(_RATING.c.id == bindparam("id"))
        .values(flagged=True, flag_reason=bindparam("flag_reason"), counted=False)
    )
)


def bind_to_transaction(conn: Any, dialect: Dialect, values: dict[str, Any]) -> None:
    """A counted rating just inserted for a transaction (办件) becomes that transaction's rating, if
    it has none yet (models/services.py ``claim``); otherwise it is kept, flagged ``already_rated``
    and not counted: one counted rating per transaction (一次一评). ``values`` (the stored row)
    follows, so what comes after in the transaction (the 差评 case, the feed record) sees the flag.
    ``conn``: the driver's connection (models/prepared.py)."""
    if not values["counted"] or values["transaction_id"] is None:
        return
    at = values["created_at"]
    if claim(conn, dialect, transaction_id=values["transaction_id"], rating_id=values["id"], at=at):
        return
    flag = FlagReason.already_rated.value
    _NOT_COUNTED.rowcount(conn, dialect, {"id": values["id"], "flag_reason": flag})
    values.update(flagged=True, flag_reason=flag, counted=False)


def _open_case(session: Session, values: dict[str, Any]) -> None:
    """A stored 差评 opens its case in the same transaction (models/cases.py); the branch's policy is
    read only for a score that could be one."""
    if values["score"] > MAX_CASE_SCORE or values["flagged"]:
        return
    policy = effective_policy(session, values["branch_id"])
    if opens_case(score=values["score"], flagged=values["flagged"], max_score=policy.bad_rating_max_score):
        conn, dialect = driver_of(session)
        open_case(conn, dialect, values)


_mappers_ready = False


# The rating row's insert, skipped when its idempotency key is stored (the intake's one write).
_RATING_COLUMNS = [c.key for c in Rating.__table__.columns]  # type: ignore[attr-defined]


def _insert_statement(dialect_name: str) -> Any:
    table = Rating.__table__  # type: ignore[attr-defined]
    key = table.c.idempotency_key
    # The driver's rowcount tells a stored row (1) from a skipped one (0), on both databases.
    if dialect_name == "sqlite":
        return sqlite_insert(table).on_conflict_do_nothing(index_elements=[key])
    if dialect_name == "postgresql":
        return pg_insert(table).on_conflict_do_nothing(index_elements=[key])
    raise ValueError(f"ratings are stored on SQLite or PostgreSQL, not {dialect_name}")


_INSERT = Prepared(_insert_statement, column_keys=_RATING_COLUMNS)


def insert_rating(conn: Any, dialect: Dialect, values: dict[str, Any]) -> bool:
    """Insert one rating row (every column in ``values``); False when a rating with that
    idempotency key already exists (nothing is stored then)."""
    return rating_inserted(send_rating(conn, dialect, values))


def send_rating(conn: Any, dialect: Dialect, values: dict[str, Any]) -> Any:
    """:func:`insert_rating`'s statement, executed; its answer (:func:`rating_inserted`) is read
    later, which in a pipeline (models.prepared.pipelined) is once it has come. Returns the cursor."""
    return _INSERT.execute(conn, dialect, values)


def rating_inserted(cursor: Any) -> bool:
    """Whether :func:`send_rating`'s row was stored (False: the idempotency key was taken)."""
    try:
        return bool(cursor.rowcount == 1)
    finally:
        cursor.close()


def as_loaded(session: Session, values: dict[str, Any]) -> Rating:
    """The stored row as an ORM object in ``session``, built the way a query builds one (its
    attributes set as loaded, no history), which costs a fraction of ``Rating(**values)``."""
    global _mappers_ready
    if not _mappers_ready:  # building instances this way skips the ORM's own first-use set-up
        configure_mappers()
        _mappers_ready = True
    rating: Rating = Rating._sa_class_manager.new_instance()  # type: ignore[attr-defined]
    rating.__dict__.update(values)
    make_transient_to_detached(rating)
    session.add(rating)
    return rating


def _insert_once(session: Session, values: dict[str, Any]) -> bool:
    """Insert one rating row (:func:`insert_rating`: the ORM unit of work costs more than the rest of
    the intake put together); False when a rating with that idempotency key exists."""
    conn, dialect = driver_of(session)
    return insert_rating(conn, dialect, values)


def _by_key(session: Session, key: str) -> Rating | None:
    return session.exec(select(Rating).where(Rating.idempotency_key == key)).first()


def _replay(existing: Rating, digest: str) -> Rating:
    if existing.request_hash != digest:
        raise IdempotencyConflict(
            "this Idempotency-Key was already used for a different rating; use a new key"
        )
    return existing


class FlagReason(StrEnum):
    """Why a rating is kept but not counted in any score."""

    too_soon = "too_soon"  # a press on the same kiosk inside the minimum interval
    burst = "burst"  # too many presses on one kiosk in a short window
    repeat_phone = "repeat_phone"  # the same phone already rated this person in the window
    already_rated = "already_rated"  # the transaction (办件) this rating is of already has its rating


# The device's presses inside the burst window: how many (at most as many as decide a burst, so a
# kiosk under abuse costs no more per press than a quiet one) and the latest (bind device_id, since,
# n). Aggregated in the database: one timestamp is read back instead of up to n.
def _recent_presses_statement(_dialect: str) -> Any:
    latest = (
        select(col(Rating.created_at).label("at"))
        .where(col(Rating.device_id) == bindparam("device_id"), col(Rating.created_at) > bindparam("since"))
        .order_by(col(Rating.created_at).desc())
        .limit(bindparam("n"))
        .subquery()
    )
    return select(func.count(), func.max(latest.c.at))


RECENT_PRESSES = Prepared(_recent_presses_statement)


def recent_presses(
    conn: Any, dialect: Any, *, device_id: int, now: datetime, policy: PolicyValues
) -> tuple[int, timedelta | None]:
    """The device's presses in the policy's burst window: how many (up to ``burst_max_presses``)
    and how long ago the latest was (None without any)."""
    since = now - timedelta(seconds=policy.burst_window_seconds)
    params = {"device_id": device_id, "since": since, "n": policy.burst_max_presses}
    row = RECENT_PRESSES.first(conn, dialect, params)
    count, latest = (row[0], row[1]) if row is not None else (0, None)
    return int(count or 0), (now - latest if latest is not None else None)


def kiosk_flag(session: Session, *, device_id: int, now: datetime, policy: PolicyValues) -> FlagReason | None:
    """Misuse rule for a press on a kiosk: pure decision over the device's recent presses."""
    conn, dialect = driver_of(session)
    count, latest = recent_presses(conn, dialect, device_id=device_id, now=now, policy=policy)
    return decide_flag(count=count, latest=latest, policy=policy)


def decide_kiosk_flag(ages: list[timedelta], policy: PolicyValues) -> FlagReason | None:
    """``ages``: how long ago each earlier press in the burst window happened, newest first."""
    return decide_flag(count=len(ages), latest=ages[0] if ages else None, policy=policy)


def decide_flag(*, count: int, latest: timedelta | None, policy: PolicyValues) -> FlagReason | None:
    """The misuse rule: a press too soon after the latest one on the same kiosk, or one press more
    than a burst allows (``count`` earlier presses in the burst window)."""
    # In seconds (exact for whole microseconds against a whole number of seconds): no timedelta per tap.
    if latest is not None and latest.total_seconds() < policy.min_press_interval_seconds:
        return FlagReason.too_soon
    if count + 1 > policy.burst_max_presses:
        return FlagReason.burst
    return None


def phone_key(phone_id: str) -> str:
    return hashlib.sha256(f"rapport-phone:{phone_id}".encode()).hexdigest()


def rate_by_qr(
    session: Session,
    *,
    qr_token: str,
    phone_id: str,
    idempotency_key: str,
    data: RatingCreate,
    now: datetime | None = None,
) -> tuple[Rating, bool]:
    """A rating from a customer's phone through a staff badge's QR link.

    1. The token must belong to an active staff member (else :class:`QrTokenUnknown`).
    2. A phone that pressed too often in the last hour is refused (:class:`RatingThrottled`).
    3. A second rating of the same person from the same phone inside the policy window is kept
       but flagged and not counted.
    """
    now = now or utcnow()
    staff = staff_by_qr_token(session, qr_token)
    if not phone_id or len(phone_id) > 100:
        raise ValidationFailed("phone", "this phone could not be identified; reload the page")
    key = phone_key(phone_id)
    policy = effective_policy(session, staff.branch_id)
    existing = _by_key(session, validate_idempotency_key(idempotency_key))
    if existing is None:
        hour_ago = now - timedelta(hours=1)
        presses = session.exec(
            select(func.count())
            .select_from(Rating)
            .where(Rating.phone_key == key, col(Rating.created_at) > hour_ago)
        ).one()
        if presses >= policy.qr_max_presses_per_hour:
            raise RatingThrottled("too many ratings from this phone; please try again later")
    window_start = now - timedelta(hours=policy.qr_window_hours)
    repeat = session.exec(
        select(Rating.id).where(
            Rating.phone_key == key,
            Rating.staff_id == staff.id,
            Rating.counted,
            col(Rating.created_at) > window_start,
        )
    ).first()
    assert staff.branch_id is not None
    return submit_rating(
        session, idempotency_key=idempotency_key, data=data, channel=Channel.qr,
        branch_id=staff.branch_id, staff_id=staff.id, requested_staff=staff.employee_no,
        phone=key, flag=FlagReason.repeat_phone if repeat else None, now=now,
    )  # fmt: skip


def staff_by_qr_token(session: Session, qr_token: str) -> Staff:
    staff = None
    if is_plain_key(qr_token, 64):
        staff = session.exec(select(Staff).where(Staff.qr_token == qr_token)).first()
    if staff is None or not staff.active or staff.branch_id is None:
        raise QrTokenUnknown("this QR code is not valid (any more)")
    return staff


RATING_DETAILS_WINDOW = timedelta(minutes=15)


def add_rating_details(
    session: Session, *, rating_id: uuid.UUID, reasons: list[str], comment: str, now: datetime | None = None
) -> Rating:
    """Add the "what went wrong / what did you like" answers to a rating the customer just gave.

    The tap itself was stored at once (a customer who walks away still counts); the details may
    follow within a short window, from the same screen session that holds the rating's id.
    """
    details = parse_rating({"score": 3, "reasons": reasons, "comment": comment})  # score unused here
    rating = session.get(Rating, rating_id)
    now = now or utcnow()
    if rating is None or now - rating.created_at > RATING_DETAILS_WINDOW:
        raise ValidationFailed("rating", "this rating can no longer be changed")
    _check_reasons(session, details.reasons)
    rating.reasons = details.reasons
    rating.comment = details.comment
    session.add(rating)
    session.commit()
    return rating
