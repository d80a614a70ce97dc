"""Stored times (models/clock.py UTCDateTime): on SQLite the type converts in one step each way; what it
stores and reads back must be exactly what SQLAlchemy's own SQLite conversion stores and reads, so
rows written before and after read the same, and ordering by the stored text stays time order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import DateTime
from sqlalchemy.dialects import postgresql, sqlite

from models.clock import UTCDateTime

DIALECT = sqlite.dialect()
SHANGHAI = timezone(timedelta(hours=8))
INSTANTS = [
    datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2027, 1, 1, 0, 0, 0, 0, tzinfo=UTC),  # no microseconds: still written with six digits
    datetime(2026, 11, 18, 10, 30, 0, 120, tzinfo=SHANGHAI),  # another zone: stored as UTC
    datetime(1, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 15, 59, 59, 500000, tzinfo=SHANGHAI),
]


def _sqlalchemys_text(value: datetime) -> str:
    """What SQLAlchemy's SQLite DATETIME makes of the naive UTC time (the type's previous path)."""
    process = DateTime().dialect_impl(DIALECT).bind_processor(DIALECT)
    return str(process(value.astimezone(UTC).replace(tzinfo=None)))


@pytest.mark.parametrize("value", INSTANTS)
def test_a_time_is_stored_as_sqlalchemys_sqlite_text_and_read_back_as_the_same_instant(value):
    bind = UTCDateTime().dialect_impl(DIALECT).bind_processor(DIALECT)
    result = UTCDateTime().dialect_impl(DIALECT).result_processor(DIALECT, None)
    stored = bind(value)
    assert stored == _sqlalchemys_text(value)
    back = result(stored)
    assert back == value and back.tzinfo is UTC
    # Text that SQLAlchemy's parser reads (no fraction, a shorter one) reads the same here.
    assert result("2026-11-18 02:30:00") == datetime(2026, 11, 18, 2, 30, tzinfo=UTC)
    assert result("2026-11-18 02:30:00.5") == datetime(2026, 11, 18, 2, 30, 0, 500000, tzinfo=UTC)
    # Text Rapport does not write is still read: a date alone, a time with its offset.
    assert result("2026-11-18") == datetime(2026, 11, 18, tzinfo=UTC)
    assert result("2026-11-18 10:30:00+08:00") == datetime(2026, 11, 18, 2, 30, tzinfo=UTC)


def test_stored_text_sorts_in_time_order():
    bind = UTCDateTime().dialect_impl(DIALECT).bind_processor(DIALECT)
    ordered = sorted(INSTANTS)
    assert sorted(ordered, key=bind) == ordered


def test_none_passes_and_a_naive_time_is_refused():
    bind = UTCDateTime().dialect_impl(DIALECT).bind_processor(DIALECT)
    result = UTCDateTime().dialect_impl(DIALECT).result_processor(DIALECT, None)
    assert bind(None) is None and result(None) is None
    with pytest.raises(ValueError, match="naive datetime"):
        bind(datetime(2026, 11, 18, 10, 30))


def test_postgresql_keeps_sqlalchemys_conversion():
    pg = postgresql.dialect()
    bind = UTCDateTime().dialect_impl(pg).bind_processor(pg)
    value = datetime(2026, 11, 18, 10, 30, tzinfo=SHANGHAI)
    assert bind(value) == datetime(2026, 11, 18, 2, 30)  # naive UTC, for the driver


def test_times_in_turn_across_minutes_and_years_keep_their_own_text_and_read_back_right():
    """The conversions remember the last minutes and texts (a tap binds its moment and the start of
    its presses window, a minute apart, and reads a device's last-seen time again and again): times
    given in any order, each within a minute of the one before or not, must each get their own text,
    and each text read back its own time."""
    bind = UTCDateTime().dialect_impl(DIALECT).bind_processor(DIALECT)
    result = UTCDateTime().dialect_impl(DIALECT).result_processor(DIALECT, None)
    start = datetime(2026, 12, 31, 23, 58, 30, 250000, tzinfo=UTC)
    steps = [timedelta(seconds=s, microseconds=u) for s in (0, 1, 29, 30, 59, 60, 61, 3599) for u in (0, 7)]
    times = [start + step for step in steps] + [start - step for step in steps]
    # Each time with the one a minute before it, as a tap binds them, then a minute and a year apart.
    order = [t for pair in zip(times, [t - timedelta(minutes=1) for t in times], strict=True) for t in pair]
    order += [t.replace(year=2025) for t in times[::3]] + times[::-2]
    for value in order:
        text = bind(value)
        assert text == _sqlalchemys_text(value), value
        assert result(text) == value
        assert result(text) == value  # the same text again, as a device's last-seen time is
        assert result(_sqlalchemys_text(start)) == start  # one text read again between others
