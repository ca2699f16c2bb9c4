"""Prices over HTTP: the admin routes for customer groups, price lists and markdowns (statuses and errors),
and what the storefront shows a wholesale customer and everyone during a sale window."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from tests.conftest import run_cli

from .conftest import Client

PASSWORD = "staff-password-1"


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def staff_token(api: Client, admin_url: str, roles: str) -> str:
    email = f"staff-{uuid.uuid4().hex[:12]}@example.com"
    result = run_cli("create-staff", "--email", email, "--password", PASSWORD, "--full-name", "Price Staff",
                     "--roles", roles, env={"DATABASE_URL": admin_url})
    assert result.returncode == 0, result.stderr
    r = api.post("/v1/auth/login", {"email": email, "password": PASSWORD})
    assert r.status == 200, r.text
    return str(r.json["access_token"])


def new_customer(api: Client) -> dict[str, Any]:
    email = f"buyer-{uuid.uuid4().hex[:12]}@example.com"
    r = api.post("/v1/auth/register", {"email": email, "password": "correct horse battery", "full_name": "Buyer"})
    assert r.status == 201, r.text
    login = api.post("/v1/auth/login", {"email": email, "password": "correct horse battery"})
    assert login.status == 200, login.text
    return {"id": r.json["customer"]["id"], "token": login.json["access_token"]}


@pytest.fixture(scope="module")
def catalog_token(server: Client, admin_url: str) -> str:
    return staff_token(server, admin_url, "catalog_manager")


@pytest.fixture(scope="module")
def orders_token(server: Client, admin_url: str) -> str:
    return staff_token(server, admin_url, "order_manager")


@pytest.fixture
def product(admin_url: str) -> Iterator[dict[str, Any]]:
    """A published product of its own (one variant, 5000 EUR cents) in a category of its own."""
    tag = uuid.uuid4().hex[:10]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        category_id = conn.execute(
            "INSERT INTO shop.categories (slug, name) VALUES (%s, %s) RETURNING id", (f"prc-{tag}", f"Prc {tag}")
        ).fetchone()[0]
        product_id = conn.execute(
            "INSERT INTO shop.products (slug, name, category_id, status) VALUES (%s, %s, %s, 'published') RETURNING id",
            (f"prc-coat-{tag}", f"Prc Coat {tag}", category_id),
        ).fetchone()[0]
        sku = f"PRC-{tag}"
        variant_id = conn.execute(
            "INSERT INTO shop.product_variants (product_id, sku, name) VALUES (%s, %s, 'One') RETURNING id",
            (product_id, sku),
        ).fetchone()[0]
        conn.execute("INSERT INTO shop.variant_prices (variant_id, currency, amount) VALUES (%s, 'EUR', 5000)",
                     (variant_id,))
    yield {"id": str(product_id), "slug": f"prc-coat-{tag}", "sku": sku, "category": f"prc-{tag}"}
    with psycopg.connect(admin_url, autocommit=True) as conn:
        # Lists and markdowns made by the test go too, so other tests see base prices.
        conn.execute("DELETE FROM shop.price_lists WHERE id IN (SELECT price_list_id FROM shop.price_list_prices "
                     "WHERE variant_id = %s)", (variant_id,))
        conn.execute("DELETE FROM shop.products WHERE id = %s", (product_id,))
        conn.execute("DELETE FROM shop.categories WHERE id = %s", (category_id,))


def shown_price(api: Client, product: dict[str, Any], token: str | None = None) -> tuple[int, int]:
    """The price on the product page and on the list page (filtered to the product's category)."""
    page = api.get(f"/v1/products/{product['slug']}", token=token)
    assert page.status == 200, page.text
    listed = api.get(f"/v1/products?category={product['category']}", token=token)
    assert listed.status == 200, listed.text
    [item] = listed.json["items"]
    return page.json["variants"][0]["price"]["amount"], item["price"]["amount"]


def test_price_list_routes(api: Client, catalog_token: str, orders_token: str, product: dict[str, Any]) -> None:
    name = f"Spring {uuid.uuid4().hex[:8]}"
    body = {"name": name, "priority": 3}
    customer = new_customer(api)
    assert api.post("/v1/admin/price-lists", body).status == 401
    assert api.post("/v1/admin/price-lists", body, token=customer["token"]).status == 403
    assert api.post("/v1/admin/price-lists", body, token=orders_token).status == 403

    created = api.post("/v1/admin/price-lists", body, token=catalog_token)
    assert created.status == 201, created.text
    price_list = created.json["price_list"]
    assert price_list["name"] == name and price_list["priority"] == 3 and price_list["customer_group"] is None
    assert price_list["starts_at"] is None and price_list["ends_at"] is None

    again = api.post("/v1/admin/price-lists", body, token=catalog_token)
    assert again.status == 409 and again.error_code == "price_list_exists"
    bad = api.post("/v1/admin/price-lists", {"name": "x" + name, "customer_group": "no-such-group",
                                             "starts_at": "2031-02-01T00:00:00Z", "ends_at": "2031-01-01T00:00:00Z"},
                   token=catalog_token)
    assert bad.status == 422
    assert set(bad.json["error"]["details"]["fields"]) == {"customer_group", "ends_at"}

    path = f"/v1/admin/price-lists/{price_list['id']}/prices"
    prices = [{"sku": product["sku"], "amount": 4500, "currency": "EUR"},
              {"sku": product["sku"], "amount": 4000, "currency": "EUR", "min_quantity": 10}]
    assert api.put(path, {"prices": prices}, token=orders_token).status == 403
    replaced = api.put(path, {"prices": prices}, token=catalog_token)
    assert replaced.status == 200, replaced.text
    assert [(p["sku"], p["amount"], p["min_quantity"]) for p in replaced.json["prices"]] == [
        (product["sku"], 4500, 1), (product["sku"], 4000, 10)]
    assert shown_price(api, product) == (4500, 4500)

    # One unknown SKU rejects the whole request, named by its index; nothing changes.
    rejected = api.put(path, {"prices": [{"sku": product["sku"], "amount": 1, "currency": "EUR"},
                                         {"sku": "NO-SUCH-SKU-1", "amount": 1, "currency": "EUR"},
                                         {"sku": product["sku"], "amount": "cheap", "currency": "EUR", "min_quantity": 5}]},
                       token=catalog_token)
    assert rejected.status == 422 and rejected.error_code == "validation_failed"
    assert set(rejected.json["error"]["details"]["fields"]) == {"prices.2.amount"}
    unknown = api.put(path, {"prices": [{"sku": product["sku"], "amount": 1, "currency": "EUR"},
                                        {"sku": "NO-SUCH-SKU-1", "amount": 1, "currency": "EUR"}]},
                      token=catalog_token)
    assert unknown.status == 422
    assert unknown.json["error"]["details"]["fields"] == {"prices.1.sku": "no variant has this SKU"}
    overlapping = api.put(path, {"prices": [prices[0], {**prices[0], "amount": 1}]}, token=catalog_token)
    assert overlapping.status == 422 and set(overlapping.json["error"]["details"]["fields"]) == {"prices.1"}
    assert shown_price(api, product) == (4500, 4500)

    missing = api.put(f"/v1/admin/price-lists/{uuid.uuid4()}/prices", {"prices": []}, token=catalog_token)
    assert missing.status == 404 and missing.error_code == "price_list_not_found"
    cleared = api.put(path, {"prices": []}, token=catalog_token)
    assert cleared.status == 200 and cleared.json["prices"] == []
    assert shown_price(api, product) == (5000, 5000)


def test_wholesale_customer_sees_its_group_price(api: Client, admin_url: str, catalog_token: str,
                                                 orders_token: str, product: dict[str, Any]) -> None:
    code = f"wholesale-{uuid.uuid4().hex[:8]}"
    group = api.post("/v1/admin/customer-groups", {"code": code, "name": "Wholesale"}, token=catalog_token)
    assert group.status == 201, group.text
    dup = api.post("/v1/admin/customer-groups", {"code": code, "name": "Again"}, token=catalog_token)
    assert dup.status == 409 and dup.error_code == "customer_group_exists"
    assert api.post("/v1/admin/customer-groups", {"code": code + "-x", "name": "X"}, token=orders_token).status == 403

    created = api.post("/v1/admin/price-lists", {"name": f"Trade {code}", "customer_group": code},
                       token=catalog_token)
    assert created.status == 201 and created.json["price_list"]["customer_group"] == code
    put = api.put(f"/v1/admin/price-lists/{created.json['price_list']['id']}/prices",
                  {"prices": [{"sku": product["sku"], "amount": 3200, "currency": "EUR"}]}, token=catalog_token)
    assert put.status == 200, put.text

    trade, retail = new_customer(api), new_customer(api)
    path = f"/v1/admin/customers/{trade['id']}/customer-group"
    assert api.put(path, {"customer_group": code}, token=trade["token"]).status == 403
    assert api.put(path, {"customer_group": code}, token=orders_token).status == 403
    assert shown_price(api, product, trade["token"]) == (5000, 5000)
    assigned = api.put(path, {"customer_group": code}, token=catalog_token)
    assert assigned.status == 200 and assigned.json["customer"]["customer_group"]["code"] == code
    assert api.put(path, {"customer_group": "no-such-group"}, token=catalog_token).status == 422
    assert api.put(f"/v1/admin/customers/{uuid.uuid4()}/customer-group", {"customer_group": code},
                   token=catalog_token).status == 404

    assert shown_price(api, product, trade["token"]) == (3200, 3200)
    assert shown_price(api, product, retail["token"]) == (5000, 5000)
    assert shown_price(api, product) == (5000, 5000)
    # The price filter uses the resolved price: the wholesale customer finds it under 4000, others do not.
    query = f"/v1/products?category={product['category']}&max_price=4000"
    assert [i["slug"] for i in api.get(query, token=trade["token"]).json["items"]] == [product["slug"]]
    assert api.get(query, token=retail["token"]).json["items"] == []

    assert api.put(path, {"customer_group": None}, token=catalog_token).status == 200
    assert shown_price(api, product, trade["token"]) == (5000, 5000)


def test_sale_window_and_markdown_change_the_displayed_price(api: Client, catalog_token: str,
                                                            orders_token: str, product: dict[str, Any]) -> None:
    now = datetime.now(UTC)
    current = api.post("/v1/admin/price-lists", {"name": f"Sale {uuid.uuid4().hex[:8]}",
                                                 "starts_at": rfc3339(now - timedelta(minutes=5)),
                                                 "ends_at": rfc3339(now + timedelta(hours=1))}, token=catalog_token)
    future = api.post("/v1/admin/price-lists", {"name": f"Later {uuid.uuid4().hex[:8]}", "priority": 100,
                                                "starts_at": rfc3339(now + timedelta(days=1))}, token=catalog_token)
    assert current.status == 201 and future.status == 201
    assert shown_price(api, product) == (5000, 5000)
    for created, amount in ((current, 3900), (future, 100)):
        r = api.put(f"/v1/admin/price-lists/{created.json['price_list']['id']}/prices",
                    {"prices": [{"sku": product["sku"], "amount": amount, "currency": "EUR"}]}, token=catalog_token)
        assert r.status == 200, r.text
    assert shown_price(api, product) == (3900, 3900), "the current sale applies, the scheduled one does not yet"

    markdown = {"name": "Flash", "percent_off": 12.5, "category": product["category"],
                "starts_at": rfc3339(now - timedelta(minutes=1)), "ends_at": rfc3339(now + timedelta(hours=1))}
    assert api.post("/v1/admin/markdowns", markdown, token=orders_token).status == 403
    both = api.post("/v1/admin/markdowns", {**markdown, "product": product["slug"]}, token=catalog_token)
    assert both.status == 422 and "category" in both.json["error"]["details"]["fields"]
    backwards = api.post("/v1/admin/markdowns", {**markdown, "ends_at": markdown["starts_at"]}, token=catalog_token)
    assert backwards.status == 422 and set(backwards.json["error"]["details"]["fields"]) == {"ends_at"}
    created = api.post("/v1/admin/markdowns", markdown, token=catalog_token)
    assert created.status == 201, created.text
    assert created.json["markdown"]["category"]["slug"] == product["category"]
    # 3900 less 12.5% = 3412.5, rounded half up.
    assert shown_price(api, product) == (3413, 3413)
    assert [i["slug"] for i in api.get(f"/v1/products?category={product['category']}&min_price=3413&max_price=3413")
            .json["items"]] == [product["slug"]]
    admin_only = api.post("/v1/admin/markdowns", {**markdown, "category": None, "product": product["slug"],
                                                  "percent_off": 0}, token=catalog_token)
    assert admin_only.status == 422 and set(admin_only.json["error"]["details"]["fields"]) == {"percent_off"}


def test_openapi_lists_the_pricing_routes(api: Client) -> None:
    paths = api.get("/openapi.json").json["paths"]
    assert {"/v1/admin/price-lists", "/v1/admin/price-lists/{id}/prices", "/v1/admin/markdowns",
            "/v1/admin/customer-groups", "/v1/admin/customers/{id}/customer-group"} <= set(paths)
