"""The figures of the monthly branch report, gathered from the database: what the PDF shows.

:func:`gather` reads one branch's month (the summary against the month before, the staff table of fair
scores, the daily trend, the complaints, the heat map of clauses by week, the Service Star and the
ledger, the 差评 indicators) into a frozen :class:`ReportData`; rapport/usecases/report_pdf.py draws it. The
two are apart so the queries can be read, tested and changed without the drawing code, and the
drawing without a database; this module never imports the drawing one.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from models.catalog import ConductClause
from models.complaint import Complaint, ComplaintStatus, Severity
from models.errors import ValidationFailed
from models.indicators import Indicators, indicators, total
from models.inspection import FindingResult, Inspection, InspectionFinding
from models.org import Branch, Counter, Staff
from models.participation import Participation, ServiceFigures, participation, per_service
from models.participation import total as participation_total
from models.rating import Rating
from models.sanction import Sanction, SanctionKind, SanctionStatus
from models.scores import Leaderboard, Moments, Month, branch_moments, leaderboard, local_day_start
from rapport.core.i18n import t
from rapport.usecases.exports import sanctions_filter

LOW_SCORE = 2
HEAT_ROWS = 12
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class DayPoint:
    day: date
    n: int
    mean: float | None


@dataclass(frozen=True)
class ComplaintFigures:
    received: int
    resolved: int
    rejected: int
    still_open: int
    overdue: int
    by_severity: tuple[tuple[str, int], ...]
    by_clause: tuple[tuple[str, int], ...]  # (clause code, count), most first


@dataclass(frozen=True)
class HeatRow:
    code: str
    weeks: tuple[int, ...]

    @property
    def total(self) -> int:
        return sum(self.weeks)


@dataclass(frozen=True)
class LedgerLine:
    kind: str
    status: str
    name: str
    employee_no: str
    amount_yuan: int | None
    clauses: tuple[str, ...]


@dataclass(frozen=True)
class ReportData:
    branch_code: str
    branch_name: str
    month: Month
    tz: str
    generated_at: datetime
    current: Moments
    previous: Moments
    board: Leaderboard
    days: tuple[DayPoint, ...]
    complaints: ComplaintFigures
    weeks: tuple[tuple[int, int], ...]  # (first day, last day) of each week column
    heat: tuple[HeatRow, ...]
    clause_names: dict[str, str]
    star: tuple[str, str] | None  # (name, employee number)
    ledger: tuple[LedgerLine, ...]
    cases: Indicators = Indicators()  # the 差评 indicators of the branch (models/indicators.py)
    case_people: tuple[tuple[str, Indicators], ...] = ()  # per person rated, by name
    # The month's transactions (models/participation.py): the 参评率 and the default ratings, in all,
    # per 事项, per counter and per person who served (by name); empty without transactions.
    participation: Participation = Participation()
    services: tuple[ServiceFigures, ...] = ()
    participation_counters: tuple[tuple[str, Participation], ...] = ()
    participation_people: tuple[tuple[str, Participation], ...] = ()


def _weeks(month: Month) -> tuple[tuple[int, int], ...]:
    """Days 1–7, 8–14, 15–21, 22–28 and the rest: the same columns every month."""
    last = len(month.days())
    return tuple((d, min(d + 6, last)) for d in range(1, last + 1, 7))


def _complaints(
    session: Session, branch_id: int, start: datetime, end: datetime, now: datetime
) -> ComplaintFigures:
    rows = session.exec(
        select(Complaint).where(
            Complaint.branch_id == branch_id,
            col(Complaint.created_at) >= start,
            col(Complaint.created_at) < end,
        )
    ).all()
    done = (ComplaintStatus.resolved, ComplaintStatus.closed)
    severity = Tally(str(c.severity) for c in rows)
    clauses = Tally(c.category for c in rows if c.status != ComplaintStatus.rejected)
    overdue = 0
    for c in rows:
        answered = c.resolved_at or (c.closed_at if c.status == ComplaintStatus.rejected else None)
        overdue += (answered or now) > c.due_at
    return ComplaintFigures(
        received=len(rows),
        resolved=sum(1 for c in rows if c.status in done),
        rejected=sum(1 for c in rows if c.status == ComplaintStatus.rejected),
        still_open=sum(1 for c in rows if c.status not in (*done, ComplaintStatus.rejected)),
        overdue=overdue,
        by_severity=tuple((str(s), severity[str(s)]) for s in (Severity.high, Severity.normal, Severity.low)),
        by_clause=tuple(sorted(clauses.items(), key=lambda kv: (-kv[1], kv[0]))),
    )


def _heat(
    session: Session, branch: Branch, month: Month, start: datetime, end: datetime
) -> tuple[HeatRow, ...]:
    """Clauses × weeks: reasons of counted low ratings, complaints (not rejected) and inspection
    violations, each counted in the local week it happened."""
    zone = ZoneInfo(branch.timezone)
    weeks = len(_weeks(month))
    cells: dict[str, list[int]] = {}

    def add(code: str, at: datetime) -> None:
        week = (at.astimezone(zone).day - 1) // 7
        cells.setdefault(code, [0] * weeks)[week] += 1

    low = select(col(Rating.created_at), col(Rating.reasons)).where(
        Rating.branch_id == branch.id,
        col(Rating.created_at) >= start,
        col(Rating.created_at) < end,
        col(Rating.counted).is_(True),
        col(Rating.score) <= LOW_SCORE,
    )
    for at, reasons in session.exec(low).all():
        for code in set(reasons or ()):
            add(str(code), at)
    complaints = select(col(Complaint.created_at), col(Complaint.category)).where(
        Complaint.branch_id == branch.id,
        col(Complaint.created_at) >= start,
        col(Complaint.created_at) < end,
        col(Complaint.status) != ComplaintStatus.rejected,
    )
    for at, code in session.exec(complaints).all():
        add(str(code), at)
    findings = (
        select(col(Inspection.at), col(InspectionFinding.clause_code))
        .join(InspectionFinding, col(InspectionFinding.inspection_id) == col(Inspection.id))
        .where(
            Inspection.branch_id == branch.id,
            col(Inspection.at) >= start,
            col(Inspection.at) < end,
            InspectionFinding.result == FindingResult.violation,
        )
    )
    for at, code in session.exec(findings).all():
        add(str(code), at)
    rows = sorted((HeatRow(code, tuple(w)) for code, w in cells.items()), key=lambda r: (-r.total, r.code))
    return tuple(rows[:HEAT_ROWS])


def _ledger(
    session: Session, branch_id: int, month: Month, start: datetime, end: datetime
) -> tuple[tuple[str, str] | None, tuple[LedgerLine, ...]]:
    rows = session.exec(
        select(Sanction)
        .where(Sanction.branch_id == branch_id, sanctions_filter(month, start, end))
        .order_by(col(Sanction.proposed_at), col(Sanction.id))
    ).all()
    people = {
        s.id: s
        for s in session.exec(select(Staff).where(col(Staff.id).in_({r.staff_id for r in rows}))).all()
    }
    awarded = (SanctionStatus.approved, SanctionStatus.acknowledged, SanctionStatus.closed)
    star = next(
        (
            r
            for r in rows
            if r.rule == "service_star" and r.kind == SanctionKind.honorary_title and r.status in awarded
        ),
        None,
    )
    lines = tuple(
        LedgerLine(
            str(r.kind),
            str(r.status),
            people[r.staff_id].display_name if r.staff_id in people else "?",
            people[r.staff_id].employee_no if r.staff_id in people else "",
            r.amount_yuan,
            tuple(r.clauses),
        )
        for r in rows
    )
    if star is None or star.staff_id not in people:
        return None, lines
    person = people[star.staff_id]
    return (person.display_name, person.employee_no), lines


def gather(
    session: Session, *, branch_id: int, month: Month, locale: str, now: datetime, progress: Progress
) -> ReportData:
    branch = session.get(Branch, branch_id)
    if branch is None or branch.id is None:
        raise ValidationFailed("branch", "no such branch")
    start, end = month.bounds(branch.timezone)
    if start > now:
        raise ValidationFailed("month", f"{month} has not begun yet")
    progress(0.05, t(locale, "documents.step.summary"))
    current = branch_moments(session, branch.id, start, end)
    prev_start, prev_end = month.previous().bounds(branch.timezone)
    previous = branch_moments(session, branch.id, prev_start, prev_end)
    progress(0.15, t(locale, "documents.step.staff"))
    board = leaderboard(session, branch.id, month)
    progress(0.3, t(locale, "documents.step.trend"))
    days = []
    for day in month.days():
        d_start = local_day_start(day, branch.timezone)
        d_end = local_day_start(day + timedelta(days=1), branch.timezone)
        m = branch_moments(session, branch.id, d_start, d_end) if d_start < now else Moments()
        days.append(DayPoint(day, m.n, m.mean))
    progress(0.45, t(locale, "documents.step.complaints"))
    complaints = _complaints(session, branch.id, start, end, now)
    progress(0.55, t(locale, "documents.step.heat"))
    heat = _heat(session, branch, month, start, end)
    progress(0.65, t(locale, "documents.step.ledger"))
    star, ledger = _ledger(session, branch.id, month, start, end)
    people = indicators(session, branch_id=branch.id, month=month, level="staff")
    names = {p.id: p.display_name for p in session.exec(select(Staff).where(col(Staff.id).in_(people))).all()}
    case_people = tuple(
        sorted(
            ((names.get(k, "–") if k else "–", v) for k, v in people.items() if v.rated or v.bad),
            key=lambda p: p[0],
        )
    )
    taken = _participation(session, branch, month, locale)
    codes = {r.code for r in heat} | {c for c, _ in complaints.by_clause}
    clause_names = {
        c.code: c.short(locale)
        for c in session.exec(select(ConductClause).where(col(ConductClause.code).in_(codes))).all()
    }
    return ReportData(
        branch.code,
        branch.name(locale),
        month,
        branch.timezone,
        now,
        current,
        previous,
        board,
        tuple(days),
        complaints,
        _weeks(month),
        heat,
        clause_names,
        star,
        ledger,
        cases=total(people),
        case_people=case_people,
        participation=taken[0],
        services=taken[1],
        participation_counters=taken[2],
        participation_people=taken[3],
    )


def _first(pair: tuple[str, Participation]) -> str:
    return pair[0]


def _participation(
    session: Session, branch: Branch, month: Month, locale: str
) -> tuple[
    Participation,
    tuple[ServiceFigures, ...],
    tuple[tuple[str, Participation], ...],
    tuple[tuple[str, Participation], ...],
]:
    """The month's transactions of the branch: in all, per 事项, per counter and per person."""
    assert branch.id is not None
    by_counter = participation(session, branch_id=branch.id, month=month, level="counter")
    whole = participation_total(by_counter)
    if not whole.transactions:
        return whole, (), (), ()
    by_staff = participation(session, branch_id=branch.id, month=month, level="staff")
    counters = {
        c.id: c.name(locale)
        for c in session.exec(select(Counter).where(col(Counter.id).in_([k for k in by_counter if k]))).all()
    }
    names = {
        p.id: p.display_name
        for p in session.exec(select(Staff).where(col(Staff.id).in_([k for k in by_staff if k]))).all()
    }
    nobody = t(locale, "participation.report.nobody")
    return (
        whole,
        tuple(per_service(session, branch_id=branch.id, month=month)),
        tuple(
            sorted(((counters.get(k, nobody) if k else nobody, v) for k, v in by_counter.items()), key=_first)
        ),
        tuple(sorted(((names.get(k, nobody) if k else nobody, v) for k, v in by_staff.items()), key=_first)),
    )
