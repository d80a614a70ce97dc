"""The queue's filter: what a supervisor types narrows the loaded complaints (admin/screens/queue.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from admin.backend import QueueRow
from admin.screens.queue import matching

AT = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)


def row(cid: int, *, counter: str | None = "1号窗口", severity: str = "normal") -> QueueRow:
    return QueueRow(
        cid, AT, AT, "new", severity, "2.2.3", "服务态度", "Attitude", "人民路支行", "Renmin Rd",
        counter, None, "王芳", 0,
    )  # fmt: skip


ROWS = [row(2), row(23, counter="2号窗口"), row(123, severity="high"), row(230)]


def ids(found: list[QueueRow]) -> list[int]:
    return [r.id for r in found]


def test_a_number_with_its_hash_is_that_complaint_alone() -> None:
    assert ids(matching(ROWS, severity="all", needle="#23")) == [23]
    assert ids(matching(ROWS, severity="all", needle="#2")) == [2]
    assert ids(matching(ROWS, severity="all", needle="#999")) == []
    # The severity still applies: #123 is high, #23 is not.
    assert ids(matching(ROWS, severity="high", needle="#23")) == []
    assert ids(matching(ROWS, severity="high", needle="#123")) == [123]


def test_other_text_matches_names_and_numbers_inside_them() -> None:
    assert ids(matching(ROWS, severity="all", needle="2号窗口")) == [23]
    assert ids(matching(ROWS, severity="all", needle="renmin")) == [2, 23, 123, 230]
    # A bare number is looked for in the text, the complaint's "#N" included.
    assert ids(matching(ROWS, severity="all", needle="23")) == [23, 123, 230]
    assert ids(matching(ROWS, severity="all", needle="")) == [2, 23, 123, 230]
