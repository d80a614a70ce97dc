"""Complaint tracking codes: what a customer keeps to check their complaint later, with no account.

A code is 10 characters shown as ``XXXXX-XXXXX``: 9 random characters from :mod:`secrets` and one
check character. The alphabet leaves out look-alikes (no 0/O, 1/I/L, 2/Z, 5/S, 8/B), because codes
are read off a screen or a slip and typed on a phone. 25**9 is about 3.8e12 (42 bits): too many to
guess online behind the status page's rate limit.

The check character is a weighted sum modulo 25 (the alphabet's size). Luhn mod N was the first
idea, but it misses one adjacent swap (the alphabet's first and last symbols, like 09/90 in decimal
Luhn); a plain weighted sum does better because 25 is odd, so no digit folding is needed. With
every weight prime to 25 any single changed character is caught; with neighbouring weights
differing by a number prime to 25 any swap of adjacent characters is caught; and with weights two
apart also differing by such a number, any swap across one character (``abc`` -> ``cba``) is caught.

Only :func:`tracking_digest` of a code is stored; the code itself is shown to the customer once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata

ALPHABET = "34679ACDEFGHJKMNPQRTUVWXY"
BASE = len(ALPHABET)  # 25
PAYLOAD_CHARS = 9
CODE_CHARS = PAYLOAD_CHARS + 1
# Weights for positions 0..9; the check character (last) has weight 1. None is a multiple of 5, nor
# is any difference between neighbours or between positions two apart (see the module docstring).
_WEIGHTS = (12, 11, 9, 8, 7, 6, 4, 3, 2, 1)
_INDEX = {ch: i for i, ch in enumerate(ALPHABET)}
# What people type between groups: ASCII and typographic dashes, spaces (full-width forms are
# folded to ASCII by NFKC first).
_SEPARATORS = frozenset(" -\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc")
_MAX_INPUT_CHARS = 64


def _weighted_sum(chars: str) -> int:
    # zip stops at the payload's end, so this serves a 9-character payload and a full code alike.
    return sum(w * _INDEX[ch] for w, ch in zip(_WEIGHTS, chars, strict=False))


def check_character(payload: str) -> str:
    """The character that makes ``payload + check`` sum to 0 modulo 25."""
    if len(payload) != PAYLOAD_CHARS or any(ch not in _INDEX for ch in payload):
        raise ValueError(f"a tracking code payload is {PAYLOAD_CHARS} characters from {ALPHABET}")
    # The check character's weight is 1, so it is simply the negated weighted sum of the payload.
    return ALPHABET[-_weighted_sum(payload) % BASE]


def is_valid_raw(raw: str) -> bool:
    """True for 10 alphabet characters (no separator) whose check character matches."""
    return len(raw) == CODE_CHARS and all(ch in _INDEX for ch in raw) and _weighted_sum(raw) % BASE == 0


def new_raw_tracking_code() -> str:
    payload = "".join(secrets.choice(ALPHABET) for _ in range(PAYLOAD_CHARS))
    return payload + check_character(payload)


def format_tracking_code(raw: str) -> str:
    """``ABCDE12345``-style raw code (or any accepted spelling) -> ``XXXXX-XXXXX``."""
    code = normalise_tracking_code(raw)
    if code is None:
        raise ValueError("not a valid tracking code")
    return f"{code[:5]}-{code[5:]}"


def new_tracking_code() -> str:
    """A fresh random code, formatted for display (``XXXXX-XXXXX``)."""
    return format_tracking_code(new_raw_tracking_code())


def normalise_tracking_code(text: object) -> str | None:
    """The 10-character raw code a customer meant, or None if ``text`` is not a valid code.

    Accepted: lower case, full-width characters (NFKC), spaces and dashes anywhere. Not guessed:
    a look-alike that is not in the alphabet (``O`` for ``0``, ``I`` for ``1``...) makes the code
    invalid rather than being mapped, since neither side of such a pair is in the alphabet.
    """
    if not isinstance(text, str) or len(text) > _MAX_INPUT_CHARS:
        return None
    folded = unicodedata.normalize("NFKC", text).upper()
    raw = "".join(ch for ch in folded if ch not in _SEPARATORS and not ch.isspace())
    return raw if is_valid_raw(raw) else None


def tracking_digest(code: str) -> str:
    """SHA-256 hex of the normalised code: what is stored and looked up. Raises for an invalid code."""
    raw = normalise_tracking_code(code)
    if raw is None:
        raise ValueError("not a valid tracking code")
    return hashlib.sha256(raw.encode("ascii")).hexdigest()


def derived_tracking_code(secret: str, idempotency_key: str, attempt: int = 0) -> str:
    """A tracking code derived from the server's secret and the filing's idempotency key.

    Lets the server show the same code again when a customer re-sends a complaint whose first answer
    was lost, while still storing only the code's digest: recomputing it needs the secret and the
    key, which only the server and that customer's screen hold.
    """
    mac = hmac.new(secret.encode(), f"{attempt}:{idempotency_key}".encode(), hashlib.sha256).digest()
    number = int.from_bytes(mac, "big")
    payload = ""
    for _ in range(PAYLOAD_CHARS):
        number, index = divmod(number, BASE)
        payload += ALPHABET[index]
    return format_tracking_code(payload + check_character(payload))
