"""The layer's one way to call the database for a request, and what it does when the database goes away:
answer 503 `database_unavailable` at once (not after the pool's full wait), and bring the pool back by
itself as soon as the server answers again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg import sql

from .. import db
from .catalog_cache import VersionRounds
from .context import Context, request_id_var
from .errors import connection_lost, from_returned

log = logging.getLogger("postcart.http")

# While the database is known to be down, a request waits this long for a connection, not the full
# POSTCART_POOL_TIMEOUT: the answer is 503 either way, and clients should hear it at once.
DOWN_WAIT = 0.25  # seconds
PROBE_INTERVAL = 0.5  # seconds between attempts to reach the database while it is down


def _wait(ctx: Context) -> float | None:
    """How long a request may wait for a pooled connection: the pool's own limit, or DOWN_WAIT while down."""
    return DOWN_WAIT if ctx.database_down else None


@contextlib.contextmanager
def _watching(ctx: Context) -> Iterator[None]:
    """A lost connection marks the database down (the error itself is answered by the error middleware)."""
    try:
        yield
    except psycopg.Error as exc:
        if connection_lost(exc):
            mark_down(ctx)
        raise


async def call(ctx: Context, function: str, args: dict[str, Any], caller: db.Caller,
               idempotency: db.Idempotency | None, derived: dict[str, Any] | None) -> db.Result:
    with _watching(ctx):
        result = await db.call(ctx.pool, function, args, caller, idempotency, derived, timeout=_wait(ctx))
    if result.error is not None:
        raise from_returned(result.error)
    return result


async def as_authenticator(ctx: Context, query: sql.Composable, params: list[Any]) -> Any:
    """One statement as the authenticator (login, refresh, readiness), with the same quick 503."""
    with _watching(ctx):
        return await db.call_as_authenticator(ctx.pool, query, params, timeout=_wait(ctx))


async def as_role(ctx: Context, role: str, query: sql.Composable, params: list[Any]) -> Any:
    """One statement in its own transaction as another role the authenticator may take (the payment
    provider's reports, as postcart_gateway), with the same quick 503."""
    with _watching(ctx):
        return await db.call_as_role(ctx.pool, role, query, params, timeout=_wait(ctx),
                                     request_id=request_id_var.get())


_CATALOG_VERSION = sql.SQL("SELECT shop.catalog_version()")


async def catalog_version(ctx: Context) -> str:
    """The catalog version (see catalog_cache.py): one tiny query, no catalog table read, shared by the
    requests that arrive while the previous one runs."""
    if ctx.catalog_versions is None:
        ctx.catalog_versions = VersionRounds(lambda: _read_catalog_version(ctx))
    return await ctx.catalog_versions.version()


async def _read_catalog_version(ctx: Context) -> str:
    return str(await as_authenticator(ctx, _CATALOG_VERSION, []))


def mark_down(ctx: Context) -> None:
    """Remember the database is unreachable and start (once) the task that waits for it to come back."""
    ctx.database_down = True
    if ctx.recovery is None or ctx.recovery.done():
        log.warning("database unreachable: answering 503 until it is back")
        ctx.recovery = asyncio.get_running_loop().create_task(_recover(ctx))


async def _recover(ctx: Context) -> None:
    """Probe with a fresh connection until the server answers, then let the pool replace every broken
    connection it holds (pool.check), so no request after the outage meets a dead one."""
    while True:
        try:
            conn = await psycopg.AsyncConnection.connect(ctx.app_url, connect_timeout=2, autocommit=True)
            await conn.close()
            await ctx.pool.check()
            ctx.database_down = False
            log.info("database reachable again")
            return
        except (psycopg.Error, OSError):
            await asyncio.sleep(PROBE_INTERVAL)
