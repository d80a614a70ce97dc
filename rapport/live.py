"""Pushing alerts to open supervisor screens in this process.

Flet's own pubsub is per app (the kiosk and the admin app do not share one), and alerts are raised
in worker threads, so this small bus takes a publish from any thread and calls each subscriber on
the event loop it subscribed from. Across several servers (a chain on PostgreSQL) the same publish
would ride on LISTEN/NOTIFY; the alert rows in the database stay the source of truth either way.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from models.alerts import AlertView

log = logging.getLogger(__name__)
Handler = Callable[[AlertView], Awaitable[Any]]


class AlertBus:
    def __init__(self) -> None:
        self._subs: dict[int, tuple[set[int] | None, Handler, asyncio.AbstractEventLoop]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def subscribe(self, branch_ids: list[int] | None, handler: Handler) -> int:
        """``branch_ids`` None means every branch (an administrator). Returns a token to unsubscribe."""
        token = next(self._ids)
        with self._lock:
            self._subs[token] = (
                set(branch_ids) if branch_ids is not None else None,
                handler,
                asyncio.get_running_loop(),
            )
        return token

    def unsubscribe(self, token: int) -> None:
        with self._lock:
            self._subs.pop(token, None)

    def publish(self, alert: AlertView) -> int:
        """Deliver to every subscriber of the alert's branch; returns how many were scheduled."""
        with self._lock:
            targets = [
                (h, loop)
                for scope, h, loop in self._subs.values()
                if scope is None or alert.branch_id in scope
            ]
        for handler, loop in targets:
            if not loop.is_closed():
                loop.call_soon_threadsafe(self._schedule, handler, alert)
        return len(targets)

    @classmethod
    def _schedule(cls, handler: Handler, alert: AlertView) -> None:
        asyncio.ensure_future(cls._safe(handler, alert))

    @staticmethod
    async def _safe(handler: Handler, alert: AlertView) -> None:
        try:
            await handler(alert)
        except Exception:  # a closed screen must not break delivery to the others
            log.debug("alert handler failed", exc_info=True)
