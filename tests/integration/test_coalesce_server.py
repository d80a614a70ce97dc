"""uvicorn with the coalescing protocol (rapport/core/coalesce.py), as `rapport serve` runs it: a short
answer leaves the server in one write, and everything else a connection does still works: keep-alive,
``Connection: close``, a large streamed body, a websocket upgraded from the connection."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import uvicorn
import websockets

from rapport.core.coalesce import CoalescingHttpToolsProtocol
from rapport.core.settings import load_settings
from rapport.entry.workers import server_options

CHUNK = 100_000  # each of the streamed body's three chunks: larger than FLUSH_BYTES


class Recorded:
    """The server transport's writes, as the socket got them."""

    def __init__(self, transport: Any, writes: list[bytes]):
        self._transport = transport
        self._writes = writes

    def write(self, data: bytes) -> None:
        self._writes.append(bytes(data))
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


WRITES: list[bytes] = []


class RecordingProtocol(CoalescingHttpToolsProtocol):
    def connection_made(self, transport: Any) -> None:
        super().connection_made(Recorded(transport, WRITES))


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
    elif scope["type"] == "websocket":
        await receive()  # the connect
        await send({"type": "websocket.accept"})
        while (message := await receive())["type"] == "websocket.receive":
            await send({"type": "websocket.send", "text": message["text"].upper()})
            await send({"type": "websocket.send", "text": "again " + message["text"]})
    elif scope["path"] == "/big":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for i in range(3):  # nothing awaited between the chunks but the sends
            await send({"type": "http.response.body", "body": bytes([65 + i]) * CHUNK, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    else:
        body = json.dumps({"id": 7, "path": scope["path"]}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 201, "headers": headers})
        await send({"type": "http.response.body", "body": body})


@contextlib.asynccontextmanager
async def serving() -> AsyncIterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, http=RecordingProtocol, log_config=None)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def test_rapport_serve_uses_the_coalescing_protocol():
    assert server_options(load_settings())["http"] is CoalescingHttpToolsProtocol


async def test_a_short_answer_is_one_write_and_keep_alive_and_close_still_work():
    WRITES.clear()
    async with serving() as host, httpx.AsyncClient(base_url=f"http://{host}") as client:
        first = await client.post("/api/v1/ratings", json={"score": 5})
        second = await client.post("/again")
        assert (first.status_code, first.json()) == (201, {"id": 7, "path": "/api/v1/ratings"})
        assert second.json()["path"] == "/again"
        # Both on one kept-alive connection, each answer in one write: status line, headers, body.
        assert len(WRITES) == 2
        assert WRITES[0].startswith(b"HTTP/1.1 201 Created\r\n")
        assert WRITES[0].endswith(b'{"id": 7, "path": "/api/v1/ratings"}')
        closing = await client.post("/last", headers={"Connection": "close"})
        assert closing.json()["path"] == "/last"
        assert closing.headers["connection"] == "close"
        assert len(WRITES) == 3  # sent before the server closed the connection


async def test_a_large_streamed_body_arrives_whole_and_in_order():
    async with serving() as host, httpx.AsyncClient(base_url=f"http://{host}") as client:
        resp = await client.get("/big")
    assert resp.content == b"A" * CHUNK + b"B" * CHUNK + b"C" * CHUNK


async def test_a_websocket_upgraded_from_the_connection_sends_every_frame_in_order():
    async with serving() as host, websockets.connect(f"ws://{host}/live") as ws:
        for word in ("tap", "again"):
            await ws.send(word)
            assert [await ws.recv(), await ws.recv()] == [word.upper(), "again " + word]
