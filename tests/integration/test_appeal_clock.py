"""Appeals on a clock (issue 16): an undecided appeal nearing its decision time reminds its branch's
supervisors, one past it raises an overdue alert the administrators see, each once however often the
SLA sweep runs; a decided appeal raises nothing. On SQLite and PostgreSQL (RAPPORT_TEST_DATABASE_URL).

Times are pinned: the appeal is filed on Friday 20 November 2026, 10:00 in Shanghai, and decided by
the policy's default 30 days later; every sweep is told its instant, and the process clock is pinned
far away (2031) so a stray read of the wall clock would show as an alert out of place."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from models.alerts import Alert, AlertKind, AlertView, acknowledge, open_alerts
from models.appeal_clock import APPEAL_REMINDER_LEAD, appeals_due, sweep_appeals
from models.jobs import RunLog
from models.org import Branch, Role, Staff
from models.policy import set_policy
from models.rating import Channel, Rating
from models.sanction import Appeal, AppealStatus, appeal_rating, decide_appeal
from rapport.core.context import AppContext
from rapport.core.db import Database
from rapport.core.i18n import catalog, t
from rapport.usecases import alerting
from rapport.usecases.alerting import sla_sweep
from tests.conftest import clock_pinned

FILED = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # Friday 10:00 in Shanghai
DUE = FILED + timedelta(days=30)  # the policy's default appeal_decision_days
TRAP = "2031-06-01T12:00:00+08:00"  # the process clock: nowhere near the appeal


@pytest.fixture(autouse=True)
def pinned_clock() -> Iterator[None]:
    with clock_pinned(TRAP):
        yield


@dataclass
class Place:
    branch: int
    other_branch: int
    staff: int  # counter staff at the branch, who appeals
    supervisor: int  # the branch's supervisor, who decides
    admin: int


def place(db: Database) -> Place:
    with db.write() as s:
        a = Branch(code="A", name_zh="甲支行", name_en="Branch A")
        b = Branch(code="B", name_zh="乙支行", name_en="Branch B")
        s.add_all([a, b])
        s.flush()
        assert a.id is not None and b.id is not None
        staff = Staff(employee_no="E1", display_name="王芳", branch_id=a.id)
        boss = Staff(employee_no="S1", display_name="郭主管", role=Role.supervisor, branch_id=a.id)
        root = Staff(employee_no="A1", display_name="管理员", role=Role.admin)
        s.add_all([staff, boss, root])
        s.commit()
        assert staff.id is not None and boss.id is not None and root.id is not None
        return Place(a.id, b.id, staff.id, boss.id, root.id)


def appeal(db: Database, p: Place, *, filed: datetime = FILED) -> int:
    """A rating of 1 given to the staff member the day before ``filed``, appealed at ``filed``."""
    with db.write() as s:
        rating = Rating(
            idempotency_key=f"clock-{uuid.uuid4()}", request_hash="test", staff_id=p.staff,
            branch_id=p.branch, channel=Channel.kiosk, score=1, created_at=filed - timedelta(days=1),
        )  # fmt: skip
        s.add(rating)
        s.commit()
        row = appeal_rating(s, rating.id, staff_id=p.staff, statement="当时我在为另一位客户办理。", now=filed)
        assert row.id is not None and row.decision_due_at == filed + timedelta(days=30)
        return row.id


def stored(db: Database) -> list[tuple[str, int, str]]:
    with db.read() as s:
        rows = s.exec(select(Alert).order_by(Alert.id)).all()  # type: ignore[arg-type]
        return [(str(a.kind), a.branch_id, a.dedupe_key) for a in rows]


def published(ctx: AppContext) -> list[AlertView]:
    out: list[AlertView] = []
    ctx.alerts.forward_to(out.append)
    return out


def test_before_the_lead_time_nothing_within_it_one_reminder_past_due_one_overdue_alert(ctx, db):
    p = place(db)
    appeal_id = appeal(db, p)
    pushed = published(ctx)

    # Filed, and all the way to the reminder's lead time before it is due: nothing.
    for at in (FILED, FILED + timedelta(days=20), DUE - APPEAL_REMINDER_LEAD):
        run = RunLog()
        assert sla_sweep(ctx, now=at, run=run) == [] and (run.done, run.failed) == (0, 0)
    assert stored(db) == []

    # Within the lead time: one reminder for the branch, however often the sweep runs.
    run, within = RunLog(), DUE - APPEAL_REMINDER_LEAD + timedelta(seconds=1)
    [reminder] = sla_sweep(ctx, now=within, run=run)
    assert (reminder.kind, reminder.branch_id, reminder.complaint_id) == ("appeal_due_soon", p.branch, None)
    assert reminder.created_at == within and (run.done, run.failed) == (1, 0)
    for at in (within, DUE - timedelta(days=1), DUE):
        assert sla_sweep(ctx, now=at) == [], "reminded once"
    assert stored(db) == [("appeal_due_soon", p.branch, f"appeal_due_soon:{appeal_id}")]

    # Past due: one overdue alert, however often the sweep runs.
    [overdue] = sla_sweep(ctx, now=DUE + timedelta(seconds=1))
    assert (overdue.kind, overdue.branch_id) == ("appeal_overdue", p.branch)
    for at in (DUE + timedelta(hours=1), DUE + timedelta(days=40)):
        assert sla_sweep(ctx, now=at) == [], "overdue once"
    assert stored(db) == [
        ("appeal_due_soon", p.branch, f"appeal_due_soon:{appeal_id}"),
        ("appeal_overdue", p.branch, f"appeal_overdue:{appeal_id}"),
    ]
    assert [a.id for a in pushed] == [reminder.id, overdue.id], "each pushed to the screens once"


def test_the_branch_supervisors_and_the_administrators_see_them_another_branch_does_not(ctx, db):
    p = place(db)
    appeal(db, p)
    sla_sweep(ctx, now=DUE - timedelta(days=1))
    sla_sweep(ctx, now=DUE + timedelta(days=1))
    with db.read() as s:
        supervisors = [a.kind for a in open_alerts(s, branch_ids=[p.branch])]
        administrators = [a.kind for a in open_alerts(s, branch_ids=None)]
        elsewhere = open_alerts(s, branch_ids=[p.other_branch])
    assert supervisors == administrators == ["appeal_overdue", "appeal_due_soon"] and elsewhere == []

    # Acknowledged, the reminder is not raised again by later sweeps.
    with db.write() as s:
        [reminder] = [a for a in open_alerts(s, branch_ids=None) if a.kind == "appeal_due_soon"]
        acknowledge(s, alert_id=reminder.id, staff_id=p.supervisor, branch_ids=[p.branch], now=DUE)
    assert sla_sweep(ctx, now=DUE + timedelta(days=2)) == []
    with db.read() as s:
        assert [a.kind for a in open_alerts(s, branch_ids=[p.branch])] == ["appeal_overdue"]


def test_an_appeal_first_seen_late_gets_only_the_overdue_alert(ctx, db):
    p = place(db)
    appeal_id = appeal(db, p)
    assert [a.kind for a in sla_sweep(ctx, now=DUE + timedelta(days=2))] == ["appeal_overdue"]
    assert stored(db) == [("appeal_overdue", p.branch, f"appeal_overdue:{appeal_id}")]


def test_a_decided_appeal_raises_nothing(ctx, db):
    p = place(db)
    upheld, overturned, waiting = (appeal(db, p, filed=FILED + timedelta(minutes=m)) for m in (0, 1, 2))
    with db.write() as s:
        for appeal_id, overturn in ((upheld, False), (overturned, True)):
            decide_appeal(
                s, appeal_id, overturn=overturn, reason="已调看录像核实。", actor_staff_id=p.supervisor,
                now=FILED + timedelta(days=5),
            )  # fmt: skip
    for at in (DUE - timedelta(days=1), DUE + timedelta(days=1)):
        sla_sweep(ctx, now=at)
    assert stored(db) == [
        ("appeal_due_soon", p.branch, f"appeal_due_soon:{waiting}"),
        ("appeal_overdue", p.branch, f"appeal_overdue:{waiting}"),
    ]
    # Decided between the sweep's read and its write: nothing is raised for it either.
    with db.read() as s:
        [item] = appeals_due(s, now=DUE + timedelta(days=40))
    assert item.appeal_id == waiting
    with db.write() as s:
        decide_appeal(
            s, waiting, overturn=False, reason="评价属实，维持。", actor_staff_id=p.admin,
            now=DUE + timedelta(days=40),
        )  # fmt: skip
        assert alerting.raise_appeal_alert(s, item, now=DUE + timedelta(days=40)) is None
        assert s.get(Appeal, waiting).status == AppealStatus.upheld  # type: ignore[union-attr]
        assert appeals_due(s, now=DUE + timedelta(days=40)) == []


def test_an_appeal_without_a_stored_due_time_counts_from_its_filing_by_the_branch_policy(ctx, db):
    p = place(db)
    appeal_id = appeal(db, p)
    with db.write() as s:  # filed before due times were kept
        row = s.get(Appeal, appeal_id)
        assert row is not None
        row.decision_due_at = None
        s.add(row)
        s.commit()
        set_policy(s, values={"appeal_decision_days": 10}, branch_id=p.branch, actor_staff_id=p.admin)
    due = FILED + timedelta(days=10)
    assert sla_sweep(ctx, now=due - APPEAL_REMINDER_LEAD) == []
    assert [a.kind for a in sla_sweep(ctx, now=due - timedelta(days=1))] == ["appeal_due_soon"]
    assert [a.kind for a in sla_sweep(ctx, now=due + timedelta(seconds=1))] == ["appeal_overdue"]


def test_one_appeal_that_fails_is_logged_and_the_others_are_still_raised(ctx, db, monkeypatch):
    p = place(db)
    broken, fine = appeal(db, p), appeal(db, p, filed=FILED + timedelta(hours=1))
    real = alerting.raise_appeal_alert

    def flaky(session, item, *, now):  # type: ignore[no-untyped-def]
        if item.appeal_id == broken:
            raise RuntimeError("the database went away")
        return real(session, item, now=now)

    monkeypatch.setattr(alerting, "raise_appeal_alert", flaky)
    run = RunLog()
    raised = sla_sweep(ctx, now=DUE + timedelta(days=1), run=run)
    assert [a.kind for a in raised] == ["appeal_overdue"] and stored(db)[0][2] == f"appeal_overdue:{fine}"
    assert (run.done, run.failed, run.errors) == (1, 1, [f"appeal {broken}: RuntimeError"])

    # The next run, the fault gone, raises the one that failed, and only that one.
    monkeypatch.setattr(alerting, "raise_appeal_alert", real)
    [late] = sla_sweep(ctx, now=DUE + timedelta(days=1, minutes=5))
    assert late.kind == "appeal_overdue"
    assert stored(db)[-1] == ("appeal_overdue", p.branch, f"appeal_overdue:{broken}")


def test_a_failing_appeal_read_does_not_stop_the_complaint_alerts(ctx, db, monkeypatch):
    place(db)

    def broken(*_a, **_k):  # type: ignore[no-untyped-def]
        raise RuntimeError("no appeals today")

    monkeypatch.setattr(alerting, "appeals_due", broken)
    run = RunLog()
    assert sla_sweep(ctx, now=DUE, run=run) == [] and run.errors == ["appeals: RuntimeError"]


def test_the_single_session_sweep_raises_the_same_alerts_once(db):
    p = place(db)
    appeal_id = appeal(db, p)
    with db.write() as s:
        assert sweep_appeals(s, now=DUE - timedelta(days=4)) == []
        assert [a.kind for a in sweep_appeals(s, now=DUE - timedelta(days=2))] == ["appeal_due_soon"]
        assert sweep_appeals(s, now=DUE - timedelta(days=2)) == []
        assert [a.kind for a in sweep_appeals(s, now=DUE + timedelta(days=2))] == ["appeal_overdue"]
        assert sweep_appeals(s, now=DUE + timedelta(days=3)) == []
    keys = [key for _kind, _branch, key in stored(db)]
    assert keys == [f"appeal_due_soon:{appeal_id}", f"appeal_overdue:{appeal_id}"]


def test_every_alert_kind_has_a_label_in_both_languages_and_the_reminder_names_its_lead_time():
    zh, en = catalog("zh-CN"), catalog("en")
    for kind in AlertKind:
        assert f"admin.alerts.kind.{kind.value}" in zh and f"admin.alerts.kind.{kind.value}" in en, kind
        assert len(kind.value) <= 16, "alert.kind is a 16-character column"
    days = APPEAL_REMINDER_LEAD.days
    assert f"{days} 天" in t("zh-CN", "admin.alerts.kind.appeal_due_soon")
    assert f"{days} days" in t("en", "admin.alerts.kind.appeal_due_soon")
