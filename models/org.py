"""Who and where: branches, counters, staff, enrolled kiosk devices, and duties at counters."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, Index, String
from sqlmodel import Field, SQLModel

import models.base  # noqa: F401  (naming convention first)
from models.bilingual import pick
from models.clock import UTCDateTime, utcnow
from models.crypto import new_token


class Role(StrEnum):
    staff = "staff"
    supervisor = "supervisor"
    admin = "admin"


class Branch(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name_zh: str = Field(max_length=120)
    name_en: str = Field(max_length=120)
    timezone: str = Field(default="Asia/Shanghai", max_length=64)

    def name(self, locale: str) -> str:
        return pick(locale, self.name_zh, self.name_en)


class Counter(SQLModel, table=True):
    __table_args__ = (Index("uq_counter_branch_code", "branch_id", "code", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    branch_id: int = Field(foreign_key="branch.id", index=True)
    code: str = Field(max_length=32)
    name_zh: str = Field(max_length=120)
    name_en: str = Field(max_length=120)
    active: bool = True

    def name(self, locale: str) -> str:
        return pick(locale, self.name_zh, self.name_en)


def new_qr_token() -> str:
    # 16 random bytes = 128 bits, the floor the design sets for staff badge links.
    return new_token(16)


class Staff(SQLModel, table=True):
    __table_args__ = (CheckConstraint("role IN ('staff', 'supervisor', 'admin')", name="role"),)

    id: int | None = Field(default=None, primary_key=True)
    employee_no: str = Field(max_length=32, unique=True)
    display_name: str = Field(max_length=80)
    role: Role = Field(default=Role.staff, sa_type=String(16))
    branch_id: int | None = Field(default=None, foreign_key="branch.id", index=True)
    active: bool = True
    qr_token: str = Field(default_factory=new_qr_token, max_length=64, unique=True)
    username: str | None = Field(default=None, max_length=64, unique=True)
    password_hash: str | None = Field(default=None, max_length=255)
    pin_hash: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    # When the person agreed to have their name shown in public (the Service Star on the counter
    # tablets); None: not agreed, or withdrawn (个人信息保护法 §25, docs/RULES-CITED.md §4).
    public_name_consent_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )


class Device(SQLModel, table=True):
    """An enrolled kiosk tablet bound to one counter. Only a digest of its token is kept."""

    id: int | None = Field(default=None, primary_key=True)
    counter_id: int = Field(foreign_key="counter.id", index=True)
    label: str = Field(max_length=80)
    token_digest: str = Field(max_length=64, unique=True)
    enrolled_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    last_seen_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class Duty(SQLModel, table=True):
    """A staff member signed in at a counter from ``started_at`` until ``ended_at`` (open if None)."""

    __table_args__ = (
        Index("ix_duty_counter_open", "counter_id", "ended_at"),
        # Who is on duty at a counter: its latest sign-ins first, without reading its whole history.
        Index("ix_duty_counter_started", "counter_id", "started_at"),
        CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="order"),
    )

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    counter_id: int = Field(foreign_key="counter.id")
    started_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    ended_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class EnrolmentCode(SQLModel, table=True):
    """A one-time code an administrator issues to bind a tablet to a counter."""

    __tablename__ = "enrolment_code"

    id: int | None = Field(default=None, primary_key=True)
    counter_id: int = Field(foreign_key="counter.id", index=True)
    code_digest: str = Field(max_length=64, unique=True)
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    device_id: int | None = Field(default=None, foreign_key="device.id")
