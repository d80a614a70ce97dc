"""The plain frozen dataclasses the ledger's service layer (admin/ledger.py) hands to the screens:
ledger entries with their evidence and history, appeals, the leaderboard and the personal file.
No ORM object and nothing about a customer (contact, phone, device) is ever put in one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from admin.labels import Clause
from models import sanction, scores
from models.bilingual import pick
from models.inspection import FindingResult


@dataclass(frozen=True)
class BranchOption:
    id: int
    name_zh: str
    name_en: str

    def name(self, locale: str) -> str:
        return pick(locale, self.name_zh, self.name_en)


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    employee_no: str
    branch_id: int | None


@dataclass(frozen=True)
class Figures:
    """The ratings behind a reward: as the monthly evaluation saw them."""

    count: int | None
    mean: float | None
    score: float | None
    low: float | None
    high: float | None
    rank: int | None


@dataclass(frozen=True)
class ComplaintFact:
    id: int
    category: Clause
    status: str
    severity: str
    created_at: datetime
    resolved_at: datetime | None


@dataclass(frozen=True)
class Finding:
    clause: Clause
    result: str
    note: str


@dataclass(frozen=True)
class InspectionFact:
    id: int
    at: datetime
    kind: str
    inspector: str
    notes: str
    findings: tuple[Finding, ...]

    @property
    def violated(self) -> tuple[Clause, ...]:
        return tuple(f.clause for f in self.findings if f.result == FindingResult.violation)


@dataclass(frozen=True)
class PenaltyFact:
    id: int
    kind: str
    status: str
    decided_at: datetime | None


@dataclass(frozen=True)
class Evidence:
    figures: Figures | None
    complaints: tuple[ComplaintFact, ...]
    inspections: tuple[InspectionFact, ...]
    prior: tuple[PenaltyFact, ...]

    @property
    def empty(self) -> bool:
        return self.figures is None and not (self.complaints or self.inspections or self.prior)


@dataclass(frozen=True)
class Step:
    """One step of an entry's life: ``actor`` None means the monthly evaluation (no person)."""

    kind: str  # proposed approved rejected acknowledged report closed appealed upheld overturned
    at: datetime
    actor: str | None
    note: str | None = None  # a decision's reason, an appeal's statement


@dataclass(frozen=True)
class Entry:
    id: int
    staff_id: int
    staff_name: str
    employee_no: str
    branch: BranchOption
    kind: str
    status: str
    amount_yuan: int | None
    clauses: tuple[Clause, ...]
    reason: str
    rule: str
    month: str | None
    proposed_by: str | None
    proposed_by_id: int | None
    proposed_at: datetime
    decision_reason: str | None
    report: str | None
    requires_report: bool
    evidence: Evidence
    timeline: tuple[Step, ...]
    tz: str

    @property
    def is_reward(self) -> bool:
        return sanction.SanctionKind(self.kind) in sanction.REWARDS


@dataclass(frozen=True)
class RatingFact:
    """An appealed rating as the staff member's supervisor may see it: no phone, device or contact."""

    score: int
    reasons: tuple[Clause, ...]
    comment: str
    created_at: datetime
    channel: str
    counter_zh: str | None
    counter_en: str | None

    def counter(self, locale: str) -> str | None:
        return pick(locale, self.counter_zh, self.counter_en)


@dataclass(frozen=True)
class AppealRow:
    id: int
    staff_id: int
    staff_name: str
    employee_no: str
    target: str
    statement: str
    status: str
    filed_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    decision_reason: str | None
    rating: RatingFact | None
    entry: Entry | None
    tz: str
    due_at: datetime | None = None  # while open: when it must be decided by


@dataclass(frozen=True)
class LedgerView:
    now: datetime
    tz: str
    me: int  # the caller, who decides nothing about themselves nor their own proposals
    branches: tuple[BranchOption, ...]  # the caller's scope: one branch for a supervisor
    months: tuple[str, ...]  # this month first, then the twelve before it
    last_month: str
    proposals: tuple[Entry, ...]  # waiting for a decision, oldest first
    entries: tuple[Entry, ...]  # the ledger list under the filters, newest first
    appeals: tuple[AppealRow, ...]  # open, oldest first
    people: tuple[Person, ...]  # whom the caller may propose for
    clauses: tuple[Clause, ...]  # what a proposal may cite
    fines_at: frozenset[int] = frozenset()  # branches in scope whose policy turned fines on


@dataclass(frozen=True)
class EvaluationSummary:
    branch: BranchOption
    month: str
    proposed: int
    existing: int


@dataclass(frozen=True)
class Standing:
    staff_id: int
    name: str
    employee_no: str
    rank: int | None
    score: scores.Score


@dataclass(frozen=True)
class Board:
    branch: BranchOption
    branches: tuple[BranchOption, ...]
    month: str
    months: tuple[str, ...]
    branch_count: int
    branch_mean: float | None
    min_ranked: int
    prior_weight: int
    ranked: tuple[Standing, ...]
    unranked: tuple[Standing, ...]


@dataclass(frozen=True)
class CommentRow:
    score: int
    comment: str
    reasons: tuple[Clause, ...]
    created_at: datetime
    counted: bool
    overturned: bool


@dataclass(frozen=True)
class TrainingFact:
    kind: str
    course: str
    completed_on: date
    passed: bool


@dataclass(frozen=True)
class PersonalFile:
    staff_id: int
    name: str
    employee_no: str
    role: str
    active: bool
    branch: BranchOption
    tz: str
    month: str
    months: tuple[str, ...]
    min_ranked: int
    profile: scores.Profile
    comments: tuple[CommentRow, ...]
    complaints: tuple[ComplaintFact, ...]
    inspections: tuple[InspectionFact, ...]
    training: tuple[TrainingFact, ...]
    entries: tuple[Entry, ...]
    appeals: tuple[AppealRow, ...]
