"""A nudge to the screens of one counter, in this process: "something for you changed, read again".

The queue system's ``POST /api/v1/services`` (rapport/entry/api_services.py) records a finished
transaction; the counter's tablet, showing its welcome screen, then reads its invitation at once
instead of at its next reset. Only the counter's id travels; each screen reads what it shows from
the database, so a lost nudge costs a delay (the tablet reads again on every return to its welcome
screen), never a wrong screen. On several app servers a nudge reaches the tablets connected to the
server that took the request (docs/OPERATIONS.md "Invitations").
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)
Handler = Callable[[], Awaitable[Any]]


class CounterSignals:
    def __init__(self) -> None:
        self._subs: dict[int, tuple[int, Handler, asyncio.AbstractEventLoop]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def subscribe(self, counter_id: int, handler: Handler) -> int:
        """Call ``handler`` on the running loop whenever ``counter_id`` is nudged; returns a token."""
        token = next(self._ids)
        with self._lock:
            self._subs[token] = (counter_id, handler, asyncio.get_running_loop())
        return token

    def unsubscribe(self, token: int) -> None:
        with self._lock:
            self._subs.pop(token, None)

    def nudge(self, counter_id: int) -> int:
        """Schedule every handler of ``counter_id`` (from any thread); returns how many."""
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
