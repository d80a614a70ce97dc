"""What the reward and penalty ledger records: the kinds and statuses of an entry, the clauses each kind
rests on, the ledger's errors, and its three tables (``evaluation``, ``sanction``, ``appeal``).

Kept apart from the steps that change these rows (:mod:`models.sanction.ledger_steps`,
:mod:`models.sanction.appeals`, :mod:`models.sanction.evaluation`) so that each of them imports the
tables from here and none imports another through the package: the tables are defined once, here,
and registered on ``SQLModel.metadata`` exactly as before the split.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, Index, String
from sqlmodel import Field, SQLModel

import models.base  # noqa: F401  (naming convention first)
from models.clock import UTCDateTime, utcnow
from models.errors import DomainError, NotFound

REASON_MAX_CHARS = 1000
REPORT_MAX_CHARS = 4000
STATEMENT_MAX_CHARS = 2000
REASON_MIN_CHARS = 4


class SanctionKind(StrEnum):
    commendation = "commendation"
    honorary_title = "honorary_title"
    bonus = "bonus"
    warning = "warning"
    criticism = "criticism"
    deduction = "deduction"
    fine = "fine"
    dismissal = "dismissal"  # a recommendation: the decision itself follows labour law, outside Rapport


REWARDS = frozenset({SanctionKind.commendation, SanctionKind.honorary_title, SanctionKind.bonus})
# Money taken from pay: capped per person and month (PolicyValues.deduction_cap_yuan_per_month).
FROM_PAY = frozenset({SanctionKind.deduction, SanctionKind.fine})
PENALTIES = frozenset(SanctionKind) - REWARDS
MONEY = frozenset({SanctionKind.bonus, SanctionKind.deduction, SanctionKind.fine})
# Conduct code §4.2.2: an economic penalty comes with a written self-review and rectification report.
NEEDS_REPORT = frozenset({SanctionKind.deduction, SanctionKind.fine})
# The clause of the code each kind rests on (conduct code §4).
KIND_CLAUSE = {
    SanctionKind.commendation: "4.1.1",
    SanctionKind.honorary_title: "4.1.1",
    SanctionKind.bonus: "4.1.2",
    SanctionKind.warning: "4.2.1",
    SanctionKind.criticism: "4.2.1",
    SanctionKind.deduction: "4.2.2",
    SanctionKind.fine: "4.2.2",
    SanctionKind.dismissal: "4.2.3",
}


class SanctionStatus(StrEnum):
    proposed = "proposed"
    approved = "approved"
    rejected = "rejected"
    acknowledged = "acknowledged"
    closed = "closed"
    appealed = "appealed"
    overturned = "overturned"


# Statuses in which a penalty stands (counts towards escalation and shows in the personal file).
IN_FORCE = (
    SanctionStatus.approved,
    SanctionStatus.acknowledged,
    SanctionStatus.closed,
    SanctionStatus.appealed,
)


class AppealTarget(StrEnum):
    rating = "rating"
    sanction = "sanction"


class AppealStatus(StrEnum):
    open = "open"
    upheld = "upheld"  # the rating or penalty stands
    overturned = "overturned"  # it is set aside


def _in(column: str, values: Any) -> str:
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


class SanctionNotFound(NotFound):
    code = "sanction_not_found"


class AppealNotFound(NotFound):
    code = "appeal_not_found"


class LedgerStepRefused(DomainError):
    """The entry's status does not allow this step (or changed meanwhile)."""

    code = "ledger_step_refused"


class Evaluation(SQLModel, table=True):
    """One run of the monthly rules for a branch: when, by whom, and the rules as they were."""

    __table_args__ = (Index("ix_evaluation_branch_month", "branch_id", "month"),)

    id: int | None = Field(default=None, primary_key=True)
    branch_id: int = Field(foreign_key="branch.id")
    month: str = Field(max_length=7)
    run_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    run_by: int | None = Field(default=None, foreign_key="staff.id")
    rules: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # The published rule versions used ({"global": 3, "branch": 1}; 0: none then, the defaults): only
    # versions published before the month began (models/policy.py rules_for_month).
    rule_versions: dict[str, int] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    proposed: int = 0


class Sanction(SQLModel, table=True):
    __table_args__ = (
        CheckConstraint(_in("kind", SanctionKind), name="kind"),
        CheckConstraint(_in("status", SanctionStatus), name="status"),
        CheckConstraint("amount_yuan IS NULL OR amount_yuan > 0", name="amount"),
        Index("ix_sanction_staff_proposed", "staff_id", "proposed_at"),
        Index("ix_sanction_branch_status", "branch_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff.id")
    branch_id: int = Field(foreign_key="branch.id")
    kind: SanctionKind = Field(sa_type=String(16))
    status: SanctionStatus = Field(default=SanctionStatus.proposed, sa_type=String(16))
    amount_yuan: int | None = None
    clauses: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # {"ratings": {...figures...}, "complaints": [ids], "inspections": [ids], "prior_penalties": [ids]}
    evidence: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    reason: str = Field(max_length=REASON_MAX_CHARS)
    # "manual", or the monthly rule that proposed it: "service_star", "commendation", "conduct".
    rule: str = Field(default="manual", max_length=32)
    month: str | None = Field(default=None, max_length=7)
    evaluation_id: int | None = Field(default=None, foreign_key="evaluation.id")
    # A rule's proposal for a staff member and month exists once, however often the month is run.
    dedupe_key: str | None = Field(default=None, max_length=80, unique=True)
    requires_report: bool = False
    proposed_by: int | None = Field(default=None, foreign_key="staff.id")
    proposed_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    decided_by: int | None = Field(default=None, foreign_key="staff.id")
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    decision_reason: str | None = Field(default=None, max_length=REASON_MAX_CHARS)
    acknowledged_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    # When the person was told of the approved penalty: their page first showed it to them, or they
    # acknowledged it, whichever came first. The appeal window counts from here (公务员法 §95).
    told_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    report: str | None = Field(default=None, max_length=REPORT_MAX_CHARS)
    reported_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    closed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    # The status an appeal interrupted, restored when the penalty is upheld.
    status_before_appeal: SanctionStatus | None = Field(default=None, sa_type=String(16))

    @property
    def is_reward(self) -> bool:
        return SanctionKind(self.kind) in REWARDS


class Appeal(SQLModel, table=True):
    __table_args__ = (
        CheckConstraint(_in("target", AppealTarget), name="target"),
        CheckConstraint(_in("status", AppealStatus), name="status"),
        CheckConstraint("(rating_id IS NULL) <> (sanction_id IS NULL)", name="one_target"),
        Index("ix_appeal_branch_status", "branch_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    branch_id: int = Field(foreign_key="branch.id")
    target: AppealTarget = Field(sa_type=String(16))
    # One appeal per rating and per penalty, ever.
    rating_id: uuid.UUID | None = Field(default=None, foreign_key="rating.id", unique=True)
    sanction_id: int | None = Field(default=None, foreign_key="sanction.id", unique=True)
    statement: str = Field(max_length=STATEMENT_MAX_CHARS)
    status: AppealStatus = Field(default=AppealStatus.open, sa_type=String(16))
    filed_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    decided_by: int | None = Field(default=None, foreign_key="staff.id")
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    decision_reason: str | None = Field(default=None, max_length=REASON_MAX_CHARS)
    # When it must be decided by: filed_at + the policy's appeal_decision_days, fixed when filed.
    decision_due_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
