"""A case for every 差评: a low rating is verified, fixed or explained, and answered (docs/RULES-CITED.md
§1: 件件有整改、有反馈), not only subtracted from a score.

1. A rating at or below the policy's ``bad_rating_max_score`` (default 2: 不满意 and 非常不满意) opens
   one case, in the same transaction as the rating, whatever the channel (a counter tablet, a phone
   through a badge, an integration's ``POST /api/v1/ratings``, the caller's rating typed into the
   hotline form, admin/hotline.py). A flagged press (misuse) opens none:
   it is not counted, so there is nothing to answer.
2. Exactly once: the case is inserted only by the request that stored the rating, and the unique
   ``rating_id`` settles any race; a retried request (same idempotency key) gets the stored rating
   back and opens nothing.
3. A formal complaint about the same rating is the same case: filing it links the complaint to the
   case (``complaint_id``) instead of opening a second one.

Why a row of its own rather than a complaint: the rating intake is the path under load
(models/intake.py) and most 差评 come without a description, category or contact; the case keeps
what the rating already holds and the handling that follows, and the complaint, when there is one,
adds the customer's own account.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, Column, Index, String, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlmodel import Field, Session, SQLModel, col, select

import models.base  # noqa: F401  (naming convention first)
from models.clock import UTCDateTime
from models.prepared import Prepared


class Finding(StrEnum):
    substantiated = "substantiated"  # 属实
    partly = "partly"  # 部分属实
    unfounded = "unfounded"  # 不属实
    unverifiable = "unverifiable"  # 无法核实


class About(StrEnum):
    """What a finding is about: only ``staff`` may weigh on the person rated."""

    staff = "staff"  # the staff member
    service = "service"  # 事项: the service itself
    process = "process"  # 流程
    policy = "policy"  # 政策
    facilities = "facilities"  # 环境设施
    other = "other"


class Action(StrEnum):
    rectify = "rectify"  # 整改, with a deadline, then done
    explain = "explain"  # 解释说明


class CallbackOutcome(StrEnum):
    reached = "reached"
    not_reached = "not_reached"
    declined = "declined"


class Grade(StrEnum):
    """The customer's grade of the handling (整改满意度)."""

    satisfied = "satisfied"  # 满意
    fairly = "fairly"  # 基本满意
    dissatisfied = "dissatisfied"  # 不满意: reopens and escalates


class CaseStatus(StrEnum):
    pending = "pending"  # 待核实: opened, nobody has verified it yet
    verifying = "verifying"  # 核实中: callbacks being made, facts gathered
    found = "found"  # a finding is recorded
    acting = "acting"  # 整改 under way (with a deadline)
    answered = "answered"  # the customer was told the outcome; waiting for their grade
    closed = "closed"


def _in(column: str, values: Any) -> str:
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


class RatingCase(SQLModel, table=True):
    __tablename__ = "rating_case"
    __table_args__ = (
        CheckConstraint(_in("status", CaseStatus), name="status"),
        CheckConstraint("score BETWEEN 1 AND 5", name="score"),
        Index("ix_rating_case_branch_status_opened", "branch_id", "status", "opened_at"),
        Index("ix_rating_case_staff_opened", "staff_id", "opened_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    rating_id: uuid.UUID = Field(foreign_key="rating.id", unique=True)
    branch_id: int = Field(foreign_key="branch.id")
    counter_id: int | None = Field(default=None, foreign_key="counter.id")
    staff_id: int | None = Field(default=None, foreign_key="staff.id")  # who was rated, if anyone
    channel: str = Field(sa_type=String(8))
    score: int
    opened_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    status: str = Field(default=CaseStatus.pending, max_length=16)
    # The formal complaint about the same rating, once the customer files one (step 3).
    complaint_id: int | None = Field(default=None, foreign_key="complaint.id", unique=True)
    # A callback number or e-mail the customer left, with consent, "so that we can call you back"
    # (可以回访您吗？); masked on screens, revealed by an audited step, erased like complaint contacts.
    contact: str | None = Field(default=None, max_length=254)
    # The digest of the tracking code the customer was shown, once they were (models/case_ticket.py).
    code_digest: str | None = Field(default=None, max_length=64, unique=True)
    contact_kind: str | None = Field(default=None, max_length=8)
    consent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    # The handling (models/case_flow.py), each step with when and who.
    finding: str | None = Field(default=None, max_length=16)
    about: str | None = Field(default=None, max_length=16)
    found_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    found_by: int | None = Field(default=None, foreign_key="staff.id")
    action: str | None = Field(default=None, max_length=16)
    action_text: str = Field(default="", max_length=1000)
    action_due_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    action_done_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    answer: str = Field(default="", max_length=1000)  # what the customer is told
    answered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    answered_via: str | None = Field(default=None, max_length=16)  # callback or status_page
    grade: str | None = Field(default=None, max_length=16)
    graded_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    closed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    reopened: int = 0  # times a 不满意 grade sent it back (each an escalation)
    # When the free text was removed at the end of the record's retention (models/retention.py).
    text_erased_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class CaseEvent(SQLModel, table=True):
    """One step of a case's handling: the timeline, and the callback attempts (回访) with outcomes."""

    __tablename__ = "rating_case_event"
    __table_args__ = (Index("ix_rating_case_event_case_at", "case_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="rating_case.id")
    at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    kind: str = Field(max_length=16)  # callback, finding, action, action_done, answer, grade, reopened
    outcome: str | None = Field(default=None, max_length=16)  # a callback's, a finding's, a grade's
    note: str = Field(default="", max_length=1000)
    actor_id: int | None = Field(default=None, foreign_key="staff.id")


MAX_CASE_SCORE = 3  # the highest bad_rating_max_score the policy allows


def opens_case(*, score: int, flagged: bool, max_score: int) -> bool:
    """Whether a stored rating opens a case (step 1)."""
    return score <= max_score and not flagged


def _insert_statement(dialect_name: str) -> Any:
    table = RatingCase.__table__  # type: ignore[attr-defined]
    rating = table.c.rating_id
    if dialect_name == "sqlite":
        return sqlite_insert(table).on_conflict_do_nothing(index_elements=[rating])
    if dialect_name == "postgresql":
        return pg_insert(table).on_conflict_do_nothing(index_elements=[rating])
    raise ValueError(f"cases are stored on SQLite or PostgreSQL, not {dialect_name}")


_CASE_COLUMNS = ["rating_id", "branch_id", "counter_id", "staff_id", "channel", "score", "opened_at",
                 "status", "action_text", "answer", "reopened"]  # fmt: skip
_INSERT = Prepared(_insert_statement, column_keys=_CASE_COLUMNS)


def open_case(conn: Any, dialect: Dialect, rating: dict[str, Any]) -> None:
    """Open the case of a just-stored 差评 (``rating``: the row's columns), in the caller's
    transaction, uncommitted. The caller decides with :func:`opens_case`; a case already there for
    the rating is left alone (step 2)."""
    _INSERT.rowcount(
        conn,
        dialect,
        {
            "rating_id": rating["id"],
            "branch_id": rating["branch_id"],
            "counter_id": rating["counter_id"],
            "staff_id": rating["staff_id"],
            "channel": str(rating["channel"]),
            "score": rating["score"],
            "opened_at": rating["created_at"],
            "status": CaseStatus.pending.value,
            "action_text": "",
            "answer": "",
            "reopened": 0,
        },
    )


def join_complaint(session: Session, *, rating_id: uuid.UUID, complaint_id: int) -> None:
    """Link a formal complaint to the case of the rating it is about (step 3), in the session's
    transaction; a rating without a case, or a case already linked, is left alone."""
    session.execute(
        update(RatingCase)
        .where(col(RatingCase.rating_id) == rating_id, col(RatingCase.complaint_id).is_(None))
        .values(complaint_id=complaint_id)
    )


def case_of_rating(session: Session, rating_id: uuid.UUID) -> RatingCase | None:
    return session.exec(select(RatingCase).where(RatingCase.rating_id == rating_id)).first()
