"""Raising live alerts after the writes that can cause them, and the timed sweeps that raise the rest.

Kept out of the services (which must not know about pushing to screens) and out of the screens
(which must not touch the ORM): callers run these after their own write has committed. Publishing
goes through the context's bus, which also relays to the other app servers (rapport/core/live.py).

The sweeps are job bodies (rapport/usecases/scheduler.py): each item (a complaint, a counter, a supervisor)
is its own transaction, and an item that fails is recorded in the run's log and skipped, so one bad
row cannot stop the others or make the job crash-loop. Every alert has a dedupe key, so a sweep
repeated by a second scheduler or after a restart raises nothing twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlmodel import col, func, select

from models.alerts import (
    DUE_SOON,
    Alert,
    AlertKind,
    AlertView,
    check_negative_burst,
    escalations_due,
    first_contacts_due,
    is_negative_burst,
    open_complaints_due,
    raise_alert,
    raise_sla_alert,
    recent_scores,
)
from models.appeal_clock import AppealDue, appeals_due, raise_appeal_alert
from models.complaint import Complaint, ComplaintStatus, Severity
from models.jobs import RunLog
from models.policy import PolicyValues, effective_policy
from models.rating import Rating
from rapport.core.context import AppContext

log = logging.getLogger(__name__)
# The alert-rules sweep looks this far back for high-severity complaints that have no alert yet.
HIGH_COMPLAINT_LOOKBACK = timedelta(days=7)
# The policy allows a burst window of at most a day; counters rated earlier cannot be in a burst now.
WIDEST_BURST_WINDOW = timedelta(hours=24)


def after_rating(ctx: AppContext, *, branch_id: int, counter_id: int | None) -> AlertView | None:
    if counter_id is None:
        return None
    now = ctx.clock()
    # Read first: most low ratings are no burst, and a write session would queue for the write lock.
    with ctx.db.read() as session:
        policy = effective_policy(session, branch_id)
        scores = recent_scores(session, counter_id=counter_id, policy=policy, now=now)
    if not is_negative_burst(scores, policy):
        return None
    with ctx.db.write() as session:  # read again under the write lock; the dedupe key keeps one alert
        alert = check_negative_burst(
            session, branch_id=branch_id, counter_id=counter_id, policy=policy, now=now
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


def sla_sweep(ctx: AppContext, now: datetime | None = None, run: RunLog | None = None) -> list[AlertView]:
    """One run of the SLA sweep; returns the alerts it raised.

    1. Every open complaint past its due time is escalated to the branch's supervisors with an
       overdue alert, once per escalation level.
    2. Every open complaint due within DUE_SOON (24 h, the dashboard's "due soon") gets a due-soon
       warning, once per escalation level. One that is already overdue gets no warning.
    3. Every new complaint not acknowledged by its first-contact due time (policies with that
       clock) gets a first-contact alert, once per escalation level.
    4. Every overdue complaint still open N working days after its due time (the policy's 督办
       setting) gets an escalation alert for the administrators, once per escalation level.
    5. Every undecided appeal within APPEAL_REMINDER_LEAD of its decision time gets a reminder for
       its branch's supervisors, and one past it an overdue alert (which the administrators see with
       every branch's), once each (models/appeal_clock.py).
    """
    now = now or ctx.clock()
    run = run or RunLog()
    with ctx.db.read() as session:
        late = open_complaints_due(session, before=now)
        soon = open_complaints_due(session, before=now + DUE_SOON, not_before=now)
        first = first_contacts_due(session, before=now)
        above = escalations_due(session, now=now)
    appeals: list[AppealDue] = []
    try:  # the appeals' clock never stands in the way of the complaints' alerts
        with ctx.db.read() as session:
            appeals = appeals_due(session, now=now)
    except Exception as exc:
        run.fail("appeals", exc)
    raised: list[AlertView] = []
    for kind, complaints in (
        (AlertKind.overdue, late),
        (AlertKind.due_soon, soon),
        (AlertKind.first_contact, first),
        (AlertKind.escalation, above),
    ):
        for complaint in complaints:
            try:
                with ctx.db.write() as session:
                    alert = raise_sla_alert(session, kind=kind, complaint=complaint, now=now)
            except Exception as exc:
                run.fail(f"complaint {complaint[0]}", exc)
                continue
            if alert:
                run.ok()
                raised.append(alert)
                ctx.alerts.publish(alert)
    for appeal in appeals:
        try:
            with ctx.db.write() as session:
                alert = raise_appeal_alert(session, appeal, now=now)
        except Exception as exc:
            run.fail(f"appeal {appeal.appeal_id}", exc)
            continue
        if alert:
            run.ok()
            raised.append(alert)
            ctx.alerts.publish(alert)
    return raised


def overdue_sweep(ctx: AppContext) -> int:
    """The SLA sweep run directly (as the e2e tests do): how many alerts were new."""
    raised = sla_sweep(ctx)
    if raised:
        log.info("SLA sweep: %d new alert(s)", len(raised))
    return len(raised)


def alert_rules_sweep(
    ctx: AppContext, now: datetime | None = None, run: RunLog | None = None
) -> list[AlertView]:
    """The alert rules checked on a timer, for alerts an after-write hook did not raise (a process that
    died between its commit and its alert, or a write made on a path without a hook).

    1. Open high-severity complaints of the last week without their alert get one.
    2. Each counter rated within its branch's burst window is checked for a negative burst *as of its
       latest rating*, so the sweep finds the same window (and dedupe key) the rating's own check used
       and never repeats an alert the hook already raised.
    """
    now = now or ctx.clock()
    run = run or RunLog()
    open_states = [
        ComplaintStatus.new.value,
        ComplaintStatus.acknowledged.value,
        ComplaintStatus.investigating.value,
    ]
    with ctx.db.read() as session:
        alerted = select(Alert.id).where(
            col(Alert.complaint_id) == col(Complaint.id), Alert.kind == "high_complaint"
        )
        high = session.exec(
            select(Complaint.id, Complaint.branch_id).where(
                col(Complaint.severity) == Severity.high.value,
                col(Complaint.status).in_(open_states),
                col(Complaint.created_at) >= now - HIGH_COMPLAINT_LOOKBACK,
                ~alerted.exists(),
            )
        ).all()
        policies: dict[int, PolicyValues] = {}
        recent = session.exec(
            select(Rating.branch_id, Rating.counter_id, func.max(Rating.created_at))
            .where(
                col(Rating.counter_id).is_not(None),
                col(Rating.counted),
                col(Rating.created_at) > now - WIDEST_BURST_WINDOW,
            )
            .group_by(col(Rating.branch_id), col(Rating.counter_id))
        ).all()
        counters = []
        for branch_id, counter_id, latest in recent:
            if branch_id not in policies:
                policies[branch_id] = effective_policy(session, branch_id)
            policy = policies[branch_id]
            if (
                counter_id is not None
                and latest is not None
                and latest > now - timedelta(minutes=policy.burst_alert_window_minutes)
            ):
                counters.append((branch_id, counter_id, latest, policy))
    raised: list[AlertView] = []
    for complaint_id, branch_id in high:
        try:
            with ctx.db.write() as session:
                alert = raise_alert(
                    session,
                    branch_id=branch_id,
                    kind=AlertKind.high_complaint,
                    complaint_id=complaint_id,
                    dedupe_key=f"high:{complaint_id}",
                    now=now,
                )
        except Exception as exc:
            run.fail(f"complaint {complaint_id}", exc)
            continue
        if alert:
            run.ok()
            raised.append(alert)
    for branch_id, counter_id, latest, policy in counters:
        try:
            with ctx.db.write() as session:
                alert = check_negative_burst(
                    session, branch_id=branch_id, counter_id=counter_id, policy=policy, now=_aware(latest)
                )
        except Exception as exc:
            run.fail(f"counter {counter_id}", exc)
            continue
        if alert:
            run.ok()
            raised.append(alert)
    for alert in raised:
        ctx.alerts.publish(alert)
    return raised


def _aware(moment: datetime) -> datetime:
    from datetime import UTC

    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def weekly_spot_check_draw(
    ctx: AppContext, week: str | None = None, now: datetime | None = None, run: RunLog | None = None
) -> int:
    """Draw the week's unannounced spot checks (conduct code §3.2.1), supervisor by supervisor; a second
    run in the week adds none. Returns how many tasks were drawn."""
    from models.inspection import draw_spot_checks, iso_week
    from models.org import Role, Staff

    now = now or ctx.clock()
    week = week or iso_week(now)
    run = run or RunLog()
    with ctx.db.read() as session:
        supervisors = session.exec(
            select(Staff.id)
            .where(Staff.role == Role.supervisor, Staff.active, col(Staff.branch_id).is_not(None))
            .order_by(col(Staff.id))
        ).all()
    drawn = 0
    for supervisor_id in supervisors:
        try:
            with ctx.db.write() as session:
                tasks = draw_spot_checks(session, week=week, now=now, supervisor_id=supervisor_id)
        except Exception as exc:
            run.fail(f"supervisor {supervisor_id}", exc)
            continue
        run.ok(len(tasks))
        drawn += len(tasks)
    return drawn
