"""The steps of signing in that need Python: argon2 verification, token signing, TOTP codes.
The database still decides everything it can: lockouts, sessions, single-use refresh tokens."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from aiohttp import web
from psycopg import sql
from pydantic import BaseModel, ValidationError

from .. import db
from ..auth.passwords import MAX_LENGTH, hash_password, verify_password
from ..auth import totp
from ..auth.tokens import digest, issue_access_token, new_refresh_token
from . import database
from .context import CONTEXT, Context
from .errors import ApiError
from .schemas import LoginRequest, RefreshRequest, TotpConfirmRequest

_LOOKUP = sql.SQL("SELECT auth.login_lookup(%s)")
_SUCCEEDED = sql.SQL("SELECT auth.login_succeeded(%s, %s, %s, %s, %s)")
_REFRESH = sql.SQL("SELECT auth.refresh_session(%s, %s, %s)")
_SPEND_TOTP = sql.SQL("SELECT auth.spend_totp_step(%s, %s)")


def validate(model: type[BaseModel], body: dict[str, Any]) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        fields = {".".join(str(p) for p in err["loc"]) or "body": err["msg"] for err in exc.errors()}
        raise ApiError(422, "validation_failed", "Some fields are missing or invalid.",
                       {"fields": fields}) from None


def _tokens(ctx: Context, session: dict[str, Any], refresh_token: str) -> dict[str, Any]:
    ttl = ctx.settings.access_token_ttl
    return {
        "access_token": issue_access_token(ctx.secret, session, ttl),
        "refresh_token": refresh_token,
        "token_type": "bearer",
        "expires_in": ttl,
    }


async def login(request: web.Request, body: dict[str, Any]) -> tuple[int, Any]:
    ctx = request.app[CONTEXT]
    form = validate(LoginRequest, body)
    # The lookup enforces the lockout and counts this attempt as a failure until it succeeds.
    found = await database.as_authenticator(ctx, _LOOKUP, [form.email]) or {}
    loop = asyncio.get_running_loop()
    # Verified even for an unknown email (against a dummy hash), so timing does not reveal accounts.
    ok = await loop.run_in_executor(None, verify_password, found.get("password_hash"), form.password)
    if not ok:
        raise ApiError(401, "invalid_credentials", "The email or password is wrong.")
    if found.get("totp_secret"):
        if not form.otp:
            raise ApiError(401, "otp_required", "This account uses two-factor authentication; send `otp`.")
        step = totp.matching_step(found["totp_secret"], form.otp)
        # A code is good once: the database refuses a step already spent (replay), atomically.
        if step is None or not await database.as_authenticator(ctx, _SPEND_TOTP, [found["account_id"], step]):
            raise ApiError(401, "invalid_otp", "The one-time code is wrong, expired or already used.")
    refresh_token, refresh_hash = new_refresh_token()
    session = await database.as_authenticator(ctx, _SUCCEEDED, [
        found["account_id"], refresh_hash, timedelta(seconds=ctx.settings.refresh_token_ttl),
        request.headers.get("User-Agent", "")[:500], request.remote,
    ])
    return 200, _tokens(ctx, session, refresh_token)


async def refresh(request: web.Request, body: dict[str, Any]) -> tuple[int, Any]:
    ctx = request.app[CONTEXT]
    form = validate(RefreshRequest, body)
    refresh_token, refresh_hash = new_refresh_token()
    session = await database.as_authenticator(ctx, _REFRESH, [
        digest(form.refresh_token), refresh_hash, timedelta(seconds=ctx.settings.refresh_token_ttl),
    ])
    if not session:
        raise ApiError(401, "invalid_refresh_token", "The refresh token is unknown, used or expired; sign in again.")
    return 200, _tokens(ctx, session, refresh_token)


async def totp_setup(request: web.Request, body: dict[str, Any]) -> tuple[int, Any]:
    """A fresh secret; nothing is stored until the client proves it with a code (PUT)."""
    secret = totp.new_secret()
    return 200, {"secret": secret, "otpauth_uri": totp.provisioning_uri(secret, "postcart account")}


# -- preparations: turn the request's arguments into what the api function stores -----------------
async def prepare_password(request: web.Request, args: dict[str, Any],
                           caller: db.Caller) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Hash the password for api.register; the database checks the policy on the plain text."""
    password = args.get("password")
    if isinstance(password, str) and len(password) <= MAX_LENGTH:
        loop = asyncio.get_running_loop()
        args = {**args, "password_hash": await loop.run_in_executor(None, hash_password, password)}
    elif isinstance(password, str):
        raise ApiError(422, "weak_password", f"A password has at most {MAX_LENGTH} characters.",
                       {"field": "password"})
    return args, None


async def prepare_totp(request: web.Request, args: dict[str, Any],
                       caller: db.Caller) -> tuple[dict[str, Any], dict[str, Any] | None]:
    form = validate(TotpConfirmRequest, args)
    if totp.matching_step(form.secret, form.otp) is None:
        raise ApiError(422, "invalid_otp", "The one-time code does not match this secret.", {"field": "otp"})
    return {"totp_secret": form.secret}, None
