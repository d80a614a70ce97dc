"""rapport/ui/timers.py: a timer's step that fails does not end the timer; a socket that has just
closed is noted quietly, any other error is logged with its traceback."""

from __future__ import annotations

import logging

import pytest

from rapport.ui.timers import socket_just_closed, timer_step

log = logging.getLogger("tests.timers")
CLOSED = AttributeError("'NoneType' object has no attribute 'put_nowait'")  # flet_web 1.0.5


def test_only_flets_send_on_a_cleared_queue_counts_as_a_closed_socket() -> None:
    assert socket_just_closed(CLOSED)
    assert not socket_just_closed(AttributeError("'Place' object has no attribute 'name'"))
    assert not socket_just_closed(RuntimeError("'NoneType' object has no attribute 'put_nowait'"))


async def test_plain_and_async_steps_run() -> None:
    ran: list[str] = []

    async def later() -> None:
        ran.append("async")

    await timer_step("t", lambda: ran.append("plain"), log)
    await timer_step("t", later, log)
    assert ran == ["plain", "async"]


@pytest.mark.parametrize("is_async", [False, True])
async def test_a_closed_socket_is_noted_without_a_traceback(is_async: bool, caplog) -> None:  # type: ignore[no-untyped-def]
    def plain() -> None:
        raise CLOSED

    async def later() -> None:
        raise CLOSED

    caplog.set_level(logging.DEBUG, logger="tests.timers")
    await timer_step("board A: refresh", later if is_async else plain, log)
    [record] = caplog.records
    assert record.levelno == logging.DEBUG and record.exc_info is None
    assert record.getMessage().startswith("board A: refresh: the screen's socket had just closed")


async def test_any_other_error_is_logged_with_its_traceback_and_does_not_escape(caplog) -> None:  # type: ignore[no-untyped-def]
    async def broken() -> None:
        raise KeyError("a bug")

    await timer_step("kiosk: idle reset", broken, log)
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert record.getMessage() == "kiosk: idle reset failed; the timer goes on"
    assert record.exc_info is not None and record.exc_info[0] is KeyError
