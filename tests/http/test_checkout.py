"""Checkout over HTTP (POST /v1/carts/{id}/checkout): a guest's and a customer's whole flow, idempotent
replays, every line reserved or none, re-validated prices, gapless numbers and the errors that change
nothing. The stock rules themselves are tested in tests/sql/22_checkout.sql; the races in
tests/concurrency/test_checkout_races.py."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from .conftest import Client, Response
from .test_accounts import PASSWORD, new_email
from .test_catalog_admin import token_of

COUNTRY = "MC"  # the tests' own shipping zone: neither the demo data nor another module ships there


@dataclass
class Sku:
    sku: str
    variant_id: str
    price: int


def make_skus(admin_url: str, stock: list[int], price: int = 1000, warehouses: int = 1) -> list[Sku]:
    """Published variants priced in EUR, each with stock[i] units in the first of `warehouses` new
    warehouses (received through the ledger), and a shipping method to COUNTRY."""
    tag = uuid.uuid4().hex[:8]
    made: list[Sku] = []
    with psycopg.connect(admin_url, autocommit=True) as conn:
        # The demo first: it loads only into an empty catalog, and other modules' tests rely on it.
        conn.execute("SELECT shop.load_demo_catalog()")
        product = conn.execute(
            "INSERT INTO shop.products (slug, name, status) VALUES (%s, %s, 'published') RETURNING id",
            [f"checkout-{tag}", f"Checkout {tag}"],
        ).fetchone()[0]
        places = [conn.execute(
            "INSERT INTO shop.warehouses (code, name, priority) VALUES (%s, %s, %s) RETURNING id",
            [f"co-{tag}-{n}", f"Checkout {tag} {n}", n],
        ).fetchone()[0] for n in range(warehouses)]
        for n, units in enumerate(stock):
            sku = f"CO-{tag}-{n}"
            variant = conn.execute(
                "INSERT INTO shop.product_variants (product_id, sku, name, weight_grams) VALUES (%s, %s, %s, 100)"
                " RETURNING id", [product, sku, f"V{n}"],
            ).fetchone()[0]
            conn.execute("INSERT INTO shop.variant_prices (variant_id, currency, amount) VALUES (%s, 'EUR', %s)",
                         [variant, price])
            if units:
                conn.execute("INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity)"
                             " VALUES (%s, %s, 'receipt', %s)", [variant, places[0], units])
            made.append(Sku(sku, str(variant), price))
        ensure_shipping(conn)
    return made


def ensure_shipping(conn: psycopg.Connection) -> None:
    conn.execute(
        "INSERT INTO shop.shipping_zones (code, name) VALUES ('checkout-tests', 'Checkout tests')"
        " ON CONFLICT (code) DO NOTHING")
    conn.execute(
        "INSERT INTO shop.shipping_zone_countries (zone_id, country)"
        " SELECT id, %s FROM shop.shipping_zones WHERE code = 'checkout-tests' ON CONFLICT DO NOTHING", [COUNTRY])
    conn.execute(
        "INSERT INTO shop.shipping_methods (zone_id, code, name, currency, rate_kind, flat_amount)"
        " SELECT id, 'checkout-post', 'Post', 'EUR', 'flat', 495 FROM shop.shipping_zones"
        " WHERE code = 'checkout-tests' ON CONFLICT (code) DO NOTHING")


ADDRESS = {"full_name": "Ada Buyer", "line1": "1 Avenue de la Costa", "city": "Monaco", "postal_code": "98000",
           "country": COUNTRY}


@dataclass
class Cart:
    id: str
    headers: dict[str, str]  # X-Cart-Token for a guest; empty for a customer (the bearer token decides)
    token: str | None = None  # the customer's access token

    def kw(self, key: str | None = None) -> dict[str, Any]:
        headers = dict(self.headers)
        if key:
            headers["Idempotency-Key"] = key
        return {"headers": headers, "token": self.token}


def new_cart(api: Client, lines: list[tuple[Sku, int]], token: str | None = None, ship: bool = True) -> Cart:
    """A cart holding the lines, with an address and the tests' shipping method (unless ship is False)."""
    r = api.post("/v1/carts", {"currency": "EUR"}, token=token)
    assert r.status == 201, r.text
    cart = Cart(r.json["id"], {} if token else {"X-Cart-Token": r.json["cart_token"]}, token)
    for sku, quantity in lines:
        added = api.post(f"/v1/carts/{cart.id}/items", {"sku": sku.sku, "quantity": quantity}, **cart.kw())
        assert added.status == 201, added.text
    if ship:
        assert api.put(f"/v1/carts/{cart.id}/shipping-address", ADDRESS, **cart.kw()).status == 200
        chosen = api.put(f"/v1/carts/{cart.id}/shipping-method", {"code": "checkout-post"}, **cart.kw())
        assert chosen.status == 200, chosen.text
    return cart


def checkout(api: Client, cart: Cart, key: str | None = None, **body: Any) -> Response:
    payload = {"payment_method": "manual", **({} if cart.token else {"email": "guest@example.com"}), **body}
    return api.post(f"/v1/carts/{cart.id}/checkout", payload, **cart.kw(key or uuid.uuid4().hex))


def stock(admin_url: str, sku: Sku) -> tuple[int, int]:
    """(on_hand, reserved) summed over warehouses."""
    with psycopg.connect(admin_url) as conn:
        row = conn.execute("SELECT coalesce(sum(on_hand), 0), coalesce(sum(reserved), 0) FROM shop.stock_levels"
                           " WHERE variant_id = %s", [sku.variant_id]).fetchone()
    return int(row[0]), int(row[1])


def order_count(admin_url: str, sku: Sku) -> int:
    with psycopg.connect(admin_url) as conn:
        return int(conn.execute("SELECT count(DISTINCT order_id) FROM shop.order_items WHERE variant_id = %s",
                                [sku.variant_id]).fetchone()[0])


@pytest.fixture
def two_skus(admin_url: str) -> Iterator[list[Sku]]:
    yield make_skus(admin_url, [5, 1], price=1250)


def test_a_guest_checks_out_and_the_order_snapshots_the_cart(api: Client, admin_url: str,
                                                            two_skus: list[Sku]) -> None:
    a, b = two_skus
    cart = new_cart(api, [(a, 2), (b, 1)])
    shown = api.get(f"/v1/carts/{cart.id}", **cart.kw())
    assert shown.status == 200, shown.text
    r = checkout(api, cart)
    assert r.status == 201, r.text
    order = r.json["order"]
    assert order["status"] == "pending_payment" and order["payment_status"] == "unpaid"
    assert order["email"] == "guest@example.com" and isinstance(order["number"], int)
    assert [(i["sku"], i["quantity"], i["unit_price"]["amount"]) for i in order["items"]] == \
        [(a.sku, 2, 1250), (b.sku, 1, 1250)]
    for name in ("subtotal", "discount_total", "shipping_total", "tax_total", "total"):
        assert order[name] == shown.json[name], name
    assert order["shipping_total"]["amount"] == 495
    assert order["total"]["amount"] == 3 * 1250 + 495  # no tax rate for the tests' country
    assert stock(admin_url, a) == (5, 2) and stock(admin_url, b) == (1, 1), "reserved, on hand unchanged"

    again = api.get(f"/v1/carts/{cart.id}", **cart.kw())
    assert again.json["status"] == "ordered"
    late = api.post(f"/v1/carts/{cart.id}/items", {"sku": a.sku, "quantity": 1}, **cart.kw())
    assert late.status == 409 and late.error_code == "cart_not_open", late.text
    twice = checkout(api, cart)
    assert twice.status == 409 and twice.error_code == "cart_not_open", twice.text
    assert order_count(admin_url, a) == 1


def test_the_same_key_replays_the_order_and_another_body_is_refused(api: Client, admin_url: str,
                                                                   two_skus: list[Sku]) -> None:
    a, _ = two_skus
    cart = new_cart(api, [(a, 1)])
    key = uuid.uuid4().hex
    first = checkout(api, cart, key)
    assert first.status == 201, first.text
    replay = checkout(api, cart, key)
    assert replay.status == 201 and replay.json == first.json
    assert replay.headers.get("idempotent-replayed") == "true"
    other = checkout(api, cart, key, payment_method="cash_on_delivery")
    assert other.status == 422 and other.error_code == "idempotency_key_reused", other.text
    assert order_count(admin_url, a) == 1 and stock(admin_url, a) == (5, 1)


def test_a_short_line_reserves_nothing_and_names_every_short_line(api: Client, admin_url: str,
                                                                 two_skus: list[Sku]) -> None:
    a, b = two_skus
    cart = new_cart(api, [(a, 1), (b, 1)])
    rival = new_cart(api, [(b, 1)])
    assert checkout(api, rival).status == 201  # takes the last unit of b
    r = checkout(api, cart)
    assert r.status == 409 and r.error_code == "out_of_stock", r.text
    items = r.json["error"]["details"]["items"]
    assert [(i["sku"], i["requested"], i["available"]) for i in items] == [(b.sku, 1, 0)]
    assert items[0]["item_id"] in {i["id"] for i in api.get(f"/v1/carts/{cart.id}", **cart.kw()).json["items"]}
    assert stock(admin_url, a) == (5, 0), "the line that fitted was not reserved either"
    assert api.get(f"/v1/carts/{cart.id}", **cart.kw()).json["status"] == "open"


def test_a_changed_price_is_refused_until_the_cart_is_shown_again(api: Client, admin_url: str,
                                                                  two_skus: list[Sku]) -> None:
    a, _ = two_skus
    cart = new_cart(api, [(a, 2)])
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("UPDATE shop.variant_prices SET amount = 1400 WHERE variant_id = %s", [a.variant_id])
    r = checkout(api, cart)
    assert r.status == 409 and r.error_code == "price_changed", r.text
    (changed,) = r.json["error"]["details"]["items"]
    assert (changed["quoted_unit_price"]["amount"], changed["unit_price"]["amount"]) == (1250, 1400)
    assert stock(admin_url, a) == (5, 0)
    item_id = changed["item_id"]
    assert api.patch(f"/v1/carts/{cart.id}/items/{item_id}", {"quantity": 2}, **cart.kw()).status == 200
    ok = checkout(api, cart)
    assert ok.status == 201, ok.text
    assert ok.json["order"]["items"][0]["unit_price"]["amount"] == 1400


def test_what_checkout_needs_is_named_and_nothing_changes(api: Client, admin_url: str,
                                                          two_skus: list[Sku]) -> None:
    a, _ = two_skus
    empty = new_cart(api, [], ship=False)
    assert checkout(api, empty).error_code == "cart_empty"
    unshipped = new_cart(api, [(a, 1)], ship=False)
    assert checkout(api, unshipped).error_code == "shipping_address_required"
    assert api.put(f"/v1/carts/{unshipped.id}/shipping-address", ADDRESS, **unshipped.kw()).status == 200
    assert checkout(api, unshipped).error_code == "shipping_method_required"

    cart = new_cart(api, [(a, 1)])
    bad = checkout(api, cart, payment_method="barter", email="not-an-email")
    assert bad.status == 422 and set(bad.json["error"]["details"]["fields"]) == {"payment_method", "email"}
    no_email = api.post(f"/v1/carts/{cart.id}/checkout", {"payment_method": "manual"}, **cart.kw("k-" + cart.id))
    assert no_email.status == 422 and "email" in no_email.json["error"]["details"]["fields"], no_email.text
    foreign = api.post(f"/v1/carts/{cart.id}/checkout", {"payment_method": "manual", "email": "x@example.com"},
                       headers={"X-Cart-Token": "not-the-token"})
    assert foreign.status == 404 and foreign.error_code == "cart_not_found", foreign.text
    assert stock(admin_url, a) == (5, 0) and order_count(admin_url, a) == 0


def test_order_numbers_have_no_gaps_even_after_refusals(api: Client, admin_url: str) -> None:
    (a,) = make_skus(admin_url, [3])
    numbers = []
    carts = [new_cart(api, [(a, 1)]) for _ in range(5)]  # all filled while there is stock
    for n, cart in enumerate(carts):
        r = checkout(api, cart)
        if n < 3:
            assert r.status == 201, r.text
            numbers.append(r.json["order"]["number"])
        else:
            assert r.error_code == "out_of_stock"
    follow = checkout(api, new_cart(api, [(make_skus(admin_url, [1])[0], 1)]))
    numbers.append(follow.json["order"]["number"])
    assert numbers == list(range(numbers[0], numbers[0] + 4)), numbers


def test_a_customer_checks_out_with_the_account_email(api: Client, admin_url: str, two_skus: list[Sku]) -> None:
    email = new_email()
    assert api.post("/v1/auth/register", {"email": email, "password": PASSWORD, "full_name": "C"}).status == 201
    token = token_of(api, email, PASSWORD)
    a, _ = two_skus
    cart = new_cart(api, [(a, 1)], token=token)
    r = api.post(f"/v1/carts/{cart.id}/checkout", {"payment_method": "manual"}, **cart.kw(uuid.uuid4().hex))
    assert r.status == 201, r.text
    assert r.json["order"]["email"] == email
    # Checkout builds its answer before it writes the order row: the row must say the same.
    shown = api.get(f"/v1/orders/{r.json['order']['id']}", token=token)
    assert shown.status == 200 and shown.json == r.json["order"], shown.text
    with psycopg.connect(admin_url) as conn:
        events = conn.execute("SELECT type FROM integration.events WHERE subject_id = %s",
                              [r.json["order"]["id"]]).fetchall()
    assert ("order.created",) in events
