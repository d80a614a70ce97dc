"""Transactions (办件) reported by the queue or business system, and the ratings they invite (issue 18).

- :func:`record_finished`: ``POST /api/v1/services`` (rapport/entry/api_services.py). The device
  token says which branch (and, unless the request names another counter of that branch, which
  counter); the transaction is stored once (Idempotency-Key, and its number is unique), then the
  counter's tablets are nudged (rapport/core/counter_signals.py) to invite a rating of it.
- :func:`transaction_status`: ``GET /api/v1/services/{number}``: whether it was rated.
- :func:`load_invitation` / :func:`rate_invitation`: the customer's phone, by the short link printed
  on the receipt (``/v/<code>``, kiosk/app.py).
- :func:`import_services`: the hall's list of 事项 from its CSV (``rapport services import``).

The rules of binding a rating to its transaction are models/services.py's and models/rating.py's.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from models.devices import find_device
from models.duty import on_duty
from models.errors import NotFound, ValidationFailed
from models.org import Branch, Counter, Staff
from models.policy import effective_policy
from models.rating import (
    Channel,
    Rating,
    parse_rating,
    phone_key,
    store_rating,
    validate_idempotency_key,
)
from models.services import (
    ImportResult,
    ServiceItem,
    ServiceTransaction,
    by_invitation_code,
    import_items,
    item_by_code,
    parse_transaction,
    record_transaction,
)
from rapport.core.context import AppContext

# How long the receipt's link takes a rating: the phone may be opened later, at home.
PHONE_LINK_DAYS = 30


class TransactionNotFound(NotFound):
    code = "not_found"


@dataclass(frozen=True)
class TransactionView:
    """A transaction as the API answers it."""

    number: str
    service_code: str
    service_name_zh: str
    service_name_en: str
    service_version: str
    staff: str | None  # employee number of whoever served it
    counter: str  # the counter's code
    branch: str  # the branch's code
    finished_at: datetime
    invitation_url: str
    status: str  # "invited" (no rating yet), "rated" or "defaulted" (the policy's default rating)
    rated_at: datetime | None


def _view(session: Session, ctx: AppContext, tx: ServiceTransaction) -> TransactionView:
    item = session.get(ServiceItem, tx.service_item_id)
    counter = session.get(Counter, tx.counter_id)
    branch = session.get(Branch, tx.branch_id)
    staff = session.get(Staff, tx.staff_id) if tx.staff_id is not None else None
    assert item is not None and counter is not None and branch is not None
    status = "invited" if tx.rating_id is None else ("defaulted" if tx.defaulted else "rated")
    return TransactionView(
        number=tx.number, service_code=item.code, service_name_zh=item.name_zh,
        service_name_en=item.name_en or item.name_zh, service_version=item.version,
        staff=staff.employee_no if staff else None, counter=counter.code, branch=branch.code,
        finished_at=tx.finished_at, invitation_url=invitation_url(ctx, tx.invitation_code), status=status,
        rated_at=tx.rated_at,
    )  # fmt: skip


def invitation_url(ctx: AppContext, code: str) -> str:
    return f"{ctx.settings.effective_public_url.rstrip('/')}/v/{code}"


def record_finished(
    ctx: AppContext, *, device_token: str, idempotency_key: str, data: dict[str, object]
) -> tuple[TransactionView, bool]:
    """Store a finished transaction reported with a device's token; ``(view, created)``.

    Raises DeviceNotAuthorized, ValidationFailed (naming the field), IdempotencyConflict. Nothing is
    stored on any of them."""
    key = validate_idempotency_key(idempotency_key)
    now = ctx.clock()
    tx_in = parse_transaction(dict(data), now=now)
    with ctx.db.write() as session:
        device = find_device(session, device_token)
        own = session.get(Counter, device.counter_id)
        assert own is not None and own.id is not None
        counter = own
        if tx_in.counter_code is not None and tx_in.counter_code != own.code:
            other = session.exec(
                select(Counter).where(Counter.branch_id == own.branch_id, Counter.code == tx_in.counter_code)
            ).first()
            if other is None or not other.active:
                raise ValidationFailed("counter", f"no open counter {tx_in.counter_code!r} in this branch")
            counter = other
        assert counter.id is not None
        item = item_by_code(session, tx_in.service_code)
        if item is None or not item.active or item.id is None:
            raise ValidationFailed(
                "service_code",
                f"unknown service code {tx_in.service_code!r}; import the hall's list of services first "
                "(rapport services import FILE.csv)",
            )
        staff_id = _served_by(session, tx_in.staff_no, counter, tx_in.finished_at)
        row, created = record_transaction(
            session, idempotency_key=key, tx=tx_in, branch_id=counter.branch_id, counter_id=counter.id,
            staff_id=staff_id, service_item_id=item.id, now=now,
        )  # fmt: skip
        view = _view(session, ctx, row)
        session.commit()
    if created:
        ctx.counters.nudge(counter.id)
    return view, created


def _served_by(session: Session, staff_no: str | None, counter: Counter, at: datetime) -> int | None:
    """The person named (active, of the counter's branch), else whoever was on duty at the counter
    when the transaction finished, else nobody."""
    if staff_no is None:
        assert counter.id is not None
        person = on_duty(session, counter_id=counter.id, at=at)
        return person.id if person is not None else None
    person = session.exec(select(Staff).where(Staff.employee_no == staff_no)).first()
    if person is None or not person.active:
        raise ValidationFailed("staff", f"no active staff member with employee number {staff_no!r}")
    if person.branch_id not in (None, counter.branch_id):
        raise ValidationFailed("staff", "this staff member does not work at this branch")
    return person.id


def transaction_status(ctx: AppContext, *, device_token: str, number: str) -> TransactionView:
    """A transaction of the device's branch by its number (TransactionNotFound otherwise)."""
    with ctx.db.read() as session:
        device = find_device(session, device_token)
        own = session.get(Counter, device.counter_id)
        assert own is not None
        tx = session.exec(select(ServiceTransaction).where(ServiceTransaction.number == number)).first()
        if tx is None or tx.branch_id != own.branch_id:
            raise TransactionNotFound(f"no transaction {number!r} in this branch")
        return _view(session, ctx, tx)


# -- the customer's phone, by the receipt's link -------------------------------------------------


@dataclass(frozen=True)
class Invited:
    """What the phone page shows for a receipt's link."""

    transaction_id: int
    service_name_zh: str
    service_name_en: str
    staff_no: str | None
    staff_name: str | None
    branch_name_zh: str
    branch_name_en: str
    counter_name_zh: str
    counter_name_en: str
    timezone: str
    idle_reset_seconds: int
    contact_retention_days: int
    rated: bool  # the transaction already has its rating (the customer's, or the default)
    defaulted: bool = False  # that rating is the policy's default: the time to rate it has ended


def load_invitation(ctx: AppContext, code: str) -> Invited:
    """The transaction behind a receipt's link (TransactionNotFound: unknown, or older than
    :data:`PHONE_LINK_DAYS`)."""
    now = ctx.clock()
    with ctx.db.read() as session:
        tx = by_invitation_code(session, code)
        if tx is None or now - tx.finished_at > timedelta(days=PHONE_LINK_DAYS):
            raise TransactionNotFound("this link is not valid (any more)")
        item = session.get(ServiceItem, tx.service_item_id)
        counter = session.get(Counter, tx.counter_id)
        branch = session.get(Branch, tx.branch_id)
        staff = session.get(Staff, tx.staff_id) if tx.staff_id is not None else None
        assert item is not None and counter is not None and branch is not None and tx.id is not None
        policy = effective_policy(session, branch.id)
        return Invited(
            transaction_id=tx.id, service_name_zh=item.name_zh, service_name_en=item.name_en or item.name_zh,
            staff_no=staff.employee_no if staff else None, staff_name=staff.display_name if staff else None,
            branch_name_zh=branch.name_zh, branch_name_en=branch.name_en, counter_name_zh=counter.name_zh,
            counter_name_en=counter.name_en, timezone=branch.timezone,
            idle_reset_seconds=policy.idle_reset_seconds,
            contact_retention_days=policy.contact_retention_days, rated=tx.rating_id is not None,
            defaulted=tx.defaulted,
        )  # fmt: skip


def rate_invitation(
    ctx: AppContext, *, code: str, phone_id: str, idempotency_key: str, score: int
) -> tuple[uuid.UUID, bool]:
    """A customer's rating of a transaction from the receipt's link; ``(rating id, counted)``.
    A transaction already rated keeps its rating: this one is stored, flagged ``already_rated``."""
    now = ctx.clock()
    if not phone_id or len(phone_id) > 100:
        raise ValidationFailed("phone", "this phone could not be identified; reload the page")
    data = parse_rating({"score": score})
    with ctx.db.write() as session:
        tx = by_invitation_code(session, code)
        if tx is None or now - tx.finished_at > timedelta(days=PHONE_LINK_DAYS):
            raise TransactionNotFound("this link is not valid (any more)")
        staff = session.get(Staff, tx.staff_id) if tx.staff_id is not None else None
        rating, _created = store_rating(
            session, idempotency_key=idempotency_key, data=data, channel=Channel.qr, branch_id=tx.branch_id,
            staff_id=tx.staff_id, counter_id=tx.counter_id,
            requested_staff=staff.employee_no if staff else None, phone=phone_key(phone_id), now=now,
            transaction_id=tx.id,
        )  # fmt: skip
        session.commit()
        return rating.id, rating.counted


def ratings_of(session: Session, transaction_id: int) -> list[Rating]:
    """Every rating given for a transaction, oldest first (its counted one, and any second tap)."""
    return list(
        session.exec(
            select(Rating).where(Rating.transaction_id == transaction_id).order_by(col(Rating.created_at))
        ).all()
    )


def import_services(ctx: AppContext, text: str) -> ImportResult:
    """Add or update the hall's 事项 from a CSV's text (models/services.py ``import_items``)."""
    with ctx.db.write() as session:
        result = import_items(session, text)
        session.commit()
        return result


__all__ = [
    "Invited",
    "PHONE_LINK_DAYS",
    "TransactionNotFound",
    "TransactionView",
    "import_services",
    "invitation_url",
    "load_invitation",
    "rate_invitation",
    "ratings_of",
    "record_finished",
    "transaction_status",
]
