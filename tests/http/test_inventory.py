"""Inventory over HTTP: PUT/GET/PATCH /v1/admin/inventory/{sku}, its movements (POST, keyset GET) and the
warehouses' priorities; who may do what (inventory_manager writes, order_manager reads, others 403), the
errors (404, 422, 409) and what lands in the ledger and the outbox."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postcart.http.routes import ROUTES

from .conftest import Client
from .test_accounts import login, register
from .test_fuzz import StateSummary, db, fuzz, fuzz_schema, state  # noqa: F401 - fixtures
from .test_stores import staff_token


@pytest.fixture(scope="module")
def inventory(server: Client, admin_url: str) -> str:
    return staff_token(server, admin_url, "inventory_manager")


@pytest.fixture(scope="module")
def orders(server: Client, admin_url: str) -> str:
    return staff_token(server, admin_url, "order_manager")


@pytest.fixture(scope="module")
def catalog(server: Client, admin_url: str) -> str:
    return staff_token(server, admin_url, "catalog_manager")


def remove_stock(conn: psycopg.Connection, variant_ids: list[Any]) -> None:
    """Test clean-up as the superuser: the ledger refuses DELETE to everyone, so its rows (and the stock rows
    they account for) go with this session's triggers switched off; then the rest normally."""
    with conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute("DELETE FROM shop.stock_movements WHERE variant_id = ANY(%s)", [variant_ids])
        conn.execute("DELETE FROM shop.stock_levels WHERE variant_id = ANY(%s)", [variant_ids])
        conn.execute("SET LOCAL session_replication_role = origin")
        conn.execute("DELETE FROM integration.events WHERE subject_id = ANY(%s)", [variant_ids])


@pytest.fixture
def item(admin_url: str) -> Iterator[dict[str, Any]]:
    """A draft product with one variant and two warehouses of its own, none holding stock yet; removed
    afterwards with its stock, ledger and events."""
    tag = uuid.uuid4().hex[:8]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        product_id = conn.execute(
            "INSERT INTO shop.products (slug, name) VALUES (%s, 'Inventory Test') RETURNING id", [f"inv-{tag}"]
        ).fetchone()[0]
        variant_id = conn.execute(
            "INSERT INTO shop.product_variants (product_id, sku, name) VALUES (%s, %s, 'One') RETURNING id",
            [product_id, f"INV-{tag}"],
        ).fetchone()[0]
        conn.execute("INSERT INTO shop.warehouses (code, name, priority) VALUES (%s, 'Inv A', 5), (%s, 'Inv B', 1)",
                     [f"inv-a-{tag}", f"inv-b-{tag}"])
    yield {"sku": f"INV-{tag}", "variant_id": str(variant_id), "product_id": str(product_id),
           "a": f"inv-a-{tag}", "b": f"inv-b-{tag}"}
    with psycopg.connect(admin_url, autocommit=True) as conn:
        variants = [row[0] for row in conn.execute("SELECT id FROM shop.product_variants WHERE product_id = %s",
                                                   [product_id])]
        remove_stock(conn, variants)
        conn.execute("DELETE FROM shop.products WHERE id = %s", [product_id])
        conn.execute("DELETE FROM shop.warehouses WHERE code IN (%s, %s)", [f"inv-a-{tag}", f"inv-b-{tag}"])


def ledger(admin_url: str, variant_id: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(admin_url) as conn:
        return conn.execute(
            "SELECT w.code, m.kind, m.quantity, m.staff_id, m.note FROM shop.stock_movements m"
            " JOIN shop.warehouses w ON w.id = m.warehouse_id WHERE m.variant_id = %s ORDER BY m.created_at, m.id",
            [variant_id],
        ).fetchall()


def reserve(admin_url: str, variant_id: str, code: str, units: int) -> None:
    """What checkout will do: reserve units on a stock row (the ledger is not involved)."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("UPDATE shop.stock_levels s SET reserved = %s FROM shop.warehouses w"
                     " WHERE w.id = s.warehouse_id AND w.code = %s AND s.variant_id = %s", [units, code, variant_id])


def account_id(api: Client, token: str) -> str:
    return str(api.get("/v1/me", token=token).json["id"])


def test_put_sets_on_hand_through_an_adjustment_of_the_difference(
    api: Client, admin_url: str, inventory: str, item: dict[str, Any]
) -> None:
    path = f"/v1/admin/inventory/{item['sku']}"
    r = api.put(path, {"warehouse": item["a"], "on_hand": 12, "note": "first count"}, token=inventory)
    assert r.status == 200, r.text
    assert r.json == {"sku": item["sku"], "warehouse": item["a"], "on_hand": 12, "reserved": 0, "available": 12}
    assert api.put(path, {"warehouse": item["a"], "on_hand": 12}, token=inventory).status == 200  # no difference
    r = api.put(path, {"warehouse": item["a"].upper(), "on_hand": 9}, token=inventory)  # codes in any case
    assert r.status == 200 and r.json["on_hand"] == 9, r.text
    staff = account_id(api, inventory)
    assert [(code, kind, qty, str(who), note) for code, kind, qty, who, note in ledger(admin_url, item["variant_id"])] == [
        (item["a"], "adjustment", 12, staff, "first count"),
        (item["a"], "adjustment", -3, staff, None),
    ]


def test_get_shows_every_warehouse_in_allocation_order(
    api: Client, inventory: str, orders: str, item: dict[str, Any]
) -> None:
    path = f"/v1/admin/inventory/{item['sku']}"
    api.put(path, {"warehouse": item["a"], "on_hand": 7}, token=inventory)
    api.put(path, {"warehouse": item["b"], "on_hand": 3}, token=inventory)
    for token in (inventory, orders):
        r = api.get(path, token=token)
        assert r.status == 200, r.text
        assert r.headers["cache-control"] == "no-store"
        body = r.json
        assert (body["sku"], body["variant_id"], body["on_hand"], body["reserved"], body["available"]) == (
            item["sku"], item["variant_id"], 10, 0, 10)
        assert (body["backorder_limit"], body["low_stock_threshold"], body["low_stock"]) == (0, None, False)
        # Inv B has priority 1, Inv A 5: B is allocated first.
        assert body["warehouses"] == [
            {"warehouse": item["b"], "priority": 1, "on_hand": 3, "reserved": 0, "available": 3},
            {"warehouse": item["a"], "priority": 5, "on_hand": 7, "reserved": 0, "available": 7},
        ]


def test_only_inventory_and_order_managers_see_inventory_and_only_inventory_managers_change_it(
    api: Client, orders: str, catalog: str, item: dict[str, Any]
) -> None:
    path = f"/v1/admin/inventory/{item['sku']}"
    customer_token = login(api, register(api)["email"])["access_token"]
    for token in (catalog, customer_token):
        assert api.get(path, token=token).status == 403
        assert api.get(path + "/movements", token=token).status == 403
    assert api.get(path).status == 401
    for token in (orders, catalog, customer_token):
        assert api.put(path, {"warehouse": item["a"], "on_hand": 5}, token=token).status == 403
        assert api.patch(path, {"low_stock_threshold": 5}, token=token).status == 403
        r = api.post(path + "/movements", {"warehouse": item["a"], "kind": "receipt", "quantity": 5}, token=token)
        assert r.status == 403, r.text
        assert api.patch(f"/v1/admin/warehouses/{item['a']}", {"priority": 3}, token=token).status == 403
    assert api.put(path, {"warehouse": item["a"], "on_hand": 5}).status == 401


def test_movements_are_recorded_replayed_once_and_listed_newest_first_in_pages(
    api: Client, admin_url: str, inventory: str, orders: str, item: dict[str, Any]
) -> None:
    path = f"/v1/admin/inventory/{item['sku']}/movements"
    body = {"warehouse": item["a"], "kind": "receipt", "quantity": 20, "reference": "DN-1", "note": "pallet"}
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = api.post(path, body, token=inventory, headers=key)
    assert first.status == 201, first.text
    movement = first.json["movement"]
    assert {k: movement[k] for k in ("sku", "warehouse", "kind", "quantity", "reference", "note")} == {
        "sku": item["sku"], "warehouse": item["a"], "kind": "receipt", "quantity": 20, "reference": "DN-1",
        "note": "pallet"}
    assert movement["staff_id"] == account_id(api, inventory) and movement["created_at"].endswith("Z")
    assert first.json["stock"] == {"sku": item["sku"], "warehouse": item["a"], "on_hand": 20, "reserved": 0,
                                   "available": 20}
    again = api.post(path, body, token=inventory, headers=key)
    assert (again.status, again.text, again.headers.get("idempotent-replayed")) == (201, first.text, "true")
    for quantity, kind, where in [(-4, "adjustment", "a"), (2, "correction", "b"), (-1, "correction", "a")]:
        r = api.post(path, {"warehouse": item[where], "kind": kind, "quantity": quantity}, token=inventory)
        assert r.status == 201, r.text
    assert [row[2] for row in ledger(admin_url, item["variant_id"])] == [20, -4, 2, -1]

    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = api.get(path + "?limit=3" + (f"&cursor={cursor}" if cursor else ""), token=orders)
        assert page.status == 200, page.text
        seen += page.json["items"]
        cursor = page.json["next_cursor"]
        if cursor is None:
            break
    assert [m["quantity"] for m in seen] == [-1, 2, -4, 20]  # newest first, across two pages
    only_b = api.get(path + f"?warehouse={item['b']}", token=orders)
    assert [m["quantity"] for m in only_b.json["items"]] == [2] and only_b.json["next_cursor"] is None
    assert api.get(path + "?cursor=nonsense", token=orders).error_code == "invalid_cursor"
    tampered = base64.urlsafe_b64encode(b'{"at": "yesterday-ish", "id": "7"}').decode().rstrip("=")
    assert api.get(path + f"?cursor={tampered}", token=orders).error_code == "invalid_cursor"
    assert api.get(path + "?limit=0", token=orders).status == 400
    assert api.get(path + "?warehouse=nowhere", token=orders).error_code == "warehouse_not_found"


def test_bad_input_names_the_field_and_changes_nothing(
    api: Client, admin_url: str, inventory: str, item: dict[str, Any]
) -> None:
    path = f"/v1/admin/inventory/{item['sku']}"
    cases: list[tuple[str, str, dict[str, Any], int, str, str | None]] = [
        ("PUT", path, {"warehouse": item["a"], "on_hand": -1}, 422, "validation_failed", "on_hand"),
        ("PUT", path, {"warehouse": item["a"], "on_hand": 2.5}, 422, "validation_failed", "on_hand"),
        ("PUT", path, {"warehouse": item["a"], "on_hand": "7"}, 422, "validation_failed", "on_hand"),
        ("PUT", path, {"on_hand": 3}, 422, "validation_failed", "warehouse"),
        ("PUT", path, {"warehouse": "nowhere", "on_hand": 3}, 404, "warehouse_not_found", "warehouse"),
        ("PUT", "/v1/admin/inventory/NO-SUCH-SKU", {"warehouse": item["a"], "on_hand": 3}, 404, "sku_not_found", None),
        ("POST", path + "/movements", {"warehouse": item["a"], "kind": "receipt", "quantity": 0}, 422,
         "validation_failed", "quantity"),
        ("POST", path + "/movements", {"warehouse": item["a"], "kind": "receipt", "quantity": -2}, 422,
         "validation_failed", "quantity"),
        ("POST", path + "/movements", {"warehouse": item["a"], "kind": "sale", "quantity": -2}, 422,
         "validation_failed", "kind"),
        ("POST", path + "/movements", {"warehouse": item["a"], "kind": "receipt", "quantity": 10 ** 10}, 422,
         "validation_failed", "quantity"),
        ("POST", path + "/movements", {"warehouse": item["a"], "kind": "receipt", "quantity": 1, "note": "x" * 1001},
         422, "validation_failed", "note"),
        ("POST", path + "/movements", {"warehouse": "nowhere", "kind": "receipt", "quantity": 1}, 404,
         "warehouse_not_found", "warehouse"),
        ("PATCH", path, {"backorder_limit": -1}, 422, "validation_failed", "backorder_limit"),
        ("PATCH", path, {"backorder_limit": None}, 422, "validation_failed", "backorder_limit"),
        ("PATCH", path, {"low_stock_threshold": "low"}, 422, "validation_failed", "low_stock_threshold"),
        ("PATCH", f"/v1/admin/warehouses/{item['a']}", {"priority": 1000001}, 422, "validation_failed", "priority"),
        ("PATCH", "/v1/admin/warehouses/nowhere", {"priority": 1}, 404, "warehouse_not_found", "warehouse"),
    ]
    for method, where, body, status, code, field in cases:
        r = api.request(method, where, body, token=inventory)
        assert (r.status, r.error_code) == (status, code), (method, body, r.text)
        if field:
            assert field in r.json["error"]["details"]["fields"], r.text
    assert ledger(admin_url, item["variant_id"]) == []
    assert api.get(path, token=inventory).json["warehouses"] == []


def test_on_hand_never_falls_below_what_is_reserved_beyond_the_backorder_limit(
    api: Client, admin_url: str, inventory: str, item: dict[str, Any]
) -> None:
    path = f"/v1/admin/inventory/{item['sku']}"
    api.put(path, {"warehouse": item["a"], "on_hand": 5}, token=inventory)
    reserve(admin_url, item["variant_id"], item["a"], 4)
    short = api.put(path, {"warehouse": item["a"], "on_hand": 3}, token=inventory)
    assert (short.status, short.error_code) == (409, "insufficient_stock"), short.text
    assert short.json["error"]["details"] == {"sku": item["sku"], "warehouse": item["a"], "quantity": -2,
                                              "on_hand": 5, "reserved": 4, "backorder_limit": 0}
    taken = api.post(path + "/movements", {"warehouse": item["a"], "kind": "adjustment", "quantity": -2},
                     token=inventory)
    assert (taken.status, taken.error_code) == (409, "insufficient_stock")
    nothing = api.post(path + "/movements", {"warehouse": item["b"], "kind": "correction", "quantity": -1},
                       token=inventory)
    assert (nothing.status, nothing.error_code) == (409, "insufficient_stock"), nothing.text

    # Backorders: 3 more may be reserved than there is, so on_hand may go down to 1.
    allowed = api.patch(path, {"backorder_limit": 3}, token=inventory)
    assert allowed.status == 200 and allowed.json["backorder_limit"] == 3, allowed.text
    r = api.put(path, {"warehouse": item["a"], "on_hand": 1}, token=inventory)
    assert r.status == 200 and r.json == {"sku": item["sku"], "warehouse": item["a"], "on_hand": 1, "reserved": 4,
                                          "available": -3}
    assert api.put(path, {"warehouse": item["a"], "on_hand": 0}, token=inventory).status == 409
    lowered = api.patch(path, {"backorder_limit": 2}, token=inventory)
    assert (lowered.status, lowered.error_code) == (409, "backorders_exceed_limit"), lowered.text
    assert api.get(path, token=inventory).json["backorder_limit"] == 3
    assert [row[2] for row in ledger(admin_url, item["variant_id"])] == [5, -4]


def test_a_low_stock_threshold_writes_one_event_per_crossing(
    api: Client, admin_url: str, inventory: str, item: dict[str, Any]
) -> None:
    path = f"/v1/admin/inventory/{item['sku']}"
    api.put(path, {"warehouse": item["a"], "on_hand": 10}, token=inventory)
    r = api.patch(path, {"low_stock_threshold": 4}, token=inventory)
    assert r.status == 200 and (r.json["low_stock_threshold"], r.json["low_stock"]) == (4, False), r.text
    for on_hand in (4, 3, 2, 8, 1):  # crosses at 4, re-arms at 8, crosses again at 1
        assert api.put(path, {"warehouse": item["a"], "on_hand": on_hand}, token=inventory).status == 200
    assert api.get(path, token=inventory).json["low_stock"] is True
    with psycopg.connect(admin_url) as conn:
        events = conn.execute(
            "SELECT type, payload FROM integration.events WHERE subject_id = %s ORDER BY created_at, id",
            [item["variant_id"]],
        ).fetchall()
    assert [(t, p["available"], p["sku"], p["low_stock_threshold"]) for t, p in events] == [
        ("stock.low", 4, item["sku"], 4), ("stock.low", 1, item["sku"], 4)]
    cleared = api.patch(path, {"low_stock_threshold": None}, token=inventory)
    assert (cleared.json["low_stock_threshold"], cleared.json["low_stock"]) == (None, False)


def test_warehouses_are_listed_in_allocation_order_and_reprioritised(
    api: Client, inventory: str, orders: str, item: dict[str, Any]
) -> None:
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = api.get("/v1/admin/warehouses?limit=50" + (f"&cursor={cursor}" if cursor else ""), token=orders)
        assert page.status == 200, page.text
        seen += page.json["items"]
        cursor = page.json["next_cursor"]
        if cursor is None:
            break
    order = [(w["priority"], w["code"]) for w in seen]
    assert order == sorted(order) and {item["a"], item["b"]} <= {w["code"] for w in seen}
    r = api.patch(f"/v1/admin/warehouses/{item['a']}", {"priority": 0}, token=inventory)
    assert r.status == 200 and (r.json["code"], r.json["priority"]) == (item["a"], 0), r.text
    api.put(f"/v1/admin/inventory/{item['sku']}", {"warehouse": item["b"], "on_hand": 1}, token=inventory)
    api.put(f"/v1/admin/inventory/{item['sku']}", {"warehouse": item["a"], "on_hand": 1}, token=inventory)
    stock = api.get(f"/v1/admin/inventory/{item['sku']}", token=orders).json
    assert [w["warehouse"] for w in stock["warehouses"]] == [item["a"], item["b"]]


def test_a_sku_with_a_slash_is_reached_percent_encoded(
    api: Client, admin_url: str, inventory: str, item: dict[str, Any]
) -> None:
    sku = item["sku"] + "/B"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("INSERT INTO shop.product_variants (product_id, sku, name) VALUES (%s, %s, 'Slash')",
                     [item["product_id"], sku])
    r = api.put(f"/v1/admin/inventory/{sku.replace('/', '%2F')}", {"warehouse": item["a"], "on_hand": 2},
                token=inventory)
    assert r.status == 200 and r.json["sku"] == sku, r.text


@pytest.mark.parametrize(("method", "path"), [(r.method, r.path) for r in ROUTES if r.tag == "inventory"])
def test_fuzz_as_an_inventory_manager(
    fuzz_schema: Any, method: str, path: str, inventory: str,  # noqa: F811
    state: StateSummary,  # noqa: F811
) -> None:
    """Whatever an inventory manager sends: never a 5xx, and a refused request changes nothing."""
    fuzz(fuzz_schema, method, path, {"Authorization": f"Bearer {inventory}"}, state)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=5,
)
FIELDS = ["warehouse", "on_hand", "note", "kind", "quantity", "reference", "backorder_limit", "low_stock_threshold",
          "priority"]


def test_odd_bodies_for_a_real_sku_are_refused_cleanly(api: Client, inventory: str, item: dict[str, Any]) -> None:
    """Bodies of any shape and type for an existing SKU and warehouse: never a 5xx, errors in the envelope."""
    near_valid = {"warehouse": st.sampled_from([item["a"], item["b"].upper()]) | JSON,
                  "kind": st.sampled_from(["receipt", "adjustment", "correction", "sale"]) | JSON,
                  "quantity": st.integers(-10 ** 10, 10 ** 10) | JSON, "on_hand": st.integers(-5, 10 ** 10) | JSON}
    bodies = st.fixed_dictionaries({}, optional={f: near_valid.get(f, JSON) for f in FIELDS})
    routes = st.sampled_from([("PUT", ""), ("PATCH", ""), ("POST", "/movements")])

    @settings(max_examples=60, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(route=routes, body=bodies)
    def run(route: tuple[str, str], body: dict[str, Any]) -> None:
        r = api.request(route[0], f"/v1/admin/inventory/{item['sku']}{route[1]}", body, token=inventory)
        assert r.status < 500, (route, body, r.text)
        if r.status >= 400:
            assert set(r.json["error"]) == {"code", "message", "details"}, r.text

    run()
