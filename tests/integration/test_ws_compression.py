"""The screens' websockets on a real `rapport serve`, opened by a handshake made as a browser makes it.

- Per-message deflate (RAPPORT_WS_COMPRESSION, docs/OPERATIONS.md "Sizing"): off by default, so an
  open kiosk screen does not hold a deflate state of its own (about 50 KB each, docs/PERFORMANCE.md);
  switched on, the server accepts the offer.
- A socket whose client went before the page began its session does not outlive it
  (rapport/entry/socket_end.py): the server still stops at once.
"""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from rapport.core.db import Database
from rapport.core.migrate import upgrade
from rapport.entry.workers import GRACEFUL_SECONDS
from tests.conftest import DEMO_AT, clock_pinned
from tests.serving import clean_env, free_port, stop, wait_until_up


@contextmanager
def _server(tmp_path: Path, **extra: str) -> Iterator[tuple[int, subprocess.Popen[bytes], Path]]:
    """A `rapport serve` on an empty database: (its port, its process, its log)."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    db = Database.from_url(f"sqlite:///{data_dir / 'rapport.db'}")
    with clock_pinned():
        upgrade(db.engine)
    db.dispose()
    port = free_port()
    env = clean_env(RAPPORT_DATA_DIR=str(data_dir), RAPPORT_PORT=str(port), RAPPORT_CLOCK_AT=DEMO_AT, **extra)
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "rapport", "serve"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", proc, log, timeout=90)
        yield port, proc, log
    finally:
        stop(proc)  # graceful: the handshakes' sockets do not hold it (the last test)


def _handshake(port: int, path: str, *, keep: list[socket.socket] | None = None) -> dict[str, str]:
    """Open the websocket as Chromium does (offering permessage-deflate); the 101 answer's headers.
    The socket is closed after the answer, or appended to ``keep`` (left open, saying nothing)."""
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
        f"Origin: http://127.0.0.1:{port}\r\n\r\n"
    )
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        sock.sendall(request.encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(4096)
            assert chunk, f"the server closed the connection: {answer!r}"
            answer += chunk
    finally:
        if keep is None:
            sock.close()
        else:
            keep.append(sock)
    status, *lines = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    assert status.startswith("HTTP/1.1 101"), status
    return {name.strip().lower(): value.strip() for name, value in (line.split(":", 1) for line in lines)}


@pytest.mark.parametrize("path", ["/ws", "/admin/ws"])
def test_screens_websockets_are_not_compressed_by_default(tmp_path, path):
    with _server(tmp_path) as (port, _proc, _log):
        headers = _handshake(port, path)
    assert "sec-websocket-extensions" not in headers


def test_compression_switched_on_is_negotiated(tmp_path):
    with _server(tmp_path, RAPPORT_WS_COMPRESSION="1") as (port, _proc, _log):
        headers = _handshake(port, "/ws")
    assert headers.get("sec-websocket-extensions", "").startswith("permessage-deflate")


def test_sockets_whose_clients_left_before_a_session_do_not_hold_the_servers_stop(tmp_path):
    """Flet's handler waits for ever after a client that left before its first message; the server
    would then wait its whole graceful-stop time (15 s) for it on every stop or restart."""
    kept: list[socket.socket] = []
    with _server(tmp_path) as (port, proc, log):
        _handshake(port, "/ws")  # closed at once: a page left while it was starting
        _handshake(port, "/admin/ws", keep=kept)  # open and silent: a tablet that froze
        time.sleep(0.5)  # both handshakes answered; the closed one's end has reached the server
        proc.terminate()
        try:
            proc.wait(timeout=GRACEFUL_SECONDS - 5)  # the fix stops it in well under a second
        except subprocess.TimeoutExpired:
            pytest.fail(f"the server was still stopping after {GRACEFUL_SECONDS - 5} s:\n{log_end(log)}")
        for sock in kept:
            sock.close()
    lines = log.read_text(errors="replace").splitlines()
    assert any("Application shutdown complete." in line for line in lines), log_end(log)  # graceful
    ended = [line for line in lines if "rapport.entry.socket_end" in line]
    assert len(ended) == 2 and all("with no session" in line for line in ended), log_end(log)


def log_end(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]
