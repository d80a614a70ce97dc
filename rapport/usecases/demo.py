"""Demo data: two branches, six counters with enrolled tablets, staff, and 90 days of ratings.

The spread is realistic rather than uniform: most customers are satisfied, each staff member has
their own typical score, weekends are quieter, and low scores cite reasons from the catalog. Two
distributions, because sites differ and the monthly evaluation must make sense at both: ``kiosk``, a
voluntary, anonymous tablet where 2–5% of ratings are 差评 and many are 4s, and ``hall``, an
official-style 好差评 hall where above 99% are 好评 and nearly all are 5s (the published figures).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, insert, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select

from models.cases import RatingCase
from models.catalog import load_catalog, rateable_clauses
from models.clock import utcnow
from models.complaint import ComplaintCreate, ComplaintStatus, file_complaint, transition
from models.crypto import hash_secret
from models.devices import register_device
from models.duty import start_duty
from models.errors import ValidationFailed
from models.holidays import CalendarUnavailable, import_year
from models.inspection import record_inspection
from models.org import Branch, Counter, Role, Staff
from models.policy import PolicyValues
from models.prepared import driver_of
from models.rating import Channel, Rating
from models.sanction import Sanction, SanctionKind, decide, evaluate_month
from models.scores import local_month
from models.services import (
    INVITATION_ALPHABET,
    INVITATION_LENGTH,
    ServiceItem,
    ServiceTransaction,
    claim,
    import_items,
)
from models.training import TrainingKind, record_training

DEMO_DAYS = 90
DEMO_PIN = "2468"
# Every demo counter staff member (e1001 … e1014) signs in with this password.
STAFF_PASSWORD = "demo-staff"
BRANCHES = [
    ("BJ-RM", "人民路支行", "Renmin Road Branch"),
    ("BJ-BJ", "滨江支行", "Riverside Branch"),
]
STAFF_NAMES = [
    "王芳", "李娜", "张伟", "刘洋", "陈静", "杨磊", "赵敏",
    "黄丽", "周杰", "吴婷", "徐强", "孙悦", "马超", "朱琳",
]  # fmt: skip
SUPERVISORS = [("S001", "郭主管", "sup.renmin"), ("S002", "林主管", "sup.binjiang")]
COMMENTS_LOW = ["等了很久也没人解释原因。", "态度不太耐烦。", "说明不清楚，跑了两趟。"]
COMMENTS_HIGH = ["非常耐心，讲解很清楚！", "办理很快，谢谢。", "服务热情周到。"]
DEMO_COMPLAINTS = [
    ("2.2.2", "办理时工作人员很不耐烦，问了两次就说不知道。"),
    ("2.3.1", "解释得很含糊，材料缺什么没说清楚，让我白跑一趟。"),
]
ProgressFn = Callable[[int, int], None]
Distribution = Literal["kiosk", "hall"]
DISTRIBUTIONS: tuple[Distribution, ...] = get_args(Distribution)
# In an official-style hall an upset customer is rare and mostly about something other than the
# person at the counter (the queue, the rules): this share of ratings is a 1–3 whoever served.
HALL_INCIDENT_SHARE = 0.002
# The services (事项) the demo's branches offer, as the hall's CSV lists them (models/services.py),
# each with how often it is asked for; and how many days back the branches report transactions.
DEMO_SERVICES = (
    "code,name_zh,name_en,version,department_code\n"
     "YH-GR-001,个人账户开户,Personal account opening,3,BJ-YH-GR\n"
     "YH-GR-002,银行卡挂失与补办,Bank card loss report and replacement,2,BJ-YH-GR\n"
     "YH-GR-003,个人信息变更,Change of personal details,1,BJ-YH-GR\n"
     "YH-GR-004,个人贷款咨询与申请,Personal loan enquiry and application,2,BJ-YH-DK\n"
     "YH-DG-001,对公账户开立,Business account opening,4,BJ-YH-DG\n"
     "YH-WH-001,跨境汇款,Cross-border remittance,2,BJ-YH-WH\n"
     "SB-KA-001,社会保障卡激活,Social security card activation,1,BJ-RS-SB\n"
)  # fmt: skip
SERVICE_WEIGHTS = (30, 18, 14, 10, 6, 5, 17)
TRANSACTION_DAYS = 21
RATED_SHARE = 0.8  # of the ratings at a counter in those days, how many were of a reported transaction
UNRATED_PER_COUNTER_DAY = 5  # transactions nobody rated, per counter and open day


@dataclass
class DemoResult:
    logins: list[tuple[str, str, str]] = field(default_factory=list)  # (role, username, password)
    staff_numbers: list[str] = field(default_factory=list)
    device_tokens: list[tuple[str, str]] = field(default_factory=list)  # (counter code, token)
    ratings: int = 0
    pin: str = DEMO_PIN
    calendar_years: list[int] = field(default_factory=list)  # imported from chinese-calendar
    calendar_missing: list[int] = field(default_factory=list)  # not in the package yet


def database_is_empty(session: Session) -> bool:
    return (session.exec(select(func.count()).select_from(Branch)).one() or 0) == 0


def create_demo(
    session: Session,
    *,
    seed: int = 7,
    days: int = DEMO_DAYS,
    progress: ProgressFn | None = None,
    evaluate: bool = True,
    distribution: Distribution = "kiosk",
) -> DemoResult:
    if distribution not in DISTRIBUTIONS:
        raise ValidationFailed("distribution", f"choose one of {', '.join(DISTRIBUTIONS)}")
    rng = random.Random(seed)
    result = DemoResult()
    load_catalog(session)
    now = utcnow()
    pin_hash = hash_secret(DEMO_PIN)
    staff_password_hash = hash_secret(STAFF_PASSWORD)

    branches: list[Branch] = []
    counters: list[Counter] = []
    staff_by_branch: dict[int, list[Staff]] = {}
    for b_index, (code, zh, en) in enumerate(BRANCHES):
        branch = Branch(code=code, name_zh=zh, name_en=en)
        session.add(branch)
        session.flush()
        assert branch.id is not None
        branches.append(branch)
        for c in range(1, 4):
            counter = Counter(
                branch_id=branch.id, code=f"{code}-{c:02d}", name_zh=f"{c}号窗口", name_en=f"Counter {c}"
            )
            session.add(counter)
            counters.append(counter)
        members = []
        for s in range(7):
            i = b_index * 7 + s
            # Counter staff sign in to the admin app too, to see their own scores and records.
            username = f"e{1001 + i}"
            member = Staff(
                employee_no=f"E{1001 + i}",
                display_name=STAFF_NAMES[i],
                role=Role.staff,
                branch_id=branch.id,
                pin_hash=pin_hash,
                username=username,
                password_hash=staff_password_hash,
                # Fictional people: each "agreed" to be named, so the tablets show the Service Star as
                # they would at a real site once the person consents on their own page.
                public_name_consent_at=now - timedelta(days=120),
            )
            session.add(member)
            members.append(member)
        result.logins.append(("staff", f"e{1001 + b_index * 7}", STAFF_PASSWORD))
        staff_by_branch[branch.id] = members
        emp, name, username = SUPERVISORS[b_index]
        password = f"demo-{username}"
        session.add(
            Staff(
                employee_no=emp,
                display_name=name,
                role=Role.supervisor,
                branch_id=branch.id,
                username=username,
                password_hash=hash_secret(password),
            )
        )
        result.logins.append(("supervisor", username, password))
    session.add(
        Staff(
            employee_no="A001",
            display_name="系统管理员",
            role=Role.admin,
            username="admin",
            password_hash=hash_secret("demo-admin"),
        )
    )
    result.logins.append(("admin", "admin", "demo-admin"))
    session.commit()
    # The working-day calendar of the demo's years and the next, where the package has them, before
    # any complaint is filed: its deadlines count statutory holidays and make-up days.
    for year in sorted({(now - timedelta(days=days)).year, now.year, now.year + 1}):
        try:
            import_year(session, year=year, now=now)
            result.calendar_years.append(year)
        except CalendarUnavailable:
            result.calendar_missing.append(year)

    # Everyone has passed induction except the newest hire of each branch, who cannot sign in yet.
    for members in staff_by_branch.values():
        for member in members[:-1]:
            assert member.id is not None
            record_training(
                session,
                staff_id=member.id,
                kind=TrainingKind.induction,
                course="入职培训 Induction",
                completed_on=(now - timedelta(days=200)).date(),
                passed=True,
            )
    for counter in counters:
        assert counter.id is not None
        _device, token = register_device(session, counter_id=counter.id, label=f"{counter.code} tablet")
        result.device_tokens.append((counter.code, token))
    # Who is at the counters right now: every counter staffed except the last one, which is closed.
    for counter in counters[:-1]:
        assert counter.id is not None
        members = staff_by_branch[counter.branch_id]
        member = members[counters.index(counter) % 3]
        assert member.id is not None
        start_duty(session, staff_id=member.id, counter_id=counter.id, at=now - timedelta(hours=2))
    result.staff_numbers = [m.employee_no for ms in staff_by_branch.values() for m in ms]

    negative = [c.code for c in rateable_clauses(session, polarity="negative")]
    positive = [c.code for c in rateable_clauses(session, polarity="positive")]
    result.ratings = _ratings(
        session,
        rng,
        branches,
        counters,
        staff_by_branch,
        negative,
        positive,
        now=now,
        days=days,
        progress=progress,
        distribution=distribution,
    )
    _transactions(
        session, rng, branches, counters, staff_by_branch, now=now, days=min(days, TRANSACTION_DAYS)
    )
    _last_month_casework(session, branches, staff_by_branch, now=now)
    if evaluate:
        _evaluate_last_month(session, branches, now=now)
    return result


def _transactions(
    session: Session,
    rng: random.Random,
    branches: list[Branch],
    counters: list[Counter],
    staff_by_branch: dict[int, list[Staff]],
    *,
    now: datetime,
    days: int,
) -> int:
    """The services (事项) and the last ``days`` of transactions (办件) at the counters: most ratings of
    those days are of a transaction finished a few minutes before (the rating bound to it and
    claiming it, as the tablet's invitation does), and some transactions were never rated, so the
    dashboard has a 参评率 below 100%. Returns how many transactions."""
    import_items(session, DEMO_SERVICES)
    items = [i for i in session.exec(select(ServiceItem).order_by(col(ServiceItem.code))).all() if i.id]
    weights = list(SERVICE_WEIGHTS[: len(items)])
    since = now - timedelta(days=days)
    rated = session.execute(
        sa_select(
            col(Rating.id), col(Rating.branch_id), col(Rating.counter_id), col(Rating.staff_id),
            col(Rating.created_at),
        )
        .where(col(Rating.created_at) >= since, col(Rating.counter_id).is_not(None))
        .order_by(col(Rating.created_at), col(Rating.idempotency_key))
    ).all()  # fmt: skip
    codes: set[str] = set()

    def code() -> str:
        while (made := "".join(rng.choice(INVITATION_ALPHABET) for _ in range(INVITATION_LENGTH))) in codes:
            pass
        codes.add(made)
        return made

    plan: list[tuple[ServiceTransaction, Any]] = []  # (transaction, the rating's id or None)
    for rating_id, branch_id, counter_id, staff_id, at in rated:
        if rng.random() >= RATED_SHARE:
            continue
        finished = at - timedelta(minutes=rng.uniform(0.5, 6))
        plan.append(
            (_transaction(rng, items, weights, branch_id, counter_id, staff_id, finished, code), rating_id)
        )
    tz = ZoneInfo("Asia/Shanghai")
    for day in range(days, -1, -1):
        local_day = (now - timedelta(days=day)).astimezone(tz).date()
        if local_day.weekday() >= 5:
            continue
        opened = datetime(local_day.year, local_day.month, local_day.day, 9, tzinfo=tz)
        for counter in counters:
            assert counter.id is not None
            for _ in range(rng.randint(0, 2 * UNRATED_PER_COUNTER_DAY)):
                finished = opened + timedelta(minutes=rng.uniform(0, 8 * 60))
                if finished < now - timedelta(minutes=20):  # recent ones are still being invited
                    member = rng.choice(staff_by_branch[counter.branch_id])
                    tx = _transaction(
                        rng, items, weights, counter.branch_id, counter.id, member.id, finished, code
                    )
                    plan.append((tx, None))
    plan.sort(key=lambda p: (p[0].finished_at, p[0].counter_id))
    numbers: dict[str, int] = {}
    for tx, _rating in plan:
        prefix = f"{tx.finished_at.astimezone(tz):%Y%m%d}"
        numbers[prefix] = numbers.get(prefix, 0) + 1
        tx.number = f"BJ{tx.branch_id:02d}{prefix}{numbers[prefix]:05d}"
        tx.idempotency_key = f"demo-{tx.number}"
    session.add_all([tx for tx, _r in plan])
    session.flush()
    conn, dialect = driver_of(session)
    table: Any = Rating.__table__  # type: ignore[attr-defined]
    bound = [{"rating": r, "tx": tx.id} for tx, r in plan if r is not None]
    if bound:
        binding = (
            update(table).where(table.c.id == bindparam("rating")).values(transaction_id=bindparam("tx"))
        )
        session.connection().execute(binding, bound)
    for tx, rating_id in plan:
        if rating_id is not None:
            assert tx.id is not None
            at = tx.finished_at + timedelta(minutes=6)
            claim(conn, dialect, transaction_id=tx.id, rating_id=rating_id, at=at)
    session.commit()
    return len(plan)


def _transaction(
    rng: random.Random,
    items: list[ServiceItem],
    weights: list[int],
    branch_id: int,
    counter_id: int,
    staff_id: int | None,
    finished: datetime,
    code: Callable[[], str],
) -> ServiceTransaction:
    item = rng.choices(items, weights=weights)[0]
    assert item.id is not None
    return ServiceTransaction(
        number="", idempotency_key="", request_hash="demo", service_item_id=item.id, branch_id=branch_id,
        counter_id=counter_id, staff_id=staff_id, finished_at=finished, created_at=finished,
        invitation_code=code(),
    )  # fmt: skip


def _last_month_casework(
    session: Session, branches: list[Branch], staff_by_branch: dict[int, list[Staff]], *, now: datetime
) -> None:
    """Last month at each branch: two complaints about the third staff member, investigated and
    resolved (substantiated), and a routine inspection that found the fourth one in breach of 2.2.1."""
    supervisors = {s.branch_id: s for s in session.exec(select(Staff).where(Staff.role == Role.supervisor))}
    for branch in branches:
        assert branch.id is not None
        month = local_month(now, branch.timezone).previous()
        start, _end = month.bounds(branch.timezone)
        members = staff_by_branch[branch.id]
        boss = supervisors[branch.id]
        subject, inspected = members[2], members[3]
        for n, (category, text) in enumerate(DEMO_COMPLAINTS):
            filed = start + timedelta(days=3 + 7 * n, hours=2)
            complaint, _code, _replay = file_complaint(
                session,
                idempotency_key=f"demo-complaint-{branch.code}-{n}",
                data=ComplaintCreate(category=category, description=text),
                channel=Channel.kiosk,
                branch_id=branch.id,
                staff_id=subject.id,
                now=filed,
            )
            assert complaint.id is not None
            steps = [
                (ComplaintStatus.acknowledged, {}),
                (ComplaintStatus.investigating, {}),
                (
                    ComplaintStatus.resolved,
                    {
                        "root_cause": "窗口人员未按规范解释办理要求。",
                        "reply": "已致歉并整改。",
                        "finding": "substantiated",
                        "about": "staff",
                    },  # fmt: skip
                ),
            ]
            for hours, (to, extra) in enumerate(steps, start=1):
                transition(
                    session,
                    complaint_id=complaint.id,
                    to=to,
                    actor_staff_id=boss.id,
                    now=filed + timedelta(hours=hours),
                    **extra,  # type: ignore[arg-type]
                )
        assert boss.id is not None and inspected.id is not None
        at = start + timedelta(days=10, hours=3)
        record_inspection(
            session,
            inspector_id=boss.id,
            staff_id=inspected.id,
            kind="routine",
            at=at,
            notes="例行检查",
            findings=[("2.2.1", "violation", "未主动问候客户"), ("2.4.1", "compliant", "")],
            now=at,
        )


def _evaluate_last_month(session: Session, branches: list[Branch], *, now: datetime) -> None:
    """Run last month's evaluation at each branch; the administrator approves the Service Star title
    (so the kiosk can show it) and leaves every other proposal for the branch supervisor to decide."""
    admin = session.exec(select(Staff).where(Staff.role == Role.admin)).first()
    assert admin is not None and admin.id is not None
    for branch in branches:
        assert branch.id is not None
        month = local_month(now, branch.timezone).previous()
        result = evaluate_month(session, branch_id=branch.id, month=month, actor_staff_id=None, now=now)
        for sanction_id in result.proposed:
            row = session.get(Sanction, sanction_id)
            if row is not None and row.kind == SanctionKind.honorary_title:
                decide(
                    session,
                    sanction_id,
                    approve=True,
                    reason="月度评议通过。",
                    actor_staff_id=admin.id,
                    now=now,
                )


def _ratings(
    session: Session,
    rng: random.Random,
    branches: list[Branch],
    counters: list[Counter],
    staff_by_branch: dict[int, list[Staff]],
    negative: list[str],
    positive: list[str],
    *,
    now: datetime,
    days: int,
    progress: ProgressFn | None,
    distribution: Distribution = "kiosk",
) -> int:
    tz = ZoneInfo("Asia/Shanghai")
    # Each person has their own typical experience; a couple of them clearly struggle.
    skill: dict[int | None, float] = {
        m.id: rng.gauss(0.0, 0.6) for ms in staff_by_branch.values() for m in ms
    }
    for weak in rng.sample(sorted(k for k in skill if k is not None), 2):
        skill[weak] -= 1.2
    total = 0
    for day in range(days, -1, -1):
        local_day = (now - timedelta(days=day)).astimezone(tz).date()
        rows: list[dict[str, Any]] = []
        for counter in counters:
            members = staff_by_branch[counter.branch_id]
            busy = 0.45 if local_day.weekday() >= 5 else 1.0
            for _ in range(int(rng.gauss(22, 5) * busy)):
                member = rng.choice(members)
                opened = datetime(local_day.year, local_day.month, local_day.day, 9, tzinfo=tz)
                at = opened + timedelta(minutes=rng.uniform(0, 8 * 60))
                if at >= now:
                    continue
                score = _score(rng, skill[member.id], distribution)
                reasons, comment = _why(rng, score, negative, positive)
                rows.append({
                    "id": uuid.uuid4(), "idempotency_key": f"demo-{uuid.uuid4()}", "request_hash": "demo",
                    "staff_id": member.id, "counter_id": counter.id, "branch_id": counter.branch_id,
                    "device_id": None, "channel": "kiosk" if rng.random() < 0.8 else "qr",
                    "score": score, "reasons": reasons, "comment": comment, "created_at": at,
                    "flagged": False, "flag_reason": None, "counted": True,
                })  # fmt: skip
        if rows:
            session.execute(insert(Rating), rows)
            if day <= 1:  # the last two days' 差评 wait in the queue as cases to verify (models/cases.py)
                cases = [_case_row(r) for r in rows if r["score"] <= BAD_RATING_MAX]
                if cases:
                    session.execute(insert(RatingCase), cases)
            session.commit()
        total += len(rows)
        if progress:
            progress(days - day + 1, days + 1)
    return total


BAD_RATING_MAX = PolicyValues().bad_rating_max_score


def _case_row(rating: dict[str, Any]) -> dict[str, Any]:
    return {
        "rating_id": rating["id"], "branch_id": rating["branch_id"], "counter_id": rating["counter_id"],
        "staff_id": rating["staff_id"], "channel": rating["channel"], "score": rating["score"],
        "opened_at": rating["created_at"], "status": "pending", "action_text": "", "answer": "",
        "reopened": 0,
    }  # fmt: skip


def _score(rng: random.Random, skill: float, distribution: Distribution = "kiosk") -> int:
    """One customer's score. At a kiosk a person's skill moves the whole spread; in a hall it only
    decides how many 4s break the run of 5s, and a rare incident is the only 差评."""
    if distribution == "hall":
        if rng.random() < HALL_INCIDENT_SHARE:
            return rng.choice((1, 2, 3))
        value = rng.gauss(5.3 + skill * 0.3, 0.45)
    else:
        value = rng.gauss(4.3 + skill * 0.6, 0.9)
    return max(1, min(5, round(value)))


def _why(rng: random.Random, score: int, negative: list[str], positive: list[str]) -> tuple[list[str], str]:
    if score <= 2:
        reasons = rng.sample(negative, k=rng.choice([1, 1, 2]))
        return reasons, rng.choice(COMMENTS_LOW) if rng.random() < 0.4 else ""
    if score >= 4 and rng.random() < 0.3:
        return rng.sample(positive, k=1), rng.choice(COMMENTS_HIGH) if rng.random() < 0.2 else ""
    return [], ""
