"""What signing in records and how it fails: the login_session and totp_secret tables, why a session
ended, the errors a sign-in raises, the limits on passwords, login names and client addresses, and
:func:`_staff` (an account by id, or :class:`StaffNotFound`) for the steps that act on an account.

Kept apart from the steps (:mod:`models.auth.sessions` signs in and ends sessions,
:mod:`models.auth.totp` the second factor, :mod:`models.auth.accounts` account administration) so
that each imports the tables from here and none imports another through the package: the tables are
defined once, here, and registered on ``SQLModel.metadata`` exactly as before the split.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, Index, String
from sqlmodel import Field, Session, SQLModel

import models.base  # noqa: F401  (naming convention first)
from models.clock import UTCDateTime
from models.errors import DomainError, StaffNotFound
from models.org import Role, Staff

PASSWORD_MIN = 10
PASSWORD_MAX = 256
LOGIN_MAX = 64
CLIENT_MAX = 64
USERNAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")

PRIVILEGED = frozenset({Role.supervisor.value, Role.admin.value})


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


def _staff(session: Session, staff_id: int) -> Staff:
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise StaffNotFound("no such staff member")
    return staff
