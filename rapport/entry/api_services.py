"""``/api/v1/services``: the queue or business system reports a finished transaction (办件), and asks
whether it was rated (issue 18; docs/API.md "Transactions and invitations").

- ``POST /api/v1/services`` (device token, Idempotency-Key): ``number``, ``service_code`` and
  optionally ``staff``, ``counter``, ``finished_at``. 201 with the transaction and the link for the
  receipt; 200 for a retry; 409 for a key reused with another request or a number already reported;
  422 naming the field. The counter's tablet then invites a rating of that service.
- ``GET /api/v1/services/{number}``: the transaction of the device's branch, with ``status``
  invited / rated / defaulted.

Errors have the API's one shape (rapport/entry/api.py ``ApiError``); nothing is stored on any error.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from models.errors import DeviceNotAuthorized, IdempotencyConflict, StaffNotFound, ValidationFailed
from rapport.core.context import AppContext
from rapport.entry.api_common import ApiError, bearer, idempotency_key, invalid, json_object
from rapport.usecases.services import (
    TransactionNotFound,
    TransactionView,
    record_finished,
    transaction_status,
)

NUMBER_PATH_MAX = 64


def _utc(at: datetime) -> str:
    """Times in UTC (a replay reads them back from the database, where they are UTC)."""
    return at.astimezone(UTC).isoformat()


def body_of(view: TransactionView) -> dict[str, Any]:
    return {
        "number": view.number,
        "service": {
            "code": view.service_code, "name_zh": view.service_name_zh, "name_en": view.service_name_en,
            "version": view.service_version,
        },
        "staff": view.staff, "counter": view.counter, "branch": view.branch,
        "finished_at": _utc(view.finished_at), "invitation_url": view.invitation_url,
        "status": view.status, "rated_at": _utc(view.rated_at) if view.rated_at else None,
    }  # fmt: skip


def add_routes(router: APIRouter, ctx: AppContext) -> None:
    @router.post("/services", status_code=201)
    async def post_service(request: Request) -> JSONResponse:
        try:
            token = bearer(request.headers.get("authorization"))
            data = json_object(await request.body())
            key = idempotency_key(request.headers.get("idempotency-key"))
            try:
                view, created = await asyncio.to_thread(
                    lambda: record_finished(ctx, device_token=token, idempotency_key=key, data=data)
                )
            except DeviceNotAuthorized as exc:
                raise ApiError(401, "unauthorized", str(exc)) from None
            except IdempotencyConflict as exc:
                raise ApiError(409, exc.code, str(exc), "Idempotency-Key") from None
            except (ValidationFailed, StaffNotFound) as exc:
                field = exc.field if isinstance(exc, ValidationFailed) else "staff"
                raise invalid(field, str(exc)) from None
            return JSONResponse(body_of(view), status_code=201 if created else 200)
        except ApiError as err:
            return err.response()

    @router.get("/services/{number}")
    async def get_service(number: str, request: Request) -> JSONResponse:
        try:
            token = bearer(request.headers.get("authorization"))
            if not number or len(number) > NUMBER_PATH_MAX or not number.isprintable():
                raise ApiError(404, "not_found", "no such transaction")
            try:
                view = await asyncio.to_thread(
                    lambda: transaction_status(ctx, device_token=token, number=number)
                )
            except DeviceNotAuthorized as exc:
                raise ApiError(401, "unauthorized", str(exc)) from None
            except TransactionNotFound as exc:
                raise ApiError(404, "not_found", str(exc)) from None
            return JSONResponse(body_of(view))
        except ApiError as err:
            return err.response()
