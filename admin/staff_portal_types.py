"""What a staff member's own page returns (admin/staff_portal.py): plain frozen records, so the
screens read them and nothing else. No record carries customer data or names a colleague."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from admin.labels import Clause

# -- results ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Me:
    id: int
    name: str
    employee_no: str
    branch_zh: str
    branch_en: str
    tz: str
    # Since when I agree to be named in public (the Service Star on the tablets); None: I do not.
    public_consent_at: datetime | None = None


@dataclass(frozen=True)
class Figures:
    """A fair score (models/scores.Score) without anything but numbers."""

    n: int
    mean: float | None
    score: float | None
    low: float | None
    high: float | None
    ranked: bool
    counts: tuple[int, int, int, int, int]


@dataclass(frozen=True)
class MonthPoint:
    month: str  # YYYY-MM
    figures: Figures


@dataclass(frozen=True)
class DayPoint:
    day: date
    n: int
    mean: float | None


@dataclass(frozen=True)
class MyScores:
    month: str
    current: Figures
    min_ranked: int
    branch_counts: tuple[int, int, int, int, int]  # every counted rating of the branch this month
    branch_mean: float | None
    branch_median: float | None  # of the ranked people's scores, mine included
    rank: int | None  # 1 = best; None when I am not ranked
    ranked_count: int
    months: tuple[MonthPoint, ...]  # oldest first, ending with this month
    days: tuple[DayPoint, ...]  # this month, days with ratings


@dataclass(frozen=True)
class AppealInfo:
    id: int
    status: str  # open, upheld, overturned
    statement: str
    filed_at: datetime
    decided_at: datetime | None
    decision_reason: str | None
    due_at: datetime | None = None  # when it must be decided by (while open)


@dataclass(frozen=True)
class CommentRow:
    id: str  # the rating's id, to appeal it
    at: datetime
    score: int
    channel: str
    reasons: tuple[Clause, ...]
    comment: str
    flagged: bool  # kept but not counted (misuse rules)
    flag_reason: str | None
    overturned: bool  # set aside on my appeal
    appeal: AppealInfo | None
    # Set when the 差评's case found it does not weigh on me (models/case_flow.py): "unfounded",
    # "unverifiable", or what it was about instead (service, process, policy, facilities, other).
    cleared: str | None
    appeal_until: datetime | None  # set while the page offers an appeal (a counted low rating, in time)


@dataclass(frozen=True)
class Comments:
    rows: tuple[CommentRow, ...]
    more: bool  # older ones exist beyond ``rows``


@dataclass(frozen=True)
class ComplaintRow:
    id: int
    filed_at: datetime
    category: Clause
    severity: str
    status: str
    description: str
    reply: str | None
    resolved_at: datetime | None
    closed_at: datetime | None


@dataclass(frozen=True)
class RecordRow:
    id: int
    kind: str
    reward: bool
    amount_yuan: int | None
    clauses: tuple[Clause, ...]
    reason: str
    status: str
    month: str | None
    proposed_at: datetime
    decided_at: datetime | None
    decision_reason: str | None
    acknowledged_at: datetime | None
    requires_report: bool
    report: str | None
    reported_at: datetime | None
    closed_at: datetime | None
    evidence_complaints: tuple[int, ...]
    evidence_inspections: tuple[int, ...]
    appeal: AppealInfo | None
    can_acknowledge: bool
    can_report: bool
    appeal_until: datetime | None  # set while I may still appeal


@dataclass(frozen=True)
class FindingRow:
    clause: Clause
    result: str
    note: str


@dataclass(frozen=True)
class InspectionRow:
    id: int
    at: datetime
    kind: str
    inspector: str
    notes: str
    findings: tuple[FindingRow, ...]


@dataclass(frozen=True)
class TrainingRow:
    id: int
    kind: str
    course: str
    completed_on: date
    passed: bool


@dataclass(frozen=True)
class RuleVersion:
    """One saved version of the rules that apply to me: the global rules or my branch's changes."""

    version: int
    scope: str  # "global" or "branch"
    published_at: datetime | None
    adopted_on: date | None
    adopted_how: str


@dataclass(frozen=True)
class MyRules:
    """The rules that can reward or penalise me, as in force now (read in plain words on my page),
    and every version with when it was adopted and published (劳动合同法 §4)."""

    values: dict[str, object]
    versions: tuple[RuleVersion, ...]


@dataclass(frozen=True)
class Overview:
    me: Me
    scores: MyScores
    comments: Comments
    complaints: tuple[ComplaintRow, ...]
    records: tuple[RecordRow, ...]
    inspections: tuple[InspectionRow, ...]
    training: tuple[TrainingRow, ...]
    rules: MyRules
