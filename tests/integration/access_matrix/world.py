"""The matrix's world: two branches, each with a complaint, an alert, an inspection, training, spot
checks, and the ledger's ratings, comments, complaints, entries and appeals of three staff members."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from models import auth
from models.complaint import ComplaintCreate, file_complaint
from models.inspection import record_inspection
from models.org import Staff
from models.rating import Channel, Rating
from models.sanction import Sanction, SanctionKind, appeal_rating, appeal_sanction, decide, propose
from models.training import record_training
from rapport.core.context import AppContext

PASSWORD = "correct horse 42"
NOW = datetime(2026, 11, 24, 1, 30, tzinfo=UTC)  # Tuesday 09:30 in Shanghai, ISO week 2026-W48
# Tables a refused call may still touch: the sign-in check ends a dead session, a device's
# last_seen_at moves on, and throttle counters are bookkeeping, not anyone's records.
BOOKKEEPING = {"login_session", "device", "throttle"}


# --- the world: two branches, each with a complaint, an alert, an inspection, training, spot checks


@dataclass
class Env:
    ctx: AppContext
    db: Any
    branch: dict[str, int]  # "A" / "B" -> branch id
    branch_en: dict[str, str]
    counter: dict[str, int]  # a counter of each branch
    person: dict[str, int]  # the counter staff member each branch's data is about
    person_no: dict[str, str]
    staff: dict[str, int]  # login -> staff id
    complaint: dict[str, int]
    contact: dict[str, str]
    alert: dict[str, int]
    clauses: dict[str, set[str]]  # clause codes cited in each branch this month
    device_a: str
    device_b: str
    people: dict[str, int] = field(default_factory=dict)  # employee number -> staff id


LOGINS = {
    "E1": "alice",  # counter staff, branch A
    "S1": "boss.a",  # supervisor, branch A
    "S2": "boss.b",  # supervisor, branch B
    "A0": "root",  # administrator, no branch
    "S3": "gone.a",  # supervisor A, disabled with disable_account after signing in
    "S4": "left.a",  # supervisor A, set inactive in the database while signed in
    "S5": "ghost.a",  # supervisor A, whose sessions go idle or are signed out
}


def _file(
    s,
    key: str,
    *,
    branch_id: int,
    counter_id: int,
    staff_id: int,
    category: str,
    contact: str,
    ctx,
    description: str = "等了四十分钟没人理",
):
    data = ComplaintCreate(category=category, description=description, contact=contact, consent=True)
    complaint, _code, _ = file_complaint(
        s, idempotency_key=key, data=data, channel=Channel.kiosk, branch_id=branch_id,
        counter_id=counter_id, staff_id=staff_id, now=NOW, code_secret=ctx.secret_key,
    )  # fmt: skip
    assert complaint.id is not None
    return complaint.id


# Every cell prepares a fresh approved deduction for the same people: no monthly cap in the matrix (the
# cap has its own tests, tests/integration/test_ledger_labour_law.py).
MATRIX_GLOBAL_RULES = {"deduction_cap_yuan_per_month": 1_000_000}


# --- the ledger's world: ratings, comments, complaints, entries and appeals of three staff members

OCTOBER = "2026-10"  # the finished month the monthly evaluation runs for
# Contact data a customer typed into free text (a comment, a complaint's description): no page or
# export may show it unmasked.
TYPED = ("13700001234", "kehu@example.com")
COLLEAGUE_CONTACT = "13600002222"  # on a complaint about E2
PHONE_KEY = "f3a9c0ffee" * 4  # the digest of a phone's random id, kept with its rating
COLLEAGUES = ("李娜", "张伟")  # E2 (alice's colleague at branch A) and E9 (branch B): never on alice's page


def _rating(
    s,
    env: Env,
    employee_no: str,
    target: str,
    *,
    score: int,
    comment: str = "",
    reasons=(),
    phone: bool = False,
) -> Any:
    """A rating given at the branch's counter (or, ``phone``, through a badge) an hour ago, stored
    directly: the kiosk's rules are tested elsewhere, here only whose it is matters."""
    rating = Rating(
        idempotency_key=f"matrix-{uuid.uuid4()}",
        request_hash="x",
        staff_id=env.people[employee_no],
        branch_id=env.branch[target],
        counter_id=None if phone else env.counter[target],
        channel=Channel.qr if phone else Channel.kiosk,
        phone_key=PHONE_KEY if phone else None,
        score=score,
        reasons=list(reasons),
        comment=comment,
        created_at=NOW - timedelta(hours=1),
    )
    s.add(rating)
    s.commit()
    return rating.id


def _approved(s, env: Env, staff_id: int, kind: SanctionKind = SanctionKind.warning, **kw: Any) -> Sanction:
    """A penalty proposed by the monthly evaluation and approved by the administrator two days ago."""
    row = propose(
        s,
        staff_id=staff_id,
        kind=kind,
        reason="检查发现违规",
        clauses=["2.2.1"],
        actor_staff_id=None,
        now=NOW - timedelta(days=2),
        **kw,
    )
    assert row.id is not None
    return decide(
        s,
        row.id,
        approve=True,
        reason="证据确凿",
        actor_staff_id=env.staff["root"],
        now=NOW - timedelta(days=2),
    )


def _ledger_world(env: Env) -> None:
    """Per branch A person (E1, alice: the staff actor), colleague (E2) and branch B person (E9):
    telling ratings, complaints, an approved penalty, pending proposals, open appeals of a rating
    and of a penalty, and a violation in October for the monthly evaluation to find."""
    p = env.people
    with env.db.write() as s:
        typed = f"态度差，请回电{TYPED[0]}或写信{TYPED[1]}"
        mine = _rating(s, env, "E1", "A", score=2, reasons=["2.2.2"], comment=typed, phone=True)
        theirs = _rating(s, env, "E2", "A", score=1, reasons=["2.2.1"], comment="柜员李娜玩手机")
        _rating(s, env, "E9", "B", score=2, reasons=["2.3.3"], comment="张伟态度冷淡")
        _file(
            s,
            "matrix-a-typed",
            branch_id=env.branch["A"],
            counter_id=env.counter["A"],
            staff_id=p["E1"],
            category="2.2.2",
            contact=env.contact["A"],
            ctx=env.ctx,
            description=f"请打{TYPED[0]}回电",
        )
        _file(
            s,
            "matrix-a-colleague",
            branch_id=env.branch["A"],
            counter_id=env.counter["A"],
            staff_id=p["E2"],
            category="2.2.1",
            contact=COLLEAGUE_CONTACT,
            ctx=env.ctx,
        )
        record_inspection(
            s,
            inspector_id=p["S1"],
            staff_id=p["E2"],
            kind="routine",
            at=NOW - timedelta(hours=2),
            notes="",
            findings=[("2.2.1", "compliant", "")],
            now=NOW,
        )
        record_training(
            s,
            staff_id=p["E2"],
            kind="periodic",
            course="投诉处理",
            completed_on=date(2026, 11, 3),
            passed=True,
            recorded_by=p["S1"],
            now=NOW,
        )
        for inspector, person, clause in (("S1", "E1", "2.2.1"), ("S2", "E9", "2.4.2")):
            record_inspection(
                s,
                inspector_id=p[inspector],
                staff_id=p[person],
                kind="routine",
                at=datetime(2026, 10, 15, 2, tzinfo=UTC),
                notes="",
                findings=[(clause, "violation", "")],
                now=NOW,
            )
        for person in ("E1", "E2", "E9"):
            _approved(s, env, p[person])
        for person in ("E1", "E9"):
            propose(
                s,
                staff_id=p[person],
                kind=SanctionKind.commendation,
                reason="顾客表扬多",
                clauses=["2.2.2"],
                actor_staff_id=None,
                now=NOW - timedelta(days=1),
            )
        appeal_rating(s, mine, staff_id=p["E1"], statement="这位顾客认错了人", now=NOW)
        appeal_rating(s, theirs, staff_id=p["E2"], statement="当时我在处理业务", now=NOW)
        appealed = _approved(s, env, p["E9"], SanctionKind.criticism)
        assert appealed.id is not None
        appeal_sanction(s, appealed.id, staff_id=p["E9"], statement="处罚依据不足", now=NOW)


def sign_in(env: Env, login: str, *, at: datetime = NOW) -> str:
    with env.db.write() as s:
        return auth.authenticate(s, login=login, password=PASSWORD, client="192.0.2.10", now=at)[1]


def set_active(env: Env, login: str, active: bool) -> None:
    with env.db.write() as s:
        person = s.get(Staff, env.staff[login])
        assert person is not None
        person.active = active
        s.add(person)
        s.commit()
