"""A small stand-in for the provincial 好差评 platform: ``rapport feed receiver``.

For the tests and for trying the feed locally (docs/OPERATIONS.md). It accepts ``POST`` on any path
and answers:

- 503 to the first ``fail_first`` requests (to watch the worker's retries and back-off);
- 401 when started with a token and the request does not carry ``Authorization: Bearer <token>``;
- 400 with ``{"error": ..., "field": ...}`` naming the first bad field of a record that does not
  match the documented fields (rapport/usecases/feed_mapping.py, ``validate_record``: among them
  each chosen 差评 reason with its indicator, one of the four of the rules, and its official option
  and wording, both given or both empty), or that is not JSON;
- 200 ``{"status": "accepted", "recordId": ...}`` for a new record, written as one JSON line to the
  output file (or standard output), flushed and synced before the answer;
- 200 ``{"status": "duplicate", ...}`` for a record id it has already accepted, written nothing:
  a platform dedupes by the record id, which is what makes delivery exactly once. Record ids already
  in the output file when it starts count as accepted, so a restarted receiver dedupes too.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

from rapport.usecases.feed_mapping import validate_record

BODY_MAX_BYTES = 64 * 1024


class Receiver:
    """The receiver's state: requests seen, record ids accepted, where accepted records go."""

    def __init__(self, *, out: Path | None, fail_first: int = 0, token: str = "") -> None:
        self.out = out
        self.fail_first = fail_first
        self.token = token
        self.requests = 0
        self.accepted: set[str] = set()
        self.lock = threading.Lock()
        if out is not None and out.exists():
            for line in out.read_text(encoding="utf-8").splitlines():
                try:
                    self.accepted.add(str(json.loads(line)["recordId"]))
                except (ValueError, KeyError, TypeError):
                    continue

    def answer(self, body: bytes, authorization: str | None) -> tuple[int, dict[str, Any]]:
        """(status, JSON answer) for one posted body."""
        with self.lock:
            self.requests += 1
            if self.requests <= self.fail_first:
                return 503, {"error": f"failing on purpose ({self.requests} of {self.fail_first})"}
        if self.token and authorization != f"Bearer {self.token}":
            return 401, {"error": "a valid bearer token is required", "field": "Authorization"}
        try:
            record = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return 400, {"error": "the body is not JSON", "field": "record"}
        problem = validate_record(record)
        if problem is not None:
            return 400, {"error": str(problem), "field": problem.field}
        record_id = record["recordId"]
        with self.lock:
            if record_id in self.accepted:
                return 200, {"status": "duplicate", "recordId": record_id}
            self._write(record)
            self.accepted.add(record_id)
        return 200, {"status": "accepted", "recordId": record_id}

    def _write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False, sort_keys=False) + "\n"
        if self.out is None:
            sys.stdout.write(line)
            sys.stdout.flush()
            return
        with self.out.open("a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())


def make_server(receiver: Receiver, host: str, port: int, log: IO[str] | None = None) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        server_version = "RapportFeedReceiver/1"

        def do_POST(self) -> None:  # noqa: N802 (the http.server API)
            length = int(self.headers.get("Content-Length") or 0)
            if length > BODY_MAX_BYTES:
                self._send(413, {"error": "the record is too large", "field": "record"})
                return
            status, answer = receiver.answer(self.rfile.read(length), self.headers.get("Authorization"))
            self._send(status, answer)

        def _send(self, status: int, answer: dict[str, Any]) -> None:
            body = json.dumps(answer, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the http.server API)
            if log is not None:
                log.write(f"feed receiver: {self.address_string()} {format % args}\n")
                log.flush()

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


def serve(
    *,
    host: str,
    port: int,
    out: Path | None,
    fail_first: int,
    token: str = "",
    started: Callable[[str], None] | None = None,
) -> None:
    """Run the receiver until interrupted; ``started`` is told its address once it listens."""
    receiver = Receiver(out=out, fail_first=fail_first, token=token)
    server = make_server(receiver, host, port, log=sys.stderr)
    try:
        if started is not None:
            started(f"http://{host}:{server.server_address[1]}/")
        server.serve_forever()
    finally:
        server.server_close()


__all__ = ["Receiver", "make_server", "serve"]
