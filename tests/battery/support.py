"""What the battery's process-level tests share: a real `rapport serve` that can be killed with
SIGKILL and started again on the same data, on SQLite or on a fresh PostgreSQL database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.serving import free_port, stop, wait_until_up

# `make soak` sets this: the full-size runs. `make test` runs a short form of each.
SOAK = os.environ.get("RAPPORT_SOAK") == "1"


def rapport(*args: str, env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rapport", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


class ServerProcess:
    """``rapport serve`` on a port of its own; ``kill()`` is SIGKILL (no shutdown, no flush)."""

    def __init__(self, env: dict[str, str], log: Path):
        self.port = free_port()
        self.env = {**env, "RAPPORT_PORT": str(self.port)}
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "rapport", "serve"], env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        wait_until_up(f"{self.url}/healthz", self.proc, self.log, timeout=timeout)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh, uniquely named PostgreSQL database next to the test one, dropped afterwards."""
    base = os.environ.get("RAPPORT_TEST_DATABASE_URL")
    if not base:
        pytest.skip("RAPPORT_TEST_DATABASE_URL is not set (CI sets it)")
    import psycopg

    name = f"rapport_battery_{uuid.uuid4().hex[:10]}"
    admin = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
