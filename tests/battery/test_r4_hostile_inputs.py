"""R4: hostile input to every public entry point — oversized bodies, bad UTF-8, wrong types,
script, SQL and formula text. Nothing may answer 5xx or show a stack trace; every refusal is a clear
4xx (or a domain error the screens turn into a message) naming what was wrong; nothing is half-written.

Entry points: the HTTP API; what the counter tablet and the phone pages call (taps, details,
complaints, enrolment codes, staff sign-in at the counter, QR badge tokens, tracking codes); the
admin sign-in. Short form in `make test`; `make soak` runs 10,000 inputs per entry point.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import func, select
from starlette.testclient import TestClient

from admin import backend as admin_backend
from kiosk import backend as kiosk
from models.complaint import Complaint
from models.errors import DomainError, ValidationFailed
from models.rating import Rating
from rapport.entry.server import create_app
from tests.battery.support import SOAK

EXAMPLES = 10_000 if SOAK else 150
HOSTILE_TEXT = [
    "<script>alert(1)</script>",
    "'; DROP TABLE rating; --",
    '" OR 1=1 --',
    "=cmd|' /C calc'!A0",
    "+SUM(1,2)",
    "-1+1",
    "@import",
    "\u202eevil\u202c",
    "a\u200bb\u200dc",
    "\x00\x01\x1b[31m",
    "😀" * 600,
    "中" * 5000,
    "{{7*7}}",
    "../../etc/passwd",
    "%00%0a",
    "\ufffd",
]
text = st.one_of(st.sampled_from(HOSTILE_TEXT), st.text(max_size=700))
scalar = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(), text
)
json_value = st.recursive(
    scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(text, inner, max_size=5)),
    max_leaves=20,
)
TOO_SLOW = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
    database=None,
)
ALLOWED = {200, 201, 400, 401, 409, 413, 422}
COMPLAINT = ["category", "description", "contact", "consent", "locale", "rating_id"]


def counts(db) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with db.read() as s:
        return (
            s.exec(select(func.count()).select_from(Rating)).one(),
            s.exec(select(func.count()).select_from(Complaint)).one(),
        )


@st.composite
def api_requests(draw: st.DrawFn) -> tuple[bytes, dict[str, str]]:
    kind = draw(st.sampled_from(["json", "object", "bytes", "huge", "rating", "complaint"]))
    if kind == "json":
        body = json.dumps(draw(json_value)).encode()
    elif kind == "object":
        body = json.dumps(
            draw(
                st.dictionaries(
                    st.sampled_from(["score", "staff", "reasons", "comment", "x", *COMPLAINT]), json_value
                )
            )
        ).encode()
    elif kind == "bytes":
        body = draw(st.binary(max_size=2000))
    elif kind == "huge":
        body = b'{"score": 5, "comment": "' + b"x" * draw(st.integers(16_000, 40_000)) + b'"}'
    elif kind == "complaint":
        body = json.dumps(
            {
                "category": draw(st.one_of(st.sampled_from(["2.2.2", "2.1.2", "1.1", "9.9"]), text)),
                "description": draw(text),
                "contact": draw(st.one_of(st.none(), st.just("138 1234 5678"), text)),
                "consent": draw(st.one_of(st.booleans(), scalar)),
                "locale": draw(st.one_of(st.just("en"), text)),
                "rating_id": draw(st.one_of(st.none(), st.just(str(uuid.uuid4())), text)),
            }
        ).encode()
    else:
        body = json.dumps(
            {
                "score": draw(st.one_of(st.integers(0, 6), text)),
                "staff": draw(st.one_of(st.just("E1"), text)),
                "reasons": draw(
                    st.one_of(st.lists(st.sampled_from(["2.2.1", "9.9", "x" * 40]), max_size=12), text)
                ),
                "comment": draw(text),
            }
        ).encode()
    headers = {
        "Content-Type": draw(
            st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded"])
        )
    }
    key = draw(st.one_of(st.none(), st.just(f"k-{uuid.uuid4()}"), st.text(max_size=150)))
    if key is not None and key.isascii() and key.isprintable():
        headers["Idempotency-Key"] = key
    headers["Authorization"] = draw(st.sampled_from(["TOKEN", "Bearer nonsense", "Basic abc", ""]))
    return body, headers


@pytest.mark.parametrize("path", ["/api/v1/ratings", "/api/v1/complaints"])
def test_r4_http_api_never_fails_open(ctx, world, db, path):
    client = TestClient(create_app(ctx, scheduler=False), raise_server_exceptions=False)
    before = counts(db)
    created = 0

    @TOO_SLOW
    @given(api_requests())
    def check(request: tuple[bytes, dict[str, str]]) -> None:
        nonlocal created
        body, headers = request
        if headers.get("Authorization") == "TOKEN":
            headers["Authorization"] = f"Bearer {world.device_token}"
        r = client.post(path, content=body, headers=headers)
        assert r.status_code in ALLOWED, (r.status_code, r.text[:300])
        assert "Traceback" not in r.text and 'File "' not in r.text
        if r.status_code >= 400:
            error = r.json()["error"]
            assert error["code"] and error["message"]
        if r.status_code == 201:
            created += 1

    check()
    after = counts(db)
    here = 0 if path.endswith("ratings") else 1
    assert after[here] == before[here] + created  # a refusal stores nothing; a 201 stores exactly one
    assert after[1 - here] == before[1 - here]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/ratings", {"score": 3, "staff": "E\x001"}, "staff"),
        ("/api/v1/complaints", {"category": "2.2\x002", "description": "没人理"}, "category"),
    ],
)
def test_r4_a_nul_character_in_the_api_is_refused_naming_its_field(ctx, world, db, path, body, field):
    """PostgreSQL refuses NUL in any text it is sent: a NUL that reached a query was a 500 there."""
    client = TestClient(create_app(ctx, scheduler=False), raise_server_exceptions=False)
    before = counts(db)
    headers = {"Authorization": f"Bearer {world.device_token}", "Idempotency-Key": f"k-{uuid.uuid4()}"}
    r = client.post(path, json=body, headers=headers)
    assert (r.status_code, r.json()["error"]["field"]) == (422, field), r.text
    assert counts(db) == before


def only_domain_errors(fn: Any) -> Any:
    """Call ``fn``; a DomainError (which every screen turns into a message) is a refusal, anything
    else fails the test."""
    try:
        return fn()
    except DomainError as err:
        assert str(err), "a refusal must carry a message"
        return err


def test_r4_counter_tablet_and_phone_entry_points(ctx, world, db):
    before = counts(db)
    stored = {"ratings": 0, "complaints": 0}
    with db.read() as s:
        from models.org import Staff

        qr = s.exec(select(Staff.qr_token).where(Staff.employee_no == world.staff_no)).one()

    @TOO_SLOW
    @given(
        which=st.sampled_from(["tap", "phone", "details", "complaint", "status", "badge", "enrol", "pin"]),
        a=text,
        b=text,
        score=st.one_of(st.integers(-3, 8), st.just(3)),
        form=st.dictionaries(
            st.sampled_from(["category", "description", "contact", "consent", "locale", "x"]), json_value
        ),
        real=st.booleans(),
    )
    def check(which: str, a: str, b: str, score: int, form: dict[str, Any], real: bool) -> None:
        key = f"h-{uuid.uuid4()}"
        if which == "tap":
            token = world.device_token if real else a
            result = only_domain_errors(
                lambda: kiosk.submit_tap(
                    ctx, device_token=token, idempotency_key=key, score=score, staff_no=b or None
                )
            )
            stored["ratings"] += isinstance(result, uuid.UUID)
        elif which == "phone":
            result = only_domain_errors(
                lambda: kiosk.submit_phone_tap(
                    ctx, qr_token=qr if real else a, phone_id=b, idempotency_key=key, score=score
                )
            )
            stored["ratings"] += isinstance(result, uuid.UUID)
        elif which == "details":
            rid = uuid.uuid4()
            only_domain_errors(lambda: kiosk.save_details(ctx, rating_id=rid, reasons=[a, b], comment=a))
        elif which == "complaint":
            if real:
                form = {"category": "2.2.1", "description": a, "contact": b, "consent": bool(b)}
            result = only_domain_errors(
                lambda: kiosk.submit_complaint(
                    ctx, idempotency_key=key, form=form, device_token=world.device_token
                )
            )
            stored["complaints"] += result is not None and not isinstance(result, DomainError)
        elif which == "status":
            assert only_domain_errors(lambda: kiosk.complaint_status(ctx, a)) is None
        elif which == "badge":
            assert isinstance(only_domain_errors(lambda: kiosk.load_badge(ctx, a)), DomainError) or a == qr
        elif which == "enrol":
            assert isinstance(only_domain_errors(lambda: kiosk.enrol(ctx, a)), DomainError)
        else:
            result = only_domain_errors(
                lambda: kiosk.staff_sign_in(ctx, device_token=world.device_token, employee_no=a, pin=b)
            )
            assert isinstance(result, DomainError)

    check()
    ratings, complaints = counts(db)
    assert ratings == before[0] + stored["ratings"]
    assert complaints == before[1] + stored["complaints"]
    with db.read() as s:
        texts = [c.description for c in s.exec(select(Complaint)).all()]
    for t in texts:
        assert not any(ch in t for ch in "\x00\x1b\u202e\u200b"), t


def test_r4_admin_sign_in_refuses_with_one_message(ctx, world, db):
    @settings(
        max_examples=min(EXAMPLES, 300),
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(
        login=text,
        password=text,
        code=st.one_of(st.none(), text),
        client=st.sampled_from(["1.2.3.4", "", "x" * 300]),
    )
    def check(login: str, password: str, code: str | None, client: str) -> None:
        result = only_domain_errors(
            lambda: admin_backend.sign_in(ctx, login=login, password=password, client=client, totp_code=code)
        )
        assert isinstance(result, DomainError)

    check()


@pytest.mark.parametrize("field", ["category", "description", "contact"])
def test_r4_a_refused_complaint_names_its_field(ctx, world, db, field):
    form = {"category": "2.2.1", "description": "柜员态度很差。", "contact": "13800001111", "consent": True}
    form[field] = {
        "category": "'; DROP TABLE complaint; --",
        "description": "\u200b\u202e\x00 \t",  # nothing left once invisible characters are removed
        "contact": "=1+1" * 2000,
    }[field]
    before = counts(db)
    with pytest.raises(ValidationFailed) as err:
        kiosk.submit_complaint(ctx, idempotency_key="x-1", form=form, device_token=world.device_token)
    assert err.value.field in (field, "contact")
    assert counts(db) == before


@pytest.mark.parametrize("text", ["E1\x00", "\x00", "x" * 200, "É1001", "E1 \u202e"])
def test_r4_identifiers_that_cannot_exist_are_refused_before_the_database(ctx, world, db, text):
    """Regression (found by R4 on PostgreSQL, which refuses text holding NUL outright, and checks
    column lengths): a badge token, a login or an employee number with NUL, over-long or non-ASCII is
    refused like any unknown one, instead of a database error."""
    from models.auth import LoginFailed
    from models.errors import QrTokenUnknown, SignInFailed

    with pytest.raises(QrTokenUnknown):
        kiosk.load_badge(ctx, text)
    with pytest.raises(LoginFailed):
        admin_backend.sign_in(ctx, login=text, password="whatever", client="192.0.2.9", totp_code=None)
    with pytest.raises(SignInFailed):
        kiosk.staff_sign_in(ctx, device_token=world.device_token, employee_no=text, pin="2468")
