"""Anonymous catalog reads from memory: each response is kept under the catalog version it was read at
(shop.catalog_version(), which changes exactly when a catalog write commits or a scheduled change, such as
a sale, starts or ends). A request first asks the
database for the version (one tiny query, no catalog table read); if its ETag matches, 304; if the
response is cached at that version, it is served from here; otherwise it is read and cached.

Asking for the version on every request, rather than trusting a LISTEN/NOTIFY message, is what makes
a write visible to the very next read in every worker process: a notification arrives asynchronously,
after the writer's client may already have sent its next request to another process."""

from __future__ import annotations

import hashlib
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
