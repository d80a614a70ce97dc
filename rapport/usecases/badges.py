"""A printable A4 sheet of staff badges for one branch: name, employee number, a QR code to the
person's short link ``<public_url>/s/<qr_token>`` and the link's domain under it.

The QR code is drawn as vector squares (not a bitmap), so it stays sharp at any printer resolution;
its four-module quiet zone is left white, as scanners need. Dashed borders mark where to cut.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import qrcode
from fpdf import FPDF
from fpdf.enums import WrapMode
from qrcode.constants import ERROR_CORRECT_M
from sqlmodel import Session, col, select

from models.errors import ValidationFailed
from models.org import Branch, Role, Staff
from rapport.core.i18n import pick, t
from rapport.usecases.report_pdf import FONT, INK, MUTED, new_pdf

COLUMNS, ROWS = 2, 4
CELL_W, CELL_H = 93.0, 66.0
LEFT, TOP = (210 - COLUMNS * CELL_W) / 2, 14.0
PAD = 5.0
QR_SIZE = 42.0
CUT = (170, 170, 170)


@dataclass(frozen=True)
class Badge:
    name: str
    employee_no: str
    url: str


def badge_url(public_url: str, qr_token: str) -> str:
    return f"{public_url.rstrip('/')}/s/{qr_token}"


def link_domain(public_url: str) -> str:
    """What is printed under the code: the host (and a non-default port) people can recognise."""
    return urlsplit(public_url).netloc or public_url


def badges_of(session: Session, *, branch_id: int, public_url: str) -> tuple[Branch, list[Badge]]:
    branch = session.get(Branch, branch_id)
    if branch is None:
        raise ValidationFailed("branch", "no such branch")
    people = session.exec(
        select(Staff)
        .where(Staff.branch_id == branch_id, Staff.role == Role.staff, Staff.active)
        .order_by(col(Staff.employee_no))
    ).all()
    return branch, [Badge(s.display_name, s.employee_no, badge_url(public_url, s.qr_token)) for s in people]


def _qr(pdf: FPDF, data: str, x: float, y: float, size: float) -> None:
    """Dark modules as filled rectangles, one per horizontal run (fewer drawing operations)."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4)
    code.add_data(data)
    code.make(fit=True)
    matrix = code.get_matrix()
    unit = size / len(matrix)
    pdf.set_fill_color(0, 0, 0)
    for r, row in enumerate(matrix):
        c = 0
        while c < len(row):
            if not row[c]:
                c += 1
                continue
            start = c
            while c < len(row) and row[c]:
                c += 1
            pdf.rect(x + start * unit, y + r * unit, (c - start) * unit, unit, style="F")


def _fit(pdf: FPDF, text: str, width: float, size: float, smallest: float = 8) -> None:
    """Set the largest font size up to ``size`` at which ``text`` fits in ``width``."""
    while size > smallest:
        pdf.set_font(FONT, size=size)
        if pdf.get_string_width(text) <= width:
            return
        size -= 0.5
    pdf.set_font(FONT, size=smallest)


def _badge(pdf: FPDF, badge: Badge, branch_name: str, domain: str, locale: str, x: float, y: float) -> None:
    pdf.set_draw_color(*CUT)
    pdf.set_line_width(0.2)
    with pdf.local_context():
        pdf.set_dash_pattern(dash=2, gap=1.5)
        pdf.rect(x, y, CELL_W, CELL_H)
    qx, qy = x + CELL_W - PAD - QR_SIZE, y + PAD
    _qr(pdf, badge.url, qx, qy, QR_SIZE)
    text_w = qx - x - 2 * PAD
    tx = x + PAD
    pdf.set_text_color(*MUTED)
    _fit(pdf, branch_name, text_w, 10)
    pdf.set_xy(tx, y + PAD + 2)
    pdf.cell(text_w, 5, branch_name)
    pdf.set_text_color(*INK)
    _fit(pdf, badge.name, text_w, 22, smallest=10)
    pdf.set_xy(tx, y + 17)
    pdf.cell(text_w, 10, badge.name)
    pdf.set_font(FONT, size=11)
    pdf.set_xy(tx, y + 30)
    pdf.cell(text_w, 6, t(locale, "documents.badge.employee_no", no=badge.employee_no))
    pdf.set_text_color(*MUTED)
    pdf.set_font(FONT, size=10)
    pdf.set_xy(tx, y + 42)
    pdf.multi_cell(
        text_w,
        5,
        t(locale, "documents.badge.prompt"),
        wrapmode=pick(locale, WrapMode.CHAR, WrapMode.WORD),
    )
    pdf.set_text_color(*INK)
    _fit(pdf, domain, QR_SIZE, 9, smallest=6)
    pdf.set_xy(qx, qy + QR_SIZE + 1)
    pdf.cell(QR_SIZE, 5, domain, align="C")


def badge_sheet(session: Session, *, branch_id: int, public_url: str, locale: str) -> bytes:
    """Every active counter staff member of the branch, eight badges to an A4 page."""
    branch, badges = badges_of(session, branch_id=branch_id, public_url=public_url)
    if not badges:
        raise ValidationFailed("staff", "this branch has no active counter staff to print badges for")
    branch_name = branch.name(locale)
    footer = t(locale, "documents.badge.footer", branch=branch_name, code=branch.code)
    pdf = new_pdf(title=footer, footer=footer)
    domain = link_domain(public_url)
    per_page = COLUMNS * ROWS
    for i, badge in enumerate(badges):
        if i % per_page == 0:
            pdf.add_page()
        slot = i % per_page
        x = LEFT + (slot % COLUMNS) * CELL_W
        y = TOP + (slot // COLUMNS) * CELL_H
        _badge(pdf, badge, branch_name, domain, locale, x, y)
    return bytes(pdf.output())
