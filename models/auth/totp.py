"""The second factor: TOTP codes (RFC 6238) and enrolling, confirming and removing an account's secret.

The code arithmetic is pure (no database) so it can be tested against the RFC's vectors; signing in
(:mod:`models.auth.sessions`) checks a code with :func:`totp_match`, and the enrolment steps keep the
``totp_secret`` row (:mod:`models.auth.records`). Apart from sessions and accounts because it is a
protocol of its own with its own rules (the replay guard, the window either side).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import struct
from datetime import datetime
from urllib.parse import quote, urlencode

from sqlmodel import Session

from models import audit
from models.auth.records import TotpSecret, _staff
from models.clock import utcnow
from models.errors import ValidationFailed

TOTP_ISSUER = "Rapport"
TOTP_STEP = 30  # seconds
TOTP_DIGITS = 6
TOTP_WINDOW = 1  # steps either side, for clock drift and typing time


def new_totp_secret() -> str:
    """160 random bits (the RFC 4226 recommendation) as unpadded base32: 32 characters."""
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii").rstrip("=")


def _totp_key(secret: str) -> bytes:
    cleaned = secret.replace(" ", "").upper()
    return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))


def _hotp(key: bytes, counter: int, digits: int) -> str:
    """RFC 4226: HMAC-SHA1 over the counter, dynamically truncated to ``digits`` decimal digits."""
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 10**digits:0{digits}d}"


def totp_step(at: datetime) -> int:
    return int(at.timestamp()) // TOTP_STEP


def totp_code(secret: str, at: datetime, *, digits: int = TOTP_DIGITS) -> str:
    """RFC 6238 TOTP (SHA-1, 30 s step) for ``secret`` at time ``at``."""
    return _hotp(_totp_key(secret), totp_step(at), digits)


def totp_match(secret: str, code: str, at: datetime, *, after_step: int | None = None) -> int | None:
    """The time step ``code`` belongs to (within ±TOTP_WINDOW steps of ``at`` and later than
    ``after_step``), or None if it matches none."""
    code = code.replace(" ", "")
    if len(code) != TOTP_DIGITS or not code.isascii() or not code.isdigit():
        return None
    try:
        key = _totp_key(secret)
    except (binascii.Error, ValueError):
        return None
    current = totp_step(at)
    found = None
    for step in range(current - TOTP_WINDOW, current + TOTP_WINDOW + 1):
        # Check every step (no early exit) so the time taken does not depend on which one matched.
        if hmac.compare_digest(_hotp(key, step, TOTP_DIGITS), code) and (
            after_step is None or step > after_step
        ):
            found = step
    return found


def provisioning_uri(secret: str, account: str) -> str:
    """The otpauth:// URI an authenticator app reads from a QR code."""
    label = f"{quote(TOTP_ISSUER, safe='')}:{quote(account, safe='')}"
    query = urlencode(
        {
            "secret": secret,
            "issuer": TOTP_ISSUER,
            "algorithm": "SHA1",
            "digits": TOTP_DIGITS,
            "period": TOTP_STEP,
        }
    )
    return f"otpauth://totp/{label}?{query}"


# --- second factor enrolment --------------------------------------------------------------------


def start_totp_enrolment(session: Session, *, staff_id: int) -> tuple[str, str]:
    """A fresh, unconfirmed secret and its otpauth:// URI (shown once, as a QR code).

    Refused once a secret is confirmed: replacing it would switch the second factor off until the
    new one is confirmed, so an administrator removes it first (:func:`remove_totp`).
    """
    staff = _staff(session, staff_id)
    row = session.get(TotpSecret, staff_id)
    if row is not None and row.confirmed_at is not None:
        raise ValidationFailed("totp", "a second factor is already set up")
    secret = new_totp_secret()
    row = row or TotpSecret(staff_id=staff_id, secret=secret)
    row.secret, row.last_step = secret, None
    session.add(row)
    session.commit()
    return secret, provisioning_uri(secret, staff.employee_no)


def confirm_totp(session: Session, *, staff_id: int, code: str, now: datetime | None = None) -> None:
    """Confirm enrolment with a code from the authenticator; from then on sign-in needs a code."""
    now = now or utcnow()
    row = session.get(TotpSecret, staff_id)
    if row is None or row.confirmed_at is not None:
        raise ValidationFailed("code", "no second factor set-up is in progress")
    step = totp_match(row.secret, code, now)
    if step is None:
        raise ValidationFailed("code", "this code is not right; check the phone's clock and try again")
    row.confirmed_at, row.last_step = now, step
    session.add(row)
    audit.append(
        session,
        action="auth.totp_enrolled",
        entity="staff",
        entity_id=staff_id,
        actor_staff_id=staff_id,
        now=now,
    )
    session.commit()


def remove_totp(
    session: Session, *, staff_id: int, actor_staff_id: int | None, now: datetime | None = None
) -> None:
    """Remove an account's second factor (a lost phone); the account may then enrol again."""
    now = now or utcnow()
    row = session.get(TotpSecret, staff_id)
    if row is None:
        return
    session.delete(row)
    audit.append(
        session, action="auth.totp_removed", entity="staff", entity_id=staff_id,
        actor_staff_id=actor_staff_id, now=now,
    )  # fmt: skip
    session.commit()
