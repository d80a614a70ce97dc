"""A region's working day on one process (QUALITY.md, "Speed and scale", mixed load): kiosk taps from 500
counters at 8 a second, 20 signed-in supervisors and administrators paging with think time, a monthly
PDF and a full CSV export being built, and the scheduler's jobs, all at once.

* Data: the generated region of benchmarks/dataset.py (20 branches, 500 counter staff, two years of
  ``--ratings`` ratings ending at dataset.NOW, one complaint per 200 ratings), copied to a throw-away
  file, grown to ``--kiosks`` counters (25 a branch at 500), each with someone on duty and one tablet
  enrolled (``register_device``), plus ``--audit`` audit entries through ``models.audit.append``.
  The process's clock is pinned to dataset.NOW and runs on from there (``models.clock.pin``), so
  "this month" on the dashboards is a full month of ratings, as on a real server at the end of a
  month; nothing asserted depends on the clock.
* Taps: ``kiosk.backend.submit_tap`` (the kiosk screen's own bridge: device token, duty, policy,
  misuse flag, insert, commit) on the kiosk lane, ``--tap-rate`` a second, open loop (tap i is due
  at start + i / rate whatever the answers take), the tablets in turn with a unique idempotency key
  each: 500 tablets at 8 a second is each one tapping every 62 s. In process, not through Flet
  websocket sessions: the supervisors' pages, the documents and the jobs must share the process and
  the interpreter with the taps (that is the contention measured), and there is no client for the
  admin app's Flet protocol; driving the admin services and the kiosk's bridge on the apps' lanes is
  what the server does under its handlers (bench_reads does the same). The cost of holding 500 Flet
  sessions (rendering, websocket frames) is measured by bench_sessions, not here.
* Sessions: ``--sessions`` sign-ins (login-session rows, as bench_dashboard makes them: the argon2 of
  a password is not what is measured), ``--admins`` of them administrators and the others the
  supervisors of different branches. Each pages in turn the complaint queue (its views in turn), the
  dashboard, a personal file (a person of the branch, or of any branch for an administrator) and,
  for administrators only (admin/backend.py ``audit_log``), the audit log, each page followed by a
  think time drawn from ``--think`` (default 2-5 s, seeded). Every page is the admin service the
  screen calls, with its sign-in check, on the admin lane.
* Documents: an administrator builds the monthly PDF of a branch (``admin.documents.monthly_report``,
  last month) and, at the same time, a full CSV export: every rating of every branch over the last
  ``--export-months`` months (``rapport.usecases.exports.ratings_csv`` in one read session, as the
  documents screen's ``_deliver`` builds its CSV). Both start early in the window, on the admin lane.
* Jobs: the job bodies of rapport/usecases/scheduler.py, called from one thread as the leader's
  ticks are (the server runs them on the event loop's default executor, not on a lane). First the
  catch-up tick of a freshly started leader: ``run_due`` of every job (SLA sweep, alert rules, the
  monthly evaluation of every branch, the spot-check draw, retention, the roll-up, the nightly
  backup of the SQLite file): the heaviest moment of a day, put inside the window on purpose. Then
  the bodies of the frequent jobs directly, faster than their real cadence so a short run sees
  several: the SLA sweep and the alert rules every ``--sweep-seconds`` (real: 60 s), the roll-up
  every 6 sweeps. Calling the bodies rather than running APScheduler with a fast clock keeps the
  cadence independent of slot arithmetic (a slot runs once; a faster clock would also move the
  kiosk's and the dashboards' "now").
* Before the window the roll-up job runs once at NOW (as on a server that has been up), and a few
  seconds of taps and pages warm the caches (not counted).

Targets: tap-to-acknowledge p95 < 150 ms; p95 < 300 ms for every kind of page; 0 errors (taps,
pages, documents, job runs); every acknowledged rating stored exactly once (rows counted by
idempotency key at the end: as many rows as acknowledged taps, no key twice, every returned id the
stored one).

    python -m benchmarks.bench_mixed                  # full: 200k ratings, 500 tablets, 150 s
    python -m benchmarks.bench_mixed --quick          # small: 50k ratings, 100 tablets, 10 s
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import BENCH_DIR, Report, header, percentile
from rapport.core.lanes import ADMIN, KIOSK

TAP_P95_TARGET_MS = 150.0
PAGE_P95_TARGET_MS = 300.0
PAGE_KINDS = ("queue", "dashboard", "personal file", "audit log")
QUEUE_VIEWS = (("open", False), ("all", False), ("open", True))
AUDIT_PREFIXES = ("", "complaint.", "auth.", "document.")
CLIENT = "192.0.2.20"
KEY_PREFIX = "mixed-"


@dataclass
class World:
    work: Path
    db: Any
    ctx: Any
    device_tokens: list[str]
    sessions: list[tuple[str, str, int | None]]  # (role, token, branch id)
    people: dict[int, list[int]]  # branch id -> counter staff
    branches: list[int]
    counts: dict[str, int] = field(default_factory=dict)


def build(*, ratings: int, seed: int, kiosks: int, sessions: int, admins: int, audit_entries: int) -> World:
    from sqlmodel import col, func, select

    from benchmarks.dataset import NOW, ensure_dataset
    from models import audit
    from models.auth import LoginSession
    from models.clock import pin
    from models.complaint import Complaint
    from models.crypto import new_token, token_digest
    from models.devices import register_device
    from models.org import Branch, Counter, Duty, Role, Staff
    from models.rating import Rating
    from rapport.core.context import AppContext
    from rapport.core.db import Database
    from rapport.core.settings import Settings

    source = ensure_dataset(ratings, seed).path
    work = Path(tempfile.mkdtemp(prefix="rapport-mixed-", dir=BENCH_DIR))
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{source}{suffix}").exists():
            shutil.copyfile(f"{source}{suffix}", work / f"rapport.db{suffix}")
    pin(NOW)  # the clock reads the data's "now" and runs on at the real rate
    db = Database.from_url(f"sqlite:///{work / 'rapport.db'}")
    settings = Settings(data_dir=work)
    ctx = AppContext(settings=settings, db=db, secret_key="bench-" + "x" * 40)
    now = ctx.clock()
    with db.write() as s:
        branches = [b for b in s.exec(select(Branch.id).order_by(col(Branch.id))).all() if b is not None]
        per_branch = -(-kiosks // len(branches))
        people: dict[int, list[int]] = {}
        for staff_id, branch_id in s.exec(
            select(Staff.id, Staff.branch_id).where(Staff.role == Role.staff.value).order_by(col(Staff.id))
        ).all():
            if staff_id is not None and branch_id is not None:
                people.setdefault(branch_id, []).append(staff_id)
        counters: list[int] = []
        for branch_id in branches:
            have = [c for c in s.exec(select(Counter.id).where(Counter.branch_id == branch_id)).all() if c]
            for k in range(len(have), per_branch):
                extra = Counter(branch_id=branch_id, code=f"M{branch_id:03d}-{k + 1:02d}",
                                name_zh=f"{k + 1}号窗口", name_en=f"Counter {k + 1}")  # fmt: skip
                s.add(extra)
                s.flush()
                assert extra.id is not None
                have.append(extra.id)
            for i, counter_id in enumerate(have[:per_branch]):
                staff = people[branch_id]
                s.add(Duty(staff_id=staff[i % len(staff)], counter_id=counter_id,
                           started_at=now - timedelta(hours=1)))  # fmt: skip
                counters.append(counter_id)
        counters = counters[:kiosks]
        supervisors = s.exec(
            select(Staff.id, Staff.branch_id)
            .where(Staff.role == Role.supervisor.value)
            .order_by(col(Staff.id))
        ).all()
        if len(supervisors) < sessions - admins:
            raise SystemExit(f"the region has {len(supervisors)} supervisors, {sessions - admins} wanted")
        admin_ids = [a for a in s.exec(select(Staff.id).where(Staff.role == Role.admin.value)).all() if a]
        for i in range(len(admin_ids), admins):
            extra_admin = Staff(employee_no=f"MADM{i:02d}", display_name=f"管理员{i:02d}", role=Role.admin,
                                branch_id=None, username=f"mixed.admin{i:02d}", created_at=now)  # fmt: skip
            s.add(extra_admin)
            s.flush()
            assert extra_admin.id is not None
            admin_ids.append(extra_admin.id)
        signed_in: list[tuple[str, str, int | None]] = []
        who = [("admin", a, None) for a in admin_ids[:admins]] + [
            ("supervisor", sid, bid) for sid, bid in supervisors[: sessions - admins]
        ]
        for role, staff_id, branch_id in who:
            token = new_token(32)
            s.add(LoginSession(token_digest=token_digest(token), staff_id=staff_id, created_at=now,
                               last_seen_at=now, client=CLIENT))  # fmt: skip
            signed_in.append((role, token, branch_id))
        s.commit()
    tokens = []
    with db.write() as s:
        for counter_id in counters:
            _device, token = register_device(s, counter_id=counter_id, label=f"mixed tablet {counter_id}")
            tokens.append(token)
    actors = [ids[0] for ids in people.values()]
    written = 0
    while written < audit_entries:
        with db.write() as s:
            for _ in range(min(500, audit_entries - written)):
                audit.append(
                    s, action=("complaint.assign", "auth.sign_in", "document.download")[written % 3],
                    entity="complaint", entity_id=written, actor_staff_id=actors[written % len(actors)],
                    details={"bench": written}, now=now,
                )  # fmt: skip
                written += 1
            s.commit()
    with db.read() as s:
        counts = {
            "ratings": s.exec(select(func.count()).select_from(Rating)).one(),
            "complaints": s.exec(select(func.count()).select_from(Complaint)).one(),
            "audit entries": s.exec(select(func.count()).select_from(audit.AuditEvent)).one(),
            "tablets": len(tokens),
        }
    return World(work, db, ctx, tokens, signed_in, people, branches, counts)


# ---------------------------------------------------------------------------------------------------
# The load


@dataclass
class Samples:
    taps: list[float] = field(default_factory=list)  # ms, handing the tap over to its acknowledgement
    tap_service: list[float] = field(default_factory=list)  # ms, submit_tap alone
    # (perf_counter at the start, ms) of every tap and page, and when the jobs' catch-up ran: to say
    # how much of a slow tail falls while the catch-up holds the database
    timeline: list[tuple[str, float, float]] = field(default_factory=list)
    catch_up: tuple[float, float] = (0.0, 0.0)
    late: int = 0
    acked: dict[str, Any] = field(default_factory=dict)  # idempotency key -> rating id
    pages: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in PAGE_KINDS})
    documents: dict[str, float] = field(default_factory=dict)  # name -> seconds
    jobs: list[tuple[str, float, int, int]] = field(default_factory=list)  # (job, s, done, failed)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _pages(
    world: World, role: str, token: str, branch_id: int | None, n: int
) -> list[tuple[str, Callable[[int], Any]]]:
    """The pages a session goes through in turn; each takes the round number (to vary the view)."""
    from admin import backend, ledger
    from admin.dashboard import dashboard

    ctx = world.ctx
    staff = (
        world.people[branch_id] if branch_id is not None else [p for ps in world.people.values() for p in ps]
    )

    def queue(k: int) -> Any:
        status, overdue = QUEUE_VIEWS[(k + n) % len(QUEUE_VIEWS)]
        return backend.queue(ctx, token, status=status, overdue_only=overdue)

    def personal(k: int) -> Any:
        return ledger.personal_file(ctx, token, staff[(k * 7 + n) % len(staff)])

    def audit_log(k: int) -> Any:
        return backend.audit_log(ctx, token, action_prefix=AUDIT_PREFIXES[(k + n) % len(AUDIT_PREFIXES)])

    pages: list[tuple[str, Callable[[int], Any]]] = [
        ("queue", queue), ("dashboard", lambda k: dashboard(ctx, token)), ("personal file", personal),
    ]  # fmt: skip
    if role == "admin":
        pages.append(("audit log", audit_log))
    return pages


def _documents(world: World, admin_token: str, months: int) -> dict[str, Callable[[], Any]]:
    from admin.documents import monthly_report
    from models.scores import local_month
    from rapport.usecases.exports import DateRange, ratings_csv

    ctx = world.ctx
    last_month = str(local_month(ctx.clock(), "Asia/Shanghai").previous())

    def pdf() -> int:
        return len(monthly_report(ctx, admin_token, branch_id=world.branches[0], month=last_month,
                                  locale="zh-CN").data)  # fmt: skip

    def csv() -> int:
        today = (ctx.clock() + timedelta(hours=8)).date()
        period = DateRange(today - timedelta(days=30 * months), today)
        with ctx.db.read() as session:
            return len(ratings_csv(session, period=period, branch_id=None, locale="zh-CN"))

    return {"monthly PDF report": pdf, f"CSV export, every rating of {months} month(s)": csv}


def _jobs(
    world: World, stop: threading.Event, sweep_seconds: float, into: Samples, lock: threading.Lock
) -> None:
    """The leader's ticks: the catch-up of every job once, then the frequent bodies on a fast cadence."""
    from models.jobs import RunLog
    from rapport.usecases.scheduler import ALERT_RULES, ROLLUP, SLA_SWEEP, job_named, jobs, run_due

    ctx = world.ctx

    def record(name: str, t0: float, done: int, failed: int, error: str | None = None) -> None:
        with lock:
            into.jobs.append((name, time.perf_counter() - t0, done, failed))
            if failed:
                into.errors.append(f"job {name}: {failed} item(s) failed {error or ''}".strip())

    catch_up_started = time.perf_counter()
    for job in jobs():
        t0 = time.perf_counter()
        try:
            runs = run_due(ctx, job)
        except Exception as exc:  # every failure is a counted error
            record(job.name, t0, 0, 1, f"{type(exc).__name__}: {exc}")
            continue
        done, failed = sum(r.items_done for r in runs), sum(r.items_failed for r in runs)
        record(
            f"{job.name} (catch-up)",
            t0,
            done,
            failed,
            "; ".join(r.error or "" for r in runs if r.items_failed),
        )
        if stop.is_set():
            return
    into.catch_up = (catch_up_started, time.perf_counter())
    tick = 0
    while not stop.wait(sweep_seconds):
        tick += 1
        names = [SLA_SWEEP, ALERT_RULES] + ([ROLLUP] if tick % 6 == 0 else [])
        for name in names:
            job, log, t0 = job_named(name), RunLog(), time.perf_counter()
            try:
                job.body(ctx, f"bench-{tick}", ctx.clock(), log)
            except Exception as exc:
                record(name, t0, log.done, log.failed + 1, f"{type(exc).__name__}: {exc}")
            else:
                record(name, t0, log.done, log.failed)


def run(
    world: World, *, seconds: float, rate: float, tap_threads: int, think: tuple[float, float], seed: int,
    export_months: int, sweep_seconds: float, tag: str, with_extras: bool, into: Samples,
) -> None:  # fmt: skip
    from kiosk.backend import submit_tap

    stop = threading.Event()
    lock = threading.Lock()
    kiosk_lane = ThreadPoolExecutor(max_workers=KIOSK.threads, thread_name_prefix="bench-kiosk")
    admin_lane = ThreadPoolExecutor(max_workers=ADMIN.threads, thread_name_prefix="bench-admin")
    gate = threading.Barrier(len(world.sessions) + tap_threads + 1)
    started = [0.0]

    def session(n: int, role: str, token: str, branch_id: int | None) -> None:
        rng = random.Random(seed * 1000 + n)
        pages = _pages(world, role, token, branch_id, n)
        gate.wait()
        # Sessions start spread over the first think time, as people do, not all in one instant.
        if stop.wait(rng.uniform(0, think[1])):
            return
        k = n  # each session starts at a different page, so every kind is asked for from the start
        while not stop.is_set():
            kind, call = pages[k % len(pages)]
            t0 = time.perf_counter()
            try:
                admin_lane.submit(call, k // len(pages)).result()
            except Exception as exc:  # every failure is a counted error
                with lock:
                    into.errors.append(f"{kind}: {type(exc).__name__}: {exc}")
            else:
                ms = (time.perf_counter() - t0) * 1000
                with lock:
                    into.pages[kind].append(ms)
                    into.timeline.append(("page", t0, ms))
            k += 1
            stop.wait(rng.uniform(*think))

    def tap(token: str, key: str, score: int) -> tuple[Any, float]:
        t0 = time.perf_counter()
        rid = submit_tap(world.ctx, device_token=token, idempotency_key=key, score=score, staff_no=None)
        return rid, (time.perf_counter() - t0) * 1000

    def tapper(j: int) -> None:
        gate.wait()
        i = j
        while True:
            due = started[0] + i / rate
            if due >= started[0] + seconds:
                return
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            token = world.device_tokens[i % len(world.device_tokens)]
            key = f"{KEY_PREFIX}{tag}-{i:06d}-{uuid.uuid4().hex[:8]}"
            t0 = time.perf_counter()
            try:
                rid, own = kiosk_lane.submit(tap, token, key, 5 - i % 4).result()
            except Exception as exc:  # every failure is a counted error
                with lock:
                    into.errors.append(f"tap: {type(exc).__name__}: {exc}")
            else:
                ms = (time.perf_counter() - t0) * 1000
                with lock:
                    into.taps.append(ms)
                    into.timeline.append(("tap", t0, ms))
                    into.tap_service.append(own)
                    into.late += wait < -0.01
                    into.acked[key] = rid
            i += tap_threads

    threads = [
        threading.Thread(target=session, args=(n, role, token, branch_id), daemon=True)
        for n, (role, token, branch_id) in enumerate(world.sessions)
    ] + [threading.Thread(target=tapper, args=(j,), daemon=True) for j in range(tap_threads)]
    for t in threads:
        t.start()
    documents: list[tuple[str, Future[tuple[int, float, float]]]] = []
    started[0] = time.perf_counter() + 0.05
    gate.wait()

    def timed(build_doc: Callable[[], int]) -> tuple[int, float, float]:
        t0 = time.perf_counter()
        size = build_doc()
        return size, time.perf_counter() - t0, time.perf_counter()

    if with_extras:
        jobs = threading.Thread(target=_jobs, args=(world, stop, sweep_seconds, into, lock), daemon=True)
        time.sleep(min(5.0, seconds / 10))
        jobs.start()
        admin_token = next(token for role, token, _b in world.sessions if role == "admin")
        for name, build_doc in _documents(world, admin_token, export_months).items():
            documents.append((name, admin_lane.submit(timed, build_doc)))
    time.sleep(max(0.0, started[0] + seconds - time.perf_counter()))
    for name, fut in documents:
        try:
            size, took, ended = fut.result(timeout=600)
        except Exception as exc:  # every failure is a counted error
            into.errors.append(f"{name}: {type(exc).__name__}: {exc}")
        else:
            into.documents[f"{name} ({size / 1e6:.1f} MB)"] = took
            if ended > started[0] + seconds:
                into.notes.append(
                    f"the {name} finished {ended - started[0] - seconds:.1f} s after the window"
                )
    stop.set()
    for t in threads + ([jobs] if with_extras else []):
        t.join(timeout=120)
        if t.is_alive():
            into.errors.append(f"thread {t.name} did not finish within 120 s of the end")
    kiosk_lane.shutdown(wait=True)
    admin_lane.shutdown(wait=True)


def stored_once(world: World, acked: dict[str, Any], prefix: str) -> tuple[int, int, int]:
    """(rows with the benchmark's keys, keys stored more than once, acknowledged taps whose key is
    missing or names another rating)."""
    from sqlalchemy import text

    with world.db.read() as s:
        rows = s.execute(
            text("SELECT idempotency_key, id FROM rating WHERE idempotency_key LIKE :p"),
            {"p": prefix + "%"},
        ).all()
    seen: dict[str, list[str]] = {}
    for key, rid in rows:
        seen.setdefault(key, []).append(str(rid).replace("-", ""))
    twice = sum(1 for ids in seen.values() if len(ids) > 1)
    wrong = sum(1 for key, rid in acked.items() if seen.get(key) != [rid.hex])
    return len(rows), twice, wrong


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (for make bench-quick)")
    parser.add_argument("--ratings", type=int, help="size of the generated region (default 200,000)")
    parser.add_argument("--kiosks", type=int, help="tablets, one per counter (default 500)")
    parser.add_argument("--sessions", type=int, default=20, help="signed-in admin-app sessions")
    parser.add_argument("--admins", type=int, default=5, help="how many of them are administrators")
    parser.add_argument("--tap-rate", type=float, default=8.0, help="kiosk taps a second (open loop)")
    parser.add_argument("--tap-threads", type=int, default=16, help="kiosk client threads (taps in turn)")
    parser.add_argument("--think", type=float, nargs=2, default=(2.0, 5.0), metavar=("MIN", "MAX"),
                        help="seconds between a session's pages (uniform)")  # fmt: skip
    parser.add_argument("--seconds", type=float, help="length of the measured window")
    parser.add_argument("--audit", type=int, help="audit entries appended to the log")
    parser.add_argument("--export-months", type=int, help="months of every branch's ratings in the CSV")
    parser.add_argument("--sweep-seconds", type=float, default=10.0, help="SLA sweep and alert rules period")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    ratings = args.ratings or (50_000 if args.quick else 200_000)
    kiosks = args.kiosks or (100 if args.quick else 500)
    seconds = args.seconds or (10.0 if args.quick else 150.0)
    audit_entries = args.audit if args.audit is not None else (300 if args.quick else 10_000)
    export_months = args.export_months or (1 if args.quick else 12)
    if not 1 <= args.admins <= args.sessions:
        parser.error("--admins must be between 1 and --sessions (an administrator builds the documents)")
    params = {
        "ratings": ratings, "kiosks": kiosks, "sessions": args.sessions, "admins": args.admins,
        "tap_rate": args.tap_rate, "think": list(args.think), "seconds": seconds, "audit": audit_entries,
        "export_months": export_months, "sweep_seconds": args.sweep_seconds, "kiosk_lane": KIOSK.threads,
        "admin_lane": ADMIN.threads,
    }  # fmt: skip
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    header("bench_mixed: taps, pages, documents and jobs at once", **params)
    report = Report("bench_mixed", params)
    t0 = time.monotonic()
    world = build(ratings=ratings, seed=args.seed, kiosks=kiosks, sessions=args.sessions, admins=args.admins,
                  audit_entries=audit_entries)  # fmt: skip
    samples = Samples()
    try:
        from rapport.usecases.scheduler import ROLLUP, job_named, run_due

        run_due(world.ctx, job_named(ROLLUP))  # a server that has been up has counted the closed days
        built = ", ".join(f"{v:,} {k}" for k, v in world.counts.items())
        print(f"   built in {time.monotonic() - t0:.0f} s: {built}; {args.sessions - args.admins} supervisors"
              f" and {args.admins} administrators signed in", flush=True)  # fmt: skip
        common = {"rate": args.tap_rate, "tap_threads": args.tap_threads, "think": tuple(args.think),
                  "seed": args.seed, "export_months": export_months,
                  "sweep_seconds": args.sweep_seconds}  # fmt: skip
        run(world, seconds=3.0, tag="warm", with_extras=False, into=Samples(), **common)  # type: ignore[arg-type]
        run(world, seconds=seconds, tag="run", with_extras=True, into=samples, **common)  # type: ignore[arg-type]
        rows, twice, wrong = stored_once(world, samples.acked, f"{KEY_PREFIX}run-")
        world.db.dispose()
    finally:
        from models.clock import pin

        pin(None)
        shutil.rmtree(world.work, ignore_errors=True)

    offered = int(seconds * args.tap_rate)
    report.add(f"taps acknowledged (offered {offered:,} at {args.tap_rate:g}/s)", len(samples.taps), "")
    report.add("taps started late (> 10 ms behind schedule)", samples.late, "")
    report.add("tap-to-acknowledge p50", percentile(samples.taps, 50), "ms")
    report.add("tap-to-acknowledge p95", percentile(samples.taps, 95), "ms", ("<", TAP_P95_TARGET_MS))
    report.add("tap-to-acknowledge p99", percentile(samples.taps, 99), "ms")
    report.add(
        "submit_tap alone p95 (without the wait for a worker)", percentile(samples.tap_service, 95), "ms"
    )
    lo, hi = samples.catch_up
    for what in ("tap", "page"):
        during = [ms for w, at, ms in samples.timeline if w == what and lo <= at <= hi]
        outside = [ms for w, at, ms in samples.timeline if w == what and not lo <= at <= hi]
        report.add(f"{what} p95 while the jobs' catch-up ran ({hi - lo:.1f} s, {len(during)} {what}s)",
                   percentile(during, 95), "ms")  # fmt: skip
        report.add(f"{what} p95 outside it ({len(outside)} {what}s)", percentile(outside, 95), "ms")
    for kind in PAGE_KINDS:
        got = samples.pages[kind]
        report.add(f"{kind} pages done", len(got), "")
        report.add(f"{kind} page p50", percentile(got, 50), "ms")
        report.add(f"{kind} page p95", percentile(got, 95), "ms", ("<", PAGE_P95_TARGET_MS))
    for name, secs in samples.documents.items():
        report.add(f"{name}: built in", secs, "s")
    jobs: dict[str, list[float]] = {}
    for name, secs, _done, _failed in samples.jobs:
        jobs.setdefault(name, []).append(secs)
    for name, times in jobs.items():
        report.add(f"job {name}: runs {len(times)}, longest", max(times), "s")
    report.add("errors (taps, pages, documents, jobs)", len(samples.errors), "", ("==", 0))
    report.add("rows stored with the benchmark's keys - taps acknowledged", rows - len(samples.acked), "",
               ("==", 0))  # fmt: skip
    report.add("idempotency keys stored more than once", twice, "", ("==", 0))
    report.add("acknowledged taps missing or stored under another id", wrong, "", ("==", 0))
    for text in samples.notes:
        report.note(text)
    for err in samples.errors[:8]:
        report.note(f"error: {err}")
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
