"""Internal supervision (conduct code §3.2.1): inspections with findings per conduct clause, and the
weekly draw of unannounced spot checks.

A supervisor inspects the staff of their own branch (an administrator any branch). Each inspection
cites at least one clause of the catalog as compliant or violated. Spot checks are drawn at random
once a week per supervisor: a staff member and a one-hour window on a business day, 09:00–17:00 in
the branch's time zone; recording the inspection closes the task.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import CheckConstraint, Column, Index, String
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select, update

import models.base  # noqa: F401  (naming convention first)
from models import audit
from models.catalog import ConductClause
from models.clock import UTCDateTime, utcnow
from models.errors import DomainError, Forbidden, StaffNotFound, ValidationFailed
from models.org import Branch, Role, Staff
from models.text import clean_text

NOTES_MAX_CHARS = 1000
FINDING_NOTE_MAX_CHARS = 500
DEFAULT_TZ = "Asia/Shanghai"
BUSINESS_START = time(9, 0)
BUSINESS_END = time(17, 0)
WINDOW = timedelta(hours=1)
SLOT_STEP_MINUTES = 5  # windows start on the 5-minute grid: 09:00, 09:05 ... 16:00
# An inspection's time may run a little ahead of the server clock (a tablet's clock drifts).
CLOCK_SKEW = timedelta(minutes=5)
WEEK_RE = re.compile(r"(\d{4})-W(\d{2})")


class InspectionKind(StrEnum):
    routine = "routine"
    spot = "spot"
    follow_up = "follow_up"


class FindingResult(StrEnum):
    compliant = "compliant"
    violation = "violation"


def _in(column: str, values: Any) -> str:
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


class SpotCheckNotOpen(DomainError):
    """The spot check was already recorded, or its week is over."""

    code = "spot_check_not_open"


# ---------------------------------------------------------------------------------------------------
# Tables


class SpotCheckTask(SQLModel, table=True):
    """One drawn spot check: ``supervisor_id`` checks ``staff_id`` between window_start and window_end.

    ``done_inspection_id`` is a plain column, not a foreign key: ``inspection.spot_check_id`` already
    points the other way (unique), and a foreign-key cycle between the two tables would need ALTER
    TABLE constraints that SQLite cannot add.
    """

    __tablename__ = "spot_check_task"
    __table_args__ = (
        Index("uq_spot_check_task_supervisor_staff_week", "supervisor_id", "staff_id", "week", unique=True),
        CheckConstraint("window_end > window_start", name="window"),
    )

    id: int | None = Field(default=None, primary_key=True)
    supervisor_id: int = Field(foreign_key="staff.id")
    staff_id: int = Field(foreign_key="staff.id")
    branch_id: int = Field(foreign_key="branch.id", index=True)
    window_start: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    window_end: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    week: str = Field(max_length=8)
    done_inspection_id: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class Inspection(SQLModel, table=True):
    __tablename__ = "inspection"
    __table_args__ = (
        CheckConstraint(_in("kind", InspectionKind), name="kind"),
        Index("ix_inspection_branch_at", "branch_id", "at"),
        Index("ix_inspection_staff_at", "staff_id", "at"),
        # One inspection closes a spot check; NULLs (no spot check) do not collide.
        Index("uq_inspection_spot_check_id", "spot_check_id", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff.id")
    branch_id: int = Field(foreign_key="branch.id")
    inspector_id: int = Field(foreign_key="staff.id", index=True)
    kind: InspectionKind = Field(sa_type=String(16))
    at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    notes: str = Field(default="", max_length=NOTES_MAX_CHARS)
    spot_check_id: int | None = Field(default=None, foreign_key="spot_check_task.id")
    recorded_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class InspectionFinding(SQLModel, table=True):
    __tablename__ = "inspection_finding"
    __table_args__ = (
        CheckConstraint(_in("result", FindingResult), name="result"),
        Index("uq_inspection_finding_inspection_clause", "inspection_id", "clause_code", unique=True),
        Index("ix_inspection_finding_clause_result", "clause_code", "result"),
    )

    id: int | None = Field(default=None, primary_key=True)
    inspection_id: int = Field(foreign_key="inspection.id")
    clause_code: str = Field(foreign_key="conduct_clause.code", max_length=16)
    result: FindingResult = Field(sa_type=String(16))
    note: str = Field(default="", max_length=FINDING_NOTE_MAX_CHARS)


# ---------------------------------------------------------------------------------------------------
# Rules (pure: no database, clock passed in)


def iso_week(at: datetime, tz: str = DEFAULT_TZ) -> str:
    """The ISO week ("2026-W48") that ``at`` falls in, in the time zone ``tz``."""
    year, week, _ = at.astimezone(ZoneInfo(tz)).isocalendar()
    return f"{year:04d}-W{week:02d}"


def week_monday(week: str) -> date:
    match = WEEK_RE.fullmatch(week.strip()) if isinstance(week, str) else None
    try:
        if match is None:
            raise ValueError(week)
        return date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise ValidationFailed("week", "week must be an ISO week like 2026-W48") from None


def window_starts(week: str, tz: str, *, not_before: datetime | None = None) -> list[datetime]:
    """Every allowed start of a one-hour window in ``week`` (UTC), on the 5-minute grid.

    1. Business days are Monday to Friday; a window lies inside 09:00–17:00 local time.
    2. Starts before ``not_before`` are left out, so a draw made mid-week never lands in the past.
    """
    zone, monday = ZoneInfo(tz), week_monday(week)
    span = datetime.combine(monday, BUSINESS_END) - datetime.combine(monday, BUSINESS_START) - WINDOW
    steps = int(span.total_seconds() // 60) // SLOT_STEP_MINUTES
    starts: list[datetime] = []
    for day in range(5):
        opening = datetime.combine(monday + timedelta(days=day), BUSINESS_START, tzinfo=zone)
        for step in range(steps + 1):
            # Local wall time first, then UTC: the window follows the branch's clock across DST.
            local = opening + timedelta(minutes=step * SLOT_STEP_MINUTES)
            start = local.astimezone(UTC)
            if not_before is None or start >= not_before:
                starts.append(start)
    return starts


def _clean_findings(findings: Sequence[tuple[str, str, str]]) -> list[tuple[str, FindingResult, str]]:
    if not findings:
        raise ValidationFailed("findings", "record at least one finding")
    cleaned: list[tuple[str, FindingResult, str]] = []
    seen: set[str] = set()
    for clause, result, note in findings:
        code = (clause or "").strip()
        if code in seen:
            raise ValidationFailed("clause", f"clause {code} is listed twice")
        seen.add(code)
        try:
            outcome = FindingResult(result)
        except ValueError:
            raise ValidationFailed("result", "a finding is either compliant or a violation") from None
        cleaned.append((code, outcome, clean_text(note or "", max_chars=FINDING_NOTE_MAX_CHARS)))
    return cleaned


# ---------------------------------------------------------------------------------------------------
# Services


def _active_staff(session: Session, staff_id: int) -> Staff:
    staff = session.get(Staff, staff_id)
    if staff is None or not staff.active:
        raise StaffNotFound("no active staff member with this id")
    return staff


def _inspector(session: Session, inspector_id: int) -> Staff:
    inspector = session.get(Staff, inspector_id)
    if inspector is None or not inspector.active or inspector.role not in (Role.supervisor, Role.admin):
        raise Forbidden("only active supervisors and administrators inspect")
    return inspector


def _branch_tz(session: Session, branch_id: int | None) -> str:
    branch = session.get(Branch, branch_id) if branch_id is not None else None
    return branch.timezone if branch is not None else DEFAULT_TZ


def _is_open(session: Session, task: SpotCheckTask, now: datetime) -> bool:
    return task.done_inspection_id is None and task.week >= iso_week(now, _branch_tz(session, task.branch_id))


def record_inspection(
    session: Session,
    *,
    inspector_id: int,
    staff_id: int,
    kind: InspectionKind | str,
    at: datetime,
    notes: str,
    findings: Sequence[tuple[str, str, str]],
    spot_check_id: int | None = None,
    now: datetime | None = None,
) -> Inspection:
    """Record an inspection and its findings; a spot check it answers is closed in the same commit.

    1. The inspector is an active supervisor or admin; the inspected person is active, not the
       inspector, and (unless the inspector is an admin) of the inspector's branch.
    2. At least one finding, each citing an existing, active clause once, compliant or violation.
    3. A spot check must be the inspector's own, for this person, still open; the kind is then "spot".
       It is closed with a conditional UPDATE, so two inspections can never close the same task.
    """
    now = now or utcnow()
    try:
        kind = InspectionKind(kind)
    except ValueError:
        raise ValidationFailed("kind", "kind must be routine, spot or follow_up") from None
    if at.tzinfo is None:
        raise ValidationFailed("at", "the inspection time must carry a time zone")
    if at > now + CLOCK_SKEW:
        raise ValidationFailed("at", "an inspection cannot be recorded for a future time")
    inspector = _inspector(session, inspector_id)
    staff = _active_staff(session, staff_id)
    if staff.id == inspector.id:
        raise ValidationFailed("staff_id", "nobody inspects themselves")
    if inspector.role != Role.admin and staff.branch_id != inspector.branch_id:
        raise Forbidden("this staff member belongs to another branch")
    if staff.branch_id is None:
        raise ValidationFailed("staff_id", "this person belongs to no branch")
    rows = _clean_findings(findings)
    codes = [code for code, _, _ in rows]
    known = set(
        session.exec(
            select(ConductClause.code).where(col(ConductClause.code).in_(codes), ConductClause.active)
        ).all()
    )
    if missing := [code for code in codes if code not in known]:
        raise ValidationFailed("clause", f"not an active clause of the catalog: {', '.join(missing)}")
    if spot_check_id is not None:
        task = session.get(SpotCheckTask, spot_check_id)
        if task is None or task.supervisor_id != inspector.id:
            raise Forbidden("this spot check is not yours")
        if task.staff_id != staff.id:
            raise ValidationFailed("staff_id", "this spot check is for another staff member")
        if kind is not InspectionKind.spot:
            raise ValidationFailed("kind", "an inspection answering a spot check is of kind spot")
        if not _is_open(session, task, now):
            raise SpotCheckNotOpen("this spot check is already recorded or its week is over")

    assert staff.id is not None and inspector.id is not None
    inspection = Inspection(
        staff_id=staff.id, branch_id=staff.branch_id, inspector_id=inspector.id, kind=kind, at=at,
        notes=clean_text(notes or "", max_chars=NOTES_MAX_CHARS), spot_check_id=spot_check_id,
        recorded_at=now,
    )  # fmt: skip
    session.add(inspection)
    session.flush()
    assert inspection.id is not None
    session.add_all(
        InspectionFinding(inspection_id=inspection.id, clause_code=code, result=result, note=note)
        for code, result, note in rows
    )
    if spot_check_id is not None:
        closed = session.exec(
            update(SpotCheckTask)
            .where(col(SpotCheckTask.id) == spot_check_id, col(SpotCheckTask.done_inspection_id).is_(None))
            .values(done_inspection_id=inspection.id)
        )
        if closed.rowcount != 1:
            session.rollback()
            raise SpotCheckNotOpen("this spot check was recorded meanwhile")
    violations = sum(1 for _, result, _ in rows if result is FindingResult.violation)
    audit.append(
        session, action="inspection.record", entity="inspection", entity_id=inspection.id,
        actor_staff_id=inspector.id, now=now,
        details={"staff_id": staff.id, "kind": kind.value, "spot_check_id": spot_check_id,
                 "findings": len(rows), "violations": violations},
    )  # fmt: skip
    session.commit()
    return inspection


def findings_of(session: Session, inspection_ids: Sequence[int]) -> dict[int, list[InspectionFinding]]:
    out: dict[int, list[InspectionFinding]] = {i: [] for i in inspection_ids}
    if inspection_ids:
        rows = session.exec(
            select(InspectionFinding)
            .where(col(InspectionFinding.inspection_id).in_(list(inspection_ids)))
            .order_by(col(InspectionFinding.id))
        ).all()
        for row in rows:
            out[row.inspection_id].append(row)
    return out


def list_inspections(
    session: Session, *, branch_id: int | None = None, staff_id: int | None = None, limit: int = 100
) -> list[Inspection]:
    """Most recent first."""
    stmt = select(Inspection)
    if branch_id is not None:
        stmt = stmt.where(Inspection.branch_id == branch_id)
    if staff_id is not None:
        stmt = stmt.where(Inspection.staff_id == staff_id)
    stmt = stmt.order_by(col(Inspection.at).desc(), col(Inspection.id).desc()).limit(limit)
    return list(session.exec(stmt).all())


def draw_spot_checks(
    session: Session,
    *,
    week: str,
    per_supervisor: int = 3,
    seed: int | None = None,
    now: datetime | None = None,
    supervisor_id: int | None = None,
    actor_staff_id: int | None = None,
) -> list[SpotCheckTask]:
    """Draw this week's unannounced spot checks; returns the tasks created by this run.

    1. For each active supervisor with a branch (or only ``supervisor_id``) that has no task for
       ``week`` yet: pick up to ``per_supervisor`` distinct active staff (role staff) of the branch.
    2. Each gets a random one-hour window on a business day of the week, 09:00–17:00 branch time,
       never before ``now``. A week already over yields nothing.
    3. Idempotent per (supervisor, week): checked first, and the unique key (supervisor, staff, week)
       settles a race with a concurrent run (that supervisor is then skipped).
    Without a seed the draw uses the operating system's randomness: nobody can predict it.
    """
    week = week.strip()
    week_monday(week)
    if per_supervisor < 1:
        raise ValidationFailed("per_supervisor", "draw at least one spot check per supervisor")
    now = now or utcnow()
    rng: random.Random = random.Random(seed) if seed is not None else random.SystemRandom()
    stmt = select(Staff).where(Staff.role == Role.supervisor, Staff.active, col(Staff.branch_id).is_not(None))
    if supervisor_id is not None:
        stmt = stmt.where(Staff.id == supervisor_id)
    created: list[SpotCheckTask] = []
    for supervisor in session.exec(stmt.order_by(col(Staff.id))).all():
        already = session.exec(
            select(SpotCheckTask.id).where(
                SpotCheckTask.supervisor_id == supervisor.id, SpotCheckTask.week == week
            )
        ).first()
        if already is not None:
            continue
        assert supervisor.id is not None and supervisor.branch_id is not None
        starts = window_starts(week, _branch_tz(session, supervisor.branch_id), not_before=now)
        staff_ids = session.exec(
            select(Staff.id)
            .where(
                Staff.branch_id == supervisor.branch_id,
                Staff.active,
                Staff.role == Role.staff,
                Staff.id != supervisor.id,
            )
            .order_by(col(Staff.id))
        ).all()
        if not starts or not staff_ids:
            continue
        picked = rng.sample(list(staff_ids), min(per_supervisor, len(staff_ids)))
        tasks = []
        for staff_id in picked:
            assert staff_id is not None
            start = rng.choice(starts)
            tasks.append(
                SpotCheckTask(
                    supervisor_id=supervisor.id,
                    staff_id=staff_id,
                    branch_id=supervisor.branch_id,
                    window_start=start,
                    window_end=start + WINDOW,
                    week=week,
                    created_at=now,
                )
            )
        try:
            with session.begin_nested():
                session.add_all(tasks)
        except IntegrityError:
            continue  # a concurrent run drew for this supervisor first
        created.extend(sorted(tasks, key=lambda t: t.window_start))
    if created:
        audit.append(
            session, action="spot_check.draw", entity="spot_check_week", entity_id=week,
            actor_staff_id=actor_staff_id, now=now, details={"tasks": [t.id for t in created]},
        )  # fmt: skip
    session.commit()
    return created


def open_spot_checks(session: Session, *, supervisor_id: int, now: datetime) -> list[SpotCheckTask]:
    """The supervisor's spot checks not yet recorded, of this week or later, earliest window first."""
    rows = session.exec(
        select(SpotCheckTask)
        .where(SpotCheckTask.supervisor_id == supervisor_id, col(SpotCheckTask.done_inspection_id).is_(None))
        .order_by(col(SpotCheckTask.window_start), col(SpotCheckTask.id))
    ).all()
    return [task for task in rows if _is_open(session, task, now)]
