"""Keeping data no longer than needed: the daily retention job's units of work.

1. A customer's contact details are kept only to answer the complaint. When a complaint reaches a
   final state its erase time is fixed (``contact_erase_after``, the policy's contact retention days
   later, :mod:`models.complaint`); once that time has passed the contact is erased, with a public
   "contact erased" step on the customer's timeline and an audit entry (ids only).
2. Presses flagged as misuse (too fast, bursts) count in no score; they are deleted after the
   policy's ``flagged_press_retention_days``, unless a complaint or an appeal cites them.
3. Complaint and 差评 case records are kept ``record_retention_days`` after they close (three years
   by default, the bank preset's); then their free text goes and their numbers stay
   (:func:`erase_old_record_text`).

Each function does one item and commits; the job records an item that fails and goes on.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, exists
from sqlmodel import Session, col, select, update

from models import audit
from models.complaint import FINAL_STATUSES, Complaint, ComplaintEvent, EventKind
from models.rating import Rating
from models.sanction import Appeal


def contacts_due_for_erasure(session: Session, *, now: datetime) -> list[int]:
    """Ids of closed or rejected complaints that still hold a contact past its erase time."""
    finals = [s.value for s in FINAL_STATUSES]
    stmt = select(Complaint.id).where(
        col(Complaint.contact).is_not(None),
        col(Complaint.contact_erase_after) <= now,
        col(Complaint.status).in_(finals),
    )
    return [i for i in session.exec(stmt.order_by(col(Complaint.id))).all() if i is not None]


def erase_contact(session: Session, *, complaint_id: int, now: datetime) -> bool:
    """Erase one complaint's contact if it is still due; returns whether this call erased it.

    A conditional UPDATE (still holding a contact, erase time passed, still final) that must change
    exactly one row: a complaint reopened meanwhile keeps its contact, and two runs erase once.
    """
    finals = [s.value for s in FINAL_STATUSES]
    changed = session.exec(
        update(Complaint)
        .where(
            col(Complaint.id) == complaint_id,
            col(Complaint.contact).is_not(None),
            col(Complaint.contact_erase_after) <= now,
            col(Complaint.status).in_(finals),
        )
        .values(contact=None, contact_kind=None)
    )
    if changed.rowcount != 1:
        session.rollback()
        return False
    session.add(ComplaintEvent(complaint_id=complaint_id, at=now, kind=EventKind.contact_erased, public=True))
    audit.append(
        session, action="complaint.contact_erased", entity="complaint", entity_id=complaint_id, now=now
    )
    session.commit()
    return True


def purge_flagged_presses(session: Session, *, branch_id: int, retention_days: int, now: datetime) -> int:
    """Delete a branch's flagged presses older than ``retention_days`` that nothing cites; returns
    how many went. One audit entry records the count (never which presses)."""
    before = now - timedelta(days=retention_days)
    cited_by_complaint = exists().where(col(Complaint.rating_id) == col(Rating.id))
    cited_by_appeal = exists().where(col(Appeal.rating_id) == col(Rating.id))
    gone = session.exec(
        delete(Rating).where(
            col(Rating.branch_id) == branch_id,
            col(Rating.flagged),
            col(Rating.created_at) < before,
            ~cited_by_complaint,
            ~cited_by_appeal,
        )
    ).rowcount
    if not gone:
        session.rollback()
        return 0
    audit.append(
        session,
        action="rating.flagged_purged",
        entity="branch",
        entity_id=branch_id,
        now=now,
        details={"count": gone, "older_than_days": retention_days},
    )
    session.commit()
    return int(gone)


def erase_old_record_text(
    session: Session, *, branch_id: int, retention_days: int, now: datetime
) -> dict[str, int]:
    """Remove the free text of a branch's complaints (closed or rejected) and 差评 cases (closed) that
    closed more than ``retention_days`` ago: the customer's account, the reply, root cause, corrective
    action and step notes of a complaint; the action, answer and step notes of a case; and any contact
    still held. What stays are the numbers: status, times, category, score, severity, finding, subject
    and grade, so every figure and indicator of those months is unchanged. Each record is done once
    (``text_erased_at``); one audit entry counts them (never which). Returns the counts."""
    from models.cases import CaseEvent, CaseStatus, RatingCase

    cutoff = now - timedelta(days=retention_days)
    finals = [s.value for s in FINAL_STATUSES]
    complaints = [
        i
        for i in session.exec(
            select(Complaint.id).where(
                Complaint.branch_id == branch_id,
                col(Complaint.status).in_(finals),
                col(Complaint.closed_at) <= cutoff,
                col(Complaint.text_erased_at).is_(None),
            )
        ).all()
        if i is not None
    ]
    cases = [
        i
        for i in session.exec(
            select(RatingCase.id).where(
                RatingCase.branch_id == branch_id,
                RatingCase.status == CaseStatus.closed,
                col(RatingCase.closed_at) <= cutoff,
                col(RatingCase.text_erased_at).is_(None),
            )
        ).all()
        if i is not None
    ]
    if not complaints and not cases:
        return {"complaints": 0, "cases": 0}
    if complaints:
        session.exec(
            update(Complaint)
            .where(col(Complaint.id).in_(complaints))
            .values(
                description="",
                reply=None,
                root_cause=None,
                corrective_action=None,
                contact=None,
                contact_kind=None,
                text_erased_at=now,
            )  # fmt: skip
        )
        session.exec(
            update(ComplaintEvent).where(col(ComplaintEvent.complaint_id).in_(complaints)).values(note="")
        )
    if cases:
        session.exec(
            update(RatingCase)
            .where(col(RatingCase.id).in_(cases))
            .values(action_text="", answer="", contact=None, contact_kind=None, text_erased_at=now)
        )
        session.exec(update(CaseEvent).where(col(CaseEvent.case_id).in_(cases)).values(note=""))
    counts = {"complaints": len(complaints), "cases": len(cases)}
    audit.append(
        session, action="records.text_erased", entity="branch", entity_id=branch_id, now=now,
        details={**counts, "older_than_days": retention_days},
    )  # fmt: skip
    session.commit()
    return counts


def erase_case_contacts(session: Session, *, branch_id: int, retention_days: int, now: datetime) -> int:
    """Erase the callback contacts of a branch's 差评 cases closed more than ``retention_days`` ago
    (models/case_ticket.py), as complaint contacts are; one audit entry per case (ids only). A case
    reopened meanwhile is no longer closed and keeps its contact. Returns how many were erased."""
    from models.cases import CaseStatus, RatingCase

    cutoff = now - timedelta(days=retention_days)
    due = session.exec(
        select(RatingCase.id).where(
            RatingCase.branch_id == branch_id,
            col(RatingCase.contact).is_not(None),
            RatingCase.status == CaseStatus.closed,
            col(RatingCase.closed_at) <= cutoff,
        )
    ).all()
    for case_id in due:
        session.exec(
            update(RatingCase).where(col(RatingCase.id) == case_id).values(contact=None, contact_kind=None)
        )
        audit.append(session, action="case.contact_erased", entity="rating_case", entity_id=case_id, now=now)
    session.commit()
    return len(due)
