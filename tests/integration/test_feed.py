"""The provincial 好差评 feed end to end (models/feed.py, rapport/usecases/feed.py, the receiver).

Every path that stores a rating writes one outbox record in the rating's own transaction when the
feed is on, none when it is off and none for a flagged press; the worker retries with a capped
exponential back-off on a pinned clock, pauses on a 4xx with the answer kept, and a paused record
is resent on request. The Done-when test (issue 18, the outbox half of 1): a real receiver that fails
its first two requests, the worker run three times with a fresh application context and engine
between attempts (a server restart), and the record in the receiver's file exactly once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, text
from sqlmodel import SQLModel, col, select

from models.audit import AuditEvent
from models.catalog import load_catalog
from models.clock import parse_instant
from models.devices import register_device
from models.duty import start_duty
from models.feed import FEED, FeedAttempt, FeedRecord, FeedStatus, record_id_for, switch_off
from models.intake import take_rating_with_token
from models.jobs import JobRun
from models.org import Branch, Counter, Staff
from models.rating import Channel, Rating, RatingCreate, rate_by_qr, store_rating
from rapport.core.context import AppContext
from rapport.core.db import Database
from rapport.core.migrate import upgrade
from rapport.core.settings import Settings, apply_feed
from rapport.usecases import scheduler
from rapport.usecases.feed import deliver_due
from rapport.usecases.feed_mapping import validate_record
from tests.conftest import clock_pinned
from tests.serving import clean_env, free_port, stop, wait_for_port

NOW = parse_instant("2026-11-18T10:30:00+08:00")
DEPT = "11440300MB2C12345X"
# 2.2.3 积极主动 as the platform receives it: with the indicator it feeds (assets/conduct/indicators.json).
SLOW = {"code": "2.2.3", "name": "积极主动", "indicator": "服务效率", "option": "", "optionName": ""}
FEED_SETTINGS = {
    "feed_region_code": "440304",
    "feed_department_code": DEPT,
    "feed_department_name": "政务服务中心",
}
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pinned() -> Iterator[None]:
    """The process clock at NOW (listed before ``world``, whose duty starts an hour before "now")."""
    with clock_pinned("2026-11-18T10:30:00+08:00"):
        yield


@pytest.fixture
def feed_on() -> Iterator[None]:
    apply_feed(Settings(feed_url="http://127.0.0.1:9/feed", **FEED_SETTINGS))
    yield
    switch_off()


@pytest.fixture(autouse=True)
def feed_off_after() -> Iterator[None]:
    yield
    switch_off()


def feed_ctx(db: Database, tmp_path: Path, url: str = "http://platform.test/records") -> AppContext:
    settings = Settings(data_dir=tmp_path, database_url="sqlite://", feed_url=url, **FEED_SETTINGS)
    apply_feed(settings)
    return AppContext(settings=settings, db=db, secret_key="k" * 40, clock=lambda: NOW)


def tap(db: Database, token: str, key: str, *, score: int = 4, at=NOW, reasons=()):  # type: ignore[no-untyped-def]
    with db.raw_write() as conn:
        return take_rating_with_token(
            conn, db.dialect, token=token, idempotency_key=key,
            data=RatingCreate(score=score, reasons=list(reasons)), staff_no=None, now=at,
        )  # fmt: skip


def records(db: Database) -> list[FeedRecord]:
    with db.read() as s:
        return list(s.exec(select(FeedRecord).order_by(col(FeedRecord.created_at))).all())


# -- one record per counted rating, in its transaction ----------------------------------------------


def test_a_tap_on_the_hot_path_writes_one_record_in_its_transaction(pinned, db, world, feed_on):
    taken = tap(db, world.device_token, "feed-tap-1", score=2, reasons=["2.2.3"])
    again = tap(db, world.device_token, "feed-tap-1", score=2, reasons=["2.2.3"])  # a retry: no second
    assert taken.created and not again.created
    [record] = records(db)
    assert record.rating_id == taken.rating.id and record.id == record_id_for(taken.rating.id, DEPT)
    assert (record.status, record.attempts, record.last_status) == (FeedStatus.pending, 0, None)
    assert record.next_attempt_at == NOW + timedelta(minutes=15)  # after the details window


def test_a_rating_rolled_back_takes_its_record_with_it(pinned, db, world, feed_on):
    with pytest.raises(RuntimeError), db.raw_write() as conn:
        take_rating_with_token(
            conn, db.dialect, token=world.device_token, idempotency_key="feed-rolled-back",
            data=RatingCreate(score=5), staff_no=None, now=NOW,
        )  # fmt: skip
        assert FEED.on
        raise RuntimeError("the request failed after the insert")
    with db.read() as s:
        assert s.exec(select(func.count()).select_from(Rating)).one() == 0
    assert records(db) == []


def test_the_phone_and_hotline_paths_write_one_record_each_in_their_transaction(pinned, db, world, feed_on):
    with db.write() as s:
        badge = s.exec(select(Staff).where(Staff.employee_no == world.staff_no)).one().qr_token
        by_phone, _ = rate_by_qr(
            s,
            qr_token=badge,
            phone_id="phone-1",
            idempotency_key="feed-qr-1",
            data=RatingCreate(score=5),
            now=NOW,
        )
    with db.write() as s:  # the hotline stores with its complaint and commits both (admin/hotline.py)
        by_phone_line, created = store_rating(
            s, idempotency_key="feed-hotline-1", data=RatingCreate(score=1, comment="电话没人接"),
            channel=Channel.hotline, branch_id=world.branch_id, staff_id=world.staff_id, now=NOW,
        )  # fmt: skip
        assert created
        assert s.exec(select(func.count()).select_from(FeedRecord)).one() == 2  # in the same transaction
        s.commit()
    with db.write() as s:  # rolled back: neither the rating nor its record
        store_rating(
            s, idempotency_key="feed-hotline-2", data=RatingCreate(score=3), channel=Channel.hotline,
            branch_id=world.branch_id, now=NOW,
        )  # fmt: skip
        s.rollback()
    assert sorted(str(r.rating_id) for r in records(db)) == sorted([str(by_phone.id), str(by_phone_line.id)])


def test_no_record_when_the_feed_is_off(pinned, db, world):
    apply_feed(Settings())  # no RAPPORT_FEED_URL
    assert not FEED.on
    tap(db, world.device_token, "feed-off-1")
    with db.write() as s:
        store_rating(
            s, idempotency_key="feed-off-2", data=RatingCreate(score=2), channel=Channel.hotline,
            branch_id=world.branch_id, now=NOW,
        )  # fmt: skip
        s.commit()
    assert records(db) == []


def test_no_record_for_a_flagged_press_that_is_not_counted(pinned, db, world, feed_on):
    first = tap(db, world.device_token, "feed-flag-1", at=NOW)
    too_soon = tap(db, world.device_token, "feed-flag-2", at=NOW + timedelta(seconds=1))
    assert first.rating.counted and too_soon.rating.flagged and not too_soon.rating.counted
    with db.write() as s:  # a second rating of the same person from the same phone: flagged likewise
        badge = s.exec(select(Staff).where(Staff.employee_no == world.staff_no)).one().qr_token
        one, _ = rate_by_qr(
            s, qr_token=badge, phone_id="p", idempotency_key="q1", data=RatingCreate(score=5), now=NOW
        )
        two, _ = rate_by_qr(
            s, qr_token=badge, phone_id="p", idempotency_key="q2", data=RatingCreate(score=5), now=NOW
        )
        assert one.counted and two.flagged
    assert sorted(str(r.rating_id) for r in records(db)) == sorted([str(first.rating.id), str(one.id)])


# -- the worker: back-off, pause, resend ---------------------------------------------------------------


class Platform:
    """An httpx transport answering from a script of statuses (the last one repeats)."""

    def __init__(self, *statuses: int, body: str = "") -> None:
        self.statuses = list(statuses)
        self.body = body
        self.posted: list[dict[str, object]] = []
        self.headers: list[httpx.Headers] = []

    def transport(self) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            self.posted.append(json.loads(request.content))
            self.headers.append(request.headers)
            status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
            return httpx.Response(status, text=self.body or f"answer {status}")

        return httpx.MockTransport(handle)


def run_pass(ctx: AppContext, at, platform: Platform):  # type: ignore[no-untyped-def]
    from models.jobs import RunLog

    run = RunLog()
    deliver_due(ctx, at, run, transport=platform.transport())
    return run


def test_retries_back_off_exponentially_up_to_an_hour_on_a_pinned_clock(pinned, db, world, tmp_path):
    ctx = feed_ctx(db, tmp_path)
    taken = tap(db, world.device_token, "feed-backoff")
    platform = Platform(503)
    at = NOW + timedelta(minutes=14)
    assert run_pass(ctx, at, platform).done == 0 and platform.posted == []  # not due before the window
    at = NOW + timedelta(minutes=15)
    waits = []
    for attempt in range(1, 10):
        run = run_pass(ctx, at, platform)
        assert run.failed == 1 and run.errors == [f"record {records(db)[0].id}: FeedRetry"]
        [record] = records(db)
        assert (record.status, record.attempts, record.last_status) == (FeedStatus.pending, attempt, 503)
        waits.append((record.next_attempt_at - at) / timedelta(minutes=1))
        early = run_pass(ctx, record.next_attempt_at - timedelta(seconds=1), platform)
        assert early.failed == 0 and len(platform.posted) == attempt  # not before its time
        at = record.next_attempt_at
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    # The same record id on every attempt, with the rating's fields.
    assert {p["recordId"] for p in platform.posted} == {str(record_id_for(taken.rating.id, DEPT))}
    assert all(validate_record(p) is None for p in platform.posted)
    assert platform.posted[0]["staffLogin"] == "E1" and platform.posted[0]["level"] == 4
    with db.read() as s:
        assert s.exec(select(func.count()).select_from(FeedAttempt)).one() == 9


def test_a_timeout_or_a_refused_connection_is_retried(pinned, db, world, tmp_path):
    ctx = feed_ctx(db, tmp_path)
    tap(db, world.device_token, "feed-timeout")

    def no_answer(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    from models.jobs import RunLog

    deliver_due(ctx, NOW + timedelta(minutes=15), RunLog(), transport=httpx.MockTransport(no_answer))
    [record] = records(db)
    assert (record.status, record.attempts, record.last_status) == (FeedStatus.pending, 1, None)
    assert record.last_answer == "no answer within the timeout"


def test_a_4xx_pauses_the_record_with_the_answer_until_it_is_resent(pinned, db, world, tmp_path):
    from models.feed import resend

    ctx = feed_ctx(db, tmp_path)
    taken = tap(db, world.device_token, "feed-4xx", score=1, reasons=["2.2.3"])
    refusal = '{"error": "areaCode: unknown region", "field": "areaCode"}'
    at = NOW + timedelta(minutes=15)
    run = run_pass(ctx, at, Platform(422, body=refusal))
    assert run.errors == [f"record {record_id_for(taken.rating.id, DEPT)}: FeedPaused"]
    [record] = records(db)
    assert (record.status, record.attempts, record.last_status) == (FeedStatus.paused, 1, 422)
    assert record.last_answer == refusal and record.delivered_at is None
    later = Platform(200)
    assert run_pass(ctx, at + timedelta(days=1), later).done == 0 and later.posted == []  # stays paused
    with db.write() as s:
        resend(s, record_id=record.id, now=at + timedelta(days=1))
        s.commit()
    assert run_pass(ctx, at + timedelta(days=1), later).done == 1
    [record] = records(db)
    assert (record.status, record.attempts, record.delivered_at) == (
        FeedStatus.delivered, 2, at + timedelta(days=1),
    )  # fmt: skip
    assert later.posted[0]["badReasons"] == [SLOW]
    with db.read() as s:
        outcomes = s.exec(select(FeedAttempt.outcome).order_by(col(FeedAttempt.id))).all()
        assert list(outcomes) == ["paused", "delivered"]
        assert s.exec(select(AuditEvent.action).where(AuditEvent.entity == "feed_record")).all() == [
            "feed.resent"
        ]
    with db.write() as s, pytest.raises(Exception, match="delivered already"):
        resend(s, record_id=record.id, now=at + timedelta(days=2))


def test_the_token_is_sent_as_a_bearer_and_the_details_added_after_the_tap_are_in_the_record(
    pinned, db, world, tmp_path
):
    from models.rating import add_rating_details

    ctx = feed_ctx(db, tmp_path)
    ctx.settings.feed_token = "s3cret-token"
    taken = tap(db, world.device_token, "feed-details", score=2)
    with db.write() as s:
        add_rating_details(
            s, rating_id=taken.rating.id, reasons=["2.2.3", "2.2.1"], comment="电话 13912345678",
            now=NOW + timedelta(minutes=3),
        )  # fmt: skip
    platform = Platform(200)
    run_pass(ctx, NOW + timedelta(minutes=15), platform)
    assert platform.headers[0]["authorization"] == "Bearer s3cret-token"
    # Each chosen reason in the official vocabulary: its indicator (and no official option: none ship).
    assert platform.posted[0]["badReasons"] == [
        SLOW, {"code": "2.2.1", "name": "热情礼貌", "indicator": "服务态度", "option": "", "optionName": ""},
    ]  # fmt: skip
    assert platform.posted[0]["text"] == "电话 ***"


# -- the CLI: list, resend -------------------------------------------------------------------------------


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = clean_env()
    return subprocess.run(
        [sys.executable, "-m", "rapport", *args], env={**base, **env}, capture_output=True, text=True,
        timeout=120, cwd=ROOT,
    )  # fmt: skip


def test_an_administrator_lists_paused_records_and_resends_one_from_the_command_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'feed.db'}"
    token = seed(url)
    db = Database.from_url(url)
    ctx = feed_ctx(db, tmp_path)
    with clock_pinned("2026-11-18T10:30:00+08:00"):
        tap(db, token, "cli-1")
        tap(db, token, "cli-2", at=NOW + timedelta(minutes=1))
    run_pass(ctx, NOW + timedelta(minutes=20), Platform(400, 200, body='{"field": "deptCode"}'))
    paused, delivered = records(db)
    db.dispose()
    env = {"RAPPORT_DATA_DIR": str(tmp_path), "RAPPORT_DATABASE_URL": url}
    listed = run_cli("feed", "list", "--paused", env=env)
    assert listed.returncode == 0, listed.stderr
    assert str(paused.id) in listed.stdout and str(delivered.id) not in listed.stdout
    assert 'last answer 400 at 2026-11-18T02:50:00+00:00: {"field": "deptCode"}' in listed.stdout
    everything = run_cli("feed", "list", env=env).stdout
    assert str(delivered.id) in everything and "delivered 2026-11-18T02:50:00+00:00" in everything
    refused = run_cli("feed", "resend", str(delivered.id), env=env)
    assert refused.returncode == 2 and "delivered already" in refused.stderr
    unknown = run_cli("feed", "resend", "not-an-id", env=env)
    assert unknown.returncode == 2 and "not a record id" in unknown.stderr
    resent = run_cli("feed", "resend", str(paused.id), env=env)
    assert resent.returncode == 0 and "will be sent again" in resent.stdout
    assert "RAPPORT_FEED_URL is not set" in resent.stderr
    assert run_cli("feed", "list", "--paused", env=env).stdout.strip() == "No paused feed records."
    db = Database.from_url(url)
    assert records(db)[0].status == FeedStatus.pending
    db.dispose()


def test_a_bad_feed_setting_is_refused_at_start_up_with_one_sentence(tmp_path):
    for env, named in (
        ({"RAPPORT_FEED_URL": "ftp://platform.example/records"}, "RAPPORT_FEED_URL"),
        ({"RAPPORT_FEED_URL": "https://platform.example/records"}, "RAPPORT_FEED_REGION_CODE"),
        (
            {"RAPPORT_FEED_URL": "https://p.example/", "RAPPORT_FEED_REGION_CODE": "44"},
            "RAPPORT_FEED_REGION_CODE",
        ),
    ):
        result = run_cli("serve", env={"RAPPORT_DATA_DIR": str(tmp_path), **env})
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.returncode == 2 and len(lines) == 1 and named in lines[0], result.stderr


# -- Done when (issue 18, the outbox half of 1) ------------------------------------------------------------


def seed(url: str) -> str:
    """A branch, a counter with a tablet and Alice on duty since an hour before NOW; the tablet's token."""
    db = Database.from_url(url)
    upgrade(db.engine)  # safe twice
    with db.write() as s:
        load_catalog(s)
        branch = Branch(code="A", name_zh="甲支行", name_en="Branch A")
        s.add(branch)
        s.flush()
        assert branch.id is not None
        counter = Counter(branch_id=branch.id, code="A-01", name_zh="1号窗口", name_en="Counter 1")
        alice = Staff(employee_no="E1", display_name="李小华", branch_id=branch.id, username="alice")
        s.add_all([counter, alice])
        s.commit()
        assert counter.id is not None and alice.id is not None
        _device, token = register_device(s, counter_id=counter.id, label="tablet")
        start_duty(s, staff_id=alice.id, counter_id=counter.id, at=NOW - timedelta(hours=1))
    db.dispose()
    return token


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database two "servers" (one after the other) open by URL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'hall.db'}"
        database = Database.from_url(url)
        upgrade(database.engine)
        database.dispose()
        return url
    if not os.environ.get("RAPPORT_TEST_DATABASE_URL"):
        pytest.skip("PostgreSQL: set RAPPORT_TEST_DATABASE_URL")
    url = request.getfixturevalue("pg_template")
    database = Database.from_url(url)
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with database.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    database.dispose()
    return url


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """``rapport feed receiver --fail-first 2`` as a real process; (its URL, its output file)."""
    port, out, log = free_port(), tmp_path / "received.jsonl", tmp_path / "receiver.log"
    command = [sys.executable, "-m", "rapport", "feed", "receiver", "--port", str(port), "--out", str(out),
               "--fail-first", "2"]  # fmt: skip
    with log.open("wb") as sink:
        proc = subprocess.Popen(command, env=clean_env(), cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, proc, log, what="the receiver")
        yield f"http://127.0.0.1:{port}/records", out
    finally:
        stop(proc, seconds=10)


def start_server(url: str, feed_url: str, tmp_path: Path, at) -> AppContext:  # type: ignore[no-untyped-def]
    """What a server start does for the feed: settings checked and applied, a new engine."""
    settings = Settings(data_dir=tmp_path, database_url=url, feed_url=feed_url, **FEED_SETTINGS)
    apply_feed(settings)
    return AppContext(settings=settings, db=Database.from_url(url), secret_key="k" * 40, clock=lambda: at)


def stop_server(ctx: AppContext) -> None:
    ctx.db.dispose()
    switch_off()


def test_done_when_a_rating_reaches_a_failing_receiver_exactly_once_across_restarts(
    shared_url, receiver, tmp_path
):
    feed_url, out = receiver
    token = seed(shared_url)
    # The rating is taken by a running server on the hot path, its record in the same transaction.
    server = start_server(shared_url, feed_url, tmp_path, NOW)
    with clock_pinned("2026-11-18T10:30:00+08:00"):
        taken = tap(server.db, token, "done-when-1", score=2, reasons=["2.2.3"])
    stop_server(server)
    expected_id = str(record_id_for(taken.rating.id, DEPT))

    at = NOW + timedelta(minutes=15)  # the details window has closed: the first attempt is due
    seen: list[tuple[str, int, int]] = []
    for attempt in (1, 2, 3):
        server = start_server(shared_url, feed_url, tmp_path, at)  # a fresh process, in effect
        job = scheduler.job_named(scheduler.FEED)
        [run] = scheduler.run_due(server, job, at)
        with server.db.read() as s:
            record = s.exec(select(FeedRecord)).one()
        seen.append((record.status, record.attempts, run.items_done))
        next_at = record.next_attempt_at
        stop_server(server)
        if attempt < 3:
            assert (record.status, record.last_status) == (FeedStatus.pending, 503)
            assert next_at == at + timedelta(minutes=2 ** (attempt - 1))  # 1 min, then 2 min
            at = next_at + timedelta(seconds=1)
    assert seen == [("pending", 1, 0), ("pending", 2, 0), ("delivered", 3, 1)]

    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    received = json.loads(lines[0])
    assert received["recordId"] == expected_id and validate_record(received) is None
    assert (received["level"], received["levelName"], received["staffLogin"], received["staffName"]) == (
        2, "不满意", "alice", "李小华",
    )  # fmt: skip
    assert received["badReasons"] == [SLOW]
    assert (received["projNo"], received["taskCode"], received["areaCode"]) == ("", "", "440304")

    db = Database.from_url(shared_url)
    with db.read() as s:
        [record] = s.exec(select(FeedRecord)).all()
        assert (record.status, record.attempts, record.delivered_at) == ("delivered", 3, at)
        attempts = s.exec(select(FeedAttempt).order_by(col(FeedAttempt.id))).all()
        assert [(a.status, a.outcome) for a in attempts] == [
            (503, "retry"),
            (503, "retry"),
            (200, "delivered"),
        ]
        runs = s.exec(select(JobRun).where(JobRun.job == scheduler.FEED).order_by(col(JobRun.id))).all()
        assert [(r.items_done, r.items_failed) for r in runs] == [(0, 1), (0, 1), (1, 0)]
    db.dispose()

    # Posted again (an answer lost, a server stopped between the post and its record): the receiver
    # knows the id and writes nothing, so the platform still holds the record once.
    again = httpx.post(feed_url, json=received, timeout=5)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    bad = httpx.post(feed_url, json={**received, "areaCode": "4403"}, timeout=5)
    assert bad.status_code == 400 and bad.json()["field"] == "areaCode"
    unofficial = {**received, "badReasons": [{**SLOW, "indicator": "服务速度"}]}
    bad = httpx.post(feed_url, json={**unofficial, "recordId": str(uuid.uuid4())}, timeout=5)
    assert bad.status_code == 400 and bad.json()["field"] == "badReasons"
    assert "服务效率" in bad.json()["error"]
    assert len(out.read_text(encoding="utf-8").splitlines()) == 1
