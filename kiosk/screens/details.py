"""Details after a tap: reason chips in the customer's words (assets/conduct/customer_reasons.json,
one list after a low or middling score, another after a high one; the first six shown, "更多 / More"
for the rest), an optional comment, and (after a low score) the offer to file a formal complaint.
The tap itself is already stored; the reasons are stored as the conduct clauses they stand for.

Its handlers live here: after the details, a 差评 goes on to the callback offer
(kiosk/screens/case_callback.py), any other rating to the thank-you.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import flet as ft

from kiosk import backend
from kiosk.screens import case_callback
from kiosk.screens.frame import form_width, frame
from kiosk.screens.reason_chips import reason_chips
from kiosk.ui import INK, MUTED, TAP_MIN
from rapport.core.i18n import t
from rapport.core.lanes import KIOSK

if TYPE_CHECKING:
    from kiosk.host import KioskHost

log = logging.getLogger(__name__)
COMMENT_MAX = 500


async def save_details(app: KioskHost) -> bool:
    """Store the chosen reasons and the comment with the rating (nothing chosen: nothing to store)."""
    d = app.state.details
    if app.state.rating_id is None or (not d.reasons and not d.comment.strip()):
        return True
    try:
        await KIOSK.run(
            backend.save_details, app.ctx, rating_id=app.state.rating_id, reasons=list(d.reasons),
            comment=d.comment,
        )  # fmt: skip
    except Exception:
        log.exception("kiosk: saving rating details failed")
        app.state.say("kiosk.error.save")
        return False
    return True


class Handlers:
    """The details screen's event handlers (async methods, as Flet awaits them)."""

    def __init__(self, app: KioskHost):
        self.app = app

    async def on_toggle_reason(self, e: ft.Event[ft.Chip]) -> None:
        self.app.touch()
        self.app.state.details.toggle(str(e.control.data))
        e.control.selected = str(e.control.data) in self.app.state.details.reasons
        e.control.update()

    async def on_more(self, _e: ft.Event[Any]) -> None:
        self.app.touch()
        self.app.state.details.more = True
        self.app.render()

    async def on_comment_change(self, e: ft.Event[ft.TextField]) -> None:
        self.app.touch()
        self.app.state.details.comment = e.control.value or ""

    async def on_submit(self, _e: ft.Event[Any]) -> None:
        self.app.touch()
        await save_details(self.app)
        if not await case_callback.offer(self.app):  # a 差评: may we call you back, and its tracking code
            await self.app.thank()

    async def on_skip(self, _e: ft.Event[Any]) -> None:
        self.app.touch()
        if not await case_callback.offer(self.app):
            await self.app.thank()

    async def on_open_complaint(self, _e: ft.Event[Any]) -> None:
        self.app.touch()
        await save_details(self.app)  # keep what they already chose with the rating
        self.app.state.open_complaint()
        self.app.render()


def build(app: KioskHost) -> ft.Control:
    h = Handlers(app)
    state = app.state
    locale = state.locale
    score = state.score or 3
    title_key = (
        "details.title.high" if score >= 4 else "details.title.low" if score <= 2 else "details.title.mid"
    )
    chips = reason_chips(
        app, app.reasons_for(state.polarity), selected=state.details.reasons, show_all=state.details.more,
        on_select=h.on_toggle_reason, on_more=h.on_more, prefix="reason",
    )  # fmt: skip
    comment = ft.TextField(
        label=t(locale, "details.comment"),
        helper=t(locale, "details.comment.hint"),
        helper_max_lines=3,
        value=state.details.comment,
        multiline=True,
        min_lines=2,
        max_lines=4,
        max_length=COMMENT_MAX,
        on_change=h.on_comment_change,
        key="comment",
    )
    actions: list[ft.Control] = [
        ft.Button(
            content=ft.Text(t(locale, "details.submit"), size=18),
            on_click=h.on_submit,
            key="details-submit",
            height=TAP_MIN,
            width=160,
        ),
        ft.TextButton(
            content=ft.Text(t(locale, "details.skip"), size=18),
            on_click=h.on_skip,
            key="details-skip",
            height=TAP_MIN,
        ),
    ]
    if state.offers_complaint:
        actions.append(
            ft.OutlinedButton(
                content=ft.Text(t(locale, "details.complain"), size=18),
                icon=ft.Icons.REPORT_OUTLINED,
                on_click=h.on_open_complaint,
                key="open-complaint",
                height=TAP_MIN,
            )
        )
    body = ft.Column(
        [
            ft.Text(t(locale, title_key), size=26, weight=ft.FontWeight.BOLD, color=INK, key="details-title"),
            ft.Text(t(locale, "details.hint"), size=16, color=MUTED),
            ft.Row(chips, wrap=True, spacing=10, run_spacing=10),
            comment,
            ft.Row(actions, wrap=True, spacing=12, run_spacing=12),
        ],
        spacing=18,
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        width=form_width(app, 860),
    )
    return frame(app, body)
