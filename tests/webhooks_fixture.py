"""Helpers of the webhook tests (HTTP and worker): events written the way the database writes them, and
the worker's SQL steps run by hand as postcart_worker, so a test drives a delivery through its states."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
from psycopg.types.json import Jsonb


def emit(conn: psycopg.Connection, event_type: str = "order.created", payload: dict[str, Any] | None = None) -> str:
    """An outbox event, committed (autocommit connection)."""
    return str(conn.execute("SELECT integration.emit(%s, %s, %s)",
                            [event_type, uuid.uuid4(), Jsonb(payload or {"test": True})]).fetchone()[0])


def as_worker(conn: psycopg.Connection, query: str, params: list[Any]) -> list[tuple[Any, ...]]:
    """One of the worker's functions in its own transaction, as postcart_worker."""
    with conn.transaction():
        conn.execute("SET LOCAL ROLE postcart_worker")
        return conn.execute(query, params).fetchall()


def dispatch(conn: psycopg.Connection) -> None:
    while as_worker(conn, "SELECT integration.dispatch_events(10000)", [])[0][0] == 10000:
        pass


def claim(conn: psycopg.Connection, limit: int = 1000, lease_seconds: float = 60) -> list[tuple[Any, ...]]:
    return as_worker(conn, "SELECT delivery_id, attempt, subscription_id FROM"
                           " integration.claim_webhook_deliveries(%s, make_interval(secs => %s))", [limit, lease_seconds])


def record(conn: psycopg.Connection, outcomes: list[dict[str, Any]], max_attempts: int = 8) -> int:
    return int(as_worker(conn, "SELECT integration.record_webhook_attempts(%s, %s, '1 millisecond', '1 millisecond')",
                         [Jsonb(outcomes), max_attempts])[0][0])


def outcome(delivery_id: Any, attempt: int, status: int | None = None, error: str | None = None) -> dict[str, Any]:
    return {"delivery_id": str(delivery_id), "attempt": attempt, "attempted_at": "2026-01-01T00:00:00Z",
            "duration_ms": 3, "response_status": status, "error": error}


def remove_webhooks(conn: psycopg.Connection, ids: list[Any]) -> None:
    """Test clean-up: the subscriptions and (cascading) their deliveries and attempts."""
    conn.execute("DELETE FROM integration.webhook_subscriptions WHERE id = ANY(%s::uuid[])", [[str(i) for i in ids]])
