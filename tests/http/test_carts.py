"""Carts over HTTP: guest carts and their token (made in Python, only its hash stored; replayed with an
Idempotency-Key), customers' carts, every cart route and its errors, access (another's cart or a wrong
token is 404), and the merge of a guest cart at login. The pricing rules themselves are tested in
tests/sql/19_carts.sql; promotions in test_promotions.py and tests/sql/20_promotions.sql."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest

from tests.concurrency.test_account_races import race

from .conftest import Client
from .test_accounts import login, register
from .test_inventory import remove_stock
from .test_stores import staff_token


@dataclass
class Item:
    product_id: str
    variant_id: str
    sku: str
    price: int


@dataclass
class Store:
    """A little catalog of the test's own: products, stock, a tax rate and shipping to Iceland (IS)."""

    tag: str
    category_id: str
    child_category_id: str
    collection_id: str
    items: dict[str, Item] = field(default_factory=dict)

    @property
    def standard(self) -> str:
        return f"tst-carts-{self.tag}-std"

    @property
    def express(self) -> str:
        return f"tst-carts-{self.tag}-exp"


# name: (status, tax class, category ("child", "parent" or None), price, weight, stock, backorder limit)
PRODUCTS = {
    "tee": ("published", "standard", "child", 2000, 200, 10, 0),
    "book": ("published", "reduced", "parent", 1500, 500, 3, 0),
    "mug": ("published", "standard", None, 999, 300, 50, 0),
    "draft": ("draft", "standard", None, 500, 100, 5, 0),
    "none_left": ("published", "standard", None, 700, 100, 0, 0),
    "backorder": ("published", "standard", None, 100, 100, 1, 2),
}


@pytest.fixture(scope="module")
def store(admin_url: str) -> Iterator[Store]:
    tag = uuid.uuid4().hex[:8]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        parent = conn.execute("INSERT INTO shop.categories (slug, name) VALUES (%s, 'Carts parent') RETURNING id",
                              [f"carts-{tag}"]).fetchone()[0]
        child = conn.execute("INSERT INTO shop.categories (slug, name, parent_id) VALUES (%s, 'Carts child', %s)"
                             " RETURNING id", [f"carts-{tag}-child", parent]).fetchone()[0]
        collection = conn.execute("INSERT INTO shop.collections (slug, name) VALUES (%s, 'Carts') RETURNING id",
                                  [f"carts-{tag}"]).fetchone()[0]
        warehouse = conn.execute("INSERT INTO shop.warehouses (code, name) VALUES (%s, 'Carts') RETURNING id",
                                 [f"carts-{tag}"]).fetchone()[0]
        made = Store(tag, str(parent), str(child), str(collection))
        for name, (status, tax_class, category, price, weight, stock, backorder) in PRODUCTS.items():
            product = conn.execute(
                "INSERT INTO shop.products (slug, name, status, tax_class, category_id) VALUES (%s, %s, %s, %s, %s)"
                " RETURNING id",
                [f"carts-{tag}-{name.replace('_', '-')}", f"Carts {name}", status, tax_class,
                 {"child": child, "parent": parent}.get(category or "")]).fetchone()[0]
            sku = f"CARTS-{tag}-{name}".upper().replace("_", "-")
            variant = conn.execute(
                "INSERT INTO shop.product_variants (product_id, sku, name, weight_grams, backorder_limit)"
                " VALUES (%s, %s, 'One', %s, %s) RETURNING id", [product, sku, weight, backorder]).fetchone()[0]
            conn.execute("INSERT INTO shop.variant_prices (variant_id, currency, amount) VALUES (%s, 'EUR', %s)",
                         [variant, price])
            if stock:
                conn.execute("INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity)"
                             " VALUES (%s, %s, 'receipt', %s)", [variant, warehouse, stock])
            made.items[name] = Item(str(product), str(variant), sku, price)
        conn.execute("INSERT INTO shop.collection_products (collection_id, product_id, position) VALUES (%s, %s, 0)",
                     [collection, made.items["mug"].product_id])
        conn.execute("INSERT INTO shop.tax_rates (country, tax_class, rate_percent, name) VALUES"
                     " ('IS', 'standard', 18, 'Carts VAT 18'), ('IS', 'reduced', 5, 'Carts VAT 5')")
        zone = conn.execute("INSERT INTO shop.shipping_zones (code, name) VALUES (%s, 'Carts IS') RETURNING id",
                            [f"tst-carts-{tag}"]).fetchone()[0]
        conn.execute("INSERT INTO shop.shipping_zone_countries (zone_id, country) VALUES (%s, 'IS')", [zone])
        conn.execute(
            "INSERT INTO shop.shipping_methods (zone_id, code, name, currency, rate_kind, flat_amount,"
            " free_from_subtotal, position) VALUES (%s, %s, 'Standard', 'EUR', 'flat', 500, NULL, 1),"
            " (%s, %s, 'Express', 'EUR', 'flat', 1200, 10000, 2)", [zone, made.standard, zone, made.express])
    yield made
    with psycopg.connect(admin_url, autocommit=True) as conn:
        variants = [i.variant_id for i in made.items.values()]
        remove_stock(conn, variants)
        conn.execute("DELETE FROM shop.promotion_targets WHERE product_id = ANY(%s::uuid[])",
                     [[i.product_id for i in made.items.values()]])
        conn.execute("DELETE FROM shop.products WHERE id = ANY(%s::uuid[])",
                     [[i.product_id for i in made.items.values()]])
        conn.execute("DELETE FROM shop.categories WHERE id = %s", [child])
        conn.execute("DELETE FROM shop.categories WHERE id = %s", [parent])
        conn.execute("DELETE FROM shop.collections WHERE id = %s", [collection])
        conn.execute("DELETE FROM shop.warehouses WHERE id = %s", [warehouse])
        conn.execute("DELETE FROM shop.shipping_methods WHERE zone_id = %s", [zone])
        conn.execute("DELETE FROM shop.shipping_zones WHERE id = %s", [zone])
        conn.execute("DELETE FROM shop.tax_rates WHERE name LIKE 'Carts VAT %'")


@dataclass
class Cart:
    id: str
    headers: dict[str, str]
    token: str | None = None  # a customer's bearer token

    def path(self, rest: str = "") -> str:
        return f"/v1/carts/{self.id}{rest}"


def guest_cart(api: Client, body: dict[str, Any] | None = None) -> Cart:
    r = api.post("/v1/carts", body or {})
    assert r.status == 201, r.text
    assert r.json["cart_token"], r.text
    return Cart(r.json["id"], {"X-Cart-Token": r.json["cart_token"]})


def customer_token(api: Client) -> str:
    return login(api, register(api)["email"])["access_token"]


def call(api: Client, cart: Cart, method: str, rest: str = "", body: Any = None) -> Any:
    return api.request(method, cart.path(rest), body, token=cart.token, headers=cart.headers)


def add(api: Client, cart: Cart, item: Item, quantity: int = 1) -> Any:
    return call(api, cart, "POST", "/items", {"sku": item.sku, "quantity": quantity})


ADDRESS = {"full_name": "Ada Lovelace", "line1": "Laugavegur 1", "city": "Reykjavik", "postal_code": "101",
         "country": "is"}


# -- creating and reaching a cart -----------------------------------------------------------------
def test_a_guest_cart_comes_with_a_token_whose_hash_alone_is_stored(api: Client, admin_url: str) -> None:
    r = api.post("/v1/carts", {})
    assert r.status == 201, r.text
    assert r.headers["cache-control"] == "no-store"
    body = r.json
    assert body["currency"] == "EUR" and body["status"] == "open" and body["items"] == []
    assert body["total"] == {"amount": 0, "currency": "EUR"} and body["coupon_code"] is None
    assert len(body["cart_token"]) >= 43
    with psycopg.connect(admin_url) as conn:
        stored = conn.execute("SELECT token_hash, customer_id FROM shop.carts WHERE id = %s", [body["id"]]).fetchone()
    assert bytes(stored[0]) == hashlib.sha256(body["cart_token"].encode()).digest()
    assert stored[1] is None


def test_a_cart_needs_its_token_or_its_customer(api: Client) -> None:
    cart = guest_cart(api)
    assert api.get(cart.path(), headers=cart.headers).status == 200
    for headers in ({}, {"X-Cart-Token": "not-the-token"}, {"X-Cart-Token": guest_cart(api).headers["X-Cart-Token"]}):
        r = api.get(cart.path(), headers=headers)
        assert r.status == 404 and r.error_code == "cart_not_found", r.text
    stranger = customer_token(api)
    assert api.get(cart.path(), token=stranger).error_code == "cart_not_found"
    assert api.get(f"/v1/carts/{uuid.uuid4()}", headers=cart.headers).error_code == "cart_not_found"
    assert api.get("/v1/carts/not-a-uuid", headers=cart.headers).error_code == "cart_not_found"


def test_a_customer_has_one_open_cart_and_others_cannot_see_it(api: Client) -> None:
    token = customer_token(api)
    first = api.post("/v1/carts", {}, token=token)
    assert first.status == 201, first.text
    assert first.json["cart_token"] is None
    again = api.post("/v1/carts", {"currency": "EUR"}, token=token)
    assert again.json["id"] == first.json["id"], "the customer's open cart comes back"
    assert api.get(f"/v1/carts/{first.json['id']}", token=token).status == 200
    assert api.get(f"/v1/carts/{first.json['id']}", token=customer_token(api)).status == 404


def test_staff_have_no_carts(api: Client, admin_url: str) -> None:
    manager = staff_token(api, admin_url, "catalog_manager")
    r = api.post("/v1/carts", {}, token=manager)
    assert r.status == 403, r.text


@pytest.mark.parametrize("currency", ["XYZ", "eur1", 7])
def test_a_currency_the_store_does_not_sell_in_is_422(api: Client, currency: object) -> None:
    r = api.post("/v1/carts", {"currency": currency})
    assert r.status == 422, r.text
    assert list(r.json["error"]["details"]["fields"]) == ["currency"]


def test_an_idempotency_key_replays_the_same_cart_and_token(api: Client) -> None:
    key = str(uuid.uuid4())
    first = api.post("/v1/carts", {}, headers={"Idempotency-Key": key})
    again = api.post("/v1/carts", {}, headers={"Idempotency-Key": key})
    assert first.status == again.status == 201, again.text
    assert again.headers.get("idempotent-replayed") == "true"
    assert (again.json["id"], again.json["cart_token"]) == (first.json["id"], first.json["cart_token"])
    assert api.get(f"/v1/carts/{first.json['id']}", headers={"X-Cart-Token": again.json["cart_token"]}).status == 200
    other = api.post("/v1/carts", {}, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert other.json["cart_token"] != first.json["cart_token"]


def test_a_short_idempotency_key_cannot_stand_in_for_a_cart_token(api: Client) -> None:
    r = api.post("/v1/carts", {}, headers={"Idempotency-Key": "abc"})
    assert r.status == 422, r.text
    assert list(r.json["error"]["details"]["fields"]) == ["Idempotency-Key"]


# -- lines ------------------------------------------------------------------------------------------
def test_adding_items_by_sku_or_variant_adds_to_the_line_and_prices_the_cart(api: Client, store: Store) -> None:
    cart = guest_cart(api)
    tee, book = store.items["tee"], store.items["book"]
    r = add(api, cart, tee, 2)
    assert r.status == 201, r.text
    r = call(api, cart, "POST", "/items", {"variant_id": tee.variant_id, "quantity": 1})
    r = add(api, cart, book)
    assert r.status == 201, r.text
    lines = {i["sku"]: i for i in r.json["items"]}
    assert lines[tee.sku]["quantity"] == 3, "the same variant adds to its line"
    assert lines[tee.sku]["unit_price"] == {"amount": 2000, "currency": "EUR"}
    assert lines[tee.sku]["line_total"] == {"amount": 6000, "currency": "EUR"}
    assert lines[tee.sku]["available_quantity"] == 10 and lines[tee.sku]["price_changed"] is False
    assert r.json["subtotal"]["amount"] == 7500 and r.json["total"]["amount"] == 7500
    assert r.json["weight_grams"] == 3 * 200 + 500
    assert r.json["tax_calculated"] is False and r.json["tax_total"]["amount"] == 0
    assert {p["code"] for p in r.json["problems"]} == {"shipping_address_required"}


@pytest.mark.parametrize(("body", "field"), [
    ({"quantity": 1}, "variant_id"),
    ({"sku": "X", "quantity": 0}, "quantity"),
    ({"sku": "X", "quantity": 1000}, "quantity"),
    ({"sku": "X", "quantity": "2"}, "quantity"),
    ({"sku": "X", "quantity": 1.5}, "quantity"),
    ({"sku": "X"}, "quantity"),
    ({"variant_id": 5, "quantity": 1}, "variant_id"),
])
def test_a_bad_line_is_422_naming_the_field(api: Client, body: dict[str, Any], field: str) -> None:
    cart = guest_cart(api)
    r = call(api, cart, "POST", "/items", body)
    assert r.status == 422, r.text
    assert list(r.json["error"]["details"]["fields"]) == [field]


def test_unknown_unpublished_unpriced_and_unavailable_items(api: Client, store: Store, admin_url: str) -> None:
    cart = guest_cart(api)
    unknown = call(api, cart, "POST", "/items", {"sku": "NO-SUCH-SKU-AT-ALL", "quantity": 1})
    assert unknown.status == 404 and unknown.error_code == "variant_not_found"
    assert list(unknown.json["error"]["details"]["fields"]) == ["sku"]
    assert call(api, cart, "POST", "/items", {"variant_id": str(uuid.uuid4()), "quantity": 1}).status == 404
    draft = add(api, cart, store.items["draft"])
    assert draft.status == 409 and draft.error_code == "not_for_sale", draft.text
    with psycopg.connect(admin_url) as conn:  # a currency the store sells in, but not this item
        conn.execute("INSERT INTO shop.variant_prices (variant_id, currency, amount) VALUES (%s, 'USD', 100)",
                     [store.items["mug"].variant_id])
        conn.commit()
    dollars = guest_cart(api, {"currency": "USD"})
    unpriced = add(api, dollars, store.items["tee"])
    assert unpriced.status == 409 and unpriced.error_code == "not_for_sale"
    short = add(api, cart, store.items["none_left"])
    assert short.status == 409 and short.error_code == "out_of_stock"
    assert short.json["error"]["details"]["available"] == 0
    too_many = add(api, cart, store.items["book"], 4)
    assert too_many.status == 409 and too_many.json["error"]["details"]["available"] == 3
    assert add(api, cart, store.items["backorder"], 3).status == 201, "1 on hand + 2 on backorder"
    assert add(api, cart, store.items["backorder"], 1).json["error"]["details"]["available"] == 3
    assert [i["sku"] for i in api.get(cart.path(), headers=cart.headers).json["items"]] == [
        store.items["backorder"].sku], "the refusals changed nothing"


def test_a_line_holds_at_most_999(api: Client, store: Store) -> None:
    cart = guest_cart(api)
    assert add(api, cart, store.items["backorder"], 2).status == 201
    r = add(api, cart, store.items["backorder"], 998)
    assert r.status == 422 and "999" in r.json["error"]["details"]["fields"]["quantity"], r.text


def test_a_cart_holds_at_most_100_lines(api: Client, store: Store, admin_url: str) -> None:
    cart = guest_cart(api)
    with psycopg.connect(admin_url) as conn:  # 100 lines of a product of this test's own
        product = conn.execute("INSERT INTO shop.products (slug, name) VALUES (%s, 'Many') RETURNING id",
                               [f"carts-{store.tag}-many"]).fetchone()[0]
        conn.execute("INSERT INTO shop.product_variants (product_id, sku, name)"
                     " SELECT %s, %s || i, 'V' || i FROM generate_series(1, 100) AS i", [product, f"MANY-{store.tag}-"])
        conn.execute("INSERT INTO shop.cart_items (cart_id, variant_id, quantity, quoted_unit_price)"
                     " SELECT %s, v.id, 1, 0 FROM shop.product_variants v WHERE v.product_id = %s", [cart.id, product])
        conn.commit()
    try:
        r = add(api, cart, store.items["mug"])
        assert r.status == 409 and r.error_code == "cart_full", r.text
        assert r.json["error"]["details"]["max_lines"] == 100
        existing = api.get(cart.path(), headers=cart.headers).json["items"][0]
        assert existing["unit_price"] is None, "a line not for sale shows no price"
        assert call(api, cart, "PATCH", f"/items/{existing['id']}", {"quantity": 1}).status == 200, \
            "a full cart's lines still change"
    finally:
        with psycopg.connect(admin_url) as conn:
            conn.execute("DELETE FROM shop.products WHERE id = %s", [product])


def test_changing_and_removing_lines(api: Client, store: Store) -> None:
    cart = guest_cart(api)
    line = add(api, cart, store.items["tee"], 2).json["items"][0]["id"]
    r = call(api, cart, "PATCH", f"/items/{line}", {"quantity": 5})
    assert r.status == 200 and r.json["items"][0]["quantity"] == 5, r.text
    short = call(api, cart, "PATCH", f"/items/{line}", {"quantity": 11})
    assert short.status == 409 and short.error_code == "out_of_stock"
    bad = call(api, cart, "PATCH", f"/items/{line}", {"quantity": -1})
    assert bad.status == 422 and list(bad.json["error"]["details"]["fields"]) == ["quantity"]
    assert call(api, cart, "PATCH", f"/items/{uuid.uuid4()}", {"quantity": 1}).error_code == "cart_item_not_found"
    assert call(api, cart, "PATCH", f"/items/{line}", {"quantity": 0}).json["items"] == [], "0 removes the line"
    line = add(api, cart, store.items["mug"]).json["items"][0]["id"]
    r = call(api, cart, "DELETE", f"/items/{line}")
    assert r.status == 200 and r.json["items"] == [], r.text
    assert call(api, cart, "DELETE", f"/items/{line}").error_code == "cart_item_not_found"
    other = guest_cart(api)
    theirs = add(api, other, store.items["mug"]).json["items"][0]["id"]
    assert call(api, cart, "DELETE", f"/items/{theirs}").status == 404, "a line of another cart is not found"


def test_every_write_requotes_and_pushes_the_expiry(api: Client, store: Store, admin_url: str) -> None:
    cart = guest_cart(api)
    first = add(api, cart, store.items["mug"]).json
    with psycopg.connect(admin_url) as conn:
        conn.execute("UPDATE shop.cart_items SET quoted_unit_price = 1 WHERE cart_id = %s", [cart.id])
        conn.execute("UPDATE shop.carts SET expires_at = now() + interval '1 day' WHERE id = %s", [cart.id])
        conn.commit()
    shown = api.get(cart.path(), headers=cart.headers).json
    assert shown["items"][0]["price_changed"] is True and shown["items"][0]["quoted_unit_price"]["amount"] == 1
    assert {p["code"] for p in shown["problems"]} >= {"price_changed"}
    written = call(api, cart, "PATCH", "", {"email": "ada@example.com"}).json
    assert written["items"][0]["price_changed"] is False
    assert written["items"][0]["quoted_unit_price"]["amount"] == store.items["mug"].price
    assert written["expires_at"] >= first["expires_at"]


def test_the_email_is_checked(api: Client) -> None:
    cart = guest_cart(api)
    assert call(api, cart, "PATCH", "", {"email": "ada@example.com"}).json["email"] == "ada@example.com"
    bad = call(api, cart, "PATCH", "", {"email": "not an address"})
    assert bad.status == 422 and list(bad.json["error"]["details"]["fields"]) == ["email"]
    assert call(api, cart, "PATCH", "", {"email": None}).json["email"] is None


# -- address, shipping and tax -------------------------------------------------------------------
def test_address_shipping_methods_and_tax(api: Client, store: Store) -> None:
    cart = guest_cart(api)
    add(api, cart, store.items["tee"], 2)
    add(api, cart, store.items["book"], 1)
    none_yet = call(api, cart, "GET", "/shipping-methods")
    assert none_yet.status == 409 and none_yet.error_code == "shipping_address_required"
    assert call(api, cart, "PUT", "/shipping-method", {"code": store.standard}).error_code == \
        "shipping_address_required"
    bad = call(api, cart, "PUT", "/shipping-address", {**ADDRESS, "country": "XX", "region": "too-long"})
    assert bad.status == 422 and set(bad.json["error"]["details"]["fields"]) == {"country", "region"}
    r = call(api, cart, "PUT", "/shipping-address", ADDRESS)
    assert r.status == 200, r.text
    assert r.json["shipping_address"]["country"] == "IS" and r.json["shipping_address"]["line2"] is None
    # Prices include tax (the store's default): 4000 at 18 % and 1500 at 5 %, rounded per line.
    assert r.json["tax_calculated"] is True
    assert r.json["tax_total"]["amount"] == round(4000 * 18 / 118) + round(1500 * 5 / 105)
    methods = call(api, cart, "GET", "/shipping-methods")
    assert methods.status == 200, methods.text
    assert [(m["code"], m["amount"]["amount"], m["selected"]) for m in methods.json["items"]] == [
        (store.standard, 500, False), (store.express, 1200, False)]
    wrong = call(api, cart, "PUT", "/shipping-method", {"code": "no-such-method"})
    assert wrong.status == 409 and wrong.error_code == "shipping_method_unavailable"
    assert set(wrong.json["error"]["details"]["available"]) == {store.standard, store.express}
    chosen = call(api, cart, "PUT", "/shipping-method", {"code": store.express})
    assert chosen.status == 200, chosen.text
    assert chosen.json["shipping_method"] == {"code": store.express, "name": "Express",
                                              "amount": {"amount": 1200, "currency": "EUR"}}
    assert chosen.json["total"]["amount"] == 5500 + 1200
    assert chosen.json["tax_total"]["amount"] == 610 + 71 + round(1200 * 18 / 118)
    assert chosen.json["problems"] == []
    assert [m["selected"] for m in call(api, cart, "GET", "/shipping-methods").json["items"]] == [False, True]
    # Over the express method's free threshold (10000 before discounts) it costs nothing.
    free = add(api, cart, store.items["tee"], 3)
    assert free.json["shipping_total"]["amount"] == 0 and free.json["total"]["amount"] == 11500


def test_an_address_from_the_address_book(api: Client) -> None:
    token = customer_token(api)
    book = api.post("/v1/me/addresses", {**ADDRESS, "country": "IS"}, token=token)
    assert book.status == 201, book.text
    cart_id = api.post("/v1/carts", {}, token=token).json["id"]
    cart = Cart(cart_id, {}, token)
    r = call(api, cart, "PUT", "/shipping-address", {"address_id": book.json["id"]})
    assert r.status == 200 and r.json["shipping_address"]["city"] == "Reykjavik", r.text
    other = call(api, cart, "PUT", "/shipping-address", {"address_id": str(uuid.uuid4())})
    assert other.status == 404 and other.error_code == "address_not_found"
    guest = guest_cart(api)
    assert call(api, guest, "PUT", "/shipping-address", {"address_id": book.json["id"]}).status == 404, \
        "a guest has no address book, and another's entry is not found"


# -- state -------------------------------------------------------------------------------------------
def test_only_open_carts_change(api: Client, store: Store, admin_url: str) -> None:
    cart = guest_cart(api)
    with psycopg.connect(admin_url) as conn:
        conn.execute("UPDATE shop.carts SET status = 'abandoned', abandoned_at = now() WHERE id = %s", [cart.id])
        conn.commit()
    assert api.get(cart.path(), headers=cart.headers).json["status"] == "abandoned"
    for method, rest, body in [("POST", "/items", {"sku": store.items["mug"].sku, "quantity": 1}),
                               ("PATCH", "", {"email": "a@example.com"}), ("DELETE", "/coupon", None),
                               ("PUT", "/shipping-address", ADDRESS)]:
        r = call(api, cart, method, rest, body)
        assert r.status == 409 and r.error_code == "cart_not_open", (method, rest, r.text)


# -- merge at login ----------------------------------------------------------------------------------
def test_logging_in_merges_the_guest_cart_into_the_customers(api: Client, store: Store) -> None:
    account = register(api)
    token = login(api, account["email"])["access_token"]
    mine = Cart(api.post("/v1/carts", {}, token=token).json["id"], {}, token)
    add(api, mine, store.items["tee"], 4)
    guest = guest_cart(api)
    add(api, guest, store.items["tee"], 8)
    add(api, guest, store.items["mug"], 2)
    call(api, guest, "PATCH", "", {"email": "guest@example.com"})
    r = api.post("/v1/auth/login", {"email": account["email"], "password": account["password"]}, headers=guest.headers)
    assert r.status == 200, r.text
    assert r.json["cart_id"] == mine.id
    merged = api.get(mine.path(), token=token).json
    quantities = {i["sku"]: i["quantity"] for i in merged["items"]}
    assert quantities == {store.items["tee"].sku: 10, store.items["mug"].sku: 2}, "4 + 8 capped at the 10 orderable"
    assert merged["email"] == "guest@example.com"
    left = api.get(guest.path(), headers=guest.headers).json
    assert left["status"] == "merged"
    assert add(api, guest, store.items["mug"]).error_code == "cart_not_open"


def test_a_guest_cart_becomes_the_customers_when_they_have_none(api: Client, store: Store) -> None:
    account = register(api)
    guest = guest_cart(api)
    add(api, guest, store.items["book"], 2)
    r = api.post("/v1/auth/login", {"email": account["email"], "password": account["password"]}, headers=guest.headers)
    assert r.json["cart_id"] == guest.id
    assert api.get(guest.path(), token=r.json["access_token"]).json["items"][0]["quantity"] == 2
    assert api.get(guest.path(), headers=guest.headers).status == 404, "the token no longer opens it"


def test_a_bad_or_foreign_token_merges_nothing_and_the_login_succeeds(api: Client, store: Store) -> None:
    account = register(api)
    for headers in ({"X-Cart-Token": "nonsense"}, {"X-Cart-Token": "é" * 300}):
        r = api.post("/v1/auth/login", {"email": account["email"], "password": account["password"]}, headers=headers)
        assert r.status == 200, r.text
        assert r.json["cart_id"] is None
    # A cart already merged into someone else's is not merged again.
    first = register(api)
    guest = guest_cart(api)
    add(api, guest, store.items["mug"])
    assert api.post("/v1/auth/login", {"email": first["email"], "password": first["password"]},
                    headers=guest.headers).json["cart_id"] == guest.id
    again = api.post("/v1/auth/login", {"email": account["email"], "password": account["password"]},
                     headers=guest.headers)
    assert again.status == 200 and again.json["cart_id"] is None


# -- races ---------------------------------------------------------------------------------------------
def test_racing_writes_to_one_cart_all_count(api: Client, store: Store) -> None:
    """20 requests at once adding to one line, and 20 making a customer's cart: every unit counts once,
    and the customer still has one open cart."""
    cart = guest_cart(api)
    added = race(lambda: add(api, cart, store.items["mug"], 2), 20)
    assert {r.status for r in added} == {201}, [r.text for r in added if r.status != 201][:2]
    assert api.get(cart.path(), headers=cart.headers).json["items"][0]["quantity"] == 40
    token = customer_token(api)
    made = race(lambda: api.post("/v1/carts", {}, token=token), 20)
    assert {r.status for r in made} == {201}, [r.text for r in made if r.status != 201][:2]
    assert len({r.json["id"] for r in made}) == 1
