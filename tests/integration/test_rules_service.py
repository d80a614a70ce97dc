"""The rules editor's service layer (admin/rules.py) on a real database: an administrator changes the
global rules and a branch's overrides (each save a new version with a revision and an audit entry
naming the keys), every bad value is refused by field with nothing written, an override is dropped
again, a supervisor reads only their own branch's rules, and counter staff are turned away."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from argon2 import PasswordHasher
from pydantic import Field
from sqlmodel import SQLModel, col, select

import models.auth
import models.crypto
from admin import rules as service
from models import auth
from models.audit import AuditEvent, verify
from models.errors import Forbidden, NotFound
from models.org import Role, Staff
from models.policy import Policy, PolicyRevision, PolicyValues, effective_policy, set_policy
from rapport.core.context import AppContext

PASSWORD = "correct horse 42"


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch):
    """Still argon2id, with the cost turned down: the tests sign several people in."""
    monkeypatch.setattr(
        models.crypto, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    models.auth._dummy_hash.cache_clear()
    yield
    models.auth._dummy_hash.cache_clear()


@dataclass
class Logins:
    admin: str
    boss_a: str  # supervisor of branch A
    alice: str  # counter staff at branch A
    admin_id: int
    a: int  # branch ids
    b: int


@pytest.fixture
def who(db, world, ctx: AppContext) -> Logins:
    with db.write() as s:
        by_no = {p.employee_no: p for p in s.exec(select(Staff)).all()}
        admin = Staff(employee_no="A1", display_name="管理员", role=Role.admin)
        s.add(admin)
        for person, login in ((admin, "root"), (by_no["S1"], "boss.a"), (by_no["E1"], "alice")):
            person.username, person.password_hash = login, models.crypto.hash_secret(PASSWORD)
        s.commit()
        assert admin.id is not None

    def token(login: str) -> str:
        with db.write() as s:
            return auth.authenticate(s, login=login, password=PASSWORD, client="192.0.2.10")[1]

    return Logins(
        token("root"), token("boss.a"), token("alice"), admin.id, world.branch_id, world.other_branch_id
    )


def snapshot(db) -> dict[str, list[str]]:
    """Every row of every table but the sign-in bookkeeping."""
    with db.read() as s:
        return {
            t.name: sorted(repr(tuple(r)) for r in s.execute(t.select()).all())
            for t in SQLModel.metadata.sorted_tables
            if t.name not in ("login_session", "throttle")
        }


def refused(db, call: Callable[[], Any], error: type[Exception] = service.RuleInvalid) -> Any:
    """The call raises ``error`` and the database is exactly as before."""
    before = snapshot(db)
    with pytest.raises(error) as caught:
        call()
    assert snapshot(db) == before
    return caught.value


def setting(rules: service.Rules, key: str) -> service.Setting:
    return next(s for s in rules.settings if s.key == key)


def revisions(db) -> list[PolicyRevision]:
    with db.read() as s:
        return list(s.exec(select(PolicyRevision).order_by(col(PolicyRevision.id))).all())


def policy_events(db) -> list[AuditEvent]:
    with db.read() as s:
        return list(
            s.exec(
                select(AuditEvent)
                .where(col(AuditEvent.action).startswith("policy."))
                .order_by(col(AuditEvent.id))
            ).all()
        )


# -- reading ---------------------------------------------------------------------------------------


def test_every_setting_is_listed_once_with_its_group_type_bounds_and_source(ctx, who):
    view = service.rules(ctx, who.admin)
    assert sorted(s.key for s in view.settings) == sorted(PolicyValues.model_fields)
    assert view.version == 0 and view.history == () and view.editable
    assert [s.branch_id for s in view.scopes] == [None, who.a, who.b]
    ranked = setting(view, "min_ratings_ranked")
    assert (ranked.group, ranked.kind, ranked.unit, ranked.text, ranked.source) == (
        "scores",
        "int",
        "ratings",
        "20",
        "default",
    )
    assert (ranked.minimum, ranked.maximum, ranked.min_exclusive) == (1, 100000, False)
    share = setting(view, "burst_alert_low_share")
    assert (share.kind, share.minimum, share.min_exclusive, share.maximum) == ("float", 0, True, 1)
    days = setting(view, "business_days")
    assert (days.kind, days.text, days.min_items, days.max_items) == ("weekdays", "1, 2, 3, 4, 5, 6", 1, 7)
    assert setting(view, "opening_time").kind == "time"
    assert setting(view, "service_star_enabled").kind == "bool"
    assert setting(view, "appeal_window_days").group == "appeals"
    # Groups in display order, each setting under its own group.
    assert view.groups[:3] == ("kiosk", "phones", "complaints") and "other" not in view.groups
    order = [view.groups.index(s.group) for s in view.settings]
    assert order == sorted(order)


def test_a_setting_added_to_the_model_shows_up_by_itself_under_other(ctx, who, monkeypatch):
    class Grown(PolicyValues):
        export_link_days: int = Field(default=3, ge=1, le=9)

    monkeypatch.setattr(service, "PolicyValues", Grown)
    view = service.rules(ctx, who.admin)
    new = setting(view, "export_link_days")
    assert (new.group, new.unit, new.text, new.minimum, new.maximum) == ("other", "days", "3", 1, 9)
    assert view.groups[-1] == "other"
    with pytest.raises(service.RuleInvalid) as caught:  # its bounds are checked like any other's
        service.save_rules(ctx, who.admin, None, {"export_link_days": "10"})
    assert (caught.value.field, caught.value.reason) == ("export_link_days", "range")


# -- saving ----------------------------------------------------------------------------------------


def test_an_admin_raises_the_ranking_minimum_and_the_change_is_versioned_and_audited(ctx, who, db):
    saved = service.save_rules(ctx, who.admin, None, {"min_ratings_ranked": "25", "appeal_window_days": "30"})
    # appeal_window_days was typed as it already is: only the real change is stored.
    assert saved == service.Saved(1, ("min_ratings_ranked",))
    with db.read() as s:
        assert effective_policy(s).min_ratings_ranked == 25
        assert effective_policy(s, who.a).min_ratings_ranked == 25
    view = service.rules(ctx, who.admin)
    assert (setting(view, "min_ratings_ranked").text, setting(view, "min_ratings_ranked").source) == (
        "25",
        "global",
    )
    assert view.version == 1
    [rev] = view.history
    assert (rev.version, rev.saved_by, rev.changed, rev.removed) == (1, "管理员", ("min_ratings_ranked",), ())

    saved = service.save_rules(ctx, who.admin, None, {"min_ratings_ranked": "25", "appeal_window_days": "14"})
    assert saved == service.Saved(2, ("appeal_window_days",))
    view = service.rules(ctx, who.admin)
    assert [(r.version, r.changed) for r in view.history] == [
        (2, ("appeal_window_days",)),
        (1, ("min_ratings_ranked",)),
    ]
    assert [r.values for r in revisions(db)] == [
        {"min_ratings_ranked": 25},
        {"min_ratings_ranked": 25, "appeal_window_days": 14},
    ]
    events = policy_events(db)
    assert [(e.action, e.actor_staff_id, e.details["keys"], e.details["version"]) for e in events] == [
        ("policy.update", who.admin_id, ["min_ratings_ranked"], 1),
        ("policy.update", who.admin_id, ["appeal_window_days"], 2),
    ]
    with db.read() as s:
        assert verify(s).ok


def test_typed_text_of_every_kind_is_read_as_its_type(ctx, who, db):
    service.save_rules(
        ctx,
        who.admin,
        None,
        {
            "service_star_enabled": "false",
            "service_star_min_score": "4.8",
            "opening_time": "8:30",
            "closing_time": "１８：００",  # a Chinese keyboard's full-width digits and colon
            "business_days": "1，2、3 4 5",
            "holidays": "2026-10-02, 2026-10-01",
            "high_severity_clauses": "2.1.2, 1.3.1",
            "penalty_deduction_yuan": "1,000",
            "idle_reset_seconds": "４５",
        },
    )
    with db.read() as s:
        p = effective_policy(s)
    assert (p.service_star_enabled, p.service_star_min_score, p.opening_time, p.closing_time) == (
        False,
        4.8,
        "08:30",
        "18:00",
    )
    assert (p.business_days, p.holidays) == ([1, 2, 3, 4, 5], ["2026-10-01", "2026-10-02"])
    assert (p.high_severity_clauses, p.penalty_deduction_yuan, p.idle_reset_seconds) == (
        ["2.1.2", "1.3.1"],
        1000,
        45,
    )
    view = service.rules(ctx, who.admin)
    assert setting(view, "holidays").text == "2026-10-01, 2026-10-02"
    assert setting(view, "service_star_enabled").text == "false"


def test_the_remedies_are_kept_as_typed_with_their_chinese_punctuation(ctx, who, db):
    text = "如对处理结果有异议，您可以：向上一级机构申请核查（30 日内）；拨打 12378。"
    service.save_rules(ctx, who.admin, None, {"remedies_zh": f"  {text}\n", "remedies_en": "Call 12378."})
    with db.read() as s:
        p = effective_policy(s)
    assert (p.remedies_zh, p.remedies_en) == (text, "Call 12378.")
    assert setting(service.rules(ctx, who.admin), "remedies_zh").kind == "prose"


@pytest.mark.parametrize(
    ("key", "text", "reason"),
    [
        ("min_ratings_ranked", "0", "range"),
        ("min_ratings_ranked", "100001", "range"),
        ("min_ratings_ranked", "twenty", "integer"),
        ("min_ratings_ranked", "2.5", "integer"),
        ("burst_alert_low_share", "0", "range"),
        ("service_star_min_score", "4,5", "number"),
        ("service_star_min_score", "nan", "number"),
        ("service_star_enabled", "maybe", "bool"),
        ("opening_time", "25:00", "time"),
        ("closing_time", "08:00", "hours_order"),  # before the 09:00 opening
        ("sla_hours_high", "100", "sla_order"),  # longer than the normal 72 hours
        ("business_days", "1, 8", "weekday"),
        ("business_days", "", "too_few"),
        ("holidays", "2026-10-01, 2026-02-30", "date"),
        ("holidays", "1.10.2026", "date"),
        ("high_severity_clauses", "9.9.9", "clause"),
        ("no_such_setting", "1", "unknown"),
    ],
)
def test_a_bad_value_is_refused_by_field_and_nothing_is_written(ctx, who, db, key, text, reason):
    service.save_rules(ctx, who.admin, None, {"appeal_window_days": "20"})
    error = refused(
        db, lambda: service.save_rules(ctx, who.admin, None, {"min_ratings_ranked": "30", key: text})
    )
    assert (error.field, error.reason) == (key, reason)
    assert key in str(error)
    if reason in ("date", "weekday", "clause"):
        assert error.values["text"] in ("2026-02-30", "1.10.2026", "8", "9.9.9")
    assert len(revisions(db)) == 1  # only the first save


def test_a_refused_save_keeps_the_good_fields_unsaved_too(ctx, who, db):
    error = refused(
        db,
        lambda: service.save_rules(
            ctx, who.admin, None, {"min_ratings_ranked": "30", "appeal_window_days": "0"}
        ),
    )
    assert (error.field, error.reason) == ("appeal_window_days", "range")
    with db.read() as s:
        assert effective_policy(s).min_ratings_ranked == 20
    assert revisions(db) == [] and policy_events(db) == []


def test_opening_and_closing_may_move_together_in_one_save(ctx, who, db):
    saved = service.save_rules(ctx, who.admin, None, {"opening_time": "18:00", "closing_time": "20:00"})
    assert saved.changed == ("opening_time", "closing_time")
    # Closing alone before the new opening names closing, the setting that broke the pair.
    error = refused(db, lambda: service.save_rules(ctx, who.admin, None, {"closing_time": "17:00"}))
    assert (error.field, error.reason) == ("closing_time", "hours_order")


def test_typing_the_value_in_force_saves_nothing(ctx, who, db):
    assert service.save_rules(ctx, who.admin, None, {"min_ratings_ranked": " 20 "}) == service.Saved(0, ())
    assert revisions(db) == [] and policy_events(db) == []


# -- branch overrides ------------------------------------------------------------------------------


def test_a_branch_override_then_its_reset_back_to_the_global_value(ctx, who, db):
    service.save_rules(ctx, who.admin, None, {"qr_window_hours": "6"})
    assert service.save_rules(ctx, who.admin, who.a, {"qr_window_hours": "3"}) == service.Saved(
        1, ("qr_window_hours",)
    )
    a, b = service.rules(ctx, who.admin, who.a), service.rules(ctx, who.admin, who.b)
    assert (setting(a, "qr_window_hours").text, setting(a, "qr_window_hours").source) == ("3", "branch")
    assert setting(a, "qr_window_hours").inherited == "6"
    assert (setting(b, "qr_window_hours").text, setting(b, "qr_window_hours").source) == ("6", "global")
    assert a.scope.name_zh == "甲支行" and a.version == 1

    assert service.reset_rule(ctx, who.admin, who.a, "qr_window_hours") == service.Saved(
        2, ("qr_window_hours",)
    )
    a = service.rules(ctx, who.admin, who.a)
    assert (setting(a, "qr_window_hours").text, setting(a, "qr_window_hours").source) == ("6", "global")
    assert a.version == 2
    assert [(r.version, r.changed, r.removed) for r in a.history] == [
        (2, (), ("qr_window_hours",)),
        (1, ("qr_window_hours",), ()),
    ]
    with db.read() as s:
        assert effective_policy(s, who.a).qr_window_hours == 6
        row = s.exec(select(Policy).where(Policy.branch_id == who.a)).one()
        assert (row.values, row.version) == ({}, 2)
    last = revisions(db)[-1]
    assert (last.branch_id, last.version, last.values, last.saved_by) == (who.a, 2, {}, who.admin_id)
    reset = policy_events(db)[-1]
    assert (reset.action, reset.actor_staff_id, reset.details) == (
        "policy.reset",
        who.admin_id,
        {"branch": who.a, "keys": ["qr_window_hours"], "version": 2},
    )
    with db.read() as s:
        assert verify(s).ok

    # Resetting what is not overridden writes nothing.
    before = snapshot(db)
    assert service.reset_rule(ctx, who.admin, who.a, "qr_window_hours") == service.Saved(2, ())
    assert snapshot(db) == before


def test_the_global_rules_reset_to_the_default(ctx, who):
    service.save_rules(ctx, who.admin, None, {"contact_retention_days": "60"})
    assert service.reset_rule(ctx, who.admin, None, "contact_retention_days").changed == (
        "contact_retention_days",
    )
    got = setting(service.rules(ctx, who.admin), "contact_retention_days")
    assert (got.text, got.source) == ("30", "default")


def test_a_global_change_that_would_break_a_branch_is_refused(ctx, who, db):
    service.save_rules(ctx, who.admin, who.a, {"closing_time": "12:00"})  # fine with the 09:00 opening
    error = refused(db, lambda: service.save_rules(ctx, who.admin, None, {"opening_time": "13:00"}))
    assert (error.field, error.reason, error.values["branch_zh"]) == (
        "opening_time",
        "breaks_branch",
        "甲支行",
    )


def test_a_reset_that_would_leave_a_branch_closing_before_it_opens_is_refused(ctx, who, db):
    service.save_rules(ctx, who.admin, None, {"closing_time": "12:00"})
    service.save_rules(ctx, who.admin, who.a, {"opening_time": "13:00", "closing_time": "18:00"})
    error = refused(db, lambda: service.reset_rule(ctx, who.admin, who.a, "closing_time"))
    assert (error.field, error.reason) == ("closing_time", "hours_order")


def test_a_branch_change_is_checked_with_the_global_rules_it_is_read_with(ctx, who, db):
    service.save_rules(ctx, who.admin, None, {"opening_time": "10:00"})
    error = refused(db, lambda: service.save_rules(ctx, who.admin, who.a, {"closing_time": "09:30"}))
    assert (error.field, error.reason) == ("closing_time", "hours_order")


def test_sign_in_settings_are_global_only(ctx, who, db):
    error = refused(
        db, lambda: service.save_rules(ctx, who.admin, who.a, {"require_totp_for_supervisors": "true"})
    )
    assert (error.field, error.reason) == ("require_totp_for_supervisors", "global_only")
    assert setting(service.rules(ctx, who.admin, who.a), "require_totp_for_supervisors").global_only
    assert not setting(service.rules(ctx, who.admin), "require_totp_for_supervisors").global_only


def test_a_branch_may_open_after_the_default_closing_when_the_global_rules_close_later(ctx, who):
    service.save_rules(ctx, who.admin, None, {"closing_time": "20:00"})
    assert service.save_rules(ctx, who.admin, who.a, {"opening_time": "18:00"}).changed == ("opening_time",)


def test_an_unknown_branch_is_not_found(ctx, who, db):
    refused(db, lambda: service.rules(ctx, who.admin, 9999), NotFound)
    refused(db, lambda: service.save_rules(ctx, who.admin, 9999, {"min_ratings_ranked": "5"}), NotFound)


# -- who may do what -------------------------------------------------------------------------------


def test_a_supervisor_reads_their_own_branch_only_and_changes_nothing(ctx, who, db):
    service.save_rules(ctx, who.admin, who.a, {"min_ratings_ranked": "15"})
    view = service.rules(ctx, who.boss_a, who.a)
    assert not view.editable and [s.branch_id for s in view.scopes] == [who.a]
    assert setting(view, "min_ratings_ranked").text == "15"
    assert [r.saved_by for r in view.history] == ["管理员"]
    refused(db, lambda: service.rules(ctx, who.boss_a, who.b), Forbidden)
    refused(db, lambda: service.rules(ctx, who.boss_a, None), Forbidden)
    refused(db, lambda: service.save_rules(ctx, who.boss_a, who.a, {"min_ratings_ranked": "5"}), Forbidden)
    refused(db, lambda: service.reset_rule(ctx, who.boss_a, who.a, "min_ratings_ranked"), Forbidden)


def test_counter_staff_are_refused(ctx, who, db):
    refused(db, lambda: service.rules(ctx, who.alice, who.a), Forbidden)
    refused(db, lambda: service.save_rules(ctx, who.alice, who.a, {"min_ratings_ranked": "5"}), Forbidden)
    refused(db, lambda: service.reset_rule(ctx, who.alice, None, "min_ratings_ranked"), Forbidden)


def test_history_names_a_save_made_outside_the_editor_without_a_person(ctx, who, db):
    with db.write() as s:
        set_policy(s, values={"burst_max_presses": 12})
    [rev] = service.rules(ctx, who.admin).history
    assert (rev.saved_by, rev.changed) == ("", ("burst_max_presses",))
