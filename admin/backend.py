"""The admin app's door to the model. Every call re-checks the sign-in (so an ended session or a
disabled account stops working at the next click) and the caller's scope: a supervisor sees only
their branch, an admin every branch, a staff member no complaint queue at all.

回避 (docs/RULES-CITED.md §2): a person a complaint names, or who served its customer at the counter,
may read it but takes no step on it and cannot be given it (the model refuses with
:class:`~models.errors.ConflictOfInterest`); :func:`detail` says so and offers them nothing, and
offers as handlers the branch's other supervisors or, when every one of them is involved, the
administrators."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from admin import access
from admin.access import Caller
from models import auth
from models.catalog import ConductClause
from models.complaint import (
    ALLOWED_TRANSITIONS,
    Complaint,
    ComplaintEvent,
    ComplaintStatus,
    assign,
    finding_of,
    involved_staff,
    mask_contact,
    record_investigation,
    reveal_contact,
    transition,
)
from models.errors import Forbidden
from models.org import Branch, Counter, Role, Staff
from models.text import mask_contacts
from rapport.core.context import AppContext

OPEN_STATUSES = (ComplaintStatus.new, ComplaintStatus.acknowledged, ComplaintStatus.investigating)


@dataclass(frozen=True)
class User:
    id: int
    name: str
    employee_no: str
    role: Role
    branch_id: int | None

    def can_handle_complaints(self) -> bool:
        return self.role in (Role.supervisor, Role.admin)


@dataclass(frozen=True)
class QueueRow:
    id: int
    created_at: datetime
    due_at: datetime
    status: str
    severity: str
    category: str
    category_zh: str
    category_en: str
    branch_zh: str
    branch_en: str
    counter_zh: str | None
    counter_en: str | None
    staff_name: str | None
    escalation_level: int
    first_contact_due_at: datetime | None = None  # a new case's first-contact clock, when it has one

    def next_due(self) -> tuple[str, datetime]:
        """The clock that runs out next: first contact while the case is new and has that clock,
        else the reply."""
        if self.status == "new" and self.first_contact_due_at is not None:
            return "first_contact", self.first_contact_due_at
        return "reply", self.due_at


@dataclass(frozen=True)
class EventRow:
    at: datetime
    kind: str
    actor: str | None
    note: str
    public: bool


@dataclass(frozen=True)
class Handler:
    """Someone a complaint may be given to."""

    id: int
    name: str
    role: str


@dataclass(frozen=True)
class Detail:
    row: QueueRow
    description: str
    contact_masked: str
    has_contact: bool
    reply: str | None
    root_cause: str | None
    corrective_action: str | None
    assignee: str | None
    satisfied: bool | None
    locale: str
    channel: str
    events: list[EventRow]
    next_statuses: list[str]  # the steps the caller may take now (none when they must stand aside)
    conflicted: bool = False  # 回避: the complaint involves the caller, who may read it only
    handlers: tuple[Handler, ...] = ()  # whom it may be given to (the caller included, if free)
    to_admin: bool = False  # every supervisor of the branch is involved: an administrator handles it
    # The finding and its subject (the complaint's own, or its 差评 case's), and the customer's grade.
    finding: str | None = None
    about: str | None = None
    grade: str | None = None
    text_erased: bool = False  # past its retention: the free text is gone, the numbers stay


def _user(staff: Staff) -> User:
    return _as_user(Caller.of(staff))


def _as_user(caller: Caller) -> User:
    return User(caller.id, caller.name, caller.employee_no, caller.role, caller.branch_id)


def sign_in(
    ctx: AppContext, *, login: str, password: str, client: str, totp_code: str | None
) -> tuple[User, str]:
    required = require_totp(ctx)
    with ctx.db.write() as session:
        staff, token = auth.authenticate(
            session,
            login=login,
            password=password,
            client=client,
            totp_code=totp_code or None,
            now=ctx.clock(),
            require_totp=required,
        )
        return _user(staff), token


def current_user(ctx: AppContext, token: str) -> User:
    """Raises auth.SessionExpired when the sign-in is no longer valid."""
    return _as_user(access.SIGNED_IN.caller(ctx, token))


def sign_out(ctx: AppContext, token: str) -> None:
    with ctx.db.write() as session:
        auth.logout(session, token=token, now=ctx.clock())


# Who handles complaints: a supervisor (their branch) or an administrator.
HANDLERS = access.Gate(access.SUPERVISION, refused="complaint handling is for supervisors and administrators")
AUDITORS = access.Gate((Role.admin,), refused="the audit log is for administrators")


OTHER_BRANCH = "this complaint belongs to another branch"
QUEUE_MAX = 500  # complaints on one queue page at most, the most urgent ones


def queue(ctx: AppContext, token: str, *, status: str = "open", overdue_only: bool = False) -> list[QueueRow]:
    """Complaints in the caller's scope, most urgent first (earliest due time)."""
    user = HANDLERS.caller(ctx, token)
    where = []
    if not user.is_admin:
        where.append(col(Complaint.branch_id) == user.branch_id)
    if status == "open":
        where.append(col(Complaint.status).in_([s.value for s in OPEN_STATUSES]))
    elif status != "all":
        where.append(col(Complaint.status) == status)
    if overdue_only:
        where.append(col(Complaint.due_at) < ctx.clock())
        where.append(col(Complaint.status).in_([s.value for s in OPEN_STATUSES]))
    with ctx.db.read() as session:
        return _rows(session, *where, limit=QUEUE_MAX)


def _rows(session: Session, *where: Any, limit: int) -> list[QueueRow]:
    """The queue's rows of the complaints matching ``where``, earliest due first: one query, with
    the names they show joined in (an administrator's queue of every branch is hundreds of rows)."""
    stmt = (
        sa_select(
            col(Complaint.id), col(Complaint.created_at), col(Complaint.due_at), col(Complaint.status),
            col(Complaint.severity), col(Complaint.category), col(ConductClause.short_zh),
            col(ConductClause.short_en), col(Branch.name_zh), col(Branch.name_en), col(Counter.name_zh),
            col(Counter.name_en), col(Staff.display_name), col(Complaint.escalation_level),
            col(Complaint.first_contact_due_at),
        )
        .select_from(Complaint)
        .join(Branch, col(Branch.id) == col(Complaint.branch_id))
        .outerjoin(ConductClause, col(ConductClause.code) == col(Complaint.category))
        .outerjoin(Counter, col(Counter.id) == col(Complaint.counter_id))
        .outerjoin(Staff, col(Staff.id) == col(Complaint.staff_id))
        .where(*where)
        .order_by(col(Complaint.due_at), col(Complaint.id))
        .limit(limit)
    )  # fmt: skip
    found = []
    for cid, created, due, status, severity, category, short_zh, short_en, *names in session.execute(stmt):
        # The select's columns are QueueRow's fields, in order.
        labels = (short_zh or category, short_en or category)
        found.append(QueueRow(cid, created, due, str(status), str(severity), category, *labels, *names))
    return found


def _row(session: Session, c: Complaint) -> QueueRow:
    assert c.id is not None
    return _rows(session, col(Complaint.id) == c.id, limit=1)[0]


def _may_be_given(person: Staff, c: Complaint) -> bool:
    """Whether a person handles this branch's complaints at all: an active supervisor of the branch
    or an active administrator (回避 is the model's check, on top of this)."""
    role = Role(person.role)
    return person.active and (
        role is Role.admin or (role is Role.supervisor and person.branch_id == c.branch_id)
    )


def _handlers(session: Session, c: Complaint) -> tuple[tuple[Handler, ...], bool]:
    """Whom the complaint may be given to: the branch's supervisors it does not involve; when it
    involves every one of them (or the branch has none), the administrators it does not involve,
    because the case then goes to an administrator. Second: whether it went to the administrators."""
    involved = involved_staff(session, c)
    people = session.exec(
        select(Staff)
        .where(col(Staff.role).in_([Role.supervisor.value, Role.admin.value]), col(Staff.active))
        .order_by(col(Staff.id))
    ).all()
    free = [p for p in people if p.id is not None and p.id not in involved and _may_be_given(p, c)]
    supervisors = [p for p in free if Role(p.role) is Role.supervisor]
    chosen = supervisors or [p for p in free if Role(p.role) is Role.admin]
    return tuple(Handler(p.id or 0, p.display_name, str(p.role)) for p in chosen), not supervisors


def detail(ctx: AppContext, token: str, complaint_id: int) -> Detail:
    user = HANDLERS.caller(ctx, token)
    with ctx.db.read() as session:
        c = session.get(Complaint, complaint_id)
        if c is None:
            raise Forbidden("no such complaint")
        user.check_branch(c.branch_id, OTHER_BRANCH)
        events = session.exec(
            select(ComplaintEvent)
            .where(ComplaintEvent.complaint_id == complaint_id)
            .order_by(col(ComplaintEvent.id))
        ).all()
        names = {s.id: s.display_name for s in session.exec(select(Staff)).all()}
        assignee = names.get(c.assignee_id) if c.assignee_id else None
        conflicted = user.id in involved_staff(session, c)
        handlers, to_admin = _handlers(session, c)
        found = finding_of(session, c)
        return Detail(
            row=_row(session, c),
            description=mask_contacts(c.description),
            contact_masked=mask_contact(c.contact, c.contact_kind),
            has_contact=bool(c.contact),
            reply=c.reply,
            root_cause=c.root_cause,
            corrective_action=c.corrective_action,
            assignee=assignee,
            satisfied=c.satisfied,
            finding=found[0] if found else None,
            about=found[1] if found else None,
            grade=c.grade,
            text_erased=c.text_erased_at is not None,
            locale=c.locale,
            channel=str(c.channel),
            events=[
                EventRow(
                    e.at,
                    str(e.kind),
                    names.get(e.actor_staff_id) if e.actor_staff_id else None,
                    e.note,
                    e.public,
                )
                for e in events
            ],
            next_statuses=[]
            if conflicted
            else sorted(s.value for s in ALLOWED_TRANSITIONS[ComplaintStatus(c.status)]),
            conflicted=conflicted,
            handlers=handlers,
            to_admin=to_admin,
        )


def act(ctx: AppContext, token: str, complaint_id: int, action: str, **fields: str) -> None:
    """One supervisor action: a status step, "investigation", "assign_me", "assign:<staff id>" or
    nothing else.

    Domain errors (InvalidTransition, ValidationFailed naming the field, ConflictOfInterest) reach
    the screen unchanged. Someone given the complaint must handle the branch's complaints at all (an
    active supervisor of it, or an administrator), else Forbidden.
    """
    user = HANDLERS.caller(ctx, token)
    with ctx.db.write() as session:
        c = session.get(Complaint, complaint_id)
        if c is None:
            raise Forbidden("no such complaint")
        user.check_branch(c.branch_id, OTHER_BRANCH)
        now = ctx.clock()
        if action == "investigation":
            record_investigation(
                session,
                complaint_id=complaint_id,
                actor_staff_id=user.id,
                root_cause=fields.get("root_cause", ""),
                corrective_action=fields.get("corrective_action", ""),
                finding=fields.get("finding") or None,
                about=fields.get("about") or None,
                now=now,
            )
        elif action == "assign_me":
            assign(session, complaint_id=complaint_id, assignee_id=user.id, actor_staff_id=user.id, now=now)
        elif action.startswith("assign:"):
            number = action.removeprefix("assign:")
            person = session.get(Staff, int(number)) if number.isdigit() else None
            if person is None or not _may_be_given(person, c):
                raise Forbidden("a complaint is given to a supervisor of its branch or an administrator")
            assert person.id is not None
            assign(session, complaint_id=complaint_id, assignee_id=person.id, actor_staff_id=user.id, now=now)
        else:
            transition(
                session,
                complaint_id=complaint_id,
                to=ComplaintStatus(action),
                actor_staff_id=user.id,
                note=fields.get("note", ""),
                reply=fields.get("reply") or None,
                root_cause=fields.get("root_cause") or None,
                corrective_action=fields.get("corrective_action") or None,
                finding=fields.get("finding") or None,
                about=fields.get("about") or None,
                now=now,
            )


def reveal(ctx: AppContext, token: str, complaint_id: int) -> str | None:
    user = HANDLERS.caller(ctx, token)
    with ctx.db.write() as session:
        c = session.get(Complaint, complaint_id)
        if c is None:
            raise Forbidden("no such complaint")
        user.check_branch(c.branch_id, OTHER_BRANCH)
        return reveal_contact(session, complaint_id=complaint_id, actor_staff_id=user.id, now=ctx.clock())


def alert_scope(ctx: AppContext, token: str) -> list[int] | None:
    return HANDLERS.caller(ctx, token).branch_ids


@dataclass(frozen=True)
class AlertRow:
    id: int
    kind: str
    created_at: datetime
    complaint_id: int | None
    counter_zh: str | None
    counter_en: str | None
    branch_zh: str
    branch_en: str


def alerts(ctx: AppContext, token: str) -> list[AlertRow]:
    from models.alerts import open_alerts

    user = HANDLERS.caller(ctx, token)
    with ctx.db.read() as session:
        rows = []
        for a in open_alerts(session, branch_ids=user.branch_ids):
            branch = session.get(Branch, a.branch_id)
            counter = session.get(Counter, a.counter_id) if a.counter_id else None
            assert branch is not None
            rows.append(
                AlertRow(
                    a.id,
                    a.kind,
                    a.created_at,
                    a.complaint_id,
                    counter.name_zh if counter else None,
                    counter.name_en if counter else None,
                    branch.name_zh,
                    branch.name_en,
                )
            )
        return rows


def acknowledge_alert(ctx: AppContext, token: str, alert_id: int) -> None:
    from models.alerts import acknowledge

    user = HANDLERS.caller(ctx, token)
    with ctx.db.write() as session:
        acknowledge(session, alert_id=alert_id, staff_id=user.id, branch_ids=user.branch_ids, now=ctx.clock())


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    actor: str | None
    action: str
    entity: str
    entity_id: str


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditRow]
    chain_ok: bool | None
    chain_entries: int
    first_broken: int | None


def audit_log(
    ctx: AppContext, token: str, *, action_prefix: str = "", verify_chain: bool = False
) -> AuditPage:
    """The newest 200 audit entries, optionally filtered by action; administrators only."""
    from models.audit import AuditEvent, verify

    AUDITORS.caller(ctx, token)
    with ctx.db.read() as session:
        stmt = select(AuditEvent)
        prefix = action_prefix.strip()[:48]
        if prefix:
            stmt = stmt.where(col(AuditEvent.action).startswith(prefix))
        events = session.exec(stmt.order_by(col(AuditEvent.id).desc()).limit(200)).all()
        names = {s.id: s.display_name for s in session.exec(select(Staff)).all()}
        rows = [
            AuditRow(
                e.id or 0,
                e.at,
                names.get(e.actor_staff_id) if e.actor_staff_id else None,
                e.action,
                e.entity,
                e.entity_id,
            )
            for e in events
        ]
        report = verify(session) if verify_chain else None
    return AuditPage(
        rows=rows,
        chain_ok=report.ok if report else None,
        chain_entries=report.entries if report else 0,
        first_broken=report.first_broken if report else None,
    )


@dataclass(frozen=True)
class TotpState:
    enrolled: bool
    pending_uri: str | None = None
    pending_secret: str | None = None


def totp_state(ctx: AppContext, token: str) -> TotpState:
    from models.auth import TotpSecret

    user = access.SIGNED_IN.caller(ctx, token)
    with ctx.db.read() as session:
        row = session.get(TotpSecret, user.id)
        return TotpState(enrolled=row is not None and row.confirmed_at is not None)


def totp_start(ctx: AppContext, token: str) -> TotpState:
    """Begin setting up an authenticator for the signed-in account (any role)."""
    user = access.SIGNED_IN.caller(ctx, token)
    with ctx.db.write() as session:
        secret, uri = auth.start_totp_enrolment(session, staff_id=user.id)
        return TotpState(enrolled=False, pending_uri=uri, pending_secret=secret)


def totp_confirm(ctx: AppContext, token: str, code: str) -> TotpState:
    user = access.SIGNED_IN.caller(ctx, token)
    with ctx.db.write() as session:
        auth.confirm_totp(session, staff_id=user.id, code=code.strip(), now=ctx.clock())
        return TotpState(enrolled=True)


def require_totp(ctx: AppContext) -> bool:
    """Policy switch: supervisors and admins must use a second factor."""
    from models.policy import effective_policy

    with ctx.db.read() as session:
        return effective_policy(session).require_totp_for_supervisors
