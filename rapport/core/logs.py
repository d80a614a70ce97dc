"""Logging, set up in one place: readable lines for a terminal or JSON lines for a log collector.

Every record carries the id of the HTTP request (or websocket) it was written in, and, inside a Flet
session, a short fingerprint of the session's id: enough to follow one kiosk or admin session
through the log, but never the id itself, because whoever holds a Flet session id can re-attach to
that session. No personal data is logged: requests are logged by method, path, status and duration
only (no client address, no query string, no headers, no body), and every message is scrubbed of
the secrets that travel in URLs — badge links ``/s/<token>``, tracking codes ``/t/<code>`` and
enrolment codes ``/enrol/<code>`` — and of ``Bearer`` tokens.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sys
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "X-Request-ID"
_INCOMING_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_request_id: ContextVar[str | None] = ContextVar("rapport_request_id", default=None)

_SECRET_PATH = re.compile(r"/(s|t|enrol)/[^/\s?#\"'<>]+")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[^\s\"',]+")
# Probes come every few seconds from a load balancer; they would drown everything else at INFO.
_QUIET_PATHS = frozenset({"/healthz", "/readyz"})
# Flet logs every websocket and session at INFO, with raw session ids; httpx logs whole URLs.
_CHATTY_LOGGERS = (
    "flet",
    "flet_web",
    "flet_transport",
    "flet_controls",
    "flet_components",
    "flet_object_patch",
    "httpx",
)
# Fields a record may carry through ``extra=`` that the JSON format writes as their own keys.
_FIELDS = ("method", "path", "status", "duration_ms")

access_log = logging.getLogger("rapport.http")


def redact(text: str) -> str:
    """The text with badge tokens, tracking and enrolment codes, and bearer tokens replaced."""
    text = _SECRET_PATH.sub(lambda m: f"/{m.group(1)}/<redacted>", text)
    return _BEARER.sub(lambda m: f"{m.group(1)} <redacted>", text)


def current_request_id() -> str | None:
    return _request_id.get()


def session_fingerprint(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()[:12]


def _flet_session_id() -> str | None:
    """The id of the Flet session this code runs in, if any (Flet keeps the page in a context
    variable, which ``asyncio.to_thread`` carries into worker threads)."""
    context = sys.modules.get("flet.controls.context")
    if context is None:
        return None
    page = context._context_page.get()
    if page is None:
        return None
    try:
        return str(page.session.id)
    except Exception:  # a page whose session is gone
        return None


class ContextFilter(logging.Filter):
    """Adds ``request_id`` and ``session`` to every record, and hides the raw Flet session id."""

    def filter(self, record: logging.LogRecord) -> bool:
        session_id = _flet_session_id()
        fingerprint = session_fingerprint(session_id) if session_id else None
        record.__dict__.update(request_id=_request_id.get(), session=fingerprint)
        if session_id and fingerprint:
            try:
                message = record.getMessage()
            except Exception:  # a bad format string: leave it for the handler to report
                return True
            if session_id in message:
                record.msg, record.args = message.replace(session_id, fingerprint), None
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(where)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        request_id, session = getattr(record, "request_id", None), getattr(record, "session", None)
        parts = [f"req={request_id}"] if request_id else []
        if session:
            parts.append(f"session={session}")
        record.__dict__["where"] = f" [{' '.join(parts)}]" if parts else ""
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, request_id, session, error."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key in ("request_id", "session", *_FIELDS):
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["error"] = redact(self.formatException(record.exc_info))
        elif record.stack_info:
            entry["error"] = redact(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup_logging(fmt: str = "text", *, level: int = logging.INFO, stream: TextIO | None = None) -> None:
    """Send every logger (uvicorn's and APScheduler's too) through one handler on the root logger.

    Run uvicorn with ``log_config=None`` (so it keeps its hands off logging) and
    ``access_log=False`` (:class:`RequestLog` writes the access log, redacted and with request ids).
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if str(fmt) == "json" else TextFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in _CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    logging.captureWarnings(True)


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers") or ():
        if name == b"x-request-id":
            text = value.decode("latin-1").strip()
            # A caller's id is kept only if it is short and plain: it goes into every log line.
            return text if _INCOMING_ID.fullmatch(text) else None
    return None


def _printable(path: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in path[:300])


class RequestLog:
    """ASGI middleware: a request id for every HTTP request and websocket, and one access-log line.

    1. Take the caller's ``X-Request-ID`` if it is plain (letters, digits, ``._:-``, up to 64
       characters), else make one; it is in the log context for everything the request causes and
       goes back in the response's ``X-Request-ID`` header (also on a websocket's accept).
    2. When the response is done (or the websocket closes) log method, path (redacted, without the
       query string), status and duration. Health probes are logged at DEBUG.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        rid = _incoming_id(scope) or uuid.uuid4().hex
        token = _request_id.set(rid)
        started = time.perf_counter()
        status: int | None = None
        header = (REQUEST_ID_HEADER.lower().encode(), rid.encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status
            kind = message["type"]
            if kind in ("http.response.start", "websocket.accept"):
                status = message.get("status", 101)
                message["headers"] = [*message.get("headers", ()), header]
            elif kind == "websocket.close" and status is None:
                status = 403
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            status = status or 500
            raise
        finally:
            method = scope.get("method", "WS") if scope["type"] == "http" else "WS"
            path = _printable(scope.get("path", ""))
            ms = round((time.perf_counter() - started) * 1000, 1)
            access_log.log(
                logging.DEBUG if path in _QUIET_PATHS else logging.INFO,
                "%s %s %s %.1f ms",
                method,
                path,
                status,
                ms,
                extra={"method": method, "path": redact(path), "status": status, "duration_ms": ms},
            )
            _request_id.reset(token)
