"""The admin app's door to documents: CSV exports, the monthly PDF report, badge sheets, and rotating a
staff member's badge link.

Every call re-checks the sign-in and the scope: a supervisor works on their own branch, an
administrator on any, a staff member is refused (Forbidden). Each download is audited (who, which
branch, which document and month; never the content), since exports carry people's records out of
the system. Results are file names and bytes, or plain frozen dataclasses: no ORM object leaves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlmodel import Session, col, select

from admin import access
from admin.access import Caller
from models.audit import append
from models.badges import rotate_qr_token
from models.bilingual import pick
from models.errors import Forbidden, StaffNotFound, ValidationFailed
from models.org import Branch, Role, Staff
from models.scores import Month, local_month
from rapport.core.context import AppContext
from rapport.usecases import exports
from rapport.usecases.badges import badge_sheet
from rapport.usecases.report_pdf import Progress, build_report


class Download(NamedTuple):
    file_name: str
    data: bytes


@dataclass(frozen=True)
class BranchOption:
    id: int
    code: str
    name_zh: str
    name_en: str

    def name(self, locale: str) -> str:
        return pick(locale, self.name_zh, self.name_en)


@dataclass(frozen=True)
class BadgeHolder:
    id: int
    name: str
    employee_no: str
    branch_id: int


GATE = access.Gate(access.SUPERVISION, refused="documents are for supervisors and administrators")


def _branch(session: Session, user: Caller, branch_id: int) -> Branch:
    branch = session.get(Branch, branch_id)
    if branch is None:
        raise ValidationFailed("branch", "no such branch")
    user.check_branch(branch_id, "this branch is not yours")
    return branch


def parse_month(text: str, branch: Branch, now: datetime) -> Month:
    """A finished or the current month of the branch's calendar; a later one is refused."""
    month = Month.parse(text)
    if month.first_day > local_month(now, branch.timezone).first_day:
        raise ValidationFailed("month", f"{month} is in the future")
    return month


def default_month(ctx: AppContext, branch_tz: str = "Asia/Shanghai") -> str:
    """Last month: the one a monthly report is usually made for."""
    return str(local_month(ctx.clock(), branch_tz).previous())


def _audit(
    session: Session, user: Caller, branch: Branch, document: str, month: str | None, now: datetime
) -> None:
    append(
        session,
        action="document.download",
        entity="branch",
        entity_id=branch.id,
        actor_staff_id=user.id,
        details={"document": document, "month": month},
        now=now,
    )
    session.commit()


def branches(ctx: AppContext, token: str) -> list[BranchOption]:
    """The branches the caller may make documents for: every one for an admin, their own otherwise."""
    user = GATE.caller(ctx, token)
    with ctx.db.read() as session:
        stmt = select(Branch).order_by(col(Branch.code))
        if not user.is_admin:
            stmt = stmt.where(Branch.id == user.branch_id)
        return [BranchOption(b.id, b.code, b.name_zh, b.name_en) for b in session.exec(stmt).all() if b.id]


def badge_holders(ctx: AppContext, token: str, *, branch_id: int) -> list[BadgeHolder]:
    """Active counter staff of the branch, by employee number: whoever a badge sheet prints."""
    user = GATE.caller(ctx, token)
    with ctx.db.read() as session:
        _branch(session, user, branch_id)
        rows = session.exec(
            select(Staff)
            .where(Staff.branch_id == branch_id, Staff.role == Role.staff, Staff.active)
            .order_by(col(Staff.employee_no))
        ).all()
        return [BadgeHolder(s.id, s.display_name, s.employee_no, branch_id) for s in rows if s.id is not None]


def _deliver(
    ctx: AppContext,
    token: str,
    *,
    branch_id: int,
    month: str | None,
    document: str,
    build: Callable[[Session, Branch, Month | None], tuple[str, bytes]],
) -> Download:
    """Check the caller and the branch, build the document in a READ session, then audit it.

    Building a PDF or a year of CSV takes seconds; inside a write transaction it would hold SQLite's
    write lock that long and every kiosk tap would wait (or time out) behind it."""
    user = GATE.caller(ctx, token)
    with ctx.db.read() as session:
        branch = _branch(session, user, branch_id)
        period = parse_month(month, branch, ctx.clock()) if month is not None else None
        name, data = build(session, branch, period)
    with ctx.db.write() as session:
        _audit(session, user, branch, document, str(period) if period else None, ctx.clock())
    return Download(name, data)


def _export(
    ctx: AppContext,
    token: str,
    *,
    branch_id: int,
    month: str,
    document: str,
    make: Callable[[Session, Month], bytes],
) -> Download:
    def build(session: Session, branch: Branch, period: Month | None) -> tuple[str, bytes]:
        assert period is not None
        return f"rapport-{document}-{branch.code}-{period}.csv", make(session, period)

    return _deliver(ctx, token, branch_id=branch_id, month=month, document=document, build=build)


def ratings_export(ctx: AppContext, token: str, *, branch_id: int, month: str, locale: str) -> Download:
    return _export(
        ctx,
        token,
        branch_id=branch_id,
        month=month,
        document="ratings",
        make=lambda s, m: exports.ratings_csv(s, period=m, branch_id=branch_id, locale=locale),
    )


def complaints_export(
    ctx: AppContext, token: str, *, branch_id: int, month: str, locale: str, status: str | None = None
) -> Download:
    return _export(
        ctx,
        token,
        branch_id=branch_id,
        month=month,
        document="complaints",
        make=lambda s, m: exports.complaints_csv(
            s, period=m, now=ctx.clock(), branch_id=branch_id, status=status, locale=locale
        ),
    )


def sanctions_export(
    ctx: AppContext,
    token: str,
    *,
    branch_id: int,
    month: str,
    locale: str,
    status: str | None = None,
    kind: str | None = None,
) -> Download:
    return _export(
        ctx,
        token,
        branch_id=branch_id,
        month=month,
        document="sanctions",
        make=lambda s, m: exports.sanctions_csv(
            s, period=m, branch_id=branch_id, status=status, kind=kind, locale=locale
        ),
    )


def monthly_report(
    ctx: AppContext,
    token: str,
    *,
    branch_id: int,
    month: str,
    locale: str,
    progress: Progress | None = None,
) -> Download:
    """The branch's monthly PDF report; ``progress(fraction, step)`` is called from this thread."""

    def build(session: Session, branch: Branch, period: Month | None) -> tuple[str, bytes]:
        assert period is not None
        data = build_report(
            session, branch_id=branch_id, month=period, locale=locale, progress=progress, now=ctx.clock()
        )
        return f"rapport-{branch.code}-{period}.pdf", data

    return _deliver(ctx, token, branch_id=branch_id, month=month, document="report", build=build)


def badges(ctx: AppContext, token: str, *, branch_id: int, locale: str) -> Download:
    """The printable badge sheet of the branch, linking to ``RAPPORT_PUBLIC_URL``."""

    def build(session: Session, branch: Branch, _period: Month | None) -> tuple[str, bytes]:
        data = badge_sheet(
            session, branch_id=branch_id, public_url=ctx.settings.effective_public_url, locale=locale
        )
        return f"rapport-badges-{branch.code}.pdf", data

    return _deliver(ctx, token, branch_id=branch_id, month=None, document="badges", build=build)


def rotate_token(ctx: AppContext, token: str, staff_id: int) -> None:
    """A new badge link for someone in the caller's scope; the printed badge stops working."""
    user = GATE.caller(ctx, token)
    with ctx.db.write() as session:
        staff = session.get(Staff, staff_id)
        if staff is None and user.is_admin:
            raise StaffNotFound("no staff member with this id")
        # A supervisor gets one answer for another branch's id and for no one: probing tells nothing.
        if staff is None:
            raise Forbidden("this staff member belongs to another branch")
        user.check_branch(staff.branch_id, "this staff member belongs to another branch")
        rotate_qr_token(session, staff_id=staff_id, actor_staff_id=user.id, now=ctx.clock())
