"""Documents through the admin service layer: who may make which document for which branch, what the
monthly PDF report and the badge sheet contain once rendered (pypdfium2) and scanned (zxing-cpp), and
what rotating a badge code changes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pypdfium2 as pdfium
import pytest
import zxingcpp
from sqlmodel import select

from admin import documents
from kiosk import backend as kiosk
from models import auth
from models.audit import AuditEvent, verify
from models.badges import rotate_qr_token
from models.crypto import hash_secret
from models.errors import Forbidden, QrTokenUnknown, StaffNotFound, ValidationFailed
from models.org import Branch, Role, Staff
from models.rating import Channel, Rating
from models.sanction import SanctionKind, SanctionStatus, decide, propose
from models.scores import Month
from rapport.core.context import AppContext
from rapport.core.settings import Settings
from rapport.usecases.badges import badge_sheet
from rapport.usecases.report_pdf import build_report

PASSWORD = "correct horse 42"
NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
OCTOBER = Month(2026, 10)
PUBLIC = "https://rapport.example.cn"


@pytest.fixture
def people(db, world, ctx: AppContext, tmp_path) -> dict[str, int]:
    """Logins: staff E1 (alice), supervisors of A (boss.a) and B (boss.b), an admin (root). October:
    25 ratings for 王芳 (E1), 3 for 李娜 (E2)."""
    ctx.clock = lambda: NOW
    ctx.settings = Settings(data_dir=tmp_path, database_url="sqlite://", public_url=PUBLIC)
    with db.write() as s:
        staff = {p.employee_no: p for p in s.exec(select(Staff)).all()}
        staff["E1"].username = "alice"
        staff["S1"].username = "boss.a"
        s.add(
            Staff(
                employee_no="S2",
                display_name="林主管",
                role=Role.supervisor,
                branch_id=world.other_branch_id,
                username="boss.b",
            )
        )
        s.add(Staff(employee_no="A0", display_name="管理员", role=Role.admin, username="root"))
        for p in staff.values():
            s.add(p)
        s.commit()
        for p in s.exec(select(Staff).where(Staff.username.is_not(None))).all():  # type: ignore[union-attr]
            p.password_hash = hash_secret(PASSWORD)
            s.add(p)
        s.commit()
        ids = {p.employee_no: p.id for p in s.exec(select(Staff)).all() if p.id is not None}
        start = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)
        scores = [("E1", 5)] * 18 + [("E1", 4)] * 7 + [("E2", 1)] * 3
        for i, (who, score) in enumerate(scores):
            s.add(
                Rating(
                    idempotency_key=f"k{i}",
                    request_hash="x",
                    staff_id=ids[who],
                    branch_id=world.branch_id,
                    counter_id=world.counter_id,
                    channel=Channel.kiosk,
                    score=score,
                    reasons=["2.2.1"] if score <= 2 else [],
                    created_at=start + timedelta(days=i, hours=1),
                )
            )
        s.commit()
        return ids


def token_for(db, login: str) -> str:
    with db.write() as s:
        return auth.authenticate(s, login=login, password=PASSWORD, client="192.0.2.7", now=NOW)[1]


def audit_count(db) -> int:
    with db.read() as s:
        return len(s.exec(select(AuditEvent)).all())


def qr_token(db, employee_no: str) -> str:
    with db.read() as s:
        return s.exec(select(Staff).where(Staff.employee_no == employee_no)).one().qr_token


def pages(data: bytes, scale: float = 1.0) -> list[tuple[str, Any]]:
    """(text, PIL image) of every page."""
    doc = pdfium.PdfDocument(data)
    try:
        return [
            (doc[i].get_textpage().get_text_range(), doc[i].render(scale=scale).to_pil())
            for i in range(len(doc))
        ]
    finally:
        doc.close()


CALLS: dict[str, Callable[[AppContext, str, int], Any]] = {
    "ratings": lambda c, tok, b: documents.ratings_export(
        c, tok, branch_id=b, month="2026-10", locale="zh-CN"
    ),
    "complaints": lambda c, tok, b: documents.complaints_export(
        c, tok, branch_id=b, month="2026-10", locale="en"
    ),
    "sanctions": lambda c, tok, b: documents.sanctions_export(
        c, tok, branch_id=b, month="2026-10", locale="en"
    ),
    "report": lambda c, tok, b: documents.monthly_report(
        c, tok, branch_id=b, month="2026-10", locale="zh-CN"
    ),
    "badges": lambda c, tok, b: documents.badges(c, tok, branch_id=b, locale="zh-CN"),
    "holders": lambda c, tok, b: documents.badge_holders(c, tok, branch_id=b),
}


@pytest.mark.parametrize("what", list(CALLS))
def test_staff_are_refused_and_a_supervisor_only_gets_their_own_branch(db, world, ctx, people, what):
    call = CALLS[what]
    before = audit_count(db)
    with pytest.raises(Forbidden):
        call(ctx, token_for(db, "alice"), world.branch_id)
    boss_a = token_for(db, "boss.a")
    with pytest.raises(Forbidden):
        call(ctx, boss_a, world.other_branch_id)
    assert audit_count(db) == before + 2  # the two sign-ins, no download
    assert call(ctx, boss_a, world.branch_id)
    assert call(ctx, token_for(db, "root"), world.other_branch_id)


def test_the_branch_list_is_the_callers_scope(db, world, ctx, people):
    assert [b.code for b in documents.branches(ctx, token_for(db, "boss.b"))] == ["B"]
    assert [b.code for b in documents.branches(ctx, token_for(db, "root"))] == ["A", "B"]
    with pytest.raises(Forbidden):
        documents.branches(ctx, token_for(db, "alice"))


def test_a_malformed_or_future_month_is_refused_and_nothing_is_audited(db, world, ctx, people):
    token = token_for(db, "boss.a")
    before = audit_count(db)
    for month in ("2026/10", "2026-13", "", "2026-12"):
        with pytest.raises(ValidationFailed) as info:
            documents.ratings_export(ctx, token, branch_id=world.branch_id, month=month, locale="en")
        assert info.value.field == "month"
    with pytest.raises(ValidationFailed):
        documents.monthly_report(ctx, token, branch_id=world.branch_id, month="2027-01", locale="en")
    assert audit_count(db) == before
    made = documents.ratings_export(ctx, token, branch_id=world.branch_id, month="2026-11", locale="en")
    assert made.file_name == "rapport-ratings-A-2026-11.csv"  # the current month, so far


def test_the_monthly_report_names_the_branch_ranks_staff_and_shows_the_star_and_ledger(
    db, world, ctx, people
):
    with db.write() as s:
        star = propose(
            s,
            staff_id=people["E1"],
            kind=SanctionKind.honorary_title,
            reason="Service Star 2026-10",
            actor_staff_id=None,
            rule="service_star",
            month="2026-10",
            now=NOW,
        )
        decide(s, star.id, approve=True, reason="名副其实", actor_staff_id=people["S1"], now=NOW)
        propose(
            s,
            staff_id=people["E2"],
            kind=SanctionKind.deduction,
            reason="三次低分并被投诉",
            clauses=["2.2.1"],
            amount_yuan=150,
            actor_staff_id=people["S1"],
            month="2026-10",
            now=NOW,
        )
    steps: list[tuple[float, str]] = []
    made = documents.monthly_report(
        ctx,
        token_for(db, "boss.a"),
        branch_id=world.branch_id,
        month="2026-10",
        locale="zh-CN",
        progress=lambda f, step: steps.append((f, step)),
    )
    assert made.file_name == "rapport-A-2026-10.pdf" and made.data.startswith(b"%PDF")
    fractions = [f for f, _ in steps]
    assert fractions == sorted(fractions) and fractions[0] > 0 and fractions[-1] == 1.0
    assert steps[0][1] == "统计网点概况" and steps[-1][1] == "完成"

    rendered = pages(made.data)
    text = "".join(t for t, _ in rendered)
    assert rendered[0][0].startswith("月度服务报告")
    assert "甲支行" in rendered[0][0] and "2026年10月" in rendered[0][0]
    assert "王芳" in text and "E1" in text and "李娜" in text
    assert "评价少于 20 条，不参与排名" in text  # 李娜 has 3 ratings, 王芳 25: only she is ranked
    assert "★ 王芳（工号 E1）" in text
    assert "扣减绩效" in text and "150 元" in text and "待决定" in text
    assert "2.2.1 热情礼貌" in text  # cited by the low ratings: a row of the heat map
    assert f"1 / {len(rendered)}" in rendered[0][0]
    image = rendered[0][1]
    assert image.size[0] < image.size[1]  # A4 portrait, and it renders
    low, high = image.convert("L").getextrema()
    assert low < 60 and high == 255  # ink on white: not a blank page


def test_the_report_in_english_and_for_a_quiet_month(db, world, ctx, people):
    with db.read() as s:
        data = build_report(s, branch_id=world.branch_id, month=Month(2026, 8), locale="en", now=NOW)
    text = "".join(t for t, _ in pages(data))
    assert "Branch A" in text and "August 2026" in text
    assert "No counted ratings this month." in text and "Not awarded this month" in text
    assert "No ledger entries this month." in text and "No clause was cited this month." in text
    with db.read() as s, pytest.raises(ValidationFailed):
        build_report(s, branch_id=world.branch_id, month=Month(2026, 12), locale="en", now=NOW)


def test_each_badge_scans_to_exactly_the_persons_short_link(db, world, ctx, people):
    made = documents.badges(ctx, token_for(db, "boss.a"), branch_id=world.branch_id, locale="zh-CN")
    assert made.file_name == "rapport-badges-A.pdf"
    [(text, image)] = pages(made.data, scale=3)  # about 216 dpi, a phone camera does no better
    assert "甲支行" in text and "王芳" in text and "工号 E1" in text and "李娜" in text
    assert "rapport.example.cn" in text and "张伟" not in text and "郭主管" not in text
    found = {b.text for b in zxingcpp.read_barcodes(image)}
    assert found == {f"{PUBLIC}/s/{qr_token(db, 'E1')}", f"{PUBLIC}/s/{qr_token(db, 'E2')}"}


def test_a_large_branch_gets_eight_badges_a_page_and_an_empty_one_a_clear_refusal(db, world, ctx, people):
    with db.write() as s:
        s.add_all(
            Staff(employee_no=f"N{i:02d}", display_name=f"新员工{i}", branch_id=world.branch_id)
            for i in range(8)
        )
        s.add(Branch(code="C", name_zh="丙支行", name_en="Branch C"))
        s.commit()
        empty = s.exec(select(Branch).where(Branch.code == "C")).one().id
    with db.read() as s:
        sheet = badge_sheet(s, branch_id=world.branch_id, public_url=PUBLIC, locale="en")
        with pytest.raises(ValidationFailed) as info:
            badge_sheet(s, branch_id=empty, public_url=PUBLIC, locale="en")  # type: ignore[arg-type]
    assert info.value.field == "staff"
    rendered = pages(sheet, scale=3)
    assert len(rendered) == 2 and "Scan to rate my\r\nservice" in rendered[0][0]
    assert (
        len(zxingcpp.read_barcodes(rendered[0][1])) == 8 and len(zxingcpp.read_barcodes(rendered[1][1])) == 2
    )


def test_rotating_a_badge_kills_the_old_link_and_is_audited_without_the_token(db, world, ctx, people):
    old = qr_token(db, "E1")
    assert kiosk.load_badge(ctx, old).staff.display_name == "王芳"  # type: ignore[union-attr]
    with pytest.raises(Forbidden):
        documents.rotate_token(ctx, token_for(db, "boss.b"), people["E1"])
    with pytest.raises(Forbidden):
        documents.rotate_token(ctx, token_for(db, "alice"), people["E1"])
    assert qr_token(db, "E1") == old
    documents.rotate_token(ctx, token_for(db, "boss.a"), people["E1"])
    new = qr_token(db, "E1")
    assert new != old
    with pytest.raises(QrTokenUnknown):
        kiosk.load_badge(ctx, old)
    assert kiosk.load_badge(ctx, new).staff.employee_no == "E1"  # type: ignore[union-attr]
    with db.read() as s:
        [event] = s.exec(select(AuditEvent).where(AuditEvent.action == "staff.qr_token_rotate")).all()
        assert (event.entity, event.entity_id, event.actor_staff_id) == (
            "staff",
            str(people["E1"]),
            people["S1"],
        )
        assert old not in str(event.details) and new not in str(event.details)
        assert verify(s).ok
    documents.rotate_token(ctx, token_for(db, "root"), people["E9"])  # an admin, any branch
    with db.write() as s, pytest.raises(StaffNotFound):
        rotate_qr_token(s, staff_id=99999, actor_staff_id=None)


def test_a_rejected_service_star_is_not_printed_as_awarded(db, world, ctx, people):
    with db.write() as s:
        star = propose(
            s,
            staff_id=people["E1"],
            kind=SanctionKind.honorary_title,
            reason="Service Star 2026-10",
            actor_staff_id=None,
            rule="service_star",
            month="2026-10",
            now=NOW,
        )
        decide(s, star.id, approve=False, reason="再观察一个月", actor_staff_id=people["S1"], now=NOW)
        assert star.status == SanctionStatus.rejected
    with db.read() as s:
        text = "".join(
            t
            for t, _ in pages(
                build_report(s, branch_id=world.branch_id, month=OCTOBER, locale="zh-CN", now=NOW)
            )
        )
    assert "本月未评选服务之星" in text and "★" not in text and "已驳回" in text
