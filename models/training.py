"""Training records (seed 三(一)): induction must be passed before a person serves at a counter."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, String
from sqlmodel import Field, Session, SQLModel, select

import models.base  # noqa: F401  (naming convention first)
from models.clock import UTCDateTime, utcnow


class TrainingKind(StrEnum):
    induction = "induction"
    periodic = "periodic"


class TrainingRecord(SQLModel, table=True):
    __tablename__ = "training_record"
    __table_args__ = (CheckConstraint("kind IN ('induction', 'periodic')", name="kind"),)

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    kind: TrainingKind = Field(sa_type=String(16))
    course: str = Field(max_length=120)
    completed_on: date
    passed: bool
    recorded_by: int | None = Field(default=None, foreign_key="staff.id")
    recorded_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


def has_passed_induction(session: Session, staff_id: int) -> bool:
    row = session.exec(
        select(TrainingRecord.id).where(
            TrainingRecord.staff_id == staff_id,
            TrainingRecord.kind == TrainingKind.induction,
            TrainingRecord.passed,
        )
    ).first()
    return row is not None


def record_training(
    session: Session,
    *,
    staff_id: int,
    kind: TrainingKind,
    course: str,
    completed_on: date,
    passed: bool,
    recorded_by: int | None = None,
) -> TrainingRecord:
    record = TrainingRecord(
        staff_id=staff_id, kind=kind, course=course.strip()[:120], completed_on=completed_on, passed=passed,
        recorded_by=recorded_by,
    )  # fmt: skip
    session.add(record)
    session.commit()
    return record
