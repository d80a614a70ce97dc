"""The customer app in process for UI tests: ``open_kiosk`` opens fresh (fake) browser tabs of
kiosk/app.py on the test database, each with its app object at hand (``h.app``) and its idle
watchdog and thank-you countdown sleeping on the harness clock. The fixture is in conftest.py (a
module may define its own); the types are here: ``from kiosk_support import KioskHarness, Open``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from harness import FletHarness

from kiosk.app import KioskApp


class KioskHarness(FletHarness):
    app: KioskApp  # the session's app object, to read its state where the screen cannot tell yet


Open = Callable[..., Awaitable[KioskHarness]]
