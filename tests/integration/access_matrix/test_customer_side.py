"""The customer side: kiosks, phones and tracking codes."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import pytest
from sqlmodel import col, func, select
from starlette.testclient import TestClient

from kiosk import backend as kiosk
from models import auth
from models.complaint import (
    Complaint,
    ComplaintNotFound,
    ComplaintStatus,
    ComplaintStatusView,
    assign,
    public_status,
    record_investigation,
    transition,
)
from models.crypto import hash_secret, new_token
from models.devices import register_device
from models.duty import Duty
from models.errors import DeviceNotAuthorized, DomainError, QrTokenUnknown, SignInFailed, ValidationFailed
from models.org import Counter, Device, Staff
from models.rating import Rating
from rapport.entry.server import create_app
from tests.integration.access_matrix.cells import changed, snapshot
from tests.integration.access_matrix.world import NOW, PASSWORD

FORM = {"category": "2.2.2", "description": "等了很久没人理", "locale": "zh-CN"}


def key() -> str:
    return f"kiosk-{uuid.uuid4()}"


def complaints(db) -> list[Complaint]:
    with db.read() as s:
        return list(s.exec(select(Complaint).order_by(col(Complaint.id))).all())


def count(db, model: Any) -> int:
    with db.read() as s:
        return s.exec(select(func.count()).select_from(model)).one()


@pytest.fixture
def branch_b_device(db, world) -> str:
    with db.write() as s:
        counter = Counter(branch_id=world.other_branch_id, code="B-01", name_zh="乙1号窗口", name_en="B1")
        s.add(counter)
        s.commit()
        assert counter.id is not None
        return register_device(s, counter_id=counter.id, label="B tablet")[1]


def test_a_kiosk_files_only_for_its_own_counter_and_branch(ctx, db, world, branch_b_device) -> None:
    before = snapshot(db)
    for smuggled in ({"counter_id": world.closed_counter_id}, {"branch_id": world.other_branch_id},
                     {"staff_no": world.other_branch_staff_no}, {"staff_id": 1}):  # fmt: skip
        with pytest.raises(ValidationFailed):
            kiosk.submit_complaint(
                ctx, idempotency_key=key(), form=FORM | smuggled, device_token=world.device_token
            )
    assert not changed(before, snapshot(db))

    for token in (world.device_token, world.closed_device_token, branch_b_device):
        assert kiosk.submit_complaint(ctx, idempotency_key=key(), form=FORM, device_token=token) is not None
    with db.read() as s:
        counter_b = s.exec(select(Counter).where(Counter.code == "B-01")).one()
    where = [(c.branch_id, c.counter_id, c.staff_id) for c in complaints(db)]
    assert where == [
        (world.branch_id, world.counter_id, world.staff_id),  # alice is on duty there
        (world.branch_id, world.closed_counter_id, None),
        (world.other_branch_id, counter_b.id, None),
    ]


def test_a_kiosk_rates_and_signs_in_only_people_of_its_own_branch(ctx, db, world) -> None:
    before = snapshot(db)
    with pytest.raises(ValidationFailed) as err:
        kiosk.submit_tap(
            ctx, device_token=world.device_token, idempotency_key=key(), score=1,
            staff_no=world.other_branch_staff_no,
        )  # fmt: skip
    assert err.value.field == "staff"
    with pytest.raises(SignInFailed):
        kiosk.staff_sign_in(
            ctx, device_token=world.device_token, employee_no=world.other_branch_staff_no, pin="2468"
        )
    assert not changed(before, snapshot(db))
    client = TestClient(create_app(ctx, scheduler=False))
    r = client.post(
        "/api/v1/ratings", json={"staff": world.other_branch_staff_no, "score": 1},
        headers={"Authorization": f"Bearer {world.device_token}", "Idempotency-Key": key()},
    )  # fmt: skip
    assert r.status_code == 422 and r.json()["error"]["field"] == "staff"
    assert count(db, Rating) == 0 and count(db, Duty) == 1


def test_a_complaint_cannot_borrow_a_rating_given_at_another_branch(ctx, db, world, branch_b_device) -> None:
    """The rating a complaint comes with must be one given at the same place; a rating id from a
    counter of branch B must not attach branch B's staff member (and score) to a complaint filed at
    a kiosk of branch A, nor to one filed through a branch A badge."""
    foreign = kiosk.submit_tap(
        ctx,
        device_token=branch_b_device,
        idempotency_key=key(),
        score=1,
        staff_no=world.other_branch_staff_no,
    )
    with db.read() as s:
        carol = s.exec(select(Staff).where(Staff.employee_no == world.other_branch_staff_no)).one()
        alice = s.get(Staff, world.staff_id)
        assert alice is not None
    problems = []
    for via in ({"device_token": world.device_token}, {"qr_token": alice.qr_token}):
        before = {c.id for c in complaints(db)}
        try:
            kiosk.submit_complaint(ctx, idempotency_key=key(), form=FORM, rating_id=foreign, **via)
        except DomainError:
            if {c.id for c in complaints(db)} != before:
                problems.append(f"{via}: refused, but a complaint was stored")
            continue
        [filed] = [c for c in complaints(db) if c.id not in before]
        assert filed.branch_id == world.branch_id
        if filed.rating_id == foreign or filed.staff_id == carol.id:
            problems.append(
                f"filed through {next(iter(via))} of branch A, the complaint (branch_id={filed.branch_id}) "
                f"took branch B's rating (rating_id={filed.rating_id}) and names branch B's staff member "
                f"{carol.employee_no} (staff_id={filed.staff_id})"
            )
    assert not problems, "\n".join(problems)


def test_a_revoked_or_unknown_device_token_is_refused_everywhere(ctx, db, world) -> None:
    with db.write() as s:
        device = s.exec(select(Device).where(Device.counter_id == world.counter_id)).one()
        device.revoked_at = NOW
        s.add(device)
        s.commit()
    with db.write() as s:
        person = s.get(Staff, world.staff_id)
        assert person is not None
        person.username, person.password_hash = "alice", hash_secret(PASSWORD)
        s.add(person)
        s.commit()
        staff_token = auth.authenticate(s, login="alice", password=PASSWORD, client="192.0.2.1")[1]
    client = TestClient(create_app(ctx, scheduler=False))
    pin = {"employee_no": world.staff_no, "pin": "2468"}
    for token in (world.device_token, new_token(32), staff_token, ""):
        before = snapshot(db)
        with pytest.raises(DeviceNotAuthorized):
            kiosk.load_counter(ctx, token)
        with pytest.raises(DeviceNotAuthorized):
            kiosk.submit_tap(ctx, device_token=token, idempotency_key=key(), score=2, staff_no=None)
        # An empty device token is no device: the form is then taken as a badge's, and refused so.
        with pytest.raises(DeviceNotAuthorized if token else QrTokenUnknown):
            kiosk.submit_complaint(ctx, idempotency_key=key(), form=FORM, device_token=token)
        with pytest.raises(DeviceNotAuthorized):
            kiosk.staff_sign_in(ctx, device_token=token, **pin)
        with pytest.raises(DeviceNotAuthorized):
            kiosk.staff_sign_out(ctx, device_token=token, **pin)
        r = client.post(
            "/api/v1/ratings", json={"score": 2},
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key()},
        )  # fmt: skip
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", r.text
        assert r.json()["error"]["code"] == "unauthorized"
        assert not changed(before, snapshot(db)), token
    assert count(db, Rating) == 0 and count(db, Complaint) == 0


PUBLIC_VIEW_FIELDS = {
    "status", "severity", "category", "locale", "created_at", "due_at", "reply", "satisfied", "grade",
    "can_answer_satisfaction", "timeline", "promise_unit", "promise_amount", "timezone", "extensions",
    "remedies_zh", "remedies_en",
}  # fmt: skip
KIOSK_STATUS_FIELDS = {
    "status", "created_at", "due_at", "category", "reply", "satisfied", "grade", "can_answer", "timeline",
    "promise_unit", "promise_amount", "timezone", "extensions",
    "remedies_zh", "remedies_en",
}  # fmt: skip


def test_a_tracking_code_never_shows_contact_staff_or_internal_notes(ctx, db, world, branch_b_device) -> None:
    contact, note, cause, fix = "13812345678", "内部备注：王芳当班", "王芳玩手机", "约谈王芳"
    form = FORM | {"contact": contact, "consent": True}
    mine = kiosk.submit_complaint(ctx, idempotency_key=key(), form=form, device_token=world.device_token)
    form_b = FORM | {"category": "2.3.3", "contact": "13900001111", "consent": True}
    other = kiosk.submit_complaint(ctx, idempotency_key=key(), form=form_b, device_token=branch_b_device)
    assert mine is not None and other is not None
    a, _b = complaints(db)
    assert a.id is not None and a.staff_id == world.staff_id  # alice was on duty: the complaint names her
    with db.write() as s:
        boss = s.exec(select(Staff).where(Staff.employee_no == "S1")).one()
        assert boss.id is not None
        by = {"complaint_id": a.id, "actor_staff_id": boss.id}
        transition(s, to=ComplaintStatus.acknowledged, note=note, **by)
        assign(s, assignee_id=boss.id, **by)
        transition(s, to=ComplaintStatus.investigating, note=note, **by)
        record_investigation(s, root_cause=cause, corrective_action=fix, **by)
        transition(s, to=ComplaintStatus.resolved, reply="已向您致歉", finding="partly", about="staff", **by)
        alice = s.get(Staff, world.staff_id)
        assert alice is not None
        secrets_of_a = [contact, "138****5678", alice.display_name, alice.employee_no, alice.qr_token,
                        boss.display_name, note, cause, fix, "Counter 1", "1号窗口"]  # fmt: skip
        view = public_status(s, code=mine.code)
    assert isinstance(view, ComplaintStatusView)
    assert {f.name for f in dataclasses.fields(view)} == PUBLIC_VIEW_FIELDS
    status = kiosk.complaint_status(ctx, mine.code)
    assert status is not None and {f.name for f in dataclasses.fields(status)} == KIOSK_STATUS_FIELDS
    assert all({f.name for f in dataclasses.fields(e)} == {"at", "kind"} for e in status.timeline)
    for shown in (repr(view), repr(status)):
        leaked = [text for text in secrets_of_a if text in shown]
        assert not leaked, f"the tracking code's page shows {leaked}"
    assert status.reply == "已向您致歉" and status.category == "2.2.2" and status.can_answer

    # One code answers for its own complaint only; unknown and malformed codes answer nothing.
    other_status = kiosk.complaint_status(ctx, other.code)
    assert other_status is not None and other_status.category == "2.3.3" and other_status.reply is None
    before = snapshot(db)
    for code in ("", "XXXX-XXXX-X", mine.code[:-1], "'; DROP TABLE complaint; --"):
        assert kiosk.complaint_status(ctx, code) is None
        with pytest.raises(ComplaintNotFound):
            kiosk.answer(ctx, code=code, grade="dissatisfied")
    assert not changed(before, snapshot(db))
    kiosk.answer(ctx, code=mine.code, grade="fairly")
    a_after, b_after = complaints(db)
    assert a_after.status == ComplaintStatus.closed and b_after.status == ComplaintStatus.new


def test_an_unknown_or_retired_qr_token_is_refused(ctx, db, world) -> None:
    with db.write() as s:
        carol = s.exec(select(Staff).where(Staff.employee_no == world.other_branch_staff_no)).one()
        retired = carol.qr_token
        carol.active = False
        s.add(carol)
        s.commit()
    before = snapshot(db)
    for token in ("", "nope", "x" * 65, retired, retired.upper()):
        with pytest.raises(QrTokenUnknown):
            kiosk.load_badge(ctx, token)
        with pytest.raises(QrTokenUnknown):
            kiosk.submit_phone_tap(ctx, qr_token=token, phone_id="phone-1", idempotency_key=key(), score=1)
        with pytest.raises(QrTokenUnknown):
            kiosk.submit_complaint(ctx, idempotency_key=key(), form=FORM, qr_token=token)
    with pytest.raises(QrTokenUnknown):  # neither a device nor a badge: nobody to file for
        kiosk.submit_complaint(ctx, idempotency_key=key(), form=FORM)
    assert not changed(before, snapshot(db))


def test_the_public_board_shows_figures_only_and_writes_nothing(ctx, db, world) -> None:
    """/board/<code> (kiosk/board.py) needs no sign-in: it answers with counts and rates, names no
    one without their public consent, shows nothing a customer wrote or left, and changes nothing."""
    from kiosk.board import read_board

    contact, comment = "13812345678", "排队太久，窗口人员在看手机"
    rating_id = kiosk.submit_tap(
        ctx, device_token=world.device_token, idempotency_key=key(), score=1, staff_no=None
    )
    kiosk.save_details(ctx, rating_id=rating_id, reasons=[], comment=comment)
    form = FORM | {"contact": contact, "consent": True}
    assert kiosk.submit_complaint(ctx, idempotency_key=key(), form=form, device_token=world.device_token)
    with db.read() as s:
        alice = s.get(Staff, world.staff_id)
        assert alice is not None and alice.public_name_consent_at is None  # on duty, never agreed
    before = snapshot(db)
    board = read_board(ctx, "A")
    assert board is not None and board.figures.rated == 1 and board.counters[0].staff_name is None
    shown = repr(board)
    for secret in (contact, "138****5678", comment, alice.display_name, alice.employee_no, alice.qr_token,
                   world.device_token):  # fmt: skip
        assert secret not in shown, f"the public board shows {secret!r}"
    for code in ("B", " A ", "", "NOPE", "'; DROP TABLE branch; --", "A" * 500):
        other = read_board(ctx, code)
        assert other is None or other.code in ("A", "B")
    assert not changed(before, snapshot(db))
