"""The supervisor dashboard: today and this month at a glance, each counter, the 30-day trend, the
score distribution, open complaints by deadline and the clauses cited most. Every chart carries a
spoken summary (Semantics) and its figures as text, so it is readable without seeing the chart."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import flet as ft
import flet_charts as fch
from babel.dates import format_skeleton
from babel.numbers import format_decimal

from admin.dashboard import DashboardData, dashboard
from admin.screens.common import INK, MUTED, icon_button, is_narrow
from models.auth import SessionExpired
from models.errors import Forbidden
from models.indicators import RATES
from models.reports import LOW_SCORE, SCORES, BranchSummary, CounterSummary, SlaState, Stats
from rapport.core.i18n import fmt_datetime, fmt_number, join_spoken, pick, t

if TYPE_CHECKING:
    from admin.host import AdminHost

KEY = "dashboard"
RED, AMBER, GREEN, BLUE, BARS, GRID = "#B3261E", "#7D5700", "#41674A", "#1E4E8C", "#8FA7CC", "#E0E3EA"
HALF = {"xs": 12, "lg": 6}  # side by side from 992 px (landscape), stacked below (portrait)
SOURCES = ("ratings", "complaints", "inspections")
FIGURE_WIDTH = 96  # a figure of a stacked row on a phone: three to a line in 390 px


async def load(app: AdminHost) -> None:
    try:
        app.view[KEY] = await app.call(dashboard)
    except Forbidden:
        app.view[KEY] = None
        app.say("admin.error.forbidden")


def build(app: AdminHost) -> ft.Control:
    locale, data = app.locale, app.view.get(KEY)
    # On a phone the tables are stacked, a block per row: nothing scrolls sideways (a region that does
    # cannot be reached by keyboard in Flutter web, and a column out of sight is easily missed).
    narrow = is_narrow(app)

    async def refresh(_e: ft.Event[Any]) -> None:
        try:
            await load(app)
        except SessionExpired:
            return  # app.call has already sent the user to sign in
        app.render()

    title = ft.Text(t(locale, "admin.dash.title"), size=24, weight=ft.FontWeight.BOLD, color=INK)
    heading: list[ft.Control] = [title]
    if isinstance(data, DashboardData):
        scope = data.branch_name(locale) or t(locale, "admin.dash.scope.all")
        as_of = t(locale, "admin.dash.as_of", time=fmt_datetime(locale, data.now))
        heading.append(ft.Text(f"{scope} · {as_of}", color=MUTED, key="dash-scope"))
    top = ft.Row(
        [
            ft.Column(heading, spacing=2, expand=True),
            icon_button(ft.Icons.REFRESH, t(locale, "admin.dash.refresh"), refresh, key="dash-refresh"),
        ],
        vertical_alignment=ft.CrossAxisAlignment.START,
    )
    if not isinstance(data, DashboardData):
        body: list[ft.Control] = [top, ft.Text(t(locale, "admin.error.forbidden"), color=RED)]
    else:
        body = [
            top,
            ft.ResponsiveRow(
                [
                    _card(locale, "today", data.summary.today),
                    _card(locale, "month", data.summary.month, _defaults_line(locale, data)),
                ]
            ),
            ft.ResponsiveRow(
                [
                    _panel(t(locale, "admin.dash.trend.title"), _trend(locale, data), HALF),
                    _panel(t(locale, "admin.dash.dist.title"), _distribution(locale, data), HALF),
                ]
            ),
            _panel(
                t(locale, "admin.dash.counters.title"),
                _counters(locale, data.summary.branches, narrow, data.counter_defaults),
            ),
            *_services_panel(locale, data, narrow),
            ft.ResponsiveRow(
                [
                    _panel(t(locale, "admin.dash.sla.title"), _sla(locale, data, narrow), HALF),
                    _panel(t(locale, "admin.dash.heat.title"), _heat(locale, data), HALF),
                ]
            ),
            _panel(t(locale, "documents.report.indicators"), _indicators(locale, data)),
        ]
    column = ft.Column(body, spacing=16, scroll=ft.ScrollMode.AUTO, expand=True)
    return ft.Container(content=column, padding=16, expand=True)


# -- the 差评 indicators, each with its definition one tap away --------------------------------------


def _rate(locale: str, part: int, whole: int) -> str:
    return "—" if not whole else f"{_share(locale, part / whole)} ({part}/{whole})"


def _indicators(locale: str, data: DashboardData) -> ft.Control:
    """One expandable line per indicator (docs/INDICATORS.md): the month's figure, and on a tap its
    definition and, for several branches, each branch's figure."""
    tiles: list[ft.Control] = []
    for name, part, whole in RATES:
        value = _rate(locale, getattr(data.cases, part), getattr(data.cases, whole))
        inside: list[ft.Control] = [
            ft.Text(t(locale, f"documents.report.ind.{name}.def"), color=MUTED, key=f"dash-ind-{name}-def")
        ]
        if len(data.case_branches) > 1:
            for zh, en, figures in data.case_branches:
                each = _rate(locale, getattr(figures, part), getattr(figures, whole))
                inside.append(ft.Text(f"{pick(locale, zh, en)}: {each}", color=INK))
        tiles.append(
            ft.ExpansionTile(
                title=ft.Text(f"{t(locale, f'documents.report.ind.{name}')}  {value}", color=INK),
                controls=[
                    ft.Container(ft.Column(inside, spacing=4), padding=ft.Padding.only(left=16, bottom=8))
                ],
                key=f"dash-ind-{name}",
            )
        )
    if data.cases.defaults:
        note = t(locale, "participation.dash.indicators_note", n=_n(locale, data.cases.defaults))
        tiles.append(ft.Text(note, size=13, color=MUTED, key="dash-ind-defaults"))
    return ft.Column(tiles, spacing=0)


# -- default ratings, 参评率 and the figures per 事项 (models/participation.py) ---------------------------


def _defaults_line(locale: str, data: DashboardData) -> ft.Control | None:
    """The month's default ratings, counted and not, under the month's figures; none without any."""
    counted, apart = data.cases.defaults, data.cases.defaults_uncounted
    if not counted and not apart:
        return None
    text = t(locale, "participation.dash.defaults", counted=_n(locale, counted), apart=_n(locale, apart))
    return ft.Text(text, size=13, color=MUTED, key="dash-month-defaults")


SERVICE_COLUMNS = ("transactions", "rated", "rate", "ratings", "mean", "good_rate", "defaulted")


def _services_panel(locale: str, data: DashboardData, narrow: bool) -> list[ft.Control]:
    """The month's 参评率 and a line per 事项; nothing at all for a scope without transactions."""
    whole = data.participation
    if not whole.transactions:
        return []
    summary = t(
        locale, "participation.dash.summary", transactions=_n(locale, whole.transactions),
        rated=_n(locale, whole.rated), rate=_rate(locale, whole.rated, whole.transactions),
        defaulted=_n(locale, whole.defaulted),
    )  # fmt: skip
    lines: list[ft.Control] = [ft.Text(summary, color=INK, key="dash-participation")]
    if len(data.participation_branches) > 1:
        for zh, en, one in data.participation_branches:
            rate = _rate(locale, one.rated, one.transactions)
            each = t(locale, "participation.dash.branch", branch=pick(locale, zh, en), rate=rate,
                     defaulted=_n(locale, one.defaulted))  # fmt: skip
            lines.append(ft.Text(each, color=INK))
    heads = ["service", *SERVICE_COLUMNS]
    names = [t(locale, f"participation.col.{h}") for h in heads]
    rows: list[Any] = []
    for line in data.services:
        f = line.figures
        values = [
            f"{line.code} {line.name(locale)}", _n(locale, f.transactions), _n(locale, f.rated),
            _rate(locale, f.rated, f.transactions), _n(locale, f.ratings), _mean(locale, f.mean),
            _share(locale, f.good_rate), _n(locale, f.defaulted),
        ]  # fmt: skip
        key = f"dash-service-{line.service_id}"
        texts = [ft.Text(v, key=f"{key}-{h}") for h, v in zip(heads, values, strict=True)]
        if narrow:
            texts[0].weight = ft.FontWeight.BOLD
            figures = [_figure(name, text) for name, text in zip(names[1:], texts[1:], strict=True)]
            rows.append(_stacked(texts[0], figures, key))
        else:
            rows.append(ft.DataRow(cells=[ft.DataCell(content=text) for text in texts]))
    if narrow:
        lines.append(ft.Column(rows, spacing=0))
    else:
        columns = [
            ft.DataColumn(label=ft.Text(name, weight=ft.FontWeight.BOLD), numeric=i > 0)
            for i, name in enumerate(names)
        ]
        table = ft.DataTable(columns=columns, rows=rows, column_spacing=24, heading_row_height=44)
        lines.append(ft.Row([table], scroll=ft.ScrollMode.AUTO))
    lines.append(ft.Text(t(locale, "participation.dash.note"), size=13, color=MUTED))
    return [_panel(t(locale, "participation.dash.title"), ft.Column(lines, spacing=8))]


# -- formatting ------------------------------------------------------------------------------------


def _mean(locale: str, value: float | None) -> str:
    # Always two decimals ("4.00", not fmt_number's "4"), so a column of averages lines up.
    return (
        "—" if value is None else format_decimal(round(value, 2), "#,##0.00", locale=locale.replace("-", "_"))
    )


def _share(locale: str, value: float | None) -> str:
    return "—" if value is None else t(locale, "admin.dash.percent", value=fmt_number(locale, value * 100, 1))


def _n(locale: str, value: int) -> str:
    return fmt_number(locale, value, 0)


def _day(locale: str, day: Any) -> str:
    return str(format_skeleton("Md", day, locale=locale.replace("-", "_")))


def _panel(title: str, content: ft.Control, col: Any = 12) -> ft.Control:
    return ft.Container(
        content=ft.Column(
            [ft.Text(title, size=18, weight=ft.FontWeight.BOLD, color=INK), content], spacing=10
        ),
        bgcolor=ft.Colors.WHITE,
        border_radius=12,
        padding=16,
        col=col,
    )


# -- summary cards and the counter table -----------------------------------------------------------


def _card(locale: str, period: str, stats: Stats, note: ft.Control | None = None) -> ft.Control:
    figures = [
        ("count", _n(locale, stats.count), t(locale, "admin.dash.count")),
        ("mean", _mean(locale, stats.mean), t(locale, "admin.dash.mean")),
        ("low", _share(locale, stats.low_share), t(locale, "admin.dash.low_share", score=LOW_SCORE)),
    ]
    cells: list[ft.Control] = [
        ft.Column(
            [
                ft.Text(
                    value,
                    size=28,
                    weight=ft.FontWeight.BOLD,
                    key=f"dash-{period}-{name}",
                    color=RED if name == "low" and (stats.low_share or 0) >= 0.2 else INK,
                ),
                ft.Text(label, size=14, color=MUTED),
            ],
            spacing=0,
        )
        for name, value, label in figures
    ]
    figures_row: ft.Control = ft.Row(cells, wrap=True, spacing=32, run_spacing=8)
    if note is not None:
        figures_row = ft.Column([figures_row, note], spacing=6)
    return _panel(t(locale, f"admin.dash.{period}"), figures_row, {"xs": 12, "sm": 6})


def _figure(head: str, value: ft.Text) -> ft.Control:
    """One figure of a stacked row on a phone: its column's name over its value."""
    return ft.Column([ft.Text(head, size=13, color=MUTED), value], spacing=0, width=FIGURE_WIDTH)


def _stacked(title: ft.Text, figures: list[ft.Control], key: str) -> ft.Control:
    """A table's row on a phone: what it is about, then its figures side by side, wrapping."""
    return ft.Container(
        content=ft.Column([title, ft.Row(figures, wrap=True, spacing=8, run_spacing=6)], spacing=4),
        padding=ft.Padding.symmetric(vertical=8),
        border=ft.Border.only(top=ft.BorderSide(1, GRID)),
        key=key,
    )


def _counters(
    locale: str,
    branches: tuple[BranchSummary, ...],
    narrow: bool = False,
    defaults: dict[int | None, tuple[int, int]] | None = None,
) -> ft.Control:
    """A row per counter (and per branch, when there are several): a table, or on a phone a block
    per row. Each figure's text is keyed ``<row>-<column>`` either way. With default ratings this
    month (``defaults``: per counter, counted and not), a column says how many each counter had."""
    heads = ["counter", "today_count", "today_mean", "month_count", "month_mean", "month_low"]
    names = [t(locale, f"admin.dash.col.{h}") for h in heads]
    if defaults:
        heads.append("month_default")
        names.append(t(locale, "participation.dash.col.month_default"))
    columns = [
        ft.DataColumn(label=ft.Text(name, weight=ft.FontWeight.BOLD), numeric=i > 0)
        for i, name in enumerate(names)
    ]

    def row(key: str, label: str, today: Stats, month: Stats, bold: bool = False, given: int = 0) -> Any:
        values = [
            label,
            _n(locale, today.count),
            _mean(locale, today.mean),
            _n(locale, month.count),
            _mean(locale, month.mean),
            _share(locale, month.low_share),
        ]
        if defaults:
            values.append(_n(locale, given))
        weight = ft.FontWeight.BOLD if bold else None
        texts = [ft.Text(v, weight=weight, key=f"{key}-{h}") for h, v in zip(heads, values, strict=True)]
        if narrow:
            texts[0].weight = ft.FontWeight.BOLD
            figures = [_figure(name, text) for name, text in zip(names[1:], texts[1:], strict=True)]
            return _stacked(texts[0], figures, key)
        return ft.DataRow(cells=[ft.DataCell(content=text) for text in texts])

    rows: list[Any] = []
    several = len(branches) > 1
    for b in branches:
        name = pick(locale, b.name_zh, b.name_en)
        given = {c.counter_id: sum((defaults or {}).get(c.counter_id, (0, 0))) for c in b.counters}
        if several:
            branch_given = sum(given.values())
            rows.append(row(f"dash-branch-{b.branch_id}", name, b.today, b.month, True, branch_given))
        for c in b.counters:
            rows.append(
                row(_counter_key(c), _counter_name(locale, c), c.today, c.month, given=given[c.counter_id])
            )
    if not rows:
        return ft.Text(t(locale, "admin.dash.counters.empty"), color=MUTED)
    if narrow:
        return ft.Column(rows, spacing=0)
    table = ft.DataTable(columns=columns, rows=rows, column_spacing=24, heading_row_height=44)
    # Scrolls sideways in a window too narrow for it (but wider than a phone) instead of clipping.
    return ft.Row([table], scroll=ft.ScrollMode.AUTO)


def _counter_key(c: CounterSummary) -> str:
    return f"dash-counter-{c.counter_id}" if c.counter_id is not None else f"dash-counter-none-{c.branch_id}"


def _counter_name(locale: str, c: CounterSummary) -> str:
    if c.counter_id is None:
        return t(locale, "admin.dash.counters.none")
    return pick(locale, c.name_zh, c.name_en) or c.code or str(c.counter_id)


# -- charts ----------------------------------------------------------------------------------------


def _trend(locale: str, data: DashboardData) -> ft.Control:
    days = data.trend
    total = sum((Stats(p.count, p.total) for p in days), Stats())
    lines = [
        t(
            locale,
            "admin.dash.trend.point",
            day=_day(locale, p.day),
            count=_n(locale, p.count),
            mean=_mean(locale, p.mean),
        )
        for p in days
    ]
    points = [
        fch.LineChartDataPoint(i, round(p.mean or 0, 2), tooltip=lines[i])
        for i, p in enumerate(days)
        if p.count
    ]
    ticks = sorted({0, len(days) - 1, *range(len(days) - 1, 0, -7)})
    bottom = fch.ChartAxis(
        labels=[
            fch.ChartAxisLabel(value=i, label=ft.Text(_day(locale, days[i].day), size=12)) for i in ticks
        ],
        label_size=28,
    )
    mean_chart = fch.LineChart(
        data_series=[fch.LineChartData(points=points, color=BLUE, stroke_width=3, point=True)],
        min_x=0,
        max_x=max(1, len(days) - 1),
        min_y=1,
        max_y=5,
        height=200,
        left_axis=fch.ChartAxis(
            labels=[fch.ChartAxisLabel(value=v, label=ft.Text(str(v), size=12)) for v in SCORES],
            label_size=28,
        ),
        bottom_axis=bottom,
        horizontal_grid_lines=fch.ChartGridLines(interval=1, color=GRID, width=1),
    )
    peak = max((p.count for p in days), default=0)
    count_chart = fch.BarChart(
        groups=[
            fch.BarChartGroup(
                x=i, rods=[fch.BarChartRod(to_y=p.count, color=BARS, width=6, tooltip=lines[i])]
            )
            for i, p in enumerate(days)
        ],
        max_y=max(1, peak),
        height=70,
        group_alignment=ft.MainAxisAlignment.SPACE_BETWEEN,  # under the line chart's first and last day
        left_axis=fch.ChartAxis(
            labels=[fch.ChartAxisLabel(value=peak, label=ft.Text(_n(locale, peak), size=11))],
            label_size=28,
            show_min=False,
        ),
    )
    spoken = t(
        locale,
        "admin.dash.trend.semantics",
        days=len(days),
        count=_n(locale, total.count),
        mean=_mean(locale, total.mean),
    )
    details = ft.ExpansionTile(
        title=ft.Text(t(locale, "admin.dash.trend.details"), size=15),
        controls=[
            ft.Text(line, size=14, key=f"dash-trend-{p.day.isoformat()}")
            for line, p in zip(lines, days, strict=True)
        ],
        tile_padding=ft.Padding.symmetric(horizontal=0),
        key="dash-trend-details",
    )
    legend = ft.Row(
        [
            ft.Container(width=16, height=3, bgcolor=BLUE),
            ft.Text(t(locale, "admin.dash.mean"), size=13, color=MUTED),
            ft.Container(width=8, height=12, bgcolor=BARS),
            ft.Text(t(locale, "admin.dash.count"), size=13, color=MUTED),
        ],
        spacing=6,
        vertical_alignment=ft.CrossAxisAlignment.CENTER,
    )
    return ft.Column(
        [
            legend,
            ft.Semantics(
                label=spoken, container=True, content=ft.Column([mean_chart, count_chart], spacing=4)
            ),
            ft.Text(spoken, size=14, color=MUTED, key="dash-trend-summary"),
            details,
        ],
        spacing=8,
    )


def _score_colour(score: int) -> str:
    return RED if score <= LOW_SCORE else AMBER if score == 3 else GREEN


def _nice_step(peak: int) -> int:
    """A 1-2-5 step that divides the axis up to ``peak`` into about four parts."""
    raw = max(peak, 1) / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    return max(1, int(next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)))


def _distribution(locale: str, data: DashboardData) -> ft.Control:
    dist = data.distribution
    step = _nice_step(max(dist.counts))
    items = [t(locale, "admin.dash.dist.item", score=s, count=_n(locale, dist.count(s))) for s in SCORES]
    chart = fch.BarChart(
        groups=[
            fch.BarChartGroup(
                x=s,
                rods=[
                    fch.BarChartRod(
                        to_y=dist.count(s),
                        width=28,
                        color=_score_colour(s),
                        tooltip=items[s - 1],
                        border_radius=4,
                    )
                ],
            )
            for s in SCORES
        ],
        max_y=step * max(1, math.ceil(max(dist.counts) / step)),
        height=220,
        bottom_axis=fch.ChartAxis(
            labels=[
                fch.ChartAxisLabel(
                    value=s, label=ft.Text(t(locale, "admin.dash.dist.score", score=s), size=12)
                )
                for s in SCORES
            ],
            label_size=28,
        ),
        left_axis=fch.ChartAxis(label_size=44, label_spacing=step),
        horizontal_grid_lines=fch.ChartGridLines(interval=step, color=GRID, width=1),
    )
    spoken = t(locale, "admin.dash.dist.semantics", items=join_spoken(locale, items))
    texts: list[ft.Control] = [
        ft.Text(item, size=14, color=_score_colour(s), key=f"dash-dist-{s}")
        for s, item in zip(SCORES, items, strict=True)
    ]
    return ft.Column(
        [ft.Semantics(label=spoken, container=True, content=chart), ft.Row(texts, wrap=True, spacing=16)],
        spacing=8,
    )


# -- complaints and clauses ------------------------------------------------------------------------


def _sla(locale: str, data: DashboardData, narrow: bool = False) -> ft.Control:
    """Open complaints by severity and how near their deadline: a table, or on a phone a block per
    severity (each count keyed ``dash-sla-<severity>-<state>`` either way)."""
    sla = data.complaints
    states = (SlaState.overdue, SlaState.due_soon, SlaState.on_time)
    colours = {SlaState.overdue: RED, SlaState.due_soon: AMBER, SlaState.on_time: INK}
    bold = ft.FontWeight.BOLD
    columns = [ft.DataColumn(label=ft.Text(t(locale, "admin.dash.sla.severity"), weight=bold))] + [
        ft.DataColumn(label=ft.Text(t(locale, f"admin.dash.sla.{s.value}"), weight=bold), numeric=True)
        for s in states
    ]

    def count(severity: str, state: SlaState, n: int) -> ft.Text:
        colour = colours[state] if n else MUTED
        weight = bold if n and state is SlaState.overdue else None
        return ft.Text(_n(locale, n), key=f"dash-sla-{severity}-{state.value}", color=colour, weight=weight)

    overdue = _n(locale, sla.state_total(SlaState.overdue))
    total = t(locale, "admin.dash.sla.total", count=_n(locale, sla.total), overdue=overdue)
    summary = ft.Text(total, size=14, color=MUTED, key="dash-sla-total")
    if narrow:
        blocks: list[ft.Control] = [
            _stacked(
                ft.Text(t(locale, f"admin.severity.{r.severity}"), weight=bold),
                [
                    _figure(t(locale, f"admin.dash.sla.{s.value}"), count(r.severity, s, getattr(r, s.value)))
                    for s in states
                ],
                f"dash-sla-{r.severity}",
            )
            for r in sla.rows
        ]
        return ft.Column([*blocks, summary], spacing=0)
    rows = [
        ft.DataRow(
            cells=[ft.DataCell(content=ft.Text(t(locale, f"admin.severity.{r.severity}")))]
            + [ft.DataCell(content=count(r.severity, s, getattr(r, s.value))) for s in states]
        )
        for r in sla.rows
    ]
    return ft.Column(
        [
            ft.Row([ft.DataTable(columns=columns, rows=rows, column_spacing=24)], scroll=ft.ScrollMode.AUTO),
            summary,
        ],
        spacing=8,
    )


def _heat(locale: str, data: DashboardData) -> ft.Control:
    heat = data.heat
    if not heat.clauses:
        return ft.Text(t(locale, "admin.dash.heat.empty"), color=MUTED, key="dash-heat-empty")
    sources = SOURCES if heat.inspections_available else SOURCES[:2]
    names = {s: t(locale, f"admin.dash.heat.{s}") for s in SOURCES}
    peak = {s: max(max(getattr(h, s) for h in heat.clauses), 1) for s in sources}

    def cell(code: str, source: str, n: int) -> ft.Control:
        alpha = 0.08 + 0.82 * n / peak[source] if n else 0.0
        return ft.Container(
            content=ft.Text(
                _n(locale, n),
                key=f"dash-heat-{code}-{source}",
                color=ft.Colors.WHITE if alpha > 0.5 else INK,
                weight=ft.FontWeight.W_500,
            ),
            bgcolor=ft.Colors.with_opacity(alpha, RED) if n else "#F5F7FA",
            width=76,
            height=36,
            border_radius=6,
            alignment=ft.Alignment.CENTER,
            tooltip=f"{names[source]}: {n}",
        )

    heads: list[ft.Control] = [
        ft.Text(t(locale, "admin.dash.heat.clause"), weight=ft.FontWeight.BOLD, expand=True)
    ]
    heads += [
        ft.Text(names[s], size=13, width=76, text_align=ft.TextAlign.CENTER, weight=ft.FontWeight.BOLD)
        for s in sources
    ]
    rows: list[ft.Control] = [ft.Row(heads)]
    for h in heat.clauses:
        label = f"{h.code} {data.clause(h.code, locale)}"
        spoken = f"{label}: " + ", ".join(f"{names[s]} {getattr(h, s)}" for s in sources)
        rows.append(
            ft.Semantics(
                label=spoken,
                container=True,
                content=ft.Row(
                    [ft.Text(label, expand=True, key=f"dash-heat-{h.code}")]
                    + [cell(h.code, s, getattr(h, s)) for s in sources],
                    vertical_alignment=ft.CrossAxisAlignment.CENTER,
                ),
            )
        )
    if not heat.inspections_available:
        rows.append(ft.Text(t(locale, "admin.dash.heat.no_inspections"), size=13, color=MUTED))
    return ft.Column(rows, spacing=6)
