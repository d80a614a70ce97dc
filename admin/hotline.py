"""Hotline entry (conduct code §3.2.2: customer hotline): staff or a supervisor types in a complaint
a customer made by phone. Like every admin call, each one re-checks the sign-in (admin/access.py);
the complaint is filed in the caller's own branch (an administrator chooses one), and the tracking
code comes back to be read out.

A call the 12345 hotline sent as a work order carries its number (工单号); the month's work orders
and the result records owed to the hotline (models/complaint/work_order.py) are for those who may
see complaints: supervisors (their branch) and administrators (every branch), shown on the hotline
screen and downloaded as CSV (rapport/usecases/work_orders.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from admin import access
from admin.access import Caller
from models import audit
from models.bilingual import pick
from models.catalog import ConductClause, rateable_clauses
from models.complaint import ComplaintCreate, file_complaint, parse_complaint
from models.complaint.work_order import (
    WorkOrderMonth,
    WorkOrderTaken,
    check_work_order_free,
    month_work_orders,
    parse_work_order_no,
)
from models.errors import ValidationFailed
from models.org import Branch, Counter, Role, Staff
from models.policy import effective_policy
from models.rating import Channel, RatingCreate, store_rating, validate_idempotency_key
from models.scores import Month, local_month
from rapport.core.context import AppContext
from rapport.usecases.alerting import after_complaint
from rapport.usecases.work_orders import work_orders_csv

# Anyone signed in to the admin app may take a call: counter staff answer the phone too.
ROLES = frozenset({Role.staff, Role.supervisor, Role.admin})
# The form's fields, in the order their problems are reported.
FIELDS = (
    "branch_id", "work_order_no", "category", "description", "staff_no", "counter_id", "score", "contact",
    "consent", "locale",
)  # fmt: skip


class HotlineFormInvalid(ValidationFailed):
    """One or more fields need fixing; ``errors`` maps each field to a problem code (for the message
    ``admin.hotline.error.<code>``). Nothing was stored. ``values`` holds what a field's message
    names (a work order already entered: that complaint's ``id`` and tracking ``code``)."""

    def __init__(self, errors: dict[str, str], values: dict[str, dict[str, object]] | None = None):
        rank = {f: i for i, f in enumerate(FIELDS)}
        ordered = {f: errors[f] for f in sorted(errors, key=lambda f: rank.get(f, len(FIELDS)))}
        field, problem = next(iter(ordered.items()))
        super().__init__(field, f"{field}: {problem}")
        self.errors = ordered
        self.values = dict(values or {})


@dataclass(frozen=True)
class Choice:
    value: str
    zh: str
    en: str

    def label(self, locale: str) -> str:
        return pick(locale, self.zh, self.en)


@dataclass(frozen=True)
class HotlineOptions:
    """What the form offers. ``branch_id`` is the caller's branch; None for an administrator, who
    chooses among ``branches``."""

    branch_id: int | None
    branches: list[Choice]
    categories: list[Choice]
    counters: dict[str, list[Choice]]


GATE = access.Gate(
    ROLES,
    refused="hotline entry is for staff, supervisors and administrators",
    branch_needed="your account belongs to no branch; ask an administrator",
)
# The month's work orders show complaints: for those who handle them (as admin/backend.py's queue).
WORK_ORDER_ROLES = frozenset(access.SUPERVISION)
WORK_ORDERS = access.Gate(
    WORK_ORDER_ROLES,
    refused="12345 work orders are for supervisors and administrators",
    branch_needed="your account belongs to no branch; ask an administrator",
)


def _categories(session: Session) -> list[ConductClause]:
    # The clauses a customer may complain about: the same rule file_complaint applies.
    return rateable_clauses(session, polarity="negative")


def options(ctx: AppContext, token: str) -> HotlineOptions:
    user = GATE.caller(ctx, token)
    with ctx.db.read() as session:
        admin = user.is_admin
        stmt = select(Branch).order_by(col(Branch.code))
        if not admin:
            stmt = stmt.where(Branch.id == user.branch_id)
        branches = session.exec(stmt).all()
        counters: dict[str, list[Choice]] = {}
        for branch in branches:
            rows = session.exec(
                select(Counter)
                .where(Counter.branch_id == branch.id, col(Counter.active))
                .order_by(col(Counter.code))
            ).all()
            counters[str(branch.id)] = [Choice(str(c.id), c.name_zh, c.name_en) for c in rows]
        return HotlineOptions(
            branch_id=None if admin else user.branch_id,
            branches=[Choice(str(b.id), b.name_zh, b.name_en) for b in branches],
            categories=[
                Choice(c.code, f"{c.code} {c.short_zh}", f"{c.code} {c.short_en}")
                for c in _categories(session)
            ],
            counters=counters,
        )


def _int(value: Any) -> int | None:
    """A form's id: an int, or digits as text; None when left empty."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise ValueError(value)


def _branch(session: Session, user: Caller, form: dict[str, Any], errors: dict[str, str]) -> int | None:
    try:
        chosen = _int(form.get("branch_id"))
    except ValueError:
        errors["branch_id"] = "branch_unknown"
        return None
    if not user.is_admin:
        if chosen is not None:
            user.check_branch(chosen, "a call is recorded in your own branch")
        return user.branch_id
    if chosen is None:
        errors["branch_id"] = "branch_required"
        return None
    if session.get(Branch, chosen) is None:
        errors["branch_id"] = "branch_unknown"
        return None
    return chosen


def _about(session: Session, form: dict[str, Any], branch_id: int, errors: dict[str, str]) -> int | None:
    """The staff member the complaint is about, by employee number (any case), of this branch."""
    number = str(form.get("staff_no") or "").strip()
    if not number:
        return None
    staff = session.exec(select(Staff).where(func.upper(col(Staff.employee_no)) == number.upper())).first()
    if staff is None:
        errors["staff_no"] = "staff_unknown"
        return None
    if staff.branch_id != branch_id:
        errors["staff_no"] = "staff_other_branch"
        return None
    return staff.id


def _counter(session: Session, form: dict[str, Any], branch_id: int, errors: dict[str, str]) -> int | None:
    try:
        counter_id = _int(form.get("counter_id"))
    except ValueError:
        counter_id = -1
    if counter_id is None:
        return None
    counter = session.get(Counter, counter_id)
    if counter is None or counter.branch_id != branch_id:
        errors["counter_id"] = "counter_unknown"
        return None
    return counter_id


def _score(form: dict[str, Any], errors: dict[str, str]) -> int | None:
    """The caller's own rating of the service, 1 (非常不满意) to 5 (非常满意), if they gave one."""
    try:
        score = _int(form.get("score"))
    except ValueError:
        score = 0
    if score is not None and not 1 <= score <= 5:
        errors["score"] = "score_invalid"
        return None
    return score


def _work_order(form: dict[str, Any], errors: dict[str, str]) -> str | None:
    """The 12345 work-order number the call came with, if any (models/complaint/work_order.py)."""
    try:
        return parse_work_order_no(form.get("work_order_no"))
    except ValidationFailed:
        errors["work_order_no"] = "work_order_invalid"
        return None


def _taken(exc: WorkOrderTaken) -> tuple[str, dict[str, object]]:
    """The problem code and the values its message names, for a work order already entered."""
    values: dict[str, object] = {
        "number": exc.number, "id": exc.complaint_id, "code": exc.tracking_code or "",
    }  # fmt: skip
    return ("work_order_taken" if exc.tracking_code else "work_order_taken_no_code"), values


def _rating_key(idempotency_key: str) -> str:
    """The idempotency key of the caller's rating, derived from the form's: the same on a retry, and
    of a fixed length whatever the form's (a rating key may be no longer than a complaint's)."""
    key = validate_idempotency_key(idempotency_key)
    return "hotline:" + hashlib.sha256(key.encode("ascii")).hexdigest()


# What each complaint field's problem is called, and a harmless stand-in to look past it.
_PROBLEMS: dict[str, tuple[str, Any]] = {
    "category": ("category_unknown", "-"),
    "description": ("description_required", "-"),
    "contact": ("contact_invalid", None),
    "consent": ("consent_required", True),
    "locale": ("locale_invalid", "zh-CN"),
}


def _parse(form: dict[str, Any], errors: dict[str, str]) -> ComplaintCreate | None:
    """parse_complaint reports one problem at a time: each is recorded and replaced by a stand-in,
    and the form parsed again, so the caller sees every problem at once. None if there was any."""
    submitted = {"category": form.get("category"), "consent": form.get("consent") is True}
    submitted |= {k: form[k] for k in ("description", "contact", "locale") if form.get(k) is not None}
    if "category" in errors:  # already checked against the catalog
        submitted["category"] = "-"
    for _ in range(len(_PROBLEMS) + 1):
        try:
            data = parse_complaint(submitted)
        except ValidationFailed as exc:
            problem, stand_in = _PROBLEMS.get(exc.field, ("invalid", None))
            if exc.field not in _PROBLEMS or exc.field in errors:
                errors.setdefault(exc.field, problem)
                return None
            errors[exc.field], submitted[exc.field] = problem, stand_in
        else:
            return None if errors else data
    return None


def record_hotline_complaint(
    ctx: AppContext, token: str, *, form: dict[str, Any], idempotency_key: str
) -> tuple[int, str]:
    """File a complaint taken by phone; returns ``(complaint id, tracking code to read out)``.

    1. The sign-in is re-checked (:class:`~models.auth.SessionExpired`); any admin-app role may call.
    2. The branch is the caller's own (another one in ``form["branch_id"]`` is :class:`Forbidden`);
       an administrator must choose one.
    3. Every field is checked and all problems are raised together as :class:`HotlineFormInvalid`:
       the category (a clause customers may cite), what happened (required), the staff member by
       employee number (optional, of this branch), the counter (optional, of this branch), the contact
       (only with the caller's consent) and the caller's language; the 12345 work-order number
       (optional: letters, digits and hyphens, at most 40) is ``work_order_invalid``, or
       ``work_order_taken`` when another entry already holds it, with that complaint's id and
       tracking code in ``values["work_order_no"]`` (a retry of the same entry is not another).
    4. The complaint is filed once per ``idempotency_key`` (channel hotline, the branch's due time); a
       double submit returns the same complaint and code. A new filing gets an audit entry naming who
       took the call.
    5. The caller's rating of the service (``form["score"]``, 1 to 5, optional; anything else is
       ``score_invalid``) is stored as a hotline rating (models/rating.py ``store_rating``, the insert
       every channel uses; its key derived from ``idempotency_key``) in the complaint's transaction:
       the rating, the case a 差评 opens (models/cases.py) and the complaint, which is linked to the
       rating and joins its case, are committed together or not at all. A retry replays the stored
       rating and complaint, so nothing is stored twice; a key reused for a different call stores
       neither (:class:`~models.errors.IdempotencyConflict`).
       Counted: the misuse flags (presses too close together on one tablet, one phone rating a person
       again) are about presses at a device and do not apply; the customer gave this rating and staff
       only typed it in, so it counts like a tablet's, and the audit entry names who typed it.
    """
    user = GATE.caller(ctx, token)
    with ctx.db.write() as session:
        errors: dict[str, str] = {}
        branch_id = _branch(session, user, form, errors)
        category = str(form.get("category") or "").strip()
        if category not in {c.code for c in _categories(session)}:
            errors["category"] = "category_unknown" if category else "category_required"
        data = _parse(form, errors)
        staff_id = counter_id = None
        if branch_id is not None:
            staff_id = _about(session, form, branch_id, errors)
            counter_id = _counter(session, form, branch_id, errors)
        score = _score(form, errors)
        work_order_no = _work_order(form, errors)
        taken: dict[str, dict[str, object]] = {}
        if work_order_no is not None:
            try:
                check_work_order_free(
                    session, work_order_no, idempotency_key=idempotency_key, code_secret=ctx.secret_key
                )
            except WorkOrderTaken as exc:
                errors["work_order_no"], taken["work_order_no"] = _taken(exc)
        if errors:
            raise HotlineFormInvalid(errors, taken)
        assert data is not None and branch_id is not None
        now = ctx.clock()
        rating_id = None
        if score is not None:  # not committed: file_complaint commits it with the complaint
            rating, _new = store_rating(
                session, idempotency_key=_rating_key(idempotency_key), data=RatingCreate(score=score),
                channel=Channel.hotline, branch_id=branch_id, staff_id=staff_id, counter_id=counter_id,
                requested_staff=str(form.get("staff_no") or "").strip() or None, now=now,
            )  # fmt: skip
            rating_id = rating.id
        try:
            complaint, code, created = file_complaint(
                session, idempotency_key=idempotency_key, data=data, channel=Channel.hotline,
                branch_id=branch_id, counter_id=counter_id, staff_id=staff_id, rating_id=rating_id,
                score=score, policy=effective_policy(session, branch_id), now=now, code_secret=ctx.secret_key,
                work_order_no=work_order_no,
            )  # fmt: skip
        except IntegrityError:  # another entry of the same work order was stored meanwhile
            if work_order_no is None:
                raise
            session.rollback()  # the caller's rating goes with it: nothing of this entry is kept
            try:
                check_work_order_free(
                    session, work_order_no, idempotency_key=idempotency_key, code_secret=ctx.secret_key
                )
            except WorkOrderTaken as exc:
                problem, values = _taken(exc)
                raise HotlineFormInvalid({"work_order_no": problem}, {"work_order_no": values}) from None
            raise
        assert complaint.id is not None
        if code is None:  # only without a secret key, which the app always has
            raise RuntimeError("the tracking code of this hotline complaint cannot be recovered")
        if created:
            typed: dict[str, Any] = {}
            if rating_id is not None:
                typed |= {"rating_id": str(rating_id), "score": score}
            if work_order_no is not None:
                typed["work_order_no"] = work_order_no
            audit.append(session, action="complaint.hotline", entity="complaint", entity_id=complaint.id,
                         actor_staff_id=user.id, details=typed or None, now=now)  # fmt: skip
            session.commit()
        complaint_id = complaint.id
    after_complaint(ctx, complaint_id=complaint_id)  # a high-severity call alerts supervisors at once
    return complaint_id, code


# ---------------------------------------------------------------------------------------------------
# 12345 work orders: the month's orders, their result records and the three rates


# Whose calendar says which month it is when an administrator looks at every branch.
DEFAULT_TZ: str = Branch.model_fields["timezone"].default


class WorkOrderDownload(NamedTuple):
    file_name: str
    data: bytes


def _month(text: str, now: datetime, tz: str) -> Month:
    """A month written YYYY-MM, not after the current one (:class:`ValidationFailed` on ``month``)."""
    month = Month.parse(text)
    if month.first_day > local_month(now, tz).first_day:
        raise ValidationFailed("month", f"{month} is in the future")
    return month


def _scope(session: Session, user: Caller, branch_id: int | None) -> tuple[list[int] | None, Branch | None]:
    """The branches asked about: a supervisor's own (another one is :class:`Forbidden`); for an
    administrator the one chosen, or every branch (None)."""
    if branch_id is None and user.is_admin:
        return None, None
    chosen = user.branch_id if branch_id is None else branch_id
    user.check_branch(chosen, "the work orders of another branch are not yours to see")
    branch = session.get(Branch, chosen) if chosen is not None else None
    if branch is None or branch.id is None:
        raise ValidationFailed("branch", "no such branch")
    return [branch.id], branch


def work_orders(ctx: AppContext, token: str, *, month: str, branch_id: int | None = None) -> WorkOrderMonth:
    """The 12345 work orders received in ``month`` (YYYY-MM, each branch's local month) in the
    caller's scope, with each order's result and the three rates: supervisors their branch,
    administrators every branch or the one given. A future month is :class:`ValidationFailed`."""
    user = WORK_ORDERS.caller(ctx, token)
    with ctx.db.read() as session:
        branch_ids, branch = _scope(session, user, branch_id)
        period = _month(month, ctx.clock(), branch.timezone if branch else DEFAULT_TZ)
        return month_work_orders(session, period, branch_ids=branch_ids, code_secret=ctx.secret_key)


def work_orders_export(
    ctx: AppContext, token: str, *, month: str, locale: str, branch_id: int | None = None
) -> WorkOrderDownload:
    """:func:`work_orders` as a CSV file (rapport/usecases/work_orders.py), one row per work order;
    each download is in the audit log (``document.download``, document ``work_orders``), as the
    documents section's exports are."""
    user = WORK_ORDERS.caller(ctx, token)
    with ctx.db.read() as session:
        branch_ids, branch = _scope(session, user, branch_id)
        period = _month(month, ctx.clock(), branch.timezone if branch else DEFAULT_TZ)
        found = month_work_orders(session, period, branch_ids=branch_ids, code_secret=ctx.secret_key)
    data = work_orders_csv(found, locale=locale)
    with ctx.db.write() as session:
        audit.append(
            session, action="document.download", entity="branch", entity_id=branch.id if branch else "all",
            actor_staff_id=user.id, now=ctx.clock(),
            details={"document": "work_orders", "month": str(period)},
        )  # fmt: skip
        session.commit()
    return WorkOrderDownload(f"rapport-work-orders-{branch.code if branch else 'all'}-{period}.csv", data)
