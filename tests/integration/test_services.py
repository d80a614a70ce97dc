"""Transactions (办件) and the ratings they invite (issue 18): POST/GET /api/v1/services, the counter's
invitation, one counted rating per transaction, the receipt's link on a phone, the hall's CSV of
services, the feed record's transaction fields. On SQLite and, with RAPPORT_TEST_DATABASE_URL, on
PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlmodel import col, func, select
from starlette.testclient import TestClient

from kiosk import backend as kiosk
from models.cases import RatingCase
from models.errors import ValidationFailed
from models.feed import FeedRecord, switch_off, switch_on
from models.rating import Rating
from models.services import INVITATION_MINUTES, ImportResult, ServiceItem, ServiceTransaction, import_items
from rapport.entry.server import create_app
from rapport.usecases import services
from rapport.usecases.feed import facts_of
from tests.conftest import clock_pinned

SERVICES_CSV = (
    "\ufeffcode,name_zh,name_en,version,department_code\n"
    "SB-001,社会保障卡申领,Social security card application,2,440304SB\n"
    "HJ-002,户籍证明开具,Household registration certificate,1,440304GA\n"
)


@pytest.fixture(autouse=True)
def pinned() -> Iterator[datetime]:
    with clock_pinned() as at:
        yield at


class StoppedClock:
    """The app's clock for these tests: it reads one instant until a test moves it, so a stored time
    can be compared with the time it was stored at."""

    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, delta: timedelta) -> None:
        self.at += delta


@pytest.fixture
def clock(ctx, pinned):  # type: ignore[no-untyped-def]
    ctx.clock = StoppedClock(pinned)
    return ctx.clock


@pytest.fixture
def hall(db, world, clock):  # type: ignore[no-untyped-def]
    with db.write() as s:
        import_items(s, SERVICES_CSV)
        s.commit()
    return world


@pytest.fixture
def client(ctx):  # type: ignore[no-untyped-def]
    return TestClient(create_app(ctx, scheduler=False))


def report(client, token, body, key="tx-key-1"):  # type: ignore[no-untyped-def]
    headers = {"Idempotency-Key": key, "Authorization": f"Bearer {token}"}
    return client.post("/api/v1/services", json=body, headers=headers)


def transactions(db) -> list[ServiceTransaction]:  # type: ignore[no-untyped-def]
    with db.read() as s:
        return list(s.exec(select(ServiceTransaction).order_by(col(ServiceTransaction.id))).all())


def ratings(db) -> list[Rating]:  # type: ignore[no-untyped-def]
    with db.read() as s:
        return list(s.exec(select(Rating).order_by(col(Rating.created_at))).all())


# -- the API ------------------------------------------------------------------------------------------


def test_a_reported_transaction_is_stored_once_and_invites_a_rating(client, clock, hall, db):  # type: ignore[no-untyped-def]
    body = {"number": "4403-0001", "service_code": "SB-001"}
    first = report(client, hall.device_token, body)
    again = report(client, hall.device_token, body)
    assert (first.status_code, again.status_code) == (201, 200)
    answer = first.json()
    assert answer == again.json()
    assert answer["service"] == {
        "code": "SB-001", "name_zh": "社会保障卡申领", "name_en": "Social security card application",
        "version": "2",
    }  # fmt: skip
    # Nobody named: whoever is on duty at the device's counter when it finished.
    assert (answer["staff"], answer["counter"], answer["branch"], answer["status"]) == (
        "E1",
        "A-01",
        "A",
        "invited",
    )
    [tx] = transactions(db)
    assert answer["invitation_url"].endswith(f"/v/{tx.invitation_code}") and len(tx.invitation_code) == 8
    assert tx.finished_at == clock() and tx.rating_id is None


def test_a_queue_system_names_the_counter_the_person_and_the_time(client, clock, hall, db):  # type: ignore[no-untyped-def]
    at = (clock() - timedelta(minutes=4)).isoformat()
    body = {
        "number": "4403-0002",
        "service_code": "HJ-002",
        "counter": "A-02",
        "staff": "E2",
        "finished_at": at,
    }
    answer = report(client, hall.device_token, body).json()
    assert (answer["counter"], answer["staff"]) == ("A-02", "E2")
    [tx] = transactions(db)
    assert (tx.counter_id, tx.finished_at) == (hall.closed_counter_id, datetime.fromisoformat(at))


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"service_code": "SB-001"}, "number", "required"),
        ({"number": "n1", "service_code": "NOPE"}, "service_code", "rapport services import"),
        ({"number": "n1", "service_code": "SB-001", "counter": "B-01"}, "counter", "no open counter"),
        ({"number": "n1", "service_code": "SB-001", "staff": "E9"}, "staff", "does not work at this branch"),
        ({"number": "n1", "service_code": "SB-001", "staff": "E404"}, "staff", "no active staff"),
        ({"number": "n1", "service_code": "SB-001", "finished_at": "2026-11-18 10:30"}, "finished_at",
         "offset"),
        ({"number": "n1", "service_code": "SB-001", "finished_at": "2027-01-01T00:00+08:00"}, "finished_at",
         "future"),
        ({"number": "n1", "service_code": "SB-001", "finished_at": "2026-10-01T00:00+08:00"}, "finished_at",
         "30 days"),
        ({"number": "n1", "service_code": "SB-001", "queue": 7}, "queue", "unknown field"),
        ({"number": "n" * 65, "service_code": "SB-001"}, "number", "at most 64"),
    ],
)  # fmt: skip
def test_a_bad_report_is_422_naming_the_field_and_stores_nothing(client, hall, db, body, field, words):  # type: ignore[no-untyped-def]
    r = report(client, hall.device_token, body)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["field"] == field and words in error["message"]
    assert transactions(db) == []


def test_a_number_reported_again_with_another_key_is_409_and_a_reused_key_too(client, hall, db):  # type: ignore[no-untyped-def]
    assert report(client, hall.device_token, {"number": "n1", "service_code": "SB-001"}).status_code == 201
    twice = report(client, hall.device_token, {"number": "n1", "service_code": "SB-001"}, key="tx-key-2")
    assert twice.status_code == 409 and "already reported" in twice.json()["error"]["message"]
    reused = report(client, hall.device_token, {"number": "n2", "service_code": "SB-001"})
    assert reused.status_code == 409 and reused.json()["error"]["field"] == "Idempotency-Key"
    assert [t.number for t in transactions(db)] == ["n1"]


def test_without_a_valid_token_nothing_is_stored(client, clock, hall, db):  # type: ignore[no-untyped-def]
    body = {"number": "n1", "service_code": "SB-001"}
    assert client.post("/api/v1/services", json=body, headers={"Idempotency-Key": "k"}).status_code == 401
    assert report(client, "not-a-token", body).status_code == 401
    assert transactions(db) == []


def test_the_queue_system_reads_whether_its_transaction_was_rated(client, ctx, clock, hall, db):  # type: ignore[no-untyped-def]
    report(client, hall.device_token, {"number": "n1", "service_code": "SB-001"})
    auth = {"Authorization": f"Bearer {hall.device_token}"}
    assert client.get("/api/v1/services/n1", headers=auth).json()["status"] == "invited"
    [tx] = transactions(db)
    kiosk.submit_tap(ctx, device_token=hall.device_token, idempotency_key="t1", score=5, staff_no=None,
                     transaction_id=tx.id)  # fmt: skip
    seen = client.get("/api/v1/services/n1", headers=auth).json()
    assert (seen["status"], datetime.fromisoformat(seen["rated_at"])) == ("rated", clock())
    assert client.get("/api/v1/services/n404", headers=auth).status_code == 404
    assert client.get("/api/v1/services/n1").status_code == 401


# -- the counter's tablet -----------------------------------------------------------------------------


def rate(client, token, body, key):  # type: ignore[no-untyped-def]
    headers = {"Idempotency-Key": key, "Authorization": f"Bearer {token}"}
    return client.post("/api/v1/ratings", json=body, headers=headers)


def test_an_integration_rates_a_reported_transaction_through_the_api(client, clock, hall, db):  # type: ignore[no-untyped-def]
    """An evaluator that is not Rapport's tablet (a queue system's own screen) names the transaction
    by its number: the rating is bound to it and of whoever served it, once."""
    here = {"number": "4403-0007", "service_code": "SB-001"}
    at_a02 = {"number": "4403-0009", "service_code": "HJ-002", "counter": "A-02"}
    assert report(client, hall.device_token, here).status_code == 201
    assert report(client, hall.device_token, at_a02, key="tx-key-2").status_code == 201
    first = rate(client, hall.device_token, {"transaction": "4403-0007", "score": 2}, "r-1")
    assert first.status_code == 201, first.text
    assert (first.json()["staff"], first.json()["counted"]) == ("E1", True)
    tx = next(t for t in transactions(db) if t.number == "4403-0007")
    assert str(tx.rating_id) == first.json()["id"] and tx.rated_at == clock()
    # The retry is the same rating; a second rating of the transaction is kept, flagged, not counted.
    again = rate(client, hall.device_token, {"transaction": "4403-0007", "score": 2}, "r-1")
    assert (again.status_code, again.json()) == (200, first.json())
    clock.advance(timedelta(minutes=1))
    second = rate(client, hall.device_token, {"transaction": "4403-0007", "score": 5}, "r-2")
    assert second.status_code == 201, second.text
    assert (second.json()["counted"], second.json()["flagged"]) == (False, True)
    with db.read() as s:
        stored = s.get(Rating, tx.rating_id)
        assert stored is not None and stored.transaction_id == tx.id
        assert s.exec(select(func.count()).select_from(RatingCase)).one() == 1  # the counted 差评 only
    # Refused, naming the field, storing nothing: unknown, another counter's, with a person too.
    for body, words in (
        ({"transaction": "4403-9999", "score": 4}, "no transaction numbered"),
        ({"transaction": "4403-0009", "score": 4}, "not served at this counter"),
        ({"transaction": "4403-0007", "staff": "E1", "score": 4}, "not both"),
        ({"transaction": 7, "score": 4}, "transaction number"),
    ):
        refused = rate(client, hall.device_token, body, f"r-bad-{words}")
        assert refused.status_code == 422, (body, refused.text)
        error = refused.json()["error"]
        assert error["field"] == "transaction" and words in error["message"]
    assert len(ratings(db)) == 2


def test_the_tablet_invites_the_latest_unrated_transaction_for_whoever_served_it(ctx, clock, hall, db):  # type: ignore[no-untyped-def]
    assert kiosk.load_counter(ctx, hall.device_token).invitation is None
    view, _ = services.record_finished(
        ctx, device_token=hall.device_token, idempotency_key="k1",
        data={"number": "n1", "service_code": "SB-001", "staff": "E2"},
    )  # fmt: skip
    place = kiosk.load_counter(ctx, hall.device_token)
    assert place.invitation is not None and place.invitation.service_name("zh-CN") == "社会保障卡申领"
    assert place.invitation.service_name("en") == "Social security card application"
    assert place.staff is not None and place.staff.employee_no == "E2"  # not E1, who is on duty

    rating_id = kiosk.submit_tap(
        ctx, device_token=hall.device_token, idempotency_key="t1", score=2, staff_no="E2",
        transaction_id=place.invitation.transaction_id,
    )  # fmt: skip
    [rating] = ratings(db)
    [tx] = transactions(db)
    assert (rating.id, rating.transaction_id, rating.counted, rating.staff_id) == (
        rating_id, tx.id, True, tx.staff_id,
    )  # fmt: skip
    assert (tx.rating_id, tx.rated_at, tx.defaulted) == (rating_id, clock(), False)
    # Rated: the tablet asks the next customer about the service in general again.
    after = kiosk.load_counter(ctx, hall.device_token)
    assert after.invitation is None and after.staff is not None and after.staff.employee_no == "E1"


def test_an_invitation_lapses_after_its_minutes(ctx, clock, hall, db):  # type: ignore[no-untyped-def]
    services.record_finished(
        ctx,
        device_token=hall.device_token,
        idempotency_key="k1",
        data={"number": "n1", "service_code": "SB-001"},
    )
    clock.advance(timedelta(minutes=INVITATION_MINUTES, seconds=1))
    assert kiosk.load_counter(ctx, hall.device_token).invitation is None


def test_a_second_rating_of_a_transaction_is_kept_flagged_and_not_counted(ctx, clock, hall, db):  # type: ignore[no-untyped-def]
    services.record_finished(
        ctx,
        device_token=hall.device_token,
        idempotency_key="k1",
        data={"number": "n1", "service_code": "SB-001"},
    )
    [tx] = transactions(db)
    assert tx.id is not None
    # The customer opened the receipt's link before rating on the tablet, and taps there too.
    phone_place = kiosk.load_invited(ctx, tx.invitation_code)
    assert phone_place.invitation is not None
    first = kiosk.submit_tap(
        ctx, device_token=hall.device_token, idempotency_key="t1", score=1, staff_no=None,
        transaction_id=tx.id,
    )  # fmt: skip
    second = kiosk.submit_invited_tap(
        ctx, code=tx.invitation_code, phone_id="phone-1", idempotency_key="p1", score=1
    )
    by_id = {r.id: r for r in ratings(db)}
    assert (by_id[first].counted, by_id[first].flagged) == (True, False)
    assert (by_id[second].counted, by_id[second].flagged, by_id[second].flag_reason) == (
        False, True, "already_rated",
    )  # fmt: skip
    assert transactions(db)[0].rating_id == first
    # The retry of the second tap is the same stored rating, still not counted.
    again = kiosk.submit_invited_tap(
        ctx, code=tx.invitation_code, phone_id="phone-1", idempotency_key="p1", score=1
    )
    assert again == second and len(ratings(db)) == 2
    # Both were 差评, but only the counted one opened a case to verify.
    with db.read() as s:
        assert [c.rating_id for c in s.exec(select(RatingCase)).all()] == [first]
    # A reopened link now says the transaction was rated.
    assert kiosk.load_invited(ctx, tx.invitation_code).invitation is None


def test_a_rating_of_a_transaction_at_another_counter_is_refused(ctx, clock, hall, db):  # type: ignore[no-untyped-def]
    services.record_finished(
        ctx, device_token=hall.device_token, idempotency_key="k1",
        data={"number": "n1", "service_code": "SB-001", "counter": "A-02"},
    )  # fmt: skip
    [tx] = transactions(db)
    with pytest.raises(ValidationFailed) as refused:
        kiosk.submit_tap(ctx, device_token=hall.device_token, idempotency_key="t1", score=4, staff_no=None,
                         transaction_id=tx.id)  # fmt: skip
    assert refused.value.field == "transaction"
    assert ratings(db) == []


def test_the_tablet_is_nudged_when_its_counter_finishes_a_transaction(ctx, clock, hall):  # type: ignore[no-untyped-def]
    async def scenario() -> list[int]:
        heard: list[int] = []
        done = asyncio.Event()

        async def on_nudge() -> None:
            heard.append(1)
            done.set()

        ctx.counters.subscribe(hall.counter_id, on_nudge)
        elsewhere = ctx.counters.subscribe(hall.closed_counter_id, on_nudge)
        worker = threading.Thread(
            target=services.record_finished, args=(ctx,),
            kwargs={"device_token": hall.device_token, "idempotency_key": "k1",
                    "data": {"number": "n1", "service_code": "SB-001"}},
        )  # fmt: skip
        worker.start()
        await asyncio.wait_for(done.wait(), timeout=10)
        worker.join()
        ctx.counters.unsubscribe(elsewhere)
        await asyncio.sleep(0.05)
        return heard

    assert asyncio.run(scenario()) == [1]  # its own counter only


# -- the receipt's link ---------------------------------------------------------------------------


def test_the_receipts_link_works_for_thirty_days_and_unknown_ones_say_so(ctx, clock, hall, db):  # type: ignore[no-untyped-def]
    services.record_finished(
        ctx,
        device_token=hall.device_token,
        idempotency_key="k1",
        data={"number": "n1", "service_code": "SB-001"},
    )
    [tx] = transactions(db)
    place = kiosk.load_invited(ctx, tx.invitation_code.lower())  # typed from a receipt, any case
    assert place.staff is not None and place.staff.employee_no == "E1" and place.counter_name_zh == "1号窗口"
    for code in ("", "ZZZZZZZZ", "not a code", tx.invitation_code + "X"):
        with pytest.raises(services.TransactionNotFound):
            kiosk.load_invited(ctx, code)
    clock.advance(timedelta(days=services.PHONE_LINK_DAYS, seconds=1))
    with pytest.raises(services.TransactionNotFound):
        kiosk.load_invited(ctx, tx.invitation_code)
    with pytest.raises(services.TransactionNotFound):
        kiosk.submit_invited_tap(ctx, code=tx.invitation_code, phone_id="p", idempotency_key="p1", score=5)
    assert ratings(db) == []


# -- the hall's list of services --------------------------------------------------------------------


def test_importing_the_list_adds_and_updates_and_a_bad_row_changes_nothing(db):  # type: ignore[no-untyped-def]
    with db.write() as s:
        assert import_items(s, SERVICES_CSV) == ImportResult(2, 0)
        s.commit()
    renamed = SERVICES_CSV.replace("社会保障卡申领", "社会保障卡申领（补领）")
    with db.write() as s:
        assert import_items(s, renamed) == ImportResult(0, 1)
        s.commit()
    for bad, words in (
        (renamed + "XX-1,,No name\n", "line 4: the service needs a name"),
        (renamed + "SB-001,重复,Twice\n", "line 4: the code SB-001 appears twice"),
        ("code,title\nA,b\n", "missing: name_zh"),
        ("code,name_zh,colour\nA,b,red\n", "unknown column 'colour'"),
        ("code,name_zh\n", "lists no services"),
    ):
        with db.write() as s, pytest.raises(ValidationFailed) as refused:
            import_items(s, bad)
        assert words in str(refused.value)
    with db.read() as s:
        names = dict(s.exec(select(ServiceItem.code, ServiceItem.name_zh)).all())
        assert names == {"SB-001": "社会保障卡申领（补领）", "HJ-002": "户籍证明开具"}
        assert s.exec(select(func.count()).select_from(ServiceItem)).one() == 2


# -- the provincial feed ------------------------------------------------------------------------------


def test_the_feed_record_of_a_transactions_rating_names_the_transaction_and_its_service(ctx, clock, hall, db):  # type: ignore[no-untyped-def]
    switch_on("440304ZW")
    try:
        services.record_finished(
            ctx, device_token=hall.device_token, idempotency_key="k1",
            data={"number": "4403-77", "service_code": "SB-001"},
        )  # fmt: skip
        [tx] = transactions(db)
        kiosk.submit_tap(ctx, device_token=hall.device_token, idempotency_key="t1", score=4, staff_no=None,
                         transaction_id=tx.id)  # fmt: skip
        clock.advance(timedelta(minutes=1))  # past the kiosk's minimum interval between presses
        walk_up = kiosk.submit_tap(
            ctx, device_token=hall.device_token, idempotency_key="t2", score=4, staff_no=None
        )
    finally:
        switch_off()
    with db.read() as s:
        records = s.exec(select(FeedRecord)).all()
        facts = {r.rating_id: facts_of(s, r) for r in records}
    assert len(facts) == 2
    bound = next(f for rid, f in facts.items() if rid != walk_up)
    assert (bound.transaction_no, bound.service_code, bound.service_name, bound.service_version) == (
        "4403-77", "SB-001", "社会保障卡申领", "2",
    )  # fmt: skip
    assert (facts[walk_up].transaction_no, facts[walk_up].service_code) == ("", "")
