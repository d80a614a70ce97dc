"""What every endpoint under /api/v1 shares: the one error body, and the checks at the door (the bearer
token's form, the body's size and JSON, the Idempotency-Key). Used by rapport/entry/api.py and
rapport/entry/api_services.py."""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import JSONResponse

from models.errors import ValidationFailed
from models.rating import validate_idempotency_key

MAX_BODY_BYTES = 16 * 1024


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            error["field"] = self.field
        return {"error": error}

    def response(self) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if self.status == 401 else None
        return JSONResponse(self.body(), status_code=self.status, headers=headers)


def bearer(header: str | None) -> str:
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "send the device token as 'Authorization: Bearer <token>'")
    return token.strip()


def too_large() -> ApiError:
    return ApiError(413, "body_too_large", f"the request body must be at most {MAX_BODY_BYTES} bytes")


def json_object(raw: bytes) -> dict[str, Any]:
    if len(raw) > MAX_BODY_BYTES:
        raise too_large()
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ApiError(400, "invalid_json", "the request body must be a JSON object in UTF-8") from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "the request body must be a JSON object")
    return data


def idempotency_key(header: str | None) -> str:
    try:
        return validate_idempotency_key(header)
    except ValidationFailed as exc:
        raise ApiError(422, "validation_failed", str(exc), "Idempotency-Key") from None


def invalid(field: str, message: str) -> ApiError:
    return ApiError(422, "validation_failed", f"{field}: {message}", field)
