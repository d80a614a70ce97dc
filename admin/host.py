"""What a screen of the admin app may use of the app that hosts it (issue 17).

The screens (admin/screens/) are drawn by the app (admin/app.py, through the section registry in
admin/sections.py) and depend only on this protocol, never on the app class: the app imports the
screens, the screens import nothing of the app, and there is no import cycle between them. A screen
keeps its own data, drafts and widgets in ``host.view[<its key>]`` (a dataclass of its own); what
the host offers is the page, the signed-in user and locale, one message line, drawing, backend calls,
and the few steps that move between screens (sign in and out, open and close a complaint).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import flet as ft

    from admin import backend
    from rapport.core.context import AppContext


class AdminHost(Protocol):
    # -- where and for whom ---------------------------------------------------------------------
    page: ft.Page
    ctx: AppContext
    locale: str
    user: backend.User | None
    section: str  # the section whose tab is open (admin/sections.py)
    view: dict[str, Any]  # each screen's own state, keyed by section (or screen) key

    # -- the one message line (the sign-in form and the complaint page show it) -----------------
    message_key: str | None
    message_values: dict[str, object]
    message_ok: bool

    def say(self, key: str | None, ok: bool = False, **values: object) -> None: ...

    def render(self) -> None: ...

    async def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``fn(ctx, token, *args, **kwargs)`` in a thread; an ended sign-in signs out and re-raises."""
        ...

    # -- the frame: top bar and section tabs ----------------------------------------------------
    async def on_section(self, e: ft.Event[Any], /) -> None: ...

    async def on_toggle_language(self, e: ft.Event[Any], /) -> None: ...

    async def on_sign_out(self, e: ft.Event[Any], /) -> None: ...

    # -- signing in (the form's drafts are the host's: it keeps them across a refused attempt) --
    login_draft: str
    password_draft: str  # kept only while the authenticator code is asked for
    totp_needed: bool

    async def sign_in(self, login: str, password: str, totp: str | None) -> None: ...

    # -- the open complaint ---------------------------------------------------------------------
    @property
    def detail(self) -> backend.Detail | None: ...

    async def open_complaint(self, complaint_id: int) -> None: ...

    async def close_complaint(self) -> None: ...

    async def reload_detail(self) -> None: ...
