"""Catalog deletes raced against the writes that would make them wrong, many real clients at once: a category
is never deleted from under a product just put in it, and a product is never deleted once published."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest

from tests.http.conftest import Client
from tests.http.test_catalog_admin import create, staff_token

N = 16


@pytest.fixture(scope="module")
def manager(server: Client, admin_url: str) -> str:
    return staff_token(server, admin_url, "catalog_manager")


@pytest.fixture(scope="module", autouse=True)
def remove_what_the_races_made(admin_url: str) -> Iterator[None]:
    """Later catalog tests load the demo catalog into an empty store; the products raced here go."""
    yield
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("DELETE FROM shop.products WHERE name LIKE 'Race %'")
        conn.execute("DELETE FROM shop.categories WHERE name LIKE 'Race %'")


def run_all(calls: list[Any]) -> list[Any]:
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


def test_a_category_is_not_deleted_from_under_products_moved_into_it(server: Client, manager: str, admin) -> None:
    for _ in range(3):
        t = uuid.uuid4().hex[:8]
        category = server.post("/v1/admin/categories", {"name": f"Race {t}"}, token=manager).json
        products = [create(server, manager, name=f"Race {t} {n}")["id"] for n in range(N // 2)]
        moves = [lambda p=p: server.patch(f"/v1/admin/products/{p}", {"category_id": category["id"]}, token=manager)
                 for p in products]
        deletes = [lambda: server.delete(f"/v1/admin/categories/{category['id']}", token=manager)] * (N // 2)
        calls = [c for pair in zip(moves, deletes, strict=True) for c in pair]
        results = run_all(calls)
        assert all(r.status in (200, 204, 404, 409) for r in results), [(r.status, r.text[:200]) for r in results]
        moved = {p for p, r in zip(products, results[0::2], strict=True) if r.status == 200}
        deleted = any(r.status == 204 for r in results[1::2])
        rows = dict(admin.execute("SELECT id::text, category_id::text FROM shop.products WHERE id = ANY(%s::uuid[])",
                                  [products]).fetchall())
        # Every product a client was told it moved is in the category, and then the category still exists.
        assert all(rows[p] == category["id"] for p in moved), (moved, rows)
        assert not (moved and deleted), "a category was deleted though a product was moved into it"
        assert deleted or admin.execute("SELECT count(*) FROM shop.categories WHERE id = %s",
                                        [category["id"]]).fetchone()[0] == 1


def test_a_product_published_meanwhile_is_not_deleted(server: Client, manager: str, admin) -> None:
    for _ in range(3):
        product = create(server, manager, name=f"Race Publish {uuid.uuid4().hex[:8]}",
                         variants=[{"sku": f"RP-{uuid.uuid4().hex[:8]}", "name": "One"}])
        path = f"/v1/admin/products/{product['id']}"
        publishes = [lambda: server.patch(path, {"status": "published"}, token=manager)] * (N // 2)
        deletes = [lambda: server.delete(path, token=manager)] * (N // 2)
        results = run_all([c for pair in zip(publishes, deletes, strict=True) for c in pair])
        assert all(r.status in (200, 204, 404, 409) for r in results), [(r.status, r.text[:200]) for r in results]
        published = any(r.status == 200 for r in results[0::2])
        deleted = [r for r in results[1::2] if r.status == 204]
        exists = admin.execute("SELECT count(*) FROM shop.products WHERE id = %s", [product["id"]]).fetchone()[0]
        assert len(deleted) <= 1 and exists == (0 if deleted else 1)
        assert not (published and deleted), "a product was deleted though it was published"
        refused = [r for r in results[1::2] if r.status == 409]
        assert all(r.error_code == "product_was_published" for r in refused)
