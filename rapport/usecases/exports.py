"""CSV exports of ratings, complaints and sanctions for spreadsheets.

What a supervisor opens in Excel or WPS must be safe and readable:

* **Formula injection**: a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
  return could be run as a formula by a spreadsheet. Every such cell, customer text included, gets a
  leading single quote (OWASP's advice), so it shows as the text it is.
* **Chinese in Excel**: UTF-8 with a byte-order mark, or Excel guesses a legacy code page; rows end
  with CRLF as RFC 4180 says.
* **No contact data, ever**: a complaint's phone or e-mail is never exported, only whether one was
  given with consent. The tracking code is not stored (only its digest) and not exported either.
* **Stream-friendly**: rows are written one at a time with the csv module while the database is read
  in batches (``yield_per``), so a year of ratings never sits in memory as objects. ``stream_*``
  yields byte chunks; the ``*_csv`` functions join them for callers that want one ``bytes``.

Periods are the branch's local calendar: a :class:`~models.scores.Month` or a :class:`DateRange` of
local dates, turned into UTC bounds per branch (branches may sit in different time zones). Times are
written in ISO-8601 with the branch's offset (``2026-10-05T09:30:00+08:00``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from models.complaint import Complaint, ComplaintStatus
from models.errors import ValidationFailed
from models.org import Branch, Counter, Staff
from models.rating import Rating
from models.sanction import Sanction, SanctionKind, SanctionStatus
from models.scores import Month, local_day_start
from models.text import mask_contacts
from rapport.core.i18n import t

BOM = "\ufeff".encode()
BATCH = 500
DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")
MAX_RANGE_DAYS = 366


@dataclass(frozen=True)
class DateRange:
    """Local calendar days from ``start`` to ``end``, both included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValidationFailed("period", "the end date is before the start date")
        if (self.end - self.start).days >= MAX_RANGE_DAYS:
            raise ValidationFailed("period", f"export at most {MAX_RANGE_DAYS} days at a time")

    def bounds(self, tz: str) -> tuple[datetime, datetime]:
        return local_day_start(self.start, tz), local_day_start(self.end + timedelta(days=1), tz)


Period = Month | DateRange


def neutralise(value: object) -> str:
    """The text of a cell, with a leading quote if a spreadsheet could take it for a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text.startswith(DANGEROUS_START) else text


def _iso(value: datetime | None, tz: str) -> str:
    return value.astimezone(ZoneInfo(tz)).isoformat(timespec="seconds") if value else ""


class _Writer:
    """One CSV line at a time, as bytes, every cell neutralised."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer, lineterminator="\r\n")

    def line(self, cells: Iterable[object]) -> bytes:
        self.writer.writerow([neutralise(c) for c in cells])
        out = self.buffer.getvalue().encode("utf-8")
        self.buffer.seek(0)
        self.buffer.truncate()
        return out


def _branches(session: Session, branch_id: int | None) -> list[Branch]:
    if branch_id is None:
        return list(session.exec(select(Branch).order_by(col(Branch.code))).all())
    branch = session.get(Branch, branch_id)
    if branch is None:
        raise ValidationFailed("branch", "no such branch")
    return [branch]


def _by_id(session: Session, model: Any) -> dict[int, Any]:
    """Small reference tables (counters, staff) as a lookup, read once per export."""
    return {row.id: row for row in session.exec(select(model)).all()}


def _stream(
    header_keys: Sequence[str],
    locale: str,
    rows: Callable[[Branch, datetime, datetime], Iterator[Sequence[object]]],
    branches: list[Branch],
    period: Period,
) -> Iterator[bytes]:
    w = _Writer()
    yield BOM + w.line(t(locale, f"documents.csv.{k}") for k in header_keys)
    for branch in branches:
        start, end = period.bounds(branch.timezone)
        for row in rows(branch, start, end):
            yield w.line(row)


def _name(row: Any, locale: str) -> str:
    return row.name(locale) if row is not None else ""


# ---------------------------------------------------------------------------------------------------
# Ratings

RATING_COLUMNS = (
    "id",
    "created_at",
    "branch_code",
    "branch_name",
    "counter_code",
    "counter_name",
    "employee_no",
    "staff_name",
    "score",
    "channel",
    "reasons",
    "comment",
    "flagged",
    "counted",
    "overturned",
)


def stream_ratings(
    session: Session,
    *,
    period: Period,
    branch_id: int | None = None,
    staff_id: int | None = None,
    locale: str = "zh-CN",
) -> Iterator[bytes]:
    """Every rating of the period (flagged and overturned ones too, marked), oldest first."""
    branches = _branches(session, branch_id)
    counters, staff = _by_id(session, Counter), _by_id(session, Staff)

    def rows(branch: Branch, start: datetime, end: datetime) -> Iterator[Sequence[object]]:
        stmt = select(Rating).where(
            Rating.branch_id == branch.id, col(Rating.created_at) >= start, col(Rating.created_at) < end
        )
        if staff_id is not None:
            stmt = stmt.where(Rating.staff_id == staff_id)
        stmt = stmt.order_by(col(Rating.created_at), col(Rating.id)).execution_options(yield_per=BATCH)
        for r in session.exec(stmt):
            counter, person = counters.get(r.counter_id or -1), staff.get(r.staff_id or -1)
            yield (
                r.id,
                _iso(r.created_at, branch.timezone),
                branch.code,
                branch.name(locale),
                counter.code if counter else "",
                _name(counter, locale),
                person.employee_no if person else "",
                person.display_name if person else "",
                r.score,
                r.channel,
                ";".join(r.reasons or ()),
                mask_contacts(r.comment),
                r.flagged,
                r.counted,
                r.overturned,
            )

    return _stream(RATING_COLUMNS, locale, rows, branches, period)


def ratings_csv(
    session: Session,
    *,
    period: Period,
    branch_id: int | None = None,
    staff_id: int | None = None,
    locale: str = "zh-CN",
) -> bytes:
    return b"".join(
        stream_ratings(session, period=period, branch_id=branch_id, staff_id=staff_id, locale=locale)
    )


# ---------------------------------------------------------------------------------------------------
# Complaints

COMPLAINT_COLUMNS = (
    "id",
    "created_at",
    "branch_code",
    "branch_name",
    "counter_code",
    "counter_name",
    "employee_no",
    "staff_name",
    "channel",
    "category",
    "severity",
    "status",
    "description",
    "due_at",
    "resolved_at",
    "closed_at",
    "overdue",
    "escalation_level",
    "satisfied",
    "grade",
    "finding",
    "about",
    "consent_given",
    "contact_given",
)


def _overdue(c: Complaint, now: datetime) -> bool:
    """Not resolved by its due time: answered late, or still open past it (a rejection is an answer)."""
    answered = c.resolved_at or (c.closed_at if c.status == ComplaintStatus.rejected else None)
    return (answered or now) > c.due_at


def stream_complaints(
    session: Session,
    *,
    period: Period,
    now: datetime,
    branch_id: int | None = None,
    staff_id: int | None = None,
    status: ComplaintStatus | str | None = None,
    locale: str = "zh-CN",
) -> Iterator[bytes]:
    """Complaints received in the period. Contact details are never read into the file: only whether
    the customer gave consent and a contact."""
    if status is not None:
        try:
            status = ComplaintStatus(status)
        except ValueError:
            raise ValidationFailed("status", "choose a complaint status from the list") from None
    branches = _branches(session, branch_id)
    counters, staff = _by_id(session, Counter), _by_id(session, Staff)

    def rows(branch: Branch, start: datetime, end: datetime) -> Iterator[Sequence[object]]:
        stmt = select(Complaint).where(
            Complaint.branch_id == branch.id,
            col(Complaint.created_at) >= start,
            col(Complaint.created_at) < end,
        )
        if staff_id is not None:
            stmt = stmt.where(Complaint.staff_id == staff_id)
        if status is not None:
            stmt = stmt.where(Complaint.status == status)
        stmt = stmt.order_by(col(Complaint.created_at), col(Complaint.id)).execution_options(yield_per=BATCH)
        tz = branch.timezone
        for c in session.exec(stmt):
            counter, person = counters.get(c.counter_id or -1), staff.get(c.staff_id or -1)
            yield (
                c.id,
                _iso(c.created_at, tz),
                branch.code,
                branch.name(locale),
                counter.code if counter else "",
                _name(counter, locale),
                person.employee_no if person else "",
                person.display_name if person else "",
                c.channel,
                c.category,
                c.severity,
                c.status,
                mask_contacts(c.description),
                _iso(c.due_at, tz),
                _iso(c.resolved_at, tz),
                _iso(c.closed_at, tz),
                _overdue(c, now),
                c.escalation_level,
                "" if c.satisfied is None else c.satisfied,
                c.grade or "",
                c.finding or "",
                c.about or "",
                c.consent_at is not None,
                c.contact is not None,
            )

    return _stream(COMPLAINT_COLUMNS, locale, rows, branches, period)


def complaints_csv(
    session: Session,
    *,
    period: Period,
    now: datetime,
    branch_id: int | None = None,
    staff_id: int | None = None,
    status: ComplaintStatus | str | None = None,
    locale: str = "zh-CN",
) -> bytes:
    return b"".join(
        stream_complaints(
            session,
            period=period,
            now=now,
            branch_id=branch_id,
            staff_id=staff_id,
            status=status,
            locale=locale,
        )
    )


# ---------------------------------------------------------------------------------------------------
# Sanctions

SANCTION_COLUMNS = (
    "id",
    "proposed_at",
    "branch_code",
    "branch_name",
    "employee_no",
    "staff_name",
    "kind",
    "status",
    "amount_yuan",
    "clauses",
    "reason",
    "rule",
    "month",
    "proposed_by",
    "decided_by",
    "decided_at",
    "decision_reason",
    "acknowledged_at",
    "reported_at",
    "closed_at",
)


def sanctions_filter(period: Period, start: datetime, end: datetime) -> Any:
    """A month's entries are those the monthly evaluation made for it, plus manual ones proposed in
    it; a date range takes every entry proposed in it."""
    proposed_in = (col(Sanction.proposed_at) >= start) & (col(Sanction.proposed_at) < end)
    if isinstance(period, Month):
        return (col(Sanction.month) == str(period)) | (col(Sanction.month).is_(None) & proposed_in)
    return proposed_in


def stream_sanctions(
    session: Session,
    *,
    period: Period,
    branch_id: int | None = None,
    staff_id: int | None = None,
    status: SanctionStatus | str | None = None,
    kind: SanctionKind | str | None = None,
    locale: str = "zh-CN",
) -> Iterator[bytes]:
    try:
        status = SanctionStatus(status) if status is not None else None
    except ValueError:
        raise ValidationFailed("status", "choose a ledger status from the list") from None
    try:
        kind = SanctionKind(kind) if kind is not None else None
    except ValueError:
        raise ValidationFailed("kind", "choose a kind of reward or penalty from the list") from None
    branches = _branches(session, branch_id)
    staff = _by_id(session, Staff)

    def who(staff_id: int | None) -> str:
        person = staff.get(staff_id or -1)
        return f"{person.employee_no} {person.display_name}" if person else ""

    def rows(branch: Branch, start: datetime, end: datetime) -> Iterator[Sequence[object]]:
        stmt = select(Sanction).where(Sanction.branch_id == branch.id, sanctions_filter(period, start, end))
        if staff_id is not None:
            stmt = stmt.where(Sanction.staff_id == staff_id)
        if status is not None:
            stmt = stmt.where(Sanction.status == status)
        if kind is not None:
            stmt = stmt.where(Sanction.kind == kind)
        stmt = stmt.order_by(col(Sanction.proposed_at), col(Sanction.id)).execution_options(yield_per=BATCH)
        tz = branch.timezone
        for s in session.exec(stmt):
            person = staff.get(s.staff_id)
            yield (
                s.id,
                _iso(s.proposed_at, tz),
                branch.code,
                branch.name(locale),
                person.employee_no if person else "",
                person.display_name if person else "",
                s.kind,
                s.status,
                s.amount_yuan if s.amount_yuan is not None else "",
                ";".join(s.clauses),
                s.reason,
                s.rule,
                s.month or "",
                who(s.proposed_by),
                who(s.decided_by),
                _iso(s.decided_at, tz),
                s.decision_reason or "",
                _iso(s.acknowledged_at, tz),
                _iso(s.reported_at, tz),
                _iso(s.closed_at, tz),
            )

    return _stream(SANCTION_COLUMNS, locale, rows, branches, period)


def sanctions_csv(
    session: Session,
    *,
    period: Period,
    branch_id: int | None = None,
    staff_id: int | None = None,
    status: SanctionStatus | str | None = None,
    kind: SanctionKind | str | None = None,
    locale: str = "zh-CN",
) -> bytes:
    return b"".join(
        stream_sanctions(
            session,
            period=period,
            branch_id=branch_id,
            staff_id=staff_id,
            status=status,
            kind=kind,
            locale=locale,
        )
    )
