"""The table behind complaint extensions (models/extensions.py), apart from the services so that the
customer's status view (models/complaint/) can read approved extensions without importing them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Column, Index, String
from sqlmodel import Field, SQLModel

import models.base  # noqa: F401  (naming convention first)
from models.clock import UTCDateTime

REASON_MAX_CHARS = 500


class ComplaintExtension(SQLModel, table=True):
    __tablename__ = "complaint_extension"
    __table_args__ = (
        CheckConstraint("status IN ('requested', 'approved', 'refused')", name="status"),
        CheckConstraint("length > 0", name="length"),
        Index("uq_complaint_extension_seq", "complaint_id", "seq", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id")
    seq: int  # 1 for the first request on this complaint, 2 for the next, ...
    length: int  # in ``unit``
    unit: str = Field(sa_type=String(16))
    reason: str = Field(max_length=REASON_MAX_CHARS)
    status: str = Field(default="requested", sa_type=String(16))
    requested_by: int = Field(foreign_key="staff.id")
    requested_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    decided_by: int | None = Field(default=None, foreign_key="staff.id")
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    decision_note: str = Field(default="", max_length=REASON_MAX_CHARS)
    due_before: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    due_after: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
