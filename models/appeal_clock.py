"""Appeals on a clock (issue 16): a reminder to the decider, an overdue alert to the administrators.

Every appeal must be decided by its ``decision_due_at`` (filed_at + the policy's
``appeal_decision_days``, fixed when it was filed; models/sanction/). An appeal still open
(:attr:`~models.sanction.AppealStatus.open`, the one undecided status)

* within :data:`APPEAL_REMINDER_LEAD` of that time gets an ``appeal_due_soon`` alert, and
* past that time gets an ``appeal_overdue`` alert; one first seen already late gets only this one.

Both are alerts of the appeal's branch (models/alerts.py): the branch's supervisors, who decide it,
see them, and so do the administrators, whose alert view is every branch's. Each is raised once per
appeal (its dedupe key names the appeal), however often the sweep runs and however many servers run
it; a decided appeal raises nothing more. The timed sweep is rapport/usecases/alerting.py ``sla_sweep``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_
from sqlmodel import Session, col, select

from models.alerts import AlertKind, AlertView, raise_alert
from models.clock import utcnow
from models.policy import effective_policy
from models.sanction import Appeal, AppealStatus, appeal_due

# An open appeal due within this time is "due soon": its decider is reminded.
APPEAL_REMINDER_LEAD = timedelta(days=3)
# The statuses in which an appeal still waits for its decision.
UNDECIDED = (AppealStatus.open.value,)


@dataclass(frozen=True)
class AppealDue:
    """An undecided appeal on the clock: what to raise for it."""

    kind: AlertKind  # appeal_due_soon or appeal_overdue
    appeal_id: int
    branch_id: int
    due_at: datetime


def appeals_due(
    session: Session, *, now: datetime, lead: timedelta = APPEAL_REMINDER_LEAD
) -> list[AppealDue]:
    """Every undecided appeal due before ``now + lead``: overdue if its due time is before ``now``,
    due soon otherwise; earliest due first.

    An appeal filed before due times were kept has none stored: its due time is counted from when it
    was filed by its branch's policy (models.sanction.appeal_due), as the ledger screen shows it."""
    rows = session.exec(
        select(Appeal).where(
            col(Appeal.status).in_(UNDECIDED),
            or_(col(Appeal.decision_due_at).is_(None), col(Appeal.decision_due_at) < now + lead),
        )
    ).all()
    days: dict[int, int] = {}
    out = []
    for appeal in rows:
        assert appeal.id is not None
        if appeal.decision_due_at is None and appeal.branch_id not in days:
            days[appeal.branch_id] = effective_policy(session, appeal.branch_id).appeal_decision_days
        due = appeal_due(appeal, days.get(appeal.branch_id, 0))
        if due >= now + lead:
            continue
        kind = AlertKind.appeal_overdue if due < now else AlertKind.appeal_due_soon
        out.append(AppealDue(kind, appeal.id, appeal.branch_id, due))
    return sorted(out, key=lambda a: (a.due_at, a.appeal_id))


def dedupe_key(kind: AlertKind, appeal_id: int) -> str:
    return f"{kind.value}:{appeal_id}"


def raise_appeal_alert(session: Session, item: AppealDue, *, now: datetime) -> AlertView | None:
    """The reminder or the overdue alert of one appeal, once (None if it was raised before, or if the
    appeal was decided since it was found)."""
    appeal = session.get(Appeal, item.appeal_id)
    if appeal is None or appeal.status not in UNDECIDED:
        return None
    return raise_alert(
        session,
        branch_id=item.branch_id,
        kind=item.kind,
        dedupe_key=dedupe_key(item.kind, item.appeal_id),
        now=now,
    )


def sweep_appeals(session: Session, *, now: datetime | None = None) -> list[AlertView]:
    """Raise every appeal alert due at ``now`` in one session (the timed sweep raises them one
    transaction each instead); returns the new ones."""
    now = now or utcnow()
    raised = []
    for item in appeals_due(session, now=now):
        alert = raise_appeal_alert(session, item, now=now)
        if alert:
            raised.append(alert)
    return raised
