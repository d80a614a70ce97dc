"""A screen's websocket handler ends when its client has gone, session or not.

Flet's handler (flet_web 1.0, ``FletApp.handle``) runs a receive loop and a send loop and returns when
both have ended. When the client goes, the receive loop ends, but it tells the send loop to stop only
if a session was registered, that is, only after the browser's first message. A websocket closed
before that message (a tablet losing its Wi-Fi while the page starts, a page left at once, a probe
that only opens the socket) leaves the send loop waiting on its queue for ever: a handler, its tasks
and its app object kept for the life of the process, and a graceful stop of the server that waits
its whole ``timeout_graceful_shutdown`` (15 s) for them (measured: 15.2-15.3 s with one such socket,
0.3 s with none; 46.6 KB of memory kept a socket; docs/OPERATIONS.md, "Graceful shutdown").

:class:`EndWithClient` wraps a Flet app. It runs the handler as a task of its own and watches what
the handler receives: once the client has disconnected, a handler that is still running is cancelled,
at once when no message ever came (there can be no session, so nothing of Flet's is left to do), or
after ``grace`` seconds otherwise (Flet's own ending of a registered session, which keeps it for a
reconnect, takes a few event-loop turns and is never cut short). A cancelled handler is logged, not
raised: the connection was over already. Everything that is not a websocket passes through.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

GRACE_S = 10.0  # a handler with a session gets this long after its client left to end by itself


class EndWithClient:
    def __init__(self, app: ASGIApp, *, grace: float = GRACE_S):
        self.app = app
        self.grace = grace

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        heard = False  # a message from the client reached the handler (it may hold a session)
        ended: list[asyncio.TimerHandle] = []  # the pending cancel, once the client has gone

        async def watched() -> Message:
            nonlocal heard
            message = await receive()
            kind = message["type"]
            if kind == "websocket.receive":
                heard = True
            elif kind == "websocket.disconnect" and not ended:
                ended.append(loop.call_later(self.grace if heard else 0, handler.cancel))
            return message

        handler = asyncio.ensure_future(self.app(scope, watched, send))
        try:
            await handler  # a cancel of this request (the server's stop) cancels the handler too
        except asyncio.CancelledError:
            this = asyncio.current_task()
            if not ended or (this is not None and this.cancelling()):
                raise
            log.info(
                "a screen's websocket handler was still running %s after its client left; it was ended",
                f"{self.grace:g} s" if heard else "with no session",
            )
        finally:
            for timer in ended:
                timer.cancel()
