"""The screens' websockets and per-message deflate (RAPPORT_WS_COMPRESSION, docs/OPERATIONS.md
"Sizing"): a real `rapport serve`, asked for compression by a handshake that offers it as
a browser does. Off by default, so an open kiosk screen does not hold a deflate state of its own
(about 50 KB each, docs/PERFORMANCE.md); switched on, the server accepts the offer.
"""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from rapport.core.db import Database
from rapport.core.migrate import upgrade
from tests.conftest import DEMO_AT, clock_pinned
from tests.serving import clean_env, free_port, stop, wait_until_up


@contextmanager
def _server(tmp_path: Path, **extra: str) -> Iterator[int]:
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
        yield port
    finally:
        stop(proc, seconds=0)  # nothing to finish: only a handshake was made (a graceful stop waits for it)


def _handshake(port: int, path: str) -> dict[str, str]:
    """Open the websocket as Chromium does (offering permessage-deflate); the 101 answer's headers."""
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
        f"Origin: http://127.0.0.1:{port}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request.encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(4096)
            assert chunk, f"the server closed the connection: {answer!r}"
            answer += chunk
    status, *lines = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    assert status.startswith("HTTP/1.1 101"), status
    return {name.strip().lower(): value.strip() for name, value in (line.split(":", 1) for line in lines)}


@pytest.mark.parametrize("path", ["/ws", "/admin/ws"])
def test_screens_websockets_are_not_compressed_by_default(tmp_path, path):
    with _server(tmp_path) as port:
        headers = _handshake(port, path)
    assert "sec-websocket-extensions" not in headers


def test_compression_switched_on_is_negotiated(tmp_path):
    with _server(tmp_path, RAPPORT_WS_COMPRESSION="1") as port:
        headers = _handshake(port, "/ws")
    assert headers.get("sec-websocket-extensions", "").startswith("permessage-deflate")
