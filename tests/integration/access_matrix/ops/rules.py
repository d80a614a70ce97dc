"""admin/rules.py: a supervisor reads their own branch's rules; only an administrator changes any."""

from __future__ import annotations

from datetime import date

from sqlmodel import col, select

from admin import rules
from models.org import Role
from models.policy import PolicyRevision, set_policy
from tests.integration.access_matrix.cells import ADMIN, SUPERVISION, Actor, Cell, Op, changed
from tests.integration.access_matrix.common import _only_rows, _policy_of, on_branch, on_prepared, plain
from tests.integration.access_matrix.world import MATRIX_GLOBAL_RULES, Env


def branch_override(env: Env, _actor: Actor, target: str | None) -> None:
    with env.db.write() as s:
        set_policy(
            s,
            values={"min_ratings_ranked": 15},
            branch_id=env.branch[target or ""],
            actor_staff_id=env.staff["root"],
        )


def fresh_revision(env: Env, _actor: Actor, target: str | None) -> int:
    """A new saved version of the target branch's rules, its adoption not recorded yet."""
    branch = env.branch[target or ""]
    with env.db.write() as s:
        set_policy(s, values={"min_ratings_ranked": 16}, branch_id=branch, actor_staff_id=env.staff["root"])
        mine = select(PolicyRevision).where(PolicyRevision.branch_id == branch)
        row = s.exec(mine.order_by(col(PolicyRevision.version).desc())).first()
        assert row is not None and row.id is not None and row.adopted_on is None
        return row.id


# the rules: a supervisor reads their own branch's; only an administrator changes any


def check_rules(c: Cell, r: rules.Rules) -> None:
    assert r.scope.branch_id == c.bid and r.settings, r.scope
    scopes = {s.branch_id for s in r.scopes}
    assert scopes == (c.scope | {None} if c.actor.role is Role.admin else {c.bid}), scopes
    assert r.editable == (c.actor.role is Role.admin)


def check_global_rules(c: Cell, r: rules.Rules) -> None:
    assert r.scope.branch_id is None and r.editable and r.settings, r.scope
    assert {s.branch_id for s in r.scopes} == c.scope | {None}


def check_save_rules(c: Cell, r: rules.Saved) -> None:
    assert r.changed == ("min_ratings_ranked",) and _policy_of(c, c.bid) == {"min_ratings_ranked": 12}, r
    _only_rows(c, "policy", "branch_id", {c.bid})
    _only_rows(c, "policy_revision", "branch_id", {c.bid})
    assert [a["actor_staff_id"] for a in c.added("audit_event")] == [c.caller]


def check_save_global_rules(c: Cell, r: rules.Saved) -> None:
    assert r.changed == ("appeal_window_days",), r
    assert _policy_of(c, None) == {**MATRIX_GLOBAL_RULES, "appeal_window_days": 45}, r
    _only_rows(c, "policy", "branch_id", {None})
    assert [a["actor_staff_id"] for a in c.added("audit_event")] == [c.caller]


def check_reset_rule(c: Cell, r: rules.Saved) -> None:
    assert r.changed == ("min_ratings_ranked",) and _policy_of(c, c.bid) == {}, r
    _only_rows(c, "policy", "branch_id", {c.bid})
    [revision] = c.added("policy_revision")
    assert (revision["branch_id"], revision["saved_by"]) == (c.bid, c.caller), revision


def check_record_adoption(c: Cell, r: rules.Revision) -> None:
    [row] = c.read(select(PolicyRevision).where(PolicyRevision.id == c.prepared))
    assert (row.adopted_on, row.adopted_how, row.branch_id) == (date(2026, 11, 20), ADOPTED_HOW, c.bid), row
    got = (r.id, r.version, r.adopted_on, r.adopted_how)
    assert got == (row.id, row.version, row.adopted_on, ADOPTED_HOW), r
    assert changed(c.before, c.after) == {"policy_revision", "audit_event"}, changed(c.before, c.after)
    _only_rows(c, "policy_revision", "id", {c.prepared})
    audit = [(a["action"], a["actor_staff_id"], a["entity_id"]) for a in c.added("audit_event")]
    assert audit == [("policy.adopted", c.caller, str(c.prepared))], audit


ADOPTED_HOW = "2026年11月20日职工代表大会讨论通过"


RULES_OPS = [
    Op("rules.rules (a branch)", rules.rules, SUPERVISION, on_branch(rules.rules), check_rules, scoped=True),
    Op("rules.rules (global)", rules.rules, ADMIN, plain(rules.rules), check_global_rules),
    Op(
        "rules.save_rules (a branch)",
        rules.save_rules,
        ADMIN,
        on_branch(rules.save_rules, changes={"min_ratings_ranked": "12"}),
        check_save_rules,
        scoped=True,
    ),
    Op(
        "rules.save_rules (global)",
        rules.save_rules,
        ADMIN,
        plain(rules.save_rules, branch_id=None, changes={"appeal_window_days": "45"}),
        check_save_global_rules,
    ),
    Op(
        "rules.reset_rule",
        rules.reset_rule,
        ADMIN,
        on_branch(rules.reset_rule, key="min_ratings_ranked"),
        check_reset_rule,
        scoped=True,
        prepare=branch_override,
    ),
    Op(
        "rules.record_adoption",
        rules.record_adoption,
        ADMIN,
        on_prepared(rules.record_adoption, "2026-11-20", ADOPTED_HOW),
        check_record_adoption,
        scoped=True,
        prepare=fresh_revision,
    ),
]
