"""Signing in to the admin app: passwords, an optional second factor (TOTP), and login sessions.

The package is split along its seams (issue 17), each module importing the ones below it directly and
never through this package, so there is no import cycle:

- :mod:`models.auth.records`: the login_session and totp_secret tables, the errors, shared limits;
- :mod:`models.auth.totp`: TOTP codes (RFC 6238) and enrolling, confirming, removing a secret;
- :mod:`models.auth.sessions`: signing in, throttling, resuming, timing out and ending sessions;
- :mod:`models.auth.accounts`: the password rules, creating accounts, passwords, disabling.

Everything is re-exported here: ``from models.auth import X`` works as it did before the split.
"""

from models.auth.accounts import create_user, disable_account, password_problem, set_password
from models.auth.records import (
    CLIENT_MAX,
    LOGIN_MAX,
    PASSWORD_MAX,
    PASSWORD_MIN,
    PRIVILEGED,
    USERNAME_RE,
    EndReason,
    LoginFailed,
    LoginSession,
    LoginThrottled,
    SecondFactorRequired,
    SessionExpired,
    TotpSecret,
)
from models.auth.sessions import (
    ABSOLUTE_TIMEOUT,
    CLIENT_LIMIT,
    IDLE_TIMEOUT,
    LAST_SEEN_RESOLUTION,
    LOGIN_WINDOW,
    PAIR_LIMIT,
    SessionState,
    authenticate,
    logout,
    resume,
    resume_if_unchanged,
    session_state,
)

# Private, but used by tests (its cache is cleared between them; tests/unit/test_crypto.py imports it).
from models.auth.sessions import _dummy_hash as _dummy_hash
from models.auth.totp import (
    TOTP_DIGITS,
    TOTP_ISSUER,
    TOTP_STEP,
    TOTP_WINDOW,
    confirm_totp,
    new_totp_secret,
    provisioning_uri,
    remove_totp,
    start_totp_enrolment,
    totp_code,
    totp_match,
    totp_step,
)

__all__ = [
    "ABSOLUTE_TIMEOUT",
    "CLIENT_LIMIT",
    "CLIENT_MAX",
    "IDLE_TIMEOUT",
    "LAST_SEEN_RESOLUTION",
    "LOGIN_MAX",
    "LOGIN_WINDOW",
    "PAIR_LIMIT",
    "PASSWORD_MAX",
    "PASSWORD_MIN",
    "PRIVILEGED",
    "TOTP_DIGITS",
    "TOTP_ISSUER",
    "TOTP_STEP",
    "TOTP_WINDOW",
    "USERNAME_RE",
    "EndReason",
    "LoginFailed",
    "LoginSession",
    "LoginThrottled",
    "SecondFactorRequired",
    "SessionExpired",
    "SessionState",
    "TotpSecret",
    "authenticate",
    "confirm_totp",
    "create_user",
    "disable_account",
    "logout",
    "new_totp_secret",
    "password_problem",
    "provisioning_uri",
    "remove_totp",
    "resume",
    "resume_if_unchanged",
    "session_state",
    "set_password",
    "start_totp_enrolment",
    "totp_code",
    "totp_match",
    "totp_step",
]
