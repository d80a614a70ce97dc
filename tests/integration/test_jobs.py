"""Timed work bodies run directly (the scheduler only calls them): each is safe to repeat."""

from datetime import UTC, datetime

from sqlmodel import select

from models.audit import AuditEvent, verify
from models.crypto import hash_secret
from models.inspection import SpotCheckTask
from models.org import Role, Staff
from models.policy import set_policy
from rapport.usecases.alerting import weekly_spot_check_draw


def test_the_weekly_draw_gives_each_supervisor_spot_checks_once_per_week(ctx, db, world):
    with db.write() as s:
        s.add(
            Staff(
                employee_no="S2",
                display_name="乙主管",
                role=Role.supervisor,
                branch_id=world.other_branch_id,
                password_hash=hash_secret("x" * 12),
            )
        )
        s.commit()
    # A Monday morning in the branches' zone (Asia/Shanghai): the whole week's windows are ahead.
    # Left to the real clock, a run on a Friday evening or a weekend rightly draws nothing.
    monday = datetime(2026, 11, 23, 0, 30, tzinfo=UTC)
    first = weekly_spot_check_draw(ctx, now=monday)
    again = weekly_spot_check_draw(ctx, now=monday)
    with db.read() as s:
        tasks = s.exec(select(SpotCheckTask)).all()
    assert first == len(tasks) > 0 and again == 0
    assert {t.branch_id for t in tasks} <= {world.branch_id, world.other_branch_id}


def test_a_policy_change_is_audited_by_setting_name_not_value(db, world):
    with db.write() as s:
        set_policy(
            s, values={"idle_reset_seconds": 45}, branch_id=world.branch_id, actor_staff_id=world.staff_id
        )
    with db.read() as s:
        [event] = s.exec(select(AuditEvent).where(AuditEvent.action == "policy.update")).all()
        assert verify(s).ok
    assert event.details["keys"] == ["idle_reset_seconds"] and "45" not in str(event.details)
    assert event.actor_staff_id == world.staff_id
