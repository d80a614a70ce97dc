"""Handling a 差评 case (models/cases.py) from 待核实 to closed, each step with when and who, audited.

1. **Verify** (核实): callback attempts are recorded as they happen (reached, not reached, declined);
   the first moves the case from ``pending`` to ``verifying``.
2. **Finding**: 属实 / 部分属实 / 不属实 / 无法核实, and what it is about (the staff member, the service,
   the process, the policy, facilities, other). Only a substantiated or partly substantiated finding
   about the staff member may weigh on that person (:func:`weighs_on_person`).
3. **Action**: 整改 with a description and a deadline, later marked done; or 解释说明 with the
   explanation. Either way the case can then be answered.
4. **Feedback**: the customer is told the outcome (by the callback, or on the status page).
5. **Grade**: the customer grades the handling 满意 / 基本满意 / 不满意 (on the status page, or recorded
   by the supervisor after a callback); 满意 and 基本满意 close the case, 不满意 reopens it for another
   round (``reopened`` counts the escalations).

回避: nobody handles a case about themselves, i.e. the person rated (:class:`ConflictOfInterest`).
A refused step writes nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from models import audit
from models.cases import About, Action, CallbackOutcome, CaseEvent, CaseStatus, Finding, Grade, RatingCase
from models.clock import utcnow
from models.errors import ConflictOfInterest, NotFound, ValidationFailed
from models.text import clean_text

TEXT_MAX = 1000
OPEN = (CaseStatus.pending, CaseStatus.verifying, CaseStatus.found, CaseStatus.acting)


class CaseNotFound(NotFound):
    code = "case_not_found"


class CaseStepRefused(ValidationFailed):
    """A step the case's state does not allow now (a finding on a closed case, an answer before the
    action is done, ...); ``reason`` is a stable word the screens turn into a sentence."""

    code = "case_step_refused"

    def __init__(self, field: str, reason: str, message: str):
        super().__init__(field, message)
        self.reason = reason


def weighs_on_person(finding: str | None, about: str | None) -> bool:
    """Whether a finding may count against the person rated (RULES-CITED §1: only a substantiated
    finding against a person)."""
    return finding in (Finding.substantiated, Finding.partly) and about == About.staff


def get_case(session: Session, case_id: int) -> RatingCase:
    case = session.get(RatingCase, case_id)
    if case is None:
        raise CaseNotFound(f"no case with id {case_id}")
    return case


def check_not_involved(case: RatingCase, actor_id: int | None) -> None:
    """回避: the person rated may not handle their own case."""
    if actor_id is not None and case.staff_id == actor_id:
        raise ConflictOfInterest(
            "you were rated in this case; another supervisor or an administrator handles it"
        )


def events_of(session: Session, case_id: int) -> list[CaseEvent]:
    return list(
        session.exec(
            select(CaseEvent)
            .where(CaseEvent.case_id == case_id)
            .order_by(col(CaseEvent.at), col(CaseEvent.id))
        ).all()
    )


def _text(value: str, field: str, *, required: bool) -> str:
    text = clean_text(value or "", max_chars=TEXT_MAX + 1)
    if required and not text:
        raise CaseStepRefused(field, "text_required", f"{field} is required")
    if len(text) > TEXT_MAX:
        raise CaseStepRefused(field, "text_too_long", f"{field} is at most {TEXT_MAX} characters")
    return text


def _step(
    session: Session,
    case: RatingCase,
    *,
    kind: str,
    actor_id: int | None,
    now: datetime,
    outcome: str | None = None,
    note: str = "",
) -> None:
    assert case.id is not None
    session.add(case)
    session.add(CaseEvent(case_id=case.id, at=now, kind=kind, outcome=outcome, note=note, actor_id=actor_id))
    audit.append(
        session, action=f"case.{kind}", entity="rating_case", entity_id=case.id, actor_staff_id=actor_id,
        now=now, details={"outcome": outcome} if outcome else {},
    )  # fmt: skip
    session.commit()


def _open(case: RatingCase, step: str) -> None:
    if CaseStatus(case.status) not in OPEN:
        raise CaseStepRefused("status", "not_open", f"a case that is {case.status} takes no {step}")


def record_callback(
    session: Session,
    *,
    case_id: int,
    outcome: str,
    note: str = "",
    actor_id: int,
    now: datetime | None = None,
) -> RatingCase:
    """A callback attempt (step 1); allowed until the case closes, also to give feedback (step 4)."""
    case = get_case(session, case_id)
    check_not_involved(case, actor_id)
    if outcome not in set(CallbackOutcome):
        raise CaseStepRefused(
            "outcome", "outcome", f"a callback is reached, not_reached or declined, not {outcome!r}"
        )
    if case.status == CaseStatus.closed:
        raise CaseStepRefused("status", "not_open", "a closed case takes no callback")
    if case.status == CaseStatus.pending:
        case.status = CaseStatus.verifying
    _step(session, case, kind="callback", outcome=outcome, note=_text(note, "note", required=False),
          actor_id=actor_id, now=now or utcnow())  # fmt: skip
    return case


def record_finding(
    session: Session, *, case_id: int, finding: str, about: str, note: str = "", actor_id: int,
    now: datetime | None = None,
) -> RatingCase:  # fmt: skip
    """The finding and what it is about (step 2); may be revised until the case is answered."""
    case = get_case(session, case_id)
    check_not_involved(case, actor_id)
    if finding not in set(Finding):
        raise CaseStepRefused("finding", "finding", f"unknown finding {finding!r}")
    if about not in set(About):
        raise CaseStepRefused("about", "about", f"unknown subject {about!r}")
    _open(case, "finding")
    now = now or utcnow()
    case.finding, case.about, case.found_at, case.found_by = finding, about, now, actor_id
    if CaseStatus(case.status) in (CaseStatus.pending, CaseStatus.verifying):
        case.status = CaseStatus.found
    note = _text(note, "note", required=False)
    _step(session, case, kind="finding", outcome=finding, note=note, actor_id=actor_id, now=now)
    return case


def record_action(
    session: Session, *, case_id: int, action: str, text: str, due_at: datetime | None = None, actor_id: int,
    now: datetime | None = None,
) -> RatingCase:  # fmt: skip
    """整改 with a deadline, or 解释说明 (step 3). Needs a finding first."""
    case = get_case(session, case_id)
    check_not_involved(case, actor_id)
    _open(case, "action")
    if case.finding is None:
        raise CaseStepRefused("action", "no_finding", "record the finding before the action")
    if action not in set(Action):
        raise CaseStepRefused("action", "action", f"an action is rectify or explain, not {action!r}")
    now = now or utcnow()
    body = _text(text, "text", required=True)
    if action == Action.rectify:
        if due_at is None or due_at <= now:
            raise CaseStepRefused("due_at", "due_at", "a rectification needs a deadline in the future")
        case.status = CaseStatus.acting
    else:
        due_at = None
        case.status = CaseStatus.found
    case.action, case.action_text, case.action_due_at, case.action_done_at = action, body, due_at, None
    _step(session, case, kind="action", outcome=action, note=body, actor_id=actor_id, now=now)
    return case


def complete_action(
    session: Session, *, case_id: int, note: str = "", actor_id: int, now: datetime | None = None
) -> RatingCase:
    """The rectification is done (step 3)."""
    case = get_case(session, case_id)
    check_not_involved(case, actor_id)
    if case.status != CaseStatus.acting:
        raise CaseStepRefused("status", "not_acting", "only a rectification under way can be marked done")
    now = now or utcnow()
    case.action_done_at, case.status = now, CaseStatus.found
    _step(session, case, kind="action_done", note=_text(note, "note", required=False), actor_id=actor_id,
          now=now)  # fmt: skip
    return case


def answer_case(
    session: Session, *, case_id: int, text: str, via: str, actor_id: int, now: datetime | None = None
) -> RatingCase:
    """Tell the customer the outcome (step 4): by the callback just made, or on the status page."""
    case = get_case(session, case_id)
    check_not_involved(case, actor_id)
    _open(case, "answer")
    if case.action is None or (case.action == Action.rectify and case.action_done_at is None):
        raise CaseStepRefused(
            "answer", "not_ready", "the action must be recorded (and a rectification done) first"
        )
    if via not in ("callback", "status_page"):
        raise CaseStepRefused("via", "via", f"an answer goes by callback or on the status page, not {via!r}")
    now = now or utcnow()
    case.answer, case.answered_at, case.answered_via = _text(text, "text", required=True), now, via
    case.status = CaseStatus.answered
    _step(session, case, kind="answer", outcome=via, note=case.answer, actor_id=actor_id, now=now)
    return case


def grade_case(
    session: Session, *, case_id: int, grade: str, actor_id: int | None = None, now: datetime | None = None
) -> RatingCase:
    """The customer's grade of the handling (step 5): ``actor_id`` None when the customer gave it on the
    status page, else the supervisor who recorded it after a callback. 不满意 reopens the case."""
    case = get_case(session, case_id)
    check_not_involved(case, actor_id)
    if grade not in set(Grade):
        raise CaseStepRefused(
            "grade", "grade", f"a grade is satisfied, fairly or dissatisfied, not {grade!r}"
        )
    if case.status != CaseStatus.answered:
        raise CaseStepRefused(
            "status", "not_answered", "the handling is graded once the customer was answered"
        )
    now = now or utcnow()
    case.grade, case.graded_at = grade, now
    if grade == Grade.dissatisfied:
        case.status, case.reopened = CaseStatus.verifying, case.reopened + 1
        case.answered_at = None
        _step(session, case, kind="grade", outcome=grade, actor_id=actor_id, now=now)
        _step(session, case, kind="reopened", actor_id=actor_id, now=now)
    else:
        case.status, case.closed_at = CaseStatus.closed, now
        _step(session, case, kind="grade", outcome=grade, actor_id=actor_id, now=now)
    return case
