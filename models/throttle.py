"""Counting failures per key (a staff member's PIN, a client address) inside a time window.

A throttle slows guessing without locking anyone out for good: after ``limit`` failures inside
``window`` the key must wait until the window has passed since the first of them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Column
from sqlmodel import Field, Session, SQLModel

import models.base  # noqa: F401  (naming convention first)
from models.clock import UTCDateTime


class Throttle(SQLModel, table=True):
    key: str = Field(primary_key=True, max_length=128)
    failures: int = 0
    window_start: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


def blocked_for(
    session: Session, key: str, *, limit: int, window: timedelta, now: datetime
) -> timedelta | None:
    """How long ``key`` must still wait, or None if it may try now."""
    row = session.get(Throttle, key)
    if row is None or now - row.window_start >= window or row.failures < limit:
        return None
    return row.window_start + window - now


def record_failure(session: Session, key: str, *, window: timedelta, now: datetime) -> None:
    row = session.get(Throttle, key)
    if row is None or now - row.window_start >= window:
        row = row or Throttle(key=key, window_start=now)
        row.failures, row.window_start = 1, now
    else:
        row.failures += 1
    session.add(row)
    session.commit()


def clear(session: Session, key: str) -> None:
    row = session.get(Throttle, key)
    if row is not None:
        session.delete(row)
        session.commit()
