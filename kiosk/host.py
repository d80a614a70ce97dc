"""What a screen of the kiosk may use of the app that hosts it (issue 17).

The screens (kiosk/screens/) are drawn by the app (kiosk/app.py) and depend only on this protocol,
never on the app class: the app imports the screens, the screens import nothing of the app, and
there is no import cycle between them. A flow that belongs to one screen keeps its handlers beside
it (a small ``Handlers`` class in the screen's module: the complaint form, the details, the staff
sign-in, enrolment, the status page, the callback offer); what the host offers is the page, the
session's state, drawing, the idle clock, and the few steps that several screens share (the
language switch, "done", a tap's rating and its retry, the staff control, another status lookup).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import flet as ft

    from kiosk import backend
    from kiosk.state import KioskState
    from rapport.core.context import AppContext


class KioskHost(Protocol):
    # -- where and for whom ---------------------------------------------------------------------
    page: ft.Page
    ctx: AppContext
    prefs: ft.SharedPreferences  # the browser's storage: the counter's device token, a phone's large text
    state: KioskState  # the session's flow and drafts, as plain data (kiosk/state.py)
    public_url: str

    # -- what the status page shows (the app reloads it on a reconnect) -----------------------
    complaint_status: backend.ComplaintStatus | None
    case_view: backend.CasePublic | None  # a 差评 case's status page (case_status.py)
    status_code: str | None

    @property
    def contact_retention_days(self) -> int: ...

    def reasons_for(self, polarity: str) -> list[backend.Reason]: ...

    # -- drawing and the idle clock -------------------------------------------------------------
    def render(self) -> None: ...

    def touch(self) -> None: ...

    async def thank(self) -> None:
        """The thank-you screen, and its countdown back to welcome."""
        ...

    # -- handlers several screens share --------------------------------------------------------
    async def on_toggle_language(self, e: ft.Event[Any], /) -> None: ...

    async def on_touch_field(self, e: ft.Event[Any], /) -> None: ...

    async def on_toggle_large_text(self, e: ft.Event[Any], /) -> None:
        """大字模式 on or off (kiosk/large_text.py); a phone remembers it."""
        ...

    async def on_done(self, e: ft.Event[Any], /) -> None: ...

    async def on_open_staff(self, e: ft.Event[Any], /) -> None: ...

    async def on_rate(self, e: ft.Event[ft.Button], /) -> None: ...

    async def on_retry(self, e: ft.Event[Any], /) -> None: ...

    async def on_status_again(self, e: ft.Event[Any], /) -> None: ...
