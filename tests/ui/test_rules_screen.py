"""The rules section of the admin app in process (tests/ui/harness.py): an administrator raises the
ranking minimum and sees the new value, where it now comes from and a new history line; a bad value
shows that field's error and saves nothing; a branch override is set and dropped again; a supervisor
sees their branch's rules with every field disabled. Also: every setting has words in both
languages, so no label shows up as a bare key."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sqlmodel import col, select

from admin import rules as service
from models.crypto import hash_secret
from models.org import Role, Staff
from models.policy import PolicyRevision, PolicyValues, effective_policy
from rapport.core.i18n import catalog

sys.path.insert(0, str(Path(__file__).resolve().parent))  # no __init__.py here
from admin_support import PASSWORD, Open, open_section, sign_in  # noqa: E402
from harness import FletHarness  # noqa: E402

RANKED = "rules-min_ratings_ranked"


@pytest.fixture
def logins(db, world) -> None:
    """root (an administrator) and boss.a (the supervisor of branch A)."""
    with db.write() as s:
        s.add(Staff(employee_no="A0", display_name="管理员", role=Role.admin))
        s.flush()
        people = {p.employee_no: p for p in s.exec(select(Staff)).all()}
        for number, login in (("A0", "root"), ("S1", "boss.a")):
            people[number].username, people[number].password_hash = login, hash_secret(PASSWORD)
        s.commit()


async def rules_section(open_admin: Open, login: str, width: float = 1280) -> FletHarness:
    h = await open_admin(width=width, height=844 if width < 700 else 800)
    await sign_in(h, login)
    await open_section(h, "rules")
    return h


def revisions(db) -> list[PolicyRevision]:
    with db.read() as s:
        return list(s.exec(select(PolicyRevision).order_by(col(PolicyRevision.id))).all())


def scrolled_to(h: FletHarness) -> str:
    """The key the section last scrolled to."""
    args = [a for _type, method, a in h.invocations if method == "scroll_to"][-1]
    key = args["scroll_key"]
    return str(key.value if hasattr(key, "value") else key)


def text_of(h: FletHarness, key: str) -> str:
    return str(h.find(key).value)


async def test_an_admin_raises_the_ranking_minimum_and_sees_it_saved_with_a_history_line(
    open_admin, logins, db
):
    h = await rules_section(open_admin, "root")
    assert h.find(RANKED).label == "最少评价数（参与排名）"
    assert text_of(h, RANKED) == "20"
    assert "可填 1 至 100,000 条评价" in h.find(RANKED).helper
    assert text_of(h, "rules-source-min_ratings_ranked") == "来源：默认值"
    assert h.exists("rules-history-none") and text_of(h, "rules-version") == "此范围尚未保存过设置"

    await h.fill(RANKED, "25")
    assert text_of(h, "rules-source-min_ratings_ranked") == "已修改，尚未保存"
    assert text_of(h, "rules-pending") == "1 项修改未保存"
    await h.click("rules-save")

    assert text_of(h, "rules-message") == "已保存为第 1 版：修改了 1 项。"
    assert text_of(h, RANKED) == "25"
    assert text_of(h, "rules-source-min_ratings_ranked") == "来源：全行设置"
    assert text_of(h, "rules-pending") == "没有未保存的修改"
    assert text_of(h, "rules-version") == "当前为第 1 版"
    history = h.find("rules-rev-1")
    lines = [c.value for c in history.controls]
    assert lines[0].startswith("第 1 版 · ") and lines[0].endswith(" · 管理员")
    assert lines[1] == "修改：最少评价数（参与排名）"
    with db.read() as s:
        assert effective_policy(s).min_ratings_ranked == 25
    assert [r.values for r in revisions(db)] == [{"min_ratings_ranked": 25}]

    # The same in English, after the language switch.
    await h.click("lang")
    assert h.find(RANKED).label == "Minimum ratings to be ranked"
    assert [c.value for c in h.find("rules-rev-1").controls][1] == "Changed: Minimum ratings to be ranked"


async def test_a_bad_value_shows_the_fields_error_and_saves_nothing(open_admin, logins, db):
    h = await rules_section(open_admin, "root")
    await h.fill(RANKED, "0")
    await h.fill("rules-appeal_window_days", "14")
    await h.click("rules-save")
    assert h.find(RANKED).error == "超出范围：可填 1 至 100,000 条评价。"
    assert text_of(h, "rules-message") == (
        "未保存任何修改。请更正“最少评价数（参与排名）”：超出范围：可填 1 至 100,000 条评价。"
    )
    assert h.find("rules-appeal_window_days").error is None
    assert scrolled_to(h) == "rules-block-min_ratings_ranked"  # the refused field is brought into view
    # What was typed stays, to be corrected; nothing reached the database.
    assert (text_of(h, RANKED), text_of(h, "rules-appeal_window_days")) == ("0", "14")
    assert revisions(db) == []

    await h.fill("rules-holidays", "2026-10-01, 2026-02-30")
    await h.fill(RANKED, "30")
    await h.click("rules-save")
    assert (
        h.find("rules-holidays").error == "“2026-02-30”不是有效日期：请按 YYYY-MM-DD 填写，例如 2026-10-01。"
    )
    assert h.find(RANKED).error is None and revisions(db) == []

    await h.click("rules-discard")
    assert (text_of(h, RANKED), text_of(h, "rules-holidays")) == ("20", "")
    assert text_of(h, "rules-message") == "已放弃未保存的修改。"
    await h.click("rules-save")
    assert text_of(h, "rules-message") == "没有需要保存的修改。" and revisions(db) == []


async def test_an_admin_overrides_a_branch_value_and_resets_it(open_admin, logins, db, world):
    h = await rules_section(open_admin, "root")
    await h.fill("rules-scope", str(world.branch_id))
    await h.event("rules-scope", "select", str(world.branch_id))
    await h.fill("rules-service_star_on_kiosk", False)
    await h.click("rules-save")
    assert text_of(h, "rules-source-service_star_on_kiosk") == "来源：本支行设置"
    assert h.find("rules-service_star_on_kiosk").value is False
    with db.read() as s:
        assert effective_policy(s, world.branch_id).service_star_on_kiosk is False
        assert effective_policy(s, world.other_branch_id).service_star_on_kiosk is True
    # The sign-in rule is the same for every branch: shown, but not editable here.
    assert h.find("rules-require_totp_for_supervisors").disabled

    reset = h.find("rules-reset-service_star_on_kiosk")
    assert reset.content == "恢复为全行设置（开）"
    await h.click("rules-reset-service_star_on_kiosk")
    assert text_of(h, "rules-message") == "“在终端首页展示服务之星”已恢复，已保存为第 2 版。"
    assert h.find("rules-service_star_on_kiosk").value is True
    assert text_of(h, "rules-source-service_star_on_kiosk") == "来源：默认值"  # no global value either
    assert not h.exists("rules-reset-service_star_on_kiosk")
    assert [c.value for c in h.find("rules-rev-2").controls][1] == "恢复：在终端首页展示服务之星"
    with db.read() as s:
        assert effective_policy(s, world.branch_id).service_star_on_kiosk is True


async def test_a_supervisor_reads_their_branch_rules_with_every_field_disabled(open_admin, logins, db):
    h = await rules_section(open_admin, "boss.a", width=390)
    assert text_of(h, "rules-scope-name") == "适用范围：甲支行"
    assert text_of(h, "rules-readonly") == "您可以查看本支行的规则；只有管理员可以修改。"
    assert not h.exists("rules-scope") and not h.exists("rules-save") and not h.exists("rules-discard")
    for key in PolicyValues.model_fields:
        assert h.find(f"rules-{key}").disabled, key
        assert not h.exists(f"rules-reset-{key}")
    with pytest.raises(AssertionError, match="disabled"):
        await h.fill(RANKED, "5")
    assert revisions(db) == []


def test_every_setting_and_group_has_words_in_both_languages():
    for locale in ("zh-CN", "en"):
        words = catalog(locale)
        for key in PolicyValues.model_fields:
            assert words.get(f"rules.field.{key}"), (locale, key)
            assert words.get(f"rules.help.{key}"), (locale, key)
        for group in service.GROUPS:
            assert words.get(f"rules.group.{group}"), (locale, group)
        units = {service._unit(k) for k in PolicyValues.model_fields} - {""}
        assert all(words.get(f"rules.unit.{u}") for u in units), locale
