"""A setting of the rules as an administrator types it and reads it back: what kind of value each
setting holds, typed text parsed into that value (full-width digits and Chinese punctuation read as
their ASCII twins), and a value written back as text. Used by the rules bridge (admin/rules.py),
which validates the parsed values against every scope before anything is written."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any, Literal, get_args, get_origin

from pydantic.fields import FieldInfo
from sqlmodel import Session, select

from models.catalog import ConductClause
from models.errors import ValidationFailed
from models.text import clean_text

# Lists and strings whose format the name alone does not tell.
FORMATS = {
    "business_days": "weekdays", "holidays": "dates", "high_severity_clauses": "clauses",
    "remedies_zh": "prose", "remedies_en": "prose",
}  # fmt: skip
UNITS = {
    "burst_max_presses": "presses",
    "qr_max_presses_per_hour": "presses",
    "status_lookups_per_minute": "lookups",
    "burst_alert_min_ratings": "ratings",
    "score_prior_weight": "ratings",
    "min_ratings_ranked": "ratings",
    "service_star_min_score": "points",
    "commendation_min_score": "points",
    "default_rating_score": "points",
    "reward_min_above_mean": "points",
    "complaints_for_penalty": "complaints",
    "dismissal_after_penalties": "penalties",
}
SUFFIX_UNITS = (
    ("_seconds", "seconds"),
    ("_minutes", "minutes"),
    ("_hours", "hours"),
    ("_days", "days"),
    ("_months", "months"),
    ("_yuan", "yuan"),
)
PROSE_MAX_CHARS = 1000
TRUE = {"true", "1", "yes", "on", "是", "开"}
FALSE = {"false", "0", "no", "off", "否", "关"}
_INT = re.compile(r"[+-]?(\d+|\d{1,3}(,\d{3})+)")
_FLOAT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_TIME = re.compile(r"(\d{1,2}):(\d{2})")
DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}")
_SEPARATORS = re.compile(r"[,;、\s]+")


class RuleInvalid(ValidationFailed):
    """A refused rule change. ``reason`` is a stable word the screen turns into a sentence (range,
    integer, number, bool, time, choice, weekday, date, clause, too_few, too_many, hours_order, sla_order,
    breaks_branch, with_defaults, global_only, unknown, invalid); ``values`` fills in its blanks."""

    def __init__(self, field: str, reason: str, message: str, **values: str):
        super().__init__(field, f"{field}: {message}")
        self.reason = reason
        self.values = values


def kind_of(key: str, info: FieldInfo) -> str:
    if key in FORMATS:
        return FORMATS[key]
    ann = info.annotation
    if ann is bool or ann is int or ann is float:
        return ann.__name__
    if get_origin(ann) is Literal:
        return "choice"
    if ann is str:
        return "time" if key.endswith("_time") else "text"
    if get_origin(ann) is list:
        return "int_list" if get_args(ann) == (int,) else "text_list"
    return "text"


def choices_of(info: FieldInfo) -> tuple[str, ...]:
    return tuple(str(c) for c in get_args(info.annotation)) if get_origin(info.annotation) is Literal else ()


def text_of(value: Any) -> str:
    """A value as the form shows it (and as :func:`save_rules` reads it back)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def _items(text: str) -> list[str]:
    return [item for item in _SEPARATORS.split(text) if item]


def _int(key: str, text: str) -> int:
    if not _INT.fullmatch(text):
        raise RuleInvalid(key, "integer", f"{text!r} is not a whole number", text=text)
    return int(text.replace(",", ""))


def parse_value(session: Session, key: str, text: str, info: FieldInfo) -> Any:
    """Typed text -> the setting's value. Full-width digits and punctuation (as a Chinese keyboard
    types them) are read as their ASCII twins; lists are comma-separated. Raises :class:`RuleInvalid`."""
    kind = kind_of(key, info)
    if kind == "prose":  # sentences for customers: kept as typed, Chinese punctuation included
        return clean_text(text, max_chars=PROSE_MAX_CHARS)
    text = unicodedata.normalize("NFKC", text).strip()
    if kind == "bool":
        if text.lower() not in TRUE | FALSE:
            raise RuleInvalid(key, "bool", f"{text!r} is neither on nor off")
        return text.lower() in TRUE
    if kind == "int":
        return _int(key, text)
    if kind == "choice":
        choices = choices_of(info)
        if text not in choices:
            raise RuleInvalid(key, "choice", f"{text!r} is not one of {', '.join(choices)}", text=text)
        return text
    if kind == "float":
        if not _FLOAT.fullmatch(text):
            raise RuleInvalid(key, "number", f"{text!r} is not a number", text=text)
        return float(text)
    if kind == "time":
        found = _TIME.fullmatch(text)
        if not found or int(found.group(1)) > 23 or int(found.group(2)) > 59:
            raise RuleInvalid(key, "time", f"{text!r} is not a time of day written HH:MM", text=text)
        return f"{int(found.group(1)):02d}:{found.group(2)}"
    if kind in ("weekdays", "int_list"):
        days = [_int(key, item) for item in _items(text)]
        bad = next((d for d in days if kind == "weekdays" and not 1 <= d <= 7), None)
        if bad is not None:
            raise RuleInvalid(key, "weekday", f"{bad} is not a weekday from 1 (Monday) to 7", text=str(bad))
        return days
    if kind == "dates":
        dates = _items(text)
        for item in dates:
            try:
                ok = bool(DATE_TEXT.fullmatch(item)) and date.fromisoformat(item) is not None
            except ValueError:
                ok = False
            if not ok:
                raise RuleInvalid(key, "date", f"{item!r} is not a date written YYYY-MM-DD", text=item)
        return dates
    if kind == "clauses":
        codes = _items(text)
        known = set(session.exec(select(ConductClause.code).where(ConductClause.active)).all())
        bad_code = next((c for c in codes if c not in known), None)
        if bad_code is not None:
            raise RuleInvalid(key, "clause", f"{bad_code!r} is not a clause of the catalog", text=bad_code)
        return codes
    return _items(text) if kind == "text_list" else text


def unit_of(key: str) -> str:
    if key in UNITS:
        return UNITS[key]
    if key.startswith("sla_hours_"):
        return "hours"
    return next((unit for suffix, unit in SUFFIX_UNITS if key.endswith(suffix)), "")
