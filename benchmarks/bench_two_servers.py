"""Two app servers on one PostgreSQL, holding live kiosk sessions between them (docs/SCALING.md).

What a province's deployment looks like in small: two ``rapport serve`` processes, each with its own
data directory and port, the same ``RAPPORT_DATABASE_URL`` and secret key, as two machines behind a
proxy with sticky websockets would be. Steps:

1. A database of its own (``--database``, default ``bench_two``) on the server of
   ``RAPPORT_BENCH_DATABASE_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``):
   dropped if it exists, created, migrated, seeded with 20 branches, one enrolled tablet per
   counter, someone on duty at each, an administrator with a sign-in, and one more counter ("ALERT",
   branch 1) with four tablets. Dropped again at the end (``--keep`` keeps it).
2. Both servers start (``RAPPORT_ALERT_PROBE=1``, so each has the test-only routes of
   ``rapport/core/live.alert_probe_router`` that subscribe to its alert bus as a supervisor's screen
   does). They elect a scheduler leader between them as they would in production.
3. ``--sessions`` kiosk sessions (default 1,000), even-numbered on server A, odd on server B, opened
   in waves of ``--ramp`` and held open, each tapping 5 then "skip" once at a random moment within
   ``--tap-window`` seconds; the session driver is bench_sessions' (Flet's websocket protocol, as
   the Dart client speaks it). Five warm-up journeys per server first, on tablets of their own.
4. Alert across servers: a probe subscribes to branch 1 on each server; then four tablets at the
   ALERT counter, all on server A, tap 1 in turn. The fourth low rating in the window tips the
   policy's negative-burst rule (4 ratings in 15 minutes, half of them low) in the tap's own check
   (kiosk.backend.submit_tap -> rapport.usecases.alerting.after_rating), which publishes the alert on
   A's bus and NOTIFYs the other servers; the probe on B must receive it. If the scheduler's
   alert-rules sweep raised it instead (its job runs say so), the server that raised it is the
   leader and the check is on the other one.
5. Checks in the database and on the administrator's dashboard (``admin.dashboard.dashboard``, the
   figures the screen draws, read in this process against the same database): every acknowledged
   tap stored exactly once (rows per tablet), the dashboard's month count equal to the database's,
   and the per-counter figures of each server's tablets equal to the taps that server acknowledged.
6. Figures: session open and tap-to-acknowledge p50/p95 (all, and per server), errors (client side,
   tracebacks in each server's log), each server's RSS after warm-up, with the sessions open and
   done, and its growth per session; the CPU time (``/proc``) each server and the benchmark's own
   client used during the taps, per journey, and the servers' CPU for holding every session open
   and idle for a few seconds (the machine is shared: the load average is printed at both ends).

``--sizes N`` adds a measurement after the sessions: the rating table is grown to N rows shaped like
the ones the servers wrote (every column copied from them in turn, except a new id, a kiosk-style
idempotency key, a request hash, times rising over the last 30 days, a score and the low ones'
clause), by ``INSERT ... SELECT`` in batches through the live indexes (so the B-trees split as they
do in service rather than being built packed), then ``VACUUM ANALYZE``; heap, TOAST and every index are
measured with ``pg_relation_size`` and ``pg_total_relation_size``, per row. The average row as the
servers wrote it and as grown (``pg_column_size``) are printed side by side, to show the copies are
alike.

    python -m benchmarks.bench_two_servers                              # 1,000 sessions
    python -m benchmarks.bench_two_servers --sessions 200 --tap-window 20   # quick
    python -m benchmarks.bench_two_servers --sessions 200 --sizes 1000000   # and bytes per rating
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import sys
import tempfile
import time
from collections import Counter as Tally
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from benchmarks import bench_sessions
from benchmarks.bench_sessions import Tablet, _guard
from benchmarks.common import BENCH_DIR, Report, Server, header, percentile, rss_kb, running_server, seed_org

ACK_TARGET_MS = 150.0
MEMORY_TARGET_KB = 250.0
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SECRET = "bench-two-servers-" + "k" * 40
WARM = 5  # warm-up journeys per server
IDLE_S = 5.0  # seconds with every session open and idle, for their CPU cost
BURST = 4  # low taps at the ALERT counter: the default policy's burst_alert_min_ratings
# The alert phase taps 1 ("rate-1"), which bench_sessions' driver does not look for by default.
bench_sessions.WANTED_KEYS = (*bench_sessions.WANTED_KEYS, "rate-1")


# ---------------------------------------------------------------------------------------------------
# The database


def _admin_engine(base: str) -> Any:
    from sqlalchemy import create_engine

    return create_engine(base, isolation_level="AUTOCOMMIT")


def create_database(base: str, name: str) -> str:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    admin = _admin_engine(base)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(base).set(database=name).render_as_string(hide_password=False)


def drop_database(base: str, name: str) -> None:
    from sqlalchemy import text

    admin = _admin_engine(base)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def prepare(url: str, sessions: int) -> dict[str, Any]:
    """Schema, organisation, tablets, the ALERT counter and an administrator's sign-in."""
    from models.auth import LoginSession
    from models.clock import utcnow
    from models.crypto import new_token, token_digest
    from models.devices import register_device
    from models.org import Counter, Duty, Role, Staff
    from rapport.core.db import Database
    from rapport.core.migrate import upgrade

    db = Database.from_url(url)
    upgrade(db.engine)
    tablets = sessions + 2 * WARM
    per_branch = max(1, -(-tablets // 20))  # every tablet at a counter of its own
    org = seed_org(
        db, branches=20, counters_per_branch=per_branch, staff_per_branch=per_branch, devices=tablets
    )
    branch = org.branch_ids[0]
    now = utcnow()
    admin_token = new_token(32)
    with db.write() as s:
        counter = Counter(branch_id=branch, code="ALERT", name_zh="告警窗口", name_en="Alert counter")
        s.add(counter)
        s.flush()
        assert counter.id is not None
        s.add(Duty(staff_id=org.staff_ids[0], counter_id=counter.id, started_at=now))
        admin = Staff(employee_no="ADMIN", display_name="管理员", role=Role.admin)
        s.add(admin)
        s.flush()
        assert admin.id is not None
        s.add(
            LoginSession(
                token_digest=token_digest(admin_token),
                staff_id=admin.id,
                created_at=now,
                last_seen_at=now,
                client="benchmark",
            )
        )
        s.commit()
        alert_counter = counter.id
    with db.write() as s:
        burst = [
            register_device(s, counter_id=alert_counter, label=f"alert tablet {i}")[1] for i in range(BURST)
        ]
    db.dispose()
    return {
        "url": url,
        "devices": org.devices,  # (device id, counter id, token)
        "branch": branch,
        "alert_counter": alert_counter,
        "burst_tokens": burst,
        "admin_token": admin_token,
    }


# ---------------------------------------------------------------------------------------------------
# The sessions


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wal_lsn(url: str, since: str | None = None) -> Any:
    """The database server's current WAL position, or the bytes written since ``since``."""
    import psycopg

    from benchmarks.dataset import libpq

    with psycopg.connect(libpq(url), autocommit=True) as conn:
        if since is None:
            return str(conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0])  # type: ignore[index]
        diff = conn.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)", (since,)).fetchone()
        return int(diff[0])  # type: ignore[index]


def database_connections(url: str) -> int:
    """Connections the app servers hold to the database now (this query's own left out)."""
    import psycopg

    from benchmarks.dataset import libpq

    with psycopg.connect(libpq(url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
        return int(row[0])  # type: ignore[index]


async def _probe(client: Any, server: Server, branch: int) -> int:
    answer = await client.post(f"{server.url}/_probe/alerts", params={"branch_id": branch})
    answer.raise_for_status()
    return int(answer.json()["token"])


async def _inbox(client: Any, server: Server, token: int, wait: float) -> list[dict[str, Any]]:
    answer = await client.get(f"{server.url}/_probe/alerts/{token}", params={"wait": wait}, timeout=wait + 5)
    answer.raise_for_status()
    return list(answer.json()["alerts"])


async def _run(
    servers: list[Server], world: dict[str, Any], n: int, ramp: int, window: float
) -> dict[str, Any]:
    import httpx

    devices = world["devices"]
    tokens = [token for _d, _c, token in devices]
    # Warm-up: a few full journeys on each server, on tablets of their own.
    for k, server in enumerate(servers):
        for i in range(WARM):
            t = Tablet(-1 - i, server.url, tokens[n + k * WARM + i])
            await t.open()
            await t.journey(0)
            await t.close()
    await asyncio.sleep(3)
    baseline = [rss_kb(s.pid) for s in servers]

    tablets = [Tablet(i, servers[i % 2].url, tokens[i]) for i in range(n)]
    t0 = time.perf_counter()
    for start in range(0, n, ramp):
        await asyncio.gather(*(_guard(t, t.open()) for t in tablets[start : start + ramp]))
    opened_s = time.perf_counter() - t0
    await asyncio.sleep(2)
    opened = [rss_kb(s.pid) for s in servers]
    idle0 = [cpu_s(s.pid) for s in servers]
    await asyncio.sleep(IDLE_S)  # every session open, nobody tapping: what holding them costs
    idle_cpu = [cpu_s(s.pid) - c for s, c in zip(servers, idle0, strict=True)]

    rng = random.Random(7)
    ready = [t for t in tablets if t.error is None]
    cpu0 = [cpu_s(s.pid) for s in servers] + [time.process_time()]
    wal0 = wal_lsn(world["url"])
    t0 = time.perf_counter()
    await asyncio.gather(*(_guard(t, t.journey(rng.uniform(0, window))) for t in ready))
    taps_s = time.perf_counter() - t0
    cpu1 = [cpu_s(s.pid) for s in servers] + [time.process_time()]
    wal_bytes = wal_lsn(world["url"], since=wal0)
    connections = database_connections(world["url"])
    await asyncio.sleep(2)
    done = [rss_kb(s.pid) for s in servers]
    logs = [s.log.read_text(errors="replace").count("Traceback") for s in servers]

    # The alert: four low taps at one counter through server A; a probe on each server listens.
    alert: dict[str, Any] = {"error": None}
    async with httpx.AsyncClient(timeout=10) as client:
        probes = [await _probe(client, s, world["branch"]) for s in servers]
        burst = [Tablet(10_000 + i, servers[0].url, tok) for i, tok in enumerate(world["burst_tokens"])]
        try:
            await asyncio.gather(*(t.open() for t in burst))
            for t in burst:
                await t.tap("rate-1", "details-title")
            tipped = time.perf_counter()
            arrived = await asyncio.gather(
                *(_inbox(client, s, p, 15) for s, p in zip(servers, probes, strict=True))
            )
            alert["ms_to_last"] = (time.perf_counter() - tipped) * 1000
            await asyncio.sleep(2)  # time for a duplicate (a server's own NOTIFY coming back to it)
            arrived = await asyncio.gather(
                *(_inbox(client, s, p, 0) for s, p in zip(servers, probes, strict=True))
            )
            alert["received"] = [[a["kind"] for a in got] for got in arrived]
        except Exception as exc:
            alert["error"] = f"{type(exc).__name__}: {exc}"
        finally:
            for t in burst:
                await t.close()
    errors = [f"tablet {t.index}: {t.error}" for t in tablets if t.error]
    ok = [t for t in tablets if t.error is None]
    for t in tablets:
        await t.close()
    return {
        "baseline_kb": baseline,
        "open_kb": opened,
        "done_kb": done,
        "opened_s": opened_s,
        "taps_s": taps_s,
        "tap_cpu_s": [b - a for a, b in zip(cpu0, cpu1, strict=True)],  # server A, server B, this client
        "idle_cpu_s": idle_cpu,
        "wal_bytes": wal_bytes,
        "connections": connections,
        "errors": errors,
        "journey_tracebacks": logs,
        "ok": [(t.index, t.open_ms, t.ack_ms) for t in ok],
        "alert": alert,
    }


# ---------------------------------------------------------------------------------------------------
# What the database and the dashboard say


def check_store(url: str, world: dict[str, Any], result: dict[str, Any], n: int) -> dict[str, Any]:
    from sqlmodel import col, func, select

    from admin.dashboard import dashboard
    from models.jobs import JobRun
    from models.rating import Rating
    from rapport.core.context import AppContext
    from rapport.core.db import Database
    from rapport.core.settings import Settings

    db = Database.from_url(url)
    devices = world["devices"]
    acked = {i for i, _o, _a in result["ok"]}
    with db.read() as s:
        rows = s.exec(select(func.count()).select_from(Rating)).one()
        counted = s.exec(select(func.count()).select_from(Rating).where(col(Rating.counted))).one()
        per_device = dict(
            s.exec(select(Rating.device_id, func.count()).group_by(col(Rating.device_id))).all()
        )
        runs = s.exec(select(JobRun.job, JobRun.runner, JobRun.items_done)).all()
    ctx = AppContext(settings=Settings(), db=db, secret_key=SECRET)
    data = dashboard(ctx, world["admin_token"])
    db.dispose()

    month_by_counter = {
        c.counter_id: c.month.count for b in data.summary.branches for c in b.counters if c.counter_id
    }
    main_device = {devices[i][0]: i for i in range(n)}
    once = sum(1 for d, i in main_device.items() if i in acked and per_device.get(d) == 1)
    stray = sum(1 for d, i in main_device.items() if i not in acked and per_device.get(d))
    per_server: list[dict[str, int]] = []
    for k in range(2):
        mine = [i for i in range(n) if i % 2 == k]
        warm = list(range(n + k * WARM, n + (k + 1) * WARM))
        expected = sum(1 for i in mine if i in acked) + len(warm)
        shown = sum(month_by_counter.get(devices[i][1], 0) for i in mine + warm)
        per_server.append({"acknowledged": expected, "on_dashboard": shown})
    per_server[0]["acknowledged"] += BURST
    per_server[0]["on_dashboard"] += month_by_counter.get(world["alert_counter"], 0)
    leaders = Tally(r for _j, r, _n in runs)
    alert_rules_raised = sum(n_ or 0 for j, _r, n_ in runs if j == "alert-rules")
    return {
        "rows": rows,
        "counted": counted,
        "expected": len(acked) + 2 * WARM + BURST,
        "stored_once": once,
        "stray": stray,
        "dashboard_month": data.summary.month.count,
        "dashboard_distribution": data.distribution.total,
        "per_server": per_server,
        "runners": dict(leaders),
        "alert_rules_raised": alert_rules_raised,
    }


# ---------------------------------------------------------------------------------------------------
# Bytes per rating on PostgreSQL


def measure_sizes(report: Report, url: str, ratings: int) -> None:
    """Grow the rating table to ``ratings`` rows shaped like the ones the servers just wrote, through
    its indexes as the app would (row by row order, not a bulk build), then measure it."""
    import psycopg

    from benchmarks.dataset import libpq

    with psycopg.connect(libpq(url), autocommit=True) as conn:
        (written,) = conn.execute("SELECT count(*) FROM rating").fetchone()  # type: ignore[misc]
        (app_row,) = conn.execute("SELECT avg(pg_column_size(r.*)) FROM rating r").fetchone()  # type: ignore[misc]
        columns = [
            c
            for (c,) in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
                " AND table_name = 'rating' ORDER BY ordinal_position"
            )
        ]
        # Every column copied from the servers' rows in turn, except what is unique or varies per
        # rating: a new id, a kiosk-style key, a 64-hex request hash, a time (rising, as in service:
        # the time-led indexes grow at their right edge), a score, and a clause cited by the low ones.
        made = {
            "id": "gen_random_uuid()",
            "idempotency_key": "'kiosk-' || gen_random_uuid()",
            "request_hash": "encode(sha256(g::text::bytea), 'hex')",
            "created_at": f"now() - interval '30 days' + g * interval '30 days' / {ratings}",
            "score": "(ARRAY[5,5,5,5,5,5,4,4,3,2,1])[1 + g % 11]",
            "reasons": "CASE WHEN g % 11 >= 9 THEN '[\"2.2.1\"]'::json ELSE '[]'::json END",
        }
        select = ", ".join(made.get(c, f't."{c}"') for c in columns)
        target = ", ".join(f'"{c}"' for c in columns)
        wal0 = wal_lsn(url)
        started = time.monotonic()
        step = 100_000
        for first in range(0, ratings - written, step):
            count = min(step, ratings - written - first)
            conn.execute(
                f"INSERT INTO rating ({target}) SELECT {select}"
                f" FROM generate_series({first}, {first + count - 1}) g"
                f" JOIN (SELECT row_number() OVER () - 1 AS k, * FROM rating LIMIT {written}) t"
                f" ON t.k = g % {written}"
            )
        grown_wal = wal_lsn(url, since=wal0)
        report.note(
            f"rating table grown from {written:,} to {ratings:,} rows in {time.monotonic() - started:.0f} s"
        )
        conn.execute("VACUUM ANALYZE rating")
        (rows,) = conn.execute("SELECT count(*) FROM rating").fetchone()  # type: ignore[misc]
        (row_bytes,) = conn.execute("SELECT avg(pg_column_size(r.*)) FROM rating r").fetchone()  # type: ignore[misc]
        heap, total, toast = conn.execute(
            "SELECT pg_relation_size('rating'), pg_total_relation_size('rating'),"
            " coalesce(pg_total_relation_size(reltoastrelid), 0) FROM pg_class WHERE oid = 'rating'::regclass"
        ).fetchone()  # type: ignore[misc]
        indexes = conn.execute(
            "SELECT indexrelid::regclass::text, pg_relation_size(indexrelid) FROM pg_index"
            " WHERE indrelid = 'rating'::regclass ORDER BY 2 DESC"
        ).fetchall()
    report.add("ratings in the table", rows, "")
    report.add("row data as the servers wrote it (avg pg_column_size, tuple header included)", app_row, "B")
    report.add("row data of the grown table (same measure)", row_bytes, "B")
    report.add("heap bytes per rating (pg_relation_size / rows)", heap / rows, "B")
    report.add("TOAST bytes per rating", toast / rows, "B")
    for name, size in indexes:
        report.add(f"index {name} bytes per rating", size / rows, "B")
    report.add("all indexes bytes per rating", sum(s for _n, s in indexes) / rows, "B")
    report.add("pg_total_relation_size per rating (heap + TOAST + indexes)", total / rows, "B")
    report.add("pg_total_relation_size(rating)", total / 1024 / 1024, "MB")
    report.add(
        "WAL written while growing, per rating (batches of 100,000)", grown_wal / (rows - written), "B"
    )
    sweep_ms, in_window = time_alert_sweep(url)
    report.add(
        f"one alert-rules sweep at {rows:,} ratings ({in_window} counters rated in the last 15 min)",
        sweep_ms,
        "ms",
    )


def time_alert_sweep(url: str) -> tuple[float, int]:
    """The scheduler's minute sweep (rapport.usecases.alerting.alert_rules_sweep) once, as the leader
    runs it: its read of every counter rated in the last 24 hours, then a write transaction per
    counter rated within its burst window (15 minutes by default). Returns the milliseconds and how
    many counters were in that window."""
    import psycopg

    from benchmarks.dataset import libpq
    from rapport.core.context import AppContext
    from rapport.core.db import Database
    from rapport.core.settings import Settings
    from rapport.usecases.alerting import alert_rules_sweep

    with psycopg.connect(libpq(url)) as conn:
        (in_window,) = conn.execute(
            "SELECT count(DISTINCT counter_id) FROM rating WHERE created_at > now() - interval '15 minutes'"
        ).fetchone()  # type: ignore[misc]
    db = Database.from_url(url)
    ctx = AppContext(settings=Settings(), db=db, secret_key=SECRET)
    t0 = time.perf_counter()
    alert_rules_sweep(ctx)
    ms = (time.perf_counter() - t0) * 1000
    db.dispose()
    return ms, int(in_window)


# ---------------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=1000, help="kiosk sessions, split between the two")
    parser.add_argument("--ramp", type=int, default=25, help="sessions opened at once")
    parser.add_argument("--tap-window", type=float, default=60.0, help="seconds over which the taps spread")
    parser.add_argument("--database", default="bench_two", help="database created (and dropped) for the run")
    parser.add_argument("--sizes", type=int, default=0, help="also measure bytes per rating at N ratings")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    base = os.environ.get("RAPPORT_BENCH_DATABASE_URL") or DEFAULT_URL
    if not base.startswith("postgresql"):
        print("bench_two_servers needs PostgreSQL (RAPPORT_BENCH_DATABASE_URL)", file=sys.stderr)
        return 2
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    n = args.sessions
    header(
        "bench_two_servers: two app servers on one PostgreSQL",
        sessions=n,
        ramp=args.ramp,
        tap_window_s=args.tap_window,
        database=args.database,
        sizes=args.sizes,
    )
    report = Report("bench_two_servers", vars(args).copy())
    url = create_database(base, args.database)
    work = Path(tempfile.mkdtemp(prefix="rapport-two-", dir=BENCH_DIR))
    try:
        if n > 0:
            _sessions(report, url, work, n, args)
        if args.sizes and n > 0:
            measure_sizes(report, url, args.sizes)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if not args.keep:
            drop_database(base, args.database)
    return report.finish()


def _sessions(report: Report, url: str, work: Path, n: int, args: argparse.Namespace) -> None:
    t0 = time.monotonic()
    world = prepare(url, n)
    report.note(f"{len(world['devices'])} tablets enrolled and staffed in {time.monotonic() - t0:.0f} s")
    env = {"RAPPORT_DATABASE_URL": url, "RAPPORT_SECRET_KEY": SECRET, "RAPPORT_ALERT_PROBE": "1"}
    with ExitStack() as stack:
        dirs = [work / f"{work.name}-{name}" for name in ("a", "b")]  # the server logs keep these names
        for d in dirs:
            d.mkdir()
        servers = [stack.enter_context(running_server(d, env=env)) for d in dirs]
        result = asyncio.run(_run(servers, world, n, args.ramp, args.tap_window))
        pids = [s.pid for s in servers]
    store = check_store(url, world, result, n)

    ok = result["ok"]
    report.add(f"sessions completed welcome -> tap -> thank-you (of {n})", len(ok), "", ("==", n))
    for k, name in enumerate(("A", "B")):
        mine = [o for o in ok if o[0] % 2 == k]
        report.add(f"server {name}: sessions completed (of {len(range(k, n, 2))})", len(mine), "")
        report.add(f"server {name}: tap-to-acknowledge p50", percentile([a for _i, _o, a in mine], 50), "ms")
        report.add(f"server {name}: tap-to-acknowledge p95", percentile([a for _i, _o, a in mine], 95), "ms")
    report.add("session open to welcome screen p50", percentile([o for _i, o, _a in ok], 50), "ms")
    report.add("session open to welcome screen p95", percentile([o for _i, o, _a in ok], 95), "ms")
    report.add("offered tap rate (both servers)", n / args.tap_window, "/s")
    acks = [a for _i, _o, a in ok]
    report.add("tap-to-acknowledge p50", percentile(acks, 50), "ms")
    report.add("tap-to-acknowledge p95", percentile(acks, 95), "ms", ("<", ACK_TARGET_MS))
    report.add("tap-to-acknowledge p99", percentile(acks, 99), "ms")
    report.add("tap-to-acknowledge max", max(acks, default=float("nan")), "ms")
    cpu, idle = result["tap_cpu_s"], result["idle_cpu_s"]
    for who, used in zip(("server A", "server B", "the benchmark's own client"), cpu, strict=True):
        report.add(f"CPU used by {who} in the {result['taps_s']:.0f} s of taps", used, "s")
    report.add(
        f"CPU per journey, both servers (tap, skip, thank-you; {len(ok)} journeys)",
        1000 * (cpu[0] + cpu[1]) / max(len(ok), 1),
        "ms",
    )
    report.add(f"CPU of both servers holding {n} idle sessions for {IDLE_S:.0f} s", idle[0] + idle[1], "s")
    report.add(
        "connections to the database held by the two servers after the taps", result["connections"], ""
    )
    report.add(
        "WAL written during the taps, per journey (the whole database server)",
        result["wal_bytes"] / max(len(ok), 1),
        "B",
    )
    for k, name in enumerate(("A", "B")):
        share = len(range(k, n, 2))
        report.add(f"server {name}: RSS after warm-up", result["baseline_kb"][k] / 1024, "MB")
        report.add(
            f"server {name}: RSS with its {share} sessions open, done", result["done_kb"][k] / 1024, "MB"
        )
        growth = (result["done_kb"][k] - result["baseline_kb"][k]) / max(share, 1)
        judged = ("<", MEMORY_TARGET_KB) if share >= bench_sessions.TARGET_SESSIONS else None
        report.add(f"server {name}: memory growth per session", growth, "KB", judged)
    report.add("errors (client side)", len(result["errors"]), "", ("==", 0))
    tracebacks = sum(result["journey_tracebacks"])
    report.add("errors (tracebacks in the servers' logs during the journeys)", tracebacks, "", ("==", 0))
    report.add(
        f"ratings stored (expected {store['expected']}: taps, warm-up, alert taps)",
        store["rows"],
        "",
        ("==", store["expected"]),
    )
    report.add(
        "acknowledged taps stored exactly once (rows per tablet = 1)",
        store["stored_once"],
        "",
        ("==", len(ok)),
    )
    report.add("ratings stored for a tap not acknowledged", store["stray"], "")
    report.add(
        "administrator's dashboard: ratings this month",
        store["dashboard_month"],
        "",
        ("==", store["counted"]),
    )
    report.add(
        "… its score distribution's total", store["dashboard_distribution"], "", ("==", store["counted"])
    )
    for k, name in enumerate(("A", "B")):
        fig = store["per_server"][k]
        report.add(
            f"dashboard: ratings at server {name}'s counters (acknowledged {fig['acknowledged']})",
            fig["on_dashboard"],
            "",
            ("==", fig["acknowledged"]),
        )
    alert = result["alert"]
    leader = [k for k, pid in enumerate(pids) if any(r.endswith(f":{pid}") for r in store["runners"])]
    report.note(f"scheduler runs by runner: {store['runners']} (server pids A {pids[0]}, B {pids[1]})")
    if alert["error"]:
        report.note(f"alert phase failed: {alert['error']}")
        report.add("alert raised on one server reached the other", 0, "", ("==", 1))
    else:
        raised_on = 0 if not store["alert_rules_raised"] else (leader[0] if leader else 0)
        other = 1 - raised_on
        report.note(
            f"alert raised on server {'AB'[raised_on]} ("
            + (
                "the tap's own check"
                if raised_on == 0 and not store["alert_rules_raised"]
                else "the leader's sweep"
            )
            + f"); received: A {alert['received'][0]}, B {alert['received'][1]}"
        )
        reached = alert["received"][other].count("negative_burst")
        own = alert["received"][raised_on].count("negative_burst")
        where = f"raised on {'AB'[raised_on]} reached a supervisor probe on {'AB'[other]}"
        report.add(f"negative-burst alert {where}", reached, "", ("==", 1))
        report.add("… and its own server's probe (not twice)", own, "", ("==", 1))
        report.add(
            "alert: from the fourth low tap's acknowledgement until both probes had it",
            alert["ms_to_last"],
            "ms",
        )
    report.params.update(
        opened_s=round(result["opened_s"], 1),
        taps_s=round(result["taps_s"], 1),
        leader="AB"[leader[0]] if leader else "?",
    )
    report.note(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for err in result["errors"][:5]:
        report.note(err)


if __name__ == "__main__":
    sys.exit(main())
