"""HTTP API under /api/v1 for enrolled devices and integrations (see docs/API.md).

Every error is JSON ``{"error": {"code", "message", "field"?}}`` with a 4xx status, and nothing is
stored on any error.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import uuid
from collections.abc import Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial
from typing import Any, ClassVar

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from models.errors import (
    DeviceNotAuthorized,
    IdempotencyConflict,
    StaffNotFound,
    ValidationFailed,
)
from models.intake import DeviceRead, Taken, read_devices, take_rating_with_token_staged
from models.prepared import in_one_go
from models.rating import RatingCreate
from models.services import NUMBER_MAX as TRANSACTION_NUMBER_MAX
from rapport.core.context import AppContext
from rapport.core.group_write import GroupWriter
from rapport.entry import api_services
from rapport.entry.api_common import (
    MAX_BODY_BYTES,
    ApiError,
    bearer,
    idempotency_key,
    invalid,
    json_object,
    too_large,
)
from rapport.usecases.alerting import after_rating
from rapport.usecases.filing import Filing, file_at_place

log = logging.getLogger(__name__)

COMPLAINT_FIELDS = ("category", "description", "contact", "consent", "locale", "rating_id")
CODE_NOT_RECOVERABLE = (
    "this complaint was filed before with this Idempotency-Key; its tracking code was shown once, in "
    "the first answer, and cannot be shown again"
)


def _parse_rating(data: dict[str, Any]) -> tuple[str | None, str | None, RatingCreate]:
    """The person named, the transaction (办件) named by its number, and the rating itself."""
    staff = data.pop("staff", None)
    if staff is not None and (
        not isinstance(staff, str) or not staff.strip() or len(staff) > 32 or not staff.isprintable()
    ):
        raise ApiError(422, "validation_failed", "staff must be an employee number (text)", "staff")
    transaction = data.pop("transaction", None)
    if transaction is not None:
        if (
            not isinstance(transaction, str) or not transaction.strip()
            or len(transaction) > TRANSACTION_NUMBER_MAX or not transaction.isprintable()
        ):  # fmt: skip
            raise ApiError(
                422, "validation_failed", "transaction must be a transaction number (text)", "transaction"
            )
        if staff is not None:
            raise ApiError(
                422, "validation_failed",
                "give staff or transaction, not both: a transaction's rating is of whoever served it",
                "transaction",
            )  # fmt: skip
    try:
        return staff, transaction, RatingCreate.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "body"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field; allowed fields are staff, transaction, score, reasons, comment"
        elif err["type"] == "missing":
            msg = "this field is required"
        raise ApiError(422, "validation_failed", f"{field}: {msg}", field) from None


def _parse_complaint(data: dict[str, Any]) -> tuple[dict[str, Any], uuid.UUID | None]:
    """The complaint form and the rating it comes with, checked for what only the API can get wrong
    (unknown fields, JSON types); the form's own rules are the kiosk's (models/complaint/)."""
    unknown = [name for name in data if name not in COMPLAINT_FIELDS]
    if unknown:
        raise invalid(unknown[0], f"unknown field; allowed fields are {', '.join(COMPLAINT_FIELDS)}")
    if "consent" in data and not isinstance(data["consent"], bool):
        raise invalid("consent", "consent must be true or false")
    raw = data.pop("rating_id", None)
    rating_id = None
    if raw is not None:
        try:
            rating_id = uuid.UUID(raw) if isinstance(raw, str) and len(raw) <= 64 else None
        except ValueError:
            rating_id = None
        if rating_id is None:
            raise invalid("rating_id", "rating_id must be the id of a rating given on this device")
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
    # The promise as the branch's clock counts it: "working_days" 5, "calendar_days" 15,
    # "opening_hours" 72 (hours the branch is open) or "hours" 72 (wall clock).
    reply_within: int
    reply_within_unit: str
    # Kept for clients written before day-based clocks: the hours, or null for a clock in days.
    reply_within_hours: int | None
    message: str | None = None


RATINGS_PATH = "/api/v1/ratings"
# PostgreSQL: groups of ratings stored at once by each server process. With one, a group's round trips
# to the server run one after another while the second core waits. Two took 26-59 % more ratings a
# second than one, and 13-40 % more than a transaction per rating (docs/PERFORMANCE.md, "Group commit
# on PostgreSQL").
PG_GROUP_THREADS = 2
COMPLAINTS_PATH = "/api/v1/complaints"

# What a store function gives back: the status, the body, and what to run after the answer is sent
# (in the loop's pool, not awaited), if anything.
Stored = tuple[int, dict[str, Any] | bytes, Callable[[], None] | None]


class _BarePost:
    """``POST`` at one path as a bare ASGI app in front of the framework: what :class:`RatingsEndpoint`
    and :class:`ComplaintsEndpoint` share. Any other path goes on to ``app``; another method is a 405
    with ``Allow: POST``. Then, each with its own answer: the token's form (401, with
    ``WWW-Authenticate: Bearer`` as every 401), the body's size and JSON (413, 400), the
    Idempotency-Key (422), and :meth:`store_call`'s field checks (422); then the store function it
    returns, with the request's context, in one thread of its own on SQLite or the loop's pool."""

    path: ClassVar[str]
    wrong_method: ClassVar[str]  # the 405's message
    writer_name: ClassVar[str]  # the SQLite writer thread's name

    def __init__(self, app: ASGIApp, *, ctx: AppContext):
        self.app = app
        self.ctx = ctx
        # SQLite has one writer at a time, so requests are stored by one thread of their own, in
        # arrival order: worker threads queueing for the write lock only added hand-overs between
        # them (docs/PERFORMANCE.md). PostgreSQL writes in parallel: the loop's shared pool.
        self._writer = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=self.writer_name)
            if ctx.db.dialect.name == "sqlite"
            else None
        )
        self._pending: set[asyncio.Future[None]] = set()  # after-answer work still running

    def store_call(self, token: str, key: str, data: dict[str, Any]) -> Callable[[], Stored]:
        """Check the fields (:class:`ApiError`) and return the store function for the writer."""
        raise NotImplementedError

    async def store(self, token: str, key: str, data: dict[str, Any]) -> Stored:
        """Check the fields and store the request: :meth:`store_call`'s function in the writer."""
        store = self.store_call(token, key, data)
        # As asyncio.to_thread, with the request's context (its id in every log line).
        call = partial(contextvars.copy_context().run, store)
        return await asyncio.get_running_loop().run_in_executor(self._writer, call)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        if scope["method"] != "POST":
            err = ApiError(405, "method_not_allowed", self.wrong_method)
            await _send_json(send, err.status, err.body(), [(b"allow", b"POST")])
            return
        headers = {name.lower(): value for name, value in scope["headers"]}
        try:
            token = bearer(_latin1(headers.get(b"authorization")))
            raw = await _read_body(receive)
            if raw is None:  # the client went away; nobody to answer
                return
            data = json_object(raw)
            key = idempotency_key(_latin1(headers.get(b"idempotency-key")))
            status, body, after = await self.store(token, key, data)
        except ApiError as err:
            extra = [(b"www-authenticate", b"Bearer")] if err.status == 401 else []
            await _send_json(send, err.status, err.body(), extra)
            return
        await _send_json(send, status, body)
        if after is not None:
            # Not awaited, so the connection's next request does not wait for it.
            loop = asyncio.get_running_loop()
            pending = loop.run_in_executor(None, partial(contextvars.copy_context().run, after))
            self._pending.add(pending)
            pending.add_done_callback(self._pending.discard)


class RatingsEndpoint(_BarePost):
    """``POST /api/v1/ratings`` as a bare ASGI app in front of the framework (rapport/entry/server.py).

    It is the path under load (every integration's rating; docs/QUALITY.md's HTTP intake target), so it
    skips what the rest of the app needs and it does not: the gzip layers (its answers are a few
    hundred bytes), Starlette's request object, FastAPI's routing and exception middleware. It keeps
    what every request gets from the layers outside it (rapport/entry/server.py): the request id and the
    access-log line, the origin check. Checks come in this order, each with its own answer: the
    token's form (401), the body's size and JSON (413, 400), the Idempotency-Key (422), the fields
    (422); then the rating is stored with the others waiting, in one write transaction of a writer
    thread (rapport/core/group_write.py), and answered once it is committed (401 unknown token, 409,
    422, or 201/200).
    After the answer, as the kiosk does after a tap: a burst of low scores at the counter alerts the
    branch's supervisors now (not awaited; should a shutdown lose it, the alert-rules job catches it up).
    """

    path = RATINGS_PATH
    wrong_method = "use POST to send a rating"
    writer_name = "rapport-intake"

    def __init__(self, app: ASGIApp, *, ctx: AppContext):
        super().__init__(app, ctx=ctx)
        self._group, self._take = rating_writer(ctx, self.writer_name)

    async def store(self, token: str, key: str, data: dict[str, Any]) -> Stored:
        staff_no, transaction, create = _parse_rating(data)
        work = partial(self._take, self.ctx, token, key, staff_no, create, transaction)
        try:
            outcome = await self._group.submit(work, key=token)
        except DeviceNotAuthorized as exc:
            raise ApiError(401, "unauthorized", str(exc)) from None
        return _rating_answer(self.ctx, outcome)


# What stores one API rating in a group writer's transaction: (ctx, token, key, staff_no, create,
# transaction) and then the writer's (conn, what was read ahead).
TakeRating = Callable[..., Any]


def rating_writer(ctx: AppContext, name: str) -> tuple[GroupWriter, TakeRating]:
    """The group writer that stores the API's ratings, and the work it runs for each. The ratings
    waiting are stored together, one commit for all (rapport/core/group_write.py; docs/PERFORMANCE.md,
    "Group commit"): on SQLite each in a savepoint; on PostgreSQL without (an unknown token raises
    before anything is written; any other failure stores each alone), the group's devices read in
    one round trip and then its rows sent together, their answers awaited in one more."""
    if ctx.db.dialect.name == "sqlite":
        return GroupWriter(ctx.db, name=name), _take_rating
    writer = GroupWriter(
        ctx.db,
        name=name,
        savepoints=False,
        clean=(DeviceNotAuthorized,),
        lazy=True,
        threads=PG_GROUP_THREADS,
        read_ahead=partial(_read_devices, ctx),
        staged=True,
    )
    return writer, _take_rating_staged


class ComplaintsEndpoint(_BarePost):
    """``POST /api/v1/complaints`` as a bare ASGI app in front of the framework, as
    :class:`RatingsEndpoint` is and for the same reasons (docs/PERFORMANCE.md, "Complaints"): what
    a request passes through outside it (request id, access log, origin check) it still passes
    through. Checks in this order, each with its own answer: the token's form (401), the body's size
    and JSON (413, 400), the Idempotency-Key (422), the API's own field checks (422); then the
    filing in one write transaction in a worker thread (422 naming the field, 401 unknown token,
    409, or 201/200), a high-severity complaint's alert stored with it and pushed after the commit."""

    path = COMPLAINTS_PATH
    wrong_method = "use POST here"
    writer_name = "rapport-complaints"

    def store_call(self, token: str, key: str, data: dict[str, Any]) -> Callable[[], Stored]:
        form, rating_id = _parse_complaint(data)
        return partial(_store_complaint, self.ctx, token, key, form, rating_id)


def _latin1(value: bytes | None) -> str | None:
    return value.decode("latin-1") if value is not None else None


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None if the client disconnected; :func:`_too_large` as soon as it
    passes the limit (the rest is not read)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_large()
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send_json(
    send: Send, status: int, payload: dict[str, Any] | bytes, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = (
        payload
        if isinstance(payload, bytes)
        else json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    )
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": body})


# Methods of the API's other paths (under /api/v1), for the 405 of any other method; ratings answer their
# own (RatingsEndpoint). The description is served by rapport/entry/server.py.
ALLOWED_METHODS = {"/complaints": "POST", "/openapi.json": "GET", "/services": "POST"}
ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def build_router(ctx: AppContext) -> APIRouter:
    """The API's other endpoints (``POST /api/v1/ratings`` is :class:`RatingsEndpoint`, ``POST
    /api/v1/complaints`` :class:`ComplaintsEndpoint`), and the API's
    own answer to any other request under /api/v1: 405 for another method of a known path, 404 for an
    unknown path, with the error body. Without it the kiosk app mounted at / answered them (its page
    with a 200 for a GET, Starlette's ``{"detail": ...}`` with its own Allow for the rest). Include it
    after any other route under /api/v1, since its last route takes every path."""
    router = APIRouter()

    api_services.add_routes(router, ctx)  # /services: transactions and invitations (issue 18)

    @router.api_route("/{path:path}", methods=ANY_METHOD, include_in_schema=False)
    async def elsewhere(path: str) -> JSONResponse:
        allowed = ALLOWED_METHODS.get(f"/{path}")
        if allowed is None:
            return ApiError(404, "not_found", "no such endpoint; see /api/v1/openapi.json").response()
        err = ApiError(405, "method_not_allowed", f"use {allowed} here")
        return JSONResponse(err.body(), status_code=405, headers={"Allow": allowed})

    return router


def _check_burst(ctx: AppContext, branch_id: int, counter_id: int) -> None:
    try:
        after_rating(ctx, branch_id=branch_id, counter_id=counter_id)
    except Exception:  # the rating is stored and answered; the alert-rules job looks again
        log.exception("negative-burst check after an API rating failed")


# What storing a rating came to: the rating (stored now, or before for a retry), or why it was refused.
Outcome = Taken | IdempotencyConflict | StaffNotFound | ValidationFailed


def _take_rating_staged(
    ctx: AppContext,
    token: str,
    key: str,
    staff_no: str | None,
    create: RatingCreate,
    transaction: str | None,
    conn: Any,
    read: DeviceRead | None = None,
) -> Generator[None, None, Outcome]:
    """The request's writes in the caller's transaction on ``conn`` (models/intake.py): the device's
    token (and its ``last_seen_at``, when due), then the rating. A refused rating is returned, not
    raised, so that the transaction still records that the device was seen, as a separate request
    for the device would, and nothing else; an unknown or revoked token raises
    :class:`DeviceNotAuthorized` (nothing is written). ``read``: the device's row read ahead with
    the group's others (:func:`_read_devices`); the rating is then taken at the time it was read.

    In two steps (models/intake.py take_rating_staged): it pauses once, after sending the rating's
    row, so that a group's rows are sent together on PostgreSQL; :func:`_take_rating` runs it in one
    go (SQLite's group writer)."""
    try:
        taken = yield from take_rating_with_token_staged(
            conn, ctx.db.dialect, token=token, idempotency_key=key, data=create,
            staff_no=staff_no, now=read.at if read is not None else ctx.clock(),
            transaction_number=transaction, read=read,
        )  # fmt: skip
    except (IdempotencyConflict, StaffNotFound, ValidationFailed) as exc:
        return exc
    return taken


_take_rating = in_one_go(_take_rating_staged)


def _read_devices(ctx: AppContext, conn: Any, tokens: list[Any]) -> dict[str, DeviceRead]:
    """A group's devices by token, read together at one moment (models/intake.py read_devices)."""
    return read_devices(conn, ctx.db.dialect, tokens, now=ctx.clock())


def _rating_answer(ctx: AppContext, outcome: Outcome) -> Stored:
    """The answer to a committed :func:`_take_rating`: 201 (stored) or 200 (a retry) with the rating,
    or the refusal's 409 or 422. The third value is the burst check of the (branch, counter) whose
    ratings this one made a negative burst, for its alert after the answer."""
    if isinstance(outcome, IdempotencyConflict):
        raise ApiError(409, outcome.code, str(outcome), "Idempotency-Key")
    if isinstance(outcome, StaffNotFound):
        raise ApiError(422, "validation_failed", str(outcome), "staff")
    if isinstance(outcome, ValidationFailed):
        raise ApiError(422, "validation_failed", str(outcome), outcome.field)
    rating = outcome.rating
    burst = (
        partial(_check_burst, ctx, rating.branch_id, rating.counter_id)
        if outcome.burst and rating.counter_id is not None
        else None
    )
    return (201 if outcome.created else 200), rating.model_dump_json().encode("utf-8"), burst


def _store_complaint(
    ctx: AppContext, token: str, key: str, form: dict[str, Any], rating_id: uuid.UUID | None
) -> Stored:
    """File through the kiosk's own path (rapport/usecases/filing.py file_at_place), so the API keeps the
    same rules: the device's counter and on-duty staff, a rating only from this device, the tracking
    code derived from the server's secret (a replay shows it again), a high-severity complaint's
    alert for the supervisors."""
    try:
        filing = file_at_place(ctx, idempotency_key=key, form=form, device_token=token, rating_id=rating_id)
    except DeviceNotAuthorized as exc:
        raise ApiError(401, "unauthorized", str(exc)) from None
    except IdempotencyConflict as exc:
        raise ApiError(409, exc.code, str(exc), "Idempotency-Key") from None
    except ValidationFailed as exc:
        if exc.field == "rating":
            raise invalid("rating_id", "this rating was not given on this device") from None
        if exc.field == "consent":  # the one rule on consent, once it is a boolean
            raise invalid(
                "consent",
                'contact details are kept only with consent: send "consent": true, or leave contact out',
            ) from None
        raise invalid(exc.field, str(exc)) from None
    return (201 if filing.created else 200), _complaint_body(ctx, filing), None


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
        reply_within=filing.promise_amount,
        reply_within_unit=filing.promise_unit,
        reply_within_hours=filing.promise_amount
        if filing.promise_unit in ("hours", "opening_hours")
        else None,
        message=None if filing.code else CODE_NOT_RECOVERABLE,
    )
    return body.model_dump(mode="json", exclude_none=filing.code is not None)
