"""Timed work, recorded: one row per (job, slot), so a slot's work is done once whoever runs it.

A *slot* is what a job is due for: a minute for the SLA sweep ("2026-11-27T02:05Z"), a day for
retention ("2026-11-27"), an ISO week for the spot-check draw ("2026-W48"), a branch's month for the
monthly evaluation ("BJ-RM:2026-10"). The row is inserted *before* the work (:func:`claim`): its
unique key (job, slot) lets exactly one of two schedulers racing on a slot in, and the other does
nothing. The row then records how the run went (:func:`finish`): items done, items failed, the
errors (exception class and an id, never personal data) and when it ended.

A failed run is tried again on a later tick, not sooner than RETRY_AFTER and at most MAX_ATTEMPTS times
in all, so a broken item is recorded and skipped, never a crash loop. A run left "running" by a
process that died is taken over after STALE_AFTER. Both take-overs are a conditional UPDATE that must
change exactly one row, so racing schedulers still run a slot once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import CheckConstraint, Column, Index, String, and_, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, func, select, update

import models.base  # noqa: F401  (naming convention first)
from models.clock import UTCDateTime

MAX_ATTEMPTS = 3
RETRY_AFTER = timedelta(minutes=15)
STALE_AFTER = timedelta(hours=2)
ERROR_MAX_CHARS = 500


class JobStatus(StrEnum):
    running = "running"
    ok = "ok"
    failed = "failed"


class JobRun(SQLModel, table=True):
    __tablename__ = "job_run"
    __table_args__ = (
        Index("uq_job_run_job_slot", "job", "slot", unique=True),
        Index("ix_job_run_job_started", "job", "started_at"),
        CheckConstraint("status IN ('running', 'ok', 'failed')", name="status"),
        CheckConstraint("items_done >= 0 AND items_failed >= 0 AND attempts >= 1", name="counts"),
    )

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=32)
    slot: str = Field(max_length=64)
    status: JobStatus = Field(default=JobStatus.running, sa_type=String(8))
    started_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    attempts: int = 1
    # Which server ran it ("host:pid"): with leader election, one at a time.
    runner: str = Field(default="", max_length=64)
    items_done: int = 0
    items_failed: int = 0
    # What went wrong, as "<item>: <exception class>"; never an exception's message, which may quote data.
    error: str | None = Field(default=None, max_length=ERROR_MAX_CHARS)


@dataclass
class RunLog:
    """What a job body reports while it works through its items."""

    done: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def ok(self, n: int = 1) -> None:
        self.done += n

    def fail(self, item: str, exc: BaseException) -> None:
        self.failed += 1
        self.errors.append(f"{item}: {type(exc).__name__}")

    def error_text(self) -> str | None:
        if not self.errors:
            return None
        text = "; ".join(self.errors[:10])
        if len(self.errors) > 10:
            text += f"; and {len(self.errors) - 10} more"
        return text[:ERROR_MAX_CHARS]


@dataclass(frozen=True)
class JobRunView:
    job: str
    slot: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    attempts: int
    runner: str
    items_done: int
    items_failed: int
    error: str | None

    @property
    def duration(self) -> timedelta | None:
        return None if self.finished_at is None else self.finished_at - self.started_at


def _view(row: JobRun) -> JobRunView:
    return JobRunView(
        row.job,
        row.slot,
        str(row.status),
        row.started_at,
        row.finished_at,
        row.attempts,
        row.runner,
        row.items_done,
        row.items_failed,
        row.error,
    )


def claim(session: Session, *, job: str, slot: str, now: datetime, runner: str = "") -> int | None:
    """Take ``(job, slot)`` for this run; returns the run's id, or None when it is not ours to run.

    1. No row yet: insert one, status running, and commit. Of two schedulers inserting at once, the
       unique key lets one in; the other gets IntegrityError and goes on to step 2.
    2. A row exists: take it over only if it failed (fewer than MAX_ATTEMPTS, the last ended at least
       RETRY_AFTER ago) or was left running for STALE_AFTER by a process that died, with a
       conditional UPDATE that must change exactly one row. Otherwise the slot is done or in hand.
    """
    where = (col(JobRun.job) == job, col(JobRun.slot) == slot)
    run_id = session.exec(select(JobRun.id).where(*where)).first()
    if run_id is None:
        row = JobRun(job=job, slot=slot, started_at=now, runner=runner[:64])
        session.add(row)
        try:
            session.commit()
            return row.id
        except IntegrityError:
            session.rollback()
            run_id = session.exec(select(JobRun.id).where(*where)).first()
            if run_id is None:  # pragma: no cover - the winner's row is committed before our error
                return None
    retry = and_(
        col(JobRun.status) == JobStatus.failed.value,
        col(JobRun.attempts) < MAX_ATTEMPTS,
        col(JobRun.finished_at) <= now - RETRY_AFTER,
    )
    stale = and_(col(JobRun.status) == JobStatus.running.value, col(JobRun.started_at) <= now - STALE_AFTER)
    changed = session.exec(
        update(JobRun)
        .where(col(JobRun.id) == run_id, or_(retry, stale))
        .values(
            status=JobStatus.running.value,
            attempts=col(JobRun.attempts) + 1,
            started_at=now,
            runner=runner[:64],
            finished_at=None,
            items_done=0,
            items_failed=0,
            error=None,
        )
    )
    if changed.rowcount != 1:
        session.rollback()
        return None
    session.commit()
    return run_id


def finish(session: Session, *, run_id: int, log: RunLog, now: datetime) -> JobRunView:
    """Record how a claimed run went: ok when no item failed, failed otherwise (with the errors)."""
    row = session.get(JobRun, run_id)
    assert row is not None, "finish() is only called on a claimed run"
    row.status = JobStatus.failed if log.failed else JobStatus.ok
    row.finished_at = now
    row.items_done, row.items_failed, row.error = log.done, log.failed, log.error_text()
    session.add(row)
    session.commit()
    return _view(row)


def runs(session: Session, *, job: str | None = None, limit: int = 50) -> list[JobRunView]:
    """Most recent runs first (of one job, or of all)."""
    stmt = select(JobRun)
    if job is not None:
        stmt = stmt.where(col(JobRun.job) == job)
    rows = session.exec(stmt.order_by(col(JobRun.started_at).desc(), col(JobRun.id).desc()).limit(limit))
    return [_view(r) for r in rows.all()]


@dataclass(frozen=True)
class JobHistory:
    last: JobRunView | None
    last_failure: JobRunView | None
    runs: int


def history(session: Session, job: str) -> JobHistory:
    """A job's latest run, its latest failed run and how many runs are recorded."""
    latest = runs(session, job=job, limit=1)
    failure = session.exec(
        select(JobRun)
        .where(col(JobRun.job) == job, col(JobRun.status) == JobStatus.failed.value)
        .order_by(col(JobRun.started_at).desc())
        .limit(1)
    ).first()
    count = session.exec(select(func.count()).select_from(JobRun).where(col(JobRun.job) == job)).one()
    return JobHistory(latest[0] if latest else None, _view(failure) if failure else None, int(count))


def done_slots(session: Session, *, job: str, prefix: str = "") -> list[str]:
    """The slots of ``job`` that ran to the end without a failure (optionally those starting with prefix)."""
    stmt = select(JobRun.slot).where(col(JobRun.job) == job, col(JobRun.status) == JobStatus.ok.value)
    if prefix:
        stmt = stmt.where(col(JobRun.slot).startswith(prefix, autoescape=True))
    return list(session.exec(stmt).all())


# ---------------------------------------------------------------------------------------------------
# Slots: pure functions of the time, so tests and the admin screen agree with the scheduler.


def period_slot(now: datetime, seconds: int = 60) -> str:
    """The UTC period ``now`` falls in, named by its start: "2026-11-27T10:05Z" (or with :SS)."""
    start = datetime.fromtimestamp(now.timestamp() // seconds * seconds, UTC)
    return start.strftime("%Y-%m-%dT%H:%MZ" if seconds % 60 == 0 else "%Y-%m-%dT%H:%M:%SZ")


def next_period(now: datetime, seconds: int = 60) -> datetime:
    return datetime.fromtimestamp((now.timestamp() // seconds + 1) * seconds, UTC)


def last_occurrence(now: datetime, *, tz: str, at: time, weekday: int | None = None) -> datetime:
    """The latest local ``at`` (on ISO ``weekday`` if given) at or before ``now``, as aware UTC."""
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    day = local.date()
    for _ in range(8):
        moment = datetime.combine(day, at, tzinfo=zone)
        if moment <= local and (weekday is None or day.isoweekday() == weekday):
            return moment.astimezone(UTC)
        day -= timedelta(days=1)
    raise AssertionError("a weekday recurs within eight days")  # pragma: no cover


def next_occurrence(now: datetime, *, tz: str, at: time, weekday: int | None = None) -> datetime:
    """The first local ``at`` (on ISO ``weekday`` if given) after ``now``, as aware UTC."""
    zone = ZoneInfo(tz)
    day = now.astimezone(zone).date()
    for _ in range(9):
        moment = datetime.combine(day, at, tzinfo=zone)
        if moment > now and (weekday is None or day.isoweekday() == weekday):
            return moment.astimezone(UTC)
        day += timedelta(days=1)
    raise AssertionError("a weekday recurs within eight days")  # pragma: no cover


def day_slot(moment: datetime, tz: str) -> str:
    return moment.astimezone(ZoneInfo(tz)).date().isoformat()


def week_slot(moment: datetime, tz: str) -> str:
    year, week, _ = moment.astimezone(ZoneInfo(tz)).isocalendar()
    return f"{year:04d}-W{week:02d}"
