"""After a 差评 (a rating low enough to open a case, models/cases.py): "may we call you back about
this?" with a phone number or e-mail and the customer's consent, or no thanks; then the case's
tracking code with its QR code, to follow the verification and the answer on the status page.

Its draft and handlers live here; the app routes the two screens, and the details screen
(kiosk/screens/details.py) calls :func:`offer` after the details of a low rating.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import flet as ft

from kiosk import backend
from kiosk.screens.complaint import consent_row
from kiosk.screens.complaint_done import code_block
from kiosk.screens.frame import form_width, frame
from kiosk.state import CallbackDraft, Screen
from kiosk.ui import INK, TAP_MIN
from models.errors import ValidationFailed
from rapport.core.i18n import fmt_due, t
from rapport.core.lanes import KIOSK

if TYPE_CHECKING:
    from kiosk.host import KioskHost

log = logging.getLogger(__name__)
ERROR = "#B3261E"


async def offer(app: KioskHost) -> bool:
    """After the details of a rating: when it opened a case, show the callback offer and return True."""
    rating_id = app.state.rating_id
    if rating_id is None or (app.state.score or 5) > 3:
        return False
    try:
        found = await KIOSK.run(backend.case_ticket, app.ctx, rating_id=rating_id)
    except Exception:
        log.exception("kiosk: reading the case of a rating failed")
        return False
    if found is None:
        return False
    app.state.ticket, app.state.callback = found, CallbackDraft()
    app.state.say(None)
    app.state.go(Screen.callback)
    app.render()
    return True


class Handlers:
    """The callback screen's event handlers (async methods, as Flet awaits them)."""

    def __init__(self, app: KioskHost):
        self.app = app

    async def on_contact(self, e: ft.Event[Any]) -> None:
        self.app.touch()
        self.app.state.callback.contact = str(e.control.value or "")

    async def on_consent(self, e: ft.Event[Any]) -> None:
        self.app.touch()
        self.app.state.callback.consent = bool(e.control.value)

    async def on_consent_text(self, _e: ft.Event[Any]) -> None:
        self.app.touch()
        self.app.state.callback.consent = not self.app.state.callback.consent
        self.app.render()

    async def on_leave(self, _e: ft.Event[Any]) -> None:
        await leave(self.app)

    async def on_skip(self, _e: ft.Event[Any]) -> None:
        self.app.touch()
        self.app.state.callback.error = None
        self.app.state.go(Screen.case_done)
        self.app.render()


async def leave(app: KioskHost) -> None:
    """Keep the contact (with consent) and show the code; a refusal is said under the form."""
    app.touch()
    draft, rating_id = app.state.callback, app.state.rating_id
    assert rating_id is not None
    if not draft.contact.strip():
        draft.error = "callback.error.contact_empty"
        app.render()
        return
    if not draft.consent:
        draft.error = "callback.error.consent"
        app.render()
        return
    try:
        await KIOSK.run(
            backend.leave_callback, app.ctx, rating_id=rating_id, contact=draft.contact, consent=True
        )
    except ValidationFailed as exc:
        draft.error = "callback.error.contact" if exc.field == "contact" else "callback.error.save"
        app.render()
        return
    except Exception:
        log.exception("kiosk: keeping a callback contact failed")
        draft.error = "callback.error.save"
        app.render()
        return
    draft.error, draft.left = None, True
    app.state.go(Screen.case_done)
    app.render()


def build(app: KioskHost) -> ft.Control:
    """The offer: why, the field, the consent in full, leave it or no thanks."""
    locale, draft = app.state.locale, app.state.callback
    h = Handlers(app)
    days = app.contact_retention_days
    controls: list[ft.Control] = [
        ft.Text(
            t(locale, "callback.title"), size=26, weight=ft.FontWeight.BOLD, color=INK, key="callback-title"
        ),
        ft.Text(t(locale, "callback.why"), size=17, color=INK),
        ft.TextField(
            label=t(locale, "callback.contact"),
            value=draft.contact,
            on_change=h.on_contact,
            key="callback-contact",
            keyboard_type=ft.KeyboardType.PHONE,
            max_length=120,
        ),
        consent_row(
            t(locale, "callback.consent", days=days),
            value=draft.consent,
            on_change=h.on_consent,
            on_text=h.on_consent_text,
            key="callback-consent",
        ),
    ]
    if draft.error:
        controls.append(ft.Text(t(locale, draft.error), size=16, color=ERROR, key="callback-error"))
    controls.append(
        ft.Row(
            [
                ft.Button(
                    content=ft.Text(t(locale, "callback.leave"), size=18),
                    on_click=h.on_leave,
                    key="callback-leave",
                    height=TAP_MIN,
                ),
                ft.TextButton(
                    content=ft.Text(t(locale, "callback.skip"), size=18),
                    on_click=h.on_skip,
                    key="callback-skip",
                    height=TAP_MIN,
                ),
            ],
            wrap=True,
            spacing=12,
            run_spacing=12,
        )
    )
    body = ft.Column(
        controls, spacing=16, horizontal_alignment=ft.CrossAxisAlignment.STRETCH, width=form_width(app, 640)
    )
    return frame(app, body)


def done(app: KioskHost) -> ft.Control:
    """The case's promise and tracking code, with a QR code for the status page."""
    locale, found = app.state.locale, app.state.ticket
    assert found is not None
    promise = t(locale, f"promise.{found.promise_unit}", amount=found.promise_amount)
    due = fmt_due(locale, found.due_at, found.timezone)
    how = "callback.done.call" if app.state.callback.left else "callback.done.page"
    body = ft.Column(
        [
            ft.Icon(ft.Icons.FACT_CHECK_OUTLINED, size=64, color="#1E4E8C"),
            ft.Text(
                t(locale, "callback.done.title"),
                size=26,
                weight=ft.FontWeight.BOLD,
                color=INK,
                text_align=ft.TextAlign.CENTER,
                key="case-done-title",
            ),
            ft.Text(
                t(locale, how, promise=promise, due=due),
                size=17,
                color=INK,
                text_align=ft.TextAlign.CENTER,
                key="case-done-promise",
            ),
            *code_block(app, found.code),
            ft.Button(
                content=ft.Text(t(locale, "kiosk.thanks.done"), size=18),
                on_click=app.on_done,
                key="done",
                height=TAP_MIN,
                width=200,
            ),
        ],
        horizontal_alignment=ft.CrossAxisAlignment.CENTER,
        spacing=14,
        width=form_width(app, 640),
    )
    return frame(app, body)
