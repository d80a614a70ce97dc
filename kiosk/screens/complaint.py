"""The complaint form (conduct code §2.5.2: record the matter, the time and, only with consent, a contact)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flet as ft

from kiosk.screens.frame import form_width, frame
from kiosk.ui import INK, MUTED, TAP_MIN
from rapport.i18n import t

if TYPE_CHECKING:
    from kiosk.app import KioskApp

DESCRIPTION_MAX = 1000


def build(app: KioskApp) -> ft.Control:
    state = app.state
    locale = state.locale
    draft = state.complaint

    def error_for(field: str) -> str | None:
        if state.message_field == field and state.message_key:
            return t(locale, state.message_key, **state.message_values)
        return None

    categories: list[ft.Control] = [
        ft.Chip(
            label=ft.Text(reason.label(locale), size=17),
            selected=reason.code == draft.category,
            on_select=app.on_pick_category,
            data=reason.code,
            key=f"category-{reason.code}",
            height=TAP_MIN,
        )
        for reason in app.reasons_for("negative")
    ]
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
            on_change=app.on_complaint_field,
            data="description",
            key="description",
            error=error_for("description"),
        ),
        ft.TextField(
            label=t(locale, "complaint.contact"),
            helper=t(locale, "complaint.contact.hint"),
            helper_max_lines=3,
            value=draft.contact,
            max_length=120,
            on_change=app.on_complaint_field,
            data="contact",
            key="contact",
            keyboard_type=ft.KeyboardType.EMAIL,
            error=error_for("contact"),
        ),
        consent_row(
            t(locale, "complaint.consent", days=app.contact_retention_days),
            value=app.state.complaint.consent,
            on_change=app.on_consent_change,
            on_text=app.on_consent_text,
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
                    on_click=app.on_complaint_submit,
                    key="complaint-submit",
                    height=TAP_MIN,
                ),
                ft.TextButton(
                    content=ft.Text(t(locale, "complaint.cancel"), size=18),
                    on_click=app.on_complaint_cancel,
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
