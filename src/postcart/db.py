"""Where the database is, and the one way a request reaches it: a transaction that switches role,
sets the caller's claims and calls one `api` function, sent in a single round trip (pipeline mode)."""

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


def open_pool(app_url: str, size: int) -> AsyncConnectionPool:
    return AsyncConnectionPool(app_url, min_size=min(2, size), max_size=size, open=False,
                               kwargs={"application_name": "postcart"})


@dataclass(frozen=True)
class Caller:
    """Who is calling: the role to switch to, the claims policies read, the session to check."""

    role: str = ANON
    claims: dict[str, Any] | None = None
    session_id: str | None = None


_AS_ANON = sql.SQL("SELECT set_config('role', %s, true), set_config('request.claims', %s, true)")
# verify_session runs first, as the authenticator: a revoked session fails before any role switch.
_AS_SESSION = sql.SQL(
    "SELECT auth.verify_session(%s::uuid), set_config('role', %s, true), set_config('request.claims', %s, true)"
)


async def call(pool: AsyncConnectionPool, function: str, args: dict[str, Any], caller: Caller) -> Any:
    """Run api.<function>(args) as the caller, in one transaction and one round trip; retry
    serialization failures and deadlocks. Returns the function's jsonb result as Python."""
    query = sql.SQL("SELECT {}(%s::jsonb)").format(sql.Identifier("api", function))
    claims = json.dumps(caller.claims or {})
    for attempt in range(RETRIES + 1):
        try:
            async with pool.connection() as conn:
                async with conn.pipeline():
                    async with conn.transaction():
                        if caller.session_id:
                            await conn.execute(_AS_SESSION, [caller.session_id, caller.role, claims])
                        else:
                            await conn.execute(_AS_ANON, [caller.role, claims])
                        cur = await conn.execute(query, [Jsonb(args)])
                row = await cur.fetchone()
                return row[0] if row else None
        except (errors.SerializationFailure, errors.DeadlockDetected):
            if attempt == RETRIES:
                raise


async def call_as_authenticator(pool: AsyncConnectionPool, query: sql.Composable, params: list[Any]) -> Any:
    """For the few auth steps that precede a role (login, refresh): one statement as the authenticator."""
    async with pool.connection() as conn:
        async with conn.transaction():
            cur = await conn.execute(query, params)
            row = await cur.fetchone()
            return row[0] if row else None


def connect_admin(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(url, autocommit=True)
