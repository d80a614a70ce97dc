"""Message catalogs (``assets/locales/<locale>.json``) and locale-aware formatting.

Screens never hard-code a user-facing string: they call ``t(locale, key, **values)``.
A key missing from a catalog is a bug caught by tests, not a blank on screen: ``t`` falls back
to the key itself so the gap is visible.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from babel.numbers import format_decimal

from models.bilingual import EN, ZH, Bilingual, is_zh, join, join_spoken, list_sep, pick
from rapport.core.settings import SUPPORTED_LOCALES

# The bilingual helpers live with the models (the bottom layer); screens may take them from here.
__all__ = ["Bilingual", "is_zh", "join", "join_spoken", "list_sep", "pick"]

LOCALES_DIR = Path(__file__).resolve().parents[2] / "assets" / "locales"
DEFAULT_LOCALE = ZH


def catalog_files(locale: str) -> list[Path]:
    """The main catalog ``<locale>.json`` and one per area, ``<area>/<locale>.json`` (a screen group
    keeps its words beside the others without everyone editing one file)."""
    return [LOCALES_DIR / f"{locale}.json", *sorted(LOCALES_DIR.glob(f"*/{locale}.json"))]


@cache
def catalog(locale: str) -> dict[str, str]:
    data: dict[str, str] = {}
    for path in catalog_files(locale):
        with path.open(encoding="utf-8") as f:
            part: dict[str, str] = json.load(f)
        clash = sorted(data.keys() & part.keys())
        if clash:
            raise ValueError(f"{path} repeats catalog keys already defined: {', '.join(clash[:5])}")
        data.update(part)
    return data


def t(locale: str, key: str, **values: object) -> str:
    if locale not in SUPPORTED_LOCALES:
        locale = DEFAULT_LOCALE
    text = catalog(locale).get(key, key)
    return text.format(**values) if values else text


def other_locale(locale: str) -> str:
    return pick(locale, EN, ZH)


def _babel_locale(locale: str) -> str:
    return locale.replace("-", "_")


def fmt_number(locale: str, value: float, digits: int = 1) -> str:
    return format_decimal(round(value, digits), locale=_babel_locale(locale))


def fmt_datetime(locale: str, value: datetime, tz: str = "Asia/Shanghai") -> str:
    """Date and time to the minute in the branch's time zone (2026年11月30日 08:05 / Nov 30, 2026 8:05 AM)."""
    local = value.astimezone(ZoneInfo(tz))
    code = _babel_locale(locale)
    text = f"{format_date(local, 'medium', locale=code)} {format_time(local, 'short', locale=code)}"
    # CLDR puts a narrow no-break space before AM/PM; the bundled font has no glyph for it.
    return text.replace("\u202f", " ")


def fmt_due(locale: str, value: datetime, tz: str = "Asia/Shanghai") -> str:
    """A due time as a promise reads it: one that falls exactly at midnight is the end of the day
    before, written 24:00 on that day (2026年10月8日 24:00 / Oct 8, 2026, 24:00), as the rules count
    a period "ending at 24:00"; any other time as :func:`fmt_datetime`."""
    local = value.astimezone(ZoneInfo(tz))
    if (local.hour, local.minute) != (0, 0):
        return fmt_datetime(locale, value, tz)
    day = format_date(local - timedelta(days=1), "medium", locale=_babel_locale(locale))
    return pick(locale, f"{day} 24:00", f"{day}, 24:00")
