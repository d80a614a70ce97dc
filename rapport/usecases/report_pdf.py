"""The monthly branch report as an A4 PDF (fpdf2), in Chinese or English.

Contents, in order: a title band (branch, month, when it was made), the branch summary (counted
ratings, mean, share of low scores, against the month before), the staff table of fair scores
(models/scores.py: ranked ones first, then those below the minimum count), a daily trend chart, the
complaints received in the month, a heat map of clauses by week, the Service Star of the month and
the month's ledger entries.

The font: fpdf2 2.8 embeds our CFF-flavoured OpenType subset (assets/fonts, a CID-keyed CFF font)
as-is, subsetting it to the glyphs used, so Chinese shows and can be extracted as text; no
conversion to TrueType outlines is needed. Only a Regular weight ships, so the same file is
registered as bold, and emphasis comes from size and colour instead.

The builder gathers every figure first (:func:`gather`, the database part, which lives in
rapport/usecases/report_data.py) and then draws (:func:`render`, this module), reporting progress through
``progress(fraction, step name)`` so a screen or the command line can show how far it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton
from fpdf import FPDF
from fpdf.enums import WrapMode
from fpdf.fonts import FontFace
from sqlmodel import Session

from models.clock import utcnow
from models.indicators import RATES
from models.scores import Moments, Month
from rapport.core.context import ASSETS_DIR
from rapport.core.i18n import pick, t
from rapport.usecases.report_data import Progress, ReportData, gather

# What other modules import from here; Progress, ReportData and gather are report_data's, re-exported.
__all__ = ["FONT", "INK", "MUTED", "Progress", "ReportData", "build_report", "gather", "new_pdf", "render"]

FONT = "RapportSans"
FONT_PATH = ASSETS_DIR / "fonts" / "NotoSansSC-Rapport-Regular.otf"
INK = (26, 28, 30)
MUTED = (90, 94, 102)
ACCENT = (30, 78, 140)
ACCENT_LIGHT = (214, 226, 243)
HEAT = (179, 38, 30)
RULE = (210, 214, 220)


class RapportPDF(FPDF):
    """A4 portrait with the bundled font and a footer: a caption on the left, "page / pages" right."""

    def __init__(self, footer: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.footer_text = footer
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(15, 15, 15)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=8)
        self.set_text_color(*MUTED)
        self.cell(0, 5, self.footer_text, align="L")
        self.set_x(self.l_margin)
        self.cell(0, 5, f"{self.page_no()} / {{nb}}", align="R")


def new_pdf(*, title: str, footer: str) -> RapportPDF:
    pdf = RapportPDF(footer)
    pdf.add_font(FONT, style="", fname=str(FONT_PATH))
    pdf.add_font(FONT, style="B", fname=str(FONT_PATH))
    pdf.set_font(FONT, size=10)
    pdf.set_title(title)
    pdf.set_creator("Rapport")
    pdf.set_lang("zh-CN")
    return pdf


# ---------------------------------------------------------------------------------------------------
# Drawing


def _num(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _pct(part: int, whole: int) -> str:
    return "–" if not whole else f"{100 * part / whole:.1f}%"


def _low(m: Moments) -> int:
    return m.counts[0] + m.counts[1]


def _heading(pdf: FPDF, text: str) -> None:
    if pdf.get_y() > pdf.h - 50:
        pdf.add_page()
    pdf.ln(4)
    pdf.set_font(FONT, size=14)
    pdf.set_text_color(*ACCENT)
    pdf.cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(*ACCENT)
    pdf.set_line_width(0.4)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.ln(2)
    pdf.set_text_color(*INK)
    pdf.set_font(FONT, size=10)


def _wrap(locale: str) -> WrapMode:
    """Chinese breaks between any two characters; English only between words."""
    return pick(locale, WrapMode.CHAR, WrapMode.WORD)


def _note(pdf: FPDF, text: str, locale: str) -> None:
    pdf.set_font(FONT, size=9)
    pdf.set_text_color(*MUTED)
    pdf.multi_cell(0, 5, text, new_x="LMARGIN", new_y="NEXT", wrapmode=_wrap(locale))
    pdf.set_text_color(*INK)
    pdf.set_font(FONT, size=10)


def _table(
    pdf: FPDF, headings: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float], align: str
) -> None:
    """A plain table: a tinted heading row repeated on each page, thin horizontal rules."""
    pdf.set_font(FONT, size=9)
    pdf.set_draw_color(*RULE)
    pdf.set_fill_color(255, 255, 255)  # rows between the tinted ones take the current fill colour
    pdf.set_line_width(0.2)
    head = FontFace(color=INK, fill_color=ACCENT_LIGHT, emphasis=None)
    with pdf.table(
        col_widths=tuple(widths),
        text_align=tuple(align),
        headings_style=head,
        align="LEFT",
        width=sum(widths),
        cell_fill_color=(246, 247, 250),
        cell_fill_mode="ROWS",
        line_height=6,
        borders_layout="HORIZONTAL_LINES",
        wrapmode=WrapMode.WORD,
        padding=(0.6, 1.5),
    ) as table:
        for cells in (headings, *rows):
            row = table.row()
            for cell in cells:
                row.cell(cell)
    pdf.set_font(FONT, size=10)


def _title(pdf: FPDF, data: ReportData, locale: str) -> None:
    pdf.set_fill_color(*ACCENT)
    pdf.rect(0, 0, pdf.w, 42, style="F")
    pdf.set_text_color(255, 255, 255)
    pdf.set_xy(15, 9)
    pdf.set_font(FONT, size=11)
    pdf.cell(0, 6, t(locale, "documents.report.title"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, size=22)
    pdf.cell(
        0, 12, f"{data.branch_name}  ·  {_month_label(data.month, locale)}", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.set_font(FONT, size=9)
    local = data.generated_at.astimezone(ZoneInfo(data.tz))
    offset = local.strftime("%z")
    stamp = f"{local:%Y-%m-%d %H:%M} (UTC{offset[:3]}:{offset[3:]})"
    pdf.cell(0, 6, t(locale, "documents.report.generated", code=data.branch_code, at=stamp))
    pdf.set_text_color(*INK)
    pdf.set_y(48)


def _month_label(month: Month, locale: str) -> str:
    return format_skeleton("yMMMM", month.first_day, locale=locale.replace("-", "_"))


def _summary(pdf: FPDF, data: ReportData, locale: str) -> None:
    _heading(pdf, t(locale, "documents.report.summary"))
    cur, prev = data.current, data.previous
    delta = "–"
    if cur.mean is not None and prev.mean is not None:
        delta = f"{cur.mean - prev.mean:+.2f}"
    cards = [
        (
            t(locale, "documents.report.counted"),
            f"{cur.n:,}",
            t(locale, "documents.report.prev", v=f"{prev.n:,}"),
        ),
        (
            t(locale, "documents.report.mean"),
            _num(cur.mean),
            t(locale, "documents.report.prev", v=_num(prev.mean)),
        ),
        (
            t(locale, "documents.report.low_share"),
            _pct(_low(cur), cur.n),
            t(locale, "documents.report.prev", v=_pct(_low(prev), prev.n)),
        ),
        (t(locale, "documents.report.change"), delta, t(locale, "documents.report.change_note")),
    ]
    width, gap, top = (pdf.w - 30 - 3 * 4) / 4, 4, pdf.get_y()
    for i, (label, value, note) in enumerate(cards):
        x = 15 + i * (width + gap)
        pdf.set_fill_color(244, 246, 250)
        pdf.rect(x, top, width, 24, style="F")
        pdf.set_xy(x + 3, top + 2)
        pdf.set_font(FONT, size=8.5)
        pdf.set_text_color(*MUTED)
        pdf.cell(width - 6, 5, label)
        pdf.set_xy(x + 3, top + 8)
        pdf.set_font(FONT, size=16)
        pdf.set_text_color(*INK)
        pdf.cell(width - 6, 8, value)
        pdf.set_xy(x + 3, top + 17)
        pdf.set_font(FONT, size=7.5)
        pdf.set_text_color(*MUTED)
        pdf.cell(width - 6, 5, note)
    pdf.set_text_color(*INK)
    pdf.set_y(top + 28)
    counted, apart = data.cases.defaults, data.cases.defaults_uncounted
    if counted or apart:  # the month's default ratings (models/default_rating.py), apart
        _note(
            pdf,
            t(locale, "participation.report.defaults", counted=f"{counted:,}", apart=f"{apart:,}"),
            locale,
        )


def _staff(pdf: FPDF, data: ReportData, locale: str) -> None:
    board = data.board
    _heading(pdf, t(locale, "documents.report.staff"))
    _note(pdf, t(locale, "documents.report.staff_note", c=board.prior_weight, n=board.min_ranked), locale)
    pdf.ln(1)
    headings = [
        t(locale, f"documents.report.col.{k}") for k in ("rank", "name", "no", "n", "mean", "score", "ci")
    ]
    rows = [
        [
            str(s.rank),
            s.name,
            s.employee_no,
            str(s.score.n),
            _num(s.score.mean),
            _num(s.score.score),
            f"{_num(s.score.low)} – {_num(s.score.high)}" if s.score.low is not None else "–",
        ]
        for s in board.ranked
    ]
    if rows:
        _table(pdf, headings, rows, (12, 40, 26, 18, 20, 20, 44), "CLCRRRC")
    else:
        _note(pdf, t(locale, "documents.report.nobody_ranked"), locale)
    if board.unranked:
        pdf.ln(3)
        pdf.set_font(FONT, size=10.5)
        pdf.cell(
            0, 6, t(locale, "documents.report.unranked", n=board.min_ranked), new_x="LMARGIN", new_y="NEXT"
        )
        rows = [[s.name, s.employee_no, str(s.score.n), _num(s.score.mean)] for s in board.unranked]
        _table(pdf, headings[1:5], rows, (60, 40, 40, 40), "LLRR")


def _trend(pdf: FPDF, data: ReportData, locale: str) -> None:
    """Bars: ratings per day (right scale). Line and dots: the day's mean (left scale, 1–5)."""
    _heading(pdf, t(locale, "documents.report.trend"))
    if pdf.get_y() > pdf.h - 95:
        pdf.add_page()
    x0, w, h = 27.0, pdf.w - 27 - 27, 62.0
    y0 = pdf.get_y() + 4
    top_n = max([p.n for p in data.days] + [1])
    pdf.set_draw_color(*RULE)
    pdf.set_line_width(0.2)
    pdf.set_font(FONT, size=7.5)
    pdf.set_text_color(*MUTED)
    for score in range(1, 6):
        y = y0 + h - (score - 1) / 4 * h
        pdf.line(x0, y, x0 + w, y)
        pdf.set_xy(x0 - 10, y - 2)
        pdf.cell(8, 4, str(score), align="R")
        pdf.set_xy(x0 + w + 2, y - 2)
        pdf.cell(12, 4, f"{round(top_n * (score - 1) / 4):,}", align="L")
    step = w / len(data.days)
    pdf.set_fill_color(*ACCENT_LIGHT)
    for i, p in enumerate(data.days):
        if p.n:
            bar = p.n / top_n * h
            pdf.rect(x0 + i * step + step * 0.15, y0 + h - bar, step * 0.7, bar, style="F")
        if p.day.day == 1 or p.day.day % 5 == 0:
            pdf.set_xy(x0 + i * step - 3, y0 + h + 1)
            pdf.cell(step + 6, 4, str(p.day.day), align="C")
    pdf.set_draw_color(*ACCENT)
    pdf.set_fill_color(*ACCENT)
    pdf.set_line_width(0.6)
    points = [
        (x0 + i * step + step / 2, y0 + h - (p.mean - 1) / 4 * h)
        for i, p in enumerate(data.days)
        if p.mean is not None
    ]
    for a, b in zip(points, points[1:], strict=False):
        pdf.line(*a, *b)
    for x, y in points:
        pdf.circle(x, y, 0.7, style="F")
    pdf.set_xy(x0 - 12, y0 - 6)
    pdf.cell(30, 4, t(locale, "documents.report.axis_mean"))
    pdf.set_xy(x0 + w - 18, y0 - 6)
    pdf.cell(32, 4, t(locale, "documents.report.axis_count"), align="R")
    pdf.set_text_color(*INK)
    pdf.set_y(y0 + h + 7)
    if not data.current.n:
        _note(pdf, t(locale, "documents.report.no_ratings"), locale)


def _complaint_section(pdf: FPDF, data: ReportData, locale: str) -> None:
    c = data.complaints
    _heading(pdf, t(locale, "documents.report.complaints"))
    keys = ("received", "resolved", "rejected", "open", "overdue")
    values = (c.received, c.resolved, c.rejected, c.still_open, c.overdue)
    _table(
        pdf,
        [t(locale, f"documents.report.c.{k}") for k in keys],
        [[str(v) for v in values]],
        (36,) * 5,
        "CCCCC",
    )
    if not c.received:
        return
    pdf.ln(3)
    severity = [[t(locale, f"documents.severity.{s}"), str(n)] for s, n in c.by_severity]
    count = t(locale, "documents.report.c.count")
    _table(pdf, [t(locale, "documents.report.c.severity"), count], severity, (60, 24), "LR")
    clauses = [[f"{code} {data.clause_names.get(code, '')}", str(n)] for code, n in c.by_clause]
    if clauses:
        pdf.ln(3)
        _table(pdf, [t(locale, "documents.report.c.clause"), count], clauses, (96, 24), "LR")


def _rate(part: int, whole: int) -> str:
    return f"{_pct(part, whole)} ({part}/{whole})" if whole else "–"


def _indicator_section(pdf: FPDF, data: ReportData, locale: str) -> None:
    """The 差评 indicators of the branch (one row per indicator, with its definition), then per person."""
    _heading(pdf, t(locale, "documents.report.indicators"))
    c = data.cases
    rows = [
        [t(locale, f"documents.report.ind.{name}"), _rate(getattr(c, part), getattr(c, whole)),
         t(locale, f"documents.report.ind.{name}.def")]
        for name, part, whole in RATES
    ]  # fmt: skip
    heads = [t(locale, f"documents.report.ind.col.{k}") for k in ("name", "value", "definition")]
    _table(pdf, heads, rows, (34, 30, 116), "LRL")
    if not data.case_people:
        return
    pdf.ln(3)
    shown = ("good_rate", "bad_rate", "rectify_rate", "callback_rate", "satisfaction_rate")
    heads = [t(locale, "documents.report.col.name")] + [t(locale, f"documents.report.ind.{k}") for k in shown]
    rates = {name: (part, whole) for name, part, whole in RATES}
    people = [
        [name] + [_pct(getattr(v, rates[k][0]), getattr(v, rates[k][1])) for k in shown]
        for name, v in data.case_people
    ]
    _table(pdf, heads, people, (40, 28, 28, 28, 28, 28), "LRRRRR")


def _participation_section(pdf: FPDF, data: ReportData, locale: str) -> None:
    """The month's transactions (models/participation.py): the 参评率 and the default ratings, then a
    line per 事项, per counter and per person. Left out of a month without transactions."""
    whole = data.participation
    if not whole.transactions:
        return
    _heading(pdf, t(locale, "participation.report.title"))
    summary = t(
        locale, "participation.report.summary", transactions=f"{whole.transactions:,}",
        rated=f"{whole.rated:,}", rate=_rate(whole.rated, whole.transactions),
        defaulted=f"{whole.defaulted:,}", counted=f"{whole.defaults_counted:,}",
    )  # fmt: skip
    pdf.multi_cell(0, 6, summary, new_x="LMARGIN", new_y="NEXT", wrapmode=_wrap(locale))
    _note(pdf, t(locale, "participation.report.note"), locale)
    keys = ("transactions", "rated", "rate", "ratings", "mean", "good_rate", "defaulted")
    pdf.ln(2)
    pdf.cell(0, 6, t(locale, "participation.report.services"), new_x="LMARGIN", new_y="NEXT")
    heads = [t(locale, "participation.col.service")] + [t(locale, f"participation.col.{k}") for k in keys]
    rows = [
        [
            f"{line.code} {line.name(locale)}", f"{f.transactions:,}", f"{f.rated:,}",
            _pct(f.rated, f.transactions), f"{f.ratings:,}", _num(f.mean), _pct(f.good, f.ratings),
            f"{f.defaulted:,}",
        ]
        for line in data.services
        for f in (line.figures,)
    ]  # fmt: skip
    _table(pdf, heads, rows, (54, 18, 18, 18, 18, 18, 18, 18), "LRRRRRRR")
    short = ("transactions", "rated", "rate", "defaulted")
    heads = [t(locale, "participation.col.name")] + [t(locale, f"participation.col.{k}") for k in short]
    for title, lines in (("counters", data.participation_counters), ("people", data.participation_people)):
        pdf.ln(3)
        pdf.cell(0, 6, t(locale, f"participation.report.{title}"), new_x="LMARGIN", new_y="NEXT")
        rows = [
            [name, f"{v.transactions:,}", f"{v.rated:,}", _rate(v.rated, v.transactions), f"{v.defaulted:,}"]
            for name, v in lines
        ]
        _table(pdf, heads, rows, (60, 28, 28, 36, 28), "LRRRR")


def _shade(count: int, top: int) -> tuple[int, int, int]:
    share = count / top if top else 0
    return tuple(round(255 + (h - 255) * share) for h in HEAT)  # type: ignore[return-value]


def _heat_section(pdf: FPDF, data: ReportData, locale: str) -> None:
    _heading(pdf, t(locale, "documents.report.heat"))
    _note(pdf, t(locale, "documents.report.heat_note"), locale)
    if not data.heat:
        _note(pdf, t(locale, "documents.report.heat_none"), locale)
        return
    label_w, cell_w, total_w, row_h = 78.0, 16.0, 18.0, 7.0
    if pdf.get_y() + (len(data.heat) + 1) * row_h > pdf.h - 20:
        pdf.add_page()
    x, y = 15.0, pdf.get_y() + 1
    pdf.set_font(FONT, size=8.5)
    pdf.set_text_color(*MUTED)
    pdf.set_xy(x, y)
    pdf.cell(label_w, row_h, t(locale, "documents.report.c.clause"))
    for i, (a, b) in enumerate(data.weeks):
        pdf.set_xy(x + label_w + i * cell_w, y)
        pdf.cell(cell_w, row_h, f"{a}–{b}", align="C")
    pdf.set_xy(x + label_w + len(data.weeks) * cell_w, y)
    pdf.cell(total_w, row_h, t(locale, "documents.report.total"), align="C")
    top = max(max(r.weeks) for r in data.heat)
    pdf.set_draw_color(255, 255, 255)
    pdf.set_line_width(0.5)
    for r_i, row in enumerate(data.heat):
        ry = y + (r_i + 1) * row_h
        pdf.set_text_color(*INK)
        pdf.set_xy(x, ry)
        label = f"{row.code} {data.clause_names.get(row.code, '')}"
        while pdf.get_string_width(label) > label_w - 2 and len(label) > 4:
            label = label[:-2] + "…"
        pdf.cell(label_w, row_h, label)
        for i, n in enumerate(row.weeks):
            colour = _shade(n, top)
            pdf.set_fill_color(*colour)
            pdf.rect(x + label_w + i * cell_w, ry, cell_w, row_h, style="DF")
            if n:
                pdf.set_text_color(*((255, 255, 255) if n / top > 0.55 else INK))
                pdf.set_xy(x + label_w + i * cell_w, ry)
                pdf.cell(cell_w, row_h, str(n), align="C")
        pdf.set_text_color(*INK)
        pdf.set_xy(x + label_w + len(data.weeks) * cell_w, ry)
        pdf.cell(total_w, row_h, str(row.total), align="C")
    pdf.set_y(y + (len(data.heat) + 1) * row_h + 2)
    pdf.set_font(FONT, size=10)


def _star_and_ledger(pdf: FPDF, data: ReportData, locale: str) -> None:
    _heading(pdf, t(locale, "documents.report.star"))
    pdf.set_font(FONT, size=12)
    if data.star:
        name, number = data.star
        pdf.set_text_color(*ACCENT)
        pdf.cell(0, 8, f"★ {t(locale, 'documents.report.star_awarded', name=name, no=number)}")
    else:
        pdf.set_text_color(*MUTED)
        pdf.cell(0, 8, t(locale, "documents.report.star_none"))
    pdf.ln(9)
    pdf.set_text_color(*INK)
    _heading(pdf, t(locale, "documents.report.ledger"))
    if not data.ledger:
        _note(pdf, t(locale, "documents.report.ledger_none"), locale)
        return
    keys = ("kind", "person", "status", "amount", "clauses")
    rows = [
        [
            t(locale, f"documents.kind.{line.kind}"),
            f"{line.name} ({line.employee_no})",
            t(locale, f"documents.status.{line.status}"),
            "" if line.amount_yuan is None else t(locale, "documents.report.yuan", n=f"{line.amount_yuan:,}"),
            "; ".join(line.clauses),
        ]
        for line in data.ledger
    ]
    _table(pdf, [t(locale, f"documents.report.l.{k}") for k in keys], rows, (30, 42, 30, 28, 50), "LLLRL")


def render(data: ReportData, locale: str, progress: Progress) -> bytes:
    footer = t(locale, "documents.report.footer", branch=data.branch_name, month=str(data.month))
    pdf = new_pdf(title=footer, footer=footer)
    pdf.set_lang(locale)
    pdf.add_page()
    _title(pdf, data, locale)
    _summary(pdf, data, locale)
    _staff(pdf, data, locale)
    progress(0.75, t(locale, "documents.step.drawing"))
    _trend(pdf, data, locale)
    _complaint_section(pdf, data, locale)
    _indicator_section(pdf, data, locale)
    _participation_section(pdf, data, locale)
    progress(0.85, t(locale, "documents.step.drawing"))
    _heat_section(pdf, data, locale)
    _star_and_ledger(pdf, data, locale)
    out = bytes(pdf.output())
    progress(1.0, t(locale, "documents.step.done"))
    return out


def build_report(
    session: Session,
    *,
    branch_id: int,
    month: Month,
    locale: str,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> bytes:
    """The month's report for one branch as PDF bytes. A month that has not begun is refused; the
    current month is reported up to ``now`` (the title says when it was made)."""
    now = (now or utcnow()).astimezone(UTC)
    report = progress or (lambda _f, _s: None)
    data = gather(session, branch_id=branch_id, month=month, locale=locale, now=now, progress=report)
    return render(data, locale, report)
