"""Rating intake (QUALITY.md, "Speed and scale"): the service layer against raw sqlite3, and HTTP.

1. Service layer vs raw sqlite3, in the same run, on the same database file. Both write one rating
   per transaction, durably: WAL, ``synchronous=FULL``, foreign keys on, ``BEGIN IMMEDIATE``.
   * raw: ``sqlite3`` with those pragmas, one ``INSERT`` of the same columns and values per
     transaction: the fastest any code can go on this disk.
   * service: a counter tap through ``kiosk.backend.submit_tap``, the service the kiosk screen and
     (through the same ``models.intake``) the HTTP API call: the device's token, who is on duty,
     the branch's policy and the misuse flag from the device's recent presses, the idempotent
     insert, the commit. It does more than the raw path: everything a real tap needs.
   The two alternate in blocks of 25 ratings so both see the same machine load, disk and index
   sizes; each round's rates are over the summed times of its blocks, and the ratio judged is the
   median over rounds of service / raw (target >= 0.5, aim 0.8). With
   ``--preload N`` the file first holds the generated region of N ratings (benchmarks/dataset.py),
   which gives the growth figures. ``models.rating.submit_rating`` in an ORM session (the path of
   phone and hotline ratings) is timed too, for information.
2. HTTP: a real ``rapport serve``; 32 concurrent clients (one kiosk token each, one keep-alive
   connection each) post 5,000 ratings with idempotency keys to ``POST /api/v1/ratings``; then 10% of
   them are sent again with the same key and must come back as the same rating. Target: p95 < 50 ms,
   0 errors, 0 duplicates (exactly 5,000 rows, as many distinct keys). The clients are a closed
   loop: each sends its next rating as soon as the last is answered, so latency is 32 / throughput
   at saturation. For information, a second phase sends ratings at a steady ``--http-rate`` (default
   50/s: a region of 500 counters at its busiest sees a few a second) and prints that latency.

PostgreSQL: with ``RAPPORT_BENCH_DATABASE_URL=postgresql+psycopg://...`` both parts run there instead.
1. compares the service with raw ``psycopg``: one connection, one ``INSERT`` of the same columns and
   values per transaction (``commit()`` each, ``synchronous_commit`` as the server has it: printed),
   in the same alternating blocks; the same rating table, so the same indexes. ``--preload 0`` is a
   fresh schema ``rapport_bench_intake`` made by the migrations; ``--preload N`` is the generated
   region's cached schema (benchmarks/dataset.py ``ensure_pg_dataset``), into which the benchmark's
   branch, counter, person and tablet are added and from which they and their ratings are deleted
   again at the end. 2. runs ``rapport serve`` on a fresh schema ``rapport_bench_http``
   (``RAPPORT_DATABASE_URL`` and libpq's ``PGOPTIONS`` for the search_path).

    python -m benchmarks.bench_intake                 # full
    python -m benchmarks.bench_intake --quick         # small
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks.common import BENCH_DIR, Report, header, percentile, running_server, seed_org, upgrade_schema
from benchmarks.dataset import on_postgres

RATIO_TARGET = 0.5
BLOCK = 25  # ratings per path before switching to the other one
HTTP_P95_TARGET_MS = 50.0
CLIENTS = 32


# ---------------------------------------------------------------------------------------------------
# 1. Service layer vs raw sqlite3


RAW_INSERT = (
    "INSERT INTO rating (id, idempotency_key, request_hash, staff_id, counter_id, branch_id, device_id,"
    " channel, score, reasons, comment, created_at, flagged, flag_reason, counted, phone_key, overturned)"
    " VALUES (?, ?, ?, ?, ?, ?, NULL, 'kiosk', ?, '[]', '', ?, 0, NULL, 1, NULL, 0)"
)


def _raw_connection(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    con.execute("PRAGMA foreign_keys=ON")
    con.execute("PRAGMA busy_timeout=10000")
    assert con.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
    con.execute("PRAGMA synchronous=FULL")
    assert con.execute("PRAGMA synchronous").fetchone()[0] == 2
    return con


def _raw_round(con: sqlite3.Connection, n: int, staff: int, counter: int, branch: int, tag: str) -> float:
    from datetime import UTC, datetime

    t0 = time.perf_counter()
    for i in range(n):
        now = datetime.now(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
        con.execute("BEGIN IMMEDIATE")
        con.execute(
            RAW_INSERT, (uuid.uuid4().hex, f"raw-{tag}-{i}", "x" * 64, staff, counter, branch, 4, now)
        )
        con.execute("COMMIT")
    return n / (time.perf_counter() - t0)


def _service_round(ctx: Any, n: int, device_token: str, tag: str) -> float:
    """A counter tap through the service the kiosk screen calls (kiosk/backend.submit_tap): the
    device's token, whoever is on duty, the policy and the misuse flag, the row, the commit."""
    from kiosk.backend import submit_tap

    t0 = time.perf_counter()
    for i in range(n):
        submit_tap(ctx, device_token=device_token, idempotency_key=f"svc-{tag}-{i}", score=4, staff_no=None)
    return n / (time.perf_counter() - t0)


def _session_round(db: Any, n: int, staff: int, counter: int, branch: int, tag: str) -> float:
    """``models.rating.submit_rating`` in an ORM session (the phone and hotline ratings' path)."""
    from models.rating import Channel, RatingCreate, submit_rating

    t0 = time.perf_counter()
    for i in range(n):
        with db.write() as s:
            submit_rating(
                s, idempotency_key=f"orm-{tag}-{i}", data=RatingCreate(score=4), channel=Channel.kiosk,
                branch_id=branch, staff_id=staff, counter_id=counter,
            )  # fmt: skip
    return n / (time.perf_counter() - t0)


def _context(db: Any) -> Any:
    from rapport.core.context import AppContext
    from rapport.core.settings import Settings

    return AppContext(settings=Settings(), db=db, secret_key="bench-" + "x" * 40)


def service_vs_raw(report: Report, *, preload: int, rounds: int, per_round: int, seed: int) -> None:
    from rapport.core.db import Database

    work = Path(tempfile.mkdtemp(prefix="rapport-intake-", dir=BENCH_DIR))
    try:
        if preload:
            from benchmarks.dataset import ensure_dataset

            source = ensure_dataset(preload, seed).path
            for suffix in ("", "-wal", "-shm"):
                if Path(f"{source}{suffix}").exists():
                    shutil.copyfile(f"{source}{suffix}", work / f"rapport.db{suffix}")
        else:
            upgrade_schema(work)
        db = Database.from_url(f"sqlite:///{work / 'rapport.db'}")
        org = seed_org(db, branches=1, counters_per_branch=1, staff_per_branch=1, devices=1)
        branch, counter, staff = org.branch_ids[0], org.counter_ids[0], org.staff_ids[0]
        token = org.devices[0][2]
        ctx = _context(db)
        con = _raw_connection(work / "rapport.db")
        # Warm both paths (imports, statement caches, the file's pages) before timing.
        _raw_round(con, 50, staff, counter, branch, "warm")
        _service_round(ctx, 50, token, "warm")
        raw, svc, dev, ratios = [], [], [], []
        for r in range(rounds):
            # Interleave in small blocks: the disk's fsync time on a shared machine drifts by 10x
            # within seconds, and both paths must see the same disk. Rates are over summed times.
            spent = {"raw": 0.0, "svc": 0.0, "dev": 0.0}
            for b in range(per_round // BLOCK):
                tag = f"{r}-{b}"
                spent["raw"] += BLOCK / _raw_round(con, BLOCK, staff, counter, branch, tag)
                spent["svc"] += BLOCK / _service_round(ctx, BLOCK, token, tag)
                if b % 2 == 0:
                    spent["dev"] += BLOCK / _session_round(db, BLOCK, staff, counter, branch, tag)
            done = per_round // BLOCK * BLOCK
            raw.append(done / spent["raw"])
            svc.append(done / spent["svc"])
            dev.append((per_round // BLOCK + 1) // 2 * BLOCK / spent["dev"])
            ratios.append(svc[-1] / raw[-1])
            print(
                f"     round {r + 1}/{rounds}: raw {raw[-1]:,.0f}/s  service {svc[-1]:,.0f}/s "
                f"(ratio {ratios[-1]:.2f})  submit_rating in a session {dev[-1]:,.0f}/s",
                flush=True,
            )
        con.close()
        db.dispose()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    at = f"@{preload:,}"
    report.add(f"raw sqlite3 durable inserts {at}", statistics.median(raw), "/s")
    report.add(f"service layer (kiosk submit_tap) durable intake {at}", statistics.median(svc), "/s")
    report.add(f"submit_rating in an ORM session (phone, hotline) {at}", statistics.median(dev), "/s")
    report.add(
        f"service / raw ratio {at} (median of rounds)", statistics.median(ratios), "x", (">=", RATIO_TARGET)
    )


# ---------------------------------------------------------------------------------------------------
# 1b. Service layer vs raw psycopg (RAPPORT_BENCH_DATABASE_URL)

PG_RAW_INSERT = (
    RAW_INSERT.replace("?", "%s")
    .replace("%s, 0, NULL, 1, NULL, 0)", "%s, false, NULL, true, NULL, false)")
    .replace("'[]'", "'[]'::json")
)
BENCH_BRANCH = "BR00"  # the branch seed_org makes (the generated region's are R00..R19)


def _pg_raw_round(conn: Any, n: int, staff: int, counter: int, branch: int, tag: str) -> float:
    from datetime import UTC, datetime

    t0 = time.perf_counter()
    for i in range(n):
        now = datetime.now(UTC).replace(tzinfo=None)
        conn.execute(
            PG_RAW_INSERT, (uuid.uuid4(), f"raw-{tag}-{i}", "x" * 64, staff, counter, branch, 4, now)
        )
        conn.commit()
    return n / (time.perf_counter() - t0)


def _drop_bench_org(url: str) -> None:
    """The benchmark's branch, with its counter, person, tablet, duty and ratings, out of the schema
    again (also what an interrupted run left behind): the cached region stays as generated."""
    import psycopg

    from benchmarks.dataset import libpq

    with psycopg.connect(libpq(url)) as conn:
        row = conn.execute("SELECT id FROM branch WHERE code = %s", (BENCH_BRANCH,)).fetchone()
        if row is None:
            return
        b = row[0]
        counters = "(SELECT id FROM counter WHERE branch_id = %(b)s)"
        for sql in (
            "DELETE FROM rating WHERE branch_id = %(b)s",
            f"DELETE FROM duty WHERE counter_id IN {counters}",
            f"DELETE FROM device WHERE counter_id IN {counters}",
            "DELETE FROM staff WHERE branch_id = %(b)s",
            "DELETE FROM counter WHERE branch_id = %(b)s",
            "DELETE FROM branch WHERE id = %(b)s",
        ):
            conn.execute(sql, {"b": b})


def service_vs_raw_pg(report: Report, *, preload: int, rounds: int, per_round: int, seed: int) -> None:
    import psycopg

    from benchmarks.dataset import ensure_pg_dataset, fresh_schema, libpq
    from rapport.core.db import Database

    url = ensure_pg_dataset(preload, seed).url if preload else fresh_schema("rapport_bench_intake")
    _drop_bench_org(url)
    db = Database.from_url(url)
    try:
        org = seed_org(db, branches=1, counters_per_branch=1, staff_per_branch=1, devices=1)
        branch, counter, staff = org.branch_ids[0], org.counter_ids[0], org.staff_ids[0]
        token = org.devices[0][2]
        ctx = _context(db)
        with psycopg.connect(libpq(url)) as con:
            durable = con.execute("SHOW synchronous_commit").fetchone()
            con.rollback()
            print(f"     synchronous_commit = {durable[0] if durable else '?'}", flush=True)
            _pg_raw_round(con, 50, staff, counter, branch, "warm")
            _service_round(ctx, 50, token, "warm")
            raw, svc, dev, ratios = [], [], [], []
            for r in range(rounds):
                spent = {"raw": 0.0, "svc": 0.0, "dev": 0.0}
                for b in range(per_round // BLOCK):
                    tag = f"{r}-{b}"
                    spent["raw"] += BLOCK / _pg_raw_round(con, BLOCK, staff, counter, branch, tag)
                    spent["svc"] += BLOCK / _service_round(ctx, BLOCK, token, tag)
                    if b % 2 == 0:
                        spent["dev"] += BLOCK / _session_round(db, BLOCK, staff, counter, branch, tag)
                done = per_round // BLOCK * BLOCK
                raw.append(done / spent["raw"])
                svc.append(done / spent["svc"])
                dev.append((per_round // BLOCK + 1) // 2 * BLOCK / spent["dev"])
                ratios.append(svc[-1] / raw[-1])
                print(
                    f"     round {r + 1}/{rounds}: raw {raw[-1]:,.0f}/s  service {svc[-1]:,.0f}/s "
                    f"(ratio {ratios[-1]:.2f})  submit_rating in a session {dev[-1]:,.0f}/s",
                    flush=True,
                )
    finally:
        db.dispose()
        if preload:
            _drop_bench_org(url)
    at = f"@{preload:,}"
    report.add(f"raw psycopg durable inserts {at}", statistics.median(raw), "/s")
    report.add(f"service layer (kiosk submit_tap) durable intake {at}", statistics.median(svc), "/s")
    report.add(f"submit_rating in an ORM session (phone, hotline) {at}", statistics.median(dev), "/s")
    report.add(
        f"service / raw psycopg ratio {at} (median of rounds)",
        statistics.median(ratios),
        "x",
        (">=", RATIO_TARGET),
    )


# ---------------------------------------------------------------------------------------------------
# 2. HTTP intake


async def _http_load(
    url: str, tokens: list[str], total: int, prefix: str = "http", rate: float = 0.0
) -> dict[str, Any]:
    """``total`` ratings from CLIENTS clients, each a tablet with its own keep-alive connection
    (benchmarks/httpclient.py). ``rate`` 0: each client sends its next rating as soon as the last one
    is answered (closed loop, the target's load). ``rate`` > 0: the clients together start ``rate``
    ratings a second on a fixed schedule (open loop), whatever the answers take."""
    from benchmarks.httpclient import Connection, ConnectionClosed, split_url

    host, port = split_url(url)
    latencies: list[float] = []
    errors: list[str] = []
    sent: dict[str, tuple[str, dict[str, Any]]] = {}  # key -> (token, body)
    ids: dict[str, str] = {}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(total):
        queue.put_nowait(i)

    async def client(c: int) -> None:
        token = tokens[c % len(tokens)]
        interval = CLIENTS / rate if rate else 0.0
        next_start = time.perf_counter() + c * interval / CLIENTS
        conn = Connection(host, port)
        try:
            while True:
                try:
                    i = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                if interval:
                    await asyncio.sleep(max(0.0, next_start - time.perf_counter()))
                    next_start += interval
                key = f"{prefix}-{i:06d}-{uuid.uuid4().hex[:8]}"
                body = {"score": 1 + i % 5}
                t0 = time.perf_counter()
                try:
                    resp = await conn.request(
                        "POST", "/api/v1/ratings", json_body=body,
                        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
                    )  # fmt: skip
                except (OSError, ConnectionClosed) as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")
                    conn.close()
                    continue
                latencies.append((time.perf_counter() - t0) * 1000)
                if resp.status != 201:
                    errors.append(f"{resp.status} {resp.text[:200]}")
                    continue
                sent[key] = (token, body)
                ids[key] = resp.json()["id"]
        finally:
            conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(client(c) for c in range(CLIENTS)))
    elapsed = time.perf_counter() - t0

    # Retries: every 10th rating again with the same key and body must return the same rating.
    replay_mismatch = 0
    conn = Connection(host, port)
    try:
        for key in list(sent)[::10]:
            token, body = sent[key]
            resp = await conn.request(
                "POST", "/api/v1/ratings", json_body=body,
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
            )  # fmt: skip
            if resp.status != 200 or resp.json()["id"] != ids[key]:
                replay_mismatch += 1
    finally:
        conn.close()
    return {
        "latencies": latencies,
        "errors": errors,
        "elapsed": elapsed,
        "acked": len(sent),
        "replay_mismatch": replay_mismatch,
    }


def http_intake(report: Report, *, total: int, paced_rate: float) -> None:
    from sqlmodel import func, select

    from models.rating import Rating
    from rapport.core.db import Database

    work = Path(tempfile.mkdtemp(prefix="rapport-http-", dir=BENCH_DIR))
    try:
        env: dict[str, str] = {}
        if on_postgres():
            from benchmarks.dataset import BENCH_DATABASE_URL, fresh_schema

            schema = "rapport_bench_http"
            db = Database.from_url(fresh_schema(schema))
            # The server's URL without the search_path option (its migrations hand the URL to
            # configparser, which refuses a "%"): libpq takes the search_path from PGOPTIONS.
            env = {"RAPPORT_DATABASE_URL": BENCH_DATABASE_URL, "PGOPTIONS": f"-csearch_path={schema}"}
        else:
            upgrade_schema(work)
            db = Database.from_url(f"sqlite:///{work / 'rapport.db'}")
        # 32 tablets at 32 counters of 4 branches, each with someone on duty.
        org = seed_org(db, branches=4, counters_per_branch=8, staff_per_branch=8, devices=CLIENTS)
        tokens = [token for _d, _c, token in org.devices]
        with running_server(work, env=env) as server:
            asyncio.run(
                _http_load(server.url, tokens, 64, prefix="warm")
            )  # warm-up (connections, imports, caches)
            result = asyncio.run(_http_load(server.url, tokens, total))
            paced = asyncio.run(_http_load(server.url, tokens, int(paced_rate * 10), "paced", paced_rate))
            server_errors = server.log.read_text(errors="replace").count("Traceback")
        with db.read() as s:
            rows = s.exec(
                select(func.count()).select_from(Rating).where(Rating.idempotency_key.startswith("http-"))  # type: ignore[attr-defined]
            ).one()
            keys = s.exec(
                select(func.count(Rating.idempotency_key.distinct())).where(  # type: ignore[attr-defined]
                    Rating.idempotency_key.startswith("http-")  # type: ignore[attr-defined]
                )
            ).one()
        db.dispose()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    lat = result["latencies"]
    report.add(f"HTTP intake throughput, {CLIENTS} clients", result["acked"] / result["elapsed"], "/s")
    report.add("HTTP intake latency p50", percentile(lat, 50), "ms")
    report.add("HTTP intake latency p95", percentile(lat, 95), "ms", ("<", HTTP_P95_TARGET_MS))
    report.add("HTTP intake latency p99", percentile(lat, 99), "ms")
    report.add("HTTP errors (non-201 or transport)", len(result["errors"]) + server_errors, "", ("==", 0))
    report.add(f"ratings stored (sent {total})", rows, "", ("==", total))
    report.add("duplicates (rows - distinct keys)", rows - keys, "", ("==", 0))
    report.add("retries not answered with the same rating", result["replay_mismatch"], "", ("==", 0))
    plat = paced["latencies"]
    report.add(
        f"HTTP intake at a steady {paced_rate:g}/s (open loop) latency p50", percentile(plat, 50), "ms"
    )
    report.add(
        f"HTTP intake at a steady {paced_rate:g}/s (open loop) latency p95", percentile(plat, 95), "ms"
    )
    report.add(f"HTTP intake at a steady {paced_rate:g}/s (open loop) errors", len(paced["errors"]), "")
    for err in (result["errors"] + paced["errors"])[:5]:
        report.note(f"error: {err}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (for make bench-quick)")
    parser.add_argument(
        "--preload", type=int, action="append", help="ratings already in the file (repeatable)"
    )
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--per-round", type=int)
    parser.add_argument("--http-total", type=int)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument(
        "--http-rate",
        type=float,
        default=50.0,
        help="ratings/s of the steady (open-loop) phase, for information",
    )
    args = parser.parse_args()
    rounds = args.rounds or (3 if args.quick else 5)
    per_round = args.per_round or (200 if args.quick else 1000)
    total = args.http_total or (1000 if args.quick else 5000)
    preloads = args.preload or [0]
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    pg = on_postgres()
    database = "PostgreSQL" if pg else "SQLite"
    header(
        f"bench_intake: rating intake on {database}",
        rounds=rounds,
        per_round=per_round,
        preload=preloads,
        http_total=total,
    )
    report = Report(
        "bench_intake_pg" if pg else "bench_intake",
        {
            "database": database,
            "rounds": rounds,
            "per_round": per_round,
            "preload": preloads,
            "http_total": total,
            "clients": CLIENTS,
        },
    )
    for preload in preloads:
        raw = "raw psycopg" if pg else "raw sqlite3"
        print(f"-- service layer vs {raw}, {preload:,} ratings already stored", flush=True)
        compare = service_vs_raw_pg if pg else service_vs_raw
        compare(report, preload=preload, rounds=rounds, per_round=per_round, seed=args.seed)
    if not args.skip_http:
        print(f"-- HTTP: {total:,} ratings from {CLIENTS} concurrent clients", flush=True)
        http_intake(report, total=total, paced_rate=args.http_rate)
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
