"""Scheduled jobs with the clock controlled: each job's effect, one run per slot even with two
schedulers racing, catch-up after downtime, failing items recorded and skipped, and one scheduler per
deployment (two real server processes on one data directory)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel, col, select

import models.retention
from models.alerts import Alert
from models.audit import AuditEvent
from models.catalog import load_catalog
from models.complaint import (
    Complaint,
    ComplaintCreate,
    ComplaintEvent,
    ComplaintStatus,
    file_complaint,
    transition,
)
from models.inspection import SpotCheckTask
from models.jobs import MAX_ATTEMPTS, RETRY_AFTER, STALE_AFTER, JobRun, JobStatus, RunLog
from models.org import Branch
from models.rating import Channel, Rating
from models.sanction import Evaluation
from rapport.core.context import AppContext
from rapport.core.db import Database
from rapport.core.leader import FileLeadership
from rapport.core.migrate import upgrade
from rapport.core.settings import Settings
from rapport.usecases import scheduler
from rapport.usecases.alerting import after_rating
from rapport.usecases.backup import backup_sqlite, read_manifest
from rapport.usecases.scheduler import Job, job_named, run_due, run_slot
from tests.conftest import BACKENDS
from tests.serving import clean_env, free_port, stop, wait_until_up

FRIDAY = datetime(2026, 11, 27, 2, 5, tzinfo=UTC)  # Friday 10:05 in Shanghai, ISO week 2026-W48
PHONE = "13812345678"


def at(ctx: AppContext, moment: datetime) -> None:
    ctx.clock = lambda: moment


def job_runs(db: Database, job: str | None = None) -> list[JobRun]:
    with db.read() as s:
        stmt = select(JobRun).order_by(col(JobRun.id))
        if job:
            stmt = stmt.where(JobRun.job == job)
        return list(s.exec(stmt).all())


def alerts(db: Database) -> list[tuple[str, int | None]]:
    with db.read() as s:
        return [(a.kind, a.complaint_id) for a in s.exec(select(Alert).order_by(col(Alert.id))).all()]


def file(db: Database, branch_id: int, category: str, now: datetime, contact: str | None = None) -> int:
    with db.write() as s:
        c, _code, _ = file_complaint(
            s,
            idempotency_key=f"k-{uuid.uuid4()}",
            data=ComplaintCreate(category=category, description="x", contact=contact, consent=bool(contact)),
            channel=Channel.kiosk,
            branch_id=branch_id,
            now=now,
        )
        assert c.id is not None
        return c.id


def reject(db: Database, complaint_id: int, now: datetime) -> None:
    with db.write() as s:
        transition(
            s,
            complaint_id=complaint_id,
            to=ComplaintStatus.rejected,
            actor_staff_id=None,
            note="dup",
            now=now,
        )


def rating(
    db: Database, branch_id: int, counter_id: int | None, score: int, at_: datetime, **kw: object
) -> str:
    with db.write() as s:
        r = Rating(
            idempotency_key=f"r-{uuid.uuid4()}",
            request_hash="x" * 64,
            branch_id=branch_id,
            counter_id=counter_id,
            channel=Channel.kiosk,
            score=score,
            created_at=at_,
            **kw,
        )
        s.add(r)
        s.commit()
        return str(r.id)


# ---------------------------------------------------------------------------------------------------
# Each job's effect


def test_the_sla_sweep_warns_once_before_the_deadline_and_escalates_once_after_it(ctx, db, world):
    complaint = file(db, world.branch_id, "2.2.1", FRIDAY)
    with db.read() as s:
        due = s.get(Complaint, complaint).due_at  # type: ignore[union-attr]
    sweep = job_named(scheduler.SLA_SWEEP)

    at(ctx, due - timedelta(days=2))  # not due soon yet: a run, nothing raised
    assert [r.items_done for r in run_due(ctx, sweep)] == [0]
    at(ctx, due - timedelta(hours=2))
    assert [r.items_done for r in run_due(ctx, sweep)] == [1]
    assert run_due(ctx, sweep) == [], "the same minute again is not run"
    at(ctx, due - timedelta(hours=1))
    assert [r.items_done for r in run_due(ctx, sweep)] == [0], "warned once"
    at(ctx, due + timedelta(minutes=1))
    assert [r.items_done for r in run_due(ctx, sweep)] == [1]
    at(ctx, due + timedelta(hours=3))
    assert [r.items_done for r in run_due(ctx, sweep)] == [0], "escalated once"

    assert alerts(db) == [("due_soon", complaint), ("overdue", complaint)]
    runs = job_runs(db, scheduler.SLA_SWEEP)
    assert len(runs) == len({r.slot for r in runs}) == 5 and {r.status for r in runs} == {"ok"}


def test_alert_rules_raise_the_alerts_no_hook_raised_and_never_one_twice(ctx, db, world):
    high = file(db, world.branch_id, "2.1.2", FRIDAY - timedelta(hours=1))  # integrity: high severity
    for minute in range(1, 5):  # four 1s in the window, stored without the rating's own check
        rating(db, world.branch_id, world.counter_id, 1, FRIDAY.replace(minute=minute))
    rules = job_named(scheduler.ALERT_RULES)
    at(ctx, FRIDAY)
    [run] = run_due(ctx, rules)
    assert run.items_done == 2
    assert alerts(db) == [("high_complaint", high), ("negative_burst", None)]

    # The rating's own check in the same window, and later sweeps, find the alerts already raised.
    at(ctx, FRIDAY.replace(minute=4, second=30))
    assert after_rating(ctx, branch_id=world.branch_id, counter_id=world.counter_id) is None
    for later in (1, 2, 9):
        at(ctx, FRIDAY + timedelta(minutes=later))
        assert [r.items_done for r in run_due(ctx, rules)] == [0]
    assert len(alerts(db)) == 2


def test_the_monthly_evaluation_runs_on_the_first_in_each_branch_time_zone_once(ctx, db, world):
    with db.write() as s:
        b = s.get(Branch, world.other_branch_id)
        assert b is not None
        b.timezone = "America/New_York"
        s.add(b)
        for code in ("A", "B"):  # both evaluated through September
            s.add(
                JobRun(
                    job=scheduler.EVALUATION, slot=f"{code}:2026-09", status=JobStatus.ok, started_at=FRIDAY
                )
            )
        s.commit()
    evaluation = job_named(scheduler.EVALUATION)

    at(ctx, datetime(2026, 10, 31, 15, 55, tzinfo=UTC))  # 23:55 on 31 October in Shanghai
    assert run_due(ctx, evaluation) == []
    at(ctx, datetime(2026, 10, 31, 16, 5, tzinfo=UTC))  # 00:05 on 1 November in Shanghai, still October in NY
    assert [r.slot for r in run_due(ctx, evaluation)] == ["A:2026-10"]
    assert run_due(ctx, evaluation) == []
    at(ctx, datetime(2026, 11, 1, 4, 5, tzinfo=UTC))  # 00:05 on 1 November in New York
    assert [r.slot for r in run_due(ctx, evaluation)] == ["B:2026-10"]
    at(ctx, datetime(2026, 11, 20, tzinfo=UTC))
    assert run_due(ctx, evaluation) == []

    with db.read() as s:
        done = s.exec(select(Evaluation.branch_id, Evaluation.month, Evaluation.run_by)).all()
    assert sorted(done) == [(world.branch_id, "2026-10", None), (world.other_branch_id, "2026-10", None)]


def test_the_weekly_draw_runs_once_a_week_from_monday_morning(ctx, db, world):
    draw = job_named(scheduler.SPOT_CHECK)
    monday = datetime(2026, 11, 23, 0, 5, tzinfo=UTC)  # 08:05 in Shanghai, week 2026-W48
    at(ctx, monday)
    [run] = run_due(ctx, draw)
    assert (run.slot, run.items_done) == ("2026-W48", 2)  # supervisor S1: E1 and E2
    at(ctx, monday + timedelta(days=2))
    assert run_due(ctx, draw) == []
    with db.read() as s:
        tasks = s.exec(select(SpotCheckTask)).all()
    assert len(tasks) == 2 and {t.week for t in tasks} == {"2026-W48"}
    assert all(t.window_start >= monday for t in tasks)


def test_retention_erases_contacts_past_their_time_and_old_flagged_presses_nobody_cites(ctx, db, world):
    month_ago, ten_days_ago = FRIDAY - timedelta(days=31), FRIDAY - timedelta(days=10)
    expired = file(db, world.branch_id, "2.2.1", month_ago, contact=PHONE)
    reject(db, expired, month_ago)  # erase after 30 days: yesterday
    recent = file(db, world.branch_id, "2.2.1", ten_days_ago, contact="13900001111")
    reject(db, recent, ten_days_ago)
    still_open = file(db, world.branch_id, "2.2.1", month_ago, contact="13900002222")
    old, cited = FRIDAY - timedelta(days=100), FRIDAY - timedelta(days=100)
    doomed = rating(db, world.branch_id, world.counter_id, 1, old, flagged=True, counted=False)
    kept_cited = rating(db, world.branch_id, world.counter_id, 1, cited, flagged=True, counted=False)
    kept_recent = rating(db, world.branch_id, world.counter_id, 1, ten_days_ago, flagged=True, counted=False)
    kept_counted = rating(db, world.branch_id, world.counter_id, 4, old)
    with db.write() as s:
        c = s.get(Complaint, still_open)
        assert c is not None
        c.rating_id = uuid.UUID(kept_cited)
        s.add(c)
        s.commit()

    at(ctx, FRIDAY)
    [run] = run_due(ctx, job_named(scheduler.RETENTION))
    assert (run.slot, run.status, run.items_done) == ("2026-11-27", "ok", 2)  # one contact, one press
    with db.read() as s:
        contacts = {c.id: c.contact for c in s.exec(select(Complaint)).all()}
        events = s.exec(select(ComplaintEvent).where(ComplaintEvent.kind == "contact_erased")).all()
        left = {str(r.id) for r in s.exec(select(Rating)).all()}
        actions = [e.action for e in s.exec(select(AuditEvent)).all()]
    assert contacts == {expired: None, recent: "13900001111", still_open: "13900002222"}
    assert [(e.complaint_id, e.public) for e in events] == [(expired, True)]
    assert left == {kept_cited, kept_recent, kept_counted} and doomed not in left
    assert actions.count("complaint.contact_erased") == 1 and actions.count("rating.flagged_purged") == 1
    assert run_due(ctx, job_named(scheduler.RETENTION)) == []


def test_the_nightly_backup_runs_once_a_night_and_old_backups_are_pruned(ctx, tmp_path):
    url = f"sqlite:///{tmp_path / 'rapport.db'}"
    database = Database.from_url(url)
    upgrade(database.engine)
    settings = Settings(data_dir=tmp_path, database_url=url, backup_keep=1)
    office = AppContext(settings=settings, db=database, secret_key="k" * 40)
    backup, folder = job_named(scheduler.BACKUP), tmp_path / "backups"
    try:
        at(office, FRIDAY)  # 10:05: last night's 02:30 backup is due (the server was down then)
        [run] = run_due(office, backup)
        assert (run.slot, run.status, run.items_done) == ("2026-11-27", "ok", 1)
        assert run_due(office, backup) == []
        at(office, FRIDAY + timedelta(days=1))
        [second] = run_due(office, backup)
        assert second.slot == "2026-11-28"
        [kept] = sorted(folder.glob("rapport-*.db"))  # the newest one (RAPPORT_BACKUP_KEEP=1)
        assert read_manifest(kept)["integrity_check"] == "ok" and kept.name.startswith("rapport-20261128")

        # Backups taken by hand beyond the number kept go with the next retention run.
        for hours in (1, 2):
            backup_sqlite(url, folder, now=FRIDAY + timedelta(days=1, hours=hours))
        [retention] = run_due(office, job_named(scheduler.RETENTION))
        assert retention.items_done == 2 and len(list(folder.glob("rapport-*.db"))) == 1
    finally:
        database.dispose()

    # An in-memory (or PostgreSQL) database is not backed up by this job, and the screen says so.
    assert backup.slots(ctx, FRIDAY) == [] and backup.next_due(ctx, FRIDAY) is None


# ---------------------------------------------------------------------------------------------------
# Exactly once with two schedulers


@pytest.fixture(params=BACKENDS)
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """One database that two "servers" (two engines, two contexts) open separately."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'shared.db'}"
        database = Database.from_url(url)
        upgrade(database.engine)
    else:
        url = request.getfixturevalue("pg_template")
        database = Database.from_url(url)
        tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
        with database.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    with database.write() as s:
        load_catalog(s)
        branch = Branch(code="A", name_zh="甲支行", name_en="Branch A")
        s.add(branch)
        s.commit()
    database.dispose()
    return url


def server_context(url: str, tmp_path: Path) -> AppContext:
    settings = Settings(data_dir=tmp_path, database_url=url)
    return AppContext(settings=settings, db=Database.from_url(url), secret_key="k" * 40)


def race(contexts: list[AppContext], work) -> list[object]:  # type: ignore[no-untyped-def]
    """Start ``work(ctx)`` in one thread per context at the same instant; return what each returned."""
    barrier = threading.Barrier(len(contexts))
    results: list[object] = [None] * len(contexts)
    errors: list[BaseException] = []

    def go(i: int, ctx: AppContext) -> None:
        try:
            barrier.wait()
            results[i] = work(ctx)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(i, c)) for i, c in enumerate(contexts)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert errors == []
    return results


def test_two_schedulers_racing_on_one_slot_run_its_body_once(shared_url, tmp_path):
    servers = [server_context(shared_url, tmp_path) for _ in range(2)]
    calls: list[str] = []

    def body(ctx: AppContext, slot: str, now: datetime, run: RunLog) -> None:
        calls.append(slot)
        time.sleep(0.3)  # a slow body: the other scheduler arrives while it works
        run.ok()

    job = Job("race", 60, lambda ctx, now: [f"{now:%Y-%m-%dT%H:%MZ}"], body, lambda ctx, now: now)
    for ctx in servers:
        at(ctx, FRIDAY)
    results = race(servers, lambda ctx: run_due(ctx, job))
    assert calls == ["2026-11-27T02:05Z"]
    assert sorted(len(r) for r in results) == [0, 1]  # type: ignore[arg-type]
    [row] = job_runs(servers[0].db, "race")
    assert (row.status, row.items_done, row.attempts) == ("ok", 1, 1)
    for ctx in servers:
        ctx.db.dispose()


def test_two_schedulers_racing_on_the_sla_sweep_escalate_an_overdue_complaint_once(shared_url, tmp_path):
    servers = [server_context(shared_url, tmp_path) for _ in range(2)]
    with servers[0].db.read() as s:
        branch_id = s.exec(select(Branch.id)).one()
    late = file(servers[0].db, branch_id, "2.2.1", FRIDAY - timedelta(days=30))
    for ctx in servers:
        at(ctx, FRIDAY)
    race(servers, lambda ctx: run_due(ctx, job_named(scheduler.SLA_SWEEP)))
    assert alerts(servers[0].db) == [("overdue", late)]
    assert [(r.slot, r.items_done) for r in job_runs(servers[0].db)] == [("2026-11-27T02:05Z", 1)]
    for ctx in servers:
        ctx.db.dispose()


# ---------------------------------------------------------------------------------------------------
# Catch-up after downtime, failures, stale runs


def test_after_downtime_each_missed_slot_is_caught_up_once(ctx, db, world):
    with db.write() as s:
        for job, slot in [
            (scheduler.EVALUATION, "A:2026-07"),
            (scheduler.EVALUATION, "B:2026-07"),
            (scheduler.RETENTION, "2026-11-20"),
            (scheduler.SLA_SWEEP, "2026-11-20T02:05Z"),
        ]:
            s.add(JobRun(job=job, slot=slot, status=JobStatus.ok, started_at=FRIDAY - timedelta(days=7)))
        s.commit()
    at(ctx, FRIDAY)  # back after a week down (and four months without an evaluation)

    evaluated = run_due(ctx, job_named(scheduler.EVALUATION))
    assert [r.slot for r in evaluated] == [
        "A:2026-08",
        "A:2026-09",
        "A:2026-10",
        "B:2026-08",
        "B:2026-09",
        "B:2026-10",
    ]
    # Work that is "everything due by now" folds the missed days and minutes into one run.
    assert [r.slot for r in run_due(ctx, job_named(scheduler.RETENTION))] == ["2026-11-27"]
    assert [r.slot for r in run_due(ctx, job_named(scheduler.SLA_SWEEP))] == ["2026-11-27T02:05Z"]

    for name in (scheduler.EVALUATION, scheduler.RETENTION, scheduler.SLA_SWEEP):
        assert run_due(ctx, job_named(name)) == [], f"{name} caught up twice"
    with db.read() as s:
        months = s.exec(select(Evaluation.month).where(Evaluation.branch_id == world.branch_id)).all()
    assert sorted(months) == ["2026-08", "2026-09", "2026-10"]


def test_a_failing_item_is_recorded_and_skipped_and_retried_a_bounded_number_of_times(
    ctx, db, world, monkeypatch
):
    month_ago = FRIDAY - timedelta(days=31)
    broken, fine = (file(db, world.branch_id, "2.2.1", month_ago, contact=PHONE) for _ in range(2))
    for c in (broken, fine):
        reject(db, c, month_ago)
    real = models.retention.erase_contact

    def erase(session, *, complaint_id, now):  # type: ignore[no-untyped-def]
        if complaint_id == broken:
            raise RuntimeError(f"cannot erase {PHONE}")  # a message with personal data in it
        return real(session, complaint_id=complaint_id, now=now)

    monkeypatch.setattr(models.retention, "erase_contact", erase)
    retention = job_named(scheduler.RETENTION)
    at(ctx, FRIDAY)
    [run] = run_due(ctx, retention)
    assert (run.status, run.items_done, run.items_failed) == ("failed", 1, 1)
    assert run.error == f"complaint {broken}: RuntimeError" and PHONE not in (run.error or "")
    with db.read() as s:
        assert s.get(Complaint, fine).contact is None  # type: ignore[union-attr]
        assert s.get(Complaint, broken).contact == PHONE  # type: ignore[union-attr]

    assert run_due(ctx, retention) == [], "not retried at once"
    monkeypatch.setattr(models.retention, "erase_contact", real)  # the cause is fixed
    at(ctx, FRIDAY + RETRY_AFTER)
    [retry] = run_due(ctx, retention)
    assert (retry.slot, retry.status, retry.attempts, retry.items_done) == ("2026-11-27", "ok", 2, 1)

    # A body that always fails is tried MAX_ATTEMPTS times in all, then left recorded as failed.
    def explode(ctx: AppContext, slot: str, now: datetime, run: RunLog) -> None:
        raise ValueError("boom")

    bad = Job("bad", 60, lambda ctx, now: ["only"], explode, lambda ctx, now: now)
    tries = []
    for step in range(MAX_ATTEMPTS + 2):
        at(ctx, FRIDAY + step * RETRY_AFTER)
        tries += run_due(ctx, bad)
    assert [(r.status, r.attempts, r.error) for r in tries] == [
        ("failed", n, "run: ValueError") for n in range(1, MAX_ATTEMPTS + 1)
    ]


def test_a_run_left_running_by_a_dead_process_is_taken_over_once(ctx, db):
    with db.write() as s:
        s.add(JobRun(job="stuck", slot="s", started_at=FRIDAY - STALE_AFTER, runner="gone:1"))
        s.commit()
    done: list[str] = []
    job = Job(
        "stuck", 60, lambda ctx, now: ["s"], lambda c, slot, now, run: done.append(slot), lambda c, n: n
    )
    at(ctx, FRIDAY - timedelta(minutes=1))
    assert run_slot(ctx, job, "s") is None, "still within its time"
    at(ctx, FRIDAY)
    taken = run_slot(ctx, job, "s")
    assert taken is not None and (taken.status, taken.attempts) == ("ok", 2) and taken.runner != "gone:1"
    assert run_slot(ctx, job, "s") is None and done == ["s"]


# ---------------------------------------------------------------------------------------------------
# One scheduler per deployment


def test_only_one_holder_of_the_lock_file_leads_until_it_lets_go(tmp_path):
    path = tmp_path / "rapport.db.scheduler-lock"
    first, second = FileLeadership(path), FileLeadership(path)
    assert first.try_acquire() and not second.try_acquire()
    assert first.still_held() and not second.still_held()
    first.release()
    assert second.try_acquire() and path.read_text().strip() == str(os.getpid())
    second.release()
    assert not FileLeadership(tmp_path / "no such directory" / "lock").try_acquire()


@pytest.fixture
def two_servers(tmp_path: Path) -> Iterator[tuple[Path, list[subprocess.Popen[bytes]]]]:
    data = tmp_path / "data"
    env = clean_env(RAPPORT_DATA_DIR=str(data), RAPPORT_SWEEP_SECONDS="1", RAPPORT_LEADER_RETRY_SECONDS="1")
    subprocess.run(
        [sys.executable, "-m", "rapport", "db", "upgrade"], env=env, check=True, capture_output=True
    )
    procs: list[subprocess.Popen[bytes]] = []
    try:
        # One after the other: two processes checking the same data directory at the same instant
        # trip over each other's write probe (rapport/core/settings.prepare_data_dir, one fixed file name).
        for n in range(2):
            port = free_port()
            log = tmp_path / f"server{n}.log"
            with log.open("wb") as out:
                procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "rapport", "serve"],
                        env={**env, "RAPPORT_PORT": str(port)},
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )
            wait_until_up(f"http://127.0.0.1:{port}/healthz", procs[n], log)
        yield data, procs
    finally:
        for p in procs:
            stop(p)


def _runners(db: Database) -> list[str]:
    return [r.runner for r in job_runs(db, scheduler.SLA_SWEEP)]


def _wait(predicate, timeout: float = 20) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_two_servers_on_one_data_directory_run_the_jobs_on_one_and_the_other_takes_over(two_servers):
    data, procs = two_servers
    db = Database.from_url(f"sqlite:///{data / 'rapport.db'}")
    try:
        _wait(lambda: len(_runners(db)) >= 3)  # a sweep a second on the leader
        time.sleep(2)  # give a second scheduler, if there were one, time to show itself
        runners = set(_runners(db))
        assert len(runners) == 1, f"jobs ran on {runners}"
        leader_pid = int(runners.pop().rsplit(":", 1)[1])
        pids = {p.pid: p for p in procs}
        assert leader_pid in pids
        follower = next(pid for pid in pids if pid != leader_pid)
        lock = data / "rapport.db.scheduler-lock"
        assert lock.read_text().strip() == str(leader_pid)

        pids[leader_pid].send_signal(signal.SIGKILL)  # no shutdown, no release: the kernel drops the lock
        pids[leader_pid].wait(10)
        _wait(lambda: _runners(db)[-1].endswith(f":{follower}"))
        runs = job_runs(db, scheduler.SLA_SWEEP)
        assert len(runs) == len({r.slot for r in runs}), "no slot ran twice"
        assert {r.runner.rsplit(":", 1)[1] for r in runs} == {str(leader_pid), str(follower)}
        assert lock.read_text().strip() == str(follower)
    finally:
        db.dispose()
