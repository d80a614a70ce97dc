"""Regression: a request under /api/v1 that no endpoint takes gets the API's error body, not the kiosk
app's page (a GET answered 200 with HTML) or Starlette's ``{"detail": ...}`` with the kiosk's Allow."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from rapport.entry.server import create_app


@pytest.fixture
def client(ctx):  # type: ignore[no-untyped-def]
    return TestClient(create_app(ctx, scheduler=False))


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/api/v1/complaints", "POST"),
        ("PUT", "/api/v1/complaints", "POST"),
        ("DELETE", "/api/v1/complaints", "POST"),
        ("POST", "/api/v1/openapi.json", "GET"),
        ("GET", "/api/v1/ratings", "POST"),  # answered by the ratings endpoint itself
    ],
)
def test_another_method_of_an_endpoint_is_405_with_the_error_body(client, method, path, allow):  # type: ignore[no-untyped-def]
    r = client.request(method, path)
    assert r.status_code == 405 and r.headers["allow"] == allow
    assert r.headers["content-type"] == "application/json"
    assert r.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/nothing"),
        ("POST", "/api/v1/nothing"),
        ("POST", "/api/v1/ratings/"),
        ("POST", "/api/v1/complaints/"),
        ("GET", "/api/v1/"),
        ("GET", "/api/v1/v2/ratings"),
    ],
)
def test_an_unknown_path_under_the_api_is_404_with_the_error_body(client, method, path):  # type: ignore[no-untyped-def]
    r = client.request(method, path)
    assert r.status_code == 404 and r.headers["content-type"] == "application/json"
    assert r.json()["error"]["code"] == "not_found"


def test_the_description_and_the_kiosk_are_still_served(client):  # type: ignore[no-untyped-def]
    assert client.get("/api/v1/openapi.json").json()["openapi"] == "3.1.0"
    assert client.post("/api/v1/complaints", json={}).status_code == 401
    assert client.get("/").headers["content-type"].startswith("text/html")
