"""Filing a complaint from an enrolled device (a counter's tablet, or ``POST /api/v1/complaints``), on
the driver's connection.

The rules are those of :func:`models.complaint.filing.file_complaint` and of the kiosk's filing
(rapport/usecases/filing.py): the same checks in the same order, the same rows, the same tracking
code, the same audit entry. This module is their implementation for a device, written for speed as
the rating intake is (models/intake.py, docs/PERFORMANCE.md): every statement compiled once
(:mod:`models.prepared`), the device, who is on duty and the policy in the rating intake's one round
trip, the branch's working-day calendar built once per set of marks (models/holidays.py), plain rows
instead of ORM objects. It runs inside the caller's write transaction and never commits
(``rapport.core.db.Database.raw_write``).

1. The device holding the token (:func:`models.intake.device_by_token`: DeviceNotAuthorized, and its
   ``last_seen_at`` moved when due), who is on duty at its counter, the branch's policy.
2. A ``rating_id`` must be a rating given on this very device (else ValidationFailed("rating")); its
   score sets the severity and its person is the one named.
3. A key stored before: the same request is answered with the stored complaint (``created`` False,
   its tracking code recovered from the server's secret); another request is IdempotencyConflict.
4. The category must be an active clause customers may cite (ValidationFailed("category")).
5. Severity, the reply and first-contact clocks at the branch (its time zone and calendar), a
   tracking code derived from the server's secret whose digest is not taken, then the complaint row
   (inserted so that its unique key settles a race: one row, both answered with it), its public
   "received" event, the rating's case joined, and the hash-chained ``complaint.file`` audit entry.
6. A high-severity complaint's alert for the branch's supervisors, stored once by its dedupe key in
   the same transaction (so it cannot be lost between two), also on a retry that finds none; the
   caller publishes it after the commit. A retry whose alert exists raises nothing new.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlmodel import col

from models import audit
from models.alerts import AlertKind, AlertView, raise_alert_on
from models.cases import RatingCase
from models.catalog import ConductClause
from models.clock import branch_zone
from models.codes import derived_tracking_code, new_tracking_code, tracking_digest
from models.complaint.filing import _CODE_ATTEMPTS, ComplaintCreate, Filing, _recover_code, _request_hash
from models.complaint.records import Complaint, ComplaintEvent, ComplaintStatus, EventKind, Severity
from models.complaint.rules import clocks, initial_severity
from models.errors import IdempotencyConflict, ValidationFailed
from models.holidays import work_calendar_on
from models.intake import device_by_token
from models.org import Branch
from models.prepared import Prepared
from models.rating import Channel, Rating, validate_idempotency_key


@dataclass(frozen=True, slots=True)
class DeviceFiled:
    """A complaint as filed from a device, or as found again for a retry: its row's id, the customer's
    answer (:class:`models.complaint.filing.Filing`, the same a badge's page gets; its ``code`` is None
    only on a retry whose code cannot be recovered, the server's secret changed) and the alert."""

    id: int
    filing: Filing
    alert: AlertView | None = None  # the high-severity alert this request stored, to publish


# -- statements (built against the models, compiled once per dialect) -------------------------------

_REPLAY_COLUMNS = (
    col(Complaint.id), col(Complaint.request_hash), col(Complaint.code_digest), col(Complaint.status),
    col(Complaint.severity), col(Complaint.category), col(Complaint.created_at), col(Complaint.due_at),
    col(Complaint.promise_unit), col(Complaint.promise_amount), col(Complaint.branch_id),
)  # fmt: skip
_BY_KEY = Prepared(
    lambda _d: select(*_REPLAY_COLUMNS).where(col(Complaint.idempotency_key) == bindparam("key"))
)
_RATING = Prepared(
    lambda _d: select(col(Rating.device_id), col(Rating.score), col(Rating.staff_id)).where(
        col(Rating.id) == bindparam("rating_id")
    )
)
_CLAUSE = Prepared(
    lambda _d: select(
        col(ConductClause.active), col(ConductClause.rateable), col(ConductClause.polarity)
    ).where(col(ConductClause.code) == bindparam("code"))
)
_TIMEZONE = Prepared(lambda _d: select(col(Branch.timezone)).where(col(Branch.id) == bindparam("branch_id")))
_CODE_TAKEN = Prepared(
    lambda _d: select(col(Complaint.id)).where(col(Complaint.code_digest) == bindparam("digest"))
)


def _insert_complaint(dialect_name: str) -> Any:
    table = Complaint.__table__  # type: ignore[attr-defined]
    key = [table.c.idempotency_key]
    if dialect_name == "sqlite":
        return sqlite_insert(table).on_conflict_do_nothing(index_elements=key).returning(table.c.id)
    if dialect_name == "postgresql":
        return pg_insert(table).on_conflict_do_nothing(index_elements=key).returning(table.c.id)
    raise ValueError(f"complaints are filed on SQLite or PostgreSQL, not {dialect_name}")


# Every column but the id, each given as the ORM would give it (a field left out takes its default).
_COLUMNS = [c.key for c in Complaint.__table__.columns if c.key != "id"]  # type: ignore[attr-defined]
_DEFAULTS = {
    name: Complaint.model_fields[name].default
    for name in _COLUMNS
    if name in Complaint.model_fields and Complaint.model_fields[name].default_factory is None
}
_INSERT = Prepared(_insert_complaint, column_keys=_COLUMNS)
_EVENT_COLUMNS = [c.key for c in ComplaintEvent.__table__.columns if c.key != "id"]  # type: ignore[attr-defined]
_INSERT_EVENT = Prepared(lambda _d: insert(ComplaintEvent), column_keys=_EVENT_COLUMNS)
# The complaint about a 差评 is that case's (models/cases.py join_complaint).
_JOIN_CASE = Prepared(
    lambda _d: (
        update(RatingCase)
        .where(col(RatingCase.rating_id) == bindparam("rating_id"), col(RatingCase.complaint_id).is_(None))
        .values(complaint_id=bindparam("complaint_id"))
    )
)


# -- filing -----------------------------------------------------------------------------------------


def file_from_device(
    conn: Any,
    dialect: Dialect,
    *,
    token: str | None,
    idempotency_key: str,
    data: ComplaintCreate,
    now: datetime,
    rating_id: uuid.UUID | None = None,
    code_secret: str | None = None,
) -> DeviceFiled:
    """File ``data`` from the device holding ``token`` once (steps 1–5), uncommitted. Refusals raise
    (DeviceNotAuthorized, ValidationFailed naming the field, IdempotencyConflict) and store nothing
    but the device's ``last_seen_at``, which the caller may commit (as the kiosk's path always did)."""
    known = device_by_token(conn, dialect, token, now=now)
    device, policy = known.device, known.policy
    staff_id = known.on_duty[0] if known.on_duty is not None else None
    score = None
    if rating_id is not None:
        rated = _RATING.first(conn, dialect, {"rating_id": rating_id})
        if rated is None or rated[0] != device.id:
            raise ValidationFailed("rating", "this rating was not given here")
        score, staff_id = rated[1], rated[2]
    key = validate_idempotency_key(idempotency_key)
    digest = _request_hash(
        data=data, channel=Channel.kiosk, branch_id=device.branch_id, counter_id=device.counter_id,
        rating_id=rating_id, score=score,
    )  # fmt: skip
    existing = _BY_KEY.first(conn, dialect, {"key": key})
    if existing is not None:
        return _replay(conn, dialect, existing, digest, code_secret, key, now)
    clause = _CLAUSE.first(conn, dialect, {"code": data.category})
    if clause is None or not clause[0] or not clause[1] or clause[2] == "positive":
        raise ValidationFailed("category", f"unknown complaint category: {data.category}")
    severity = initial_severity(data.category, policy=policy, score=score)
    zone = _TIMEZONE.first(conn, dialect, {"branch_id": device.branch_id})
    tz = zone[0] if zone is not None else Branch.model_fields["timezone"].default
    # Every clock counts from the day the complaint is filed on at the branch, so the marks before it
    # are not read.
    filed_on = now.astimezone(branch_zone(tz)).date()
    calendar = work_calendar_on(conn, dialect, device.branch_id, policy.holidays, since=filed_on)
    clock = clocks(now, severity, policy, tz=tz, calendar=calendar)
    code, code_digest = _unused_code(conn, dialect, code_secret, key)
    values = {
        **_DEFAULTS,
        "idempotency_key": key, "request_hash": digest, "code_digest": code_digest,
        "branch_id": device.branch_id, "counter_id": device.counter_id, "staff_id": staff_id,
        "rating_id": rating_id, "channel": Channel.kiosk.value, "category": data.category,
        "description": data.description, "contact": data.contact,
        "contact_kind": data.contact_kind.value if data.contact_kind else None,
        "consent_at": now if data.contact else None, "severity": severity.value,
        "status": ComplaintStatus.new.value, "locale": data.locale, "created_at": now,
        "due_at": clock.due_at, "promise_unit": clock.unit, "promise_amount": clock.amount,
        "first_contact_due_at": clock.first_contact_due_at,
    }  # fmt: skip
    inserted = _INSERT.first(conn, dialect, values)
    if inserted is None:  # the same key stored meanwhile (PostgreSQL): that filing's answer
        existing = _BY_KEY.first(conn, dialect, {"key": key})
        if existing is None:  # pragma: no cover - complaints are never deleted while filing
            raise IdempotencyConflict("this Idempotency-Key is in use by another request; try again")
        return _replay(conn, dialect, existing, digest, code_secret, key, now)
    complaint_id = int(inserted[0])
    _INSERT_EVENT.rowcount(
        conn, dialect,
        {"complaint_id": complaint_id, "at": now, "kind": EventKind.received.value, "actor_staff_id": None,
         "public": True, "note": ""},
    )  # fmt: skip
    if rating_id is not None:
        _JOIN_CASE.rowcount(conn, dialect, {"rating_id": rating_id, "complaint_id": complaint_id})
    audit.append_on(
        conn, dialect, action="complaint.file", entity="complaint", entity_id=complaint_id, now=now,
        details={"severity": severity.value, "channel": Channel.kiosk.value},
    )  # fmt: skip
    alert = _high_alert(conn, dialect, severity, device.branch_id, complaint_id, now)
    filing = Filing(
        code=code, created=True, status=ComplaintStatus.new.value, severity=severity.value,
        category=data.category, created_at=now, due_at=clock.due_at, promise_unit=clock.unit,
        promise_amount=clock.amount,
    )  # fmt: skip
    return DeviceFiled(id=complaint_id, filing=filing, alert=alert)


def _high_alert(
    conn: Any, dialect: Dialect, severity: str, branch_id: int, complaint_id: int, now: datetime
) -> AlertView | None:
    """Step 6 (as rapport/usecases/alerting.after_complaint raises it, with the same dedupe key)."""
    if severity != Severity.high:
        return None
    return raise_alert_on(
        conn, dialect, branch_id=branch_id, kind=AlertKind.high_complaint, dedupe_key=f"high:{complaint_id}",
        complaint_id=complaint_id, now=now,
    )  # fmt: skip


def _unused_code(conn: Any, dialect: Dialect, secret: str | None, key: str) -> tuple[str, str]:
    for attempt in range(_CODE_ATTEMPTS):
        code = derived_tracking_code(secret, key, attempt) if secret else new_tracking_code()
        digest = tracking_digest(code)
        if _CODE_TAKEN.first(conn, dialect, {"digest": digest}) is None:
            return code, digest
    raise RuntimeError("could not draw an unused tracking code")  # pragma: no cover


def _replay(
    conn: Any,
    dialect: Dialect,
    row: tuple[Any, ...],
    digest: str,
    secret: str | None,
    key: str,
    now: datetime,
) -> DeviceFiled:
    (complaint_id, stored_hash, code_digest, status, severity, category, created_at, due_at, unit,
     amount, branch_id) = row  # fmt: skip
    if stored_hash != digest:
        raise IdempotencyConflict(
            "this Idempotency-Key was already used for a different complaint; use a new key"
        )
    filing = Filing(
        code=_recover_code(code_digest, secret, key), created=False, status=str(status),
        severity=str(severity), category=str(category), created_at=created_at, due_at=due_at,
        promise_unit=str(unit), promise_amount=int(amount),
    )  # fmt: skip
    return DeviceFiled(
        id=int(complaint_id), filing=filing,
        alert=_high_alert(conn, dialect, str(severity), int(branch_id), int(complaint_id), now),
    )  # fmt: skip
