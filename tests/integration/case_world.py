"""A 差评 case opened by hand for a rating a test stored, as models/cases.py would open it (shared by
the indicator and public-board tests, which build their month of ratings and cases themselves)."""

from __future__ import annotations

from models.cases import RatingCase
from models.rating import Rating


def case_of(s, r: Rating, contact: str | None = None) -> int:  # type: ignore[no-untyped-def]
    case = RatingCase(
        rating_id=r.id, branch_id=r.branch_id, counter_id=r.counter_id, staff_id=r.staff_id, channel="kiosk",
        score=r.score, opened_at=r.created_at, contact=contact, contact_kind="phone" if contact else None,
        consent_at=r.created_at if contact else None,
    )  # fmt: skip
    s.add(case)
    s.commit()
    assert case.id is not None
    return case.id
