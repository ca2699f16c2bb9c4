"""Webhook subscriptions over HTTP (/v1/admin/webhooks...): store admins create, list, change, rotate and
delete them, read deliveries with their attempts and replay dead ones; the secret is shown once, derived
from the server key and never stored; every refusal (401, 403, 404, 409, 422) changes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from postcart.http.routes import ROUTES
from postcart.integrations.webhooks import subscription_secret
from tests.webhooks_fixture import claim, dispatch, emit, outcome, record, remove_webhooks

from .conftest import SECRET, Client
from .test_accounts import login, register
from .test_fuzz import StateSummary, db, fuzz, fuzz_schema, state  # noqa: F401 - fixtures
from .test_stores import staff_token

URL = "https://hooks.example/postcart"


@pytest.fixture(scope="module")
def admin_token(server: Client, admin_url: str) -> str:
    return staff_token(server, admin_url, "store_admin")


@pytest.fixture(scope="module")
def orders_token(server: Client, admin_url: str) -> str:
    return staff_token(server, admin_url, "order_manager")


@pytest.fixture
def made(admin_url: str) -> Iterator[list[str]]:
    """Ids of the subscriptions a test creates; removed afterwards with their deliveries."""
    ids: list[str] = []
    yield ids
    with psycopg.connect(admin_url, autocommit=True) as conn:
        remove_webhooks(conn, ids)


def create(api: Client, token: str, made: list[str], **body: Any) -> dict[str, Any]:
    r = api.post("/v1/admin/webhooks", {"url": URL, "events": ["order.created"], **body}, token=token)
    assert r.status == 201, r.text
    made.append(r.json["id"])
    return r.json


def subscriptions(admin_url: str) -> int:
    with psycopg.connect(admin_url) as conn:
        return int(conn.execute("SELECT count(*) FROM integration.webhook_subscriptions").fetchone()[0])


def test_create_shows_a_secret_once_derived_from_the_server_key_and_stored_nowhere(
    api: Client, admin_url: str, admin_token: str, made: list[str]
) -> None:
    r = api.post("/v1/admin/webhooks", {"url": URL, "events": ["stock.low", "order.paid", "order.paid"],
                                        "description": "CRM"}, token=admin_token)
    assert r.status == 201, r.text
    made.append(r.json["id"])
    body = r.json
    assert body["url"] == URL and body["events"] == ["order.paid", "stock.low"] and body["active"] is True
    assert body["description"] == "CRM" and body["secret_version"] == 1
    assert body["secret"].startswith("whsec_")
    assert body["secret"] == subscription_secret(SECRET, body["id"], 1)
    assert r.headers["cache-control"] == "no-store"
    # The secret is nowhere in the database: not in the row, not in any table the test can read.
    with psycopg.connect(admin_url) as conn:
        row = conn.execute("SELECT s::text FROM integration.webhook_subscriptions AS s WHERE id = %s",
                           [body["id"]]).fetchone()[0]
    assert body["secret"] not in row and body["secret"].removeprefix("whsec_") not in row
    # Reads never show it.
    one = api.get(f"/v1/admin/webhooks/{body['id']}", token=admin_token)
    assert one.status == 200 and "secret" not in one.json and one.json["id"] == body["id"], one.text
    listed = api.get("/v1/admin/webhooks?limit=100", token=admin_token).json["items"]
    assert body["id"] in [w["id"] for w in listed] and all("secret" not in w for w in listed)


def test_the_same_idempotency_key_replays_the_same_secret(api: Client, admin_token: str, made: list[str]) -> None:
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = api.post("/v1/admin/webhooks", {"url": URL, "events": ["*"]}, token=admin_token, headers=key)
    assert first.status == 201, first.text
    made.append(first.json["id"])
    again = api.post("/v1/admin/webhooks", {"url": URL, "events": ["*"]}, token=admin_token, headers=key)
    assert again.status == 201 and again.headers.get("idempotent-replayed") == "true"
    assert again.json == first.json


@pytest.mark.parametrize(("body", "fields"), [
    ({"url": "ftp://hooks.example/x", "events": ["order.created"]}, {"url"}),
    ({"url": "https://user:pw@hooks.example/x", "events": ["order.created"]}, {"url"}),
    ({"url": "https://hooks.example/a b", "events": ["order.created"]}, {"url"}),
    ({"url": "https:///no-host", "events": ["order.created"]}, {"url"}),
    ({"events": ["order.created"]}, {"url"}),
    ({"url": URL, "events": []}, {"events"}),
    ({"url": URL, "events": ["order.created", "no.such_type"]}, {"events"}),
    ({"url": URL, "events": ["*", "order.paid"]}, {"events"}),
    ({"url": URL, "events": "order.created"}, {"events"}),
    ({"url": 5, "events": [1], "description": "x" * 501}, {"url", "events", "description"}),
])
def test_bad_subscriptions_are_422_naming_the_fields_and_create_nothing(
    api: Client, admin_url: str, admin_token: str, body: dict[str, Any], fields: set[str]
) -> None:
    before = subscriptions(admin_url)
    r = api.post("/v1/admin/webhooks", body, token=admin_token)
    assert r.status == 422 and r.error_code == "validation_failed", r.text
    assert set(r.json["error"]["details"]["fields"]) == fields, r.text
    assert subscriptions(admin_url) == before


def test_only_store_admins_manage_webhooks(api: Client, admin_url: str, admin_token: str, orders_token: str,
                                           made: list[str]) -> None:
    hook = create(api, admin_token, made)
    customer = login(api, register(api)["email"])["access_token"]
    before = subscriptions(admin_url)
    paths = [("POST", "/v1/admin/webhooks", {"url": URL, "events": ["*"]}),
             ("GET", "/v1/admin/webhooks", None),
             ("GET", f"/v1/admin/webhooks/{hook['id']}", None),
             ("PATCH", f"/v1/admin/webhooks/{hook['id']}", {"active": False}),
             ("POST", f"/v1/admin/webhooks/{hook['id']}/rotate-secret", None),
             ("GET", f"/v1/admin/webhooks/{hook['id']}/deliveries", None),
             ("DELETE", f"/v1/admin/webhooks/{hook['id']}", None),
             ("GET", "/v1/admin/webhook-event-types", None)]
    for method, path, body in paths:
        for token, status in ((None, 401), (customer, 403), (orders_token, 403)):
            r = api.request(method, path, body, token=token)
            assert r.status == status, (method, path, token is None, r.text)
    assert subscriptions(admin_url) == before
    assert api.get(f"/v1/admin/webhooks/{hook['id']}", token=admin_token).json == {
        k: v for k, v in hook.items() if k != "secret"}


def test_patch_changes_what_it_is_sent(api: Client, admin_token: str, made: list[str]) -> None:
    hook = create(api, admin_token, made)
    path = f"/v1/admin/webhooks/{hook['id']}"
    r = api.patch(path, {"url": "http://10.0.0.5:8080/in?x=1", "events": ["*"], "active": False,
                         "description": "paused"}, token=admin_token)
    assert r.status == 200, r.text
    assert (r.json["url"], r.json["events"], r.json["active"], r.json["description"]) == (
        "http://10.0.0.5:8080/in?x=1", ["*"], False, "paused")
    assert r.json["updated_at"] > hook["updated_at"] and "secret" not in r.json
    r = api.patch(path, {"description": None}, token=admin_token)
    assert r.status == 200 and r.json["description"] is None and r.json["events"] == ["*"], r.text
    r = api.patch(path, {"url": "javascript:alert(1)", "events": ["nope.nope"], "active": "yes"}, token=admin_token)
    assert r.status == 422 and set(r.json["error"]["details"]["fields"]) == {"url", "events", "active"}, r.text
    assert api.get(path, token=admin_token).json["url"] == "http://10.0.0.5:8080/in?x=1"


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_an_unknown_webhook_is_404(api: Client, admin_token: str, method: str) -> None:
    for ident in (str(uuid.uuid4()), "not-a-uuid"):
        r = api.request(method, f"/v1/admin/webhooks/{ident}", {} if method == "PATCH" else None, token=admin_token)
        assert r.status == 404 and r.error_code == "webhook_not_found", r.text
    r = api.post(f"/v1/admin/webhooks/{uuid.uuid4()}/rotate-secret", token=admin_token)
    assert r.status == 404 and r.error_code == "webhook_not_found", r.text
    r = api.get(f"/v1/admin/webhooks/{uuid.uuid4()}/deliveries", token=admin_token)
    assert r.status == 404 and r.error_code == "webhook_not_found", r.text


def test_rotation_shows_a_new_secret_once(api: Client, admin_url: str, admin_token: str, made: list[str]) -> None:
    hook = create(api, admin_token, made)
    r = api.post(f"/v1/admin/webhooks/{hook['id']}/rotate-secret", token=admin_token)
    assert r.status == 200, r.text
    assert r.json["secret_version"] == 2 and r.json["secret_rotated_at"] is not None
    assert r.json["secret"] == subscription_secret(SECRET, hook["id"], 2) != hook["secret"]
    # An old secret never comes back, even through SQL as a store admin would write it.
    with psycopg.connect(admin_url, autocommit=True) as conn:
        with pytest.raises(psycopg.Error) as refused:
            conn.execute("UPDATE integration.webhook_subscriptions SET secret_version = 1 WHERE id = %s", [hook["id"]])
        assert refused.value.sqlstate == "PT409" and refused.value.diag.message_primary == "invalid_secret_version"


def test_delete_removes_the_subscription_and_its_pending_deliveries(
    api: Client, admin_url: str, admin_token: str, made: list[str]
) -> None:
    hook = create(api, admin_token, made, events=["*"])
    with psycopg.connect(admin_url, autocommit=True) as conn:
        emit(conn)
        dispatch(conn)
        assert conn.execute("SELECT count(*) FROM integration.webhook_deliveries WHERE subscription_id = %s",
                            [hook["id"]]).fetchone()[0] == 1
        r = api.delete(f"/v1/admin/webhooks/{hook['id']}", token=admin_token)
        assert r.status == 204 and r.text == "", r.text
        assert conn.execute("SELECT count(*) FROM integration.webhook_deliveries WHERE subscription_id = %s",
                            [hook["id"]]).fetchone()[0] == 0
        # Nothing left to claim for it.
        assert all(str(row[2]) != hook["id"] for row in claim(conn, lease_seconds=1))
    assert api.get(f"/v1/admin/webhooks/{hook['id']}", token=admin_token).status == 404


def test_deliveries_list_newest_first_with_attempts_status_filter_and_pages(
    api: Client, admin_url: str, admin_token: str, made: list[str]
) -> None:
    hook = create(api, admin_token, made, events=["order.created", "order.paid"])
    with psycopg.connect(admin_url, autocommit=True) as conn:
        events = [emit(conn, "order.created", {"n": 1}), emit(conn, "order.paid", {"n": 2}),
                  emit(conn, "stock.low", {"n": 3})]
        dispatch(conn)
        mine = {str(d): a for d, a, s in claim(conn) if str(s) == hook["id"]}
        assert len(mine) == 2  # stock.low is not subscribed
        first, second = sorted(mine)
        record(conn, [outcome(first, 1, status=500), outcome(second, 1, error="timed out after 10 s")], max_attempts=1)
    path = f"/v1/admin/webhooks/{hook['id']}/deliveries"
    r = api.get(path, token=admin_token)
    assert r.status == 200, r.text
    items = r.json["items"]
    assert [i["event_id"] for i in items] == [events[1], events[0]]  # newest first
    assert [i["event_type"] for i in items] == ["order.paid", "order.created"]
    assert {i["status"] for i in items} == {"dead"} and all(i["next_attempt_at"] is None for i in items)
    by_id = {i["id"]: i for i in items}
    assert by_id[first]["last_response_status"] == 500 and by_id[first]["attempts"] == 1
    assert by_id[first]["attempt_history"] == [{"attempt": 1, "attempted_at": "2026-01-01T00:00:00.000000Z",
                                                "duration_ms": 3, "response_status": 500, "error": None}]
    assert by_id[second]["last_error"] == "timed out after 10 s" and by_id[second]["last_response_status"] is None
    page = api.get(path + "?limit=1", token=admin_token).json
    assert [i["id"] for i in page["items"]] == [items[0]["id"]] and page["next_cursor"]
    rest = api.get(path + f"?limit=1&cursor={page['next_cursor']}", token=admin_token).json
    assert [i["id"] for i in rest["items"]] == [items[1]["id"]] and rest["next_cursor"] is None
    assert api.get(path + "?status=delivered", token=admin_token).json["items"] == []
    assert len(api.get(path + "?status=dead", token=admin_token).json["items"]) == 2
    bad = api.get(path + "?status=lost", token=admin_token)
    assert bad.status in (400, 422) and "status" in bad.json["error"]["details"].get("fields", {}), bad.text
    assert api.get(path + "?cursor=garbage", token=admin_token).error_code == "invalid_cursor"


def test_replay_puts_a_dead_delivery_back_to_pending(api: Client, admin_url: str, admin_token: str,
                                                     made: list[str]) -> None:
    hook = create(api, admin_token, made)
    other = create(api, admin_token, made)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        emit(conn)
        dispatch(conn)
        mine = [str(d) for d, a, s in claim(conn) if str(s) == hook["id"]]
        assert len(mine) == 1
        base = f"/v1/admin/webhooks/{hook['id']}/deliveries/{mine[0]}/replay"
        pending = api.post(base, token=admin_token)
        assert pending.status == 409 and pending.error_code == "delivery_pending", pending.text
        record(conn, [outcome(mine[0], 1, status=503)], max_attempts=1)
        r = api.post(base, token=admin_token)
        assert r.status == 202, r.text
        assert (r.json["status"], r.json["attempts"], r.json["id"]) == ("pending", 0, mine[0])
        assert r.json["next_attempt_at"] is not None and r.json["attempt_history"][0]["response_status"] == 503
        # Due at once: the next claim takes it, as attempt 1 again.
        assert [(str(d), a) for d, a, s in claim(conn) if str(s) == hook["id"]] == [(mine[0], 1)]
    for path in (f"/v1/admin/webhooks/{other['id']}/deliveries/{mine[0]}/replay",  # another webhook's
                 f"/v1/admin/webhooks/{hook['id']}/deliveries/{uuid.uuid4()}/replay",
                 f"/v1/admin/webhooks/{hook['id']}/deliveries/nonsense/replay"):
        r = api.post(path, token=admin_token)
        assert r.status == 404 and r.error_code == "delivery_not_found", r.text


def test_event_types_are_listed(api: Client, admin_token: str) -> None:
    r = api.get("/v1/admin/webhook-event-types", token=admin_token)
    assert r.status == 200, r.text
    types = [t["type"] for t in r.json["items"]]
    # API.md's list and what the database emits today.
    assert {"order.created", "order.paid", "order.cancelled", "order.fulfilled", "payment.captured",
            "payment.refunded", "stock.low", "customer.created", "cart.abandoned", "fulfillment.created",
            "return.created", "order.completed", "order.returned", "order.refunded"} <= set(types)
    assert types == sorted(types) and all(t["description"] for t in r.json["items"])


@pytest.mark.parametrize(("method", "path"), [(r.method, r.path) for r in ROUTES if r.tag == "webhooks"])
def test_fuzz_as_a_store_admin(
    fuzz_schema: Any, method: str, path: str, admin_token: str, db: psycopg.Connection,  # noqa: F811
    state: StateSummary,  # noqa: F811
) -> None:
    """Whatever a store admin sends: never a 5xx, and a refused request changes nothing. What the fuzzer
    manages to create is removed afterwards (no stray subscription may receive later tests' events)."""
    started = db.execute("SELECT clock_timestamp()").fetchone()[0]
    try:
        fuzz(fuzz_schema, method, path, {"Authorization": f"Bearer {admin_token}"}, state)
    finally:
        db.execute("DELETE FROM integration.webhook_subscriptions WHERE created_at >= %s", [started])
