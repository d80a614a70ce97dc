import re
import secrets

import pytest

from models.codes import (
    ALPHABET,
    check_character,
    format_tracking_code,
    is_valid_raw,
    new_raw_tracking_code,
    new_tracking_code,
    normalise_tracking_code,
    tracking_digest,
)

FORMAT = re.compile(rf"[{ALPHABET}]{{5}}-[{ALPHABET}]{{5}}")


def random_payload(length: int = 9) -> list[str]:
    return [secrets.choice(ALPHABET) for _ in range(length)]


def code_from(payload: list[str]) -> str:
    text = "".join(payload)
    return text + check_character(text)


def test_a_new_code_is_ten_unambiguous_characters_shown_in_two_groups():
    code = new_tracking_code()
    assert FORMAT.fullmatch(code)
    assert not set(code) & set("01258BILOSZ")


def test_a_code_round_trips_through_normalising_and_formatting():
    code = new_tracking_code()
    raw = normalise_tracking_code(code)
    assert raw == code.replace("-", "")
    assert format_tracking_code(raw) == code


def test_ten_thousand_new_codes_are_all_different_and_all_valid():
    codes = [new_tracking_code() for _ in range(10_000)]
    assert len(set(codes)) == len(codes)
    assert all(normalise_tracking_code(c) is not None for c in codes)


def test_customers_may_type_lower_case_spaces_dashes_and_full_width_characters():
    raw = new_raw_tracking_code()
    spellings = [
        raw.lower(),
        f" {raw[:3]} {raw[3:7]} {raw[7:]} ",
        f"{raw[:5]}--{raw[5:]}",
        f"{raw[:5]}\u2013{raw[5:]}",
        "".join(chr(ord(ch) + 0xFEE0) for ch in raw),  # full-width, as a Chinese IME types it
    ]
    assert [normalise_tracking_code(s) for s in spellings] == [raw] * len(spellings)


def test_every_single_character_typo_is_detected():
    for _ in range(50):
        raw = new_raw_tracking_code()
        for position in range(10):
            for ch in ALPHABET:
                if ch != raw[position]:
                    typo = raw[:position] + ch + raw[position + 1 :]
                    assert normalise_tracking_code(typo) is None, (raw, typo)


def test_every_swap_of_two_neighbouring_characters_is_detected():
    # Exhaustive: every pair of different symbols at every pair of neighbouring positions.
    for position in range(8):
        for a in ALPHABET:
            for b in ALPHABET:
                if a != b:
                    payload = random_payload()
                    payload[position], payload[position + 1] = a, b
                    raw = code_from(payload)
                    swapped = raw[:position] + b + a + raw[position + 2 :]
                    assert not is_valid_raw(swapped), (raw, swapped)
    # The last payload character against the check character: varying the first character walks
    # the check character through the whole alphabet, so every pair is met.
    for a in ALPHABET:
        for first in ALPHABET:
            raw = code_from([first, *random_payload(7), a])
            if raw[8] != raw[9]:
                assert not is_valid_raw(raw[:8] + raw[9] + raw[8]), raw


def test_swapping_the_first_and_last_symbols_of_the_alphabet_is_detected():
    # The one neighbour swap that Luhn mod N would miss.
    raw = code_from(["3", "Y", *random_payload(7)])
    assert normalise_tracking_code("Y3" + raw[2:]) is None


def test_swapping_characters_either_side_of_another_is_detected():
    for _ in range(300):
        raw = new_raw_tracking_code()
        for position in range(8):
            if raw[position] != raw[position + 2]:
                jumped = (
                    raw[:position]
                    + raw[position + 2]
                    + raw[position + 1]
                    + raw[position]
                    + raw[position + 3 :]
                )
                assert not is_valid_raw(jumped), (raw, jumped)


@pytest.mark.parametrize(
    "text",
    ["", "ABCDE", "34679ACDEF34679", None, 1234567890, "X" * 1000],
)
def test_wrong_lengths_and_non_text_are_not_codes(text):
    assert normalise_tracking_code(text) is None


def test_look_alike_characters_are_refused_rather_than_guessed():
    raw = new_raw_tracking_code()
    for look_alike in "0O1IL2Z5S8B":
        assert normalise_tracking_code(look_alike + raw[1:]) is None


def test_the_digest_is_the_same_for_every_spelling_and_reveals_nothing():
    code = new_tracking_code()
    digest = tracking_digest(code)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert tracking_digest(code.lower().replace("-", " ")) == digest
    assert tracking_digest(new_tracking_code()) != digest


def test_an_invalid_code_has_no_digest_and_no_display_form():
    with pytest.raises(ValueError):
        tracking_digest("ABCDE-FGHJK")
    with pytest.raises(ValueError):
        format_tracking_code("nonsense")
