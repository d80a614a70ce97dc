"""`rapport backup`, `restore` and `export` as an operator runs them, including against a live server
that is taking ratings, and a server stopped with SIGTERM while clients are still writing."""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.battery.support import ServerProcess, rapport
from tests.serving import clean_env


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


def backup_file(stdout: str) -> Path:
    line = next(line for line in stdout.splitlines() if line.startswith("Backup written: "))
    return Path(line.removeprefix("Backup written: ").split(" (")[0])


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo")
    result = rapport("demo", "--days", "1", env=clean_env(RAPPORT_DATA_DIR=str(path)))
    assert result.returncode == 0, result.stderr
    return path


def test_backup_restore_into_a_fresh_directory_and_refuse_a_second_restore(demo_dir, tmp_path):
    backed = rapport("backup", env=clean_env(RAPPORT_DATA_DIR=str(demo_dir)))
    assert backed.returncode == 0, backed.stderr
    path = backup_file(backed.stdout)
    assert path.parent == demo_dir / "backups" and "integrity_check: ok" in backed.stdout
    assert path.with_name(path.name.removesuffix(".db") + ".manifest.json").is_file()

    fresh = clean_env(RAPPORT_DATA_DIR=str(tmp_path / "fresh"))
    restored = rapport("restore", str(path), env=fresh)
    assert restored.returncode == 0, restored.stderr
    assert "integrity and SHA-256 checked" in restored.stdout
    verified = rapport("audit", "verify", env=fresh)
    assert verified.returncode == 0 and "intact" in verified.stdout, verified.stderr
    with (
        sqlite3.connect(tmp_path / "fresh" / "rapport.db") as a,
        sqlite3.connect(demo_dir / "rapport.db") as b,
    ):
        count = "SELECT count(*) FROM rating"
        assert a.execute(count).fetchone() == b.execute(count).fetchone()

    again = rapport("restore", str(path), env=fresh)
    assert again.returncode == 2 and "already exists" in one_line(again.stderr)


def test_backup_honours_out_and_keeps_only_the_newest(demo_dir, tmp_path):
    env = clean_env(RAPPORT_DATA_DIR=str(demo_dir), RAPPORT_BACKUP_KEEP="1")
    first = rapport("backup", "--out", str(tmp_path / "here"), env=env)
    second = rapport("backup", "--out", str(tmp_path / "here"), env=env)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert "Removed old backup " + backup_file(first.stdout).name in second.stdout
    assert [p.name for p in (tmp_path / "here").glob("*.db")] == [backup_file(second.stdout).name]


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["backup"], {"RAPPORT_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"}, "pg_dump"),
        (["backup"], {"RAPPORT_BACKUP_KEEP": "0"}, "RAPPORT_BACKUP_KEEP"),
        (["backup"], {"RAPPORT_BACKUP_KEEP_DAYS": "a week"}, "RAPPORT_BACKUP_KEEP_DAYS"),
        (["backup"], {"RAPPORT_FORWARDED_ALLOW_IPS": "proxy.local"}, "RAPPORT_FORWARDED_ALLOW_IPS"),
        (["backup"], {}, "no database at"),
        (["restore", "/nowhere/rapport-20260101-000000.db"], {}, "no backup file"),
        (
            ["restore", "x.db"],
            {"RAPPORT_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"},
            "pg_restore",
        ),
    ],
    ids=[
        "postgresql",
        "keep-zero",
        "keep-days-text",
        "proxy-name",
        "no-database",
        "no-file",
        "restore-postgresql",
    ],
)
def test_operations_refuse_with_one_sentence(tmp_path, args, env, named):
    result = rapport(*args, env=clean_env(RAPPORT_DATA_DIR=str(tmp_path), **env))
    assert result.returncode == 2
    assert named in one_line(result.stderr)
    assert not (tmp_path / "rapport.db").exists(), "a refused command must not create a database"


def test_export_writes_an_owner_only_file_without_secrets_and_can_go_to_stdout(demo_dir, tmp_path):
    env = clean_env(RAPPORT_DATA_DIR=str(demo_dir))
    out = tmp_path / "dump.jsonl"
    result = rapport("export", "--out", str(out), env=env)
    assert result.returncode == 0, result.stderr
    assert "Left out:" in result.stderr and "complaint.contact" in result.stderr
    assert out.stat().st_mode & 0o077 == 0
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    staff = [r["row"] for r in lines[1:-1] if r["table"] == "staff"]
    assert staff and all({"password_hash", "pin_hash", "qr_token"}.isdisjoint(row) for row in staff)
    assert lines[-1]["end"] is True and lines[-1]["tables"]["rating"] > 0
    with sqlite3.connect(demo_dir / "rapport.db") as conn:
        hashes = [
            r[0] for r in conn.execute("SELECT password_hash FROM staff WHERE password_hash IS NOT NULL")
        ]
    assert hashes and not any(h in out.read_text(encoding="utf-8") for h in hashes)

    piped = rapport("export", "--out", "-", env=env)
    assert piped.returncode == 0
    assert json.loads(piped.stdout.splitlines()[0])["format"] == "rapport-export"


def test_export_refuses_a_database_whose_schema_is_behind(tmp_path):
    from alembic import command
    from alembic.script import ScriptDirectory

    from rapport.core.db import Database
    from rapport.core.migrate import alembic_config, alembic_config_for_scripts, head_revision, upgrade

    db = Database.from_url(f"sqlite:///{tmp_path / 'rapport.db'}")
    upgrade(db.engine)
    previous = (
        ScriptDirectory.from_config(alembic_config_for_scripts()).get_revision(head_revision()).down_revision
    )
    command.stamp(alembic_config(db.engine), str(previous))
    db.dispose()
    result = rapport("export", env=clean_env(RAPPORT_DATA_DIR=str(tmp_path)))
    assert result.returncode == 2 and "rapport db upgrade" in one_line(result.stderr)


# --- a live server ----------------------------------------------------------------------------------


def device_token(demo_stdout: str) -> str:
    line = next(line for line in demo_stdout.splitlines() if "token" in line)
    return line.split()[-1]


class Clients:
    """Threads posting ratings until told to stop; every 2xx answer is an acknowledged key."""

    def __init__(self, url: str, token: str, n: int = 6):
        self.url, self.token = url, token
        self.acknowledged: list[tuple[float, str]] = []
        self.server_errors: list[str] = []
        self.lock, self.stop = threading.Lock(), threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(n)]

    def _run(self, index: int) -> None:
        n = 0
        with httpx.Client(base_url=self.url, timeout=10) as http:
            while not self.stop.is_set():
                key = f"ops-{index}-{n}"
                try:
                    r = http.post(
                        "/api/v1/ratings",
                        json={"score": 1 + n % 5, "comment": "排队太久"},
                        headers={"Authorization": f"Bearer {self.token}", "Idempotency-Key": key},
                    )
                except httpx.HTTPError:  # the server went away: stop, as a kiosk would retry later
                    return
                if r.status_code in (200, 201):
                    with self.lock:
                        self.acknowledged.append((time.monotonic(), key))
                elif r.status_code >= 500:
                    self.server_errors.append(f"{r.status_code} {r.text[:200]}")
                n += 1

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def keys_before(self, moment: float) -> set[str]:
        with self.lock:
            return {k for at, k in self.acknowledged if at <= moment}

    def wait_for(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acknowledged) < count:
            assert time.monotonic() < deadline, "the server stopped acknowledging ratings"
            time.sleep(0.02)

    def join(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=30)


class HalfSent:
    """A rating whose headers are sent and whose body waits for ``finish()``: a request in progress."""

    def __init__(self, url: str, token: str, key: str):
        host, port = url.removeprefix("http://").split(":")
        self.body = json.dumps({"score": 5}).encode()
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        head = (
            f"POST /api/v1/ratings HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
            f"Idempotency-Key: {key}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(self.body)}\r\n\r\n"
        )
        self.sock.sendall(head.encode() + self.body[:1])
        time.sleep(0.5)  # the server reads the headers and starts on the request, waiting for its body

    def finish(self) -> str:
        """Send the rest of the body; the answer's status line and headers."""
        try:
            self.sock.sendall(self.body[1:])
            answer = b""
            while b"\r\n\r\n" not in answer:
                chunk = self.sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
            return answer.decode("latin-1")
        finally:
            self.sock.close()


def wait_for_line(log: Path, text: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while text not in log.read_text(encoding="utf-8", errors="replace"):
        assert time.monotonic() < deadline, f"{text} never appeared in {log}"
        time.sleep(0.02)


def test_a_backup_of_a_busy_server_restores_every_acknowledged_rating_and_sigterm_loses_none(tmp_path):
    data = tmp_path / "live"
    env = clean_env(
        RAPPORT_DATA_DIR=str(data), RAPPORT_LOG_FORMAT="json", RAPPORT_FORWARDED_ALLOW_IPS="127.0.0.1"
    )
    demo = rapport("demo", "--days", "1", env=env)
    assert demo.returncode == 0, demo.stderr
    server = ServerProcess(env, tmp_path / "server.log")
    server.start()
    clients = Clients(server.url, device_token(demo.stdout))
    try:
        clients.start()
        clients.wait_for(60)
        began = time.monotonic()
        backed = rapport("backup", env=env)
        assert backed.returncode == 0, backed.stderr
        during = [k for at, k in clients.acknowledged if at > began]
        clients.wait_for(len(clients.acknowledged) + 20)
        httpx.get(f"{server.url}/s/badge-token-in-a-url", timeout=10)
        assert server.proc is not None
        # One request is in the server when SIGTERM comes: its headers are in, its body is not. The
        # clients' own requests take about a millisecond each, too short to be caught reliably.
        caught = HalfSent(server.url, device_token(demo.stdout), "ops-in-flight")
        server.proc.send_signal(signal.SIGTERM)
        wait_for_line(tmp_path / "server.log", '"Shutting down"')
        in_flight = caught.finish()
        server.proc.wait(timeout=30)
    finally:
        clients.join()
        server.stop()
    assert not clients.server_errors, clients.server_errors[:3]
    assert during, "no rating was acknowledged while the backup ran"

    fresh = clean_env(RAPPORT_DATA_DIR=str(tmp_path / "fresh"))
    restored = rapport("restore", str(backup_file(backed.stdout)), env=fresh)
    assert restored.returncode == 0, restored.stderr
    with sqlite3.connect(tmp_path / "fresh" / "rapport.db") as conn:
        in_backup = {r[0] for r in conn.execute("SELECT idempotency_key FROM rating")}
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    missing = clients.keys_before(began) - in_backup
    assert not missing, f"{len(missing)} ratings acknowledged before the backup are not in it"

    with sqlite3.connect(data / "rapport.db") as conn:
        stored = {r[0] for r in conn.execute("SELECT idempotency_key FROM rating")}
    assert {k for _at, k in clients.acknowledged} <= stored, "SIGTERM lost an acknowledged rating"
    log = (tmp_path / "server.log").read_text(encoding="utf-8")
    assert "Application shutdown complete" in log and "timeout graceful shutdown exceeded" not in log
    assert "badge-token-in-a-url" not in log and demo.stdout.split()[-1] not in log
    records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    access = [r for r in records if r["logger"] == "rapport.http"]
    assert access and all(r.get("request_id") for r in access)
    assert any(r["path"] == "/s/<redacted>" for r in access)
    # The request already being served when SIGTERM came was answered, and stored, before the exit.
    assert in_flight.startswith("HTTP/1.1 201 "), in_flight
    assert "ops-in-flight" in stored
    shutting = next(i for i, r in enumerate(records) if r["message"] == "Shutting down")
    assert any(r["logger"] == "rapport.http" and r["status"] == 201 for r in records[shutting:])
