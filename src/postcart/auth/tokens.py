"""Access tokens (HS256 JWTs via PyJWT) and opaque refresh tokens.

An access token names the session it belongs to; the database checks that session on every request,
so logout revokes it at once. Refresh tokens are random, stored only as their SHA-256 digest.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from functools import lru_cache
from typing import Any

import jwt

ALGORITHM = "HS256"


class TokenError(Exception):
    """The token is malformed, forged or expired."""


def issue_access_token(secret: str, session: dict[str, Any], ttl: int) -> str:
    now = int(time.time())
    claims = {
        "sub": str(session["account_id"]),
        "sid": str(session["session_id"]),
        "role": session["role"],
        "kind": session["kind"],
        "iat": now,
        "exp": now + ttl,
        "typ": "access",
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def read_access_token(secret: str, token: str) -> dict[str, Any]:
    """The verified claims, or TokenError. Expiry is checked on every call; the signature once per token."""
    claims = _verified(secret, token)
    if claims["exp"] <= time.time():
        raise TokenError("token expired")
    return claims


@lru_cache(maxsize=16384)
def _verified(secret: str, token: str) -> dict[str, Any]:
    # A signature stays valid for the token's whole life, so verifying it once per process suffices;
    # revocation is the database's job (auth.session_claims), on every request.
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM],
                            options={"require": ["exp", "sub", "sid", "role", "kind"], "verify_exp": False})
    except jwt.PyJWTError as exc:
        raise TokenError(str(exc)) from None
    if claims.get("typ") != "access" or not isinstance(claims["exp"], int):
        raise TokenError("not an access token")
    return claims


def new_refresh_token() -> tuple[str, bytes]:
    """(token for the client, digest for the database)."""
    token = secrets.token_urlsafe(32)
    return token, digest(token)


def digest(token: str) -> bytes:
    # surrogatepass: a lone surrogate in a client's token is just an unknown token, not an error.
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
