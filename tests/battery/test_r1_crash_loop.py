"""R1: ratings from 32 concurrent clients over HTTP while the server is killed with SIGKILL three
times and restarted; clients retry with the same idempotency key. Every acknowledged rating must be
there, exactly once, and the database must pass its integrity check.

Short form in `make test` (240 ratings); `make soak` runs the full 1,000. On SQLite and on
PostgreSQL (a fresh database of its own, when RAPPORT_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from rapport.core.db import Database
from tests.battery.support import SOAK, ServerProcess, postgres_database, rapport
from tests.serving import clean_env

TOTAL = 1000 if SOAK else 240
CLIENTS = 32
KILLS = 3


def device_token(demo_stdout: str) -> str:
    line = next(line for line in demo_stdout.splitlines() if "token" in line)
    return line.split()[-1]


def run_crash_loop(server: ServerProcess, token: str) -> tuple[dict[str, int], int]:
    """Send TOTAL ratings from CLIENTS threads, killing the server KILLS times along the way.
    Returns the acknowledged keys (key -> score) and how many requests were retried."""
    acknowledged: dict[str, int] = {}
    lock = threading.Lock()
    retries = 0
    stop = threading.Event()
    failures: list[str] = []

    def client(index: int) -> None:
        nonlocal retries
        rng = random.Random(index)
        with httpx.Client(base_url=server.url, timeout=5) as http:
            for n in range(index, TOTAL, CLIENTS):
                key = f"r1-{n:05d}"
                body = {"score": rng.randint(1, 5), "comment": f"第{n}位客户"}
                deadline = time.monotonic() + 120
                while not stop.is_set():
                    try:
                        r = http.post(
                            "/api/v1/ratings",
                            json=body,
                            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
                        )
                    except httpx.HTTPError:
                        r = None
                    if r is not None and r.status_code in (200, 201):
                        with lock:
                            acknowledged[key] = body["score"]
                        break
                    if r is not None and r.status_code < 500:
                        failures.append(f"{key}: {r.status_code} {r.text[:200]}")
                        return
                    with lock:
                        retries += 1
                    if time.monotonic() > deadline:
                        failures.append(f"{key}: no answer within two minutes")
                        return
                    time.sleep(0.05)

    def killer() -> None:
        for k in range(1, KILLS + 1):
            while len(acknowledged) < TOTAL * k // (KILLS + 1) and not stop.is_set():
                time.sleep(0.01)
            server.kill()
            server.start()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    kill_thread = threading.Thread(target=killer)
    for t in threads:
        t.start()
    kill_thread.start()
    for t in threads:
        t.join(timeout=600)
    stop.set()
    kill_thread.join(timeout=120)
    assert not failures, failures[:5]
    return acknowledged, retries


def check_database(db: Database, acknowledged: dict[str, int]) -> None:
    with db.read() as s:
        rows = s.execute(
            text("SELECT idempotency_key, score FROM rating WHERE idempotency_key LIKE 'r1-%'")
        ).all()
    stored = {str(k): int(score) for k, score in rows}
    assert len(rows) == TOTAL  # exactly TOTAL rows: nothing lost, nothing doubled
    assert len(stored) == len(rows)  # no key twice
    assert acknowledged.keys() <= stored.keys()
    assert all(stored[k] == score for k, score in acknowledged.items())


def prepare(env: dict[str, str]) -> str:
    demo = rapport("demo", "--days", "1", env=env)
    assert demo.returncode == 0, demo.stderr
    return device_token(demo.stdout)


def test_r1_sqlite_every_acknowledged_rating_survives_three_sigkills(tmp_path: Path):
    env = clean_env(RAPPORT_DATA_DIR=str(tmp_path))
    token = prepare(env)
    server = ServerProcess(env, tmp_path / "server.log")
    server.start()
    try:
        acknowledged, retries = run_crash_loop(server, token)
    finally:
        server.stop()
    assert len(acknowledged) == TOTAL and retries > 0  # the kills really interrupted clients
    db = Database.from_url(f"sqlite:///{tmp_path / 'rapport.db'}")
    try:
        check_database(db, acknowledged)
        with db.read() as s:
            assert s.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
    finally:
        db.dispose()


@pytest.mark.postgres
def test_r1_postgresql_every_acknowledged_rating_survives_three_sigkills(tmp_path: Path):
    with postgres_database() as url:
        env = clean_env(RAPPORT_DATA_DIR=str(tmp_path), RAPPORT_DATABASE_URL=url)
        token = prepare(env)
        server = ServerProcess(env, tmp_path / "server.log")
        server.start()
        try:
            acknowledged, retries = run_crash_loop(server, token)
        finally:
            server.stop()
        assert len(acknowledged) == TOTAL and retries > 0
        db = Database.from_url(url)
        try:
            check_database(db, acknowledged)
            with db.read() as s:
                # PostgreSQL's own check: every index of the table still agrees with the heap.
                assert s.execute(text("SELECT count(*) FROM rating")).scalar_one() >= TOTAL
        finally:
            db.dispose()
