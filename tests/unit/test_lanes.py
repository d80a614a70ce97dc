"""The apps' lanes (rapport/core/lanes.py): a customer's tap never waits behind office pages."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest

from rapport.core import lanes
from rapport.core.lanes import Lane

REQUEST = contextvars.ContextVar("request", default="-")


async def test_a_kiosk_call_runs_while_every_admin_thread_is_busy_and_more_pages_wait():
    admin, kiosk = Lane("admin-t", 2), Lane("kiosk-t", 2)
    release = threading.Event()
    started = threading.Semaphore(0)

    def page() -> str:
        started.release()
        release.wait(10)
        return "page"

    pages = [asyncio.ensure_future(admin.run(page)) for _ in range(6)]  # 2 running, 4 queued
    try:
        for _ in range(2):
            assert await asyncio.to_thread(started.acquire, True, 10)
        tap = await asyncio.wait_for(kiosk.run(lambda: "saved"), timeout=5)
        assert tap == "saved"
        assert not any(p.done() for p in pages)  # the office is still waiting: the tap did not
    finally:
        release.set()
    assert await asyncio.gather(*pages) == ["page"] * 6


async def test_the_call_sees_the_callers_context_and_its_error_reaches_the_caller():
    lane = Lane("ctx-t", 1)
    REQUEST.set("req-42")
    assert await lane.run(REQUEST.get) == "req-42"

    def fails(n: int, *, why: str) -> None:
        raise LookupError(f"{why} {n}")

    with pytest.raises(LookupError, match="no such case 7"):
        await lane.run(fails, 7, why="no such case")


def test_the_two_apps_have_separate_pools():
    assert lanes.KIOSK.pool is not lanes.ADMIN.pool
    assert lanes.KIOSK.threads >= 1 and lanes.ADMIN.threads >= 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("four", "RAPPORT_KIOSK_THREADS must be a whole number of threads \\(1-64\\), not 'four'"),
        ("0", "RAPPORT_KIOSK_THREADS must be between 1 and 64 threads, not 0"),
        ("65", "RAPPORT_KIOSK_THREADS must be between 1 and 64 threads, not 65"),
    ],
)
def test_a_bad_lane_size_is_refused_by_name(monkeypatch, text, message):
    monkeypatch.setenv("RAPPORT_KIOSK_THREADS", text)
    with pytest.raises(ValueError, match=message):
        lanes._threads("RAPPORT_KIOSK_THREADS", 4)


def test_a_lane_size_from_the_environment_and_the_default(monkeypatch):
    monkeypatch.setenv("RAPPORT_ADMIN_THREADS", " 8 ")
    assert lanes._threads("RAPPORT_ADMIN_THREADS", 4) == 8
    monkeypatch.delenv("RAPPORT_ADMIN_THREADS")
    assert lanes._threads("RAPPORT_ADMIN_THREADS", 4) == 4
