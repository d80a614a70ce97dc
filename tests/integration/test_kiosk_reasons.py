"""The reasons a kiosk offers (kiosk/backend.reasons): customers' words (等太久了, 态度不好 …) mapped in
assets/conduct/customer_reasons.json to conduct clauses. Every session holds them, so while the
catalog is unchanged all sessions share one copy; a change to the catalog shows in the next one. A
rating given with customer reasons cites the clauses they stand for, exactly as before."""

from __future__ import annotations

import pytest
from sqlmodel import select

from kiosk import backend
from models.catalog import ConductClause
from models.errors import ValidationFailed
from models.rating import REASONS_MAX, Rating
from tests.conftest import clock_pinned


def deactivate(db, code: str) -> None:  # type: ignore[no-untyped-def]
    with db.write() as s:
        clause = s.exec(select(ConductClause).where(ConductClause.code == code)).one()
        clause.active = False
        s.add(clause)
        s.commit()


def rated(ctx, world, score: int, keys: list[str]) -> Rating:  # type: ignore[no-untyped-def]
    with clock_pinned():
        rating_id = backend.submit_tap(
            ctx, device_token=world.device_token, idempotency_key=backend.new_idempotency_key(), score=score,
            staff_no=world.staff_no,
        )  # fmt: skip
        backend.save_details(ctx, rating_id=rating_id, reasons=keys, comment="")
    with ctx.db.read() as s:
        rating = s.get(Rating, rating_id)
        assert rating is not None
        return rating


def test_sessions_share_one_list_of_reasons_until_the_catalog_changes(ctx, db, world):
    first = backend.reasons(ctx)
    assert len(first) >= 2 and backend.reasons(ctx) is first
    deactivate(db, "2.2.3")  # the one clause of 等太久了 and of 很快; 态度不好 keeps one of its two
    deactivate(db, "2.3.2")
    after = backend.reasons(ctx)
    assert [r.code for r in after] == [r.code for r in first if r.code not in ("slow", "quick")]
    assert {r.code: r.clauses for r in after}["rude"] == ("2.2.1",)
    assert backend.reasons(ctx) is after


def test_the_lists_are_in_customers_words_one_for_a_low_and_one_for_a_high_score(ctx, world):
    offered = backend.reasons(ctx)
    low = [r.label("zh-CN") for r in offered if r.polarity == "negative"]
    high = [r.label("en") for r in offered if r.polarity == "positive"]
    assert low[:6] == ["等太久了", "态度不好", "没讲清楚", "业务不熟练", "环境不好", "乱收费、推销"]
    assert high[:6] == ["Quick", "Friendly", "Explained clearly", "Knew the job", "Patient", "Put me first"]


def test_a_rating_with_customer_reasons_cites_the_conduct_clauses_they_stand_for(ctx, world):
    # 等太久了 → 2.2.3; 没讲清楚 → 2.3.1 (main) and 2.3.4; 乱收费、推销 → 1.3.3 (main) and 2.1.2.
    rating = rated(ctx, world, 1, ["slow", "unclear", "fees-selling"])
    assert rating.reasons == ["2.2.3", "2.3.1", "1.3.3", "2.3.4", "2.1.2"]
    with ctx.db.read() as s:
        cited = s.exec(select(ConductClause).where(ConductClause.code.in_(rating.reasons))).all()  # type: ignore[attr-defined]
    assert len(cited) == 5 and all(c.rateable and c.polarity in ("negative", "both") for c in cited)

    praise = rated(ctx, world, 5, ["patient", "warm", "quick"])  # 热情有礼 → 2.3.2 and 2.2.1
    assert praise.reasons == ["2.2.2", "2.3.2", "2.2.3", "2.2.1"]


def test_every_reason_picked_at_once_stays_within_the_limit_main_clauses_first(ctx, world):
    low = [r for r in backend.reasons(ctx) if r.polarity == "negative"]
    rating = rated(ctx, world, 2, [r.code for r in low])
    mains = list(dict.fromkeys(r.clauses[0] for r in low))
    assert rating.reasons == mains[:REASONS_MAX]


def test_an_unknown_reason_stores_nothing(ctx, world):
    rating = rated(ctx, world, 1, [])
    with clock_pinned(), pytest.raises(ValidationFailed) as err:
        # A clause code is not a customer reason.
        backend.save_details(ctx, rating_id=rating.id, reasons=["slow", "2.2.3"], comment="x")
    assert err.value.field == "reasons"
    with ctx.db.read() as s:
        again = s.get(Rating, rating.id)
        assert again is not None and (again.reasons, again.comment) == ([], "")
