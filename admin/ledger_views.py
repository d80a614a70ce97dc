"""Building the ledger's plain views from ORM rows (admin/ledger.py calls this inside its sessions).

A monthly rule's evidence is stored as ids and figures; here it becomes what a supervisor reads: each
complaint with its category and status, each inspection with the clauses it found violated, each
earlier penalty. An entry's history is rebuilt from its own columns and its appeal, with who and when.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, col, select

from admin.ledger_types import (
    AppealRow,
    BranchOption,
    Clause,
    ComplaintFact,
    Entry,
    Evidence,
    Figures,
    Finding,
    InspectionFact,
    PenaltyFact,
    RatingFact,
    Step,
)
from models.catalog import ConductClause
from models.complaint import Complaint
from models.inspection import DEFAULT_TZ, Inspection, findings_of
from models.org import Branch, Counter, Staff
from models.policy import effective_policy
from models.rating import Rating
from models.sanction import Appeal, AppealStatus, Sanction, SanctionStatus, appeal_due
from models.text import mask_contacts


class Views:
    """Turns ORM rows into the dataclasses of admin/ledger_types.py within one session, looking each
    name up once."""

    def __init__(self, session: Session):
        self.s = session
        self.clauses = {c.code: c for c in session.exec(select(ConductClause)).all()}
        self.branches = {b.id: b for b in session.exec(select(Branch)).all()}

    def clause(self, code: str) -> Clause:
        c = self.clauses.get(code)
        return Clause.of(c) if c else Clause.unknown(code)

    def name(self, staff_id: int | None) -> str | None:
        staff = self.s.get(Staff, staff_id) if staff_id is not None else None
        return staff.display_name if staff else None

    def branch(self, branch_id: int) -> BranchOption:
        b = self.branches[branch_id]
        return BranchOption(branch_id, b.name_zh, b.name_en)

    def tz(self, branch_id: int) -> str:
        b = self.branches.get(branch_id)
        return b.timezone if b else DEFAULT_TZ

    def complaints(self, ids: Sequence[int]) -> tuple[ComplaintFact, ...]:
        if not ids:
            return ()
        rows = self.s.exec(select(Complaint).where(col(Complaint.id).in_(list(ids)))).all()
        return tuple(self.complaint(c) for c in sorted(rows, key=lambda c: c.id or 0))

    def complaint(self, c: Complaint) -> ComplaintFact:
        assert c.id is not None
        return ComplaintFact(
            c.id, self.clause(c.category), str(c.status), str(c.severity), c.created_at, c.resolved_at
        )

    def inspections(self, rows: Sequence[Inspection]) -> tuple[InspectionFact, ...]:
        found = findings_of(self.s, [i.id for i in rows if i.id is not None])
        return tuple(
            InspectionFact(
                i.id,
                i.at,
                str(i.kind),
                self.name(i.inspector_id) or "?",
                i.notes,
                tuple(Finding(self.clause(f.clause_code), str(f.result), f.note) for f in found[i.id]),
            )
            for i in rows
            if i.id is not None
        )

    def evidence(self, raw: dict[str, Any]) -> Evidence:
        figures = None
        if isinstance(raw.get("ratings"), dict):
            r = raw["ratings"]
            figures = Figures(
                r.get("count"), r.get("mean"), r.get("score"), r.get("low"), r.get("high"), raw.get("rank")
            )
        inspection_ids = [int(i) for i in raw.get("inspections") or []]
        inspections = (
            self.s.exec(
                select(Inspection).where(col(Inspection.id).in_(inspection_ids)).order_by(col(Inspection.at))
            ).all()
            if inspection_ids
            else []
        )
        prior_ids = [int(i) for i in raw.get("prior_penalties") or []]
        prior = [self.s.get(Sanction, i) for i in prior_ids]
        return Evidence(
            figures,
            self.complaints([int(i) for i in raw.get("complaints") or []]),
            self.inspections(inspections),
            tuple(PenaltyFact(p.id, str(p.kind), str(p.status), p.decided_at) for p in prior if p and p.id),
        )

    def timeline(self, row: Sanction, appeal: Appeal | None) -> tuple[Step, ...]:
        """Every step with who and when; a decision carries its reason, an appeal its statement."""
        steps = [Step("proposed", row.proposed_at, self.name(row.proposed_by))]
        if row.decided_at is not None:
            kind = "rejected" if row.status == SanctionStatus.rejected else "approved"
            steps.append(Step(kind, row.decided_at, self.name(row.decided_by), row.decision_reason))
        staff = self.name(row.staff_id)
        if row.acknowledged_at is not None:
            steps.append(Step("acknowledged", row.acknowledged_at, staff))
        if row.reported_at is not None:
            steps.append(Step("report", row.reported_at, staff))
        # A rejection or an overturn also sets closed_at; their own step says it already.
        if row.closed_at is not None and row.status not in (
            SanctionStatus.rejected,
            SanctionStatus.overturned,
        ):
            steps.append(Step("closed", row.closed_at, staff))
        if appeal is not None:
            steps.append(Step("appealed", appeal.filed_at, staff, appeal.statement))
            if appeal.decided_at is not None:
                steps.append(
                    Step(
                        str(appeal.status),
                        appeal.decided_at,
                        self.name(appeal.decided_by),
                        appeal.decision_reason,
                    )
                )
        return tuple(sorted(steps, key=lambda s: s.at))

    def entry(self, row: Sanction) -> Entry:
        assert row.id is not None
        staff = self.s.get(Staff, row.staff_id)
        appeal = self.s.exec(select(Appeal).where(Appeal.sanction_id == row.id)).first()
        return Entry(
            row.id,
            row.staff_id,
            staff.display_name if staff else "?",
            staff.employee_no if staff else "?",
            self.branch(row.branch_id),
            str(row.kind),
            str(row.status),
            row.amount_yuan,
            tuple(self.clause(c) for c in row.clauses),
            row.reason,
            row.rule,
            row.month,
            self.name(row.proposed_by),
            row.proposed_by,
            row.proposed_at,
            row.decision_reason,
            row.report,
            row.requires_report,
            self.evidence(row.evidence or {}),
            self.timeline(row, appeal),
            self.tz(row.branch_id),
        )

    def rating(self, rating_id: object) -> RatingFact | None:
        r = self.s.get(Rating, rating_id)
        if r is None:
            return None
        counter = self.s.get(Counter, r.counter_id) if r.counter_id is not None else None
        return RatingFact(
            r.score,
            tuple(self.clause(c) for c in r.reasons),
            mask_contacts(r.comment),
            r.created_at,
            str(r.channel),
            counter.name_zh if counter else None,
            counter.name_en if counter else None,
        )

    def appeal(self, a: Appeal) -> AppealRow:
        assert a.id is not None
        staff = self.s.get(Staff, a.staff_id)
        target = self.s.get(Sanction, a.sanction_id) if a.sanction_id is not None else None
        return AppealRow(
            a.id,
            a.staff_id,
            staff.display_name if staff else "?",
            staff.employee_no if staff else "?",
            str(a.target),
            a.statement,
            str(a.status),
            a.filed_at,
            a.decided_at,
            self.name(a.decided_by),
            a.decision_reason,
            self.rating(a.rating_id) if a.rating_id is not None else None,
            self.entry(target) if target is not None else None,
            self.tz(a.branch_id),
            appeal_due(a, effective_policy(self.s, a.branch_id).appeal_decision_days)
            if a.status == AppealStatus.open
            else None,
        )
