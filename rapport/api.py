"""HTTP API under /api/v1 for enrolled devices and integrations (see docs/API.md).

Every error is JSON ``{"error": {"code", "message", "field"?}}`` with a 4xx status, and nothing is
stored on any error.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from models.devices import authenticate_device
from models.errors import (
    DeviceNotAuthorized,
    IdempotencyConflict,
    StaffNotFound,
    ValidationFailed,
)
from models.rating import RatingCreate, rate_at_device, to_public, validate_idempotency_key
from rapport.context import AppContext

MAX_BODY_BYTES = 16 * 1024


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
    if staff is not None and (not isinstance(staff, str) or not staff.strip() or len(staff) > 32):
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


def build_router(ctx: AppContext) -> APIRouter:
    router = APIRouter()

    @router.post("/ratings", status_code=201)
    async def post_rating(request: Request) -> JSONResponse:
        try:
            token = _bearer(request)
            data = await _json_body(request)
            key = request.headers.get("idempotency-key")
            try:
                key = validate_idempotency_key(key)
            except ValidationFailed as exc:
                raise ApiError(422, "validation_failed", str(exc), "Idempotency-Key") from None
            staff_no, create = _parse_rating(data)
            status, body = await asyncio.to_thread(_store_rating, ctx, token, key, staff_no, create)
            return JSONResponse(body, status_code=status)
        except ApiError as err:
            return err.response()

    return router


def _store_rating(
    ctx: AppContext, token: str, key: str, staff_no: str | None, create: RatingCreate
) -> tuple[int, dict[str, Any]]:
    with ctx.db.write() as session:
        try:
            device = authenticate_device(session, token, now=ctx.clock())
            rating, created = rate_at_device(
                session, device=device, idempotency_key=key, data=create, staff_no=staff_no, now=ctx.clock()
            )
        except DeviceNotAuthorized as exc:
            raise ApiError(401, "unauthorized", str(exc)) from None
        except IdempotencyConflict as exc:
            raise ApiError(409, exc.code, str(exc), "Idempotency-Key") from None
        except StaffNotFound as exc:
            raise ApiError(422, "validation_failed", str(exc), "staff") from None
        except ValidationFailed as exc:
            raise ApiError(422, "validation_failed", str(exc), exc.field) from None
        body = to_public(session, rating).model_dump(mode="json")
    return (201 if created else 200), body
