"""A small keep-alive HTTP/1.1 client for load generation (asyncio + httptools' response parser).

Why not httpx: on the 2-core benchmark machine an ``httpx.AsyncClient`` request costs about 5 ms of
the client's CPU (measured: 15 s of CPU for 3,000 ratings), so 32 httpx clients took a whole core
from the server they were measuring and the figure said more about the client than the server. This
client speaks plain HTTP/1.1 on one TCP connection per simulated tablet, one request at a time
(as a tablet does), and parses answers with the same C parser uvicorn uses; a request costs it a
small fraction of that. It checks what a load test must not get wrong: the status, the whole body
(``Content-Length`` or chunked), and a connection the server closed (an error, never a silent
retry).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import httptools  # type: ignore[import-untyped]


@dataclass
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class ConnectionClosed(Exception):
    """The server closed the connection (or it broke) before the answer was complete."""


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[Response] | None = None
        self.response = Response(0)
        self._body: list[bytes] = []
        self.closed = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ConnectionClosed(f"unparsable answer: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(ConnectionClosed(str(exc) if exc else "the server closed the connection"))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self.response.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        self.response.status = self.parser.get_status_code()
        self.response.body = b"".join(self._body)
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(self.response)

    def _fail(self, exc: Exception) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)


class Connection:
    """One keep-alive connection to ``host:port``; :meth:`request` sends one request at a time."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self._proto: _Protocol | None = None

    async def _connect(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        _transport, proto = await loop.create_connection(_Protocol, self.host, self.port)
        return proto

    async def request(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, json_body: Any = None
    ) -> Response:
        if self._proto is None or self._proto.closed:
            self._proto = await self._connect()
        proto = self._proto
        body = b"" if json_body is None else json.dumps(json_body).encode("utf-8")
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}")
        if json_body is not None:
            lines.append("Content-Type: application/json")
        lines.append(f"Content-Length: {len(body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        proto.response, proto._body = Response(0), []
        proto.waiter = asyncio.get_running_loop().create_future()
        assert proto.transport is not None
        proto.transport.write(head + body)
        try:
            response = await proto.waiter
        finally:
            proto.waiter = None
        if response.headers.get("connection", "").lower() == "close":
            self.close()
        return response

    def close(self) -> None:
        if self._proto is not None and self._proto.transport is not None:
            self._proto.transport.close()
        self._proto = None


def split_url(url: str) -> tuple[str, int]:
    """``http://host:port`` (as the benchmarks' servers give it) to (host, port)."""
    rest = url.removeprefix("http://").rstrip("/")
    host, _, port = rest.partition(":")
    return host, int(port or 80)
