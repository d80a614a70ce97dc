"""Complaint and 差评 case records past their retention (issue 16; 个人信息保护法 §19): the nightly
retention job removes their free text and keeps their numbers, once, on both databases. Times are
pinned: the job runs on Friday 27 November 2026; the default retention is 1,095 days."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from models.audit import AuditEvent
from models.cases import CaseEvent, CaseStatus, RatingCase
from models.complaint import (
    Complaint,
    ComplaintCreate,
    ComplaintEvent,
    ComplaintStatus,
    file_complaint,
    transition,
)
from models.rating import Channel, Rating
from models.retention import erase_old_record_text
from rapport.usecases import scheduler
from rapport.usecases.scheduler import job_named, run_due

FRIDAY = datetime(2026, 11, 27, 2, 5, tzinfo=UTC)  # 10:05 in Shanghai
OLD = FRIDAY - timedelta(days=1095 + 3)  # closed three years and three days ago
RECENT = FRIDAY - timedelta(days=1095 - 3)


def closed_complaint(db, world, at: datetime, *, close: bool = True) -> int:  # type: ignore[no-untyped-def]
    """A complaint about 王芳 resolved with a finding and closed by the customer's 满意, at ``at``."""
    from models.complaint import answer_satisfaction

    data = ComplaintCreate(
        category="2.2.1",
        description="柜员态度生硬，我的电话 13812345678",
        contact="13812345678",
        consent=True,
    )
    with db.write() as s:
        c, code, _ = file_complaint(
            s, idempotency_key=f"old-{uuid.uuid4()}", data=data, channel=Channel.kiosk,
            branch_id=world.branch_id, staff_id=world.staff_id, now=at,
        )  # fmt: skip
        assert c.id is not None and code is not None
        for to in (ComplaintStatus.acknowledged, ComplaintStatus.investigating):
            transition(s, complaint_id=c.id, to=to, actor_staff_id=None, note="已电话联系客户", now=at)
        transition(
            s, complaint_id=c.id, to=ComplaintStatus.resolved, actor_staff_id=None, now=at,
            reply="已向您致歉并整改", root_cause="高峰期人手不足", corrective_action="增开窗口",
            finding="substantiated", about="staff",
        )  # fmt: skip
        if close:
            answer_satisfaction(s, code=code, grade="fairly", now=at)
        return c.id


def closed_case(db, world, at: datetime) -> int:  # type: ignore[no-untyped-def]
    with db.write() as s:
        rating = Rating(
            idempotency_key=f"case-{uuid.uuid4()}", request_hash="test", staff_id=world.staff_id,
            counter_id=world.counter_id, branch_id=world.branch_id, channel=Channel.kiosk, score=1,
            created_at=at,
        )  # fmt: skip
        s.add(rating)
        s.flush()
        case = RatingCase(
            rating_id=rating.id, branch_id=world.branch_id, counter_id=world.counter_id,
            staff_id=world.staff_id, channel="kiosk", score=1, opened_at=at, status=CaseStatus.closed,
            finding="partly", about="process",
            action="rectify", action_text="午间增开一个窗口", answer="已调整午间排班，感谢您的意见",
            grade="satisfied", closed_at=at,
        )  # fmt: skip
        s.add(case)
        s.flush()
        assert case.id is not None
        s.add(
            CaseEvent(case_id=case.id, at=at, kind="callback", outcome="reached", note="客户说等了四十分钟")
        )
        s.commit()
        return case.id


def test_the_retention_job_removes_old_records_text_and_keeps_their_numbers(ctx, db, world):
    old_complaint, recent_complaint = closed_complaint(db, world, OLD), closed_complaint(db, world, RECENT)
    still_open = closed_complaint(db, world, OLD, close=False)  # resolved, waiting for the customer
    old_case, recent_case = closed_case(db, world, OLD), closed_case(db, world, RECENT)

    ctx.clock = lambda: FRIDAY
    [run] = run_due(ctx, job_named(scheduler.RETENTION))
    assert run.status == "ok"
    with db.read() as s:
        gone = s.get(Complaint, old_complaint)
        kept = s.get(Complaint, recent_complaint)
        waiting = s.get(Complaint, still_open)
        assert gone is not None and kept is not None and waiting is not None
        assert (gone.description, gone.reply, gone.root_cause, gone.corrective_action, gone.contact) == (
            "", None, None, None, None,
        )  # fmt: skip
        assert gone.text_erased_at == FRIDAY
        # The numbers stay: every figure of that month is as it was.
        assert (gone.status, gone.category, gone.finding, gone.about, gone.grade, gone.satisfied) == (
            ComplaintStatus.closed, "2.2.1", "substantiated", "staff", "fairly", True,
        )  # fmt: skip
        assert gone.closed_at is not None and gone.resolved_at is not None
        notes = s.exec(select(ComplaintEvent.note).where(ComplaintEvent.complaint_id == old_complaint)).all()
        assert notes and set(notes) == {""}
        for untouched in (kept, waiting):
            assert untouched.description.startswith("柜员态度生硬") and untouched.text_erased_at is None
            assert untouched.reply == "已向您致歉并整改"
        old = s.get(RatingCase, old_case)
        new = s.get(RatingCase, recent_case)
        assert old is not None and new is not None
        assert (old.action_text, old.answer, old.text_erased_at) == ("", "", FRIDAY)
        assert (old.score, old.finding, old.about, old.action, old.grade) == (
            1,
            "partly",
            "process",
            "rectify",
            "satisfied",
        )
        assert s.exec(select(CaseEvent.note).where(CaseEvent.case_id == old_case)).all() == [""]
        assert (new.action_text, new.text_erased_at) == ("午间增开一个窗口", None)
        [entry] = s.exec(select(AuditEvent).where(AuditEvent.action == "records.text_erased")).all()
    assert entry.details == {"complaints": 1, "cases": 1, "older_than_days": 1095}

    # Once only: a second pass finds nothing more to do and writes nothing.
    with db.write() as s:
        again = erase_old_record_text(
            s, branch_id=world.branch_id, retention_days=1095, now=FRIDAY + timedelta(days=1)
        )
    assert again == {"complaints": 0, "cases": 0}
    with db.read() as s:
        assert len(s.exec(select(AuditEvent).where(AuditEvent.action == "records.text_erased")).all()) == 1
