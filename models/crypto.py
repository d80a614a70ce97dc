"""Random tokens and how they are kept: high-entropy tokens as SHA-256, human secrets with argon2id."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def new_token(nbytes: int = 24) -> str:
    """A URL-safe random token; 24 bytes = 192 bits."""
    return secrets.token_urlsafe(nbytes)


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
