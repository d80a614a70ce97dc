"""The rules a complaint follows, apart from any step that applies them: which status may follow which,
how urgent a complaint is and how that steps up, the clocks that set its due times (opening hours,
working or calendar days, the first-contact clock, 督办), when its contact is erased, and how a
contact is masked.

Separate because filing, the customer's tracking page and the staff's casework all apply the same
rules (:mod:`models.complaint.filing`, :mod:`models.complaint.tracking`,
:mod:`models.complaint.casework`); it imports none of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlmodel import Session

from models.complaint.records import ComplaintStatus, ContactKind, InvalidTransition, Severity
from models.org import Branch
from models.policy import PolicyValues
from models.sla import BusinessHours, add_open_hours, parse_hhmm
from models.workdays import WorkCalendar, day_deadline

# Rules (pure: no database, clock passed in)

ALLOWED_TRANSITIONS: dict[ComplaintStatus, frozenset[ComplaintStatus]] = {
    ComplaintStatus.new: frozenset({ComplaintStatus.acknowledged, ComplaintStatus.rejected}),
    ComplaintStatus.acknowledged: frozenset({ComplaintStatus.investigating, ComplaintStatus.rejected}),
    ComplaintStatus.investigating: frozenset({ComplaintStatus.resolved, ComplaintStatus.rejected}),
    ComplaintStatus.resolved: frozenset({ComplaintStatus.closed, ComplaintStatus.investigating}),
    ComplaintStatus.closed: frozenset({ComplaintStatus.investigating}),
    ComplaintStatus.rejected: frozenset(),
}
FINAL_STATUSES = frozenset({ComplaintStatus.closed, ComplaintStatus.rejected})


def can_transition(current: ComplaintStatus, to: ComplaintStatus) -> bool:
    return to in ALLOWED_TRANSITIONS[current]


def check_transition(current: ComplaintStatus, to: ComplaintStatus) -> None:
    if not can_transition(current, to):
        allowed = ", ".join(sorted(ALLOWED_TRANSITIONS[current])) or "nothing (it is final)"
        raise InvalidTransition(
            f"a complaint cannot go from {current.value} to {to.value}; from {current.value} it can go to "
            f"{allowed}",
            current=current.value,
            to=to.value,
        )


def initial_severity(category: str, *, policy: PolicyValues, score: int | None = None) -> Severity:
    """How urgent a new complaint is.

    1. A clause in ``policy.high_severity_clauses`` (integrity, confidentiality...) -> high.
    2. Filed alongside a good rating (score 4 or 5) -> low: the customer was broadly content.
    3. Anything else -> normal. A 1-star rating is therefore at least normal.
    """
    if category in policy.high_severity_clauses:
        return Severity.high
    if score is not None and score >= 4:
        return Severity.low
    return Severity.normal


def next_severity(severity: Severity) -> Severity:
    """One step more urgent, stopping at high."""
    order = list(Severity)
    return order[min(order.index(severity) + 1, len(order) - 1)]


@dataclass(frozen=True)
class Clocks:
    """A case's due times and the promise they make, in the clock's own words."""

    due_at: datetime
    unit: str  # opening_hours, hours (wall clock), working_days or calendar_days
    amount: int
    first_contact_due_at: datetime | None


def clocks(
    start: datetime,
    severity: Severity,
    policy: PolicyValues,
    *,
    tz: str,
    calendar: WorkCalendar | None = None,
) -> Clocks:
    """The reply clock and the first-contact clock of a case started at ``start``.

    1. ``policy.sla_clock`` says how the reply clock counts: the branch's opening hours (the
       severity's SLA hours, :func:`models.sla.add_business_hours`; plain wall-clock hours when
       ``sla_in_business_hours`` is off), or ``sla_days`` working or calendar days by the 民法典 rule
       (:func:`models.workdays.day_deadline`), ending at close of business or 24:00.
    2. The first-contact clock, when the policy has one, is that many working days, ending at close
       of business.
    3. ``calendar`` holds the statutory holidays and make-up working days (models/holidays.py);
       without it only the policy's own holidays count. Every due time goes through this function.
    """
    cal, hours, closing = _day_rules(policy, calendar)
    first = None
    if policy.first_contact_working_days:
        first = day_deadline(
            start, policy.first_contact_working_days, counting="working_days", calendar=cal, tz=tz,
            ends="close", closing=closing, closing_on=hours.closing_on,
        )  # fmt: skip
    if policy.sla_clock != "opening_hours":
        due = day_deadline(
            start, policy.sla_days, counting=policy.sla_clock, calendar=cal, tz=tz,
            ends=policy.sla_day_ends, closing=closing, closing_on=hours.closing_on,
        )  # fmt: skip
        return Clocks(due, policy.sla_clock, policy.sla_days, first)
    amount = policy.sla_hours(severity.value)
    if not policy.sla_in_business_hours:
        return Clocks(start + timedelta(hours=amount), "hours", amount, first)
    due = add_open_hours(start, amount, tz=tz, calendar=hours)
    return Clocks(due, "opening_hours", amount, first)


# The working days, opening hours and closing time a policy and a calendar make, by what they are
# made of: every complaint filed, reopened or extended counts its clocks on them, and they change
# only when an administrator edits the rules or the calendar. Keyed by the values themselves, so a
# changed policy or calendar is never answered from here.
_DAY_RULES: dict[tuple[Any, ...], tuple[WorkCalendar, BusinessHours, time]] = {}
_DAY_RULES_MAX = 256


def _day_rules(
    policy: PolicyValues, calendar: WorkCalendar | None
) -> tuple[WorkCalendar, BusinessHours, time]:
    """The calendar (statutory and the policy's own holidays closed, make-up days open), the opening
    hours on it, and the policy's closing time (step 3 of :func:`clocks`)."""
    key = (
        calendar, tuple(policy.business_days), policy.opening_time, policy.closing_time,
        tuple(policy.holidays), policy.weekly_hours,
    )  # fmt: skip
    found = _DAY_RULES.get(key)
    if found is not None:
        return found
    cal = calendar or WorkCalendar.of(holidays=policy.holidays)
    hours = BusinessHours.of(**policy.business_calendar(), workdays=cal.workdays)
    closed = cal.holidays | hours.holidays
    hours = BusinessHours(hours.week, closed, cal.workdays - closed)
    cal = WorkCalendar(closed, cal.workdays - closed)
    rules = (cal, hours, parse_hhmm(policy.closing_time))
    if len(_DAY_RULES) >= _DAY_RULES_MAX:
        _DAY_RULES.clear()
    _DAY_RULES[key] = rules
    return rules


def due_time(
    start: datetime,
    severity: Severity,
    policy: PolicyValues,
    *,
    tz: str,
    calendar: WorkCalendar | None = None,
) -> datetime:
    """When a reply is due (:func:`clocks`)."""
    return clocks(start, severity, policy, tz=tz, calendar=calendar).due_at


def escalation_time(
    session: Session, branch_id: int, due_at: datetime, policy: PolicyValues
) -> datetime | None:
    """When a case overdue since ``due_at`` is raised above the branch (督办): close of business on
    the policy's N-th working day after the due day, by the branch's calendar; None when off."""
    from models.holidays import work_calendar

    if not policy.escalate_after_working_days:
        return None
    calendar = work_calendar(session, branch_id, policy.holidays)
    hours = BusinessHours.of(**policy.business_calendar(), workdays=calendar.workdays)
    return day_deadline(
        due_at, policy.escalate_after_working_days, counting="working_days", calendar=calendar,
        tz=_branch_tz(session, branch_id), ends="close", closing=parse_hhmm(policy.closing_time),
        closing_on=hours.closing_on,
    )  # fmt: skip


def _promise(clock: Clocks) -> dict[str, Any]:
    """The columns a restarted reply clock sets (a reopened case keeps its first-contact clock)."""
    return {"due_at": clock.due_at, "promise_unit": clock.unit, "promise_amount": clock.amount}


def _branch_tz(session: Session, branch_id: int) -> str:
    branch = session.get(Branch, branch_id)
    return branch.timezone if branch is not None else Branch.model_fields["timezone"].default


def branch_clocks(
    session: Session, branch_id: int, start: datetime, severity: Severity, policy: PolicyValues
) -> Clocks:
    """:func:`clocks` at a branch: its time zone and its working-day calendar."""
    from models.holidays import work_calendar

    calendar = work_calendar(session, branch_id, policy.holidays)
    return clocks(start, severity, policy, tz=_branch_tz(session, branch_id), calendar=calendar)


def contact_erase_time(final_at: datetime, policy: PolicyValues) -> datetime:
    return final_at + timedelta(days=policy.contact_retention_days)


def satisfaction_open(status: ComplaintStatus, satisfied: bool | None) -> bool:
    """The customer may answer once per resolution, while the complaint is resolved."""
    return status is ComplaintStatus.resolved and satisfied is None


def mask_contact(contact: str | None, kind: ContactKind | str | None) -> str:
    """Enough to recognise a contact, not to use it: 138****5678, a***e@example.com."""
    if not contact:
        return ""
    if kind == ContactKind.phone and len(contact) >= 8:
        return f"{contact[:3]}****{contact[-4:]}"
    if kind == ContactKind.email and "@" in contact:
        local, domain = contact.rsplit("@", 1)
        shown = f"{local[0]}***{local[-1]}" if len(local) > 2 else f"{local[:1]}***"
        return f"{shown}@{domain}"
    return "***"
