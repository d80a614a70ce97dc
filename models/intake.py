"""Taking a rating from an enrolled device: every tap at a counter and every ``POST /api/v1/ratings``.

The rules are those of :mod:`models.rating` (who is rated, the misuse flag, idempotency); this module
is their one implementation for device ratings, written for speed because it is the path under
load (docs/PERFORMANCE.md): a handful of statements compiled once (:mod:`models.prepared`), plain
rows instead of ORM objects, the validated policy cached by its values, and the answer built from
what the request already holds. It runs inside the caller's write transaction and never commits:
``rapport.core.db.Database.raw_write`` (the API and the kiosk) or an ORM session (``rate_at_device``).
In a lazy ``raw_write`` on PostgreSQL it opens the transaction itself (``models.prepared.begin``)
before the first of several writes; a rating that is the only write is one statement.

1. :func:`device_by_token`: the active device holding the token, with its counter's branch; its
   ``last_seen_at`` moves (at most once a minute) in the same transaction.
2. :func:`take_rating`: the person rated (the one named, else whoever is on duty at the counter,
   else nobody: counter-level feedback), the misuse flag from the device's recent presses, then
   the row, inserted first so that the unique idempotency key settles retries and races (one row,
   both answered with it; a reused key with a different request is refused). A counted rating
   also gets its provincial feed record (:mod:`models.feed`) in the same transaction, when the
   deployment has the feed on; with it off that costs one attribute test.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Generator
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Integer, Text, bindparam, case, cast, func, select
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from models.alerts import NEGATIVE_SCORE, burst_reached
from models.cases import open_case, opens_case
from models.catalog import ConductClause
from models.clock import UTCDateTime, utcnow
from models.crypto import new_uuid, token_digest
from models.devices import MARK_SEEN, DeviceAtCounter, last_seen_due
from models.duty import on_duty_where
from models.errors import DeviceNotAuthorized, IdempotencyConflict, StaffNotFound, ValidationFailed
from models.feed import FEED, enqueue
from models.org import Counter, Device, Duty, Staff
from models.policy import SCOPE_ROWS, Policy, PolicyValues, policy_of_scopes, policy_of_texts
from models.prepared import Prepared, begin, driver_of, in_one_go
from models.rating import (
    Channel,
    FlagReason,
    Rating,
    RatingCreate,
    RatingPublic,
    as_loaded,
    bind_to_transaction,
    decide_flag,
    insert_rating,
    rating_inserted,
    recent_presses,
    request_hash,
    send_rating,
    validate_idempotency_key,
)
from models.services import ServiceTransaction
from models.text import is_plain_key

TOKEN_MAX = 200


class Taken(NamedTuple):
    """A rating as stored (or as stored before, for a retry) and whether this request stored it (a
    tuple: made for every tap)."""

    created: bool
    values: dict[str, Any] | None = None  # the stored row's columns, when this request stored it
    # This request stored a low rating that makes its counter's window a negative burst (by the
    # policy): the caller raises the alert after the commit (rapport/usecases/alerting.after_rating).
    burst: bool = False
    staff_no: str | None = None  # the employee number of the person rated (a new rating)
    stored: RatingPublic | None = None  # the rating as stored before (a retry)

    @property
    def rating(self) -> RatingPublic:
        """The rating as answered, built when asked for: a tap at the counter needs only its id."""
        if self.stored is not None:
            return self.stored
        assert self.values is not None
        return _public(self.values, self.staff_no)

    @property
    def place(self) -> tuple[uuid.UUID, int, int | None]:
        """The rating's id, branch and counter."""
        if self.stored is not None:
            return self.stored.id, self.stored.branch_id, self.stored.counter_id
        assert self.values is not None
        return self.values["id"], self.values["branch_id"], self.values["counter_id"]


# -- statements (built against the models, compiled once per dialect) -------------------------------


def _device_statement(_dialect: str) -> Any:
    """Everything a rating needs to know before it is stored, in one round trip: the device and its
    counter's branch; whoever is on duty at that counter at ``at`` (if duties overlap because a
    sign-out was missed, the latest sign-in); the global and the branch's policy rows. Bind
    ``digest``, ``at``, ``at_end`` (the same time)."""
    on_duty = aliased(Staff, name="on_duty")
    branch_policy = aliased(Policy, name="branch_policy")
    duty_staff = (
        select(col(Duty.staff_id))
        .join(Staff, col(Staff.id) == col(Duty.staff_id))
        .where(*on_duty_where(col(Device.counter_id)))
        .order_by(col(Duty.started_at).desc())
        .limit(1)
        .correlate(Device)
        .scalar_subquery()
    )
    # The device's presses in the burst window (bind since, n, and nth = n - 1), bounded as
    # models.rating.recent_presses is: the latest, and how many (n once there are at least n,
    # known from the n-th newest without counting further; CASE evaluates the count only below n).
    since = bindparam("since", type_=UTCDateTime())
    in_window = (col(Rating.device_id) == col(Device.id), col(Rating.created_at) > since)
    latest_press = (
        select(func.max(col(Rating.created_at))).where(*in_window).correlate(Device).scalar_subquery()
    )
    nth_press = (
        select(col(Rating.created_at))
        .where(*in_window)
        .order_by(col(Rating.created_at).desc())
        .limit(1)
        .offset(bindparam("nth"))
        .correlate(Device)
        .scalar_subquery()
    )
    few_presses = (
        select(func.count()).select_from(Rating).where(*in_window).correlate(Device).scalar_subquery()
    )
    presses = case((nth_press.is_(None), few_presses), else_=bindparam("n", type_=Integer()))
    # The policy rows as their stored text: the validated policy is cached by it (no JSON decoding
    # or re-encoding per tap; models.policy.policy_of_texts).
    global_values = (
        select(cast(col(Policy.values), Text)).where(col(Policy.branch_id).is_(None)).scalar_subquery()
    )
    branch_values = (
        select(cast(col(branch_policy.values), Text))
        .where(col(branch_policy.branch_id) == col(Counter.branch_id))
        .correlate(Counter)
        .scalar_subquery()
    )
    return (
        select(
            col(Device.id),
            col(Device.counter_id),
            col(Counter.branch_id),
            col(Device.revoked_at),
            col(Device.last_seen_at),
            col(on_duty.id),
            col(on_duty.employee_no),
            global_values,
            branch_values,
            presses,
            latest_press,
        )  # fmt: skip
        .join(Counter, col(Counter.id) == col(Device.counter_id))
        .outerjoin(on_duty, col(on_duty.id) == duty_staff)
        .where(col(Device.token_digest) == bindparam("digest"))
    )


_DEVICE = Prepared(_device_statement)
_COUNTER_BRANCH = Prepared(
    lambda _d: select(col(Counter.branch_id)).where(col(Counter.id) == bindparam("counter_id"))
)
# Who is on duty at the counter now; if duties overlap (a sign-out was missed) the latest sign-in.
_ON_DUTY = Prepared(
    lambda _d: (
        select(col(Staff.id), col(Staff.employee_no))
        .join(Duty, col(Duty.staff_id) == col(Staff.id))
        .where(*on_duty_where(bindparam("counter_id")))
        .order_by(col(Duty.started_at).desc())
        .limit(1)
    )
)
_STAFF_BY_NUMBER = Prepared(
    lambda _d: select(col(Staff.id), col(Staff.employee_no), col(Staff.branch_id), col(Staff.active)).where(
        col(Staff.employee_no) == bindparam("employee_no")
    )
)
_TRANSACTION = Prepared(
    lambda _d: (
        select(col(ServiceTransaction.counter_id), col(ServiceTransaction.staff_id), col(Staff.employee_no))
        .select_from(ServiceTransaction)
        .outerjoin(Staff, col(Staff.id) == col(ServiceTransaction.staff_id))
        .where(col(ServiceTransaction.id) == bindparam("transaction_id"))
    )
)
_TRANSACTION_BY_NUMBER = Prepared(
    lambda _d: select(col(ServiceTransaction.id)).where(col(ServiceTransaction.number) == bindparam("number"))
)
_RATEABLE = Prepared(
    lambda _d: select(col(ConductClause.code)).where(col(ConductClause.rateable), col(ConductClause.active))
)
_BY_KEY = Prepared(
    lambda _d: (
        select(
            col(Rating.id),
            col(Rating.request_hash),
            col(Staff.employee_no),
            col(Rating.staff_id),
            col(Rating.counter_id),
            col(Rating.branch_id),
            col(Rating.channel),
            col(Rating.score),
            col(Rating.reasons),
            col(Rating.comment),
            col(Rating.created_at),
            col(Rating.flagged),
            col(Rating.counted),
        )  # fmt: skip
        .outerjoin(Staff, col(Staff.id) == col(Rating.staff_id))
        .where(col(Rating.idempotency_key) == bindparam("key"))
    )
)
# The counted ratings at a counter since a moment, and how many of them are low (a negative burst).
_COUNTER_WINDOW = Prepared(
    lambda _d: select(func.count(), func.sum(case((col(Rating.score) <= NEGATIVE_SCORE, 1), else_=0))).where(
        col(Rating.counter_id) == bindparam("counter_id"),
        col(Rating.counted).is_(True),
        col(Rating.is_default).is_(False),  # customers' ratings only (models/alerts.py recent_scores)
        col(Rating.created_at) > bindparam("since", type_=UTCDateTime()),
    )
)


# -- steps ------------------------------------------------------------------------------------------


def device_by_token(
    conn: Any, dialect: Dialect, token: str | None, *, now: datetime, read: DeviceRead | None = None
) -> _Context:
    """The active device holding ``token`` and its counter's branch, or :class:`DeviceNotAuthorized`,
    with who is on duty there at ``now`` and the branch's policy (one query); the device's
    ``last_seen_at`` moves when due (see :func:`models.devices.last_seen_due`), uncommitted.
    ``read``: that query's answer already read by :func:`read_devices` (for a group of requests, all
    in one round trip), at ``now``."""
    if read is not None and read.at != now:
        raise ValueError("a device read ahead is used at the moment it was read for")
    if not token or len(token) > TOKEN_MAX:
        raise DeviceNotAuthorized("a valid device token is required")
    # The presses are counted in the window of the policy last seen (it changes only when an admin
    # saves the rules), and counted again below in the right one if this policy differs.
    window, most, _span = read.window if read is not None else _presses_window
    row = read.row if read is not None else _DEVICE.first(conn, dialect, _device_params(token, now))
    if row is None or row[3] is not None:
        raise DeviceNotAuthorized("this device token is unknown or revoked")
    device = DeviceAtCounter(id=row[0], counter_id=row[1], branch_id=row[2], last_seen_at=row[4])
    if last_seen_due(device, now):
        begin(conn, dialect)  # with the rating, in one transaction
        MARK_SEEN.rowcount(conn, dialect, {"device_id": device.id, "now": now, "seen_at": now})
    on_duty = (int(row[5]), str(row[6])) if row[5] is not None else None
    policy = policy_of_texts(row[7], row[8])
    latest = now - row[10] if row[10] is not None else None
    presses: tuple[int, timedelta | None] = (int(row[9]), latest)
    if policy.burst_window_seconds != window or policy.burst_max_presses != most:
        _remember_window(policy)
        presses = recent_presses(conn, dialect, device_id=device.id, now=now, policy=policy)
    return _Context(device, on_duty, policy, presses)


class DeviceRead(NamedTuple):
    """The device query's answer for one token, read ahead by :func:`read_devices`."""

    row: tuple[Any, ...] | None  # None: no device holds the token
    at: datetime  # the moment it was read for (who was on duty then, the presses before it)
    window: tuple[int, int, timedelta]  # the presses window it was counted in


def read_devices(conn: Any, dialect: Dialect, tokens: list[str], *, now: datetime) -> dict[str, DeviceRead]:
    """The device query of :func:`device_by_token` for each token, at ``now``, sent together (one
    round trip on PostgreSQL: models.prepared.Prepared.first_each). A token of the wrong form is
    left out (:func:`device_by_token` refuses it without a query).

    A group of ratings stored in one transaction reads its devices first and then stores each: the
    answer for a token is what :func:`device_by_token` would read when that token's rating comes,
    provided no rating before it in the group is from the same device. What the query reads that a
    rating changes (the device's presses and ``last_seen_at``) is the device's own; the rest (its
    counter, who is on duty, the policy) no rating writes. The caller reads each token ahead for
    its first rating in the group only."""
    window = _presses_window
    asked = [token for token in tokens if token and len(token) <= TOKEN_MAX]
    rows = _DEVICE.first_each(conn, dialect, [_device_params(token, now, window) for token in asked])
    return {token: DeviceRead(row, now, window) for token, row in zip(asked, rows, strict=True)}


def _device_params(
    token: str, now: datetime, window: tuple[int, int, timedelta] | None = None
) -> dict[str, Any]:
    _seconds, most, span = window if window is not None else _presses_window
    return {
        "digest": _device_digest(token), "at": now, "at_end": now, "since": now - span, "n": most,
        "nth": most - 1,
    }  # fmt: skip


# The digests of the device tokens seen lately: a kiosk sends the same token with every tap, and
# hashing it again each time was a share of the tap (docs/PERFORMANCE.md). Device tokens only (a
# revoked one still maps to its digest, which the device query refuses).
_device_digest = functools.lru_cache(maxsize=4096)(token_digest)

_DEFAULTS = PolicyValues()
# (burst_window_seconds, burst_max_presses, the window as a timedelta) of the policy the last rating
# was taken under.
_presses_window: tuple[int, int, timedelta] = (
    _DEFAULTS.burst_window_seconds, _DEFAULTS.burst_max_presses,
    timedelta(seconds=_DEFAULTS.burst_window_seconds),
)  # fmt: skip


def _remember_window(policy: PolicyValues) -> None:
    global _presses_window
    seconds = policy.burst_window_seconds
    _presses_window = (seconds, policy.burst_max_presses, timedelta(seconds=seconds))


class _Context(NamedTuple):
    """What :func:`device_by_token` found: the device, who is on duty at its counter, the policy."""

    device: DeviceAtCounter
    on_duty: tuple[int, str] | None
    policy: PolicyValues
    presses: tuple[int, timedelta | None]  # as models.rating.recent_presses gives them


def counter_branch(conn: Any, dialect: Dialect, counter_id: int) -> int:
    row = _COUNTER_BRANCH.first(conn, dialect, {"counter_id": counter_id})
    assert row is not None  # a device's foreign key guarantees its counter
    return int(row[0])


def take_rating_staged(
    conn: Any,
    dialect: Dialect,
    *,
    device: DeviceAtCounter,
    idempotency_key: str,
    data: RatingCreate,
    staff_no: str | None,
    now: datetime,
    known: _Context | None = None,
    transaction_id: int | None = None,
) -> Generator[None, None, Taken]:
    """Store a rating from ``device`` once (uncommitted); a retry with the same key and request gets
    the stored rating back, a different request with a used key :class:`IdempotencyConflict`.
    Refusals (:class:`StaffNotFound`, :class:`ValidationFailed`) store nothing. ``known``: who is on
    duty and the policy, when :func:`device_by_token` already read them.

    In two steps: it pauses (yields) once, after sending the rating's row and before reading whether
    it was stored, so that a group of ratings in one transaction can send every row first and wait
    for their answers together (rapport/core/group_write.py, in a pipeline). A request refused, or a
    retry found before its row is sent, ends without pausing. :func:`take_rating` runs it in one go."""
    key = validate_idempotency_key(idempotency_key)
    staff: tuple[int, str] | None
    if transaction_id is not None:  # a rating of a transaction (办件): of whoever served it
        staff = _transaction_staff(conn, dialect, transaction_id, device.counter_id)
    elif staff_no:
        staff = _named_staff(conn, dialect, staff_no, device.branch_id)
    else:
        staff = known.on_duty if known is not None else _on_duty(conn, dialect, device, now)
    digest = request_hash(
        requested_staff=staff_no or None, counter_id=device.counter_id, channel=Channel.kiosk, data=data,
        transaction_id=transaction_id,
    )  # fmt: skip
    # The request's fields read once: each read of a pydantic model's attribute goes through its
    # ``__getattr__`` hook first (docs/PERFORMANCE.md).
    score, reasons = data.score, data.reasons
    if reasons:
        unknown = _unknown_reasons(conn, dialect, reasons)
        if unknown:
            existing = _by_key(conn, dialect, key)  # a retry stays a retry if a clause was retired meanwhile
            if existing is None:
                raise ValidationFailed("reasons", f"unknown reason code: {', '.join(unknown)}")
            return _replay(existing, digest)
    # Decided for every new request: a retry of a stored key keeps the flag it was stored with.
    policy = (
        known.policy
        if known is not None
        else policy_of_scopes(SCOPE_ROWS.rows(conn, dialect, {"branch_id": device.branch_id}))
    )
    count, latest = (
        known.presses
        if known is not None
        else recent_presses(conn, dialect, device_id=device.id, now=now, policy=policy)
    )
    flag = decide_flag(count=count, latest=latest, policy=policy)
    values = {
        "id": new_uuid(), "idempotency_key": key, "request_hash": digest,
        "staff_id": staff[0] if staff else None, "counter_id": device.counter_id,
        "branch_id": device.branch_id, "device_id": device.id, "channel": Channel.kiosk,
        "score": score, "reasons": reasons, "comment": data.comment, "created_at": now,
        "flagged": flag is not None, "flag_reason": flag.value if flag else None,
        "counted": flag is None, "overturned": False, "phone_key": None,
        "transaction_id": transaction_id, "is_default": False,
    }  # fmt: skip
    # Writes that must commit with the row open the transaction first; a rating that is the only
    # write (most taps) is one statement (rapport.core.db.Database.raw_write's ``lazy``).
    opens = opens_case(score=score, flagged=flag is not None, max_score=policy.bad_rating_max_score)
    if transaction_id is not None or opens or (FEED.on and flag is None):
        begin(conn, dialect)
    sent = send_rating(conn, dialect, values)
    yield
    if rating_inserted(sent):
        if transaction_id is not None:  # binding may flag it (a transaction rated before)
            bind_to_transaction(conn, dialect, values)
            flag = FlagReason(str(values["flag_reason"])) if values["flag_reason"] else None
            opens = opens_case(score=score, flagged=flag is not None, max_score=policy.bad_rating_max_score)
        if opens:
            open_case(conn, dialect, values)  # the 差评's case, in the rating's transaction
        if FEED.on and flag is None:  # the provincial feed's record (models/feed.py), likewise
            enqueue(conn, dialect, values)
        low = score <= NEGATIVE_SCORE
        # In a group sent together (rapport/core/group_write.py) the count also sees the group's
        # later ratings at this counter, so more than one of them may ask for the alert; the check
        # after the commit reads again and keeps one alert (rapport/usecases/alerting.after_rating).
        burst = low and _negative_burst(conn, dialect, device.counter_id, policy, now)
        return Taken(True, values, burst, staff[1] if staff else None)
    existing = _by_key(conn, dialect, key)
    if existing is None:  # pragma: no cover - the conflicting row cannot vanish: ratings are kept
        raise IdempotencyConflict("this Idempotency-Key is in use by another request; try again")
    return _replay(existing, digest)


def take_rating_with_token_staged(
    conn: Any,
    dialect: Dialect,
    *,
    token: str | None,
    idempotency_key: str,
    data: RatingCreate,
    staff_no: str | None,
    now: datetime,
    transaction_id: int | None = None,
    transaction_number: str | None = None,
    read: DeviceRead | None = None,
) -> Generator[None, None, Taken]:
    """:func:`device_by_token` then :func:`take_rating`, in one transaction (uncommitted). On a
    refusal after the device is known, its ``last_seen_at`` is still pending in the transaction.
    ``transaction_number``: the rating is of the transaction (办件) with that number, reported by
    ``POST /api/v1/services`` (:class:`ValidationFailed` naming ``transaction`` when there is none).
    ``read``: the device query's answer read ahead at ``now`` (:func:`read_devices`).
    In :func:`take_rating_staged`'s two steps; :func:`take_rating_with_token` runs it in one go."""
    known = device_by_token(conn, dialect, token, now=now, read=read)
    if transaction_number is not None:
        row = _TRANSACTION_BY_NUMBER.first(conn, dialect, {"number": transaction_number})
        if row is None:
            unknown = f"no transaction numbered {transaction_number!r} was reported"
            raise ValidationFailed("transaction", unknown)
        transaction_id = int(row[0])
    taken = yield from take_rating_staged(
        conn, dialect, device=known.device, idempotency_key=idempotency_key, data=data, staff_no=staff_no,
        now=now, known=known, transaction_id=transaction_id,
    )  # fmt: skip
    return taken


# -- helpers ----------------------------------------------------------------------------------------


def _negative_burst(
    conn: Any, dialect: Dialect, counter_id: int, policy: PolicyValues, now: datetime
) -> bool:
    """Whether the counter's ratings in the policy's window, this one included, are a negative burst:
    one count in the rating's own transaction, so most low ratings need no further look."""
    since = now - timedelta(minutes=policy.burst_alert_window_minutes)
    row = _COUNTER_WINDOW.first(conn, dialect, {"counter_id": counter_id, "since": since})
    total, low = (int(row[0] or 0), int(row[1] or 0)) if row is not None else (0, 0)
    return burst_reached(total, low, policy)


def _on_duty(conn: Any, dialect: Dialect, device: DeviceAtCounter, now: datetime) -> tuple[int, str] | None:
    row = _ON_DUTY.first(conn, dialect, {"counter_id": device.counter_id, "at": now, "at_end": now})
    return (int(row[0]), str(row[1])) if row is not None else None


def _transaction_staff(
    conn: Any, dialect: Dialect, transaction_id: int, counter_id: int
) -> tuple[int, str] | None:
    """Who served the transaction, which must be one of this counter's."""
    row = _TRANSACTION.first(conn, dialect, {"transaction_id": transaction_id})
    if row is None or row[0] != counter_id:
        raise ValidationFailed("transaction", "this transaction was not served at this counter")
    return (int(row[1]), str(row[2])) if row[1] is not None else None


def _named_staff(conn: Any, dialect: Dialect, staff_no: str, branch_id: int) -> tuple[int, str]:
    """The active person with this employee number, who must work at the counter's branch."""
    number = staff_no.strip() if isinstance(staff_no, str) else ""
    row = _STAFF_BY_NUMBER.first(conn, dialect, {"employee_no": number}) if is_plain_key(number, 32) else None
    if row is None or not row[3]:
        raise StaffNotFound(f"no active staff member with employee number {staff_no!r}")
    if row[2] not in (None, branch_id):
        raise ValidationFailed("staff", "this staff member does not work at this branch")
    return int(row[0]), str(row[1])


def _unknown_reasons(conn: Any, dialect: Dialect, reasons: list[str]) -> list[str]:
    known = {code for (code,) in _RATEABLE.rows(conn, dialect)}
    return [r for r in reasons if r not in known]


def _by_key(conn: Any, dialect: Dialect, key: str) -> tuple[Any, ...] | None:
    return _BY_KEY.first(conn, dialect, {"key": key})


def _replay(row: tuple[Any, ...], digest: str) -> Taken:
    (rating_id, stored_hash, staff_no, staff_id, counter_id, branch_id, channel, score, reasons, comment,
     created_at, flagged, counted) = row  # fmt: skip
    if stored_hash != digest:
        raise IdempotencyConflict(
            "this Idempotency-Key was already used for a different rating; use a new key"
        )
    public = RatingPublic(
        id=rating_id, staff=staff_no if staff_id is not None else None, counter_id=counter_id,
        branch_id=branch_id, channel=channel, score=score, reasons=list(reasons), comment=comment,
        created_at=created_at, flagged=bool(flagged), counted=bool(counted),
    )  # fmt: skip
    return Taken(False, stored=public)


def _public(values: dict[str, Any], staff_no: str | None) -> RatingPublic:
    return RatingPublic(
        id=values["id"], staff=staff_no, counter_id=values["counter_id"], branch_id=values["branch_id"],
        channel=values["channel"], score=values["score"], reasons=list(values["reasons"]),
        # In UTC, as stored: the first answer and a retry's (read back) are the same, whatever the
        # time zone of the clock the caller passed.
        comment=values["comment"], created_at=values["created_at"].astimezone(UTC), flagged=values["flagged"],
        counted=values["counted"],
    )  # fmt: skip


# The two above run in one go: a counter tap, a phone or hotline rating, a rating stored alone.
take_rating = in_one_go(take_rating_staged)
take_rating_with_token = in_one_go(take_rating_with_token_staged)


def rate_at_device(
    session: Session,
    *,
    device: Device,
    idempotency_key: str,
    data: RatingCreate,
    staff_no: str | None = None,
    now: datetime | None = None,
) -> tuple[Rating, bool]:
    """A rating from an enrolled kiosk (or an integration holding its token), committed with
    whatever the session holds; see this module (the one implementation, which the kiosk and the
    API call directly) for who is rated and the misuse flag."""
    assert device.id is not None
    conn, dialect = driver_of(session)
    branch_id = counter_branch(conn, dialect, device.counter_id)
    at_counter = DeviceAtCounter(
        id=device.id, counter_id=device.counter_id, branch_id=branch_id, last_seen_at=device.last_seen_at
    )
    taken = take_rating(
        conn, dialect, device=at_counter, idempotency_key=idempotency_key, data=data,
        staff_no=staff_no, now=now or utcnow(),
    )  # fmt: skip
    session.commit()
    if taken.values is not None:
        return as_loaded(session, taken.values), True
    rating = session.get(Rating, taken.rating.id)
    assert rating is not None
    return rating, False


__all__ = [
    "Taken",
    "counter_branch",
    "device_by_token",
    "insert_rating",
    "rate_at_device",
    "take_rating",
    "take_rating_staged",
    "take_rating_with_token",
    "take_rating_with_token_staged",
]
