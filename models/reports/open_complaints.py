"""Open complaints by severity and SLA state (overdue, due soon, on time) for the dashboard.

One grouped query over ix_complaint_branch_status_due; on its own because it reads complaints
only, with none of the rating periods of :mod:`models.reports.periods`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import case, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from models.complaint import Complaint, ComplaintStatus, Severity
from models.reports.results import ComplaintsBySla, SlaRow, SlaState

DUE_SOON = timedelta(hours=24)
OPEN_STATUSES = (ComplaintStatus.new, ComplaintStatus.acknowledged, ComplaintStatus.investigating)
SEVERITY_ORDER = (Severity.high, Severity.normal, Severity.low)


def complaints_by_sla(
    session: Session, *, branch_ids: Sequence[int] | None, now: datetime
) -> ComplaintsBySla:
    """Open complaints by severity and SLA state: overdue (due time passed), due soon (due within
    24 h) or on time. One grouped query over ix_complaint_branch_status_due."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    due = col(Complaint.due_at)
    state = case(
        (due < now, SlaState.overdue.value),
        (due < now + DUE_SOON, SlaState.due_soon.value),
        else_=SlaState.on_time.value,
    ).label("state")
    stmt = (
        sa_select(col(Complaint.severity), state, func.count())
        .where(col(Complaint.status).in_([s.value for s in OPEN_STATUSES]))
        .group_by(col(Complaint.severity), state)
    )
    if branch_ids is not None:
        stmt = stmt.where(col(Complaint.branch_id).in_(list(branch_ids)))
    found: dict[str, dict[str, int]] = {}
    for severity, st, n in session.execute(stmt).all():
        found.setdefault(str(severity), {})[str(st)] = int(n)
    return ComplaintsBySla(tuple(SlaRow(sev.value, **found.get(sev.value, {})) for sev in SEVERITY_ORDER))
