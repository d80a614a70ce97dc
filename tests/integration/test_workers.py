"""`rapport serve --workers 2` on SQLite: two processes behind one port (rapport/entry/workers.py).

A real server is started as a subprocess with its clock pinned (RAPPORT_CLOCK_AT) and the test-only
probes (RAPPORT_ALERT_PROBE=1, rapport/core/live.alert_probe_router and
rapport/core/counter_signals.counter_probe_router): a probe subscribes, in the process that answers,
exactly as a supervisor's screen subscribes to alerts and a tablet's welcome screen to its counter's
nudges, and every probe answer names that process. New connections are spread over the workers by
the kernel, so the test reaches a given worker by opening connections until one lands there.

What a user relies on and is checked here:
- both processes answer (the supervisor's two children, each through the one port);
- a complaint filed through the API on whichever worker takes it alerts the supervisors on both,
  once each; a transaction reported through the API nudges its counter's tablets on both;
- the scheduled jobs run on one worker only;
- SIGTERM to `rapport serve` stops every worker and frees the port;
- a port already in use, or a bad RAPPORT_WORKERS, is refused with one sentence.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from models.catalog import load_catalog
from models.devices import register_device
from models.jobs import JobRun
from models.org import Branch, Counter
from models.services import import_items
from rapport.core.db import Database
from rapport.core.migrate import upgrade
from tests.conftest import DEMO_AT, clock_pinned
from tests.serving import clean_env, free_port

SERVICES_CSV = "code,name_zh,name_en\nSB-001,社会保障卡申领,Social security card application\n"


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_until(predicate: Callable[[], Any], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _env(data_dir: Path, port: int, **extra: str) -> dict[str, str]:
    return clean_env(
        RAPPORT_DATA_DIR=str(data_dir), RAPPORT_PORT=str(port), RAPPORT_CLOCK_AT=DEMO_AT, **extra
    )


@dataclass
class Served:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path
    db: Database
    branch_id: int
    counter_id: int
    device_token: str

    def on(self, pid: int, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """The answer of worker ``pid``: a fresh connection each try until one lands there. Probe tokens
        are per process, so the other worker may not know the token (404, with its pid): try again."""
        for _ in range(60):
            with httpx.Client(base_url=self.url, timeout=10) as client:
                answer = client.request(method, path, **kwargs)
            body: dict[str, Any] = answer.json()
            if body.get("pid") != pid:
                continue
            answer.raise_for_status()
            return body
        raise AssertionError(f"no connection reached worker {pid} in 60 tries")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    db = Database.from_url(f"sqlite:///{data_dir / 'rapport.db'}")
    with clock_pinned():
        upgrade(db.engine)
        with db.write() as s:
            load_catalog(s)
            branch = Branch(code="A", name_zh="甲支行", name_en="Branch A")
            s.add(branch)
            s.flush()
            assert branch.id is not None
            counter = Counter(branch_id=branch.id, code="A-01", name_zh="1号窗口", name_en="Counter 1")
            s.add(counter)
            import_items(s, SERVICES_CSV)
            s.commit()
            assert counter.id is not None
            _device, token = register_device(s, counter_id=counter.id, label="queue system")
            ids = (branch.id, counter.id)
    port = free_port()
    log = tmp_path / "server.log"
    env = _env(
        data_dir, port, RAPPORT_ALERT_PROBE="1", RAPPORT_SWEEP_SECONDS="1", RAPPORT_LEADER_RETRY_SECONDS="1"
    )
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "rapport", "serve", "--workers", "2"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        # Both workers listening: each logs uvicorn's start-up line once its app is up.
        _wait_until(
            lambda: (
                log.read_text(errors="replace").count("Application startup complete") == 2
                or proc.poll() is not None
            ),
            90,
            "two workers",
        )
        assert proc.poll() is None, log.read_text()
        yield Served(proc, f"http://127.0.0.1:{port}", log, db, *ids, token)
    finally:
        if proc.poll() is None:
            proc.kill()  # the test failed before its own SIGTERM: do not leave workers behind
            for pid in _children(proc.pid):
                os.kill(pid, signal.SIGKILL)
            proc.wait()
        db.dispose()


def _sweep_runners(db: Database) -> list[str]:
    with db.read() as s:
        return list(s.exec(select(JobRun.runner).where(JobRun.job == "sla-sweep").order_by(col(JobRun.id))))


def test_two_workers_share_the_port_relay_alerts_and_nudges_run_the_jobs_once_and_stop_together(served):
    workers = _children(served.proc.pid)
    assert len(workers) == 2, f"children of rapport serve: {workers}"

    # 1. Both processes answer through the one port; each gets a supervisor's alert subscription and
    #    a tablet's nudge subscription.
    alert_tokens: dict[int, int] = {}
    for _ in range(60):
        answer = httpx.post(f"{served.url}/_probe/alerts", params={"branch_id": served.branch_id}).json()
        alert_tokens.setdefault(answer["pid"], answer["token"])
        if len(alert_tokens) == 2:
            break
    assert set(alert_tokens) == workers, "both workers answer"
    nudge_tokens = {
        pid: served.on(pid, "POST", "/_probe/counters", params={"counter_id": served.counter_id})["token"]
        for pid in workers
    }

    # 2. A high-severity complaint filed through the API (on whichever worker takes it) alerts the
    #    supervisors on both workers, once each.
    filed = httpx.post(
        f"{served.url}/api/v1/complaints",
        json={"category": "2.1.2", "description": "柜员私下索要好处费"},
        headers={"Authorization": f"Bearer {served.device_token}", "Idempotency-Key": "workers-1"},
        timeout=10,
    )
    assert filed.status_code == 201, filed.text
    assert filed.json()["severity"] == "high"

    def alerts(pid: int) -> list[dict[str, Any]]:
        return list(served.on(pid, "GET", f"/_probe/alerts/{alert_tokens[pid]}")["alerts"])

    for pid in workers:
        _wait_until(lambda pid=pid: alerts(pid), 10, f"the alert on worker {pid}")
    time.sleep(1.5)  # three more polls: time for a second delivery, if there were one
    for pid in workers:
        assert [a["kind"] for a in alerts(pid)] == ["high_complaint"], f"worker {pid}"

    # 3. A transaction reported through the API nudges the counter's tablets on both workers.
    reported = httpx.post(
        f"{served.url}/api/v1/services",
        json={"number": "W-0001", "service_code": "SB-001"},
        headers={"Authorization": f"Bearer {served.device_token}", "Idempotency-Key": "workers-tx-1"},
        timeout=10,
    )
    assert reported.status_code == 201, reported.text
    for pid in workers:
        _wait_until(
            lambda pid=pid: served.on(pid, "GET", f"/_probe/counters/{nudge_tokens[pid]}")["nudges"] >= 1,
            10,
            f"the nudge on worker {pid}",
        )

    # 4. The jobs run on one worker only: every sweep (one a second) names the same process.
    _wait_until(lambda: len(_sweep_runners(served.db)) >= 3, 20, "three sweeps")
    runners = set(_sweep_runners(served.db))
    assert len(runners) == 1, runners
    leader = int(next(iter(runners)).rsplit(":", 1)[1])
    assert leader in workers
    with served.db.read() as s:
        assert set(s.exec(select(JobRun.runner)).all()) == runners, "every job ran on the leader"

    # 5. SIGTERM to `rapport serve` stops both workers and frees the port.
    served.proc.send_signal(signal.SIGTERM)
    assert served.proc.wait(30) == 0, served.log.read_text()[-3000:]
    assert not [pid for pid in workers if _alive(pid)]
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{served.url}/healthz", timeout=2)
    assert served.log.read_text().count("Finished server process") == 2


def test_a_port_in_use_is_refused_and_nothing_is_served(tmp_path):
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        result = subprocess.run(
            [sys.executable, "-m", "rapport", "serve", "--workers", "2"],
            env=_env(tmp_path, port),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"127.0.0.1:{port} is already in use" in result.stderr
    assert "worker 1 of 2 started" not in result.stdout + result.stderr


def test_a_bad_number_of_workers_is_refused_with_one_sentence(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "rapport", "serve"],
        env=_env(tmp_path, free_port(), RAPPORT_WORKERS="0"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert (
        "Setting RAPPORT_WORKERS is invalid: must be a whole number of processes from 1 to 64."
        in result.stderr
    )
