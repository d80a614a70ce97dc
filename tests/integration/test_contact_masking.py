"""A phone number or e-mail a customer types into a comment or a complaint's description is masked
wherever staff read or export that text: the complaint's case page, a personal file, an appeal, and
the CSV exports. The contact field itself stays behind the audited "show contact" action."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from admin import backend, ledger
from models import auth
from models.complaint import ComplaintCreate, file_complaint
from models.rating import Channel, Rating
from models.scores import Month
from rapport.usecases.exports import complaints_csv, ratings_csv
from tests.ledger_world import NOW, PASSWORD, seed

TYPED = "请打 139 0000 1111 或写信 li.na@example.com"
MASKED = "请打 *** 或写信 ***"


@pytest.fixture
def typed(db, world, ctx):  # type: ignore[no-untyped-def]
    ctx.clock = lambda: NOW
    lw = seed(db, world)
    with db.write() as s:
        s.add(
            Rating(
                idempotency_key=f"typed-{uuid.uuid4()}", request_hash="x", staff_id=lw.staff["E1"],
                counter_id=world.counter_id, branch_id=world.branch_id, channel=Channel.kiosk, score=2,
                comment=TYPED, created_at=datetime(2026, 11, 20, 3, 0, tzinfo=UTC),
            )
        )  # fmt: skip
        s.commit()
        complaint, _code, _ = file_complaint(
            s, idempotency_key="typed-c", data=ComplaintCreate(category="2.2.1", description=TYPED),
            channel=Channel.kiosk, branch_id=world.branch_id, staff_id=lw.staff["E1"],
            now=datetime(2026, 11, 20, 3, 5, tzinfo=UTC),
        )  # fmt: skip
        token = auth.authenticate(s, login="boss.a", password=PASSWORD, client="192.0.2.1", now=NOW)[1]
    return lw, complaint.id, token


def test_the_case_page_and_the_personal_file_mask_typed_contacts(ctx, typed):
    lw, complaint_id, token = typed
    assert backend.detail(ctx, token, complaint_id).description == MASKED
    page = ledger.personal_file(ctx, token, lw.staff["E1"], month="2026-11")
    texts = repr(page)
    assert MASKED in texts and "139 0000 1111" not in texts and "li.na@example.com" not in texts


def test_exports_mask_typed_contacts(db, world, typed):
    with db.read() as s:
        ratings = ratings_csv(s, period=Month(2026, 11), branch_id=world.branch_id, locale="en")
        complaints = complaints_csv(
            s, period=Month(2026, 11), branch_id=world.branch_id, locale="en", now=NOW
        )
    for data in (ratings, complaints):
        text = data.decode("utf-8-sig")
        # The whole number, not a fragment of it: "1111" also turns up in random rating ids.
        assert MASKED in text and "139 0000 1111" not in text and "li.na@example.com" not in text
        assert list(csv.reader(io.StringIO(text, newline="")))  # still well-formed CSV
    with db.read() as s:
        stored = s.exec(select(Rating.comment).where(Rating.comment == TYPED)).all()
    assert stored == [TYPED]  # the record itself is unchanged
