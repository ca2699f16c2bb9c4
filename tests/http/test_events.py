"""POST /v1/events and the server's own search events over HTTP (docs/events.md)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from .conftest import Client
from .test_accounts import customer  # noqa: F401 - fixture
from .test_rate_limits import assert_refused, burst, from_ip, limited, new_ip  # noqa: F401 - fixture


def session() -> str:
    return "s-" + uuid.uuid4().hex


def stored(admin: psycopg.Connection, session_id: str) -> list[tuple[Any, ...]]:
    return admin.execute(
        "SELECT type, source, product_id, query, account_id, result_count FROM shop.behaviour_events"
        " WHERE session_id = %s ORDER BY occurred_at, type", [session_id]).fetchall()


def a_product(admin: psycopg.Connection) -> uuid.UUID:
    return admin.execute("SELECT id FROM shop.products WHERE status = 'published' ORDER BY slug LIMIT 1").fetchone()[0]


def test_a_batch_is_accepted_and_stored(api: Client, admin: psycopg.Connection) -> None:
    sid, product = session(), a_product(admin)
    earlier = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    events = [{"type": "page_view", "session_id": sid, "occurred_at": earlier},
              {"type": "product_view", "session_id": sid, "product_id": str(product)},
              {"type": "add_to_cart", "session_id": sid, "product_id": str(product)},
              {"type": "search", "session_id": sid, "query": "  Red  Shoes "}]
    r = api.post("/v1/events", {"events": events * 12 + events[:2]})  # 50
    assert r.status == 202, r.text
    assert r.json == {"accepted": 50}
    rows = stored(admin, sid)
    assert len(rows) == 50
    assert {row[0] for row in rows} == {"page_view", "product_view", "add_to_cart", "search"}
    assert all(row[1] == "client" and row[4] is None for row in rows)
    assert {row[3] for row in rows if row[0] == "search"} == {"red shoes"}


def test_the_account_comes_from_the_session_not_the_body(api: Client, admin: psycopg.Connection,
                                                         customer: dict[str, Any]) -> None:  # noqa: F811
    sid = session()
    r = api.post("/v1/events", {"events": [{"type": "page_view", "session_id": sid,
                                            "account_id": str(uuid.uuid4())}]}, token=customer["access_token"])
    assert r.status == 202, r.text
    assert [row[4] for row in stored(admin, sid)] == [uuid.UUID(customer["id"])]


def test_101_events_are_refused(api: Client, admin: psycopg.Connection) -> None:
    sid = session()
    r = api.post("/v1/events", {"events": [{"type": "page_view", "session_id": sid}] * 101})
    assert r.status == 422 and r.error_code == "validation_failed", r.text
    assert "events" in r.json["error"]["details"]["fields"]
    assert stored(admin, sid) == []


def test_a_bad_type_is_named_and_nothing_is_stored(api: Client, admin: psycopg.Connection) -> None:
    sid = session()
    events = [{"type": "page_view", "session_id": sid}] * 3 + [{"type": "purchase", "session_id": sid}]
    r = api.post("/v1/events", {"events": events})
    assert r.status == 422, r.text
    assert list(r.json["error"]["details"]["fields"]) == ["events[3].type"]
    assert stored(admin, sid) == []


def test_an_unknown_product_is_named_and_nothing_is_stored(api: Client, admin: psycopg.Connection) -> None:
    sid = session()
    events = [{"type": "product_view", "session_id": sid, "product_id": str(a_product(admin))},
              {"type": "add_to_cart", "session_id": sid, "product_id": str(uuid.uuid4())}]
    r = api.post("/v1/events", {"events": events})
    assert r.status == 422, r.text
    assert r.json["error"]["details"]["fields"] == {"events[1].product_id": "is not a known product"}
    assert stored(admin, sid) == []


def test_times_and_sessions_are_checked(api: Client, admin: psycopg.Connection) -> None:
    sid = session()
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    events = [{"type": "page_view", "session_id": sid, "occurred_at": future},
              {"type": "page_view", "session_id": sid, "occurred_at": "2020-01-01T00:00:00Z"},
              {"type": "page_view", "session_id": sid, "occurred_at": "yesterday"},
              {"type": "page_view", "session_id": "x" * 101},
              {"type": "page_view"},
              {"type": "page_view", "session_id": sid, "occurred_at": "2026-01-01T00:00:00+16:00"}]
    r = api.post("/v1/events", {"events": events})
    assert r.status == 422, r.text
    assert set(r.json["error"]["details"]["fields"]) == {
        "events[0].occurred_at", "events[1].occurred_at", "events[2].occurred_at", "events[3].session_id",
        "events[4].session_id", "events[5].occurred_at"}
    assert stored(admin, sid) == []


def test_the_limiter_refuses_a_flood(limited: Client, admin: psycopg.Connection) -> None:  # noqa: F811
    ip, sid = new_ip(), session()
    body = {"events": [{"type": "page_view", "session_id": sid}]}
    for _ in range(burst(admin, "events_per_ip")):
        assert limited.post("/v1/events", body, headers=from_ip(ip)).status == 202
    assert_refused(limited.post("/v1/events", body, headers=from_ip(ip)), "rate_limited", "events_per_ip")
    assert limited.post("/v1/events", body, headers=from_ip(new_ip())).status == 202  # others still pass


def searches(admin: psycopg.Connection, sid: str, expected: int) -> list[tuple[Any, ...]]:
    """The server's search events of a session, once the recorder has written them (it batches)."""
    deadline = time.monotonic() + 10
    while True:
        rows = admin.execute(
            "SELECT query, result_count, account_id FROM shop.behaviour_events"
            " WHERE source = 'server' AND session_id = %s ORDER BY occurred_at", [sid]).fetchall()
        if len(rows) >= expected or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


def test_searches_are_recorded_by_the_server_cached_or_not(api: Client, admin: psycopg.Connection,
                                                           customer: dict[str, Any]) -> None:  # noqa: F811
    sid, word = session(), "zqx" + uuid.uuid4().hex[:8]
    headers = {"X-Session-Id": sid}
    first = api.get(f"/v1/products?q={word}", headers=headers)
    again = api.get(f"/v1/products?q={word}", headers=headers)  # the cache answers this one
    found = api.get("/v1/products?q=hoodie&limit=2", headers=headers, token=customer["access_token"])
    assert first.status == again.status == found.status == 200
    assert first.json["items"] == [] and len(found.json["items"]) == 2
    api.get("/v1/products?limit=2", headers=headers)  # no search: not recorded
    rows = searches(admin, sid, 3)
    assert rows == [(word, 0, None), (word, 0, None), ("hoodie", 2, uuid.UUID(customer["id"]))]
