"""A counter staff member's own page (admin/staff_portal.py) on a real database.

Two colleagues of one branch, 王芳 (alice) and 李娜 (bob), each have ratings with comments, a
complaint with a customer's phone number, penalties and a reward, an inspection and training. Each
one's page holds their own data and nothing of the other's, and nothing that could reach a customer.
The three things a staff member may do (acknowledge, rectification report, appeal) work on their own
entries and are refused, with the database unchanged, on anyone else's, twice, late, or too short.
Supervisors and administrators are refused the page.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlmodel import select

import models.auth
import models.crypto
from admin import staff_portal as portal
from models import auth
from models.auth import SessionExpired
from models.complaint import ComplaintCreate, file_complaint
from models.crypto import hash_secret
from models.errors import Forbidden, NotFound, ValidationFailed
from models.inspection import Inspection, record_inspection
from models.org import Role, Staff
from models.rating import Channel, FlagReason, Rating, RatingCreate, phone_key, submit_rating
from models.sanction import (
    Appeal,
    LedgerStepRefused,
    Sanction,
    SanctionNotFound,
    SanctionStatus,
    decide,
    decide_appeal,
    propose,
)
from models.training import TrainingRecord, record_training
from rapport.core.context import AppContext

PASSWORD = "correct horse 42"
NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # Friday 12:00 in Shanghai
PHONE = "13812345678"
EMAIL = "kunde@example.com"
LOGINS = {"E1": "alice", "E2": "bob", "S1": "boss.a", "A0": "root"}


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(
        models.crypto, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    models.auth._dummy_hash.cache_clear()
    yield
    models.auth._dummy_hash.cache_clear()


@dataclass
class Person:
    id: int
    token: str
    ratings: list[uuid.UUID]  # newest first
    flagged: uuid.UUID
    complaint: int
    warning: int  # approved, no report due
    deduction: int  # approved, report due
    reward: int  # approved commendation
    proposed: int  # not decided yet
    words: str  # a phrase only this person's data contains


@dataclass
class Env:
    ctx: AppContext
    db: Any
    people: dict[str, Person]
    tokens: dict[str, str]  # login -> token, for everyone
    ids: dict[str, int]
    branch_id: int


def _rate(
    s,
    key: str,
    *,
    staff_id: int,
    branch_id: int,
    score: int,
    at: datetime,
    comment: str = "",
    reasons: list[str] | None = None,
    phone: str | None = None,
    flag: FlagReason | None = None,
) -> uuid.UUID:
    rating, _ = submit_rating(
        s,
        idempotency_key=key,
        data=RatingCreate(score=score, reasons=reasons or [], comment=comment),
        channel=Channel.qr if phone else Channel.kiosk,
        branch_id=branch_id,
        staff_id=staff_id,
        phone=phone,
        flag=flag,
        now=at,
    )
    return rating.id


@pytest.fixture
def env(db, world, ctx: AppContext) -> Env:
    ctx.clock = lambda: NOW
    a = world.branch_id
    with db.write() as s:
        s.add(Staff(employee_no="A0", display_name="管理员", role=Role.admin))
        s.flush()
        people = {p.employee_no: p for p in s.exec(select(Staff)).all()}
        for number, login in LOGINS.items():
            people[number].username, people[number].password_hash = login, hash_secret(PASSWORD)
        s.commit()
        ids = {no: p.id for no, p in people.items() if p.id is not None}
        built: dict[str, Person] = {}
        for number, words, good in (("E1", "王芳的窗口很干净", 24), ("E2", "李娜讲得很清楚", 3)):
            me = ids[number]
            ratings = [
                _rate(
                    s,
                    f"{number}-good-{i}",
                    staff_id=me,
                    branch_id=a,
                    score=5 - i % 2,
                    at=NOW - timedelta(days=1, minutes=i),
                )
                for i in range(good)
            ]
            ratings.insert(
                0,
                _rate(
                    s,
                    f"{number}-said",
                    staff_id=me,
                    branch_id=a,
                    score=4,
                    reasons=["2.2.1"],
                    at=NOW - timedelta(hours=3),
                    comment=f"{words}，电话 {PHONE}，{EMAIL}",
                    phone=phone_key(f"phone-of-{number}"),
                ),
            )
            ratings.insert(
                0,
                _rate(
                    s,
                    f"{number}-low",
                    staff_id=me,
                    branch_id=a,
                    score=1,
                    reasons=["2.2.2"],
                    at=NOW - timedelta(hours=2),
                ),
            )
            flagged = _rate(
                s,
                f"{number}-flagged",
                staff_id=me,
                branch_id=a,
                score=1,
                comment="连按",
                at=NOW - timedelta(hours=1),
                flag=FlagReason.burst,
            )
            data = ComplaintCreate(
                category="2.2.2", description=f"{words}？不，等了很久。", contact=PHONE, consent=True
            )
            complaint, _code, _ = file_complaint(
                s,
                idempotency_key=f"{number}-complaint",
                data=data,
                channel=Channel.kiosk,
                branch_id=a,
                counter_id=world.counter_id,
                staff_id=me,
                now=NOW - timedelta(days=2),
                code_secret=ctx.secret_key,
            )
            entries = {}
            for kind, amount in (("warning", None), ("deduction", 200), ("commendation", None)):
                row = propose(
                    s,
                    staff_id=me,
                    kind=kind,
                    reason=f"{words}：{kind}",
                    clauses=["2.2.2"],
                    amount_yuan=amount,
                    actor_staff_id=ids["S1"],
                    now=NOW - timedelta(days=3),
                    evidence={"complaints": [complaint.id]},
                )
                assert row.id is not None
                decide(
                    s,
                    row.id,
                    approve=True,
                    reason="属实，批准",
                    actor_staff_id=ids["A0"],
                    now=NOW - timedelta(days=2),
                )
                entries[kind] = row.id
            pending = propose(
                s,
                staff_id=me,
                kind="criticism",
                reason=f"{words}：待定",
                clauses=["2.2.1"],
                actor_staff_id=ids["S1"],
                now=NOW - timedelta(days=1),
            )
            record_inspection(
                s,
                inspector_id=ids["S1"],
                staff_id=me,
                kind="routine",
                at=NOW - timedelta(days=4),
                notes=f"{words}（巡查）",
                findings=[("2.2.1", "violation", "")],
                now=NOW - timedelta(days=4),
            )
            record_training(
                s,
                staff_id=me,
                kind="periodic",
                course=f"{words}课程",
                completed_on=date(2026, 11, 2),
                passed=True,
                now=NOW,
            )
            assert complaint.id is not None and pending.id is not None
            built[number] = Person(
                me,
                "",
                ratings,
                flagged,
                complaint.id,
                entries["warning"],
                entries["deduction"],
                entries["commendation"],
                pending.id,
                words,
            )
        tokens = {}
        for login in LOGINS.values():
            _staff, tokens[login] = auth.authenticate(
                s, login=login, password=PASSWORD, client="127.0.0.1", now=NOW - timedelta(minutes=1)
            )
    built["E1"].token, built["E2"].token = tokens["alice"], tokens["bob"]
    return Env(ctx, db, built, tokens, ids, a)


def _walk(value: Any) -> Iterator[tuple[str, Any]]:
    """Every (field name, value) inside a result, however deeply nested."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            inner = getattr(value, f.name)
            yield f.name, inner
            yield from _walk(inner)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _walk(item)


def _sanction(env: Env, sanction_id: int) -> Sanction:
    with env.db.read() as s:
        row = s.get(Sanction, sanction_id)
        assert row is not None
        return row


def _appeals(env: Env) -> list[Appeal]:
    with env.db.read() as s:
        return list(s.exec(select(Appeal)).all())


# -- only my own data ------------------------------------------------------------------------------


@pytest.mark.parametrize("me, other", [("E1", "E2"), ("E2", "E1")])
def test_each_staff_member_sees_only_their_own_data(env: Env, me: str, other: str) -> None:
    mine, theirs = env.people[me], env.people[other]
    page = portal.overview(env.ctx, mine.token)
    assert page.me.id == mine.id and page.me.employee_no == me
    assert {uuid.UUID(r.id) for r in page.comments.rows} == {*mine.ratings[:2], mine.flagged}
    assert [c.id for c in page.complaints] == [mine.complaint]
    assert {r.id for r in page.records} == {mine.warning, mine.deduction, mine.reward, mine.proposed}
    assert len(page.inspections) == 1 and page.inspections[0].notes.startswith(mine.words)
    assert f"{mine.words}课程" in [t.course for t in page.training]
    with env.db.read() as s:  # every row shown is about me, checked against the database
        assert {s.get(TrainingRecord, t.id).staff_id for t in page.training} == {mine.id}
        assert {s.get(Inspection, i.id).staff_id for i in page.inspections} == {mine.id}
        assert {s.get(Rating, uuid.UUID(r.id)).staff_id for r in page.comments.rows} == {mine.id}
    shown = repr(page)
    assert mine.words in shown
    assert theirs.words not in shown
    other_name = "李娜" if other == "E2" else "王芳"
    assert other_name not in shown, "no colleague is ever named"
    # Each single call agrees with the page.
    assert portal.my_complaints(env.ctx, mine.token) == page.complaints
    assert portal.my_records(env.ctx, mine.token) == page.records
    assert portal.my_inspections(env.ctx, mine.token) == page.inspections
    assert portal.my_training(env.ctx, mine.token) == page.training
    assert portal.my_comments(env.ctx, mine.token) == page.comments
    assert portal.my_scores(env.ctx, mine.token) == page.scores


def test_no_function_takes_a_staff_id() -> None:
    import inspect

    for name in portal.__all__:
        fn = getattr(portal, name)
        if callable(fn) and not isinstance(fn, type):
            params = set(inspect.signature(fn).parameters)
            assert not params & {"staff_id", "staff", "employee_no", "person"}, name


def test_nothing_on_the_page_can_reach_a_customer(env: Env) -> None:
    alice = env.people["E1"]
    page = portal.overview(env.ctx, alice.token)
    names = {name for name, _ in _walk(page)}
    banned = {
        "contact",
        "contact_kind",
        "phone",
        "phone_key",
        "device",
        "device_id",
        "code_digest",
        "tracking_code",
        "idempotency_key",
        "root_cause",
        "corrective_action",
        "assignee",
    }
    assert not names & banned
    shown = repr(page)
    for secret in (PHONE, "138****5678", EMAIL, phone_key("phone-of-E1")):
        assert secret not in shown, secret
    said = next(r for r in page.comments.rows if uuid.UUID(r.id) == alice.ratings[1])
    assert said.comment == f"{alice.words}，电话 ***，***"
    assert [c.code for c in said.reasons] == ["2.2.1"] and said.reasons[0].zh == "热情礼貌"


def test_redaction_masks_mobile_numbers_and_e_mail_but_not_other_numbers() -> None:
    assert portal.redact("call +86 138-1234-5678 or 13812345678!") == "call *** or ***!"
    assert portal.redact("mail a.b+c@mail.example.cn now") == "mail *** now"
    assert portal.redact("等了 45 分钟，排队号 1023，柜台 3") == "等了 45 分钟，排队号 1023，柜台 3"


# -- scores ----------------------------------------------------------------------------------------


def test_my_score_counts_only_counted_ratings_and_ranks_against_the_branch_without_names(env: Env) -> None:
    alice = portal.my_scores(env.ctx, env.people["E1"].token)
    # 24 good ones (12 fives, 12 fours), a 4 with a comment and a 1: 26 counted; the flagged 1 is not.
    assert alice.month == "2026-11"
    assert alice.current.n == 26 and alice.current.counts == (1, 0, 0, 13, 12)
    assert alice.current.mean == pytest.approx((12 * 5 + 13 * 4 + 1) / 26)
    assert alice.current.ranked and alice.rank == 1 and alice.ranked_count == 1
    assert alice.branch_median == pytest.approx(alice.current.score)
    assert alice.current.low is not None and alice.current.low <= alice.current.score <= alice.current.high
    # The branch's distribution is both people's counted ratings: 26 + 5.
    assert sum(alice.branch_counts) == 31 and alice.min_ranked == 20
    assert [m.month for m in alice.months] == [
        "2026-06",
        "2026-07",
        "2026-08",
        "2026-09",
        "2026-10",
        "2026-11",
    ]
    assert [d.day for d in alice.days] == [date(2026, 11, 19), date(2026, 11, 20)]

    bob = portal.my_scores(env.ctx, env.people["E2"].token)
    assert bob.current.n == 5 and not bob.current.ranked and bob.rank is None
    assert bob.ranked_count == 1  # "not ranked yet: 5 of 20", and alice is the one ranked


# -- acknowledge and report ------------------------------------------------------------------------


def test_acknowledging_a_warning_closes_it(env: Env) -> None:
    alice = env.people["E1"]
    row = portal.acknowledge_record(env.ctx, alice.token, alice.warning)
    assert row.status == "closed" and row.acknowledged_at == NOW and not row.can_acknowledge
    assert _sanction(env, alice.warning).status == SanctionStatus.closed


def test_an_economic_penalty_waits_for_a_report_of_at_least_twenty_characters(env: Env) -> None:
    alice = env.people["E1"]
    before = next(r for r in portal.my_records(env.ctx, alice.token) if r.id == alice.deduction)
    assert before.can_acknowledge and not before.can_report and before.amount_yuan == 200
    with pytest.raises(LedgerStepRefused):
        portal.write_report(env.ctx, alice.token, alice.deduction, "我会改正的，以后一定注意服务态度和耐心。")
    row = portal.acknowledge_record(env.ctx, alice.token, alice.deduction)
    assert row.status == "acknowledged" and row.can_report and not row.can_acknowledge

    with pytest.raises(ValidationFailed) as short:
        portal.write_report(env.ctx, alice.token, alice.deduction, "  我错了。 \n ")
    assert short.value.field == "report"
    stored = _sanction(env, alice.deduction)
    assert stored.status == SanctionStatus.acknowledged and stored.report is None

    text = "那天排队的人很多，我没有耐心解释。\n以后我会先说明等待原因，并请同事协助分流。"
    row = portal.write_report(env.ctx, alice.token, alice.deduction, text)
    assert row.status == "closed" and row.report == text and row.reported_at == NOW and not row.can_report


def test_acknowledge_is_refused_on_a_reward_a_proposal_or_twice(env: Env) -> None:
    alice = env.people["E1"]
    for sanction_id in (alice.reward, alice.proposed):
        with pytest.raises(LedgerStepRefused):
            portal.acknowledge_record(env.ctx, alice.token, sanction_id)
    portal.acknowledge_record(env.ctx, alice.token, alice.warning)
    with pytest.raises(LedgerStepRefused):
        portal.acknowledge_record(env.ctx, alice.token, alice.warning)
    assert _sanction(env, alice.reward).status == SanctionStatus.approved
    assert _sanction(env, alice.proposed).status == SanctionStatus.proposed


def test_someone_elses_entry_is_as_unknown_as_a_missing_one(env: Env) -> None:
    alice, bob = env.people["E1"], env.people["E2"]
    for call, extra in (
        (portal.acknowledge_record, ()),
        (portal.write_report, ("这是一份足够长的整改报告，写了二十个字以上。",)),
        (portal.appeal_record, ("这不是我的错，请复核。",)),
    ):
        for sanction_id in (bob.warning, bob.deduction, 99_999):
            with pytest.raises(SanctionNotFound, match="no ledger entry of yours"):
                call(env.ctx, alice.token, sanction_id, *extra)
    assert _sanction(env, bob.warning).status == SanctionStatus.approved
    assert _sanction(env, bob.deduction).status == SanctionStatus.approved
    assert _appeals(env) == []


# -- appeals ---------------------------------------------------------------------------------------


def test_a_penalty_is_appealed_once_within_the_window(env: Env) -> None:
    alice = env.people["E1"]
    with pytest.raises(ValidationFailed) as short:
        portal.appeal_record(env.ctx, alice.token, alice.warning, " 不 ")
    assert short.value.field == "statement" and _appeals(env) == []

    # Decided two days ago; her page shows it to her now: 30 days from now, not from the decision.
    before = next(r for r in portal.my_records(env.ctx, alice.token) if r.id == alice.warning)
    assert before.appeal_until == NOW + timedelta(days=30)
    row = portal.appeal_record(env.ctx, alice.token, alice.warning, "那天系统故障，排队不是我造成的。")
    assert row.status == "appealed" and row.appeal is not None and row.appeal.status == "open"
    assert row.appeal.statement == "那天系统故障，排队不是我造成的。" and row.appeal_until is None
    with pytest.raises(LedgerStepRefused):
        portal.appeal_record(env.ctx, alice.token, alice.warning, "再申诉一次。")
    for sanction_id in (alice.reward, alice.proposed):
        with pytest.raises(LedgerStepRefused):
            portal.appeal_record(env.ctx, alice.token, sanction_id, "我不同意这个决定。")
    assert len(_appeals(env)) == 1


def test_after_the_window_no_appeal_is_offered_or_accepted(env: Env) -> None:
    alice = env.people["E1"]
    portal.my_records(env.ctx, alice.token)  # her page shows her the penalties at NOW: told
    env.ctx.clock = lambda: NOW + timedelta(days=31)  # told at NOW, rated hours before NOW; 30 days to appeal
    # A later sign-in: the fixture's session would have gone idle.
    with env.db.write() as s:
        _staff, token = auth.authenticate(
            s, login="alice", password=PASSWORD, client="127.0.0.1", now=NOW + timedelta(days=31)
        )
    records = {r.id: r for r in portal.my_records(env.ctx, token)}
    assert records[alice.warning].appeal_until is None and records[alice.deduction].appeal_until is None
    comments = portal.my_comments(env.ctx, token)
    assert all(r.appeal_until is None for r in comments.rows)
    with pytest.raises(LedgerStepRefused):
        portal.appeal_record(env.ctx, token, alice.warning, "那天系统故障，排队不是我造成的。")
    with pytest.raises(LedgerStepRefused):
        portal.appeal_a_rating(env.ctx, token, str(alice.ratings[0]), "这位客户不是我接待的。")
    assert _appeals(env) == []


def test_a_rating_is_appealed_and_an_overturned_one_leaves_my_score(env: Env) -> None:
    alice, bob = env.people["E1"], env.people["E2"]
    low = str(alice.ratings[0])
    for bad in (str(bob.ratings[0]), str(uuid.uuid4()), "not-a-rating"):
        with pytest.raises(NotFound):
            portal.appeal_a_rating(env.ctx, alice.token, bad, "这位客户不是我接待的。")
    with pytest.raises(ValidationFailed) as short:
        portal.appeal_a_rating(env.ctx, alice.token, low, "")
    assert short.value.field == "statement" and _appeals(env) == []

    info = portal.appeal_a_rating(env.ctx, alice.token, low, "这位客户不是我接待的。")
    assert info.status == "open" and info.filed_at == NOW
    with pytest.raises(LedgerStepRefused):
        portal.appeal_a_rating(env.ctx, alice.token, low, "再申诉一次。")
    row = next(r for r in portal.my_comments(env.ctx, alice.token).rows if r.id == low)
    assert row.appeal == info and row.appeal_until is None and not row.overturned

    with env.db.write() as s:
        decide_appeal(
            s, info.id, overturn=True, reason="监控显示是同事接待", actor_staff_id=env.ids["S1"], now=NOW
        )
    page = portal.overview(env.ctx, alice.token)
    row = next(r for r in page.comments.rows if r.id == low)
    assert row.overturned and row.appeal is not None and row.appeal.status == "overturned"
    assert row.appeal.decision_reason == "监控显示是同事接待"
    assert page.scores.current.n == 25 and page.scores.current.counts == (0, 0, 0, 13, 12)
    with env.db.read() as s:
        stored = s.get(Rating, alice.ratings[0])
        assert stored is not None and stored.overturned and not stored.counted


def test_flagged_ratings_are_listed_as_not_counted(env: Env) -> None:
    alice = env.people["E1"]
    rows = portal.my_comments(env.ctx, alice.token).rows
    assert [uuid.UUID(r.id) for r in rows] == [alice.flagged, *alice.ratings[:2]], "newest first"
    assert rows[0].flagged and rows[0].flag_reason == "burst" and not rows[1].flagged


def test_an_appeal_is_offered_only_on_a_counted_low_rating(env: Env) -> None:
    alice = env.people["E1"]
    flagged, low, good = portal.my_comments(env.ctx, alice.token).rows
    assert low.score == 1 and low.appeal_until == NOW - timedelta(hours=2) + timedelta(days=30)
    assert good.score == 4 and good.appeal_until is None, "a good rating with a comment counts for me"
    assert flagged.appeal_until is None, "a flagged rating is in no score already"


def test_comments_come_a_page_at_a_time(env: Env, db) -> None:
    alice = env.people["E1"]
    with db.write() as s:
        for i in range(5):
            _rate(
                s,
                f"more-{i}",
                staff_id=alice.id,
                branch_id=env.branch_id,
                score=2,
                at=NOW - timedelta(days=3, minutes=i),
            )
    first = portal.my_comments(env.ctx, alice.token, limit=4)
    assert len(first.rows) == 4 and first.more
    everything = portal.my_comments(env.ctx, alice.token, limit=30)
    assert len(everything.rows) == 8 and not everything.more
    assert everything.rows[:4] == first.rows


# -- who may open the page -------------------------------------------------------------------------

CALLS = [
    (portal.overview, ()),
    (portal.my_scores, ()),
    (portal.my_comments, ()),
    (portal.my_complaints, ()),
    (portal.my_records, ()),
    (portal.my_inspections, ()),
    (portal.my_training, ()),
    (portal.acknowledge_record, ("warning",)),
    (portal.write_report, ("deduction", "这是一份足够长的整改报告，写了二十个字以上。")),
    (portal.appeal_record, ("warning", "这不是我的错，请复核。")),
    (portal.appeal_a_rating, ("rating", "这位客户不是我接待的。")),
    (portal.appeal_a_rating, ("not-a-rating", "这位客户不是我接待的。")),
]


def _args(env: Env, extra: tuple) -> list:
    alice = env.people["E1"]
    ids = {"warning": alice.warning, "deduction": alice.deduction, "rating": str(alice.ratings[0])}
    return [ids.get(x, x) if isinstance(x, str) else x for x in extra]


@pytest.mark.parametrize("call, extra", CALLS, ids=[f"{c.__name__}-{i}" for i, (c, _) in enumerate(CALLS)])
@pytest.mark.parametrize("login", ["boss.a", "root"])
def test_supervisors_and_administrators_are_refused(env: Env, call, extra, login: str) -> None:
    with pytest.raises(Forbidden, match="for counter staff"):
        call(env.ctx, env.tokens[login], *_args(env, extra))
    assert _sanction(env, env.people["E1"].warning).status == SanctionStatus.approved
    assert _appeals(env) == []


@pytest.mark.parametrize("call, extra", CALLS, ids=[f"{c.__name__}-{i}" for i, (c, _) in enumerate(CALLS)])
def test_without_a_live_sign_in_nothing_is_shown_or_changed(env: Env, call, extra) -> None:
    for token in ("", "made-up-token"):
        with pytest.raises(SessionExpired):
            call(env.ctx, token, *_args(env, extra))
    env.ctx.clock = lambda: NOW + timedelta(hours=1)  # idle for more than 30 minutes
    with pytest.raises(SessionExpired):
        call(env.ctx, env.people["E1"].token, *_args(env, extra))
    assert _sanction(env, env.people["E1"].warning).status == SanctionStatus.approved
    assert _appeals(env) == []
