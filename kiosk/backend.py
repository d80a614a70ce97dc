"""The kiosk's door to the model: each function opens one short session, calls a service and
returns plain data. Screens call these on the kiosk's lane
(``KIOSK.run``, rapport/core/lanes.py) so the event loop stays free.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from models.bilingual import pick
from models.case_flow import grade_case as grade_rating_case
from models.case_ticket import CasePublic, CaseTicket, case_id_by_code, public_case, ticket
from models.case_ticket import leave_callback as leave_case_callback
from models.catalog import customer_reasons, rateable_clauses
from models.complaint import answer_satisfaction, public_status
from models.devices import (
    authenticate_device,
    device_context,
    enrol_device,
    find_device,
    last_seen_due,
    mark_seen,
)
from models.duty import on_duty, sign_in, sign_out
from models.errors import NotFound, ValidationFailed
from models.intake import take_rating_with_token
from models.org import Branch, Staff
from models.policy import effective_policy
from models.rating import (
    REASONS_MAX,
    add_rating_details,
    parse_rating,
    rate_by_qr,
    staff_by_qr_token,
    tap_request,
)
from models.sanction import current_service_star
from models.services import ServiceItem, invitation_at_counter
from rapport.core.context import AppContext
from rapport.usecases import services
from rapport.usecases.alerting import after_rating
from rapport.usecases.filing import file_at_place


@dataclass(frozen=True)
class StaffCard:
    employee_no: str
    display_name: str


@dataclass(frozen=True)
class Invitation:
    """A transaction (办件) this place asks the customer to rate (models/services.py): the tablet's
    at its counter, or the one behind the receipt's link on a phone."""

    transaction_id: int
    service_name_zh: str
    service_name_en: str

    def service_name(self, locale: str) -> str:
        return pick(locale, self.service_name_zh, self.service_name_en)


@dataclass(frozen=True)
class Place:
    """Where a rating is given: a counter (kiosk) or a person's badge (phone)."""

    branch_name_zh: str
    branch_name_en: str
    counter_name_zh: str
    counter_name_en: str
    staff: StaffCard | None
    timezone: str
    idle_reset_seconds: int
    contact_retention_days: int
    # The branch's latest approved Service Star and its month (YYYY-MM), when the policy shows it.
    star_name: str | None = None
    star_month: str | None = None
    counter_id: int | None = None  # a counter's tablet: the counter (its invitations' nudges)
    invitation: Invitation | None = None  # a transaction to rate: "请对本次办理的【事项】进行评价"
    invitation_ended: bool = False  # a receipt's transaction got the policy's default rating meanwhile

    def counter_name(self, locale: str) -> str:
        return pick(locale, self.counter_name_zh, self.counter_name_en)

    def branch_name(self, locale: str) -> str:
        return pick(locale, self.branch_name_zh, self.branch_name_en)


# Kept for the welcome screen's name; a counter is one kind of place.
CounterView = Place


@dataclass(frozen=True)
class Reason:
    """A reason offered after a rating, in the customer's words (assets/conduct/customer_reasons.json):
    ``code`` is its key (the chip's), ``clauses`` the active conduct clauses it stands for, the main
    one first. A rating stores the clauses; a formal complaint's category is the main clause."""

    code: str
    short_zh: str
    short_en: str
    polarity: str  # "negative" (after a low or middling score) or "positive" (after a high one)
    clauses: tuple[str, ...] = ()

    def label(self, locale: str) -> str:
        return pick(locale, self.short_zh, self.short_en)


@dataclass(frozen=True)
class Enrolled:
    token: str
    view: Place


@dataclass(frozen=True)
class FiledComplaint:
    code: str
    due_at: datetime
    promise_unit: str  # opening_hours, hours, working_days or calendar_days
    promise_amount: int


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str


@dataclass(frozen=True)
class ExtensionNote:
    """An approved extension as the customer is told it: when, why, and the new due time."""

    at: datetime
    reason: str
    due_at: datetime


@dataclass(frozen=True)
class ComplaintStatus:
    status: str
    created_at: datetime
    due_at: datetime
    promise_unit: str
    promise_amount: int
    timezone: str
    extensions: list[ExtensionNote]
    category: str
    reply: str | None
    satisfied: bool | None
    grade: str | None
    can_answer: bool
    remedies_zh: str  # once rejected or closed: what the customer may do next
    remedies_en: str
    timeline: list[TimelineEntry]


def new_idempotency_key(prefix: str = "kiosk") -> str:
    return f"{prefix}-{uuid.uuid4()}"


def load_counter(ctx: AppContext, device_token: str) -> Place:
    """The counter, branch and on-duty staff for a device token (raises DeviceNotAuthorized).

    Runs on every return to the welcome screen, so it reads in a read session (no write lock) and
    moves the device's ``last_seen_at`` in a short write of its own only when that is due."""
    now = ctx.clock()
    with ctx.db.read() as session:
        device = find_device(session, device_token)
        seen_due = last_seen_due(device, now)
        counter, branch = device_context(session, device)
        assert counter.id is not None and branch.id is not None and device.id is not None
        staff = on_duty(session, counter_id=counter.id, at=now)
        invitation, served_by = _invitation(session, counter.id, now)
        if invitation is not None and served_by is not None:
            staff = served_by  # the transaction is rated for whoever served it
        policy = effective_policy(session, branch.id)
        star = current_service_star(session, branch.id, now=now) if policy.service_star_on_kiosk else None
        place = Place(
            branch_name_zh=branch.name_zh,
            branch_name_en=branch.name_en,
            counter_name_zh=counter.name_zh,
            counter_name_en=counter.name_en,
            staff=StaffCard(staff.employee_no, staff.display_name) if staff else None,
            timezone=branch.timezone,
            idle_reset_seconds=policy.idle_reset_seconds,
            contact_retention_days=policy.contact_retention_days,
            star_name=star[0].display_name if star else None,
            star_month=star[1] if star else None,
            counter_id=counter.id,
            invitation=invitation,
        )
    if seen_due:
        with ctx.db.write() as session:
            mark_seen(session, device_id=device.id, now=now)
    return place


def _invitation(session: Session, counter_id: int, now: datetime) -> tuple[Invitation | None, Staff | None]:
    """The counter's open invitation (its latest transaction, unrated, just finished) and who served it."""
    tx = invitation_at_counter(session, counter_id, now)
    if tx is None or tx.id is None:
        return None, None
    item = session.get(ServiceItem, tx.service_item_id)
    assert item is not None
    served_by = session.get(Staff, tx.staff_id) if tx.staff_id is not None else None
    invitation = Invitation(tx.id, item.name_zh, item.name_en or item.name_zh)
    return invitation, served_by if served_by is not None and served_by.active else None


def load_invited(ctx: AppContext, code: str) -> Place:
    """The transaction behind a receipt's link, as the phone page shows it (TransactionNotFound);
    ``invitation`` is None when it was already rated."""
    invited = services.load_invitation(ctx, code)
    served = invited.staff_no is not None and invited.staff_name is not None
    return Place(
        branch_name_zh=invited.branch_name_zh, branch_name_en=invited.branch_name_en,
        counter_name_zh=invited.counter_name_zh, counter_name_en=invited.counter_name_en,
        staff=StaffCard(invited.staff_no or "", invited.staff_name or "") if served else None,
        timezone=invited.timezone, idle_reset_seconds=invited.idle_reset_seconds,
        contact_retention_days=invited.contact_retention_days,
        invitation_ended=invited.defaulted,
        invitation=None if invited.rated else Invitation(
            invited.transaction_id, invited.service_name_zh, invited.service_name_en
        ),
    )  # fmt: skip


def submit_invited_tap(
    ctx: AppContext, *, code: str, phone_id: str, idempotency_key: str, score: int
) -> uuid.UUID:
    """A customer's rating from a receipt's link (rapport/usecases/services.py rate_invitation)."""
    rating_id, _counted = services.rate_invitation(
        ctx, code=code, phone_id=phone_id, idempotency_key=idempotency_key, score=score
    )
    return rating_id


def load_badge(ctx: AppContext, qr_token: str) -> Place:
    """The person behind a badge's QR link (raises QrTokenUnknown)."""
    with ctx.db.read() as session:
        staff = staff_by_qr_token(session, qr_token)
        branch = session.get(Branch, staff.branch_id)
        assert branch is not None
        policy = effective_policy(session, branch.id)
        return Place(
            branch_name_zh=branch.name_zh,
            branch_name_en=branch.name_en,
            counter_name_zh="",
            counter_name_en="",
            staff=StaffCard(staff.employee_no, staff.display_name),
            timezone=branch.timezone,
            idle_reset_seconds=policy.idle_reset_seconds,
            contact_retention_days=policy.contact_retention_days,
        )


_shared_reasons: tuple[Reason, ...] = ()


def _offered(session: Session) -> tuple[Reason, ...]:
    """The customer reasons as the catalog holds its clauses now: a clause an admin deactivated drops
    out of every reason's mapping, and a reason left with no clause is not offered."""
    active = {c.code for c in rateable_clauses(session)}
    offered = []
    for r in customer_reasons():
        clauses = tuple(code for code in r.clauses if code in active)
        if clauses:
            offered.append(Reason(r.key, r.label_zh, r.label_en, r.polarity, clauses))
    return tuple(offered)


def reasons(ctx: AppContext) -> tuple[Reason, ...]:
    """The reasons offered, in customers' words, as the catalog holds them now. Every kiosk session
    keeps the list for its details screen; while the catalog is unchanged they all share one copy
    (about 6 KB each otherwise, of the 250 KB a session may cost, docs/PERFORMANCE.md)."""
    global _shared_reasons
    with ctx.db.read() as session:
        fresh = _offered(session)
    if fresh != _shared_reasons:
        _shared_reasons = fresh
    return _shared_reasons


def clauses_for(offered: tuple[Reason, ...], keys: list[str]) -> list[str]:
    """The conduct clauses a rating cites for the customer reasons picked (their keys, in the order
    tapped): every reason's main clause first, then the others, each once, at most REASONS_MAX.
    Raises ValidationFailed for a key that is not offered."""
    by_key = {r.code: r for r in offered}
    if any(not isinstance(k, str) or k not in by_key for k in keys):
        raise ValidationFailed("reasons", "unknown reason")
    picked = [by_key[k] for k in dict.fromkeys(keys)]
    codes = dict.fromkeys(r.clauses[0] for r in picked)
    for r in picked:
        codes.update(dict.fromkeys(r.clauses[1:]))
    return list(codes)[:REASONS_MAX]


def enrol(ctx: AppContext, code: str) -> Enrolled:
    """Spend an enrolment code (raises EnrolmentCodeInvalid) and load the new device's counter."""
    with ctx.db.write() as session:
        _device, token = enrol_device(session, code=code, now=ctx.clock())
    return Enrolled(token=token, view=load_counter(ctx, token))


def submit_tap(
    ctx: AppContext,
    *,
    device_token: str,
    idempotency_key: str,
    score: int,
    staff_no: str | None,
    transaction_id: int | None = None,
) -> uuid.UUID:
    """Store one tap at a counter (a retry of a stored tap returns the same rating's id); with
    ``transaction_id``, the rating of that transaction (办件) the tablet invited it for."""
    data = tap_request(score)
    # One transaction for the device's last_seen_at, the rating and its case or feed record; a lone
    # rating is one statement (lazy: models/intake.py opens the transaction when more is written).
    with ctx.db.raw_write(lazy=True) as conn:
        taken = take_rating_with_token(
            conn, ctx.db.dialect, token=device_token, idempotency_key=idempotency_key, data=data,
            staff_no=staff_no, now=ctx.clock(), transaction_id=transaction_id,
        )  # fmt: skip
    rating_id, branch_id, counter_id = taken.place
    if taken.burst:
        after_rating(ctx, branch_id=branch_id, counter_id=counter_id)
    return rating_id


def submit_phone_tap(
    ctx: AppContext, *, qr_token: str, phone_id: str, idempotency_key: str, score: int
) -> uuid.UUID:
    with ctx.db.write() as session:
        rating, _created = rate_by_qr(
            session, qr_token=qr_token, phone_id=phone_id, idempotency_key=idempotency_key,
            data=parse_rating({"score": score}), now=ctx.clock(),
        )  # fmt: skip
        return rating.id


def save_details(ctx: AppContext, *, rating_id: uuid.UUID, reasons: list[str], comment: str) -> None:
    """Store the customer reasons picked (their keys) as the conduct clauses they stand for, and the
    comment, with the rating. The words themselves are not stored: the clauses are the record."""
    with ctx.db.write() as session:
        clauses = clauses_for(_offered(session), reasons)
        add_rating_details(session, rating_id=rating_id, reasons=clauses, comment=comment, now=ctx.clock())


def submit_complaint(
    ctx: AppContext,
    *,
    idempotency_key: str,
    form: dict[str, Any],
    device_token: str | None = None,
    qr_token: str | None = None,
    rating_id: uuid.UUID | None = None,
) -> FiledComplaint | None:
    """File a complaint from a counter or a phone. A replay of a filed complaint (its first answer was
    lost) returns the same tracking code again; None only if the code cannot be recovered.

    Raises ValidationFailed naming the field for bad input; nothing is stored then.
    """
    filing = file_at_place(
        ctx,
        idempotency_key=idempotency_key,
        form=form,
        device_token=device_token,
        qr_token=qr_token,
        rating_id=rating_id,
    )
    if filing.code is None:
        return None
    return FiledComplaint(
        code=filing.code,
        due_at=filing.due_at,
        promise_unit=filing.promise_unit,
        promise_amount=filing.promise_amount,
    )


def status_lookups_per_minute(ctx: AppContext) -> int:
    """The organisation's limit on tracking-code lookups per client and minute (global policy)."""
    with ctx.db.read() as session:
        return effective_policy(session).status_lookups_per_minute


def complaint_status(ctx: AppContext, code: str) -> ComplaintStatus | None:
    with ctx.db.read() as session:
        view = public_status(session, code=code)
    return _status(view) if view else None


def answer(ctx: AppContext, *, code: str, grade: str) -> ComplaintStatus:
    """The customer's grade of a resolved complaint's handling (satisfied, fairly, dissatisfied)."""
    with ctx.db.write() as session:
        result = answer_satisfaction(session, code=code, grade=grade, now=ctx.clock())
    return _status(result)


def _status(view: Any) -> ComplaintStatus:
    return ComplaintStatus(
        status=str(view.status),
        created_at=view.created_at,
        due_at=view.due_at,
        promise_unit=view.promise_unit,
        promise_amount=view.promise_amount,
        timezone=view.timezone,
        extensions=[ExtensionNote(at, reason, due) for at, reason, due in view.extensions],
        category=view.category,
        reply=view.reply,
        satisfied=view.satisfied,
        grade=view.grade,
        can_answer=view.can_answer_satisfaction,
        remedies_zh=view.remedies_zh,
        remedies_en=view.remedies_en,
        timeline=[TimelineEntry(at=at, kind=str(kind)) for at, kind in view.timeline],
    )


def staff_sign_in(ctx: AppContext, *, device_token: str, employee_no: str, pin: str) -> tuple[Place, str]:
    """Sign in at the device's counter; returns the refreshed place and the person's name."""
    with ctx.db.write() as session:
        device = authenticate_device(session, device_token, now=ctx.clock())
        staff = sign_in(
            session, counter_id=device.counter_id, employee_no=employee_no, pin=pin, now=ctx.clock()
        )
        name = staff.display_name
    return load_counter(ctx, device_token), name


def staff_sign_out(ctx: AppContext, *, device_token: str, employee_no: str, pin: str) -> tuple[Place, str]:
    with ctx.db.write() as session:
        device = authenticate_device(session, device_token, now=ctx.clock())
        staff = sign_out(
            session, counter_id=device.counter_id, employee_no=employee_no, pin=pin, now=ctx.clock()
        )
        name = staff.display_name
    return load_counter(ctx, device_token), name


# -- after a 差评: the case's tracking code, a callback contact, the case on the status page ----------


def case_ticket(ctx: AppContext, *, rating_id: uuid.UUID) -> CaseTicket | None:
    """The tracking code of the case a low rating opened (the same code each time); None when the
    rating opened no case (a higher score, or a press flagged as misuse)."""
    with ctx.db.write() as session:
        return ticket(session, rating_id=rating_id, secret=ctx.secret_key)


def leave_callback(ctx: AppContext, *, rating_id: uuid.UUID, contact: str, consent: bool) -> None:
    """Keep the contact the customer left to be called back (ValidationFailed naming the field)."""
    with ctx.db.write() as session:
        leave_case_callback(session, rating_id=rating_id, contact=contact, consent=consent, now=ctx.clock())


def case_status(ctx: AppContext, code: str) -> CasePublic | None:
    with ctx.db.read() as session:
        return public_case(session, code=code)


def grade_case(ctx: AppContext, *, code: str, grade: str) -> CasePublic:
    """The customer's grade of the handling, from the status page (CaseStepRefused when the case is
    not waiting for one)."""
    with ctx.db.write() as session:
        case_id = case_id_by_code(session, code)
        if case_id is None:
            raise NotFound("no case with this code")
        grade_rating_case(session, case_id=case_id, grade=grade, actor_id=None, now=ctx.clock())
        view = public_case(session, code=code)
        assert view is not None
        return view
