"""What the hotline tests share (tests/integration/test_hotline.py, test_work_orders.py): the people
who take calls, signed in, and the complaints that calls left behind."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from models import auth
from models.complaint import Complaint
from models.crypto import hash_secret
from models.org import Role, Staff
from rapport.core.db import Database

PASSWORD = "correct horse 42"


def sign_in_hall(s: Session, world: Any, now: datetime) -> dict[str, str]:
    """Session tokens of the ``world`` fixture's branch A supervisor ("boss", S1), a branch A staff
    member ("alice") and a new administrator ("root", A0), each given ``PASSWORD`` first."""
    boss = s.exec(select(Staff).where(Staff.employee_no == "S1")).one()
    alice = s.exec(select(Staff).where(Staff.employee_no == world.staff_no)).one()
    root = Staff(employee_no="A0", display_name="管理员", role=Role.admin, username="root")
    for person in (boss, alice, root):
        person.password_hash = hash_secret(PASSWORD)
    s.add_all([boss, alice, root])
    s.commit()
    return {
        who: auth.authenticate(s, login=login, password=PASSWORD, client="10.0.0.9", now=now)[1]
        for who, login in (("boss", "S1"), ("alice", world.staff_no), ("root", "A0"))
    }


def complaints(db: Database) -> list[Complaint]:
    """Every complaint stored, in the order filed."""
    with db.read() as s:
        return list(s.exec(select(Complaint).order_by(Complaint.id)).all())
