"""HTTP API under /api/v1 for enrolled devices and integrations (see docs/API.md).

Every error is JSON ``{"error": {"code", "message", "field"?}}`` with a 4xx status, and nothing is
stored on any error.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from kiosk.backend import Filing, file_at_place
from models.devices import authenticate_device
from models.errors import (
    DeviceNotAuthorized,
    IdempotencyConflict,
    StaffNotFound,
    ValidationFailed,
)
from models.rating import RatingCreate, rate_at_device_public, validate_idempotency_key
from rapport.context import AppContext

MAX_BODY_BYTES = 16 * 1024
COMPLAINT_FIELDS = ("category", "description", "contact", "consent", "locale", "rating_id")
CODE_NOT_RECOVERABLE = (
    "this complaint was filed before with this Idempotency-Key; its tracking code was shown once, in "
    "the first answer, and cannot be shown again"
)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        headers = {"WWW-Authenticate": "Bearer"} if self.status == 401 else None
        return JSONResponse({"error": body}, status_code=self.status, headers=headers)


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "send the device token as 'Authorization: Bearer <token>'")
    return token.strip()


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(413, "body_too_large", f"the request body must be at most {MAX_BODY_BYTES} bytes")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ApiError(400, "invalid_json", "the request body must be a JSON object in UTF-8") from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "the request body must be a JSON object")
    return data


def _parse_rating(data: dict[str, Any]) -> tuple[str | None, RatingCreate]:
    staff = data.pop("staff", None)
    if staff is not None and (
        not isinstance(staff, str) or not staff.strip() or len(staff) > 32 or not staff.isprintable()
    ):
        raise ApiError(422, "validation_failed", "staff must be an employee number (text)", "staff")
    try:
        return staff, RatingCreate.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "body"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field; allowed fields are staff, score, reasons, comment"
        elif err["type"] == "missing":
            msg = "this field is required"
        raise ApiError(422, "validation_failed", f"{field}: {msg}", field) from None


def _idempotency_key(request: Request) -> str:
    try:
        return validate_idempotency_key(request.headers.get("idempotency-key"))
    except ValidationFailed as exc:
        raise ApiError(422, "validation_failed", str(exc), "Idempotency-Key") from None


def _invalid(field: str, message: str) -> ApiError:
    return ApiError(422, "validation_failed", f"{field}: {message}", field)


def _parse_complaint(data: dict[str, Any]) -> tuple[dict[str, Any], uuid.UUID | None]:
    """The complaint form and the rating it comes with, checked for what only the API can get wrong
    (unknown fields, JSON types); the form's own rules are the kiosk's (models/complaint.py)."""
    unknown = [name for name in data if name not in COMPLAINT_FIELDS]
    if unknown:
        raise _invalid(unknown[0], f"unknown field; allowed fields are {', '.join(COMPLAINT_FIELDS)}")
    if "consent" in data and not isinstance(data["consent"], bool):
        raise _invalid("consent", "consent must be true or false")
    raw = data.pop("rating_id", None)
    rating_id = None
    if raw is not None:
        try:
            rating_id = uuid.UUID(raw) if isinstance(raw, str) and len(raw) <= 64 else None
        except ValueError:
            rating_id = None
        if rating_id is None:
            raise _invalid("rating_id", "rating_id must be the id of a rating given on this device")
    return data, rating_id


class ComplaintFiled(BaseModel):
    """The answer to a filed complaint: the tracking code (shown once) and where to follow it."""

    tracking_code: str | None
    status_url: str | None
    status: str
    severity: str
    category: str
    created_at: datetime
    due_at: datetime
    reply_within_hours: int
    message: str | None = None


def build_router(ctx: AppContext) -> APIRouter:
    router = APIRouter()

    @router.post("/ratings", status_code=201)
    async def post_rating(request: Request) -> JSONResponse:
        try:
            token = _bearer(request)
            data = await _json_body(request)
            key = _idempotency_key(request)
            staff_no, create = _parse_rating(data)
            status, body = await asyncio.to_thread(_store_rating, ctx, token, key, staff_no, create)
            return JSONResponse(body, status_code=status)
        except ApiError as err:
            return err.response()

    @router.post("/complaints", status_code=201)
    async def post_complaint(request: Request) -> JSONResponse:
        try:
            token = _bearer(request)
            data = await _json_body(request)
            key = _idempotency_key(request)
            form, rating_id = _parse_complaint(data)
            status, body = await asyncio.to_thread(_store_complaint, ctx, token, key, form, rating_id)
            return JSONResponse(body, status_code=status)
        except ApiError as err:
            return err.response()

    return router


def _store_rating(
    ctx: AppContext, token: str, key: str, staff_no: str | None, create: RatingCreate
) -> tuple[int, dict[str, Any]]:
    """One write transaction for the whole request: the device's token (and its ``last_seen_at``,
    when due), the rating and the answer. ``submit_rating`` commits it; the 201 is sent only after
    that commit. A refused rating still records that the device was seen, as a separate request
    for the device would, and stores nothing else."""
    now = ctx.clock()
    with ctx.db.write() as session:
        try:
            device = authenticate_device(session, token, now=now, commit=False)
        except DeviceNotAuthorized as exc:
            raise ApiError(401, "unauthorized", str(exc)) from None
        try:
            public, created = rate_at_device_public(
                session, device=device, idempotency_key=key, data=create, staff_no=staff_no, now=now
            )
        except (IdempotencyConflict, StaffNotFound, ValidationFailed) as exc:
            session.commit()  # nothing but the device's last_seen_at is pending here
            if isinstance(exc, IdempotencyConflict):
                raise ApiError(409, exc.code, str(exc), "Idempotency-Key") from None
            if isinstance(exc, StaffNotFound):
                raise ApiError(422, "validation_failed", str(exc), "staff") from None
            raise ApiError(422, "validation_failed", str(exc), exc.field) from None
    return (201 if created else 200), public.model_dump(mode="json")


def _store_complaint(
    ctx: AppContext, token: str, key: str, form: dict[str, Any], rating_id: uuid.UUID | None
) -> tuple[int, dict[str, Any]]:
    """File through the kiosk's own path (kiosk/backend.file_at_place), so the API keeps the same
    rules: the device's counter and on-duty staff, a rating only from this device, the tracking code
    derived from the server's secret (a replay shows it again), and the alert hook after the commit."""
    try:
        filing = file_at_place(ctx, idempotency_key=key, form=form, device_token=token, rating_id=rating_id)
    except DeviceNotAuthorized as exc:
        raise ApiError(401, "unauthorized", str(exc)) from None
    except IdempotencyConflict as exc:
        raise ApiError(409, exc.code, str(exc), "Idempotency-Key") from None
    except ValidationFailed as exc:
        if exc.field == "rating":
            raise _invalid("rating_id", "this rating was not given on this device") from None
        if exc.field == "consent":  # the one rule on consent, once it is a boolean
            raise _invalid(
                "consent",
                'contact details are kept only with consent: send "consent": true, or leave contact out',
            ) from None
        raise _invalid(exc.field, str(exc)) from None
    return (201 if filing.created else 200), _complaint_body(ctx, filing)


def _complaint_body(ctx: AppContext, filing: Filing) -> dict[str, Any]:
    base = ctx.settings.effective_public_url.rstrip("/")
    body = ComplaintFiled(
        tracking_code=filing.code,
        status_url=f"{base}/t/{filing.code}" if filing.code else None,
        status=filing.status,
        severity=filing.severity,
        category=filing.category,
        created_at=filing.created_at,
        due_at=filing.due_at,
        reply_within_hours=filing.hours,
        message=None if filing.code else CODE_NOT_RECOVERABLE,
    )
    return body.model_dump(mode="json", exclude_none=filing.code is not None)
