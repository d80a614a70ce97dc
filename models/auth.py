"""Signing in to the admin app: passwords, an optional second factor (TOTP), and login sessions.

Guessing is slowed per (account, client address) and per client address, never per account alone,
so failures from an attacker's address cannot lock the real user out at theirs. Only a digest of a
session token is stored. Audit entries name accounts by id; they never hold a username, a login
string or a client address.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import struct
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import Any, Literal, NoReturn
from urllib.parse import quote, urlencode

from sqlalchemy import CheckConstraint, Column, ColumnElement, Index, String, func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select, update

import models.base  # noqa: F401  (naming convention first)
from models import audit
from models.clock import UTCDateTime, utcnow
from models.crypto import hash_secret, new_token, token_digest, verify_secret
from models.errors import DomainError, StaffNotFound, ValidationFailed
from models.org import Branch, Role, Staff
from models.text import is_plain_key
from models.throttle import blocked_for, clear, record_failure

IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
# Writing last_seen_at on every request would turn every click into a write; once a minute is enough.
# (So the effective idle timeout lies between 29 and 30 minutes: never longer than promised.)
LAST_SEEN_RESOLUTION = timedelta(minutes=1)

LOGIN_WINDOW = timedelta(minutes=15)
PAIR_LIMIT = 5  # failures per (account, client) inside the window
CLIENT_LIMIT = 30  # failures per client, whatever accounts it tries

PASSWORD_MIN = 10
PASSWORD_MAX = 256
LOGIN_MAX = 64
CLIENT_MAX = 64
USERNAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")

TOTP_ISSUER = "Rapport"
TOTP_STEP = 30  # seconds
TOTP_DIGITS = 6
TOTP_WINDOW = 1  # steps either side, for clock drift and typing time

PRIVILEGED = frozenset({Role.supervisor.value, Role.admin.value})
SessionState = Literal["active", "idle", "expired"]


class EndReason(StrEnum):
    logout = "logout"
    idle = "idle"
    expired = "expired"
    disabled = "disabled"
    password = "password"  # the password was changed (or reset) from another session


# --- tables -------------------------------------------------------------------------------------


class LoginSession(SQLModel, table=True):
    """One signed-in browser. Open while ``ended_at`` is None."""

    __tablename__ = "login_session"
    __table_args__ = (
        Index("ix_login_session_staff_open", "staff_id", "ended_at"),
        CheckConstraint(
            "end_reason IS NULL OR end_reason IN ('logout', 'idle', 'expired', 'disabled', 'password')",
            name="end_reason",
        ),
        CheckConstraint(
            "(ended_at IS NULL AND end_reason IS NULL) OR (ended_at IS NOT NULL AND end_reason IS NOT NULL)",
            name="ended",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    token_digest: str = Field(max_length=64, unique=True)
    staff_id: int = Field(foreign_key="staff.id")
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    last_seen_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    ended_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    end_reason: str | None = Field(default=None, sa_type=String(16))
    client: str | None = Field(default=None, max_length=CLIENT_MAX)
    second_factor_ok: bool = False


class TotpSecret(SQLModel, table=True):
    """A staff member's TOTP secret. It protects sign-in only once ``confirmed_at`` is set.

    ``last_step`` is the time step of the last code accepted, so a code cannot be replayed inside
    its validity window (RFC 6238 section 5.2).
    """

    __tablename__ = "totp_secret"

    staff_id: int = Field(foreign_key="staff.id", primary_key=True)
    secret: str = Field(max_length=64)
    confirmed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    last_step: int | None = None


# --- exceptions ---------------------------------------------------------------------------------


class LoginFailed(DomainError):
    """Unknown account, wrong password, disabled account or wrong code (deliberately one message)."""

    code = "login_failed"


class LoginThrottled(DomainError):
    """Too many failures from this client (for this account or overall): wait ``details['wait_seconds']``."""

    code = "login_throttled"


class SecondFactorRequired(DomainError):
    """The password was right; a 6-digit code is needed too. ``details['enrolled']`` is False when the
    account must have a second factor but has none yet (an administrator must enrol it first)."""

    code = "second_factor_required"


class SessionExpired(DomainError):
    """The session token is unknown, ended, idle too long or too old: sign in again."""

    code = "session_expired"


# --- pure rules ---------------------------------------------------------------------------------


def session_state(created_at: datetime, last_seen_at: datetime, now: datetime) -> SessionState:
    """``expired`` past the absolute timeout (it wins), ``idle`` past the idle timeout, else ``active``."""
    if now - created_at > ABSOLUTE_TIMEOUT:
        return "expired"
    if now - last_seen_at > IDLE_TIMEOUT:
        return "idle"
    return "active"


def password_problem(password: str, username: str | None, employee_no: str | None) -> str | None:
    """What is wrong with ``password`` as a new password, or None if it is acceptable."""
    if len(password) < PASSWORD_MIN:
        return f"at least {PASSWORD_MIN} characters"
    if len(password) > PASSWORD_MAX:
        return f"at most {PASSWORD_MAX} characters"
    if password.isdigit():
        return "not only digits"
    folded = password.strip().casefold()
    if any(name and folded == name.strip().casefold() for name in (username, employee_no)):
        return "not the same as the username or employee number"
    return None


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


# --- signing in ---------------------------------------------------------------------------------


@cache
def _dummy_hash() -> str:
    # Verified against when the account does not exist, so that costs the same time as a wrong password.
    return hash_secret(new_token(16))


def _key(kind: str, value: str) -> str:
    # Throttle keys hold a digest: no usernames or addresses at rest, and a bounded length.
    return f"login:{kind}:{hashlib.sha256(value.encode('utf-8', 'surrogatepass')).hexdigest()[:40]}"


def _find_account(session: Session, login: str) -> Staff | None:
    """The account whose employee number or username is ``login`` (both case-insensitive); an
    employee number wins should one person's username equal another's number."""
    if not is_plain_key(login, LOGIN_MAX):
        return None
    rows = session.exec(
        select(Staff).where(
            or_(
                func.upper(col(Staff.employee_no)) == login.upper(),
                func.lower(col(Staff.username)) == login.lower(),
            )
        )
    ).all()
    for row in rows:
        if row.employee_no.upper() == login.upper():
            return row
    return rows[0] if rows else None


def authenticate(
    session: Session,
    *,
    login: str,
    password: str,
    client: str,
    now: datetime | None = None,
    totp_code: str | None = None,
    require_totp: bool = False,
) -> tuple[Staff, str]:
    """Check a sign-in and open a login session; returns the staff member and the session token.

    1. Look the account up by employee number or username.
    2. Refuse with :class:`LoginThrottled` if this (account, client) pair or this client has too
       many recent failures; nothing else is checked then, so a blocked client learns nothing.
       Not audited: each refusal is free for the client, so it could flood the log otherwise.
    3. Verify the password, against a dummy hash if there is no account, so unknown accounts and
       wrong passwords take the same time and raise the same :class:`LoginFailed`.
    4. If the account has a confirmed TOTP secret, or ``require_totp`` is set and the account is a
       supervisor or admin, a code is needed: none → :class:`SecondFactorRequired` (not a failure);
       a wrong or replayed code → :class:`LoginFailed` (a failure).
    5. Open the session and write the audit entry in one commit; clear the pair's failures.

    ``client`` must be the real client address (the caller resolves trusted proxies).
    """
    now = now or utcnow()
    login = login.strip()
    client = (client or "").strip() or "unknown"
    staff = _find_account(session, login)
    account = f"id:{staff.id}" if staff is not None else f"name:{login.lower()}"
    pair_key, client_key = _key("pair", f"{account}\n{client}"), _key("client", client)

    waits = [
        blocked_for(session, pair_key, limit=PAIR_LIMIT, window=LOGIN_WINDOW, now=now),
        blocked_for(session, client_key, limit=CLIENT_LIMIT, window=LOGIN_WINDOW, now=now),
    ]
    wait = max((w for w in waits if w is not None), default=None)
    if wait is not None:
        raise LoginThrottled("too many failed sign-ins", wait_seconds=int(wait.total_seconds()) + 1)

    def refuse(reason: str) -> NoReturn:
        audit.append(
            session, action="auth.login_failed", entity="staff",
            entity_id=staff.id if staff is not None else "unknown", details={"reason": reason}, now=now,
        )  # fmt: skip
        for key in (pair_key, client_key):
            record_failure(session, key, window=LOGIN_WINDOW, now=now)
        raise LoginFailed("wrong login or password")

    stored = staff.password_hash if staff is not None and staff.password_hash else _dummy_hash()
    password_ok = len(password) <= PASSWORD_MAX and verify_secret(stored, password)
    if staff is None:
        refuse("unknown_account")
    if not password_ok or not staff.password_hash:
        refuse("password")
    if not staff.active:
        refuse("inactive")
    assert staff.id is not None

    totp = session.get(TotpSecret, staff.id)
    enrolled = totp is not None and totp.confirmed_at is not None
    second_factor_ok = False
    if enrolled or (require_totp and staff.role in PRIVILEGED):
        if not enrolled or not totp_code:
            raise SecondFactorRequired("a 6-digit code is required", enrolled=enrolled)
        assert totp is not None
        step = totp_match(totp.secret, totp_code, now, after_step=totp.last_step)
        if step is None:
            refuse("second_factor")
        totp.last_step = step
        session.add(totp)
        second_factor_ok = True

    token = new_token(32)
    row = LoginSession(
        token_digest=token_digest(token), staff_id=staff.id, created_at=now, last_seen_at=now,
        client=client[:CLIENT_MAX], second_factor_ok=second_factor_ok,
    )  # fmt: skip
    session.add(row)
    session.flush()
    audit.append(
        session, action="auth.login", entity="staff", entity_id=staff.id, actor_staff_id=staff.id,
        details={"session_id": row.id, "second_factor": second_factor_ok}, now=now,
    )  # fmt: skip
    session.commit()
    clear(session, pair_key)  # not the client key: signing in to one's own account must not reset it
    return staff, token


def _end_sessions(session: Session, *where: ColumnElement[bool], reason: EndReason, now: datetime) -> int:
    """End the open sessions matching ``where`` (a conditional UPDATE, so a race ends each once)."""
    result: Any = session.execute(
        update(LoginSession)
        .where(col(LoginSession.ended_at).is_(None), *where)
        .values(ended_at=now, end_reason=reason.value)
    )
    return int(result.rowcount)


def _open_session(session: Session, token: str) -> LoginSession | None:
    if not token or len(token) > 200:
        return None
    row = session.exec(select(LoginSession).where(LoginSession.token_digest == token_digest(token))).first()
    return row if row is not None and row.ended_at is None else None


def resume(session: Session, *, token: str, now: datetime | None = None) -> Staff:
    """The staff member whose open session holds ``token``; :class:`SessionExpired` otherwise.

    1. Unknown or ended tokens are refused.
    2. A session idle or too old is ended (reason ``idle`` / ``expired``) and refused.
    3. A session of an account no longer active is ended (``disabled``) and refused.
    4. Otherwise ``last_seen_at`` moves on, at most once per minute.
    """
    now = now or utcnow()
    row = _open_session(session, token)
    if row is None:
        raise SessionExpired("please sign in again", reason="unknown")
    state = session_state(row.created_at, row.last_seen_at, now)
    if state != "active":
        _end_sessions(session, col(LoginSession.id) == row.id, reason=EndReason(state), now=now)
        session.commit()
        raise SessionExpired("please sign in again", reason=state)
    staff = session.get(Staff, row.staff_id)
    if staff is None or not staff.active:
        _end_sessions(session, col(LoginSession.id) == row.id, reason=EndReason.disabled, now=now)
        session.commit()
        raise SessionExpired("please sign in again", reason=EndReason.disabled.value)
    if now - row.last_seen_at >= LAST_SEEN_RESOLUTION:
        touched: Any = session.execute(
            update(LoginSession)
            .where(col(LoginSession.id) == row.id, col(LoginSession.ended_at).is_(None))
            .values(last_seen_at=now)
        )
        session.commit()
        if touched.rowcount != 1:  # ended by a concurrent logout or disable
            raise SessionExpired("please sign in again", reason="ended")
    return staff


def logout(session: Session, *, token: str, now: datetime | None = None) -> None:
    """End the session holding ``token``. Idempotent: an unknown or ended token is a no-op."""
    now = now or utcnow()
    row = _open_session(session, token)
    if row is None:
        return
    if _end_sessions(session, col(LoginSession.id) == row.id, reason=EndReason.logout, now=now) == 1:
        audit.append(
            session, action="auth.logout", entity="staff", entity_id=row.staff_id,
            actor_staff_id=row.staff_id, details={"session_id": row.id}, now=now,
        )  # fmt: skip
    session.commit()


# --- account administration ---------------------------------------------------------------------


def _staff(session: Session, staff_id: int) -> Staff:
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise StaffNotFound("no such staff member")
    return staff


def disable_account(
    session: Session, *, staff_id: int, actor_staff_id: int | None, now: datetime | None = None
) -> None:
    """Deactivate an account and end all its open sessions at once."""
    now = now or utcnow()
    if actor_staff_id is not None and actor_staff_id == staff_id:
        raise ValidationFailed("staff_id", "you cannot disable your own account")
    staff = _staff(session, staff_id)
    staff.active = False
    session.add(staff)
    ended = _end_sessions(session, col(LoginSession.staff_id) == staff_id, reason=EndReason.disabled, now=now)
    audit.append(
        session, action="staff.disable", entity="staff", entity_id=staff_id, actor_staff_id=actor_staff_id,
        details={"sessions_ended": ended}, now=now,
    )  # fmt: skip
    session.commit()


def set_password(
    session: Session,
    *,
    staff_id: int,
    password: str,
    actor_staff_id: int | None,
    current_token: str | None = None,
    now: datetime | None = None,
) -> None:
    """Set a new password and end the account's other sessions (all of them unless ``current_token``
    names the caller's own session of this account, which is kept)."""
    now = now or utcnow()
    staff = _staff(session, staff_id)
    problem = password_problem(password, staff.username, staff.employee_no)
    if problem:
        raise ValidationFailed("password", problem)
    staff.password_hash = hash_secret(password)
    session.add(staff)
    keep = _open_session(session, current_token) if current_token else None
    where = [col(LoginSession.staff_id) == staff_id]
    if keep is not None and keep.staff_id == staff_id:
        where.append(col(LoginSession.id) != keep.id)
    ended = _end_sessions(session, *where, reason=EndReason.password, now=now)
    audit.append(
        session, action="staff.password", entity="staff", entity_id=staff_id, actor_staff_id=actor_staff_id,
        details={"sessions_ended": ended}, now=now,
    )  # fmt: skip
    session.commit()


def _taken(session: Session, name: str) -> bool:
    """Is ``name`` already someone's employee number or username? (Both are login names.)"""
    found = session.exec(
        select(Staff.id).where(
            or_(
                func.upper(col(Staff.employee_no)) == name.upper(),
                func.lower(col(Staff.username)) == name.lower(),
            )
        )
    ).first()
    return found is not None


def create_user(
    session: Session,
    *,
    employee_no: str,
    display_name: str,
    role: str,
    branch_id: int | None,
    username: str,
    password: str,
    actor_staff_id: int | None = None,
    now: datetime | None = None,
) -> Staff:
    """Create an account that can sign in to the admin app. Each rule broken raises
    :class:`ValidationFailed` naming the field; employee numbers are kept upper case and usernames
    lower case, and neither may equal another account's employee number or username."""
    now = now or utcnow()
    employee_no, username, display_name = (
        employee_no.strip().upper(),
        username.strip().lower(),
        display_name.strip(),
    )
    if not employee_no or len(employee_no) > 32 or not employee_no.isascii():
        raise ValidationFailed("employee_no", "1 to 32 letters or digits")
    if not display_name or len(display_name) > 80:
        raise ValidationFailed("display_name", "1 to 80 characters")
    if role not in {r.value for r in Role}:
        raise ValidationFailed("role", "staff, supervisor or admin")
    if branch_id is None and role != Role.admin.value:
        raise ValidationFailed("branch_id", "staff and supervisors belong to a branch")
    if branch_id is not None and session.get(Branch, branch_id) is None:
        raise ValidationFailed("branch_id", "no such branch")
    if not USERNAME_RE.fullmatch(username):
        raise ValidationFailed(
            "username", "2 to 64 of a-z, 0-9, '.', '_' or '-', starting with a letter or digit"
        )
    _check_names_free(session, employee_no=employee_no, username=username)
    problem = password_problem(password, username, employee_no)
    if problem:
        raise ValidationFailed("password", problem)

    staff = Staff(
        employee_no=employee_no, display_name=display_name, role=Role(role), branch_id=branch_id,
        username=username, password_hash=hash_secret(password), created_at=now,
    )  # fmt: skip
    session.add(staff)
    try:
        session.flush()
    except IntegrityError:  # a concurrent create took the name between the check and the insert
        session.rollback()
        _check_names_free(session, employee_no=employee_no, username=username)
        raise
    audit.append(
        session, action="staff.create", entity="staff", entity_id=staff.id, actor_staff_id=actor_staff_id,
        details={"role": role, "branch_id": branch_id}, now=now,
    )  # fmt: skip
    session.commit()
    return staff


def _check_names_free(session: Session, *, employee_no: str, username: str) -> None:
    if _taken(session, employee_no):
        raise ValidationFailed("employee_no", "already in use")
    if _taken(session, username):
        raise ValidationFailed("username", "already in use")


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
