"""What the customer holds after a 差评: a tracking code to follow the case on the status page, the
callback contact they may leave (可以回访您吗？), and the case as the holder of the code sees it.

1. The code is issued when the customer's screen asks for it, derived from the server's secret and
   the case (models/codes.py ``derived_tracking_code``), so asking again (a lost answer, a second
   render) gives the same code; only its digest is stored.
2. A callback contact needs the customer's consent, as a complaint's does; it is stored, masked on
   every screen but the audited reveal, and erased with the complaint contacts' retention.
3. The public view carries no contact, no staff name and no internal note: the status, the promised
   reply time, the answer once given, and whether the customer may grade the handling now.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from models import audit
from models.cases import CaseStatus, RatingCase
from models.clock import utcnow
from models.codes import derived_tracking_code, normalise_tracking_code, tracking_digest
from models.complaint import ContactKind, Severity, branch_clocks, normalise_contact
from models.errors import NotFound, ValidationFailed
from models.org import Branch
from models.policy import effective_policy


@dataclass(frozen=True)
class CaseTicket:
    code: str
    due_at: datetime
    promise_unit: str
    promise_amount: int
    timezone: str
    has_contact: bool


@dataclass(frozen=True)
class CasePublic:
    status: str
    opened_at: datetime
    due_at: datetime
    promise_unit: str
    promise_amount: int
    timezone: str
    answer: str | None  # once the customer was answered
    answered_at: datetime | None
    grade: str | None
    can_grade: bool


def _case_of_rating(session: Session, rating_id: uuid.UUID) -> RatingCase:
    case = session.exec(select(RatingCase).where(RatingCase.rating_id == rating_id)).first()
    if case is None:
        raise NotFound("this rating has no case")
    return case


def _clock(session: Session, case: RatingCase) -> tuple[datetime, str, int, str]:
    branch = session.get(Branch, case.branch_id)
    assert branch is not None
    clock = branch_clocks(
        session, case.branch_id, case.opened_at, Severity.normal, effective_policy(session, case.branch_id)
    )
    return clock.due_at, clock.unit, clock.amount, branch.timezone


def ticket(session: Session, *, rating_id: uuid.UUID, secret: str) -> CaseTicket | None:
    """The tracking code of the rating's case (issued on first asking, step 1); None when the rating
    opened no case. Commits."""
    case = session.exec(select(RatingCase).where(RatingCase.rating_id == rating_id)).first()
    if case is None:
        return None
    assert case.id is not None
    code = derived_tracking_code(secret, f"case:{case.id}")
    digest = tracking_digest(code)
    if case.code_digest is None:
        case.code_digest = digest
        session.add(case)
        session.commit()
    elif case.code_digest != digest:  # pragma: no cover - only if the server's secret changed
        raise NotFound("this case's code cannot be shown again")
    due, unit, amount, tz = _clock(session, case)
    return CaseTicket(code, due, unit, amount, tz, case.contact is not None)


def leave_callback(
    session: Session, *, rating_id: uuid.UUID, contact: str, consent: bool, now: datetime | None = None
) -> RatingCase:
    """Store the callback contact the customer left (step 2): refused without consent or when the
    contact is not a mobile number or an e-mail address; nothing is written then."""
    case = _case_of_rating(session, rating_id)
    try:
        value, kind = normalise_contact(contact)
    except ValueError as exc:
        raise ValidationFailed("contact", str(exc)) from None
    if not consent:
        raise ValidationFailed("consent", "a callback contact is kept only with the customer's consent")
    if case.status == CaseStatus.closed:
        raise ValidationFailed("contact", "this case is closed")
    now = now or utcnow()
    case.contact, case.contact_kind, case.consent_at = value, ContactKind(kind).value, now
    session.add(case)
    assert case.id is not None
    audit.append(session, action="case.contact", entity="rating_case", entity_id=case.id, now=now,
                 details={"kind": case.contact_kind})  # fmt: skip
    session.commit()
    return case


def _by_code(session: Session, code: str) -> RatingCase | None:
    if normalise_tracking_code(code) is None:
        return None
    return session.exec(select(RatingCase).where(RatingCase.code_digest == tracking_digest(code))).first()


def public_case(session: Session, *, code: str) -> CasePublic | None:
    """The case as the holder of its code sees it (step 3); None for an unknown code."""
    case = _by_code(session, code)
    if case is None:
        return None
    due, unit, amount, tz = _clock(session, case)
    answered = case.answered_at is not None
    return CasePublic(
        status=case.status, opened_at=case.opened_at, due_at=due, promise_unit=unit, promise_amount=amount,
        timezone=tz, answer=case.answer if answered else None, answered_at=case.answered_at,
        grade=case.grade, can_grade=case.status == CaseStatus.answered,
    )  # fmt: skip


def case_id_by_code(session: Session, code: str) -> int | None:
    case = _by_code(session, code)
    return case.id if case is not None else None
