"""Rapport speaks zh-CN and en: a text in both languages, and the few choices that hang on which.

Every name a person reads (a branch, a counter, a clause) is stored in both languages; a screen,
PDF or message picks one by its locale. Ask :func:`is_zh` or :func:`pick` instead of comparing a
locale to ``"zh-CN"`` by hand, and join a list with :func:`join` (、 / ", ") or, for what a screen
reader speaks, :func:`join_spoken` (； / "; "). This module is the bottom of the stack (models), so
the models, rapport's use cases and both apps share it; ``rapport/core/i18n.py`` re-exports it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

ZH = "zh-CN"
EN = "en"

T = TypeVar("T")


def is_zh(locale: str) -> bool:
    """Whether a screen in this locale reads Chinese (anything else reads English)."""
    return locale == ZH


def pick(locale: str, zh: T, en: T) -> T:
    """The Chinese or the English of a pair, by the locale: ``pick(locale, row.name_zh, row.name_en)``."""
    return zh if is_zh(locale) else en


@dataclass(frozen=True, slots=True)
class Bilingual:
    """A text in both languages: ``Bilingual("总行", "Head office").in_(locale)``."""

    zh: str
    en: str

    def in_(self, locale: str) -> str:
        return pick(locale, self.zh, self.en)


# Items of a written list (营业厅、柜台 / branch, counter), and of a list read aloud, where the longer
# pause keeps each item apart (差评 3 条；好评 5 条 / 3 poor; 5 good).
LIST_SEP = Bilingual("、", ", ")
SPOKEN_SEP = Bilingual("；", "; ")


def list_sep(locale: str) -> str:
    return LIST_SEP.in_(locale)


def join(locale: str, items: Iterable[str]) -> str:
    """A written list: ``a、b`` in Chinese, ``a, b`` in English."""
    return list_sep(locale).join(items)


def join_spoken(locale: str, items: Iterable[str]) -> str:
    """A list a screen reader speaks as one label: ``a；b`` in Chinese, ``a; b`` in English."""
    return SPOKEN_SEP.in_(locale).join(items)
