"""What the screens and the API need from the composition root, passed down explicitly."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from models.clock import utcnow
from rapport.core.counter_signals import CounterSignals
from rapport.core.db import Database
from rapport.core.live import AlertBus
from rapport.core.ratelimit import RateLimiter
from rapport.core.settings import Settings

ASSETS_DIR = Path(__file__).resolve().parents[2] / "assets"
FONT_FAMILY = "Rapport Sans"


@dataclass
class AppContext:
    settings: Settings
    db: Database
    secret_key: str
    clock: Callable[[], datetime] = field(default=utcnow)
    # Tracking-code lookups per client address per minute (docs/SECURITY.md: wrong codes are rate-limited).
    status_limiter: RateLimiter = field(default_factory=lambda: RateLimiter(limit=10, window_seconds=60))
    alerts: AlertBus = field(default_factory=AlertBus)
    # Nudges to a counter's tablets (an invitation to rate a transaction: rapport/core/counter_signals.py).
    counters: CounterSignals = field(default_factory=CounterSignals)
