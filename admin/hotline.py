"""Hotline entry (conduct code §3.2.2: customer hotline): staff or a supervisor types in a complaint
a customer made by phone. Like every admin call, each one re-checks the sign-in (admin/access.py);
the complaint is filed in the caller's own branch (an administrator chooses one), and the tracking
code comes back to be read out.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, func, select

from admin import access
from admin.access import Caller
from models import audit
from models.bilingual import pick
from models.catalog import ConductClause, rateable_clauses
from models.complaint import ComplaintCreate, file_complaint, parse_complaint
from models.errors import ValidationFailed
from models.org import Branch, Counter, Role, Staff
from models.policy import effective_policy
from models.rating import Channel, RatingCreate, store_rating, validate_idempotency_key
from rapport.core.context import AppContext
from rapport.usecases.alerting import after_complaint

# Anyone signed in to the admin app may take a call: counter staff answer the phone too.
ROLES = frozenset({Role.staff, Role.supervisor, Role.admin})
# The form's fields, in the order their problems are reported.
FIELDS = (
    "branch_id", "category", "description", "staff_no", "counter_id", "score", "contact", "consent", "locale",
)  # fmt: skip


class HotlineFormInvalid(ValidationFailed):
    """One or more fields need fixing; ``errors`` maps each field to a problem code (for the message
    ``admin.hotline.error.<code>``). Nothing was stored."""

    def __init__(self, errors: dict[str, str]):
        rank = {f: i for i, f in enumerate(FIELDS)}
        ordered = {f: errors[f] for f in sorted(errors, key=lambda f: rank.get(f, len(FIELDS)))}
        field, problem = next(iter(ordered.items()))
        super().__init__(field, f"{field}: {problem}")
        self.errors = ordered


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
       (only with the caller's consent) and the caller's language.
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
        if errors:
            raise HotlineFormInvalid(errors)
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
        complaint, code, created = file_complaint(
            session, idempotency_key=idempotency_key, data=data, channel=Channel.hotline, branch_id=branch_id,
            counter_id=counter_id, staff_id=staff_id, rating_id=rating_id, score=score,
            policy=effective_policy(session, branch_id), now=now, code_secret=ctx.secret_key,
        )  # fmt: skip
        assert complaint.id is not None
        if code is None:  # only without a secret key, which the app always has
            raise RuntimeError("the tracking code of this hotline complaint cannot be recovered")
        if created:
            typed = {"rating_id": str(rating_id), "score": score} if rating_id is not None else None
            audit.append(session, action="complaint.hotline", entity="complaint", entity_id=complaint.id,
                         actor_staff_id=user.id, details=typed, now=now)  # fmt: skip
            session.commit()
        complaint_id = complaint.id
    after_complaint(ctx, complaint_id=complaint_id)  # a high-severity call alerts supervisors at once
    return complaint_id, code
