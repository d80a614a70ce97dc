"""Shared admin building blocks: the top bar, the named icon button, and small formatting helpers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import flet as ft

from rapport.core.i18n import t
from rapport.ui import ui_theme

if TYPE_CHECKING:
    from admin.host import AdminHost

TAP = 48
# The theme's named text colours (rapport/ui/ui_theme.py, measured by tests/unit/test_contrast.py).
INK, MUTED = ui_theme.INK, ui_theme.MUTED
ERROR = ui_theme.ERROR  # what went wrong, a field to fix
OK = ui_theme.ACCENT  # what worked
SEVERITY_COLOURS = {"high": "#B3261E", "normal": "#7D5700", "low": "#41674A"}
# Below this width (a phone, or a small window) the admin app is laid out for one hand: the person
# under the title, icon-only buttons in the top bar, and the sections in a bar at the bottom.
NARROW = 700
CURRENT = "#DCE3F0"  # the open section's tab


def is_narrow(app: AdminHost) -> bool:
    """True on a phone-sized window (``page.width`` is unknown before the first resize: a wide one)."""
    return (app.page.width or 1280) < NARROW


def top_bar(app: AdminHost) -> ft.Control:
    """Title, who is signed in, language and sign-out. On a phone the person moves under the title and
    the two buttons keep only their icons (with their names as tooltips and accessible labels)."""
    locale = app.locale
    narrow = is_narrow(app)
    who = f"{app.user.name} · {t(locale, f'admin.role.{app.user.role.value}')}" if app.user else ""
    title: list[ft.Control] = [
        ft.Text(t(locale, "admin.title"), size=18 if narrow else 20, weight=ft.FontWeight.BOLD)
    ]
    if who and narrow:
        title.append(ft.Text(who, size=13, color=MUTED))
    items: list[ft.Control] = [ft.Column(title, spacing=0, expand=True)]
    if who and not narrow:
        items.append(ft.Text(who, size=15, color=MUTED))
    buttons = [("lang.switch", ft.Icons.TRANSLATE, app.on_toggle_language, "lang")]
    if app.user is not None:
        buttons.append(("admin.sign_out", ft.Icons.LOGOUT, app.on_sign_out, "sign-out"))
    for label_key, icon, handler, key in buttons:
        label = t(locale, label_key)
        if narrow:
            items.append(icon_button(icon, label, handler, key=key))
        else:
            items.append(ft.TextButton(content=label, icon=icon, on_click=handler, key=key, height=TAP))
    return ft.Container(
        content=ft.Row(items, vertical_alignment=ft.CrossAxisAlignment.CENTER, wrap=False),
        padding=ft.Padding.symmetric(horizontal=16, vertical=8),
        bgcolor=ft.Colors.WHITE,
    )


def icon_button(icon: ft.IconData, label: str, on_click: Any, *, key: Any, **kw: Any) -> ft.IconButton:
    """A button that shows only an icon, named for a screen reader (issue 19). A tooltip alone does not
    name it: Flutter web puts the tooltip's words on a wrapper (an ``aria-label`` on a plain ``div``,
    which axe reports as prohibited) and leaves the button itself unnamed. The icon's semantics label
    is the button's accessible name; the tooltip stays for a mouse. ``kw`` goes to the button (data,
    disabled ...); ``color`` to the icon."""
    colour = kw.pop("color", None)
    return ft.IconButton(
        icon=ft.Icon(icon, color=colour, semantics_label=label),
        tooltip=label,
        on_click=on_click,
        key=key,
        width=TAP,
        height=TAP,
        **kw,
    )


def marked_current(control: ft.Control, current: bool, **kw: Any) -> ft.Control:
    """A navigation entry (a tab, a bar entry) that says whether it is the open one: shading alone
    tells only the eye. Flutter web gives a selected button ``aria-current="true"`` (the others
    ``"false"``); MergeSemantics puts the flag on the button's own node, not on a wrapper. ``kw``
    (expand, col) lays out the wrapper, as it would have the entry."""
    return ft.MergeSemantics(content=ft.Semantics(selected=current, content=control), **kw)


def section_tabs(app: AdminHost, sections: list[Any]) -> ft.Control:
    """One tab per section the signed-in role may open."""
    tabs: list[ft.Control] = [
        marked_current(
            ft.TextButton(
                content=ft.Text(
                    section_label(app, s), weight=ft.FontWeight.BOLD if s.key == app.section else None
                ),
                icon=s.icon,
                on_click=app.on_section,
                data=s.key,
                key=f"nav-{s.key}",
                height=TAP,
                style=ft.ButtonStyle(bgcolor=CURRENT if s.key == app.section else None),
            ),
            s.key == app.section,
        )
        for s in sections
    ]
    return ft.Container(
        content=ft.Row(tabs, wrap=True, spacing=4, run_spacing=4),
        padding=ft.Padding.symmetric(horizontal=12, vertical=4),
        bgcolor=ft.Colors.WHITE,
        border=ft.Border.only(bottom=ft.BorderSide(1, "#E0E3EA")),
    )


def section_label(app: AdminHost, section: Any) -> str:
    """A section's name as its tab (or bar entry) shows it: the alerts' with the number waiting."""
    count = app.view.get("alerts_count", 0) if section.key == "alerts" else 0
    return t(app.locale, "admin.nav.alerts_count", n=count) if count else t(app.locale, section.label_key)


def duration(locale: str, minutes: int) -> str:
    h, m = divmod(abs(minutes), 60)
    return t(locale, "admin.queue.hours", h=h, m=m) if h else t(locale, "admin.queue.minutes", m=m)


def due_label(locale: str, due_at: datetime, now: datetime, clock: str = "reply") -> tuple[str, bool]:
    """("Due in 3 h 5 min", False) or ("Overdue by 20 min", True); for the first-contact clock
    ("First contact due in 3 h 5 min", False)."""
    minutes = int((due_at - now).total_seconds() // 60)
    prefix = "admin.queue.contact_" if clock == "first_contact" else "admin.queue."
    if minutes >= 0:
        return t(locale, f"{prefix}due_in", time=duration(locale, minutes)), False
    return t(locale, f"{prefix}overdue_by", time=duration(locale, minutes)), True


def severity_badge(locale: str, severity: str) -> ft.Control:
    return ft.Container(
        content=ft.Text(t(locale, f"admin.severity.{severity}"), size=13, color=ft.Colors.WHITE),
        bgcolor=SEVERITY_COLOURS.get(severity, MUTED),
        padding=ft.Padding.symmetric(horizontal=8, vertical=2),
        border_radius=8,
    )


# What places a control among its siblings (in a Row, Column or ResponsiveRow): it must be set on the
# outermost control, so a wrapped dropdown's go on its wrapper (see ``named_dropdown``).
LAYOUT = ("expand", "expand_loose", "col", "visible")

DropdownChoice = tuple[str, str] | ft.DropdownOption


def named_dropdown(label: str, value: str | None, options: Sequence[DropdownChoice], **kw: Any) -> ft.Control:
    """A dropdown a screen reader can name: Flutter gives the field's button no accessible name of
    its own (it is read as a bare "button"), so it is wrapped in a node saying "<label>: <choice>".
    The one way to draw a dropdown in the admin app (issue 19).

    ``options`` are (key, text) pairs, or ``ft.DropdownOption``s where an option needs more (disabled,
    an icon ...); the choice is read from its text. ``value`` is the chosen key. The layout arguments
    (``LAYOUT``: expand, expand_loose, col, visible) go on the wrapper, which is what a Row or a
    ResponsiveRow lays out (``expand`` also on the dropdown, so that it fills the wrapper); the rest
    of ``kw`` goes to the dropdown (key, data, on_select, width, error_text, enable_filter ...), so it
    is found by its key as before."""
    outer = {name: kw.pop(name) for name in LAYOUT if name in kw}
    if "expand" in outer:  # the dropdown fills its wrapper (Flet draws an expanding one full width)
        kw["expand"] = outer["expand"]
    items = [
        o if isinstance(o, ft.DropdownOption) else ft.DropdownOption(key=o[0], text=o[1]) for o in options
    ]
    chosen = next((o.text or value for o in items if value is not None and (o.key or o.text) == value), "")
    field = ft.Dropdown(label=label, value=value, options=items, **kw)
    name = f"{label}: {chosen}" if chosen else label
    return ft.Semantics(label=name, container=True, content=field, **outer)
