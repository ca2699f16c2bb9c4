"""Checkouts racing through the real server on many connections at once: the flash sale sells exactly
the stock, a limited coupon is used exactly its limit, SKUs held in opposite orders never deadlock into an
error, and afterwards reserved equals the open allocations and on_hand equals the ledger everywhere."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg

from tests.http.conftest import Client, Response
from tests.http.test_checkout import Cart, Sku, checkout, make_skus, new_cart, stock

BUYERS = 50  # HTTP clients released together; each buyer places at most one checkout at a time


def race(calls: list[Any], clients: int = BUYERS) -> list[Response]:
    """Runs the calls on `clients` threads, the first `clients` released by one barrier."""
    gate = threading.Barrier(min(clients, len(calls)))

    def run(numbered: tuple[int, Any]) -> Response:
        if numbered[0] < clients:
            gate.wait()
        return numbered[1]()

    with ThreadPoolExecutor(max_workers=clients) as pool:
        return list(pool.map(run, enumerate(calls)))


def prepared_carts(api: Client, lines: list[list[tuple[Sku, int]]]) -> list[Cart]:
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda held: new_cart(api, held), lines))


def books_agree(admin_url: str, skus: list[Sku]) -> list[Any]:
    """Every stock row of the SKUs whose reserved differs from its open allocations or whose on_hand
    differs from its ledger, and every listing of their products whose availability (kept by adding each
    write's change) differs from a recount: an empty list when the books agree. (Only the test's own SKUs:
    other modules set reserved by hand.)"""
    with psycopg.connect(admin_url) as conn:
        listings = conn.execute("""
            SELECT l.product_id, l.available, a.available
            FROM shop.product_listings l
            JOIN shop.product_availability(ARRAY(SELECT product_id FROM shop.product_variants
                                                 WHERE id = ANY(%s::uuid[]))) a USING (product_id)
            WHERE l.available <> a.available
        """, [[s.variant_id for s in skus]]).fetchall()
        return listings + conn.execute("""
            SELECT s.variant_id, s.warehouse_id, s.on_hand, s.reserved, l.total, a.open
            FROM shop.stock_levels s
            LEFT JOIN (SELECT variant_id, warehouse_id, sum(quantity) AS total FROM shop.stock_movements
                       GROUP BY 1, 2) l USING (variant_id, warehouse_id)
            LEFT JOIN (SELECT variant_id, warehouse_id,
                              sum(quantity - quantity_fulfilled - quantity_released) AS open
                       FROM shop.order_allocations GROUP BY 1, 2) a USING (variant_id, warehouse_id)
            WHERE s.variant_id = ANY(%s::uuid[])
                AND (s.on_hand <> coalesce(l.total, 0) OR s.reserved <> coalesce(a.open, 0))
        """, [[s.variant_id for s in skus]]).fetchall()


def test_the_flash_sale_sells_exactly_the_stock(server: Client, admin_url: str) -> None:
    (sale,) = make_skus(admin_url, [50])
    carts = prepared_carts(server, [[(sale, 1)]] * 100)
    results = race([lambda c=c: checkout(server, c) for c in carts], clients=100)
    statuses = Counter(r.status for r in results)
    assert statuses == {201: 50, 409: 50}, (statuses, [r.text for r in results if r.status not in (201, 409)][:3])
    assert {r.error_code for r in results if r.status == 409} == {"out_of_stock"}
    assert all(r.json["error"]["details"]["items"][0]["available"] == 0 for r in results if r.status == 409)
    assert stock(admin_url, sale) == (50, 50), "reserved 50, available 0"
    numbers = sorted(r.json["order"]["number"] for r in results if r.status == 201)
    assert numbers == list(range(numbers[0], numbers[0] + 50)), "gapless under the race"
    assert books_agree(admin_url, [sale]) == []


def test_a_coupon_limited_to_five_gives_exactly_five_orders(server: Client, admin_url: str) -> None:
    (item,) = make_skus(admin_url, [100])
    code = "RACE" + uuid.uuid4().hex[:8].upper()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("INSERT INTO shop.promotions (code, name, kind, value, usage_limit)"
                     " VALUES (%s, 'Race', 'percent', 10, 5)", [code])
    carts = prepared_carts(server, [[(item, 1)]] * 20)
    for cart in carts:
        applied = server.put(f"/v1/carts/{cart.id}/coupon", {"code": code}, **cart.kw())
        assert applied.status == 200, applied.text
    results = race([lambda c=c: checkout(server, c) for c in carts], clients=20)
    statuses = Counter(r.status for r in results)
    assert statuses == {201: 5, 409: 15}, (statuses, [r.text for r in results if r.status not in (201, 409)][:3])
    assert {r.error_code for r in results if r.status == 409} == {"coupon_exhausted"}
    with psycopg.connect(admin_url) as conn:
        used, redeemed = conn.execute(
            "SELECT p.times_used, (SELECT count(*) FROM shop.promotion_redemptions r WHERE r.promotion_id = p.id)"
            " FROM shop.promotions p WHERE p.code = %s", [code]).fetchone()
    assert (used, redeemed) == (5, 5)
    assert stock(admin_url, item) == (100, 5), "the refused checkouts reserved nothing"


def test_opposite_orders_of_the_same_skus_never_deadlock_into_an_error(server: Client, admin_url: str) -> None:
    a, b = make_skus(admin_url, [1000, 1000], warehouses=2)
    carts = prepared_carts(server, [[(a, 1), (b, 2)] if n % 2 else [(b, 2), (a, 1)] for n in range(200)])
    results = race([lambda c=c: checkout(server, c) for c in carts])
    assert Counter(r.status for r in results) == {201: 200}, [r.text for r in results if r.status != 201][:3]
    assert stock(admin_url, a) == (1000, 200) and stock(admin_url, b) == (1000, 400)
    assert books_agree(admin_url, [a, b]) == []


def test_a_random_mix_of_order_operations_keeps_the_books_exact(server: Client, admin_url: str) -> None:
    """Checkouts, payments, cancellations, fulfilments and returns on shared SKUs at once; afterwards every
    stock row's reserved equals its open allocations and its on_hand its ledger, and no client saw a 5xx."""
    import random

    from tests.http.test_catalog_admin import staff_token

    manager = staff_token(server, admin_url, "order_manager")
    skus = make_skus(admin_url, [40, 40, 40], warehouses=2)
    rng = random.Random(2026)
    carts = prepared_carts(server, [[(s, rng.randint(1, 3)) for s in rng.sample(skus, rng.randint(1, 3))]
                                    for _ in range(60)])
    placed = race([lambda c=c: checkout(server, c) for c in carts], clients=20)
    assert all(r.status in (201, 409) for r in placed), [r.text for r in placed if r.status not in (201, 409)][:3]
    orders = [r.json["order"] for r in placed if r.status == 201]
    assert orders, "some checkouts must succeed"

    def pay(order: dict) -> Response:
        return server.post(f"/v1/admin/orders/{order['id']}/payments", {"amount": order["total"]["amount"]},
                           token=manager, headers={"Idempotency-Key": uuid.uuid4().hex})

    def cancel(order: dict) -> Response:
        return server.post(f"/v1/orders/{order['id']}/cancel", {}, token=manager,
                           headers={"Idempotency-Key": uuid.uuid4().hex})

    def ship(order: dict) -> Response:
        items = [{"item_id": i["id"], "quantity": rng.randint(1, i["quantity"])} for i in order["items"]]
        return server.post(f"/v1/admin/orders/{order['id']}/fulfillments", {"items": items, "carrier": "DHL"},
                           token=manager, headers={"Idempotency-Key": uuid.uuid4().hex})

    def give_back(order: dict) -> Response:
        items = [{"item_id": i["id"], "quantity": 1} for i in order["items"]]
        return server.post(f"/v1/admin/orders/{order['id']}/returns",
                           {"items": items, "restock": rng.random() < 0.5}, token=manager,
                           headers={"Idempotency-Key": uuid.uuid4().hex})

    # Round 1 pays some orders while others are cancelled; round 2 ships and cancels the paid ones at once
    # (each order's lock decides which comes first); round 3 returns what shipped.
    first = race([(lambda o=o: pay(o)) if n % 3 else (lambda o=o: cancel(o)) for n, o in enumerate(orders)],
                 clients=20)
    second = race([fn for o in orders for fn in (lambda o=o: ship(o), lambda o=o: cancel(o))], clients=20)
    third = race([lambda o=o: give_back(o) for o in orders], clients=20)
    for results in (first, second, third):
        assert all(r.status < 500 for r in results), [r.text for r in results if r.status >= 500][:3]
        assert {r.status for r in results} <= {200, 201, 409, 422}, [r.text for r in results if r.status >= 400][:3]
    assert any(r.status in (200, 201) for r in second), "some shipments happened"
    assert books_agree(admin_url, skus) == []
