"""Further scope rules inside allowed calls."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import select

from admin import backend, dashboard, documents, hotline, ledger, staff_portal, supervision
from models.complaint import Complaint
from models.errors import Forbidden, NotFound
from models.inspection import SpotCheckTask
from models.org import Role, Staff
from models.rating import Rating
from models.sanction import Sanction
from tests.integration.access_matrix.cells import changed, snapshot
from tests.integration.access_matrix.ops.hotline import _hotline_form
from tests.integration.access_matrix.ops.staff_portal import REPORT
from tests.integration.access_matrix.world import Env, sign_in


def test_a_hotline_call_names_no_person_or_counter_of_another_branch(env: Env) -> None:
    token = sign_in(env, "alice")
    before = snapshot(env.db)
    form = _hotline_form(env, "B") | {"branch_id": ""}  # left out: the caller's own branch
    with pytest.raises(hotline.HotlineFormInvalid) as err:
        hotline.record_hotline_complaint(env.ctx, token, form=form, idempotency_key="hotline-x")
    assert err.value.errors == {"staff_no": "staff_other_branch", "counter_id": "counter_unknown"}
    assert not changed(before, snapshot(env.db))


def test_a_spot_check_of_another_supervisor_cannot_be_answered(env: Env) -> None:
    with env.db.read() as s:
        task_b = s.exec(
            select(SpotCheckTask).where(SpotCheckTask.supervisor_id == env.staff["boss.b"])
        ).first()
        task_a = s.exec(
            select(SpotCheckTask).where(SpotCheckTask.supervisor_id == env.staff["boss.a"])
        ).first()
    assert task_a is not None and task_b is not None
    for login, task in (("boss.a", task_b), ("root", task_a)):
        token = sign_in(env, login)
        before = snapshot(env.db)
        with pytest.raises(Forbidden):
            supervision.record(
                env.ctx, token, staff_id=task.staff_id, kind="spot", notes="",
                findings=[("2.2.1", "compliant", "")], spot_check_id=task.id,
            )  # fmt: skip
        assert not changed(before, snapshot(env.db)), login


def complaints_of(env: Env, target: str) -> set[int]:
    with env.db.read() as s:
        return set(s.exec(select(Complaint.id).where(Complaint.branch_id == env.branch[target])).all())


def test_a_role_or_branch_change_applies_to_the_next_call_of_an_open_session(env: Env) -> None:
    """The scope is read afresh on every call, never remembered from the sign-in."""
    token = sign_in(env, "boss.a")
    assert {r.id for r in backend.queue(env.ctx, token, status="all")} == complaints_of(env, "A")
    assert ledger.personal_file(env.ctx, token, env.person["A"]).staff_id == env.person["A"]
    with env.db.write() as s:
        boss = s.get(Staff, env.staff["boss.a"])
        assert boss is not None
        boss.branch_id = env.branch["B"]
        s.add(boss)
        s.commit()
    assert {r.id for r in backend.queue(env.ctx, token, status="all")} == complaints_of(env, "B")
    with pytest.raises(Forbidden):
        backend.detail(env.ctx, token, env.complaint["A"])
    with pytest.raises(Forbidden):
        ledger.personal_file(env.ctx, token, env.person["A"])
    assert {e.branch.id for e in ledger.ledger_view(env.ctx, token).entries} == {env.branch["B"]}
    with env.db.write() as s:
        boss = s.get(Staff, env.staff["boss.a"])
        assert boss is not None
        boss.role = Role.staff
        s.add(boss)
        s.commit()
    for call in (
        backend.queue,
        backend.alerts,
        supervision.inspections,
        dashboard.dashboard,
        ledger.ledger_view,
        documents.branches,
    ):
        with pytest.raises(Forbidden):
            call(env.ctx, token)


def test_a_colleagues_record_or_rating_is_as_unknown_to_staff_as_a_missing_one(env: Env) -> None:
    """On their own page a staff member names entries and ratings by id: one of a colleague at the
    same branch (E2) answers exactly like an id that does not exist, and nothing changes."""
    with env.db.read() as s:
        entry = s.exec(select(Sanction.id).where(Sanction.staff_id == env.people["E2"])).first()
        rating = s.exec(select(Rating.id).where(Rating.staff_id == env.people["E2"])).first()
    assert entry is not None and rating is not None
    token = sign_in(env, "alice")
    calls: list[Callable[[Any], Any]] = [
        lambda i: staff_portal.acknowledge_record(env.ctx, token, i),
        lambda i: staff_portal.write_report(env.ctx, token, i, REPORT),
        lambda i: staff_portal.appeal_record(env.ctx, token, i, "处罚依据不足，请复核"),
    ]
    before = snapshot(env.db)
    for call in calls:
        answers = []
        for sanction_id in (entry, 999_999):
            with pytest.raises(NotFound) as err:
                call(sanction_id)
            answers.append((type(err.value), str(err.value)))
        assert answers[0] == answers[1], answers
    answers = []
    for rating_id in (str(rating), str(uuid.uuid4())):
        with pytest.raises(NotFound) as err:
            staff_portal.appeal_a_rating(env.ctx, token, rating_id, "这位顾客认错了人")
        answers.append((type(err.value), str(err.value)))
    assert answers[0] == answers[1], answers
    assert not changed(before, snapshot(env.db))


def test_an_unknown_complaint_or_alert_id_tells_nothing(env: Env) -> None:
    """A supervisor probing ids gets the same Forbidden for another branch's and for no complaint."""
    token = sign_in(env, "boss.a")
    for cid in (env.complaint["B"], 999_999):
        for call in (backend.detail, backend.reveal):
            with pytest.raises(Forbidden):
                call(env.ctx, token, cid)
    before = snapshot(env.db)
    backend.acknowledge_alert(env.ctx, token, 999_999)
    assert not changed(before, snapshot(env.db))


def test_an_unknown_ledger_entry_appeal_or_person_tells_a_supervisor_nothing(env: Env) -> None:
    """Regression: these answered NotFound for a missing id and Forbidden for another branch's, so a
    supervisor could tell which ids exist elsewhere. Now both are the same Forbidden; an
    administrator, who sees every branch, still hears that an id names nothing."""
    token = sign_in(env, "boss.a")
    before = snapshot(env.db)
    calls = [
        lambda i: ledger.decide_proposal(env.ctx, token, i, approve=True, reason="探测一下"),
        lambda i: ledger.decide_appeal(env.ctx, token, i, overturn=True, reason="探测一下"),
        lambda i: ledger.personal_file(env.ctx, token, i),
        lambda i: documents.rotate_token(env.ctx, token, i),
    ]
    for call in calls:
        with pytest.raises(Forbidden) as missing:
            call(999_999)
        assert not isinstance(missing.value, NotFound)
    with pytest.raises(Forbidden):
        ledger.personal_file(env.ctx, token, env.person["B"])
    assert not changed(before, snapshot(env.db))
    with pytest.raises(NotFound):
        ledger.personal_file(env.ctx, sign_in(env, "root"), 999_999)
