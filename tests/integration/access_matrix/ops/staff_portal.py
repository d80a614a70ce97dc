"""admin/staff_portal.py: the staff member's own page, only their own data."""

from __future__ import annotations

from sqlmodel import col, select

from admin import staff_portal
from models.complaint import Complaint
from models.errors import NotFound
from models.inspection import Inspection
from models.org import Staff
from models.policy import PolicyRevision
from models.rating import Rating
from models.sanction import Sanction, SanctionKind, SanctionStatus, acknowledge
from models.training import TrainingRecord
from tests.integration.access_matrix.cells import STAFF, Actor, Cell, Op, changed
from tests.integration.access_matrix.common import _ids, _no_customer_data, _only_rows, on_prepared, plain
from tests.integration.access_matrix.world import COLLEAGUES, NOW, Env, _approved, _rating


def approved_penalty(env: Env, _actor: Actor, target: str | None) -> int:
    with env.db.write() as s:
        row = _approved(s, env, env.person[target or ""])
        assert row.id is not None
        return row.id


def acknowledged_deduction(env: Env, _actor: Actor, target: str | None) -> int:
    """An economic penalty its person has acknowledged: a rectification report is due."""
    person = env.person[target or ""]
    with env.db.write() as s:
        row = _approved(s, env, person, SanctionKind.deduction, amount_yuan=50)
        assert row.id is not None
        acknowledge(s, row.id, staff_id=person, now=NOW)
        return row.id


def fresh_rating(env: Env, _actor: Actor, target: str | None) -> str:
    with env.db.write() as s:
        return str(_rating(s, env, env.person_no[target or ""], target or "", score=1))


# the staff member's own page: only the caller's own data, and no customer contact data


def check_my_scores(c: Cell, r: staff_portal.MyScores) -> None:
    counted = _ids(c, Rating.id, Rating.staff_id == c.caller, col(Rating.counted))
    assert r.current.n == len(counted), (r.current, counted)
    branch = _ids(c, Rating.id, Rating.branch_id == c.own, col(Rating.counted))
    assert sum(r.branch_counts) == len(branch), (r.branch_counts, branch)
    assert not [name for name in COLLEAGUES if name in repr(r)], r


def check_my_comments(c: Cell, r: staff_portal.Comments) -> None:
    mine = {str(i) for i in _ids(c, Rating.id, Rating.staff_id == c.caller)}
    telling = {str(i) for i in _ids(c, Rating.id, Rating.staff_id == c.caller, col(Rating.score) <= 3)}
    got = {row.id for row in r.rows}
    assert telling and telling <= got <= mine, f"comments {got}: not the caller's own {telling} of {mine}"
    _no_customer_data(c, r)
    assert not [name for name in COLLEAGUES if name in repr(r)], r


def check_my_complaints(c: Cell, rows: tuple[staff_portal.ComplaintRow, ...]) -> None:
    want = _ids(c, Complaint.id, Complaint.staff_id == c.caller)
    assert want and {r.id for r in rows} == want, rows
    _no_customer_data(c, rows)


def check_my_records(c: Cell, rows: tuple[staff_portal.RecordRow, ...]) -> None:
    want = _ids(c, Sanction.id, Sanction.staff_id == c.caller)
    assert want and {r.id for r in rows} == want, rows


def check_my_inspections(c: Cell, rows: tuple[staff_portal.InspectionRow, ...]) -> None:
    want = _ids(c, Inspection.id, Inspection.staff_id == c.caller)
    assert want and {r.id for r in rows} == want, rows


def check_my_training(c: Cell, rows: tuple[staff_portal.TrainingRow, ...]) -> None:
    want = _ids(c, TrainingRecord.id, TrainingRecord.staff_id == c.caller)
    assert want and {r.id for r in rows} == want, rows


def check_overview(c: Cell, o: staff_portal.Overview) -> None:
    assert o.me.id == c.caller, o.me
    check_my_scores(c, o.scores)
    check_my_comments(c, o.comments)
    check_my_complaints(c, o.complaints)
    check_my_records(c, o.records)
    check_my_inspections(c, o.inspections)
    check_my_training(c, o.training)
    assert not [name for name in COLLEAGUES if name in repr(o)]


def check_my_rules(c: Cell, r: staff_portal.MyRules) -> None:
    [me] = c.read(select(Staff).where(Staff.id == c.caller))
    assert set(r.values) == set(staff_portal.RULE_KEYS), r.values
    scopes = {v.scope for v in r.versions}
    want = c.read(
        select(PolicyRevision.id).where(
            col(PolicyRevision.branch_id).is_(None) | (col(PolicyRevision.branch_id) == me.branch_id)
        )
    )
    assert len(r.versions) == min(len(want), staff_portal.RULE_VERSIONS_MAX), r.versions
    assert scopes <= {"global", "branch"}, scopes
    assert changed(c.before, c.after) == set(), "reading my rules writes nothing"


def check_public_consent(c: Cell, me: staff_portal.Me) -> None:
    [row] = c.read(select(Staff).where(Staff.id == c.caller))
    assert (me.id, me.public_consent_at, row.public_name_consent_at) == (c.caller, NOW, NOW), (me, row)
    _only_rows(c, "staff", "id", {c.caller})
    assert changed(c.before, c.after) == {"staff", "audit_event"}


def check_acknowledge_record(c: Cell, r: staff_portal.RecordRow) -> None:
    [row] = c.read(select(Sanction).where(Sanction.id == c.prepared))
    assert (row.staff_id, row.status, row.acknowledged_at) == (c.caller, SanctionStatus.closed, NOW), row
    assert r.id == c.prepared and r.status == SanctionStatus.closed, r
    _only_rows(c, "sanction", "id", {c.prepared})
    assert changed(c.before, c.after) == {"sanction", "audit_event"}


def check_write_report(c: Cell, r: staff_portal.RecordRow) -> None:
    [row] = c.read(select(Sanction).where(Sanction.id == c.prepared))
    assert (row.staff_id, row.status, row.report) == (c.caller, SanctionStatus.closed, REPORT), row
    assert r.id == c.prepared and r.report == REPORT, r
    _only_rows(c, "sanction", "id", {c.prepared})


def check_appeal_record(c: Cell, r: staff_portal.RecordRow) -> None:
    [appeal] = c.added("appeal")
    assert (appeal["staff_id"], appeal["sanction_id"], appeal["branch_id"]) == (c.caller, c.prepared, c.own)
    assert r.id == c.prepared and r.status == SanctionStatus.appealed and r.appeal is not None, r
    _only_rows(c, "sanction", "id", {c.prepared})


def check_appeal_a_rating(c: Cell, r: staff_portal.AppealInfo) -> None:
    [appeal] = c.added("appeal")
    got = (appeal["id"], appeal["staff_id"], str(appeal["rating_id"]), appeal["branch_id"])
    assert got == (r.id, c.caller, c.prepared, c.own), got
    assert changed(c.before, c.after) == {"appeal", "audit_event"}


REPORT = "我已认真反思，今后上班不再玩手机，主动招呼每位顾客。"


# Staff only, and only their own: a colleague's or another branch's entry or rating is as unknown to
# them as one that does not exist (NotFound), by design of admin/staff_portal.py.
STAFF_PORTAL_OPS = [
    Op("staff_portal.overview", staff_portal.overview, STAFF, plain(staff_portal.overview), check_overview),
    Op(
        "staff_portal.my_scores",
        staff_portal.my_scores,
        STAFF,
        plain(staff_portal.my_scores),
        check_my_scores,
    ),
    Op(
        "staff_portal.my_comments",
        staff_portal.my_comments,
        STAFF,
        plain(staff_portal.my_comments),
        check_my_comments,
    ),
    Op(
        "staff_portal.my_complaints",
        staff_portal.my_complaints,
        STAFF,
        plain(staff_portal.my_complaints),
        check_my_complaints,
    ),
    Op(
        "staff_portal.my_records",
        staff_portal.my_records,
        STAFF,
        plain(staff_portal.my_records),
        check_my_records,
    ),
    Op(
        "staff_portal.my_inspections",
        staff_portal.my_inspections,
        STAFF,
        plain(staff_portal.my_inspections),
        check_my_inspections,
    ),
    Op(
        "staff_portal.my_training",
        staff_portal.my_training,
        STAFF,
        plain(staff_portal.my_training),
        check_my_training,
    ),
    Op("staff_portal.my_rules", staff_portal.my_rules, STAFF, plain(staff_portal.my_rules), check_my_rules),
    Op(
        "staff_portal.set_public_consent",
        staff_portal.set_public_consent,
        STAFF,
        plain(staff_portal.set_public_consent, consent=True),
        check_public_consent,
    ),
    Op(
        "staff_portal.acknowledge_record",
        staff_portal.acknowledge_record,
        STAFF,
        on_prepared(staff_portal.acknowledge_record),
        check_acknowledge_record,
        scoped=True,
        prepare=approved_penalty,
        out_of_scope=NotFound,
    ),
    Op(
        "staff_portal.write_report",
        staff_portal.write_report,
        STAFF,
        on_prepared(staff_portal.write_report, REPORT),
        check_write_report,
        scoped=True,
        prepare=acknowledged_deduction,
        out_of_scope=NotFound,
    ),
    Op(
        "staff_portal.appeal_record",
        staff_portal.appeal_record,
        STAFF,
        on_prepared(staff_portal.appeal_record, "处罚依据不足，请复核"),
        check_appeal_record,
        scoped=True,
        prepare=approved_penalty,
        out_of_scope=NotFound,
    ),
    Op(
        "staff_portal.appeal_a_rating",
        staff_portal.appeal_a_rating,
        STAFF,
        on_prepared(staff_portal.appeal_a_rating, "这位顾客认错了人"),
        check_appeal_a_rating,
        scoped=True,
        prepare=fresh_rating,
        out_of_scope=NotFound,
    ),
]
