"""Extensions of a reply clock (the bank rule) and the staged clocks' alerts (first contact, overdue,
督办), through the real services on SQLite and PostgreSQL, on a fixed clock."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from models.alerts import Alert
from models.audit import AuditEvent
from models.complaint import (
    ComplaintCreate,
    ComplaintEvent,
    ComplaintStatus,
    EventKind,
    InvalidTransition,
    file_complaint,
    public_status,
    transition,
)
from models.errors import Forbidden, ValidationFailed
from models.extensions import ExtensionRefused, decide_extension, request_extension
from models.holidays import import_year
from models.org import Role, Staff
from models.presets import apply_preset
from models.rating import Channel
from rapport.usecases.alerting import sla_sweep

SH = ZoneInfo("Asia/Shanghai")


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


@pytest.fixture
def people(db, world):  # type: ignore[no-untyped-def]
    """The branch's supervisor, two administrators and a counter clerk, by role."""
    with db.write() as s:
        admins = [Staff(employee_no=f"A{n}", display_name=f"管理员{n}", role=Role.admin) for n in (1, 2)]
        other_sup = Staff(employee_no="S9", display_name="乙主管", role=Role.supervisor,
                          branch_id=world.other_branch_id)  # fmt: skip
        s.add_all([*admins, other_sup])
        s.commit()
        sup = s.exec(select(Staff).where(Staff.employee_no == "S1")).one()
        clerk = s.exec(select(Staff).where(Staff.employee_no == "E1")).one()
        for person in (*admins, other_sup, sup, clerk):
            s.refresh(person)
            s.expunge(person)
    return {"sup": sup, "admin": admins[0], "admin2": admins[1], "other_sup": other_sup, "clerk": clerk}


def filed(
    db, world, preset: str, when: datetime, key: str = "k-1", branch_id: int | None = None
) -> tuple[int, str]:
    branch_id = branch_id or world.branch_id
    with db.write() as s:
        import_year(s, year=2026)
        apply_preset(s, preset=preset, branch_id=branch_id)
        data = ComplaintCreate(category="2.2.2", description="办理太慢，也没说原因。", locale="zh-CN")
        complaint, code, _ = file_complaint(
            s, idempotency_key=key, data=data, channel=Channel.kiosk, branch_id=branch_id, now=when,
            code_secret="s" * 40,
        )  # fmt: skip
        assert complaint.id is not None and code is not None
        return complaint.id, code


def test_a_bank_case_is_extended_to_30_then_60_days_with_an_administrators_approval(db, world, people):
    cid, code = filed(db, world, "bank", at(2026, 9, 17, 10, 0))
    with db.write() as s:
        ask = request_extension(
            s, complaint_id=cid, actor=people["sup"], reason="需调取监控核实", now=at(2026, 9, 25, 9)
        )
        assert (ask.seq, ask.length, ask.unit, ask.status) == (1, 15, "calendar_days", "requested")
        # The one who asked cannot decide, nor can a supervisor.
        with pytest.raises(Forbidden, match="administrator"):
            decide_extension(s, extension_id=ask.id, actor=people["sup"], approve=True)
        done = decide_extension(
            s, extension_id=ask.id, actor=people["admin"], approve=True, now=at(2026, 9, 25, 11)
        )
        # Day 30 after 17 September is Saturday 17 October: the period ends on Monday 19 October, 24:00.
        assert done.status == "approved" and done.due_after == at(2026, 10, 20, 0, 0)
        view = public_status(s, code=code)
        assert view is not None and view.due_at == at(2026, 10, 20, 0, 0)
        assert (view.promise_unit, view.promise_amount) == ("calendar_days", 30)
        assert view.extensions == ((at(2026, 9, 25, 11), "需调取监控核实", at(2026, 10, 20, 0, 0)),)
        assert (at(2026, 9, 25, 11), EventKind.extended) in view.timeline

        second = request_extension(
            s, complaint_id=cid, actor=people["admin"], reason="涉及总行政策", now=at(2026, 10, 15, 9)
        )
        assert second.length == 30
        with pytest.raises(Forbidden, match="someone other than the one who asked"):
            decide_extension(s, extension_id=second.id, actor=people["admin"], approve=True)
        done = decide_extension(
            s, extension_id=second.id, actor=people["admin2"], approve=True, now=at(2026, 10, 15, 10)
        )
        assert done.due_after == at(2026, 11, 17, 0, 0)  # day 60: Monday 16 November, 24:00
        with pytest.raises(ExtensionRefused, match="allow 2 extension"):
            request_extension(s, complaint_id=cid, actor=people["sup"], reason="再延一次")
        actions = [e.action for e in s.exec(select(AuditEvent).order_by(AuditEvent.id)).all()]
        assert (
            actions.count("complaint.extension.request") == 2
            and actions.count("complaint.extension.decide") == 2
        )


def test_a_refused_extension_changes_nothing_the_customer_sees_and_a_decision_is_made_once(db, world, people):
    cid, code = filed(db, world, "bank", at(2026, 9, 17, 10, 0))
    with db.write() as s:
        ask = request_extension(s, complaint_id=cid, actor=people["sup"], reason="需要更多时间")
        with pytest.raises(ExtensionRefused, match="already waiting"):
            request_extension(s, complaint_id=cid, actor=people["sup"], reason="再申请一次")
        decide_extension(s, extension_id=ask.id, actor=people["admin"], approve=False, note="情况并不复杂")
        with pytest.raises(InvalidTransition, match="already refused"):
            decide_extension(s, extension_id=ask.id, actor=people["admin2"], approve=True)
        view = public_status(s, code=code)
        assert view is not None and view.due_at == at(2026, 10, 9, 0, 0) and view.extensions == ()
        kinds = [
            e.kind for e in s.exec(select(ComplaintEvent).where(ComplaintEvent.complaint_id == cid)).all()
        ]
        assert EventKind.extended not in kinds


def test_who_may_ask_and_what_the_rules_allow(db, world, people):
    cid, _ = filed(db, world, "hall", at(2026, 11, 30, 16, 0))
    with db.write() as s:
        for who in ("clerk", "other_sup"):
            with pytest.raises(Forbidden):
                request_extension(s, complaint_id=cid, actor=people[who], reason="理由")
        with pytest.raises(ValidationFailed, match="say why"):
            request_extension(s, complaint_id=cid, actor=people["sup"], reason="   ")
        with pytest.raises(ExtensionRefused, match="allow no extension"):
            request_extension(s, complaint_id=cid, actor=people["sup"], reason="需要更多时间")
        assert (
            s.exec(select(AuditEvent).where(AuditEvent.action == "complaint.extension.request")).all() == []
        )


def alerts(db) -> list[tuple[str, int | None]]:
    with db.read() as s:
        return sorted((str(a.kind), a.complaint_id) for a in s.exec(select(Alert)).all())


def test_the_sweep_raises_first_contact_overdue_and_escalation_once_each(ctx, db, world):
    # Hall preset: filed Monday 30 November 16:00; first contact due Tuesday 1 December 17:00; reply
    # due Monday 7 December 17:00; 督办 after 3 more working days, Thursday 10 December 17:00.
    cid, _ = filed(db, world, "hall", at(2026, 11, 30, 16, 0))
    assert sla_sweep(ctx, now=at(2026, 12, 1, 16, 59)) == []
    first = sla_sweep(ctx, now=at(2026, 12, 1, 17, 1))
    assert [(a.kind, a.complaint_id) for a in first] == [("first_contact", cid)]
    assert sla_sweep(ctx, now=at(2026, 12, 2, 9, 0)) == []
    soon = sla_sweep(ctx, now=at(2026, 12, 7, 9, 0))
    assert [a.kind for a in soon] == ["due_soon"]
    late = sla_sweep(ctx, now=at(2026, 12, 7, 17, 1))
    assert [a.kind for a in late] == ["overdue"]
    assert sla_sweep(ctx, now=at(2026, 12, 10, 16, 59)) == []
    above = sla_sweep(ctx, now=at(2026, 12, 10, 17, 1))
    assert [(a.kind, a.complaint_id, a.branch_id) for a in above] == [("escalation", cid, world.branch_id)]
    assert sla_sweep(ctx, now=at(2026, 12, 14, 9, 0)) == []
    assert alerts(db) == sorted(
        [("first_contact", cid), ("due_soon", cid), ("overdue", cid), ("escalation", cid)]
    )


def test_an_acknowledged_case_gets_no_first_contact_alert_and_the_generic_policy_no_escalation(
    ctx, db, world
):
    cid, _ = filed(db, world, "hall", at(2026, 11, 30, 16, 0))
    with db.write() as s:
        transition(
            s, complaint_id=cid, to=ComplaintStatus.acknowledged, actor_staff_id=None, now=at(2026, 12, 1, 10)
        )
    assert sla_sweep(ctx, now=at(2026, 12, 1, 17, 1)) == []
    generic, _ = filed(
        db, world, "generic", at(2026, 11, 30, 16, 0), key="k-2", branch_id=world.other_branch_id
    )
    kinds = [(a.kind, a.complaint_id) for a in sla_sweep(ctx, now=at(2027, 1, 29, 17, 0))]
    assert ("escalation", generic) not in kinds and ("escalation", cid) in kinds
    assert ("overdue", generic) in kinds
