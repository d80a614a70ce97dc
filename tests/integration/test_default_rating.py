"""The default rating and the 参评率 (issue 18, Done-when 2), on a fixed clock, on SQLite and, with
RAPPORT_TEST_DATABASE_URL, on PostgreSQL.

The world: branch A (Asia/Shanghai) with two 事项, two counters and two people, and nine
transactions (办件). November 2026, local time:

    t1  SB-001  counter 1  E1  2 Nov   rated 5 by the customer
    t2  SB-001  counter 1  E1  2 Nov   rated 4, then a second tap (1): flagged, not counted
    t3  SB-001  counter 1  E1  3 Nov   rated 2 (a 差评: its case opens)
    t4  HJ-002  counter 2  E2  2 Nov   rated 3 on 8 Nov, before its deadline
    t5  HJ-002  counter 2  E2  2 Nov   never rated by 9 Nov 24:00: the default rating (3)
    t6  HJ-002  counter 1  E1  5 Nov   unrated, not yet due
    t7  SB-001  counter 2  E2  6 Nov   unrated, not yet due
    t0  SB-001  counter 1  E1  31 Oct 23:30 (15:30 UTC): October's, rated 5
    t9  SB-001  counter 1  E1  1 Dec 00:10 (30 Nov 16:10 UTC): December's, unrated

By hand, November: 7 transactions; rated by customers 4 (t1–t4; t2's second tap does not make it
twice); 1 defaulted (t5); 参评率 4/7. SB-001: 4 transactions (t1, t2, t3, t7), 3 rated, 3/4,
ratings 5, 4, 2: mean 11/3, 好评率 2/3. HJ-002: 3 transactions (t4, t5, t6), 1 rated, 1/3, 1
default; ratings: t4's 3 only while defaults are not counted (mean 3, 好评率 0/1), and t4's and t5's
3s when they are (2 ratings, mean 3). Counter 1: t1, t2, t3, t6: 3/4; counter 2: t4, t5, t7: 1/3 and
the default. E1 3/4, E2 1/3.
"""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pypdfium2 as pdfium
import pytest
from sqlmodel import col, func, select

from models.alerts import check_negative_burst, recent_scores
from models.audit import AuditEvent
from models.cases import RatingCase
from models.default_rating import Due, apply_defaults, deadline, give_default, idempotency_key
from models.indicators import indicators, total
from models.org import Branch, Counter, Staff
from models.participation import Participation, participation, per_service, per_service_of_branches
from models.policy import effective_policy, set_policy
from models.rating import Channel, FlagReason, Rating, RatingCreate, submit_rating
from models.sanction import Appeal
from models.sanction.appeals import appeal_rating
from models.sanction.records import LedgerStepRefused
from models.scores import Month
from models.services import ServiceTransaction, import_items, item_by_code
from rapport.usecases import scheduler
from rapport.usecases.report_pdf import build_report
from rapport.usecases.scheduler import job_named, run_due

SERVICES_CSV = (
    "code,name_zh,name_en,version,department_code\n"
    "SB-001,社会保障卡申领,Social security card application,2,440304SB\n"
    "HJ-002,户籍证明开具,Household registration certificate,1,440304GA\n"
)
NOV = Month(2026, 11)


def local(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    """A Shanghai wall-clock time of 2026 as UTC."""
    return datetime(2026, month, day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


DEADLINE_T5 = local(10, 0)  # finished 2 Nov: rateable until 9 Nov 24:00


class Hall:
    def __init__(self, db, world):  # type: ignore[no-untyped-def]
        self.db, self.world = db, world
        with db.write() as s:
            import_items(s, SERVICES_CSV)
            bob = s.exec(select(Staff).where(Staff.employee_no == "E2")).one()
            self.services = {code: item_by_code(s, code).id for code in ("SB-001", "HJ-002")}  # type: ignore[union-attr]
            s.commit()
        self.staff = {"E1": world.staff_id, "E2": bob.id}
        self.counters = {1: world.counter_id, 2: world.closed_counter_id}
        self.tx: dict[str, int] = {}

    def transaction(
        self,
        name: str,
        service: str,
        counter: int,
        staff: str,
        finished: datetime,
        branch_id: int | None = None,
    ) -> int:
        with self.db.write() as s:
            row = ServiceTransaction(
                number=f"N-{name}", idempotency_key=f"k-{name}", request_hash="h" * 64,
                service_item_id=self.services[service], branch_id=branch_id or self.world.branch_id,
                counter_id=self.counters[counter], staff_id=self.staff[staff], finished_at=finished,
                created_at=finished, invitation_code=f"C{name.upper():0>7}"[-8:],
            )  # fmt: skip
            s.add(row)
            s.commit()
            assert row.id is not None
            self.tx[name] = row.id
            return row.id

    def tap(self, name: str, score: int, at: datetime) -> Rating:
        """A customer's rating of the transaction at its counter, as the tablet stores it."""
        with self.db.write() as s:
            tx = s.get(ServiceTransaction, self.tx[name])
            assert tx is not None
            rating, created = submit_rating(
                s, idempotency_key=f"tap-{uuid.uuid4()}", data=RatingCreate(score=score),
                channel=Channel.kiosk, branch_id=tx.branch_id, staff_id=tx.staff_id,
                counter_id=tx.counter_id, now=at, transaction_id=tx.id,
            )  # fmt: skip
            assert created
            s.expunge(rating)
            return rating

    def row(self, name: str) -> ServiceTransaction:
        with self.db.read() as s:
            tx = s.get(ServiceTransaction, self.tx[name])
            assert tx is not None
            s.expunge(tx)
            return tx


@pytest.fixture
def hall(db, world) -> Hall:  # type: ignore[no-untyped-def]
    h = Hall(db, world)
    h.transaction("t0", "SB-001", 1, "E1", local(31, 23, 30, month=10))
    h.transaction("t1", "SB-001", 1, "E1", local(2, 9))
    h.transaction("t2", "SB-001", 1, "E1", local(2, 9, 30))
    h.transaction("t3", "SB-001", 1, "E1", local(3, 11))
    h.transaction("t4", "HJ-002", 2, "E2", local(2, 10))
    h.transaction("t5", "HJ-002", 2, "E2", local(2, 10, 5))
    h.transaction("t6", "HJ-002", 1, "E1", local(5, 15))
    h.transaction("t7", "SB-001", 2, "E2", local(6, 16))
    h.transaction("t9", "SB-001", 1, "E1", local(1, 0, 10, month=12))
    h.tap("t0", 5, local(31, 23, 40, month=10))
    h.tap("t1", 5, local(2, 9, 5))
    h.tap("t2", 4, local(2, 9, 35))
    second = h.tap("t2", 1, local(2, 9, 36))
    assert (second.counted, second.flag_reason) == (False, FlagReason.already_rated.value)
    h.tap("t3", 2, local(3, 11, 5))
    h.tap("t4", 3, local(8, 18))  # a tap before the deadline: no default for t4
    return h


def rule(db, branch_id: int, **values: object) -> None:  # type: ignore[no-untyped-def]
    with db.write() as s:
        set_policy(s, values=values, branch_id=branch_id)


def defaults(db) -> list[Rating]:  # type: ignore[no-untyped-def]
    with db.read() as s:
        rows = list(
            s.exec(select(Rating).where(col(Rating.is_default)).order_by(col(Rating.created_at))).all()
        )
        for r in rows:
            s.expunge(r)
        return rows


# ---------------------------------------------------------------------------------------------------
# The default rating


def test_the_deadline_is_24_00_of_the_last_calendar_day_in_the_branch_time_zone():
    assert (
        deadline(local(2, 10, 5), 7, "Asia/Shanghai") == DEADLINE_T5 == datetime(2026, 11, 9, 16, tzinfo=UTC)
    )
    # 23:30 on 31 October in Shanghai is still 31 October there, though 15:30 UTC.
    assert deadline(local(31, 23, 30, month=10), 7, "Asia/Shanghai") == local(8, 0)
    # In New York the same instant is 31 October 11:30: the same local day, another midnight.
    assert deadline(local(31, 23, 30, month=10), 7, "America/New_York") == datetime(
        2026, 11, 8, 5, tzinfo=UTC
    )


def test_the_job_gives_the_default_once_after_the_policy_days_and_a_later_tap_is_not_counted(ctx, db, hall):
    world = hall.world
    job = job_named(scheduler.DEFAULT_RATING)
    off = DEADLINE_T5 + timedelta(days=3)  # long past the deadline, but the rule is off by default
    with db.write() as s:
        assert apply_defaults(s, branch_id=world.branch_id, now=off) == 0
    assert defaults(db) == []
    rule(db, world.branch_id, default_rating_days=7)

    before = DEADLINE_T5 - timedelta(seconds=1)  # 9 Nov 23:59:59 in Shanghai: t5 may still be rated
    assert [r.items_done for r in run_due(ctx, job, before)] == [0]
    at = DEADLINE_T5 + timedelta(minutes=1)  # 10 Nov 00:01 in Shanghai, the next hour's run
    assert [r.items_done for r in run_due(ctx, job, at)] == [1]
    assert run_due(ctx, job, at + timedelta(minutes=30)) == [], "the same hour is not run again"
    assert [r.items_done for r in run_due(ctx, job, at + timedelta(hours=1))] == [0], "given once"
    with db.write() as s:
        assert apply_defaults(s, branch_id=world.branch_id, now=at + timedelta(hours=2)) == 0

    [given] = defaults(db)
    t5 = hall.row("t5")
    assert (given.transaction_id, given.score, given.channel, given.counted, given.flagged) == (
        t5.id,
        3,
        Channel.kiosk,
        False,
        False,
    )
    assert (given.staff_id, given.counter_id, given.branch_id) == (
        hall.staff["E2"],
        hall.counters[2],
        world.branch_id,
    )
    assert given.idempotency_key == idempotency_key(t5.id) and given.created_at == at
    assert (t5.rating_id, t5.defaulted, t5.rated_at) == (given.id, True, at)
    # Only t5: t4 was rated before its deadline, t6 and t7 are not due, t0 and the rest were rated.
    with db.read() as s:
        unrated = s.exec(
            select(ServiceTransaction.number).where(col(ServiceTransaction.rating_id).is_(None))
        ).all()
        assert sorted(unrated) == ["N-t6", "N-t7", "N-t9"]
        [entry] = s.exec(select(AuditEvent).where(AuditEvent.action == "rating.defaulted")).all()
        assert entry.entity_id == str(world.branch_id)
        assert entry.details == {"count": 1, "days": 7, "score": 3, "counted": False}

    # The customer taps after the default: kept, flagged already_rated, not counted; no 差评 case.
    late = hall.tap("t5", 1, at + timedelta(days=1))
    assert (late.counted, late.flagged, late.flag_reason) == (False, True, FlagReason.already_rated.value)
    assert hall.row("t5").rating_id == given.id
    with db.read() as s:
        cases = s.exec(select(RatingCase.rating_id)).all()
    assert cases == [hall_rating_of(db, hall, "t3")], "only t3's 差评 opened a case"


def hall_rating_of(db, hall: Hall, name: str) -> uuid.UUID:  # type: ignore[no-untyped-def]
    rating_id = hall.row(name).rating_id
    assert rating_id is not None
    return rating_id


def test_a_tap_that_wins_the_race_leaves_no_default(db, hall):
    """The job chose t6 as due, and the customer's tap was stored before its claim: the claim fails
    and no default rating is stored."""
    hall.tap("t6", 4, local(12, 23))
    t6 = hall.row("t6")
    with db.write() as s:
        policy = effective_policy(s, hall.world.branch_id).model_copy(update={"default_rating_days": 7})
        tx = Due(hall.tx["t6"], t6.branch_id, t6.counter_id, t6.staff_id)
        assert give_default(s, tx, policy, local(13, 0)) is False
        s.commit()
    assert defaults(db) == []
    assert hall.row("t6").defaulted is False


def test_a_counted_default_counts_and_a_low_default_never_opens_a_case(db, hall):
    branch = hall.world.branch_id
    rule(db, branch, default_rating_days=7, default_rating_score=2, default_rating_counted=True)
    with db.write() as s:
        assert apply_defaults(s, branch_id=branch, now=DEADLINE_T5) == 1
    [given] = defaults(db)
    assert (given.score, given.counted, given.flagged) == (2, True, False)
    with db.read() as s:
        assert s.exec(select(func.count()).select_from(RatingCase)).one() == 1  # t3's only
        november = total(indicators(s, branch_id=branch, month=NOV))
    # Counted: t1 5, t2 4, t3 2, t4 3 and the default 2 (given 10 Nov in Shanghai).
    assert (november.rated, november.good, november.defaults, november.defaults_uncounted) == (5, 2, 1, 0)
    assert november.bad == 1, "the 差评 rate's numerator counts cases: the default opened none"


# ---------------------------------------------------------------------------------------------------
# 参评率 and the figures per 事项


def test_participation_against_the_hand_computed_figures(db, hall):
    branch = hall.world.branch_id
    rule(db, branch, default_rating_days=7)
    with db.write() as s:
        assert apply_defaults(s, branch_id=branch, now=DEADLINE_T5) == 1
    with db.read() as s:
        figures = participation(s, branch_id=branch, month=NOV)
        counters = participation(s, branch_id=branch, month=NOV, level="counter")
        staff = participation(s, branch_id=branch, month=NOV, level="staff")
        services = {line.code: line.figures for line in per_service(s, branch_id=branch, month=NOV)}
        october = participation(s, branch_id=branch, month=Month(2026, 10))
        december = participation(s, branch_id=branch, month=Month(2026, 12))
        ratings = total(indicators(s, branch_id=branch, month=NOV))

    whole = figures[branch]
    assert (whole.transactions, whole.rated, whole.defaulted, whole.defaults_counted) == (7, 4, 1, 0)
    assert whole.rate == pytest.approx(4 / 7)
    assert services["SB-001"] == Participation(transactions=4, rated=3, ratings=3, score_sum=11, good=2)
    assert services["SB-001"].rate == pytest.approx(3 / 4) and services["SB-001"].mean == pytest.approx(
        11 / 3
    )
    assert services["SB-001"].good_rate == pytest.approx(2 / 3)
    assert services["HJ-002"] == Participation(transactions=3, rated=1, defaulted=1, ratings=1, score_sum=3)
    assert services["HJ-002"].rate == pytest.approx(1 / 3) and services["HJ-002"].good_rate == 0
    c1, c2 = hall.counters[1], hall.counters[2]
    assert {k: (v.transactions, v.rated, v.defaulted) for k, v in counters.items()} == {
        c1: (4, 3, 0),
        c2: (3, 1, 1),
    }
    e1, e2 = hall.staff["E1"], hall.staff["E2"]
    assert {k: (v.transactions, v.rated, v.defaulted) for k, v in staff.items()} == {
        e1: (4, 3, 0),
        e2: (3, 1, 1),
    }
    # The month is Shanghai's: t0 (15:30 UTC on 31 October) is October's, t9 (16:10 UTC on 30 November)
    # December's.
    assert {k: (v.transactions, v.rated) for k, v in october.items()} == {branch: (1, 1)}
    assert {k: (v.transactions, v.rated) for k, v in december.items()} == {branch: (1, 0)}
    # The month's ratings: t1–t4 counted (t2's second tap is not); the default apart, not counted.
    assert (ratings.rated, ratings.good, ratings.defaults, ratings.defaults_uncounted) == (4, 2, 0, 1)


def test_counted_defaults_enter_the_ratings_but_never_the_participation(db, hall):
    branch = hall.world.branch_id
    rule(db, branch, default_rating_days=7, default_rating_counted=True)
    with db.write() as s:
        assert apply_defaults(s, branch_id=branch, now=DEADLINE_T5) == 1
    with db.read() as s:
        whole = participation(s, branch_id=branch, month=NOV)[branch]
        services = {line.code: line.figures for line in per_service(s, branch_id=branch, month=NOV)}
    assert (whole.transactions, whole.rated, whole.defaulted, whole.defaults_counted) == (7, 4, 1, 1)
    assert whole.rate == pytest.approx(4 / 7)
    assert services["HJ-002"] == Participation(
        transactions=3, rated=1, defaulted=1, defaults_counted=1, ratings=2, score_sum=6
    )
    assert services["HJ-002"].mean == 3


def test_an_administrator_sees_one_line_per_service_over_every_branch(db, hall):
    """The same 事项 at two branches adds up: B reports one SB-001 transaction, rated 5."""
    other = hall.world.other_branch_id
    with db.write() as s:
        counter = Counter(branch_id=other, code="B-01", name_zh="B1", name_en="B1")
        s.add(counter)
        s.commit()
        assert counter.id is not None
        hall.counters[3] = counter.id
    hall.transaction("b1", "SB-001", 3, "E1", local(4, 9), branch_id=other)
    hall.tap("b1", 5, local(4, 9, 5))
    with db.read() as s:
        both = s.exec(select(Branch).where(col(Branch.id).in_([hall.world.branch_id, other]))).all()
        lines = per_service_of_branches(s, both, local_months={b.id: NOV for b in both if b.id is not None})
    assert [line.code for line in lines] == sorted(line.code for line in lines)
    merged = {line.code: line.figures for line in lines}
    assert (merged["SB-001"].transactions, merged["SB-001"].rated, merged["SB-001"].score_sum) == (5, 4, 16)
    assert merged["HJ-002"].transactions == 3


def test_a_month_without_transactions_has_no_figures(db, world):
    with db.read() as s:
        assert participation(s, branch_id=world.branch_id, month=NOV) == {}
        assert per_service(s, branch_id=world.branch_id, month=NOV) == []
    assert Participation().rate is None and Participation().mean is None


# ---------------------------------------------------------------------------------------------------
# The monthly PDF


def pdf_text(db, branch_id: int, locale: str) -> str:  # type: ignore[no-untyped-def]
    with db.read() as s:
        pdf = build_report(s, branch_id=branch_id, month=NOV, locale=locale, now=local(1, 10, month=12))
    doc = pdfium.PdfDocument(pdf)
    return "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))


def test_the_monthly_pdf_shows_the_participation_per_service_and_the_defaults_apart(db, hall):
    branch = hall.world.branch_id
    rule(db, branch, default_rating_days=7)
    with db.write() as s:
        assert apply_defaults(s, branch_id=branch, now=DEADLINE_T5) == 1
    text = pdf_text(db, branch, "zh-CN")
    for words in (
        "办件与参评率",
        "本月办结 7 件，群众评价 4 件，参评率 57.1% (4/7)；默认评价 1 件，其中计入统计 0 件。",
        "本月计入评分的评价中有默认评价 0 条；另有 1 条默认评价未计入任何得分。",
        "SB-001 社会保障卡申领", "75.0%", "3.67", "66.7%", "HJ-002 户籍证明开具", "33.3%",
        "按窗口", "1号窗口", "2号窗口", "按人员", "王芳", "李娜",
    ):  # fmt: skip
        assert words in text.replace("\r\n", "").replace("\n", ""), words
    english = pdf_text(db, branch, "en").replace("\r\n", " ").replace("\n", " ")
    assert "Transactions and participation" in english and "participation 57.1% (4/7)" in english
    # Branch B had no transaction: no such section.
    assert "办件与参评率" not in pdf_text(db, hall.world.other_branch_id, "zh-CN")


def test_a_tap_racing_the_job_leaves_exactly_one_rating_of_the_transaction(db, hall):
    """The job and a customer's tap at the same moment, on PostgreSQL where both write at once: the
    transaction ends with one rating, and the other is either never stored (the tap won) or kept,
    flagged already_rated and not counted (the default won)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite takes one writer at a time: no race to run")
    rule(db, hall.world.branch_id, default_rating_days=7)
    for round_ in range(6):
        name = f"race{round_}"
        hall.transaction(name, "HJ-002", 2, "E2", local(2, 11, round_))
        start = threading.Barrier(2)

        def job(start: threading.Barrier = start) -> None:
            start.wait()
            with db.write() as s:
                apply_defaults(s, branch_id=hall.world.branch_id, now=DEADLINE_T5)

        def tap(start: threading.Barrier = start, name: str = name) -> Rating:
            start.wait()
            return hall.tap(name, 1, DEADLINE_T5)

        with ThreadPoolExecutor(2) as pool:
            done_job, done_tap = pool.submit(job), pool.submit(tap)
            done_job.result(timeout=30)
            tapped = done_tap.result(timeout=30)
        tx = hall.row(name)
        mine = [r for r in defaults(db) if r.transaction_id == tx.id]
        if tx.defaulted:
            assert [r.id for r in mine] == [tx.rating_id]
            assert (tapped.counted, tapped.flag_reason) == (False, FlagReason.already_rated.value)
        else:
            assert mine == [] and tx.rating_id == tapped.id and tapped.counted


def test_a_default_rating_the_policy_does_not_count_cannot_be_appealed_and_a_counted_one_can(db, hall):
    """Nothing to appeal in a rating that weighs in no score; a counted default weighs like any other."""
    branch = hall.world.branch_id
    rule(db, branch, default_rating_days=7)
    with db.write() as s:
        assert apply_defaults(s, branch_id=branch, now=DEADLINE_T5) == 1
    [uncounted] = defaults(db)
    assert uncounted.staff_id is not None
    with db.write() as s, pytest.raises(LedgerStepRefused, match="not counted in any score"):
        appeal_rating(
            s,
            uncounted.id,
            staff_id=uncounted.staff_id,
            statement="这是系统默认的评价，不是客户给的。",
            now=DEADLINE_T5,
        )
    with db.read() as s:
        assert s.exec(select(func.count()).select_from(Appeal)).one() == 0

    rule(db, branch, default_rating_counted=True)
    with db.write() as s:
        assert apply_defaults(s, branch_id=branch, now=local(14, 0)) == 2  # t6 and t7, finished 5 and 6 Nov
    counted = next(r for r in defaults(db) if r.id != uncounted.id)
    assert counted.counted and counted.staff_id is not None
    with db.write() as s:
        appeal = appeal_rating(
            s,
            counted.id,
            staff_id=counted.staff_id,
            statement="系统默认评价计入了我的分数。",
            now=local(14, 1),
        )
    assert appeal.rating_id == counted.id


def test_low_default_ratings_never_make_a_negative_burst_at_a_counter(db, hall):
    """A run of the job can give several defaults at one counter at once: not the customers' mood."""
    branch = hall.world.branch_id
    rule(db, branch, default_rating_days=7, default_rating_score=1, default_rating_counted=True,
         burst_alert_min_ratings=1)  # fmt: skip
    at = local(14, 0)
    with db.write() as s:
        assert apply_defaults(s, branch_id=branch, now=at) == 3  # t5, t6 and t7, counted, scored 1
        policy = effective_policy(s, branch)
        for counter in hall.counters.values():
            assert recent_scores(s, counter_id=counter, policy=policy, now=at + timedelta(seconds=1)) == []
            burst = check_negative_burst(s, branch_id=branch, counter_id=counter, policy=policy, now=at)
            assert burst is None
    assert [(r.score, r.counted) for r in defaults(db)] == [(1, True)] * 3
