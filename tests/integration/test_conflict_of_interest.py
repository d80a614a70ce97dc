"""回避 on complaints (issue 15, docs/RULES-CITED.md §2): nobody acknowledges, investigates, resolves,
closes, rejects, reopens, reveals the contact of, asks to extend or decides the extension of, assigns,
or is given a complaint that names them or whose customer they served at the counter. A refused step
raises ConflictOfInterest and writes nothing; another supervisor of the branch takes the same step;
when the branch has no supervisor free of the conflict, an administrator is offered and takes it.

Through the real services and the admin bridge on SQLite (and PostgreSQL when
RAPPORT_TEST_DATABASE_URL is set), on a pinned clock.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import Session, select

from admin import backend
from admin import extensions as extension_desk
from models.audit import AuditEvent
from models.clock import pin
from models.complaint import (
    Complaint,
    ComplaintCreate,
    ComplaintStatus,
    assign,
    file_complaint,
    involved_staff,
    record_investigation,
    reveal_contact,
    transition,
)
from models.crypto import hash_secret
from models.errors import ConflictOfInterest, Forbidden
from models.extensions import decide_extension, request_extension
from models.org import Role, Staff
from models.policy import set_policy
from models.rating import Channel, Rating
from tests.integration.access_matrix.cells import changed, snapshot

NOW = datetime(2026, 11, 24, 1, 30, tzinfo=UTC)  # Tuesday 09:30 in Shanghai
PASSWORD = "correct horse 42"
S = ComplaintStatus


@pytest.fixture(autouse=True)
def fixed_clock():
    pin(NOW)
    yield
    pin(None)


@dataclass
class People:
    boss: int  # S1, the branch's supervisor: the one the complaints below name
    deputy: int  # S6, a second supervisor of the branch (active only where a test needs one)
    root: int  # A0, an administrator
    root2: int  # A9, a second administrator
    clerk: int  # E1, counter staff


@pytest.fixture
def people(db, world, ctx) -> People:
    """The world's branch A with its supervisor S1, two administrators, sign-ins for all of them,
    and a second supervisor S6 who is inactive until a test needs a colleague free of the conflict."""
    ctx.clock = lambda: NOW
    with db.write() as s:
        s.add_all(
            [
                Staff(
                    employee_no="S6",
                    display_name="钱副主管",
                    role=Role.supervisor,
                    branch_id=world.branch_id,
                    active=False,
                ),
                Staff(employee_no="A0", display_name="管理员", role=Role.admin),
                Staff(employee_no="A9", display_name="管理员二", role=Role.admin),
            ]
        )
        s.flush()
        ids = {}
        for person in s.exec(select(Staff)).all():
            person.username, person.password_hash = person.employee_no.lower(), hash_secret(PASSWORD)
            ids[person.employee_no] = person.id
        s.commit()
    return People(boss=ids["S1"], deputy=ids["S6"], root=ids["A0"], root2=ids["A9"], clerk=ids["E1"])


def file(db, world, *, staff_id: int | None, rating_id: uuid.UUID | None = None) -> int:
    data = ComplaintCreate(category="2.2.2", description="主管态度差", contact="13812345678", consent=True)
    with db.write() as s:
        complaint, _code, _ = file_complaint(
            s, idempotency_key=f"coi-{uuid.uuid4()}", data=data, channel=Channel.kiosk,
            branch_id=world.branch_id, counter_id=world.counter_id, staff_id=staff_id, rating_id=rating_id,
            now=NOW,
        )  # fmt: skip
    assert complaint.id is not None
    return complaint.id


def served_by(db, world, staff_id: int) -> uuid.UUID:
    """A 不满意 rating given at the counter where ``staff_id`` served the customer."""
    with db.write() as s:
        rating = Rating(
            idempotency_key=f"coi-rating-{uuid.uuid4()}", request_hash="x", staff_id=staff_id,
            branch_id=world.branch_id, counter_id=world.counter_id, channel=Channel.kiosk, score=2,
            created_at=NOW,
        )  # fmt: skip
        s.add(rating)
        s.commit()
        return rating.id


def bring(db, cid: int, *tos: S, by: int | None) -> None:
    """Take a complaint along the workflow, each step by ``by`` (someone free of the conflict, or
    nobody: the SLA sweep)."""
    with db.write() as s:
        for to in tos:
            found = {"root_cause": "高峰期未按规范解释", "finding": "partly", "about": "process"}
            extra = found if to is S.resolved else {}
            transition(s, complaint_id=cid, to=to, actor_staff_id=by, now=NOW, **extra)  # type: ignore[arg-type]


def status_of(db, cid: int) -> str:
    with db.read() as s:
        row = s.get(Complaint, cid)
        assert row is not None
        return str(row.status)


def set_active(db, staff_id: int, active: bool) -> None:
    with db.write() as s:
        person = s.get(Staff, staff_id)
        assert person is not None
        person.active = active
        s.add(person)
        s.commit()


Step = Callable[[Session, int, int], Any]  # (session, complaint id, actor) -> anything


def _move(to: S, **extra: str) -> Step:
    return lambda s, cid, actor: transition(
        s, complaint_id=cid, to=to, actor_staff_id=actor, now=NOW, **extra
    )


# Each step a supervisor might take, with the status the complaint is brought to first.
STEPS: dict[str, tuple[tuple[S, ...], Step]] = {
    "acknowledge": ((), _move(S.acknowledged, note="已受理")),
    "reject": ((), _move(S.rejected, note="非本行业务")),
    "investigate": ((S.acknowledged,), _move(S.investigating)),
    "record the investigation": (
        (S.acknowledged, S.investigating),
        lambda s, cid, actor: record_investigation(
            s, complaint_id=cid, actor_staff_id=actor, root_cause="未按规范解释", now=NOW
        ),
    ),
    "resolve (decide)": (
        (S.acknowledged, S.investigating),
        _move(S.resolved, root_cause="未按规范解释", reply="已致歉并整改", finding="partly", about="staff"),
    ),
    "close": ((S.acknowledged, S.investigating, S.resolved), _move(S.closed)),
    "reopen": ((S.acknowledged, S.investigating, S.resolved), _move(S.investigating, note="客户来电")),
    "assign to themselves": (
        (),
        lambda s, cid, actor: assign(s, complaint_id=cid, assignee_id=actor, actor_staff_id=actor, now=NOW),
    ),
    "reveal the contact": (
        (),
        lambda s, cid, actor: reveal_contact(s, complaint_id=cid, actor_staff_id=actor),
    ),
}


@pytest.mark.parametrize("how", ["named", "served at the counter"])
@pytest.mark.parametrize("name", list(STEPS))
def test_a_supervisor_the_complaint_involves_is_refused_and_a_colleague_is_not(db, world, people, name, how):
    set_active(db, people.deputy, True)
    if how == "named":
        cid = file(db, world, staff_id=people.boss)
    else:  # the complaint names the clerk on duty, but the rating it is about was given to the boss
        cid = file(db, world, staff_id=people.clerk, rating_id=served_by(db, world, people.boss))
    with db.read() as s:
        row = s.get(Complaint, cid)
        assert row is not None and people.boss in involved_staff(s, row)
    path, step = STEPS[name]
    bring(db, cid, *path, by=people.deputy)
    before = snapshot(db)
    with db.write() as s, pytest.raises(ConflictOfInterest) as refused:
        step(s, cid, people.boss)
    assert "another supervisor" in str(refused.value) and refused.value.details["staff_id"] == people.boss
    assert not changed(before, snapshot(db)), "a refused step writes nothing, not even an audit entry"

    with db.write() as s:
        step(s, cid, people.deputy)
    after = snapshot(db)
    actors = {
        r["actor_staff_id"] for text, r in after["audit_event"].items() if text not in before["audit_event"]
    }
    assert actors == {people.deputy}, actors


def test_nobody_the_complaint_involves_is_given_it_nor_gives_it_away(db, world, people):
    set_active(db, people.deputy, True)
    cid = file(db, world, staff_id=people.boss)
    before = snapshot(db)
    with db.write() as s, pytest.raises(ConflictOfInterest) as refused:
        assign(s, complaint_id=cid, assignee_id=people.boss, actor_staff_id=people.deputy, now=NOW)
    assert refused.value.details["assignee"] is True and "cannot be given it" in str(refused.value)
    with db.write() as s, pytest.raises(ConflictOfInterest):
        assign(s, complaint_id=cid, assignee_id=people.deputy, actor_staff_id=people.boss, now=NOW)
    assert not changed(before, snapshot(db))
    with db.write() as s:
        assign(s, complaint_id=cid, assignee_id=people.deputy, actor_staff_id=people.deputy, now=NOW)
    with db.read() as s:
        row = s.get(Complaint, cid)
        assert row is not None and row.assignee_id == people.deputy


def test_steps_without_a_person_and_other_complaints_are_not_concerned(db, world, people):
    """The SLA sweep and the customer act as nobody; a complaint about someone else is the boss's."""
    cid = file(db, world, staff_id=people.boss)
    bring(db, cid, S.acknowledged, S.investigating, by=None)  # not a person: allowed
    other = file(db, world, staff_id=people.clerk)
    bring(db, other, S.acknowledged, S.investigating, S.resolved, by=people.boss)
    assert (status_of(db, cid), status_of(db, other)) == ("investigating", "resolved")


def test_extensions_are_neither_asked_for_nor_decided_by_a_person_involved(db, world, people):
    set_active(db, people.deputy, True)
    with db.write() as s:
        set_policy(s, values={"extension_lengths": [15]}, branch_id=world.branch_id)
        boss, deputy, root, root2 = (
            s.get(Staff, i) for i in (people.boss, people.deputy, people.root, people.root2)
        )
        for person in (boss, deputy, root, root2):
            s.expunge(person)
    about_boss = file(db, world, staff_id=people.boss)
    before = snapshot(db)
    with db.write() as s, pytest.raises(ConflictOfInterest):
        request_extension(s, complaint_id=about_boss, actor=boss, reason="需调取监控", now=NOW)
    assert not changed(before, snapshot(db))

    about_root = file(db, world, staff_id=people.root)  # an administrator complained about
    with db.write() as s:
        asked = request_extension(s, complaint_id=about_root, actor=deputy, reason="需调取监控", now=NOW)
    before = snapshot(db)
    with db.write() as s, pytest.raises(ConflictOfInterest):
        decide_extension(s, extension_id=asked.id, actor=root, approve=True, now=NOW)
    assert not changed(before, snapshot(db))
    with db.write() as s:
        assert (
            decide_extension(s, extension_id=asked.id, actor=root2, approve=True, now=NOW).status
            == "approved"
        )


def sign_in(ctx, login: str) -> str:
    return backend.sign_in(ctx, login=login, password=PASSWORD, client="192.0.2.10", totp_code=None)[1]


def test_when_the_only_supervisor_is_named_an_administrator_is_offered_and_takes_it(db, world, ctx, people):
    """S1 is branch A's only active supervisor: the complaint about them goes to the administrators."""
    cid = file(db, world, staff_id=people.boss)
    boss, root = sign_in(ctx, "s1"), sign_in(ctx, "a0")

    mine = backend.detail(ctx, boss, cid)
    assert mine.conflicted and mine.next_statuses == [] and mine.to_admin
    assert [(h.id, h.role) for h in mine.handlers] == [(people.root, "admin"), (people.root2, "admin")]
    panel = extension_desk.extensions(ctx, boss, cid)
    assert not panel.can_request and panel.decidable is None
    before = snapshot(db)
    for action in ("assign_me", f"assign:{people.root}", "acknowledged"):
        with pytest.raises(ConflictOfInterest):
            backend.act(ctx, boss, cid, action)
    with pytest.raises(ConflictOfInterest):
        backend.reveal(ctx, boss, cid)
    with pytest.raises(ConflictOfInterest):  # nor does an administrator give it to the person it names
        backend.act(ctx, root, cid, f"assign:{people.boss}")
    with pytest.raises(Forbidden):  # and a counter clerk handles no complaint at all
        backend.act(ctx, root, cid, f"assign:{people.clerk}")
    assert not changed(before, snapshot(db))

    theirs = backend.detail(ctx, root, cid)
    assert not theirs.conflicted and theirs.next_statuses == ["acknowledged", "rejected"] and theirs.to_admin
    backend.act(ctx, root, cid, f"assign:{people.root2}")
    backend.act(ctx, root, cid, "acknowledged")
    backend.act(ctx, root, cid, "investigating")
    backend.act(
        ctx, root, cid, "resolved",
        root_cause="未按规范解释", reply="已致歉并整改", finding="partly", about="staff",
    )  # fmt: skip
    assert status_of(db, cid) == "resolved"
    with db.read() as s:
        row = s.get(Complaint, cid)
        assert row is not None and row.assignee_id == people.root2
        steps = s.exec(
            select(AuditEvent.action, AuditEvent.actor_staff_id)
            .where(AuditEvent.entity == "complaint", AuditEvent.entity_id == str(cid))
            .order_by(AuditEvent.id)  # type: ignore[arg-type]
        ).all()
        assert [tuple(a) for a in steps if a[0] != "complaint.file"] == [
            ("complaint.assign", people.root), ("complaint.acknowledged", people.root),
            ("complaint.investigating", people.root), ("complaint.resolved", people.root),
        ]  # fmt: skip

    # With a second supervisor at the branch, it is theirs to take, not the administrators'.
    set_active(db, people.deputy, True)
    again = backend.detail(ctx, boss, cid)
    assert [h.id for h in again.handlers] == [people.deputy] and not again.to_admin
