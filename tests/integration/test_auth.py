"""Admin-app sign-in: passwords, throttling without lock-out, session timeouts, TOTP and the audit trail."""

import json
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlmodel import select

import models.auth  # noqa: F401  (registers login_session and totp_secret)
import models.crypto
from models.audit import AuditEvent, verify
from models.auth import (
    CLIENT_LIMIT,
    IDLE_TIMEOUT,
    LOGIN_WINDOW,
    PAIR_LIMIT,
    LoginFailed,
    LoginSession,
    LoginThrottled,
    SecondFactorRequired,
    SessionExpired,
    TotpSecret,
    authenticate,
    confirm_totp,
    create_user,
    disable_account,
    logout,
    remove_totp,
    resume,
    set_password,
    start_totp_enrolment,
    totp_code,
)
from models.clock import utcnow
from models.crypto import token_digest
from models.errors import ValidationFailed
from models.org import Staff

PASSWORD = "correct horse battery"
HOME, ELSEWHERE = "198.51.100.23", "203.0.113.7"


@dataclass
class People:
    admin_id: int
    supervisor_id: int
    clerk_id: int


@pytest.fixture
def people(db, world) -> People:
    with db.write() as s:
        admin = create_user(s, employee_no="a100", display_name="系统管理员", role="admin", branch_id=None,
                            username="ops.admin", password=PASSWORD)  # fmt: skip
    with db.write() as s:
        boss = create_user(s, employee_no="S200", display_name="郭主管", role="supervisor",
                           branch_id=world.branch_id, username="Guo.Li", password=PASSWORD,
                           actor_staff_id=admin.id)  # fmt: skip
    with db.write() as s:
        clerk = create_user(s, employee_no="E100", display_name="王芳", role="staff",
                            branch_id=world.branch_id, username="wang.fang", password=PASSWORD,
                            actor_staff_id=admin.id)  # fmt: skip
    assert admin.id and boss.id and clerk.id
    return People(admin_id=admin.id, supervisor_id=boss.id, clerk_id=clerk.id)


def sign_in(db, login="wang.fang", password=PASSWORD, client=HOME, **kwargs):
    with db.write() as s:
        return authenticate(s, login=login, password=password, client=client, **kwargs)


def session_row(db, token) -> LoginSession:
    with db.read() as s:
        row = s.exec(select(LoginSession).where(LoginSession.token_digest == token_digest(token))).one()
    return row


def fail(db, login, client, now, password="wrong password!"):
    with pytest.raises(LoginFailed):
        sign_in(db, login=login, password=password, client=client, now=now)


# --- signing in ---------------------------------------------------------------------------------


@pytest.mark.parametrize("login", ["wang.fang", "WANG.Fang", " wang.fang ", "E100", "e100"])
def test_staff_sign_in_by_username_or_employee_number_in_any_case(db, people, login):
    staff, token = sign_in(db, login=login)
    assert staff.id == people.clerk_id
    with db.write() as s:
        assert resume(s, token=token).id == people.clerk_id


def test_usernames_and_employee_numbers_are_stored_normalised(db, people):
    with db.read() as s:
        boss = s.get(Staff, people.supervisor_id)
    assert boss is not None and boss.username == "guo.li" and boss.employee_no == "S200"


def test_only_a_digest_of_the_session_token_is_kept_with_the_client_address(db, people):
    _staff, token = sign_in(db, client=ELSEWHERE)
    row = session_row(db, token)
    assert row.token_digest == token_digest(token) and token not in row.token_digest
    assert row.client == ELSEWHERE and row.second_factor_ok is False and row.ended_at is None
    assert len(token) >= 43  # 32 random bytes


def test_wrong_password_and_unknown_user_give_the_same_error(db, people):
    with pytest.raises(LoginFailed) as wrong:
        sign_in(db, password="not the password")
    with pytest.raises(LoginFailed) as unknown:
        sign_in(db, login="no.such.person")
    assert str(wrong.value) == str(unknown.value)
    assert wrong.value.code == unknown.value.code and wrong.value.details == unknown.value.details


def test_an_unknown_account_still_pays_for_one_password_verification(db, people, monkeypatch):
    calls: list[str] = []
    real = models.auth.sessions.verify_secret

    def counting(stored_hash, secret):
        calls.append(stored_hash)
        return real(stored_hash, secret)

    monkeypatch.setattr(models.auth.sessions, "verify_secret", counting)
    with pytest.raises(LoginFailed):
        sign_in(db, login="no.such.person")
    with pytest.raises(LoginFailed):
        sign_in(db, login="E1")  # exists, but has a PIN and no password
    assert len(calls) == 2 and all(h.startswith("$argon2id$") for h in calls)


def test_a_disabled_account_with_the_right_password_gets_the_same_error(db, people):
    with db.write() as s:
        disable_account(s, staff_id=people.clerk_id, actor_staff_id=people.admin_id)
    with pytest.raises(LoginFailed, match="wrong login or password"):
        sign_in(db)


# --- throttling without lock-out ----------------------------------------------------------------


def test_five_wrong_passwords_from_one_address_block_that_address_for_that_account_only(db, people):
    now = utcnow()
    for i in range(PAIR_LIMIT):
        fail(db, "wang.fang", ELSEWHERE, now + timedelta(seconds=i))
    later = now + timedelta(minutes=1)
    with pytest.raises(LoginThrottled) as blocked:
        sign_in(db, client=ELSEWHERE, now=later)  # even the right password, from that address
    assert 0 < blocked.value.details["wait_seconds"] <= LOGIN_WINDOW.total_seconds()
    # The real user at their own address is not locked out, and that address may try other accounts.
    staff, _token = sign_in(db, client=HOME, now=later)
    assert staff.id == people.clerk_id
    assert sign_in(db, login="ops.admin", client=ELSEWHERE, now=later)[0].id == people.admin_id


def test_the_same_account_counts_once_whether_named_by_username_or_number(db, people):
    now = utcnow()
    for i in range(PAIR_LIMIT):
        fail(db, "wang.fang" if i % 2 else "e100", ELSEWHERE, now + timedelta(seconds=i))
    with pytest.raises(LoginThrottled):
        sign_in(db, login="E100", client=ELSEWHERE, now=now + timedelta(minutes=1))


def test_thirty_failures_from_one_address_block_that_address_for_every_account(db, people):
    now = utcnow()
    for i in range(CLIENT_LIMIT):
        fail(db, f"guess{i}", ELSEWHERE, now + timedelta(seconds=i))
    later = now + timedelta(minutes=1)
    for login in ("wang.fang", "ops.admin", "S200"):
        with pytest.raises(LoginThrottled):
            sign_in(db, login=login, client=ELSEWHERE, now=later)
    assert sign_in(db, client=HOME, now=later)[0].id == people.clerk_id


def test_the_block_lifts_after_the_window(db, people):
    now = utcnow()
    for _ in range(PAIR_LIMIT):
        fail(db, "wang.fang", ELSEWHERE, now)
    with pytest.raises(LoginThrottled):
        sign_in(db, client=ELSEWHERE, now=now + LOGIN_WINDOW - timedelta(seconds=1))
    staff, _token = sign_in(db, client=ELSEWHERE, now=now + LOGIN_WINDOW)
    assert staff.id == people.clerk_id


def test_a_successful_sign_in_forgives_that_address_its_earlier_mistakes_on_that_account(db, people):
    now = utcnow()
    for _ in range(PAIR_LIMIT - 1):
        fail(db, "wang.fang", HOME, now)
    sign_in(db, client=HOME, now=now)
    for _ in range(PAIR_LIMIT - 1):
        fail(db, "wang.fang", HOME, now)
    assert sign_in(db, client=HOME, now=now)[0].id == people.clerk_id


def test_signing_in_to_ones_own_account_does_not_reset_the_address_count(db, people):
    now = utcnow()
    for i in range(CLIENT_LIMIT - 1):
        fail(db, f"guess{i}", ELSEWHERE, now)
    sign_in(db, login="ops.admin", client=ELSEWHERE, now=now)
    fail(db, "guess-last", ELSEWHERE, now)
    with pytest.raises(LoginThrottled):
        sign_in(db, login="ops.admin", client=ELSEWHERE, now=now)


# --- sessions -----------------------------------------------------------------------------------


def test_idle_timeout_at_thirty_minutes_ends_the_session_as_idle(db, people):
    now = utcnow()
    _staff, token = sign_in(db, now=now)
    with db.write() as s:
        resume(s, token=token, now=now + IDLE_TIMEOUT)  # exactly 30 minutes: still fine
    idle_from = now + IDLE_TIMEOUT
    with db.write() as s, pytest.raises(SessionExpired) as gone:
        resume(s, token=token, now=idle_from + IDLE_TIMEOUT + timedelta(seconds=1))
    assert gone.value.details["reason"] == "idle"
    row = session_row(db, token)
    assert row.end_reason == "idle" and row.ended_at == idle_from + IDLE_TIMEOUT + timedelta(seconds=1)
    with db.write() as s, pytest.raises(SessionExpired):
        resume(s, token=token, now=idle_from + IDLE_TIMEOUT + timedelta(seconds=2))


def test_a_session_in_constant_use_ends_as_expired_after_twelve_hours(db, people):
    now = utcnow()
    _staff, token = sign_in(db, now=now)
    at = now
    while at + timedelta(minutes=20) <= now + timedelta(hours=12):
        at += timedelta(minutes=20)
        with db.write() as s:
            resume(s, token=token, now=at)
    with db.write() as s, pytest.raises(SessionExpired) as gone:
        resume(s, token=token, now=now + timedelta(hours=12, seconds=1))
    assert gone.value.details["reason"] == "expired"
    assert session_row(db, token).end_reason == "expired"


def test_logout_ends_the_session_and_a_reused_token_is_refused(db, people):
    _staff, token = sign_in(db)
    with db.write() as s:
        logout(s, token=token)
    with db.write() as s:
        logout(s, token=token)  # idempotent
    with db.write() as s, pytest.raises(SessionExpired):
        resume(s, token=token)
    assert session_row(db, token).end_reason == "logout"
    with db.read() as s:
        logouts = s.exec(select(AuditEvent).where(AuditEvent.action == "auth.logout")).all()
    assert len(logouts) == 1 and logouts[0].entity_id == str(people.clerk_id)


@pytest.mark.parametrize("token", ["", "forged-token", "x" * 500])
def test_unknown_tokens_are_refused(db, people, token):
    with db.write() as s, pytest.raises(SessionExpired):
        resume(s, token=token)


def test_disabling_an_account_ends_its_sessions_at_once(db, people):
    _s1, laptop = sign_in(db, client=HOME)
    _s2, phone = sign_in(db, client=ELSEWHERE)
    _s3, other = sign_in(db, login="ops.admin")
    with db.write() as s:
        disable_account(s, staff_id=people.clerk_id, actor_staff_id=people.admin_id)
    for token in (laptop, phone):
        assert session_row(db, token).end_reason == "disabled"
        with db.write() as s, pytest.raises(SessionExpired):
            resume(s, token=token)
    with db.write() as s:
        assert resume(s, token=other).id == people.admin_id
        assert s.get(Staff, people.clerk_id).active is False  # type: ignore[union-attr]


def test_an_administrator_cannot_disable_their_own_account(db, people):
    with db.write() as s, pytest.raises(ValidationFailed) as refused:
        disable_account(s, staff_id=people.admin_id, actor_staff_id=people.admin_id)
    assert refused.value.field == "staff_id"


def test_a_session_of_an_account_deactivated_elsewhere_is_ended_as_disabled(db, people):
    _staff, token = sign_in(db)
    with db.write() as s:
        clerk = s.get(Staff, people.clerk_id)
        assert clerk is not None
        clerk.active = False
        s.add(clerk)
        s.commit()
    with db.write() as s, pytest.raises(SessionExpired) as gone:
        resume(s, token=token)
    assert gone.value.details["reason"] == "disabled"
    assert session_row(db, token).end_reason == "disabled"


def test_last_seen_at_is_not_rewritten_on_every_request(db, people):
    now = utcnow()
    _staff, token = sign_in(db, now=now)
    for seconds in (5, 20, 59):
        with db.write() as s:
            resume(s, token=token, now=now + timedelta(seconds=seconds))
        assert session_row(db, token).last_seen_at == now
    with db.write() as s:
        resume(s, token=token, now=now + timedelta(seconds=61))
    assert session_row(db, token).last_seen_at == now + timedelta(seconds=61)


# --- passwords and accounts ---------------------------------------------------------------------


@pytest.mark.parametrize("password", ["short", "12345678901234", "wang.fang", "E100"])
def test_set_password_refuses_weak_passwords(db, people, password):
    with db.write() as s, pytest.raises(ValidationFailed) as refused:
        set_password(s, staff_id=people.clerk_id, password=password, actor_staff_id=people.clerk_id)
    assert refused.value.field == "password"
    assert sign_in(db)[0].id == people.clerk_id  # the old password still works


def test_set_password_replaces_the_password_and_ends_the_other_sessions(db, people):
    _s1, here = sign_in(db, client=HOME)
    _s2, there = sign_in(db, client=ELSEWHERE)
    with db.write() as s:
        set_password(s, staff_id=people.clerk_id, password="a much better one",
                     actor_staff_id=people.clerk_id, current_token=here)  # fmt: skip
    assert session_row(db, there).end_reason == "password"
    with db.write() as s:
        assert resume(s, token=here).id == people.clerk_id
    with pytest.raises(LoginFailed):
        sign_in(db)
    assert sign_in(db, password="a much better one")[0].id == people.clerk_id


def test_a_password_reset_by_an_administrator_ends_every_session(db, people):
    _s1, token = sign_in(db)
    with db.write() as s:
        set_password(s, staff_id=people.clerk_id, password="reset by admin 1", actor_staff_id=people.admin_id)
    assert session_row(db, token).end_reason == "password"


def _create(db, world, **overrides):
    fields = {
        "employee_no": "E200", "display_name": "李娜", "role": "staff", "branch_id": world.branch_id,
        "username": "li.na", "password": PASSWORD,
    }  # fmt: skip
    fields.update(overrides)
    with db.write() as s:
        return create_user(s, **fields)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"username": "Wang.Fang"}, "username"),  # taken, in another case
        ({"username": "e100"}, "username"),  # someone's employee number
        ({"employee_no": "e100"}, "employee_no"),
        ({"employee_no": "OPS.ADMIN"}, "employee_no"),  # someone's username
        ({"role": "supervisor", "branch_id": None}, "branch_id"),
        ({"role": "staff", "branch_id": None}, "branch_id"),
        ({"branch_id": 999}, "branch_id"),
        ({"role": "owner"}, "role"),
        ({"username": "li na"}, "username"),
        ({"display_name": "  "}, "display_name"),
        ({"password": "li.na"}, "password"),
        ({"password": "123456789012"}, "password"),
    ],
)
def test_create_user_names_the_field_that_is_wrong(db, world, people, overrides, field):
    with pytest.raises(ValidationFailed) as refused:
        _create(db, world, **overrides)
    assert refused.value.field == field
    with db.read() as s:
        assert (
            s.exec(select(Staff).where(Staff.display_name == "李娜", Staff.employee_no == "E200")).first()
            is None
        )


def test_an_admin_may_have_no_branch_and_a_new_user_can_sign_in(db, world, people):
    created = _create(db, world, role="admin", branch_id=None)
    assert created.branch_id is None and created.password_hash and PASSWORD not in created.password_hash
    assert sign_in(db, login="li.na")[0].id == created.id


# --- second factor ------------------------------------------------------------------------------


def enrol(db, staff_id, now):
    with db.write() as s:
        secret, uri = start_totp_enrolment(s, staff_id=staff_id)
    with db.write() as s:
        confirm_totp(s, staff_id=staff_id, code=totp_code(secret, now), now=now)
    return secret, uri


def wrong_code(secret, at):
    """A code that matches none of the steps accepted at ``at``."""
    accepted = {totp_code(secret, at + timedelta(seconds=d)) for d in (-30, 0, 30)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in accepted)


def test_totp_enrolment_gives_a_uri_and_needs_a_right_code_to_confirm(db, people):
    now = utcnow()
    with db.write() as s:
        secret, uri = start_totp_enrolment(s, staff_id=people.supervisor_id)
    assert (
        uri.startswith("otpauth://totp/Rapport:S200?")
        and f"secret={secret}" in uri
        and "issuer=Rapport" in uri
    )
    with db.write() as s, pytest.raises(ValidationFailed) as refused:
        confirm_totp(s, staff_id=people.supervisor_id, code=wrong_code(secret, now), now=now)
    assert refused.value.field == "code"
    with db.write() as s:
        confirm_totp(s, staff_id=people.supervisor_id, code=totp_code(secret, now), now=now)
    with db.read() as s:
        row = s.get(TotpSecret, people.supervisor_id)
    assert row is not None and row.confirmed_at == now


def test_an_unconfirmed_enrolment_does_not_yet_require_a_code(db, people):
    with db.write() as s:
        start_totp_enrolment(s, staff_id=people.clerk_id)
    assert sign_in(db)[0].id == people.clerk_id


def test_totp_is_required_for_an_account_that_enrolled(db, people):
    now = utcnow()
    secret, _uri = enrol(db, people.supervisor_id, now)
    later = now + timedelta(minutes=2)
    with pytest.raises(SecondFactorRequired) as needed:
        sign_in(db, login="guo.li", now=later)
    assert needed.value.details["enrolled"] is True
    with pytest.raises(LoginFailed):
        sign_in(db, login="guo.li", totp_code=wrong_code(secret, later), now=later)
    staff, token = sign_in(db, login="guo.li", totp_code=totp_code(secret, later), now=later)
    assert staff.id == people.supervisor_id and session_row(db, token).second_factor_ok is True
    with pytest.raises(LoginFailed):  # the same code cannot be used twice
        sign_in(db, login="guo.li", totp_code=totp_code(secret, later), now=later + timedelta(seconds=5))


def test_wrong_codes_count_as_failures(db, people):
    now = utcnow()
    secret, _uri = enrol(db, people.supervisor_id, now)
    later = now + timedelta(minutes=2)
    for _ in range(PAIR_LIMIT):
        with pytest.raises(LoginFailed):
            sign_in(db, login="guo.li", totp_code=wrong_code(secret, later), client=ELSEWHERE, now=later)
    with pytest.raises(LoginThrottled):
        sign_in(db, login="guo.li", totp_code=totp_code(secret, later), client=ELSEWHERE, now=later)
    assert sign_in(db, login="guo.li", totp_code=totp_code(secret, later), client=HOME, now=later)[1]


def test_require_totp_applies_to_supervisors_and_admins_not_staff(db, people):
    with pytest.raises(SecondFactorRequired) as needed:
        sign_in(db, login="ops.admin", require_totp=True, totp_code="123456")
    assert needed.value.details["enrolled"] is False
    with pytest.raises(SecondFactorRequired):
        sign_in(db, login="S200", require_totp=True)
    assert sign_in(db, login="wang.fang", require_totp=True)[0].id == people.clerk_id


def test_a_confirmed_second_factor_cannot_be_replaced_until_an_admin_removes_it(db, people):
    now = utcnow()
    enrol(db, people.clerk_id, now)
    with db.write() as s, pytest.raises(ValidationFailed):
        start_totp_enrolment(s, staff_id=people.clerk_id)
    with db.write() as s:
        remove_totp(s, staff_id=people.clerk_id, actor_staff_id=people.admin_id)
    assert sign_in(db)[0].id == people.clerk_id
    with db.write() as s:
        assert start_totp_enrolment(s, staff_id=people.clerk_id)[0]


# --- the audit trail ----------------------------------------------------------------------------


def test_sign_ins_failures_and_logouts_are_audited_without_names_or_addresses(db, people):
    now = utcnow()
    secret, _uri = enrol(db, people.supervisor_id, now)
    _staff, token = sign_in(db, client=HOME, now=now)
    with db.write() as s:
        logout(s, token=token, now=now)
    fail(db, "wang.fang", ELSEWHERE, now)
    fail(db, "nobody.at.all", ELSEWHERE, now)
    with pytest.raises(LoginFailed):
        later = now + timedelta(minutes=2)
        sign_in(db, login="guo.li", totp_code=wrong_code(secret, later), client=ELSEWHERE, now=later)
    with db.write() as s:
        set_password(s, staff_id=people.clerk_id, password="another password", actor_staff_id=people.admin_id)
        disable_account(s, staff_id=people.clerk_id, actor_staff_id=people.admin_id)

    with db.read() as s:
        events = s.exec(select(AuditEvent).order_by(AuditEvent.id)).all()
        report = verify(s)
    summary = [(e.action, e.entity_id, e.details.get("reason")) for e in events]
    clerk, boss = str(people.clerk_id), str(people.supervisor_id)
    assert ("auth.login", clerk, None) in summary
    assert ("auth.logout", clerk, None) in summary
    assert ("auth.login_failed", clerk, "password") in summary
    assert ("auth.login_failed", "unknown", "unknown_account") in summary
    assert ("auth.login_failed", boss, "second_factor") in summary
    assert ("auth.totp_enrolled", boss, None) in summary
    for action in ("staff.create", "staff.password", "staff.disable"):
        assert action in {e.action for e in events}

    secrets_and_names = [
        "wang.fang",
        "nobody.at.all",
        "guo.li",
        "ops.admin",
        HOME,
        ELSEWHERE,
        PASSWORD,
        secret,
    ]
    for event in events:
        text = " ".join(str(getattr(event, c.name)) for c in AuditEvent.__table__.columns)  # type: ignore[attr-defined]
        text += json.dumps(event.details, ensure_ascii=False)
        for needle in secrets_and_names:
            assert needle.lower() not in text.lower(), (event.action, needle)
    assert report.ok, report.reason
