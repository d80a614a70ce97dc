"""Time in one place: UTC everywhere inside, aware datetimes in Python, naive UTC in the database."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)

HEAD_OFFICE_TZ = "Asia/Shanghai"


def utcnow() -> datetime:
    return datetime.now(UTC)


def branch_zone(name: str | None) -> ZoneInfo:
    """A branch's time zone; the head office's when it has none or an unknown name (a bad value in
    the data must not break a dashboard)."""
    try:
        return ZoneInfo(name or HEAD_OFFICE_TZ)
    except (KeyError, ValueError):
        log.warning("unknown branch time zone %r; using %s", name, HEAD_OFFICE_TZ)
        return ZoneInfo(HEAD_OFFICE_TZ)


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant a local calendar day starts (zoneinfo settles days with a DST change)."""
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC (portable across SQLite and PostgreSQL) and returns aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; Rapport stores only aware UTC datetimes")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)
