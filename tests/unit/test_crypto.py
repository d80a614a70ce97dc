"""How human secrets are kept: argon2id at a cost an attacker with the table cannot afford."""

import pytest

from models.auth import _dummy_hash
from models.crypto import hash_secret, verify_secret

pytestmark = pytest.mark.real_argon2


def _parameters(stored: str) -> dict[str, int]:
    # $argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>
    _, variant, _version, params, _salt, _digest = stored.split("$")
    assert variant == "argon2id"
    return {k: int(v) for k, v in (part.split("=") for part in params.split(","))}


def test_passwords_are_argon2id_at_least_at_the_recommended_minimum_cost():
    stored = hash_secret("correct horse battery")
    params = _parameters(stored)
    # The common minimum for argon2id is 19 MiB of memory with two passes; we keep 64 MiB, three.
    assert params["m"] >= 19 * 1024 and params["t"] >= 2, params
    assert verify_secret(stored, "correct horse battery")
    assert not verify_secret(stored, "correct horse batterY")


def test_each_hash_has_its_own_salt():
    assert hash_secret("2468") != hash_secret("2468")


def test_an_unknown_login_costs_as_much_as_a_known_one():
    # The stand-in hash checked for unknown accounts has the same parameters as a real one, so the
    # answer's timing does not tell which logins exist.
    _dummy_hash.cache_clear()
    assert _parameters(_dummy_hash()) == _parameters(hash_secret("anything at all"))
