"""Staff badge links: rotating the random token behind ``/s/<token>``.

A badge that was lost, photographed or handed on can be withdrawn by giving its owner a new token:
the old link then meets the kiosk's "this code is no longer valid" page (an unknown token and a
rotated one are the same to a customer), and a new badge sheet prints the new link.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from models.audit import append
from models.clock import utcnow
from models.errors import StaffNotFound
from models.org import Staff, new_qr_token


def rotate_qr_token(
    session: Session, *, staff_id: int, actor_staff_id: int | None, now: datetime | None = None
) -> str:
    """Give the staff member a new badge token, audit it (ids only: the token is a secret link and
    never enters the log) and commit. Returns the new token."""
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise StaffNotFound("no staff member with this id")
    token = new_qr_token()
    staff.qr_token = token
    session.add(staff)
    session.flush()
    append(
        session,
        action="staff.qr_token_rotate",
        entity="staff",
        entity_id=staff_id,
        actor_staff_id=actor_staff_id,
        now=now or utcnow(),
    )
    session.commit()
    return token
