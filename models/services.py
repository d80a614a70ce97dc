"""Services (事项) and their transactions (办件): one rating per service a customer received (issue 18).

A government hall rates services, not only people: when the business or queueing system finishes a
transaction at a counter it tells Rapport (``POST /api/v1/services``, rapport/entry/api_services.py),
and the counter's tablet, or the customer's phone by the short link printed on the receipt, asks
for a rating of that service (一次一评, docs/RULES-CITED.md §1). The first counted rating bound to a
transaction is its rating; a second tap is stored, flagged ``already_rated`` and not counted.

- :class:`ServiceItem`: a 事项 of the hall's list, with its code, names, version and the implementing
  department's code (imported from the CSV the hall already has, :func:`import_items`).
- :class:`ServiceTransaction`: one finished transaction, with its number (办件编号), who served it at
  which counter and when; ``rating_id`` is its counted rating once there is one (claimed with one
  conditional update, so two racing taps or a tap racing the default rating leave exactly one),
  ``defaulted`` when that rating is the policy's default (models/default_rating.py).

Ratings without a transaction (walk-up feedback) keep working as before: ``Rating.transaction_id``
is then None.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column, Index, Uuid, bindparam, update
from sqlalchemy.engine import Dialect
from sqlmodel import Field, Session, SQLModel, col, select

from models.clock import UTCDateTime, utcnow
from models.errors import IdempotencyConflict, ValidationFailed
from models.prepared import Prepared
from models.text import clean_text, is_plain_key

NUMBER_MAX = 64
CODE_MAX = 64
NAME_MAX = 200
INVITATION_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O or 1/I: read off a receipt
INVITATION_LENGTH = 8
# How long after a transaction finished the counter's tablet still invites a rating for it.
INVITATION_MINUTES = 15
IMPORT_MAX_ROWS = 20_000


class ServiceItem(SQLModel, table=True):
    """A 事项 (a service the hall offers), as the province's catalogue names it."""

    __tablename__ = "service_item"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=CODE_MAX, unique=True)  # 事项编码
    name_zh: str = Field(max_length=NAME_MAX)
    name_en: str = Field(default="", max_length=NAME_MAX)
    version: str = Field(default="1", max_length=16)  # 事项版本
    department_code: str = Field(default="", max_length=CODE_MAX)  # 实施部门编码
    active: bool = True

    def name(self, locale: str) -> str:
        return self.name_en if locale != "zh-CN" and self.name_en else self.name_zh


class ServiceTransaction(SQLModel, table=True):
    """A transaction (办件) finished at a counter, and the rating it got."""

    __tablename__ = "service_transaction"
    __table_args__ = (
        # The tablet's invitation: the counter's latest transactions.
        Index("ix_service_transaction_counter_finished", "counter_id", "finished_at"),
        # 参评率 per branch and month, and the default-rating sweep (unrated, finished before a day).
        Index("ix_service_transaction_branch_finished", "branch_id", "finished_at"),
        Index("ix_service_transaction_rating_finished", "rating_id", "finished_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=NUMBER_MAX, unique=True)  # 办件编号
    idempotency_key: str = Field(max_length=100, unique=True)
    request_hash: str = Field(max_length=64)
    service_item_id: int = Field(foreign_key="service_item.id", index=True)
    branch_id: int = Field(foreign_key="branch.id")
    counter_id: int = Field(foreign_key="counter.id")
    staff_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    finished_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    # The short code of the phone link printed on the receipt (/v/<code>).
    invitation_code: str = Field(max_length=16, unique=True)
    rating_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, nullable=True))
    rated_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    defaulted: bool = False


def new_invitation_code() -> str:
    return "".join(secrets.choice(INVITATION_ALPHABET) for _ in range(INVITATION_LENGTH))


def clean_invitation_code(raw: str) -> str | None:
    code = "".join(ch for ch in (raw or "").upper() if ch.isalnum())
    if len(code) != INVITATION_LENGTH or any(ch not in INVITATION_ALPHABET for ch in code):
        return None
    return code


# -- the list of services -----------------------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    added: int
    updated: int


IMPORT_COLUMNS = ("code", "name_zh", "name_en", "version", "department_code")


def import_items(session: Session, text: str) -> ImportResult:
    """Add or update the 事项 of a CSV (header ``code,name_zh[,name_en,version,department_code]``,
    UTF-8, a BOM allowed). Every row is checked before anything is written: the first bad row is
    raised as :class:`ValidationFailed` naming its line and field, and nothing changes."""
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [h for h in ("code", "name_zh") if h not in header]
    if missing:
        raise ValidationFailed(
            "file", f"the header must name the columns code and name_zh (missing: {', '.join(missing)})"
        )
    unknown = [h for h in header if h not in IMPORT_COLUMNS]
    if unknown:
        raise ValidationFailed(
            "file", f"unknown column {unknown[0]!r}; the columns are {', '.join(IMPORT_COLUMNS)}"
        )
    rows: dict[str, dict[str, str]] = {}
    for line, raw in enumerate(reader, start=2):
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        code = row.get("code", "")
        if not is_plain_key(code, CODE_MAX):
            raise ValidationFailed(
                "code", f"line {line}: the code must be letters, digits, '-' or '_' (at most {CODE_MAX})"
            )
        if code in rows:
            raise ValidationFailed("code", f"line {line}: the code {code} appears twice")
        name = clean_text(row.get("name_zh", ""), max_chars=NAME_MAX)
        if not name:
            raise ValidationFailed("name_zh", f"line {line}: the service needs a name")
        version = row.get("version") or "1"
        if len(version) > 16 or not version.isprintable():
            raise ValidationFailed("version", f"line {line}: the version is at most 16 characters")
        department = row.get("department_code", "")
        if department and not is_plain_key(department, CODE_MAX):
            raise ValidationFailed(
                "department_code", f"line {line}: the department code must be letters and digits"
            )
        rows[code] = {
            "code": code, "name_zh": name, "name_en": clean_text(row.get("name_en", ""), max_chars=NAME_MAX),
            "version": version, "department_code": department,
        }  # fmt: skip
        if len(rows) > IMPORT_MAX_ROWS:
            raise ValidationFailed("file", f"at most {IMPORT_MAX_ROWS} services in one file")
    if not rows:
        raise ValidationFailed("file", "the file lists no services")
    existing = {
        i.code: i for i in session.exec(select(ServiceItem).where(col(ServiceItem.code).in_(rows))).all()
    }
    added = updated = 0
    for code, values in rows.items():
        item = existing.get(code)
        if item is None:
            session.add(ServiceItem.model_validate(values))
            added += 1
        elif any(getattr(item, k) != v for k, v in values.items()) or not item.active:
            for k, v in values.items():
                setattr(item, k, v)
            item.active = True
            session.add(item)
            updated += 1
    session.flush()
    return ImportResult(added, updated)


def item_by_code(session: Session, code: str) -> ServiceItem | None:
    return session.exec(select(ServiceItem).where(ServiceItem.code == code)).first()


# -- recording a transaction --------------------------------------------------------------------


@dataclass(frozen=True)
class TransactionIn:
    """A finished transaction as an integration reports it (validated: :func:`parse_transaction`)."""

    number: str
    service_code: str
    staff_no: str | None
    counter_code: str | None
    finished_at: datetime
    finished_given: bool = True  # False: the time of the report (a retry's own "now" is later)


def parse_transaction(data: dict[str, Any], *, now: datetime) -> TransactionIn:
    """Check the fields of ``POST /api/v1/services``; the first problem is raised as
    :class:`ValidationFailed` naming the field."""
    allowed = ("number", "service_code", "staff", "counter", "finished_at")
    for name in data:
        if name not in allowed:
            raise ValidationFailed(name, f"unknown field; allowed fields are {', '.join(allowed)}")
    number = data.get("number")
    if not isinstance(number, str) or not number.strip():
        raise ValidationFailed("number", "the transaction number (办件编号) is required")
    number = number.strip()
    if len(number) > NUMBER_MAX or not number.isascii() or not number.isprintable():
        raise ValidationFailed(
            "number", f"the number must be printable ASCII, at most {NUMBER_MAX} characters"
        )
    code = data.get("service_code")
    if not isinstance(code, str) or not is_plain_key(code.strip(), CODE_MAX):
        raise ValidationFailed(
            "service_code", "the service code (事项编码) is required: letters, digits, '-' or '_'"
        )
    staff = data.get("staff")
    if staff is not None and (not isinstance(staff, str) or not is_plain_key(staff.strip(), 32)):
        raise ValidationFailed("staff", "staff must be an employee number (text)")
    counter = data.get("counter")
    if counter is not None and (not isinstance(counter, str) or not is_plain_key(counter.strip(), 32)):
        raise ValidationFailed("counter", "counter must be the code of a counter of the device's branch")
    raw_at = data.get("finished_at")
    if raw_at is None:
        finished = now
    else:
        if not isinstance(raw_at, str):
            raise ValidationFailed("finished_at", "finished_at must be an ISO 8601 time with its offset")
        try:
            finished = datetime.fromisoformat(raw_at.strip())
        except ValueError:
            raise ValidationFailed(
                "finished_at", "finished_at must be an ISO 8601 time with its offset"
            ) from None
        if finished.tzinfo is None:
            raise ValidationFailed(
                "finished_at", "finished_at needs its UTC offset, e.g. 2026-11-18T10:30:00+08:00"
            )
        if finished > now + timedelta(minutes=5):
            raise ValidationFailed("finished_at", "finished_at is in the future")
        if finished < now - timedelta(days=30):
            raise ValidationFailed("finished_at", "finished_at is more than 30 days ago")
    return TransactionIn(
        number=number, service_code=code.strip(), staff_no=staff.strip() if staff else None,
        counter_code=counter.strip() if counter else None, finished_at=finished,
        finished_given=raw_at is not None,
    )  # fmt: skip


def transaction_hash(tx: TransactionIn, counter_id: int) -> str:
    body = {
        "number": tx.number, "service": tx.service_code, "staff": tx.staff_no, "counter": counter_id,
        "finished_at": tx.finished_at.isoformat() if tx.finished_given else None,
    }  # fmt: skip
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def record_transaction(
    session: Session,
    *,
    idempotency_key: str,
    tx: TransactionIn,
    branch_id: int,
    counter_id: int,
    staff_id: int | None,
    service_item_id: int,
    now: datetime,
) -> tuple[ServiceTransaction, bool]:
    """Store a transaction once (uncommitted); ``(row, created)``. A retry with the key and the same
    request gets the stored row; the key with another request, or the number already reported
    with another key, :class:`IdempotencyConflict`."""
    digest = transaction_hash(tx, counter_id)
    by_key = session.exec(
        select(ServiceTransaction).where(ServiceTransaction.idempotency_key == idempotency_key)
    ).first()
    if by_key is not None:
        if by_key.request_hash != digest:
            raise IdempotencyConflict(
                "this Idempotency-Key was already used for a different transaction; use a new key"
            )
        return by_key, False
    by_number = session.exec(select(ServiceTransaction).where(ServiceTransaction.number == tx.number)).first()
    if by_number is not None:
        raise IdempotencyConflict(
            f"the transaction {tx.number} was already reported (with another Idempotency-Key)"
        )
    row = ServiceTransaction(
        number=tx.number, idempotency_key=idempotency_key, request_hash=digest,
        service_item_id=service_item_id, branch_id=branch_id, counter_id=counter_id, staff_id=staff_id,
        finished_at=tx.finished_at, created_at=now, invitation_code=new_invitation_code(),
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row, True


# -- binding a rating ---------------------------------------------------------------------------


_TX: Any = ServiceTransaction.__table__  # type: ignore[attr-defined]
# The transaction's rating, if it has none yet (bind transaction_id, rating_id, at, default).
_CLAIM = Prepared(
    lambda _d: (
        update(_TX)
        .where(_TX.c.id == bindparam("transaction_id"), _TX.c.rating_id.is_(None))
        .values(rating_id=bindparam("rating_id"), rated_at=bindparam("at"), defaulted=bindparam("default"))
    )
)


def claim(
    conn: Any,
    dialect: Dialect,
    *,
    transaction_id: int,
    rating_id: uuid.UUID,
    at: datetime,
    default: bool = False,
) -> bool:
    """Make ``rating_id`` the transaction's counted rating, if it has none yet: one conditional
    update, so of two racing ratings (taps, or a tap and the default) exactly one wins. False: the
    transaction already had its rating. ``conn``: the driver's connection (models/prepared.py)."""
    params = {"transaction_id": transaction_id, "rating_id": rating_id, "at": at, "default": default}
    return _CLAIM.rowcount(conn, dialect, params) == 1


def invitation_at_counter(session: Session, counter_id: int, now: datetime) -> ServiceTransaction | None:
    """The transaction the counter's tablet invites a rating for: its latest, finished within
    :data:`INVITATION_MINUTES`, not yet rated."""
    row = session.exec(
        select(ServiceTransaction)
        .where(
            ServiceTransaction.counter_id == counter_id,
            col(ServiceTransaction.finished_at) > now - timedelta(minutes=INVITATION_MINUTES),
            col(ServiceTransaction.finished_at) <= now + timedelta(minutes=5),
        )
        .order_by(col(ServiceTransaction.finished_at).desc(), col(ServiceTransaction.id).desc())
        .limit(1)
    ).first()
    return row if row is not None and row.rating_id is None else None


def by_invitation_code(session: Session, code: str) -> ServiceTransaction | None:
    clean = clean_invitation_code(code)
    if clean is None:
        return None
    return session.exec(select(ServiceTransaction).where(ServiceTransaction.invitation_code == clean)).first()


__all__ = [
    "INVITATION_MINUTES",
    "ImportResult",
    "ServiceItem",
    "ServiceTransaction",
    "TransactionIn",
    "by_invitation_code",
    "claim",
    "clean_invitation_code",
    "import_items",
    "invitation_at_counter",
    "item_by_code",
    "new_invitation_code",
    "parse_transaction",
    "record_transaction",
]
