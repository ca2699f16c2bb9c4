"""GET /v1/products/{id_or_slug}/recommendations over HTTP (docs/recommendations.md): orders placed through
checkout and product views posted to /v1/events reach the answer once the server's worker has counted them
(an order wakes it at once), the anonymous cached answer included; only published, in-stock products; the
errors. The counting rules themselves are tested in tests/sql/40_recommendations.sql."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import psycopg
import pytest

from postcart.db import AUTHENTICATOR, with_user
from postcart.workers import TASKS, Worker

from .conftest import Client, Response
from .test_checkout import Sku, checkout, ensure_shipping, new_cart


@dataclass
class Shelf:
    category: str  # slug
    ids: list[str]  # product ids, oldest first
    skus: list[Sku]


@pytest.fixture(scope="module", autouse=True)
def counting(admin_url: str) -> Iterator[Worker]:
    """The worker's update_recommendations task, as `postcart up` runs it (`postcart serve`, the tests'
    server, runs no worker): woken by the outbox notification of each order, else once a minute."""
    task = next(t for t in TASKS if t.name == "update_recommendations")
    worker = Worker(with_user(admin_url, AUTHENTICATOR, None), [task])
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(worker.run(),), daemon=True)
    thread.start()
    yield worker
    loop.call_soon_threadsafe(worker.stop)
    thread.join(30)
    loop.close()


def make_shelf(admin_url: str, stock: list[int]) -> Shelf:
    """A new category with one published product per stock figure (one EUR variant each, 1000 + n)."""
    tag = uuid.uuid4().hex[:8]
    ids: list[str] = []
    skus: list[Sku] = []
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("SELECT shop.load_demo_catalog()")  # only into an empty catalog; other modules rely on it
        category = conn.execute("INSERT INTO shop.categories (slug, name) VALUES (%s, %s) RETURNING id",
                                [f"rec-{tag}", f"Rec {tag}"]).fetchone()[0]
        warehouse = conn.execute("INSERT INTO shop.warehouses (code, name) VALUES (%s, %s) RETURNING id",
                                 [f"rec-{tag}", f"Rec {tag}"]).fetchone()[0]
        for n, units in enumerate(stock):
            product = conn.execute(
                "INSERT INTO shop.products (slug, name, category_id, status, published_at)"
                " VALUES (%s, %s, %s, 'published', now() - %s * INTERVAL '1 minute') RETURNING id",
                [f"rec-{tag}-{n}", f"Rec {tag} {n}", category, len(stock) - n]).fetchone()[0]
            variant = conn.execute(
                "INSERT INTO shop.product_variants (product_id, sku, name, weight_grams)"
                " VALUES (%s, %s, 'One', 100) RETURNING id", [product, f"REC-{tag}-{n}"]).fetchone()[0]
            conn.execute("INSERT INTO shop.variant_prices (variant_id, currency, amount) VALUES (%s, 'EUR', %s)",
                         [variant, 1000 + n])
            if units:
                conn.execute("INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity)"
                             " VALUES (%s, %s, 'receipt', %s)", [variant, warehouse, units])
            ids.append(str(product))
            skus.append(Sku(f"REC-{tag}-{n}", str(variant), 1000 + n))
        ensure_shipping(conn)
    return Shelf(f"rec-{tag}", ids, skus)


def buy(api: Client, *skus: Sku) -> None:
    r = checkout(api, new_cart(api, [(sku, 1) for sku in skus]))
    assert r.status == 201, r.text


def recommendations(api: Client, product: str, **query: str) -> Response:
    path = f"/v1/products/{product}/recommendations"
    if query:
        path += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return api.get(path)


def until(api: Client, product: str, done: Callable[[Response], bool], seconds: float = 20,
          between: Callable[[], object] = lambda: None, **query: str) -> Response:
    """The answer, asked again until done(answer) or `seconds` have passed."""
    deadline = time.monotonic() + seconds
    while True:
        r = recommendations(api, product, **query)
        assert r.status == 200, r.text
        if done(r) or time.monotonic() > deadline:
            return r
        between()
        time.sleep(0.2)


def ids(r: Response) -> list[str]:
    return [item["id"] for item in r.json["items"]]


def test_orders_placed_through_checkout_lead_the_answer(api: Client, admin_url: str) -> None:
    shelf = make_shelf(admin_url, [20, 20, 20, 20])
    a, b, c, d = shelf.ids
    before = recommendations(api, a)
    assert before.status == 200, before.text
    assert before.json["strategy"] == "category_bestsellers" and before.json["matched"] == 0
    assert ids(before) == [d, c, b]  # nothing sold in the category yet: its newest products

    buy(api, shelf.skus[0], shelf.skus[1])
    buy(api, shelf.skus[0], shelf.skus[1])
    buy(api, shelf.skus[0], shelf.skus[2])
    # The orders' outbox notification wakes the worker (its interval is a minute); the anonymous answer,
    # cached under the catalog version before, changes with it.
    after = until(api, a, lambda r: r.json["matched"] == 2)
    assert after.json["strategy"] == "frequently_bought_together"
    assert ids(after) == [b, c, d], after.json  # two orders with B, one with C; then the category's rest
    assert after.headers["etag"] != before.headers["etag"]
    assert ids(until(api, b, lambda r: r.json["matched"] == 1))[0] == a  # and the other way round
    # D was never bought: the category's bestsellers, most units first.
    never = recommendations(api, d)
    assert never.json["strategy"] == "category_bestsellers"
    assert ids(never) == [a, b, c]


def test_an_item_is_the_product_summary_of_the_list(api: Client, admin_url: str) -> None:
    shelf = make_shelf(admin_url, [5, 5])
    listed = api.get(f"/v1/products?category={shelf.category}")
    assert listed.status == 200, listed.text
    r = recommendations(api, shelf.ids[0])
    assert r.json["items"] == [item for item in listed.json["items"] if item["id"] == shelf.ids[1]]
    slug = api.get(f"/v1/products/{shelf.ids[0]}").json["slug"]
    assert recommendations(api, slug).json == r.json  # by slug as well


def test_only_published_products_in_stock_are_recommended(api: Client, admin_url: str) -> None:
    shelf = make_shelf(admin_url, [20, 1, 20, 20])
    a, last_unit, archived, kept = shelf.ids
    buy(api, shelf.skus[0], shelf.skus[1], shelf.skus[2], shelf.skus[3])  # the last unit of the second is sold
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("UPDATE shop.products SET status = 'archived' WHERE id = %s", [archived])
    r = until(api, a, lambda r: r.json["matched"] >= 1)
    assert ids(r) == [kept], r.json
    gone = recommendations(api, archived)
    assert gone.status == 404 and gone.error_code == "product_not_found", gone.text


def test_also_viewed_counts_the_views_posted_by_the_storefront(api: Client, admin_url: str) -> None:
    shelf = make_shelf(admin_url, [5, 5, 5, 5])
    a, b, c, _ = shelf.ids

    def views(session: str, *products: str) -> None:
        events = [{"type": "product_view", "session_id": session, "product_id": p} for p in products]
        assert api.post("/v1/events", {"events": events}).status == 202

    views(f"s-{uuid.uuid4().hex}", a, b, c)
    views(f"s-{uuid.uuid4().hex}", c, a)

    def count_now() -> None:  # views wait for the worker's next round (a minute); the test does not
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute("SET ROLE postcart_worker")
            conn.execute("SELECT shop.update_recommendations(10000)")

    r = until(api, a, lambda r: r.json["matched"] == 2, between=count_now, strategy="also_viewed")
    assert r.json["strategy"] == "also_viewed"
    assert ids(r)[:2] == [c, b], r.json  # C in both sessions, B in one
    bought = recommendations(api, a)  # the other strategy knows nothing of views
    assert bought.json["strategy"] == "category_bestsellers"


@pytest.mark.parametrize("query, field, code", [
    ("strategy=trending", "strategy", "validation_failed"),
    ("limit=25", "limit", "validation_failed"),
    ("limit=0", "limit", "validation_failed"),
    ("currency=euro", "currency", "validation_failed"),
    ("colour=red", "colour", "invalid_parameter"),
])
def test_bad_parameters_are_named(api: Client, query: str, field: str, code: str) -> None:
    product = api.get("/v1/products?limit=1").json["items"][0]["id"]
    r = api.get(f"/v1/products/{product}/recommendations?{query}")
    assert r.status == 400 and r.error_code == code, r.text
    assert field in r.json["error"]["details"]["fields"], r.text


def test_an_unknown_product_is_404(api: Client) -> None:
    r = recommendations(api, str(uuid.uuid4()))
    assert r.status == 404 and r.error_code == "product_not_found", r.text
