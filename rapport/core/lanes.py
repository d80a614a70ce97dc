"""Lanes: the thread pools that the two apps' database work runs on, one per app.

Why: Flet runs every handler on the server's one event loop, so a handler hands its database work to
a thread. With ``asyncio.to_thread`` every handler of both apps shares the loop's default executor
(min(32, cores + 4) threads: 6 on 2 cores), first come first served. Twenty supervisors paging the
queue and the audit log keep those threads busy, and a customer's tap then waits behind about a
dozen queued pages before it even starts (benchmarks/bench_reads.py measured a tap-to-acknowledge
p95 above a second that way, although saving the tap itself took a tenth of that). A tap must not
queue behind anything an office does, so each app has its own lane:

* :data:`KIOSK`: every database call of the customer app (taps, session opens, complaints, status
  pages). Writes are serialised by the database anyway (one writer on SQLite), so a few threads are
  enough to keep the write lock busy while the next tap's Python work runs.
* :data:`ADMIN`: every call of the staff/supervisor/administrator app. Bounding it also bounds how
  much of the interpreter's time a burst of office pages can take from the taps.

The HTTP API, the scheduler and start-up keep using the loop's default executor, which no app
handler uses any more. The sizes come from ``RAPPORT_KIOSK_THREADS`` and ``RAPPORT_ADMIN_THREADS``
(read once at import; defaults below), for a larger machine or a PostgreSQL chain.

:func:`run` copies the caller's context variables into the thread (as ``asyncio.to_thread`` does), so
a log line written by the call still carries the session's request id.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

DEFAULT_KIOSK_THREADS = 4
DEFAULT_ADMIN_THREADS = 4


def _threads(variable: str, default: int) -> int:
    """A lane's size from the environment: a whole number from 1 to 64, else ``ValueError`` naming
    the variable (start-up stops with that message rather than running with a guess)."""
    text = os.environ.get(variable, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{variable} must be a whole number of threads (1-64), not {text!r}") from None
    if not 1 <= value <= 64:
        raise ValueError(f"{variable} must be between 1 and 64 threads, not {value}")
    return value


class Lane:
    """A named pool of worker threads, created on first use (so importing costs nothing)."""

    def __init__(self, name: str, threads: int):
        self.name = name
        self.threads = threads
        self._pool: ThreadPoolExecutor | None = None

    @property
    def pool(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix=f"lane-{self.name}")
        return self._pool

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``await lane.run(fn, *args, **kwargs)``: ``fn`` on one of this lane's threads, with the
        caller's context variables; its exception is raised here."""
        call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self.pool, call)

    def __repr__(self) -> str:
        return f"Lane({self.name!r}, threads={self.threads})"


KIOSK = Lane("kiosk", _threads("RAPPORT_KIOSK_THREADS", DEFAULT_KIOSK_THREADS))
ADMIN = Lane("admin", _threads("RAPPORT_ADMIN_THREADS", DEFAULT_ADMIN_THREADS))
