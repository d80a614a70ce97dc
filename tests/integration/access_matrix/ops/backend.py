"""admin/backend.py: complaints, alerts, the audit log, the session and the second factor."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlmodel import col, select

from admin import backend
from models import auth
from models.alerts import Alert, AlertKind, raise_alert
from models.auth import SessionExpired
from models.complaint import Complaint, ComplaintEvent, ComplaintStatus
from models.org import Role
from tests.integration.access_matrix.cells import ADMIN, ALL, SUPERVISION, Actor, Cell, Op, changed
from tests.integration.access_matrix.common import fresh_complaint
from tests.integration.access_matrix.world import NOW, Env


def fresh_alert(env: Env, _actor: Actor, target: str | None) -> int:
    assert target is not None
    with env.db.write() as s:
        view = raise_alert(
            s, branch_id=env.branch[target], kind=AlertKind.overdue, dedupe_key=f"fresh:{uuid.uuid4()}",
            complaint_id=env.complaint[target], now=NOW,
        )  # fmt: skip
        assert view is not None
        return view.id


def pending_totp(env: Env, actor: Actor, _target: str | None) -> str:
    """The caller has started enrolment; returns the code their authenticator would show."""
    if actor.login is None:
        return "123456"
    with env.db.write() as s:
        secret, _uri = auth.start_totp_enrolment(s, staff_id=env.staff[actor.login])
    return auth.totp_code(secret, NOW)


# checks: each asserts what an allowed call returned or did, against the database


def check_current_user(c: Cell, r: backend.User) -> None:
    assert (r.id, r.role, r.branch_id) == (c.caller, c.actor.role, c.own), r


def check_sign_out(c: Cell, _r: None) -> None:
    """Signing out ends the caller's own session, nothing else; a dead token is a quiet no-op."""
    assert changed(c.before, c.after) <= {"audit_event"}, changed(c.before, c.after)
    assert {r["action"] for r in c.added("audit_event")} <= {"auth.logout"}
    if c.actor.role is not None:
        with pytest.raises(SessionExpired):
            backend.current_user(c.env.ctx, c.token)


def check_queue(c: Cell, rows: list[backend.QueueRow]) -> None:
    want = set(c.read(select(Complaint.id).where(col(Complaint.branch_id).in_(c.scope))))
    got = {r.id for r in rows}
    assert got and got == want, f"queue {sorted(got)} != complaints in scope {sorted(want)}"


def check_detail(c: Cell, r: backend.Detail) -> None:
    assert r.row.id == c.env.complaint[c.t] and r.row.branch_en == c.env.branch_en[c.t], r.row
    assert c.env.contact[c.t] not in r.contact_masked and "****" in r.contact_masked, r.contact_masked


def check_act(c: Cell, _r: None) -> None:
    [row] = c.read(select(Complaint).where(Complaint.id == c.prepared))
    assert row.status == ComplaintStatus.acknowledged, row.status
    actors = c.read(
        select(ComplaintEvent.actor_staff_id).where(
            ComplaintEvent.complaint_id == c.prepared, ComplaintEvent.kind == "acknowledged"
        )
    )
    assert actors == [c.caller], actors


def check_reveal(c: Cell, contact: str | None) -> None:
    assert contact == c.env.contact[c.t], contact
    audit = [(r["action"], r["actor_staff_id"]) for r in c.added("audit_event")]
    assert audit == [("complaint.reveal_contact", c.caller)], audit


def check_alert_scope(c: Cell, scope: list[int] | None) -> None:
    assert scope == (None if c.actor.role is Role.admin else [c.own]), scope


def check_alerts(c: Cell, rows: list[backend.AlertRow]) -> None:
    want = set(
        c.read(
            select(Alert.id).where(col(Alert.branch_id).in_(c.scope), col(Alert.acknowledged_at).is_(None))
        )
    )
    got = {r.id for r in rows}
    assert got and got == want, f"alerts {sorted(got)} != open alerts in scope {sorted(want)}"


def check_acknowledge(c: Cell, _r: None) -> None:
    [row] = c.read(select(Alert).where(Alert.id == c.prepared))
    assert row.acknowledged_at is not None and row.acknowledged_by == c.caller, row


def check_audit_log(_c: Cell, page: backend.AuditPage) -> None:
    assert page.rows and page.chain_ok is True, page


def check_totp_state(c: Cell, state: Any) -> None:
    # Only the caller's own second factor is read: a colleague's confirmed one does not show.
    assert state.enrolled is False, state


def check_totp_start(c: Cell, state: Any) -> None:
    """Only the caller's own second factor is set up."""
    [mine] = c.added("totp_secret")
    assert mine["staff_id"] == c.caller and mine["confirmed_at"] is None, mine
    assert state.pending_secret == mine["secret"]
    assert changed(c.before, c.after) == {"totp_secret"} and not c.removed("totp_secret")


def check_totp_confirm(c: Cell, state: Any) -> None:
    [mine] = c.added("totp_secret")
    assert mine["staff_id"] == c.caller and mine["confirmed_at"] is not None and state.enrolled, mine
    assert [r["staff_id"] for r in c.removed("totp_secret")] == [c.caller]
    assert changed(c.before, c.after) <= {"totp_secret", "audit_event"}


BACKEND_OPS: list[Op] = [
    Op("backend.current_user", backend.current_user, ALL,
       lambda e, tok, t, p: backend.current_user(e.ctx, tok), check_current_user),
    Op("backend.sign_out", backend.sign_out, ALL,
       lambda e, tok, t, p: backend.sign_out(e.ctx, tok), check_sign_out, dead_token_is_a_no_op=True),
    Op("backend.queue", backend.queue, SUPERVISION,
       lambda e, tok, t, p: backend.queue(e.ctx, tok, status="all"), check_queue),
    Op("backend.detail", backend.detail, SUPERVISION,
       lambda e, tok, t, p: backend.detail(e.ctx, tok, e.complaint[t]), check_detail, scoped=True),
    Op("backend.act", backend.act, SUPERVISION,
       lambda e, tok, t, p: backend.act(e.ctx, tok, p, "acknowledged", note="已受理"), check_act,
       scoped=True, prepare=fresh_complaint),
    Op("backend.reveal", backend.reveal, SUPERVISION,
       lambda e, tok, t, p: backend.reveal(e.ctx, tok, e.complaint[t]), check_reveal, scoped=True),
    Op("backend.alert_scope", backend.alert_scope, SUPERVISION,
       lambda e, tok, t, p: backend.alert_scope(e.ctx, tok), check_alert_scope),
    Op("backend.alerts", backend.alerts, SUPERVISION,
       lambda e, tok, t, p: backend.alerts(e.ctx, tok), check_alerts),
    Op("backend.acknowledge_alert", backend.acknowledge_alert, SUPERVISION,
       lambda e, tok, t, p: backend.acknowledge_alert(e.ctx, tok, p), check_acknowledge,
       scoped=True, prepare=fresh_alert, quiet_refusal=True),
    Op("backend.audit_log", backend.audit_log, ADMIN,
       lambda e, tok, t, p: backend.audit_log(e.ctx, tok, verify_chain=True), check_audit_log),
    Op("backend.totp_state", backend.totp_state, ALL,
       lambda e, tok, t, p: backend.totp_state(e.ctx, tok), check_totp_state),
    Op("backend.totp_start", backend.totp_start, ALL,
       lambda e, tok, t, p: backend.totp_start(e.ctx, tok), check_totp_start),
    Op("backend.totp_confirm", backend.totp_confirm, ALL,
       lambda e, tok, t, p: backend.totp_confirm(e.ctx, tok, p), check_totp_confirm, prepare=pending_totp),
]  # fmt: skip
