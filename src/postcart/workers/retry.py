"""After a failed database call: what to log about it, and how long to wait before trying again."""

from __future__ import annotations

import random

import psycopg
from psycopg_pool import PoolTimeout


class Backoff:
    """Doubling delays from `first` up to `limit` seconds, each with ±20 % jitter so that workers which lost
    the database together do not all come back in the same instant. reset() after a success."""

    def __init__(self, first: float = 1.0, limit: float = 60.0) -> None:
        self.first, self.limit, self._current = first, limit, 0.0

    def next(self) -> float:
        self._current = min(self.limit, self._current * 2 or self.first)
        return self._current * random.uniform(0.8, 1.2)

    def reset(self) -> None:
        self._current = 0.0


def describe(exc: BaseException) -> str:
    """A failure in one line for the log: the SQLSTATE and the server's message, or the kind of client
    error. Never the connection string, which may hold a password."""
    if isinstance(exc, PoolTimeout):
        return "no database connection (the server does not answer, or every connection is busy)"
    if isinstance(exc, psycopg.Error) and exc.sqlstate:
        return f"{exc.sqlstate} {exc.diag.message_primary or type(exc).__name__}"
    if isinstance(exc, psycopg.Error):
        return f"{type(exc).__name__}: connection lost or refused"
    return type(exc).__name__
