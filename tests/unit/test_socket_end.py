"""rapport/entry/socket_end.py: a screen's websocket handler ends once its client has gone.

The stand-in below behaves as Flet's handler does (flet_web 1.0, ``FletApp.handle``): it reads until
the client disconnects, and then returns only if a session was registered by a first message;
without one it waits for ever. The tests drive the ASGI messages by hand on an event loop."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from rapport.entry.socket_end import EndWithClient


class FletLike:
    """Reads messages; after the disconnect, returns at once with a session (a message came first)
    and otherwise never (until cancelled). ``ended`` says how it ended."""

    def __init__(self, *, linger: float = 0.0):
        self.linger = linger  # how long a registered session takes to end after its client left
        self.ended: str | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        session = False
        try:
            while (kind := (await receive())["type"]) != "websocket.disconnect":
                session = session or kind == "websocket.receive"
            if session:
                await asyncio.sleep(self.linger)
                self.ended = "returned"
                return
            await asyncio.Event().wait()  # the send loop, waiting for a stop that never comes
        except asyncio.CancelledError:
            self.ended = "cancelled"
            raise


def client(*messages: dict[str, Any]) -> Any:
    """An ASGI receive giving ``messages`` in turn, then waiting for ever."""
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for message in messages:
        queue.put_nowait(message)

    async def receive() -> dict[str, Any]:
        return await queue.get()

    return receive


async def nothing_sent(message: dict[str, Any]) -> None:
    raise AssertionError(f"nothing is sent here: {message}")


LOGGER = "rapport.entry.socket_end"
WS = {"type": "websocket", "path": "/ws"}
CONNECT = {"type": "websocket.connect"}
REGISTER = {"type": "websocket.receive", "bytes": b"\x00register"}
GONE = {"type": "websocket.disconnect", "code": 1006}


def run(coro: Any, timeout: float = 5.0) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout))


def test_a_socket_closed_before_any_message_ends_its_handler_at_once(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    app = FletLike()
    run(EndWithClient(app)(WS, client(CONNECT, GONE), nothing_sent), timeout=2.0)
    assert app.ended == "cancelled"
    assert "with no session" in caplog.text


def test_a_registered_session_ends_by_itself_and_is_never_cut_short(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    app = FletLike(linger=0.3)  # Flet keeping the session for a reconnect takes a few turns
    run(EndWithClient(app, grace=5.0)(WS, client(CONNECT, REGISTER, GONE), nothing_sent))
    assert app.ended == "returned"
    assert [r for r in caplog.records if r.name == LOGGER] == []


def test_a_handler_with_a_session_that_hangs_is_ended_after_the_grace():
    app = FletLike(linger=3600)  # a session whose end never comes
    loop_time: list[float] = []

    async def timed() -> None:
        start = asyncio.get_running_loop().time()
        await EndWithClient(app, grace=0.3)(WS, client(CONNECT, REGISTER, GONE), nothing_sent)
        loop_time.append(asyncio.get_running_loop().time() - start)

    run(timed())
    assert app.ended == "cancelled"
    assert loop_time[0] >= 0.3  # not before the grace: a session gets its time to end


def test_a_stop_of_the_server_cancels_the_handler_and_is_not_swallowed():
    app = FletLike()

    async def stop_meanwhile() -> None:
        served = asyncio.ensure_future(EndWithClient(app)(WS, client(CONNECT, REGISTER), nothing_sent))
        await asyncio.sleep(0.05)  # the client is still there
        served.cancel()  # uvicorn cancelling what is left at the end of its graceful stop
        with pytest.raises(asyncio.CancelledError):
            await served

    run(stop_meanwhile())
    assert app.ended == "cancelled"


def test_a_handler_that_fails_raises_as_before():
    async def fails(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        raise RuntimeError("the handler's own error")

    with pytest.raises(RuntimeError, match="the handler's own error"):
        run(EndWithClient(fails)(WS, client(CONNECT), nothing_sent))


def test_http_passes_through_untouched():
    seen: list[dict[str, Any]] = []

    async def plain(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope)
        await send({"type": "http.response.start", "status": 204, "headers": []})

    sent: list[dict[str, Any]] = []

    async def collect(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "path": "/healthz", "method": "GET"}
    run(EndWithClient(plain)(scope, client(), collect))
    assert seen == [scope] and sent[0]["status"] == 204
