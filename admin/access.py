"""Who is calling: the one access check of every admin service.

Every service of the admin app starts at its module's door: a :class:`Gate` constant naming who may
pass (the roles, the refusal in the service's own words, whether a branch is needed), called as
``user = GATE.caller(ctx, token)``. That resumes the sign-in from the token: in a read session when
nothing needs writing (a sign-in seen within the minute), otherwise in a SHORT write transaction of
its own (resuming may end a dead session or move ``last_seen_at`` on, models/auth/sessions.py
``resume``), checks the caller's role, and returns a :class:`Caller`: plain
frozen data, read afresh on every call, so an ended session, a disabled account or a changed role or
branch applies at the next click. The service then does its work in a read session (``ctx.db.read()``), or
in a write transaction of its own when the call writes (an audit entry counts as a write).

Scope: an administrator sees every branch; a supervisor or a staff member their own branch only
(none without one). :meth:`Caller.check_branch` refuses anything else with
:class:`~models.errors.Forbidden`, each service naming why in its own words.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlmodel import Session

from models import auth
from models.errors import Forbidden
from models.org import Role, Staff
from rapport.core.context import AppContext

EVERY_ROLE = frozenset(Role)
SUPERVISION = (Role.supervisor, Role.admin)


@dataclass(frozen=True)
class Caller:
    """The signed-in person making this call."""

    id: int
    role: Role
    branch_id: int | None
    name: str
    employee_no: str
    # The branches the caller may see: None for an administrator (every branch, present and future);
    # the own branch for a supervisor or a staff member, and none for one without a branch.
    branches: frozenset[int] | None

    @classmethod
    def of(cls, staff: Staff) -> Caller:
        assert staff.id is not None
        role = Role(staff.role)  # a plain string when read back from the database
        if role is Role.admin:
            branches: frozenset[int] | None = None
        else:
            branches = frozenset() if staff.branch_id is None else frozenset({staff.branch_id})
        return cls(staff.id, role, staff.branch_id, staff.display_name, staff.employee_no, branches)

    @property
    def is_admin(self) -> bool:
        return self.branches is None

    @property
    def scope(self) -> int | None:
        """The one branch the caller works on; None for an administrator (every branch)."""
        return None if self.is_admin else self.branch_id

    @property
    def branch_ids(self) -> list[int] | None:
        """The branches as the model's queries take them: None for every branch."""
        return None if self.branches is None else sorted(self.branches)

    def may_see(self, branch_id: int | None) -> bool:
        """Whether the caller may see data of ``branch_id`` (None: data of no branch, which only an
        administrator may)."""
        return self.branches is None or (branch_id is not None and branch_id in self.branches)

    def check_branch(self, branch_id: int | None, message: str = "this belongs to another branch") -> None:
        """Raise :class:`Forbidden` (with ``message``) unless the caller may see ``branch_id``."""
        if not self.may_see(branch_id):
            raise Forbidden(message)

    def require(self, *roles: Role, message: str) -> int:
        """Raise :class:`Forbidden` (with ``message``) unless the caller has one of ``roles``;
        returns the caller's id (the actor of what follows)."""
        if self.role not in roles:
            raise Forbidden(message)
        return self.id

    def require_branch(self, message: str) -> int | None:
        """Raise :class:`Forbidden` (with ``message``) for anyone but an administrator without a
        branch; returns the branch the caller is limited to (None for an administrator)."""
        if self.is_admin:
            return None
        if self.branch_id is None:
            raise Forbidden(message)
        return self.branch_id


def resume(session: Session, ctx: AppContext, token: str) -> Caller:
    """The caller holding ``token``, resumed in ``session`` (a write session: resuming may write);
    :class:`~models.auth.SessionExpired` when the sign-in is no longer valid."""
    return Caller.of(auth.resume(session, token=token, now=ctx.clock()))


@dataclass(frozen=True)
class Gate:
    """Who may pass one service's door, declared once per module as a constant:
    ``GATE = Gate(SUPERVISION, refused="documents are for supervisors and administrators")``.

    Why a declared value rather than a ``_caller`` function in every module: the steps (resume in a
    short write of its own, then role, then branch) and their order are the same everywhere, so a
    module states only what differs (the roles and its refusals), and a reader sees the rule of
    the door at the top of the module instead of in one more copy of the same function.
    """

    roles: Collection[Role] = EVERY_ROLE
    refused: str = ""  # the Forbidden message for a role not in ``roles``
    branch_needed: str | None = None  # set: anyone but an administrator must belong to a branch

    def __post_init__(self) -> None:
        object.__setattr__(self, "roles", frozenset(self.roles))  # a tuple given is kept as a set

    def caller(self, ctx: AppContext, token: str) -> Caller:
        """Resume the sign-in and return the caller.

        1. In a read session first: a sign-in seen within the last minute, of an active account,
           needs no write, and the caller is read there (``auth.resume_if_unchanged``), so a page
           that only reads never takes the write transaction (SQLite's write lock) at all.
        2. Otherwise in a short write transaction of its own: an unknown, ended, idle or expired
           token, or an account no longer active, raises :class:`~models.auth.SessionExpired` (the
           dead session is ended and that is committed); a live one has ``last_seen_at`` moved on.
        3. A role not in ``roles`` raises :class:`Forbidden` with ``refused``.
        4. With ``branch_needed``, anyone but an administrator who belongs to no branch raises
           :class:`Forbidden` with that message.
        """
        with ctx.db.read() as session:
            staff = auth.resume_if_unchanged(session, token=token, now=ctx.clock())
            found = Caller.of(staff) if staff is not None else None
        if found is None:
            with ctx.db.write() as session:
                found = resume(session, ctx, token)
        found.require(*self.roles, message=self.refused or "this is not for your role")
        if self.branch_needed is not None:
            found.require_branch(self.branch_needed)
        return found


SIGNED_IN = Gate()  # anyone signed in, whatever their role


def caller(
    ctx: AppContext,
    token: str,
    roles: Collection[Role] = EVERY_ROLE,
    *,
    refused: str = "",
    branch_needed: str | None = None,
) -> Caller:
    """:meth:`Gate.caller` of a gate made for this one call."""
    return Gate(roles, refused, branch_needed).caller(ctx, token)
