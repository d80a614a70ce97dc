"""/readyz tells a load balancer whether this server may take traffic (database reachable and schema
current), and the logs carry a request id and a session fingerprint but no secrets from URLs."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from starlette.testclient import TestClient

from rapport.core.context import AppContext
from rapport.core.db import Database
from rapport.core.logs import redact, session_fingerprint, setup_logging
from rapport.core.migrate import alembic_config, alembic_config_for_scripts, head_revision, upgrade
from rapport.core.settings import Settings
from rapport.entry.server import create_app

SECRET = "test-secret-" + "x" * 32


def client_for(tmp_path: Path, db: Database) -> TestClient:
    ctx = AppContext(settings=Settings(data_dir=tmp_path), db=db, secret_key=SECRET)
    return TestClient(create_app(ctx, scheduler=False))


@pytest.fixture
def migrated(tmp_path: Path) -> Iterator[Database]:
    db = Database.from_url(f"sqlite:///{tmp_path / 'rapport.db'}")
    upgrade(db.engine)
    yield db
    db.dispose()


def test_readyz_is_ready_when_the_schema_is_current(tmp_path, migrated):
    r = client_for(tmp_path, migrated).get("/readyz")
    assert (r.status_code, r.json()) == (200, {"status": "ready"})


def test_readyz_is_503_naming_both_revisions_while_migrations_are_pending(tmp_path, migrated):
    head = head_revision()
    previous = ScriptDirectory.from_config(alembic_config_for_scripts()).get_revision(head).down_revision
    command.stamp(alembic_config(migrated.engine), str(previous))
    client = client_for(tmp_path, migrated)
    r = client.get("/readyz")
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "migrations pending" and "rapport db upgrade" in body["hint"]
    assert (body["database_revision"], body["code_revision"]) == (previous, head)
    command.stamp(alembic_config(migrated.engine), "head")
    assert client.get("/readyz").status_code == 200


def test_readyz_is_503_for_a_database_never_migrated(tmp_path):
    db = Database.from_url(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        r = client_for(tmp_path, db).get("/readyz")
        assert r.status_code == 503 and r.json()["database_revision"] is None
    finally:
        db.dispose()


def test_readyz_is_503_when_the_database_cannot_be_opened(tmp_path):
    db = Database.from_url(f"sqlite:///{tmp_path / 'no-such-dir' / 'rapport.db'}")
    try:
        client = client_for(tmp_path, db)
        assert client.get("/healthz").status_code == 200  # alive, but not ready
        r = client.get("/readyz")
        assert (r.status_code, r.json()) == (503, {"status": "database unreachable"})
    finally:
        db.dispose()


@contextmanager
def capturing(fmt: str, level: int = logging.DEBUG) -> Iterator[io.StringIO]:
    """The app's logging set up as `rapport serve` does, into a buffer; pytest's own put back after."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    levels = {name: logging.getLogger(name).level for name in ("flet", "flet_web", "flet_transport", "httpx")}
    buffer = io.StringIO()
    setup_logging(fmt, level=level, stream=buffer)
    try:
        yield buffer
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
        for name, lvl in levels.items():
            logging.getLogger(name).setLevel(lvl)
        logging.captureWarnings(False)


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    with capturing("json") as buffer:
        yield buffer


def records(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def test_every_request_gets_an_id_in_its_response_and_its_log_line(tmp_path, migrated, log_output):
    client = client_for(tmp_path, migrated)
    r = client.get("/healthz")
    rid = r.headers["X-Request-ID"]
    assert len(rid) == 32
    mine = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.42"})
    assert mine.headers["X-Request-ID"] == "lb-7f3a.42"
    forged = client.get("/healthz", headers={"X-Request-ID": "x\tinjected line " + "y" * 80})
    assert forged.headers["X-Request-ID"] != "x" and "injected" not in forged.headers["X-Request-ID"]
    access = [e for e in records(log_output) if e["logger"] == "rapport.http"]
    assert [e["request_id"] for e in access] == [rid, "lb-7f3a.42", forged.headers["X-Request-ID"]]
    first = access[0]
    assert (first["method"], first["path"], first["status"]) == ("GET", "/healthz", 200)
    assert first["level"] == "debug", "load-balancer probes stay out of the INFO log"
    assert isinstance(first["duration_ms"], float)
    assert "injected" not in log_output.getvalue()


def test_tokens_and_codes_in_paths_never_reach_the_log(tmp_path, migrated, log_output):
    client = client_for(tmp_path, migrated)
    client.get("/s/BadgeTokenAbc123?lang=en")
    client.get("/t/KX7PQ2MNRA")
    client.get("/enrol/7E3K-CKPN")
    client.post("/api/v1/ratings", json={"score": 9}, headers={"Authorization": "Bearer DeviceTok99"})
    logging.getLogger("rapport.test").warning("lookup of /s/BadgeTokenAbc123 by Bearer DeviceTok99 failed")
    try:
        raise ValueError("no staff for https://example.org/s/BadgeTokenAbc123")
    except ValueError:
        logging.getLogger("rapport.test").exception("while serving /t/KX7PQ2MNRA")
    text = log_output.getvalue()
    for secret in ("BadgeTokenAbc123", "KX7PQ2MNRA", "7E3K-CKPN", "DeviceTok99", "lang=en"):
        assert secret not in text, secret
    paths = [e["path"] for e in records(log_output) if e["logger"] == "rapport.http"]
    assert paths == ["/s/<redacted>", "/t/<redacted>", "/enrol/<redacted>", "/api/v1/ratings"]
    failure = records(log_output)[-1]
    assert (
        failure["level"] == "error"
        and "ValueError" in failure["error"]
        and "/s/<redacted>" in failure["error"]
    )


def test_inside_a_flet_session_the_log_names_a_fingerprint_not_the_session_id(log_output):
    from flet.controls.context import _context_page

    session_id = "Qm9vb3Nlc3Npb24x"
    token = _context_page.set(SimpleNamespace(session=SimpleNamespace(id=session_id)))  # type: ignore[arg-type]
    try:
        logging.getLogger("flet").warning("Unhandled error processing page session: %s", session_id)
    finally:
        _context_page.reset(token)
    entry = records(log_output)[-1]
    assert session_id not in log_output.getvalue()
    assert entry["session"] == session_fingerprint(session_id)
    assert entry["message"].endswith(session_fingerprint(session_id))


def test_the_text_format_is_one_readable_line_with_the_request_id(tmp_path, migrated):
    with capturing("text", level=logging.INFO) as buffer:
        client_for(tmp_path, migrated).get("/t/KX7PQ2MNRA", headers={"X-Request-ID": "abc-1"})
    line = next(line for line in buffer.getvalue().splitlines() if "rapport.http" in line)
    assert "INFO rapport.http [req=abc-1]: GET /t/<redacted> " in line and "KX7PQ2MNRA" not in line


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("GET /s/abc_DEF-123 200", "GET /s/<redacted> 200"),
        ("https://rapport.example.org/t/KX7PQ2MNRA?x=1", "https://rapport.example.org/t/<redacted>?x=1"),
        ("/admin/s/tok", "/admin/s/<redacted>"),
        ("Authorization: Bearer abc.def-ghi", "Authorization: Bearer <redacted>"),
        ("/assets/fonts/x.otf and /api/v1/ratings", "/assets/fonts/x.otf and /api/v1/ratings"),
    ],
)
def test_redaction(raw, clean):
    assert redact(raw) == clean
