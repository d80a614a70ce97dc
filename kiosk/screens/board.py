"""The public results board, /board/<branch code> (issue 18; docs/OPERATIONS.md "Public results
board"): no sign-in, for the big screen in the hall (1920×1080) and the branch's website on a phone.
It shows this month's 好评率, 差评率, 整改率 and 回访率 with their counts and the number of ratings,
for the branch and each open counter, the month's 差评 by evaluation indicator, and per 事项 the
transactions, ratings, default ratings, 好评率 and 参评率 (the read: kiosk/board.py), refreshed every
``REFRESH_SECONDS`` on the kiosk's lane until the session ends. Nobody scrolls or touches the hall's
screen: there (``HALL_WIDTH`` × ``HALL_HEIGHT`` or larger) the board is one screen, and a column with more
rows than fit turns its pages by itself every ``PAGE_SECONDS``; a phone gets one page that scrolls.

The board runs on its own, beside the kiosk's modes: kiosk/app.py hands the page to
:func:`open_board` and keeps none of a counter's state (no idle reset, no rating). Both languages:
the language button, and ``?lang=en`` (or ``?lang=zh-CN``) in the address. An unknown branch code
gets a page saying so in both languages at once.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Future
from datetime import date
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import flet as ft
from babel.dates import format_date

from kiosk.board import CODE_MAX, CounterRow, Figures, PublicBoard, ServiceRow, read_board
from kiosk.ui import INK, MUTED, SURFACE, TAP_MIN, header, language_button
from models.bilingual import EN, ZH, is_zh
from rapport.core.context import AppContext
from rapport.core.i18n import fmt_datetime, other_locale, t
from rapport.core.lanes import KIOSK
from rapport.ui.a11y import seen_only, set_language, spoken
from rapport.ui.timers import timer_step
from rapport.ui.ui_theme import ACCENT, WHITE, apply_theme

log = logging.getLogger(__name__)
Row = TypeVar("Row")
Sleep = Callable[[float], Awaitable[Any]]
Leave = Callable[[], Awaitable[None]]
REFRESH_SECONDS = 30
WIDE = 1000  # at least this wide: five tiles in a row, a card's figures in a row
# At least this wide and this high: the hall's big screen, which nobody scrolls or touches. Everything is
# laid out in one screen (事项 on the left; 差评 by indicator and the counters on the right, in compact
# rows) and a column with more rows than fit shows them a page at a time, the next every PAGE_SECONDS.
HALL_WIDTH, HALL_HEIGHT = 1200, 640
PAGE_SECONDS = 12
ROW, ROW_GAP = 52, 2  # a row of the hall's tables
HEADER, TILES, GAP, PAD = 80, 150, 16, 24  # the page's header, the tiles, the gaps between blocks
FOOTER, HEADING, CAPTIONS, INDICATORS, STAR = 104, 40, 36, 112, 34
RATES = ("good_rate", "bad_rate", "rectify_rate", "callback_rate")
PARTS = {
    "good_rate": ("good", "rated"),
    "bad_rate": ("bad", "rated"),
    "rectify_rate": ("rectified", "bad"),
    "callback_rate": ("reached", "with_contact"),
}


def is_board_route(route: str | None) -> bool:
    path = urlsplit(route or "").path.rstrip("/")
    return path == "/board" or path.startswith("/board/")


def board_code(route: str) -> str:
    """The branch code in ``/board/<code>`` (without the query)."""
    path = urlsplit(route or "").path
    return path.removeprefix("/board").strip("/")[: CODE_MAX + 1]


def asked_locale(route: str) -> str | None:
    """The language ``?lang=`` asks for, if it is one the app speaks."""
    wanted = (parse_qs(urlsplit(route or "").query).get("lang") or [""])[0].strip()
    if not wanted:
        return None
    return ZH if is_zh(wanted) else EN if wanted.lower().startswith("en") else None


def percent(rate: float | None) -> str | None:
    return None if rate is None else f"{rate * 100:.1f}%"


def month_words(locale: str, month: str) -> str:
    year, number = (int(x) for x in month.split("-"))
    pattern = "y年M月" if is_zh(locale) else "MMMM y"
    return format_date(date(year, number, 1), pattern, locale=locale.replace("-", "_"))


def rate_sentence(locale: str, figures: Figures, name: str) -> tuple[str, str, str]:
    """(the shown value, the count under it, what a screen reader says) for one rate."""
    label = t(locale, f"board.{name}")
    part_name, whole_name = PARTS[name]
    part, whole = getattr(figures, part_name), getattr(figures, whole_name)
    value = percent(getattr(figures, name))
    count = t(locale, "board.count", part=part, whole=whole)
    if value is None:
        return t(locale, "board.none"), count, t(locale, "board.spoken.none", label=label)
    return value, count, t(locale, "board.spoken.rate", label=label, value=value, part=part, whole=whole)


def ratio_sentence(locale: str, label: str, part: int, whole: int) -> tuple[str, str]:
    """(the shown value, what a screen reader says) for a rate of ``part`` over ``whole``."""
    if not whole:
        return t(locale, "board.none"), t(locale, "board.spoken.none", label=label)
    value = f"{part / whole * 100:.1f}%"
    return value, t(locale, "board.spoken.rate", label=label, value=value, part=part, whole=whole)


def service_cells(locale: str, row: ServiceRow) -> list[tuple[str, str, str, str]]:
    """(caption, value, what is said, key suffix) of one 事项's figures, in the board's order."""
    cells = []
    for name in ("transactions", "rated", "defaulted"):
        label, n = t(locale, f"board.service.{name}"), getattr(row, name)
        cells.append((label, str(n), t(locale, "board.spoken.count", label=label, n=n), name))
    for name, part, whole in (
        ("good_rate", row.good, row.ratings),
        ("participation_rate", row.rated, row.transactions),
    ):
        label = t(locale, f"board.{name}")
        value, said = ratio_sentence(locale, label, part, whole)
        cells.append((label, value, said, name))
    return cells


class BoardScreen:
    """One browser session's board."""

    def __init__(
        self, page: ft.Page, ctx: AppContext, *, sleep: Sleep = asyncio.sleep, elsewhere: Leave | None = None
    ):
        self.page = page
        self.ctx = ctx
        self.sleep = sleep
        self.elsewhere = elsewhere
        self.route = page.route or ""
        self.code = board_code(self.route)
        self.locale = asked_locale(self.route) or ctx.settings.locale
        self.view: PublicBoard | None = None
        self.closed = False
        self.refresher: Future[None] | None = None
        self.pager: Future[None] | None = None
        self.refreshes = 0  # reads since the first, for tests
        self.turn = 0  # pages turned on the hall's screen; each column shows page turn % its pages
        self.paused = False  # the 暂停翻页 button (WCAG 2.2.2): the pages stay until it is pressed again
        self.paging = False  # some column of the hall's screen has more than one page
        self.figure_width, self.roomy = 107, True  # the hall's tables, set as it is drawn

    async def start(self) -> None:
        apply_theme(self.page, t(self.locale, "board.title"))  # the bundled CJK font among it
        self.page.bgcolor = SURFACE
        self.page.on_resize = self._on_resize
        self.page.on_close = self._on_close
        self.page.on_connect = self._on_reconnect
        self.view = await KIOSK.run(read_board, self.ctx, self.code)
        self.render()
        if self.view is not None:
            self.refresher = self.page.run_task(self._refresh)
            self.pager = self.page.run_task(self._turn_pages)

    async def _on_resize(self, _e: ft.PageResizeEvent) -> None:
        self.render()

    async def _on_close(self, _e: ft.Event[Any]) -> None:
        self.stop()

    async def _on_reconnect(self, _e: ft.Event[Any]) -> None:
        """A reload re-attaches the tab to this session: fresh figures, or whatever the address now
        asks for (another branch's board, or one of the kiosk's pages)."""
        route = self.page.route or ""
        if route != self.route:
            self.stop()
            if is_board_route(route):
                await open_board(self.page, self.ctx, sleep=self.sleep, elsewhere=self.elsewhere)
            elif self.elsewhere is not None:
                await self.elsewhere()
            return
        view = await KIOSK.run(read_board, self.ctx, self.code)
        if view is not None:
            self.view = view
        self.render()

    def stop(self) -> None:
        self.closed = True
        for task in (self.refresher, self.pager):
            if task is not None:
                task.cancel()

    async def _refresh(self) -> None:
        while not self.closed:
            await self.sleep(REFRESH_SECONDS)
            if self.closed:
                return
            try:
                view = await KIOSK.run(read_board, self.ctx, self.code)
            except Exception:  # the database away for a moment: keep the figures shown, try again
                log.warning("board %s: refresh failed", self.code, exc_info=True)
                continue
            self.refreshes += 1
            if view is None or self.closed:
                continue
            self.view = view
            await timer_step(f"board {self.code}: refresh", self.render, log)

    async def _turn_pages(self) -> None:
        """The hall's screen: the next page of each column that has several, every PAGE_SECONDS (a plain
        change, no motion), on its own clock beside the refresh."""
        while not self.closed:
            await self.sleep(PAGE_SECONDS)
            if self.closed:
                return
            if self.paused or not self.paging:
                continue
            self.turn += 1
            await timer_step(f"board {self.code}: page turn", self.render, log)

    async def on_toggle_language(self, _e: ft.Event[Any]) -> None:
        self.locale = other_locale(self.locale)
        self.render()

    async def on_next_page(self, _e: ft.Event[Any]) -> None:
        self.turn += 1
        self.render()

    async def on_pause(self, _e: ft.Event[Any]) -> None:
        self.paused = not self.paused
        self.render()

    # -- drawing --------------------------------------------------------------------------
    @property
    def wide(self) -> bool:
        return (self.page.width or 1280) >= WIDE

    @property
    def hall(self) -> bool:
        """The hall's big screen (or any window as large): one screen, nothing to scroll."""
        return (self.page.width or 1280) >= HALL_WIDTH and (self.page.height or 720) >= HALL_HEIGHT

    def capacity(self) -> tuple[int, int]:
        """How many 事项 and how many counters fit in a page of their columns on the hall's screen."""
        view = self.view
        assert view is not None
        star = STAR + GAP if view.star_name and view.star_month else 0
        middle = (self.page.height or 720) - HEADER - 2 * PAD - TILES - 2 * GAP - FOOTER - star
        services = (middle - HEADING - CAPTIONS) // (ROW + ROW_GAP)
        counters = (middle - HEADING - INDICATORS - GAP - HEADING - CAPTIONS) // (ROW + ROW_GAP)
        return max(1, int(services)), max(1, int(counters))

    def render(self) -> None:
        set_language(self.page, self.locale)
        self.page.title = t(self.locale, "board.title")
        if self.view is None:
            body = self._unknown()
        elif self.hall:
            body = self._hall()
        else:
            self.paging = False
            body = self._board()
        self.page.controls = [ft.SafeArea(content=body, expand=True)]
        self.page.update()

    def _unknown(self) -> ft.Control:
        code = self.code[:CODE_MAX]
        lines: list[ft.Control] = []
        for locale in (ZH, EN):  # both at once: whoever opened the address can read it
            lines += [
                spoken(t(locale, "board.unknown.title"), size=28, weight=ft.FontWeight.BOLD, color=INK),
                spoken(t(locale, "board.unknown.body", code=code), size=18, color=MUTED),
            ]
        return ft.Container(
            content=ft.Column(lines, spacing=12, key="board-unknown"),
            padding=24,
            alignment=ft.Alignment.TOP_CENTER,
        )

    def _board(self) -> ft.Control:
        view, locale = self.view, self.locale
        assert view is not None
        subtitle = t(locale, "board.month", month=month_words(locale, view.month))
        head = header(
            view.branch_name(locale), f"{t(locale, 'board.title')} · {subtitle}",
            language_button(locale, self.on_toggle_language),
        )  # fmt: skip
        width = self.page.width or 1280
        pad = 32 if self.wide else 12
        inner = width - 2 * pad
        rows: list[ft.Control] = [self._tiles(view.figures, inner)]
        if view.star_name and view.star_month:
            star = t(locale, "board.star", month=month_words(locale, view.star_month), name=view.star_name)
            rows.append(spoken(star, size=22 if self.wide else 16, color=ACCENT, key="board-star"))
        small = 18 if self.wide else 14
        rows.append(self._indicators(inner))
        if view.services:
            rows.append(self._heading(t(locale, "board.services")))
            rows.append(self._services(inner))
        if view.counters:
            rows.append(self._heading(t(locale, "board.counters")))
            rows.append(self._counters(inner))
        updated = fmt_datetime(locale, view.as_of, view.timezone)
        words = t(locale, "board.updated", time=updated, seconds=REFRESH_SECONDS)
        rows.append(spoken(words, size=small, color=MUTED, key="board-updated"))
        rows.append(spoken(t(locale, "board.privacy"), size=small, color=MUTED))
        rows.append(spoken(t(locale, "board.indicators.note"), size=small, color=MUTED))
        if view.services:
            rows.append(spoken(t(locale, "board.services.note"), size=small, color=MUTED))
        return ft.Column(
            [
                head,
                ft.Column(
                    [ft.Container(ft.Column(rows, spacing=20 if self.wide else 14), padding=pad)],
                    scroll=ft.ScrollMode.AUTO,
                    expand=True,
                ),
            ],
            spacing=0,
            expand=True,
            key="board",
        )

    # -- the hall's big screen: one screen, a column pages when its rows do not fit -----------
    def _hall(self) -> ft.Control:
        view, locale = self.view, self.locale
        assert view is not None
        inner = (self.page.width or 1280) - 2 * PAD
        half = (inner - PAD) / 2
        per_service, per_counter = self.capacity()
        # A table's figure column: 107 px on 1920 px, narrower (smaller type) down to HALL_WIDTH.
        self.figure_width = max(84, min(112, int((half - 32) * 0.12)))
        self.roomy = self.figure_width >= 100
        services, s_page, s_pages = self._paged(view.services, per_service)
        counters, c_page, c_pages = self._paged(view.counters, per_counter)
        self.paging = s_pages > 1 or c_pages > 1
        trailing: list[ft.Control] = []
        if self.paging:
            pause = "board.paging.resume" if self.paused else "board.paging.pause"
            trailing += [
                self._button(t(locale, pause), ft.Icons.PLAY_ARROW if self.paused else ft.Icons.PAUSE,
                             self.on_pause, "board-pause"),
                self._button(t(locale, "board.paging.next"), ft.Icons.NAVIGATE_NEXT, self.on_next_page,
                             "board-next-page"),
            ]  # fmt: skip
        trailing.append(language_button(locale, self.on_toggle_language))
        subtitle = t(locale, "board.month", month=month_words(locale, view.month))
        head = header(
            view.branch_name(locale), f"{t(locale, 'board.title')} · {subtitle}",
            ft.Row(trailing, spacing=8, tight=True),
        )  # fmt: skip
        left: list[ft.Control] = []
        if view.services:
            left.append(self._section_head(t(locale, "board.services"), "services", s_page, s_pages))
            left.append(self._service_table(services, half))
        right: list[ft.Control] = [
            self._section_head(t(locale, "board.indicators"), "indicators", 1, 1),
            self._indicators_compact(),
        ]
        if view.counters:
            right.append(ft.Container(height=GAP))
            right.append(self._section_head(t(locale, "board.counters"), "counters", c_page, c_pages))
            right.append(self._counter_table(counters, half))
        blocks: list[ft.Control] = [self._tiles(view.figures, inner)]
        if view.star_name and view.star_month:
            star = t(locale, "board.star", month=month_words(locale, view.star_month), name=view.star_name)
            blocks.append(ft.Container(spoken(star, size=22, color=ACCENT, key="board-star"), height=STAR))
        blocks.append(
            ft.Row(
                [ft.Column(left, spacing=0, width=half), ft.Column(right, spacing=0, width=half)],
                spacing=PAD, vertical_alignment=ft.CrossAxisAlignment.START, expand=True,
            )
        )  # fmt: skip
        updated = fmt_datetime(locale, view.as_of, view.timezone)
        notes = [
            t(locale, "board.updated", time=updated, seconds=REFRESH_SECONDS),
            t(locale, "board.privacy"),
        ]
        notes.append(t(locale, "board.indicators.note"))
        if view.services:
            notes.append(t(locale, "board.services.note"))
        lines = [
            spoken(words, size=13, color=MUTED, key="board-updated" if i == 0 else None)
            for i, words in enumerate(notes)
        ]
        blocks.append(ft.Container(ft.Column(lines, spacing=2), height=FOOTER))
        return ft.Column(
            [head, ft.Container(ft.Column(blocks, spacing=GAP), padding=PAD, expand=True)],
            spacing=0,
            expand=True,
            key="board",
        )

    def _paged(self, rows: Sequence[Row], per_page: int) -> tuple[list[Row], int, int]:
        """The rows of the page shown now, its number (from 1) and how many pages there are."""
        pages = max(1, math.ceil(len(rows) / per_page))
        shown = self.turn % pages
        return list(rows[shown * per_page : (shown + 1) * per_page]), shown + 1, pages

    def _button(
        self, words: str, icon: ft.IconData, on_click: ft.ControlEventHandler[ft.TextButton], key: str
    ) -> ft.Control:
        return ft.TextButton(
            content=ft.Text(words, size=18), icon=icon, on_click=on_click, key=key, height=TAP_MIN
        )

    def _section_head(self, words: str, name: str, page: int, pages: int) -> ft.Control:
        """A column's title, with "第 1/3 页" when it pages (said as "…, page 1 of 3")."""
        items: list[ft.Control] = [spoken(words, size=24, weight=ft.FontWeight.BOLD, color=INK)]
        if pages > 1:
            said = t(self.locale, "board.page.spoken", section=words, page=page, pages=pages)
            shown = t(self.locale, "board.page", page=page, pages=pages)
            items.append(
                spoken(shown, label=said, size=20, weight=ft.FontWeight.W_600, color=ACCENT,
                       key=f"board-{name}-page")
            )  # fmt: skip
        return ft.Container(
            ft.Row(items, spacing=16, vertical_alignment=ft.CrossAxisAlignment.CENTER),
            height=HEADING,
            alignment=ft.Alignment.CENTER_LEFT,
        )

    def _table(
        self, captions: list[str], rows: list[tuple[list[ft.Control], list[ft.Control]]], width: float
    ):
        """Compact rows: the captions once above, then per row its title and its figures."""
        figure = self.figure_width
        name = width - 2 * 16 - figure * len(captions)
        head = ft.Container(
            ft.Row(
                [
                    ft.Container(width=name),
                    *[  # a caption of two words may take two lines, clear of the next one
                        ft.Container(
                            seen_only(ft.Text(c, size=14 if self.roomy else 13, color=MUTED, max_lines=2)),
                            width=figure,
                            padding=ft.Padding.only(right=12),
                            alignment=ft.Alignment.BOTTOM_LEFT,
                        )
                        for c in captions
                    ],
                ],
                spacing=0,
                vertical_alignment=ft.CrossAxisAlignment.END,
            ),
            height=CAPTIONS,
            padding=ft.Padding.symmetric(horizontal=16),
            alignment=ft.Alignment.BOTTOM_LEFT,
        )
        lines: list[ft.Control] = [head]
        for title, cells in rows:
            lines.append(
                ft.Container(
                    ft.Row(
                        [ft.Column(title, spacing=0, width=name, alignment=ft.MainAxisAlignment.CENTER)]
                        + [ft.Container(c, width=figure) for c in cells],
                        spacing=0,
                        vertical_alignment=ft.CrossAxisAlignment.CENTER,
                    ),
                    height=ROW,
                    bgcolor=WHITE,
                    border_radius=10,
                    padding=ft.Padding.symmetric(horizontal=16),
                )  # fmt: skip
            )
        return ft.Column(lines, spacing=ROW_GAP)

    def _figure(self, value: str, said: str, key: str) -> ft.Control:
        size = 24 if self.roomy else 20
        return spoken(value, label=said, size=size, weight=ft.FontWeight.W_600, color=INK, key=f"board-{key}")

    def _title(self, words: str, under: str, *, key: str, said: str | None = None) -> list[ft.Control]:
        size = 18 if self.roomy else 16  # a long name ends in "…" on the screen, said whole
        title: list[ft.Control] = [
            spoken(words, label=said, size=size, weight=ft.FontWeight.BOLD, color=INK, key=key,
                   max_lines=1, overflow=ft.TextOverflow.ELLIPSIS)
        ]  # fmt: skip
        if under:
            title.append(seen_only(ft.Text(under, size=14, color=MUTED, max_lines=1)))
        return title

    def _service_table(self, services: list[ServiceRow], width: float) -> ft.Control:
        locale = self.locale
        captions = [caption for caption, *_ in service_cells(locale, services[0])] if services else []
        rows = []
        for row in services:
            cells = [
                self._figure(value, said, f"service-{row.code}-{key}")
                for _caption, value, said, key in service_cells(locale, row)
            ]
            rows.append((self._title(row.name(locale), row.code, key=f"board-service-{row.code}"), cells))
        return self._table(captions, rows, width)

    def _counter_table(self, counters: list[CounterRow], width: float) -> ft.Control:
        locale = self.locale
        captions = [t(locale, "board.rated")] + [t(locale, f"board.{rate}") for rate in RATES]
        rows = []
        for row in counters:
            staff = t(locale, "board.counter.staff", name=row.staff_name) if row.staff_name else ""
            name = row.name(locale)
            said = t(locale, "board.counter.spoken", counter=name, staff=staff) if staff else name
            rated = row.figures.rated
            cells = [self._figure(str(rated), t(locale, "board.spoken.rated", n=rated), f"{row.code}-rated")]
            for rate in RATES:
                value, _count, words = rate_sentence(locale, row.figures, rate)
                cells.append(self._figure(value, words, f"{row.code}-{rate}"))
            rows.append((self._title(name, staff, key=f"board-counter-{row.code}", said=said), cells))
        return self._table(captions, rows, width)

    def _indicators_compact(self) -> ft.Control:
        view, locale = self.view, self.locale
        assert view is not None
        bad = view.bad_by_indicator
        total = t(locale, "board.indicators.total", bad=bad.bad, without=bad.without_reason)
        cells: list[ft.Control] = []
        for row in bad.indicators:
            name = row.name(locale)
            said = t(locale, "board.spoken.indicator", indicator=name, n=row.bad)
            cells.append(
                ft.Column(
                    [seen_only(ft.Text(name, size=15, color=MUTED)),
                     self._figure(str(row.bad), said, f"indicator-{row.key}")],
                    spacing=0, expand=True,
                )
            )  # fmt: skip
        return ft.Container(
            ft.Column(
                [spoken(total, size=15, color=MUTED, key="board-indicators-total"), ft.Row(cells, spacing=8)],
                spacing=6,
            ),
            height=INDICATORS, bgcolor=WHITE, border_radius=10,
            padding=ft.Padding.symmetric(horizontal=16, vertical=12),
        )  # fmt: skip

    def _tile(self, caption: str, value: str, count: str, said: str, key: str, width: float) -> ft.Control:
        wide, hall = self.wide, self.hall  # the hall's screen: a little more compact, a fixed height
        pad = (12 if hall else 20) if wide else 10
        return ft.Container(
            content=ft.Column(
                [
                    seen_only(ft.Text(caption, size=(20 if hall else 24) if wide else 15, color=MUTED)),
                    spoken(
                        value,
                        label=said,
                        size=(48 if hall else 56) if wide else 30,
                        weight=ft.FontWeight.BOLD,
                        color=INK,
                        key=key,
                    ),  # fmt: skip
                    seen_only(ft.Text(count, size=(18 if hall else 20) if wide else 13, color=MUTED)),
                ],
                spacing=4 if wide else 2,
            ),
            bgcolor=WHITE,
            border_radius=16,
            padding=ft.Padding.symmetric(horizontal=20 if wide else 12, vertical=pad),
            width=width,
            height=TILES if hall else None,
        )

    def _tiles(self, figures: Figures, inner: float) -> ft.Control:
        locale = self.locale
        gap = 20 if self.wide else 10
        per_row = 5 if self.wide else 2
        width = (inner - gap * (per_row - 1)) / per_row - 1
        rated = str(figures.rated)
        tiles = [
            self._tile(t(locale, "board.rated"), rated, t(locale, "board.count.rated", n=figures.rated),
                       t(locale, "board.spoken.rated", n=figures.rated), "board-rated", width)
        ]  # fmt: skip
        for name in RATES:
            value, count, said = rate_sentence(locale, figures, name)
            tiles.append(self._tile(t(locale, f"board.{name}"), value, count, said, f"board-{name}", width))
        return ft.Row(tiles, wrap=True, spacing=gap, run_spacing=gap)

    def _heading(self, words: str) -> ft.Control:
        return spoken(words, size=26 if self.wide else 18, weight=ft.FontWeight.BOLD, color=INK)

    def _indicators(self, inner: float) -> ft.Control:
        """The month's 差评 by indicator, one card like a counter's: the title and how many 差评 there
        were, then a figure per indicator."""
        view, locale, wide = self.view, self.locale, self.wide
        assert view is not None
        bad = view.bad_by_indicator
        total = t(locale, "board.indicators.total", bad=bad.bad, without=bad.without_reason)
        title: list[ft.Control] = [
            spoken(
                t(locale, "board.indicators"), size=24 if wide else 17, weight=ft.FontWeight.BOLD, color=INK
            ),
            spoken(total, size=18 if wide else 13, color=MUTED, key="board-indicators-total"),
        ]
        cells = []
        for row in bad.indicators:
            name = row.name(locale)
            said = t(locale, "board.spoken.indicator", indicator=name, n=row.bad)
            cells.append(self._cell(name, str(row.bad), said, f"indicator-{row.key}"))
        return self._card(title, cells, inner)

    def _services(self, inner: float) -> ft.Control:
        """One card per 事项: its name and code, then its figures (a row on the hall's screen)."""
        view, locale, wide = self.view, self.locale, self.wide
        assert view is not None
        cards: list[ft.Control] = []
        for row in view.services:
            title: list[ft.Control] = [
                spoken(
                    row.name(locale), size=24 if wide else 17, weight=ft.FontWeight.BOLD, color=INK,
                    key=f"board-service-{row.code}",
                ),
                seen_only(ft.Text(row.code, size=18 if wide else 13, color=MUTED)),
            ]  # fmt: skip
            cells = [
                self._cell(caption, value, said, f"service-{row.code}-{key}")
                for caption, value, said, key in service_cells(locale, row)
            ]
            cards.append(self._card(title, cells, inner))
        return ft.Column(cards, spacing=12 if wide else 8)

    def _card(self, title: list[ft.Control], cells: list[ft.Control], inner: float) -> ft.Control:
        wide = self.wide
        if wide:
            content: ft.Control = ft.Row(
                [ft.Column(title, spacing=2, width=inner * 0.28), *cells],
                vertical_alignment=ft.CrossAxisAlignment.CENTER,
            )
        else:
            content = ft.Column([ft.Column(title, spacing=2), *cells], spacing=6)
        return ft.Container(
            content=content, bgcolor=WHITE, border_radius=12, width=inner,
            padding=ft.Padding.symmetric(horizontal=20 if wide else 12, vertical=14 if wide else 10),
        )  # fmt: skip

    def _counters(self, inner: float) -> ft.Control:
        view, locale, wide = self.view, self.locale, self.wide
        assert view is not None
        cards: list[ft.Control] = []
        for row in view.counters:
            staff = t(locale, "board.counter.staff", name=row.staff_name) if row.staff_name else ""
            name = row.name(locale)
            said = t(locale, "board.counter.spoken", counter=name, staff=staff) if staff else name
            title: list[ft.Control] = [
                spoken(
                    name,
                    label=said,
                    size=24 if wide else 17,
                    weight=ft.FontWeight.BOLD,
                    color=INK,
                    key=f"board-counter-{row.code}",
                ),  # fmt: skip
            ]
            if staff:
                title.append(seen_only(ft.Text(staff, size=20 if wide else 14, color=MUTED)))
            cells: list[ft.Control] = [
                self._cell(t(locale, "board.rated"), str(row.figures.rated),
                           t(locale, "board.spoken.rated", n=row.figures.rated), f"{row.code}-rated")
            ]  # fmt: skip
            for rate in RATES:
                value, _count, words = rate_sentence(locale, row.figures, rate)
                cells.append(self._cell(t(locale, f"board.{rate}"), value, words, f"{row.code}-{rate}"))
            cards.append(self._card(title, cells, inner))
        return ft.Column(cards, spacing=12 if wide else 8)

    def _cell(self, caption: str, value: str, said: str, key: str) -> ft.Control:
        if not self.wide:  # a phone: one line per figure, the caption left and the figure right
            return ft.Row(
                [
                    seen_only(ft.Text(caption, size=14, color=MUTED)),
                    spoken(
                        value, label=said, size=17, weight=ft.FontWeight.W_600, color=INK, key=f"board-{key}"
                    ),
                ],
                alignment=ft.MainAxisAlignment.SPACE_BETWEEN,
                vertical_alignment=ft.CrossAxisAlignment.CENTER,
            )
        return ft.Container(
            content=ft.Column(
                [
                    seen_only(ft.Text(caption, size=18, color=MUTED)),
                    spoken(
                        value, label=said, size=30, weight=ft.FontWeight.W_600, color=INK, key=f"board-{key}"
                    ),
                ],
                spacing=2,
            ),
            expand=True,
        )


async def open_board(
    page: ft.Page, ctx: AppContext, *, sleep: Sleep = asyncio.sleep, elsewhere: Leave | None = None
) -> BoardScreen:
    """Show the board the address asks for (kiosk/app.py, for a /board/ address); ``elsewhere`` opens
    the kiosk's own pages when the tab is later re-attached at another address."""
    board = BoardScreen(page, ctx, sleep=sleep, elsewhere=elsewhere)
    await board.start()
    return board
