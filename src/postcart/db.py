"""Where the database is, and the one way a request reaches it: a transaction that switches role,
sets the caller's claims and calls one `api` function, sent in a single network round trip."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import errors, sql
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from .embedded import EmbeddedCluster
from .settings import Settings, SettingsError

AUTHENTICATOR = "postcart_authenticator"
RETRIES = 3  # serialization failures and deadlocks are retried this many times, then 503


@dataclass
class Database:
    admin_url: str  # migrations, create-staff, psql for DBAs
    app_url: str  # the pool: logs in as postcart_authenticator
    cluster: EmbeddedCluster | None = None


def with_user(url: str, user: str, password: str | None) -> str:
    """The same server and database as `url`, logged in as another user."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    auth = quote(user, safe="") + (":" + quote(password, safe="") if password else "")
    return urlunsplit(parts._replace(netloc=f"{auth}@{host}"))


def locate(settings: Settings, start: bool = True) -> Database:
    """External server from DATABASE_URL, else the embedded cluster (started when `start`)."""
    if settings.database_url:
        password = settings.authenticator_password.get_secret_value() if settings.authenticator_password else None
        app_url = settings.app_database_url or with_user(settings.database_url, AUTHENTICATOR, password)
        return Database(settings.database_url, app_url)
    cluster = EmbeddedCluster(settings.data_dir, require_tls=settings.db_require_tls)
    if start:
        cluster.start()
    elif not cluster.initialized():
        raise SettingsError(f"no embedded cluster in {cluster.data_dir}: run `postcart up` first, or set DATABASE_URL")
    return Database(cluster.url(), cluster.url(user=AUTHENTICATOR), cluster)


def secret_key(settings: Settings) -> str:
    """POSTCART_SECRET_KEY, or (embedded only) a key generated once and kept in the data dir."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    if settings.database_url:
        raise SettingsError("invalid setting POSTCART_SECRET_KEY: required when DATABASE_URL is set")
    path = settings.data_dir / "secret_key"
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()


def open_pool(app_url: str, size: int, statement_timeout_ms: int, wait_seconds: float) -> AsyncConnectionPool:
    """Autocommit connections: a request's statements form their own (pipelined or explicit) transaction.
    A request waits at most `wait_seconds` for a free connection."""
    options = f"-c statement_timeout={statement_timeout_ms}"
    return AsyncConnectionPool(app_url, min_size=min(2, size), max_size=size, open=False, timeout=wait_seconds,
                               kwargs={"application_name": "postcart", "autocommit": True, "options": options})


@dataclass(frozen=True)
class Caller:
    """Who is calling, as far as the token tells: the session it names (None when anonymous). The role and
    the claims policies read are derived from that session's row in the database, on every request."""

    session_id: str | None = None
    request_id: str = ""
    # What the rate limits count this request by besides its session and e-mail: {"ip": the client's
    # address} (empty when unknown); None when POSTCART_RATE_LIMITS is off.
    limit_keys: dict[str, str] | None = None


# A request is one statement, run as the authenticator: auth.call_api applies the rate limits, switches to
# the caller's role and claims, both read from the session's row in the database (PT401 token_revoked for
# an ended session; anonymous without one), then calls api.<function> as that role. With an Idempotency-Key,
# auth.call_api_keyed also claims the key first and records the response. The texts never change, so
# psycopg prepares them once per connection.
_CALL_API = sql.SQL("SELECT body, error FROM auth.call_api(%s, %s::jsonb, %s::jsonb, %s::uuid, %s, %s::jsonb)")
_CALL_API_KEYED = sql.SQL(
    "SELECT replay, body, error FROM auth.call_api_keyed(%s, %s::jsonb, %s::jsonb, %s::uuid, %s, %s::jsonb, %s, %s,"
    " %s, %s)"
)


@dataclass(frozen=True)
class Idempotency:
    key: str
    fingerprint: bytes  # keyed hash of the client's request: a replay must match it
    anonymous_scope: str  # whose key it is when the caller is anonymous (see sql/integration/idempotency.sql)
    status: int  # the status the response will have, stored for replays


@dataclass(frozen=True)
class Result:
    body: str | None  # the function's jsonb result as JSON text, passed through without parsing
    status: int | None = None  # set when this is a replay of an earlier response
    replayed: bool = False
    # A client error of a request the rate limits counted, returned rather than raised so the count
    # commits: {sqlstate, message, detail, hint, constraint, column} (auth.client_error).
    error: dict[str, Any] | None = None


async def call(pool: AsyncConnectionPool, function: str, args: dict[str, Any], caller: Caller,
               idempotency: Idempotency | None = None, derived: dict[str, Any] | None = None,
               timeout: float | None = None) -> Result:
    """Run api.<function>(args[, derived]) as the caller in one transaction, retrying serialization
    failures and deadlocks. `derived` holds what the server computed (a password hash, a verified
    secret); it reaches the function as its own parameter, never mixed into the client's `args`. Every
    value travels as a bind parameter, so none appears in a statement PostgreSQL logs. One round trip,
    with or without an Idempotency-Key."""
    for attempt in range(RETRIES + 1):
        try:
            async with pool.connection(timeout=timeout) as conn:
                if idempotency is None:
                    return await _call_once(conn, function, args, derived, caller)
                return await _call_idempotent(conn, function, args, derived, caller, idempotency)
        except (errors.SerializationFailure, errors.DeadlockDetected):
            if attempt == RETRIES:
                raise
    raise AssertionError("unreachable")


async def _call_once(conn: psycopg.AsyncConnection[Any], function: str, args: dict[str, Any],
                     derived: dict[str, Any] | None, caller: Caller) -> Result:
    """One statement in autocommit mode: its own transaction, rolled back whole on error (but for the count
    of a rate-limited request: Result.error), one round trip."""
    cur = await conn.execute(_CALL_API, [function, Jsonb(args), None if derived is None else Jsonb(derived),
                                         caller.session_id, caller.request_id, _keys(caller)])
    body, error = await cur.fetchone() or (None, None)
    return Result(body, error=error)


async def _call_idempotent(conn: psycopg.AsyncConnection[Any], function: str, args: dict[str, Any],
                           derived: dict[str, Any] | None, caller: Caller, idempotency: Idempotency) -> Result:
    """One statement in autocommit mode, like _call_once: the key's claim, the call and the record of its
    response commit together. A replay comes back as the first response's {status, body}."""
    cur = await conn.execute(_CALL_API_KEYED, [
        function, Jsonb(args), None if derived is None else Jsonb(derived), caller.session_id, caller.request_id,
        _keys(caller), idempotency.key, idempotency.fingerprint, idempotency.anonymous_scope, idempotency.status])
    replay, body, error = await cur.fetchone() or (None, None, None)
    if replay is not None:
        stored = json.loads(replay)
        return Result(None if stored["body"] is None else json.dumps(stored["body"]), stored["status"], True)
    return Result(body, error=error)


def _keys(caller: Caller) -> Jsonb | None:
    return None if caller.limit_keys is None else Jsonb(caller.limit_keys)


async def call_as_authenticator(pool: AsyncConnectionPool, query: sql.Composable, params: list[Any],
                                timeout: float | None = None) -> Any:
    """For the few auth steps that precede a role (login, refresh) and the catalog version: one statement as
    the authenticator, in autocommit mode its own transaction, one round trip (an explicit BEGIN and COMMIT
    around it would be three)."""
    async with pool.connection(timeout=timeout) as conn:
        cur = await conn.execute(query, params)
        row = await cur.fetchone()
        return row[0] if row else None


async def call_as_role(pool: AsyncConnectionPool, role: str, query: sql.Composable, params: list[Any],
                       timeout: float | None = None, request_id: str = "") -> Any:
    """One statement in a short transaction of its own as `role`, a role the authenticator was granted
    (postcart_gateway: what a payment provider reported). The request id, when given, reaches the audit
    trail like an API call's. Retries serialization failures and deadlocks like `call`. Returns the first
    column of the first row."""
    for attempt in range(RETRIES + 1):
        try:
            async with pool.connection(timeout=timeout) as conn, conn.transaction():
                await conn.execute("SELECT set_config('role', %s, true), set_config('request.id', %s, true)",
                                   [role, request_id])
                cur = await conn.execute(query, params)
                row = await cur.fetchone()
                return row[0] if row else None
        except (errors.SerializationFailure, errors.DeadlockDetected):
            if attempt == RETRIES:
                raise
    raise AssertionError("unreachable")
