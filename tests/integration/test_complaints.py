from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel, col, func, select

import models.complaint as complaint_module  # registers the complaint tables
from models.catalog import ConductClause
from models.codes import tracking_digest
from models.complaint import (
    Complaint,
    ComplaintCreate,
    ComplaintEvent,
    ComplaintNotFound,
    ComplaintStatus,
    ContactKind,
    EventKind,
    InvalidTransition,
    SatisfactionNotOpen,
    Severity,
    answer_satisfaction,
    file_complaint,
    public_status,
    transition,
)
from models.errors import IdempotencyConflict, ValidationFailed
from models.org import Staff
from models.policy import PolicyValues, set_policy
from models.rating import Channel, RatingCreate, submit_rating

POLICY = PolicyValues()
NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
# Due times count opening hours (Mon-Sat 09:00-17:00 in Shanghai, 8 h a day). NOW is Monday's closing
# time, so the clock starts Tuesday 09:00 and each due time below is a closing time, 17:00 local.


def closing_on(day: int) -> datetime:
    """17:00 in Shanghai on that day of March 2025."""
    return datetime(2025, 3, day, 9, 0, tzinfo=UTC)


S = ComplaintStatus


def file(db, world, key="c1", *, now=NOW, score=None, rating_id=None, policy=POLICY, **fields):
    data = ComplaintCreate.model_validate({"category": "2.2.1", "description": "waited 40 minutes", **fields})
    with db.write() as s:
        return file_complaint(
            s, idempotency_key=key, data=data, channel=Channel.kiosk, branch_id=world.branch_id,
            counter_id=world.counter_id, staff_id=world.staff_id, rating_id=rating_id, score=score,
            policy=policy, now=now,
        )  # fmt: skip


def step(db, complaint_id, *tos, now=NOW, **kwargs):
    with db.write() as s:
        for to in tos:
            extra = dict(kwargs)
            if to is S.resolved:  # resolving needs a root cause and a finding on record
                extra.setdefault("root_cause", "the fee schedule was explained wrongly")
                extra.setdefault("finding", "partly")
                extra.setdefault("about", "process")
            complaint = transition(s, complaint_id=complaint_id, to=to, actor_staff_id=None, now=now, **extra)
    return complaint


def resolved(db, world, **fields):
    """A filed complaint taken to resolved; returns (complaint, tracking code)."""
    complaint, code, _ = file(db, world, **fields)
    step(db, complaint.id, S.acknowledged, S.investigating, now=NOW + timedelta(hours=1))
    step(db, complaint.id, S.resolved, now=NOW + timedelta(hours=2), reply="We are sorry; fixed.")
    return complaint, code


def events(db, complaint_id):
    with db.read() as s:
        rows = s.exec(
            select(ComplaintEvent)
            .where(ComplaintEvent.complaint_id == complaint_id)
            .order_by(col(ComplaintEvent.id))
        ).all()
    return [(EventKind(e.kind), e.public) for e in rows]


def count(db, table=Complaint) -> int:
    with db.read() as s:
        return s.exec(select(func.count()).select_from(table)).one()


def stored(db, complaint_id) -> Complaint:
    with db.read() as s:
        complaint = s.get(Complaint, complaint_id)
        assert complaint is not None
        return complaint


# --- filing --------------------------------------------------------------------------------------


def test_a_filed_complaint_is_new_with_a_public_received_event_and_a_normal_due_time(db, world):
    complaint, code, created = file(db, world)
    assert created and code
    row = stored(db, complaint.id)
    assert (row.status, row.severity, row.escalation_level) == (S.new, Severity.normal, 0)
    assert (row.branch_id, row.counter_id, row.staff_id) == (
        world.branch_id,
        world.counter_id,
        world.staff_id,
    )
    assert row.created_at == NOW and row.due_at == closing_on(13)  # 72 h = 9 business days
    assert events(db, complaint.id) == [(EventKind.received, True)]


def test_an_integrity_complaint_is_high_severity_and_due_within_a_day(db, world):
    complaint, _, _ = file(db, world, category="2.1.2")
    row = stored(db, complaint.id)
    assert row.severity == Severity.high and row.due_at == closing_on(6)  # 24 h = 3 business days


def test_a_complaint_beside_a_good_rating_is_low_and_links_to_that_rating(db, world):
    with db.write() as s:
        rating, _ = submit_rating(
            s,
            idempotency_key="r1",
            data=RatingCreate(score=4),
            channel=Channel.kiosk,
            branch_id=world.branch_id,
        )
    complaint, _, _ = file(db, world, score=4, rating_id=rating.id)
    row = stored(db, complaint.id)
    assert row.rating_id == rating.id
    assert row.severity == Severity.low and row.due_at == closing_on(20)  # 120 h = 15 business days


def test_without_a_policy_given_the_branchs_own_sla_applies(db, world):
    with db.write() as s:
        set_policy(s, values={"sla_hours_normal": 48}, branch_id=world.branch_id)
    complaint, _, _ = file(db, world, policy=None)
    assert stored(db, complaint.id).due_at == closing_on(10)  # 48 h = 6 business days


def test_a_contact_is_kept_with_the_time_consent_was_given(db, world):
    complaint, _, _ = file(db, world, contact="+86 138-1234-5678", consent=True, locale="en")
    row = stored(db, complaint.id)
    assert (row.contact, row.contact_kind, row.consent_at, row.locale) == ("13812345678", "phone", NOW, "en")
    assert row.contact_erase_after is None


@pytest.mark.parametrize("category", ["9.9.9", "4.2.3", "1.3.1"])
def test_unknown_or_internal_categories_are_refused(db, world, category):
    with pytest.raises(ValidationFailed) as info:
        file(db, world, category=category)
    assert info.value.field == "category"
    assert count(db) == 0


def test_a_deactivated_clause_is_no_longer_a_category(db, world):
    with db.write() as s:
        clause = s.get(ConductClause, "2.2.1")
        assert clause is not None
        clause.active = False
        s.add(clause)
        s.commit()
    with pytest.raises(ValidationFailed, match="2.2.1"):
        file(db, world)


def test_retrying_with_the_same_key_returns_the_same_complaint_and_no_new_code(db, world):
    first, code, created = file(db, world, contact="alice@example.com", consent=True)
    again, code_again, created_again = file(db, world, contact="alice@example.com", consent=True)
    assert created and not created_again
    assert again.id == first.id and code and code_again is None
    assert count(db) == 1 and count(db, ComplaintEvent) == 1


def test_reusing_a_key_for_a_different_complaint_is_refused_and_stores_nothing(db, world):
    file(db, world)
    with pytest.raises(IdempotencyConflict):
        file(db, world, description="something else")
    assert count(db) == 1


def test_only_the_digest_of_the_tracking_code_is_stored(db, world):
    complaint, code, _ = file(db, world)
    assert code
    with db.read() as s:
        rows = [
            *s.connection().execute(SQLModel.metadata.tables["complaint"].select()).all(),
            *s.connection().execute(SQLModel.metadata.tables["complaint_event"].select()).all(),
        ]
    everything = " ".join(str(value) for row in rows for value in row).upper()
    assert code not in everything and code.replace("-", "") not in everything
    assert tracking_digest(code) in everything.lower()


def test_the_database_refuses_a_contact_without_consent(db, world):
    with db.write() as s, pytest.raises(IntegrityError):
        s.add(
            Complaint(
                idempotency_key="raw",
                request_hash="x",
                code_digest="y",
                branch_id=world.branch_id,
                channel=Channel.kiosk,
                category="2.2.1",
                description="d",
                contact="13812345678",
                contact_kind=ContactKind.phone,
                due_at=NOW,
            )
        )
        s.commit()


# --- the status page -----------------------------------------------------------------------------


def test_the_status_page_shows_progress_but_no_contact_staff_or_notes(db, world):
    complaint, code = resolved(db, world, contact="13812345678", consent=True)
    assert code
    with db.write() as s:
        s.add(ComplaintEvent(complaint_id=complaint.id, kind=EventKind.assigned, note="secret", at=NOW))
        s.commit()
    with db.read() as s:
        view = public_status(s, code=code.lower())
    assert view is not None
    assert (view.status, view.severity, view.category) == (S.resolved, Severity.normal, "2.2.1")
    assert view.reply == "We are sorry; fixed." and view.satisfied is None and view.can_answer_satisfaction
    assert [kind for _, kind in view.timeline] == [
        EventKind.received,
        EventKind.acknowledged,
        EventKind.investigating,
        EventKind.replied,
        EventKind.resolved,
    ]
    shown = repr(view)
    assert "13812345678" not in shown and "secret" not in shown and "staff" not in shown


@pytest.mark.parametrize("code", ["", "not a code", "ABCDE-FGHJK"])
def test_a_malformed_code_shows_nothing(db, world, code):
    file(db, world)
    with db.read() as s:
        assert public_status(s, code=code) is None


def test_a_valid_but_unknown_code_shows_nothing(db, world):
    from models.codes import new_tracking_code

    file(db, world)
    with db.read() as s:
        assert public_status(s, code=new_tracking_code()) is None


# --- satisfaction --------------------------------------------------------------------------------


def test_a_satisfied_customer_closes_the_complaint_and_fixes_when_the_contact_is_erased(db, world):
    complaint, code = resolved(db, world, contact="13812345678", consent=True)
    answered_at = NOW + timedelta(days=1)
    with db.write() as s:
        view = answer_satisfaction(s, code=code, grade="satisfied", policy=POLICY, now=answered_at)
    assert view.status is S.closed and view.satisfied is True and not view.can_answer_satisfaction
    assert [kind for _, kind in view.timeline][-2:] == [EventKind.satisfied, EventKind.closed]
    row = stored(db, complaint.id)
    assert row.closed_at == answered_at
    assert row.contact_erase_after == answered_at + timedelta(days=30)


def test_an_unsatisfied_customer_reopens_escalates_and_restarts_the_clock(db, world):
    complaint, code = resolved(db, world)
    answered_at = NOW + timedelta(days=1)
    with db.write() as s:
        view = answer_satisfaction(s, code=code, grade="dissatisfied", policy=POLICY, now=answered_at)
    assert view.status is S.investigating and view.satisfied is False
    # Answered Tuesday at closing: 24 h = Wednesday to Friday.
    assert view.severity is Severity.high and view.due_at == closing_on(7)
    row = stored(db, complaint.id)
    assert row.escalation_level == 1 and row.resolved_at is None
    assert events(db, complaint.id)[-3:] == [
        (EventKind.unsatisfied, True), (EventKind.reopened, True), (EventKind.escalated, False),
    ]  # fmt: skip
    assert EventKind.escalated not in [kind for _, kind in view.timeline]


def test_a_fairly_satisfied_customer_closes_it_and_the_grade_is_kept_and_shown(db, world):
    complaint, code = resolved(db, world)
    with db.write() as s:
        view = answer_satisfaction(s, code=code, grade="fairly", policy=POLICY, now=NOW + timedelta(days=1))
    assert (view.status, view.satisfied, view.grade) == (S.closed, True, "fairly")
    row = stored(db, complaint.id)
    assert (row.grade, row.escalation_level) == ("fairly", 0)


def test_a_grade_that_is_not_one_of_the_three_is_refused_and_changes_nothing(db, world):
    complaint, code = resolved(db, world)
    for bad in ("yes", "", "SATISFIED", "neutral"):
        with db.write() as s, pytest.raises(ValidationFailed, match="satisfied, fairly or dissatisfied"):
            answer_satisfaction(s, code=code, grade=bad, policy=POLICY, now=NOW)
    row = stored(db, complaint.id)
    assert (row.status, row.satisfied, row.grade) == (S.resolved, None, None)


# --- findings ------------------------------------------------------------------------------------


def test_resolving_needs_a_finding_and_what_it_is_about_and_writes_nothing_without(db, world):
    complaint, _code, _ = file(db, world)
    step(db, complaint.id, S.acknowledged, S.investigating)
    before = events(db, complaint.id)
    cases = [
        ({"finding": None, "about": None}, "finding", "record the finding"),
        ({"finding": "partly", "about": None}, "about", "choose what it is about"),
        ({"finding": None, "about": "staff"}, "finding", "choose the finding"),
        ({"finding": "true", "about": "staff"}, "finding", "choose the finding"),
        ({"finding": "partly", "about": "counter"}, "about", "choose what it is about"),
    ]
    for given, field, message in cases:
        with pytest.raises(ValidationFailed, match=message) as refused:
            step(db, complaint.id, S.resolved, reply="done", **given)
        assert refused.value.field == field
    row = stored(db, complaint.id)
    assert (row.status, row.finding, row.about, row.reply) == (S.investigating, None, None, None)
    assert events(db, complaint.id) == before


def test_a_finding_recorded_with_the_investigation_lets_it_resolve_and_is_audited(db, world):
    from models.audit import AuditEvent
    from models.complaint import record_investigation

    complaint, _code, _ = file(db, world)
    step(db, complaint.id, S.acknowledged, S.investigating)
    with db.write() as s:
        boss = s.exec(select(Staff).where(Staff.id != world.staff_id)).first()  # not the one named
        assert boss is not None
        record_investigation(
            s, complaint_id=complaint.id, actor_staff_id=boss.id, root_cause="窗口少开",  # type: ignore[arg-type]
            finding="unfounded", about="facilities", now=NOW,
        )  # fmt: skip
        transition(s, complaint_id=complaint.id, to=S.resolved, actor_staff_id=None, reply="已说明", now=NOW)
        audited = s.exec(select(AuditEvent).where(AuditEvent.action == "complaint.investigation")).one()
    row = stored(db, complaint.id)
    assert (row.status, row.finding, row.about) == (S.resolved, "unfounded", "facilities")
    assert audited.details == {"finding": "unfounded", "about": "facilities"}


def test_a_second_answer_is_refused(db, world):
    _, code = resolved(db, world)
    with db.write() as s:
        answer_satisfaction(s, code=code, grade="dissatisfied", policy=POLICY, now=NOW)
    with db.write() as s, pytest.raises(SatisfactionNotOpen):
        answer_satisfaction(s, code=code, grade="satisfied", policy=POLICY, now=NOW)


def test_two_racing_answers_cannot_both_apply(db, world, monkeypatch):
    complaint, code = resolved(db, world)
    stale = stored(db, complaint.id)  # what the slower request read before the faster one wrote
    with db.write() as s:
        answer_satisfaction(s, code=code, grade="satisfied", policy=POLICY, now=NOW)
    monkeypatch.setattr(complaint_module.tracking, "_by_code", lambda session, code: stale)
    with db.write() as s, pytest.raises(SatisfactionNotOpen):
        answer_satisfaction(s, code=code, grade="dissatisfied", policy=POLICY, now=NOW)
    row = stored(db, complaint.id)
    assert (row.status, row.satisfied, row.escalation_level) == (S.closed, True, 0)


def test_satisfaction_cannot_be_answered_before_the_complaint_is_resolved(db, world):
    _, code, _ = file(db, world)
    with db.write() as s, pytest.raises(SatisfactionNotOpen):
        answer_satisfaction(s, code=code, grade="satisfied", policy=POLICY)


def test_answering_with_an_unknown_code_is_not_found(db, world):
    with db.write() as s, pytest.raises(ComplaintNotFound):
        answer_satisfaction(s, code="ABCDE-FGHJK", grade="satisfied", policy=POLICY)


def test_a_complaint_resolved_again_after_a_no_asks_again_and_stays_high(db, world):
    complaint, code = resolved(db, world)
    with db.write() as s:
        answer_satisfaction(s, code=code, grade="dissatisfied", policy=POLICY, now=NOW)
    step(db, complaint.id, S.resolved, reply="Second reply")
    with db.read() as s:
        view = public_status(s, code=code)
    assert view is not None and view.can_answer_satisfaction and view.reply == "Second reply"
    assert view.severity is Severity.high
    with db.write() as s:
        view = answer_satisfaction(s, code=code, grade="dissatisfied", policy=POLICY, now=NOW)
    assert view.severity is Severity.high and stored(db, complaint.id).escalation_level == 2


# --- staff steps ---------------------------------------------------------------------------------


def test_an_invalid_transition_is_refused_with_a_message_naming_both_statuses(db, world):
    complaint, _, _ = file(db, world)
    with pytest.raises(InvalidTransition, match="from new to resolved"):
        step(db, complaint.id, S.resolved)
    assert stored(db, complaint.id).status == S.new


def test_steps_record_their_actor_and_keep_notes_internal(db, world):
    complaint, _, _ = file(db, world)
    # Not the person it names (world.staff_id): they must stand aside (回避, test_conflict_of_interest.py).
    with db.read() as s:
        boss = s.exec(select(Staff.id).where(Staff.employee_no == "S1")).one()
    with db.write() as s:
        transition(s, complaint_id=complaint.id, to=S.acknowledged, actor_staff_id=boss, note=" on it\x00 ")
    with db.read() as s:
        event = s.exec(select(ComplaintEvent).where(ComplaintEvent.kind == EventKind.acknowledged)).one()
    assert (event.actor_staff_id, event.note, event.public) == (boss, "on it", True)


def test_rejecting_needs_a_reason_and_is_final(db, world):
    complaint, _, _ = file(db, world, contact="13812345678", consent=True)
    with pytest.raises(ValidationFailed) as info:
        step(db, complaint.id, S.rejected)
    assert info.value.field == "note"
    row = step(db, complaint.id, S.rejected, reply="This concerns another company.")
    assert row.status == S.rejected and row.closed_at == NOW
    assert row.contact_erase_after == NOW + timedelta(days=30)
    with pytest.raises(InvalidTransition, match="final"):
        step(db, complaint.id, S.investigating)


def test_a_closed_complaint_reopened_by_staff_gets_a_fresh_due_time(db, world):
    complaint, _ = resolved(db, world, contact="13812345678", consent=True)
    step(db, complaint.id, S.closed)
    later = NOW + timedelta(days=10)
    row = step(db, complaint.id, S.investigating, now=later, note="customer called again")
    # Reopened Thursday the 13th at closing: 72 h = 9 business days, Sundays skipped.
    assert row.status == S.investigating and row.due_at == closing_on(24)
    assert row.closed_at is None and row.contact_erase_after is None
    assert events(db, complaint.id)[-1] == (EventKind.reopened, True)


def test_a_step_on_an_unknown_complaint_is_not_found(db, world):
    with pytest.raises(ComplaintNotFound):
        step(db, 12345, S.acknowledged)


def test_with_the_server_secret_a_replay_returns_the_same_tracking_code(db, world):
    data = ComplaintCreate.model_validate({"category": "2.2.1", "description": "lost answer"})
    with db.write() as s:
        first, code, created = file_complaint(
            s, idempotency_key="lost-1", data=data, channel=Channel.kiosk, branch_id=world.branch_id,
            policy=POLICY, now=NOW, code_secret="server-secret",
        )  # fmt: skip
    with db.write() as s:
        again, code_again, created_again = file_complaint(
            s, idempotency_key="lost-1", data=data, channel=Channel.kiosk, branch_id=world.branch_id,
            policy=POLICY, now=NOW, code_secret="server-secret",
        )  # fmt: skip
    assert created and not created_again and again.id == first.id
    assert code is not None and code_again == code
    with db.read() as s:
        assert public_status(s, code=code) is not None
