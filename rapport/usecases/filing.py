"""Filing a customer's complaint at a place (a counter's tablet or a staff badge's page): the one
use case shared by the kiosk's screens (kiosk/backend.py ``submit_complaint``) and the HTTP API
(rapport/entry/api.py ``POST /api/v1/complaints``). It lives below both, so the API never imports an app."""

from __future__ import annotations

import uuid
from typing import Any

from models.complaint import ComplaintCreate, Filing, Severity, file_complaint, parse_complaint
from models.complaint_intake import file_from_device
from models.errors import IdempotencyConflict, ValidationFailed
from models.org import Branch, Staff
from models.policy import effective_policy
from models.rating import Channel, Rating, staff_by_qr_token
from rapport.core.context import AppContext
from rapport.usecases.alerting import after_complaint


def file_at_place(
    ctx: AppContext,
    *,
    idempotency_key: str,
    form: dict[str, Any],
    device_token: str | None = None,
    qr_token: str | None = None,
    rating_id: uuid.UUID | None = None,
) -> Filing:
    """The one path by which a customer's complaint is filed, shared by the kiosk's screens
    (kiosk/backend.py ``submit_complaint``) and the HTTP API (rapport/entry/api.py,
    ``POST /api/v1/complaints``).

    1. The form is validated first (ValidationFailed naming the field); nothing is stored then.
    2. The place is the device's counter (the staff member on duty there is named), or the badge's
       person for a phone (raises DeviceNotAuthorized / QrTokenUnknown).
    3. A ``rating_id`` must be a rating given at this same place: on this very device, or on this
       badge's page; else ValidationFailed("rating"). Its score sets the severity, its person is named.
    4. Stored once per idempotency key (a replay returns the stored complaint, ``created`` False, with
       the same tracking code recovered from the server's secret, or None if it cannot be).
    5. A high-severity complaint raises its live alert once (a replay raises nothing new): from a
       device, stored in the complaint's own transaction and pushed after the commit
       (models/complaint_intake.py, the path under load); from a badge, by the alert hook after it.
    """
    data = parse_complaint(form)
    if not data.category.isprintable():  # PostgreSQL refuses NUL in a query; no clause code has one
        raise ValidationFailed("category", "unknown complaint category")
    if device_token:
        return _file_at_device(ctx, idempotency_key, data, device_token, rating_id)
    with ctx.db.write() as session:
        staff: Staff = staff_by_qr_token(session, qr_token or "")
        found = session.get(Branch, staff.branch_id)
        assert found is not None
        branch, staff_id, channel = found, staff.id, Channel.qr
        score = None
        if rating_id is not None:
            # The rating must be this customer's: given on this badge's page.
            rating = session.get(Rating, rating_id)
            own = rating is not None and rating.channel == Channel.qr and rating.staff_id == staff_id
            if rating is None or not own:
                raise ValidationFailed("rating", "this rating was not given here")
            score, staff_id = rating.score, rating.staff_id
        assert branch.id is not None
        policy = effective_policy(session, branch.id)
        complaint, code, created = file_complaint(
            session,
            idempotency_key=idempotency_key,
            data=data,
            channel=channel,
            branch_id=branch.id,
            staff_id=staff_id,
            rating_id=rating_id,
            policy=policy,
            now=ctx.clock(),
            score=score,
            code_secret=ctx.secret_key,
        )
        assert complaint.id is not None
        filing = Filing(
            code=code,
            created=created,
            status=str(complaint.status),
            severity=str(complaint.severity),
            category=complaint.category,
            created_at=complaint.created_at,
            due_at=complaint.due_at,
            promise_unit=complaint.promise_unit,
            promise_amount=complaint.promise_amount,
        )
        complaint_id = complaint.id
    if filing.severity == Severity.high:  # idempotent: a replay raises nothing new
        after_complaint(ctx, complaint_id=complaint_id)
    return filing


def _file_at_device(
    ctx: AppContext, key: str, data: ComplaintCreate, token: str, rating_id: uuid.UUID | None
) -> Filing:
    """Steps 2–5 for a tablet (or the API with its token) in one write transaction on the driver's
    connection (models/complaint_intake.py). A refusal once the device is known still records that
    it was seen, and stores nothing else."""
    refusal: IdempotencyConflict | ValidationFailed | None = None
    with ctx.db.raw_write() as conn:
        try:
            filed = file_from_device(
                conn, ctx.db.dialect, token=token, idempotency_key=key, data=data, now=ctx.clock(),
                rating_id=rating_id, code_secret=ctx.secret_key,
            )  # fmt: skip
        except (IdempotencyConflict, ValidationFailed) as exc:
            refusal = exc  # committed on the way out: only the device's last_seen_at is pending
    if refusal is not None:
        raise refusal
    if filed.alert is not None:  # stored with the complaint; pushed to the supervisors' screens now
        ctx.alerts.publish(filed.alert)
    return filed.filing
