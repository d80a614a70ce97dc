"""What a complaint is on record: its statuses, severities, event kinds and contact kinds, the errors its
steps raise, and its two tables (``complaint`` and ``complaint_event``), with the helper that builds
one event row.

Kept apart from the steps that write these rows (:mod:`models.complaint.filing`,
:mod:`models.complaint.tracking`, :mod:`models.complaint.casework`) so that each imports the tables
from here and none imports another through the package: the tables are defined once, here, and
registered on ``SQLModel.metadata`` exactly as before the split.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, Column, Index, String
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

import models.base  # noqa: F401  (naming convention first)
from models.cases import About, Finding, Grade
from models.clock import UTCDateTime, utcnow
from models.errors import DomainError, NotFound
from models.extension_rows import ComplaintExtension  # noqa: F401  (registered before the complaint tables)
from models.rating import Channel
from models.text import clean_text

DESCRIPTION_MAX_CHARS = 1000
REPLY_MAX_CHARS = 2000
NOTE_MAX_CHARS = 1000
CONTACT_MAX_CHARS = 120
IDEMPOTENCY_KEY_MAX = 100
WORK_ORDER_NO_MAX = 40
LOCALES = ("zh-CN", "en")


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
        # One 12345 work order is one complaint (models/complaint/work_order.py).
        Index("uq_complaint_work_order_no", "work_order_no", unique=True),
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
    # The 12345 hotline's work-order number (工单号) a hotline entry came with, if any.
    work_order_no: str | None = SQLField(default=None, max_length=WORK_ORDER_NO_MAX)


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
