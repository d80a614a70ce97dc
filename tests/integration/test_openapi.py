"""/api/v1/openapi.json is true: schemathesis generates requests for every operation it describes, valid
ones and invalid ones (wrong types, missing fields and headers, malformed keys), sends them to the app
in this process with a fresh database, and checks each answer: no 5xx, a documented status, the
documented content type and headers, and a body matching the status's schema. Every case is sent with
the enrolled device's token and again without a token (and with an unknown one), which must be the
documented 401. Seeded and bounded (``derandomize``, a fixed number of examples): the same requests on
every run, whatever the day (the clock is pinned), in well under a minute. For a longer, unseeded hunt:
``RAPPORT_OPENAPI_RANDOM=1 RAPPORT_OPENAPI_EXAMPLES=1000 pytest tests/integration/test_openapi.py``."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import hypothesis
import pytest
import schemathesis
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from openapi_spec_validator import validate
from schemathesis import GenerationMode, checks
from sqlmodel import col, select
from starlette.testclient import TestClient

from models.catalog import ConductClause
from models.clock import utcnow
from models.org import Counter as CounterRow
from models.rating import REASONS_MAX
from models.services import ServiceItem
from rapport.core.settings import Settings
from rapport.entry.api import COMPLAINTS_PATH, RATINGS_PATH, build_router
from rapport.entry.openapi import API_PREFIX, OPENAPI_PATH
from rapport.entry.openapi import OPERATIONS as DESCRIBED
from rapport.entry.server import create_app
from tests.conftest import clock_pinned

PUBLIC_URL = "https://rapport.example.cn"
EXAMPLES = int(os.environ.get("RAPPORT_OPENAPI_EXAMPLES", "50"))  # per operation and mode
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,  # what the description says is invalid is refused with a 4xx
]


@pytest.fixture(autouse=True)
def pinned_clock() -> Iterator[None]:
    """Before the world (its duty starts an hour before "now"): every due time and misuse interval the
    same on every run."""
    with clock_pinned():
        yield


@pytest.fixture
def app(ctx, world, tmp_path):  # type: ignore[no-untyped-def]
    ctx.settings = Settings(data_dir=tmp_path, database_url="sqlite://", public_url=PUBLIC_URL)
    return create_app(ctx, scheduler=False)


# (path, method, what to generate): every operation of the description, with schema-valid requests
# and, where there is anything to get wrong (a body, a header), invalid ones.
OPERATIONS = [
    pytest.param(path, method, mode, id=f"{method.upper()} {path} {mode.value}")
    for path, methods in DESCRIBED.items()
    for method, operation in methods.items()
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE or "requestBody" in operation or "parameters" in operation
]


@pytest.mark.parametrize(("path", "method", "mode"), OPERATIONS)
def test_every_operation_answers_as_described(app, world, db, path, method, mode):  # type: ignore[no-untyped-def]
    schema = schemathesis.openapi.from_asgi(OPENAPI_PATH, app)  # the description the app serves
    schema.config.generation.update(with_security_parameters=False)  # the token is sent below
    operation = schema[path][method.upper()]
    secured = operation.definition.raw.get("security") != []
    token = {"Authorization": f"Bearer {world.device_token}"}
    known = _known_values(app, world, db) if mode is GenerationMode.POSITIVE else {}

    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=os.environ.get("RAPPORT_OPENAPI_RANDOM") != "1",  # the same requests on every run
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure reports the case as found
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    def answers_as_described(case, data):  # type: ignore[no-untyped-def]
        if isinstance(case.body, dict):
            # Valid requests made of random text rarely name a real clause, staff member or rating:
            # now and then put in one the world knows, so the storing paths are reached too.
            for name, values in known.items():
                if name in case.body and data.draw(st.booleans()):
                    case.body[name] = data.draw(st.sampled_from(values))
        if case.path_parameters and "number" in case.path_parameters and "numbers" in known:
            if data.draw(st.booleans()):  # a transaction the world holds, here or in another branch
                case.path_parameters["number"] = data.draw(st.sampled_from(known["numbers"]))
        if secured:
            assert "Authorization" not in (case.headers or {})
            # No token: 401 before anything else. An unknown one is looked up last, after the body
            # and the key are checked (docs/API.md), so it may be any of the documented answers.
            for anonymous in ({}, {"Authorization": "Bearer not-a-device-token"}):
                response = case.call(headers=anonymous)
                case.validate_response(response, checks=CHECKS, headers=anonymous)
                assert response.status_code == 401 or anonymous, response.text
        response = case.call_and_validate(headers=token if secured else {}, checks=CHECKS)
        statuses[response.status_code] += 1

    statuses: Counter[int] = Counter()
    answers_as_described()
    # Bounded but not blind: each operation got past the checks at the door at least once.
    if mode is GenerationMode.POSITIVE:
        assert statuses.keys() & {200, 201}, statuses


def _known_values(app, world, db) -> dict[str, list[Any]]:  # type: ignore[no-untyped-def]
    """Values of the fixtures' world for the bodies' fields: real and wrong ones."""
    with db.read() as s:
        rateable = s.exec(select(ConductClause).where(col(ConductClause.rateable), col(ConductClause.active)))
        clauses = list(rateable.all())
    client = TestClient(app)
    here, there = (
        client.post(
            "/api/v1/ratings",
            json={"score": 2},
            headers={"Authorization": f"Bearer {device}", "Idempotency-Key": key},
        ).json()["id"]
        for device, key in ((world.device_token, "tap-here"), (world.closed_device_token, "tap-there"))
    )
    with db.write() as s:
        s.add(ServiceItem(code="SVC-1", name_zh="个人社保查询", name_en="Social insurance enquiry"))
        s.add(ServiceItem(code="SVC-OLD", name_zh="已停办事项", active=False))
        counters = [c.code for c in s.exec(select(CounterRow)).all()]
        s.commit()
    numbers = [
        client.post(
            "/api/v1/services",
            json={"number": number, "service_code": "SVC-1"},
            headers={"Authorization": f"Bearer {device}", "Idempotency-Key": f"tx-{number}"},
        ).json()["number"]
        for device, number in ((world.device_token, "TX-HERE"), (world.closed_device_token, "TX-THERE"))
    ]
    now = utcnow()  # pinned (pinned_clock)
    return {
        "numbers": numbers,  # path parameters: reported at this device's branch, and (maybe) at another
        "service_code": ["SVC-1", "SVC-OLD"],
        "counter": [None, *counters],
        "finished_at": [
            None,
            (now - timedelta(minutes=3)).isoformat(),
            (now + timedelta(days=1)).isoformat(),
        ],
        "staff": [None, world.staff_no, world.colleague_no, world.other_branch_staff_no],
        "reasons": [[c.code] for c in clauses[:REASONS_MAX]] + [[c.code for c in clauses[:3]]],
        "category": [c.code for c in clauses if c.polarity != "positive"],
        "contact": ["138 1234 5678", "+86 139-0000-0000", "name@example.com"],
        "rating_id": [here, there],  # given on this device, and on another one
    }


def test_the_description_is_valid_openapi_3_1_and_covers_the_api(app, ctx):  # type: ignore[no-untyped-def]
    document = TestClient(app).get(OPENAPI_PATH).json()
    validate(document)  # raises on anything that is not valid OpenAPI 3.1
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) == {
        "/api/v1/ratings",
        "/api/v1/complaints",
        "/api/v1/services",
        "/api/v1/services/{number}",
        OPENAPI_PATH,
    }
    assert document["servers"] == [{"url": PUBLIC_URL}]
    # Every endpoint of the API's router is described with its methods (and the ratings and
    # complaints endpoints in front of it); its last route, the 404/405 for anything else, is not an
    # endpoint.
    described = {(path, m.upper()) for path, methods in document["paths"].items() for m in methods}
    routes = [r for r in build_router(ctx).routes if isinstance(r, APIRoute) and r.include_in_schema]
    endpoints = {(f"{API_PREFIX}{r.path}", m) for r in routes for m in r.methods}
    endpoints |= {(RATINGS_PATH, "POST"), (COMPLAINTS_PATH, "POST"), (OPENAPI_PATH, "GET")}
    assert described == endpoints
