"""The password policy and verification, in Python where the plain text is."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from postcart.auth.passwords import (
    PasswordProblem, SERVER_HASH, check_policy, hash_password, is_server_hash, verify_password,
)

SALT, DIGEST = "c2FsdHNhbHRzYWx0c2FsdA", "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"
HOSTILE = f"$argon2id$v=19$m=1048576,t=8,p=4${SALT}${DIGEST}"  # 1 GiB, 8 passes: seconds per login


@pytest.mark.parametrize(("password", "code"), [
    (None, "validation_failed"), (12345678901, "validation_failed"), (["a" * 12], "validation_failed"),
    ("\ud800" * 12, "validation_failed"), ("short", "weak_password"), ("x" * 1025, "weak_password"),
    (" Ada@Example.com", None), ("ADA@EXAMPLE.COM", "weak_password"),
])
def test_policy(password: object, code: str | None) -> None:
    if code is None:
        assert check_policy(password, "ada@example.com ") == password
        return
    with pytest.raises(PasswordProblem) as problem:
        check_policy(password, "ada@example.com ")
    assert problem.value.code == code


def test_hashes_are_made_with_the_parameters_the_database_accepts() -> None:
    assert SERVER_HASH.fullmatch(hash_password("correct horse battery"))
    assert SERVER_HASH.fullmatch(PasswordHasher().hash("x")), "argon2-cffi's defaults changed: update both"


def test_a_hash_with_other_parameters_is_refused_without_running_it() -> None:
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("right password")
    assert not is_server_hash(cheap) and not is_server_hash(HOSTILE)
    assert verify_password(cheap, "right password") is False
    assert verify_password(hash_password("right password"), "right password") is True
