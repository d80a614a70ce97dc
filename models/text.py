"""Cleaning free text from customers and staff before it is stored.

Rules: Unicode NFC; control characters, bidi overrides/isolates and zero-width characters removed
(a line break is kept where the field allows several lines); runs of spaces collapsed; trimmed;
capped at a length counted in characters. Cleaning is idempotent: clean(clean(x)) == clean(x).
"""

from __future__ import annotations

import re
import unicodedata

# Bidi embedding/override/isolate marks and zero-width characters that can disguise text.
_INVISIBLE = {
    "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u2060", "\ufeff",
    "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
    "\u2066", "\u2067", "\u2068", "\u2069", "\u061c",
}  # fmt: skip
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def _keep(ch: str, multiline: bool) -> bool:
    if ch == "\n":
        return multiline
    if ch in _INVISIBLE:
        return False
    cat = unicodedata.category(ch)
    # Cc control, Cs lone surrogate, Co private use, Cn unassigned; Cf format (most are invisible).
    return cat not in ("Cc", "Cs", "Co", "Cn", "Cf")


def clean_text(value: str, *, max_chars: int, multiline: bool = True) -> str:
    text = unicodedata.normalize("NFC", value)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    text = "".join(ch for ch in text if _keep(ch, multiline))
    text = _SPACES.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    text = _BLANK_LINES.sub("\n\n", text).strip()
    if len(text) > max_chars:
        text = text[:max_chars].rstrip()
    # Cutting or stripping can expose a new NFC composition boundary; normalise once more.
    return unicodedata.normalize("NFC", text)


# Contact details a customer sometimes types into free text: mainland mobile numbers (optionally
# with +86) and e-mail addresses. Contact data has its own field, masked and erased on schedule;
# copies of it inside a comment or description are masked wherever staff read or export the text.
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[\s-]?)?1[3-9]\d(?:[\s-]?\d){8}(?!\d)")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
CONTACT_MASK = "***"


def mask_contacts(text: str) -> str:
    """Mask mobile numbers and e-mail addresses typed into free text."""
    return _EMAIL.sub(CONTACT_MASK, _MOBILE.sub(CONTACT_MASK, text))


def is_plain_key(value: object, max_chars: int) -> bool:
    """Whether ``value`` can be an identifier we look up (employee number, login, badge token):
    printable ASCII, not empty, at most ``max_chars``. Anything else names nothing, and must not even
    reach the database (PostgreSQL refuses text holding NUL outright)."""
    return isinstance(value, str) and 0 < len(value) <= max_chars and value.isascii() and value.isprintable()
