"""admin/cases.py: 差评 cases."""

from __future__ import annotations

import uuid

from sqlmodel import col

from admin import cases as case_desk
from models.rating import Channel, Rating
from tests.integration.access_matrix.cells import SUPERVISION, Actor, Cell, Op, changed
from tests.integration.access_matrix.common import _ids, on_prepared, plain
from tests.integration.access_matrix.world import NOW, Env

# 差评 cases: supervisors of the case's branch and administrators; the person rated never handles it


def fresh_case(env: Env, _actor: Actor, target: str | None) -> int:
    """A 非常不满意 rating of the target branch's counter staff member, with its case."""
    from models.cases import RatingCase

    with env.db.write() as s:
        rating = Rating(
            idempotency_key=f"case-{uuid.uuid4()}", request_hash="x", staff_id=env.person[target or ""],
            counter_id=env.counter[target or ""], branch_id=env.branch[target or ""], channel=Channel.kiosk,
            score=1, created_at=NOW,
        )  # fmt: skip
        s.add(rating)
        s.flush()
        case = RatingCase(
            rating_id=rating.id, branch_id=rating.branch_id, counter_id=rating.counter_id,
            staff_id=rating.staff_id, channel="kiosk", score=1, opened_at=NOW,
        )  # fmt: skip
        s.add(case)
        s.commit()
        assert case.id is not None
        return case.id


def check_case_list(c: Cell, rows: list[case_desk.CaseRow]) -> None:
    from models.cases import RatingCase

    assert {r.id for r in rows} == _ids(c, RatingCase.id, col(RatingCase.branch_id).in_(c.scope)), rows
    assert rows and not changed(c.before, c.after)


def check_case(c: Cell, v: case_desk.CaseView) -> None:
    assert v.row.id == c.prepared and v.row.branch_en == c.env.branch_en[c.t] and v.steps == (), v
    assert not v.row.conflicted and not changed(c.before, c.after)


def check_case_step(c: Cell, v: case_desk.CaseView) -> None:
    assert [(s.kind, s.outcome) for s in v.steps] == [("callback", "reached")] and v.row.status == "verifying"
    [event] = c.added("rating_case_event")
    assert (event["case_id"], event["actor_id"]) == (c.prepared, c.caller), event
    assert changed(c.before, c.after) == {"rating_case", "rating_case_event", "audit_event"}


def check_case_reveal(c: Cell, contact: str | None) -> None:
    assert contact == "13855556666", contact
    [audit] = c.added("audit_event")
    assert (audit["action"], audit["actor_staff_id"], audit["entity_id"]) == (
        "case.reveal_contact", c.caller, str(c.prepared),
    )  # fmt: skip
    assert changed(c.before, c.after) == {"audit_event"}


def case_with_contact(env: Env, actor: Actor, target: str | None) -> int:
    from models.cases import RatingCase

    case_id = fresh_case(env, actor, target)
    with env.db.write() as s:
        case = s.get(RatingCase, case_id)
        assert case is not None
        case.contact, case.contact_kind, case.consent_at = "13855556666", "phone", NOW
        s.add(case)
        s.commit()
    return case_id


CASE_OPS = [
    Op("cases.cases", case_desk.cases, SUPERVISION, plain(case_desk.cases), check_case_list,
       prepare=lambda e, a, t: [fresh_case(e, a, x) for x in ("A", "B")]),
    Op("cases.case", case_desk.case, SUPERVISION, on_prepared(case_desk.case), check_case,
       scoped=True, prepare=fresh_case),
    Op("cases.step", case_desk.step, SUPERVISION, on_prepared(case_desk.step, "callback", outcome="reached"),
       check_case_step, scoped=True, prepare=fresh_case),
    Op("cases.reveal", case_desk.reveal, SUPERVISION, on_prepared(case_desk.reveal), check_case_reveal,
       scoped=True, prepare=case_with_contact),
]  # fmt: skip
