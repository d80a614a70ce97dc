"""Supervisors' casework on a complaint: root cause before resolving, assignment, audited reveal."""

import pytest
from sqlmodel import select

from models.audit import AuditEvent, verify
from models.complaint import (
    ComplaintCreate,
    ComplaintStatus,
    InvalidTransition,
    assign,
    file_complaint,
    record_investigation,
    reveal_contact,
    transition,
)
from models.errors import ValidationFailed
from models.rating import Channel

S = ComplaintStatus


def filed(db, world, **fields):
    data = ComplaintCreate.model_validate(
        {
            "category": "2.2.2",
            "description": "等了四十分钟",
            "contact": "13812345678",
            "consent": True,
            **fields,
        }
    )
    with db.write() as s:
        complaint, _code, _ = file_complaint(
            s, idempotency_key="c-1", data=data, channel=Channel.kiosk, branch_id=world.branch_id
        )
    assert complaint.id is not None
    return complaint.id


def move(db, cid, *tos, actor=None, **kwargs):
    with db.write() as s:
        for to in tos:
            transition(s, complaint_id=cid, to=to, actor_staff_id=actor, **kwargs)


def test_a_complaint_cannot_be_resolved_before_its_root_cause_is_recorded(db, world):
    cid = filed(db, world)
    move(db, cid, S.acknowledged, S.investigating, actor=world.staff_id)
    with pytest.raises(ValidationFailed) as info:
        move(db, cid, S.resolved, actor=world.staff_id, reply="已处理")
    assert info.value.field == "root_cause"
    with db.write() as s:
        record_investigation(
            s, complaint_id=cid, actor_staff_id=world.staff_id, root_cause=" 高峰期人手不足 ",
            corrective_action="增开一个窗口", finding="unfounded", about="process",
        )  # fmt: skip
    move(db, cid, S.resolved, actor=world.staff_id, reply="已增开窗口")
    with db.read() as s:
        from models.complaint import Complaint

        row = s.get(Complaint, cid)
        assert row is not None and row.status == S.resolved
        assert (row.root_cause, row.corrective_action) == ("高峰期人手不足", "增开一个窗口")
        assert (row.finding, row.about) == ("unfounded", "process")


def test_the_investigation_cannot_be_recorded_on_a_new_or_closed_complaint(db, world):
    cid = filed(db, world)
    with db.write() as s, pytest.raises(InvalidTransition):
        record_investigation(s, complaint_id=cid, actor_staff_id=world.staff_id, root_cause="x")
    move(db, cid, S.acknowledged)
    with db.write() as s, pytest.raises(ValidationFailed):
        record_investigation(s, complaint_id=cid, actor_staff_id=world.staff_id, root_cause="  ")


def test_every_step_is_in_the_audit_chain_without_personal_data(db, world):
    cid = filed(db, world)
    with db.write() as s:
        assign(s, complaint_id=cid, assignee_id=world.staff_id, actor_staff_id=world.staff_id)
    move(db, cid, S.acknowledged, S.investigating, actor=world.staff_id)
    with db.write() as s:
        assert reveal_contact(s, complaint_id=cid, actor_staff_id=world.staff_id) == "13812345678"
    with db.read() as s:
        events = s.exec(select(AuditEvent).order_by(AuditEvent.id)).all()  # type: ignore[arg-type]
        report = verify(s)
    actions = [e.action for e in events if e.action.startswith("complaint.")]
    assert actions == [
        "complaint.file", "complaint.assign", "complaint.acknowledged", "complaint.investigating",
        "complaint.reveal_contact",
    ]  # fmt: skip
    assert report.ok and report.entries == len(events)
    everything = " ".join(f"{e.entity_id} {e.details}" for e in events)
    assert "13812345678" not in everything and "等了四十分钟" not in everything
    assert events[-1].actor_staff_id == world.staff_id


def test_a_closed_complaint_cannot_be_assigned(db, world):
    cid = filed(db, world)
    move(db, cid, S.rejected, note="重复投诉")
    with db.write() as s, pytest.raises(InvalidTransition):
        assign(s, complaint_id=cid, assignee_id=world.staff_id, actor_staff_id=world.staff_id)
