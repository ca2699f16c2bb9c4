"""The routes behind the links mails carry: password reset, e-mail verification and the one-click
unsubscribe (RFC 8058). Each token's HMAC is checked here (auth/links.py); the database receives only the
id it names, in `derived`, and decides whether that request or mail is still good."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from psycopg import sql

from .. import db
from ..auth import links
from . import database
from .context import CONTEXT
from .errors import ApiError
from .inputs import read_body
from .sessions import _hash, _password, _text_errors, client_args

_RESET_EMAIL = sql.SQL("SELECT auth.account_request_email(%s)")


def _invalid_token(what: str) -> ApiError:
    return ApiError(400, "invalid_token", f"This {what} link is unknown, used or expired; ask for a new one.")


async def prepare_password_reset(request: web.Request, args: dict[str, Any],
                                 caller: db.Caller) -> tuple[dict[str, Any], dict[str, Any]]:
    """POST /v1/auth/password-reset/confirm {token, password}: a genuine token names a live request, whose
    account's e-mail the password may not equal; the database gets the request id and the hash."""
    fields = _text_errors(args, ("token",))
    if fields:
        _password(args, None, fields)  # raises, naming the password's problems too
    ctx = request.app[CONTEXT]
    request_id = links.check(ctx.secret, links.PASSWORD_RESET, args["token"])
    if request_id is None:
        raise _invalid_token("reset")
    email = await database.as_authenticator(ctx, _RESET_EMAIL, [request_id])
    if email is None:
        raise _invalid_token("reset")
    password = _password(args, email)
    return client_args(args), {"request_id": request_id, "password_hash": await _hash(password)}


async def prepare_email_verification(request: web.Request, args: dict[str, Any],
                                     caller: db.Caller) -> tuple[dict[str, Any], dict[str, Any]]:
    """POST /v1/auth/verify-email/confirm {token}: the database gets the request id a genuine token names."""
    fields = _text_errors(args, ("token",))
    if fields:
        raise ApiError(422, "validation_failed", "Send the token of the verification link.", {"fields": fields})
    request_id = links.check(request.app[CONTEXT].secret, links.EMAIL_VERIFICATION, args["token"])
    if request_id is None:
        raise _invalid_token("verification")
    return client_args(args), {"request_id": request_id}


async def unsubscribe(request: web.Request) -> web.Response:
    """POST /v1/unsubscribe?token=...: what a mail client sends for List-Unsubscribe-Post (a form body
    `List-Unsubscribe=One-Click`, which is ignored), or a storefront page with {token} as JSON. No sign-in."""
    ctx = request.app[CONTEXT]
    token = request.query.get("token")
    if token is None and request.content_type == "application/json":
        token = (await read_body(request)).get("token")
    if token is None:
        raise ApiError(422, "validation_failed", "Send the token of the unsubscribe link.",
                       {"fields": {"token": "is required"}})
    mail_id = links.check(ctx.secret, links.UNSUBSCRIBE, token)
    if mail_id is None:
        raise ApiError(400, "invalid_token", "This unsubscribe link is unknown.")
    result = await database.call(ctx, "unsubscribe", {}, db.Caller(request_id=request.get("request_id", "")),
                                 None, {"mail_id": mail_id})
    return web.Response(text=result.body or "null", content_type="application/json")
