"""One step of a screen's timer: the kiosk's idle reset and thank-you count-down, the hall board's
refresh and page turns. No tap awaits these steps, so what goes wrong in one is handled here.

A tablet's or wall screen's socket that has just closed leaves Flet's session attached for a moment,
and an update sent then fails (flet_web 1.0.5's FletApp.send_message on its cleared queue:
``'NoneType' object has no attribute 'put_nowait'``). The server keeps the new screen, and a screen
that reconnects is sent the whole page, so the timer goes on. A timer that stopped there would leave
a shared counter showing one customer's words to the next, or a hall's board frozen on old figures,
until someone reloaded it."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable


def socket_just_closed(exc: BaseException) -> bool:
    """Whether ``exc`` is Flet's failure to send on a socket that has just closed."""
    return isinstance(exc, AttributeError) and "put_nowait" in str(exc)


async def timer_step(what: str, step: Callable[[], object], log: logging.Logger) -> None:
    """Run ``step`` (a plain or an async callable); on a closed socket note it, on any other error
    log it with its traceback, and return either way so that the timer's loop goes on."""
    try:
        result = step()
        if inspect.isawaitable(result):
            await result
    except Exception as exc:
        if socket_just_closed(exc):
            log.debug("%s: the screen's socket had just closed; it sees the new screen on its return", what)
        else:
            log.exception("%s failed; the timer goes on", what)
