"""Anonymous catalog reads from memory: each response is kept under the catalog version it was read at
(shop.catalog_version(), which changes exactly when a catalog write commits or a scheduled change, such as
a sale, starts or ends). A request first asks the
database for the version (one tiny query, no catalog table read); if its ETag matches, 304; if the
response is cached at that version, it is served from here; otherwise it is read and cached.

Asking for the version on every request, rather than trusting a LISTEN/NOTIFY message, is what makes
a write visible to the very next read in every worker process: a notification arrives asynchronously,
after the writer's client may already have sent its next request to another process.

Requests arriving together share one version query (VersionRounds): a request waits for the first query
that starts after it arrived, so it still sees every write committed before it came, and under load one
query answers many requests."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from cachetools import LRUCache

MAX_ENTRIES = 4096  # per worker process; a list page is a few kilobytes


@dataclass(frozen=True)
class Entry:
    version: str
    status: int
    body: str


class CatalogCache:
    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: LRUCache[str, Entry] = LRUCache(maxsize=max_entries)

    def get(self, key: str, version: str) -> Entry | None:
        entry = self._entries.get(key)
        return entry if entry is not None and entry.version == version else None

    def put(self, key: str, entry: Entry) -> None:
        self._entries[key] = entry  # an entry of another version is never served (get compares)


def key(method: str, path_qs: str) -> str:
    return f"{method} {path_qs}"


def etag(version: str, cache_key: str) -> str:
    """Weak ETag naming the catalog version and the request: equal tags, equal responses."""
    digest = hashlib.sha256(cache_key.encode()).hexdigest()[:16]
    return f'W/"c{version}-{digest}"'


class VersionRounds:
    """At most one catalog version query in flight per process. Requests that arrive while one runs wait
    for the next, which starts when it ends and answers all of them: a query started before a request
    arrived could predate a write that request must see."""

    def __init__(self, fetch: Callable[[], Awaitable[str]]) -> None:
        self._fetch = fetch
        self._next: asyncio.Future[str] | None = None  # the round that requests arriving now join
        self._runner: asyncio.Task[None] | None = None

    async def version(self) -> str:
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
        joined = self._next
        if self._runner is None or self._runner.done():
            self._runner = asyncio.get_running_loop().create_task(self._run())
        # shield: a request that goes away must not cancel the round the others wait for
        return await asyncio.shield(joined)

    async def _run(self) -> None:
        while self._next is not None:
            round_, self._next = self._next, None  # from here on, arrivals join the next round
            try:
                round_.set_result(await self._fetch())
            except Exception as exc:  # every waiter of this round gets the error (e.g. 503, database down)
                round_.set_exception(exc)
