"""The indicators halls are judged by (models/indicators.py, docs/INDICATORS.md), checked against
figures worked out by hand for a small fixed month: October 2026 at branch A, eight counted ratings
(王芳 5 5 4 2 1 at counter 1, 李娜 5 3 1 at counter 2), a flagged press and a November rating that
do not count, and the three 差评 cases handled three ways. The monthly PDF shows them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pypdfium2 as pdfium
import pytest
from sqlmodel import select

from models import case_flow as flow
from models.indicators import Indicators, indicators, indicators_of_branches, month_scopes, total
from models.org import Branch, Counter, Staff
from models.rating import Channel, Rating
from models.scores import Month
from rapport.usecases.report_pdf import build_report
from tests.integration.case_world import case_of

OCTOBER = Month(2026, 10)
DAY = datetime(2026, 10, 14, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai


def rating(
    s, world, *, staff_id: int, counter_id: int, score: int, at: datetime, flagged: bool = False
) -> Rating:
    row = Rating(
        idempotency_key=f"ind-{uuid.uuid4()}", request_hash="x", staff_id=staff_id, counter_id=counter_id,
        branch_id=world.branch_id, channel=Channel.kiosk, score=score, created_at=at, flagged=flagged,
        counted=not flagged,
    )  # fmt: skip
    s.add(row)
    s.flush()
    return row


@pytest.fixture
def month(db, world) -> dict[str, int]:
    with db.write() as s:
        boss = s.exec(select(Staff.id).where(Staff.employee_no == "S1")).one()
        bob = s.exec(select(Staff.id).where(Staff.employee_no == "E2")).one()
        alice, c1, c2 = world.staff_id, world.counter_id, world.closed_counter_id
        for i, score in enumerate((5, 5, 4)):
            rating(s, world, staff_id=alice, counter_id=c1, score=score, at=DAY + timedelta(minutes=i))
        for i, score in enumerate((5, 3)):
            rating(s, world, staff_id=bob, counter_id=c2, score=score, at=DAY + timedelta(minutes=i))
        rating(s, world, staff_id=alice, counter_id=c1, score=1, at=DAY + timedelta(minutes=9), flagged=True)
        rating(s, world, staff_id=alice, counter_id=c1, score=5, at=datetime(2026, 11, 2, 2, 0, tzinfo=UTC))
        explained = case_of(
            s, rating(s, world, staff_id=alice, counter_id=c1, score=2, at=DAY), "13812345678"
        )
        unfounded = case_of(
            s, rating(s, world, staff_id=alice, counter_id=c1, score=1, at=DAY), "13912345678"
        )
        reopened = case_of(s, rating(s, world, staff_id=bob, counter_id=c2, score=1, at=DAY))

        def at(hours: float) -> datetime:
            return DAY + timedelta(hours=hours)

        # 1: not reached, then reached; partly, about the process; explained; answered; 基本满意, closed.
        flow.record_callback(s, case_id=explained, outcome="not_reached", actor_id=boss, now=at(1))
        flow.record_callback(s, case_id=explained, outcome="reached", actor_id=boss, now=at(2))
        flow.record_finding(s, case_id=explained, finding="partly", about="process", actor_id=boss, now=at(3))
        flow.record_action(
            s, case_id=explained, action="explain", text="须本人办理", actor_id=boss, now=at(3)
        )
        flow.answer_case(s, case_id=explained, text="已说明", via="callback", actor_id=boss, now=at(4))
        flow.grade_case(s, case_id=explained, grade="fairly", actor_id=boss, now=at(4))
        # 2: the customer declined the callback; found unfounded, nothing more yet.
        flow.record_callback(s, case_id=unfounded, outcome="declined", actor_id=boss, now=at(1))
        flow.record_finding(
            s, case_id=unfounded, finding="unfounded", about="staff", actor_id=boss, now=at(2)
        )
        # 3: no contact; substantiated, rectified and answered on the status page; 不满意, reopened.
        flow.record_finding(
            s, case_id=reopened, finding="substantiated", about="staff", actor_id=boss, now=at(1)
        )
        train = "业务培训"
        flow.record_action(
            s, case_id=reopened, action="rectify", text=train, due_at=at(48), actor_id=boss, now=at(1)
        )
        flow.complete_action(s, case_id=reopened, actor_id=boss, now=at(24))
        flow.answer_case(s, case_id=reopened, text="已培训", via="status_page", actor_id=boss, now=at(25))
        flow.grade_case(s, case_id=reopened, grade="dissatisfied", now=at(26))
        return {"alice": alice, "bob": bob, "c1": c1, "c2": c2}


def test_the_branch_figures_match_the_hand_count(db, world, month):
    with db.read() as s:
        [branch] = indicators(s, branch_id=world.branch_id, month=OCTOBER).values()
    assert branch == Indicators(
        rated=8, good=4, bad=3, verified=3, rectified=1, with_contact=2, reached=1, closed=1, on_time=1,
        graded=2, graded_ok=1,
    )  # fmt: skip
    assert (branch.good_rate, branch.bad_rate, branch.verify_rate, branch.rectify_rate) == (
        0.5,
        3 / 8,
        1.0,
        1 / 3,
    )
    assert (branch.callback_rate, branch.on_time_rate, branch.satisfaction_rate) == (0.5, 1.0, 0.5)


def test_per_staff_member_and_counter(db, world, month):
    with db.read() as s:
        people = indicators(s, branch_id=world.branch_id, month=OCTOBER, level="staff")
        counters = indicators(s, branch_id=world.branch_id, month=OCTOBER, level="counter")
        branch = indicators(s, branch_id=world.branch_id, month=OCTOBER)
    assert people[month["alice"]] == Indicators(
        rated=5, good=3, bad=2, verified=2, rectified=1, with_contact=2, reached=1, closed=1, on_time=1,
        graded=1, graded_ok=1,
    )  # fmt: skip
    assert people[month["bob"]] == Indicators(rated=3, good=1, bad=1, verified=1, graded=1)
    assert counters[month["c1"]] == people[month["alice"]] and counters[month["c2"]] == people[month["bob"]]
    assert total(people) == total(counters) == total(branch)


def test_several_branches_at_once_are_each_branch_in_its_own_time_zone(db, world, month):
    """An administrator's dashboard reads every branch together: branch B keeps London time, so a
    rating at 20:00 UTC on 31 October is October there and November in Shanghai (branch A)."""
    last_evening = datetime(2026, 10, 31, 20, 0, tzinfo=UTC)
    with db.write() as s:
        a, b = s.get(Branch, world.branch_id), s.get(Branch, world.other_branch_id)
        assert a is not None and b is not None
        b.timezone = "Europe/London"
        s.add(b)
        carol = s.exec(select(Staff.id).where(Staff.employee_no == "E9")).one()
        counter = Counter(branch_id=world.other_branch_id, code="B-01", name_zh="B1", name_en="B1")
        s.add(counter)
        s.flush()
        assert counter.id is not None
        for score in (5, 2):
            s.add(
                Rating(
                    idempotency_key=f"ind-{uuid.uuid4()}", request_hash="x", staff_id=carol,
                    counter_id=counter.id, branch_id=world.other_branch_id, channel=Channel.kiosk,
                    score=score, created_at=last_evening,
                )
            )  # fmt: skip
        rating(s, world, staff_id=world.staff_id, counter_id=world.counter_id, score=5, at=last_evening)
        s.commit()
    with db.read() as s:
        branches = [s.get(Branch, world.branch_id), s.get(Branch, world.other_branch_id)]
        both = [x for x in branches if x is not None]
        months = {x.id: OCTOBER for x in both if x.id is not None}
        assert len(month_scopes(both, months)) == 2  # two time zones: two sets of month bounds
        together = indicators_of_branches(s, both, local_months=months, level="staff")
        alone = {x.id: indicators(s, branch_id=x.id, month=OCTOBER, level="staff") for x in both if x.id}
    assert together == alone
    assert total(together[world.other_branch_id]) == Indicators(rated=2, good=1)
    assert total(together[world.branch_id]).rated == 8  # its evening rating is November in Shanghai


def test_an_empty_month_has_no_rates_rather_than_zero(db, world, month):
    with db.read() as s:
        figures = total(indicators(s, branch_id=world.branch_id, month=Month(2026, 9)))
    assert figures == Indicators() and figures.good_rate is None and figures.callback_rate is None


def test_the_monthly_pdf_shows_the_indicators(db, world, month):
    with db.read() as s:
        pdf = build_report(s, branch_id=world.branch_id, month=OCTOBER, locale="zh-CN",
                           now=datetime(2026, 11, 5, 2, 0, tzinfo=UTC))  # fmt: skip
    doc = pdfium.PdfDocument(pdf)
    text = "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    for words in ("差评处理指标", "好评率", "50.0%", "差评率", "37.5%", "整改率", "33.3%", "实名差评回访率",
                  "按时办结率", "100.0%", "整改满意率"):  # fmt: skip
        assert words in text, words
