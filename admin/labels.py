"""Small bilingual labels the admin services hand to screens, one type each, so a screen names a
thing the same way in every section."""

from __future__ import annotations

from dataclasses import dataclass

from models.bilingual import pick
from models.catalog import ConductClause


@dataclass(frozen=True)
class Clause:
    """A conduct clause as screens name it: its code and its short name in both languages
    (assets/conduct/catalog.json). Used by the ledger, the dashboard, inspections and my page."""

    code: str
    short_zh: str
    short_en: str

    def short(self, locale: str) -> str:
        return pick(locale, self.short_zh, self.short_en)

    @property
    def zh(self) -> str:
        return self.short_zh

    @property
    def en(self) -> str:
        return self.short_en

    @classmethod
    def of(cls, clause: ConductClause) -> Clause:
        return cls(clause.code, clause.short_zh, clause.short_en)

    @classmethod
    def unknown(cls, code: str) -> Clause:
        """A code the catalog no longer holds, named by its code in both languages."""
        return cls(code, code, code)
