"""The complaints API contract (docs/API.md): 201 with the tracking code shown once, 200 with the same
code on a replay, 409 on a reused key, 422 naming the field, 400, 413 and 401, nothing stored on any
error, and the same rules and alert hook as a complaint filed at the kiosk."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlmodel import func, select
from starlette.testclient import TestClient

from kiosk import backend as kiosk
from models.alerts import Alert, AlertView
from models.audit import AuditEvent
from models.codes import normalise_tracking_code, tracking_digest
from models.complaint import Complaint, ComplaintEvent, Severity, public_status
from models.devices import Device
from rapport.core.context import AppContext
from rapport.core.settings import Settings
from rapport.entry.server import create_app

PUBLIC_URL = "https://rapport.example.cn"
FORM = {"category": "2.2.2", "description": "等了很久没人理"}
BRIBE = {"category": "2.1.2", "description": "柜员私下索要好处费"}  # a high-severity clause by default


@pytest.fixture
def client(ctx: AppContext, tmp_path) -> TestClient:  # type: ignore[no-untyped-def]
    ctx.settings = Settings(data_dir=tmp_path, database_url="sqlite://", public_url=PUBLIC_URL)
    return TestClient(create_app(ctx, scheduler=False))


def post(client, world, body, key="c-1", token=None, **headers):  # type: ignore[no-untyped-def]
    headers = {"Idempotency-Key": key, **headers} if key is not None else dict(headers)
    if token is not False:
        headers["Authorization"] = f"Bearer {token or world.device_token}"
    return client.post("/api/v1/complaints", json=body, headers=headers)


def stored(db) -> tuple[int, int, int, int]:  # type: ignore[no-untyped-def]
    """Complaints, their events, alerts and audit entries: what filing a complaint writes."""
    with db.read() as s:
        return tuple(  # type: ignore[return-value]
            s.exec(select(func.count()).select_from(model)).one()
            for model in (Complaint, ComplaintEvent, Alert, AuditEvent)
        )


@pytest.fixture
def nothing(db, world) -> tuple[int, int, int, int]:  # type: ignore[no-untyped-def]
    """What is stored before the test files anything (the world's own audit entries)."""
    return stored(db)


def the_complaint(db) -> Complaint:  # type: ignore[no-untyped-def]
    with db.read() as s:
        return s.exec(select(Complaint)).one()


def test_first_use_files_the_complaint_and_returns_its_tracking_code_once(client, world, db):
    r = post(client, world, FORM | {"contact": "138 1234 5678", "consent": True, "locale": "en"})
    assert r.status_code == 201, r.text
    body = r.json()
    code = body["tracking_code"]
    assert normalise_tracking_code(code) is not None
    assert body["status_url"] == f"{PUBLIC_URL}/t/{code}"
    assert (body["status"], body["severity"], body["category"]) == ("new", "normal", "2.2.2")
    assert body["reply_within_hours"] > 0 and "message" not in body
    due = datetime.fromisoformat(body["due_at"].replace("Z", "+00:00"))
    assert due > datetime.fromisoformat(body["created_at"].replace("Z", "+00:00"))

    complaint = the_complaint(db)
    # Filed for the device's counter, naming who is on duty there, as the kiosk does.
    where = (complaint.branch_id, complaint.counter_id, complaint.staff_id, complaint.channel)
    assert where == (world.branch_id, world.counter_id, world.staff_id, "kiosk")
    assert (complaint.contact, complaint.contact_kind, complaint.locale) == ("13812345678", "phone", "en")
    assert complaint.consent_at is not None
    assert complaint.due_at == due.astimezone(UTC)
    # Only the code's digest is kept; the code itself is in no stored row.
    assert complaint.code_digest == tracking_digest(code)
    with db.read() as s:
        rows = [
            str(tuple(row))
            for table in ("complaint", "complaint_event", "audit_event")
            for row in s.execute(text(f"SELECT * FROM {table}")).all()
        ]
        assert not [row for row in rows if normalise_tracking_code(code) in row.replace("-", "")]
        view = public_status(s, code=code)  # the code opens the customer's status page
    assert view is not None and view.status == "new" and view.due_at == complaint.due_at
    assert stored(db)[0:2] == (1, 1)  # the complaint and its public "received" step


def test_the_same_key_and_body_again_returns_200_with_the_same_tracking_code(client, world, db):
    first = post(client, world, FORM)
    after_first = stored(db)
    again = post(client, world, FORM)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert stored(db) == after_first


def test_a_replay_whose_code_cannot_be_recovered_says_so(client, ctx, world, db, tmp_path):
    assert post(client, world, FORM).status_code == 201
    after_first = stored(db)
    # The server's secret key was changed since: the code cannot be derived again.
    rotated = AppContext(settings=ctx.settings, db=db, secret_key="another-secret-" + "y" * 32)
    again = post(TestClient(create_app(rotated, scheduler=False)), world, FORM)
    assert again.status_code == 200
    body = again.json()
    assert body["tracking_code"] is None and body["status_url"] is None
    assert "cannot be shown again" in body["message"] and body["status"] == "new"
    assert stored(db) == after_first


def test_the_same_key_with_another_body_is_409_naming_the_key(client, world, db):
    post(client, world, FORM)
    after_first = stored(db)
    r = post(client, world, FORM | {"description": "另一件事"})
    assert r.status_code == 409
    error = r.json()["error"]
    assert error["code"] == "idempotency_conflict" and error["field"] == "Idempotency-Key"
    assert "Idempotency-Key" in error["message"]
    assert stored(db) == after_first


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"description": "没人理"}, "category"),
        (FORM | {"category": "9.9.9"}, "category"),
        (FORM | {"category": "1.1"}, "category"),  # a clause customers cannot cite
        (FORM | {"category": 221}, "category"),
        (FORM | {"category": "2.2\x002"}, "category"),  # NUL: PostgreSQL would refuse the query
        ({"category": "2.2.2"}, "description"),
        (FORM | {"description": "\u200b \u202e "}, "description"),  # nothing left once cleaned
        (FORM | {"description": ["x"]}, "description"),
        (FORM | {"contact": "12345", "consent": True}, "contact"),
        (FORM | {"contact": 13812345678, "consent": True}, "contact"),
        (FORM | {"contact": "13812345678"}, "consent"),
        (FORM | {"contact": "13812345678", "consent": False}, "consent"),
        (FORM | {"contact": "a@example.com", "consent": "yes"}, "consent"),
        (FORM | {"locale": "fr"}, "locale"),
        (FORM | {"staff": "E2"}, "staff"),
        (FORM | {"counter_id": 2}, "counter_id"),
        (FORM | {"rating_id": "not-a-uuid"}, "rating_id"),
        (FORM | {"rating_id": 7}, "rating_id"),
        (FORM | {"rating_id": "6f1c2e7a-3b1d-4a55-9a7e-0c2f4b1d9e21"}, "rating_id"),  # no such rating
    ],
)
def test_invalid_input_is_422_naming_the_field_and_stores_nothing(client, nothing, world, db, body, field):
    r = post(client, world, body)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "validation_failed" and error["field"] == field
    assert error["message"].startswith(f"{field}: ") and len(error["message"]) > len(field) + 4
    assert stored(db) == nothing


def test_contact_without_consent_is_refused_with_what_to_send(client, nothing, world, db):
    r = post(client, world, FORM | {"contact": "name@example.com"})
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["field"] == "consent" and '"consent": true' in error["message"]
    assert stored(db) == nothing
    # With consent the same contact is kept.
    assert post(client, world, FORM | {"contact": "name@example.com", "consent": True}).status_code == 201


def test_a_rating_from_another_device_is_refused_and_one_from_this_device_is_attached(client, ctx, world, db):
    # Tablet 2 (the other counter of the same branch) takes a rating; tablet 1 cannot complain with it.
    other = kiosk.submit_tap(
        ctx, device_token=world.closed_device_token, idempotency_key="t-2", score=1, staff_no=None
    )
    before = stored(db)
    r = post(client, world, FORM | {"rating_id": str(other)})
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "rating_id" and "this device" in r.json()["error"]["message"]
    assert stored(db) == before

    rated = client.post(
        "/api/v1/ratings",
        json={"score": 5},
        headers={"Authorization": f"Bearer {world.device_token}", "Idempotency-Key": "t-1"},
    )
    assert rated.status_code == 201
    r = post(client, world, FORM | {"rating_id": rated.json()["id"]}, key="c-2")
    assert r.status_code == 201, r.text
    assert r.json()["severity"] == Severity.low  # filed alongside a 5-star rating
    complaint = the_complaint(db)
    assert str(complaint.rating_id) == rated.json()["id"] and complaint.staff_id == world.staff_id


def test_a_missing_or_malformed_idempotency_key_is_422_naming_the_header(client, nothing, world, db):
    for key in (None, " ", "é".encode(), "k" * 101):
        r = post(client, world, FORM, key=key)
        assert r.status_code == 422, key
        assert r.json()["error"]["field"] == "Idempotency-Key"
    assert stored(db) == nothing


@pytest.mark.parametrize("token", [False, "not-a-real-token", "revoked"])
def test_a_missing_unknown_or_revoked_device_token_is_401(client, nothing, world, db, token):
    if token == "revoked":
        with db.write() as s:
            device = s.exec(select(Device).where(Device.counter_id == world.counter_id)).one()
            device.revoked_at = datetime.now(UTC)
            s.add(device)
            s.commit()
        token = world.device_token
    r = post(client, world, BRIBE, token=token)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json()["error"]["code"] == "unauthorized"
    assert stored(db) == nothing


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        (b"{not json", 400, "invalid_json"),
        (b"\xff\xfe", 400, "invalid_json"),
        (b'["2.2.2", "x"]', 400, "invalid_json"),
        (json.dumps(FORM | {"description": "长" * 6000}, ensure_ascii=False).encode(), 413, "body_too_large"),
    ],
)
def test_malformed_json_is_400_and_an_oversized_body_is_413(
    client, nothing, world, db, content, status, code
):
    headers = {
        "Idempotency-Key": "k",
        "Authorization": f"Bearer {world.device_token}",
        "Content-Type": "application/json",
    }
    r = client.post("/api/v1/complaints", content=content, headers=headers)
    assert (r.status_code, r.json()["error"]["code"]) == (status, code)
    assert stored(db) == nothing


async def test_a_high_severity_complaint_raises_one_live_alert_also_when_replayed(client, ctx, world, db):
    """What a supervisor's screen subscribed to the branch receives (admin/app.py subscribes the same
    way): one alert for the high-severity complaint, none for a normal one, none again on a replay."""
    got: list[AlertView] = []

    async def on_alert(alert: AlertView) -> None:
        got.append(alert)

    ctx.alerts.subscribe([world.branch_id], on_alert)
    normal = await asyncio.to_thread(post, client, world, FORM, "c-normal")
    first = await asyncio.to_thread(post, client, world, BRIBE, "c-high")
    for _ in range(50):
        if got:
            break
        await asyncio.sleep(0.05)
    again = await asyncio.to_thread(post, client, world, BRIBE, "c-high")
    await asyncio.sleep(0.3)  # time for a second delivery, if the replay raised one
    assert (normal.status_code, first.status_code, again.status_code) == (201, 201, 200)
    assert first.json()["severity"] == "high" and again.json() == first.json()
    with db.read() as s:
        high = s.exec(select(Complaint).where(Complaint.idempotency_key == "c-high")).one()
        alerts = s.exec(select(Alert)).all()
    assert [(a.kind, a.complaint_id) for a in alerts] == [("high_complaint", high.id)]
    assert [(a.id, a.kind, a.complaint_id) for a in got] == [(alerts[0].id, "high_complaint", high.id)]
