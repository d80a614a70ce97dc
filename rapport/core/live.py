"""Pushing alerts to open supervisor screens, in this process and on the other app servers.

Flet's own pubsub is per app (the kiosk and the admin app do not share one), and alerts are raised
in worker threads, so :class:`AlertBus` takes a publish from any thread and calls each subscriber on
the event loop it subscribed from.

Several app servers on one PostgreSQL (a chain of branches) share alerts through PostgreSQL itself,
no broker of our own: :class:`PgAlertRelay` sends ``NOTIFY rapport_alerts, '<alert id>'`` after the
alert's row is committed, and every server LISTENs on a dedicated connection, reads the row by id and
hands it to its own bus. The publishing server has already delivered it locally and skips its own
notification. The alert rows stay the source of truth: a listener that lost its connection delivers
the alerts it missed (by id) once it is back, and screens read the rows when they open.
On SQLite with one server process the bus alone does the job; with several worker processes
(``rapport serve --workers N``) each process polls the alert table instead (rapport/core/relay.py).
Whichever way an alert arrives, a process delivers each alert id once (:meth:`AlertBus.deliver`).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from models.alerts import AlertView
from rapport.core.pg_listen import PgListener

if TYPE_CHECKING:
    from fastapi import APIRouter

    from rapport.core.db import Database

log = logging.getLogger(__name__)
Handler = Callable[[AlertView], Awaitable[Any]]
CHANNEL = "rapport_alerts"
DELIVERED_MEMORY = 4096


class AlertBus:
    def __init__(self) -> None:
        self._subs: dict[int, tuple[set[int] | None, Handler, asyncio.AbstractEventLoop]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._forward: Callable[[AlertView], None] | None = None
        # Ids delivered here lately: an alert raised in this process can also come back through a
        # relay (the SQLite poller of several workers reads every new row, its own included).
        self._delivered: deque[int] = deque(maxlen=DELIVERED_MEMORY)
        self._delivered_set: set[int] = set()

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

    def forward_to(self, forward: Callable[[AlertView], None] | None) -> None:
        """Also hand every published alert to ``forward`` (the relay to the other servers)."""
        self._forward = forward

    def publish(self, alert: AlertView) -> int:
        """An alert raised here (its row committed): deliver it in this process and to the other
        servers. Returns how many local subscribers were scheduled."""
        delivered = self.deliver(alert)
        forward = self._forward
        if forward is not None:
            try:
                forward(alert)
            except Exception:  # the row is stored; the other servers' screens show it when they load
                log.warning("could not relay alert %s to the other servers", alert.id, exc_info=True)
        return delivered

    def deliver(self, alert: AlertView) -> int:
        """Deliver to every subscriber of the alert's branch in this process only, once per alert id
        (a second delivery of the same id schedules nothing and returns 0)."""
        with self._lock:
            if alert.id in self._delivered_set:
                return 0
            if len(self._delivered) == self._delivered.maxlen:
                self._delivered_set.discard(self._delivered[0])
            self._delivered.append(alert.id)
            self._delivered_set.add(alert.id)
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


def load_alert(db: Database, alert_id: int) -> AlertView | None:
    from models.alerts import Alert, view

    with db.read() as session:
        row = session.get(Alert, alert_id)
        return view(row) if row is not None else None


def alerts_after(db: Database, alert_id: int, limit: int = 200) -> list[AlertView]:
    from sqlmodel import col, select

    from models.alerts import Alert, view

    with db.read() as session:
        rows = session.exec(
            select(Alert).where(col(Alert.id) > alert_id).order_by(col(Alert.id)).limit(limit)
        ).all()
        return [view(r) for r in rows]


def latest_alert_id(db: Database) -> int:
    from sqlmodel import func, select

    from models.alerts import Alert

    with db.read() as session:
        return int(session.exec(select(func.max(Alert.id))).one() or 0)


class PgAlertRelay(PgListener):
    """NOTIFY on publish, LISTEN in a thread of its own (rapport/core/pg_listen.py); see the module
    docstring.

    1. :meth:`notify` (from the bus, after the alert's commit) remembers the id as sent from here and
       runs ``pg_notify`` through the pool.
    2. The listener thread holds a dedicated autocommit connection with ``LISTEN rapport_alerts``. Each
       notification names an alert id; ids sent from here are skipped, others are read from the
       database and delivered to this process's bus.
    3. If the connection drops, the thread reconnects with a growing pause (up to 10 s) and then
       delivers the alerts raised meanwhile (ids above the last one it saw), so none is lost.
    """

    def __init__(self, *, conninfo: str, db: Database, bus: AlertBus):
        super().__init__(conninfo=conninfo, db=db, channel=CHANNEL, name="alert")
        self.bus = bus
        self._sent: deque[int] = deque(maxlen=2048)
        self._sent_lock = threading.Lock()
        self._last_seen = 0

    # -- sending -------------------------------------------------------------------------------------
    def notify(self, alert: AlertView) -> None:
        with self._sent_lock:
            self._sent.append(alert.id)
            self._last_seen = max(self._last_seen, alert.id)
        self.send(str(alert.id))

    # -- receiving -----------------------------------------------------------------------------------
    def start(self) -> None:
        self._last_seen = latest_alert_id(self.db)
        super().start()

    def received(self, payload: str) -> None:
        try:
            alert_id = int(payload)
        except ValueError:
            log.warning("alert listener: ignored a notification that is not an alert id")
            return
        with self._sent_lock:
            mine = alert_id in self._sent
            self._last_seen = max(self._last_seen, alert_id)
        if mine:
            return
        alert = load_alert(self.db, alert_id)
        if alert is not None:
            self.bus.deliver(alert)

    def reconnected(self) -> None:
        for alert in alerts_after(self.db, self._last_seen):
            with self._sent_lock:
                mine = alert.id in self._sent
                self._last_seen = max(self._last_seen, alert.id)
            if not mine:
                self.bus.deliver(alert)


def alert_probe_router(bus: AlertBus) -> APIRouter:
    """Test-only routes (mounted when RAPPORT_ALERT_PROBE=1): subscribe to this server's bus exactly as
    a supervisor's screen does, and read back what arrived. The two-server test uses them to watch a
    server other than the one where an alert was raised."""
    from fastapi import APIRouter
    from fastapi.responses import JSONResponse

    router = APIRouter()
    inboxes: dict[int, tuple[list[AlertView], asyncio.Event]] = {}

    @router.post("/_probe/alerts")
    async def subscribe(branch_id: int) -> dict[str, int]:
        received: list[AlertView] = []
        arrived = asyncio.Event()

        async def on_alert(alert: AlertView) -> None:
            received.append(alert)
            arrived.set()

        token = bus.subscribe([branch_id], on_alert)
        inboxes[token] = (received, arrived)
        # The process: with several workers behind one port, the test keeps one connection per worker.
        return {"token": token, "pid": os.getpid()}

    @router.get("/_probe/alerts/{token}")
    async def inbox(token: int, wait: float = 0) -> Any:
        if token not in inboxes:
            # Tokens are per process: the pid tells a test with several workers it reached another one.
            return JSONResponse({"detail": "unknown token", "pid": os.getpid()}, status_code=404)
        received, arrived = inboxes[token]
        if not received and wait > 0:
            try:
                await asyncio.wait_for(arrived.wait(), timeout=min(wait, 30))
            except TimeoutError:
                pass
        return {
            "alerts": [
                {"id": a.id, "kind": a.kind, "complaint_id": a.complaint_id, "branch_id": a.branch_id}
                for a in received
            ],
            "pid": os.getpid(),
        }

    return router
