"""My page (admin/screens/me.py) in process: counter staff member 王芳 signs in, opens "my page" and
reads her own fair score; acknowledges a warning; is told exactly what is wrong with a too-short
rectification report (and nothing is stored) before filing a proper one; and appeals a rating. Her
colleague 李娜's comment, complaint and records never appear, nor a customer's phone number."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from babel.numbers import format_decimal
from sqlmodel import select

from admin.screens.me_rules import plain_words
from models.complaint import ComplaintCreate, file_complaint
from models.crypto import hash_secret
from models.org import Staff
from models.policy import PolicyRevision, PolicyValues, record_adoption, set_policy
from models.rating import Channel, RatingCreate, submit_rating
from models.sanction import Appeal, Sanction, SanctionStatus, decide, propose
from models.scores import Month, profile
from rapport.core.context import AppContext
from rapport.core.i18n import t

sys.path.insert(0, str(Path(__file__).resolve().parent))  # no __init__.py here
from admin_support import PASSWORD, Open, admin_tabs, sign_in  # noqa: E402
from harness import FletHarness  # noqa: E402

NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
PHONE = "13812345678"
REPORT = "那天排队的人很多，我没有耐心解释。以后我会先说明等待原因，并请同事协助分流。"


@pytest.fixture
async def open_admin(ctx: AppContext) -> AsyncIterator[Open]:
    """The admin app at a fixed moment, so appeal windows and the month are known."""
    async with admin_tabs(dataclasses.replace(ctx, clock=lambda: NOW)) as open_:
        yield open_


@pytest.fixture
def page(db, world) -> dict[str, object]:
    """王芳 (alice) and 李娜 (bob) of branch A with ratings, a complaint each, and for alice an approved
    warning and an approved deduction; supervisor S1 proposed them and administrator A0 approved."""
    with db.write() as s:
        people = {p.employee_no: p for p in s.exec(select(Staff)).all()}
        for number, login in (("E1", "alice"), ("E2", "bob"), ("S1", "boss.a")):
            people[number].username, people[number].password_hash = login, hash_secret(PASSWORD)
        root = Staff(employee_no="A0", display_name="管理员", role="admin")
        s.add(root)
        s.commit()
        alice, bob, boss = people["E1"].id, people["E2"].id, people["S1"].id
        assert alice and bob and boss and root.id
        ratings = {}
        for who, number, comment in ((alice, "E1", "等了很久也没人解释原因"), (bob, "E2", "李娜态度很冷淡")):
            for i in range(22):
                submit_rating(
                    s,
                    idempotency_key=f"{number}-{i}",
                    data=RatingCreate(score=5 - i % 3),
                    channel=Channel.kiosk,
                    branch_id=world.branch_id,
                    staff_id=who,
                    now=NOW - timedelta(days=1, minutes=i),
                )
            rating, _ = submit_rating(
                s,
                idempotency_key=f"{number}-low",
                channel=Channel.qr,
                branch_id=world.branch_id,
                data=RatingCreate(score=1, reasons=["2.2.2"], comment=f"{comment}，回电 {PHONE}"),
                staff_id=who,
                phone="digest-of-a-phone",
                now=NOW - timedelta(hours=2),
            )
            ratings[number] = str(rating.id)
            complaint = ComplaintCreate(
                category="2.2.2", description=f"{comment}（投诉）", contact=PHONE, consent=True
            )
            file_complaint(
                s,
                idempotency_key=f"{number}-complaint",
                data=complaint,
                channel=Channel.kiosk,
                branch_id=world.branch_id,
                counter_id=world.counter_id,
                staff_id=who,
                now=NOW - timedelta(days=2),
            )
        entries = {}
        for kind, amount in (("warning", None), ("deduction", 200)):
            for who, number in ((alice, "E1"), (bob, "E2")):
                row = propose(
                    s,
                    staff_id=who,
                    kind=kind,
                    reason=f"{number} 多次投诉属实",
                    clauses=["2.2.2"],
                    amount_yuan=amount,
                    actor_staff_id=boss,
                    now=NOW - timedelta(days=3),
                )
                assert row.id is not None
                decide(
                    s,
                    row.id,
                    approve=True,
                    reason="证据充分",
                    actor_staff_id=root.id,
                    now=NOW - timedelta(days=2),
                )
                entries[f"{number}-{kind}"] = row.id
    return {"ids": {"alice": alice, "bob": bob}, "ratings": ratings, "entries": entries}


def stored(db, sanction_id: int) -> Sanction:
    with db.read() as s:
        row = s.get(Sanction, sanction_id)
        assert row is not None
        return row


async def my_page(open_admin: Open, login: str = "alice", **size: float) -> FletHarness:
    h = await open_admin(**size)
    await sign_in(h, login)
    await h.click("nav-me")
    return h


def inside(h: FletHarness, key: str, outer: str) -> bool:
    """Is the control ``key`` drawn inside the control ``outer`` (a card)?"""
    node = h.find(key).parent
    while node is not None and getattr(node, "key", None) != outer:
        node = node.parent
    return node is not None


def no_leaks(h: FletHarness) -> None:
    shown = " ".join(h.texts())
    for secret in ("李娜", "E2 多次投诉属实", PHONE, "digest-of-a-phone"):
        assert secret not in shown, secret


async def test_a_staff_member_reads_their_own_score_and_nothing_of_a_colleague(open_admin, page, db):
    h = await my_page(open_admin)
    with db.read() as s:
        mine = profile(s, page["ids"]["alice"], Month(2026, 11))
    assert mine.current.n == 23 and mine.current.ranked
    assert h.find("me-score").value == format_decimal(round(mine.current.score, 2), "0.00", locale="zh_CN")
    assert h.find("me-standing").value == t("zh-CN", "me.scores.rank", rank=mine.rank, of=2)
    assert h.find("me-who").value == "王芳 · E1 · 甲支行"
    for tab in ("scores", "comments", "complaints", "records"):
        await h.click(f"me-tab-{tab}")
        no_leaks(h)
    await h.click("me-tab-comments")
    assert h.has_text("等了很久也没人解释原因，回电 ***")
    await h.click("me-tab-complaints")
    assert h.has_text("客户描述：等了很久也没人解释原因（投诉）")


async def test_a_staff_member_acknowledges_a_warning(open_admin, page, db):
    warning = page["entries"]["E1-warning"]
    h = await my_page(open_admin)
    await h.click("me-tab-records")
    assert h.exists(f"me-record-{warning}")
    await h.click(f"me-record-{warning}-ack")
    assert stored(db, warning).status == SanctionStatus.closed
    assert h.find("me-message").value == t("zh-CN", "me.done.acknowledge")
    assert inside(h, "me-message", f"me-record-{warning}"), "the answer shows where she tapped"
    assert not h.exists(f"me-record-{warning}-ack") and h.exists(f"me-record-{warning}-appeal")
    # The colleague's warning is untouched.
    assert stored(db, page["entries"]["E2-warning"]).status == SanctionStatus.approved


async def test_a_too_short_report_is_explained_and_changes_nothing(open_admin, page, db):
    deduction = page["entries"]["E1-deduction"]
    h = await my_page(open_admin)
    await h.click("me-tab-records")
    assert not h.exists(f"me-record-{deduction}-report"), "the report is due once the penalty is acknowledged"
    await h.click(f"me-record-{deduction}-ack")
    assert stored(db, deduction).status == SanctionStatus.acknowledged

    await h.click(f"me-record-{deduction}-report")
    await h.fill("me-form-text", "我错了。")
    await h.click("me-form-submit")
    assert h.find("me-form-text").error == t("zh-CN", "me.error.report", min=20)
    assert h.find("me-form-text").value == "我错了。", "the draft is kept"
    assert h.find("me-message").value == t("zh-CN", "me.error.fix")
    row = stored(db, deduction)
    assert row.status == SanctionStatus.acknowledged and row.report is None

    await h.fill("me-form-text", REPORT)
    await h.click("me-form-submit")
    row = stored(db, deduction)
    assert row.status == SanctionStatus.closed and row.report == REPORT
    assert not h.exists("me-form-text") and h.has_text(REPORT)
    assert h.find("me-message").value == t("zh-CN", "me.done.report")


async def test_a_staff_member_appeals_a_rating_and_sees_it_waiting(open_admin, page, db):
    rating = page["ratings"]["E1"]
    h = await my_page(open_admin)
    await h.click("me-tab-comments")
    await h.click(f"me-comment-{rating}-appeal")
    await h.click("me-form-submit")
    assert h.find("me-form-text").error == t("zh-CN", "me.error.statement", min=4)
    with db.read() as s:
        assert s.exec(select(Appeal)).all() == []

    await h.fill("me-form-text", "这位客户是同事接待的，不是我。")
    await h.click("me-form-submit")
    with db.read() as s:
        [appeal] = s.exec(select(Appeal)).all()
    assert str(appeal.rating_id) == rating and appeal.staff_id == page["ids"]["alice"]
    status = h.find(f"me-comment-{rating}-appeal-status").value
    assert status.startswith("已于 ") and status.endswith("提交申诉，等待裁决")
    assert not h.exists(f"me-comment-{rating}-appeal")


async def test_my_page_is_in_english_too_and_fits_a_phone(open_admin, page):
    h = await my_page(open_admin, width=390, height=844)
    await h.click("lang")
    assert h.find("me-standing").value.startswith("Rank 1 of 2")
    await h.click("me-tab-records")
    assert h.has_text("Warning") and h.has_text("Pay deduction ¥200")
    no_leaks(h)


async def test_the_next_person_on_the_same_tab_sees_only_their_own_page(open_admin, page):
    h = await my_page(open_admin)
    assert h.find("me-who").value.startswith("王芳")
    await h.click("sign-out")
    await sign_in(h, "bob")
    await h.click("nav-me")
    assert h.find("me-who").value.startswith("李娜")
    assert not h.has_text("王芳") and not h.has_text("等了很久也没人解释原因")


async def test_supervisors_have_no_such_page(open_admin, page):
    h = await open_admin()
    await sign_in(h, "boss.a")
    assert not h.exists("sign-in") and not h.exists("nav-me") and not h.exists("me-score")


async def test_a_staff_member_agrees_to_be_named_in_public_and_withdraws_it(open_admin, page, db):
    h = await my_page(open_admin, width=390, height=844)
    assert h.find("me-consent-state").value == "您尚未同意：终端上不会显示您的姓名。"
    await h.click("me-consent-give")
    assert h.find("me-message").value == "已记录您的同意。"
    assert h.find("me-consent-state").value == "您已于 2026年11月20日 12:00 同意公开展示姓名。"
    with db.read() as s:
        alice = s.get(Staff, page["ids"]["alice"])  # type: ignore[index]
        assert alice is not None and alice.public_name_consent_at == NOW
    await h.click("lang")
    assert h.find("me-consent-state").value.startswith("You agreed to have your name shown on ")
    await h.click("me-consent-withdraw")
    assert h.find("me-message").value == "Consent withdrawn: the tablets no longer show your name."
    assert h.find("me-consent-state").value == "You have not agreed: the tablets do not show your name."
    assert h.exists("me-consent-give") and not h.exists("me-consent-withdraw")
    with db.read() as s:
        alice = s.get(Staff, page["ids"]["alice"])  # type: ignore[index]
        assert alice is not None and alice.public_name_consent_at is None


async def test_a_staff_member_reads_the_rules_that_apply_to_her_with_their_versions(
    open_admin, page, db, world
):
    """劳动合同法 §4: the rules on pay and discipline are made known to every employee. The tab writes
    them in plain words from the values in force, and lists each version with its adoption and
    publication (the branch's own change here, adopted at a staff representatives' assembly)."""
    published = datetime(2026, 10, 8, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    with db.write() as s:
        set_policy(
            s, values={"penalty_deduction_yuan": 150, "deduction_cap_yuan_per_month": 250},
            branch_id=world.branch_id, now=published,
        )  # fmt: skip
        revision = s.exec(select(PolicyRevision).where(PolicyRevision.branch_id == world.branch_id)).one()
        assert revision.id is not None
        record_adoption(
            s, revision_id=revision.id, adopted_on=date(2026, 9, 29), how="第三届职工代表大会第二次会议",
            actor_staff_id=None, now=published,
        )  # fmt: skip
    h = await my_page(open_admin, width=390, height=844)
    await h.click("me-tab-rules")
    text = "\n".join(h.texts())
    for words in (
        "处理逐级递进：第一次为警告；之后为扣款 150 元；12 个月内已有 3 次处理的，提出解除劳动合同的建议。",
        "每人每月扣款合计不超过 250 元",
        "不设罚款。",
        "当月至少有 20 次有效评价才参与排名",
        "服务之星另发奖金 500 元。",
        "人数不超过参与排名人数的 20%。",
        "您可以在得知处理决定之日起 30 天内申诉",
        "第 1 版（本网点的调整）· 公布于 2026年10月8日 10:00",
        "通过：2026年9月29日，第三届职工代表大会第二次会议",
    ):
        assert words in text, (words, text)
    await h.click("lang")
    text = "\n".join(h.texts())
    for words in (
        "then a deduction of 150 yuan; once 3 penalties stand within 12 months",
        "Deductions from your pay total at most 250 yuan in a month",
        "There are no fines.",
        "Version 1 (your branch's changes) · published Oct 8, 2026",
        "Adopted Sep 29, 2026: 第三届职工代表大会第二次会议",
    ):
        assert words in text, (words, text)
    with db.read() as s:
        assert s.exec(select(PolicyRevision)).all() == [revision], "reading the rules changes nothing"


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_the_plain_words_follow_the_values(locale):
    """Each sentence changes with its setting, so what staff read is what the evaluation does."""
    base = {
        **PolicyValues().model_dump(),
        "reward_basis": "absolute", "service_star_min_score": 4.8, "commendation_min_score": 4.6,
        "penalty_deduction_yuan": 0, "deduction_cap_yuan_per_month": 0, "fines_enabled": True,
        "inspection_violation_penalty": False,
    }  # fmt: skip
    words = plain_words(locale, base)
    joined = " ".join(sum(words.values(), []))
    zh = locale == "zh-CN"
    assert ("不低于 4.8 分" if zh else "at least 4.8") in joined
    assert ("不低于 4.6 分" if zh else "is at least 4.6") in joined
    assert ("之后为批评教育" if zh else "then a criticism") in joined
    assert t(locale, "me.rules.cap.zero") in words["penalties"]
    assert t(locale, "me.rules.fines.on") in words["penalties"]
    assert t(locale, "me.rules.trigger.inspection") not in joined
    off = plain_words(locale, {**base, "service_star_enabled": False, "reward_basis": "relative"})
    assert t(locale, "me.rules.star.off") in off["rewards"]
    assert not any(("奖金" if zh else "bonus") in line for line in off["rewards"])
    margin = plain_words(locale, {**base, "reward_basis": "relative", "reward_min_above_mean": 0.3})
    assert any(("0.3 分以上" if zh else "by more than 0.3 points") in line for line in margin["rewards"])


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_the_plain_words_say_whether_a_default_rating_counts(locale):
    """Staff read the default-rating rule (models/default_rating.py) only while it is on, and whether it
    weighs in their scores."""
    base = PolicyValues().model_dump()
    assert not any(
        t(locale, "me.rules.default.apart") in line for line in plain_words(locale, base)["rewards"]
    )
    on = {**base, "default_rating_days": 7, "default_rating_score": 3}
    [line] = [x for x in plain_words(locale, on)["rewards"] if "7" in x and t(locale, "kiosk.score.3") in x]
    assert line.endswith(t(locale, "me.rules.default.apart"))
    [counted] = [
        x
        for x in plain_words(locale, {**on, "default_rating_counted": True})["rewards"]
        if t(locale, "kiosk.score.3") in x
    ]
    assert counted.endswith(t(locale, "me.rules.default.counted"))
