"""The organisation's code of conduct as data: every rating reason, complaint category, finding and
sanction cites one of these clauses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlmodel import Field, Session, SQLModel, col, select

import models.base  # noqa: F401  (naming convention first)
from models.bilingual import pick

CATALOG_PATH = Path(__file__).resolve().parent.parent / "assets" / "conduct" / "catalog.json"


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


def load_catalog(session: Session, path: Path = CATALOG_PATH) -> int:
    """Insert or update every clause from the catalog file; returns how many clauses it holds.

    Clauses an admin has deactivated stay deactivated: the file updates wording, not choices.
    """
    data = read_catalog_file(path)
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
