"""Filing a complaint: what a customer (kiosk, phone, or staff typing in a hotline call) submits and how
it is validated, then storing it once per idempotency key with its severity, its due times and a fresh
tracking code of which only the digest is kept (:mod:`models.codes`).

Separate from the customer's tracking page (:mod:`models.complaint.tracking`) and the staff's
casework (:mod:`models.complaint.casework`): filing is the only step that creates a complaint, and
neither of them imports it.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from models import audit
from models.cases import join_complaint
from models.catalog import ConductClause
from models.clock import utcnow
from models.codes import derived_tracking_code, new_tracking_code, tracking_digest
from models.complaint.records import (
    CONTACT_MAX_CHARS,
    DESCRIPTION_MAX_CHARS,
    Complaint,
    ComplaintEvent,
    ComplaintStatus,
    ContactKind,
    EventKind,
)
from models.complaint.rules import branch_clocks, initial_severity
from models.errors import IdempotencyConflict, ValidationFailed
from models.policy import PolicyValues, effective_policy
from models.rating import Channel, validate_idempotency_key
from models.text import clean_text

# A new code is drawn if its digest is already taken; with 25**9 codes this never loops in practice.
_CODE_ATTEMPTS = 5


# ---------------------------------------------------------------------------------------------------
# What a customer submits

_PHONE_DECOR = re.compile(r"[\s\-()]")
_PHONE = re.compile(r"1[3-9]\d{9}")
_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})"
)


def normalise_contact(value: str) -> tuple[str, ContactKind]:
    """A mainland-China mobile number (digits only) or an e-mail address (domain lower-cased).

    Phones may carry spaces, dashes, brackets and a +86 / 0086 prefix. Raises ValueError otherwise.
    """
    text = unicodedata.normalize("NFKC", value).strip()
    if "@" in text:
        if len(text) > CONTACT_MAX_CHARS or not _EMAIL.fullmatch(text):
            raise ValueError("contact must be a mobile number or an e-mail address, e.g. name@example.com")
        local, domain = text.rsplit("@", 1)
        return f"{local}@{domain.lower()}", ContactKind.email
    digits = _PHONE_DECOR.sub("", text)
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix) :]
            break
    if not _PHONE.fullmatch(digits):
        raise ValueError(
            "contact must be an 11-digit mobile number (e.g. 138 1234 5678) or an e-mail address"
        )
    return digits, ContactKind.phone


class ComplaintCreate(BaseModel):
    """What a customer (or staff typing in a hotline call) submits. Validated before anything is stored."""

    model_config = ConfigDict(extra="forbid")

    category: str
    description: str
    contact: str | None = None
    # Validated even when left out, so "contact without consent" is always caught.
    consent: bool = Field(default=False, validate_default=True)
    locale: Literal["zh-CN", "en"] = "zh-CN"

    @field_validator("category", mode="before")
    @classmethod
    def _category(cls, v: Any) -> str:
        if not isinstance(v, str) or not v.strip():
            raise ValueError("choose what the complaint is about")
        if len(v.strip()) > 16:
            raise ValueError("unknown complaint category")
        return v.strip()

    @field_validator("description", mode="before")
    @classmethod
    def _description(cls, v: Any) -> str:
        if not isinstance(v, str):
            raise ValueError("description must be text")
        text = clean_text(v, max_chars=DESCRIPTION_MAX_CHARS)
        if not text:
            raise ValueError("please describe what happened")
        return text

    @field_validator("contact", mode="before")
    @classmethod
    def _contact(cls, v: Any) -> str | None:
        if v is None:
            return None
        if not isinstance(v, str):
            raise ValueError("contact must be text")
        if not v.strip():
            return None
        return normalise_contact(v)[0]

    @field_validator("consent")
    @classmethod
    def _consent(cls, v: bool, info: ValidationInfo) -> bool:
        if info.data.get("contact") and not v:
            raise ValueError(
                "consent is required to keep your contact details; tick the box or leave them out"
            )
        return v

    @property
    def contact_kind(self) -> ContactKind | None:
        return None if self.contact is None else normalise_contact(self.contact)[1]


def parse_complaint(data: dict[str, Any]) -> ComplaintCreate:
    """Validate a submitted form; the first problem is raised as ValidationFailed(field, message)."""
    try:
        return ComplaintCreate.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(part) for part in err["loc"]) or "complaint"
        if err["type"] == "value_error":
            message = str(err["ctx"]["error"])
        elif err["type"] == "missing":
            message = f"{field} is required"
        elif err["type"] == "extra_forbidden":
            message = f"{field} is not a complaint field"
        else:
            message = err["msg"]
        raise ValidationFailed(field, message) from None


# ---------------------------------------------------------------------------------------------------
# Filing


@dataclass(frozen=True)
class Filing:
    """A complaint as filed (or found again on a replay): the answer of rapport/usecases/filing.py
    ``file_at_place``, the same whether a badge's page filed it (:func:`file_complaint`) or a device
    (:func:`models.complaint_intake.file_from_device`, which returns it as is). ``code`` is the
    tracking code, shown to the customer once; None on a replay whose code cannot be recovered (the
    server's secret changed)."""

    code: str | None
    created: bool
    status: str
    severity: str
    category: str
    created_at: datetime
    due_at: datetime
    promise_unit: str
    promise_amount: int


def _request_hash(
    *,
    data: ComplaintCreate,
    channel: Channel,
    branch_id: int,
    counter_id: int | None,
    rating_id: uuid.UUID | None,
    score: int | None,
    work_order_no: str | None = None,
) -> str:
    # The staff member is left out on purpose: callers resolve it (for example from who is on duty),
    # and a retry after a change of duty is still the same complaint.
    body = {
        "channel": channel.value, "branch_id": branch_id, "counter_id": counter_id,
        "rating_id": str(rating_id) if rating_id else None, "score": score,
        "complaint": data.model_dump(mode="json"),
    }  # fmt: skip
    if work_order_no is not None:  # only then: the fingerprint of every other filing is unchanged
        body["work_order_no"] = work_order_no
    raw = json.dumps(body, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(raw).hexdigest()


def _check_category(session: Session, code: str) -> None:
    clause = session.get(ConductClause, code)
    if clause is None or not clause.active or not clause.rateable or clause.polarity == "positive":
        raise ValidationFailed("category", f"unknown complaint category: {code}")


def _by_key(session: Session, key: str) -> Complaint | None:
    return session.exec(select(Complaint).where(Complaint.idempotency_key == key)).first()


def _unused_code(session: Session, secret: str | None, key: str) -> tuple[str, str]:
    for attempt in range(_CODE_ATTEMPTS):
        code = derived_tracking_code(secret, key, attempt) if secret else new_tracking_code()
        digest = tracking_digest(code)
        taken = session.exec(select(Complaint.id).where(Complaint.code_digest == digest)).first()
        if taken is None:
            return code, digest
    raise RuntimeError("could not draw an unused tracking code")  # pragma: no cover


def file_complaint(
    session: Session,
    *,
    idempotency_key: str,
    data: ComplaintCreate,
    channel: Channel,
    branch_id: int,
    counter_id: int | None = None,
    staff_id: int | None = None,
    rating_id: uuid.UUID | None = None,
    score: int | None = None,
    policy: PolicyValues | None = None,
    now: datetime | None = None,
    code_secret: str | None = None,
    work_order_no: str | None = None,
) -> tuple[Complaint, str | None, bool]:
    """Store a complaint once. Returns ``(complaint, tracking_code, created)``.

    1. A key seen before with the same request returns the stored complaint, ``created`` False and
       tracking code None: only the code's digest is kept, so it cannot be shown again. The caller
       shows the code it already holds from the first response.
    2. A key seen before with a different request raises :class:`IdempotencyConflict`.
    3. The category must be an active clause that customers may cite, else ValidationFailed.
    4. Severity from :func:`initial_severity` (``score`` is the rating the complaint came with, if
       any); due time from :func:`due_time`; status new; a public "received" event.
    5. A fresh tracking code is drawn (again, should its digest already exist); only the digest is
       stored. A concurrent insert of the same key is settled by the unique index.
    ``policy`` defaults to the branch's effective policy.

    With ``code_secret`` (the server's secret key) the code is derived from it and the idempotency
    key (:func:`models.codes.derived_tracking_code`), so a replay returns the same code instead of
    None: a customer whose first answer was lost still gets their code.

    ``work_order_no``: the 12345 work order a hotline entry came with, already parsed
    (:mod:`models.complaint.work_order`); the unique index refuses a second complaint with it, as an
    IntegrityError the caller turns into its refusal.
    """
    key = validate_idempotency_key(idempotency_key)
    digest = _request_hash(
        data=data,
        channel=channel,
        branch_id=branch_id,
        counter_id=counter_id,
        rating_id=rating_id,
        score=score,
        work_order_no=work_order_no,
    )
    existing = _by_key(session, key)
    if existing is not None:
        return _replay(existing, digest), _recover_code(existing.code_digest, code_secret, key), False
    _check_category(session, data.category)
    if policy is None:
        policy = effective_policy(session, branch_id)
    now = now or utcnow()
    severity = initial_severity(data.category, policy=policy, score=score)
    clock = branch_clocks(session, branch_id, now, severity, policy)
    code, code_digest = _unused_code(session, code_secret, key)
    complaint = Complaint(
        idempotency_key=key, request_hash=digest, code_digest=code_digest, branch_id=branch_id,
        counter_id=counter_id, staff_id=staff_id, rating_id=rating_id, channel=channel,
        category=data.category, description=data.description, contact=data.contact,
        contact_kind=data.contact_kind, consent_at=now if data.contact else None, severity=severity,
        status=ComplaintStatus.new, locale=data.locale, created_at=now,
        due_at=clock.due_at, promise_unit=clock.unit, promise_amount=clock.amount,
        first_contact_due_at=clock.first_contact_due_at, work_order_no=work_order_no,
    )  # fmt: skip
    session.add(complaint)
    try:
        session.flush()
        assert complaint.id is not None
        session.add(ComplaintEvent(complaint_id=complaint.id, at=now, kind=EventKind.received, public=True))
        if rating_id is not None:  # a complaint about a 差评 is that case's, not a second one
            join_complaint(session, rating_id=rating_id, complaint_id=complaint.id)
        audit.append(session, action="complaint.file", entity="complaint", entity_id=complaint.id, now=now,
                     details={"severity": severity.value, "channel": channel.value})  # fmt: skip
        session.commit()
    except IntegrityError:
        session.rollback()
        existing = _by_key(session, key)
        if existing is None:
            raise
        return _replay(existing, digest), _recover_code(existing.code_digest, code_secret, key), False
    return complaint, code, True


def _recover_code(code_digest: str, secret: str | None, key: str) -> str | None:
    """The tracking code of a stored complaint (by its digest) derived again from the server's secret
    and the idempotency key; None without a secret or if it changed. Also the device path's
    (models/complaint_intake.py)."""
    if not secret:
        return None
    for attempt in range(_CODE_ATTEMPTS):
        code = derived_tracking_code(secret, key, attempt)
        if tracking_digest(code) == code_digest:
            return code
    return None


def _replay(existing: Complaint, digest: str) -> Complaint:
    if existing.request_hash != digest:
        raise IdempotencyConflict(
            "this Idempotency-Key was already used for a different complaint; use a new key"
        )
    return existing
