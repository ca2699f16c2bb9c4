"""The steps of signing in that need Python: argon2 verification, token signing, TOTP codes, and the
preparations that turn a request's plain secrets into what the database may see (hashes, verified
secrets, a re-authentication). The database still decides everything it can: lockouts, sessions,
single-use refresh tokens, recovery codes and invitations."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import timedelta
from typing import Any

import psycopg
from aiohttp import web
from psycopg import sql
from psycopg.types.json import Jsonb
from pydantic import BaseModel, ValidationError

from .. import db
from ..auth import sealing, totp
from ..auth.passwords import MAX_LENGTH, MIN_LENGTH, PasswordProblem, check_policy, hash_password, verify_password
from ..auth.tokens import digest, issue_access_token, new_refresh_token
from . import carts, database
from .context import CALLER, CONTEXT, Context
from .errors import ApiError
from .schemas import LoginRequest, RefreshRequest

log = logging.getLogger("postcart.http")

# The rate limits first (rules naming `login`), in the same autocommit statement: a refusal looks nothing
# up, and an admitted attempt stays counted whatever the password check then says.
_LOOKUP = sql.SQL(
    "WITH limited AS MATERIALIZED (SELECT auth.take_rate_limit('login', %s::jsonb, %s::jsonb, NULL))"
    " SELECT auth.login_lookup(%s) FROM limited"
)
_REAUTH_LOOKUP = sql.SQL("SELECT auth.reauth_lookup(%s)")
# The request id first (the audit trail's login record carries it), then the login's last step.
_WITH_REQUEST_ID = "WITH r AS MATERIALIZED (SELECT set_config('request.id', %s, true))"
_SUCCEEDED = sql.SQL(_WITH_REQUEST_ID + " SELECT auth.login_succeeded(%s, %s, %s, %s, %s) FROM r")
# With a guest cart's token: the session and the merge of that cart into the customer's, one transaction.
_SUCCEEDED_MERGING = sql.SQL(
    _WITH_REQUEST_ID + ", s AS MATERIALIZED (SELECT auth.login_succeeded(%s, %s, %s, %s, %s) AS session FROM r)"
    " SELECT s.session || jsonb_build_object('cart_id', shop.merge_cart_at_login(%s, %s)) FROM s"
)
_FAILED = sql.SQL("SELECT auth.login_failed(%s, %s, %s, %s)")
_REFRESH = sql.SQL("SELECT auth.refresh_session(%s, %s, %s)")
_SPEND_TOTP = sql.SQL("SELECT auth.spend_totp_step(%s, %s)")
_SPEND_RECOVERY_CODE = sql.SQL("SELECT auth.spend_recovery_code(%s, %s)")
_INVITATION_EMAIL = sql.SQL("SELECT auth.staff_invitation_email(%s)")
_RESEAL = sql.SQL("SELECT auth.replace_totp_secret(%s, %s, %s)")

# Plain secrets a client may send: a preparation takes them out of the arguments the database sees.
# `password_hash` too: a hash is the server's to compute, and one sent by a client is simply dropped.
SECRETS = frozenset({"password", "password_hash", "token", "otp", "recovery_code", "secret"})
INVALID = "Some fields are missing or invalid; see details.fields."

# Our wording for pydantic's most common errors, the same as the database's (auth.text_field_error).
_MESSAGES = {"missing": "is required", "string_type": "must be a string"}


def validate(model: type[BaseModel], body: dict[str, Any]) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        fields: dict[str, str] = {}
        for err in exc.errors():
            # The top-level member is the name the client sent; deeper locations only add noise.
            name = str(err["loc"][0]) if err["loc"] else "body"
            message = _MESSAGES.get(err["type"], err["msg"])
            if err["type"] == "string_type" and err.get("input") is None:
                message = "is required"
            fields.setdefault(name, message)
        raise ApiError(422, "validation_failed", INVALID, {"fields": fields}) from None


def _tokens(ctx: Context, session: dict[str, Any], refresh_token: str) -> dict[str, Any]:
    ttl = ctx.settings.access_token_ttl
    return {
        "access_token": issue_access_token(ctx.secret, session, ttl),
        "refresh_token": refresh_token,
        "token_type": "bearer",
        "expires_in": ttl,
    }


async def _record_failure(request: web.Request, email: str | None, account_id: str | None, reason: str) -> None:
    """A refused login or re-authentication, in the audit trail (its own transaction: the refusal rolls
    nothing back). The lockout counts attempts apart, in auth.login_attempts."""
    await database.as_authenticator(request.app[CONTEXT], _FAILED,
                                    [email, account_id, reason, request.get("request_id", "")])


async def login(request: web.Request, body: dict[str, Any]) -> tuple[int, Any]:
    form = validate(LoginRequest, body)
    try:
        return await _login(request, form)
    except ApiError as refused:
        if refused.status in (401, 403, 429):
            await _record_failure(request, form.email, None, refused.code)
        raise
    except psycopg.Error as exc:
        # The database's own refusals (PT429 too_many_attempts, PT403 account_deactivated) count too.
        if exc.sqlstate in ("PT401", "PT403", "PT429"):
            await _record_failure(request, form.email, None, exc.diag.message_primary or "refused")
        raise


async def _login(request: web.Request, form: LoginRequest) -> tuple[int, Any]:
    ctx = request.app[CONTEXT]
    # The lookup enforces the lockout and counts this attempt as a failure until it succeeds.
    keys = request[CALLER].limit_keys
    found = await database.as_authenticator(ctx, _LOOKUP, [
        None if keys is None else Jsonb(keys), Jsonb({"email": form.email}), form.email]) or {}
    # Verified even for an unknown email (against a dummy hash), so timing does not reveal accounts.
    if not await _verify(found.get("password_hash"), form.password):
        raise ApiError(401, "invalid_credentials", "The email or password is wrong.")
    if found.get("totp_secret"):
        if form.otp:
            secret, stale = _open_secret(ctx, found)
            step = totp.matching_step(secret, form.otp)
            # A code is good once: the database refuses a step already spent (replay), atomically.
            if step is None or not await database.as_authenticator(ctx, _SPEND_TOTP, [found["account_id"], step]):
                raise ApiError(401, "invalid_otp", "The one-time code is wrong, expired or already used.")
            if stale:
                await _reseal(ctx, found, secret)
        elif form.recovery_code:
            code = totp.recovery_code_digest(form.recovery_code)
            # Spent by one conditional UPDATE: of parallel logins with the same code, one gets in.
            if code is None or not await database.as_authenticator(
                    ctx, _SPEND_RECOVERY_CODE, [found["account_id"], code]):
                raise ApiError(401, "invalid_recovery_code", "The recovery code is wrong or already used.")
        else:
            raise ApiError(401, "otp_required", "This account uses two-factor authentication; send `otp` "
                           "(or one of your recovery codes as `recovery_code`).")
    refresh_token, refresh_hash = new_refresh_token()
    params = [request.get("request_id", ""), found["account_id"], refresh_hash,
              timedelta(seconds=ctx.settings.refresh_token_ttl), request.headers.get("User-Agent", "")[:500],
              request.remote]
    cart_token = carts.header_token_sha256(request)
    if cart_token is None:
        return 200, _tokens(ctx, await database.as_authenticator(ctx, _SUCCEEDED, params), refresh_token)
    # A guest's cart (X-Cart-Token) joins the customer's; a bad or foreign token merges nothing.
    session = await database.as_authenticator(ctx, _SUCCEEDED_MERGING,
                                              [*params, found["account_id"], bytes.fromhex(cart_token)])
    return 200, {**_tokens(ctx, session, refresh_token), "cart_id": session.get("cart_id")}


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


def _keyring(ctx: Context) -> sealing.Keyring:
    previous = ctx.settings.secret_key_previous
    return sealing.keyring(ctx.secret, previous.get_secret_value() if previous else None)


def _open_secret(ctx: Context, found: dict[str, Any]) -> tuple[str, bool]:
    """The account's plain TOTP secret, and whether its stored form is stale (plain, or an old key's)."""
    try:
        return _keyring(ctx).open(found["totp_secret"], str(found["account_id"]))
    except sealing.Unreadable as exc:
        log.error("cannot open the TOTP secret of account %s: %s", found["account_id"], exc)
        raise ApiError(503, "secret_key_mismatch", "Two-factor sign-in is unavailable: the server's secret "
                       "key does not match the stored secrets; the operator has been told.") from None


async def _reseal(ctx: Context, found: dict[str, Any], secret: str) -> None:
    """Store the secret sealed under the current key, unless it changed meanwhile (after a verified code)."""
    sealed = _keyring(ctx).seal(secret, str(found["account_id"]))
    await database.as_authenticator(ctx, _RESEAL, [found["account_id"], found["totp_secret"], sealed])


# -- preparations: (args, caller) -> (args for the database, derived) --------------------------------
# What the client sent stays in `args`, minus its plain secrets; what the server computed goes in
# `derived`, which the api function reads apart, so a client can never supply it.

def client_args(args: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in args.items() if k not in SECRETS}


def _text_errors(args: dict[str, Any], names: tuple[str, ...]) -> dict[str, str]:
    """Presence and type of members Python must read; their other rules are the database's."""
    errors = {}
    for name in names:
        value = args.get(name)
        if value is None:
            errors[name] = "is required"
        elif not isinstance(value, str):
            errors[name] = "must be a string"
    return errors


def _password(args: dict[str, Any], email: object, others: dict[str, str] | None = None) -> str:
    """The password if the policy allows it; else 422 validation_failed (with `others`, the other
    fields' problems) or 422 weak_password, both naming `password` in details.fields."""
    fields = dict(others or {})
    problem = None
    try:
        password = check_policy(args.get("password"), email)
    except PasswordProblem as exc:
        problem = exc
        if exc.code == "validation_failed":
            fields["password"] = exc.reason
    if fields:
        raise ApiError(422, "validation_failed", INVALID, {"fields": fields})
    if problem is not None:
        raise ApiError(422, "weak_password", f"Choose a password of {MIN_LENGTH} to {MAX_LENGTH} characters that "
                       "is not your e-mail address.", {"fields": {"password": problem.reason}})
    return password


async def _hash(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(None, hash_password, password)


async def _verify(password_hash: str | None, password: str) -> bool:
    return await asyncio.get_running_loop().run_in_executor(None, verify_password, password_hash, password)


def _signed_in(caller: db.Caller) -> str:
    if caller.session_id is None:  # refused before any hashing or lookup
        raise ApiError(401, "unauthorized", "Sign in to do this.")
    return caller.session_id


def _reauthentication_required(message: str) -> ApiError:
    return ApiError(401, "reauthentication_required", message)


async def _reauthenticate(request: web.Request, caller: db.Caller, password: str) -> dict[str, Any]:
    """The caller's password, checked again under the login lockout of its e-mail address (a stolen access
    token cannot be used to guess it). Returns {account_id, password_hash, totp_secret}."""
    ctx = request.app[CONTEXT]
    found = await database.as_authenticator(ctx, _REAUTH_LOOKUP, [_signed_in(caller)]) or {}
    if not await _verify(found.get("password_hash"), password):
        await _record_failure(request, None, found.get("account_id"), "wrong_password")
        raise _reauthentication_required("The password is wrong.")
    return found


async def prepare_register(request: web.Request, args: dict[str, Any],
                           caller: db.Caller) -> tuple[dict[str, Any], dict[str, Any]]:
    """register: the policy is checked and the password hashed here; the database gets only
    derived.password_hash, or the policy's verdict (derived.password_problem) to report with its own
    checks of the other fields, so the client learns every problem at once."""
    try:
        password = check_policy(args.get("password"), args.get("email"))
    except PasswordProblem as problem:
        return client_args(args), {"password_problem": {"code": problem.code, "reason": problem.reason}}
    return client_args(args), {"password_hash": await _hash(password)}


async def prepare_create_staff(request: web.Request, args: dict[str, Any],
                               caller: db.Caller) -> tuple[dict[str, Any], dict[str, Any]]:
    """create_staff: as register, for signed-in callers only (the database's grants decide who may)."""
    _signed_in(caller)
    return await prepare_register(request, args, caller)


async def prepare_enable_totp(request: web.Request, args: dict[str, Any],
                              caller: db.Caller) -> tuple[dict[str, Any], dict[str, Any]]:
    """PUT /v1/me/mfa/totp {secret, otp, password}: the password re-authenticates, the code confirms the
    secret; the database gets the verified secret, the code's time step and the re-authentication."""
    _signed_in(caller)
    password = args.get("password")
    if not isinstance(password, str) or not password:
        raise _reauthentication_required("Send your password (password) to turn two-factor authentication on.")
    fields = _text_errors(args, ("secret", "otp"))
    if fields:
        raise ApiError(422, "validation_failed", INVALID, {"fields": fields})
    step = totp.matching_step(args["secret"], args["otp"])
    if step is None:
        raise ApiError(422, "invalid_otp", "The one-time code does not match this secret.",
                       {"fields": {"otp": "does not match the secret"}})
    found = await _reauthenticate(request, caller, password)
    # Sealed here: the database never sees the plain secret.
    sealed = _keyring(request.app[CONTEXT]).seal(args["secret"].strip().upper(), str(found["account_id"]))
    return client_args(args), {"totp_secret": sealed, "totp_step": step, "reauthenticated": True}


async def prepare_disable_totp(request: web.Request, args: dict[str, Any],
                               caller: db.Caller) -> tuple[dict[str, Any], dict[str, Any]]:
    """DELETE /v1/me/mfa/totp {password, otp or recovery_code}: both proofs are checked here (the database
    spends the code once); a missing or wrong one is 401 reauthentication_required."""
    _signed_in(caller)
    password, otp, code = args.get("password"), args.get("otp"), args.get("recovery_code")
    if not isinstance(password, str) or not password or (otp is None and code is None):
        raise _reauthentication_required(
            "Send your password and a current one-time code (otp) or a recovery code (recovery_code).")
    found = await _reauthenticate(request, caller, password)
    derived: dict[str, Any] = {"reauthenticated": True}
    if found.get("totp_secret"):
        if otp is not None:
            step = totp.matching_step(_open_secret(request.app[CONTEXT], found)[0], otp)
            if step is None:
                await _record_failure(request, None, found.get("account_id"), "invalid_otp")
                raise _reauthentication_required("The one-time code is wrong or expired.")
            derived["totp_step"] = step
        else:
            recovery = totp.recovery_code_digest(code)
            if recovery is None:
                await _record_failure(request, None, found.get("account_id"), "invalid_recovery_code")
                raise _reauthentication_required("The recovery code is wrong or already used.")
            derived["recovery_code_hash"] = recovery.hex()
    return client_args(args), derived


async def prepare_delete_me(request: web.Request, args: dict[str, Any],
                            caller: db.Caller) -> tuple[dict[str, Any], dict[str, Any]]:
    """DELETE /v1/me {password}: the password is checked here, like DELETE /v1/me/mfa/totp's (401
    reauthentication_required when missing or wrong); the database erases the account."""
    _signed_in(caller)
    password = args.get("password")
    if not isinstance(password, str) or not password:
        raise _reauthentication_required("Send your password (password) to erase your account.")
    await _reauthenticate(request, caller, password)
    return client_args(args), {"reauthenticated": True}


async def prepare_staff_invitation(request: web.Request, args: dict[str, Any],
                                   caller: db.Caller) -> tuple[dict[str, Any], dict[str, Any]]:
    """POST /v1/auth/staff-invitations/accept {token, password}: the token's sha256 finds the member's
    e-mail (the password may not equal it); the database gets the token's sha256 and the password hash."""
    fields = _text_errors(args, ("token",))
    if fields:
        _password(args, None, fields)  # raises, naming the password's problems too
    token: str = args["token"]
    if not token.isascii() or len(token) > 200:
        raise _invalid_token()
    token_hash = hashlib.sha256(token.encode()).digest()
    email = await database.as_authenticator(request.app[CONTEXT], _INVITATION_EMAIL, [token_hash])
    if email is None:
        raise _invalid_token()
    password = _password(args, email)
    return client_args(args), {"token_hash": token_hash.hex(), "password_hash": await _hash(password)}


def _invalid_token() -> ApiError:
    return ApiError(400, "invalid_token", "This invitation is unknown, used or expired; ask for a new one.")
