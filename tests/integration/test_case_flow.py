"""Handling a 差评 case (models/case_flow.py): verify with callbacks, a finding and what it is about,
an action (整改 with a deadline, then done; or 解释说明), the answer, the customer's grade; every step
timestamped with its actor and audited; steps out of order refused with nothing written; 不满意
reopens; and 回避: the person rated cannot handle their own case."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, func, select

from kiosk import backend as kiosk
from models import case_flow as flow
from models.audit import AuditEvent
from models.cases import CaseEvent, CaseStatus, RatingCase
from models.clock import pin
from models.errors import ConflictOfInterest
from models.org import Staff

NOW = datetime(2026, 11, 18, 2, 30, tzinfo=UTC)  # Wednesday 10:30 in Shanghai


@pytest.fixture(autouse=True)
def fixed_clock():
    pin(NOW)
    yield
    pin(None)


@pytest.fixture
def case_id(ctx, db, world) -> int:
    kiosk.submit_tap(
        ctx, device_token=world.device_token, idempotency_key=str(uuid.uuid4()), score=1, staff_no=None
    )
    with db.read() as s:
        [case] = s.exec(select(RatingCase)).all()
        assert case.id is not None and case.staff_id == world.staff_id
        return case.id


@pytest.fixture
def boss(db, world) -> int:
    with db.read() as s:
        return s.exec(select(Staff.id).where(Staff.employee_no == "S1")).one()


def at(minutes: int) -> datetime:
    return NOW + timedelta(minutes=minutes)


def counts(db) -> tuple[int, int]:
    with db.read() as s:
        return (
            s.exec(select(func.count()).select_from(CaseEvent)).one(),
            s.exec(select(func.count()).select_from(AuditEvent)).one(),
        )


def test_a_case_goes_from_pending_to_closed_with_every_step_recorded(db, case_id, boss):
    with db.write() as s:
        flow.record_callback(s, case_id=case_id, outcome="not_reached", actor_id=boss, now=at(10))
        assert s.get(RatingCase, case_id).status == CaseStatus.verifying  # type: ignore[union-attr]
        note = "客户说排队时没人解释"
        flow.record_callback(s, case_id=case_id, outcome="reached", note=note, actor_id=boss, now=at(40))
        flow.record_finding(s, case_id=case_id, finding="partly", about="process", actor_id=boss, now=at(60))
        flow.record_action(s, case_id=case_id, action="rectify", text="高峰时段增开一个窗口，并安排引导员。",
                           due_at=at(60 * 24 * 3), actor_id=boss, now=at(70))  # fmt: skip
        assert s.get(RatingCase, case_id).status == CaseStatus.acting  # type: ignore[union-attr]
        flow.complete_action(s, case_id=case_id, actor_id=boss, now=at(60 * 24))
        flow.answer_case(s, case_id=case_id, text="已在高峰时段增开窗口。", via="callback", actor_id=boss,
                         now=at(60 * 25))  # fmt: skip
        flow.grade_case(s, case_id=case_id, grade="fairly", actor_id=None, now=at(60 * 26))
    with db.read() as s:
        case = s.get(RatingCase, case_id)
        assert case is not None
        assert (case.status, case.finding, case.about, case.action, case.grade) == (
            "closed", "partly", "process", "rectify", "fairly",
        )  # fmt: skip
        assert (case.found_by, case.found_at, case.action_done_at, case.closed_at) == (
            boss, at(60), at(60 * 24), at(60 * 26),
        )  # fmt: skip
        steps = [(e.kind, e.outcome, e.actor_id) for e in flow.events_of(s, case_id)]
        audited = s.exec(
            select(AuditEvent.action).where(AuditEvent.entity == "rating_case").order_by(col(AuditEvent.id))
        ).all()
    assert steps == [
        ("callback", "not_reached", boss), ("callback", "reached", boss), ("finding", "partly", boss),
        ("action", "rectify", boss), ("action_done", None, boss), ("answer", "callback", boss),
        ("grade", "fairly", None),
    ]  # fmt: skip
    assert audited == [f"case.{kind}" for kind, _o, _a in steps]
    assert not flow.weighs_on_person(case.finding, case.about)  # about the process, not the person


def test_a_dissatisfied_grade_reopens_the_case(db, case_id, boss):
    with db.write() as s:
        flow.record_finding(s, case_id=case_id, finding="unfounded", about="staff", actor_id=boss, now=at(1))
        flow.record_action(s, case_id=case_id, action="explain", text="按规定须本人到场办理。", actor_id=boss,
                           now=at(2))  # fmt: skip
        flow.answer_case(s, case_id=case_id, text="按规定须本人到场办理。", via="status_page", actor_id=boss,
                         now=at(3))  # fmt: skip
        case = flow.grade_case(s, case_id=case_id, grade="dissatisfied", now=at(4))
        assert (case.status, case.reopened, case.answered_at) == (CaseStatus.verifying, 1, None)
        assert [e.kind for e in flow.events_of(s, case_id)][-2:] == ["grade", "reopened"]


@pytest.mark.parametrize(
    "step, reason",
    [
        (
            lambda s, c, b: flow.record_action(s, case_id=c, action="explain", text="x", actor_id=b),
            "no_finding",
        ),
        (lambda s, c, b: flow.complete_action(s, case_id=c, actor_id=b), "not_acting"),
        (lambda s, c, b: flow.answer_case(s, case_id=c, text="x", via="callback", actor_id=b), "not_ready"),
        (lambda s, c, b: flow.grade_case(s, case_id=c, grade="satisfied"), "not_answered"),
        (
            lambda s, c, b: flow.record_finding(s, case_id=c, finding="maybe", about="staff", actor_id=b),
            "finding",
        ),
        (lambda s, c, b: flow.record_callback(s, case_id=c, outcome="busy", actor_id=b), "outcome"),
    ],
)
def test_a_step_out_of_order_is_refused_and_writes_nothing(db, case_id, boss, step, reason):
    before = counts(db)
    with db.write() as s, pytest.raises(flow.CaseStepRefused) as err:
        step(s, case_id, boss)
    assert err.value.reason == reason and counts(db) == before


def test_a_rectification_needs_a_deadline_in_the_future(db, case_id, boss):
    with db.write() as s:
        flow.record_finding(s, case_id=case_id, finding="substantiated", about="staff", actor_id=boss)
        before = counts(db)
        for due in (None, NOW - timedelta(hours=1)):
            with pytest.raises(flow.CaseStepRefused) as err:
                flow.record_action(
                    s, case_id=case_id, action="rectify", text="重新培训", due_at=due, actor_id=boss
                )
            assert err.value.reason == "due_at"
    assert counts(db) == before
    assert flow.weighs_on_person("substantiated", "staff") and flow.weighs_on_person("partly", "staff")
    assert not flow.weighs_on_person("unfounded", "staff") and not flow.weighs_on_person("partly", "policy")


def test_the_person_rated_cannot_handle_their_own_case(db, case_id, world):
    before = counts(db)
    with db.write() as s:
        for step in (
            lambda: flow.record_callback(s, case_id=case_id, outcome="reached", actor_id=world.staff_id),
            lambda: flow.record_finding(
                s, case_id=case_id, finding="unfounded", about="staff", actor_id=world.staff_id
            ),  # fmt: skip
        ):
            with pytest.raises(ConflictOfInterest):
                step()
    assert counts(db) == before


def test_a_callback_contact_is_erased_after_the_retention_days_once_the_case_closed(db, case_id, boss):
    from models.case_ticket import leave_callback
    from models.retention import erase_case_contacts

    with db.read() as s:
        rating_id = s.get(RatingCase, case_id).rating_id  # type: ignore[union-attr]
    with db.write() as s:
        leave_callback(s, rating_id=rating_id, contact="13812345678", consent=True, now=at(1))
        assert erase_case_contacts(s, branch_id=s.get(RatingCase, case_id).branch_id, retention_days=30,  # type: ignore[union-attr]
                                   now=at(60 * 24 * 365)) == 0  # still open: kept  # fmt: skip
        flow.record_finding(
            s, case_id=case_id, finding="unverifiable", about="other", actor_id=boss, now=at(2)
        )
        flow.record_action(
            s, case_id=case_id, action="explain", text="无法联系到当事人", actor_id=boss, now=at(3)
        )
        flow.answer_case(s, case_id=case_id, text="已说明", via="callback", actor_id=boss, now=at(4))
        flow.grade_case(s, case_id=case_id, grade="satisfied", actor_id=boss, now=at(5))
        branch = s.get(RatingCase, case_id).branch_id  # type: ignore[union-attr]
        assert (
            erase_case_contacts(s, branch_id=branch, retention_days=30, now=at(5) + timedelta(days=29)) == 0
        )
        assert (
            erase_case_contacts(s, branch_id=branch, retention_days=30, now=at(5) + timedelta(days=31)) == 1
        )
        case = s.get(RatingCase, case_id)
        assert case is not None and (case.contact, case.contact_kind) == (None, None)
        erased = s.exec(select(AuditEvent.action).where(AuditEvent.action == "case.contact_erased")).all()
    assert list(erased) == ["case.contact_erased"]
