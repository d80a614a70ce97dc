"""The admin app's door to the rules (policy): read what is in force and where each value comes from,
change it, drop a branch's override, and see every saved version.

Administrators edit the global rules and any branch's overrides; a supervisor may read their own
branch's rules and nothing else; staff are refused (:class:`Forbidden`). The settings are read from
``PolicyValues.model_fields`` at run time, so a setting added to the model shows up here by itself
(in the group "other" until :data:`GROUP_OF` names it).

Why the checks here go beyond ``set_policy``'s own: it validates a scope's overrides over the
defaults, so on its own it would accept a global change that breaks a branch whose overrides no
longer fit with it (closing before opening), or refuse nothing a merged view would show. Here every
change is validated the way it will be read — defaults, then the global row, then the branch — and
for a global change, against every branch's overrides too. A refusal is a :class:`RuleInvalid`
(a :class:`ValidationFailed` naming the field) raised before anything is written.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen
from pydantic import ValidationError
from pydantic.fields import FieldInfo
from sqlmodel import Session, col, select

from admin import access
from admin.access import Caller
from admin.rule_text import DATE_TEXT, RuleInvalid, parse_value, text_of
from admin.rule_text import choices_of as _choices
from admin.rule_text import kind_of as _kind
from admin.rule_text import unit_of as _unit
from models.errors import NotFound, ValidationFailed
from models.inspection import DEFAULT_TZ
from models.org import Branch, Role, Staff
from models.policy import Policy, PolicyRevision, PolicyValues, drop_override, set_policy
from models.policy import record_adoption as _record_adoption
from rapport.core.context import AppContext

HISTORY = 30  # revisions shown per scope, newest first
# Each setting's group, in display order; a setting the map does not name goes to "other", so a new
# one is never hidden.
GROUPS: dict[str, tuple[str, ...]] = {
    "kiosk": (
        "idle_reset_seconds",
        "min_press_interval_seconds",
        "burst_window_seconds",
        "burst_max_presses",
    ),
    "phones": ("qr_window_hours", "qr_max_presses_per_hour", "status_lookups_per_minute"),
    "complaints": (
        "bad_rating_max_score",
        "sla_clock",
        "sla_days",
        "sla_day_ends",
        "first_contact_working_days",
        "extension_lengths",
        "escalate_after_working_days",
        "sla_hours_high",
        "sla_hours_normal",
        "sla_hours_low",
        "sla_in_business_hours",
        "high_severity_clauses",
        "remedies_zh",
        "remedies_en",
    ),
    "hours": ("business_days", "opening_time", "closing_time", "weekly_hours", "holidays"),
    "alerts": ("burst_alert_window_minutes", "burst_alert_min_ratings", "burst_alert_low_share"),
    "privacy": ("contact_retention_days", "flagged_press_retention_days", "record_retention_days"),
    "sign_in": ("require_totp_for_supervisors",),
    "scores": ("min_ratings_ranked", "score_prior_weight"),
    "evaluation": (
        "service_star_enabled",
        "reward_basis",
        "reward_min_above_mean",
        "commendation_top_share",
        "service_star_min_score",
        "service_star_bonus_yuan",
        "service_star_on_kiosk",
        "commendation_min_score",
        "complaints_for_penalty",
        "inspection_violation_penalty",
        "penalty_deduction_yuan",
        "deduction_cap_yuan_per_month",
        "fines_enabled",
        "dismissal_after_penalties",
        "escalation_lookback_months",
    ),
    "appeals": ("appeal_window_days", "appeal_decision_days"),
    "services": ("default_rating_days", "default_rating_score", "default_rating_counted"),
    "other": (),
}
GROUP_OF = {key: group for group, keys in GROUPS.items() for key in keys}
# Settings read from the global rules only (sign-in happens before anyone's branch is known): a branch
# override would change nothing, so none is accepted.
GLOBAL_ONLY = frozenset({"require_totp_for_supervisors"})
# Settings checked together by PolicyValues' model validators: a refusal names the reason.
PAIRED = {
    "opening_time": "hours_order",
    "closing_time": "hours_order",
    "sla_hours_high": "sla_order",
    "sla_hours_normal": "sla_order",
    "sla_hours_low": "sla_order",
}
ADOPTED_HOW_MAX_CHARS = 200  # PolicyRevision.adopted_how


@dataclass(frozen=True)
class Scope:
    branch_id: int | None  # None: the global rules, every branch's starting point
    code: str
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class Setting:
    key: str
    group: str
    kind: str  # bool, int, float, time, choice, weekdays, dates, clauses, int_list, text_list, text
    unit: str  # seconds, minutes, hours, days, months, yuan, presses, ... or "" (a plain number)
    text: str  # the value in force, as the form shows it
    source: str  # default, global or branch: where the value in force comes from
    inherited: str  # the value this scope falls back to when its own override is dropped
    global_only: bool  # set in the global rules only; read-only in a branch's
    minimum: float | None = None
    maximum: float | None = None
    min_exclusive: bool = False
    max_exclusive: bool = False
    min_items: int | None = None
    max_items: int | None = None
    choices: tuple[str, ...] = ()  # a "choice" setting's values, in the model's order


@dataclass(frozen=True)
class Revision:
    version: int
    saved_at: datetime
    saved_by: str  # a name, or "" when the system saved it
    changed: tuple[str, ...]  # keys set or changed compared with the version before
    removed: tuple[str, ...]  # keys whose override was dropped (back to the inherited value)
    id: int  # the revision row, named to :func:`record_adoption`
    published_at: datetime | None  # on every staff member's rules page from then on
    adopted_on: date | None  # None: how it was adopted is not recorded yet
    adopted_how: str  # the administrator's note (a staff meeting, the representatives' assembly)


@dataclass(frozen=True)
class Rules:
    scope: Scope
    version: int  # 0 while nothing was ever saved for this scope
    settings: tuple[Setting, ...]
    groups: tuple[str, ...]  # display order, only groups with settings
    history: tuple[Revision, ...]  # newest first
    editable: bool
    scopes: tuple[Scope, ...]  # what the caller may open
    tz: str


@dataclass(frozen=True)
class Saved:
    version: int
    changed: tuple[str, ...]  # empty: nothing differed, nothing was written


# -- access -------------------------------------------------------------------------------------


GATE = access.Gate(access.SUPERVISION, refused="the rules are for supervisors and administrators")


def _readable(user: Caller, branch_id: int | None) -> None:
    """An administrator reads every scope; a supervisor their own branch's rules (not the global ones)."""
    user.check_branch(branch_id, "a supervisor reads the rules of their own branch only")


def _editor(user: Caller) -> int:
    return user.require(Role.admin, message="only administrators change the rules")


def branch_or_global(session: Session, branch_id: int | None) -> Branch | None:
    """The branch a rules or calendar call is about; None for the global scope. An unknown id is
    NotFound (the callers have checked the caller may see it first)."""
    if branch_id is None:
        return None
    branch = session.get(Branch, branch_id)
    if branch is None:
        raise NotFound("no branch with this id")
    return branch


def scope_of(branch: Branch | None) -> Scope:
    """The scope a screen names: a branch, or the global rules for None."""
    if branch is None:
        return Scope(None, "", "", "")
    return Scope(branch.id, branch.code, branch.name_zh, branch.name_en)


# -- reading ------------------------------------------------------------------------------------


def _row(session: Session, branch_id: int | None) -> Policy | None:
    where = col(Policy.branch_id).is_(None) if branch_id is None else col(Policy.branch_id) == branch_id
    return session.exec(select(Policy).where(where)).first()


def _values(row: Policy | None) -> dict[str, Any]:
    return dict(row.values) if row is not None else {}


def _setting(
    key: str, info: FieldInfo, now: PolicyValues, inherited: PolicyValues, source: str, branch: bool
) -> Setting:
    bounds: dict[str, Any] = {}
    for m in info.metadata:
        if isinstance(m, Ge | Gt):
            bounds["minimum"], bounds["min_exclusive"] = (m.ge, False) if isinstance(m, Ge) else (m.gt, True)
        elif isinstance(m, Le | Lt):
            bounds["maximum"], bounds["max_exclusive"] = (m.le, False) if isinstance(m, Le) else (m.lt, True)
        elif isinstance(m, MinLen):
            bounds["min_items"] = m.min_length
        elif isinstance(m, MaxLen):
            bounds["max_items"] = m.max_length
    return Setting(
        key=key,
        group=GROUP_OF.get(key, "other"),
        kind=_kind(key, info),
        unit=_unit(key),
        text=text_of(getattr(now, key)),
        source=source,
        inherited=text_of(getattr(inherited, key)),
        global_only=branch and key in GLOBAL_ONLY,
        choices=_choices(info),
        **bounds,
    )


def _place(setting: Setting) -> tuple[int, int]:
    """Groups in display order, each in the map's order; "other" keeps the model's (a stable sort)."""
    keys = GROUPS[setting.group]
    return list(GROUPS).index(setting.group), keys.index(setting.key) if setting.key in keys else 0


def _history(session: Session, row: Policy | None) -> tuple[Revision, ...]:
    if row is None:
        return ()
    revisions = session.exec(
        select(PolicyRevision).where(PolicyRevision.policy_id == row.id).order_by(col(PolicyRevision.version))
    ).all()
    ids = {r.saved_by for r in revisions if r.saved_by is not None}
    names = {s.id: s.display_name for s in session.exec(select(Staff).where(col(Staff.id).in_(ids))).all()}
    out: list[Revision] = []
    before: dict[str, Any] = {}
    for r in revisions:
        out.append(_revision(r, names.get(r.saved_by, "") if r.saved_by else "", before))
        before = r.values
    return tuple(reversed(out[-HISTORY:]))


def _revision(r: PolicyRevision, saved_by: str, before: dict[str, Any]) -> Revision:
    """One saved version as the history shows it, with what changed since ``before`` (the values of
    the version before it; empty for the first)."""
    assert r.id is not None
    missing = object()
    keys = sorted(before.keys() | r.values.keys())
    return Revision(
        version=r.version,
        saved_at=r.saved_at,
        saved_by=saved_by,
        changed=tuple(k for k in keys if k in r.values and before.get(k, missing) != r.values[k]),
        removed=tuple(k for k in keys if k not in r.values),
        id=r.id,
        published_at=r.published_at,
        adopted_on=r.adopted_on,
        adopted_how=r.adopted_how,
    )


def rules(ctx: AppContext, token: str, branch_id: int | None = None) -> Rules:
    """Every setting of the global rules (``branch_id`` None) or of one branch, with the value in
    force, where it comes from, its type and bounds, grouped; and the scope's saved versions."""
    user = GATE.caller(ctx, token)
    _readable(user, branch_id)
    with ctx.db.read() as session:
        branch = branch_or_global(session, branch_id)
        global_row, row = _row(session, None), _row(session, branch_id)
        glob = _values(global_row)
        own = _values(row) if branch_id is not None else {}
        inherited = PolicyValues.model_validate(glob if branch_id is not None else {})
        now = PolicyValues.model_validate({**glob, **own})
        settings = []
        for key, info in PolicyValues.model_fields.items():
            source = "branch" if key in own else "global" if key in glob else "default"
            settings.append(_setting(key, info, now, inherited, source, branch_id is not None))
        settings.sort(key=_place)
        admin = user.is_admin
        if admin:
            branches = session.exec(select(Branch).order_by(col(Branch.code))).all()
            scopes = (scope_of(None), *(scope_of(b) for b in branches))
        else:
            scopes = (scope_of(branch),)
        return Rules(
            scope=scope_of(branch),
            version=row.version if row else 0,
            settings=tuple(settings),
            groups=tuple(g for g in GROUPS if any(s.group == g for s in settings)),
            history=_history(session, row),
            editable=admin,
            scopes=scopes,
            tz=branch.timezone if branch else DEFAULT_TZ,
        )


def parse(session: Session, key: str, text: str) -> Any:
    """Typed text -> the setting's value (:func:`admin.rule_text.parse_value`), read against the
    settings of :class:`PolicyValues` as this module sees them. Raises :class:`RuleInvalid`."""
    return parse_value(session, key, text, PolicyValues.model_fields[key])


# -- validation ---------------------------------------------------------------------------------


def _explain(exc: ValidationError, blame: str) -> RuleInvalid:
    """The first pydantic error as a :class:`RuleInvalid` naming its field; an error of the whole
    model (two settings that do not fit together) is put on ``blame``."""
    err = exc.errors(include_url=False)[0]
    key = str(err["loc"][0]) if err["loc"] else blame
    kind, message = err["type"], str(err["msg"]).removeprefix("Value error, ")
    info = PolicyValues.model_fields.get(key)
    if not err["loc"]:
        return RuleInvalid(key, PAIRED.get(key, "invalid"), message, text=message)
    if info is None or kind == "extra_forbidden":
        return RuleInvalid(key, "unknown", "no such setting")
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        return RuleInvalid(key, "range", message)
    if kind in ("too_short", "too_long"):
        return RuleInvalid(key, "too_few" if kind == "too_short" else "too_many", message)
    return RuleInvalid(key, "invalid", message, text=message)


def _check(merged: dict[str, Any], changed: list[str], before: dict[str, Any]) -> PolicyValues:
    """Validate ``merged``; a refusal of the whole model names the first changed setting whose old
    value would have been accepted (the one that broke the pair), else the first changed one."""
    try:
        return PolicyValues.model_validate(merged)
    except ValidationError as exc:
        blame = changed[0] if changed else ""
        if not exc.errors()[0]["loc"]:
            for key in changed:
                trial = {k: v for k, v in merged.items() if k != key}
                if key in before:
                    trial[key] = before[key]
                try:
                    PolicyValues.model_validate(trial)
                except ValidationError:
                    continue
                blame = key
                break
        raise _explain(exc, blame) from None


def _check_branches(session: Session, glob: dict[str, Any], changed: list[str]) -> None:
    """A global change must leave every branch's overrides valid on top of it."""
    for row in session.exec(select(Policy).where(col(Policy.branch_id).is_not(None))).all():
        try:
            PolicyValues.model_validate({**glob, **row.values})
        except ValidationError as exc:
            branch = session.get(Branch, row.branch_id)
            err = exc.errors(include_url=False)[0]
            key = str(err["loc"][0]) if err["loc"] and str(err["loc"][0]) in changed else changed[0]
            raise RuleInvalid(
                key,
                "breaks_branch",
                f"the overrides of branch {branch.code if branch else row.branch_id} "
                f"would no longer be valid: {err['msg']}",
                branch_zh=branch.name_zh if branch else "",
                branch_en=branch.name_en if branch else "",
            ) from None


# -- writing ------------------------------------------------------------------------------------


def save_rules(ctx: AppContext, token: str, branch_id: int | None, changes: dict[str, str]) -> Saved:
    """Save typed changes to the global rules or a branch's overrides (administrators only).

    1. Every key must be a setting; each text is parsed to its type, in the form's order, and the
       first bad one is refused by name.
    2. The changes are validated over what they will be read with (defaults, global, branch), and a
       global change over every branch's overrides. Nothing is written on any refusal.
    3. Only the settings whose value in force actually changes are stored (a new version, a revision
       with the scope's values and an audit entry naming the keys); if none does, nothing is written.
    """
    actor = _editor(GATE.caller(ctx, token))
    with ctx.db.write() as session:
        branch_or_global(session, branch_id)
        fields = PolicyValues.model_fields
        unknown = sorted(k for k in changes if k not in fields)
        if unknown:
            raise RuleInvalid(unknown[0], "unknown", "no such setting")
        keys = [k for k in fields if k in changes]
        if branch_id is not None and (fixed := next((k for k in keys if k in GLOBAL_ONLY), None)):
            raise RuleInvalid(fixed, "global_only", "set for all branches only")
        parsed = {k: parse(session, k, changes[k]) for k in keys}
        glob = _values(_row(session, None))
        row = _row(session, branch_id)
        own = _values(row) if branch_id is not None else {}
        before = {**glob, **own}
        current = PolicyValues.model_validate(before)
        validated = _check({**before, **parsed}, keys, before)
        dumped = validated.model_dump(mode="json")
        changed = {k: dumped[k] for k in keys if getattr(validated, k) != getattr(current, k)}
        if not changed:
            return Saved(row.version if row else 0, ())
        if branch_id is None:
            _check_branches(session, {**glob, **changed}, list(changed))
        try:
            set_policy(session, values=changed, branch_id=branch_id, actor_staff_id=actor, now=ctx.clock())
        except ValidationError as exc:
            # set_policy checks a branch's overrides over the defaults rather than over the global rules,
            # so it can refuse a pair that is valid in force; say so rather than fail without a word.
            session.rollback()
            first = exc.errors(include_url=False)[0]
            key = str(first["loc"][0]) if first["loc"] else next(iter(changed))
            raise RuleInvalid(key, "with_defaults", str(first["msg"]).removeprefix("Value error, ")) from None
        saved = _row(session, branch_id)
        assert saved is not None
        return Saved(saved.version, tuple(changed))


def reset_rule(ctx: AppContext, token: str, branch_id: int | None, key: str) -> Saved:
    """Drop one override of a scope (administrators only): a branch falls back to the global value,
    the global rules to the default, written by :func:`models.policy.drop_override` (the one write
    path, as ``set_policy``'s): a new version, a revision with the scope's remaining values, and an
    audit entry (``policy.reset``) naming the key. Dropping an override that is not there writes
    nothing."""
    actor = _editor(GATE.caller(ctx, token))
    with ctx.db.write() as session:
        branch_or_global(session, branch_id)
        if key not in PolicyValues.model_fields:
            raise RuleInvalid(key, "unknown", "no such setting")
        row = _row(session, branch_id)
        if row is None or key not in row.values:
            return Saved(row.version if row else 0, ())
        remaining = {k: v for k, v in row.values.items() if k != key}
        glob = _values(_row(session, None)) if branch_id is not None else {}
        _check({**glob, **remaining}, [key], {**glob, **row.values})
        if branch_id is None:
            _check_branches(session, remaining, [key])
        version = drop_override(session, key=key, branch_id=branch_id, actor_staff_id=actor, now=ctx.clock())
        assert version is not None  # the override is there: checked above in this transaction
        return Saved(version, (key,))


def record_adoption(ctx: AppContext, token: str, revision_id: int, adopted_on: str, how: str) -> Revision:
    """Record how and when a saved version of the rules was adopted (administrators only): the day,
    typed YYYY-MM-DD, and a note on how (a staff meeting, the representatives' assembly, a union
    consultation), for every staff member's rules page (劳动合同法 §4). A bad or future date is refused
    as ``adopted_on``, an empty or too long note as ``adopted_how`` (:class:`ValidationFailed`), an
    unknown version with :class:`NotFound`; nothing is written then. Recording again replaces the
    earlier record; each is audited (``policy.adopted``)."""
    actor = _editor(GATE.caller(ctx, token))
    with ctx.db.write() as session:
        text = unicodedata.normalize("NFKC", adopted_on or "").strip()
        try:
            day = date.fromisoformat(text) if DATE_TEXT.fullmatch(text) else None
        except ValueError:
            day = None
        if day is None:
            raise ValidationFailed("adopted_on", f"{adopted_on!r} is not a date written YYYY-MM-DD")
        if session.get(PolicyRevision, revision_id) is None:
            raise NotFound("no saved version of the rules with this id")
        row = _record_adoption(
            session, revision_id=revision_id, adopted_on=day, how=how, actor_staff_id=actor, now=ctx.clock()
        )
        before = session.exec(
            select(PolicyRevision).where(
                PolicyRevision.policy_id == row.policy_id, PolicyRevision.version == row.version - 1
            )
        ).first()
        saver = session.get(Staff, row.saved_by) if row.saved_by is not None else None
        return _revision(row, saver.display_name if saver else "", before.values if before else {})
