"""The names of the rules' settings and of their choices, in the user's language: shared by the
rules editor and the presets card (admin/screens/calendar.py), so a setting reads the same in both."""

from __future__ import annotations

from rapport.core.i18n import t


def label(locale: str, key: str) -> str:
    """A setting's name; one the catalog does not know yet shows its key rather than nothing."""
    text = t(locale, f"rules.field.{key}")
    return key if text == f"rules.field.{key}" else text


def choice_label(locale: str, key: str, value: str) -> str:
    """A choice's words ("按工作日计算"); a value the catalog does not know shows as it is."""
    text = t(locale, f"rules.choice.{key}.{value}")
    return value if text == f"rules.choice.{key}.{value}" else text
