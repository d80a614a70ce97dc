"""The ledger and people sections in process, on October 2026 at branch A (tests/ledger_world.py):
the supervisor runs the evaluation, approves the Service Star and rejects the warning, each with a
reason (a missing reason is said on the card and changes nothing), proposes by hand, decides an
appeal, and opens a personal file from the leaderboard. Each step is checked on screen and in the
database."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from models.policy import set_policy
from models.rating import Rating
from models.sanction import Appeal, Sanction
from rapport.core.context import AppContext
from tests.ledger_world import APPEALED_COMMENT, NOW, PASSWORD, LedgerWorld, seed

sys.path.insert(0, str(Path(__file__).resolve().parent))  # no __init__.py here
from admin_support import Open, admin_tabs, open_section, sign_in  # noqa: E402
from harness import FletHarness  # noqa: E402


@pytest.fixture
async def open_admin(ctx: AppContext) -> AsyncIterator[Open]:
    ctx.clock = lambda: NOW
    async with admin_tabs(ctx) as open_:
        yield open_


@pytest.fixture
def lw(db, world) -> LedgerWorld:
    return seed(db, world)


async def signed_in(open_admin: Open, section: str, *, width: float = 1280) -> FletHarness:
    h = await open_admin(width=width)
    await sign_in(h, "boss.a", PASSWORD)
    await open_section(h, section)
    return h


async def choose(h: FletHarness, key: str, value: str) -> None:
    """Pick a dropdown option as the client does: the new value, then a "select" event."""
    await h.fill(key, value)
    await h.event(key, "select", value)


def sanctions(db) -> dict[tuple[str, str], Sanction]:
    """(employee no, kind) -> the ledger entry."""
    from models.org import Staff

    with db.read() as s:
        names = {p.id: p.employee_no for p in s.exec(select(Staff)).all()}
        return {(names[r.staff_id], str(r.kind)): r for r in s.exec(select(Sanction)).all()}


async def test_a_supervisor_evaluates_october_and_decides_two_proposals_each_with_a_reason(
    open_admin, lw, db
):
    h = await signed_in(open_admin, "ledger")
    assert h.exists("proposals-empty") and h.find("eval-month").value == "2026-10"
    assert not h.exists("eval-branch")  # a supervisor evaluates their own branch only

    await choose(h, "eval-month", "2026-11")
    await h.click("eval-run")
    assert h.find("ledger-message").value == "2026年11月尚未结束，请选择已结束的月份进行评估。"
    assert sanctions(db) == {}

    await choose(h, "eval-month", "2026-10")
    await h.click("eval-run")
    assert h.find("ledger-message").value == "甲支行2026年10月：新增 3 项提议，另有 0 项此前已提出。"
    rows = sanctions(db)
    title, warning = rows[("E1", "honorary_title")], rows[("E2", "warning")]
    assert h.find("ledger-tab-proposals").content.value == "待决定（3）"

    # The evidence beside each decision: figures for the reward; complaints and inspection for the penalty.
    assert h.find(f"proposal-{title.id}-figures").value.startswith("评价 25 条 · 平均 5.00 · 公平得分 4.87")
    complaint = lw.complaints[0]
    assert h.find(f"proposal-{warning.id}-complaint-{complaint}").value.startswith(
        f"投诉 #{complaint} · 2.2.1 热情礼貌 · 待客户确认 · 2026年10月7日"
    )
    assert h.find(f"proposal-{warning.id}-inspection-{lw.inspection}").value == (
        f"检查 #{lw.inspection} · 2026年10月15日 · 违反 2.2.3 主动高效"
    )
    assert h.has_text("依据条款：2.2.1 热情礼貌 · 2.2.2 耐心细致 · 2.2.3 主动高效 · 4.2.1 警告批评")

    # No reason: said on the card, nothing decided.
    await h.click(f"decide-{title.id}-approve")
    assert h.find(f"decide-{title.id}-reason").error == "请填写决定理由（至少 4 个字）。"
    assert sanctions(db)[("E1", "honorary_title")].status == "proposed"
    # Too short for the model: the same message, still nothing decided.
    await h.fill(f"decide-{title.id}-reason", "同意")
    await h.click(f"decide-{title.id}-approve")
    assert h.find(f"decide-{title.id}-reason").error == "请填写决定理由（至少 4 个字）。"
    assert sanctions(db)[("E1", "honorary_title")].status == "proposed"

    await h.fill(f"decide-{title.id}-reason", "十月全支行评价最高，同意授予")
    await h.click(f"decide-{title.id}-approve")
    assert h.find("ledger-message").value == f"提议 #{title.id} 已批准。"
    await h.fill(f"decide-{warning.id}-reason", "投诉已在十月处理，先行提醒即可")
    await h.click(f"decide-{warning.id}-reject")
    assert h.find("ledger-message").value == f"提议 #{warning.id} 已驳回。"
    rows = sanctions(db)
    assert (rows[("E1", "honorary_title")].status, rows[("E1", "honorary_title")].decision_reason) == (
        "approved",
        "十月全支行评价最高，同意授予",
    )
    assert (rows[("E2", "warning")].status, rows[("E2", "warning")].decision_reason) == (
        "rejected",
        "投诉已在十月处理，先行提醒即可",
    )
    assert not h.exists(f"proposal-{title.id}") and h.exists(f"proposal-{rows[('E1', 'bonus')].id}")

    # The ledger list: filtered to rejected, the warning opens to its history.
    await h.click("ledger-tab-list")
    await choose(h, "ledger-status", "rejected")
    assert h.exists(f"entry-{warning.id}") and not h.exists(f"entry-{title.id}")
    await h.click(f"entry-{warning.id}-toggle")
    assert h.find(f"entry-{warning.id}-step-0").value.startswith("提议 · 月度评估 · ")
    assert h.find(f"entry-{warning.id}-step-1").value.startswith("驳回 · 郭主管 · ")
    assert h.find(f"entry-{warning.id}-step-1-note").value == "投诉已在十月处理，先行提醒即可"


async def test_a_proposal_by_hand_is_checked_and_its_author_cannot_decide_it(open_admin, lw, db):
    h = await signed_in(open_admin, "ledger")
    await h.click("ledger-tab-propose")
    await h.click("propose-submit")
    assert h.find("ledger-message").value == "请修改标出的内容。"
    assert h.find("propose-staff").error_text == "请选择员工。"
    assert h.find("propose-kind").error_text == "请选择奖惩类别。"
    assert h.find("propose-reason").error == "请填写提议理由（至少 4 个字）。"
    assert not h.exists("propose-amount")

    await choose(h, "propose-staff", str(lw.staff["E2"]))
    # Fines are off by default (no legal basis): not offered; a deduction is.
    assert "fine" not in [o.key for o in h.find("propose-kind").options]
    await choose(h, "propose-kind", "deduction")
    await h.fill("propose-reason", "违规向客户收取材料费")
    await h.fill("propose-amount", "十元")
    await h.click("propose-submit")
    assert h.find("propose-amount").error == "请填写金额（元），为 1 至 1,000,000 之间的整数。"
    assert sanctions(db) == {}

    await h.fill("propose-amount", "300")
    await choose(h, "propose-clause", "2.1.2")
    await h.click("propose-add-clause")
    assert h.exists("propose-clause-2.1.2")
    await h.click("propose-submit")
    fine = sanctions(db)[("E2", "deduction")]
    assert h.find("ledger-message").value == f"提议 #{fine.id} 已提交，等待决定。"
    assert (fine.amount_yuan, fine.clauses, fine.reason, fine.status) == (
        300,
        ["2.1.2", "4.2.2"],
        "违规向客户收取材料费",
        "proposed",
    )
    assert h.find("propose-reason").value == ""  # the form is fresh for the next one

    await h.click("ledger-tab-proposals")
    assert h.find(f"proposal-{fine.id}-own").value == "这是您本人提出的提议，须由其他主管或管理员决定。"
    await h.fill(f"decide-{fine.id}-reason", "我同意我自己")
    await h.click(f"decide-{fine.id}-approve")
    assert h.find(f"decide-{fine.id}-reason").error == "这是您本人提出的提议，须由其他主管或管理员决定。"
    assert sanctions(db)[("E2", "deduction")].status == "proposed"


async def test_a_supervisor_overturns_an_appealed_rating_with_a_reason(open_admin, lw, db):
    h = await signed_in(open_admin, "ledger")
    assert h.find("ledger-tab-appeals").content.value == "申诉（1）"
    await h.click("ledger-tab-appeals")
    assert h.find(f"appeal-{lw.appeal}-rating").value.startswith(
        "被申诉的评价：1 分（满分 5 分）· 2026年11月20日"
    )
    assert h.find(f"appeal-{lw.appeal}-rating").value.endswith("· 1号窗口")
    assert h.has_text(f"评价留言：{APPEALED_COMMENT}") and h.has_text("评价原因：2.2.1 热情礼貌")

    await h.click(f"appeal-{lw.appeal}-overturn")
    assert h.find(f"appeal-{lw.appeal}-reason").error == "请填写决定理由（至少 4 个字）。"
    with db.read() as s:
        assert s.get(Appeal, lw.appeal).status == "open"  # type: ignore[union-attr]

    await h.fill(f"appeal-{lw.appeal}-reason", "监控显示该时段此窗口无客户")
    await h.click(f"appeal-{lw.appeal}-overturn")
    assert h.find("ledger-message").value == f"申诉 #{lw.appeal} 已决定：予以撤销。"
    assert h.exists("appeals-empty")
    with db.read() as s:
        rating = s.get(Rating, lw.appealed_rating)
        appeal = s.get(Appeal, lw.appeal)
    assert rating is not None and (rating.overturned, rating.counted) == (True, False)
    assert appeal is not None and (appeal.status, appeal.decision_reason) == (
        "overturned",
        "监控显示该时段此窗口无客户",
    )


async def test_the_leaderboard_opens_a_personal_file_and_comes_back(open_admin, lw, db):
    h = await signed_in(open_admin, "people")
    assert h.find("board-month").value == "2026-11"
    assert h.exists("board-empty")  # in November nobody has 20 ratings yet
    await choose(h, "board-month", "2026-10")
    assert h.find("board-summary").value == "甲支行2026年10月：共 47 条评价，平均 4.53 分"
    assert h.find("board-how").value.startswith("公平得分的算法")
    e1, e2 = lw.staff["E1"], lw.staff["E2"]
    assert h.find(f"board-{e1}").tooltip == "打开王芳的个人档案"
    texts = h.texts()
    assert (
        texts.index("第 1 名") < texts.index("王芳 (E1)") < texts.index("第 2 名") < texts.index("李娜 (E2)")
    )

    await h.click(f"board-{e2}")
    assert h.find("file-name").value == "李娜" and h.find("file-month").value == "2026-10"
    assert h.find("file-month-line").value.startswith("2026年10月：评价 22 条 · 平均 4.00 · 公平得分 4.17")
    assert h.find("file-standing").value.startswith("本支行第 2 名（共 2 人排名）")
    for complaint in lw.complaints:
        assert h.exists(f"file-complaint-{complaint}")
    assert h.exists(f"file-inspection-{lw.inspection}") and h.has_text("2.2.3 主动高效: 违反 · 长时间离岗")
    assert not h.has_text("13812345678") and not h.has_text("办理业务时态度冷淡")

    await h.click("file-back")
    assert h.exists(f"board-{e1}") and h.find("board-month").value == "2026-10"


async def test_the_sections_fit_a_phone_and_switch_to_english(open_admin, lw):
    h = await signed_in(open_admin, "ledger", width=390)
    await h.click("lang")
    assert h.find("ledger-tab-proposals").content.value == "Proposals (0)"
    assert h.has_text("Monthly evaluation") and h.find("eval-month").options[1].text == "October 2026"
    await open_section(h, "people")
    await choose(h, "board-month", "2026-10")
    assert h.find("board-summary").value == "Branch A, October 2026: 47 ratings, average 4.53"
    assert h.find(f"board-{lw.staff['E1']}").tooltip == "Open the personal file of 王芳"


async def test_an_administrator_picks_the_branch_to_evaluate(open_admin, lw, db):
    h = await open_admin()
    await sign_in(h, "root", PASSWORD)
    await open_section(h, "ledger")
    assert h.find("eval-branch").value is None
    await h.click("eval-run")
    assert h.find("ledger-message").value == "请先选择支行。"
    assert sanctions(db) == {}
    # E9 is all of branch B's ranking, so at its mean: relative to the branch nobody stands out there.
    await choose(h, "eval-branch", str(lw_branch(db, "E9")))
    await h.click("eval-run")
    assert h.find("ledger-message").value == "乙支行2026年10月：新增 0 项提议，另有 0 项此前已提出。"
    # On the fixed lines E9's 25 ratings of 5 clear 4.5: the Service Star title and bonus (the rules
    # saved before October began: a month is evaluated under the version published by then).
    with db.write() as s:
        set_policy(
            s, values={"reward_basis": "absolute"}, branch_id=lw_branch(db, "E9"),
            now=datetime(2026, 9, 30, 8, 0, tzinfo=UTC),
        )  # fmt: skip
    await h.click("eval-run")
    assert h.find("ledger-message").value == "乙支行2026年10月：新增 2 项提议，另有 0 项此前已提出。"
    assert set(sanctions(db)) == {("E9", "honorary_title"), ("E9", "bonus")}


def lw_branch(db, employee_no: str) -> int:
    from models.org import Staff

    with db.read() as s:
        person = s.exec(select(Staff).where(Staff.employee_no == employee_no)).one()
        assert person.branch_id is not None
        return person.branch_id
