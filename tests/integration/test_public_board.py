"""The public results board's read (kiosk/board.py, issue 18) against figures worked out by hand on a
small pinned month: October 2026 at branch A, six counted ratings (王芳 5 5 4 2 at counter 1, 李娜
5 1 at counter 2), a flagged press, a November rating and another branch's rating that do not count,
and two 差评 cases: counter 1's with a contact, reached, explained and closed; counter 2's without a
contact, still open. A member of staff is named only while they consent to be named in public.
The month's 差评 by evaluation indicator and the figures per 事项 (service) are counted by hand too."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from kiosk.board import read_board
from models import case_flow as flow
from models.catalog import ConductClause
from models.indicators import indicators, total
from models.org import Duty, Staff
from models.rating import Channel, Rating
from models.sanction import set_public_name_consent
from models.scores import Month
from models.services import ServiceItem, ServiceTransaction
from tests.integration.case_world import case_of

DAY = datetime(2026, 10, 14, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai
NOW = datetime(2026, 10, 20, 3, 0, tzinfo=UTC)  # the board is looked at on 20 October, 11:00
CONTACT, COMMENT = "13812345678", "窗口的人一直在看手机，私人备注"


def rating(s, branch_id: int, staff_id: int, counter_id: int, score: int, at: datetime, **kw) -> Rating:
    row = Rating(
        idempotency_key=f"board-{uuid.uuid4()}", request_hash="x", staff_id=staff_id, counter_id=counter_id,
        branch_id=branch_id, channel=Channel.kiosk, score=score, created_at=at, **kw,
    )  # fmt: skip
    s.add(row)
    s.flush()
    return row


@pytest.fixture
def pinned(ctx, db, world):
    with db.write() as s:
        people = {p.employee_no: p for p in s.exec(select(Staff)).all()}
        alice, bob, carol, boss = (people[n].id for n in ("E1", "E2", "E9", "S1"))
        a, c1, c2 = world.branch_id, world.counter_id, world.closed_counter_id
        assert alice and bob and carol and boss
        for i, score in enumerate((5, 5, 4)):
            rating(s, a, alice, c1, score, DAY + timedelta(minutes=i))
        rating(s, a, bob, c2, 5, DAY)
        rating(s, a, alice, c1, 1, DAY, flagged=True, counted=False, reasons=["2.4.2"])  # a flagged press
        rating(s, a, alice, c1, 5, datetime(2026, 11, 2, 2, 0, tzinfo=UTC))  # next month
        # 态度不好 (2.2.1, 2.3.2: both 服务态度); 等太久了, 没讲清楚 and 不耐烦 (效率, 水平, 态度).
        explained = case_of(
            s, rating(s, a, alice, c1, 2, DAY, comment=COMMENT, reasons=["2.2.1", "2.3.2"]), CONTACT
        )
        case_of(s, rating(s, a, bob, c2, 1, DAY, reasons=["2.2.3", "2.3.1", "2.2.2"]))
        flow.record_callback(
            s, case_id=explained, outcome="reached", actor_id=boss, now=DAY + timedelta(hours=1)
        )
        flow.record_finding(
            s,
            case_id=explained,
            finding="partly",
            about="process",
            actor_id=boss,
            now=DAY + timedelta(hours=2),
        )
        flow.record_action(
            s,
            case_id=explained,
            action="explain",
            text="须本人办理",
            actor_id=boss,
            now=DAY + timedelta(hours=2),
        )
        flow.answer_case(
            s, case_id=explained, text="已说明", via="callback", actor_id=boss, now=DAY + timedelta(hours=3)
        )
        flow.grade_case(s, case_id=explained, grade="fairly", actor_id=boss, now=DAY + timedelta(hours=3))
        # Another branch's 差评 counts there, not here.
        other = s.exec(select(Staff).where(Staff.id == carol)).one()
        assert other.branch_id is not None
        rating(s, other.branch_id, carol, c1, 1, DAY, reasons=["2.4.2"])
        # On duty at both counters now: 王芳 agrees to be named in public, 李娜 does not.
        s.add(Duty(staff_id=alice, counter_id=c1, started_at=NOW - timedelta(hours=2)))
        s.add(Duty(staff_id=bob, counter_id=c2, started_at=NOW - timedelta(hours=2)))
        set_public_name_consent(s, staff_id=alice, consent=True, now=NOW - timedelta(days=30))
        s.commit()
    return dataclasses.replace(ctx, clock=lambda: NOW)


def test_the_board_shows_the_hand_counted_figures(pinned, world):
    board = read_board(pinned, "A")
    assert board is not None
    assert (board.code, board.branch_name_zh, board.month) == ("A", "甲支行", "2026-10")
    f = board.figures
    assert (f.rated, f.good, f.bad, f.rectified, f.with_contact, f.reached) == (6, 4, 2, 1, 1, 1)
    assert (f.good_rate, f.bad_rate, f.rectify_rate, f.callback_rate) == (4 / 6, 2 / 6, 0.5, 1.0)
    one, two = board.counters
    assert (one.code, one.figures.rated, one.figures.good, one.figures.bad) == ("A-01", 4, 3, 1)
    assert (one.figures.good_rate, one.figures.bad_rate, one.figures.rectify_rate) == (0.75, 0.25, 1.0)
    assert one.figures.callback_rate == 1.0
    assert (two.code, two.figures.rated, two.figures.good, two.figures.bad) == ("A-02", 2, 1, 1)
    assert (two.figures.good_rate, two.figures.bad_rate, two.figures.rectify_rate) == (0.5, 0.5, 0.0)
    assert two.figures.callback_rate is None  # no contact left: nothing to call back, not 0%


def test_the_figures_are_the_indicators_of_the_month(pinned, db, world):
    board = read_board(pinned, "A")
    with db.read() as s:
        branch = total(indicators(s, branch_id=world.branch_id, month=Month(2026, 10)))
    assert board is not None
    assert (board.figures.rated, board.figures.good_rate, board.figures.bad_rate) == (
        branch.rated, branch.good_rate, branch.bad_rate,
    )  # fmt: skip
    assert (board.figures.rectify_rate, board.figures.callback_rate) == (
        branch.rectify_rate,
        branch.callback_rate,
    )


def test_the_month_follows_the_clock(pinned, world):
    later = dataclasses.replace(pinned, clock=lambda: datetime(2026, 11, 5, 2, 0, tzinfo=UTC))
    board = read_board(later, "A")
    assert board is not None and board.month == "2026-11"
    assert (board.figures.rated, board.figures.bad, board.figures.good_rate) == (1, 0, 1.0)
    # 31 October 17:00 UTC is already 1 November in Shanghai: the branch's own month.
    edge = dataclasses.replace(pinned, clock=lambda: datetime(2026, 10, 31, 17, 0, tzinfo=UTC))
    assert (board := read_board(edge, "A")) is not None and board.month == "2026-11"


def test_staff_are_named_only_with_their_consent(pinned, db, world):
    board = read_board(pinned, "A")
    assert board is not None
    assert [c.staff_name for c in board.counters] == ["王芳", None]
    assert "李娜" not in repr(board)
    with db.write() as s:
        set_public_name_consent(s, staff_id=world.staff_id, consent=False, now=NOW)
        s.commit()
    board = read_board(pinned, "A")
    assert board is not None and [c.staff_name for c in board.counters] == [None, None]
    assert "王芳" not in repr(board) and "李娜" not in repr(board)


def test_nothing_about_customers_is_on_the_board(pinned, world):
    board = read_board(pinned, "A")
    shown = repr(board)
    for secret in (CONTACT, "138****5678", COMMENT, "须本人办理", "已说明", "E1", "E2"):
        assert secret not in shown, secret


def test_an_unknown_branch_has_no_board(pinned, world):
    for code in ("", "NOPE", "a", "A" * 200, "'; DROP TABLE branch; --", "../A"):
        assert read_board(pinned, code) is None, code
    assert read_board(pinned, " A ") is not None  # stray spaces in a typed address


def by_indicator(board) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {row.name_zh: row.bad for row in board.bad_by_indicator.indicators}


def test_the_months_bad_ratings_by_indicator(pinned, db, world):
    board = read_board(pinned, "A")
    assert board is not None
    # October's 差评 at A (the cases the 差评率 counts): 王芳's 2 (态度不好: 2.2.1 and 2.3.2, 服务态度
    # once) and 李娜's 1 (2.2.3 服务效率, 2.3.1 服务水平, 2.2.2 服务态度). The flagged press and branch
    # B's 1 (2.4.2, 整体满意度) are no 差评 of A.
    assert (board.bad_by_indicator.bad, board.bad_by_indicator.without_reason) == (2, 0)
    assert board.bad_by_indicator.bad == board.figures.bad  # the 差评 of the 差评率
    assert by_indicator(board) == {"整体满意度": 0, "服务效率": 1, "服务水平": 1, "服务态度": 2}
    assert [(r.key, r.name_en) for r in board.bad_by_indicator.indicators] == [
        ("overall", "Overall satisfaction"), ("efficiency", "Efficiency"), ("competence", "Competence"),
        ("attitude", "Attitude"),
    ]  # fmt: skip
    with db.write() as s:
        a, alice, c1 = world.branch_id, world.staff_id, world.counter_id
        # A clause an administrator added to the database by hand: no indicator in the file.
        s.add(
            ConductClause(
                code="9.1.1",
                section="9",
                title_zh="后加条款",
                title_en="Added later",
                short_zh="后加",
                short_en="Added",
                description_zh="",
                description_en="",
                rateable=True,
            )
        )
        case_of(s, rating(s, a, alice, c1, 1, DAY, reasons=["9.1.1"]))  # 整体满意度, the fallback
        case_of(s, rating(s, a, alice, c1, 2, DAY))  # a 差评 with no reason
        rating(s, a, alice, c1, 3, DAY, reasons=["2.2.3"])  # 基本满意 is no 差评
        november = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
        case_of(s, rating(s, a, alice, c1, 1, november, reasons=["2.2.3"]))  # November's 差评
        b_staff = s.exec(select(Staff).where(Staff.employee_no == "E9")).one()
        case_of(s, rating(s, world.other_branch_id, b_staff.id, c1, 1, DAY, reasons=["2.4.2"]))  # branch B's
        s.commit()
    board = read_board(pinned, "A")
    assert board is not None
    assert (board.bad_by_indicator.bad, board.bad_by_indicator.without_reason) == (4, 1)
    assert board.figures.bad == 4
    assert by_indicator(board) == {"整体满意度": 1, "服务效率": 1, "服务水平": 1, "服务态度": 2}


def transaction(  # type: ignore[no-untyped-def]
    s, item: ServiceItem, branch_id: int, counter_id: int, staff_id: int, at: datetime,
    score: int | None = None, *, default: bool = False, reasons: tuple[str, ...] = (),
) -> None:  # fmt: skip
    number = f"BJ-{uuid.uuid4().hex[:12]}"
    tx = ServiceTransaction(
        number=number,
        idempotency_key=number,
        request_hash="x",
        service_item_id=item.id,
        branch_id=branch_id,
        counter_id=counter_id,
        staff_id=staff_id,
        finished_at=at,
        invitation_code=number[-8:].upper(),
    )
    s.add(tx)
    s.flush()
    if score is not None:
        r = rating(
            s,
            branch_id,
            staff_id,
            counter_id,
            score,
            at + timedelta(minutes=1),
            transaction_id=tx.id,
            is_default=default,
            reasons=list(reasons),
        )
        tx.rating_id, tx.rated_at, tx.defaulted = r.id, r.created_at, default
        s.add(tx)
        if score <= 2:
            case_of(s, r)  # a 差评 opens its case


def test_the_figures_per_service(pinned, db, world):
    with db.write() as s:
        bob = s.exec(select(Staff.id).where(Staff.employee_no == "E2")).one()
        a, b, alice, c1, c2 = (
            world.branch_id, world.other_branch_id, world.staff_id, world.counter_id, world.closed_counter_id,
        )  # fmt: skip
        deeds = ServiceItem(code="S-001", name_zh="不动产登记", name_en="Property registration")
        card = ServiceItem(code="S-002", name_zh="社保卡补办")  # no English name: the Chinese shows
        idle = ServiceItem(code="S-003", name_zh="无办件事项")
        s.add_all([deeds, card, idle])
        s.flush()
        # 不动产登记: four transactions in October: rated 5 and 2 by customers, one given the default
        # (基本满意, counted by the policy), one not rated.
        transaction(s, deeds, a, c1, alice, DAY, 5)
        transaction(s, deeds, a, c1, alice, DAY, 2, reasons=("2.2.3",))
        transaction(s, deeds, a, c2, bob, DAY, 3, default=True)
        transaction(s, deeds, a, c2, bob, DAY)
        # 社保卡补办: rated 4; one finished at 01:00 on 1 October in Shanghai (30 September in UTC): October.
        transaction(s, card, a, c2, bob, DAY, 4)
        transaction(s, card, a, c2, bob, datetime(2026, 9, 30, 17, 0, tzinfo=UTC))
        # Not October's at A: 00:30 on 1 November in Shanghai, and branch B's transaction.
        transaction(s, card, a, c2, bob, datetime(2026, 10, 31, 16, 30, tzinfo=UTC), 5)
        transaction(s, deeds, b, c1, alice, DAY, 5)
        s.commit()
    board = read_board(pinned, "A")
    assert board is not None
    rows = {row.code: row for row in board.services}
    assert list(rows) == ["S-001", "S-002"]  # a service with no transaction this month is not listed
    deeds_row, card_row = rows["S-001"], rows["S-002"]
    assert (deeds_row.name("zh-CN"), deeds_row.name("en")) == ("不动产登记", "Property registration")
    assert card_row.name("en") == "社保卡补办"
    assert (deeds_row.transactions, deeds_row.rated, deeds_row.defaulted) == (4, 2, 1)
    assert (deeds_row.participation_rate, deeds_row.good, deeds_row.ratings) == (0.5, 1, 3)
    assert deeds_row.good_rate == 1 / 3  # the counted default (基本满意) is among the ratings, not good
    assert (card_row.transactions, card_row.rated, card_row.defaulted, card_row.ratings) == (2, 1, 0, 1)
    assert (card_row.participation_rate, card_row.good_rate) == (0.5, 1.0)
    # The 2 for 不动产登记 (2.2.3) is one more 差评 of October, under 服务效率.
    assert by_indicator(board)["服务效率"] == 2
    shown = repr(board)
    numbers = {t.number for t in _transactions(db)} | {t.invitation_code for t in _transactions(db)}
    assert not any(n in shown for n in numbers)  # no transaction number or receipt code is published
    assert "李娜" not in shown


def _transactions(db) -> list[ServiceTransaction]:  # type: ignore[no-untyped-def]
    with db.read() as s:
        return list(s.exec(select(ServiceTransaction)).all())
