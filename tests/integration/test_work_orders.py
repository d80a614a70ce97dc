"""12345 work orders (models/complaint/work_order.py, admin/hotline.py): a hotline entry carrying its
工单号, a work order entered twice refused naming the first, the result record once the complaint is
final, a month's three rates checked against hand-counted figures, and the CSV the hotline gets."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from admin import hotline
from models.audit import AuditEvent
from models.complaint import Complaint, ComplaintStatus, answer_satisfaction, transition
from models.complaint.work_order import (
    WorkOrderMonth,
    WorkOrderState,
    month_work_orders,
    parse_work_order_no,
    work_order_result,
)
from models.errors import Forbidden, IdempotencyConflict, ValidationFailed
from models.policy import set_policy
from models.rating import Rating
from models.scores import Month
from rapport.usecases.work_orders import work_orders_csv
from tests.hotline_desk import complaints, sign_in_hall

NOW = datetime(2025, 3, 7, 7, 0, tzinfo=UTC)  # Friday 15:00 in Shanghai
# With the hall's first-contact clock (1 working day), a call taken then must be answered by
# Monday's close of business: 2025-03-10 17:00 in Shanghai.
RESPOND_BY = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def tokens(db, world, ctx) -> dict[str, str]:
    """The branch A supervisor, a branch A staff member and an administrator, signed in; branch A
    and B run the hall's first-contact clock of one working day."""
    ctx.clock = lambda: NOW
    with db.write() as s:
        signed_in = sign_in_hall(s, world, NOW)
        set_policy(s, values={"first_contact_working_days": 1}, now=NOW)
        return signed_in


def form(**fields) -> dict:
    return {"category": "2.2.2", "description": "12345 转来：柜员态度差", "locale": "zh-CN", **fields}


def enter(ctx, token: str, key: str, number: str | None, at: datetime = NOW, **fields) -> tuple[int, str]:
    ctx.clock = lambda: at
    try:
        return hotline.record_hotline_complaint(
            ctx, token, form=form(work_order_no=number, **fields), idempotency_key=key
        )
    finally:
        ctx.clock = lambda: NOW


def step(db, cid: int, to: ComplaintStatus, at: datetime, **kw) -> None:
    with db.write() as s:
        transition(s, complaint_id=cid, to=to, actor_staff_id=None, now=at, **kw)


def resolve(db, cid: int, at: datetime, reply: str = "已向客户致歉，柜员已复训") -> None:
    step(db, cid, ComplaintStatus.investigating, at)
    step(db, cid, ComplaintStatus.resolved, at, reply=reply, root_cause="服务用语不规范",
         finding="substantiated", about="staff")  # fmt: skip


def grade(db, code: str, value: str, at: datetime) -> None:
    with db.write() as s:
        answer_satisfaction(s, code=code, grade=value, now=at)


# --- entering a work order -----------------------------------------------------------------------


def test_an_entry_keeps_the_work_order_it_came_with_and_one_without_keeps_none(ctx, db, world, tokens):
    first, _ = enter(ctx, tokens["alice"], "h-1", "ｇｄ12345-2025０３０７-0001")  # typed full-width
    second, _ = enter(ctx, tokens["alice"], "h-2", None)
    third, _ = enter(ctx, tokens["alice"], "h-3", "   ")
    rows = {c.id: c for c in complaints(db)}
    assert rows[first].work_order_no == "GD12345-20250307-0001"
    assert rows[second].work_order_no is None and rows[third].work_order_no is None
    with db.read() as s:
        audits = s.exec(select(AuditEvent).where(AuditEvent.action == "complaint.hotline")).all()
    assert [a.details for a in audits] == [{"work_order_no": "GD12345-20250307-0001"}, {}, {}]


@pytest.mark.parametrize(
    "number", ["工单123", "A" * 41, "12 345", "A--1", "-A1", "A1-", "A_1", "A1/2"]
)  # fmt: skip
def test_a_malformed_work_order_number_is_named_on_its_field_and_nothing_is_stored(
    ctx, db, world, tokens, number
):
    with pytest.raises(hotline.HotlineFormInvalid) as info:
        enter(ctx, tokens["boss"], "h-bad", number, score="1")
    assert info.value.errors == {"work_order_no": "work_order_invalid"}
    assert complaints(db) == []
    with db.read() as s:
        assert s.exec(select(Rating)).all() == []


def test_the_number_rules(db):
    assert parse_work_order_no("A" * 40) == "A" * 40
    assert parse_work_order_no(" 2025-0307 ") == "2025-0307"
    assert parse_work_order_no("") is None and parse_work_order_no(None) is None
    with pytest.raises(ValidationFailed) as info:
        parse_work_order_no(12345)
    assert info.value.field == "work_order_no"


def test_a_work_order_entered_twice_is_refused_naming_the_first_and_nothing_is_stored(ctx, db, world, tokens):
    cid, code = enter(ctx, tokens["alice"], "h-1", "WO-7")
    with pytest.raises(hotline.HotlineFormInvalid) as info:
        enter(ctx, tokens["boss"], "h-2", "wo-7", score="1", description="")  # same order, other problems too
    assert info.value.errors == {"work_order_no": "work_order_taken", "description": "description_required"}
    assert info.value.values == {"work_order_no": {"number": "WO-7", "id": cid, "code": code}}
    with pytest.raises(hotline.HotlineFormInvalid) as info:
        enter(ctx, tokens["root"], "h-3", "WO-7", branch_id=str(world.other_branch_id))  # another branch
    assert info.value.errors == {"work_order_no": "work_order_taken"}
    assert [c.id for c in complaints(db)] == [cid]
    with db.read() as s:
        assert s.exec(select(Rating)).all() == [], "the refused entry's rating is not kept either"
    # The message names the complaint and its code in both languages.
    from rapport.core.i18n import t

    values = info.value.values["work_order_no"]
    assert t("zh-CN", "admin.hotline.error.work_order_taken", **values) == (
        f"工单 WO-7 已登记为投诉 #{cid}（查询码 {code}）。请在投诉处理中跟进该投诉，不要重复登记。"
    )
    assert f"complaint #{cid} (tracking code {code})" in t(
        "en", "admin.hotline.error.work_order_taken", **values
    )


def test_a_retry_of_the_same_entry_is_not_a_second_work_order(ctx, db, world, tokens):
    first = enter(ctx, tokens["boss"], "h-1", "WO-8", score="2")
    assert enter(ctx, tokens["boss"], "h-1", "WO-8", score="2") == first
    with pytest.raises(IdempotencyConflict):
        enter(ctx, tokens["boss"], "h-1", "WO-9", score="2")  # the same key for another work order
    assert len(complaints(db)) == 1
    with db.read() as s:
        assert len(s.exec(select(Rating)).all()) == 1


def test_two_entries_of_one_work_order_at_once_store_one(ctx, db, world, tokens, monkeypatch):
    """The second entry passes the check before the first is stored: the unique index refuses it,
    and the refusal is the same, with its rating rolled back."""
    cid, code = enter(ctx, tokens["boss"], "h-1", "WO-RACE")
    real = hotline.check_work_order_free
    calls: list[str] = []

    def late(session, number, **kw):  # the first check of the second entry sees nothing yet
        calls.append(number)
        if len(calls) > 1:
            real(session, number, **kw)

    monkeypatch.setattr(hotline, "check_work_order_free", late)
    with pytest.raises(hotline.HotlineFormInvalid) as info:
        enter(ctx, tokens["alice"], "h-2", "WO-RACE", score="1")
    assert info.value.errors == {"work_order_no": "work_order_taken"} and len(calls) == 2
    assert info.value.values["work_order_no"]["code"] == code
    assert [c.id for c in complaints(db)] == [cid]
    with db.read() as s:
        assert s.exec(select(Rating)).all() == []


# --- the result record ---------------------------------------------------------------------------


def test_closing_the_complaint_produces_the_result_record(ctx, db, world, tokens):
    cid, code = enter(ctx, tokens["boss"], "h-1", "WO-1")
    with db.read() as s:
        open_ = work_order_result(s, cid, code_secret=ctx.secret_key)
        assert s.get(Complaint, cid).first_contact_due_at == RESPOND_BY  # type: ignore[union-attr]
    assert open_ is not None and not open_.final and open_.state is WorkOrderState.awaiting_contact
    assert (open_.responded, open_.resolved, open_.closed_at) == (False, False, None)

    step(db, cid, ComplaintStatus.acknowledged, NOW + timedelta(hours=1))
    resolve(db, cid, NOW + timedelta(days=1))
    closed_at = NOW + timedelta(days=2)
    grade(db, code, "satisfied", closed_at)
    with db.read() as s:
        record = work_order_result(s, cid, code_secret=ctx.secret_key)
    assert record is not None and record.final and record.state is WorkOrderState.closed
    assert (record.work_order_no, record.complaint_id, record.tracking_code) == ("WO-1", cid, code)
    assert record.first_contact_at == NOW + timedelta(hours=1) and record.respond_by == RESPOND_BY
    assert (record.responded, record.resolved, record.grade, record.satisfied) == (
        True,
        True,
        "satisfied",
        True,
    )
    assert record.closed_at == closed_at and record.reply == "已向客户致歉，柜员已复训"
    assert (record.branch_id, record.branch_code, record.branch_name_zh) == (world.branch_id, "A", "甲支行")

    # Reopened by a supervisor, it owes the hotline nothing until it is final again.
    step(db, cid, ComplaintStatus.investigating, closed_at + timedelta(hours=1))
    with db.read() as s:
        again = work_order_result(s, cid, code_secret=ctx.secret_key)
    assert again is not None and not again.final and again.closed_at is None and not again.resolved
    plain, _ = enter(ctx, tokens["boss"], "h-2", None)
    with db.read() as s:
        assert work_order_result(s, plain, code_secret=ctx.secret_key) is None


def test_a_late_first_contact_is_not_a_response_and_a_rejection_is_not_a_resolution(ctx, db, world, tokens):
    late, _ = enter(ctx, tokens["boss"], "h-1", "WO-LATE")
    step(db, late, ComplaintStatus.acknowledged, RESPOND_BY + timedelta(minutes=1))
    turned, _ = enter(ctx, tokens["boss"], "h-2", "WO-NO")
    step(db, turned, ComplaintStatus.rejected, RESPOND_BY, reply="不属于本厅受理范围，已告知客户")
    with db.read() as s:
        a = work_order_result(s, late, code_secret=ctx.secret_key)
        b = work_order_result(s, turned, code_secret=ctx.secret_key)
    assert a is not None and (a.responded, a.state) == (False, WorkOrderState.in_progress)
    assert b is not None and b.final and b.state is WorkOrderState.rejected
    assert (b.responded, b.resolved, b.closed_at) == (True, False, RESPOND_BY), (
        "answered by the deadline itself"
    )


# --- a month of work orders -----------------------------------------------------------------------


@pytest.fixture
def march(ctx, db, world, tokens) -> dict[str, tuple[int, str]]:
    """Branch A's March 2025, by hand:

    ====  ==============================  =========  ========  =========
    order what happened                   responded  resolved  satisfied
    ====  ==============================  =========  ========  =========
    A     contacted in 1 h, closed 满意    yes        yes       yes
    B     contacted late, closed 基本满意  no         yes       yes
    C     rejected in time                yes        no        (not graded)
    D     nobody has called back yet      no         no        (not graded)
    E     contacted in time, graded 不满意 yes        no        no
    ====  ==============================  =========  ========  =========

    Responded 3/5, resolved 2/5, satisfied 2 of the 3 graded. Left out: an entry without a work
    order, a work order of February (28 Feb 23:30 in Shanghai), one of branch B (WO-OTHER).
    """
    boss, root = tokens["boss"], tokens["root"]
    made = {n: enter(ctx, boss, f"h-{n}", f"WO-{n}") for n in "ABCDE"}
    step(db, made["A"][0], ComplaintStatus.acknowledged, NOW + timedelta(hours=1))
    resolve(db, made["A"][0], NOW + timedelta(days=1))
    grade(db, made["A"][1], "satisfied", NOW + timedelta(days=2))
    step(db, made["B"][0], ComplaintStatus.acknowledged, RESPOND_BY + timedelta(hours=2))
    resolve(db, made["B"][0], RESPOND_BY + timedelta(days=1))
    grade(db, made["B"][1], "fairly", RESPOND_BY + timedelta(days=2))
    step(db, made["C"][0], ComplaintStatus.rejected, NOW + timedelta(hours=3), note="重复来电，已合并处理")
    step(db, made["E"][0], ComplaintStatus.acknowledged, NOW + timedelta(hours=4))
    resolve(db, made["E"][0], NOW + timedelta(days=1), reply="请致电 13912345678 联系我们")
    grade(db, made["E"][1], "dissatisfied", NOW + timedelta(days=2))
    enter(ctx, boss, "h-plain", None)
    enter(ctx, boss, "h-feb", "WO-FEB", at=datetime(2025, 2, 28, 15, 30, tzinfo=UTC))
    enter(ctx, root, "h-other", "WO-OTHER", branch_id=str(world.other_branch_id))
    return made


def test_the_months_rates_are_the_hand_counted_ones(ctx, db, world, tokens, march):
    got = hotline.work_orders(ctx, tokens["boss"], month="2025-03")
    assert [o.work_order_no for o in got.orders] == ["WO-A", "WO-B", "WO-C", "WO-D", "WO-E"]
    assert [o.state for o in got.orders] == [
        WorkOrderState.closed, WorkOrderState.closed, WorkOrderState.rejected,
        WorkOrderState.awaiting_contact, WorkOrderState.in_progress,
    ]  # fmt: skip
    assert (got.responded.count, got.responded.of) == (3, 5)
    assert (got.resolved.count, got.resolved.of) == (2, 5)
    assert (got.satisfied.count, got.satisfied.of) == (2, 3)
    assert [o.tracking_code for o in got.orders] == [march[n][1] for n in "ABCDE"]

    from admin.screens.work_orders import rate_text

    assert [rate_text("zh-CN", r) for r in (got.responded, got.resolved, got.satisfied)] == [
        "3/5 (60%)", "2/5 (40%)", "2/3 (66.7%)",
    ]  # fmt: skip
    empty = hotline.work_orders(ctx, tokens["boss"], month="2025-01")
    assert (
        empty.orders == ()
        and rate_text("en", empty.responded) == "–"
        and rate_text("en", empty.satisfied) == "–"
    )
    assert [o.work_order_no for o in hotline.work_orders(ctx, tokens["boss"], month="2025-02").orders] == [
        "WO-FEB"
    ]
    # An administrator sees every branch, or the one asked for.
    everywhere = hotline.work_orders(ctx, tokens["root"], month="2025-03")
    assert [(o.work_order_no, o.branch_code) for o in everywhere.orders] == [
        ("WO-A", "A"), ("WO-B", "A"), ("WO-C", "A"), ("WO-D", "A"), ("WO-E", "A"), ("WO-OTHER", "B"),
    ]  # fmt: skip
    only_b = hotline.work_orders(ctx, tokens["root"], month="2025-03", branch_id=world.other_branch_id)
    assert [(o.work_order_no, o.branch_code) for o in only_b.orders] == [("WO-OTHER", "B")]


def test_the_month_is_the_same_figure_the_model_gives_and_drifts_with_the_complaint(
    ctx, db, world, tokens, march
):
    with db.read() as s:
        direct = month_work_orders(
            s, Month(2025, 3), branch_ids=[world.branch_id], code_secret=ctx.secret_key
        )
    assert direct == hotline.work_orders(ctx, tokens["boss"], month="2025-03")
    # D is answered and closed later: the record follows the complaint, nothing to update by hand.
    cid, code = march["D"]
    step(db, cid, ComplaintStatus.acknowledged, NOW + timedelta(hours=2))
    resolve(db, cid, NOW + timedelta(days=3))
    grade(db, code, "satisfied", NOW + timedelta(days=4))
    later = hotline.work_orders(ctx, tokens["boss"], month="2025-03")
    assert (later.responded.count, later.resolved.count, later.satisfied.count, later.satisfied.of) == (
        4,
        3,
        3,
        4,
    )


def test_the_csv_has_one_row_per_work_order_with_the_numerators(ctx, db, world, tokens, march):
    download = hotline.work_orders_export(ctx, tokens["boss"], month="2025-03", locale="zh-CN")
    assert download.file_name == "rapport-work-orders-A-2025-03.csv"
    assert download.data.startswith("\ufeff".encode()) and b"\r\n" in download.data
    rows = list(csv.reader(io.StringIO(download.data.decode("utf-8-sig"))))
    assert rows[0] == [
        "工单号", "状态", "承办网点代码", "承办网点", "受理时间", "首次联系时间", "响应时限",
        "按时响应", "已解决", "满意", "客户评价", "办结时间", "答复内容",
    ]  # fmt: skip
    body = rows[1:]
    assert [r[0] for r in body] == ["WO-A", "WO-B", "WO-C", "WO-D", "WO-E"]
    assert not any(march[n][1] in ",".join(r) for r in body for n in "ABCDE"), "no tracking code in the file"
    assert [(r[7], r[8], r[9]) for r in body] == [
        ("1", "1", "1"), ("0", "1", "1"), ("1", "0", ""), ("0", "0", ""), ("1", "0", "0"),
    ]  # fmt: skip
    assert [r[1] for r in body] == ["已办结", "已办结", "不予受理", "待首次联系", "办理中"]
    assert [r[10] for r in body] == ["满意", "基本满意", "", "", "不满意"]
    a = body[0]
    assert (a[2], a[3], a[4], a[5], a[6]) == (
        "A", "甲支行", "2025-03-07T15:00:00+08:00", "2025-03-07T16:00:00+08:00", "2025-03-10T17:00:00+08:00",
    )  # fmt: skip
    assert a[11] == "2025-03-09T15:00:00+08:00" and a[12] == "已向客户致歉，柜员已复训"
    assert body[3][11] == "" and body[3][5] == "", "an open order has no closing time or first contact"
    assert "13912345678" not in download.data.decode("utf-8-sig"), "contact data in a reply is masked"
    # The three numerators are the sums of their columns.
    assert [sum(int(r[i] or 0) for r in body) for i in (7, 8, 9)] == [3, 2, 2]
    with db.read() as s:
        [entry] = s.exec(select(AuditEvent).where(AuditEvent.action == "document.download")).all()
    assert entry.details == {"document": "work_orders", "month": "2025-03"}
    english = hotline.work_orders_export(ctx, tokens["boss"], month="2025-03", locale="en").data
    header = next(csv.reader(io.StringIO(english.decode("utf-8-sig"))))
    assert header[:3] == ["Work order", "State", "Branch code"] and "Fairly satisfied" in english.decode()


def test_an_empty_month_is_a_header_only(ctx, db, world, tokens):
    data = work_orders_csv(WorkOrderMonth("2025-03", ()), locale="en")
    assert data.decode("utf-8-sig").count("\r\n") == 1


def test_who_may_see_the_work_orders(ctx, db, world, tokens, march):
    with pytest.raises(Forbidden):
        hotline.work_orders(ctx, tokens["alice"], month="2025-03")
    with pytest.raises(Forbidden):
        hotline.work_orders_export(ctx, tokens["alice"], month="2025-03", locale="zh-CN")
    with pytest.raises(Forbidden):
        hotline.work_orders(ctx, tokens["boss"], month="2025-03", branch_id=world.other_branch_id)
    for bad in ("2025-3x", "2025-04"):  # not a month; a month not yet begun (NOW is in March)
        with pytest.raises(ValidationFailed) as info:
            hotline.work_orders(ctx, tokens["boss"], month=bad)
        assert info.value.field == "month"
    with db.read() as s:
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "document.download")).all() == []
