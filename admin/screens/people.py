"""People: the leaderboard of a branch for a month, with the minimum-count rule, and from each name the
person's file (admin/screens/personal_file.py). A supervisor sees their own branch; an administrator
picks one. How the fair score works is said in one short paragraph above the table."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import flet as ft

from admin import ledger as service
from admin.screens import ledger_cards as cards
from admin.screens import personal_file
from admin.screens.common import INK, MUTED, named_dropdown
from admin.screens.errors import message_for
from models.auth import SessionExpired
from models.errors import Forbidden, NotFound, ValidationFailed
from rapport.core.i18n import t

if TYPE_CHECKING:
    from admin.host import AdminHost

log = logging.getLogger(__name__)
KEY = "people"


@dataclass
class PeopleState:
    board: service.Board | None = None
    month: str | None = None
    branch: str | None = None
    file: service.PersonalFile | None = None
    message: str | None = None


def state(app: AdminHost) -> PeopleState:
    v = app.view.get(KEY)
    if not isinstance(v, PeopleState):
        v = app.view[KEY] = PeopleState()
    return v


async def load(app: AdminHost) -> None:
    v = state(app)
    v.file = None
    v.board = await app.call(service.board, month=v.month, branch_id=int(v.branch) if v.branch else None)
    v.month, v.branch = v.board.month, str(v.board.branch.id)


class Handlers:
    def __init__(self, app: AdminHost):
        self.app, self.v = app, state(app)

    async def _reload(self) -> None:
        self.v.message = None
        try:
            await load(self.app)
        except SessionExpired:
            return
        except (Forbidden, ValidationFailed):
            self.v.message = "admin.people.error.forbidden"
        self.app.render()

    async def on_month(self, e: ft.Event[Any]) -> None:
        self.v.month = e.control.value or None
        await self._reload()

    async def on_branch(self, e: ft.Event[Any]) -> None:
        self.v.branch = e.control.value or None
        await self._reload()

    async def on_open(self, e: ft.Event[Any]) -> None:
        await open_file(self.app, int(e.control.data), self.v.month)


async def open_file(app: AdminHost, staff_id: int, month: str | None) -> None:
    v = state(app)
    v.message = None
    try:
        v.file = await app.call(service.personal_file, staff_id, month=month)
    except SessionExpired:
        return
    except Exception as exc:
        v.message, _ = message_for(
            exc,
            {Forbidden: "admin.people.error.forbidden", NotFound: "admin.people.error.gone"},
            log=log,
            failed="admin: opening a personal file failed",
        )
    app.render()


def _figures(locale: str, s: service.Standing) -> str:
    sc = s.score
    return t(
        locale,
        "admin.people.row",
        count=sc.n,
        mean=cards.number(locale, sc.mean),
        score=cards.number(locale, sc.score),
        low=cards.number(locale, sc.low),
        high=cards.number(locale, sc.high),
    )


def _row(locale: str, s: service.Standing, h: Handlers, min_ranked: int) -> ft.Control:
    place: ft.Control
    if s.rank is not None:
        place = ft.Text(
            t(locale, "admin.people.rank", rank=s.rank), size=18, weight=ft.FontWeight.BOLD, width=72
        )
        detail = _figures(locale, s)
    else:
        place = ft.Container(ft.Icon(ft.Icons.HOURGLASS_EMPTY, color=MUTED), width=72)
        detail = t(locale, "admin.people.not_ranked", count=s.score.n, n=min_ranked)
    return ft.Container(
        key=f"board-{s.staff_id}",
        on_click=h.on_open,
        data=s.staff_id,
        tooltip=t(locale, "admin.people.open", name=s.name),
        bgcolor=ft.Colors.WHITE,
        border_radius=12,
        padding=ft.Padding.symmetric(horizontal=14, vertical=10),
        content=ft.Row(
            [
                place,
                ft.Column(
                    [
                        ft.Text(
                            f"{s.name} ({s.employee_no})", size=17, weight=ft.FontWeight.W_500, color=INK
                        ),
                        ft.Text(detail, color=MUTED if s.rank is None else INK),
                    ],
                    spacing=2,
                    expand=True,
                ),
                ft.Icon(ft.Icons.CHEVRON_RIGHT, color=MUTED),
            ],
            vertical_alignment=ft.CrossAxisAlignment.CENTER,
        ),
    )


def _board(app: AdminHost, v: PeopleState, h: Handlers) -> list[ft.Control]:
    locale, b = app.locale, v.board
    assert b is not None
    pickers: list[ft.Control] = []
    if len(b.branches) > 1:
        pickers.append(
            named_dropdown(
                t(locale, "admin.people.branch"),
                str(b.branch.id),
                [(str(x.id), x.name(locale)) for x in b.branches],
                key="board-branch",
                on_select=h.on_branch,
                width=240,
            )
        )
    pickers.append(
        named_dropdown(
            t(locale, "admin.people.month"),
            b.month,
            [(m, cards.month_label(locale, m)) for m in b.months],
            key="board-month",
            on_select=h.on_month,
            width=200,
        )
    )
    month = cards.month_label(locale, b.month)
    summary = (
        t(
            locale,
            "admin.people.branch_line",
            branch=b.branch.name(locale),
            month=month,
            count=b.branch_count,
            mean=cards.number(locale, b.branch_mean),
        )
        if b.branch_mean is not None
        else t(locale, "admin.people.branch_line_empty", branch=b.branch.name(locale), month=month)
    )
    out: list[ft.Control] = [
        ft.Row(pickers, wrap=True, spacing=12, run_spacing=8),
        ft.Text(summary, size=16, color=INK, key="board-summary"),
        ft.Text(
            t(locale, "admin.people.how", c=b.prior_weight, n=b.min_ranked),
            color=MUTED,
            size=14,
            key="board-how",
        ),
        ft.Text(t(locale, "admin.people.ranked"), size=20, weight=ft.FontWeight.BOLD),
    ]
    if not b.ranked:
        out.append(
            ft.Text(t(locale, "admin.people.none_ranked", n=b.min_ranked), color=MUTED, key="board-empty")
        )
    out += [_row(locale, s, h, b.min_ranked) for s in b.ranked]
    if b.unranked:
        out.append(
            ft.Text(t(locale, "admin.people.unranked", n=b.min_ranked), size=20, weight=ft.FontWeight.BOLD)
        )
        out += [_row(locale, s, h, b.min_ranked) for s in b.unranked]
    return out


def build(app: AdminHost) -> ft.Control:
    locale, v = app.locale, state(app)
    if v.file is not None:
        return personal_file.build(app, v.file, back=back, reopen=open_file)
    h = Handlers(app)
    parts: list[ft.Control] = [
        ft.Text(t(locale, "admin.people.title"), size=24, weight=ft.FontWeight.BOLD, color=INK),
        ft.Text(
            t(locale, v.message) if v.message else "",
            color=cards.ERROR,
            visible=bool(v.message),
            key="people-message",
        ),
    ]
    if v.board is not None:
        parts += _board(app, v, h)
    body = ft.Column(
        parts,
        spacing=10,
        scroll=ft.ScrollMode.AUTO,
        expand=True,
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
    )
    return ft.Container(content=body, padding=16, expand=True)


async def back(app: AdminHost) -> None:
    """From a personal file to the leaderboard it was opened from, freshly loaded."""
    v = state(app)
    v.file, v.message = None, None
    try:
        await load(app)
    except SessionExpired:
        return
    app.render()
