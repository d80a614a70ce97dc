import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import func, select

from models.devices import authenticate_device
from models.errors import IdempotencyConflict, StaffNotFound, ValidationFailed
from models.intake import rate_at_device
from models.org import Staff
from models.rating import Channel, Rating, RatingCreate, submit_rating


def count(db) -> int:
    with db.read() as s:
        return s.exec(select(func.count()).select_from(Rating)).one()


def rate(db, world, key="k1", token=None, staff_no=None, **fields):
    data = RatingCreate.model_validate({"score": 5, **fields})
    with db.write() as s:
        device = authenticate_device(s, token or world.device_token)
        return rate_at_device(s, device=device, idempotency_key=key, data=data, staff_no=staff_no)


def test_a_tap_is_credited_to_whoever_is_on_duty_at_the_counter(db, world):
    rating, created = rate(db, world)
    assert created
    assert (rating.staff_id, rating.counter_id, rating.branch_id) == (
        world.staff_id,
        world.counter_id,
        world.branch_id,
    )
    assert rating.channel is Channel.kiosk and rating.counted and not rating.flagged


def test_a_closed_counter_still_takes_counter_level_feedback(db, world):
    rating, _ = rate(db, world, token=world.closed_device_token)
    assert rating.staff_id is None and rating.counter_id == world.closed_counter_id


def test_retrying_with_the_same_key_and_body_returns_the_stored_rating(db, world):
    first, created = rate(db, world, score=2, reasons=["2.2.1"], comment="slow")
    again, created_again = rate(db, world, score=2, reasons=["2.2.1"], comment="slow")
    assert created and not created_again
    assert again.id == first.id
    assert count(db) == 1


def test_reusing_a_key_for_a_different_rating_is_refused_and_stores_nothing(db, world):
    rate(db, world, score=5)
    with pytest.raises(IdempotencyConflict):
        rate(db, world, score=1)
    assert count(db) == 1


def test_unknown_or_internal_clauses_are_not_accepted_as_reasons(db, world):
    with pytest.raises(ValidationFailed) as info:
        rate(db, world, score=1, reasons=["9.9.9"])
    assert info.value.field == "reasons"
    with pytest.raises(ValidationFailed):
        rate(db, world, score=1, reasons=["4.2.3"])  # a penalty rule, not something customers judge
    assert count(db) == 0


def test_comment_is_cleaned_and_capped_before_it_is_stored(db, world):
    rating, _ = rate(db, world, comment="\u202eok\x00 " + "好" * 600)
    assert rating.comment.startswith("ok ")
    assert len(rating.comment) == 500


@pytest.mark.parametrize("score", [0, 6, "5", 4.5, True, None])
def test_scores_outside_one_to_five_are_refused(score):
    with pytest.raises(ValueError, match="score"):
        RatingCreate.model_validate({"score": score})


def test_the_database_itself_refuses_an_out_of_range_score(db, world):
    with db.write() as s, pytest.raises(IntegrityError):
        s.add(
            Rating(
                idempotency_key="raw",
                request_hash="x",
                branch_id=world.branch_id,
                channel=Channel.kiosk,
                score=9,
            )
        )
        s.commit()


def test_a_named_staff_member_from_another_branch_is_refused(db, world):
    with pytest.raises(ValidationFailed):
        rate(db, world, staff_no=world.other_branch_staff_no)
    with pytest.raises(StaffNotFound):
        rate(db, world, key="k2", staff_no="NOPE")
    assert count(db) == 0


def test_a_deactivated_staff_member_cannot_be_rated_by_number(db, world):
    with db.write() as s:
        staff = s.exec(select(Staff).where(Staff.employee_no == world.colleague_no)).one()
        staff.active = False
        s.add(staff)
        s.commit()
    with pytest.raises(StaffNotFound):
        rate(db, world, staff_no=world.colleague_no)


def test_submit_rating_for_a_qr_channel_has_no_counter(db, world):
    with db.write() as s:
        rating, created = submit_rating(
            s,
            idempotency_key="qr-1",
            data=RatingCreate(score=4),
            channel=Channel.qr,
            branch_id=world.branch_id,
            staff_id=world.staff_id,
        )
    assert created and rating.counter_id is None and rating.channel is Channel.qr


def test_ratings_read_back_with_aware_utc_times(db, world):
    rating, _ = rate(db, world)
    with db.read() as s:
        stored = s.get(Rating, rating.id)
        assert stored is not None and stored.created_at.utcoffset().total_seconds() == 0
        assert s.execute(text("SELECT count(*) FROM rating")).scalar_one() == 1
