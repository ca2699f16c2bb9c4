"""Erasure (DELETE /v1/me) raced against itself and against the customer's own checkout: one erasure wins,
and no order is ever left carrying the e-mail or address of an erased account."""

from __future__ import annotations

import random
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg

from tests.http.conftest import Client, Response
from tests.http.test_checkout import checkout, make_skus, new_cart
from tests.orders_fixture import Line, place_order

PASSWORD = "race-password-123"


def signed_in(server: Client) -> dict[str, Any]:
    email = f"erase-{uuid.uuid4().hex[:10]}@example.com"
    r = server.post("/v1/auth/register", {"email": email, "password": PASSWORD, "full_name": "Erin Race"})
    assert r.status == 201, r.text
    return {"id": r.json["customer"]["id"], "email": email,
            "token": server.post("/v1/auth/login", {"email": email, "password": PASSWORD}).json["access_token"]}


def test_parallel_erasures_erase_once(server: Client, admin: psycopg.Connection) -> None:
    me = signed_in(server)
    n = 8
    gate = threading.Barrier(n)

    def erase(_: int) -> Response:
        gate.wait()
        return server.delete("/v1/me", json_body={"password": PASSWORD}, token=me["token"])

    with ThreadPoolExecutor(n) as pool:
        statuses = sorted(r.status for r in pool.map(erase, range(n)))
    assert statuses == [204] + [401] * (n - 1), statuses
    assert admin.execute("SELECT count(*) FROM integration.events WHERE type = 'customer.deleted' AND subject_id = %s",
                         [me["id"]]).fetchone()[0] == 1


def test_erasure_against_a_checkout_never_leaves_a_personal_order(server: Client, admin_url: str,
                                                                 admin: psycopg.Connection) -> None:
    (sku,) = make_skus(admin_url, [50])
    rng = random.Random(7)
    outcomes = []
    for _ in range(8):
        me = signed_in(server)
        cart = new_cart(server, [(sku, 1)], token=me["token"])
        # The erasure spends ~0.4 s on argon2 before it reaches the database: start the checkout at
        # spread-out moments around and after then, so both orders of arrival happen.
        delay = rng.uniform(0.0, 0.4)

        def place() -> Response:
            threading.Event().wait(delay)
            return checkout(server, cart)

        with ThreadPoolExecutor(2) as pool:
            placing = pool.submit(place)
            erasing = pool.submit(server.delete, "/v1/me", json_body={"password": PASSWORD}, token=me["token"])
            placed, erased = placing.result(), erasing.result()
        outcomes.append((placed.status, erased.status))
        assert (placed.status, erased.status) in {(201, 409), (401, 204), (404, 204), (409, 204)}, \
            (placed.text, erased.text)
        if erased.status == 409:
            assert erased.error_code == "open_orders"
    leaked = admin.execute(
        "SELECT count(*) FROM shop.orders o JOIN auth.accounts a ON a.id = o.customer_id"
        " WHERE a.anonymised_at IS NOT NULL AND (o.email <> a.email OR o.shipping_address ? 'line2'"
        " OR o.shipping_address ->> 'line1' <> 'Erased')").fetchone()[0]
    assert leaked == 0, outcomes


def test_an_erasure_waits_for_a_checkout_holding_the_cart(server: Client, admin_url: str,
                                                          admin: psycopg.Connection) -> None:
    """A checkout in flight holds its cart: the erasure waits for it and then sees the new order (409), instead
    of anonymising the orders it saw and leaving the new one with the customer's e-mail and address."""
    (sku,) = make_skus(admin_url, [5])
    me = signed_in(server)
    cart = new_cart(server, [(sku, 1)], token=me["token"])
    with psycopg.connect(admin_url) as checkout_tx:  # plays the checkout: holds the cart, then places an order
        checkout_tx.execute("SELECT 1 FROM shop.carts WHERE id = %s FOR NO KEY UPDATE", [cart.id])
        with ThreadPoolExecutor(1) as pool:
            erasing = pool.submit(server.delete, "/v1/me", json_body={"password": PASSWORD}, token=me["token"])
            for _ in range(200):  # until the erasure waits for the cart's lock
                waiting = admin.execute(
                    "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                    " WHERE NOT l.granted AND a.query LIKE %s", ["%auth.call_api(%"]).fetchone()[0]
                if waiting or erasing.done():
                    break
                threading.Event().wait(0.05)
            assert waiting, "the erasure never waited for the cart" + (erasing.result().text if erasing.done() else "")
            placed = place_order(checkout_tx, [Line(sku.variant_id, 1)], customer_id=me["id"], email=me["email"])
            checkout_tx.commit()
            erased = erasing.result()
    assert (erased.status, erased.error_code) == (409, "open_orders"), erased.text
    assert erased.json["error"]["details"]["orders"] == [placed.number]
    assert server.get("/v1/me", token=me["token"]).json["email"] == me["email"]  # nothing was erased
