"""R5 access matrix (docs/QUALITY.md): who may call which admin service, on whose data.

Rows are actors: nobody signed in (no token, a made-up token, a kiosk's device token, an idle
session, a signed-out session), an account disabled or deactivated after signing in, a counter
staff member of branch A, the supervisors of branches A and B, and an administrator (no branch).
Columns are every public ``fn(ctx, token, ...)`` of the admin modules in ``ADMIN_MODULES``
(backend, hotline, supervision, dashboard, jobs, documents, staff_portal, ledger, rules), each called
on data of branch A and of branch B where the call names a branch, complaint, alert, person, ledger
entry, appeal or rating. A cell is either allowed, and then returns only in-scope data (checked
against the database; a staff member's own page only their own data and no customer contact data),
or refused with ``SessionExpired`` / ``Forbidden`` (``NotFound`` where a service answers someone
else's record exactly like a missing one), and then the database is exactly as before.
``test_the_matrix_covers_every_admin_service`` fails when a new service appears that no row of
``OPS`` covers.

The customer side follows: a kiosk's device token is bound to its counter and branch, a revoked
one is refused by the kiosk backend and the HTTP API, a tracking code shows nothing internal, and
an unknown QR token is refused.
"""

from __future__ import annotations

import csv
import dataclasses
import inspect
import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pypdfium2 as pdfium
import pytest
from argon2 import PasswordHasher
from sqlmodel import SQLModel, col, func, select
from starlette.testclient import TestClient

import models.auth
import models.crypto
from admin import backend, dashboard, documents, hotline, jobs, ledger, rules, staff_portal, supervision
from admin import calendar as calendar_desk
from admin import cases as case_desk
from admin import extensions as extension_desk
from admin.sections import SECTIONS, visible_sections
from kiosk import backend as kiosk
from models import auth
from models.alerts import Alert, AlertKind, raise_alert
from models.auth import IDLE_TIMEOUT, SessionExpired, TotpSecret
from models.complaint import (
    Complaint,
    ComplaintCreate,
    ComplaintEvent,
    ComplaintNotFound,
    ComplaintStatus,
    ComplaintStatusView,
    assign,
    file_complaint,
    public_status,
    record_investigation,
    transition,
)
from models.crypto import hash_secret, new_token
from models.devices import authenticate_device, register_device
from models.duty import Duty
from models.errors import (
    ConflictOfInterest,
    DeviceNotAuthorized,
    DomainError,
    Forbidden,
    NotFound,
    QrTokenUnknown,
    SignInFailed,
    ValidationFailed,
)
from models.extensions import request_extension
from models.inspection import Inspection, SpotCheckTask, draw_spot_checks, iso_week, record_inspection
from models.intake import rate_at_device
from models.org import Counter, Device, Role, Staff
from models.policy import Policy, PolicyRevision, set_policy
from models.rating import Channel, Rating, RatingCreate
from models.sanction import (
    Appeal,
    AppealStatus,
    Sanction,
    SanctionKind,
    SanctionStatus,
    acknowledge,
    appeal_rating,
    appeal_sanction,
    decide,
    propose,
)
from models.training import TrainingRecord, record_training
from rapport.core.context import AppContext
from rapport.entry.server import create_app
from rapport.usecases.scheduler import jobs as job_catalogue

PASSWORD = "correct horse 42"
NOW = datetime(2026, 11, 24, 1, 30, tzinfo=UTC)  # Tuesday 09:30 in Shanghai, ISO week 2026-W48
# Tables a refused call may still touch: the sign-in check ends a dead session, a device's
# last_seen_at moves on, and throttle counters are bookkeeping, not anyone's records.
BOOKKEEPING = {"login_session", "device", "throttle"}


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch):
    """Still argon2id, with the cost turned down: every cell of the matrix signs in afresh."""
    monkeypatch.setattr(
        models.crypto, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    models.auth._dummy_hash.cache_clear()
    yield
    models.auth._dummy_hash.cache_clear()


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


@pytest.fixture
def env(db, world, ctx) -> Env:
    ctx.clock = lambda: NOW
    a, b = world.branch_id, world.other_branch_id
    with db.write() as s:
        counter_b = Counter(branch_id=b, code="B-01", name_zh="乙1号窗口", name_en="B counter 1")
        s.add(counter_b)
        s.add_all(
            [
                Staff(employee_no="S2", display_name="乙主管", role=Role.supervisor, branch_id=b),
                Staff(employee_no="A0", display_name="管理员", role=Role.admin),
                Staff(employee_no="S3", display_name="停用主管", role=Role.supervisor, branch_id=a),
                Staff(employee_no="S4", display_name="离职主管", role=Role.supervisor, branch_id=a),
                Staff(employee_no="S5", display_name="过期主管", role=Role.supervisor, branch_id=a),
            ]
        )
        s.flush()
        people = {p.employee_no: p for p in s.exec(select(Staff)).all()}
        password_hash = hash_secret(PASSWORD)
        for number, login in LOGINS.items():
            people[number].username, people[number].password_hash = login, password_hash
        s.commit()
        ids = {no: p.id for no, p in people.items()}
        staff = {login: ids[no] for no, login in LOGINS.items()}
        assert counter_b.id is not None
        _dev, device_b = register_device(s, counter_id=counter_b.id, label="B tablet")

        complaint = {
            "A": _file(s, "matrix-a", branch_id=a, counter_id=world.counter_id, staff_id=ids["E1"],
                       category="2.2.2", contact="13812345678", ctx=ctx),
            "B": _file(s, "matrix-b", branch_id=b, counter_id=counter_b.id, staff_id=ids["E9"],
                       category="2.3.3", contact="13900001111", ctx=ctx),
        }  # fmt: skip
        alert = {}
        for key, branch_id in (("A", a), ("B", b)):
            view = raise_alert(
                s, branch_id=branch_id, kind=AlertKind.high_complaint, dedupe_key=f"matrix:{key}",
                complaint_id=complaint[key], now=NOW,
            )  # fmt: skip
            assert view is not None
            alert[key] = view.id
        for device_token, score, staff_no, minutes in (
            (world.device_token, 5, "E1", 20),
            (world.device_token, 4, "E1", 10),
            (device_b, 1, "E9", 15),
        ):
            device = authenticate_device(s, device_token, now=NOW)
            rate_at_device(
                s, device=device, idempotency_key=f"matrix-rating-{score}", data=RatingCreate(score=score),
                staff_no=staff_no, now=NOW - timedelta(minutes=minutes),
            )  # fmt: skip
        for inspector, person, clause in (("S1", "E1", "2.2.1"), ("S2", "E9", "2.4.2")):
            record_inspection(
                s, inspector_id=ids[inspector], staff_id=ids[person], kind="routine",
                at=NOW - timedelta(hours=1), notes="", findings=[(clause, "violation", "")], now=NOW,
            )  # fmt: skip
            record_training(
                s, staff_id=ids[person], kind="periodic", course="服务礼仪", completed_on=date(2026, 11, 2),
                passed=True, recorded_by=ids[inspector], now=NOW,
            )  # fmt: skip
        # Next week's unannounced spot checks for every supervisor; this week's are left to draw.
        draw_spot_checks(s, week=iso_week(NOW + timedelta(days=7)), seed=7, now=NOW)
        # Someone else's confirmed second factor, which nobody in the matrix may see or change.
        s.add(TotpSecret(staff_id=ids["E2"], secret=auth.new_totp_secret(), confirmed_at=NOW))
        s.commit()
        set_policy(s, values=MATRIX_GLOBAL_RULES, actor_staff_id=staff["root"])

    built = Env(
        ctx=ctx, db=db, branch={"A": a, "B": b}, branch_en={"A": "Branch A", "B": "Branch B"},
        counter={"A": world.counter_id, "B": counter_b.id}, person={"A": ids["E1"], "B": ids["E9"]},
        person_no={"A": "E1", "B": "E9"}, staff=staff, complaint=complaint,
        contact={"A": "13812345678", "B": "13900001111"}, alert=alert,
        clauses={"A": {"2.2.2", "2.2.1"}, "B": {"2.3.3", "2.4.2"}},
        device_a=world.device_token, device_b=device_b, people=ids,
    )  # fmt: skip
    _ledger_world(built)
    return built


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


# --- actors (rows) -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    name: str
    token: Callable[[Env], str]
    role: Role | None = None  # None: no valid sign-in
    branch: str | None = None  # "A" / "B" for staff and supervisors
    login: str | None = None


def _idle(env: Env) -> str:
    return sign_in(env, "ghost.a", at=NOW - IDLE_TIMEOUT - timedelta(minutes=1))


def _signed_out(env: Env) -> str:
    token = sign_in(env, "ghost.a")
    backend.sign_out(env.ctx, token)
    return token


def _disabled(env: Env) -> str:
    set_active(env, "gone.a", True)
    token = sign_in(env, "gone.a")
    with env.db.write() as s:
        auth.disable_account(s, staff_id=env.staff["gone.a"], actor_staff_id=env.staff["root"], now=NOW)
    return token


def _deactivated(env: Env) -> str:
    """Set inactive behind the sessions' back: the session row is still open."""
    set_active(env, "left.a", True)
    token = sign_in(env, "left.a")
    set_active(env, "left.a", False)
    return token


def _person(login: str) -> Callable[[Env], str]:
    return lambda env: sign_in(env, login)


ACTORS = [
    Actor("no token", lambda env: ""),
    Actor("made-up token", lambda env: new_token(32)),
    Actor("kiosk device token", lambda env: env.device_a),
    Actor("idle session", _idle),
    Actor("signed-out session", _signed_out),
    Actor("disabled account", _disabled),
    Actor("deactivated account", _deactivated),
    Actor("staff A", _person("alice"), Role.staff, "A", "alice"),
    Actor("supervisor A", _person("boss.a"), Role.supervisor, "A", "boss.a"),
    Actor("supervisor B", _person("boss.b"), Role.supervisor, "B", "boss.b"),
    Actor("admin", _person("root"), Role.admin, None, "root"),
]


# --- services (columns) --------------------------------------------------------------------------

Snapshot = dict[str, dict[str, Any]]  # table -> repr of a row -> the row


def snapshot(db) -> Snapshot:
    with db.read() as s:
        return {
            t.name: {repr(tuple(row)): row._mapping for row in s.execute(t.select()).all()}
            for t in SQLModel.metadata.sorted_tables
            if t.name not in BOOKKEEPING
        }


def changed(before: Snapshot, after: Snapshot) -> set[str]:
    return {name for name in before if before[name].keys() != after[name].keys()}


def added(before: Snapshot, after: Snapshot, table: str) -> list[Any]:
    return [row for text, row in after[table].items() if text not in before[table]]


def removed(before: Snapshot, after: Snapshot, table: str) -> list[Any]:
    return added(after, before, table)


@dataclass
class Cell:
    env: Env
    actor: Actor
    target: str | None
    token: str
    prepared: Any
    before: Snapshot
    after: Snapshot

    @property
    def caller(self) -> int:
        assert self.actor.login is not None
        return self.env.staff[self.actor.login]

    @property
    def scope(self) -> set[int]:
        """The branches the caller may see."""
        if self.actor.role is Role.admin:
            return set(self.env.branch.values())
        assert self.actor.branch is not None
        return {self.env.branch[self.actor.branch]}

    @property
    def own(self) -> int | None:
        return self.env.branch[self.actor.branch] if self.actor.branch else None

    @property
    def t(self) -> str:
        assert self.target is not None
        return self.target

    @property
    def bid(self) -> int:
        return self.env.branch[self.t]

    def read(self, stmt: Any) -> list[Any]:
        with self.env.db.read() as s:
            return list(s.exec(stmt).all())

    def added(self, table: str) -> list[Any]:
        return added(self.before, self.after, table)

    def removed(self, table: str) -> list[Any]:
        return removed(self.before, self.after, table)


ALL = frozenset(Role)
SUPERVISION = frozenset({Role.supervisor, Role.admin})
ADMIN = frozenset({Role.admin})


@dataclass(frozen=True)
class Op:
    name: str
    fn: Callable[..., Any]
    roles: frozenset[Role]
    call: Callable[[Env, str, str | None, Any], Any]
    check: Callable[[Cell, Any], None]
    scoped: bool = False  # names a branch's complaint, alert or person: called for A and for B
    prepare: Callable[[Env, Actor, str | None], Any] | None = None
    dead_token_is_a_no_op: bool = False  # sign_out: idempotent for an unknown or ended token
    # Out of scope, the call does nothing and raises nothing (instead of Forbidden); still checked
    # to change nothing.
    quiet_refusal: bool = False
    # What a caller of an allowed role gets for another branch's data (or, on a staff member's own
    # page, someone else's): Forbidden, or NotFound where the service answers it like a missing id.
    out_of_scope: type[Exception] = Forbidden
    targets: tuple[str | None, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "targets", ("A", "B") if self.scoped else (None,))


def fresh_complaint(env: Env, _actor: Actor, target: str | None) -> int:
    assert target is not None
    with env.db.write() as s:
        return _file(
            s, f"fresh-{uuid.uuid4()}", branch_id=env.branch[target], counter_id=env.counter[target],
            staff_id=env.person[target], category="2.2.2", contact=env.contact[target], ctx=env.ctx,
        )  # fmt: skip


def fresh_alert(env: Env, _actor: Actor, target: str | None) -> int:
    assert target is not None
    with env.db.write() as s:
        view = raise_alert(
            s, branch_id=env.branch[target], kind=AlertKind.overdue, dedupe_key=f"fresh:{uuid.uuid4()}",
            complaint_id=env.complaint[target], now=NOW,
        )  # fmt: skip
        assert view is not None
        return view.id


def pending_totp(env: Env, actor: Actor, _target: str | None) -> str:
    """The caller has started enrolment; returns the code their authenticator would show."""
    if actor.login is None:
        return "123456"
    with env.db.write() as s:
        secret, _uri = auth.start_totp_enrolment(s, staff_id=env.staff[actor.login])
    return auth.totp_code(secret, NOW)


# checks: each asserts what an allowed call returned or did, against the database


def check_current_user(c: Cell, r: backend.User) -> None:
    assert (r.id, r.role, r.branch_id) == (c.caller, c.actor.role, c.own), r


def check_sign_out(c: Cell, _r: None) -> None:
    """Signing out ends the caller's own session, nothing else; a dead token is a quiet no-op."""
    assert changed(c.before, c.after) <= {"audit_event"}, changed(c.before, c.after)
    assert {r["action"] for r in c.added("audit_event")} <= {"auth.logout"}
    if c.actor.role is not None:
        with pytest.raises(SessionExpired):
            backend.current_user(c.env.ctx, c.token)


def check_queue(c: Cell, rows: list[backend.QueueRow]) -> None:
    want = set(c.read(select(Complaint.id).where(col(Complaint.branch_id).in_(c.scope))))
    got = {r.id for r in rows}
    assert got and got == want, f"queue {sorted(got)} != complaints in scope {sorted(want)}"


def check_detail(c: Cell, r: backend.Detail) -> None:
    assert r.row.id == c.env.complaint[c.t] and r.row.branch_en == c.env.branch_en[c.t], r.row
    assert c.env.contact[c.t] not in r.contact_masked and "****" in r.contact_masked, r.contact_masked


def check_act(c: Cell, _r: None) -> None:
    [row] = c.read(select(Complaint).where(Complaint.id == c.prepared))
    assert row.status == ComplaintStatus.acknowledged, row.status
    actors = c.read(
        select(ComplaintEvent.actor_staff_id).where(
            ComplaintEvent.complaint_id == c.prepared, ComplaintEvent.kind == "acknowledged"
        )
    )
    assert actors == [c.caller], actors


def check_reveal(c: Cell, contact: str | None) -> None:
    assert contact == c.env.contact[c.t], contact
    audit = [(r["action"], r["actor_staff_id"]) for r in c.added("audit_event")]
    assert audit == [("complaint.reveal_contact", c.caller)], audit


def check_alert_scope(c: Cell, scope: list[int] | None) -> None:
    assert scope == (None if c.actor.role is Role.admin else [c.own]), scope


def check_alerts(c: Cell, rows: list[backend.AlertRow]) -> None:
    want = set(
        c.read(
            select(Alert.id).where(col(Alert.branch_id).in_(c.scope), col(Alert.acknowledged_at).is_(None))
        )
    )
    got = {r.id for r in rows}
    assert got and got == want, f"alerts {sorted(got)} != open alerts in scope {sorted(want)}"


def check_acknowledge(c: Cell, _r: None) -> None:
    [row] = c.read(select(Alert).where(Alert.id == c.prepared))
    assert row.acknowledged_at is not None and row.acknowledged_by == c.caller, row


def check_audit_log(_c: Cell, page: backend.AuditPage) -> None:
    assert page.rows and page.chain_ok is True, page


def check_totp_state(c: Cell, state: Any) -> None:
    # Only the caller's own second factor is read: a colleague's confirmed one does not show.
    assert state.enrolled is False, state


def check_totp_start(c: Cell, state: Any) -> None:
    """Only the caller's own second factor is set up."""
    [mine] = c.added("totp_secret")
    assert mine["staff_id"] == c.caller and mine["confirmed_at"] is None, mine
    assert state.pending_secret == mine["secret"]
    assert changed(c.before, c.after) == {"totp_secret"} and not c.removed("totp_secret")


def check_totp_confirm(c: Cell, state: Any) -> None:
    [mine] = c.added("totp_secret")
    assert mine["staff_id"] == c.caller and mine["confirmed_at"] is not None and state.enrolled, mine
    assert [r["staff_id"] for r in c.removed("totp_secret")] == [c.caller]
    assert changed(c.before, c.after) <= {"totp_secret", "audit_event"}


def check_options(c: Cell, r: hotline.HotlineOptions) -> None:
    branches = {int(b.value) for b in r.branches}
    assert branches == c.scope, f"branches offered {branches} != scope {c.scope}"
    assert set(r.counters) == {str(b) for b in c.scope}, r.counters
    assert r.branch_id == c.own, r.branch_id


def check_hotline(c: Cell, result: tuple[int, str]) -> None:
    cid, code = result
    [row] = c.added("complaint")
    assert row["id"] == cid and code
    got = (row["branch_id"], row["counter_id"], row["staff_id"], row["channel"])
    assert got == (c.bid, c.env.counter[c.t], c.env.person[c.t], Channel.hotline), got
    audit = [r["actor_staff_id"] for r in c.added("audit_event") if r["action"] == "complaint.hotline"]
    assert audit == [c.caller], audit


def _active_in_scope(c: Cell, *where: Any) -> set[int]:
    stmt = select(Staff.id).where(col(Staff.active), *where)
    if c.actor.role is not Role.admin:
        stmt = stmt.where(Staff.branch_id == c.own)
    return set(c.read(stmt))


def check_staff_list(c: Cell, lists: tuple[list, list]) -> None:
    counter_staff, everyone = lists
    assert {s.id for s in counter_staff} == _active_in_scope(c, Staff.role == Role.staff)
    assert {s.id for s in everyone} == _active_in_scope(c)
    assert counter_staff and all(s.branch_id in c.scope for s in counter_staff)


def check_clauses(_c: Cell, rows: list) -> None:
    assert rows


def check_my_spot_checks(c: Cell, rows: list[supervision.TaskRow]) -> None:
    want = set(c.read(select(SpotCheckTask.id).where(SpotCheckTask.supervisor_id == c.caller)))
    got = {r.id for r in rows}
    assert got == want, f"tasks {sorted(got)} != the caller's own {sorted(want)}"
    assert bool(got) == (c.actor.role is Role.supervisor)
    assert all(r.staff_id in _active_in_scope(c) for r in rows)


def check_inspections(c: Cell, rows: list[supervision.InspectionRow]) -> None:
    want = set(c.read(select(Inspection.id).where(col(Inspection.branch_id).in_(c.scope))))
    got = {r.id for r in rows}
    assert got and got == want, f"inspections {sorted(got)} != in scope {sorted(want)}"


def check_record(c: Cell, inspection_id: int) -> None:
    [row] = c.added("inspection")
    got = (row["id"], row["inspector_id"], row["staff_id"], row["branch_id"])
    assert got == (inspection_id, c.caller, c.env.person[c.t], c.bid), got


def check_draw(c: Cell, _count: int) -> None:
    new = c.added("spot_check_task")
    assert not c.removed("spot_check_task") and {t["week"] for t in new} <= {iso_week(NOW)}
    if c.actor.role is Role.supervisor:  # their own draw only, in their own branch
        assert new, "a supervisor's first draw of the week creates tasks"
        assert {(t["supervisor_id"], t["branch_id"]) for t in new} == {(c.caller, c.own)}, new
    else:  # an administrator draws for every active supervisor with a branch
        supervisors = c.read(
            select(Staff.id).where(
                Staff.role == Role.supervisor, col(Staff.active), col(Staff.branch_id).is_not(None)
            )
        )
        drawn = c.read(select(SpotCheckTask.supervisor_id).where(SpotCheckTask.week == iso_week(NOW)))
        assert set(drawn) == set(supervisors), (drawn, supervisors)


def check_training_of(c: Cell, rows: list[supervision.TrainingRow]) -> None:
    person = c.env.person[c.t]
    assert rows and {r.staff_id for r in rows} == {person}, rows


def check_training_archive(c: Cell, rows: list[supervision.TrainingRow]) -> None:
    stmt = select(TrainingRecord.id).join(Staff, col(Staff.id) == col(TrainingRecord.staff_id))
    want = set(c.read(stmt.where(col(Staff.branch_id).in_(c.scope))))
    got = {r.id for r in rows}
    assert got and got == want, f"training {sorted(got)} != in scope {sorted(want)}"


def check_add_training(c: Cell, record_id: int) -> None:
    [row] = c.added("training_record")
    got = (row["id"], row["staff_id"], row["recorded_by"])
    assert got == (record_id, c.env.person[c.t], c.caller), got


def check_dashboard(c: Cell, d: dashboard.DashboardData) -> None:
    assert {b.branch_id for b in d.summary.branches} == c.scope, d.summary.branches
    counted = c.read(
        select(func.count())
        .select_from(Rating)
        .where(col(Rating.counted), col(Rating.branch_id).in_(c.scope))
    )[0]
    assert d.summary.month.count == counted, (d.summary.month, counted)
    open_complaints = c.read(
        select(func.count()).select_from(Complaint).where(col(Complaint.branch_id).in_(c.scope))
    )[0]
    assert d.complaints.total == open_complaints, (d.complaints, open_complaints)
    cited = set().union(*(c.env.clauses[k] for k, b in c.env.branch.items() if b in c.scope))
    assert {h.code for h in d.heat.clauses} == cited, d.heat.clauses
    want_name = None if c.actor.role is Role.admin else c.env.branch_en[c.actor.branch or ""]
    assert d.branch_en == want_name, d.branch_en


def check_jobs(_c: Cell, rows: list[jobs.JobRow]) -> None:
    assert [r.name for r in rows] == [j.name for j in job_catalogue()], rows


def _hotline_form(env: Env, target: str) -> dict[str, Any]:
    return {
        "branch_id": str(env.branch[target]), "category": "2.2.2", "description": "电话投诉：柜员态度差",
        "staff_no": env.person_no[target], "counter_id": str(env.counter[target]), "locale": "zh-CN",
    }  # fmt: skip


OPS: list[Op] = [
    # admin/backend.py
    Op("backend.current_user", backend.current_user, ALL,
       lambda e, tok, t, p: backend.current_user(e.ctx, tok), check_current_user),
    Op("backend.sign_out", backend.sign_out, ALL,
       lambda e, tok, t, p: backend.sign_out(e.ctx, tok), check_sign_out, dead_token_is_a_no_op=True),
    Op("backend.queue", backend.queue, SUPERVISION,
       lambda e, tok, t, p: backend.queue(e.ctx, tok, status="all"), check_queue),
    Op("backend.detail", backend.detail, SUPERVISION,
       lambda e, tok, t, p: backend.detail(e.ctx, tok, e.complaint[t]), check_detail, scoped=True),
    Op("backend.act", backend.act, SUPERVISION,
       lambda e, tok, t, p: backend.act(e.ctx, tok, p, "acknowledged", note="已受理"), check_act,
       scoped=True, prepare=fresh_complaint),
    Op("backend.reveal", backend.reveal, SUPERVISION,
       lambda e, tok, t, p: backend.reveal(e.ctx, tok, e.complaint[t]), check_reveal, scoped=True),
    Op("backend.alert_scope", backend.alert_scope, SUPERVISION,
       lambda e, tok, t, p: backend.alert_scope(e.ctx, tok), check_alert_scope),
    Op("backend.alerts", backend.alerts, SUPERVISION,
       lambda e, tok, t, p: backend.alerts(e.ctx, tok), check_alerts),
    Op("backend.acknowledge_alert", backend.acknowledge_alert, SUPERVISION,
       lambda e, tok, t, p: backend.acknowledge_alert(e.ctx, tok, p), check_acknowledge,
       scoped=True, prepare=fresh_alert, quiet_refusal=True),
    Op("backend.audit_log", backend.audit_log, ADMIN,
       lambda e, tok, t, p: backend.audit_log(e.ctx, tok, verify_chain=True), check_audit_log),
    Op("backend.totp_state", backend.totp_state, ALL,
       lambda e, tok, t, p: backend.totp_state(e.ctx, tok), check_totp_state),
    Op("backend.totp_start", backend.totp_start, ALL,
       lambda e, tok, t, p: backend.totp_start(e.ctx, tok), check_totp_start),
    Op("backend.totp_confirm", backend.totp_confirm, ALL,
       lambda e, tok, t, p: backend.totp_confirm(e.ctx, tok, p), check_totp_confirm, prepare=pending_totp),
    # admin/hotline.py
    Op("hotline.options", hotline.options, ALL,
       lambda e, tok, t, p: hotline.options(e.ctx, tok), check_options),
    Op("hotline.record_hotline_complaint", hotline.record_hotline_complaint, ALL,
       lambda e, tok, t, p: hotline.record_hotline_complaint(
           e.ctx, tok, form=_hotline_form(e, t), idempotency_key=f"hotline-{uuid.uuid4()}"),
       check_hotline, scoped=True),
    # admin/supervision.py
    Op("supervision.staff_list", supervision.staff_list, SUPERVISION,
       lambda e, tok, t, p: (
           supervision.staff_list(e.ctx, tok), supervision.staff_list(e.ctx, tok, everyone=True)),
       check_staff_list),
    Op("supervision.inspection_clauses", supervision.inspection_clauses, SUPERVISION,
       lambda e, tok, t, p: supervision.inspection_clauses(e.ctx, tok), check_clauses),
    Op("supervision.my_spot_checks", supervision.my_spot_checks, SUPERVISION,
       lambda e, tok, t, p: supervision.my_spot_checks(e.ctx, tok), check_my_spot_checks),
    Op("supervision.inspections", supervision.inspections, SUPERVISION,
       lambda e, tok, t, p: supervision.inspections(e.ctx, tok), check_inspections),
    Op("supervision.record", supervision.record, SUPERVISION,
       lambda e, tok, t, p: supervision.record(
           e.ctx, tok, staff_id=e.person[t], kind="routine", notes="", findings=[("2.2.1", "compliant", "")]),
       check_record, scoped=True),
    Op("supervision.draw_this_week", supervision.draw_this_week, SUPERVISION,
       lambda e, tok, t, p: supervision.draw_this_week(e.ctx, tok), check_draw),
    Op("supervision.training (one person)", supervision.training, SUPERVISION,
       lambda e, tok, t, p: supervision.training(e.ctx, tok, staff_id=e.person[t]), check_training_of,
       scoped=True),
    Op("supervision.training (archive)", supervision.training, SUPERVISION,
       lambda e, tok, t, p: supervision.training(e.ctx, tok), check_training_archive),
    Op("supervision.add_training", supervision.add_training, SUPERVISION,
       lambda e, tok, t, p: supervision.add_training(
           e.ctx, tok, staff_id=e.person[t], kind="periodic", course="投诉处理",
           completed_on=date(2026, 11, 20), passed=True),
       check_add_training, scoped=True),
    # admin/dashboard.py
    Op("dashboard.dashboard", dashboard.dashboard, SUPERVISION,
       lambda e, tok, t, p: dashboard.dashboard(e.ctx, tok), check_dashboard),
    # admin/jobs.py
    Op("jobs.job_overview", jobs.job_overview, ADMIN,
       lambda e, tok, t, p: jobs.job_overview(e.ctx, tok), check_jobs),
]  # fmt: skip


# --- the services of documents, the staff member's own page, the ledger and the rules ------------


def on_branch(fn: Callable[..., Any], **kw: Any) -> Callable[[Env, str, str | None, Any], Any]:
    """A call about the target branch."""
    return lambda e, tok, t, p: fn(e.ctx, tok, branch_id=e.branch[t or ""], **kw)


def on_person(fn: Callable[..., Any], **kw: Any) -> Callable[[Env, str, str | None, Any], Any]:
    """A call about the target branch's counter staff member (E1 alice at A, E9 at B)."""
    return lambda e, tok, t, p: fn(e.ctx, tok, staff_id=e.person[t or ""], **kw)


def on_prepared(fn: Callable[..., Any], *args: Any, **kw: Any) -> Callable[[Env, str, str | None, Any], Any]:
    """A call about what ``prepare`` made fresh for this cell (an entry, an appeal, a rating)."""
    return lambda e, tok, t, p: fn(e.ctx, tok, p, *args, **kw)


def plain(fn: Callable[..., Any], **kw: Any) -> Callable[[Env, str, str | None, Any], Any]:
    return lambda e, tok, t, p: fn(e.ctx, tok, **kw)


# prepares: fresh data for a call that changes something, made for the target branch's person


def fresh_proposal(env: Env, _actor: Actor, target: str | None) -> int:
    with env.db.write() as s:
        row = propose(
            s,
            staff_id=env.person[target or ""],
            kind=SanctionKind.warning,
            reason="检查发现违规",
            clauses=["2.2.1"],
            actor_staff_id=None,
            now=NOW,
        )
        assert row.id is not None
        return row.id


def approved_penalty(env: Env, _actor: Actor, target: str | None) -> int:
    with env.db.write() as s:
        row = _approved(s, env, env.person[target or ""])
        assert row.id is not None
        return row.id


def acknowledged_deduction(env: Env, _actor: Actor, target: str | None) -> int:
    """An economic penalty its person has acknowledged: a rectification report is due."""
    person = env.person[target or ""]
    with env.db.write() as s:
        row = _approved(s, env, person, SanctionKind.deduction, amount_yuan=50)
        assert row.id is not None
        acknowledge(s, row.id, staff_id=person, now=NOW)
        return row.id


def fresh_rating(env: Env, _actor: Actor, target: str | None) -> str:
    with env.db.write() as s:
        return str(_rating(s, env, env.person_no[target or ""], target or "", score=1))


def fresh_rating_appeal(env: Env, _actor: Actor, target: str | None) -> int:
    person = env.person[target or ""]
    with env.db.write() as s:
        rating = _rating(s, env, env.person_no[target or ""], target or "", score=1)
        appeal = appeal_rating(s, rating, staff_id=person, statement="这位顾客认错了人", now=NOW)
        assert appeal.id is not None
        return appeal.id


def branch_override(env: Env, _actor: Actor, target: str | None) -> None:
    with env.db.write() as s:
        set_policy(
            s,
            values={"min_ratings_ranked": 15},
            branch_id=env.branch[target or ""],
            actor_staff_id=env.staff["root"],
        )


def fresh_revision(env: Env, _actor: Actor, target: str | None) -> int:
    """A new saved version of the target branch's rules, its adoption not recorded yet."""
    branch = env.branch[target or ""]
    with env.db.write() as s:
        set_policy(s, values={"min_ratings_ranked": 16}, branch_id=branch, actor_staff_id=env.staff["root"])
        mine = select(PolicyRevision).where(PolicyRevision.branch_id == branch)
        row = s.exec(mine.order_by(col(PolicyRevision.version).desc())).first()
        assert row is not None and row.id is not None and row.adopted_on is None
        return row.id


# checks


def _ids(c: Cell, column: Any, *where: Any) -> set[Any]:
    return set(c.read(select(column).where(*where)))


def _no_customer_data(c: Cell, result: Any, *, typed: bool = True) -> None:
    """No complaint's contact and no phone's key; with ``typed``, not even contact data a customer
    typed into a comment or a description (every page and export masks those; only the contact
    field, behind the audited reveal, holds a customer's number)."""
    shown = repr(result)
    secrets = [*c.env.contact.values(), COLLEAGUE_CONTACT, PHONE_KEY, *(TYPED if typed else ())]
    leaked = [text for text in secrets if text in shown]
    assert not leaked, f"customer contact data in the result: {leaked}"


def _only_rows(c: Cell, table: str, key: str, values: set[Any]) -> None:
    """The call added, changed or removed only rows of ``table`` whose ``key`` is in ``values``."""
    touched = {r[key] for r in c.removed(table)} | {r[key] for r in c.added(table)}
    assert touched <= values, f"{table} rows {sorted(map(str, touched))} changed, only {values} may"


def _download_audited(c: Cell, document: str) -> None:
    audit = [
        (r["actor_staff_id"], str(r["entity_id"]), r["details"]["document"])
        for r in c.added("audit_event")
        if r["action"] == "document.download"
    ]
    assert audit == [(c.caller, str(c.bid), document)], audit


def _csv(c: Cell, download: documents.Download, document: str) -> set[str]:
    """The export's row ids; every row is of the target branch, none carries contact data."""
    code = "A" if c.t == "A" else "B"
    assert download.file_name.startswith(f"rapport-{document}-{code}-"), download.file_name
    rows = list(csv.reader(io.StringIO(download.data.decode("utf-8-sig"))))[1:]
    assert {r[2] for r in rows} <= {code}, {r[2] for r in rows}
    _no_customer_data(c, download.data.decode("utf-8-sig"))
    _download_audited(c, document)
    return {r[0] for r in rows}


def check_document_branches(c: Cell, rows: list[documents.BranchOption]) -> None:
    assert {b.id for b in rows} == c.scope, rows


def check_badge_holders(c: Cell, rows: list[documents.BadgeHolder]) -> None:
    want = _ids(c, Staff.id, Staff.branch_id == c.bid, Staff.role == Role.staff, col(Staff.active))
    assert {r.id for r in rows} == want and c.env.person[c.t] in want, rows


def check_ratings_export(c: Cell, d: documents.Download) -> None:
    want = {str(i) for i in _ids(c, Rating.id, Rating.branch_id == c.bid)}
    assert want and _csv(c, d, "ratings") == want


def check_complaints_export(c: Cell, d: documents.Download) -> None:
    want = {str(i) for i in _ids(c, Complaint.id, Complaint.branch_id == c.bid)}
    assert want and _csv(c, d, "complaints") == want


def check_sanctions_export(c: Cell, d: documents.Download) -> None:
    want = {str(i) for i in _ids(c, Sanction.id, Sanction.branch_id == c.bid)}
    assert want and _csv(c, d, "sanctions") == want


def _pdf_text(data: bytes) -> str:
    doc = pdfium.PdfDocument(data)
    try:
        return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()


def _names_in_pdf(c: Cell, d: documents.Download, document: str) -> str:
    """The PDF's text: it names the target branch, and neither the other branch nor anyone of it."""
    assert d.data.startswith(b"%PDF"), d.data[:8]
    _download_audited(c, document)
    text = _pdf_text(d.data)
    own, other = ("甲支行", "乙支行") if c.t == "A" else ("乙支行", "甲支行")
    assert own in text and other not in text, text[:300]
    outsiders = c.read(
        select(Staff.display_name).where(col(Staff.branch_id).is_not(None), Staff.branch_id != c.bid)
    )
    named = [name for name in outsiders if name in text]
    assert not named, f"the {document} of branch {c.t} names people of another branch: {named}"
    return text


def check_monthly_report(c: Cell, d: documents.Download) -> None:
    text = _names_in_pdf(c, d, "report")
    [person] = c.read(select(Staff.display_name).where(Staff.id == c.env.person[c.t]))
    assert person in text, f"the report of branch {c.t} does not list {person}"
    _no_customer_data(c, text)


def check_badges(c: Cell, d: documents.Download) -> None:
    text = _names_in_pdf(c, d, "badges")
    people = c.read(select(Staff.display_name).where(Staff.role == Role.staff))
    shown = {name for name in people if name in text}
    want = set(c.read(select(Staff.display_name).where(Staff.role == Role.staff, Staff.branch_id == c.bid)))
    assert shown == want, (shown, want)


def check_rotate_token(c: Cell, _r: None) -> None:
    _only_rows(c, "staff", "id", {c.env.person[c.t]})
    assert c.removed("staff") and changed(c.before, c.after) == {"staff", "audit_event"}


# the staff member's own page: only the caller's own data, and no customer contact data


def check_my_scores(c: Cell, r: staff_portal.MyScores) -> None:
    counted = _ids(c, Rating.id, Rating.staff_id == c.caller, col(Rating.counted))
    assert r.current.n == len(counted), (r.current, counted)
    branch = _ids(c, Rating.id, Rating.branch_id == c.own, col(Rating.counted))
    assert sum(r.branch_counts) == len(branch), (r.branch_counts, branch)
    assert not [name for name in COLLEAGUES if name in repr(r)], r


def check_my_comments(c: Cell, r: staff_portal.Comments) -> None:
    mine = {str(i) for i in _ids(c, Rating.id, Rating.staff_id == c.caller)}
    telling = {str(i) for i in _ids(c, Rating.id, Rating.staff_id == c.caller, col(Rating.score) <= 3)}
    got = {row.id for row in r.rows}
    assert telling and telling <= got <= mine, f"comments {got}: not the caller's own {telling} of {mine}"
    _no_customer_data(c, r)
    assert not [name for name in COLLEAGUES if name in repr(r)], r


def check_my_complaints(c: Cell, rows: tuple[staff_portal.ComplaintRow, ...]) -> None:
    want = _ids(c, Complaint.id, Complaint.staff_id == c.caller)
    assert want and {r.id for r in rows} == want, rows
    _no_customer_data(c, rows)


def check_my_records(c: Cell, rows: tuple[staff_portal.RecordRow, ...]) -> None:
    want = _ids(c, Sanction.id, Sanction.staff_id == c.caller)
    assert want and {r.id for r in rows} == want, rows


def check_my_inspections(c: Cell, rows: tuple[staff_portal.InspectionRow, ...]) -> None:
    want = _ids(c, Inspection.id, Inspection.staff_id == c.caller)
    assert want and {r.id for r in rows} == want, rows


def check_my_training(c: Cell, rows: tuple[staff_portal.TrainingRow, ...]) -> None:
    want = _ids(c, TrainingRecord.id, TrainingRecord.staff_id == c.caller)
    assert want and {r.id for r in rows} == want, rows


def check_overview(c: Cell, o: staff_portal.Overview) -> None:
    assert o.me.id == c.caller, o.me
    check_my_scores(c, o.scores)
    check_my_comments(c, o.comments)
    check_my_complaints(c, o.complaints)
    check_my_records(c, o.records)
    check_my_inspections(c, o.inspections)
    check_my_training(c, o.training)
    assert not [name for name in COLLEAGUES if name in repr(o)]


def check_my_rules(c: Cell, r: staff_portal.MyRules) -> None:
    [me] = c.read(select(Staff).where(Staff.id == c.caller))
    assert set(r.values) == set(staff_portal.RULE_KEYS), r.values
    scopes = {v.scope for v in r.versions}
    want = c.read(
        select(PolicyRevision.id).where(
            col(PolicyRevision.branch_id).is_(None) | (col(PolicyRevision.branch_id) == me.branch_id)
        )
    )
    assert len(r.versions) == min(len(want), staff_portal.RULE_VERSIONS_MAX), r.versions
    assert scopes <= {"global", "branch"}, scopes
    assert changed(c.before, c.after) == set(), "reading my rules writes nothing"


def check_public_consent(c: Cell, me: staff_portal.Me) -> None:
    [row] = c.read(select(Staff).where(Staff.id == c.caller))
    assert (me.id, me.public_consent_at, row.public_name_consent_at) == (c.caller, NOW, NOW), (me, row)
    _only_rows(c, "staff", "id", {c.caller})
    assert changed(c.before, c.after) == {"staff", "audit_event"}


def check_acknowledge_record(c: Cell, r: staff_portal.RecordRow) -> None:
    [row] = c.read(select(Sanction).where(Sanction.id == c.prepared))
    assert (row.staff_id, row.status, row.acknowledged_at) == (c.caller, SanctionStatus.closed, NOW), row
    assert r.id == c.prepared and r.status == SanctionStatus.closed, r
    _only_rows(c, "sanction", "id", {c.prepared})
    assert changed(c.before, c.after) == {"sanction", "audit_event"}


def check_write_report(c: Cell, r: staff_portal.RecordRow) -> None:
    [row] = c.read(select(Sanction).where(Sanction.id == c.prepared))
    assert (row.staff_id, row.status, row.report) == (c.caller, SanctionStatus.closed, REPORT), row
    assert r.id == c.prepared and r.report == REPORT, r
    _only_rows(c, "sanction", "id", {c.prepared})


def check_appeal_record(c: Cell, r: staff_portal.RecordRow) -> None:
    [appeal] = c.added("appeal")
    assert (appeal["staff_id"], appeal["sanction_id"], appeal["branch_id"]) == (c.caller, c.prepared, c.own)
    assert r.id == c.prepared and r.status == SanctionStatus.appealed and r.appeal is not None, r
    _only_rows(c, "sanction", "id", {c.prepared})


def check_appeal_a_rating(c: Cell, r: staff_portal.AppealInfo) -> None:
    [appeal] = c.added("appeal")
    got = (appeal["id"], appeal["staff_id"], str(appeal["rating_id"]), appeal["branch_id"])
    assert got == (r.id, c.caller, c.prepared, c.own), got
    assert changed(c.before, c.after) == {"appeal", "audit_event"}


# the ledger, the leaderboard and the personal file: only the caller's branch (an admin's: all)


def _in_scope(c: Cell, model: Any, *where: Any) -> set[Any]:
    return _ids(c, model.id, col(model.branch_id).in_(c.scope), *where)


def check_ledger_view(c: Cell, v: ledger.LedgerView) -> None:
    assert {b.id for b in v.branches} == c.scope and v.me == c.caller, v.branches
    entries = _in_scope(c, Sanction)
    assert entries and {e.id for e in v.entries} == entries, v.entries
    proposed = _in_scope(c, Sanction, Sanction.status == SanctionStatus.proposed)
    assert proposed and {e.id for e in v.proposals} == proposed, v.proposals
    appeals = _in_scope(c, Appeal, Appeal.status == AppealStatus.open)
    assert appeals and {a.id for a in v.appeals} == appeals, v.appeals
    people = _ids(c, Staff.id, col(Staff.active), col(Staff.branch_id).in_(c.scope), Staff.id != c.caller)
    assert {p.id for p in v.people} == people, v.people
    staff_in_scope = _ids(c, Staff.id, col(Staff.branch_id).in_(c.scope))
    assert {a.staff_id for a in v.appeals} <= staff_in_scope
    _no_customer_data(c, v)


def check_run_evaluation(c: Cell, r: ledger.EvaluationSummary) -> None:
    assert (r.branch.id, r.month) == (c.bid, OCTOBER), r
    [run] = c.added("evaluation")
    assert (run["branch_id"], run["run_by"], run["month"]) == (c.bid, c.caller, OCTOBER), run
    made = c.added("sanction")
    assert {(s["branch_id"], s["month"]) for s in made} <= {(c.bid, OCTOBER)}, made
    assert not c.removed("sanction") and len(made) == r.proposed
    conduct = _ids(c, Sanction.staff_id, Sanction.month == OCTOBER, Sanction.rule == "conduct")
    assert c.env.person[c.t] in conduct, "the October violation was not proposed as a penalty"


def check_decide_proposal(c: Cell, _r: None) -> None:
    [row] = c.read(select(Sanction).where(Sanction.id == c.prepared))
    assert (row.status, row.decided_by, row.decided_at) == (SanctionStatus.approved, c.caller, NOW), row
    _only_rows(c, "sanction", "id", {c.prepared})
    assert changed(c.before, c.after) == {"sanction", "audit_event"}


def check_propose_by_hand(c: Cell, sanction_id: int) -> None:
    [row] = c.added("sanction")
    got = (row["id"], row["staff_id"], row["branch_id"], row["proposed_by"], row["status"])
    assert got == (sanction_id, c.env.person[c.t], c.bid, c.caller, SanctionStatus.proposed), got
    assert changed(c.before, c.after) == {"sanction", "audit_event"}


def check_decide_appeal(c: Cell, _r: None) -> None:
    [appeal] = c.read(select(Appeal).where(Appeal.id == c.prepared))
    assert (appeal.status, appeal.decided_by, appeal.branch_id) == (AppealStatus.overturned, c.caller, c.bid)
    [rating] = c.read(select(Rating).where(Rating.id == appeal.rating_id))
    assert rating.overturned and not rating.counted, rating
    _only_rows(c, "appeal", "id", {c.prepared})
    _only_rows(c, "rating", "id", {appeal.rating_id})
    # The rating's day goes back to being counted from the ratings (models/rollup.py).
    _only_rows(c, "rating_day_mark", "branch_id", {rating.branch_id})
    assert changed(c.before, c.after) == {"appeal", "rating", "audit_event", "rating_day_mark"}


def _standings(c: Cell, b: ledger.Board, branch_id: int) -> None:
    assert b.branch.id == branch_id and {o.id for o in b.branches} == c.scope, (b.branch, b.branches)
    shown = {s.staff_id for s in (*b.ranked, *b.unranked)}
    rated = _ids(c, Rating.staff_id, Rating.branch_id == branch_id, col(Rating.counted))
    assert rated and shown == rated, f"board {shown} != people rated at the branch {rated}"


def check_board(c: Cell, b: ledger.Board) -> None:
    _standings(c, b, c.bid)


def check_board_default(c: Cell, b: ledger.Board) -> None:
    """A supervisor's own branch; an administrator's first branch by code (A)."""
    _standings(c, b, c.own if c.own is not None else c.env.branch["A"])


def check_personal_file(c: Cell, f: ledger.PersonalFile) -> None:
    person = c.env.person[c.t]
    assert (f.staff_id, f.branch.id) == (person, c.bid), (f.staff_id, f.branch)
    assert f.profile.staff_id == person and f.profile.branch_id == c.bid
    entries = _ids(c, Sanction.id, Sanction.staff_id == person)
    assert entries and {e.id for e in f.entries} == entries, f.entries
    appeals = _ids(c, Appeal.id, Appeal.staff_id == person)
    assert appeals and {a.id for a in f.appeals} == appeals, f.appeals
    complaints = _ids(c, Complaint.id, Complaint.staff_id == person)
    assert complaints and {x.id for x in f.complaints} == complaints, f.complaints
    commented = _ids(c, Rating.id, Rating.staff_id == person, Rating.comment != "")
    assert len(f.comments) == len(commented), f.comments
    _no_customer_data(c, f)


# the rules: a supervisor reads their own branch's; only an administrator changes any


def _policy_of(c: Cell, branch_id: int | None) -> dict[str, Any]:
    where = col(Policy.branch_id).is_(None) if branch_id is None else col(Policy.branch_id) == branch_id
    rows = c.read(select(Policy).where(where))
    return dict(rows[0].values) if rows else {}


def check_rules(c: Cell, r: rules.Rules) -> None:
    assert r.scope.branch_id == c.bid and r.settings, r.scope
    scopes = {s.branch_id for s in r.scopes}
    assert scopes == (c.scope | {None} if c.actor.role is Role.admin else {c.bid}), scopes
    assert r.editable == (c.actor.role is Role.admin)


def check_global_rules(c: Cell, r: rules.Rules) -> None:
    assert r.scope.branch_id is None and r.editable and r.settings, r.scope
    assert {s.branch_id for s in r.scopes} == c.scope | {None}


def check_save_rules(c: Cell, r: rules.Saved) -> None:
    assert r.changed == ("min_ratings_ranked",) and _policy_of(c, c.bid) == {"min_ratings_ranked": 12}, r
    _only_rows(c, "policy", "branch_id", {c.bid})
    _only_rows(c, "policy_revision", "branch_id", {c.bid})
    assert [a["actor_staff_id"] for a in c.added("audit_event")] == [c.caller]


def check_save_global_rules(c: Cell, r: rules.Saved) -> None:
    assert r.changed == ("appeal_window_days",), r
    assert _policy_of(c, None) == {**MATRIX_GLOBAL_RULES, "appeal_window_days": 45}, r
    _only_rows(c, "policy", "branch_id", {None})
    assert [a["actor_staff_id"] for a in c.added("audit_event")] == [c.caller]


def check_reset_rule(c: Cell, r: rules.Saved) -> None:
    assert r.changed == ("min_ratings_ranked",) and _policy_of(c, c.bid) == {}, r
    _only_rows(c, "policy", "branch_id", {c.bid})
    [revision] = c.added("policy_revision")
    assert (revision["branch_id"], revision["saved_by"]) == (c.bid, c.caller), revision


def check_record_adoption(c: Cell, r: rules.Revision) -> None:
    [row] = c.read(select(PolicyRevision).where(PolicyRevision.id == c.prepared))
    assert (row.adopted_on, row.adopted_how, row.branch_id) == (date(2026, 11, 20), ADOPTED_HOW, c.bid), row
    got = (r.id, r.version, r.adopted_on, r.adopted_how)
    assert got == (row.id, row.version, row.adopted_on, ADOPTED_HOW), r
    assert changed(c.before, c.after) == {"policy_revision", "audit_event"}, changed(c.before, c.after)
    _only_rows(c, "policy_revision", "id", {c.prepared})
    audit = [(a["action"], a["actor_staff_id"], a["entity_id"]) for a in c.added("audit_event")]
    assert audit == [("policy.adopted", c.caller, str(c.prepared))], audit


ADOPTED_HOW = "2026年11月20日职工代表大会讨论通过"
REPORT = "我已认真反思，今后上班不再玩手机，主动招呼每位顾客。"
NOV = "2026-11"
STAFF = frozenset({Role.staff})

DOCUMENT_OPS = [
    Op(
        "documents.branches",
        documents.branches,
        SUPERVISION,
        plain(documents.branches),
        check_document_branches,
    ),
    Op(
        "documents.badge_holders",
        documents.badge_holders,
        SUPERVISION,
        on_branch(documents.badge_holders),
        check_badge_holders,
        scoped=True,
    ),
    Op(
        "documents.ratings_export",
        documents.ratings_export,
        SUPERVISION,
        on_branch(documents.ratings_export, month=NOV, locale="zh-CN"),
        check_ratings_export,
        scoped=True,
    ),
    Op(
        "documents.complaints_export",
        documents.complaints_export,
        SUPERVISION,
        on_branch(documents.complaints_export, month=NOV, locale="en"),
        check_complaints_export,
        scoped=True,
    ),
    Op(
        "documents.sanctions_export",
        documents.sanctions_export,
        SUPERVISION,
        on_branch(documents.sanctions_export, month=NOV, locale="zh-CN"),
        check_sanctions_export,
        scoped=True,
    ),
    Op(
        "documents.monthly_report",
        documents.monthly_report,
        SUPERVISION,
        on_branch(documents.monthly_report, month=NOV, locale="zh-CN"),
        check_monthly_report,
        scoped=True,
    ),
    Op(
        "documents.badges",
        documents.badges,
        SUPERVISION,
        on_branch(documents.badges, locale="zh-CN"),
        check_badges,
        scoped=True,
    ),
    Op(
        "documents.rotate_token",
        documents.rotate_token,
        SUPERVISION,
        on_person(documents.rotate_token),
        check_rotate_token,
        scoped=True,
    ),
]

# Staff only, and only their own: a colleague's or another branch's entry or rating is as unknown to
# them as one that does not exist (NotFound), by design of admin/staff_portal.py.
STAFF_PORTAL_OPS = [
    Op("staff_portal.overview", staff_portal.overview, STAFF, plain(staff_portal.overview), check_overview),
    Op(
        "staff_portal.my_scores",
        staff_portal.my_scores,
        STAFF,
        plain(staff_portal.my_scores),
        check_my_scores,
    ),
    Op(
        "staff_portal.my_comments",
        staff_portal.my_comments,
        STAFF,
        plain(staff_portal.my_comments),
        check_my_comments,
    ),
    Op(
        "staff_portal.my_complaints",
        staff_portal.my_complaints,
        STAFF,
        plain(staff_portal.my_complaints),
        check_my_complaints,
    ),
    Op(
        "staff_portal.my_records",
        staff_portal.my_records,
        STAFF,
        plain(staff_portal.my_records),
        check_my_records,
    ),
    Op(
        "staff_portal.my_inspections",
        staff_portal.my_inspections,
        STAFF,
        plain(staff_portal.my_inspections),
        check_my_inspections,
    ),
    Op(
        "staff_portal.my_training",
        staff_portal.my_training,
        STAFF,
        plain(staff_portal.my_training),
        check_my_training,
    ),
    Op("staff_portal.my_rules", staff_portal.my_rules, STAFF, plain(staff_portal.my_rules), check_my_rules),
    Op(
        "staff_portal.set_public_consent",
        staff_portal.set_public_consent,
        STAFF,
        plain(staff_portal.set_public_consent, consent=True),
        check_public_consent,
    ),
    Op(
        "staff_portal.acknowledge_record",
        staff_portal.acknowledge_record,
        STAFF,
        on_prepared(staff_portal.acknowledge_record),
        check_acknowledge_record,
        scoped=True,
        prepare=approved_penalty,
        out_of_scope=NotFound,
    ),
    Op(
        "staff_portal.write_report",
        staff_portal.write_report,
        STAFF,
        on_prepared(staff_portal.write_report, REPORT),
        check_write_report,
        scoped=True,
        prepare=acknowledged_deduction,
        out_of_scope=NotFound,
    ),
    Op(
        "staff_portal.appeal_record",
        staff_portal.appeal_record,
        STAFF,
        on_prepared(staff_portal.appeal_record, "处罚依据不足，请复核"),
        check_appeal_record,
        scoped=True,
        prepare=approved_penalty,
        out_of_scope=NotFound,
    ),
    Op(
        "staff_portal.appeal_a_rating",
        staff_portal.appeal_a_rating,
        STAFF,
        on_prepared(staff_portal.appeal_a_rating, "这位顾客认错了人"),
        check_appeal_a_rating,
        scoped=True,
        prepare=fresh_rating,
        out_of_scope=NotFound,
    ),
]

LEDGER_OPS = [
    Op("ledger.ledger_view", ledger.ledger_view, SUPERVISION, plain(ledger.ledger_view), check_ledger_view),
    Op(
        "ledger.run_evaluation",
        ledger.run_evaluation,
        SUPERVISION,
        on_branch(ledger.run_evaluation, month=OCTOBER),
        check_run_evaluation,
        scoped=True,
    ),
    Op(
        "ledger.decide_proposal",
        ledger.decide_proposal,
        SUPERVISION,
        on_prepared(ledger.decide_proposal, approve=True, reason="证据确凿，同意"),
        check_decide_proposal,
        scoped=True,
        prepare=fresh_proposal,
    ),
    Op(
        "ledger.propose_by_hand",
        ledger.propose_by_hand,
        SUPERVISION,
        on_person(ledger.propose_by_hand, kind="criticism", reason="多次迟到", clauses=["2.2.1"]),
        check_propose_by_hand,
        scoped=True,
    ),
    Op(
        "ledger.decide_appeal",
        ledger.decide_appeal,
        SUPERVISION,
        on_prepared(ledger.decide_appeal, overturn=True, reason="监控显示顾客认错了人"),
        check_decide_appeal,
        scoped=True,
        prepare=fresh_rating_appeal,
    ),
    Op(
        "ledger.board (a branch)",
        ledger.board,
        SUPERVISION,
        on_branch(ledger.board),
        check_board,
        scoped=True,
    ),
    Op("ledger.board (default)", ledger.board, SUPERVISION, plain(ledger.board), check_board_default),
    Op(
        "ledger.personal_file",
        ledger.personal_file,
        SUPERVISION,
        on_person(ledger.personal_file),
        check_personal_file,
        scoped=True,
    ),
]

RULES_OPS = [
    Op("rules.rules (a branch)", rules.rules, SUPERVISION, on_branch(rules.rules), check_rules, scoped=True),
    Op("rules.rules (global)", rules.rules, ADMIN, plain(rules.rules), check_global_rules),
    Op(
        "rules.save_rules (a branch)",
        rules.save_rules,
        ADMIN,
        on_branch(rules.save_rules, changes={"min_ratings_ranked": "12"}),
        check_save_rules,
        scoped=True,
    ),
    Op(
        "rules.save_rules (global)",
        rules.save_rules,
        ADMIN,
        plain(rules.save_rules, branch_id=None, changes={"appeal_window_days": "45"}),
        check_save_global_rules,
    ),
    Op(
        "rules.reset_rule",
        rules.reset_rule,
        ADMIN,
        on_branch(rules.reset_rule, key="min_ratings_ranked"),
        check_reset_rule,
        scoped=True,
        prepare=branch_override,
    ),
    Op(
        "rules.record_adoption",
        rules.record_adoption,
        ADMIN,
        on_prepared(rules.record_adoption, "2026-11-20", ADOPTED_HOW),
        check_record_adoption,
        scoped=True,
        prepare=fresh_revision,
    ),
]


def extendable_case(env: Env, actor: Actor, target: str | None) -> int:
    """A fresh complaint of the target branch, whose rules allow one 15-day extension."""
    with env.db.write() as s:
        set_policy(s, values={"extension_lengths": [15]}, branch_id=env.branch[target or ""])
    return fresh_complaint(env, actor, target)


def waiting_extension(env: Env, actor: Actor, target: str | None) -> int:
    """An extension of a fresh complaint, asked for by the target branch's supervisor."""
    complaint_id = extendable_case(env, actor, target)
    with env.db.write() as s:
        boss = s.get(Staff, env.staff["boss.a" if target == "A" else "boss.b"])
        assert boss is not None
        asked = request_extension(s, complaint_id=complaint_id, actor=boss, reason="需调取记录核实", now=NOW)
        return asked.id


def check_extension_panel(c: Cell, panel: extension_desk.Panel) -> None:
    assert panel.rows == () and panel.unit == "opening_hours" and panel.decidable is None, panel
    assert not changed(c.before, c.after), changed(c.before, c.after)


def check_ask_extension(c: Cell, row: extension_desk.ExtensionRow) -> None:
    [added] = c.added("complaint_extension")
    got = (added["complaint_id"], added["requested_by"], added["status"])
    assert got == (c.prepared, c.caller, "requested"), got
    assert row.reason == "需要更多时间核实" and row.length == 15
    audit = [(r["action"], r["actor_staff_id"]) for r in c.added("audit_event")]
    assert audit == [("complaint.extension.request", c.caller)], audit


def check_decide_extension(c: Cell, row: extension_desk.ExtensionRow) -> None:
    assert row.status == "approved" and row.due_after is not None, row
    [complaint] = c.read(select(Complaint).where(Complaint.id == row_complaint(c)))
    assert complaint.due_at == row.due_after
    audit = [(r["action"], r["actor_staff_id"]) for r in c.added("audit_event")]
    assert audit == [("complaint.extension.decide", c.caller)], audit


def row_complaint(c: Cell) -> int:
    from models.extension_rows import ComplaintExtension

    ask = select(ComplaintExtension.complaint_id).where(ComplaintExtension.id == c.prepared)
    [complaint_id] = c.read(ask)
    return int(complaint_id)


EXTENSION_OPS = [
    Op("extensions.extensions", extension_desk.extensions, SUPERVISION,
       lambda e, tok, t, p: extension_desk.extensions(e.ctx, tok, p), check_extension_panel,
       scoped=True, prepare=fresh_complaint),
    Op("extensions.ask", extension_desk.ask, SUPERVISION,
       lambda e, tok, t, p: extension_desk.ask(e.ctx, tok, p, "需要更多时间核实"), check_ask_extension,
       scoped=True, prepare=extendable_case),
    Op("extensions.decide", extension_desk.decide, ADMIN,
       lambda e, tok, t, p: extension_desk.decide(e.ctx, tok, p, True), check_decide_extension,
       scoped=True, prepare=waiting_extension),
]  # fmt: skip

# the working-day calendar and the clock presets: read like the rules, changed by administrators only


def check_calendar(c: Cell, v: calendar_desk.CalendarView) -> None:
    assert v.scope.branch_id == c.bid and v.year == 2026, (v.scope, v.year)
    assert [(s.first, s.kind, s.own) for s in v.spans] == [(date(2026, 11, 21), "workday", True)], v.spans
    assert {p.name for p in v.presets} == {"hall", "bank", "generic"}
    assert v.editable == (c.actor.role is Role.admin)


def check_global_calendar(c: Cell, v: calendar_desk.CalendarView) -> None:
    assert v.scope.branch_id is None and v.editable and v.spans == (), v


def check_import_calendar(c: Cell, r: Any) -> None:
    assert (r.year, r.workdays) == (2026, 6) and r.holidays > 20, r
    rows = c.added("calendar_day")
    assert len(rows) == r.holidays + r.workdays and {x["branch_id"] for x in rows} == {c.bid}
    audit = [(a["action"], a["actor_staff_id"]) for a in c.added("audit_event")]
    assert audit == [("calendar.import", c.caller)], audit


def check_mark_day(c: Cell, r: calendar_desk.Marked) -> None:
    assert (r.day, r.kind) == (date(2026, 11, 28), "workday"), r
    [row] = c.added("calendar_day")
    assert (row["branch_id"], row["day"], row["updated_by"]) == (c.bid, date(2026, 11, 28), c.caller), row
    assert changed(c.before, c.after) == {"calendar_day", "audit_event"}


def check_clear_days(c: Cell, n: int) -> None:
    assert n == 1 and [r["branch_id"] for r in c.removed("calendar_day")] == [c.bid]
    assert changed(c.before, c.after) == {"calendar_day", "audit_event"}


def check_use_preset(c: Cell, keys: tuple[str, ...]) -> None:
    assert "sla_clock" in keys and _policy_of(c, c.bid)["sla_clock"] == "working_days", keys
    _only_rows(c, "policy", "branch_id", {c.bid})
    [audit] = c.added("audit_event")
    assert (audit["actor_staff_id"], audit["details"].get("preset")) == (c.caller, "hall"), audit


def make_up_day(env: Env, _actor: Actor, target: str | None) -> None:
    """Saturday 2026-11-21 worked at the target branch only."""
    from models.holidays import set_day

    with env.db.write() as s:
        set_day(s, day=date(2026, 11, 21), kind="workday", branch_id=env.branch[target or ""])


CALENDAR_OPS = [
    Op("calendar.calendar (a branch)", calendar_desk.calendar, SUPERVISION,
       on_branch(calendar_desk.calendar, year=2026), check_calendar, scoped=True, prepare=make_up_day),
    Op("calendar.calendar (global)", calendar_desk.calendar, ADMIN,
       plain(calendar_desk.calendar, year=2026), check_global_calendar),
    Op("calendar.import_year", calendar_desk.import_year, ADMIN,
       on_branch(calendar_desk.import_year, year=2026), check_import_calendar, scoped=True),
    Op("calendar.mark_day", calendar_desk.mark_day, ADMIN,
       on_branch(calendar_desk.mark_day, day="2026-11-28", kind="workday"), check_mark_day, scoped=True),
    Op("calendar.clear_days", calendar_desk.clear_days, ADMIN,
       on_branch(calendar_desk.clear_days, first=date(2026, 11, 21), last=date(2026, 11, 21)),
       check_clear_days, scoped=True, prepare=make_up_day),
    Op("calendar.use_preset", calendar_desk.use_preset, ADMIN,
       on_branch(calendar_desk.use_preset, preset="hall"), check_use_preset, scoped=True),
]  # fmt: skip

# 差评 cases: supervisors of the case's branch and administrators; the person rated never handles it


def fresh_case(env: Env, _actor: Actor, target: str | None) -> int:
    """A 非常不满意 rating of the target branch's counter staff member, with its case."""
    from models.cases import RatingCase

    with env.db.write() as s:
        rating = Rating(
            idempotency_key=f"case-{uuid.uuid4()}", request_hash="x", staff_id=env.person[target or ""],
            counter_id=env.counter[target or ""], branch_id=env.branch[target or ""], channel=Channel.kiosk,
            score=1, created_at=NOW,
        )  # fmt: skip
        s.add(rating)
        s.flush()
        case = RatingCase(
            rating_id=rating.id, branch_id=rating.branch_id, counter_id=rating.counter_id,
            staff_id=rating.staff_id, channel="kiosk", score=1, opened_at=NOW,
        )  # fmt: skip
        s.add(case)
        s.commit()
        assert case.id is not None
        return case.id


def check_case_list(c: Cell, rows: list[case_desk.CaseRow]) -> None:
    from models.cases import RatingCase

    assert {r.id for r in rows} == _ids(c, RatingCase.id, col(RatingCase.branch_id).in_(c.scope)), rows
    assert rows and not changed(c.before, c.after)


def check_case(c: Cell, v: case_desk.CaseView) -> None:
    assert v.row.id == c.prepared and v.row.branch_en == c.env.branch_en[c.t] and v.steps == (), v
    assert not v.row.conflicted and not changed(c.before, c.after)


def check_case_step(c: Cell, v: case_desk.CaseView) -> None:
    assert [(s.kind, s.outcome) for s in v.steps] == [("callback", "reached")] and v.row.status == "verifying"
    [event] = c.added("rating_case_event")
    assert (event["case_id"], event["actor_id"]) == (c.prepared, c.caller), event
    assert changed(c.before, c.after) == {"rating_case", "rating_case_event", "audit_event"}


def check_case_reveal(c: Cell, contact: str | None) -> None:
    assert contact == "13855556666", contact
    [audit] = c.added("audit_event")
    assert (audit["action"], audit["actor_staff_id"], audit["entity_id"]) == (
        "case.reveal_contact", c.caller, str(c.prepared),
    )  # fmt: skip
    assert changed(c.before, c.after) == {"audit_event"}


def case_with_contact(env: Env, actor: Actor, target: str | None) -> int:
    from models.cases import RatingCase

    case_id = fresh_case(env, actor, target)
    with env.db.write() as s:
        case = s.get(RatingCase, case_id)
        assert case is not None
        case.contact, case.contact_kind, case.consent_at = "13855556666", "phone", NOW
        s.add(case)
        s.commit()
    return case_id


CASE_OPS = [
    Op("cases.cases", case_desk.cases, SUPERVISION, plain(case_desk.cases), check_case_list,
       prepare=lambda e, a, t: [fresh_case(e, a, x) for x in ("A", "B")]),
    Op("cases.case", case_desk.case, SUPERVISION, on_prepared(case_desk.case), check_case,
       scoped=True, prepare=fresh_case),
    Op("cases.step", case_desk.step, SUPERVISION, on_prepared(case_desk.step, "callback", outcome="reached"),
       check_case_step, scoped=True, prepare=fresh_case),
    Op("cases.reveal", case_desk.reveal, SUPERVISION, on_prepared(case_desk.reveal), check_case_reveal,
       scoped=True, prepare=case_with_contact),
]  # fmt: skip

OPS += DOCUMENT_OPS + STAFF_PORTAL_OPS + LEDGER_OPS + RULES_OPS + EXTENSION_OPS + CALENDAR_OPS + CASE_OPS


def expected(op: Op, actor: Actor, target: str | None) -> type[Exception] | None:
    """None: allowed. Otherwise the exception the call must be refused with."""
    if actor.role is None:
        return None if op.dead_token_is_a_no_op else SessionExpired
    if actor.role not in op.roles:
        return Forbidden
    if op.scoped and actor.role is not Role.admin and actor.branch != target:
        return op.out_of_scope
    return None


def run_cell(env: Env, op: Op, actor: Actor, target: str | None) -> str | None:
    """One cell of the matrix; returns what went wrong, or None."""
    label = f"{op.name} | {actor.name} | {'branch ' + target if target else '-'}"
    want = expected(op, actor, target)
    token = actor.token(env)
    prepared = op.prepare(env, actor, target) if op.prepare else None
    before = snapshot(env.db)
    got: Exception | None = None
    result: Any = None
    try:
        result = op.call(env, token, target, prepared)
    except Exception as exc:  # every outcome is compared below, whatever it raised
        got = exc
    after = snapshot(env.db)
    if want is None:
        if got is not None:
            return f"{label}: should be allowed, raised {type(got).__name__}: {got}"
        try:
            op.check(Cell(env, actor, target, token, prepared, before, after), result)
        except AssertionError as exc:
            return f"{label}: allowed, but {exc or 'the result is wrong'}"
        return None
    problems = []
    if got is None and not (op.quiet_refusal and want is Forbidden):
        problems.append(f"should be refused with {want.__name__}, was allowed and returned {result!r:.300}")
    elif got is not None and not isinstance(got, want):
        problems.append(f"should be refused with {want.__name__}, raised {type(got).__name__}: {got}")
    if touched := changed(before, after):
        problems.append(f"a refused call changed {sorted(touched)}")
    return f"{label}: {'; '.join(problems)}" if problems else None


@pytest.mark.parametrize("op", OPS, ids=[op.name for op in OPS])
def test_access_matrix(env: Env, op: Op) -> None:
    failures = [
        problem
        for actor in ACTORS
        for target in op.targets
        if (problem := run_cell(env, op, actor, target)) is not None
    ]
    assert not failures, "\n".join(failures)


# --- the matrix stays complete -------------------------------------------------------------------

ADMIN_MODULES = (
    backend, hotline, supervision, dashboard, jobs, documents, staff_portal, ledger, rules, extension_desk,
    calendar_desk, case_desk,
)  # fmt: skip


def admin_services() -> dict[str, Callable[..., Any]]:
    """Every public function of the admin modules whose first two parameters are (ctx, token)."""
    found = {}
    for module in ADMIN_MODULES:
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ != module.__name__ or name.startswith("_"):
                continue
            if list(inspect.signature(fn).parameters)[:2] == ["ctx", "token"]:
                found[f"{module.__name__}.{name}"] = fn
    return found


def test_the_matrix_covers_every_admin_service() -> None:
    services = admin_services()
    covered = {op.fn for op in OPS}
    missing = sorted(name for name, fn in services.items() if fn not in covered)
    assert not missing, f"add these services to OPS in {__name__}: {missing}"
    stale = sorted(op.name for op in OPS if op.fn not in services.values())
    assert not stale, f"these OPS rows no longer name a (ctx, token, ...) service: {stale}"
    assert len(services) >= 20  # the introspection itself still finds the services


# --- the admin app's sections per role -----------------------------------------------------------

SUPERVISOR_SECTIONS = {
    "complaints",
    "dashboard",
    "alerts",
    "hotline",
    "inspections",
    "training",
    "documents",
    "ledger",
    "people",
    "rules",
    "account",
}
EXPECTED_SECTIONS = {
    Role.staff: {"hotline", "me", "account"},
    Role.supervisor: SUPERVISOR_SECTIONS,
    Role.admin: SUPERVISOR_SECTIONS | {"audit", "jobs"},
}


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_each_role_sees_exactly_its_sections(role: Role) -> None:
    assert {s.key for s in visible_sections(role)} == EXPECTED_SECTIONS[role]


def test_every_section_is_assigned_in_the_expected_table() -> None:
    assert {s.key for s in SECTIONS} == set().union(*EXPECTED_SECTIONS.values())


# --- further scope rules inside allowed calls ----------------------------------------------------


def test_a_hotline_call_names_no_person_or_counter_of_another_branch(env: Env) -> None:
    token = sign_in(env, "alice")
    before = snapshot(env.db)
    form = _hotline_form(env, "B") | {"branch_id": ""}  # left out: the caller's own branch
    with pytest.raises(hotline.HotlineFormInvalid) as err:
        hotline.record_hotline_complaint(env.ctx, token, form=form, idempotency_key="hotline-x")
    assert err.value.errors == {"staff_no": "staff_other_branch", "counter_id": "counter_unknown"}
    assert not changed(before, snapshot(env.db))


def test_a_spot_check_of_another_supervisor_cannot_be_answered(env: Env) -> None:
    with env.db.read() as s:
        task_b = s.exec(
            select(SpotCheckTask).where(SpotCheckTask.supervisor_id == env.staff["boss.b"])
        ).first()
        task_a = s.exec(
            select(SpotCheckTask).where(SpotCheckTask.supervisor_id == env.staff["boss.a"])
        ).first()
    assert task_a is not None and task_b is not None
    for login, task in (("boss.a", task_b), ("root", task_a)):
        token = sign_in(env, login)
        before = snapshot(env.db)
        with pytest.raises(Forbidden):
            supervision.record(
                env.ctx, token, staff_id=task.staff_id, kind="spot", notes="",
                findings=[("2.2.1", "compliant", "")], spot_check_id=task.id,
            )  # fmt: skip
        assert not changed(before, snapshot(env.db)), login


def complaints_of(env: Env, target: str) -> set[int]:
    with env.db.read() as s:
        return set(s.exec(select(Complaint.id).where(Complaint.branch_id == env.branch[target])).all())


def test_a_role_or_branch_change_applies_to_the_next_call_of_an_open_session(env: Env) -> None:
    """The scope is read afresh on every call, never remembered from the sign-in."""
    token = sign_in(env, "boss.a")
    assert {r.id for r in backend.queue(env.ctx, token, status="all")} == complaints_of(env, "A")
    assert ledger.personal_file(env.ctx, token, env.person["A"]).staff_id == env.person["A"]
    with env.db.write() as s:
        boss = s.get(Staff, env.staff["boss.a"])
        assert boss is not None
        boss.branch_id = env.branch["B"]
        s.add(boss)
        s.commit()
    assert {r.id for r in backend.queue(env.ctx, token, status="all")} == complaints_of(env, "B")
    with pytest.raises(Forbidden):
        backend.detail(env.ctx, token, env.complaint["A"])
    with pytest.raises(Forbidden):
        ledger.personal_file(env.ctx, token, env.person["A"])
    assert {e.branch.id for e in ledger.ledger_view(env.ctx, token).entries} == {env.branch["B"]}
    with env.db.write() as s:
        boss = s.get(Staff, env.staff["boss.a"])
        assert boss is not None
        boss.role = Role.staff
        s.add(boss)
        s.commit()
    for call in (
        backend.queue,
        backend.alerts,
        supervision.inspections,
        dashboard.dashboard,
        ledger.ledger_view,
        documents.branches,
    ):
        with pytest.raises(Forbidden):
            call(env.ctx, token)


def test_a_colleagues_record_or_rating_is_as_unknown_to_staff_as_a_missing_one(env: Env) -> None:
    """On their own page a staff member names entries and ratings by id: one of a colleague at the
    same branch (E2) answers exactly like an id that does not exist, and nothing changes."""
    with env.db.read() as s:
        entry = s.exec(select(Sanction.id).where(Sanction.staff_id == env.people["E2"])).first()
        rating = s.exec(select(Rating.id).where(Rating.staff_id == env.people["E2"])).first()
    assert entry is not None and rating is not None
    token = sign_in(env, "alice")
    calls: list[Callable[[Any], Any]] = [
        lambda i: staff_portal.acknowledge_record(env.ctx, token, i),
        lambda i: staff_portal.write_report(env.ctx, token, i, REPORT),
        lambda i: staff_portal.appeal_record(env.ctx, token, i, "处罚依据不足，请复核"),
    ]
    before = snapshot(env.db)
    for call in calls:
        answers = []
        for sanction_id in (entry, 999_999):
            with pytest.raises(NotFound) as err:
                call(sanction_id)
            answers.append((type(err.value), str(err.value)))
        assert answers[0] == answers[1], answers
    answers = []
    for rating_id in (str(rating), str(uuid.uuid4())):
        with pytest.raises(NotFound) as err:
            staff_portal.appeal_a_rating(env.ctx, token, rating_id, "这位顾客认错了人")
        answers.append((type(err.value), str(err.value)))
    assert answers[0] == answers[1], answers
    assert not changed(before, snapshot(env.db))


def test_an_unknown_complaint_or_alert_id_tells_nothing(env: Env) -> None:
    """A supervisor probing ids gets the same Forbidden for another branch's and for no complaint."""
    token = sign_in(env, "boss.a")
    for cid in (env.complaint["B"], 999_999):
        for call in (backend.detail, backend.reveal):
            with pytest.raises(Forbidden):
                call(env.ctx, token, cid)
    before = snapshot(env.db)
    backend.acknowledge_alert(env.ctx, token, 999_999)
    assert not changed(before, snapshot(env.db))


def test_an_unknown_ledger_entry_appeal_or_person_tells_a_supervisor_nothing(env: Env) -> None:
    """Regression: these answered NotFound for a missing id and Forbidden for another branch's, so a
    supervisor could tell which ids exist elsewhere. Now both are the same Forbidden; an
    administrator, who sees every branch, still hears that an id names nothing."""
    token = sign_in(env, "boss.a")
    before = snapshot(env.db)
    calls = [
        lambda i: ledger.decide_proposal(env.ctx, token, i, approve=True, reason="探测一下"),
        lambda i: ledger.decide_appeal(env.ctx, token, i, overturn=True, reason="探测一下"),
        lambda i: ledger.personal_file(env.ctx, token, i),
        lambda i: documents.rotate_token(env.ctx, token, i),
    ]
    for call in calls:
        with pytest.raises(Forbidden) as missing:
            call(999_999)
        assert not isinstance(missing.value, NotFound)
    with pytest.raises(Forbidden):
        ledger.personal_file(env.ctx, token, env.person["B"])
    assert not changed(before, snapshot(env.db))
    with pytest.raises(NotFound):
        ledger.personal_file(env.ctx, sign_in(env, "root"), 999_999)


# --- 回避: the cells of a complaint about the caller (docs/RULES-CITED.md §2) --------------------


def acting(action: str, **fields: str) -> Callable[[Env, str, int], Any]:
    """A complaint action; ``{login}`` in it names that person's id (assign:{root})."""
    return lambda e, tok, cid: backend.act(e.ctx, tok, cid, action.format(**e.staff), **fields)


CONFLICT_CELLS: dict[str, Callable[[Env, str, int], Any]] = {
    "backend.act acknowledged": acting("acknowledged", note="已受理"),
    "backend.act rejected": acting("rejected", note="重复投诉"),
    "backend.act assign_me": acting("assign_me"),
    "backend.act assign (to the administrator)": acting("assign:{root}"),
    "backend.reveal": lambda e, tok, cid: backend.reveal(e.ctx, tok, cid),
    "extensions.ask": lambda e, tok, cid: extension_desk.ask(e.ctx, tok, cid, "需要更多时间核实"),
}


def complaint_about(env: Env, login: str) -> int:
    """A fresh complaint at branch A naming ``login``, whose rules allow an extension."""
    with env.db.write() as s:
        set_policy(s, values={"extension_lengths": [15]}, branch_id=env.branch["A"])
        return _file(
            s, f"conflict-{uuid.uuid4()}", branch_id=env.branch["A"], counter_id=env.counter["A"],
            staff_id=env.staff[login], category="2.2.2", contact=env.contact["A"], ctx=env.ctx,
        )  # fmt: skip


@pytest.mark.parametrize("cell", list(CONFLICT_CELLS))
def test_a_supervisor_named_in_a_complaint_is_refused_and_a_colleague_is_not(env: Env, cell: str) -> None:
    """boss.a is named: refused with ConflictOfInterest, nothing written; ghost.a, another supervisor
    of branch A, takes the same step."""
    cid = complaint_about(env, "boss.a")
    call = CONFLICT_CELLS[cell]
    named, colleague = sign_in(env, "boss.a"), sign_in(env, "ghost.a")
    assert backend.detail(env.ctx, named, cid).conflicted, "the named supervisor may still read it"
    before = snapshot(env.db)
    with pytest.raises(ConflictOfInterest):
        call(env, named, cid)
    assert not changed(before, snapshot(env.db))
    call(env, colleague, cid)
    after = snapshot(env.db)
    assert {r["actor_staff_id"] for r in added(before, after, "audit_event")} == {env.staff["ghost.a"]}


def test_the_person_named_is_not_given_the_complaint_and_the_administrator_takes_it_alone(env: Env) -> None:
    cid = complaint_about(env, "boss.a")
    colleague, root = sign_in(env, "ghost.a"), sign_in(env, "root")
    before = snapshot(env.db)
    for token in (colleague, root):
        with pytest.raises(ConflictOfInterest):
            backend.act(env.ctx, token, cid, f"assign:{env.staff['boss.a']}")
    assert not changed(before, snapshot(env.db))
    # The other supervisors of branch A leave: boss.a is its only one, so an administrator handles it.
    for login in ("gone.a", "left.a", "ghost.a"):
        set_active(env, login, False)
    shown = backend.detail(env.ctx, root, cid)
    assert shown.to_admin and [h.id for h in shown.handlers] == [env.staff["root"]], shown.handlers
    backend.act(env.ctx, root, cid, "assign_me")
    backend.act(env.ctx, root, cid, "acknowledged", note="已受理")
    with env.db.read() as s:
        row = s.get(Complaint, cid)
        assert row is not None and (row.status, row.assignee_id) == ("acknowledged", env.staff["root"])


# --- the customer side: kiosks, phones and tracking codes -----------------------------------------

FORM = {"category": "2.2.2", "description": "等了很久没人理", "locale": "zh-CN"}


def key() -> str:
    return f"kiosk-{uuid.uuid4()}"


def complaints(db) -> list[Complaint]:
    with db.read() as s:
        return list(s.exec(select(Complaint).order_by(col(Complaint.id))).all())


def count(db, model: Any) -> int:
    with db.read() as s:
        return s.exec(select(func.count()).select_from(model)).one()


@pytest.fixture
def branch_b_device(db, world) -> str:
    with db.write() as s:
        counter = Counter(branch_id=world.other_branch_id, code="B-01", name_zh="乙1号窗口", name_en="B1")
        s.add(counter)
        s.commit()
        assert counter.id is not None
        return register_device(s, counter_id=counter.id, label="B tablet")[1]


def test_a_kiosk_files_only_for_its_own_counter_and_branch(ctx, db, world, branch_b_device) -> None:
    before = snapshot(db)
    for smuggled in ({"counter_id": world.closed_counter_id}, {"branch_id": world.other_branch_id},
                     {"staff_no": world.other_branch_staff_no}, {"staff_id": 1}):  # fmt: skip
        with pytest.raises(ValidationFailed):
            kiosk.submit_complaint(
                ctx, idempotency_key=key(), form=FORM | smuggled, device_token=world.device_token
            )
    assert not changed(before, snapshot(db))

    for token in (world.device_token, world.closed_device_token, branch_b_device):
        assert kiosk.submit_complaint(ctx, idempotency_key=key(), form=FORM, device_token=token) is not None
    with db.read() as s:
        counter_b = s.exec(select(Counter).where(Counter.code == "B-01")).one()
    where = [(c.branch_id, c.counter_id, c.staff_id) for c in complaints(db)]
    assert where == [
        (world.branch_id, world.counter_id, world.staff_id),  # alice is on duty there
        (world.branch_id, world.closed_counter_id, None),
        (world.other_branch_id, counter_b.id, None),
    ]


def test_a_kiosk_rates_and_signs_in_only_people_of_its_own_branch(ctx, db, world) -> None:
    before = snapshot(db)
    with pytest.raises(ValidationFailed) as err:
        kiosk.submit_tap(
            ctx, device_token=world.device_token, idempotency_key=key(), score=1,
            staff_no=world.other_branch_staff_no,
        )  # fmt: skip
    assert err.value.field == "staff"
    with pytest.raises(SignInFailed):
        kiosk.staff_sign_in(
            ctx, device_token=world.device_token, employee_no=world.other_branch_staff_no, pin="2468"
        )
    assert not changed(before, snapshot(db))
    client = TestClient(create_app(ctx, scheduler=False))
    r = client.post(
        "/api/v1/ratings", json={"staff": world.other_branch_staff_no, "score": 1},
        headers={"Authorization": f"Bearer {world.device_token}", "Idempotency-Key": key()},
    )  # fmt: skip
    assert r.status_code == 422 and r.json()["error"]["field"] == "staff"
    assert count(db, Rating) == 0 and count(db, Duty) == 1


def test_a_complaint_cannot_borrow_a_rating_given_at_another_branch(ctx, db, world, branch_b_device) -> None:
    """The rating a complaint comes with must be one given at the same place; a rating id from a
    counter of branch B must not attach branch B's staff member (and score) to a complaint filed at
    a kiosk of branch A, nor to one filed through a branch A badge."""
    foreign = kiosk.submit_tap(
        ctx,
        device_token=branch_b_device,
        idempotency_key=key(),
        score=1,
        staff_no=world.other_branch_staff_no,
    )
    with db.read() as s:
        carol = s.exec(select(Staff).where(Staff.employee_no == world.other_branch_staff_no)).one()
        alice = s.get(Staff, world.staff_id)
        assert alice is not None
    problems = []
    for via in ({"device_token": world.device_token}, {"qr_token": alice.qr_token}):
        before = {c.id for c in complaints(db)}
        try:
            kiosk.submit_complaint(ctx, idempotency_key=key(), form=FORM, rating_id=foreign, **via)
        except DomainError:
            if {c.id for c in complaints(db)} != before:
                problems.append(f"{via}: refused, but a complaint was stored")
            continue
        [filed] = [c for c in complaints(db) if c.id not in before]
        assert filed.branch_id == world.branch_id
        if filed.rating_id == foreign or filed.staff_id == carol.id:
            problems.append(
                f"filed through {next(iter(via))} of branch A, the complaint (branch_id={filed.branch_id}) "
                f"took branch B's rating (rating_id={filed.rating_id}) and names branch B's staff member "
                f"{carol.employee_no} (staff_id={filed.staff_id})"
            )
    assert not problems, "\n".join(problems)


def test_a_revoked_or_unknown_device_token_is_refused_everywhere(ctx, db, world) -> None:
    with db.write() as s:
        device = s.exec(select(Device).where(Device.counter_id == world.counter_id)).one()
        device.revoked_at = NOW
        s.add(device)
        s.commit()
    with db.write() as s:
        person = s.get(Staff, world.staff_id)
        assert person is not None
        person.username, person.password_hash = "alice", hash_secret(PASSWORD)
        s.add(person)
        s.commit()
        staff_token = auth.authenticate(s, login="alice", password=PASSWORD, client="192.0.2.1")[1]
    client = TestClient(create_app(ctx, scheduler=False))
    pin = {"employee_no": world.staff_no, "pin": "2468"}
    for token in (world.device_token, new_token(32), staff_token, ""):
        before = snapshot(db)
        with pytest.raises(DeviceNotAuthorized):
            kiosk.load_counter(ctx, token)
        with pytest.raises(DeviceNotAuthorized):
            kiosk.submit_tap(ctx, device_token=token, idempotency_key=key(), score=2, staff_no=None)
        # An empty device token is no device: the form is then taken as a badge's, and refused so.
        with pytest.raises(DeviceNotAuthorized if token else QrTokenUnknown):
            kiosk.submit_complaint(ctx, idempotency_key=key(), form=FORM, device_token=token)
        with pytest.raises(DeviceNotAuthorized):
            kiosk.staff_sign_in(ctx, device_token=token, **pin)
        with pytest.raises(DeviceNotAuthorized):
            kiosk.staff_sign_out(ctx, device_token=token, **pin)
        r = client.post(
            "/api/v1/ratings", json={"score": 2},
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key()},
        )  # fmt: skip
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", r.text
        assert r.json()["error"]["code"] == "unauthorized"
        assert not changed(before, snapshot(db)), token
    assert count(db, Rating) == 0 and count(db, Complaint) == 0


PUBLIC_VIEW_FIELDS = {
    "status", "severity", "category", "locale", "created_at", "due_at", "reply", "satisfied", "grade",
    "can_answer_satisfaction", "timeline", "promise_unit", "promise_amount", "timezone", "extensions",
    "remedies_zh", "remedies_en",
}  # fmt: skip
KIOSK_STATUS_FIELDS = {
    "status", "created_at", "due_at", "category", "reply", "satisfied", "grade", "can_answer", "timeline",
    "promise_unit", "promise_amount", "timezone", "extensions",
    "remedies_zh", "remedies_en",
}  # fmt: skip


def test_a_tracking_code_never_shows_contact_staff_or_internal_notes(ctx, db, world, branch_b_device) -> None:
    contact, note, cause, fix = "13812345678", "内部备注：王芳当班", "王芳玩手机", "约谈王芳"
    form = FORM | {"contact": contact, "consent": True}
    mine = kiosk.submit_complaint(ctx, idempotency_key=key(), form=form, device_token=world.device_token)
    form_b = FORM | {"category": "2.3.3", "contact": "13900001111", "consent": True}
    other = kiosk.submit_complaint(ctx, idempotency_key=key(), form=form_b, device_token=branch_b_device)
    assert mine is not None and other is not None
    a, _b = complaints(db)
    assert a.id is not None and a.staff_id == world.staff_id  # alice was on duty: the complaint names her
    with db.write() as s:
        boss = s.exec(select(Staff).where(Staff.employee_no == "S1")).one()
        assert boss.id is not None
        by = {"complaint_id": a.id, "actor_staff_id": boss.id}
        transition(s, to=ComplaintStatus.acknowledged, note=note, **by)
        assign(s, assignee_id=boss.id, **by)
        transition(s, to=ComplaintStatus.investigating, note=note, **by)
        record_investigation(s, root_cause=cause, corrective_action=fix, **by)
        transition(s, to=ComplaintStatus.resolved, reply="已向您致歉", finding="partly", about="staff", **by)
        alice = s.get(Staff, world.staff_id)
        assert alice is not None
        secrets_of_a = [contact, "138****5678", alice.display_name, alice.employee_no, alice.qr_token,
                        boss.display_name, note, cause, fix, "Counter 1", "1号窗口"]  # fmt: skip
        view = public_status(s, code=mine.code)
    assert isinstance(view, ComplaintStatusView)
    assert {f.name for f in dataclasses.fields(view)} == PUBLIC_VIEW_FIELDS
    status = kiosk.complaint_status(ctx, mine.code)
    assert status is not None and {f.name for f in dataclasses.fields(status)} == KIOSK_STATUS_FIELDS
    assert all({f.name for f in dataclasses.fields(e)} == {"at", "kind"} for e in status.timeline)
    for shown in (repr(view), repr(status)):
        leaked = [text for text in secrets_of_a if text in shown]
        assert not leaked, f"the tracking code's page shows {leaked}"
    assert status.reply == "已向您致歉" and status.category == "2.2.2" and status.can_answer

    # One code answers for its own complaint only; unknown and malformed codes answer nothing.
    other_status = kiosk.complaint_status(ctx, other.code)
    assert other_status is not None and other_status.category == "2.3.3" and other_status.reply is None
    before = snapshot(db)
    for code in ("", "XXXX-XXXX-X", mine.code[:-1], "'; DROP TABLE complaint; --"):
        assert kiosk.complaint_status(ctx, code) is None
        with pytest.raises(ComplaintNotFound):
            kiosk.answer(ctx, code=code, grade="dissatisfied")
    assert not changed(before, snapshot(db))
    kiosk.answer(ctx, code=mine.code, grade="fairly")
    a_after, b_after = complaints(db)
    assert a_after.status == ComplaintStatus.closed and b_after.status == ComplaintStatus.new


def test_an_unknown_or_retired_qr_token_is_refused(ctx, db, world) -> None:
    with db.write() as s:
        carol = s.exec(select(Staff).where(Staff.employee_no == world.other_branch_staff_no)).one()
        retired = carol.qr_token
        carol.active = False
        s.add(carol)
        s.commit()
    before = snapshot(db)
    for token in ("", "nope", "x" * 65, retired, retired.upper()):
        with pytest.raises(QrTokenUnknown):
            kiosk.load_badge(ctx, token)
        with pytest.raises(QrTokenUnknown):
            kiosk.submit_phone_tap(ctx, qr_token=token, phone_id="phone-1", idempotency_key=key(), score=1)
        with pytest.raises(QrTokenUnknown):
            kiosk.submit_complaint(ctx, idempotency_key=key(), form=FORM, qr_token=token)
    with pytest.raises(QrTokenUnknown):  # neither a device nor a badge: nobody to file for
        kiosk.submit_complaint(ctx, idempotency_key=key(), form=FORM)
    assert not changed(before, snapshot(db))
