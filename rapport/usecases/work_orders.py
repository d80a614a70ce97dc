"""The 12345 work orders of a month as a CSV file: one row per work order, with the result record
the hotline expects once its complaint is final (models/complaint/work_order.py).

Written like the other exports (rapport/usecases/exports.py): UTF-8 with a byte-order mark so Excel
and WPS read the Chinese, CRLF line ends, every cell guarded against formula injection, times in
ISO-8601 with the branch's offset. The three rates' numerators are columns of 1 and 0 (responded,
resolved, satisfied), so a spreadsheet's sum is the numerator; ``satisfied`` is empty when the
customer gave no grade, so the count of its non-empty cells is that rate's denominator. The reply
is written with any contact data in it masked. No customer contact is ever read into the file, nor a
tracking code (whoever holds one can grade the handling on the status page; the work-order number is
the hotline's own key), as in every other export.
"""

from __future__ import annotations

from models.bilingual import pick
from models.complaint.work_order import WorkOrderMonth, WorkOrderResult
from models.text import mask_contacts
from rapport.core.i18n import t
from rapport.usecases.exports import BOM, _iso, _Writer

COLUMNS = (
    "work_order_no",
    "state",
    "branch_code",
    "branch_name",
    "received_at",
    "first_contact_at",
    "respond_by",
    "responded",
    "resolved",
    "satisfied",
    "grade",
    "closed_at",
    "reply",
)


def _flag(value: bool | None) -> str:
    return "" if value is None else ("1" if value else "0")


def _row(o: WorkOrderResult, locale: str) -> tuple[object, ...]:
    tz = o.timezone
    return (
        o.work_order_no,
        t(locale, f"work_orders.state.{o.state.value}"),
        o.branch_code,
        pick(locale, o.branch_name_zh, o.branch_name_en),
        _iso(o.received_at, tz),
        _iso(o.first_contact_at, tz),
        _iso(o.respond_by, tz),
        _flag(o.responded),
        _flag(o.resolved),
        _flag(o.satisfied),
        t(locale, f"work_orders.grade.{o.grade}") if o.grade else "",
        _iso(o.closed_at, tz),
        mask_contacts(o.reply) if o.reply else "",
    )


def work_orders_csv(month: WorkOrderMonth, *, locale: str = "zh-CN") -> bytes:
    """The month's work orders, oldest first, under a header in ``locale``."""
    w = _Writer()
    out = [BOM + w.line(t(locale, f"work_orders.csv.{k}") for k in COLUMNS)]
    out += [w.line(_row(o, locale)) for o in month.orders]
    return b"".join(out)
