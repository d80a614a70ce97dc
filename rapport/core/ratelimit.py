"""A small in-process sliding-window rate limiter (for public lookups such as tracking codes).

Per process by design: it slows guessing from one client; the codes themselves carry ~42 bits and a
check character, so guessing across several servers stays hopeless. The same holds for the worker
processes of ``rapport serve --workers N``: one browser session stays on one worker and gets the
limit; a client whose sessions land on all N workers gets up to N times it (docs/OPERATIONS.md).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    def __init__(self, *, limit: int, window_seconds: float, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.window = window_seconds
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, limit: int | None = None) -> bool:
        """Record one attempt for ``key``; False if the key is over its limit (the attempt is refused).
        ``limit`` overrides the default for this call (a policy value that an administrator edits)."""
        limit = self.limit if limit is None else limit
        now = self.clock()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and now - hits[0] >= self.window:
                hits.popleft()
            if len(hits) >= limit:
                return False
            hits.append(now)
            if len(self._hits) > 10_000:  # forget idle keys so memory stays bounded
                for k in [k for k, v in self._hits.items() if not v or now - v[-1] >= self.window]:
                    del self._hits[k]
            return True
