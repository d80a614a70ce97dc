"""Casework: the staff's steps on a complaint (conduct code §2.5.2: find the root cause, rectify):
assigning it, moving it along its workflow to resolved or rejected with a reply and notes, recording
the investigation and its finding, and revealing the customer's contact; 回避 throughout, so nobody
acts on a complaint that involves them (:func:`involved_staff`).

Separate from filing (:mod:`models.complaint.filing`) and the customer's tracking page
(:mod:`models.complaint.tracking`): every step here is taken by a staff member (or the SLA sweep),
is audited, and imports neither of them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select, update

from models import audit
from models.cases import About, Finding
from models.clock import utcnow
from models.complaint.records import (
    NOTE_MAX_CHARS,
    REPLY_MAX_CHARS,
    Complaint,
    ComplaintNotFound,
    ComplaintStatus,
    EventKind,
    InvalidTransition,
    Severity,
    _event,
)
from models.complaint.rules import (
    FINAL_STATUSES,
    _promise,
    branch_clocks,
    check_transition,
    contact_erase_time,
)
from models.errors import ConflictOfInterest, ValidationFailed
from models.policy import PolicyValues, effective_policy
from models.rating import Rating
from models.text import clean_text

# ---------------------------------------------------------------------------------------------------
# Staff steps


def involved_staff(session: Session, complaint: Complaint) -> frozenset[int]:
    """Who must stand aside from this complaint (回避, docs/RULES-CITED.md §2 and §5): the person it
    names and, for a complaint about a rating, whoever served that customer at the counter. A
    complaint about someone is never handled by them, whatever their role; they may still read it."""
    ids = {complaint.staff_id}
    if complaint.rating_id is not None:
        rating = session.get(Rating, complaint.rating_id)
        ids.add(rating.staff_id if rating is not None else None)
    return frozenset(i for i in ids if i is not None)


def check_not_involved(
    session: Session, complaint: Complaint, staff_id: int | None, *, as_assignee: bool = False
) -> None:
    """Raise :class:`ConflictOfInterest` when ``staff_id`` must stand aside (:func:`involved_staff`),
    before anything is written. ``as_assignee``: the person would be given the complaint, rather
    than acting on it. Steps without a person (the SLA sweep, None) are not concerned."""
    if staff_id is None or staff_id not in involved_staff(session, complaint):
        return
    if as_assignee:
        message = (
            "this person is named in the complaint or served the customer at the counter, so cannot be "
            "given it; choose another supervisor of the branch or an administrator"
        )
    else:
        message = (
            "you are named in this complaint or served the customer at the counter: another supervisor "
            "of the branch, or an administrator, handles it"
        )
    raise ConflictOfInterest(message, complaint_id=complaint.id, staff_id=staff_id, assignee=as_assignee)


def parse_finding(finding: str | None, about: str | None) -> tuple[Finding, About] | None:
    """A finding and its subject as given on a form: both, or neither (None). One without the other,
    or a word that is not a finding or a subject, is :class:`ValidationFailed` naming the field."""
    finding, about = (finding or "").strip(), (about or "").strip()
    if not finding and not about:
        return None
    if finding not in set(Finding):
        raise ValidationFailed(
            "finding", "choose the finding: substantiated, partly, unfounded or unverifiable"
        )
    if about not in set(About):
        raise ValidationFailed(
            "about", "choose what it is about: staff, service, process, policy, facilities or other"
        )
    return Finding(finding), About(about)


def finding_of(session: Session, complaint: Complaint) -> tuple[str, str] | None:
    """The complaint's finding and subject: its own once recorded, else that of the 差评 case it
    joined (models/cases.py), else None (not yet found, so it weighs on nobody)."""
    if complaint.finding and complaint.about:
        return complaint.finding, complaint.about
    from models.cases import RatingCase

    case = session.exec(select(RatingCase).where(RatingCase.complaint_id == complaint.id)).first()
    if case is not None and case.finding and case.about:
        return case.finding, case.about
    return None


_EVENT_FOR: dict[ComplaintStatus, EventKind] = {
    ComplaintStatus.acknowledged: EventKind.acknowledged,
    ComplaintStatus.investigating: EventKind.investigating,
    ComplaintStatus.resolved: EventKind.resolved,
    ComplaintStatus.closed: EventKind.closed,
    ComplaintStatus.rejected: EventKind.rejected,
}


def transition(
    session: Session,
    *,
    complaint_id: int,
    to: ComplaintStatus,
    actor_staff_id: int | None,
    note: str = "",
    reply: str | None = None,
    root_cause: str | None = None,
    corrective_action: str | None = None,
    finding: str | None = None,
    about: str | None = None,
    policy: PolicyValues | None = None,
    now: datetime | None = None,
) -> Complaint:
    """Move a complaint one step along :data:`ALLOWED_TRANSITIONS`, recording who and when.

    1. Unknown id -> :class:`ComplaintNotFound`; a step the table does not allow ->
       :class:`InvalidTransition` naming both statuses. Rejecting needs a reason (note or reply).
    2. ``reply`` (cleaned, at most 2,000 characters) replaces the public reply, with a public
       "replied" event. ``note`` is internal and goes on the step's event.
    3. Resolved: resolved_at set and the satisfaction question opened (satisfied = None).
       Closed or rejected: closed_at set and the contact's erase time fixed by the retention policy.
       Back to investigating from resolved or closed is a public "reopened" event, with a fresh due
       time from now and the final-state times cleared.
    4. The change is a conditional UPDATE on the status read in step 1, so two supervisors acting
       at once cannot both apply a step; the loser gets :class:`InvalidTransition`.
    5. Resolving needs a root cause and a finding with its subject (:func:`parse_finding`),
       recorded before (:func:`record_investigation`, or the finding on the 差评 case the complaint
       joined) or given now; a finding given now is recorded with the step.
    6. Every step is an audit entry (ids and statuses only), committed with the change.
    7. 回避: a person the complaint involves (:func:`involved_staff`) takes no step on it:
       :class:`ConflictOfInterest`, and nothing is written.
    """
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise ComplaintNotFound(f"no complaint with id {complaint_id}")
    check_not_involved(session, complaint, actor_staff_id)
    current = ComplaintStatus(complaint.status)
    check_transition(current, to)
    note = clean_text(note or "", max_chars=NOTE_MAX_CHARS)
    reply = clean_text(reply, max_chars=REPLY_MAX_CHARS) if reply else None
    if to is ComplaintStatus.rejected and not (note or reply):
        raise ValidationFailed("note", "give a reason for rejecting this complaint")
    root_cause = clean_text(root_cause, max_chars=NOTE_MAX_CHARS) if root_cause else None
    corrective_action = clean_text(corrective_action, max_chars=NOTE_MAX_CHARS) if corrective_action else None
    if to is ComplaintStatus.resolved and not (root_cause or complaint.root_cause):
        raise ValidationFailed("root_cause", "record the root cause before resolving this complaint")
    found = parse_finding(finding, about)
    if to is ComplaintStatus.resolved and found is None and finding_of(session, complaint) is None:
        raise ValidationFailed(
            "finding", "record the finding and what it is about before resolving this complaint"
        )
    now = now or utcnow()
    values: dict[str, Any] = {"status": to.value}
    kind = _EVENT_FOR[to]
    if to is ComplaintStatus.resolved:
        values.update(resolved_at=now, satisfied=None, grade=None)
    elif to in FINAL_STATUSES:
        if policy is None:
            policy = effective_policy(session, complaint.branch_id)
        values.update(closed_at=now, contact_erase_after=contact_erase_time(now, policy))
    elif to is ComplaintStatus.investigating and current in (
        ComplaintStatus.resolved,
        ComplaintStatus.closed,
    ):
        if policy is None:
            policy = effective_policy(session, complaint.branch_id)
        kind = EventKind.reopened
        restarted = branch_clocks(session, complaint.branch_id, now, Severity(complaint.severity), policy)
        values.update(
            resolved_at=None, closed_at=None, contact_erase_after=None, **_promise(restarted)
        )  # fmt: skip
    if reply:
        values["reply"] = reply
    if root_cause:
        values["root_cause"] = root_cause
    if corrective_action:
        values["corrective_action"] = corrective_action
    if found is not None:
        values.update(finding=found[0].value, about=found[1].value)
    changed = session.exec(
        update(Complaint)
        .where(col(Complaint.id) == complaint_id, col(Complaint.status) == current.value)
        .values(**values)
    )
    if changed.rowcount != 1:
        session.rollback()
        raise InvalidTransition(
            f"the complaint changed meanwhile; it is no longer {current.value}",
            current=current.value,
            to=to.value,
        )
    events = []
    if reply:
        events.append(_event(complaint_id, now, EventKind.replied, actor_staff_id=actor_staff_id))
    events.append(_event(complaint_id, now, kind, actor_staff_id=actor_staff_id, note=note))
    session.add_all(events)
    audit.append(
        session, action=f"complaint.{to.value}", entity="complaint", entity_id=complaint_id,
        actor_staff_id=actor_staff_id, now=now,
        details={
            "from": current.value, "to": to.value, "replied": bool(reply),
            **({"finding": found[0].value, "about": found[1].value} if found else {}),
        },
    )  # fmt: skip
    session.commit()
    session.refresh(complaint)
    return complaint


def record_investigation(
    session: Session,
    *,
    complaint_id: int,
    actor_staff_id: int,
    root_cause: str,
    corrective_action: str = "",
    finding: str | None = None,
    about: str | None = None,
    now: datetime | None = None,
) -> Complaint:
    """Record what caused the complaint, what is being done about it and, once known, the finding
    and what it is about (:func:`parse_finding`; internal; audited). Not by a person the complaint
    involves (:class:`ConflictOfInterest`, 回避)."""
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise ComplaintNotFound(f"no complaint with id {complaint_id}")
    check_not_involved(session, complaint, actor_staff_id)
    if complaint.status not in (ComplaintStatus.acknowledged, ComplaintStatus.investigating):
        raise InvalidTransition(
            "record the investigation while the complaint is acknowledged or being investigated",
            current=str(complaint.status), to="investigating",
        )  # fmt: skip
    cause = clean_text(root_cause or "", max_chars=NOTE_MAX_CHARS)
    if not cause:
        raise ValidationFailed("root_cause", "describe the root cause")
    found = parse_finding(finding, about)
    now = now or utcnow()
    complaint.root_cause = cause
    if found is not None:
        complaint.finding, complaint.about = found[0].value, found[1].value
    complaint.corrective_action = clean_text(corrective_action or "", max_chars=NOTE_MAX_CHARS) or None
    session.add(complaint)
    session.add(_event(complaint_id, now, EventKind.investigating, actor_staff_id=actor_staff_id,
                       note="root cause recorded"))  # fmt: skip
    audit.append(session, action="complaint.investigation", entity="complaint", entity_id=complaint_id,
                 actor_staff_id=actor_staff_id, now=now,
                 details={"finding": found[0].value, "about": found[1].value} if found else None)  # fmt: skip
    session.commit()
    return complaint


def assign(
    session: Session, *, complaint_id: int, assignee_id: int, actor_staff_id: int, now: datetime | None = None
) -> Complaint:
    """Give the complaint to one handler (a public "assigned" step, no name shown to the customer).

    回避: neither the one who assigns nor the one assigned may be a person the complaint involves
    (:func:`involved_staff`); either raises :class:`ConflictOfInterest` and nothing is written.
    When every supervisor of the branch is involved, an administrator takes it.
    """
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise ComplaintNotFound(f"no complaint with id {complaint_id}")
    check_not_involved(session, complaint, actor_staff_id)
    check_not_involved(session, complaint, assignee_id, as_assignee=True)
    if complaint.status in FINAL_STATUSES:
        raise InvalidTransition("a closed complaint cannot be assigned", current=str(complaint.status),
                                to="assigned")  # fmt: skip
    now = now or utcnow()
    complaint.assignee_id = assignee_id
    session.add(complaint)
    session.add(_event(complaint_id, now, EventKind.assigned, actor_staff_id=actor_staff_id))
    audit.append(session, action="complaint.assign", entity="complaint", entity_id=complaint_id,
                 actor_staff_id=actor_staff_id, details={"assignee": assignee_id}, now=now)  # fmt: skip
    session.commit()
    return complaint


def reveal_contact(
    session: Session, *, complaint_id: int, actor_staff_id: int, now: datetime | None = None
) -> str | None:
    """The unmasked contact, for replying to the customer. Every reveal is an audit entry. Never to
    the person complained about (:class:`ConflictOfInterest`): the customer is protected from them."""
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise ComplaintNotFound(f"no complaint with id {complaint_id}")
    check_not_involved(session, complaint, actor_staff_id)
    audit.append(session, action="complaint.reveal_contact", entity="complaint", entity_id=complaint_id,
                 actor_staff_id=actor_staff_id, now=now)  # fmt: skip
    session.commit()
    return complaint.contact
