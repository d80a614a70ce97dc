"""The evaluation indicator each rating reason feeds (assets/conduct/indicators.json, models/catalog.py):
every rateable clause names one of the four indicators of the 好差评 rules (docs/RULES-CITED.md §1),
checked when the catalog loads; a clause the file does not list counts under 整体满意度."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, SQLModel, create_engine, select

from models.catalog import (
    INDICATORS,
    INDICATORS_PATH,
    CatalogError,
    ConductClause,
    check_reason_indicators,
    customer_reasons,
    indicator_of,
    load_catalog,
    read_catalog_file,
    reason_indicator,
    reason_indicators,
)

CATALOG = read_catalog_file()
CLAUSES = CATALOG["clauses"]
RAW: dict[str, Any] = json.loads(INDICATORS_PATH.read_text(encoding="utf-8"))


def changed(code: str, /, **change: Any) -> dict[str, Any]:
    data = copy.deepcopy(RAW)
    next(c for c in data["clauses"] if c["code"] == code).update(change)
    return data


def test_the_four_indicators_of_the_rules_in_both_languages():
    assert [(i.name_zh, i.name_en) for i in INDICATORS] == [
        ("整体满意度", "Overall satisfaction"), ("服务效率", "Efficiency"), ("服务水平", "Competence"),
        ("服务态度", "Attitude"),
    ]  # fmt: skip
    assert INDICATORS[3].name("zh-CN") == "服务态度" and INDICATORS[3].name("en") == "Attitude"


def test_every_rating_reason_names_its_indicator():
    mapping = reason_indicators()
    assert reason_indicators() is mapping  # read once per process
    assert set(mapping) == {c["code"] for c in CLAUSES if c["rateable"]}
    # What customers say lands where a reader of the rules expects it.
    by_word = {r.label_zh: {indicator_of(c).name_zh for c in r.clauses} for r in customer_reasons()}
    assert by_word["等太久了"] == {"服务效率"}
    assert by_word["态度不好"] == {"服务态度"}
    assert by_word["不耐烦"] == {"服务态度"}
    assert by_word["业务不熟练"] == {"服务水平"}
    assert by_word["没讲清楚"] == {"服务水平", "服务效率"}  # 2.3.1 表达 and 2.3.4 反馈
    assert by_word["环境不好"] == {"整体满意度"}
    # No official option wording ships (the rules cited list none).
    assert all(m.option is None for m in mapping.values())


def test_a_clause_the_file_does_not_list_counts_under_overall_satisfaction():
    # e.g. a clause an administrator added to the database by hand, or an old rating's code
    assert indicator_of("9.9.9").name_zh == "整体满意度"
    assert reason_indicator("9.9.9").option is None


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (
            changed("2.2.1", indicator="friendliness"),
            "clause 2.2.1 (热情礼貌): unknown indicator 'friendliness'",
        ),
        (changed("2.2.1", indicator=None), "clause 2.2.1 (热情礼貌): unknown indicator None"),
        (changed("2.2.1", code="9.9.9"), "clause 9.9.9: given an indicator but it is not in the conduct"),
        (
            changed("2.2.1", code="1.3.4"),
            "clause 1.3.4 (团队协作): given an indicator but it is not a rating",
        ),
        (changed("2.2.1", code="2.2.2"), "clause 2.2.2 (耐心细致): given an indicator twice"),
        (changed("2.2.1", option="X1"), "clause 2.2.1 (热情礼貌): official option 'X1' is not in the file's"),
    ],
)
def test_a_bad_mapping_is_refused_naming_the_clause(data, says):
    with pytest.raises(CatalogError) as err:
        check_reason_indicators(data, CLAUSES)
    assert str(err.value).startswith(says), err.value


def test_a_rating_reason_without_an_indicator_is_refused_naming_it():
    data = copy.deepcopy(RAW)
    data["clauses"] = [c for c in data["clauses"] if c["code"] != "2.3.3"]
    with pytest.raises(
        CatalogError, match=r"^clause 2\.3\.3 \(倾听技巧\): a rating reason without an indicator"
    ):
        check_reason_indicators(data, CLAUSES)
    # A clause newly made rateable in the catalog must be mapped too.
    clauses = copy.deepcopy(CLAUSES)
    next(c for c in clauses if c["code"] == "1.3.4")["rateable"] = True
    with pytest.raises(CatalogError, match=r"^clause 1\.3\.4 \(团队协作\): a rating reason without"):
        check_reason_indicators(RAW, clauses)


def test_official_options_are_checked_and_carried():
    option = {
        "code": "EFF-01",
        "indicator": "efficiency",
        "name": {"zh-CN": "办理时间过长", "en": "Too slow"},
    }
    data = {**changed("2.2.3", option="EFF-01"), "options": [option]}
    mapped = check_reason_indicators(data, CLAUSES)
    assert mapped["2.2.3"].option is not None and mapped["2.2.3"].option.name("zh-CN") == "办理时间过长"
    assert mapped["2.2.3"].indicator.key == "efficiency" and mapped["2.2.1"].option is None
    wrong_indicator = {**changed("2.2.1", option="EFF-01"), "options": [option]}
    with pytest.raises(
        CatalogError, match=r"clause 2\.2\.1 \(热情礼貌\): official option EFF-01 is under efficiency"
    ):
        check_reason_indicators(wrong_indicator, CLAUSES)
    for bad, says in (
        ({**option, "indicator": "speed"}, "official option EFF-01: unknown indicator 'speed'"),
        ({**option, "name": {"zh-CN": "办理时间过长"}}, "official option EFF-01: it needs its wording"),
        ({**option, "code": ""}, "official option ?: its code is missing"),
    ):
        with pytest.raises(CatalogError, match="^" + re.escape(says)):
            check_reason_indicators({**RAW, "options": [bad]}, CLAUSES)
    with pytest.raises(CatalogError, match="official option EFF-01: its code is missing, used twice"):
        check_reason_indicators({**RAW, "options": [option, option]}, CLAUSES)


def test_loading_the_catalog_checks_the_indicators_first(tmp_path: Path):
    bad = tmp_path / "indicators.json"
    bad.write_text(json.dumps(changed("2.2.3", indicator="speed")), encoding="utf-8")
    engine = create_engine("sqlite://")
    SQLModel.metadata.create_all(engine, tables=[ConductClause.__table__])  # type: ignore[list-item]
    with Session(engine) as session:
        with pytest.raises(CatalogError, match=r"clause 2\.2\.3 \(积极主动\): unknown indicator 'speed'"):
            load_catalog(session, indicators_path=bad)
        assert session.exec(select(ConductClause)).all() == []  # nothing written
        assert load_catalog(session) == len(CLAUSES)
