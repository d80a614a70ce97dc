"""Account administration: the password rules, creating an account, setting a password and
disabling an account.

Setting a password or disabling an account ends that account's sessions (via
:mod:`models.auth.sessions`), so this module sits above signing in; enrolling a second factor is
:mod:`models.auth.totp`'s.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from models import audit
from models.auth.records import (
    PASSWORD_MAX,
    PASSWORD_MIN,
    USERNAME_RE,
    EndReason,
    LoginSession,
    _staff,
)
from models.auth.sessions import _end_sessions, _open_session
from models.clock import utcnow
from models.crypto import hash_secret
from models.errors import ValidationFailed
from models.org import Branch, Role, Staff


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
