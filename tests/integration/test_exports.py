"""CSV exports read back the way a spreadsheet would: hostile cells are neutralised, Chinese survives
(UTF-8 with a byte-order mark), rows end in CRLF, filters follow the branch's local calendar, and a
complaint's contact details and tracking code never appear."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from models.complaint import ComplaintCreate, ComplaintStatus, file_complaint
from models.errors import ValidationFailed
from models.org import Staff
from models.rating import Channel, Rating
from models.sanction import SanctionKind, decide, propose
from models.scores import Month
from rapport.usecases.exports import (
    COMPLAINT_COLUMNS,
    RATING_COLUMNS,
    SANCTION_COLUMNS,
    DateRange,
    complaints_csv,
    ratings_csv,
    sanctions_csv,
)

OCTOBER = Month(2026, 10)
NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
HOSTILE = [
    "=cmd|' /C calc'!A0",
    "+1",
    "-1",
    "@SUM(1)",
    "\tleading tab",
    "\rleading CR",
]
AWKWARD = 'fine, but "quoted"\nand on two lines'


def read(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "Excel needs the byte-order mark to read UTF-8"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def staff_id(db, employee_no: str) -> int:
    with db.read() as s:
        return s.exec(select(Staff).where(Staff.employee_no == employee_no)).one().id  # type: ignore[return-value]


def rate(db, world, *, at: datetime, score: int = 2, comment: str = "", who: str = "E1", **kw) -> None:
    with db.write() as s:
        s.add(
            Rating(
                idempotency_key=f"k-{at.isoformat()}-{comment[:10]}-{who}",
                request_hash="x",
                staff_id=staff_id(db, who),
                branch_id=kw.pop("branch_id", world.branch_id),
                counter_id=kw.pop("counter_id", world.counter_id),
                channel=Channel.kiosk,
                score=score,
                reasons=["2.2.1", "2.3.1"],
                comment=comment,
                created_at=at,
                **kw,
            )
        )
        s.commit()


def test_hostile_cells_read_back_as_plain_text_with_every_row_and_column(db, world):
    for i, text in enumerate([*HOSTILE, AWKWARD, "普通的留言"]):
        rate(db, world, at=datetime(2026, 10, 5, 2, i, tzinfo=UTC), comment=text)
    with db.write() as s:  # user text in a name is user text too
        s.add(Staff(employee_no="-E5", display_name='=HYPERLINK("http://x")', branch_id=world.branch_id))
        s.commit()
    rate(
        db,
        world,
        at=datetime(2026, 10, 6, 2, 0, tzinfo=UTC),
        who="-E5",
        comment="ok",
        flagged=True,
        counted=False,
    )

    with db.read() as s:
        data = ratings_csv(s, period=OCTOBER, branch_id=world.branch_id)
    assert data.count(b"\r\n") >= 10 and b"\n" not in data.replace(b"\r\n", b"").replace(b"\nand", b"")
    rows = read(data)
    header, body = rows[0], rows[1:]
    assert len(header) == len(RATING_COLUMNS) and header[:3] == ["编号", "时间", "网点代码"]
    assert len(body) == 9 and all(len(r) == len(header) for r in body)
    comments = [r[header.index("留言")] for r in body]
    assert comments[:6] == ["'" + h for h in HOSTILE]
    assert comments[6] == AWKWARD and comments[7] == "普通的留言"
    last = body[-1]
    assert last[header.index("工号")] == "'-E5" and last[header.index("员工")] == '\'=HYPERLINK("http://x")'
    assert last[header.index("已标记")] == "true" and last[header.index("计入评分")] == "false"
    first = body[0]
    assert first[header.index("时间")] == "2026-10-05T10:00:00+08:00"
    assert first[header.index("网点")] == "甲支行" and first[header.index("窗口代码")] == "A-01"
    assert first[header.index("原因条款")] == "2.2.1;2.3.1" and first[header.index("评分")] == "2"
    for row in body:  # nothing a spreadsheet would evaluate is left anywhere
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row)


def test_periods_follow_the_branch_calendar_and_filters_narrow_the_rows(db, world):
    rate(db, world, at=datetime(2026, 9, 30, 16, 30, tzinfo=UTC), comment="1 Oct 00:30 local")
    rate(db, world, at=datetime(2026, 10, 31, 16, 30, tzinfo=UTC), comment="1 Nov 00:30 local")
    rate(db, world, at=datetime(2026, 10, 10, 1, 0, tzinfo=UTC), comment="colleague", who="E2")
    rate(
        db,
        world,
        at=datetime(2026, 10, 10, 1, 0, tzinfo=UTC),
        comment="other branch",
        who="E9",
        branch_id=world.other_branch_id,
        counter_id=None,
    )

    def comments(**kw) -> list[str]:
        with db.read() as s:
            rows = read(ratings_csv(s, **kw))
        return [r[RATING_COLUMNS.index("comment")] for r in rows[1:]]

    assert comments(period=OCTOBER, branch_id=world.branch_id) == ["1 Oct 00:30 local", "colleague"]
    assert comments(period=OCTOBER, branch_id=world.branch_id, staff_id=staff_id(db, "E2")) == ["colleague"]
    assert sorted(comments(period=OCTOBER)) == ["1 Oct 00:30 local", "colleague", "other branch"]
    november = DateRange(date(2026, 11, 1), date(2026, 11, 30))
    assert comments(period=november, branch_id=world.branch_id) == ["1 Nov 00:30 local"]
    with pytest.raises(ValidationFailed):
        DateRange(date(2026, 11, 2), date(2026, 11, 1))
    with db.read() as s, pytest.raises(ValidationFailed):
        ratings_csv(s, period=OCTOBER, branch_id=9999)


def test_complaints_carry_consent_flags_but_never_contact_details_or_the_tracking_code(db, world):
    with db.write() as s:
        filed = []
        for i, (contact, description) in enumerate(
            [("13800138000", "@SUM(A1) 态度很差"), (None, '等了很久, 没人"解释"')]
        ):
            data = ComplaintCreate(
                category="2.2.1", description=description, contact=contact, consent=contact is not None
            )
            complaint, code, _ = file_complaint(
                s,
                idempotency_key=f"c{i}",
                data=data,
                channel=Channel.kiosk,
                branch_id=world.branch_id,
                counter_id=world.counter_id,
                staff_id=world.staff_id,
                now=datetime(2026, 10, 8, 2, i, tzinfo=UTC),
            )
            filed.append((complaint.id, code))
    with db.read() as s:
        data = complaints_csv(s, period=OCTOBER, now=NOW, branch_id=world.branch_id)
        only_new = complaints_csv(s, period=OCTOBER, now=NOW, branch_id=world.branch_id, status="resolved")
        with pytest.raises(ValidationFailed):
            complaints_csv(s, period=OCTOBER, now=NOW, status="lost")
    assert b"13800138000" not in data
    for _, code in filed:
        assert code and code.encode() not in data
    rows = read(data)
    header = rows[0]
    assert len(header) == len(COMPLAINT_COLUMNS) and all(len(r) == len(header) for r in rows)
    first, second = rows[1], rows[2]
    assert first[header.index("投诉内容")] == "'@SUM(A1) 态度很差"
    assert second[header.index("投诉内容")] == '等了很久, 没人"解释"'
    assert first[header.index("同意留存联系方式")] == "true" and first[header.index("留有联系方式")] == "true"
    assert (
        second[header.index("同意留存联系方式")] == "false"
        and second[header.index("留有联系方式")] == "false"
    )
    assert first[header.index("状态")] == ComplaintStatus.new and first[header.index("已超期")] == "true"
    assert first[header.index("员工")] == "王芳"
    assert len(read(only_new)) == 1  # the header only: nothing was resolved


def test_sanctions_export_the_ledger_with_amounts_clauses_and_who_decided(db, world):
    with db.write() as s:
        boss = s.exec(select(Staff).where(Staff.employee_no == "S1")).one()
        fine = propose(
            s,
            staff_id=world.staff_id,
            kind=SanctionKind.deduction,
            reason="-违反 2.2.1，屡教不改",
            clauses=["2.2.1"],
            amount_yuan=200,
            actor_staff_id=None,
            now=datetime(2026, 10, 20, 2, 0, tzinfo=UTC),
            month="2026-10",
        )
        decide(
            s,
            fine.id,
            approve=True,
            reason="证据充分",
            actor_staff_id=boss.id,
            now=datetime(2026, 11, 2, tzinfo=UTC),
        )
        propose(
            s,
            staff_id=staff_id(db, "E2"),
            kind=SanctionKind.commendation,
            reason="服务热情，顾客表扬",
            actor_staff_id=boss.id,
            now=datetime(2026, 10, 21, 2, 0, tzinfo=UTC),
        )
        propose(
            s,
            staff_id=staff_id(db, "E2"),
            kind=SanctionKind.warning,
            reason="九月的事",
            clauses=["2.2.1"],
            actor_staff_id=boss.id,
            now=datetime(2026, 9, 21, 2, 0, tzinfo=UTC),
        )
    with db.read() as s:
        rows = read(sanctions_csv(s, period=OCTOBER, branch_id=world.branch_id, locale="en"))
        approved = read(sanctions_csv(s, period=OCTOBER, status="approved"))
        rewards = read(sanctions_csv(s, period=OCTOBER, kind="commendation"))
        with pytest.raises(ValidationFailed):
            sanctions_csv(s, period=OCTOBER, kind="medal")
    header, body = rows[0], rows[1:]
    assert header[:3] == ["ID", "Proposed", "Branch code"] and len(header) == len(SANCTION_COLUMNS)
    assert len(body) == 2  # September's warning belongs to September
    fine_row = body[0]
    col = {name: fine_row[i] for i, name in enumerate(SANCTION_COLUMNS)}
    assert col["kind"] == "deduction" and col["status"] == "approved" and col["amount_yuan"] == "200"
    assert col["clauses"] == "2.2.1;4.2.2" and col["reason"] == "'-违反 2.2.1，屡教不改"
    assert col["decided_by"] == "S1 郭主管" and col["decided_at"] == "2026-11-02T08:00:00+08:00"
    assert col["decision_reason"] == "证据充分" and col["branch_name"] == "Branch A"
    assert [r[SANCTION_COLUMNS.index("kind")] for r in approved[1:]] == ["deduction"]
    assert [r[SANCTION_COLUMNS.index("kind")] for r in rewards[1:]] == ["commendation"]
