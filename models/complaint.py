"""Complaints: filed by a customer (kiosk, phone, or staff typing in a hotline call), handled on a
clock, answered publicly, and followed up with the customer's grade of the handling.

Workflow: new -> acknowledged -> investigating -> resolved -> closed, or rejected (with a reason)
from any open state. Resolving needs a root cause and a **finding** with what it is about (the same
属实 / 部分属实 / 不属实 / 无法核实 and staff / service / process / policy / facilities / other as a 差评
case, models/cases.py): only a substantiated finding about the staff member weighs on them
(models/sanction.py). The customer then grades the handling 满意 / 基本满意 / 不满意; 不满意 reopens
a resolved complaint one severity step higher.
Every step is a :class:`ComplaintEvent` with its time and actor; the ``public`` events (kind and
time only, never notes or names) make up the customer's timeline on the status page.

回避: nobody is given, steps, investigates or reveals the contact of a complaint that names them or
whose customer they served at the counter (:func:`involved_staff`); an administrator takes it when
the branch has no one else.

The customer keeps a tracking code (:mod:`models.codes`); only its digest is stored.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from sqlalchemy import CheckConstraint, Column, Index, String
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field as SQLField
from sqlmodel import Session, SQLModel, col, select, update

import models.base  # noqa: F401  (naming convention first)
from models import audit
from models.cases import About, Finding, Grade, join_complaint
from models.catalog import ConductClause
from models.clock import UTCDateTime, utcnow
from models.codes import derived_tracking_code, new_tracking_code, normalise_tracking_code, tracking_digest
from models.errors import ConflictOfInterest, DomainError, IdempotencyConflict, NotFound, ValidationFailed
from models.extension_rows import ComplaintExtension
from models.org import Branch
from models.policy import PolicyValues, effective_policy
from models.rating import Channel, Rating, validate_idempotency_key
from models.sla import BusinessHours, add_business_hours, parse_hhmm
from models.text import clean_text
from models.workdays import WorkCalendar, day_deadline

DESCRIPTION_MAX_CHARS = 1000
REPLY_MAX_CHARS = 2000
NOTE_MAX_CHARS = 1000
CONTACT_MAX_CHARS = 120
IDEMPOTENCY_KEY_MAX = 100
LOCALES = ("zh-CN", "en")
# A new code is drawn if its digest is already taken; with 25**9 codes this never loops in practice.
_CODE_ATTEMPTS = 5


class Severity(StrEnum):
    low = "low"
    normal = "normal"
    high = "high"


class ComplaintStatus(StrEnum):
    new = "new"
    acknowledged = "acknowledged"
    investigating = "investigating"
    resolved = "resolved"
    closed = "closed"
    rejected = "rejected"


class EventKind(StrEnum):
    received = "received"
    acknowledged = "acknowledged"
    assigned = "assigned"
    investigating = "investigating"
    replied = "replied"
    resolved = "resolved"
    closed = "closed"
    rejected = "rejected"
    reopened = "reopened"
    escalated = "escalated"
    extended = "extended"
    satisfied = "satisfied"
    unsatisfied = "unsatisfied"
    contact_erased = "contact_erased"


class ContactKind(StrEnum):
    phone = "phone"
    email = "email"


def _in(column: str, values: Any) -> str:
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


# ---------------------------------------------------------------------------------------------------
# Exceptions


class ComplaintNotFound(NotFound):
    code = "complaint_not_found"


class InvalidTransition(DomainError):
    """The complaint's status does not allow this step (or changed meanwhile)."""

    code = "invalid_transition"


class SatisfactionNotOpen(DomainError):
    """The satisfaction question is only open once per resolution, while the complaint is resolved."""

    code = "satisfaction_not_open"


# ---------------------------------------------------------------------------------------------------
# Tables


class Complaint(SQLModel, table=True):
    __tablename__ = "complaint"
    __table_args__ = (
        CheckConstraint(_in("channel", Channel), name="channel"),
        CheckConstraint(_in("severity", Severity), name="severity"),
        CheckConstraint(_in("status", ComplaintStatus), name="status"),
        CheckConstraint(_in("locale", LOCALES), name="locale"),
        CheckConstraint(_in("contact_kind", ContactKind), name="contact_kind"),
        CheckConstraint(_in("finding", Finding), name="finding"),
        CheckConstraint(_in("about", About), name="about"),
        CheckConstraint(_in("grade", Grade), name="grade"),
        # Contact details are kept only with the customer's consent, and always with their kind.
        CheckConstraint("contact IS NULL OR consent_at IS NOT NULL", name="contact_consent"),
        CheckConstraint("(contact IS NULL) = (contact_kind IS NULL)", name="contact_has_kind"),
        CheckConstraint("escalation_level >= 0", name="escalation_level"),
        Index("ix_complaint_branch_status_due", "branch_id", "status", "due_at"),
        Index("ix_complaint_staff_created", "staff_id", "created_at"),
    )

    id: int | None = SQLField(default=None, primary_key=True)
    idempotency_key: str = SQLField(max_length=IDEMPOTENCY_KEY_MAX, unique=True)
    # Fingerprint of the filing request, to tell a retry from a reused key.
    request_hash: str = SQLField(max_length=64)
    # SHA-256 of the tracking code; the code itself is never stored.
    code_digest: str = SQLField(max_length=64, unique=True)
    branch_id: int = SQLField(foreign_key="branch.id")
    counter_id: int | None = SQLField(default=None, foreign_key="counter.id")
    staff_id: int | None = SQLField(default=None, foreign_key="staff.id")
    rating_id: uuid.UUID | None = SQLField(default=None, foreign_key="rating.id")
    channel: Channel = SQLField(sa_type=String(8))
    category: str = SQLField(max_length=16, foreign_key="conduct_clause.code")
    description: str = SQLField(max_length=DESCRIPTION_MAX_CHARS)
    contact: str | None = SQLField(default=None, max_length=CONTACT_MAX_CHARS)
    contact_kind: ContactKind | None = SQLField(default=None, sa_type=String(8))
    consent_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime, nullable=True))
    # Set when the complaint reaches a final state (closed or rejected): the contact is erased then.
    contact_erase_after: datetime | None = SQLField(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    severity: Severity = SQLField(default=Severity.normal, sa_type=String(8))
    status: ComplaintStatus = SQLField(default=ComplaintStatus.new, sa_type=String(16))
    # The customer's language, for the reply and any follow-up.
    locale: str = SQLField(default="zh-CN", sa_type=String(8))
    created_at: datetime = SQLField(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    due_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    # The promise made with ``due_at``, in the clock's own words ("5 working days", "72 opening
    # hours"): what the customer was told, whatever the policy says later.
    promise_unit: str = SQLField(default="opening_hours", sa_type=String(16))
    promise_amount: int = 0
    # The first-contact clock (acknowledge the case), when the policy has one.
    first_contact_due_at: datetime | None = SQLField(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    resolved_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime, nullable=True))
    # When the complaint reached a final state (closed or rejected); cleared if it is reopened.
    closed_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime, nullable=True))
    # The public reply to the customer, shown on their status page.
    reply: str | None = SQLField(default=None, max_length=REPLY_MAX_CHARS)
    # The customer's answer about the current resolution; None until asked and answered.
    # The customer's grade of the handling (satisfied and fairly close it; dissatisfied reopens).
    # ``satisfied`` is kept with it: True for 满意 and 基本满意.
    satisfied: bool | None = None
    grade: str | None = SQLField(default=None, max_length=16)
    escalation_level: int = 0
    # Casework (conduct code §2.5.2: find the root cause, rectify): internal, never shown to the customer.
    assignee_id: int | None = SQLField(default=None, foreign_key="staff.id")
    root_cause: str | None = SQLField(default=None, max_length=NOTE_MAX_CHARS)
    corrective_action: str | None = SQLField(default=None, max_length=NOTE_MAX_CHARS)
    # The finding, as for a 差评 case: how far the complaint was borne out, and what it is about.
    finding: str | None = SQLField(default=None, max_length=16)
    about: str | None = SQLField(default=None, max_length=16)
    # When the record's free text was removed at the end of its retention (models/retention.py).
    text_erased_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime, nullable=True))


class ComplaintEvent(SQLModel, table=True):
    """One step in a complaint's life. ``public`` events appear (kind and time only) on the customer's
    timeline; ``note`` is always internal."""

    __tablename__ = "complaint_event"
    __table_args__ = (CheckConstraint(_in("kind", EventKind), name="kind"),)

    id: int | None = SQLField(default=None, primary_key=True)
    complaint_id: int = SQLField(foreign_key="complaint.id", index=True)
    at: datetime = SQLField(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    kind: EventKind = SQLField(sa_type=String(16))
    actor_staff_id: int | None = SQLField(default=None, foreign_key="staff.id")
    public: bool = False
    note: str = SQLField(default="", max_length=NOTE_MAX_CHARS)


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
# Rules (pure: no database, clock passed in)

ALLOWED_TRANSITIONS: dict[ComplaintStatus, frozenset[ComplaintStatus]] = {
    ComplaintStatus.new: frozenset({ComplaintStatus.acknowledged, ComplaintStatus.rejected}),
    ComplaintStatus.acknowledged: frozenset({ComplaintStatus.investigating, ComplaintStatus.rejected}),
    ComplaintStatus.investigating: frozenset({ComplaintStatus.resolved, ComplaintStatus.rejected}),
    ComplaintStatus.resolved: frozenset({ComplaintStatus.closed, ComplaintStatus.investigating}),
    ComplaintStatus.closed: frozenset({ComplaintStatus.investigating}),
    ComplaintStatus.rejected: frozenset(),
}
FINAL_STATUSES = frozenset({ComplaintStatus.closed, ComplaintStatus.rejected})


def can_transition(current: ComplaintStatus, to: ComplaintStatus) -> bool:
    return to in ALLOWED_TRANSITIONS[current]


def check_transition(current: ComplaintStatus, to: ComplaintStatus) -> None:
    if not can_transition(current, to):
        allowed = ", ".join(sorted(ALLOWED_TRANSITIONS[current])) or "nothing (it is final)"
        raise InvalidTransition(
            f"a complaint cannot go from {current.value} to {to.value}; from {current.value} it can go to "
            f"{allowed}",
            current=current.value,
            to=to.value,
        )


def initial_severity(category: str, *, policy: PolicyValues, score: int | None = None) -> Severity:
    """How urgent a new complaint is.

    1. A clause in ``policy.high_severity_clauses`` (integrity, confidentiality...) -> high.
    2. Filed alongside a good rating (score 4 or 5) -> low: the customer was broadly content.
    3. Anything else -> normal. A 1-star rating is therefore at least normal.
    """
    if category in policy.high_severity_clauses:
        return Severity.high
    if score is not None and score >= 4:
        return Severity.low
    return Severity.normal


def next_severity(severity: Severity) -> Severity:
    """One step more urgent, stopping at high."""
    order = list(Severity)
    return order[min(order.index(severity) + 1, len(order) - 1)]


@dataclass(frozen=True)
class Clocks:
    """A case's due times and the promise they make, in the clock's own words."""

    due_at: datetime
    unit: str  # opening_hours, hours (wall clock), working_days or calendar_days
    amount: int
    first_contact_due_at: datetime | None


def clocks(
    start: datetime,
    severity: Severity,
    policy: PolicyValues,
    *,
    tz: str,
    calendar: WorkCalendar | None = None,
) -> Clocks:
    """The reply clock and the first-contact clock of a case started at ``start``.

    1. ``policy.sla_clock`` says how the reply clock counts: the branch's opening hours (the
       severity's SLA hours, :func:`models.sla.add_business_hours`; plain wall-clock hours when
       ``sla_in_business_hours`` is off), or ``sla_days`` working or calendar days by the 民法典 rule
       (:func:`models.workdays.day_deadline`), ending at close of business or 24:00.
    2. The first-contact clock, when the policy has one, is that many working days, ending at close
       of business.
    3. ``calendar`` holds the statutory holidays and make-up working days (models/holidays.py);
       without it only the policy's own holidays count. Every due time goes through this function.
    """
    cal = calendar or WorkCalendar.of(holidays=policy.holidays)
    hours = BusinessHours.of(**policy.business_calendar(), workdays=cal.workdays)
    closed = cal.holidays | hours.holidays
    hours = BusinessHours(hours.week, closed, cal.workdays - closed)
    cal = WorkCalendar(closed, cal.workdays - closed)
    closing = parse_hhmm(policy.closing_time)
    first = None
    if policy.first_contact_working_days:
        first = day_deadline(
            start, policy.first_contact_working_days, counting="working_days", calendar=cal, tz=tz,
            ends="close", closing=closing, closing_on=hours.closing_on,
        )  # fmt: skip
    if policy.sla_clock != "opening_hours":
        due = day_deadline(
            start, policy.sla_days, counting=policy.sla_clock, calendar=cal, tz=tz,
            ends=policy.sla_day_ends, closing=closing, closing_on=hours.closing_on,
        )  # fmt: skip
        return Clocks(due, policy.sla_clock, policy.sla_days, first)
    amount = policy.sla_hours(severity.value)
    if not policy.sla_in_business_hours:
        return Clocks(start + timedelta(hours=amount), "hours", amount, first)
    due = add_business_hours(
        start, amount, tz=tz, **{**policy.business_calendar(), "holidays": sorted(closed)},
        workdays=cal.workdays,
    )  # fmt: skip
    return Clocks(due, "opening_hours", amount, first)


def due_time(
    start: datetime,
    severity: Severity,
    policy: PolicyValues,
    *,
    tz: str,
    calendar: WorkCalendar | None = None,
) -> datetime:
    """When a reply is due (:func:`clocks`)."""
    return clocks(start, severity, policy, tz=tz, calendar=calendar).due_at


def escalation_time(
    session: Session, branch_id: int, due_at: datetime, policy: PolicyValues
) -> datetime | None:
    """When a case overdue since ``due_at`` is raised above the branch (督办): close of business on
    the policy's N-th working day after the due day, by the branch's calendar; None when off."""
    from models.holidays import work_calendar

    if not policy.escalate_after_working_days:
        return None
    calendar = work_calendar(session, branch_id, policy.holidays)
    hours = BusinessHours.of(**policy.business_calendar(), workdays=calendar.workdays)
    return day_deadline(
        due_at, policy.escalate_after_working_days, counting="working_days", calendar=calendar,
        tz=_branch_tz(session, branch_id), ends="close", closing=parse_hhmm(policy.closing_time),
        closing_on=hours.closing_on,
    )  # fmt: skip


def _promise(clock: Clocks) -> dict[str, Any]:
    """The columns a restarted reply clock sets (a reopened case keeps its first-contact clock)."""
    return {"due_at": clock.due_at, "promise_unit": clock.unit, "promise_amount": clock.amount}


def _branch_tz(session: Session, branch_id: int) -> str:
    branch = session.get(Branch, branch_id)
    return branch.timezone if branch is not None else Branch.model_fields["timezone"].default


def branch_clocks(
    session: Session, branch_id: int, start: datetime, severity: Severity, policy: PolicyValues
) -> Clocks:
    """:func:`clocks` at a branch: its time zone and its working-day calendar."""
    from models.holidays import work_calendar

    calendar = work_calendar(session, branch_id, policy.holidays)
    return clocks(start, severity, policy, tz=_branch_tz(session, branch_id), calendar=calendar)


def contact_erase_time(final_at: datetime, policy: PolicyValues) -> datetime:
    return final_at + timedelta(days=policy.contact_retention_days)


def satisfaction_open(status: ComplaintStatus, satisfied: bool | None) -> bool:
    """The customer may answer once per resolution, while the complaint is resolved."""
    return status is ComplaintStatus.resolved and satisfied is None


def mask_contact(contact: str | None, kind: ContactKind | str | None) -> str:
    """Enough to recognise a contact, not to use it: 138****5678, a***e@example.com."""
    if not contact:
        return ""
    if kind == ContactKind.phone and len(contact) >= 8:
        return f"{contact[:3]}****{contact[-4:]}"
    if kind == ContactKind.email and "@" in contact:
        local, domain = contact.rsplit("@", 1)
        shown = f"{local[0]}***{local[-1]}" if len(local) > 2 else f"{local[:1]}***"
        return f"{shown}@{domain}"
    return "***"


# ---------------------------------------------------------------------------------------------------
# Filing


def _request_hash(
    *,
    data: ComplaintCreate,
    channel: Channel,
    branch_id: int,
    counter_id: int | None,
    rating_id: uuid.UUID | None,
    score: int | None,
) -> str:
    # The staff member is left out on purpose: callers resolve it (for example from who is on duty),
    # and a retry after a change of duty is still the same complaint.
    body = {
        "channel": channel.value, "branch_id": branch_id, "counter_id": counter_id,
        "rating_id": str(rating_id) if rating_id else None, "score": score,
        "complaint": data.model_dump(mode="json"),
    }  # fmt: skip
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
    """
    key = validate_idempotency_key(idempotency_key)
    digest = _request_hash(
        data=data,
        channel=channel,
        branch_id=branch_id,
        counter_id=counter_id,
        rating_id=rating_id,
        score=score,
    )
    existing = _by_key(session, key)
    if existing is not None:
        return _replay(existing, digest), _recover_code(existing, code_secret, key), False
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
        first_contact_due_at=clock.first_contact_due_at,
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
        return _replay(existing, digest), _recover_code(existing, code_secret, key), False
    return complaint, code, True


def _recover_code(existing: Complaint, secret: str | None, key: str) -> str | None:
    if not secret:
        return None
    for attempt in range(_CODE_ATTEMPTS):
        code = derived_tracking_code(secret, key, attempt)
        if tracking_digest(code) == existing.code_digest:
            return code
    return None


def _replay(existing: Complaint, digest: str) -> Complaint:
    if existing.request_hash != digest:
        raise IdempotencyConflict(
            "this Idempotency-Key was already used for a different complaint; use a new key"
        )
    return existing


# ---------------------------------------------------------------------------------------------------
# The customer's view (tracking code, no account)


@dataclass(frozen=True)
class ComplaintStatusView:
    """What the holder of a tracking code may see: no contact, no staff, no internal notes."""

    status: ComplaintStatus
    severity: Severity
    category: str
    locale: str
    created_at: datetime
    due_at: datetime
    promise_unit: str
    promise_amount: int
    timezone: str  # the branch's, for every time shown
    # Approved extensions of the reply time: (when, the reason given, the new due time), oldest first.
    extensions: tuple[tuple[datetime, str, datetime], ...]
    reply: str | None
    satisfied: bool | None
    grade: str | None  # the customer's last grade of the handling
    can_answer_satisfaction: bool
    # Once rejected or closed: what the customer may do next, per language (policy remedies_*).
    remedies_zh: str
    remedies_en: str
    timeline: tuple[tuple[datetime, EventKind], ...]


def _by_code(session: Session, code: str) -> Complaint | None:
    raw = normalise_tracking_code(code)
    if raw is None:
        return None
    return session.exec(select(Complaint).where(Complaint.code_digest == tracking_digest(raw))).first()


def _extensions(session: Session, complaint: Complaint) -> tuple[tuple[datetime, str, datetime], ...]:
    rows = session.exec(
        select(ComplaintExtension)
        .where(ComplaintExtension.complaint_id == complaint.id, ComplaintExtension.status == "approved")
        .order_by(col(ComplaintExtension.seq))
    ).all()
    return tuple((r.decided_at, r.reason, r.due_after) for r in rows if r.decided_at and r.due_after)


def _view(session: Session, complaint: Complaint) -> ComplaintStatusView:
    events = session.exec(
        select(ComplaintEvent)
        .where(ComplaintEvent.complaint_id == complaint.id, col(ComplaintEvent.public))
        .order_by(col(ComplaintEvent.at), col(ComplaintEvent.id))
    ).all()
    status = ComplaintStatus(complaint.status)
    final = status in FINAL_STATUSES
    policy = effective_policy(session, complaint.branch_id) if final else None
    return ComplaintStatusView(
        status=status, severity=Severity(complaint.severity), category=complaint.category,
        locale=complaint.locale, created_at=complaint.created_at, due_at=complaint.due_at,
        promise_unit=complaint.promise_unit, promise_amount=complaint.promise_amount,
        timezone=_branch_tz(session, complaint.branch_id), extensions=_extensions(session, complaint),
        reply=complaint.reply,
        satisfied=complaint.satisfied, grade=complaint.grade,
        can_answer_satisfaction=satisfaction_open(status, complaint.satisfied),
        remedies_zh=policy.remedies_zh if policy else "", remedies_en=policy.remedies_en if policy else "",
        timeline=tuple((e.at, EventKind(e.kind)) for e in events),
    )  # fmt: skip


def public_status(session: Session, *, code: str) -> ComplaintStatusView | None:
    """The status page for a tracking code; None if the code is malformed or unknown."""
    complaint = _by_code(session, code)
    return None if complaint is None else _view(session, complaint)


def answer_satisfaction(
    session: Session,
    *,
    code: str,
    grade: Grade | str,
    policy: PolicyValues | None = None,
    now: datetime | None = None,
) -> ComplaintStatusView:
    """The customer's grade of the handling: 满意, 基本满意 or 不满意 (:class:`models.cases.Grade`, as for
    a 差评 case).

    1. Unknown or malformed code -> :class:`ComplaintNotFound`; not resolved, or already answered
       for this resolution -> :class:`SatisfactionNotOpen`; not a grade -> :class:`ValidationFailed`.
    2. 满意 or 基本满意: closed now, contact to be erased after the retention period; public events
       satisfied and closed; the grade is kept (``satisfied`` True).
    3. 不满意: back to investigating, escalation level + 1, severity one step up (at most high), due
       time recomputed from now; public events unsatisfied and reopened, an internal escalated event.
    4. The change is a conditional UPDATE (still resolved and unanswered) that must change exactly
       one row, so two answers racing cannot both apply.
    ``policy`` defaults to the complaint branch's effective policy.
    """
    if str(grade) not in set(Grade):
        raise ValidationFailed("grade", f"a grade is satisfied, fairly or dissatisfied, not {grade!r}")
    grade = Grade(grade)
    satisfied = grade is not Grade.dissatisfied
    complaint = _by_code(session, code)
    if complaint is None:
        raise ComplaintNotFound("no complaint with this tracking code")
    if not satisfaction_open(ComplaintStatus(complaint.status), complaint.satisfied):
        raise SatisfactionNotOpen("this complaint is not waiting for your answer")
    assert complaint.id is not None
    if policy is None:
        policy = effective_policy(session, complaint.branch_id)
    now = now or utcnow()
    events: list[ComplaintEvent] = []
    values: dict[str, Any]
    if satisfied:
        values = {
            "satisfied": True, "grade": grade.value, "status": ComplaintStatus.closed.value, "closed_at": now,
            "contact_erase_after": contact_erase_time(now, policy),
        }  # fmt: skip
        events += [
            _event(complaint.id, now, EventKind.satisfied),
            _event(complaint.id, now, EventKind.closed),
        ]
    else:
        old = Severity(complaint.severity)
        severity = next_severity(old)
        level = complaint.escalation_level + 1
        values = {
            "satisfied": False, "grade": grade.value, "status": ComplaintStatus.investigating.value,
            "resolved_at": None,
            "severity": severity.value,
            **_promise(branch_clocks(session, complaint.branch_id, now, severity, policy)),
            "escalation_level": col(Complaint.escalation_level) + 1,
        }  # fmt: skip
        events += [
            _event(complaint.id, now, EventKind.unsatisfied),
            _event(complaint.id, now, EventKind.reopened),
            _event(
                complaint.id, now, EventKind.escalated, public=False,
                note=f"customer not satisfied; severity {old.value} -> {severity.value}, level {level}",
            ),
        ]  # fmt: skip
    changed = session.exec(
        update(Complaint)
        .where(
            col(Complaint.id) == complaint.id,
            col(Complaint.status) == ComplaintStatus.resolved.value,
            col(Complaint.satisfied).is_(None),
        )
        .values(**values)
    )
    if changed.rowcount != 1:
        session.rollback()
        raise SatisfactionNotOpen("this complaint is not waiting for your answer")
    session.add_all(events)
    audit.append(
        session, action="complaint.satisfied" if satisfied else "complaint.unsatisfied", entity="complaint",
        entity_id=complaint.id, details={"grade": grade.value}, now=now,
    )  # fmt: skip
    session.commit()
    session.refresh(complaint)
    return _view(session, complaint)


def _event(
    complaint_id: int,
    at: datetime,
    kind: EventKind,
    *,
    public: bool = True,
    actor_staff_id: int | None = None,
    note: str = "",
) -> ComplaintEvent:
    return ComplaintEvent(
        complaint_id=complaint_id, at=at, kind=kind, public=public, actor_staff_id=actor_staff_id,
        note=clean_text(note, max_chars=NOTE_MAX_CHARS),
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------------
# Staff steps


def involved_staff(session: Session, complaint: Complaint) -> frozenset[int]:
    """Who must stand aside from this complaint (回避, docs/RULES-CITED.md §2 and §5): the person it
    names and, for a complaint about a rating, whoever served that customer at the counter. A
    complaint about someone is never handled by them, whatever their role; they may still read it."""
    ids = {complaint.staff_id}
    if complaint.rating_id is not None:
        rating = session.get(Rating, complaint.rating_id)
        ids.add(rating.staff_id if rating is not None else None)
    return frozenset(i for i in ids if i is not None)


def check_not_involved(
    session: Session, complaint: Complaint, staff_id: int | None, *, as_assignee: bool = False
) -> None:
    """Raise :class:`ConflictOfInterest` when ``staff_id`` must stand aside (:func:`involved_staff`),
    before anything is written. ``as_assignee``: the person would be given the complaint, rather
    than acting on it. Steps without a person (the SLA sweep, None) are not concerned."""
    if staff_id is None or staff_id not in involved_staff(session, complaint):
        return
    if as_assignee:
        message = (
            "this person is named in the complaint or served the customer at the counter, so cannot be "
            "given it; choose another supervisor of the branch or an administrator"
        )
    else:
        message = (
            "you are named in this complaint or served the customer at the counter: another supervisor "
            "of the branch, or an administrator, handles it"
        )
    raise ConflictOfInterest(message, complaint_id=complaint.id, staff_id=staff_id, assignee=as_assignee)


def parse_finding(finding: str | None, about: str | None) -> tuple[Finding, About] | None:
    """A finding and its subject as given on a form: both, or neither (None). One without the other,
    or a word that is not a finding or a subject, is :class:`ValidationFailed` naming the field."""
    finding, about = (finding or "").strip(), (about or "").strip()
    if not finding and not about:
        return None
    if finding not in set(Finding):
        raise ValidationFailed(
            "finding", "choose the finding: substantiated, partly, unfounded or unverifiable"
        )
    if about not in set(About):
        raise ValidationFailed(
            "about", "choose what it is about: staff, service, process, policy, facilities or other"
        )
    return Finding(finding), About(about)


def finding_of(session: Session, complaint: Complaint) -> tuple[str, str] | None:
    """The complaint's finding and subject: its own once recorded, else that of the 差评 case it
    joined (models/cases.py), else None (not yet found, so it weighs on nobody)."""
    if complaint.finding and complaint.about:
        return complaint.finding, complaint.about
    from models.cases import RatingCase

    case = session.exec(select(RatingCase).where(RatingCase.complaint_id == complaint.id)).first()
    if case is not None and case.finding and case.about:
        return case.finding, case.about
    return None


_EVENT_FOR: dict[ComplaintStatus, EventKind] = {
    ComplaintStatus.acknowledged: EventKind.acknowledged,
    ComplaintStatus.investigating: EventKind.investigating,
    ComplaintStatus.resolved: EventKind.resolved,
    ComplaintStatus.closed: EventKind.closed,
    ComplaintStatus.rejected: EventKind.rejected,
}


def transition(
    session: Session,
    *,
    complaint_id: int,
    to: ComplaintStatus,
    actor_staff_id: int | None,
    note: str = "",
    reply: str | None = None,
    root_cause: str | None = None,
    corrective_action: str | None = None,
    finding: str | None = None,
    about: str | None = None,
    policy: PolicyValues | None = None,
    now: datetime | None = None,
) -> Complaint:
    """Move a complaint one step along :data:`ALLOWED_TRANSITIONS`, recording who and when.

    1. Unknown id -> :class:`ComplaintNotFound`; a step the table does not allow ->
       :class:`InvalidTransition` naming both statuses. Rejecting needs a reason (note or reply).
    2. ``reply`` (cleaned, at most 2,000 characters) replaces the public reply, with a public
       "replied" event. ``note`` is internal and goes on the step's event.
    3. Resolved: resolved_at set and the satisfaction question opened (satisfied = None).
       Closed or rejected: closed_at set and the contact's erase time fixed by the retention policy.
       Back to investigating from resolved or closed is a public "reopened" event, with a fresh due
       time from now and the final-state times cleared.
    4. The change is a conditional UPDATE on the status read in step 1, so two supervisors acting
       at once cannot both apply a step; the loser gets :class:`InvalidTransition`.
    5. Resolving needs a root cause and a finding with its subject (:func:`parse_finding`),
       recorded before (:func:`record_investigation`, or the finding on the 差评 case the complaint
       joined) or given now; a finding given now is recorded with the step.
    6. Every step is an audit entry (ids and statuses only), committed with the change.
    7. 回避: a person the complaint involves (:func:`involved_staff`) takes no step on it:
       :class:`ConflictOfInterest`, and nothing is written.
    """
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise ComplaintNotFound(f"no complaint with id {complaint_id}")
    check_not_involved(session, complaint, actor_staff_id)
    current = ComplaintStatus(complaint.status)
    check_transition(current, to)
    note = clean_text(note or "", max_chars=NOTE_MAX_CHARS)
    reply = clean_text(reply, max_chars=REPLY_MAX_CHARS) if reply else None
    if to is ComplaintStatus.rejected and not (note or reply):
        raise ValidationFailed("note", "give a reason for rejecting this complaint")
    root_cause = clean_text(root_cause, max_chars=NOTE_MAX_CHARS) if root_cause else None
    corrective_action = clean_text(corrective_action, max_chars=NOTE_MAX_CHARS) if corrective_action else None
    if to is ComplaintStatus.resolved and not (root_cause or complaint.root_cause):
        raise ValidationFailed("root_cause", "record the root cause before resolving this complaint")
    found = parse_finding(finding, about)
    if to is ComplaintStatus.resolved and found is None and finding_of(session, complaint) is None:
        raise ValidationFailed(
            "finding", "record the finding and what it is about before resolving this complaint"
        )
    now = now or utcnow()
    values: dict[str, Any] = {"status": to.value}
    kind = _EVENT_FOR[to]
    if to is ComplaintStatus.resolved:
        values.update(resolved_at=now, satisfied=None, grade=None)
    elif to in FINAL_STATUSES:
        if policy is None:
            policy = effective_policy(session, complaint.branch_id)
        values.update(closed_at=now, contact_erase_after=contact_erase_time(now, policy))
    elif to is ComplaintStatus.investigating and current in (
        ComplaintStatus.resolved,
        ComplaintStatus.closed,
    ):
        if policy is None:
            policy = effective_policy(session, complaint.branch_id)
        kind = EventKind.reopened
        restarted = branch_clocks(session, complaint.branch_id, now, Severity(complaint.severity), policy)
        values.update(
            resolved_at=None, closed_at=None, contact_erase_after=None, **_promise(restarted)
        )  # fmt: skip
    if reply:
        values["reply"] = reply
    if root_cause:
        values["root_cause"] = root_cause
    if corrective_action:
        values["corrective_action"] = corrective_action
    if found is not None:
        values.update(finding=found[0].value, about=found[1].value)
    changed = session.exec(
        update(Complaint)
        .where(col(Complaint.id) == complaint_id, col(Complaint.status) == current.value)
        .values(**values)
    )
    if changed.rowcount != 1:
        session.rollback()
        raise InvalidTransition(
            f"the complaint changed meanwhile; it is no longer {current.value}",
            current=current.value,
            to=to.value,
        )
    events = []
    if reply:
        events.append(_event(complaint_id, now, EventKind.replied, actor_staff_id=actor_staff_id))
    events.append(_event(complaint_id, now, kind, actor_staff_id=actor_staff_id, note=note))
    session.add_all(events)
    audit.append(
        session, action=f"complaint.{to.value}", entity="complaint", entity_id=complaint_id,
        actor_staff_id=actor_staff_id, now=now,
        details={
            "from": current.value, "to": to.value, "replied": bool(reply),
            **({"finding": found[0].value, "about": found[1].value} if found else {}),
        },
    )  # fmt: skip
    session.commit()
    session.refresh(complaint)
    return complaint


def record_investigation(
    session: Session,
    *,
    complaint_id: int,
    actor_staff_id: int,
    root_cause: str,
    corrective_action: str = "",
    finding: str | None = None,
    about: str | None = None,
    now: datetime | None = None,
) -> Complaint:
    """Record what caused the complaint, what is being done about it and, once known, the finding
    and what it is about (:func:`parse_finding`; internal; audited). Not by a person the complaint
    involves (:class:`ConflictOfInterest`, 回避)."""
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise ComplaintNotFound(f"no complaint with id {complaint_id}")
    check_not_involved(session, complaint, actor_staff_id)
    if complaint.status not in (ComplaintStatus.acknowledged, ComplaintStatus.investigating):
        raise InvalidTransition(
            "record the investigation while the complaint is acknowledged or being investigated",
            current=str(complaint.status), to="investigating",
        )  # fmt: skip
    cause = clean_text(root_cause or "", max_chars=NOTE_MAX_CHARS)
    if not cause:
        raise ValidationFailed("root_cause", "describe the root cause")
    found = parse_finding(finding, about)
    now = now or utcnow()
    complaint.root_cause = cause
    if found is not None:
        complaint.finding, complaint.about = found[0].value, found[1].value
    complaint.corrective_action = clean_text(corrective_action or "", max_chars=NOTE_MAX_CHARS) or None
    session.add(complaint)
    session.add(_event(complaint_id, now, EventKind.investigating, actor_staff_id=actor_staff_id,
                       note="root cause recorded"))  # fmt: skip
    audit.append(session, action="complaint.investigation", entity="complaint", entity_id=complaint_id,
                 actor_staff_id=actor_staff_id, now=now,
                 details={"finding": found[0].value, "about": found[1].value} if found else None)  # fmt: skip
    session.commit()
    return complaint


def assign(
    session: Session, *, complaint_id: int, assignee_id: int, actor_staff_id: int, now: datetime | None = None
) -> Complaint:
    """Give the complaint to one handler (a public "assigned" step, no name shown to the customer).

    回避: neither the one who assigns nor the one assigned may be a person the complaint involves
    (:func:`involved_staff`); either raises :class:`ConflictOfInterest` and nothing is written.
    When every supervisor of the branch is involved, an administrator takes it.
    """
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise ComplaintNotFound(f"no complaint with id {complaint_id}")
    check_not_involved(session, complaint, actor_staff_id)
    check_not_involved(session, complaint, assignee_id, as_assignee=True)
    if complaint.status in FINAL_STATUSES:
        raise InvalidTransition("a closed complaint cannot be assigned", current=str(complaint.status),
                                to="assigned")  # fmt: skip
    now = now or utcnow()
    complaint.assignee_id = assignee_id
    session.add(complaint)
    session.add(_event(complaint_id, now, EventKind.assigned, actor_staff_id=actor_staff_id))
    audit.append(session, action="complaint.assign", entity="complaint", entity_id=complaint_id,
                 actor_staff_id=actor_staff_id, details={"assignee": assignee_id}, now=now)  # fmt: skip
    session.commit()
    return complaint


def reveal_contact(
    session: Session, *, complaint_id: int, actor_staff_id: int, now: datetime | None = None
) -> str | None:
    """The unmasked contact, for replying to the customer. Every reveal is an audit entry. Never to
    the person complained about (:class:`ConflictOfInterest`): the customer is protected from them."""
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise ComplaintNotFound(f"no complaint with id {complaint_id}")
    check_not_involved(session, complaint, actor_staff_id)
    audit.append(session, action="complaint.reveal_contact", entity="complaint", entity_id=complaint_id,
                 actor_staff_id=actor_staff_id, now=now)  # fmt: skip
    session.commit()
    return complaint.contact
