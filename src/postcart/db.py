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
ANON = "postcart_anon"
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
    cluster = EmbeddedCluster(settings.data_dir)
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


def open_pool(app_url: str, size: int, statement_timeout_ms: int) -> AsyncConnectionPool:
    # Autocommit: a request's statements form their own (implicit or explicit) transaction.
    options = f"-c statement_timeout={statement_timeout_ms}"
    return AsyncConnectionPool(app_url, min_size=min(2, size), max_size=size, open=False,
                               kwargs={"application_name": "postcart", "autocommit": True, "options": options})


@dataclass(frozen=True)
class Caller:
    """Who is calling: the role to switch to, the claims policies read, the session to check."""

    role: str = ANON
    claims: dict[str, Any] | None = None
    session_id: str | None = None


_AS_ANON = sql.SQL("SELECT set_config('role', {}, true), set_config('request.claims', {}, true)")
# verify_session runs first, as the authenticator: a revoked session fails before any role switch.
_AS_SESSION = sql.SQL(
    "SELECT auth.verify_session({}::uuid), set_config('role', {}, true), set_config('request.claims', {}, true)"
)
_CLAIM_KEY = sql.SQL("SELECT integration.claim_idempotency_key(%s, %s)::text")
# The call and the record of its response in one statement, so both commit or neither does.
_CALL_AND_SAVE = sql.SQL(
    "WITH r AS MATERIALIZED (SELECT {}(%s::jsonb)::text AS body) SELECT r.body FROM r"
    " CROSS JOIN LATERAL integration.save_idempotent_response(%s, %s, r.body::jsonb)"
)


@dataclass(frozen=True)
class Idempotency:
    key: str
    fingerprint: bytes
    status: int  # the status the response will have, stored for replays


@dataclass(frozen=True)
class Result:
    body: str | None  # the function's jsonb result as JSON text, passed through without parsing
    status: int | None = None  # set when this is a replay of an earlier response
    replayed: bool = False


async def call(pool: AsyncConnectionPool, function: str, args: dict[str, Any], caller: Caller,
               idempotency: Idempotency | None = None) -> Result:
    """Run api.<function>(args) as the caller in one transaction, retrying serialization failures and
    deadlocks. One round trip; two with an Idempotency-Key (claim the key, then run and record)."""
    claims = json.dumps(caller.claims or {})
    for attempt in range(RETRIES + 1):
        try:
            async with pool.connection() as conn:
                if idempotency is None:
                    return await _call_simple(conn, function, args, caller, claims)
                return await _call_idempotent(conn, function, args, caller, claims, idempotency)
        except (errors.SerializationFailure, errors.DeadlockDetected):
            if attempt == RETRIES:
                raise
    raise AssertionError("unreachable")


def _as_caller(caller: Caller, claims: str) -> sql.Composed:
    if caller.session_id:
        return _AS_SESSION.format(sql.Literal(caller.session_id), sql.Literal(caller.role), sql.Literal(claims))
    return _AS_ANON.format(sql.Literal(caller.role), sql.Literal(claims))


async def _call_simple(conn: psycopg.AsyncConnection[Any], function: str, args: dict[str, Any],
                       caller: Caller, claims: str) -> Result:
    """Both statements in one simple-protocol message: PostgreSQL runs them as one implicit transaction
    (rolled back whole on error), so no BEGIN/COMMIT messages and a single network round trip. The
    values are quoted by psycopg's client-side literal escaping."""
    call = sql.SQL("SELECT {}({}::jsonb)::text AS body").format(
        sql.Identifier("api", function), sql.Literal(json.dumps(args)))
    cur = await conn.execute(sql.SQL("{}; {}").format(_as_caller(caller, claims), call))
    cur.nextset()
    row = await cur.fetchone()
    return Result(row[0] if row else None)


async def _call_idempotent(conn: psycopg.AsyncConnection[Any], function: str, args: dict[str, Any],
                           caller: Caller, claims: str, idempotency: Idempotency) -> Result:
    async with conn.pipeline():
        async with conn.transaction():
            await conn.execute(_as_caller(caller, claims))
            claim = await conn.execute(_CLAIM_KEY, [idempotency.key, idempotency.fingerprint])
            replay = (await claim.fetchone() or [None])[0]
            if replay is not None:
                stored = json.loads(replay)
                body = stored["body"]
                return Result(None if body is None else json.dumps(body), stored["status"], True)
            call = _CALL_AND_SAVE.format(sql.Identifier("api", function))
            cur = await conn.execute(call, [Jsonb(args), idempotency.key, idempotency.status])
    row = await cur.fetchone()
    return Result(row[0] if row else None)


async def call_as_authenticator(pool: AsyncConnectionPool, query: sql.Composable, params: list[Any]) -> Any:
    """For the few auth steps that precede a role (login, refresh): one statement as the authenticator."""
    async with pool.connection() as conn:
        async with conn.transaction():
            cur = await conn.execute(query, params)
            row = await cur.fetchone()
            return row[0] if row else None

