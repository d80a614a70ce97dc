"""Dashboard and personal-file queries on a generated region (QUALITY.md, "Speed and scale").

Target: on 2,000,000 ratings (500 staff, 20 branches, 2 years) every query the dashboard screen runs
has p95 < 100 ms, the staff profile < 100 ms, and the process stays under 500 MB.

What is timed, each as the screen calls it (admin/dashboard.py, admin/ledger.py):
* the dashboard's figure queries one by one (models/reports/: summary, trend, distribution,
  complaints_by_sla, clause_heat) for a supervisor (one branch) and for an administrator (all 20
  branches), and the whole ``admin.dashboard.dashboard(ctx, token)`` with its sign-in check;
* the person's page: ``models.scores.profile`` and ``leaderboard`` (the staff profile), and when
  the admin app has them, ``admin.ledger.personal_file`` and ``admin.ledger.board`` whole.
Each call is repeated (rotating over branches and people) after two warm-up calls; p50/p95 are
over the repeats. The OS page cache is warm (the database fits in memory on the target machine),
which is how a server that has been up for a while answers; the first call is printed too.

Before timing, the dataset's schema is brought up to date and the ``rating-rollup`` job runs at the
data's "now" (another child process), as it would have on a server that has been up: the month-wide
figures then read closed days from the roll-up (models/rollup.py) and count only today's ratings
and any day not rolled up. The job's first run on a file is printed (days counted, seconds); later
runs find nothing due. ``--live`` skips it and leaves the roll-up empty, so every day is counted from
the ratings (the figures before the roll-up existed; for comparison).

Every dataset is measured in a fresh child process, so its peak RSS (VmHWM) is the memory those
queries need (the Python process with SQLAlchemy, the app's modules and SQLite's page cache).

With ``RAPPORT_BENCH_DATABASE_URL=postgresql+psycopg://...`` the same region, the same roll-up and the
same queries run on PostgreSQL: each size is a schema of that database (``rapport_bench_2m``, ...),
loaded once from the cached SQLite file and reused (benchmarks/dataset.py ``ensure_pg_dataset``).
There the targets apply at 2M and at 10M (QUALITY.md), and the memory figure is the Python process
only (the server's memory is its own settings: docs/OPERATIONS.md).

    python -m benchmarks.bench_dashboard                      # 2,000,000 ratings (the target)
    python -m benchmarks.bench_dashboard --ratings 200000 --ratings 2000000 --ratings 10000000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from benchmarks.common import REPO, Report, header, peak_rss_kb, percentile
from benchmarks.dataset import NOW, ensure_dataset, ensure_pg_dataset, on_postgres

TARGET_MS = 100.0
TARGET_MEMORY_MB = 500.0
TARGET_RATINGS = 2_000_000  # targets apply at this size; other sizes are the growth table
PG_TARGET_RATINGS = 10_000_000  # on PostgreSQL they apply up to this size


def _timed(fn: Callable[[int], Any], repeat: int) -> dict[str, float]:
    first = time.perf_counter()
    fn(0)
    first_ms = (time.perf_counter() - first) * 1000
    fn(1)
    times = []
    for i in range(repeat):
        t0 = time.perf_counter()
        fn(i + 2)
        times.append((time.perf_counter() - t0) * 1000)
    return {"first": first_ms, "p50": percentile(times, 50), "p95": percentile(times, 95), "max": max(times)}


def measure(url: str, repeat: int) -> dict[str, Any]:
    """In the child process: time every query against the database at ``url``."""
    from sqlmodel import col, select

    from admin import dashboard as dash
    from models import reports, scores
    from models.auth import LoginSession
    from models.crypto import new_token, token_digest
    from models.org import Branch, Role, Staff
    from rapport.core.context import AppContext
    from rapport.core.db import Database
    from rapport.core.settings import Settings

    try:  # the ledger screens are newer than the dashboard; time them when they are there
        from admin import ledger
    except ImportError:
        ledger = None  # type: ignore[assignment]

    db = Database.from_url(url)
    ctx = AppContext(settings=Settings(), db=db, secret_key="benchmark", clock=lambda: NOW)
    month = scores.local_month(NOW, "Asia/Shanghai")
    with db.read() as s:
        branches = [b.id for b in s.exec(select(Branch).order_by(col(Branch.id))).all()]
        people = [
            p.id for p in s.exec(select(Staff).where(Staff.role == Role.staff).order_by(col(Staff.id))).all()
        ]
        supervisor = s.exec(select(Staff).where(Staff.role == Role.supervisor)).first()
        admin = s.exec(select(Staff).where(Staff.role == Role.admin)).first()
        ratings = s.exec(select(reports.func.count()).select_from(reports.Rating)).one()
    assert supervisor is not None and admin is not None and supervisor.id and admin.id
    # Sign-ins for the two screens that check one (removed again at the end).
    tokens = {"supervisor": new_token(32), "admin": new_token(32)}
    with db.write() as s:
        for who, staff_id in (("supervisor", supervisor.id), ("admin", admin.id)):
            s.add(
                LoginSession(
                    token_digest=token_digest(tokens[who]),
                    staff_id=staff_id,
                    created_at=NOW,
                    last_seen_at=NOW,
                    client="benchmark",
                )
            )
        s.commit()

    def scope(i: int, every: bool) -> list[int] | None:
        return None if every else [branches[i % len(branches)]]  # type: ignore[list-item]

    def person(i: int) -> int:
        return people[(i * 37) % len(people)]  # type: ignore[return-value]

    results: dict[str, dict[str, float]] = {}
    try:
        for label, every in (("supervisor", False), ("admin, all branches", True)):
            queries: dict[str, Callable[[Any, int], Any]] = {
                "summary": lambda s, i, e=every: reports.summary(s, branch_ids=scope(i, e), now=NOW),
                "trend (30 days)": lambda s, i, e=every: reports.trend(s, branch_ids=scope(i, e), now=NOW),
                "distribution": lambda s, i, e=every: reports.distribution(
                    s, branch_ids=scope(i, e), now=NOW
                ),
                "complaints by SLA": lambda s, i, e=every: reports.complaints_by_sla(
                    s, branch_ids=scope(i, e), now=NOW
                ),
                "clause heat map": lambda s, i, e=every: reports.clause_heat(
                    s, branch_ids=scope(i, e), now=NOW
                ),
            }
            for name, q in queries.items():

                def run(i: int, q: Callable[[Any, int], Any] = q) -> None:
                    with db.read() as s:
                        q(s, i)

                results[f"dashboard {name} [{label}]"] = _timed(run, repeat)
        results["dashboard screen, whole [supervisor]"] = _timed(
            lambda i: dash.dashboard(ctx, tokens["supervisor"]), repeat
        )
        results["dashboard screen, whole [admin]"] = _timed(
            lambda i: dash.dashboard(ctx, tokens["admin"]), repeat
        )

        def profile(i: int) -> None:
            with db.read() as s:
                scores.profile(s, person(i), month)

        def leaderboard(i: int) -> None:
            with db.read() as s:
                scores.leaderboard(s, branches[i % len(branches)], month)  # type: ignore[arg-type]

        results["staff profile (scores.profile)"] = _timed(profile, repeat)
        results["leaderboard (scores.leaderboard)"] = _timed(leaderboard, repeat)
        if ledger is not None and hasattr(ledger, "personal_file"):
            results["personal file screen, whole [admin]"] = _timed(
                lambda i: ledger.personal_file(ctx, tokens["admin"], person(i)), repeat
            )
            results["leaderboard screen, whole [admin]"] = _timed(
                lambda i: ledger.board(ctx, tokens["admin"], branch_id=branches[i % len(branches)]), repeat
            )
    finally:
        with db.write() as s:
            for row in s.exec(select(LoginSession).where(LoginSession.client == "benchmark")).all():
                s.delete(row)
            s.commit()
        db.dispose()
    return {"ratings": int(ratings), "queries": results, "peak_rss_mb": peak_rss_kb() / 1024}


def roll_up(url: str, *, clear: bool) -> dict[str, Any]:
    """In a child process: the roll-up job at the data's "now", as the server would have run it; or,
    with ``clear``, an empty roll-up (every day is then read from the ratings)."""
    from sqlmodel import delete

    from models.jobs import RunLog
    from models.rollup import RatingDay, RatingDayMark
    from rapport.core.context import AppContext
    from rapport.core.db import Database
    from rapport.core.settings import Settings
    from rapport.usecases.scheduler import ROLLUP, job_named, run_slot

    db = Database.from_url(url)
    ctx = AppContext(settings=Settings(), db=db, secret_key="benchmark", clock=lambda: NOW)
    if clear:
        with db.write() as session:
            session.exec(delete(RatingDay))
            session.exec(delete(RatingDayMark))
            session.commit()
        db.dispose()
        return {"days": 0, "failed": 0, "seconds": 0.0}
    started = time.perf_counter()
    job = job_named(ROLLUP)
    done = failed = 0
    for slot in job.slots(ctx, NOW):
        run = run_slot(ctx, job, slot, NOW)
        if run is None:  # this hour's run already happened on this file: run the body again (idempotent)
            log = RunLog()
            job.body(ctx, slot, NOW, log)
            done, failed = done + log.done, failed + log.failed
        else:
            done, failed = done + run.items_done, failed + run.items_failed
    db.dispose()
    return {"days": done, "failed": failed, "seconds": time.perf_counter() - started}


def _child(ratings: int, seed: int, repeat: int, live: bool) -> dict[str, Any]:
    data = ensure_pg_dataset(ratings, seed) if on_postgres() else ensure_dataset(ratings, seed)
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_dashboard", "--roll-up", data.url]
        + (["--live"] if live else []),
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    )
    rolled = json.loads(out.stdout.strip().splitlines()[-1])
    if rolled["failed"]:
        raise SystemExit(f"the roll-up job failed on {rolled['failed']} day(s) of {data.path}")
    if live:
        print("   roll-up emptied: every day is counted from the ratings", flush=True)
    else:
        print(f"   roll-up job: {rolled['days']} day(s) counted in {rolled['seconds']:.1f} s", flush=True)
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_dashboard", "--measure", data.url, "--repeat", str(repeat)],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ratings", type=int, action="append", help="dataset size (repeatable)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=40, help="timed calls per query")
    parser.add_argument("--live", action="store_true", help="leave the roll-up empty (for comparison)")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # child mode: database URL
    parser.add_argument("--roll-up", help=argparse.SUPPRESS)  # child mode: database URL
    args = parser.parse_args()
    if args.roll_up:
        print(json.dumps(roll_up(args.roll_up, clear=args.live)))
        return 0
    if args.measure:
        print(json.dumps(measure(args.measure, args.repeat)))
        return 0
    sizes = args.ratings or [TARGET_RATINGS]
    pg = on_postgres()
    database = "PostgreSQL" if pg else "SQLite"
    header(
        f"bench_dashboard: dashboard and personal-file queries on {database}", sizes=sizes, repeat=args.repeat
    )
    report = Report(
        "bench_dashboard_pg" if pg else "bench_dashboard",
        {"sizes": sizes, "seed": args.seed, "repeat": args.repeat, "live": args.live, "database": database},
    )
    growth: dict[int, dict[str, Any]] = {}
    for n in sizes:
        result = _child(n, args.seed, args.repeat, args.live)
        growth[n] = result
        # Targets apply at 2M and below (PostgreSQL: 10M); above, the figures are the growth table.
        judged = n <= (PG_TARGET_RATINGS if pg else TARGET_RATINGS)
        print(f"-- {result['ratings']:,} ratings (first call / p50 / p95 / max, ms)", flush=True)
        for name, t in result["queries"].items():
            print(f"       {name:<52} {t['first']:8.1f} {t['p50']:8.1f} {t['p95']:8.1f} {t['max']:8.1f}")
        for name, t in result["queries"].items():
            # A whole dashboard is several queries in a row: shown, but the target is per query.
            query = judged and not name.startswith("dashboard screen")
            report.add(f"{name} p95 @{n:,}", t["p95"], "ms", ("<", TARGET_MS) if query else None)
        report.add(
            f"peak memory of the query process @{n:,}",
            result["peak_rss_mb"],
            "MB",
            ("<", TARGET_MEMORY_MB) if judged else None,
        )
    report.params["growth"] = growth
    if len(sizes) > 1:
        names = list(next(iter(growth.values()))["queries"])
        print("-- growth (p95 ms)")
        print("   " + f"{'query':<52}" + "".join(f"{n:>12,}" for n in sizes))
        for name in names:
            cells = "".join(
                f"{growth[n]['queries'].get(name, {}).get('p95', float('nan')):>12.1f}" for n in sizes
            )
            print(f"   {name:<52}{cells}")
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
