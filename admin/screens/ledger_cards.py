"""How a ledger entry reads on screen, shared by the ledger section and the personal file: the kind,
person and amount; the clauses cited; why it was proposed; the evidence behind it; and, on request,
its history (who did what, when) with the decision reason and the rectification report."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import flet as ft
from babel.dates import format_date, format_skeleton
from babel.numbers import format_decimal

from admin.ledger import Clause, Entry, Evidence
from admin.screens import widgets
from admin.screens.common import INK, MUTED
from rapport.core.i18n import fmt_datetime, t
from rapport.ui.a11y import spoken

ERROR = "#B3261E"
OK = "#1E4E8C"
REWARD = "#41674A"
PENALTY = "#B3261E"
DASH = "–"


def month_label(locale: str, month: str | None, *, short: bool = False) -> str:
    """2026-10 → 2026年10月 / October 2026 (short: Oct 2026, for a phone's narrow column)."""
    if not month:
        return DASH
    year, number = month.split("-")
    first = date(int(year), int(number), 1)
    return str(format_skeleton("yMMM" if short else "yMMMM", first, locale=locale.replace("-", "_")))


def day_label(locale: str, at: datetime | date, tz: str) -> str:
    day = at.astimezone(ZoneInfo(tz)).date() if isinstance(at, datetime) else at
    return str(format_date(day, "medium", locale=locale.replace("-", "_")))


def number(locale: str, value: float | None) -> str:
    """Two decimals always (4.30, not 4.3), so a column of scores lines up and reads alike."""
    return (
        DASH if value is None else str(format_decimal(value, format="0.00", locale=locale.replace("-", "_")))
    )


def clauses(locale: str, items: tuple[Clause, ...]) -> str:
    return " · ".join(f"{c.code} {c.short(locale)}" for c in items) or DASH


def kind_badge(locale: str, entry: Entry) -> ft.Control:
    label = t(locale, "admin.ledger.reward" if entry.is_reward else "admin.ledger.penalty")
    return ft.Container(
        content=ft.Text(label, size=13, color=ft.Colors.WHITE),
        bgcolor=REWARD if entry.is_reward else PENALTY,
        padding=ft.Padding.symmetric(horizontal=8, vertical=2),
        border_radius=8,
    )


def headline(locale: str, entry: Entry, *, person: bool = True) -> ft.Control:
    """Reward/penalty · kind · person · amount · month · status, wrapping on a phone."""
    kind = t(locale, f"admin.ledger.kind.{entry.kind}")
    items: list[ft.Control] = [
        kind_badge(locale, entry),
        ft.Text(kind, size=17, weight=ft.FontWeight.W_600, color=INK),
    ]
    if person:
        items.append(ft.Text(f"{entry.staff_name} ({entry.employee_no})", size=17, color=INK))
    if entry.amount_yuan:
        items.append(ft.Text(t(locale, "admin.ledger.amount", amount=entry.amount_yuan), size=17, color=INK))
    if entry.month:
        items.append(ft.Text(month_label(locale, entry.month), color=MUTED))
    items.append(ft.Text(f"#{entry.id} · {t(locale, f'admin.ledger.status.{entry.status}')}", color=MUTED))
    return ft.Row(items, wrap=True, spacing=8, run_spacing=4, vertical_alignment=ft.CrossAxisAlignment.CENTER)


def why(locale: str, entry: Entry) -> list[ft.Control]:
    """The clauses, and the reason: a monthly rule is explained in the reader's language (its stored
    reason is a log line); a hand-made proposal shows its author and their words."""
    out: list[ft.Control] = [
        ft.Text(t(locale, "admin.ledger.clauses", clauses=clauses(locale, entry.clauses)), color=INK)
    ]
    if entry.rule == "manual":
        who = entry.proposed_by or DASH
        out.append(ft.Text(t(locale, "admin.ledger.rule.manual", name=who), color=MUTED))
        out.append(spoken(t(locale, "admin.ledger.reason", reason=entry.reason), color=INK, selectable=True))
    elif entry.rule in ("service_star", "commendation", "conduct"):
        month = month_label(locale, entry.month)
        out.append(ft.Text(t(locale, f"admin.ledger.rule.{entry.rule}", month=month), color=INK))
    else:
        out.append(ft.Text(t(locale, "admin.ledger.rule.unknown", rule=entry.rule), color=MUTED))
        out.append(spoken(t(locale, "admin.ledger.reason", reason=entry.reason), color=INK, selectable=True))
    return out


def evidence(locale: str, ev: Evidence, tz: str, *, penalty: bool, key: str) -> ft.Control:
    lines: list[ft.Control] = [ft.Text(t(locale, "admin.ledger.evidence"), weight=ft.FontWeight.W_600)]
    f = ev.figures
    if f is not None:
        lines.append(
            ft.Text(
                t(
                    locale,
                    "admin.ledger.evidence.figures",
                    count=f.count if f.count is not None else DASH,
                    mean=number(locale, f.mean),
                    score=number(locale, f.score),
                    low=number(locale, f.low),
                    high=number(locale, f.high),
                    rank=f.rank if f.rank is not None else DASH,
                ),
                color=INK,
                key=f"{key}-figures",
            )
        )
    for c in ev.complaints:
        status = t(locale, f"admin.state.{c.status}")
        values = {"id": c.id, "category": f"{c.category.code} {c.category.short(locale)}", "status": status}
        text = (
            t(
                locale,
                "admin.ledger.evidence.complaint",
                resolved=day_label(locale, c.resolved_at, tz),
                **values,
            )
            if c.resolved_at
            else t(locale, "admin.ledger.evidence.complaint_open", **values)
        )
        lines.append(ft.Text(text, color=INK, key=f"{key}-complaint-{c.id}"))
    for i in ev.inspections:
        lines.append(
            ft.Text(
                t(
                    locale,
                    "admin.ledger.evidence.inspection",
                    id=i.id,
                    date=day_label(locale, i.at, tz),
                    clauses=clauses(locale, i.violated),
                ),
                color=INK,
                key=f"{key}-inspection-{i.id}",
            )
        )
    for p in ev.prior:
        lines.append(
            ft.Text(
                t(
                    locale,
                    "admin.ledger.evidence.prior",
                    id=p.id,
                    kind=t(locale, f"admin.ledger.kind.{p.kind}"),
                    status=t(locale, f"admin.ledger.status.{p.status}"),
                    date=day_label(locale, p.decided_at, tz) if p.decided_at else DASH,
                ),
                color=INK,
            )
        )
    if penalty and (ev.complaints or ev.inspections) and not ev.prior:
        lines.append(ft.Text(t(locale, "admin.ledger.evidence.no_prior"), color=MUTED))
    if ev.empty:
        lines.append(ft.Text(t(locale, "admin.ledger.evidence.none"), color=MUTED))
    return ft.Container(
        content=ft.Column(lines, spacing=2),
        bgcolor="#F0F3F8",
        border_radius=8,
        padding=10,
        key=f"{key}-evidence",
    )


def history(locale: str, entry: Entry, *, key: str) -> list[ft.Control]:
    """The timeline (each decision with its reason, an appeal with its statement), then the
    rectification report."""
    out: list[ft.Control] = [ft.Text(t(locale, "admin.ledger.history"), weight=ft.FontWeight.W_600)]
    for n, step in enumerate(entry.timeline):
        who = step.actor or t(locale, "admin.ledger.step.system")
        line = t(
            locale,
            "admin.ledger.step.line",
            step=t(locale, f"admin.ledger.step.{step.kind}"),
            who=who,
            time=fmt_datetime(locale, step.at, entry.tz),
        )
        out.append(ft.Text(line, color=INK, key=f"{key}-step-{n}"))
        if step.note:
            out.append(
                ft.Container(
                    spoken(step.note, color=MUTED, selectable=True, key=f"{key}-step-{n}-note"),
                    padding=ft.Padding.only(left=16),
                )
            )
    if entry.report:
        out.append(ft.Text(t(locale, "admin.ledger.report"), weight=ft.FontWeight.W_600))
        out.append(spoken(entry.report, color=INK, selectable=True, key=f"{key}-report"))
    elif entry.requires_report and entry.status in ("approved", "acknowledged"):
        out.append(ft.Text(t(locale, "admin.ledger.report_due"), color=MUTED))
    return out


def card(content: list[ft.Control], *, key: str) -> ft.Control:
    """A ledger entry's card: each line as wide as the card."""
    return widgets.card(*content, key=key, stretch=True)
