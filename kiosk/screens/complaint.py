"""The complaint form (conduct code §2.5.2: record the matter, the time and, only with consent, a contact).

Its categories are the customer reasons for a low score, in the customer's words (the first six,
"更多 / More" for the rest); the complaint is filed under the picked reason's main conduct clause,
which is what supervisors and the ledger see. Its handlers live here; the draft is the state's
(``KioskState.complaint``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import flet as ft

from kiosk import backend
from kiosk.screens.frame import form_width, frame
from kiosk.screens.reason_chips import reason_chips
from kiosk.state import Mode, Screen
from kiosk.ui import INK, MUTED, TAP_MIN
from models.errors import ValidationFailed
from rapport.core.i18n import t
from rapport.core.lanes import KIOSK

if TYPE_CHECKING:
    from kiosk.host import KioskHost

log = logging.getLogger(__name__)
DESCRIPTION_MAX = 1000
COMPLAINT_FIELDS = ("category", "description", "contact", "consent")


class Handlers:
    """The complaint form's event handlers (async methods, as Flet awaits them)."""

    def __init__(self, app: KioskHost):
        self.app = app

    async def on_pick_category(self, e: ft.Event[ft.Chip]) -> None:
        self.app.touch()
        self.app.state.complaint.category = str(e.control.data)
        if self.app.state.message_field == "category":
            self.app.state.say(None)
        self.app.render()

    async def on_more(self, _e: ft.Event[Any]) -> None:
        self.app.touch()
        self.app.state.complaint.more = True
        self.app.render()

    async def on_field(self, e: ft.Event[ft.TextField]) -> None:
        self.app.touch()
        setattr(self.app.state.complaint, str(e.control.data), e.control.value or "")

    async def on_consent_change(self, e: ft.Event[ft.Checkbox]) -> None:
        self.app.touch()
        self.app.state.complaint.consent = bool(e.control.value)

    async def on_consent_text(self, _e: ft.Event[Any]) -> None:
        """Tapping the sentence ticks (or unticks) the box, as people expect of a label."""
        self.app.touch()
        self.app.state.complaint.consent = not self.app.state.complaint.consent
        self.app.render()

    async def on_cancel(self, _e: ft.Event[Any]) -> None:
        self.app.touch()
        self.app.state.say(None)
        self.app.state.go(Screen.details)
        self.app.render()

    async def on_submit(self, _e: ft.Event[Any]) -> None:
        self.app.touch()
        state = self.app.state
        if state.complaint.consent and not state.complaint.contact.strip():
            # Consent to be answered with no contact to answer: ask rather than file a complaint the
            # customer expects a call about and will never get one.
            state.say("complaint.error.consent_alone", "contact")
            self.app.render()
            return
        form = state.complaint_form()
        form["category"] = category_clause(self.app, state.complaint.category)
        try:
            filed = await KIOSK.run(
                backend.submit_complaint,
                self.app.ctx,
                idempotency_key=state.complaint.idempotency_key,
                form=form,
                device_token=state.device_token if state.mode is Mode.counter else None,
                qr_token=state.qr_token if state.mode is Mode.phone else None,
                rating_id=state.rating_id,
            )
        except ValidationFailed as exc:
            field = exc.field if exc.field in COMPLAINT_FIELDS else "form"
            state.say(f"complaint.error.{field}" if field != "form" else "complaint.error.save", field)
            self.app.render()
            return
        except Exception:
            log.exception("kiosk: filing a complaint failed")
            state.say("complaint.error.save", "form")
            self.app.render()
            return
        state.complaint_filed(filed)
        self.app.render()


def build(app: KioskHost) -> ft.Control:
    h = Handlers(app)
    state = app.state
    locale = state.locale
    draft = state.complaint

    def error_for(field: str) -> str | None:
        if state.message_field == field and state.message_key:
            return t(locale, state.message_key, **state.message_values)
        return None

    categories = reason_chips(
        app, app.reasons_for("negative"), selected=[draft.category or ""], show_all=draft.more,
        on_select=h.on_pick_category, on_more=h.on_more, prefix="category", size=17,
    )  # fmt: skip
    category_error = error_for("category")
    controls: list[ft.Control] = [
        ft.Text(
            t(locale, "complaint.title"), size=26, weight=ft.FontWeight.BOLD, color=INK, key="complaint-title"
        ),
        ft.Text(t(locale, "complaint.intro"), size=16, color=MUTED),
        ft.Text(t(locale, "complaint.category"), size=18, weight=ft.FontWeight.W_500, color=INK),
        ft.Row(categories, wrap=True, spacing=10, run_spacing=10),
    ]
    if category_error:
        controls.append(ft.Text(category_error, color="#B3261E", size=15, key="category-error"))
    controls += [
        ft.TextField(
            label=t(locale, "complaint.description"),
            value=draft.description,
            multiline=True,
            min_lines=3,
            max_lines=6,
            max_length=DESCRIPTION_MAX,
            on_change=h.on_field,
            data="description",
            key="description",
            error=error_for("description"),
            error_max_lines=3,
        ),
        ft.TextField(
            label=t(locale, "complaint.contact"),
            helper=t(locale, "complaint.contact.hint"),
            helper_max_lines=3,
            value=draft.contact,
            max_length=120,
            on_change=h.on_field,
            data="contact",
            key="contact",
            keyboard_type=ft.KeyboardType.EMAIL,
            error=error_for("contact"),
            error_max_lines=3,  # the longer messages wrap on a phone rather than end in "…"
        ),
        consent_row(
            t(locale, "complaint.consent", days=app.contact_retention_days),
            value=app.state.complaint.consent,
            on_change=h.on_consent_change,
            on_text=h.on_consent_text,
        ),
    ]
    consent_error = error_for("consent")
    if consent_error:
        controls.append(ft.Text(consent_error, color="#B3261E", size=15, key="consent-error"))
    if state.message_field == "form" and state.message_key:
        controls.append(ft.Text(t(locale, state.message_key), color="#B3261E", size=15, key="form-error"))
    controls.append(
        ft.Row(
            [
                ft.Button(
                    content=ft.Text(t(locale, "complaint.submit"), size=18),
                    on_click=h.on_submit,
                    key="complaint-submit",
                    height=TAP_MIN,
                ),
                ft.TextButton(
                    content=ft.Text(t(locale, "complaint.cancel"), size=18),
                    on_click=h.on_cancel,
                    key="complaint-cancel",
                    height=TAP_MIN,
                ),
            ],
            wrap=True,
            spacing=12,
        )
    )
    return frame(
        app,
        ft.Column(
            controls,
            spacing=16,
            horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
            width=form_width(app, 760),
        ),
    )


def category_clause(app: KioskHost, key: str | None) -> str:
    """The conduct clause a complaint is filed under: the main clause of the customer reason picked
    (nothing picked, or a reason no longer offered: "", which the filing refuses by its field)."""
    for reason in app.reasons_for("negative"):
        if reason.code == key:
            return reason.clauses[0]
    return ""


def consent_row(text: str, *, value: bool, on_change: Any, on_text: Any, key: str = "consent") -> ft.Control:
    """The consent box with its full sentence beside it, wrapping on a phone so every word of what
    the customer agrees to stays readable; the sentence is the box's accessible name too, and
    tapping it ticks the box. Used by the complaint form and the callback offer after a 差评."""
    box = ft.Checkbox(
        value=value,
        on_change=on_change,
        key=key,
        semantics_label=text,
        # Flutter web draws a checkbox in 40 px; scaled up, its tap target meets the 48 px minimum.
        scale=1.25,
    )
    label = ft.Container(
        content=ft.Text(text, size=16, color=INK),
        on_click=on_text,
        expand=True,
        padding=ft.Padding.only(top=12),
    )
    return ft.Row(
        [ft.Container(content=box, width=52, height=52, alignment=ft.Alignment.CENTER), label],
        vertical_alignment=ft.CrossAxisAlignment.START,
        spacing=4,
    )
