"""Searches recorded by the server (docs/events.md): every first page of `GET /v1/products?q=` the server
answers, from the database or from the catalog cache (catalog_cache.py), becomes a behaviour event of
source `server` with its result count, so the search reports do not depend on what clients send.

api.list_products is a read (STABLE, and often not called at all: the cache answers), so the recording
happens here, after the answer: the request only appends to an in-process buffer; every FLUSH_SECONDS, or
once it holds FLUSH_AT searches, a task counts each page's products (once per cached page) and writes the
buffer in one statement per batch (shop.record_searches, as the authenticator). The list call pays nothing
for it; a crashed process loses at most the last second of searches, which reports can bear."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from cachetools import LRUCache
from psycopg import sql
from psycopg.types.json import Jsonb

from . import database
from .context import Context

log = logging.getLogger("postcart.http")

FLUSH_SECONDS = 1.0
FLUSH_AT = 200  # searches per statement; also the size that makes a flush start at once
MAX_BUFFERED = 10_000  # while the database is away: beyond this, new searches are dropped (and counted)
SESSION_HEADER = "X-Session-Id"  # the storefront's browsing-session id, as in POST /v1/events

_RECORD = sql.SQL("SELECT shop.record_searches(%s)")


def result_count(body: str) -> int | None:
    """How many products the page lists, or None when the body is not a product list."""
    try:
        items = json.loads(body).get("items")
    except (ValueError, AttributeError):
        return None
    return len(items) if isinstance(items, list) else None


class ResultCounts:
    """result_count, remembered per body: a cached answer is the same string object each time it is served
    (its hash is kept by Python, and equal objects compare by identity first), so counting a repeated search
    costs a dictionary lookup instead of parsing the page again."""

    def __init__(self, max_entries: int = 1024) -> None:
        self._counts: LRUCache[str, int | None] = LRUCache(maxsize=max_entries)

    def of(self, body: str) -> int | None:
        try:
            return self._counts[body]
        except KeyError:
            count = self._counts[body] = result_count(body)
            return count


class SearchRecorder:
    def __init__(self) -> None:
        self._buffer: list[dict[str, Any]] = []
        self._counts = ResultCounts()
        self._flusher: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self.dropped = 0

    def note(self, ctx: Context, args: dict[str, Any], status: int, body: str, session_header: str | None,
             auth_session_id: str | None) -> None:
        """Remember one answered search (first pages with a non-blank q only)."""
        query = args.get("q")
        if status != 200 or not isinstance(query, str) or not query.strip() or args.get("cursor"):
            return
        if len(self._buffer) >= MAX_BUFFERED:
            self.dropped += 1
            return
        session = session_header if session_header and len(session_header) <= 100 else None
        # The page is counted when the buffer is written, off the request's path.
        self._buffer.append({"query": query[:1000], "body": body, "session_id": session,
                             "auth_session_id": auth_session_id, "occurred_at": datetime.now(UTC).isoformat()})
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._run(ctx))
        if len(self._buffer) >= FLUSH_AT:
            self._wake.set()

    async def _run(self, ctx: Context) -> None:
        while self._buffer:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), FLUSH_SECONDS)
            self._wake.clear()
            await self.flush(ctx)

    async def flush(self, ctx: Context) -> None:
        """Write what the buffer holds, FLUSH_AT per statement; on a database error the batch is put back."""
        while self._buffer:
            batch, self._buffer = self._buffer[:FLUSH_AT], self._buffer[FLUSH_AT:]
            searches = [{**{k: v for k, v in s.items() if k != "body"}, "results": count}
                        for s in batch if (count := self._counts.of(s["body"])) is not None]
            try:
                await database.as_authenticator(ctx, _RECORD, [Jsonb(searches)])
            except Exception as exc:  # noqa: BLE001 - reports lose a batch rather than the app a request
                log.warning("could not record %d searches: %s", len(batch), exc.__class__.__name__)
                self._buffer[:0] = batch
                return

    async def close(self, ctx: Context) -> None:
        """On shutdown: stop the timer and write what is left."""
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        await self.flush(ctx)


SEARCHES = web.AppKey("postcart.searches", SearchRecorder)
