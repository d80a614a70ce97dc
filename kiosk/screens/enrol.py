"""Enrolment: bind this tablet to a counter with a one-time code from an administrator.

Its handler lives here, and :func:`enrol_with`, which the app also calls for /enrol/<code>.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flet as ft

from kiosk import backend
from kiosk.state import TOKEN_KEY
from kiosk.ui import INK, MUTED, TAP_MIN, header, language_button
from models.errors import EnrolmentCodeInvalid
from rapport.core.i18n import t
from rapport.core.lanes import KIOSK
from rapport.ui.a11y import set_language

if TYPE_CHECKING:
    from kiosk.host import KioskHost


async def enrol_with(app: KioskHost, code: str) -> None:
    """Enrol with a code; the device token is kept in the browser's storage."""
    app.state.enrol_draft = code.strip()[:12]  # keep what was typed if it is refused
    if not code.strip():
        app.state.needs_enrolment("kiosk.enrol.empty")
        app.render()
        return
    try:
        enrolled = await KIOSK.run(backend.enrol, app.ctx, code)
    except EnrolmentCodeInvalid:
        app.state.needs_enrolment("kiosk.enrol.invalid")
        app.render()
        return
    await app.prefs.set(TOKEN_KEY, enrolled.token)
    app.state.enrolled(enrolled.token, enrolled.view)
    if app.page.route.startswith("/enrol/"):
        # Drop the spent code from the address bar so a reload does not try it again.
        await app.page.push_route("/")
    app.render()


class Handlers:
    """The enrolment form's event handler, holding the code field it was drawn with."""

    def __init__(self, app: KioskHost):
        self.app = app
        self.field: ft.TextField | None = None

    async def on_enrol(self, _e: ft.Event[Any]) -> None:
        code = (self.field.value if self.field else "") or ""
        await enrol_with(self.app, code)


def build(app: KioskHost) -> ft.Control:
    locale = app.state.locale
    # Not drawn in the shared frame: tell Flutter the language here (its field counter, <html lang>).
    set_language(app.page, locale)
    message = app.state.message_key
    h = Handlers(app)
    code = ft.TextField(
        label=t(locale, "kiosk.enrol.code"),
        key="enrol-code",
        autofocus=message is not None,  # as the status page's field (kiosk/screens/tracking.py)
        capitalization=ft.TextCapitalization.CHARACTERS,
        max_length=12,
        text_size=24,
        on_submit=h.on_enrol,
        error=t(locale, message) if message else None,
        error_max_lines=3,
        value=app.state.enrol_draft,
    )
    h.field = code
    form = ft.Column(
        [
            ft.Text(t(locale, "kiosk.enrol.title"), size=28, weight=ft.FontWeight.BOLD, color=INK),
            ft.Text(t(locale, "kiosk.enrol.body"), size=18, color=MUTED),
            code,
            ft.Button(
                content=ft.Text(t(locale, "kiosk.enrol.submit"), size=20),
                on_click=h.on_enrol,
                key="enrol-submit",
                height=TAP_MIN,
                width=200,
            ),
        ],
        spacing=20,
        width=560,
    )
    return ft.Column(
        [
            header(t(locale, "app.name"), "", language_button(locale, app.on_toggle_language)),
            ft.Container(content=form, padding=24, alignment=ft.Alignment.TOP_CENTER, expand=True),
        ],
        spacing=0,
        expand=True,
    )
