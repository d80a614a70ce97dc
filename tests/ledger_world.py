"""A month to evaluate, for the ledger tests: October 2026 at branch A of the ``world`` fixture, seen
from 24 November 2026.

* 王芳 (E1): 25 ratings of 5, a clean month: the Service Star (honorary title and bonus).
* 李娜 (E2): 22 ratings of 4, two complaints resolved in October (2.2.1, 2.2.2, one with the
  customer's phone number) and an inspection on 15 October that found 2.2.3 violated: a warning.
* 张伟 (E9, branch B): 25 ratings of 5, so branch B has a Service Star of its own to propose.
* A rating of 1 given to 王芳 on 20 November with a comment, which she appeals.

Logins (password ``PASSWORD``): boss.a (S1, supervisor of A), boss.b (S2, supervisor of B), root
(an administrator), alice (E1, counter staff).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from models.complaint import ComplaintCreate, ComplaintStatus, file_complaint, transition
from models.crypto import hash_secret
from models.inspection import record_inspection
from models.org import Role, Staff
from models.rating import Channel, Rating
from models.sanction import appeal_rating
from rapport.core.db import Database

PASSWORD = "correct horse 42"
NOW = datetime(2026, 11, 24, 1, 30, tzinfo=UTC)  # Tuesday 09:30 in Shanghai
OCTOBER = "2026-10"
CONTACT = "13812345678"
APPEALED_COMMENT = "柜员不理人"


@dataclass
class LedgerWorld:
    staff: dict[str, int]  # employee number -> id
    complaints: list[int]  # the two about 李娜, in filing order
    contact_complaint: int
    inspection: int
    appealed_rating: uuid.UUID
    appeal: int


def _ratings(
    staff_id: int, branch_id: int, counter_id: int | None, scores: list[int], day: int
) -> list[Rating]:
    out = []
    for i, score in enumerate(scores):
        at = datetime(2026, 10, day, 2, 0, tzinfo=UTC) + timedelta(minutes=7 * i)
        out.append(
            Rating(
                idempotency_key=f"ledger-{uuid.uuid4()}",
                request_hash="test",
                staff_id=staff_id,
                counter_id=counter_id,
                branch_id=branch_id,
                channel=Channel.kiosk,
                score=score,
                created_at=at,
            )
        )
    return out


def seed(db: Database, world) -> LedgerWorld:  # type: ignore[no-untyped-def]
    with db.write() as s:
        people = {p.employee_no: p for p in s.exec(select(Staff)).all()}
        people["S1"].username, people["S1"].password_hash = "boss.a", hash_secret(PASSWORD)
        people["E1"].username, people["E1"].password_hash = "alice", hash_secret(PASSWORD)
        s.add_all([people["S1"], people["E1"]])
        s.add(
            Staff(
                employee_no="S2",
                display_name="林主管",
                role=Role.supervisor,
                branch_id=world.other_branch_id,
                username="boss.b",
                password_hash=hash_secret(PASSWORD),
            )
        )
        s.add(
            Staff(
                employee_no="A0",
                display_name="系统管理员",
                role=Role.admin,
                username="root",
                password_hash=hash_secret(PASSWORD),
            )
        )
        s.commit()
        ids = {p.employee_no: p.id for p in s.exec(select(Staff)).all() if p.id is not None}
        a, b = world.branch_id, world.other_branch_id
        s.add_all(_ratings(ids["E1"], a, world.counter_id, [5] * 25, 10))
        s.add_all(_ratings(ids["E2"], a, world.counter_id, [4] * 22, 11))
        s.add_all(_ratings(ids["E9"], b, None, [5] * 25, 12))
        low = Rating(
            idempotency_key=f"ledger-{uuid.uuid4()}",
            request_hash="test",
            staff_id=ids["E1"],
            counter_id=world.counter_id,
            branch_id=a,
            channel=Channel.kiosk,
            score=1,
            reasons=["2.2.1"],
            comment=APPEALED_COMMENT,
            created_at=NOW - timedelta(days=4),
            phone_key="p" * 64,
        )
        s.add(low)
        s.commit()

        complaints = []
        for n, (category, contact) in enumerate((("2.2.1", CONTACT), ("2.2.2", None))):
            filed = datetime(2026, 10, 5 + n, 3, 0, tzinfo=UTC)
            data = ComplaintCreate(
                category=category, description="办理业务时态度冷淡", contact=contact, consent=bool(contact)
            )
            c, _code, _ = file_complaint(
                s,
                idempotency_key=f"ledger-c-{n}",
                data=data,
                channel=Channel.kiosk,
                branch_id=a,
                counter_id=world.counter_id,
                staff_id=ids["E2"],
                now=filed,
            )
            assert c.id is not None
            for step, when in ((ComplaintStatus.acknowledged, 1), (ComplaintStatus.investigating, 2)):
                transition(
                    s, complaint_id=c.id, to=step, actor_staff_id=ids["S1"], now=filed + timedelta(hours=when)
                )
            transition(
                s,
                complaint_id=c.id,
                to=ComplaintStatus.resolved,
                actor_staff_id=ids["S1"],
                root_cause="服务态度",
                reply="已批评教育",
                finding="substantiated",
                about="staff",
                now=filed + timedelta(days=2),
            )
            complaints.append(c.id)
        inspection = record_inspection(
            s,
            inspector_id=ids["S1"],
            staff_id=ids["E2"],
            kind="routine",
            at=datetime(2026, 10, 15, 3, 0, tzinfo=UTC),
            notes="午间检查",
            findings=[("2.2.3", "violation", "长时间离岗"), ("2.2.1", "compliant", "")],
            now=datetime(2026, 10, 15, 3, 5, tzinfo=UTC),
        )
        assert inspection.id is not None and low.id is not None
        appeal = appeal_rating(
            s,
            low.id,
            staff_id=ids["E1"],
            statement="这位客户当时并未在我的窗口办理业务。",
            now=NOW - timedelta(days=1),
        )
        assert appeal.id is not None
        return LedgerWorld(ids, complaints, complaints[0], inspection.id, low.id, appeal.id)
