"""Anonymous catalog reads are cached per catalog version: a 304 and a cached page cost no catalog query,
and a committed write is visible to the very next read, in every worker process."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import psycopg
import pytest

from .conftest import SECRET, Client, free_port, wait_until_ready

PRODUCT = "/v1/products/aurora-organic-tee"


@pytest.fixture(scope="module", autouse=True)
def demo_catalog(admin_url: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("SELECT shop.load_demo_catalog()")  # a no-op when another module loaded it


def test_304_and_cached_pages_need_no_catalog_table(api: Client, admin_url: str) -> None:
    page = api.get("/v1/products?limit=2&sort=name")
    tag = page.headers["etag"]
    assert page.status == 200
    with psycopg.connect(admin_url) as locker:  # nothing can read shop.products until this rolls back
        locker.execute("LOCK TABLE shop.products IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        assert api.get("/v1/products?limit=2&sort=name", headers={"If-None-Match": tag}).status == 304
        cached = api.get("/v1/products?limit=2&sort=name")
        assert cached.status == 200 and cached.json == page.json and cached.headers["etag"] == tag
        assert time.monotonic() - started < 5  # neither waited for the lock
        locker.rollback()


def test_a_committed_write_changes_the_version_and_the_page(api: Client, admin: psycopg.Connection) -> None:
    before = api.get(PRODUCT)
    price = before.json["variants"][0]["price"]["amount"]
    sku = before.json["variants"][0]["sku"]
    try:
        admin.execute("UPDATE shop.variant_prices SET amount = amount + 1 WHERE variant_id ="
                      " (SELECT id FROM shop.product_variants WHERE sku = %s) AND currency = 'EUR'", [sku])
        after = api.get(PRODUCT, headers={"If-None-Match": before.headers["etag"]})
        assert after.status == 200 and after.headers["etag"] != before.headers["etag"]
        assert after.json["variants"][0]["price"]["amount"] == price + 1
    finally:
        admin.execute("UPDATE shop.variant_prices SET amount = %s WHERE variant_id ="
                      " (SELECT id FROM shop.product_variants WHERE sku = %s) AND currency = 'EUR'", [price, sku])
    assert api.get(PRODUCT).json["variants"][0]["price"]["amount"] == price


def test_an_uncommitted_write_changes_nothing(api: Client, admin_url: str) -> None:
    before = api.get(PRODUCT)
    with psycopg.connect(admin_url) as writer:
        writer.execute("UPDATE shop.products SET name = 'Not Yet' WHERE slug = 'aurora-organic-tee'")
        during = api.get(PRODUCT, headers={"If-None-Match": before.headers["etag"]})
        assert during.status == 304
        writer.rollback()


@pytest.fixture(scope="module")
def two_workers(admin_url: str) -> Iterator[Client]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": admin_url, "POSTCART_SECRET_KEY": SECRET, "POSTCART_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([sys.executable, "-m", "postcart", "serve", "--port", str(port), "--workers", "2"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    client = Client(port)
    try:
        wait_until_ready(client, proc)
        yield client
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_no_stale_page_after_a_write_with_two_workers(two_workers: Client, admin_url: str) -> None:
    """Readers hammer both workers (so both caches are warm) while prices and publication change; each write
    is followed at once by reads, which must all show it."""
    api = two_workers
    stop = threading.Event()

    def keep_reading() -> None:
        while not stop.is_set():
            api.get(PRODUCT)
            api.get("/v1/products?limit=100&sort=name")

    readers = [threading.Thread(target=keep_reading) for _ in range(4)]
    for reader in readers:
        reader.start()
    try:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            sku = api.get(PRODUCT).json["variants"][0]["sku"]
            original = conn.execute("SELECT amount FROM shop.variant_prices p JOIN shop.product_variants v"
                                    " ON v.id = p.variant_id WHERE v.sku = %s AND currency = 'EUR'", [sku]).fetchone()[0]
            try:
                for step in range(1, 11):
                    conn.execute("UPDATE shop.variant_prices SET amount = %s WHERE currency = 'EUR' AND variant_id ="
                                 " (SELECT id FROM shop.product_variants WHERE sku = %s)", [original + step, sku])
                    for _ in range(4):  # enough reads to land on both workers
                        r = api.get(PRODUCT)
                        assert r.status == 200 and r.json["variants"][0]["price"]["amount"] == original + step, step
                    for status in ("draft", "published"):
                        conn.execute("UPDATE shop.products SET status = %s WHERE slug = 'aurora-organic-tee'", [status])
                        for _ in range(4):
                            slugs = [p["slug"] for p in api.get("/v1/products?limit=100&sort=name").json["items"]]
                            assert ("aurora-organic-tee" in slugs) == (status == "published"), (step, status)
                            assert api.get(PRODUCT).status == (200 if status == "published" else 404), (step, status)
            finally:
                conn.execute("UPDATE shop.variant_prices SET amount = %s WHERE currency = 'EUR' AND variant_id ="
                             " (SELECT id FROM shop.product_variants WHERE sku = %s)", [original, sku])
                conn.execute("UPDATE shop.products SET status = 'published' WHERE slug = 'aurora-organic-tee'")
    finally:
        stop.set()
        for reader in readers:
            reader.join(timeout=30)


def test_a_sale_shows_the_instant_it_starts_and_ends(api: Client, admin: psycopg.Connection) -> None:
    """No write happens when a scheduled sale begins or ends: the cached page must still change then."""
    before = api.get(PRODUCT)
    variant = before.json["variants"][0]
    price = variant["price"]["amount"]
    sale = admin.execute(
        "INSERT INTO shop.price_lists (name, starts_at, ends_at) VALUES ('flash', now() + interval '1.5 s',"
        " now() + interval '3 s') RETURNING id").fetchone()[0]
    try:
        admin.execute("INSERT INTO shop.price_list_prices (price_list_id, variant_id, currency, amount)"
                      " VALUES (%s, %s, 'EUR', %s)", [sale, variant["id"], price - 100])
        assert api.get(PRODUCT).json["variants"][0]["price"]["amount"] == price  # cached, not on sale yet
        time.sleep(1.6)
        assert api.get(PRODUCT).json["variants"][0]["price"]["amount"] == price - 100  # the sale began
        time.sleep(1.6)
        assert api.get(PRODUCT).json["variants"][0]["price"]["amount"] == price  # and ended
    finally:
        admin.execute("DELETE FROM shop.price_lists WHERE id = %s", [sale])


def test_a_scheduled_product_appears_the_instant_it_is_published(api: Client, admin: psycopg.Connection) -> None:
    slug = "harbor-stripe-tee"
    original = admin.execute("SELECT published_at FROM shop.products WHERE slug = %s", [slug]).fetchone()[0]
    try:
        admin.execute("UPDATE shop.products SET published_at = now() + interval '1.5 s' WHERE slug = %s", [slug])
        assert api.get(f"/v1/products/{slug}").status == 404
        assert slug not in [p["slug"] for p in api.get("/v1/products?limit=100&sort=name").json["items"]]
        time.sleep(1.7)
        assert api.get(f"/v1/products/{slug}").status == 200
        assert slug in [p["slug"] for p in api.get("/v1/products?limit=100&sort=name").json["items"]]
    finally:
        admin.execute("UPDATE shop.products SET published_at = %s WHERE slug = %s", [original, slug])


def test_a_read_arriving_after_a_write_never_shares_an_older_version_query(api: Client, admin_url: str) -> None:
    """Concurrent reads share version queries, but only one that started after they arrived: here the
    first read's query is held (a lock on a table it reads) while a price change commits, and a second read
    arrives after that commit, while the first query is still running. The second must show the change."""
    results: dict[str, int] = {}

    def read(name: str) -> None:
        results[name] = api.get(PRODUCT).json["variants"][0]["price"]["amount"]

    sku = api.get(PRODUCT).json["variants"][0]["sku"]
    with psycopg.connect(admin_url, autocommit=True) as writer, psycopg.connect(admin_url) as locker:
        original = writer.execute("SELECT amount FROM shop.variant_prices p JOIN shop.product_variants v"
                                  " ON v.id = p.variant_id WHERE v.sku = %s AND currency = 'EUR'", [sku]).fetchone()[0]
        try:
            locker.execute("LOCK TABLE shop.catalog_schedule_instants IN ACCESS EXCLUSIVE MODE")
            first = threading.Thread(target=read, args=("first",))
            first.start()
            time.sleep(0.5)  # its version query has started and waits for the lock
            writer.execute("UPDATE shop.variant_prices SET amount = %s WHERE currency = 'EUR' AND variant_id ="
                           " (SELECT id FROM shop.product_variants WHERE sku = %s)", [original + 7, sku])
            second = threading.Thread(target=read, args=("second",))
            second.start()
            time.sleep(0.5)  # it has arrived while the first query still waits
            locker.rollback()
            first.join(timeout=30)
            second.join(timeout=30)
            assert results["first"] == original  # it arrived before the change committed
            assert results["second"] == original + 7
        finally:
            locker.rollback()
            writer.execute("UPDATE shop.variant_prices SET amount = %s WHERE currency = 'EUR' AND variant_id ="
                           " (SELECT id FROM shop.product_variants WHERE sku = %s)", [original, sku])
