"""Several app servers on one PostgreSQL: live alerts reach every server (LISTEN/NOTIFY), and the
scheduled jobs run on one leader (advisory lock), exactly once per slot.

What is observed how:
- The complaint is filed over HTTP (``POST /api/v1/complaints`` with a counter device's token) on the
  server that does NOT lead the scheduler, as a queue-ticket terminal or a hotline system would; that
  server's request path commits it and runs the alert hook (rapport/usecases/alerting.after_complaint).
- A "supervisor session" on a server is observed through RAPPORT_ALERT_PROBE=1, which adds two
  test-only routes (rapport/core/live.alert_probe_router) that subscribe to that server's AlertBus for a
  branch, exactly as a signed-in supervisor's screen does (admin/app.py ``_subscribe_alerts``), and
  report what arrived. Whatever reaches the probe reaches the screen by the same path; no browser or
  Flet session is opened.
- The high-severity alert reaches the leader only through NOTIFY (it was raised on the follower), and
  the leader's alert-rules sweep is checked to have raised nothing, so the alert is the hook's.
- The overdue escalation is raised by the leader's SLA sweep and reaches the follower through NOTIFY.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import col, select, update

from models.alerts import Alert, AlertView
from models.catalog import load_catalog
from models.clock import utcnow
from models.complaint import Complaint, ComplaintCreate, file_complaint
from models.devices import register_device
from models.jobs import JobRun
from models.org import Branch, Counter
from models.rating import Channel
from rapport.core.context import AppContext
from rapport.core.db import Database
from rapport.core.leader import libpq_conninfo
from rapport.core.live import PgAlertRelay
from rapport.core.migrate import upgrade
from rapport.core.settings import Settings
from rapport.usecases.alerting import after_complaint
from tests.serving import clean_env, free_port, stop, wait_until_up

PG_URL = os.environ.get("RAPPORT_TEST_DATABASE_URL", "")
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="RAPPORT_TEST_DATABASE_URL is not set (CI sets it)"),
]
SECRET = "two-servers-" + "s" * 40


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A database of its own, migrated and holding one branch; dropped afterwards."""
    base = make_url(PG_URL)
    name = f"rapport_two_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    db = Database.from_url(url)
    upgrade(db.engine)
    with db.write() as s:
        load_catalog(s)
        s.add(Branch(code="A", name_zh="甲支行", name_en="Branch A"))
        s.commit()
    db.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def device_token(pg_url: str) -> str:
    """A counter of the branch with an enrolled tablet: the token an integration files complaints with."""
    db = Database.from_url(pg_url)
    try:
        with db.write() as s:
            branch_id = s.exec(select(Branch.id)).one()
            counter = Counter(branch_id=branch_id, code="A-01", name_zh="1号窗口", name_en="Counter 1")
            s.add(counter)
            s.commit()
            assert counter.id is not None
            return register_device(s, counter_id=counter.id, label="queue terminal")[1]
    finally:
        db.dispose()


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def probe(self, branch_id: int) -> int:
        return int(httpx.post(f"{self.url}/_probe/alerts", params={"branch_id": branch_id}).json()["token"])

    def received(self, token: int) -> list[dict[str, Any]]:
        return list(httpx.get(f"{self.url}/_probe/alerts/{token}", timeout=5).json()["alerts"])


@pytest.fixture
def servers(pg_url: str, tmp_path: Path) -> Iterator[list[Server]]:
    env = clean_env(
        RAPPORT_DATABASE_URL=pg_url,
        RAPPORT_SECRET_KEY=SECRET,
        RAPPORT_ALERT_PROBE="1",
        RAPPORT_SWEEP_SECONDS="1",
        RAPPORT_LEADER_RETRY_SECONDS="1",
    )
    started: list[Server] = []
    try:
        for n in range(2):  # two machines: a data directory each, one database
            port = free_port()
            log = tmp_path / f"server{n}.log"
            with log.open("wb") as out:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "rapport", "serve"],
                    env={**env, "RAPPORT_PORT": str(port), "RAPPORT_DATA_DIR": str(tmp_path / f"data{n}")},
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            started.append(Server(proc, f"http://127.0.0.1:{port}", log))
        for server in started:
            wait_until_up(f"{server.url}/healthz", server.proc, server.log)
        yield started
    finally:
        for server in started:
            stop(server.proc)


def wait_until(predicate, timeout: float = 20) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def job_runs(db: Database, job: str) -> list[JobRun]:
    with db.read() as s:
        return list(s.exec(select(JobRun).where(JobRun.job == job).order_by(col(JobRun.id))).all())


def sweep_runs(db: Database) -> list[JobRun]:
    return job_runs(db, "sla-sweep")


def kinds(server: Server, token: int) -> list[str]:
    return [a["kind"] for a in server.received(token)]


def test_a_complaint_filed_through_one_server_alerts_the_other_and_the_leader_escalates_once(
    pg_url, device_token, servers
):
    db = Database.from_url(pg_url)
    try:
        with db.read() as s:
            branch_id = s.exec(select(Branch.id)).one()
        # Which server leads: the one whose pid is on the sweep's runs.
        wait_until(lambda: len(sweep_runs(db)) >= 2)
        runners = {r.runner for r in sweep_runs(db)}
        assert len(runners) == 1, f"jobs ran on {runners}"
        leader_pid = int(next(iter(runners)).rsplit(":", 1)[1])
        leader = next(s for s in servers if s.proc.pid == leader_pid)
        follower = next(s for s in servers if s is not leader)
        tokens = {id(s): s.probe(branch_id) for s in servers}

        # 1. A high-severity complaint is filed over HTTP through the follower. Its alert hook runs in
        #    that request, after the commit: the alert is stored before the answer comes back, and it
        #    reaches the follower's own supervisors and, through NOTIFY, the leader's.
        key = f"pg-{uuid.uuid4()}"
        filed = httpx.post(
            f"{follower.url}/api/v1/complaints",
            json={"category": "2.1.2", "description": "柜员私下索要好处费"},
            headers={"Authorization": f"Bearer {device_token}", "Idempotency-Key": key},
            timeout=10,
        )
        assert filed.status_code == 201, filed.text
        assert filed.json()["severity"] == "high" and filed.json()["tracking_code"]
        with db.read() as s:
            complaint = s.exec(select(Complaint).where(Complaint.idempotency_key == key)).one()
            assert s.exec(select(Alert.kind).where(Alert.complaint_id == complaint.id)).all() == [
                "high_complaint"
            ]
        for server in (leader, follower):
            wait_until(lambda server=server: "high_complaint" in kinds(server, tokens[id(server)]), 10)

        # 2. Its reply deadline passes: the leader's sweep escalates it, once, and the follower's
        #    supervisors hear of it through NOTIFY.
        with db.write() as s:
            s.exec(
                update(Complaint)
                .where(col(Complaint.id) == complaint.id)
                .values(due_at=utcnow() - timedelta(minutes=1))
            )
            s.commit()
        wait_until(lambda: "overdue" in kinds(follower, tokens[id(follower)]), 15)
        wait_until(lambda: "overdue" in kinds(leader, tokens[id(leader)]), 5)
        time.sleep(3)  # three more sweeps on the leader: nothing new
        for server in servers:
            assert sorted(kinds(server, tokens[id(server)])) == ["high_complaint", "overdue"], server.url
        with db.read() as s:
            rows = s.exec(
                select(Alert.kind).where(Alert.complaint_id == complaint.id).order_by(col(Alert.id))
            ).all()
        assert list(rows) == ["high_complaint", "overdue"]
        runs = sweep_runs(db)
        assert len(runs) == len({r.slot for r in runs}) and {r.runner for r in runs} == runners
        assert [r.items_done for r in runs if r.items_done] == [1], "escalated by exactly one sweep"
        # The high-severity alert was the filing request's hook, not the leader's catch-up sweep.
        assert not [r for r in job_runs(db, "alert-rules") if r.items_done], "the alert-rules sweep raised it"

        # 3. The leader dies: the follower takes the advisory lock over and sweeps from then on.
        leader.proc.send_signal(signal.SIGKILL)
        leader.proc.wait(10)
        wait_until(lambda: sweep_runs(db)[-1].runner.endswith(f":{follower.proc.pid}"), 20)
        runs = sweep_runs(db)
        assert len(runs) == len({r.slot for r in runs}), "no slot ran twice across the takeover"
    finally:
        db.dispose()


async def test_the_relay_delivers_to_the_other_process_once_and_not_back_to_the_sender(pg_url, tmp_path):
    """Two app instances in one test process, each with its own bus, relay and database pool."""
    contexts: list[AppContext] = []
    relays: list[PgAlertRelay] = []
    got: list[list[AlertView]] = [[], []]
    for _ in range(2):
        db = Database.from_url(pg_url)
        ctx = AppContext(settings=Settings(data_dir=tmp_path, database_url=pg_url), db=db, secret_key=SECRET)
        relay = PgAlertRelay(conninfo=libpq_conninfo(db.engine.url), db=db, bus=ctx.alerts)
        relay.start()
        ctx.alerts.forward_to(relay.notify)
        contexts.append(ctx)
        relays.append(relay)
    try:
        with contexts[0].db.read() as s:
            branch_id = s.exec(select(Branch.id)).one()
        for n, ctx in enumerate(contexts):

            async def on_alert(alert: AlertView, n: int = n) -> None:
                got[n].append(alert)

            ctx.alerts.subscribe([branch_id], on_alert)
            ctx.alerts.subscribe([branch_id + 1000], on_alert)  # another branch's supervisor: nothing
        assert all(r.listening.wait(5) for r in relays)
        with contexts[0].db.write() as s:
            complaint, _code, _ = file_complaint(
                s,
                idempotency_key=f"relay-{uuid.uuid4()}",
                channel=Channel.hotline,
                branch_id=branch_id,
                data=ComplaintCreate(category="2.1.2", description="x"),
            )
        assert complaint.id is not None
        raised = await asyncio.to_thread(after_complaint, contexts[0], complaint_id=complaint.id)
        assert raised is not None
        for _ in range(50):
            if got[1]:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # time for a duplicate, if the sender's own NOTIFY came back to it
        assert [a.id for a in got[1]] == [raised.id] and got[1][0].kind == "high_complaint"
        assert [a.id for a in got[0]] == [raised.id]
    finally:
        for ctx, relay in zip(contexts, relays, strict=True):
            ctx.alerts.forward_to(None)
            relay.stop()
            ctx.db.dispose()
