"""The organisation's code of conduct as data: every rating reason, complaint category, finding and
sanction cites one of these clauses."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from sqlmodel import Field, Session, SQLModel, col, select

import models.base  # noqa: F401  (naming convention first)
from models.bilingual import pick

CATALOG_PATH = Path(__file__).resolve().parent.parent / "assets" / "conduct" / "catalog.json"
# The reasons a customer is offered, in their own words, each mapped to clauses of the catalog.
CUSTOMER_REASONS_PATH = CATALOG_PATH.with_name("customer_reasons.json")
# Which national evaluation indicator (and official 差评 option) each rating reason feeds.
INDICATORS_PATH = CATALOG_PATH.with_name("indicators.json")
POLARITIES = ("negative", "positive")


class ConductClause(SQLModel, table=True):
    __tablename__ = "conduct_clause"

    code: str = Field(primary_key=True, max_length=16)
    section: str = Field(max_length=16, index=True)
    sort_order: int = 0
    title_zh: str = Field(max_length=120)
    title_en: str = Field(max_length=160)
    short_zh: str = Field(max_length=24)
    short_en: str = Field(max_length=40)
    description_zh: str = Field(max_length=400)
    description_en: str = Field(max_length=600)
    rateable: bool = False
    # "negative", "positive" or "both": which rating screens offer it as a reason.
    polarity: str = Field(default="both", max_length=8)
    active: bool = True

    def title(self, locale: str) -> str:
        return pick(locale, self.title_zh, self.title_en)

    def short(self, locale: str) -> str:
        return pick(locale, self.short_zh, self.short_en)


def read_catalog_file(path: Path = CATALOG_PATH) -> dict[str, Any]:
    with path.open(encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


def load_catalog(
    session: Session,
    path: Path = CATALOG_PATH,
    reasons_path: Path = CUSTOMER_REASONS_PATH,
    indicators_path: Path = INDICATORS_PATH,
) -> int:
    """Insert or update every clause from the catalog file; returns how many clauses it holds.

    Clauses an admin has deactivated stay deactivated: the file updates wording, not choices.
    The customer reasons and the indicators of the rating reasons are checked against the file's
    clauses first (CatalogError names the reason or clause whose mapping is wrong), so a bad mapping
    stops the load before anything is written.
    """
    data = read_catalog_file(path)
    read_customer_reasons(reasons_path, data)
    read_reason_indicators(indicators_path, data)
    existing = {c.code: c for c in session.exec(select(ConductClause)).all()}
    for order, item in enumerate(data["clauses"]):
        values = {
            "section": item["section"],
            "sort_order": order,
            "title_zh": item["title"]["zh-CN"],
            "title_en": item["title"]["en"],
            "short_zh": item["short"]["zh-CN"],
            "short_en": item["short"]["en"],
            "description_zh": item["description"]["zh-CN"],
            "description_en": item["description"]["en"],
            "rateable": bool(item.get("rateable", False)),
            "polarity": item.get("polarity", "both"),
        }
        clause = existing.get(item["code"])
        if clause is None:
            session.add(ConductClause(code=item["code"], **values))
        else:
            for key, value in values.items():
                setattr(clause, key, value)
            session.add(clause)
    session.commit()
    return len(data["clauses"])


def rateable_clauses(session: Session, *, polarity: str | None = None) -> list[ConductClause]:
    """Clauses offered as reasons on the rating screens, in catalog order."""
    stmt = select(ConductClause).where(ConductClause.rateable, ConductClause.active)
    clauses = session.exec(stmt.order_by(col(ConductClause.sort_order))).all()
    if polarity is None:
        return list(clauses)
    return [c for c in clauses if c.polarity in (polarity, "both")]


class CatalogError(ValueError):
    """The catalog's data is inconsistent (a customer reason mapped to a clause that cannot carry it)."""


@dataclass(frozen=True)
class CustomerReason:
    """A reason as customers say it (等太久了, "Waited too long"), offered after a rating of its
    polarity, and the conduct clauses it stands for: a rating stores those clauses, never the
    words. The first clause is the main one (a formal complaint filed under it takes it as its
    category)."""

    key: str
    polarity: str  # "negative" (after a low score) or "positive" (after a high one)
    label_zh: str
    label_en: str
    clauses: tuple[str, ...]

    def label(self, locale: str) -> str:
        return pick(locale, self.label_zh, self.label_en)


def check_customer_reasons(
    items: Iterable[Mapping[str, Any]], clauses: Iterable[Mapping[str, Any]]
) -> tuple[CustomerReason, ...]:
    """The customer reasons of the data, checked against the catalog's clauses (as in the file):
    every mapped code exists, is offered on the rating screens (rateable) and fits the reason's
    polarity (a clause of "both" fits either). Raises CatalogError naming the reason otherwise."""
    by_code = {str(c["code"]): c for c in clauses}
    found: list[CustomerReason] = []
    keys: set[str] = set()
    for item in items:
        key = str(item.get("key") or "")
        label = item.get("label") or {}
        name = f"customer reason {key or '?'} ({label.get('zh-CN') or label.get('en') or 'no label'})"
        if not key or key in keys:
            raise CatalogError(f"{name}: its key is missing or used twice")
        keys.add(key)
        polarity = item.get("polarity")
        if polarity not in POLARITIES:
            raise CatalogError(f"{name}: polarity must be negative or positive, not {polarity!r}")
        if not str(label.get("zh-CN") or "").strip() or not str(label.get("en") or "").strip():
            raise CatalogError(f"{name}: it needs a label in zh-CN and in en")
        codes = [str(c) for c in item.get("clauses") or []]
        if not codes or len(set(codes)) != len(codes):
            raise CatalogError(f"{name}: it must map to one or more different clauses")
        for code in codes:
            clause = by_code.get(code)
            if clause is None:
                raise CatalogError(f"{name}: clause {code} is not in the conduct catalog")
            if not clause.get("rateable", False):
                raise CatalogError(f"{name}: clause {code} is not offered on the rating screens (rateable)")
            if clause.get("polarity", "both") not in (polarity, "both"):
                raise CatalogError(
                    f"{name}: clause {code} is {clause.get('polarity')}, the reason is {polarity}"
                )
        found.append(
            CustomerReason(key, polarity, str(label["zh-CN"]).strip(), str(label["en"]).strip(), tuple(codes))
        )
    return tuple(found)


def read_customer_reasons(
    path: Path = CUSTOMER_REASONS_PATH, catalog: Mapping[str, Any] | None = None
) -> tuple[CustomerReason, ...]:
    """The customer reasons file, checked against the catalog (the catalog file if none is given)."""
    with path.open(encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    clauses = (catalog if catalog is not None else read_catalog_file())["clauses"]
    return check_customer_reasons(data["reasons"], clauses)


@cache
def customer_reasons() -> tuple[CustomerReason, ...]:
    """The shipped customer reasons, read and checked once per process (one shared tuple)."""
    return read_customer_reasons()


# -- the national evaluation indicators each rating reason feeds (docs/RULES-CITED.md §1) ----------


@dataclass(frozen=True)
class Indicator:
    """One of the four evaluation indicators of the 好差评 rules, as the platform names it (zh-CN)."""

    key: str
    name_zh: str
    name_en: str

    def name(self, locale: str) -> str:
        return pick(locale, self.name_zh, self.name_en)


OVERALL = Indicator("overall", "整体满意度", "Overall satisfaction")
INDICATORS: tuple[Indicator, ...] = (
    OVERALL,
    Indicator("efficiency", "服务效率", "Efficiency"),
    Indicator("competence", "服务水平", "Competence"),
    Indicator("attitude", "服务态度", "Attitude"),
)
INDICATOR_BY_KEY = {i.key: i for i in INDICATORS}


@dataclass(frozen=True)
class OfficialOption:
    """An official 差评 option of the province's platform (its code and wording), under one indicator."""

    code: str
    indicator: str  # an Indicator key
    name_zh: str
    name_en: str

    def name(self, locale: str) -> str:
        return pick(locale, self.name_zh, self.name_en)


@dataclass(frozen=True)
class ReasonIndicator:
    """What a rating reason (a clause) is in the official vocabulary: its indicator, and the official
    差评 option it corresponds to when the deployment's list has one (else None)."""

    indicator: Indicator
    option: OfficialOption | None = None


FALLBACK = ReasonIndicator(OVERALL)
OPTION_CODE_MAX = 32


def check_reason_indicators(
    data: Mapping[str, Any], clauses: Iterable[Mapping[str, Any]]
) -> dict[str, ReasonIndicator]:
    """The indicators file's mapping (as in assets/conduct/indicators.json), checked against the
    catalog's clauses: every rateable clause is listed exactly once with a known indicator, a listed
    clause exists and is rateable, an option named exists and is under the clause's indicator.
    Raises CatalogError naming the clause (or the option) otherwise."""
    by_code = {str(c["code"]): c for c in clauses}
    options: dict[str, OfficialOption] = {}
    for item in data.get("options") or []:
        code = str(item.get("code") or "").strip()
        name = item.get("name") or {}
        what = f"official option {code or '?'}"
        if not code or code in options or len(code) > OPTION_CODE_MAX:
            raise CatalogError(
                f"{what}: its code is missing, used twice or over {OPTION_CODE_MAX} characters"
            )
        if item.get("indicator") not in INDICATOR_BY_KEY:
            raise CatalogError(f"{what}: unknown indicator {item.get('indicator')!r}; {_known()}")
        if not str(name.get("zh-CN") or "").strip() or not str(name.get("en") or "").strip():
            raise CatalogError(f"{what}: it needs its wording in zh-CN and in en")
        options[code] = OfficialOption(code, item["indicator"], str(name["zh-CN"]), str(name["en"]))
    found: dict[str, ReasonIndicator] = {}
    for item in data.get("clauses") or []:
        code = str(item.get("code") or "")
        clause = by_code.get(code)
        what = f"clause {code or '?'}" + (f" ({clause['title']['zh-CN']})" if clause else "")
        if clause is None:
            raise CatalogError(f"{what}: given an indicator but it is not in the conduct catalog")
        if not clause.get("rateable", False):
            raise CatalogError(f"{what}: given an indicator but it is not a rating reason (rateable)")
        if code in found:
            raise CatalogError(f"{what}: given an indicator twice")
        indicator = INDICATOR_BY_KEY.get(str(item.get("indicator") or ""))
        if indicator is None:
            raise CatalogError(f"{what}: unknown indicator {item.get('indicator')!r}; {_known()}")
        option = None
        if item.get("option") is not None:
            option = options.get(str(item["option"]))
            if option is None:
                raise CatalogError(f"{what}: official option {item['option']!r} is not in the file's options")
            if option.indicator != indicator.key:
                raise CatalogError(
                    f"{what}: official option {option.code} is under {option.indicator}, "
                    f"the clause under {indicator.key}"
                )
        found[code] = ReasonIndicator(indicator, option)
    for code, clause in by_code.items():
        if clause.get("rateable", False) and code not in found:
            raise CatalogError(
                f"clause {code} ({clause['title']['zh-CN']}): a rating reason without an indicator; "
                f"add it to {INDICATORS_PATH.name} ({_known()})"
            )
    return found


def _known() -> str:
    return "the indicators are " + ", ".join(f"{i.key} ({i.name_zh})" for i in INDICATORS)


def read_reason_indicators(
    path: Path = INDICATORS_PATH, catalog: Mapping[str, Any] | None = None
) -> dict[str, ReasonIndicator]:
    """The indicators file, checked against the catalog (the catalog file if none is given)."""
    with path.open(encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    clauses = (catalog if catalog is not None else read_catalog_file())["clauses"]
    return check_reason_indicators(data, clauses)


@cache
def reason_indicators() -> dict[str, ReasonIndicator]:
    """The shipped mapping, read and checked once per process."""
    return read_reason_indicators()


def reason_indicator(code: str) -> ReasonIndicator:
    """The indicator (and official option, if any) a rating reason feeds. A clause the file does not
    list (one an administrator added to the database by hand, or an old rating's code no longer in
    the catalog) counts under 整体满意度, with no option."""
    return reason_indicators().get(code, FALLBACK)


def indicator_of(code: str) -> Indicator:
    """The indicator a rating reason (a clause code) feeds; 整体满意度 for one the file does not list."""
    return reason_indicator(code).indicator
