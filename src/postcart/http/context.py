"""What every handler needs, kept on the aiohttp application under one key."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from dataclasses import dataclass, field

from aiohttp import web
from psycopg_pool import AsyncConnectionPool

from ..settings import Settings
from .catalog_cache import CatalogCache, VersionRounds

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every log record (`%(request_id)s`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):  # the access log passes its own: it runs after the request
            record.request_id = request_id_var.get()
        return True


@dataclass
class Context:
    settings: Settings
    secret: str
    app_url: str
    pool: AsyncConnectionPool
    migration_ids: list[str]
    comments: dict[str, str] = field(default_factory=dict)  # api function → COMMENT text
    openapi: bytes | None = None
    database_down: bool = False  # set when a request lost its connection; cleared once the server answers
    recovery: asyncio.Task[None] | None = None  # the task waiting for the database to come back
    catalog_cache: CatalogCache = field(default_factory=CatalogCache)  # anonymous catalog responses
    catalog_versions: VersionRounds | None = None  # shared version queries (made on first use)


CONTEXT = web.AppKey("postcart", Context)

# Request-scoped values the generic handler shares with a route's preparation (see app.handler_for):
# the request's Idempotency-Key record (db.Idempotency or None), and members a preparation adds to the
# JSON object the function answers with (a secret made in Python, such as a guest cart's token), or a
# function of that object returning them (a webhook's secret, derived from its id and version).
IDEMPOTENCY = "postcart.idempotency"
RESPONSE_FIELDS = "postcart.response_fields"
# The caller (db.Caller) of a route handled in Python around several calls (http/payments.py).
CALLER = "postcart.caller"
