"""Random tokens and how they are kept: high-entropy tokens as SHA-256, human secrets with argon2id."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import uuid

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def new_token(nbytes: int = 24) -> str:
    """A URL-safe random token; 24 bytes = 192 bits."""
    return secrets.token_urlsafe(nbytes)


_random = threading.local()
_RANDOM_BLOCK = 16 * 256  # the bytes of 256 ids, read from the system at once
_V4_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))  # the variant and version bits
_V4_SET = (0x8000 << 48) | (4 << 76)  # RFC 4122 variant, version 4


def new_uuid() -> uuid.UUID:
    """A random (version 4) UUID, as ``uuid.uuid4()`` makes it from the same source (``os.urandom``),
    read for 256 ids at a time per thread: a system call for every rating was a share of each tap
    (docs/PERFORMANCE.md)."""
    block: bytes = getattr(_random, "block", b"")
    at: int = getattr(_random, "at", 0)
    if at >= len(block):
        block, at = os.urandom(_RANDOM_BLOCK), 0
        _random.block = block
    _random.at = at + 16
    # As UUID(bytes=..., version=4) sets the variant and version bits, and as UUID.__init__ ends:
    # its checks of which argument was given cost more than the rest of this function (about 6,000
    # instructions; docs/PERFORMANCE.md).
    made = _new_uuid(uuid.UUID)
    _set_field(made, "int", (int.from_bytes(block[at : at + 16]) & _V4_CLEAR) | _V4_SET)
    _set_field(made, "is_safe", uuid.SafeUUID.unknown)
    return made


_new_uuid = object.__new__
_set_field = object.__setattr__  # a UUID is immutable: its own __init__ sets its fields this way


def _forget_random() -> None:
    """In a forked child: the parent's unread bytes must not become the child's ids too."""
    _random.block, _random.at = b"", 0


os.register_at_fork(after_in_child=_forget_random)


def token_digest(token: str) -> str:
    """Digest for looking up a high-entropy token (device tokens). Not for passwords or PINs."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def digests_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)


def hash_secret(secret: str) -> str:
    """argon2id hash for passwords and PINs."""
    return _hasher.hash(secret)


def verify_secret(stored_hash: str | None, secret: str) -> bool:
    if not stored_hash:
        return False
    try:
        return _hasher.verify(stored_hash, secret)
    except (VerificationError, InvalidHashError):
        return False
