"""Sign-in rules that need no database: session timeouts, password policy, and TOTP (RFC 6238)."""

import base64
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from models.auth import (
    ABSOLUTE_TIMEOUT,
    IDLE_TIMEOUT,
    new_totp_secret,
    password_problem,
    provisioning_uri,
    session_state,
    totp_code,
    totp_match,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()  # the RFC 6238 SHA-1 test key


def test_a_fresh_session_is_active():
    assert session_state(T0, T0, T0) == "active"


def test_a_session_is_idle_just_after_thirty_minutes_without_a_request():
    assert session_state(T0, T0, T0 + IDLE_TIMEOUT) == "active"
    assert session_state(T0, T0, T0 + IDLE_TIMEOUT + timedelta(seconds=1)) == "idle"


def test_a_session_in_use_expires_just_after_twelve_hours():
    almost = T0 + ABSOLUTE_TIMEOUT
    assert session_state(T0, almost - timedelta(minutes=1), almost) == "active"
    past = almost + timedelta(seconds=1)
    assert session_state(T0, past - timedelta(minutes=1), past) == "expired"


def test_expiry_wins_over_idleness():
    late = T0 + ABSOLUTE_TIMEOUT + timedelta(hours=1)
    assert session_state(T0, T0, late) == "expired"


def test_the_timeouts_are_thirty_minutes_and_twelve_hours():
    assert IDLE_TIMEOUT == timedelta(minutes=30) and ABSOLUTE_TIMEOUT == timedelta(hours=12)


@pytest.mark.parametrize(
    ("password", "fragment"),
    [
        ("short1!", "at least 10"),
        ("123456789012", "digits"),
        ("wang.fang1", "same as the username"),
        ("WANG.FANG1", "same as the username"),
        ("e100000042", "same as the username or employee number"),
        ("x" * 257, "at most"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password, fragment):
    problem = password_problem(password, "wang.fang1", "E100000042")
    assert problem is not None and fragment in problem


@pytest.mark.parametrize("password", ["correct horse", "1234567890a", "长城长城长城长城长城", "x" * 256])
def test_reasonable_passwords_are_accepted(password):
    assert password_problem(password, "wang.fang1", "E100000042") is None


def test_a_password_may_be_checked_for_an_account_without_a_username():
    assert password_problem("correct horse", None, "E1") is None


@pytest.mark.parametrize(
    ("unix_time", "expected"),
    [
        (59, "287082"),
        (1111111109, "081804"),
        (1111111111, "050471"),
        (1234567890, "005924"),
        (2000000000, "279037"),
        (20000000000, "353130"),
    ],
)
def test_totp_codes_match_the_rfc_6238_test_vectors(unix_time, expected):
    assert totp_code(RFC_SECRET, datetime.fromtimestamp(unix_time, UTC)) == expected


def test_rfc_vectors_hold_for_eight_digits_too():
    assert totp_code(RFC_SECRET, datetime.fromtimestamp(59, UTC), digits=8) == "94287082"


def test_a_code_is_accepted_one_step_either_side_but_not_two():
    secret = new_totp_secret()
    for offset, accepted in [(-60, False), (-30, True), (0, True), (30, True), (60, False)]:
        code = totp_code(secret, T0 + timedelta(seconds=offset))
        assert (totp_match(secret, code, T0) is not None) is accepted, offset


def test_a_code_already_used_is_not_accepted_again():
    secret = new_totp_secret()
    code = totp_code(secret, T0)
    step = totp_match(secret, code, T0)
    assert step is not None
    assert totp_match(secret, code, T0 + timedelta(seconds=5), after_step=step) is None


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "１２３４５６"])
def test_malformed_codes_never_match(code):
    assert totp_match(new_totp_secret(), code, T0) is None


def test_a_code_typed_with_a_space_still_matches():
    secret = new_totp_secret()
    code = totp_code(secret, T0)
    assert totp_match(secret, f"{code[:3]} {code[3:]}", T0) is not None


def test_new_secrets_are_160_bit_base32_and_differ():
    a, b = new_totp_secret(), new_totp_secret()
    assert a != b and len(a) == 32
    assert len(base64.b32decode(a)) == 20


def test_the_provisioning_uri_names_rapport_and_the_employee_number():
    uri = provisioning_uri("JBSWY3DPEHPK3PXP", "E100000042")
    parts = urlsplit(uri)
    assert parts.scheme == "otpauth" and parts.netloc == "totp"
    assert parts.path == "/Rapport:E100000042"
    query = parse_qs(parts.query)
    assert query["secret"] == ["JBSWY3DPEHPK3PXP"] and query["issuer"] == ["Rapport"]
    assert query["digits"] == ["6"] and query["period"] == ["30"] and query["algorithm"] == ["SHA1"]
