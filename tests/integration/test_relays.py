"""The relays between server processes (rapport/core/relay.py), two app contexts in one test process,
each with its own bus, tablets' signals and database pool, as two worker processes have.

- SQLite with several workers: the poller of each process delivers the alerts and nudges stored by
  the other; an alert raised in a process reaches its own supervisors once, although its poller
  reads it back too.
- PostgreSQL: a nudge sent in one process reaches the other's tablets through NOTIFY, and not the
  sender's a second time; after their listening connections are dropped, both relays reconnect, the
  alert raised meanwhile reaches the other process once (caught up by id), and alerts and nudges cross
  again (run when RAPPORT_TEST_DATABASE_URL is set).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import select

from models.alerts import AlertKind, AlertView, raise_alert
from models.catalog import load_catalog
from models.devices import register_device
from models.org import Branch, Counter
from models.services import import_items
from rapport.core.context import AppContext
from rapport.core.db import Database
from rapport.core.leader import libpq_conninfo
from rapport.core.live import PgAlertRelay
from rapport.core.migrate import upgrade
from rapport.core.relay import PgCounterRelay, SqlitePoller
from rapport.core.settings import Settings
from rapport.usecases import services
from tests.conftest import clock_pinned

SECRET = "relays-" + "s" * 40
PG_URL = os.environ.get("RAPPORT_TEST_DATABASE_URL", "")


@pytest.fixture(autouse=True)
def pinned() -> Iterator[datetime]:
    with clock_pinned() as at:
        yield at


def _seed(url: str) -> tuple[int, int, str]:
    db = Database.from_url(url)
    try:
        upgrade(db.engine)
        with db.write() as s:
            load_catalog(s)
            branch = Branch(code="A", name_zh="甲支行", name_en="Branch A")
            s.add(branch)
            s.flush()
            assert branch.id is not None
            counter = Counter(branch_id=branch.id, code="A-01", name_zh="1号窗口", name_en="Counter 1")
            s.add(counter)
            import_items(s, "code,name_zh\nSB-001,社会保障卡申领\n")
            s.commit()
            assert counter.id is not None
            token = register_device(s, counter_id=counter.id, label="queue system")[1]
            return branch.id, counter.id, token
    finally:
        db.dispose()


def _contexts(url: str, data_dir: Path) -> list[AppContext]:
    return [
        AppContext(
            settings=Settings(data_dir=data_dir, database_url=url),
            db=Database.from_url(url),
            secret_key=SECRET,
        )
        for _ in range(2)
    ]


def _subscribe(
    contexts: list[AppContext], branch_id: int, counter_id: int
) -> tuple[list[list[int]], list[int]]:
    """In each process a supervisor of the branch and the counter's tablet, and another branch's and
    another counter's that must get nothing: the alert ids and the nudges that reached each process."""
    alerts: list[list[int]] = [[] for _ in contexts]
    nudges = [0 for _ in contexts]
    for n, ctx in enumerate(contexts):

        async def on_alert(alert: AlertView, n: int = n) -> None:
            alerts[n].append(alert.id)

        async def on_nudge(n: int = n) -> None:
            nudges[n] += 1

        ctx.alerts.subscribe([branch_id], on_alert)
        ctx.alerts.subscribe([branch_id + 1000], on_alert)  # another branch's supervisor: nothing
        ctx.counters.subscribe(counter_id, on_nudge)
        ctx.counters.subscribe(counter_id + 1000, on_nudge)  # another counter's tablet: nothing
    return alerts, nudges


async def _settle() -> None:
    for _ in range(5):  # the bus and the signals schedule their handlers on this loop
        await asyncio.sleep(0.02)


async def test_sqlite_workers_hear_each_others_alerts_and_transactions_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'rapport.db'}"
    branch_id, counter_id, token = _seed(url)
    contexts = _contexts(url, tmp_path)
    alerts, nudges = _subscribe(contexts, branch_id, counter_id)
    pollers = []
    try:
        for ctx in contexts:
            poller = SqlitePoller(db=ctx.db, bus=ctx.alerts, counters=ctx.counters)
            poller._last_alert = poller._last_transaction = 0  # started before anything was stored
            pollers.append(poller)

        # An alert raised and published in process 0, as the alert hooks do after their commit.
        with contexts[0].db.write() as s:
            raised = raise_alert(s, branch_id=branch_id, kind=AlertKind.high_complaint, dedupe_key="d1")
            s.commit()
        assert raised is not None
        contexts[0].alerts.publish(raised)
        await _settle()
        assert alerts == [[raised.id], []]
        for poller in pollers:
            poller.poll()
        await _settle()
        assert alerts == [[raised.id], [raised.id]], "process 1 hears it once, process 0 not again"

        # A transaction reported in process 1: its tablets at once, process 0's at the next poll.
        await asyncio.to_thread(
            services.record_finished, contexts[1], device_token=token, idempotency_key="tx-1",
            data={"number": "N-1", "service_code": "SB-001"},
        )  # fmt: skip
        await _settle()
        assert nudges == [0, 1]
        pollers[0].poll()
        await _settle()
        assert nudges == [1, 1]
        pollers[0].poll()  # nothing new: no second nudge
        await _settle()
        assert nudges == [1, 1] and alerts == [[raised.id], [raised.id]]
    finally:
        for ctx in contexts:
            ctx.db.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    if not PG_URL:
        pytest.skip("RAPPORT_TEST_DATABASE_URL is not set (CI sets it)")
    base = make_url(PG_URL)
    name = f"rapport_relay_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.postgres
async def test_postgresql_relays_a_nudge_to_the_other_process_and_not_back(pg_url, tmp_path):
    _branch_id, counter_id, token = _seed(pg_url)
    contexts = _contexts(pg_url, tmp_path)
    nudges = [0, 0]
    relays = []
    try:
        for n, ctx in enumerate(contexts):

            async def on_nudge(n: int = n) -> None:
                nudges[n] += 1

            ctx.counters.subscribe(counter_id, on_nudge)
            relay = PgCounterRelay(
                conninfo=libpq_conninfo(ctx.db.engine.url), db=ctx.db, counters=ctx.counters
            )
            relay.start()
            ctx.counters.forward_to(relay.notify)
            relays.append(relay)
        assert all(r.listening.wait(5) for r in relays)
        with contexts[0].db.read() as s:
            assert s.exec(select(Counter.id)).all() == [counter_id]
        await asyncio.to_thread(
            services.record_finished, contexts[0], device_token=token, idempotency_key="tx-1",
            data={"number": "N-1", "service_code": "SB-001"},
        )  # fmt: skip
        for _ in range(50):
            if nudges[1]:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # time for a duplicate, if the sender's own NOTIFY came back to it
        assert nudges == [1, 1]
    finally:
        for ctx, relay in zip(contexts, relays, strict=False):
            ctx.counters.forward_to(None)
            relay.stop()
            ctx.db.dispose()


async def _until(condition: Callable[[], bool], seconds: float = 10) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not reached in time")


@pytest.mark.postgres
async def test_postgresql_relays_reconnect_after_a_dropped_connection_and_catch_up_alerts_once(
    pg_url, tmp_path
):
    branch_id, counter_id, token = _seed(pg_url)
    contexts = _contexts(pg_url, tmp_path)
    alerts, nudges = _subscribe(contexts, branch_id, counter_id)
    relays: list[PgAlertRelay | PgCounterRelay] = []
    try:
        for ctx in contexts:
            conninfo = libpq_conninfo(ctx.db.engine.url)
            alert_relay = PgAlertRelay(conninfo=conninfo, db=ctx.db, bus=ctx.alerts)
            counter_relay = PgCounterRelay(conninfo=conninfo, db=ctx.db, counters=ctx.counters)
            for relay in (alert_relay, counter_relay):
                relay.start()
                relays.append(relay)
            ctx.alerts.forward_to(alert_relay.notify)
            ctx.counters.forward_to(counter_relay.notify)
        assert all(r.listening.wait(5) for r in relays)

        # Every listening connection is dropped, and none can come back until the alert is raised.
        good = relays[0].conninfo
        for relay in relays:
            relay.conninfo = libpq_conninfo(make_url(pg_url).set(database="rapport_relay_nowhere"))
        with contexts[0].db.engine.connect() as conn:
            dropped = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND query LIKE 'LISTEN %'"
                )
            ).scalar_one()
        assert dropped == 4
        await _until(lambda: not any(r.listening.is_set() for r in relays))
        with contexts[0].db.write() as s:
            missed = raise_alert(s, branch_id=branch_id, kind=AlertKind.high_complaint, dedupe_key="d1")
            s.commit()
        assert missed is not None
        contexts[0].alerts.publish(missed)  # its NOTIFY reaches nobody
        await asyncio.to_thread(
            services.record_finished, contexts[0], device_token=token, idempotency_key="tx-1",
            data={"number": "N-1", "service_code": "SB-001"},
        )  # fmt: skip
        await _settle()
        assert alerts == [[missed.id], []] and nudges == [1, 0]

        for relay in relays:
            relay.conninfo = good
        await _until(lambda: all(r.listening.is_set() for r in relays), 30)
        await _until(lambda: alerts[1] == [missed.id])  # caught up by id after the reconnection

        # Listening again: a new alert and a new nudge cross, once each, and not back to the sender.
        with contexts[1].db.write() as s:
            later = raise_alert(s, branch_id=branch_id, kind=AlertKind.high_complaint, dedupe_key="d2")
            s.commit()
        assert later is not None
        contexts[1].alerts.publish(later)
        await asyncio.to_thread(
            services.record_finished, contexts[0], device_token=token, idempotency_key="tx-2",
            data={"number": "N-2", "service_code": "SB-001"},
        )  # fmt: skip
        await _until(lambda: len(alerts[0]) == 2 and nudges[1] == 1)
        await asyncio.sleep(0.5)  # time for a duplicate, if one came back
        assert alerts == [[missed.id, later.id], [missed.id, later.id]]
        assert nudges == [2, 1], "the nudge sent while down is not caught up; the later one crosses once"
    finally:
        for ctx in contexts:
            ctx.alerts.forward_to(None)
            ctx.counters.forward_to(None)
        for relay in relays:
            relay.stop()
        for ctx in contexts:
            ctx.db.dispose()
