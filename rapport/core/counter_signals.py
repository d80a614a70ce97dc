"""A nudge to the screens of one counter: "something for you changed, read again".

The queue system's ``POST /api/v1/services`` (rapport/entry/api_services.py) records a finished
transaction; the counter's tablet, showing its welcome screen, then reads its invitation at once
instead of at its next reset. Only the counter's id travels; each screen reads what it shows from
the database, so a lost nudge costs a delay (the tablet reads again on every return to its welcome
screen), never a wrong screen.

Across processes (rapport/core/relay.py): on PostgreSQL every nudge is also sent with
``NOTIFY rapport_counters`` and every app server (and worker process) hands the ones it hears to its
own tablets; on SQLite with several worker processes each worker polls for new transactions. A relayed
nudge may reach a tablet of the sending process a second time: one more read, the same screen.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import APIRouter

log = logging.getLogger(__name__)
Handler = Callable[[], Awaitable[Any]]


class CounterSignals:
    def __init__(self) -> None:
        self._subs: dict[int, tuple[int, Handler, asyncio.AbstractEventLoop]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._forward: Callable[[int], None] | None = None

    def subscribe(self, counter_id: int, handler: Handler) -> int:
        """Call ``handler`` on the running loop whenever ``counter_id`` is nudged; returns a token."""
        token = next(self._ids)
        with self._lock:
            self._subs[token] = (counter_id, handler, asyncio.get_running_loop())
        return token

    def unsubscribe(self, token: int) -> None:
        with self._lock:
            self._subs.pop(token, None)

    def forward_to(self, forward: Callable[[int], None] | None) -> None:
        """Also hand every nudge to ``forward`` (the relay to the other processes)."""
        self._forward = forward

    def nudge(self, counter_id: int) -> int:
        """Schedule every handler of ``counter_id`` in this process (from any thread) and relay the
        nudge to the other processes; returns how many local handlers were scheduled."""
        delivered = self.deliver(counter_id)
        forward = self._forward
        if forward is not None:
            try:
                forward(counter_id)
            except Exception:  # the transaction is stored; the other tablets read it at their next reset
                log.warning("could not relay the nudge of counter %s", counter_id, exc_info=True)
        return delivered

    def deliver(self, counter_id: int) -> int:
        """Schedule every handler of ``counter_id`` in this process only; returns how many."""
        with self._lock:
            targets = [(h, loop) for c, h, loop in self._subs.values() if c == counter_id]
        for handler, loop in targets:
            if not loop.is_closed():
                loop.call_soon_threadsafe(self._schedule, handler)
        return len(targets)

    @classmethod
    def _schedule(cls, handler: Handler) -> None:
        asyncio.ensure_future(cls._safe(handler))

    @staticmethod
    async def _safe(handler: Handler) -> None:
        try:
            await handler()
        except Exception:  # a closed screen must not stop the others
            log.debug("counter signal handler failed", exc_info=True)


def counter_probe_router(signals: CounterSignals) -> APIRouter:
    """Test-only routes (mounted with RAPPORT_ALERT_PROBE=1, beside rapport/core/live.alert_probe_router):
    subscribe to this process's nudges of a counter exactly as a tablet's welcome screen does, and
    count what arrived. The workers test watches a process other than the one that took the request."""
    from fastapi import APIRouter
    from fastapi.responses import JSONResponse

    router = APIRouter()
    counts: dict[int, list[int]] = {}

    @router.post("/_probe/counters")
    async def subscribe(counter_id: int) -> dict[str, int]:
        heard: list[int] = []

        async def on_nudge() -> None:
            heard.append(counter_id)

        token = signals.subscribe(counter_id, on_nudge)
        counts[token] = heard
        return {"token": token, "pid": os.getpid()}

    @router.get("/_probe/counters/{token}")
    async def heard(token: int) -> Any:
        if token not in counts:
            # Tokens are per process: the pid tells the workers test it reached the other worker.
            return JSONResponse({"detail": "unknown token", "pid": os.getpid()}, status_code=404)
        return {"nudges": len(counts[token]), "pid": os.getpid()}

    return router
