"""Sign-in: username or employee number, password, and the authenticator code when required."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flet as ft

from admin.screens.common import INK, TAP, top_bar
from rapport.core.i18n import t

if TYPE_CHECKING:
    from admin.host import AdminHost


def build(app: AdminHost) -> ft.Control:
    locale = app.locale
    message = t(locale, app.message_key, **app.message_values) if app.message_key else None
    # The cursor goes where the person types next, and only one field asks for focus: the password
    # again after a refused attempt (the login is kept, the password cleared); the code when the
    # authenticator is asked for (login and password both kept); the login when the form comes back
    # with a message. Not on opening: a field focused as the page loads, before a screen reader has
    # turned Flutter's semantics on, edits in Flutter's own unnamed input (an axe "label" finding,
    # and a blind supervisor hears an unnamed edit box), as the kiosk's enrolment and status fields.
    focus = "totp" if app.password_draft else "password" if app.login_draft else "login" if message else None

    async def on_sign_in(_e: ft.Event[Any]) -> None:
        if not (login.value or "").strip() or not password.value:
            # Only the message changes: redrawing the form would wipe what the person typed, and a
            # tap can arrive before the field's last keystrokes have.
            app.say("admin.sign_in.empty")
            error.value = t(locale, "admin.sign_in.empty")
            error.visible = True
            error.update()
            return
        await app.sign_in((login.value or "").strip(), password.value or "", totp.value if totp else None)

    login = ft.TextField(
        label=t(locale, "admin.sign_in.login"),
        key="login",
        autofocus=focus == "login",
        max_length=64,
        value=app.login_draft,
        on_submit=on_sign_in,
    )
    password = ft.TextField(
        label=t(locale, "admin.sign_in.password"),
        key="password",
        autofocus=focus == "password",
        value=app.password_draft,
        password=True,
        can_reveal_password=True,
        max_length=128,
        on_submit=on_sign_in,
    )
    fields: list[ft.Control] = [login, password]
    totp: ft.TextField | None = None
    if app.totp_needed:
        totp = ft.TextField(
            label=t(locale, "admin.sign_in.totp"),
            key="totp",
            autofocus=focus == "totp",
            max_length=6,
            keyboard_type=ft.KeyboardType.NUMBER,
            on_submit=on_sign_in,
        )
        fields.append(totp)
    error = ft.Text(message or "", color="#B3261E", size=15, key="sign-in-error", visible=bool(message))
    form = ft.Column(
        [
            ft.Text(t(locale, "admin.sign_in.title"), size=26, weight=ft.FontWeight.BOLD, color=INK),
            *fields,
            error,
            ft.Button(
                content=ft.Text(t(locale, "admin.sign_in.submit"), size=18),
                on_click=on_sign_in,
                key="sign-in",
                height=TAP,
                width=160,
            ),
        ],
        spacing=16,
        width=min(440, (app.page.width or 440) - 32),
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
    )
    return ft.Column(
        [top_bar(app), ft.Container(content=form, padding=24, alignment=ft.Alignment.TOP_CENTER)],
        spacing=0,
        expand=True,
    )
