"""One PostgreSQL ``LISTEN``/``NOTIFY`` channel between server processes: the part the relays share.

The alert relay (:class:`~rapport.core.live.PgAlertRelay`) and the counter relay
(:class:`~rapport.core.relay.PgCounterRelay`) are each a :class:`PgListener`: ``pg_notify`` through the
pool to send, and a thread of its own that holds a dedicated autocommit connection with ``LISTEN`` on
the channel, hands every notification's payload to :meth:`PgListener.received`, and after a lost
connection reconnects with a growing pause (up to 10 s), calling :meth:`PgListener.reconnected` once it
listens again. What a payload means, and which ones came from this process, is the relay's business.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rapport.core.db import Database

log = logging.getLogger(__name__)

FIRST_PAUSE = 0.5
LONGEST_PAUSE = 10.0


class PgListener:
    """A channel's sender and listener thread; subclasses say what a payload means (:meth:`received`)
    and what to do once a lost connection is back (:meth:`reconnected`). ``name`` names the thread
    (``<name>-listener``) and the log lines."""

    def __init__(self, *, conninfo: str, db: Database, channel: str, name: str):
        self.conninfo = conninfo
        self.db = db
        self.channel = channel
        self.name = name
        self._stop = threading.Event()
        self.listening = threading.Event()
        self._thread: threading.Thread | None = None

    def send(self, payload: str) -> None:
        """``pg_notify`` on the channel, through the pool (it reaches every listener, this one too)."""
        from sqlalchemy import text

        with self.db.engine.begin() as conn:
            conn.execute(
                text("SELECT pg_notify(:channel, :payload)"), {"channel": self.channel, "payload": payload}
            )

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._listen_forever, name=f"{self.name}-listener", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 5) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def received(self, payload: str) -> None:
        """One notification's payload, in the listener thread."""
        raise NotImplementedError

    def reconnected(self) -> None:
        """Called in the listener thread once it listens again after a lost connection (not on the
        first connection): the moment to catch up with what was sent meanwhile."""

    def _listen_forever(self) -> None:
        import psycopg

        from rapport.core.leader import KEEPALIVE

        pause = FIRST_PAUSE
        reconnecting = False
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True, **KEEPALIVE) as conn:
                    conn.execute(f"LISTEN {self.channel}")
                    self.listening.set()
                    pause = FIRST_PAUSE
                    if reconnecting:
                        self.reconnected()
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=1.0):
                            self.received(note.payload)
            except Exception as exc:
                self.listening.clear()
                if self._stop.is_set():
                    break
                log.warning(
                    "%s listener: connection lost (%s); retrying in %.1f s",
                    self.name,
                    type(exc).__name__,
                    pause,
                )
                reconnecting = True
                self._stop.wait(pause)
                pause = min(pause * 2, LONGEST_PAUSE)
        self.listening.clear()
