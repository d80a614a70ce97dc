"""Policy: the thresholds an organisation tunes (intervals, windows, SLA hours, retention).

One row per scope: the global default (``branch_id`` NULL) and optional per-branch overrides. Values
are validated by :class:`PolicyValues`, so a bad edit is refused with the field named, and a missing
row simply means "the defaults".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import JSON, Column, Index, bindparam
from sqlmodel import Field as SQLField
from sqlmodel import Session, SQLModel, col, select

import models.base  # noqa: F401  (naming convention first)
from models.clock import UTCDateTime, utcnow
from models.errors import ValidationFailed
from models.prepared import Prepared, driver_of
from models.sla import format_weekly, parse_hhmm, parse_weekly

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class PolicyValues(BaseModel):
    # Frozen: effective_policy hands the same validated instance to every caller.
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Kiosk
    idle_reset_seconds: int = Field(default=30, ge=10, le=600)
    min_press_interval_seconds: int = Field(default=5, ge=0, le=300)
    burst_window_seconds: int = Field(default=60, ge=10, le=3600)
    burst_max_presses: int = Field(default=8, ge=2, le=1000)
    # Phones (QR links)
    qr_window_hours: int = Field(default=12, ge=1, le=24 * 30)
    qr_max_presses_per_hour: int = Field(default=6, ge=1, le=1000)
    # Complaints: reply due times in hours, per severity
    sla_hours_low: int = Field(default=120, ge=1, le=24 * 60)
    sla_hours_normal: int = Field(default=72, ge=1, le=24 * 60)
    sla_hours_high: int = Field(default=24, ge=1, le=24 * 60)
    # ...counted in the branch's opening hours (models/sla.py) unless turned off: business days are
    # ISO weekdays (Monday 1); counters often open on Saturday. Times are the branch's local HH:MM.
    sla_in_business_hours: bool = True
    business_days: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5, 6], min_length=1, max_length=7)
    opening_time: str = "09:00"
    closing_time: str = "17:00"
    holidays: list[str] = Field(default_factory=list, max_length=2000)
    # Opening hours per weekday with breaks, e.g. "1-5 09:00-12:00 13:30-17:00; 6 09:00-12:00"
    # (models/sla.py parse_weekly); empty: the business days above, opening to closing.
    weekly_hours: str = Field(default="", max_length=200)
    # Which clock decides a complaint's reply (models/workdays.py): the opening hours above with the
    # hours per severity; or a number of working days (工作日) or calendar days counted from the day
    # after filing, its last day moved past holidays, ending at close of business or at 24:00.
    sla_clock: Literal["opening_hours", "working_days", "calendar_days"] = "opening_hours"
    # A rating at or below this score is a 差评 and opens a case to verify and answer (models/cases.py):
    # 2 takes 不满意 and 非常不满意, as the 好差评 rules define 差评.
    bad_rating_max_score: int = Field(default=2, ge=1, le=3)
    sla_days: int = Field(default=15, ge=1, le=365)
    sla_day_ends: Literal["close", "midnight"] = "close"
    # First contact (the case acknowledged) within this many working days; 0: no separate clock.
    first_contact_working_days: int = Field(default=0, ge=0, le=30)
    # Extensions of the reply time (models/extensions.py): how many a case may get and how long each
    # is, in the reply clock's unit (the bank rule: 15 then 30 calendar days). Empty: none.
    extension_lengths: list[int] = Field(default_factory=list, max_length=5)
    # 督办: a case still overdue this many working days after its due time is raised to the
    # administrators (at close of business of that day); 0: never.
    escalate_after_working_days: int = Field(default=0, ge=0, le=60)
    contact_retention_days: int = Field(default=30, ge=1, le=3650)
    # Presses flagged as misuse (too fast, bursts) count in no score; they are deleted after this many
    # days unless a complaint or an appeal cites them (models/retention.py).
    flagged_press_retention_days: int = Field(default=90, ge=7, le=3650)
    # Complaint and 差评 case records are kept this long after they close; then their free text (the
    # customer's account, replies, notes, actions, answers) is removed and the numbers stay: status,
    # times, category, score, finding, grade (models/retention.py; 个人信息保护法 §19). The bank preset's
    # three years is the default.
    record_retention_days: int = Field(default=1095, ge=365, le=36500)
    # The remedies a rejected or closed complaint's reply ends with, in each language (the bank rule:
    # review by the next level, mediation, arbitration, the courts, the regulator's hotline; RULES-CITED
    # §2). Empty: none shown. The bank preset fills both in; administrators edit them.
    remedies_zh: str = Field(default="", max_length=1000)
    remedies_en: str = Field(default="", max_length=1000)
    # Clauses whose complaints are high severity from the start (integrity, confidentiality).
    high_severity_clauses: list[str] = Field(default_factory=lambda: ["2.1.2", "2.1.3", "1.3.1"])
    status_lookups_per_minute: int = Field(default=10, ge=1, le=1000)
    # Sign-in: supervisors and administrators must give an authenticator code (enrol first).
    require_totp_for_supervisors: bool = False
    # Live alert: a counter gets at least this share of 1–2 scores among at least N ratings in M minutes.
    burst_alert_window_minutes: int = Field(default=15, ge=1, le=24 * 60)
    burst_alert_min_ratings: int = Field(default=4, ge=1, le=1000)
    burst_alert_low_share: float = Field(default=0.5, gt=0, le=1)
    # Fair scores (models/scores.py): the weight of the branch mean in a shrunk score, counted as that
    # many ratings, and how many counted ratings someone needs in a period before being ranked.
    score_prior_weight: int = Field(default=10, ge=0, le=1000)
    min_ratings_ranked: int = Field(default=20, ge=1, le=100000)
    # Monthly evaluation (models/sanction/): what it proposes. Nothing is applied without a decision.
    service_star_enabled: bool = True
    service_star_min_score: float = Field(default=4.5, ge=1, le=5)
    service_star_bonus_yuan: int = Field(default=500, ge=0, le=1_000_000)
    service_star_on_kiosk: bool = True
    commendation_min_score: float = Field(default=4.6, ge=1, le=5)
    # Which line a reward must pass. A fixed score (the two minimums above, "absolute") is passed by
    # everyone in a hall where above 99% of ratings are 好评 and by nobody at a kiosk with 2–5% 差评,
    # so by default the line is the branch itself ("relative"): the Service Star is the best ranked
    # person with a clean month and at most ``commendation_top_share`` of the ranked people are
    # commended, each only with a fair score more than ``reward_min_above_mean`` points above the mean
    # of the branch's ranked fair scores. 0 points means "above the mean": a branch whose people all
    # score alike rewards nobody; a margin in points is again scale-bound, so it is raised per site.
    reward_basis: Literal["relative", "absolute"] = "relative"
    reward_min_above_mean: float = Field(default=0.0, ge=0, le=4)
    commendation_top_share: float = Field(default=0.2, ge=0, le=1)
    complaints_for_penalty: int = Field(default=2, ge=1, le=100)
    inspection_violation_penalty: bool = True
    penalty_deduction_yuan: int = Field(default=200, ge=0, le=1_000_000)
    # 工资支付暂行规定 §16 (docs/RULES-CITED.md §4): a month's deductions are at most 20% of that month's
    # wage and never push pay below the local minimum wage. Rapport does not hold wages, so the sum of
    # one person's approved deductions (and fines) in a calendar month is capped at an amount, checked
    # when a deduction is proposed and again when it is approved. The default, 300 yuan, is 20% of
    # 1,500 yuan, below every full-time monthly minimum wage in China; 0 allows no deduction at all.
    deduction_cap_yuan_per_month: int = Field(default=300, ge=0, le=1_000_000)
    # Employer fines (罚款) have no legal basis since the 企业职工奖惩条例 was abolished (RULES-CITED §4):
    # the ``fine`` kind is refused unless an administrator turns it on deliberately.
    fines_enabled: bool = False
    # Repeated violations escalate: warning first, then an economic penalty, and a dismissal
    # recommendation once this many penalties were approved in the look-back window.
    dismissal_after_penalties: int = Field(default=3, ge=2, le=100)
    escalation_lookback_months: int = Field(default=12, ge=1, le=120)
    appeal_window_days: int = Field(default=30, ge=1, le=365)
    # Every appeal is decided within this many days of being filed (公务员法 §95: 30 days); its due
    # time is fixed when it is filed and shown to the person and to the deciders.
    appeal_decision_days: int = Field(default=30, ge=1, le=365)
    # The default rating (models/default_rating.py, RULES-CITED §1): a transaction (办件) nobody rated
    # within this many calendar days after the day it finished gets the score below, marked as a
    # default and reported apart (Guangdong: 7 days, 基本满意). 0: off. Counted in the scores and
    # the 好评率 only when ``default_rating_counted`` is on.
    default_rating_days: int = Field(default=0, ge=0, le=60)
    default_rating_score: int = Field(default=3, ge=1, le=5)
    default_rating_counted: bool = False

    @field_validator("business_days")
    @classmethod
    def _weekdays(cls, v: list[int]) -> list[int]:
        if any(d < 1 or d > 7 for d in v):
            raise ValueError("business days are ISO weekdays, 1 (Monday) to 7 (Sunday)")
        return sorted(set(v))

    @field_validator("opening_time", "closing_time")
    @classmethod
    def _clock(cls, v: str) -> str:
        return parse_hhmm(v).strftime("%H:%M")

    @field_validator("holidays")
    @classmethod
    def _dates(cls, v: list[str]) -> list[str]:
        days: set[date] = set()
        for text in v:
            try:
                days.add(date.fromisoformat(text) if _DATE.fullmatch(text) else date.min)
            except ValueError:
                days.add(date.min)
            if date.min in days:
                raise ValueError(f"holidays are dates written YYYY-MM-DD, got {text!r}")
        return sorted(d.isoformat() for d in days)

    @model_validator(mode="after")
    def _ordered_sla(self) -> PolicyValues:
        if not self.sla_hours_high <= self.sla_hours_normal <= self.sla_hours_low:
            raise ValueError("SLA hours must not be shorter for a less severe complaint")
        return self

    @field_validator("extension_lengths")
    @classmethod
    def _lengths(cls, v: list[int]) -> list[int]:
        if any(n < 1 or n > 365 for n in v):
            raise ValueError("each extension is 1 to 365 (days, or hours for an opening-hours clock)")
        return v

    @field_validator("weekly_hours")
    @classmethod
    def _weekly(cls, v: str) -> str:
        if not v.strip():
            return ""
        return format_weekly(parse_weekly(v))

    @model_validator(mode="after")
    def _opening_hours(self) -> PolicyValues:
        # Zero-padded HH:MM strings sort like the times they name.
        if self.closing_time <= self.opening_time:
            raise ValueError("closing time must be after opening time")
        return self

    def business_calendar(self) -> dict[str, Any]:
        """The opening hours as keyword arguments for :mod:`models.sla`'s functions."""
        return {
            "business_days": self.business_days,
            "opening": self.opening_time,
            "closing": self.closing_time,
            "holidays": self.holidays,
            "weekly": self.weekly_hours,
        }

    def clock_amount(self, severity: str) -> int:
        """The reply clock's length in its own unit: hours of opening time, or days."""
        return self.sla_hours(severity) if self.sla_clock == "opening_hours" else self.sla_days

    def sla_hours(self, severity: str) -> int:
        return {"low": self.sla_hours_low, "normal": self.sla_hours_normal, "high": self.sla_hours_high}[
            severity
        ]


class Policy(SQLModel, table=True):
    __table_args__ = (Index("uq_policy_branch", "branch_id", unique=True),)

    id: int | None = SQLField(default=None, primary_key=True)
    branch_id: int | None = SQLField(default=None, foreign_key="branch.id")
    values: dict[str, Any] = SQLField(default_factory=dict, sa_column=Column(JSON, nullable=False))
    version: int = 1
    updated_at: datetime = SQLField(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class PolicyRevision(SQLModel, table=True):
    """Every saved version of a scope's policy, so a proposal can be read against the rules it used."""

    __tablename__ = "policy_revision"
    __table_args__ = (Index("uq_policy_revision_scope_version", "policy_id", "version", unique=True),)

    id: int | None = SQLField(default=None, primary_key=True)
    policy_id: int = SQLField(foreign_key="policy.id")
    branch_id: int | None = SQLField(default=None, foreign_key="branch.id")
    version: int
    values: dict[str, Any] = SQLField(default_factory=dict, sa_column=Column(JSON, nullable=False))
    saved_at: datetime = SQLField(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    saved_by: int | None = SQLField(default=None, foreign_key="staff.id")
    # Made known to every employee (劳动合同法 §4, RULES-CITED §4): a saved version is on every staff
    # member's "My page" → rules from the moment it is saved, so it is published then. The monthly
    # evaluation of a month uses only versions published before that month began (rules_for_month).
    published_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime, nullable=True))
    # How the version was adopted, recorded by an administrator afterwards: the day and a free-text
    # note (a staff meeting, the representatives' assembly, a union consultation). Shown to staff.
    adopted_on: date | None = SQLField(default=None)
    adopted_how: str = SQLField(default="", max_length=200)


# The global row and the branch's row, as plain columns: every rating reads them (models/intake.py).
SCOPE_ROWS = Prepared(
    lambda _dialect: select(Policy.branch_id, Policy.values).where(
        col(Policy.branch_id).is_(None) | (col(Policy.branch_id) == bindparam("branch_id"))
    )
)
# Validated policies by the JSON of the merged values they came from. Validation is most of what
# reading a policy costs and the values change only when an admin saves the rules; keying on the
# values themselves (not a version number) means a changed row can never be answered from here.
_VALIDATED: dict[str, PolicyValues] = {}
_VALIDATED_MAX = 512


def effective_policy(session: Session, branch_id: int | None = None) -> PolicyValues:
    """Defaults, overlaid by the global row, overlaid by the branch's row."""
    conn, dialect = driver_of(session)
    return policy_of_scopes(SCOPE_ROWS.rows(conn, dialect, {"branch_id": branch_id}))


def policy_of_scopes(rows: list[tuple[Any, ...]]) -> PolicyValues:
    """The policy from the scope rows (branch_id, values) of :data:`SCOPE_ROWS`."""
    merged: dict[str, Any] = {}
    for _scope, values in sorted(rows, key=lambda r: r[0] is not None):
        merged.update(values)
    key = json.dumps(merged, sort_keys=True, default=str)
    policy = _VALIDATED.get(key)
    if policy is None:
        policy = PolicyValues.model_validate(merged)
        if len(_VALIDATED) >= _VALIDATED_MAX:
            _VALIDATED.clear()
        _VALIDATED[key] = policy
    return policy


# Validated policies by the stored text of the global and the branch's rows, as the rating intake's
# one query reads them: a tap then neither decodes nor re-encodes the JSON. A saved change is new
# text, so it can never be answered from here.
_BY_TEXT: dict[tuple[str | None, str | None], PolicyValues] = {}


def policy_of_texts(global_text: str | None, branch_text: str | None) -> PolicyValues:
    """The policy from the global and the branch's rows' stored JSON text (None: no such row)."""
    key = (global_text, branch_text)
    policy = _BY_TEXT.get(key)
    if policy is None:
        scopes: list[tuple[int | None, Any]] = []
        if global_text is not None:
            scopes.append((None, json.loads(global_text)))
        if branch_text is not None:
            scopes.append((0, json.loads(branch_text)))
        policy = policy_of_scopes(scopes)
        if len(_BY_TEXT) >= _VALIDATED_MAX:
            _BY_TEXT.clear()
        _BY_TEXT[key] = policy
    return policy


def _scopes_affected(
    session: Session, branch_id: int | None, current: dict[str, Any]
) -> list[dict[str, Any]]:
    rows = session.exec(select(Policy)).all()
    if branch_id is not None:
        base = next((dict(r.values) for r in rows if r.branch_id is None), {})
        return [{**base, **current}]
    return [current, *({**current, **r.values} for r in rows if r.branch_id is not None)]


def _scope_row(session: Session, branch_id: int | None) -> Policy | None:
    column = col(Policy.branch_id)
    return session.exec(
        select(Policy).where(column.is_(None) if branch_id is None else column == branch_id)
    ).first()


def _save_version(
    session: Session,
    *,
    row: Policy | None,
    branch_id: int | None,
    values: dict[str, Any],
    actor_staff_id: int | None,
    at: datetime,
    action: str,
    details: dict[str, Any],
) -> Policy:
    """The one way a scope's rules are written: the row's new values and version, a revision saved
    and published at ``at`` (the staff rules page shows it at once), and an audit entry, committed
    together. :func:`set_policy` and :func:`drop_override` both end here."""
    from models.audit import append

    if row is None:
        row = Policy(branch_id=branch_id, values=values, updated_at=at)
    else:
        row.values, row.version, row.updated_at = values, row.version + 1, at
    session.add(row)
    session.flush()
    assert row.id is not None
    session.add(
        PolicyRevision(
            policy_id=row.id, branch_id=branch_id, version=row.version, values=values,
            saved_by=actor_staff_id, saved_at=at, published_at=at,
        )
    )  # fmt: skip
    append(
        session, action=action, entity="policy", entity_id=row.id, actor_staff_id=actor_staff_id,
        details={"branch": branch_id, **details, "version": row.version}, now=at,
    )  # fmt: skip
    session.commit()
    return row


def set_policy(
    session: Session,
    *,
    values: dict[str, Any],
    branch_id: int | None = None,
    actor_staff_id: int | None = None,
    preset: str | None = None,
    now: datetime | None = None,
) -> PolicyValues:
    """Validate and store a scope's overrides (only the keys given); returns the effective policy.

    Every change is a new version, saved and published at ``now`` (the staff rules page shows it at
    once), and an audit entry naming the settings changed (their names, not their values)."""
    row = _scope_row(session, branch_id)
    current = dict(row.values) if row else {}
    current.update(values)
    # Refuse before anything is written, checking the values as they will be read: a branch's
    # overrides on top of the global row, and a global change under every branch's overrides.
    for merged in _scopes_affected(session, branch_id, current):
        PolicyValues.model_validate(merged)
    _save_version(
        session, row=row, branch_id=branch_id, values=current, actor_staff_id=actor_staff_id,
        at=now or utcnow(), action="policy.update",
        details={"keys": sorted(values), **({"preset": preset} if preset else {})},
    )  # fmt: skip
    return effective_policy(session, branch_id)


def drop_override(
    session: Session,
    *,
    key: str,
    branch_id: int | None = None,
    actor_staff_id: int | None = None,
    now: datetime | None = None,
) -> int | None:
    """Remove one setting from a scope's overrides (a branch falls back to the global value, the
    global rules to the default) as a new version, audited ``policy.reset``; returns the version,
    or None when the scope had no such override (nothing is written then). Validated like
    :func:`set_policy`: the values left must still hold in every scope they reach."""
    row = _scope_row(session, branch_id)
    if row is None or key not in row.values:
        return None
    remaining = {k: v for k, v in row.values.items() if k != key}
    for merged in _scopes_affected(session, branch_id, remaining):
        PolicyValues.model_validate(merged)
    saved = _save_version(
        session, row=row, branch_id=branch_id, values=remaining, actor_staff_id=actor_staff_id,
        at=now or utcnow(), action="policy.reset", details={"keys": [key]},
    )  # fmt: skip
    return saved.version


@dataclass(frozen=True)
class MonthRules:
    """The rules a month's evaluation uses: the versions published before the month began."""

    policy: PolicyValues
    # The version used per scope ("global", "branch"); 0: none was published then (the defaults).
    versions: dict[str, int]


def published_revision(session: Session, *, branch_id: int | None, before: datetime) -> PolicyRevision | None:
    """A scope's latest version published strictly before ``before``."""
    column = col(PolicyRevision.branch_id)
    scope = column.is_(None) if branch_id is None else column == branch_id
    published = col(PolicyRevision.published_at)
    return session.exec(
        select(PolicyRevision)
        .where(scope, published.is_not(None), published < before)
        .order_by(published.desc(), col(PolicyRevision.version).desc())
    ).first()


def rules_for_month(session: Session, *, branch_id: int, month_start: datetime) -> MonthRules:
    """The global and the branch's versions published before ``month_start``, merged as
    :func:`effective_policy` merges the rows: a change saved during a month applies from the next
    month's evaluation on (劳动合同法 §4: rules bind once made known). A scope with no version published
    by then contributes nothing, so the defaults stand for it."""
    glob = published_revision(session, branch_id=None, before=month_start)
    mine = published_revision(session, branch_id=branch_id, before=month_start)
    rows: list[tuple[int | None, dict[str, Any]]] = [(None, glob.values)] if glob else []
    if mine:
        rows.append((branch_id, mine.values))
    return MonthRules(
        policy=policy_of_scopes(rows),
        versions={"global": glob.version if glob else 0, "branch": mine.version if mine else 0},
    )


def record_adoption(
    session: Session,
    *,
    revision_id: int,
    adopted_on: date,
    how: str,
    actor_staff_id: int | None,
    now: datetime | None = None,
) -> PolicyRevision:
    """Record how and when a saved version was adopted (audited; the note is required)."""
    from models.audit import append
    from models.text import clean_text

    row = session.get(PolicyRevision, revision_id)
    if row is None:
        raise ValidationFailed("revision", f"no saved version of the rules has id {revision_id}")
    note = clean_text(how or "", max_chars=10_000, multiline=False)
    if not note:
        raise ValidationFailed("adopted_how", "say how the rules were adopted (for example a staff meeting)")
    if len(note) > 200:
        raise ValidationFailed("adopted_how", f"at most 200 characters, got {len(note)}")
    at = now or utcnow()
    if adopted_on > at.date() + timedelta(days=1):
        raise ValidationFailed("adopted_on", f"{adopted_on.isoformat()} is in the future")
    row.adopted_on, row.adopted_how = adopted_on, note
    session.add(row)
    append(
        session, action="policy.adopted", entity="policy_revision", entity_id=row.id,
        actor_staff_id=actor_staff_id,
        details={"branch": row.branch_id, "version": row.version, "adopted_on": adopted_on.isoformat()},
        now=at,
    )  # fmt: skip
    session.commit()
    return row
