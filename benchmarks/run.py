"""Run every benchmark, full (``make bench``) or small (``make bench-quick``), and say which missed.

Each benchmark runs as its own process (its own memory figures, no state shared) and all of them run
even when one misses, so one slow figure does not hide the others; the exit code is non-zero when
any of them missed a target or failed.

    python -m benchmarks.run full     # the targets at full size, plus the 200k / 10M growth figures
    python -m benchmarks.run quick    # small sizes, a few minutes: a smoke test of the benchmarks

With RAPPORT_BENCH_DATABASE_URL set, bench_intake and bench_dashboard run on that PostgreSQL database
(benchmarks/README.md, "On PostgreSQL") and bench_two_servers runs too (it needs PostgreSQL); the
others stay on SQLite.
"""

from __future__ import annotations

import subprocess
import sys
import time

from benchmarks.common import BENCH_DIR, REPO, machine
from benchmarks.dataset import on_postgres

PLANS: dict[str, list[list[str]]] = {
    "full": [
        [
            "bench_intake",
            "--preload",
            "0",
            "--preload",
            "200000",
            "--preload",
            "2000000",
            "--preload",
            "10000000",
        ],
        ["bench_dashboard", "--ratings", "200000", "--ratings", "2000000", "--ratings", "10000000"],
        ["bench_sessions", "--sessions", "500"],
        # Issue 20's region on one 2-core server: 2,000 live tablets, two worker processes.
        ["bench_sessions", "--sessions", "2000", "--ramp", "50", "--tap-window", "120", "--workers", "2"],
        ["bench_first_load", "--loads", "5"],
        ["bench_reads"],
        ["bench_mixed"],
    ],
    "quick": [
        ["bench_intake", "--quick"],
        ["bench_dashboard", "--ratings", "200000", "--repeat", "15"],
        ["bench_sessions", "--sessions", "100", "--tap-window", "20"],
        ["bench_first_load", "--loads", "2"],
        ["bench_reads", "--quick"],
        ["bench_mixed", "--quick"],
    ],
}

# Only with RAPPORT_BENCH_DATABASE_URL: two app servers need PostgreSQL (bench_two_servers makes and
# drops a database of its own on that server).
PG_ONLY: dict[str, list[list[str]]] = {
    "full": [["bench_two_servers", "--sessions", "1000"]],
    "quick": [["bench_two_servers", "--sessions", "200", "--tap-window", "20"]],
}


def main() -> int:
    plan = sys.argv[1] if len(sys.argv) > 1 else "quick"
    if plan not in PLANS:
        print(f"usage: python -m benchmarks.run [{' | '.join(PLANS)}]")
        return 2
    m = machine()
    where = BENCH_DIR / "results"
    print(f"Rapport benchmarks ({plan}): {m['date']}, commit {m['commit']}, {m['cores']} cores,", end=" ")
    print(f"{m['mem_gib']} GiB, load {m['load']}; results in {where}", flush=True)
    if on_postgres():
        print("bench_intake and bench_dashboard on PostgreSQL (RAPPORT_BENCH_DATABASE_URL),", end=" ")
        print("and bench_two_servers there", flush=True)
    outcome = []
    started = time.monotonic()
    steps = PLANS[plan] + (PG_ONLY[plan] if on_postgres() else [])
    for name, *args in steps:
        t0 = time.monotonic()
        code = subprocess.run([sys.executable, "-m", f"benchmarks.{name}", *args], cwd=REPO).returncode
        outcome.append((name, code, time.monotonic() - t0))
        print(flush=True)
    print(f"Summary ({plan}, {time.monotonic() - started:.0f} s):")
    for name, code, seconds in outcome:
        verdict = {0: "all targets met", 1: "target(s) MISSED"}.get(code, f"failed (exit {code})")
        print(f"  {name:<18} {verdict:<20} {seconds:6.0f} s")
    return 0 if all(code == 0 for _n, code, _s in outcome) else 1


if __name__ == "__main__":
    sys.exit(main())
