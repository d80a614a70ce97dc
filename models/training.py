"""Training records (conduct code §3.1): induction must be passed before a person serves at a counter, and
every course is kept in the person's training archive."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import CheckConstraint, Column, String
from sqlmodel import Field, Session, SQLModel, col, select

import models.base  # noqa: F401  (naming convention first)
from models import audit
from models.clock import UTCDateTime, utcnow
from models.errors import StaffNotFound, ValidationFailed
from models.org import Branch, Staff
from models.text import clean_text

COURSE_MAX_CHARS = 120
DEFAULT_TZ = "Asia/Shanghai"


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
    kind: TrainingKind | str,
    course: str,
    completed_on: date,
    passed: bool,
    recorded_by: int | None = None,
    now: datetime | None = None,
) -> TrainingRecord:
    """Add a course to a person's training archive, with an audit entry in the same commit.

    Refused (ValidationFailed naming the field) when the kind is unknown, the course name is empty
    after cleaning, or the date lies after today in the person's branch time zone; StaffNotFound for
    an unknown person.
    """
    now = now or utcnow()
    try:
        kind = TrainingKind(kind)
    except ValueError:
        raise ValidationFailed("kind", "kind must be induction or periodic") from None
    # One line: a line break typed into the name becomes a space rather than gluing two words.
    name = clean_text(" ".join((course or "").splitlines()), max_chars=COURSE_MAX_CHARS, multiline=False)
    if not name:
        raise ValidationFailed("course", "name the course")
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise StaffNotFound("no staff member with this id")
    branch = session.get(Branch, staff.branch_id) if staff.branch_id is not None else None
    today = now.astimezone(ZoneInfo(branch.timezone if branch else DEFAULT_TZ)).date()
    if not isinstance(completed_on, date) or isinstance(completed_on, datetime):
        raise ValidationFailed("completed_on", "the date must be a calendar date")
    if completed_on > today:
        raise ValidationFailed("completed_on", "the training date cannot be in the future")
    record = TrainingRecord(
        staff_id=staff_id, kind=kind, course=name, completed_on=completed_on, passed=bool(passed),
        recorded_by=recorded_by, recorded_at=now,
    )  # fmt: skip
    session.add(record)
    session.flush()
    audit.append(
        session, action="training.record", entity="training_record", entity_id=record.id,
        actor_staff_id=recorded_by, now=now,
        details={"staff_id": staff_id, "kind": kind.value, "passed": bool(passed)},
    )  # fmt: skip
    session.commit()
    return record


def list_training(
    session: Session, *, branch_id: int | None = None, staff_id: int | None = None
) -> list[TrainingRecord]:
    """The training archive, newest course first, for one branch and/or one person (or everyone)."""
    stmt = select(TrainingRecord)
    if branch_id is not None:
        stmt = stmt.join(Staff, col(Staff.id) == col(TrainingRecord.staff_id)).where(
            Staff.branch_id == branch_id
        )
    if staff_id is not None:
        stmt = stmt.where(TrainingRecord.staff_id == staff_id)
    stmt = stmt.order_by(col(TrainingRecord.completed_on).desc(), col(TrainingRecord.id).desc())
    return list(session.exec(stmt).all())
