"""Fairness follows the finding (issue 15): a 差评 whose case found it unfounded, not verifiable, or
about the service, process, policy or facilities stays in the branch's figures and leaves the
person's fair score; one found substantiated (or partly) about the staff member weighs on them, as
does a 差评 not verified yet."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from models import case_flow as flow
from models.cases import RatingCase
from models.complaint import Complaint
from models.errors import ValidationFailed
from models.org import Staff
from models.rating import Channel, Rating
from models.scores import Month, branch_moments, moments_by_staff, staff_daily, staff_moments

NOVEMBER = Month(2026, 11)
DAY = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)


@pytest.fixture
def rated(db, world) -> dict[str, int]:
    """王芳 rated 5, 5, 4 and one 非常不满意 that opened a case."""
    with db.write() as s:
        for i, score in enumerate((5, 5, 4, 1)):
            s.add(Rating(idempotency_key=f"fair-{uuid.uuid4()}", request_hash="x", staff_id=world.staff_id,
                         counter_id=world.counter_id, branch_id=world.branch_id, channel=Channel.kiosk,
                         score=score, created_at=DAY + timedelta(minutes=i)))  # fmt: skip
        s.commit()
        low = s.exec(select(Rating).where(Rating.score == 1)).one()
        case = RatingCase(
            rating_id=low.id, branch_id=world.branch_id, counter_id=world.counter_id, staff_id=world.staff_id,
            channel="kiosk", score=1, opened_at=low.created_at,
        )  # fmt: skip
        s.add(case)
        s.commit()
        boss = s.exec(select(Staff.id).where(Staff.employee_no == "S1")).one()
        assert case.id is not None
        return {"case": case.id, "boss": boss}


def figures(db, world) -> tuple[int, int, int, int]:
    start, end = NOVEMBER.bounds("Asia/Shanghai")
    with db.read() as s:
        person = staff_moments(s, world.staff_id, start, end)
        listed = moments_by_staff(s, world.branch_id, start, end)[world.staff_id]
        daily = sum(m.n for m in staff_daily(s, world.staff_id, NOVEMBER, "Asia/Shanghai").values())
        branch = branch_moments(s, world.branch_id, start, end)
    assert listed == person and daily == person.n
    return person.n, person.total, branch.n, branch.total


def find(db, rated, finding: str, about: str) -> None:
    with db.write() as s:
        flow.record_finding(s, case_id=rated["case"], finding=finding, about=about, actor_id=rated["boss"])


def test_an_unverified_bad_rating_weighs_until_its_finding_says_otherwise(db, world, rated):
    assert figures(db, world) == (4, 15, 4, 15)
    find(db, rated, "partly", "process")
    assert figures(db, world) == (3, 14, 4, 15)  # out of 王芳's score, still in the branch's


@pytest.mark.parametrize(
    "finding, about, weighs",
    [
        ("substantiated", "staff", True),
        ("partly", "staff", True),
        ("unfounded", "staff", False),
        ("unverifiable", "staff", False),
        ("substantiated", "facilities", False),
        ("substantiated", "policy", False),
    ],
)
def test_only_a_substantiated_finding_about_the_person_weighs_on_them(
    db, world, rated, finding, about, weighs
):
    find(db, rated, finding, about)
    assert figures(db, world) == ((4, 15, 4, 15) if weighs else (3, 14, 4, 15))


def test_a_revised_finding_moves_the_rating_back(db, world, rated):
    find(db, rated, "unfounded", "staff")
    assert figures(db, world)[0] == 3
    find(db, rated, "substantiated", "staff")
    assert figures(db, world)[0] == 4


def test_a_complaint_about_the_case_counts_in_the_evaluation_only_when_the_finding_is_against_the_person(
    db, world, rated
):
    from models.complaint import (
        ComplaintStatus,
        file_complaint,
        parse_complaint,
        record_investigation,
        transition,
    )
    from models.sanction import _substantiated

    with db.write() as s:
        low = s.exec(select(Rating).where(Rating.score == 1)).one()
        data = parse_complaint({"category": "2.2.2", "description": "等了很久没人解释。"})
        complaint, _code, _ = file_complaint(
            s, idempotency_key=f"fair-{uuid.uuid4()}", data=data, channel=Channel.kiosk,
            branch_id=world.branch_id, staff_id=world.staff_id, rating_id=low.id, now=DAY,
        )  # fmt: skip
        assert complaint.id is not None
        complaint_id = complaint.id
        at, boss = DAY + timedelta(hours=1), rated["boss"]
        transition(s, complaint_id=complaint_id, to=ComplaintStatus.acknowledged, actor_staff_id=boss, now=at)
        transition(
            s, complaint_id=complaint_id, to=ComplaintStatus.investigating, actor_staff_id=boss, now=at
        )
        record_investigation(s, complaint_id=complaint_id, actor_staff_id=boss, root_cause="午间只开一个窗口")
        with pytest.raises(ValidationFailed, match="finding"):  # nobody has found anything yet
            transition(s, complaint_id=complaint_id, to=ComplaintStatus.resolved, actor_staff_id=boss, now=at)
    # The case's finding stands for the complaint that joined it.
    find(db, rated, "partly", "process")
    with db.write() as s:
        transition(
            s,
            complaint_id=complaint_id,
            to=ComplaintStatus.resolved,
            actor_staff_id=boss,
            reply="已处理",
            now=at,
        )
    start, end = NOVEMBER.bounds("Asia/Shanghai")

    def weighing() -> list[int]:
        with db.read() as s:
            return [c.id for c in _substantiated(s, world.branch_id, start, end).get(world.staff_id, [])]  # type: ignore[misc]

    assert weighing() == []
    find(db, rated, "substantiated", "staff")
    assert weighing() == [complaint_id]


def test_a_complaints_own_finding_decides_who_it_weighs_on(db, world, rated):
    """A complaint without a 差评 (typed in from a hotline call, say) is found on its own page, with
    the same words; only 属实 or 部分属实 about the staff member weighs on them."""
    from models.complaint import ComplaintStatus, file_complaint, parse_complaint, transition
    from models.sanction import _substantiated

    start, end = NOVEMBER.bounds("Asia/Shanghai")
    boss, at = rated["boss"], DAY + timedelta(hours=2)
    outcomes = {}
    for finding, about in (
        ("unfounded", "staff"),
        ("partly", "policy"),
        ("partly", "staff"),
        ("unverifiable", "staff"),
    ):
        with db.write() as s:
            data = parse_complaint({"category": "2.2.2", "description": "电话里说柜员态度不好。"})
            complaint, _code, _ = file_complaint(
                s, idempotency_key=f"own-{uuid.uuid4()}", data=data, channel=Channel.hotline,
                branch_id=world.branch_id, staff_id=world.staff_id, now=DAY,
            )  # fmt: skip
            assert complaint.id is not None
            for to in (ComplaintStatus.acknowledged, ComplaintStatus.investigating):
                transition(s, complaint_id=complaint.id, to=to, actor_staff_id=boss, now=at)
            transition(
                s, complaint_id=complaint.id, to=ComplaintStatus.resolved, actor_staff_id=boss, now=at,
                root_cause="当班人员解释不清", reply="已核实", finding=finding, about=about,
            )  # fmt: skip
            stored = s.get(Complaint, complaint.id)
            assert stored is not None and (stored.finding, stored.about) == (finding, about)
            outcomes[complaint.id] = (finding, about)
    with db.read() as s:
        weighs = [c.id for c in _substantiated(s, world.branch_id, start, end).get(world.staff_id, [])]  # type: ignore[misc]
    assert [outcomes[i] for i in weighs] == [("partly", "staff")]


def test_the_persons_page_says_why_a_bad_rating_is_not_in_their_score(db, world, ctx, rated):
    from admin import staff_portal
    from models import auth
    from models.crypto import hash_secret

    with db.write() as s:
        alice = s.get(Staff, world.staff_id)
        assert alice is not None
        alice.username, alice.password_hash = "alice", hash_secret("correct horse 42")
        s.add(alice)
        s.commit()
        token = auth.authenticate(
            s, login="alice", password="correct horse 42", client="192.0.2.1", now=ctx.clock()
        )[1]

    def low_row():
        return next(r for r in staff_portal.my_comments(ctx, token).rows if r.score == 1)

    assert low_row().cleared is None
    find(db, rated, "partly", "process")
    row = low_row()
    assert row.cleared == "process" and row.appeal_until is None  # nothing left to appeal
    find(db, rated, "unfounded", "staff")
    assert low_row().cleared == "unfounded"
