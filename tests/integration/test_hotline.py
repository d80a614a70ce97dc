"""Hotline entry (admin/hotline.py): a complaint taken by phone, filed in the caller's branch, once."""

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from admin import hotline
from models import auth
from models.audit import AuditEvent
from models.auth import SessionExpired
from models.complaint import Complaint, public_status
from models.errors import Forbidden, IdempotencyConflict
from models.org import Staff
from tests.hotline_desk import complaints, sign_in_hall

NOW = datetime(2025, 3, 7, 7, 0, tzinfo=UTC)  # Friday 15:00 in Shanghai


@pytest.fixture
def tokens(db, world, ctx) -> dict[str, str]:
    """Signed-in tokens: the branch A supervisor, a branch A staff member, and an administrator."""
    ctx.clock = lambda: NOW
    with db.write() as s:
        return sign_in_hall(s, world, NOW)


def form(**fields) -> dict:
    return {"category": "2.2.2", "description": "电话里说柜员态度很差", "locale": "zh-CN", **fields}


def test_a_supervisor_records_a_phone_complaint_about_a_staff_member_at_a_counter(ctx, db, world, tokens):
    cid, code = hotline.record_hotline_complaint(
        ctx, tokens["boss"], idempotency_key="hotline-1",
        form=form(staff_no="e2", counter_id=str(world.counter_id), contact="138 1234 5678", consent=True,
                  locale="en"),
    )  # fmt: skip
    [row] = complaints(db)
    with db.read() as s:
        bob = s.exec(select(Staff).where(Staff.employee_no == world.colleague_no)).one()
        boss = s.exec(select(Staff).where(Staff.employee_no == "S1")).one()
        view = public_status(s, code=code)
        audit = s.exec(select(AuditEvent).where(AuditEvent.action == "complaint.hotline")).one()
    assert row.id == cid and row.channel == "hotline" and row.branch_id == world.branch_id
    assert (row.staff_id, row.counter_id) == (bob.id, world.counter_id)
    assert row.contact == "13812345678" and row.consent_at == NOW and row.locale == "en"
    # Normal severity, 72 business hours from Friday 15:00: 2 h Friday, then nine 8-hour days less 2 h.
    assert row.due_at == datetime(2025, 3, 18, 7, 0, tzinfo=UTC)  # Tuesday 15:00 in Shanghai
    assert view is not None and view.category == "2.2.2"
    assert audit.actor_staff_id == boss.id and audit.entity_id == str(cid)


def test_counter_staff_may_take_a_call_too_and_may_leave_out_who_and_where(ctx, db, world, tokens):
    cid, _code = hotline.record_hotline_complaint(ctx, tokens["alice"], form=form(), idempotency_key="h-2")
    [row] = complaints(db)
    assert row.id == cid and row.staff_id is None and row.counter_id is None and row.contact is None


def test_a_staff_member_of_another_branch_is_refused_on_that_field(ctx, db, world, tokens):
    with pytest.raises(hotline.HotlineFormInvalid) as info:
        hotline.record_hotline_complaint(
            ctx, tokens["boss"], form=form(staff_no=world.other_branch_staff_no), idempotency_key="h-3"
        )
    assert info.value.field == "staff_no" and info.value.errors == {"staff_no": "staff_other_branch"}
    assert complaints(db) == []


def test_every_problem_is_named_by_field_and_nothing_is_stored(ctx, db, world, tokens):
    bad = {"category": "", "description": "  ", "staff_no": "NOBODY", "counter_id": "999", "contact": "138"}
    with pytest.raises(hotline.HotlineFormInvalid) as info:
        hotline.record_hotline_complaint(ctx, tokens["boss"], form=bad, idempotency_key="h-4")
    assert info.value.errors == {
        "category": "category_required", "description": "description_required",
        "staff_no": "staff_unknown", "counter_id": "counter_unknown", "contact": "contact_invalid",
    }  # fmt: skip
    assert info.value.field == "category", "the first problem in the form's order"
    with pytest.raises(hotline.HotlineFormInvalid) as info:
        hotline.record_hotline_complaint(
            ctx, tokens["boss"], form=form(category="9.9.9", contact="13812345678"), idempotency_key="h-5"
        )
    assert info.value.errors == {"category": "category_unknown", "consent": "consent_required"}
    with pytest.raises(hotline.HotlineFormInvalid) as info:
        hotline.record_hotline_complaint(
            ctx, tokens["boss"], form=form(contact="call me maybe", consent=True), idempotency_key="h-6"
        )
    assert info.value.errors == {"contact": "contact_invalid"}
    assert complaints(db) == []


def test_a_double_submit_stores_one_complaint_and_gives_the_same_code(ctx, db, world, tokens):
    first = hotline.record_hotline_complaint(ctx, tokens["boss"], form=form(), idempotency_key="h-7")
    again = hotline.record_hotline_complaint(ctx, tokens["boss"], form=form(), idempotency_key="h-7")
    assert first == again and len(complaints(db)) == 1
    with pytest.raises(IdempotencyConflict):
        hotline.record_hotline_complaint(
            ctx, tokens["boss"], form=form(description="x"), idempotency_key="h-7"
        )
    with db.read() as s:
        assert len(s.exec(select(AuditEvent).where(AuditEvent.action == "complaint.hotline")).all()) == 1


def test_a_signed_out_token_is_refused_and_nothing_is_stored(ctx, db, world, tokens):
    with db.write() as s:
        auth.logout(s, token=tokens["boss"], now=NOW)
    with pytest.raises(SessionExpired):
        hotline.record_hotline_complaint(ctx, tokens["boss"], form=form(), idempotency_key="h-8")
    with pytest.raises(SessionExpired):
        hotline.options(ctx, "not-a-token")
    assert complaints(db) == []


def test_a_call_is_filed_in_the_callers_own_branch_and_an_admin_must_choose_one(ctx, db, world, tokens):
    with pytest.raises(Forbidden):
        hotline.record_hotline_complaint(
            ctx, tokens["boss"], form=form(branch_id=world.other_branch_id), idempotency_key="h-9"
        )
    with pytest.raises(hotline.HotlineFormInvalid) as info:
        hotline.record_hotline_complaint(ctx, tokens["root"], form=form(), idempotency_key="h-10")
    assert info.value.errors == {"branch_id": "branch_required"}
    cid, _ = hotline.record_hotline_complaint(
        ctx, tokens["root"], idempotency_key="h-11",
        form=form(branch_id=str(world.other_branch_id), staff_no=world.other_branch_staff_no),
    )  # fmt: skip
    [row] = complaints(db)
    assert row.id == cid and row.branch_id == world.other_branch_id and row.staff_id is not None


def test_the_form_offers_complaint_categories_and_the_branchs_counters(ctx, db, world, tokens):
    mine = hotline.options(ctx, tokens["boss"])
    assert mine.branch_id == world.branch_id and [b.value for b in mine.branches] == [str(world.branch_id)]
    assert {c.value for c in mine.counters[str(world.branch_id)]} == {
        str(world.counter_id), str(world.closed_counter_id),
    }  # fmt: skip
    codes = [c.value for c in mine.categories]
    assert "2.2.2" in codes and "2.1.2" in codes
    everything = hotline.options(ctx, tokens["root"])
    assert everything.branch_id is None and len(everything.branches) == 2


def test_a_bad_rating_value_is_named_on_its_field_and_nothing_is_stored(ctx, db, world, tokens):
    """The caller's rating with the complaint: tests/integration/test_rating_cases.py."""
    from models.cases import RatingCase
    from models.rating import Rating

    for bad in ("0", "6", "two", " ", 2.5, True, -1, [1]):
        with pytest.raises(hotline.HotlineFormInvalid) as info:
            hotline.record_hotline_complaint(
                ctx, tokens["boss"], form=form(score=bad), idempotency_key="h-bad"
            )
        assert (info.value.field, info.value.errors) == ("score", {"score": "score_invalid"}), bad
    with pytest.raises(hotline.HotlineFormInvalid) as info:
        hotline.record_hotline_complaint(
            ctx, tokens["boss"], form=form(description="", score="9"), idempotency_key="h-bad"
        )
    assert info.value.errors == {"description": "description_required", "score": "score_invalid"}
    assert complaints(db) == []
    with db.read() as s:
        assert s.exec(select(Rating)).all() == [] and s.exec(select(RatingCase)).all() == []


def test_a_form_key_of_the_longest_length_still_stores_its_rating(ctx, db, world, tokens):
    from models.rating import IDEMPOTENCY_KEY_MAX, Rating

    longest = "h" * IDEMPOTENCY_KEY_MAX
    cid, _ = hotline.record_hotline_complaint(
        ctx, tokens["boss"], form=form(score="5"), idempotency_key=longest
    )
    with db.read() as s:
        [rating] = s.exec(select(Rating)).all()
        assert s.get(Complaint, cid).rating_id == rating.id  # type: ignore[union-attr]
