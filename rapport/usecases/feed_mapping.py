"""The provincial 好差评 feed's field mapping: what one rating becomes on the wire, in one place.

Rapport posts each counted rating to the platform as one JSON object (``Content-Type:
application/json``; ``Authorization: Bearer <RAPPORT_FEED_TOKEN>`` when a token is set). This module
is the whole of what the platform sees: :func:`to_record` builds the object from a rating's facts
(:class:`RatingFacts`, read by ``rapport/usecases/feed.py``) and the deployment's codes
(:class:`FeedSource`, from the settings), and :data:`FIELDS` documents every field, which
:func:`validate_record` checks (the local receiver, ``rapport feed receiver``, answers 400 naming the
first bad field).

This is the reference mapping, version :data:`MAPPING_VERSION`; its field names and codes follow the
public example of a provincial interface in docs/RULES (办件编号, 事项编码/版本, 实施部门, 行政区划,
评价人类型, the evaluated staff member, level, 差评 reasons, text, channel, version). A province whose
interface names or codes things differently gets **a new mapping**: a module beside this one with
its own ``to_record``, ``FIELDS`` and ``MAPPING_VERSION`` (copy this one and change what differs),
chosen in ``rapport/usecases/feed.py``; the outbox, the worker and the retries stay as they are.

=============  ========  =============================================================================
field          type      meaning
=============  ========  =============================================================================
recordId       string    the record's id (a UUID): the same on every attempt; the platform dedupes by it
projNo         string    办件编号, the number of the transaction rated (models/services.py, reported by
                         POST /api/v1/services); empty for walk-up feedback, which rates no transaction
taskCode       string    事项编码, the transaction's service's code (empty likewise)
taskName       string    事项名称, its zh-CN name (empty likewise)
taskVersion    string    事项版本, its version (empty likewise)
deptCode       string    实施部门编码: RAPPORT_FEED_DEPARTMENT_CODE
deptName       string    实施部门名称: RAPPORT_FEED_DEPARTMENT_NAME (may be empty)
areaCode       string    行政区划代码, 6 or 12 digits: RAPPORT_FEED_REGION_CODE
raterType      string    评价人类型: "1" 自然人 (a customer at a counter or on a phone is a person, and
                         anonymous: Rapport keeps nobody's identity); "2" 法人 is never sent here
staffLogin     string    the evaluated staff member's login name (their sign-in name, else their
                         employee number); empty for counter-level feedback (nobody on duty)
staffName      string    their name as staff see it; empty likewise
level          integer   评价等级: 5 非常满意, 4 满意, 3 基本满意, 2 不满意, 1 非常不满意 (the score 1–5)
levelName      string    the level's name, as above
badReasons     array     for a 差评 (level 1 or 2): the reasons the customer chose, each
                         {"code": conduct clause code, "name": its zh-CN title, "indicator": the
                         evaluation indicator it feeds, one of 整体满意度, 服务效率, 服务水平, 服务态度
                         (assets/conduct/indicators.json; a clause not listed there: 整体满意度),
                         "option": the official 差评 option's code, "optionName": its wording (both
                         empty when the deployment's list names none: none ship, docs/INDICATORS.md)};
                         empty otherwise
text           string    the customer's comment, at most 500 characters, phone numbers and e-mail
                         addresses masked (***)
channel        string    评价渠道: "4" a counter's tablet or an integration (the kiosk channel),
                         "3" a phone through a staff badge's QR code, "6" the hotline (by telephone)
ratedAt        string    when the rating was given, ISO 8601 with the head office's offset (+08:00)
isDefault      boolean   true: the policy's default rating of a transaction nobody rated (默认评价,
                         models/default_rating.py; sent only when the policy counts it), false: a
                         customer's
version        string    this mapping's version, ``rapport-hcp/3`` (``/2`` had no isDefault, ``/1``
                         sent reasons without indicator and option)
=============  ========  =============================================================================

Fields are all present on every record (no field is left out because it is empty) and no other
field is sent.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from models.catalog import INDICATORS, reason_indicator
from models.clock import HEAD_OFFICE_TZ, branch_zone
from models.text import mask_contacts

MAPPING_VERSION = "rapport-hcp/3"
TEXT_MAX_CHARS = 500

# The score (1–5) → the official five levels (RULES §1): the code sent and its name.
LEVELS: dict[int, str] = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
BAD_LEVELS = frozenset({1, 2})  # 不满意 and 非常不满意 are 差评
# Rapport's channel → the platform's 评价渠道 code.
CHANNELS: dict[str, str] = {"kiosk": "4", "qr": "3", "hotline": "6"}
RATER_PERSON = "1"  # 自然人
RATER_TYPES = frozenset({"1", "2"})
# The four evaluation indicators as the platform names them (docs/RULES-CITED.md §1).
INDICATOR_NAMES = frozenset(i.name_zh for i in INDICATORS)
REASON_KEYS = ("code", "name", "indicator", "option", "optionName")


@dataclass(frozen=True)
class FeedSource:
    """The deployment's codes (RAPPORT_FEED_REGION_CODE, _DEPARTMENT_CODE, _DEPARTMENT_NAME)."""

    region_code: str
    department_code: str
    department_name: str = ""


@dataclass(frozen=True)
class Reason:
    code: str  # the conduct clause's code
    name: str  # its zh-CN title


@dataclass(frozen=True)
class RatingFacts:
    """What the mapping needs of one rating, read from the database by the worker."""

    record_id: uuid.UUID
    score: int
    channel: str
    created_at: datetime
    reasons: tuple[Reason, ...] = ()
    comment: str = ""
    staff_login: str = ""
    staff_name: str = ""
    # The transaction (办件) rated and its service (事项); empty for walk-up feedback.
    transaction_no: str = ""
    service_code: str = ""
    service_name: str = ""
    service_version: str = ""
    is_default: bool = False  # the policy's default rating, not a customer's


def level_of(score: int) -> tuple[int, str]:
    """The official level (code and name) of a 1–5 score."""
    if score not in LEVELS:
        raise ValueError(f"a score is 1 to 5, not {score!r}")
    return score, LEVELS[score]


def bad_reason(reason: Reason) -> dict[str, str]:
    """One chosen 差评 reason in the official vocabulary: the clause, its indicator and its official
    option (models/catalog.py ``reason_indicator``)."""
    official = reason_indicator(reason.code)
    option = official.option
    return {
        "code": reason.code, "name": reason.name, "indicator": official.indicator.name_zh,
        "option": option.code if option else "", "optionName": option.name_zh if option else "",
    }  # fmt: skip


def to_record(facts: RatingFacts, source: FeedSource) -> dict[str, Any]:
    """The JSON object posted for one rating (every field of :data:`FIELDS`, in that order)."""
    level, level_name = level_of(facts.score)
    bad = level in BAD_LEVELS
    return {
        "recordId": str(facts.record_id),
        "projNo": facts.transaction_no,
        "taskCode": facts.service_code,
        "taskName": facts.service_name,
        "taskVersion": facts.service_version,
        "deptCode": source.department_code,
        "deptName": source.department_name,
        "areaCode": source.region_code,
        "raterType": RATER_PERSON,
        "staffLogin": facts.staff_login,
        "staffName": facts.staff_name,
        "level": level,
        "levelName": level_name,
        "badReasons": [bad_reason(r) for r in facts.reasons] if bad else [],
        "text": mask_contacts(facts.comment)[:TEXT_MAX_CHARS],
        "channel": CHANNELS[facts.channel],
        "ratedAt": facts.created_at.astimezone(branch_zone(HEAD_OFFICE_TZ)).isoformat(timespec="seconds"),
        "isDefault": facts.is_default,
        "version": MAPPING_VERSION,
    }


# -- the documented fields, checked -------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    name: str
    check: Callable[[Any], str | None]  # None when the value is right, else what is wrong


def _text(max_chars: int, *, required: bool = False) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        if not isinstance(v, str):
            return "must be a string"
        if required and not v.strip():
            return "must not be empty"
        if len(v) > max_chars:
            return f"must be at most {max_chars} characters"
        return None

    return check


def _uuid(v: Any) -> str | None:
    try:
        uuid.UUID(v)
    except (TypeError, ValueError, AttributeError):
        return "must be a UUID"
    return None


def _one_of(values: frozenset[str]) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        return None if v in values else f"must be one of {', '.join(sorted(values))}"

    return check


def _area(v: Any) -> str | None:
    ok = isinstance(v, str) and v.isascii() and v.isdigit() and len(v) in (6, 12)
    return None if ok else "must be a 6- or 12-digit 行政区划代码"


def _level(v: Any) -> str | None:
    ok = isinstance(v, int) and not isinstance(v, bool) and v in LEVELS
    return None if ok else "must be a whole number from 1 to 5"


def _reasons(v: Any) -> str | None:
    if not isinstance(v, list):
        return "must be a list"
    for item in v:
        if not isinstance(item, dict) or set(item) != set(REASON_KEYS):
            return 'each reason must be {"code", "name", "indicator", "option", "optionName"}'
        if _text(16, required=True)(item["code"]) or _text(120, required=True)(item["name"]):
            return "each reason needs a code (at most 16 characters) and a name (at most 120)"
        if item["indicator"] not in INDICATOR_NAMES:
            return f"each reason's indicator must be one of {', '.join(sorted(INDICATOR_NAMES))}"
        if _text(32)(item["option"]) or _text(120)(item["optionName"]):
            return "a reason's option is at most 32 characters and its optionName at most 120"
        if bool(item["option"].strip()) != bool(item["optionName"].strip()):
            return "a reason's option and optionName are both given or both empty"
    return None


_OFFSET = re.compile(r".*([+-]\d\d:\d\d|Z)$")


def _boolean(v: Any) -> str | None:
    return None if isinstance(v, bool) else "must be true or false"


def _instant(v: Any) -> str | None:
    try:
        datetime.fromisoformat(v)
    except (TypeError, ValueError):
        return "must be an ISO 8601 time with its offset"
    return None if _OFFSET.match(v) else "must be an ISO 8601 time with its offset"


FIELDS: tuple[Field, ...] = (
    Field("recordId", _uuid),
    Field("projNo", _text(64)),
    Field("taskCode", _text(64)),
    Field("taskName", _text(200)),
    Field("taskVersion", _text(32)),
    Field("deptCode", _text(64, required=True)),
    Field("deptName", _text(200)),
    Field("areaCode", _area),
    Field("raterType", _one_of(RATER_TYPES)),
    Field("staffLogin", _text(64)),
    Field("staffName", _text(80)),
    Field("level", _level),
    Field("levelName", _one_of(frozenset(LEVELS.values()))),
    Field("badReasons", _reasons),
    Field("text", _text(TEXT_MAX_CHARS)),
    Field("channel", _one_of(frozenset(CHANNELS.values()))),
    Field("ratedAt", _instant),
    Field("isDefault", _boolean),
    Field("version", _text(32, required=True)),
)
FIELD_NAMES = tuple(f.name for f in FIELDS)


@dataclass(frozen=True)
class Problem:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def validate_record(record: Any) -> Problem | None:
    """The first thing wrong with a posted record, naming its field; None when it is right."""
    if not isinstance(record, dict):
        return Problem("record", "must be a JSON object")
    for f in FIELDS:
        if f.name not in record:
            return Problem(f.name, "is missing")
        wrong = f.check(record[f.name])
        if wrong:
            return Problem(f.name, wrong)
    extra = [k for k in record if k not in FIELD_NAMES]
    if extra:
        return Problem(str(extra[0]), "is not a field of this interface")
    if LEVELS[record["level"]] != record["levelName"]:
        return Problem("levelName", f"must be {LEVELS[record['level']]} for level {record['level']}")
    if record["isDefault"] and (record["badReasons"] or record["text"]):
        return Problem("isDefault", "a default rating has no reasons and no text: no customer gave it")
    if record["badReasons"] and record["level"] not in BAD_LEVELS:
        return Problem("badReasons", "must be empty unless the level is 不满意 or 非常不满意")
    return None


__all__ = [
    "BAD_LEVELS",
    "CHANNELS",
    "FIELDS",
    "FIELD_NAMES",
    "LEVELS",
    "MAPPING_VERSION",
    "INDICATOR_NAMES",
    "FeedSource",
    "Problem",
    "RatingFacts",
    "Reason",
    "bad_reason",
    "level_of",
    "to_record",
    "validate_record",
]
