"""admin/documents.py: exports, the monthly report, badges and badge tokens."""

from __future__ import annotations

import csv
import io

import pypdfium2 as pdfium
from sqlmodel import col, select

from admin import documents
from models.complaint import Complaint
from models.org import Role, Staff
from models.rating import Rating
from models.sanction import Sanction
from tests.integration.access_matrix.cells import SUPERVISION, Cell, Op, changed
from tests.integration.access_matrix.common import (
    _ids,
    _no_customer_data,
    _only_rows,
    on_branch,
    on_person,
    plain,
)


def _download_audited(c: Cell, document: str) -> None:
    audit = [
        (r["actor_staff_id"], str(r["entity_id"]), r["details"]["document"])
        for r in c.added("audit_event")
        if r["action"] == "document.download"
    ]
    assert audit == [(c.caller, str(c.bid), document)], audit


def _csv(c: Cell, download: documents.Download, document: str) -> set[str]:
    """The export's row ids; every row is of the target branch, none carries contact data."""
    code = "A" if c.t == "A" else "B"
    assert download.file_name.startswith(f"rapport-{document}-{code}-"), download.file_name
    rows = list(csv.reader(io.StringIO(download.data.decode("utf-8-sig"))))[1:]
    assert {r[2] for r in rows} <= {code}, {r[2] for r in rows}
    _no_customer_data(c, download.data.decode("utf-8-sig"))
    _download_audited(c, document)
    return {r[0] for r in rows}


def check_document_branches(c: Cell, rows: list[documents.BranchOption]) -> None:
    assert {b.id for b in rows} == c.scope, rows


def check_badge_holders(c: Cell, rows: list[documents.BadgeHolder]) -> None:
    want = _ids(c, Staff.id, Staff.branch_id == c.bid, Staff.role == Role.staff, col(Staff.active))
    assert {r.id for r in rows} == want and c.env.person[c.t] in want, rows


def check_ratings_export(c: Cell, d: documents.Download) -> None:
    want = {str(i) for i in _ids(c, Rating.id, Rating.branch_id == c.bid)}
    assert want and _csv(c, d, "ratings") == want


def check_complaints_export(c: Cell, d: documents.Download) -> None:
    want = {str(i) for i in _ids(c, Complaint.id, Complaint.branch_id == c.bid)}
    assert want and _csv(c, d, "complaints") == want


def check_sanctions_export(c: Cell, d: documents.Download) -> None:
    want = {str(i) for i in _ids(c, Sanction.id, Sanction.branch_id == c.bid)}
    assert want and _csv(c, d, "sanctions") == want


def _pdf_text(data: bytes) -> str:
    doc = pdfium.PdfDocument(data)
    try:
        return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()


def _names_in_pdf(c: Cell, d: documents.Download, document: str) -> str:
    """The PDF's text: it names the target branch, and neither the other branch nor anyone of it."""
    assert d.data.startswith(b"%PDF"), d.data[:8]
    _download_audited(c, document)
    text = _pdf_text(d.data)
    own, other = ("甲支行", "乙支行") if c.t == "A" else ("乙支行", "甲支行")
    assert own in text and other not in text, text[:300]
    outsiders = c.read(
        select(Staff.display_name).where(col(Staff.branch_id).is_not(None), Staff.branch_id != c.bid)
    )
    named = [name for name in outsiders if name in text]
    assert not named, f"the {document} of branch {c.t} names people of another branch: {named}"
    return text


def check_monthly_report(c: Cell, d: documents.Download) -> None:
    text = _names_in_pdf(c, d, "report")
    [person] = c.read(select(Staff.display_name).where(Staff.id == c.env.person[c.t]))
    assert person in text, f"the report of branch {c.t} does not list {person}"
    _no_customer_data(c, text)


def check_badges(c: Cell, d: documents.Download) -> None:
    text = _names_in_pdf(c, d, "badges")
    people = c.read(select(Staff.display_name).where(Staff.role == Role.staff))
    shown = {name for name in people if name in text}
    want = set(c.read(select(Staff.display_name).where(Staff.role == Role.staff, Staff.branch_id == c.bid)))
    assert shown == want, (shown, want)


def check_rotate_token(c: Cell, _r: None) -> None:
    _only_rows(c, "staff", "id", {c.env.person[c.t]})
    assert c.removed("staff") and changed(c.before, c.after) == {"staff", "audit_event"}


NOV = "2026-11"


DOCUMENT_OPS = [
    Op(
        "documents.branches",
        documents.branches,
        SUPERVISION,
        plain(documents.branches),
        check_document_branches,
    ),
    Op(
        "documents.badge_holders",
        documents.badge_holders,
        SUPERVISION,
        on_branch(documents.badge_holders),
        check_badge_holders,
        scoped=True,
    ),
    Op(
        "documents.ratings_export",
        documents.ratings_export,
        SUPERVISION,
        on_branch(documents.ratings_export, month=NOV, locale="zh-CN"),
        check_ratings_export,
        scoped=True,
    ),
    Op(
        "documents.complaints_export",
        documents.complaints_export,
        SUPERVISION,
        on_branch(documents.complaints_export, month=NOV, locale="en"),
        check_complaints_export,
        scoped=True,
    ),
    Op(
        "documents.sanctions_export",
        documents.sanctions_export,
        SUPERVISION,
        on_branch(documents.sanctions_export, month=NOV, locale="zh-CN"),
        check_sanctions_export,
        scoped=True,
    ),
    Op(
        "documents.monthly_report",
        documents.monthly_report,
        SUPERVISION,
        on_branch(documents.monthly_report, month=NOV, locale="zh-CN"),
        check_monthly_report,
        scoped=True,
    ),
    Op(
        "documents.badges",
        documents.badges,
        SUPERVISION,
        on_branch(documents.badges, locale="zh-CN"),
        check_badges,
        scoped=True,
    ),
    Op(
        "documents.rotate_token",
        documents.rotate_token,
        SUPERVISION,
        on_person(documents.rotate_token),
        check_rotate_token,
        scoped=True,
    ),
]
