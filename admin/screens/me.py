"""My page, for counter staff: my fair score and its trend, my ratings against the branch (no colleague
is named), the comments and complaints about me (no customer data), my records, where I
acknowledge a penalty, write the rectification report it requires, or appeal, and the rules that
can reward or penalise me with their versions (admin/screens/me_rules.py).

Five sub-tabs keep each part short enough for a phone. One small form at a time opens inside the
card it is about (a rating's or a record's); its draft and its problem stay in ``app.view["me"]``
across re-renders and a language switch, and belong to the person who typed them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import flet as ft

from admin import staff_portal as portal
from admin.screens import me_consent
from admin.screens.common import INK, MUTED, TAP, icon_button
from admin.screens.errors import message_for
from admin.screens.me_lists import comments_tab, complaints_tab, records_tab
from admin.screens.me_parts import note
from admin.screens.me_rules import rules_tab
from admin.screens.me_scores import scores_tab
from admin.screens.me_state import MeView
from admin.screens.me_state import state as _state
from models.auth import SessionExpired
from models.errors import Forbidden, NotFound, ValidationFailed
from models.sanction import LedgerStepRefused
from rapport.core.i18n import pick, t

if TYPE_CHECKING:
    from admin.host import AdminHost

log = logging.getLogger(__name__)
TABS = (
    ("scores", ft.Icons.INSIGHTS),
    ("comments", ft.Icons.CHAT_OUTLINED),
    ("complaints", ft.Icons.REPORT_OUTLINED),
    ("records", ft.Icons.FOLDER_OUTLINED),
    ("rules", ft.Icons.GAVEL_OUTLINED),
)


async def load(app: AdminHost) -> None:
    v = _state(app)
    try:
        v.data = await app.call(portal.overview, comments=v.comments)
    except Forbidden:
        v.data = None
        v.say("admin.error.forbidden")


# -- handlers ----------------------------------------------------------------------------------------


class Handlers:
    def __init__(self, app: AdminHost):
        self.app, self.v = app, _state(app)

    async def _reload(self) -> None:
        try:
            await load(self.app)
        except SessionExpired:
            return
        self.app.render()

    async def on_tab(self, e: ft.Event[Any]) -> None:
        self.v.tab = str(e.control.data)
        self.v.close_form()
        self.v.say(None)
        self.app.render()

    async def on_refresh(self, _e: ft.Event[Any]) -> None:
        self.v.say(None)
        await self._reload()

    async def on_more(self, _e: ft.Event[Any]) -> None:
        self.v.comments += portal.COMMENTS_PAGE
        await self._reload()

    async def on_open(self, e: ft.Event[Any]) -> None:
        action, target = str(e.control.data).split(":", 1)
        if self.v.form != (action, target):
            self.v.close_form()
            self.v.form = (action, target)
        self.v.say(None)
        self.app.render()

    async def on_cancel(self, _e: ft.Event[Any]) -> None:
        self.v.close_form()
        self.app.render()

    async def on_draft(self, e: ft.Event[Any]) -> None:
        self.v.draft = e.control.value or ""

    async def on_consent(self, e: ft.Event[Any]) -> None:
        """Give (data True) or withdraw (False) my consent to be named in public."""
        consent = e.control.data is True
        try:
            await self.app.call(portal.set_public_consent, consent)
        except SessionExpired:
            return
        except Exception as exc:
            key, values = message_for(exc, log=log, failed="my page: consent failed")
            self.v.say(key, **values)
        else:
            self.v.say("me.consent.given" if consent else "me.consent.withdrawn", ok=True)
        await self._reload()

    async def on_acknowledge(self, e: ft.Event[Any]) -> None:
        await self._act("acknowledge", str(e.control.data))

    async def on_submit(self, _e: ft.Event[Any]) -> None:
        if self.v.form is not None:
            if self.v.text_field is not None:  # what it holds now, even if a change event is late
                self.v.draft = self.v.text_field.value or ""
            await self._act(*self.v.form)

    async def _act(self, action: str, target: str) -> None:
        """Call the service once (a second tap while the first is on its way is ignored), then show
        the result: a problem under the field keeps the draft; anything else reloads the page."""
        v = self.v
        if v.busy:
            return
        v.busy, v.error = True, None
        at = f"{'rating' if action == 'appeal_rating' else 'record'}:{target}"
        try:
            await self._call(action, target)
        except SessionExpired:
            return  # app.call has sent the user to sign in
        except ValidationFailed as exc:
            v.busy = False  # before drawing: the draft stays open for another try
            v.error = "me.error.report" if exc.field == "report" else "me.error.statement"
            v.say("me.error.fix", at=at)
            self.app.render()
            return
        except LedgerStepRefused:
            v.close_form()
            v.say("me.error.refused", at=at)
        except NotFound:
            v.close_form()
            v.say("me.error.gone")
        except Forbidden:
            v.close_form()
            v.say("admin.error.forbidden")
        except Exception:
            log.exception("my page: %s failed", action)
            v.say("admin.error.generic", at=at)
        else:
            v.close_form()
            v.say(f"me.done.{action}", ok=True, at=at)
        finally:
            v.busy = False
        await self._reload()

    async def _call(self, action: str, target: str) -> None:
        if action == "acknowledge":
            await self.app.call(portal.acknowledge_record, int(target))
        elif action == "report":
            await self.app.call(portal.write_report, int(target), self.v.draft)
        elif action == "appeal_record":
            await self.app.call(portal.appeal_record, int(target), self.v.draft)
        else:
            await self.app.call(portal.appeal_a_rating, target, self.v.draft)


# -- the page ----------------------------------------------------------------------------------------


def _tabs(locale: str, v: MeView, h: Handlers, narrow: bool) -> ft.Control:
    """On a phone the tabs drop their icons, so they fit in one or two lines."""
    return ft.Row(
        [
            ft.TextButton(
                content=ft.Text(
                    t(locale, f"me.tab.{name}"), weight=ft.FontWeight.BOLD if v.tab == name else None
                ),
                icon=None if narrow else icon,
                data=name,
                on_click=h.on_tab,
                key=f"me-tab-{name}",
                height=TAP,
                style=ft.ButtonStyle(bgcolor="#DCE3F0" if v.tab == name else None),
            )
            for name, icon in TABS
        ],
        wrap=True,
        spacing=4,
        run_spacing=4,
    )


def _in_a_card(v: MeView) -> bool:
    """Is the message about a card on this tab (and so shown in it, where the person is looking)?"""
    data = v.data
    if v.at is None or data is None:
        return False
    if v.tab == "comments":
        return v.at in {f"rating:{r.id}" for r in data.comments.rows}
    return v.tab == "records" and v.at in {f"record:{r.id}" for r in data.records}


def build(app: AdminHost) -> ft.Control:
    locale, v = app.locale, _state(app)
    h = Handlers(app)
    data = v.data
    message = t(locale, v.message, **v.values) if v.message else None
    who = ""
    if data is not None:
        branch = pick(locale, data.me.branch_zh, data.me.branch_en)
        who = f"{data.me.name} · {data.me.employee_no} · {branch}"
    top = ft.Row(
        [
            ft.Column(
                [
                    ft.Text(t(locale, "me.title"), size=24, weight=ft.FontWeight.BOLD, color=INK),
                    ft.Text(who, color=MUTED, key="me-who", visible=bool(who)),
                ],
                spacing=2,
                expand=True,
            ),
            icon_button(ft.Icons.REFRESH, t(locale, "me.refresh"), h.on_refresh, key="me-refresh"),
        ],
        vertical_alignment=ft.CrossAxisAlignment.START,
    )
    body: list[ft.Control] = [top, _tabs(locale, v, h, (app.page.width or 1280) < 600)]
    if message and not _in_a_card(v):
        body.append(note(message, v.ok))
    if data is None:
        body.append(ft.Text(t(locale, "me.unavailable"), color=MUTED, key="me-unavailable"))
    elif v.tab == "scores":
        body += [*scores_tab(locale, data.scores), me_consent.card(locale, data.me, h)]
    elif v.tab == "comments":
        body += comments_tab(app, v, h, data)
    elif v.tab == "complaints":
        body += complaints_tab(locale, data)
    elif v.tab == "rules":
        body += rules_tab(locale, data.rules, data.me.tz)
    else:
        body += records_tab(app, v, h, data)
    column = ft.Column(
        body,
        spacing=12,
        scroll=ft.ScrollMode.AUTO,
        expand=True,
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
    )
    return ft.Container(content=column, padding=16, expand=True)
