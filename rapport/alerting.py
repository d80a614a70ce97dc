"""Raising live alerts after the writes that can cause them, and the periodic overdue sweep.

Kept out of the services (which must not know about pushing to screens) and out of the screens
(which must not touch the ORM): callers run these after their own write has committed.
"""

from __future__ import annotations

import logging

from models.alerts import AlertKind, AlertView, check_negative_burst, raise_alert, sweep_overdue
from models.complaint import Complaint, Severity
from models.policy import effective_policy
from rapport.context import AppContext

log = logging.getLogger(__name__)


def after_rating(ctx: AppContext, *, branch_id: int, counter_id: int | None) -> AlertView | None:
    if counter_id is None:
        return None
    with ctx.db.write() as session:
        policy = effective_policy(session, branch_id)
        alert = check_negative_burst(
            session, branch_id=branch_id, counter_id=counter_id, policy=policy, now=ctx.clock()
        )
    if alert:
        ctx.alerts.publish(alert)
    return alert


def after_complaint(ctx: AppContext, *, complaint_id: int) -> AlertView | None:
    with ctx.db.write() as session:
        complaint = session.get(Complaint, complaint_id)
        if complaint is None or complaint.severity != Severity.high:
            return None
        alert = raise_alert(
            session,
            branch_id=complaint.branch_id,
            kind=AlertKind.high_complaint,
            complaint_id=complaint_id,
            dedupe_key=f"high:{complaint_id}",
            now=ctx.clock(),
        )
    if alert:
        ctx.alerts.publish(alert)
    return alert


def overdue_sweep(ctx: AppContext) -> int:
    """One run of the SLA sweep: alert on complaints past due; returns how many alerts were new."""
    with ctx.db.write() as session:
        raised = sweep_overdue(session, now=ctx.clock())
    for alert in raised:
        ctx.alerts.publish(alert)
    return len(raised)


def weekly_spot_check_draw(ctx: AppContext) -> int:
    """Draw this week's unannounced spot checks (seed 三(二)1); a second run in the week adds none."""
    from models.inspection import draw_spot_checks, iso_week

    now = ctx.clock()
    with ctx.db.write() as session:
        return len(draw_spot_checks(session, week=iso_week(now), now=now))
