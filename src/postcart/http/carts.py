"""Guest cart tokens. A guest cart is proven by a token only the guest holds: Python makes it, gives it to
the client once (`cart_token` in the answer to POST /v1/carts) and passes the database only its sha256
(derived.cart_token_sha256), which shop.caller_cart compares with the cart's token_hash. Every other cart
route, and checkout, hashes the X-Cart-Token header the same way (derived carries null without one).

Idempotency-Key and the token: the stored response (integration.idempotency_keys) never holds the token,
since a plain secret must not reach the database. For a replay to answer with the same token, a guest's
token is then not random but derived from the key: HMAC(server secret, key's owner scope and key). Whoever
may replay the request (the same scope and key) gets the same cart and token, which is what the key is for;
the key is then as good as the token until the client has it, so such keys must be long (16+ characters,
e.g. a random UUID)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Any

from aiohttp import web

from .. import db
from .context import CONTEXT, IDEMPOTENCY, RESPONSE_FIELDS
from .errors import ApiError

HEADER = "X-Cart-Token"
MIN_KEY_LENGTH = 16  # an Idempotency-Key that makes a guest cart stands in for its token


def token_sha256(token: str) -> str:
    """The hex sha256 the database keeps of a cart token (any string: a wrong one simply matches nothing)."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def header_token_sha256(request: web.Request) -> str | None:
    token = request.headers.get(HEADER)
    return token_sha256(token) if token else None


async def prepare_cart_token(request: web.Request, args: dict[str, Any],
                             caller: db.Caller) -> tuple[dict[str, Any], dict[str, Any]]:
    """Cart routes (and checkout): the X-Cart-Token header, hashed, as derived.cart_token_sha256."""
    return args, {"cart_token_sha256": header_token_sha256(request)}


def _new_token(request: web.Request) -> str:
    """A random token, or with an Idempotency-Key one derived from it (see the module's docstring)."""
    idempotency: db.Idempotency | None = request.get(IDEMPOTENCY)
    if idempotency is None:
        return secrets.token_urlsafe(32)
    if len(idempotency.key) < MIN_KEY_LENGTH:
        raise ApiError(422, "validation_failed", "Some fields are missing or invalid; see details.fields.", {
            "fields": {"Idempotency-Key": f"must have at least {MIN_KEY_LENGTH} characters to create a guest cart "
                                          "(a random UUID, say): it stands in for the cart's token"}})
    message = f"cart-token\n{idempotency.anonymous_scope}\n{idempotency.key}".encode()
    digest = hmac.new(request.app[CONTEXT].secret.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


async def prepare_new_cart(request: web.Request, args: dict[str, Any],
                           caller: db.Caller) -> tuple[dict[str, Any], dict[str, Any]]:
    """POST /v1/carts: a guest gets a new token (its hash goes to the database, the token to the answer's
    cart_token); a signed-in customer's cart needs none (cart_token null)."""
    if caller.session_id is not None:
        request[RESPONSE_FIELDS] = {"cart_token": None}
        return args, {"cart_token_sha256": None}
    token = _new_token(request)
    request[RESPONSE_FIELDS] = {"cart_token": token}
    return args, {"cart_token_sha256": token_sha256(token)}

