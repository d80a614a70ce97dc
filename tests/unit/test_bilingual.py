"""The bilingual text type and the locale helpers every screen, PDF and model uses (models/bilingual.py)."""

import dataclasses

import pytest

from models.bilingual import (
    EN,
    LIST_SEP,
    SPOKEN_SEP,
    ZH,
    Bilingual,
    is_zh,
    join,
    join_spoken,
    list_sep,
    pick,
)
from rapport.core import i18n
from rapport.core.settings import SUPPORTED_LOCALES


def test_the_two_locales_are_the_supported_ones():
    assert (ZH, EN) == SUPPORTED_LOCALES


def test_only_simplified_chinese_reads_chinese():
    assert is_zh("zh-CN")
    assert not is_zh("en")
    # Anything else (a bad cookie, a locale not offered) reads English rather than failing.
    assert not is_zh("zh-TW")
    assert not is_zh("")


def test_pick_takes_the_side_of_the_locale_whatever_the_type():
    assert pick("zh-CN", "柜台", "Counter") == "柜台"
    assert pick("en", "柜台", "Counter") == "Counter"
    assert pick("en", "柜台", None) is None
    assert pick("zh-CN", ("礼貌",), ("Polite",)) == ("礼貌",)


def test_a_bilingual_text_reads_in_either_locale_and_cannot_change():
    name = Bilingual("总行营业部", "Head office")
    assert name.in_("zh-CN") == "总行营业部"
    assert name.in_("en") == "Head office"
    assert name == Bilingual(zh="总行营业部", en="Head office")
    with pytest.raises(dataclasses.FrozenInstanceError):
        name.zh = "分行"  # type: ignore[misc]


def test_a_written_list_uses_the_enumeration_comma_in_chinese():
    assert LIST_SEP == Bilingual("、", ", ")
    assert list_sep("zh-CN") == "、"
    assert list_sep("en") == ", "
    assert join("zh-CN", ["态度", "效率"]) == "态度、效率"
    assert join("en", ["Manner", "Speed"]) == "Manner, Speed"
    assert join("en", (x for x in ["only"])) == "only"
    assert join("zh-CN", []) == ""


def test_a_spoken_list_pauses_longer_between_items():
    assert SPOKEN_SEP == Bilingual("；", "; ")
    assert join_spoken("zh-CN", ["1 分：2 条", "5 分：7 条"]) == "1 分：2 条；5 分：7 条"
    assert join_spoken("en", ["1: 2", "5: 7"]) == "1: 2; 5: 7"


def test_i18n_offers_the_same_helpers_beside_t():
    assert i18n.pick is pick
    assert i18n.is_zh is is_zh
    assert i18n.join is join
    assert i18n.join_spoken is join_spoken
    assert i18n.Bilingual is Bilingual
    assert i18n.other_locale("zh-CN") == "en"
    assert i18n.other_locale("en") == "zh-CN"
