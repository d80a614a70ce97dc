"""A generated region for the dashboard and growth benchmarks: 20 branches, 100 counters, 500 counter
staff, two years of ratings ending at a fixed instant, complaints and inspections.

Why it is built this way:
* Generation must be fast (10,000,000 ratings in a few minutes on 2 cores), so rows are written with
  plain ``sqlite3.executemany`` into the schema Alembic made, with the rating table's secondary
  indexes dropped during the load and rebuilt afterwards from their own DDL (a sort instead of
  millions of random B-tree inserts). Rating ids and idempotency keys are generated in ascending
  order for the same reason. Nothing else differs from what the app writes: same columns, same
  value formats (SQLAlchemy's ``YYYY-MM-DD HH:MM:SS.ffffff`` naive UTC, JSON reason lists), the
  same indexes at the end, and no ``ANALYZE`` (the app never runs one).
* Data ends at :data:`NOW`, fixed, so a cached file stays valid and every run measures the same
  thing. NOW is late in a 31-day month: "this month" is nearly a full month of ratings, the worst
  case for the month figures.
* The file is cached under ``$RAPPORT_BENCH_DIR`` keyed by (N, seed) and reused between runs; it is
  written under a temporary name and renamed at the end, so an interrupted run leaves no half file.

On PostgreSQL (``RAPPORT_BENCH_DATABASE_URL``, :func:`ensure_pg_dataset`) the same region is a schema of
that database per (N, seed), ``rapport_bench_2m`` for 2,000,000 ratings: made by Alembic (the app's
migrations, on a URL whose ``search_path`` is the schema), then filled with ``COPY`` from the cached
SQLite file, every table, so both databases hold the same rows. The rating table's secondary indexes
are dropped during the load and rebuilt from their own DDL, the id sequences are moved past the
loaded ids, and ``VACUUM ANALYZE`` runs at the end: what autovacuum does to a table after a bulk load
on its own within a minute or so, done here at once so every run measures the same planner
statistics. The schema is marked complete (a comment on it) only at the end, so an interrupted load
is redone; nothing outside the benchmark's schemas is touched.
"""

from __future__ import annotations

import bisect
import itertools
import json
import os
import random
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.common import BENCH_DIR, REPO, rapport_env, upgrade_schema

NOW = datetime(2026, 10, 31, 7, 0, tzinfo=UTC)  # 15:00 in Asia/Shanghai, last day of October
DAYS = 730
BRANCHES = 20
COUNTERS_PER_BRANCH = 5
STAFF_PER_BRANCH = 25
COMPLAINT_EVERY = 200  # one complaint per this many ratings
INSPECTIONS_PER_BRANCH_MONTH = 20
TZ = "Asia/Shanghai"
TZ_OFFSET = timedelta(hours=8)  # Asia/Shanghai has no daylight saving
_TIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores DATETIME on SQLite


@dataclass(frozen=True)
class Dataset:
    path: Path  # the SQLite file (on PostgreSQL: the file the schema was loaded from)
    ratings: int
    seed: int
    now: datetime = NOW
    pg_url: str | None = None  # on PostgreSQL: the URL whose search_path is the dataset's schema

    @property
    def url(self) -> str:
        return self.pg_url or f"sqlite:///{self.path}"


def dataset_path(ratings: int, seed: int) -> Path:
    return BENCH_DIR / f"region-{ratings}-seed{seed}" / "rapport.db"


def ensure_dataset(ratings: int, seed: int = 1, *, quiet: bool = False) -> Dataset:
    """The cached database for (ratings, seed), generated in a child process if missing (so the
    generator's memory never counts against the process that measures)."""
    path = dataset_path(ratings, seed)
    if not path.exists():
        started = time.monotonic()
        if not quiet:
            print(f"   generating {ratings:,} ratings (seed {seed}) into {path} ...", flush=True)
        subprocess.run(
            [sys.executable, "-m", "benchmarks.dataset", str(ratings), str(seed)], cwd=REPO, check=True
        )
        if not quiet:
            print(f"   generated in {time.monotonic() - started:.0f} s", flush=True)
    else:
        upgrade_schema(path.parent)  # a file cached by an older version gets the newer tables
    return Dataset(path, ratings, seed)


# ---------------------------------------------------------------------------------------------------
# PostgreSQL

BENCH_DATABASE_URL = os.environ.get("RAPPORT_BENCH_DATABASE_URL", "")
_DONE = "rapport benchmark dataset, complete"


def on_postgres() -> bool:
    """Whether the benchmarks that can run on PostgreSQL should (``RAPPORT_BENCH_DATABASE_URL``)."""
    return BENCH_DATABASE_URL.startswith("postgresql")


def pg_schema(ratings: int, seed: int = 1) -> str:
    size = next(
        (
            f"{ratings // unit}{suffix}"
            for unit, suffix in ((1_000_000, "m"), (1_000, "k"))
            if ratings % unit == 0
        ),
        str(ratings),
    )
    return f"rapport_bench_{size}" + (f"_s{seed}" if seed != 1 else "")


def schema_url(schema: str, base: str = "") -> str:
    """``base`` (default: RAPPORT_BENCH_DATABASE_URL) with every connection's search_path set to
    ``schema`` (libpq's ``options``), so the app's unqualified table names land there."""
    from sqlalchemy.engine import make_url

    url = make_url(base or BENCH_DATABASE_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def libpq(url: str) -> str:
    """A SQLAlchemy ``postgresql+psycopg://`` URL as the libpq URI psycopg.connect takes."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def migrate(url: str) -> None:
    """The app's migrations on ``url`` (rapport/core/migrate.py ``upgrade`` as it runs them on
    PostgreSQL). Not ``upgrade`` itself: it hands the URL to Alembic's configparser, which refuses
    the ``%`` of an encoded ``options`` (or of an encoded password): "invalid interpolation syntax"."""
    from alembic import command

    from rapport.core.db import Database
    from rapport.core.migrate import alembic_config_for_scripts

    db = Database.from_url(url)
    cfg = alembic_config_for_scripts()
    with db.engine.connect() as connection, connection.begin():
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")
    db.dispose()


def fresh_schema(schema: str) -> str:
    """An empty schema made by the app's migrations (dropped first if it exists); its URL."""
    import psycopg

    if not schema.startswith("rapport_bench_"):
        raise ValueError(f"not a benchmark schema: {schema}")
    with psycopg.connect(libpq(BENCH_DATABASE_URL), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = schema_url(schema)
    migrate(url)
    return url


def ensure_pg_dataset(ratings: int, seed: int = 1, *, quiet: bool = False) -> Dataset:
    """The region of (ratings, seed) as a schema of RAPPORT_BENCH_DATABASE_URL, loaded from the
    cached SQLite file when it is missing or incomplete; brought up to date with the migrations."""
    import psycopg

    source = ensure_dataset(ratings, seed, quiet=quiet)
    schema = pg_schema(ratings, seed)
    with psycopg.connect(libpq(BENCH_DATABASE_URL), autocommit=True) as conn:
        row = conn.execute(
            "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = %s", (schema,)
        ).fetchone()
    url = schema_url(schema)
    if row is None or not (row[0] or "").startswith(_DONE):
        started = time.monotonic()
        if not quiet:
            print(f"   loading {ratings:,} ratings into PostgreSQL schema {schema} ...", flush=True)
        fresh_schema(schema)
        _copy_into(source.path, url, schema)
        if not quiet:
            print(f"   loaded in {time.monotonic() - started:.0f} s", flush=True)
    else:
        migrate(url)  # a schema cached by an older version gets the newer tables
    return Dataset(source.path, ratings, seed, pg_url=url)


def _copy_into(sqlite_path: Path, url: str, schema: str) -> None:
    """Every table of the SQLite file into the (migrated, empty) schema, with COPY."""
    import psycopg

    lite = sqlite3.connect(sqlite_path)
    tables = [
        name
        for (name,) in lite.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            " AND name != 'alembic_version'"
        )
    ]
    with psycopg.connect(libpq(url)) as conn:
        present = {
            r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,))
        }
        tables = [t for t in tables if t in present]
        # The migrations may have seeded rows (the catalogue): the file's rows replace them.
        conn.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE")
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes i WHERE schemaname = %s AND tablename = 'rating'"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
            (schema,),
        ).fetchall()
        for name, _sql in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        conn.execute("SET session_replication_role = replica")  # no FK triggers during the load
        for table in tables:
            columns = [c[1] for c in lite.execute(f'PRAGMA table_info("{table}")')]
            names = ", ".join(f'"{c}"' for c in columns)
            cursor = lite.execute(f'SELECT {names} FROM "{table}"')
            with conn.cursor().copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
                while batch := cursor.fetchmany(50_000):
                    for row in batch:
                        copy.write_row(row)
        conn.execute("SET session_replication_role = DEFAULT")
        for _name, sql in indexes:
            conn.execute(sql)
        serials = conn.execute(
            "SELECT table_name, pg_get_serial_sequence(format('%%I', table_name), 'id')"
            " FROM information_schema.columns WHERE table_schema = %s AND column_name = 'id'",
            (schema,),
        ).fetchall()
        for table, seq in serials:
            if seq:
                conn.execute(
                    f"SELECT setval('{seq}', COALESCE((SELECT max(id) FROM \"{table}\"), 0) + 1, false)"
                )
        conn.commit()
    lite.close()
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        for table in tables:
            conn.execute(f'VACUUM ANALYZE "{table}"')
        conn.execute(f"COMMENT ON SCHEMA \"{schema}\" IS '{_DONE}'")


def _ts(at: datetime) -> str:
    return at.astimezone(UTC).replace(tzinfo=None).strftime(_TIME)


def generate(ratings: int, seed: int) -> Path:
    final = dataset_path(ratings, seed)
    work = final.parent.with_name(final.parent.name + ".partial")
    if work.exists():
        for p in work.iterdir():
            p.unlink()
    work.mkdir(parents=True, exist_ok=True)
    # The schema exactly as the app makes it.
    subprocess.run(
        [sys.executable, "-m", "rapport", "db", "upgrade"],
        env=rapport_env(work),
        check=True,
        capture_output=True,
        cwd=REPO,
    )
    db = work / "rapport.db"
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA journal_mode=OFF")  # a throw-away load: no journal, no fsync
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-400000")
    rng = random.Random(seed)
    t0 = time.monotonic()
    con.execute("BEGIN")
    org = _org(con, rng)
    rating_indexes = [
        sql
        for (sql,) in con.execute(
            "SELECT sql FROM sqlite_master WHERE type='index' AND tbl_name='rating' AND sql IS NOT NULL"
        )
    ]
    for (name,) in con.execute(
        "SELECT name FROM sqlite_master WHERE type='index' AND tbl_name='rating' AND sql IS NOT NULL"
    ).fetchall():
        con.execute(f'DROP INDEX "{name}"')
    _ratings(con, rng, org, ratings, seed)
    print(f"   ratings written in {time.monotonic() - t0:.0f} s; building indexes", flush=True)
    for sql in rating_indexes:
        con.execute(sql)
    _complaints(con, rng, org, ratings)
    _inspections(con, rng, org)
    con.execute("COMMIT")
    con.execute("PRAGMA journal_mode=WAL")
    con.close()
    final.parent.mkdir(parents=True, exist_ok=True)
    for p in work.iterdir():
        os.replace(p, final.parent / p.name)
    work.rmdir()
    return final


@dataclass(frozen=True)
class _Org:
    branches: list[int]
    counters: dict[int, list[int]]  # branch -> counters
    staff: list[tuple[int, int, int]]  # (staff id, branch id, counter id)
    supervisors: dict[int, int]  # branch -> supervisor id
    negative: list[str]
    positive: list[str]
    categories: list[str]


def _org(con: sqlite3.Connection, rng: random.Random) -> _Org:
    created = _ts(NOW - timedelta(days=DAYS + 30))
    clauses = con.execute("SELECT code, polarity, rateable FROM conduct_clause WHERE active").fetchall()
    negative = [c for c, pol, rateable in clauses if rateable and pol in ("negative", "both")]
    positive = [c for c, pol, rateable in clauses if rateable and pol in ("positive", "both")]
    branches, counters, staff, supervisors = [], {}, [], {}
    for b in range(BRANCHES):
        cur = con.execute(
            "INSERT INTO branch (code, name_zh, name_en, timezone) VALUES (?, ?, ?, ?)",
            (f"R{b:02d}", f"第{b + 1}支行", f"Branch {b + 1}", TZ),
        )
        bid = int(cur.lastrowid or 0)
        branches.append(bid)
        counters[bid] = []
        for c in range(COUNTERS_PER_BRANCH):
            cur = con.execute(
                "INSERT INTO counter (branch_id, code, name_zh, name_en, active) VALUES (?, ?, ?, ?, 1)",
                (bid, f"R{b:02d}-{c + 1:02d}", f"{c + 1}号窗口", f"Counter {c + 1}"),
            )
            counters[bid].append(int(cur.lastrowid or 0))
        for p in range(STAFF_PER_BRANCH):
            cur = con.execute(
                "INSERT INTO staff (employee_no, display_name, role, branch_id, active, qr_token, created_at)"
                " VALUES (?, ?, 'staff', ?, 1, ?, ?)",
                (
                    f"G{b:02d}{p:03d}",
                    f"员工{b:02d}{p:03d}",
                    bid,
                    f"qr-{b:02d}-{p:03d}-{rng.random()}",
                    created,
                ),
            )
            staff.append((int(cur.lastrowid or 0), bid, counters[bid][p % COUNTERS_PER_BRANCH]))
        cur = con.execute(
            "INSERT INTO staff (employee_no, display_name, role, branch_id, active, qr_token, username,"
            " created_at) VALUES (?, ?, 'supervisor', ?, 1, ?, ?, ?)",
            (f"S{b:02d}", f"主管{b:02d}", bid, f"qr-sup-{b:02d}-{rng.random()}", f"sup{b:02d}", created),
        )
        supervisors[bid] = int(cur.lastrowid or 0)
    con.execute(
        "INSERT INTO staff (employee_no, display_name, role, branch_id, active, qr_token, username,"
        " created_at) VALUES ('ADMIN', '管理员', 'admin', NULL, 1, ?, 'admin', ?)",
        (f"qr-admin-{rng.random()}", created),
    )
    return _Org(branches, counters, staff, supervisors, negative, positive, negative)


# Score weights (1..5) of three kinds of staff: most do well, some are middling, a few struggle.
_PROFILES = ([0.02, 0.03, 0.08, 0.27, 0.60], [0.05, 0.08, 0.20, 0.35, 0.32], [0.15, 0.15, 0.25, 0.25, 0.20])


def _ratings(con: sqlite3.Connection, rng: random.Random, org: _Org, n: int, seed: int) -> None:
    start_day = (NOW + TZ_OFFSET).date() - timedelta(days=DAYS - 1)
    end_ts = _ts(NOW)
    # Each staff member gets a profile; a rating picks a person, a score from their profile, and
    # reasons for low scores (and sometimes high ones).
    profile_of = [rng.choices((0, 1, 2), (0.75, 0.2, 0.05))[0] for _ in org.staff]
    neg = [json.dumps([c]) for c in org.negative] + [
        json.dumps([a, b]) for a, b in zip(org.negative, org.negative[1:], strict=False)
    ]
    pos = [json.dumps([c]) for c in org.positive]
    sql = (
        "INSERT INTO rating (id, idempotency_key, request_hash, staff_id, counter_id, branch_id, device_id,"
        " channel, score, reasons, comment, created_at, flagged, flag_reason, counted, phone_key, overturned)"
        " VALUES (?, ?, 'gen', ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, NULL, 0)"
    )
    per_day, extra = divmod(n, DAYS)
    i = 0
    batch: list[tuple[object, ...]] = []
    staff_count = len(org.staff)
    rand, choices = rng.random, rng.choices
    cumulative = [list(itertools.accumulate(w))[:-1] for w in _PROFILES]  # score = 1 + bisect(cum, u)
    for day in range(DAYS):
        k = per_day + (1 if day < extra else 0)
        local = start_day + timedelta(days=day)
        opened = datetime(local.year, local.month, local.day, 9) - TZ_OFFSET  # naive UTC, 09:00 local
        offsets = sorted(rand() * 8 * 3600 for _ in range(k))  # opening hours 09:00-17:00
        who = choices(range(staff_count), k=k)
        profiles = [profile_of[w] for w in who]
        picks = [1 + bisect.bisect(cumulative[p], rand()) for p in profiles]
        for off, w, score in zip(offsets, who, picks, strict=True):
            at = (opened + timedelta(seconds=off)).strftime(_TIME)
            if at > end_ts:
                continue
            staff_id, branch_id, counter_id = org.staff[w]
            r = rand()
            if score <= 2:
                reasons = neg[int(r * len(neg))]
                comment = "等了很久也没人解释" if r < 0.3 else ""
            elif score >= 4 and r < 0.25:
                reasons, comment = pos[int(r * 4 * len(pos)) % len(pos)], ("服务很好" if r < 0.05 else "")
            else:
                reasons, comment = "[]", ""
            flagged = r > 0.985  # about 1.5% of presses are flagged and not counted
            batch.append(
                (
                    f"{seed:08x}{i:024x}",
                    f"gen-{i:010d}",
                    staff_id,
                    counter_id,
                    branch_id,
                    "qr" if r < 0.2 else "kiosk",
                    score,
                    reasons,
                    comment,
                    at,
                    int(flagged),
                    "too_soon" if flagged else None,
                    int(not flagged),
                )
            )
            i += 1
        if len(batch) >= 200_000:
            con.executemany(sql, batch)
            batch.clear()
    if batch:
        con.executemany(sql, batch)


def _complaints(con: sqlite3.Connection, rng: random.Random, org: _Org, ratings: int) -> None:
    n = max(50, ratings // COMPLAINT_EVERY)
    span = DAYS * 86400
    rows = []
    for i in range(n):
        created = NOW - timedelta(seconds=rng.random() * span)
        age = NOW - created
        staff_id, branch_id, counter_id = org.staff[rng.randrange(len(org.staff))]
        if age < timedelta(days=3):
            status = rng.choice(("new", "acknowledged", "investigating"))
        elif age < timedelta(days=10):
            status = rng.choice(("acknowledged", "investigating", "resolved", "closed"))
        else:
            status = rng.choice(("closed", "closed", "closed", "rejected", "resolved"))
        severity = rng.choices(("low", "normal", "high"), (0.3, 0.6, 0.1))[0]
        due = created + timedelta(hours={"high": 24, "normal": 72, "low": 120}[severity])
        rows.append(
            (
                f"gen-c-{i}",
                "gen",
                f"{rng.getrandbits(128):032x}",
                branch_id,
                counter_id,
                staff_id,
                "kiosk",
                rng.choice(org.categories),
                "办理业务时等候时间过长，窗口人员态度冷淡。",
                severity,
                status,
                "zh-CN",
                _ts(created),
                _ts(due),
            )
        )
    con.executemany(
        "INSERT INTO complaint (idempotency_key, request_hash, code_digest, branch_id, counter_id, staff_id,"
        " channel, category, description, severity, status, locale, created_at, due_at, escalation_level)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
        rows,
    )


def _inspections(con: sqlite3.Connection, rng: random.Random, org: _Org) -> None:
    months = DAYS // 30
    by_branch: dict[int, list[int]] = {}
    for staff_id, branch_id, _counter in org.staff:
        by_branch.setdefault(branch_id, []).append(staff_id)
    findings = []
    for branch_id in org.branches:
        for _ in range(months * INSPECTIONS_PER_BRANCH_MONTH):
            at = NOW - timedelta(seconds=rng.random() * DAYS * 86400)
            cur = con.execute(
                "INSERT INTO inspection (staff_id, branch_id, inspector_id, kind, at, notes, recorded_at)"
                " VALUES (?, ?, ?, 'routine', ?, '', ?)",
                (rng.choice(by_branch[branch_id]), branch_id, org.supervisors[branch_id], _ts(at), _ts(at)),
            )
            for code in rng.sample(org.categories, 3):
                result = "violation" if rng.random() < 0.2 else "compliant"
                findings.append((cur.lastrowid, code, result))
    con.executemany(
        "INSERT INTO inspection_finding (inspection_id, clause_code, result, note) VALUES (?, ?, ?, '')",
        findings,
    )


if __name__ == "__main__":
    count, seed_arg = int(sys.argv[1]), int(sys.argv[2])
    started = time.monotonic()
    path = generate(count, seed_arg)
    size = path.stat().st_size / 1e6
    print(f"   {count:,} ratings: {path} ({size:,.0f} MB, {time.monotonic() - started:.0f} s)", flush=True)
