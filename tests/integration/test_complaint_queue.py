"""The complaint queue as the admin screen reads it (admin/backend.py ``queue``): each row names the
branch, counter, person and clause it shows, a supervisor sees their branch and an administrator
every branch, most urgent first, and the views (open, all, overdue) pick the right complaints."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from admin import backend
from models.catalog import ConductClause
from models.complaint import Complaint, ComplaintCreate, ComplaintStatus, file_complaint
from models.crypto import hash_secret
from models.org import Counter, Role, Staff
from models.rating import Channel

NOW = datetime(2026, 11, 18, 2, 30, tzinfo=UTC)
PASSWORD = "correct horse battery"


@pytest.fixture
def pinned(ctx):  # type: ignore[no-untyped-def]
    return dataclasses.replace(ctx, clock=lambda: NOW)


def token_for(ctx, db, employee_no: str, role: Role) -> str:  # type: ignore[no-untyped-def]
    with db.write() as s:
        staff = s.exec(select(Staff).where(Staff.employee_no == employee_no)).first()
        if staff is None:
            staff = Staff(employee_no=employee_no, display_name=employee_no, role=role)
        staff.username, staff.password_hash = employee_no.lower(), hash_secret(PASSWORD)
        s.add(staff)
        s.commit()
    return backend.sign_in(ctx, login=employee_no.lower(), password=PASSWORD, client="t", totp_code=None)[1]


@pytest.fixture
def filed(db, world) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Three complaints: at branch A about 王芳 at counter 1 (due last), at branch A about no one
    (due first, and overdue at NOW), at branch B about 张伟 (due in between)."""
    with db.write() as s:
        staff = {p.employee_no: p.id for p in s.exec(select(Staff)).all()}
        counter = s.exec(select(Counter).where(Counter.code == "A-01")).one().id
        ids: dict[str, int] = {}
        for key, branch, counter_id, staff_id, due in (
            ("named", world.branch_id, counter, staff["E1"], NOW + timedelta(days=5)),
            ("nobody", world.branch_id, None, None, NOW - timedelta(hours=1)),
            ("other", world.other_branch_id, None, staff["E9"], NOW + timedelta(days=2)),
        ):
            data = ComplaintCreate(category="2.2.2", description="窗口长时间无人。", locale="zh-CN")
            complaint, _code, _ = file_complaint(
                s, idempotency_key=f"queue-{key}", data=data, channel=Channel.kiosk, branch_id=branch,
                counter_id=counter_id, staff_id=staff_id, now=NOW - timedelta(days=1),
            )  # fmt: skip
            complaint.due_at = due
            s.add(complaint)
            assert complaint.id is not None
            ids[key] = complaint.id
        s.commit()
    return ids


def test_a_row_names_what_the_screen_shows_and_none_where_the_complaint_names_no_one(pinned, db, filed):
    rows = backend.queue(pinned, token_for(pinned, db, "S1", Role.supervisor))
    assert [r.id for r in rows] == [filed["nobody"], filed["named"]]  # branch A only, earliest due first
    with db.read() as s:
        clause = s.get(ConductClause, "2.2.2")
        assert clause is not None
    nobody, named = rows
    assert (named.branch_zh, named.branch_en) == ("甲支行", "Branch A")
    assert (named.counter_zh, named.counter_en, named.staff_name) == ("1号窗口", "Counter 1", "王芳")
    labels = (named.category, named.category_zh, named.category_en)
    assert labels == ("2.2.2", clause.short_zh, clause.short_en)
    assert (named.status, named.severity, named.escalation_level) == ("new", "normal", 0)
    assert named.due_at == NOW + timedelta(days=5) and named.created_at == NOW - timedelta(days=1)
    assert (nobody.counter_zh, nobody.counter_en, nobody.staff_name) == (None, None, None)
    assert nobody.branch_en == "Branch A"


def test_an_administrator_sees_every_branch_and_the_views_pick_their_complaints(pinned, db, filed):
    token = token_for(pinned, db, "ADM", Role.admin)
    rows = backend.queue(pinned, token)
    assert [r.id for r in rows] == [filed["nobody"], filed["other"], filed["named"]]
    assert [r.branch_en for r in rows] == ["Branch A", "Branch B", "Branch A"]
    assert rows[1].staff_name == "张伟" and rows[1].counter_zh is None

    with db.write() as s:
        closed = s.get(Complaint, filed["other"])
        assert closed is not None
        closed.status = ComplaintStatus.closed
        s.add(closed)
        s.commit()
    assert [r.id for r in backend.queue(pinned, token)] == [filed["nobody"], filed["named"]]
    everything = backend.queue(pinned, token, status="all")
    assert [(r.id, r.status) for r in everything] == [
        (filed["nobody"], "new"), (filed["other"], "closed"), (filed["named"], "new"),
    ]  # fmt: skip
    assert [r.id for r in backend.queue(pinned, token, status="closed")] == [filed["other"]]
    assert [r.id for r in backend.queue(pinned, token, overdue_only=True)] == [filed["nobody"]]


def test_the_detail_shows_the_same_row_as_the_queue(pinned, db, filed):
    token = token_for(pinned, db, "S1", Role.supervisor)
    listed = {r.id: r for r in backend.queue(pinned, token)}
    assert backend.detail(pinned, token, filed["named"]).row == listed[filed["named"]]
    assert backend.detail(pinned, token, filed["nobody"]).row == listed[filed["nobody"]]
