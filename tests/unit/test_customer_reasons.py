"""The customer reasons (assets/conduct/customer_reasons.json): customers' words mapped in the data to
conduct clauses, checked when the catalog loads (models/catalog.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from models.catalog import (
    CUSTOMER_REASONS_PATH,
    CatalogError,
    check_customer_reasons,
    customer_reasons,
    read_catalog_file,
    read_customer_reasons,
)

CLAUSES = read_catalog_file()["clauses"]
RAW: list[dict[str, Any]] = json.loads(CUSTOMER_REASONS_PATH.read_text(encoding="utf-8"))["reasons"]


def with_change(which: str, /, **change: Any) -> list[dict[str, Any]]:
    items = copy.deepcopy(RAW)
    next(i for i in items if i["key"] == which).update(change)
    return items


def test_the_shipped_lists_are_in_customers_words_and_cite_only_fitting_clauses():
    reasons = customer_reasons()
    assert customer_reasons() is reasons  # read once, one tuple shared
    low = [r.label_zh for r in reasons if r.polarity == "negative"]
    high = [r.label_zh for r in reasons if r.polarity == "positive"]
    assert low[:6] == ["等太久了", "态度不好", "没讲清楚", "业务不熟练", "环境不好", "乱收费、推销"]
    assert high[:6] == ["很快", "态度好", "讲得清楚", "很专业", "耐心", "真心为我着想"]
    assert len(low) > 6 and len(high) > 6  # "更多 / More" has something to show
    by_code = {c["code"]: c for c in CLAUSES}
    for r in reasons:
        assert r.label_zh and r.label_en and len(r.label_en) <= 26, r
        assert all(by_code[c]["rateable"] for c in r.clauses)
        assert all(by_code[c]["polarity"] in (r.polarity, "both") for c in r.clauses)
    # No clause title is offered as a customer's word.
    titles = {c["short"]["zh-CN"] for c in CLAUSES} | {c["title"]["zh-CN"] for c in CLAUSES}
    assert not titles & set(low + high)


@pytest.mark.parametrize("polarity", ["negative", "positive"])
def test_every_clause_a_customer_can_rate_is_reachable_in_customers_words(polarity):
    rateable = {c["code"] for c in CLAUSES if c["rateable"] and c["polarity"] in (polarity, "both")}
    mapped = {code for r in customer_reasons() if r.polarity == polarity for code in r.clauses}
    assert mapped == rateable


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"clauses": ["9.9.9"]}, "customer reason slow (等太久了): clause 9.9.9 is not in the conduct"),
        ({"clauses": ["2.2.3", "1.3.4"]}, "customer reason slow (等太久了): clause 1.3.4 is not offered"),
        ({"clauses": []}, "customer reason slow (等太久了): it must map to one or more different clauses"),
        ({"clauses": ["2.2.3", "2.2.3"]}, "customer reason slow (等太久了): it must map to one or more"),
        ({"polarity": "both"}, "customer reason slow (等太久了): polarity must be negative or positive"),
        ({"label": {"zh-CN": "等太久了", "en": " "}}, "customer reason slow (等太久了): it needs a label"),
        ({"key": "rude"}, "customer reason rude (态度不好): its key is missing or used twice"),
    ],
)
def test_a_bad_mapping_is_refused_naming_the_reason(change, says):
    with pytest.raises(CatalogError) as err:
        check_customer_reasons(with_change("slow", **change), CLAUSES)
    assert str(err.value).startswith(says)


def test_a_praise_mapped_to_a_complaint_only_clause_is_refused():
    # 2.1.2 廉洁自律 is a clause only a complaint can cite.
    with pytest.raises(CatalogError, match=r"customer reason quick \(很快\): clause 2.1.2 is negative"):
        check_customer_reasons(with_change("quick", clauses=["2.1.2"]), CLAUSES)


def test_loading_the_catalog_checks_the_mapping_first(tmp_path: Path):
    from sqlmodel import Session, SQLModel, create_engine, select

    from models.catalog import ConductClause, load_catalog

    bad = tmp_path / "customer_reasons.json"
    bad.write_text(json.dumps({"reasons": with_change("patient", clauses=["2.4.1"])}), encoding="utf-8")
    engine = create_engine("sqlite://")
    SQLModel.metadata.create_all(engine, tables=[ConductClause.__table__])  # type: ignore[list-item]
    with Session(engine) as session:
        with pytest.raises(CatalogError, match=r"customer reason patient \(耐心\): clause 2.4.1 is negative"):
            load_catalog(session, reasons_path=bad)
        assert session.exec(select(ConductClause)).all() == []  # nothing written
        assert load_catalog(session) == len(CLAUSES)
    assert read_customer_reasons() == customer_reasons()
