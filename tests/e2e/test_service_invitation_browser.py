"""Issue 18, Done-when 1, end to end: a transaction (办件) reported through the API, the counter's
tablet inviting a rating of that service, the rating stored bound to it, a second tap (the customer's
phone, from the receipt's link opened before) stored but flagged, and the provincial feed delivering
the rating to a real receiver exactly once although the receiver fails its first two attempts and
the server is restarted between attempts.

This test runs its own server (the feed is switched on at start-up, which the package's server is
not), on its own demo database, with its clock pinned like the package's; the feed's attempts are
made by the server's own job, one per start, the server stopped after each.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlmodel import col, func, select

from models.clock import utcnow
from models.devices import register_device
from models.feed import FeedAttempt, FeedRecord
from models.org import Counter, Role, Staff
from models.rating import Rating
from models.services import ServiceTransaction
from rapport.core.db import Database
from rapport.core.i18n import t
from rapport.usecases.feed_mapping import validate_record
from tests.e2e.conftest import Server, _same_clock, enrol_tablet, open_page, screenshot, tap_face
from tests.serving import clean_env, free_port, stop, wait_for_port, wait_until_up

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
COUNTER = "BJ-RM-01"
SERVICES_CSV = (
    "code,name_zh,name_en,version,department_code\n"
    "SB-001,社会保障卡申领,Social security card application,2,440304SB\n"
)
NUMBER = "44030020261118000123"  # the demo's own transactions are numbered otherwise
QUESTION_ZH = "请对本次办理的【社会保障卡申领】进行评价"
QUESTION_EN = "Please rate the service you just received: Social security card application"


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """``rapport feed receiver --fail-first 2``: (its URL, the file of the records it accepted)."""
    port, out, log = free_port(), tmp_path / "received.jsonl", tmp_path / "receiver.log"
    env = clean_env()
    command = [sys.executable, "-m", "rapport", "feed", "receiver", "--port", str(port), "--out", str(out),
               "--fail-first", "2"]  # fmt: skip
    with log.open("wb") as sink:
        proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT)
    wait_for_port(port, proc, log, what="the receiver")
    yield f"http://127.0.0.1:{port}/records", out
    stop(proc)


class Hall:
    """A server with the feed on, started and stopped by the test; its clock given at each start."""

    def __init__(self, data_dir: Path, feed_url: str):
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir / "server.log"
        self.env = clean_env(**{
            "RAPPORT_DATA_DIR": str(data_dir), "RAPPORT_PORT": str(self.port),
            "RAPPORT_LOCALE": "zh-CN", "RAPPORT_FEED_URL": feed_url, "RAPPORT_FEED_REGION_CODE": "440304",
            "RAPPORT_FEED_DEPARTMENT_CODE": "440304ZWFW",
        })  # fmt: skip
        self.proc: subprocess.Popen[bytes] | None = None
        self.db = Database.from_url(f"sqlite:///{data_dir / 'rapport.db'}")

    def command(self, *args: str, at: datetime | None = None) -> str:
        env = {**self.env, "RAPPORT_CLOCK_AT": at.isoformat()} if at else _same_clock(self.env, utcnow())
        command = [sys.executable, "-m", "rapport", *args]
        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def start(self, at: datetime) -> None:
        env = {**self.env, "RAPPORT_CLOCK_AT": at.isoformat()}
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "rapport", "serve"], env=env, cwd=ROOT,
                                         stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
        wait_until_up(f"{self.url}/healthz", self.proc, self.log)

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            self.proc = None

    def as_server(self) -> Server:
        return Server(url=self.url, data_dir=self.data_dir, db=self.db, log=self.log)


@pytest.fixture
def hall(tmp_path: Path, receiver: tuple[str, Path]) -> Iterator[Hall]:
    data_dir = tmp_path / "hall"
    data_dir.mkdir()
    hall = Hall(data_dir, receiver[0])
    hall.command("demo", "--days", "1", at=utcnow())
    yield hall
    hall.stop()
    hall.db.dispose()


def _attempts(db: Database) -> int:
    with db.read() as s:
        return int(s.exec(select(func.count()).select_from(FeedAttempt)).one())


def test_done_when_a_transaction_reported_is_rated_once_and_reaches_the_platform_once(
    browser, hall: Hall, receiver: tuple[str, Path]
) -> None:
    feed_url, out = receiver
    csv = hall.data_dir / "services.csv"
    csv.write_text(SERVICES_CSV, encoding="utf-8")
    assert "1 service(s) added" in hall.command("services", "import", str(csv))
    with hall.db.write() as s:  # the queue system: a device of its own at the counter
        counter = s.exec(select(Counter).where(Counter.code == COUNTER)).one()
        served_by = s.exec(
            select(Staff)
            .where(Staff.branch_id == counter.branch_id, Staff.role == Role.staff, col(Staff.active))
            .order_by(col(Staff.employee_no))
        ).first()
        assert counter.id is not None and served_by is not None
        _device, queue_token = register_device(s, counter_id=counter.id, label="queue system")
        staff_no, staff_name = served_by.employee_no, served_by.display_name
    started = utcnow()
    hall.start(started)
    tablet = enrol_tablet(browser, hall.as_server(), COUNTER)
    page = tablet.page
    # (enrol_tablet waited for the faces; what the question says first depends on the demo's data)

    # 1. The queue system reports the transaction; the tablet asks about that service at once.
    answer = httpx.post(
        f"{hall.url}/api/v1/services",
        json={"number": NUMBER, "service_code": "SB-001", "staff": staff_no},
        headers={"Authorization": f"Bearer {queue_token}", "Idempotency-Key": "queue-0001"},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert (body["status"], body["staff"], body["counter"]) == ("invited", staff_no, COUNTER)
    page.get_by_text(QUESTION_ZH, exact=True).wait_for(timeout=15_000)
    page.get_by_text(staff_name, exact=True).first.wait_for()
    screenshot(page, "service-invitation-tablet-zh")

    # The customer also opens the receipt's link on their phone before rating at the counter.
    link_path = "/v/" + body["invitation_url"].rsplit("/v/", 1)[1]
    phone = open_page(browser, f"{hall.url}{link_path}", "phone")
    phone.get_by_text(QUESTION_ZH, exact=True).wait_for()
    phone.get_by_role("button", name=re.compile("English")).click()
    phone.get_by_text(QUESTION_EN, exact=True).wait_for()
    screenshot(phone, "service-invitation-phone-en")

    # 2. The tap at the counter is the transaction's rating, for whoever served it.
    tap_face(page, "非常满意", t("zh-CN", "details.title.high"))
    with hall.db.read() as s:
        tx = s.exec(select(ServiceTransaction).where(ServiceTransaction.number == NUMBER)).one()
        [rating] = s.exec(select(Rating).where(Rating.transaction_id == tx.id)).all()
        assert (rating.score, rating.counted, rating.channel, rating.staff_id) == (
            5,
            True,
            "kiosk",
            tx.staff_id,
        )
        assert tx.rating_id == rating.id and served_by.id == tx.staff_id
    first_id = rating.id

    # 3. The second tap (the phone) is stored, flagged and not counted.
    tap_face(phone, t("en", "kiosk.score.4"), t("en", "details.title.high"))
    with hall.db.read() as s:
        second = s.exec(select(Rating).where(Rating.transaction_id == tx.id, Rating.id != first_id)).one()
        assert (second.score, second.channel, second.counted, second.flag_reason) == (
            4,
            "qr",
            False,
            "already_rated",
        )
        assert s.get(ServiceTransaction, tx.id).rating_id == first_id  # type: ignore[union-attr]
        [record] = s.exec(select(FeedRecord)).all()  # only the counted rating goes to the platform
        assert record.rating_id == first_id and record.status == "pending"
        due = record.next_attempt_at
    answer = httpx.get(f"{hall.url}/api/v1/services/{NUMBER}",
                       headers={"Authorization": f"Bearer {queue_token}"}, timeout=10)  # fmt: skip
    assert answer.json()["status"] == "rated"
    hall.stop()

    # 4. Three starts of the server, each after the record's next attempt is due: the receiver
    #    fails the first two (503), the third is delivered; the server is stopped after each.
    at = due + timedelta(seconds=1)
    for attempt in (1, 2, 3):
        hall.start(at)
        deadline = time.monotonic() + 60
        while _attempts(hall.db) < attempt:
            assert time.monotonic() < deadline, (
                f"attempt {attempt} was not made:\n{hall.log.read_text()[-3000:]}"
            )
            time.sleep(0.5)
        hall.stop()
        with hall.db.read() as s:
            record = s.exec(select(FeedRecord)).one()
        if attempt < 3:
            assert (record.status, record.attempts, record.last_status) == ("pending", attempt, 503)
            at = record.next_attempt_at + timedelta(seconds=1)

    with hall.db.read() as s:
        [record] = s.exec(select(FeedRecord)).all()
        assert (record.status, record.attempts) == ("delivered", 3)
        attempts = s.exec(select(FeedAttempt).order_by(col(FeedAttempt.id))).all()
        assert [(a.status, a.outcome) for a in attempts] == [
            (503, "retry"),
            (503, "retry"),
            (200, "delivered"),
        ]
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1  # exactly once, from the platform's side
    received = json.loads(lines[0])
    assert validate_record(received) is None
    assert (received["projNo"], received["taskCode"], received["taskName"], received["taskVersion"]) == (
        NUMBER, "SB-001", "社会保障卡申领", "2",
    )  # fmt: skip
    assert (received["level"], received["staffName"], received["channel"]) == (5, staff_name, "4")
    assert feed_url.endswith("/records")
