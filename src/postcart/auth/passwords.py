"""Passwords: the policy (checked here, where the plain text is) and argon2id hashing (argon2-cffi).

The plain password never reaches the database: it stores only hashes made with the parameters below,
and its CHECK (auth.password_hash_is_valid) accepts no others. Verification refuses any stored hash
with other parameters without running argon2 on it, so a hash planted with, say, m=1 GiB cannot make
logins slow."""

from __future__ import annotations

import re

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
MAX_LENGTH = 1024  # hashing is deliberately slow; refuse megabyte "passwords" before spending it

# argon2-cffi's PasswordHasher() defaults (RFC 9106's low-memory profile), spelled out so a new release of
# the library with other defaults cannot silently produce hashes the database refuses.
_hasher = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4, hash_len=32, salt_len=16, type=Type.ID)


def _b64_length(n: int) -> int:
    return (4 * n + 2) // 3  # unpadded base64


# What the database's CHECK accepts, and nothing else: the server's parameters, salt and hash lengths.
SERVER_HASH = re.compile(
    rf"\$argon2id\$v=19\$m={_hasher.memory_cost},t={_hasher.time_cost},p={_hasher.parallelism}"
    rf"\$[A-Za-z0-9+/]{{{_b64_length(_hasher.salt_len)}}}"
    rf"\$[A-Za-z0-9+/]{{{_b64_length(_hasher.hash_len)}}}"
)
# Verified when the email is unknown or the stored hash is not the server's, so every path costs the
# same and timing reveals nothing.
_DUMMY_HASH = _hasher.hash("postcart-dummy-password-for-timing")
assert SERVER_HASH.fullmatch(_DUMMY_HASH), "argon2 parameters and SERVER_HASH disagree"


class PasswordProblem(ValueError):
    """The password cannot be used: `code` is validation_failed (missing, not a string) or weak_password."""

    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


def check_policy(password: object, email: object = None) -> str:
    """The password if it may be used, else PasswordProblem: a string of MIN_LENGTH..MAX_LENGTH
    characters that is not the account's e-mail address (compared case-insensitively)."""
    if password is None:
        raise PasswordProblem("validation_failed", "is required")
    if not isinstance(password, str):
        raise PasswordProblem("validation_failed", "must be a string")
    try:
        password.encode()
    except UnicodeEncodeError:  # a lone surrogate (JSON "\ud800"): not text argon2 can hash
        raise PasswordProblem("validation_failed", "must be valid Unicode text") from None
    if len(password) < MIN_LENGTH:
        raise PasswordProblem("weak_password", f"must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise PasswordProblem("weak_password", f"must be at most {MAX_LENGTH} characters")
    if isinstance(email, str) and password.casefold() == email.strip().casefold():
        raise PasswordProblem("weak_password", "must not be your e-mail address")
    return password


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def is_server_hash(password_hash: object) -> bool:
    """Whether a stored hash was made with the server's parameters (the only ones verified)."""
    return isinstance(password_hash, str) and SERVER_HASH.fullmatch(password_hash) is not None


def verify_password(password_hash: str | None, password: str) -> bool:
    usable = is_server_hash(password_hash)
    try:
        return _hasher.verify(password_hash if usable else _DUMMY_HASH, password) and usable  # type: ignore[arg-type]
    except (VerificationError, InvalidHashError, UnicodeEncodeError):
        return False
