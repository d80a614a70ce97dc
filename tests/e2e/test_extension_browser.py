"""Extending a bank branch's reply time in the browser (the bank rule: 15 calendar days, extendable
with approval): the branch's supervisor asks with a reason and cannot approve it, the administrator
approves, the customer's status page shows the extension with its reason and the new due time, and
the audit log holds both steps with who took them."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from sqlmodel import select

from models.audit import AuditEvent
from models.complaint import Complaint, file_complaint, parse_complaint
from models.extension_rows import ComplaintExtension
from models.org import Branch, Counter, Staff
from models.presets import apply_preset
from models.rating import Channel
from rapport.core.i18n import fmt_due
from tests.e2e.conftest import (
    button,
    log_tail,
    open_page,
    reveal,
    screenshot,
    sign_in_admin,
    type_multiline,
)

BRANCH = "BJ-BJ"  # 滨江支行, supervised by sup.binjiang
REASON = "需调取交易流水核实"


@pytest.fixture(scope="module")
def bank_case(server) -> Iterator[tuple[int, str]]:  # type: ignore[no-untyped-def]
    """A complaint at 滨江支行 on the bank preset; the branch's clock rules are put back afterwards."""
    with server.db.write() as s:
        branch = s.exec(select(Branch).where(Branch.code == BRANCH)).one()
        counter = s.exec(select(Counter).where(Counter.code == f"{BRANCH}-01")).one()
        assert branch.id is not None
        apply_preset(s, preset="bank", branch_id=branch.id)
        data = parse_complaint({"category": "2.2.3", "description": "理财赎回迟迟不到账，原因也没讲清楚。"})
        complaint, code, _ = file_complaint(
            s, idempotency_key=f"e2e-extension-{uuid.uuid4()}", data=data, channel=Channel.kiosk,
            branch_id=branch.id, counter_id=counter.id,
        )  # fmt: skip
        assert complaint.id is not None and code is not None
        assert (complaint.promise_unit, complaint.promise_amount) == ("calendar_days", 15)
        branch_id, case = branch.id, (complaint.id, code)
    yield case
    with server.db.write() as s:
        apply_preset(s, preset="generic", branch_id=branch_id)


def open_case(browser, server, login: str, password: str, complaint_id: int, size: str = "tablet"):  # type: ignore[no-untyped-def]
    page = open_page(browser, server.url + "/admin", size)
    sign_in_admin(page, login, password, page.get_by_text("投诉队列", exact=True))
    card = page.get_by_role("button", name=re.compile(rf"^查看投诉 #{complaint_id} "))
    reveal(page, card)
    card.click()
    page.get_by_text(f"投诉 #{complaint_id}", exact=True).wait_for()
    page.get_by_text("答复时限延期", exact=True).wait_for()
    return page


def complaint_of(server, complaint_id: int) -> Complaint:  # type: ignore[no-untyped-def]
    with server.db.read() as s:
        row = s.get(Complaint, complaint_id)
        assert row is not None
        return row


def test_an_extension_is_asked_for_approved_by_another_and_shown_to_the_customer(server, browser, bank_case):
    complaint_id, code = bank_case
    before = complaint_of(server, complaint_id).due_at

    # The branch's supervisor asks, with the reason the customer will read.
    page = open_case(browser, server, "sup.binjiang", "demo-sup.binjiang", complaint_id)
    try:
        type_multiline(page, "延期理由（将告知客户）", REASON)
        button(page, "申请延期（再延 15 日）").click()
        page.get_by_text("延期申请已提交，等待管理员审批。", exact=True).wait_for()
        page.get_by_text("第 1 次延期：再延 15 日 · 待审批", exact=True).wait_for()
        # The reason is read out too (a selectable text would not be in the semantics tree).
        page.get_by_text(f"理由：{REASON}", exact=True).wait_for()
        # The one who asked gets no way to approve it: the panel says who must.
        page.get_by_text("已有延期申请，等待另一位管理员审批。", exact=True).wait_for()
        assert button(page, "批准延期").count() == 0
        screenshot(page, "admin-extension-asked-tablet-zh")
    finally:
        page.context.close()
    assert complaint_of(server, complaint_id).due_at == before, "asking changes nothing yet"

    # The administrator approves on a phone.
    admin = open_case(browser, server, "admin", "demo-admin", complaint_id, "phone")
    try:
        button(admin, "批准延期").click()
        admin.get_by_text(re.compile("^已批准延期")).wait_for()
        admin.get_by_text("第 1 次延期：再延 15 日 · 已批准", exact=True).wait_for()
        screenshot(admin, "admin-extension-approved-phone-zh")
    finally:
        admin.context.close()
    after = complaint_of(server, complaint_id)
    assert after.promise_amount == 30 and after.due_at > before, log_tail(server)

    # The customer reads the extension, its reason and the new due time on their status page.
    due = fmt_due("zh-CN", after.due_at)
    assert due.endswith(" 24:00"), f"a calendar-day period ends at 24:00 of its last day, not {due}"
    customer = open_page(browser, f"{server.url}/t/{code}", "phone")
    try:
        customer.get_by_text(f"承诺30 日内答复（{due} 前）", exact=True).wait_for()
        customer.get_by_text(f"已延长答复时限：{REASON}（新的答复时间：{due} 前）", exact=True).wait_for()
        customer.get_by_text("已延长答复时限", exact=True).wait_for()  # the timeline's entry
        screenshot(customer, "status-extended-phone-zh-CN")
        button(customer, "English").click()
        due_en = fmt_due("en", after.due_at)
        customer.get_by_text(f"Reply time extended: {REASON} (now due by {due_en})", exact=True).wait_for()
        screenshot(customer, "status-extended-phone-en")
    finally:
        customer.context.close()

    with server.db.read() as s:
        ids = {st.username: st.id for st in s.exec(select(Staff)).all()}
        steps = s.exec(
            select(AuditEvent.action, AuditEvent.actor_staff_id).where(
                AuditEvent.entity == "complaint", AuditEvent.entity_id == str(complaint_id)
            )
        ).all()
        mine = select(ComplaintExtension).where(ComplaintExtension.complaint_id == complaint_id)
        [row] = s.exec(mine).all()
    assert ("complaint.extension.request", ids["sup.binjiang"]) in steps
    assert ("complaint.extension.decide", ids["admin"]) in steps
    assert (row.status, row.reason, row.requested_by, row.decided_by) == (
        "approved", REASON, ids["sup.binjiang"], ids["admin"],
    )  # fmt: skip
