"""What one server process tells the others that is not an alert over PostgreSQL already.

Two things happen in one process and matter to screens held by the others: an alert is raised (a
supervisor's screen must show it, rapport/core/live.py) and a transaction is reported at a counter (its
tablet must ask about it, rapport/core/counter_signals.py). Each process holds only the websockets it
accepted, so with several worker processes behind one port (``rapport serve --workers N``) or several
app servers, a process relays both:

* PostgreSQL: alerts already travel by ``NOTIFY rapport_alerts`` (:class:`~rapport.core.live.PgAlertRelay`,
  started by the scheduler's background); :class:`PgCounterRelay` does the same for nudges on
  ``NOTIFY rapport_counters``. It runs on every PostgreSQL server, one process or several.
* SQLite with several workers: no notification channel crosses processes, so :class:`SqlitePoller`
  reads, every ``POLL_SECONDS``, the alerts and the transactions stored since it last looked (two
  primary-key range reads) and hands them to this process's bus and tablets. Alerts are delivered
  once per id (the bus remembers what it delivered, including its own). A transaction reported in this
  process nudges its tablets here at once and again at the next poll: one more read of the counter.
  With one process on SQLite nothing polls.

The rows stay the source of truth: a screen reads what it shows from the database, so a relay that
is late or lost costs a delay, never a wrong screen.
"""

from __future__ import annotations

import logging
import threading
import uuid
from typing import TYPE_CHECKING

from rapport.core.live import alerts_after, latest_alert_id
from rapport.core.pg_listen import PgListener

if TYPE_CHECKING:
    from rapport.core.counter_signals import CounterSignals
    from rapport.core.db import Database
    from rapport.core.live import AlertBus

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5
COUNTER_CHANNEL = "rapport_counters"


def _latest_transaction_id(db: Database) -> int:
    from sqlmodel import func, select

    from models.services import ServiceTransaction

    with db.read() as session:
        return int(session.exec(select(func.max(ServiceTransaction.id))).one() or 0)


def _transactions_after(db: Database, after: int, limit: int = 500) -> list[tuple[int, int]]:
    """(id, counter id) of the transactions stored after id ``after``, oldest first."""
    from sqlmodel import col, select

    from models.services import ServiceTransaction

    with db.read() as session:
        rows = session.exec(
            select(ServiceTransaction.id, ServiceTransaction.counter_id)
            .where(col(ServiceTransaction.id) > after)
            .order_by(col(ServiceTransaction.id))
            .limit(limit)
        ).all()
    return [(int(i), int(c)) for i, c in rows if i is not None]


class SqlitePoller:
    """Alerts and nudges from the other worker processes on one SQLite file (see the module docstring).

    SQLite has one writer at a time and assigns ids inside the write transaction, so rows become
    visible in id order and "every id above the last one seen" misses none.
    """

    def __init__(
        self, *, db: Database, bus: AlertBus, counters: CounterSignals, period: float = POLL_SECONDS
    ):
        self.db = db
        self.bus = bus
        self.counters = counters
        self.period = period
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_alert = 0
        self._last_transaction = 0

    def start(self) -> None:
        self._last_alert = latest_alert_id(self.db)
        self._last_transaction = _latest_transaction_id(self.db)
        self._thread = threading.Thread(target=self._run, name="relay-poller", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            try:
                self.poll()
            except Exception:  # a locked or busy file: the next poll reads from the same place
                log.warning("relay poller: could not read new alerts and transactions", exc_info=True)

    def poll(self) -> None:
        """Deliver what was stored since the last poll (public for tests)."""
        for alert in alerts_after(self.db, self._last_alert):
            self._last_alert = max(self._last_alert, alert.id)
            self.bus.deliver(alert)
        nudged: set[int] = set()
        for tx_id, counter_id in _transactions_after(self.db, self._last_transaction):
            self._last_transaction = max(self._last_transaction, tx_id)
            if counter_id not in nudged:  # one read per tablet, however many transactions it had
                nudged.add(counter_id)
                self.counters.deliver(counter_id)


class PgCounterRelay(PgListener):
    """``NOTIFY rapport_counters, '<origin>:<counter id>'`` on every nudge, and a listener thread
    (rapport/core/pg_listen.py) that hands the nudges of the other processes to this one's tablets (its
    own origin is skipped).

    Unlike alerts nothing is caught up after a lost connection: a tablet reads its invitation again
    at every return to its welcome screen anyway.
    """

    def __init__(self, *, conninfo: str, db: Database, counters: CounterSignals):
        super().__init__(conninfo=conninfo, db=db, channel=COUNTER_CHANNEL, name="counter")
        self.counters = counters
        self.origin = uuid.uuid4().hex[:12]

    def notify(self, counter_id: int) -> None:
        self.send(f"{self.origin}:{counter_id}")

    def received(self, payload: str) -> None:
        origin, _, counter = payload.partition(":")
        if origin == self.origin:
            return
        try:
            counter_id = int(counter)
        except ValueError:
            log.warning("counter listener: ignored a notification that is not a counter id")
            return
        self.counters.deliver(counter_id)


class Relays:
    """The relays a server process starts (``start``/``stop`` are its start-up and shutdown hooks):
    the counter relay on PostgreSQL, the poller on SQLite when ``workers`` > 1, else nothing."""

    def __init__(self, *, db: Database, bus: AlertBus, counters: CounterSignals, workers: int):
        self.db = db
        self.bus = bus
        self.counters = counters
        self.workers = workers
        self.poller: SqlitePoller | None = None
        self.pg: PgCounterRelay | None = None

    async def start(self) -> None:
        import asyncio

        from rapport.core.leader import libpq_conninfo

        url = self.db.engine.url
        if url.get_backend_name() == "postgresql":
            self.pg = PgCounterRelay(conninfo=libpq_conninfo(url), db=self.db, counters=self.counters)
            self.pg.start()
            self.counters.forward_to(self.pg.notify)
        elif self.workers > 1:
            self.poller = SqlitePoller(db=self.db, bus=self.bus, counters=self.counters)
            await asyncio.to_thread(self.poller.start)

    async def stop(self) -> None:
        import asyncio

        if self.pg is not None:
            self.counters.forward_to(None)
            await asyncio.to_thread(self.pg.stop)
        if self.poller is not None:
            await asyncio.to_thread(self.poller.stop)
