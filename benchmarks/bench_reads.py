"""Reads out of write transactions (issue 17): kiosk tap-to-acknowledge while 20 admin-app sessions page
the complaint queue and the audit log, with those reads in write transactions ("before") and in read
sessions ("after", the code as it is), in one run, on one database file, under the same load.

Why: on SQLite a write transaction is ``BEGIN IMMEDIATE`` behind the process-wide write lock
(rapport/core/db.py ``write_lock_for``), so a list or view that reads inside one holds the lock for its
whole read and every kiosk tap queues behind it. Since commit 5d6b8a9 the admin services resume the
sign-in in a short write (admin/access.py ``caller``) and read in ``ctx.db.read()``: a deferred
transaction, a WAL reader that never waits for the writer and that the writer never waits for.

* Data: the generated region of benchmarks/dataset.py (20 branches, 100 counters, 500 counter staff,
  ``--ratings`` ratings and one complaint per 200 of them), copied to a throw-away file, plus
  ``--audit`` entries appended to the audit log through ``models.audit.append`` (its hash chain),
  someone on duty at every counter and one tablet enrolled per counter (``register_device``).
* Sessions: ``--sessions`` sign-ins through ``models.auth.authenticate`` (a password, argon2 at the
  production cost). The audit log is for administrators only (admin/backend.py ``audit_log``), so
  ``--admins`` of them are administrators, each paging the queue of every branch and the audit log in
  turn, and the others the region's supervisors, each paging their branch's queue; a page is one
  of the screen's views (open, all, overdue; the audit log by action prefix), in turn, back to back
  with no pause: each session clicks as fast as the answers come.
* Taps: ``kiosk.backend.submit_tap`` (the kiosk screen's own bridge) from ``--tap-threads`` threads
  at a fixed ``--tap-rate`` (open loop: tap i is due at start + i / rate, whatever the answers take;
  a tap that could not start on time is counted as late), a unique idempotency key each, the
  tablets in turn.
* Threads: as in the server, ``rapport serve`` is one event loop and each Flet handler hands its
  database work to a thread of its app's lane (rapport/core/lanes.py): the taps to the kiosk's
  (``KIOSK.threads``), the pages to the admin app's (``ADMIN.threads``), each first come first
  served. The sessions and the tablets are client threads that hand their call over and wait.
  Tap-to-acknowledgement is from handing the tap over to submit_tap's return (the wait for a
  worker included, as the kiosk sees it); submit_tap's own time is printed too.
* Phases: "before" runs the sessions' calls with a context whose ``db.read()`` is ``db.write()``
  (:class:`ReadsInWrites`, on the same engine and so the same write lock; no production code
  changes), which is what every list and view did before 5d6b8a9 (then the resume and the read were
  one write transaction; here they are two, which favours "before" slightly). "after" is the code as
  it is. "shared" is "after" with every call (page or tap) on ONE pool of ``--shared-workers``
  threads, as the server ran before the lanes: asyncio.to_thread, the loop's default executor
  (min(32, cores + 4): 6 on 2 cores). The kiosk always uses the plain context. Each round runs the
  phases in a rotated order (before/after/shared, after/shared/before, ...) so drift in the
  machine's load falls on all; the latencies of all rounds are pooled per phase.

Targets: tap p95 "after" < 150 ms (docs/QUALITY.md's tap-to-acknowledge target, here under mixed
load), "after" no slower than "before" (before / after >= 1), and no errors.

    python -m benchmarks.bench_reads                  # full
    python -m benchmarks.bench_reads --quick          # small
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks.common import BENCH_DIR, Report, header, percentile
from rapport.core.lanes import ADMIN, KIOSK

TAP_P95_TARGET_MS = 150.0
# asyncio's default executor (what every handler's asyncio.to_thread ran on before the lanes).
SHARED_WORKERS = min(32, (os.cpu_count() or 1) + 4)
PHASES = ("before", "after", "shared")
PASSWORD = "bench horse battery 42"
CLIENT = "192.0.2.10"
# The queue screen's views (status, overdue only) and the audit log's action filters, paged in turn.
QUEUE_VIEWS = (("open", False), ("all", False), ("open", True))
AUDIT_PREFIXES = ("", "complaint.", "auth.", "staff.", "")
AUDIT_ACTIONS = (
    "complaint.assign",
    "complaint.investigation",
    "complaint.reveal_contact",
    "staff.qr_token_rotate",
    "inspection.record",
    "policy.update",
    "document.download",
    "calendar.set",
)


# ---------------------------------------------------------------------------------------------------
# "before": every read in a write transaction


def reads_in_writes(db: Any) -> Any:
    """A ``Database`` on the same engine (so the same file and the same write lock) whose ``read()``
    is a write transaction: the admin services as they were before commit 5d6b8a9."""
    from rapport.core.db import Database

    class ReadsInWrites(Database):
        @contextmanager
        def read(self) -> Iterator[Any]:
            with self.write() as session:
                yield session

    return ReadsInWrites(db.engine)


# ---------------------------------------------------------------------------------------------------
# The database: the region, the audit log, duties, tablets, sign-ins


@dataclass
class World:
    work: Path
    db: Any
    ctx: Any  # the plain context (the kiosk, and the sessions "after")
    device_tokens: list[str]
    # (login, role, token) per signed-in session
    sessions: list[tuple[str, str, str]]
    counts: dict[str, int] = field(default_factory=dict)


def _context(db: Any) -> Any:
    from rapport.core.context import AppContext
    from rapport.core.settings import Settings

    return AppContext(settings=Settings(), db=db, secret_key="bench-" + "x" * 40)


def build(*, ratings: int, seed: int, audit_entries: int, sessions: int, admins: int) -> World:
    from sqlmodel import col, func, select

    from benchmarks.dataset import ensure_dataset
    from models import audit, auth
    from models.complaint import Complaint
    from models.crypto import hash_secret
    from models.devices import register_device
    from models.org import Counter, Duty, Role, Staff
    from rapport.core.db import Database

    source = ensure_dataset(ratings, seed).path
    work = Path(tempfile.mkdtemp(prefix="rapport-reads-", dir=BENCH_DIR))
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{source}{suffix}").exists():
            shutil.copyfile(f"{source}{suffix}", work / f"rapport.db{suffix}")
    db = Database.from_url(f"sqlite:///{work / 'rapport.db'}")
    ctx = _context(db)
    now = ctx.clock()
    supervisors_needed = sessions - admins
    with db.write() as s:
        supervisors = s.exec(
            select(Staff).where(Staff.role == Role.supervisor.value).order_by(col(Staff.id))
        ).all()
        if len(supervisors) < supervisors_needed:
            raise SystemExit(f"the region has {len(supervisors)} supervisors, {supervisors_needed} wanted")
        password_hash = hash_secret(PASSWORD)  # once: argon2 at the production cost is slow on purpose
        logins = []
        for person in supervisors[:supervisors_needed]:
            person.password_hash = password_hash
            s.add(person)
            assert person.username is not None
            logins.append((person.username, Role.supervisor.value))
        for i in range(admins):
            s.add(
                Staff(
                    employee_no=f"BADM{i:02d}", display_name=f"管理员{i:02d}", role=Role.admin,
                    branch_id=None, username=f"bench.admin{i:02d}", password_hash=password_hash,
                    created_at=now,
                )
            )  # fmt: skip
            logins.append((f"bench.admin{i:02d}", Role.admin.value))
        # Someone on duty at every counter: the branch's counter staff in turn.
        counters = s.exec(select(Counter).order_by(col(Counter.id))).all()
        staff_of: dict[int, list[int]] = {}
        for staff_id, branch_id in s.exec(
            select(Staff.id, Staff.branch_id).where(Staff.role == Role.staff.value).order_by(col(Staff.id))
        ).all():
            if staff_id is not None and branch_id is not None:
                staff_of.setdefault(branch_id, []).append(staff_id)
        for i, counter in enumerate(counters):
            assert counter.id is not None
            people = staff_of[counter.branch_id]
            s.add(Duty(staff_id=people[i % len(people)], counter_id=counter.id, started_at=now))
        s.commit()
    # The audit log, through its own append (the hash chain), in transactions of 500 entries.
    actors = [staff_id for ids in staff_of.values() for staff_id in ids[:1]]
    written = 0
    while written < audit_entries:
        with db.write() as s:
            for _ in range(min(500, audit_entries - written)):
                audit.append(
                    s, action=AUDIT_ACTIONS[written % len(AUDIT_ACTIONS)], entity="complaint",
                    entity_id=written, actor_staff_id=actors[written % len(actors)],
                    details={"bench": written}, now=now,
                )  # fmt: skip
                written += 1
            s.commit()
    tokens = []
    with db.write() as s:
        for counter in counters:
            assert counter.id is not None
            _device, token = register_device(s, counter_id=counter.id, label=f"bench tablet {counter.code}")
            tokens.append(token)
    signed_in = []
    for login, role in logins:
        with db.write() as s:
            _staff, token = auth.authenticate(
                s, login=login, password=PASSWORD, client=CLIENT, now=ctx.clock()
            )
        signed_in.append((login, role, token))
    with db.read() as s:
        counts = {
            "complaints": s.exec(select(func.count()).select_from(Complaint)).one(),
            "audit entries": s.exec(select(func.count()).select_from(audit.AuditEvent)).one(),
            "counters": len(counters),
        }
    return World(work, db, ctx, tokens, signed_in, counts)


# ---------------------------------------------------------------------------------------------------
# One phase: sessions paging back to back, taps at a fixed rate


@dataclass
class Samples:
    taps: list[float] = field(default_factory=list)  # ms, tap to acknowledgement
    tap_service: list[float] = field(default_factory=list)  # ms, submit_tap alone (no wait for a worker)
    late: int = 0
    pages: dict[str, list[float]] = field(default_factory=lambda: {"queue": [], "audit": []})
    errors: list[str] = field(default_factory=list)


def _pager(admin_ctx: Any, role: str, token: str, n: int) -> Callable[[int], tuple[str, Callable[[], Any]]]:
    """The k-th page a session asks for: ("queue" | "audit", the call). A supervisor goes through
    the queue's views in turn; an administrator alternates the queue (every branch) and the audit log."""
    from admin import backend

    def page(k: int) -> tuple[str, Callable[[], Any]]:
        if role == "admin":
            if k % 2 == 1:
                prefix = AUDIT_PREFIXES[(k // 2 + n) % len(AUDIT_PREFIXES)]
                return "audit", lambda: backend.audit_log(admin_ctx, token, action_prefix=prefix)
            k //= 2
        status, overdue = QUEUE_VIEWS[(k + n) % len(QUEUE_VIEWS)]
        return "queue", lambda: backend.queue(admin_ctx, token, status=status, overdue_only=overdue)

    return page


def run_phase(
    world: World,
    admin_ctx: Any,
    *,
    seconds: float,
    rate: float,
    tap_threads: int,
    pools: tuple[int, int] | int,
    tag: str,
    into: Samples,
) -> None:
    """``seconds`` of load. ``pools`` is (kiosk threads, admin threads): taps and pages on pools of
    their own, as the server's lanes; or one number: every call on one shared pool of that many
    threads, first come first served. The sessions and the tablets are client threads that hand
    their call over and wait."""
    from kiosk.backend import submit_tap

    stop = threading.Event()
    lock = threading.Lock()
    start_gate = threading.Barrier(len(world.sessions) + tap_threads + 1)
    started = [0.0]
    if isinstance(pools, int):
        tap_pool = page_pool = ThreadPoolExecutor(max_workers=pools, thread_name_prefix="bench-shared")
    else:
        tap_pool = ThreadPoolExecutor(max_workers=pools[0], thread_name_prefix="bench-kiosk")
        page_pool = ThreadPoolExecutor(max_workers=pools[1], thread_name_prefix="bench-admin")

    def session(n: int, role: str, token: str) -> None:
        page = _pager(admin_ctx, role, token, n)
        start_gate.wait()
        k = 0
        while not stop.is_set():
            kind, call = page(k)
            k += 1
            t0 = time.perf_counter()
            try:
                page_pool.submit(call).result()
            except Exception as exc:  # every failure is a counted error
                with lock:
                    into.errors.append(f"{kind}: {type(exc).__name__}: {exc}")
                continue
            ms = (time.perf_counter() - t0) * 1000
            with lock:
                into.pages[kind].append(ms)

    def tap(token: str, key: str, score: int) -> float:
        t0 = time.perf_counter()
        submit_tap(world.ctx, device_token=token, idempotency_key=key, score=score, staff_no=None)
        return (time.perf_counter() - t0) * 1000

    def tapper(j: int) -> None:
        start_gate.wait()
        i = j
        while True:
            due = started[0] + i / rate
            if due >= started[0] + seconds:
                return
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            late = wait < -0.01
            token = world.device_tokens[i % len(world.device_tokens)]
            key = f"{tag}-{i:06d}-{uuid.uuid4().hex[:8]}"
            t0 = time.perf_counter()
            try:
                own = tap_pool.submit(partial(tap, token, key, 5 - i % 3)).result()
            except Exception as exc:  # every failure is a counted error
                with lock:
                    into.errors.append(f"tap: {type(exc).__name__}: {exc}")
            else:
                ms = (time.perf_counter() - t0) * 1000
                with lock:
                    into.taps.append(ms)
                    into.tap_service.append(own)
                    into.late += late
            i += tap_threads

    threads = [
        threading.Thread(target=session, args=(n, role, token), daemon=True)
        for n, (_login, role, token) in enumerate(world.sessions)
    ] + [threading.Thread(target=tapper, args=(j,), daemon=True) for j in range(tap_threads)]
    for t in threads:
        t.start()
    started[0] = time.perf_counter() + 0.05
    start_gate.wait()
    time.sleep(max(0.0, started[0] + seconds - time.perf_counter()))
    stop.set()
    for t in threads:
        t.join(timeout=60)
    if any(t.is_alive() for t in threads):
        into.errors.append("a thread did not finish within 60 s of the end of the phase")
    tap_pool.shutdown(wait=True)
    page_pool.shutdown(wait=True)


# ---------------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (for make bench-quick)")
    parser.add_argument("--ratings", type=int, help="size of the generated region (default 200,000)")
    parser.add_argument("--audit", type=int, help="audit entries appended to the log")
    parser.add_argument("--sessions", type=int, default=20, help="admin-app sessions paging at once")
    parser.add_argument("--admins", type=int, default=5, help="how many of them are administrators")
    parser.add_argument("--tap-rate", type=float, default=8.0, help="kiosk taps a second")
    parser.add_argument("--tap-threads", type=int, default=16, help="kiosk client threads (taps in turn)")
    parser.add_argument(
        "--shared-workers",
        type=int,
        default=SHARED_WORKERS,
        help='the one pool of the "shared" phase (default %(default)s: asyncio\'s default executor here)',
    )
    parser.add_argument("--seconds", type=float, help="length of each phase in each round")
    parser.add_argument("--rounds", type=int, help="rounds of the three phases (order rotated each round)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    ratings = args.ratings or (50_000 if args.quick else 200_000)
    audit_entries = args.audit if args.audit is not None else (2_000 if args.quick else 10_000)
    seconds = args.seconds or (5.0 if args.quick else 30.0)
    rounds = args.rounds or (1 if args.quick else 3)
    if not 0 <= args.admins <= args.sessions:
        parser.error("--admins must be between 0 and --sessions")
    params = {
        "ratings": ratings, "audit": audit_entries, "sessions": args.sessions, "admins": args.admins,
        "tap_rate": args.tap_rate, "tap_threads": args.tap_threads, "kiosk_lane": KIOSK.threads,
        "admin_lane": ADMIN.threads, "shared_workers": args.shared_workers,
        "seconds": seconds, "rounds": rounds,
    }  # fmt: skip
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    if args.shared_workers < 1:
        parser.error("--shared-workers must be at least 1")
    header("bench_reads: kiosk taps while admin sessions page, reads in writes vs read sessions", **params)
    report = Report("bench_reads", params)
    t0 = time.monotonic()
    world = build(
        ratings=ratings,
        seed=args.seed,
        audit_entries=audit_entries,
        sessions=args.sessions,
        admins=args.admins,
    )
    try:
        print(
            f"   built in {time.monotonic() - t0:.0f} s: "
            + ", ".join(f"{v:,} {k}" for k, v in world.counts.items())
            + f"; {args.sessions - args.admins} supervisors and {args.admins} administrators signed in",
            flush=True,
        )
        ctxs = {"before": replace(world.ctx, db=reads_in_writes(world.db)), "after": world.ctx,
                "shared": world.ctx}  # fmt: skip
        lanes = (KIOSK.threads, ADMIN.threads)
        pools: dict[str, tuple[int, int] | int] = {
            "before": lanes,
            "after": lanes,
            "shared": args.shared_workers,
        }
        samples = {phase: Samples() for phase in PHASES}
        warm = Samples()  # imports, statement caches, the file's pages; not counted
        run_phase(world, world.ctx, seconds=2.0, rate=args.tap_rate, tap_threads=args.tap_threads,
                  pools=lanes, tag="warm",
                  into=warm)  # fmt: skip
        for r in range(rounds):
            order = PHASES[r % 3 :] + PHASES[: r % 3]
            for phase in order:
                got = Samples()
                run_phase(
                    world, ctxs[phase], seconds=seconds, rate=args.tap_rate, tap_threads=args.tap_threads,
                    pools=pools[phase], tag=f"{phase}-{r}", into=got,
                )  # fmt: skip
                pages = got.pages["queue"] + got.pages["audit"]
                print(
                    f"     round {r + 1}/{rounds} {phase:<6}: {len(got.taps)} taps, p95 "
                    f"{percentile(got.taps, 95):,.1f} ms; {len(pages)} pages, p95 "
                    f"{percentile(pages, 95):,.1f} ms; {len(got.errors)} errors",
                    flush=True,
                )
                into = samples[phase]
                into.taps += got.taps
                into.tap_service += got.tap_service
                into.late += got.late
                for kind in into.pages:
                    into.pages[kind] += got.pages[kind]
                into.errors += got.errors
        world.db.dispose()
    finally:
        shutil.rmtree(world.work, ignore_errors=True)

    label = {
        "before": "before (reads in write transactions, lanes)",
        "after": "after (reads in read sessions, lanes)",
        "shared": "after, one shared pool (no lanes)",
    }
    for phase in PHASES:
        got = samples[phase]
        name = label[phase]
        pages = got.pages["queue"] + got.pages["audit"]
        report.add(f"{name}: taps acknowledged", len(got.taps), "")
        report.add(f"{name}: taps started late (> 10 ms behind schedule)", got.late, "")
        report.add(f"{name}: tap p50", percentile(got.taps, 50), "ms")
        target = ("<", TAP_P95_TARGET_MS) if phase == "after" else None
        report.add(f"{name}: tap p95", percentile(got.taps, 95), "ms", target)
        report.add(f"{name}: tap p99", percentile(got.taps, 99), "ms")
        report.add(f"{name}: submit_tap alone p95 (without the wait for a worker)",
                   percentile(got.tap_service, 95), "ms")  # fmt: skip
        report.add(f"{name}: pages done ({len(got.pages['queue'])} queue, {len(got.pages['audit'])} audit)",
                   len(pages), "")  # fmt: skip
        report.add(f"{name}: page p95 (queue and audit log)", percentile(pages, 95), "ms")
        report.add(f"{name}: queue page p95", percentile(got.pages["queue"], 95), "ms")
        report.add(f"{name}: audit log page p95", percentile(got.pages["audit"], 95), "ms")
        report.add(f"{name}: errors", len(got.errors), "", ("==", 0))
        for err in got.errors[:5]:
            report.note(f"{phase} error: {err}")
    before, after = percentile(samples["before"].taps, 95), percentile(samples["after"].taps, 95)
    report.add("tap p95 before / after (after no slower: >= 1)", before / after, "x", (">=", 1.0))
    own = [percentile(samples[phase].tap_service, 95) for phase in ("before", "after")]
    report.add("submit_tap alone p95 before / after", own[0] / own[1], "x")
    shared = percentile(samples["shared"].taps, 95)
    report.add("tap p95 one shared pool / lanes (both reads in read sessions)", shared / after, "x")
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
