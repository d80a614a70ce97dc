"""The clause heat map of the dashboard: the clauses cited most this month, counted from low ratings'
reasons, complaints and, when its tables exist, inspection violations.

The inspections feature is optional here, so its tables are looked up by name at run time
(:func:`_table`) instead of importing models/inspection.py. Apart from the rating figures because it
counts three sources and decodes the ratings' JSON reasons.
"""

from __future__ import annotations

import logging
from collections import Counter as Tally
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import MetaData, String, Table, cast, func
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select as sa_select
from sqlmodel import Session, SQLModel, col, select

from models import rollup
from models.clock import UTCDateTime
from models.complaint import Complaint, ComplaintStatus
from models.rating import Rating
from models.reports.periods import Zone, _branches, _closed, _counted_in, zones
from models.reports.results import LOW_SCORE, ClauseHeat, ClauseHeatMap

log = logging.getLogger("models.reports")  # the logger's name before the split

INSPECTION, INSPECTION_FINDING = "inspection", "inspection_finding"


def clause_heat(
    session: Session, *, branch_ids: Sequence[int] | None, now: datetime, limit: int = 10
) -> ClauseHeatMap:
    """The clauses cited most this month, with counts per source, most cited first (ties by code).

    1. Low ratings: the reasons of counted ratings scored ``LOW_SCORE`` or less. Reasons are a JSON
       list, which SQLite and PostgreSQL unnest differently, so the database groups those rows of
       the month by their reasons' text (a few dozen distinct lists) and each list is decoded and
       counted here once, times its count. Decoding every row in Python instead cost 4x the query
       itself on 2,000,000 ratings (docs/PERFORMANCE.md).
    2. Complaints: filed this month (by branch local month), grouped by category in SQL. Rejected
       complaints are left out: rejecting one means it was found to have no basis.
    3. Inspections: violations found by inspections held this month, when those tables exist.
    """
    ratings: Tally[str] = Tally()
    complaints: Tally[str] = Tally()
    all_zones = zones(_branches(session, branch_ids), now)
    # The JSON text, not the JSON type: grouped in SQL, decoded here once per distinct list.
    reasons_text = cast(col(Rating.reasons), String)
    for zone in all_zones:
        closed = _closed(session, zone, zone.today.replace(day=1), ("code",), of="reasons")
        for code, n in closed.rows:
            ratings[code] += int(n)
        live = [*closed.ranges(zone.tz), (zone.branch_ids, zone.day_start, zone.day_end)]
        stmt = (
            sa_select(reasons_text, func.count())
            .where(*_counted_in(live), col(Rating.score) <= LOW_SCORE)
            .group_by(reasons_text)
        )
        for text, n in session.execute(stmt).all():
            for code in rollup.reason_codes(text):  # a clause counts once per rating
                ratings[code] += int(n)
        c_stmt = (
            select(col(Complaint.category), func.count())
            .where(
                col(Complaint.branch_id).in_(zone.branch_ids),
                col(Complaint.created_at) >= zone.month_start,
                col(Complaint.created_at) < zone.day_end,
                col(Complaint.status) != ComplaintStatus.rejected.value,
            )
            .group_by(col(Complaint.category))
        )
        for code, n in session.exec(c_stmt).all():
            complaints[str(code)] += int(n)
    inspections = _inspection_counts(session, all_zones)
    codes = set(ratings) | set(complaints) | set(inspections or {})
    heat = [
        ClauseHeat(code, ratings[code], complaints[code], (inspections or {}).get(code, 0)) for code in codes
    ]
    heat.sort(key=lambda h: (-h.total, h.code))
    return ClauseHeatMap(tuple(heat[:limit]), inspections_available=inspections is not None)


def _table(session: Session, name: str) -> Table | None:
    """The table if the database has it: the registered model's metadata, else reflected."""
    conn = session.connection()
    if not sa_inspect(conn).has_table(name):
        return None
    known = SQLModel.metadata.tables.get(name)
    return known if known is not None else Table(name, MetaData(), autoload_with=conn)


def _inspection_counts(session: Session, all_zones: list[Zone]) -> dict[str, int] | None:
    """Violations found by inspections this month, per clause; None while the database has no
    inspection tables.

    The inspections feature (models/inspection.py) is built and migrated separately, so this reads
    its tables by name rather than importing it: ``inspection_finding`` (``clause_code``,
    ``result``, ``inspection_id``) joined to ``inspection`` (``branch_id``, ``at``: when it took
    place). Only findings with the result "violation" count; a compliant finding cites no problem.
    """
    finding, inspection = _table(session, INSPECTION_FINDING), _table(session, INSPECTION)
    if finding is None or inspection is None:
        return None
    needed = {"clause_code", "result", "inspection_id"} <= set(finding.c.keys())
    if not needed or not {"id", "branch_id", "at"} <= set(inspection.c.keys()):
        log.warning("the inspection tables do not have the expected columns; left out of the heat map")
        return None
    at = inspection.c.at
    counts: Tally[str] = Tally()
    for zone in all_zones:
        stmt = (
            sa_select(finding.c.clause_code, func.count())
            .select_from(finding.join(inspection, finding.c.inspection_id == inspection.c.id))
            .where(
                inspection.c.branch_id.in_(zone.branch_ids),
                at >= _db_time(at, zone.month_start),
                at < _db_time(at, zone.day_end),
                finding.c.result == "violation",
            )
            .group_by(finding.c.clause_code)
        )
        for code, n in session.execute(stmt).all():
            counts[str(code)] += int(n)
    return dict(counts)


def _db_time(column: Any, value: datetime) -> datetime:
    """A model's UTCDateTime column takes aware values; a reflected DateTime takes naive UTC."""
    return value if isinstance(column.type, UTCDateTime) else value.replace(tzinfo=None)
