"""The access matrix's fixtures: cheap argon2 for every test of the package, and ``env``, the world."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from argon2 import PasswordHasher
from sqlmodel import select

import models.auth
import models.crypto
from models import auth
from models.alerts import AlertKind, raise_alert
from models.auth import TotpSecret
from models.crypto import hash_secret
from models.devices import authenticate_device, register_device
from models.inspection import draw_spot_checks, iso_week, record_inspection
from models.intake import rate_at_device
from models.org import Counter, Role, Staff
from models.policy import set_policy
from models.rating import RatingCreate
from models.training import record_training
from tests.integration.access_matrix.world import (
    LOGINS,
    MATRIX_GLOBAL_RULES,
    NOW,
    PASSWORD,
    Env,
    _file,
    _ledger_world,
)


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch):
    """Still argon2id, with the cost turned down: every cell of the matrix signs in afresh."""
    monkeypatch.setattr(
        models.crypto, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    models.auth._dummy_hash.cache_clear()
    yield
    models.auth._dummy_hash.cache_clear()


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
