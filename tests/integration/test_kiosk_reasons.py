"""The reasons a kiosk offers (kiosk/backend.reasons): every session holds them, so while the
catalog is unchanged all sessions share one copy; a change to the catalog shows in the next one."""

from __future__ import annotations

from sqlmodel import select

from kiosk import backend
from models.catalog import ConductClause


def test_sessions_share_one_list_of_reasons_until_the_catalog_changes(ctx, db, world):
    first = backend.reasons(ctx)
    assert len(first) >= 2 and backend.reasons(ctx) is first
    with db.write() as s:
        clause = s.exec(select(ConductClause).where(ConductClause.code == first[0].code)).one()
        clause.active = False
        s.add(clause)
        s.commit()
    after = backend.reasons(ctx)
    assert [r.code for r in after] == [r.code for r in first[1:]]
    assert backend.reasons(ctx) is after
