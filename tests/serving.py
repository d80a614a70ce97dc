"""Real server processes for the tests that need one (`rapport serve`, the feed receiver): a free port,
an environment that inherits none of the developer's RAPPORT_ settings, waiting until the process
answers, and stopping it."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from rapport.entry.workers import GRACEFUL_SECONDS


def free_port() -> int:
    """A loopback port nobody listens on at this moment."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any RAPPORT_ setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    env.update(extra)
    return env


def wait_until_up(
    url: str, proc: subprocess.Popen[bytes], log: Path, *, timeout: float = 60, what: str = "the server"
) -> None:
    """Until ``url`` answers below 500. If ``proc`` exits or ``timeout`` passes first, it is killed and
    the test fails with the end of its ``log``."""

    def answers() -> bool:
        try:
            return httpx.get(url, timeout=1).status_code < 500
        except httpx.HTTPError:
            return False

    _wait(answers, proc, log, timeout=timeout, what=what, pause=0.2)


def wait_for_port(
    port: int, proc: subprocess.Popen[bytes], log: Path, *, timeout: float = 30, what: str = "the process"
) -> None:
    """Until something accepts a TCP connection on 127.0.0.1:``port`` (for a process that answers no
    GET, like the feed receiver). If ``proc`` exits or ``timeout`` passes first, it is killed and the
    test fails with the end of its ``log``."""

    def listens() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            return False

    _wait(listens, proc, log, timeout=timeout, what=what, pause=0.05)


def _wait(
    ready: Callable[[], bool],
    proc: subprocess.Popen[bytes],
    log: Path,
    *,
    timeout: float,
    what: str,
    pause: float,
) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc, seconds=0)
            pytest.fail(f"{what} did not start in {timeout:g} s:\n{log.read_text(errors='replace')[-4000:]}")
        time.sleep(pause)


def stop(proc: subprocess.Popen[bytes], *, seconds: float = GRACEFUL_SECONDS) -> None:
    """SIGTERM, up to ``seconds`` for a graceful stop, then SIGKILL (at once with ``seconds`` 0)."""
    if proc.poll() is None and seconds > 0:
        proc.terminate()
        try:
            proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            pass
    if proc.poll() is None:
        proc.kill()
        proc.wait()
