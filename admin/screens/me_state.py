"""My page's state (admin/screens/me.py): what is shown, the one open form and its draft, the last
message, kept in ``app.view["me"]`` for the person signed in; and what its parts (me_lists.py,
me_consent.py) call on the page's handlers, so they need not import the page."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import flet as ft

from admin import staff_portal as portal

if TYPE_CHECKING:
    from admin.host import AdminHost

KEY = "me"


@dataclass
class MeView:
    owner: int | None = None
    data: portal.Overview | None = None
    tab: str = "scores"
    comments: int = portal.COMMENTS_PAGE
    form: tuple[str, str] | None = None  # (action, the rating's or record's id)
    draft: str = ""
    error: str | None = None  # a catalog key about the draft
    message: str | None = None  # a catalog key about the last action
    ok: bool = False
    busy: bool = False
    values: dict[str, object] = field(default_factory=dict)
    at: str | None = None  # the card the message is about ("record:12", "rating:<id>"), shown in it
    text_field: ft.TextField | None = None  # the open form's field, as last drawn

    def say(self, key: str | None, ok: bool = False, at: str | None = None, **values: object) -> None:
        self.message, self.ok, self.at, self.values = key, ok, at, values

    def close_form(self) -> None:
        self.form, self.draft, self.error, self.text_field = None, "", None, None


def state(app: AdminHost) -> MeView:
    view = app.view.get(KEY)
    owner = app.user.id if app.user else None
    if not isinstance(view, MeView) or view.owner != owner:
        view = app.view[KEY] = MeView(owner=owner)
    return view


class MeHandlers(Protocol):
    """The page's handlers that its cards and forms are wired to (admin/screens/me.py ``Handlers``)."""

    async def on_more(self, e: ft.Event[Any], /) -> None: ...

    async def on_open(self, e: ft.Event[Any], /) -> None: ...

    async def on_cancel(self, e: ft.Event[Any], /) -> None: ...

    async def on_draft(self, e: ft.Event[Any], /) -> None: ...

    async def on_consent(self, e: ft.Event[Any], /) -> None: ...

    async def on_acknowledge(self, e: ft.Event[Any], /) -> None: ...

    async def on_submit(self, e: ft.Event[Any], /) -> None: ...
