"""A staff member's personal file, one page for their supervisor: scores (the month, six months, the
spread), recent comments, complaints about them, inspections, training, ledger entries and appeals.
Nothing about a customer appears: comments come without who wrote them, complaints without contact."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import flet as ft

from admin.ledger import PersonalFile
from admin.screens import ledger_cards as cards
from admin.screens.common import INK, MUTED, TAP, named_dropdown
from rapport.core.i18n import fmt_datetime, t
from rapport.ui.a11y import spoken

if TYPE_CHECKING:
    from admin.host import AdminHost

BAR = "#8FA7CC"
BAR_WIDTH = 160


def _heading(locale: str, key: str) -> ft.Control:
    return ft.Text(t(locale, key), size=20, weight=ft.FontWeight.BOLD, color=INK)


def _none(locale: str, key: str) -> ft.Control:
    return ft.Text(t(locale, key), color=MUTED)


def _bar(share: float, width: float) -> ft.Control:
    """A bar of ``share`` (0–1) of ``width`` inside a track of the full width, so bars line up."""
    fill = ft.Container(
        width=max(2.0, width * max(0.0, min(1.0, share))), height=14, bgcolor=BAR, border_radius=4
    )
    return ft.Container(content=fill, width=width, alignment=ft.Alignment.CENTER_LEFT)


def _scores(locale: str, f: PersonalFile, narrow: bool) -> list[ft.Control]:
    p, month = f.profile, cards.month_label(locale, f.month)
    sc = p.current
    out: list[ft.Control] = [_heading(locale, "admin.file.scores")]
    if sc.n:
        out.append(
            ft.Text(
                t(
                    locale,
                    "admin.file.month_line",
                    month=month,
                    count=sc.n,
                    mean=cards.number(locale, sc.mean),
                    score=cards.number(locale, sc.score),
                    low=cards.number(locale, sc.low),
                    high=cards.number(locale, sc.high),
                ),
                size=16,
                color=INK,
                key="file-month-line",
            )
        )
    else:
        out.append(
            ft.Text(t(locale, "admin.file.month_none", month=month), color=MUTED, key="file-month-line")
        )
    median = cards.number(locale, p.branch_median)
    if p.rank is not None:
        standing = t(locale, "admin.file.rank", rank=p.rank, total=p.ranked_count, median=median)
    else:
        standing = t(locale, "admin.file.unranked", count=sc.n, n=f.min_ranked, median=median)
    out.append(ft.Text(standing, color=MUTED, key="file-standing"))
    # On a phone the month and its figures share one line with a shorter bar.
    bar, label = (90.0, 84) if narrow else (BAR_WIDTH, 120)
    out.append(ft.Text(t(locale, "admin.file.trend"), weight=ft.FontWeight.W_600))
    for ms in p.months:
        s = ms.score
        row: list[ft.Control] = [
            ft.Text(cards.month_label(locale, ms.month, short=narrow), width=label, color=INK, size=14)
        ]
        if s.n:
            row += [
                _bar(((s.score or 1) - 1) / 4, bar),
                ft.Text(
                    t(locale, "admin.file.trend_row", score=cards.number(locale, s.score), count=s.n), size=14
                ),
            ]
        else:
            row.append(ft.Text(t(locale, "admin.file.trend_none"), color=MUTED, size=14))
        out.append(ft.Row(row, spacing=8, key=f"file-trend-{ms.month}"))
    out.append(ft.Text(t(locale, "admin.file.distribution"), weight=ft.FontWeight.W_600))
    top = max(sc.counts) or 1
    for score in (5, 4, 3, 2, 1):
        count = sc.counts[score - 1]
        out.append(
            ft.Row(
                [
                    ft.Text(t(locale, "admin.file.stars", score=score), width=label, color=INK, size=14),
                    _bar(count / top, bar),
                    ft.Text(str(count), color=MUTED, size=14),
                ],
                spacing=8,
            )
        )
    return out


def _comments(locale: str, f: PersonalFile) -> list[ft.Control]:
    out: list[ft.Control] = [_heading(locale, "admin.file.comments")]
    if not f.comments:
        out.append(_none(locale, "admin.file.comments_none"))
    for c in f.comments:
        meta = [t(locale, "admin.file.stars", score=c.score), fmt_datetime(locale, c.created_at, f.tz)]
        if c.reasons:
            meta.append(cards.clauses(locale, c.reasons))
        if c.overturned:
            meta.append(t(locale, "admin.file.overturned"))
        elif not c.counted:
            meta.append(t(locale, "admin.file.not_counted"))
        out.append(
            ft.Column(
                [
                    ft.Text(" · ".join(meta), color=MUTED, size=14),
                    spoken(c.comment, color=INK, selectable=True),
                ],
                spacing=0,
            )
        )
    return out


def _complaints(locale: str, f: PersonalFile) -> list[ft.Control]:
    out: list[ft.Control] = [_heading(locale, "admin.file.complaints")]
    if not f.complaints:
        out.append(_none(locale, "admin.file.complaints_none"))
    for c in f.complaints:
        out.append(
            ft.Text(
                t(
                    locale,
                    "admin.file.complaint_row",
                    id=c.id,
                    category=f"{c.category.code} {c.category.short(locale)}",
                    severity=t(locale, f"admin.severity.{c.severity}"),
                    status=t(locale, f"admin.state.{c.status}"),
                    time=fmt_datetime(locale, c.created_at, f.tz),
                ),
                color=INK,
                key=f"file-complaint-{c.id}",
            )
        )
    return out


def _inspections(locale: str, f: PersonalFile) -> list[ft.Control]:
    out: list[ft.Control] = [_heading(locale, "admin.file.inspections")]
    if not f.inspections:
        out.append(_none(locale, "admin.file.inspections_none"))
    for i in f.inspections:
        lines: list[ft.Control] = [
            ft.Text(
                t(
                    locale,
                    "admin.file.inspection_row",
                    id=i.id,
                    time=fmt_datetime(locale, i.at, f.tz),
                    kind=t(locale, f"admin.inspect.kind.{i.kind}"),
                    inspector=i.inspector,
                ),
                color=INK,
                weight=ft.FontWeight.W_500,
            )
        ]
        for finding in i.findings:
            text = f"{finding.clause.code} {finding.clause.short(locale)}: "
            text += t(locale, f"admin.inspect.result.{finding.result}")
            lines.append(
                ft.Text(
                    f"{text} · {finding.note}" if finding.note else text,
                    color=cards.ERROR if finding.result == "violation" else INK,
                )
            )
        if i.notes:
            lines.append(spoken(i.notes, color=MUTED, selectable=True))
        out.append(ft.Column(lines, spacing=2, key=f"file-inspection-{i.id}"))
    return out


def _training(locale: str, f: PersonalFile) -> list[ft.Control]:
    out: list[ft.Control] = [_heading(locale, "admin.file.training")]
    if not f.training:
        out.append(_none(locale, "admin.file.training_none"))
    for r in f.training:
        outcome = t(locale, f"admin.training.result.{'passed' if r.passed else 'failed'}")
        kind = t(locale, f"admin.training.kind.{r.kind}")
        out.append(
            ft.Text(
                f"{cards.day_label(locale, r.completed_on, f.tz)} · {kind} · {r.course} · {outcome}",
                color=INK if r.passed else cards.ERROR,
            )
        )
    return out


def _ledger(locale: str, f: PersonalFile) -> list[ft.Control]:
    out: list[ft.Control] = [_heading(locale, "admin.file.ledger")]
    if not f.entries:
        out.append(_none(locale, "admin.file.ledger_none"))
    for e in f.entries:
        key = f"file-entry-{e.id}"
        out.append(
            cards.card(
                [
                    cards.headline(locale, e, person=False),
                    *cards.why(locale, e),
                    *cards.history(locale, e, key=key),
                ],
                key=key,
            )
        )
    out.append(_heading(locale, "admin.file.appeals"))
    if not f.appeals:
        out.append(_none(locale, "admin.file.appeals_none"))
    for a in f.appeals:
        lines: list[ft.Control] = [
            ft.Text(
                t(
                    locale,
                    "admin.file.appeal_row",
                    id=a.id,
                    target=t(locale, f"admin.file.target.{a.target}"),
                    status=t(locale, f"admin.file.appeal_status.{a.status}"),
                    time=fmt_datetime(locale, a.filed_at, a.tz),
                ),
                color=INK,
                weight=ft.FontWeight.W_500,
            ),
            spoken(t(locale, "admin.ledger.appeal.statement", text=a.statement), color=INK, selectable=True),
        ]
        if a.decision_reason:
            lines.append(
                ft.Text(t(locale, "admin.ledger.decision_reason", reason=a.decision_reason), color=MUTED)
            )
        out.append(ft.Column(lines, spacing=2, key=f"file-appeal-{a.id}"))
    return out


def build(
    app: AdminHost,
    f: PersonalFile,
    *,
    back: Callable[[AdminHost], Awaitable[None]],
    reopen: Callable[[AdminHost, int, str | None], Awaitable[None]],
) -> ft.Control:
    locale = app.locale

    async def on_back(_e: ft.Event[Any]) -> None:
        await back(app)

    async def on_month(e: ft.Event[Any]) -> None:
        await reopen(app, f.staff_id, e.control.value or None)

    head = [f.employee_no, f.branch.name(locale), t(locale, f"admin.role.{f.role}")]
    if not f.active:
        head.append(t(locale, "admin.file.inactive"))
    sections: list[list[ft.Control]] = [
        _scores(locale, f, (app.page.width or 1280) < 600),
        _comments(locale, f),
        _complaints(locale, f),
        _inspections(locale, f),
        _training(locale, f),
        _ledger(locale, f),
    ]
    parts: list[ft.Control] = [
        ft.Row(
            [
                ft.TextButton(
                    content=t(locale, "admin.file.back"),
                    icon=ft.Icons.ARROW_BACK,
                    on_click=on_back,
                    key="file-back",
                    height=TAP,
                )
            ]
        ),
        ft.Text(t(locale, "admin.file.title"), color=MUTED),
        ft.Text(f.name, size=26, weight=ft.FontWeight.BOLD, color=INK, key="file-name"),
        ft.Text(" · ".join(head), color=MUTED),
        named_dropdown(
            t(locale, "admin.people.month"),
            f.month,
            [(m, cards.month_label(locale, m)) for m in f.months],
            key="file-month",
            on_select=on_month,
            width=200,
        ),
        *(cards.card(s, key=f"file-part-{n}") for n, s in enumerate(sections)),
    ]
    body = ft.Column(
        parts,
        spacing=12,
        scroll=ft.ScrollMode.AUTO,
        expand=True,
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
    )
    return ft.Container(content=body, padding=16, expand=True)
