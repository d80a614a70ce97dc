"""Enrolled kiosk devices and their bearer tokens."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import bindparam
from sqlmodel import Session, col, select, update

from models.clock import UTCDateTime, utcnow
from models.crypto import new_token, token_digest
from models.errors import DeviceNotAuthorized, EnrolmentCodeInvalid
from models.org import Branch, Counter, Device, EnrolmentCode
from models.prepared import Prepared, driver_of

# No 0/O, 1/I/L, 2/Z, 5/S, 8/B: codes are read off one screen and typed on another.
CODE_ALPHABET = "34679ACDEFGHJKMNPQRTUVWXY"
ENROLMENT_CODE_TTL = timedelta(hours=24)

# Writing last_seen_at on every request would turn every read into a write; once a minute is enough.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


def register_device(session: Session, *, counter_id: int, label: str) -> tuple[Device, str]:
    """Create a device for a counter; returns it with its token, which is shown once only."""
    token = new_token(32)
    device = Device(counter_id=counter_id, label=label, token_digest=token_digest(token))
    session.add(device)
    session.commit()
    return device, token


def authenticate_device(
    session: Session, token: str | None, *, now: datetime | None = None, commit: bool = True
) -> Device:
    """The active device holding ``token``, or :class:`DeviceNotAuthorized`.

    ``last_seen_at`` moves when it is older than :data:`LAST_SEEN_RESOLUTION`; with ``commit=False``
    the change is left in the caller's transaction, so a request that writes anyway (a rating)
    commits both at once instead of taking the write lock and paying an fsync twice.
    """
    device = find_device(session, token)
    now = now or utcnow()
    if last_seen_due(device, now):
        device.last_seen_at = now
        session.add(device)
        if commit:
            session.commit()
    return device


def find_device(session: Session, token: str | None) -> Device:
    """The active device holding ``token`` (no write: usable in a read session), or
    :class:`DeviceNotAuthorized`."""
    if not token or len(token) > 200:
        raise DeviceNotAuthorized("a valid device token is required")
    device = session.exec(select(Device).where(Device.token_digest == token_digest(token))).first()
    if device is None or device.revoked_at is not None:
        raise DeviceNotAuthorized("this device token is unknown or revoked")
    return device


def last_seen_due(device: Device | DeviceAtCounter, now: datetime) -> bool:
    """Whether ``device.last_seen_at`` is stale enough to be written again."""
    return device.last_seen_at is None or now - device.last_seen_at > LAST_SEEN_RESOLUTION


# Never moves the time backwards, so two requests racing leave the later one.
MARK_SEEN = Prepared(
    lambda _d: (
        update(Device)
        .where(
            col(Device.id) == bindparam("device_id"),
            col(Device.last_seen_at).is_(None) | (col(Device.last_seen_at) < bindparam("now")),
        )
        .values(last_seen_at=bindparam("seen_at", type_=UTCDateTime()))
    )
)


def mark_seen(session: Session, *, device_id: int, now: datetime) -> None:
    """Record that a device was seen at ``now`` (after a read-only :func:`find_device`); a short
    write that never moves the time backwards."""
    conn, dialect = driver_of(session)
    MARK_SEEN.rowcount(conn, dialect, {"device_id": device_id, "now": now, "seen_at": now})
    session.commit()


class DeviceAtCounter(NamedTuple):
    """What taking a rating needs to know about the device that sent it (models/intake.py); built
    for every tap (a tuple: a frozen dataclass costs three times as much to make)."""

    id: int
    counter_id: int
    branch_id: int
    last_seen_at: datetime | None


def normalise_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def issue_enrolment_code(
    session: Session, *, counter_id: int, ttl: timedelta = ENROLMENT_CODE_TTL, now: datetime | None = None
) -> str:
    """A fresh one-time code (shown as XXXX-XXXX) that enrols one tablet at ``counter_id``."""
    if session.get(Counter, counter_id) is None:
        raise EnrolmentCodeInvalid("no such counter")
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    now = now or utcnow()
    session.add(EnrolmentCode(counter_id=counter_id, code_digest=token_digest(raw), expires_at=now + ttl))
    session.commit()
    return f"{raw[:4]}-{raw[4:]}"


def enrol_device(
    session: Session, *, code: str, label: str = "", now: datetime | None = None
) -> tuple[Device, str]:
    """Spend a one-time code: create the counter's device and return it with its token.

    The code is claimed with a conditional UPDATE that must change exactly one row, so two tablets
    racing with the same code cannot both enrol.
    """
    now = now or utcnow()
    digest = token_digest(normalise_code(code))
    entry = session.exec(select(EnrolmentCode).where(EnrolmentCode.code_digest == digest)).first()
    if entry is None or entry.used_at is not None or entry.expires_at <= now:
        raise EnrolmentCodeInvalid("this enrolment code is unknown, used or expired")
    claimed = session.execute(
        update(EnrolmentCode)
        .where(col(EnrolmentCode.id) == entry.id, col(EnrolmentCode.used_at).is_(None))
        .values(used_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise EnrolmentCodeInvalid("this enrolment code is unknown, used or expired")
    token = new_token(32)
    counter = session.get(Counter, entry.counter_id)
    device = Device(
        counter_id=entry.counter_id,
        label=label or (f"{counter.code} tablet" if counter else "tablet"),
        token_digest=token_digest(token),
        enrolled_at=now,
    )
    session.add(device)
    session.flush()
    entry.device_id = device.id
    session.add(entry)
    session.commit()
    return device, token


def device_context(session: Session, device: Device) -> tuple[Counter, Branch]:
    """The counter a device serves and that counter's branch."""
    counter = session.get(Counter, device.counter_id)
    assert counter is not None
    branch = session.get(Branch, counter.branch_id)
    assert branch is not None
    return counter, branch


def list_devices(session: Session, *, counter_code: str | None = None) -> list[tuple[Device, Counter]]:
    """Enrolled devices with their counters, by counter code then enrolment time."""
    stmt = select(Device, Counter).join(Counter, col(Counter.id) == col(Device.counter_id))
    if counter_code is not None:
        stmt = stmt.where(Counter.code == counter_code.strip().upper())
    rows = session.exec(stmt.order_by(col(Counter.code), col(Device.enrolled_at))).all()
    return [(d, c) for d, c in rows]


def revoke_device(
    session: Session, *, device_id: int, actor_staff_id: int | None = None, now: datetime | None = None
) -> Device:
    """Stop a device's token from working at once (a lost or stolen tablet). The device's ratings stay;
    a new tablet at that counter enrols with a fresh code. Audited; revoking twice changes nothing."""
    from models.audit import append

    device = session.get(Device, device_id)
    if device is None:
        raise DeviceNotAuthorized("no device with this id")
    if device.revoked_at is None:
        device.revoked_at = now or utcnow()
        session.add(device)
        session.flush()
        append(
            session, action="device.revoke", entity="device", entity_id=device.id,
            actor_staff_id=actor_staff_id, now=device.revoked_at,
        )  # fmt: skip
        session.commit()
    return device
