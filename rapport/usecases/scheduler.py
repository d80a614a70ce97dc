"""Timed work: the job catalogue, one recorded run per (job, slot), and the APScheduler wiring.

Each job says which slots are due at a moment (:attr:`Job.slots`) and does one slot's work
(:attr:`Job.body`, a module-level function that reports its items to a :class:`~models.jobs.RunLog`).
:func:`run_slot` claims the slot first (the ``job_run`` unique key, :mod:`models.jobs`), so two
schedulers racing on it run the body once; tests call it, and :func:`run_due`, directly.

Catch-up after downtime is part of "which slots are due", computed from what is recorded: the first
tick after start finds the slots that were missed and runs each once. Jobs whose work is "everything
due by now" (the sweeps, retention, the weekly draw) fold the missed slots into the latest one, which
covers them; the monthly evaluation, whose work is per month, runs every missed month of every branch,
oldest first (at most a year back).

Only the elected leader (rapport/core/leader.py) runs the APScheduler jobs; each tick runs in a thread
(``asyncio.to_thread``) so the event loop serving the screens never waits for the database.
Two environment variables shorten the cadence for tests: RAPPORT_SWEEP_SECONDS (the SLA sweep's
period, default 60) and RAPPORT_LEADER_RETRY_SECONDS (how often a follower tries to take over,
default 10).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlmodel import col, func, select

from models.feed import FEED as FEED_SWITCH
from models.inspection import DEFAULT_TZ
from models.jobs import (
    JobRunView,
    RunLog,
    claim,
    day_slot,
    done_slots,
    finish,
    last_occurrence,
    next_occurrence,
    next_period,
    period_slot,
    week_slot,
)
from rapport.core.context import AppContext
from rapport.usecases.alerting import alert_rules_sweep, sla_sweep, weekly_spot_check_draw
from rapport.usecases.feed import TICK_SECONDS as FEED_PERIOD
from rapport.usecases.feed import deliver_due

if TYPE_CHECKING:
    from rapport.core.leader import Election
    from rapport.core.live import PgAlertRelay

log = logging.getLogger(__name__)

# Daily and weekly jobs follow the head office's clock; the monthly evaluation follows each branch's.
SCHEDULE_TZ = DEFAULT_TZ
RETENTION_AT = time(3, 30)
BACKUP_AT = time(2, 30)  # before retention, after the branches' evening work
SPOT_CHECK_AT = time(8, 0)  # Monday morning, before the branches open
SLOW_TICK_SECONDS = 300
FIRST_TICK_SECONDS = 5
CATCH_UP_MONTHS = 12


def _env_seconds(name: str, default: int, low: int, high: int) -> int:
    raw = os.environ.get(name, "")
    try:
        value = int(raw) if raw else default
    except ValueError:
        value = -1
    if not low <= value <= high:
        log.warning("%s must be a whole number of seconds from %d to %d; using %d", name, low, high, default)
        return default
    return value


def sweep_seconds() -> int:
    return _env_seconds("RAPPORT_SWEEP_SECONDS", 60, 1, 60)


def leader_retry_seconds() -> int:
    return _env_seconds("RAPPORT_LEADER_RETRY_SECONDS", 10, 1, 300)


@cache
def runner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


@dataclass(frozen=True)
class Job:
    name: str
    tick_seconds: int  # how often the leader looks for a due slot
    slots: Callable[[AppContext, datetime], list[str]]
    body: Callable[[AppContext, str, datetime, RunLog], None]
    next_due: Callable[[AppContext, datetime], datetime | None]  # for the admin screen; None: never here


# -- the jobs ---------------------------------------------------------------------------------------


def _sla_body(ctx: AppContext, slot: str, now: datetime, run: RunLog) -> None:
    sla_sweep(ctx, now, run)


def _alert_rules_body(ctx: AppContext, slot: str, now: datetime, run: RunLog) -> None:
    alert_rules_sweep(ctx, now, run)


def _spot_check_body(ctx: AppContext, slot: str, now: datetime, run: RunLog) -> None:
    weekly_spot_check_draw(ctx, week=slot, now=now, run=run)


def _spot_check_slots(ctx: AppContext, now: datetime) -> list[str]:
    return [week_slot(last_occurrence(now, tz=SCHEDULE_TZ, at=SPOT_CHECK_AT, weekday=1), SCHEDULE_TZ)]


def _retention_slots(ctx: AppContext, now: datetime) -> list[str]:
    return [day_slot(last_occurrence(now, tz=SCHEDULE_TZ, at=RETENTION_AT), SCHEDULE_TZ)]


def _retention_body(ctx: AppContext, slot: str, now: datetime, run: RunLog) -> None:
    """Erase contacts past their erase time, one complaint at a time; then each branch's old flagged
    presses; then old backups beyond RAPPORT_BACKUP_KEEP (rapport/usecases/backup.prune_backups; the nightly
    backup prunes too, this also covers backups taken by hand)."""
    from models.org import Branch
    from models.policy import effective_policy
    from models.retention import (
        contacts_due_for_erasure,
        erase_case_contacts,
        erase_contact,
        erase_old_record_text,
        purge_flagged_presses,
    )

    with ctx.db.read() as session:
        due = contacts_due_for_erasure(session, now=now)
        policies = {
            b: effective_policy(session, b)
            for b in session.exec(select(Branch.id).order_by(col(Branch.id))).all()
            if b is not None
        }
        branches = [(b, p.flagged_press_retention_days) for b, p in policies.items()]
    for complaint_id in due:
        try:
            with ctx.db.write() as session:
                erased = erase_contact(session, complaint_id=complaint_id, now=now)
        except Exception as exc:
            run.fail(f"complaint {complaint_id}", exc)
            continue
        if erased:
            run.ok()
    for branch_id, days in branches:
        try:
            with ctx.db.write() as session:
                run.ok(purge_flagged_presses(session, branch_id=branch_id, retention_days=days, now=now))
        except Exception as exc:
            run.fail(f"branch {branch_id}", exc)
    for branch_id, policy in policies.items():  # the callback contacts of closed 差评 cases
        try:
            with ctx.db.write() as session:
                n_erased = erase_case_contacts(
                    session, branch_id=branch_id, retention_days=policy.contact_retention_days, now=now
                )
            run.ok(n_erased)
        except Exception as exc:
            run.fail(f"cases of branch {branch_id}", exc)
    for branch_id, policy in policies.items():  # closed records past their retention: text out
        try:
            with ctx.db.write() as session:
                counts = erase_old_record_text(
                    session, branch_id=branch_id, retention_days=policy.record_retention_days, now=now
                )
            run.ok(sum(counts.values()))
        except Exception as exc:
            run.fail(f"old records of branch {branch_id}", exc)
    if _backs_up(ctx):
        from rapport.usecases.backup import default_backup_dir, prune_backups

        folder = default_backup_dir(ctx.settings)
        try:
            if folder.is_dir():
                settings = ctx.settings
                run.ok(
                    len(
                        prune_backups(
                            folder, keep=settings.backup_keep, keep_days=settings.backup_keep_days, now=now
                        )
                    )
                )
        except Exception as exc:
            run.fail("backups", exc)


def _backs_up(ctx: AppContext) -> bool:
    """Whether the nightly backup applies: a SQLite file. PostgreSQL is backed up with pg_dump."""
    from rapport.usecases.backup import BackupError, sqlite_file

    try:
        sqlite_file(ctx.settings.effective_database_url)
    except BackupError:
        return False
    return True


def _backup_slots(ctx: AppContext, now: datetime) -> list[str]:
    if not _backs_up(ctx):
        return []
    return [day_slot(last_occurrence(now, tz=SCHEDULE_TZ, at=BACKUP_AT), SCHEDULE_TZ)]


def _backup_body(ctx: AppContext, slot: str, now: datetime, run: RunLog) -> None:
    """One online backup, integrity-checked, then the old ones pruned (rapport/usecases/backup.run_backup)."""
    from rapport.usecases.backup import run_backup

    result = run_backup(ctx.settings, now=now)
    run.ok()
    if result.pruned:
        log.info("backup %s; %d old backup(s) removed", result.path.name, len(result.pruned))


def _evaluation_slots(ctx: AppContext, now: datetime) -> list[str]:
    """Per branch: every finished local month after the latest one evaluated (by the job or by a
    supervisor), oldest first, at most CATCH_UP_MONTHS back; a branch never evaluated starts with
    last month. On the 1st (branch time) that is last month, once."""
    from models.org import Branch
    from models.sanction import Evaluation
    from models.scores import Month, local_month

    slots: list[str] = []
    with ctx.db.read() as session:
        for branch in session.exec(select(Branch).order_by(col(Branch.id))).all():
            target = local_month(now, branch.timezone).previous()
            evaluated = session.exec(
                select(func.max(Evaluation.month)).where(Evaluation.branch_id == branch.id)
            ).one()
            ran = [s.rsplit(":", 1)[1] for s in done_slots(session, job=EVALUATION, prefix=f"{branch.code}:")]
            latest = max([m for m in (evaluated, *ran) if m], default=None)
            month = Month.parse(latest).next() if latest else target
            months: list[Month] = []
            while (month.year, month.month) <= (target.year, target.month):
                months.append(month)
                month = month.next()
            slots += [f"{branch.code}:{m}" for m in months[-CATCH_UP_MONTHS:]]
    return slots


def _evaluation_body(ctx: AppContext, slot: str, now: datetime, run: RunLog) -> None:
    """Evaluate one branch's month (models/sanction.evaluate_month), unless a supervisor already did."""
    from models.errors import NotFound
    from models.org import Branch
    from models.sanction import Evaluation, evaluate_month
    from models.scores import Month

    code, month_text = slot.rsplit(":", 1)
    month = Month.parse(month_text)
    with ctx.db.write() as session:
        branch = session.exec(select(Branch).where(Branch.code == code)).first()
        if branch is None or branch.id is None:
            raise NotFound(f"no branch with code {code}")
        already = session.exec(
            select(Evaluation.id).where(Evaluation.branch_id == branch.id, Evaluation.month == str(month))
        ).first()
        if already is None:
            evaluate_month(session, branch_id=branch.id, month=month, actor_staff_id=None, now=now)
            run.ok()


def _rollup_body(ctx: AppContext, slot: str, now: datetime, run: RunLog) -> None:
    """Count every branch's closed days that are not counted yet, or changed since (models/rollup.py),
    one (branch, day) per transaction: each counted day is kept even if a later one fails."""
    from models.clock import branch_zone
    from models.org import Branch
    from models.rollup import days_due, roll_day

    with ctx.db.read() as session:
        zones = [
            (b.id, branch_zone(b.timezone))
            for b in session.exec(select(Branch).order_by(col(Branch.id))).all()
            if b.id is not None
        ]
        due = [(b, tz, days_due(session, branch_id=b, tz=tz, now=now)) for b, tz in zones]
    for branch_id, tz, days in due:
        for day in days:
            try:
                with ctx.db.write() as session:
                    roll_day(session, branch_id=branch_id, day=day, tz=tz, now=now)
            except Exception as exc:
                run.fail(f"branch {branch_id}, {day}", exc)
            else:
                run.ok()


def _default_rating_body(ctx: AppContext, slot: str, now: datetime, run: RunLog) -> None:
    """Give every branch's transactions left unrated past the policy's days their default rating
    (models/default_rating.py), a batch per transaction; a branch with the rule off is skipped."""
    from models.default_rating import BATCH, apply_defaults
    from models.org import Branch
    from models.policy import effective_policy

    with ctx.db.read() as session:
        branches = [
            b
            for b in session.exec(select(Branch.id).order_by(col(Branch.id))).all()
            if b is not None and effective_policy(session, b).default_rating_days > 0
        ]
    for branch_id in branches:
        while True:
            try:
                with ctx.db.write() as session:
                    given = apply_defaults(session, branch_id=branch_id, now=now)
            except Exception as exc:
                run.fail(f"branch {branch_id}", exc)
                break
            run.ok(given)
            if given < BATCH:
                break


def _feed_slots(ctx: AppContext, now: datetime) -> list[str]:
    """Every FEED_PERIOD while the provincial feed is configured; a missed slot needs no catch-up
    (each pass delivers every record due by its time)."""
    return [period_slot(now, FEED_PERIOD)] if ctx.settings.feed_on else []


def _feed_body(ctx: AppContext, slot: str, now: datetime, run: RunLog) -> None:
    """Deliver the provincial feed's due records (rapport/usecases/feed.py)."""
    deliver_due(ctx, now, run)


def _next_first_of_month(ctx: AppContext, now: datetime) -> datetime:
    zone = ZoneInfo(SCHEDULE_TZ)
    local = now.astimezone(zone)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return datetime(year, month, 1, tzinfo=zone).astimezone(UTC)


SLA_SWEEP = "sla-sweep"
ALERT_RULES = "alert-rules"
EVALUATION = "monthly-evaluation"
SPOT_CHECK = "spot-check-draw"
RETENTION = "retention"
BACKUP = "backup"
ROLLUP = "rating-rollup"
ROLLUP_PERIOD = 3600
FEED = "feed"
DEFAULT_RATING = "default-rating"
DEFAULT_RATING_PERIOD = 3600


def jobs() -> list[Job]:
    """The job catalogue, in the order the admin screen lists it; the provincial feed's job only in
    a process that has the feed on (RAPPORT_FEED_URL, models/feed.py's switch, set at start-up)."""
    period = sweep_seconds()
    return [*_core_jobs(period), *([_feed_job()] if FEED_SWITCH.on else [])]


def _feed_job() -> Job:
    return Job(
        FEED,
        FEED_PERIOD,
        _feed_slots,
        _feed_body,
        lambda ctx, now: next_period(now, FEED_PERIOD) if ctx.settings.feed_on else None,
    )


def _core_jobs(period: int) -> list[Job]:
    return [
        Job(
            SLA_SWEEP,
            period,
            lambda ctx, now: [period_slot(now, period)],
            _sla_body,
            lambda ctx, now: next_period(now, period),
        ),
        Job(
            ALERT_RULES,
            60,
            lambda ctx, now: [period_slot(now, 60)],
            _alert_rules_body,
            lambda ctx, now: next_period(now, 60),
        ),
        Job(EVALUATION, SLOW_TICK_SECONDS, _evaluation_slots, _evaluation_body, _next_first_of_month),
        Job(
            SPOT_CHECK,
            SLOW_TICK_SECONDS,
            _spot_check_slots,
            _spot_check_body,
            lambda ctx, now: next_occurrence(now, tz=SCHEDULE_TZ, at=SPOT_CHECK_AT, weekday=1),
        ),
        Job(
            RETENTION,
            SLOW_TICK_SECONDS,
            _retention_slots,
            _retention_body,
            lambda ctx, now: next_occurrence(now, tz=SCHEDULE_TZ, at=RETENTION_AT),
        ),
        Job(
            ROLLUP,
            SLOW_TICK_SECONDS,
            lambda ctx, now: [period_slot(now, ROLLUP_PERIOD)],
            _rollup_body,
            lambda ctx, now: next_period(now, ROLLUP_PERIOD),
        ),
        Job(
            DEFAULT_RATING,
            SLOW_TICK_SECONDS,
            lambda ctx, now: [period_slot(now, DEFAULT_RATING_PERIOD)],
            _default_rating_body,
            lambda ctx, now: next_period(now, DEFAULT_RATING_PERIOD),
        ),
        Job(
            BACKUP,
            SLOW_TICK_SECONDS,
            _backup_slots,
            _backup_body,
            lambda ctx, now: next_occurrence(now, tz=SCHEDULE_TZ, at=BACKUP_AT) if _backs_up(ctx) else None,
        ),
    ]


def job_named(name: str) -> Job:
    for job in jobs():
        if job.name == name:
            return job
    raise KeyError(name)


# -- running a slot ---------------------------------------------------------------------------------


def run_slot(ctx: AppContext, job: Job, slot: str, now: datetime | None = None) -> JobRunView | None:
    """Claim ``slot`` and do its work; None when the slot was not ours (done, or in hand elsewhere).

    An exception out of the body fails the run (recorded, class name only) instead of escaping: the
    scheduler goes on, and the slot is retried later a bounded number of times (models/jobs.py).
    """
    now = now or ctx.clock()
    with ctx.db.write() as session:
        run_id = claim(session, job=job.name, slot=slot, now=now, runner=runner_id())
    if run_id is None:
        return None
    run = RunLog()
    try:
        job.body(ctx, slot, now, run)
    except Exception as exc:
        log.exception("job %s, slot %s failed", job.name, slot)
        run.fail("run", exc)
    with ctx.db.write() as session:
        result = finish(session, run_id=run_id, log=run, now=max(ctx.clock(), now))
    if run.failed:
        log.warning("job %s, slot %s: %d item(s) failed: %s", job.name, slot, run.failed, result.error)
    elif run.done:
        log.info("job %s, slot %s: %d item(s) done", job.name, slot, run.done)
    return result


def run_due(ctx: AppContext, job: Job, now: datetime | None = None) -> list[JobRunView]:
    """Run every slot of ``job`` that is due at ``now`` and not done yet (the catch-up included)."""
    now = now or ctx.clock()
    return [r for slot in job.slots(ctx, now) if (r := run_slot(ctx, job, slot, now)) is not None]


async def tick(ctx: AppContext, name: str) -> None:
    """What APScheduler calls: one look for due slots of one job, in a worker thread."""
    try:
        await asyncio.to_thread(run_due, ctx, job_named(name))
    except Exception:  # the database is unreachable, say: logged, and the next tick tries again
        log.exception("job %s could not run", name)


def start_scheduler(ctx: AppContext) -> AsyncIOScheduler:
    """Start the jobs (on the leader only). Each job's first tick comes FIRST_TICK_SECONDS after start
    (sooner for a job that ticks more often), once the server is up: that tick is the catch-up."""
    scheduler = AsyncIOScheduler(timezone="UTC")
    # APScheduler logs two lines per tick at INFO; run_slot logs what a run did, and failures.
    logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
    started = datetime.now(UTC)
    for job in jobs():
        scheduler.add_job(
            tick,
            "interval",
            seconds=job.tick_seconds,
            args=[ctx, job.name],
            id=job.name,
            name=job.name,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=job.tick_seconds,
            next_run_time=started + timedelta(seconds=min(FIRST_TICK_SECONDS, job.tick_seconds)),
        )
    scheduler.start()
    return scheduler


# -- what runs beside the web server ----------------------------------------------------------------


class Background:
    """The leader election (and, while this server leads, the scheduler) and, on PostgreSQL, the
    alert relay between app servers. ``start`` and ``stop`` are the server's startup and shutdown."""

    def __init__(self, ctx: AppContext, *, scheduler: bool = True):
        self.ctx = ctx
        self.with_scheduler = scheduler
        self.scheduler: AsyncIOScheduler | None = None
        self.election: Election | None = None
        self.relay: PgAlertRelay | None = None

    async def start(self) -> None:
        from rapport.core.leader import Election, leadership_for, libpq_conninfo
        from rapport.core.live import PgAlertRelay

        url = self.ctx.db.engine.url
        if url.get_backend_name() == "postgresql":
            self.relay = PgAlertRelay(conninfo=libpq_conninfo(url), db=self.ctx.db, bus=self.ctx.alerts)
            await asyncio.to_thread(self.relay.start)
            self.ctx.alerts.forward_to(self.relay.notify)
        if self.with_scheduler:
            leadership = leadership_for(url, self.ctx.settings.data_dir)
            self.election = Election(
                leadership,
                on_elected=self._start_jobs,
                on_deposed=self._stop_jobs,
                retry_seconds=leader_retry_seconds(),
            )
            try:
                await self.election.check()  # lead at once if nobody does; the loop retries from here
            except Exception:
                log.exception("leader election failed at start; retrying in the background")
            self.election.start()

    def _start_jobs(self) -> None:
        if self.scheduler is None:
            self.scheduler = start_scheduler(self.ctx)

    def _stop_jobs(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None

    async def stop(self) -> None:
        if self.election is not None:
            await self.election.stop()
        self._stop_jobs()
        if self.relay is not None:
            self.ctx.alerts.forward_to(None)
            await asyncio.to_thread(self.relay.stop)
