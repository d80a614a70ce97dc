"""Signing in to the admin app and the login sessions that follow: checking a password (and a code),
slowing guessing, resuming a session from its token, timing it out and ending it.

Guessing is slowed per (account, client address) and per client address, never per account alone,
so failures from an attacker's address cannot lock the real user out at theirs. Only a digest of a
session token is stored. Audit entries name accounts by id; they never hold a username, a login
string or a client address. The second factor's codes are checked with :mod:`models.auth.totp`;
ending an account's sessions (:func:`_end_sessions`) is also used by :mod:`models.auth.accounts`.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Literal, NoReturn

from sqlalchemy import ColumnElement, func, or_
from sqlmodel import Session, col, select, update

from models import audit
from models.auth.records import (
    CLIENT_MAX,
    LOGIN_MAX,
    PASSWORD_MAX,
    PRIVILEGED,
    EndReason,
    LoginFailed,
    LoginSession,
    LoginThrottled,
    SecondFactorRequired,
    SessionExpired,
    TotpSecret,
)
from models.auth.totp import totp_match
from models.clock import utcnow
from models.crypto import hash_secret, new_token, token_digest, verify_secret
from models.org import Staff
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

SessionState = Literal["active", "idle", "expired"]


def session_state(created_at: datetime, last_seen_at: datetime, now: datetime) -> SessionState:
    """``expired`` past the absolute timeout (it wins), ``idle`` past the idle timeout, else ``active``."""
    if now - created_at > ABSOLUTE_TIMEOUT:
        return "expired"
    if now - last_seen_at > IDLE_TIMEOUT:
        return "idle"
    return "active"


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


def resume_if_unchanged(session: Session, *, token: str, now: datetime | None = None) -> Staff | None:
    """What :func:`resume` answers when it would write nothing: the staff member of an active
    session of an active account whose ``last_seen_at`` moved on less than a minute ago. None in
    every other case (unknown, ended, idle, expired, disabled, or time to move ``last_seen_at`` on),
    where the caller runs :func:`resume` in a write transaction, which decides and writes.

    Why: a page that only reads then never takes the write transaction at all (on SQLite the
    process-wide write lock, which kiosk taps and the jobs need); at most one page a minute per
    sign-in writes. Reads nothing else and changes nothing, so any session (a read one) will do.
    """
    now = now or utcnow()
    row = _open_session(session, token)
    if row is None or now - row.last_seen_at >= LAST_SEEN_RESOLUTION:
        return None
    if session_state(row.created_at, row.last_seen_at, now) != "active":
        return None
    staff = session.get(Staff, row.staff_id)
    return staff if staff is not None and staff.active else None


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
