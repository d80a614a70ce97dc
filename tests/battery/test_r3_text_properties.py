"""R3: property tests over free-text cleaning and the CSV export, with random Unicode including
control, bidi-override and zero-width characters, emoji and very long strings.

Properties: never crashes; length capped in characters; no control or bidi-override character is
stored; cleaning twice changes nothing; no exported cell starts with = + - @ tab or CR; the CSV reads
back to the same text (with the one leading quote a formula-looking cell gets)."""

from __future__ import annotations

import csv
import io
import unicodedata
import uuid
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.rating import Channel, Rating
from models.scores import Month
from models.text import clean_text, mask_contacts
from rapport.usecases.exports import DANGEROUS_START, _Writer, neutralise, ratings_csv
from tests.battery.support import SOAK

EXAMPLES = 5_000 if SOAK else 300
NASTY = (
    "\x00\x07\x1b\r\t\u202e\u202d\u2066\u2069\u200b\u200d\ufeff\u061c"  # controls, bidi, zero-width
    "\U0001f600\U0001f469\u200d\U0001f4bb"  # emoji, one of them joined
    "=+-@'\","  # formula starts and CSV quoting
)
nasty_text = st.text(
    alphabet=st.one_of(st.sampled_from(NASTY), st.characters(codec="utf-8")),
    max_size=3000,
)
BANNED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn"}
PROPS = settings(max_examples=EXAMPLES, deadline=None, database=None)


@PROPS
@given(value=nasty_text, cap=st.integers(min_value=1, max_value=600), multiline=st.booleans())
def test_r3_cleaning_caps_strips_and_is_idempotent(value: str, cap: int, multiline: bool) -> None:
    cleaned = clean_text(value, max_chars=cap, multiline=multiline)
    assert len(cleaned) <= cap
    for ch in cleaned:
        if ch == "\n":
            assert multiline
            continue
        assert unicodedata.category(ch) not in BANNED_CATEGORIES, repr(ch)
    assert clean_text(cleaned, max_chars=cap, multiline=multiline) == cleaned
    assert unicodedata.is_normalized("NFC", cleaned)


@PROPS
@given(cells=st.lists(st.one_of(nasty_text, st.integers(), st.none(), st.booleans()), min_size=1, max_size=8))
def test_r3_every_csv_cell_is_safe_and_reads_back(cells: list[object]) -> None:
    line = _Writer().line(cells).decode("utf-8")
    (row,) = list(csv.reader(io.StringIO(line, newline="")))
    assert len(row) == len(cells)
    for original, read in zip(cells, row, strict=True):
        assert not read.startswith(DANGEROUS_START)
        assert read == neutralise(original)
        if isinstance(original, str):
            assert read == ("'" + original if original.startswith(DANGEROUS_START) else original)


def test_r3_stored_comments_export_safely_and_read_back(db, world):
    """Whatever a customer types ends up cleaned in the database and safe in the export."""
    comments: list[str] = []

    @settings(
        max_examples=min(EXAMPLES, 200), deadline=None, database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )  # fmt: skip
    @given(value=nasty_text)
    def store(value: str) -> None:
        comment = clean_text(value, max_chars=500)
        comments.append(comment)
        with db.write() as s:
            s.add(
                Rating(
                    idempotency_key=f"r3-{uuid.uuid4()}", request_hash="x", staff_id=world.staff_id,
                    branch_id=world.branch_id, channel=Channel.kiosk, score=3, comment=comment,
                    created_at=datetime(2026, 11, 10, 3, 0, tzinfo=UTC),
                )
            )  # fmt: skip
            s.commit()

    store()
    with db.read() as s:
        data = ratings_csv(s, period=Month(2026, 11), branch_id=world.branch_id, locale="en")
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    header, body = rows[0], rows[1:]
    assert len(body) == len(comments)
    column = header.index(next(h for h in header if h.lower().startswith("comment")))
    exported = sorted(r[column] for r in body)
    # Exported as stored, but with any phone number or e-mail a customer typed masked.
    masked = [mask_contacts(c) for c in comments]
    expected = sorted(("'" + c if c.startswith(DANGEROUS_START) else c) for c in masked)
    assert exported == expected
    for r in body:
        for cell in r:
            assert not cell.startswith(DANGEROUS_START)
