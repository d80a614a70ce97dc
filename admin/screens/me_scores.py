"""My page, first tab: this month's fair score, my ratings beside the branch's (the branch only as a
median and a distribution: nobody is named), the last six months and this month's days. Every chart
carries a spoken summary and its figures as text."""

from __future__ import annotations

import flet as ft
import flet_charts as fch

from admin import staff_portal as portal
from admin.screens.common import INK, MUTED
from admin.screens.me_parts import BLUE, GREY, GRID, HALF, num
from admin.screens.widgets import card, heading
from rapport.core.i18n import join_spoken, t


def scores_tab(locale: str, s: portal.MyScores) -> list[ft.Control]:
    c = s.current
    if c.n == 0:
        standing = t(locale, "me.scores.none")
    elif not c.ranked:
        standing = t(locale, "me.scores.unranked", n=c.n, min=s.min_ranked)
    else:
        standing = t(locale, "me.scores.rank", rank=s.rank, of=s.ranked_count)
    figures: list[ft.Control] = [
        ft.Text(t(locale, "me.scores.month", month=s.month), size=15, color=MUTED),
        ft.Row(
            [
                ft.Text(num(locale, c.score), size=40, weight=ft.FontWeight.BOLD, color=INK, key="me-score"),
                ft.Text(t(locale, "me.scores.fair"), size=15, color=MUTED),
            ],
            vertical_alignment=ft.CrossAxisAlignment.BASELINE,
            wrap=True,
        ),
    ]
    if c.low is not None and c.high is not None:
        figures.append(
            ft.Text(t(locale, "me.scores.interval", low=num(locale, c.low), high=num(locale, c.high)))
        )
    if c.n:
        figures.append(ft.Text(t(locale, "me.scores.mean", mean=num(locale, c.mean), n=c.n)))
    figures.append(ft.Text(standing, weight=ft.FontWeight.W_500, key="me-standing"))
    figures.append(ft.Text(t(locale, "me.scores.how"), size=13, color=MUTED))
    return [
        ft.ResponsiveRow([card(*figures, key="me-score-card", col=HALF), _branch(locale, s)]),
        ft.ResponsiveRow([_months(locale, s), _days(locale, s)]),
    ]


def _branch(locale: str, s: portal.MyScores) -> ft.Control:
    """My counts of 1 to 5 beside the branch's shares, and the branch median: nobody is named."""
    mine, branch = s.current.counts, s.branch_counts
    n_mine, n_branch = max(1, sum(mine)), max(1, sum(branch))
    lines = [
        t(
            locale,
            "me.dist.item",
            score=k,
            n=mine[k - 1],
            mine=round(100 * mine[k - 1] / n_mine),
            branch=round(100 * branch[k - 1] / n_branch),
        )
        for k in range(1, 6)
    ]
    chart = fch.BarChart(
        groups=[
            fch.BarChartGroup(
                x=k,
                rods=[
                    fch.BarChartRod(
                        to_y=100 * mine[k - 1] / n_mine,
                        color=BLUE,
                        width=14,
                        tooltip=lines[k - 1],
                        border_radius=3,
                    ),
                    fch.BarChartRod(
                        to_y=100 * branch[k - 1] / n_branch,
                        color=GREY,
                        width=14,
                        tooltip=lines[k - 1],
                        border_radius=3,
                    ),
                ],
            )
            for k in range(1, 6)
        ],
        max_y=100,
        height=180,
        bottom_axis=fch.ChartAxis(
            labels=[
                fch.ChartAxisLabel(
                    value=k, label=ft.Text(t(locale, "admin.dash.dist.score", score=k), size=12)
                )
                for k in range(1, 6)
            ],
            label_size=28,
        ),
        left_axis=fch.ChartAxis(
            labels=[
                fch.ChartAxisLabel(value=p, label=ft.Text(t(locale, "admin.dash.percent", value=p), size=12))
                for p in (0, 25, 50, 75, 100)
            ],
            label_size=44,
        ),
        horizontal_grid_lines=fch.ChartGridLines(interval=25, color=GRID, width=1),
    )
    median = s.branch_median
    compare = (
        t(locale, "me.dist.median", median=num(locale, median))
        if median is not None
        else t(locale, "me.dist.no_median")
    )
    legend = ft.Row(
        [
            ft.Container(width=12, height=12, bgcolor=BLUE),
            ft.Text(t(locale, "me.dist.me"), size=13, color=MUTED),
            ft.Container(width=12, height=12, bgcolor=GREY),
            ft.Text(t(locale, "me.dist.branch"), size=13, color=MUTED),
        ],
        spacing=6,
    )
    spoken = join_spoken(locale, lines)
    return card(
        heading(t(locale, "me.dist.title")),
        ft.Text(compare, weight=ft.FontWeight.W_500, key="me-median"),
        legend,
        ft.Semantics(label=spoken, container=True, content=chart),
        *[ft.Text(line, size=13, key=f"me-dist-{k}") for k, line in enumerate(lines, start=1)],
        key="me-dist",
        col=HALF,
    )


def _months(locale: str, s: portal.MyScores) -> ft.Control:
    points = list(s.months)
    lines = [
        t(locale, "me.trend.point", month=p.month, score=num(locale, p.figures.score), n=p.figures.n)
        if p.figures.n
        else t(locale, "me.trend.empty_month", month=p.month)
        for p in points
    ]
    chart = fch.LineChart(
        data_series=[
            fch.LineChartData(
                points=[
                    fch.LineChartDataPoint(i, round(p.figures.score or 0, 2), tooltip=lines[i])
                    for i, p in enumerate(points)
                    if p.figures.n
                ],
                color=BLUE,
                stroke_width=3,
                point=True,
            )
        ],
        min_x=0,
        max_x=max(1, len(points) - 1),
        min_y=1,
        max_y=5,
        height=170,
        left_axis=fch.ChartAxis(
            labels=[fch.ChartAxisLabel(value=v, label=ft.Text(str(v), size=12)) for v in range(1, 6)],
            label_size=24,
        ),
        bottom_axis=fch.ChartAxis(
            labels=[
                fch.ChartAxisLabel(value=i, label=ft.Text(p.month[5:], size=12)) for i, p in enumerate(points)
            ],
            label_size=24,
        ),
        horizontal_grid_lines=fch.ChartGridLines(interval=1, color=GRID, width=1),
    )
    spoken = join_spoken(locale, lines)
    return card(
        heading(t(locale, "me.trend.title")),
        ft.Semantics(label=spoken, container=True, content=chart),
        *[ft.Text(line, size=13, key=f"me-month-{p.month}") for line, p in zip(lines, points, strict=True)],
        key="me-trend",
        col=HALF,
    )


def _days(locale: str, s: portal.MyScores) -> ft.Control:
    if not s.days:
        return card(
            heading(t(locale, "me.days.title")), ft.Text(t(locale, "me.days.none"), color=MUTED), col=HALF
        )
    lines = [t(locale, "me.days.point", day=d.day.day, mean=num(locale, d.mean), n=d.n) for d in s.days]
    # Every day when there are few; else the first, the last and every fifth, so labels never crowd.
    few = len(s.days) <= 10
    shown = {s.days[0].day.day, s.days[-1].day.day} | {d.day.day for d in s.days if few or d.day.day % 5 == 0}
    chart = fch.BarChart(
        groups=[
            fch.BarChartGroup(
                x=d.day.day,
                rods=[fch.BarChartRod(from_y=1, to_y=d.mean or 1, color=BLUE, width=8, tooltip=lines[i])],
            )
            for i, d in enumerate(s.days)
        ],
        min_y=1,
        max_y=5,
        height=150,
        left_axis=fch.ChartAxis(
            labels=[fch.ChartAxisLabel(value=v, label=ft.Text(str(v), size=12)) for v in range(1, 6)],
            label_size=24,
        ),
        bottom_axis=fch.ChartAxis(
            labels=[fch.ChartAxisLabel(value=x, label=ft.Text(str(x), size=12)) for x in sorted(shown)],
            label_size=28,
        ),
        horizontal_grid_lines=fch.ChartGridLines(interval=1, color=GRID, width=1),
    )
    details = ft.ExpansionTile(
        title=ft.Text(t(locale, "me.days.details"), size=15),
        controls=[ft.Text(line, size=14) for line in lines],
        tile_padding=ft.Padding.symmetric(horizontal=0),
        key="me-days-details",
    )
    spoken = t(locale, "me.days.semantics", days=len(s.days), n=sum(d.n for d in s.days))
    return card(
        heading(t(locale, "me.days.title")),
        ft.Semantics(label=spoken, container=True, content=chart),
        details,
        key="me-days",
        col=HALF,
    )
