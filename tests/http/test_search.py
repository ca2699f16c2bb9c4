"""Search ranking over HTTP (issue 6 item 3): typos find the right product first, a name match outranks
a category or attribute match, which outranks a description match, and a search's facets count its
matches. The products use made-up words, so the demo catalog beside them never matches."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from .conftest import Client
from .test_catalog import all_pages

PRODUCTS = [  # slug, name, description, attributes
    ("http23-trekking-parka", "Http23 Trekking Parka", "Waterproof shell.", {}),
    ("http23-rain-parka", "Http23 Rain Parka", "Packs small.", {}),
    ("http23-city-coat", "Http23 City Coat", "Wool.", {"style": "parka"}),
    ("http23-scarf", "Http23 Scarf", "Goes with any parka.", {}),
]


@pytest.fixture(scope="module")
def products(admin_url: str) -> Iterator[list[str]]:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("SELECT shop.load_demo_catalog()")
        ids = []
        for slug, name, description, attributes in PRODUCTS:
            product_id = conn.execute(
                "INSERT INTO shop.products (slug, name, description, attributes, status)"
                " VALUES (%s, %s, %s, %s, 'published') RETURNING id",
                [slug, name, description, psycopg.types.json.Jsonb(attributes)],
            ).fetchone()[0]
            conn.execute(
                "WITH v AS (INSERT INTO shop.product_variants (product_id, sku, name)"
                "           VALUES (%s, %s, 'One size') RETURNING id)"
                " INSERT INTO shop.variant_prices (variant_id, currency, amount) SELECT v.id, 'EUR', 5000 FROM v",
                [product_id, slug.upper()],
            )
            ids.append(product_id)
        try:
            yield [slug for slug, *_ in PRODUCTS]
        finally:
            conn.execute("DELETE FROM shop.products WHERE id = ANY(%s)", [ids])


def slugs(api: Client, query: str) -> list[str]:
    return [item["slug"] for item in all_pages(api, query)]


@pytest.mark.parametrize("q", ["trekking+parka", "trekkng+parka", "treking+prka", "TREKKING-PARKA"])
def test_typos_find_the_product_first_and_every_word_must_match(api: Client, products: list[str], q: str) -> None:
    assert slugs(api, f"/v1/products?q=http23+{q}&limit=2") == ["http23-trekking-parka"]


def test_name_outranks_attribute_outranks_description(api: Client, products: list[str]) -> None:
    for q in ("parka", "prka", "parkas"):
        found = slugs(api, f"/v1/products?q=http23+{q}&limit=3")
        assert found[:2] == ["http23-rain-parka", "http23-trekking-parka"] or found[:2] == [
            "http23-trekking-parka", "http23-rain-parka"], (q, found)
        assert found[2:] == ["http23-city-coat", "http23-scarf"], (q, found)


def test_a_search_s_facets_count_its_matches(api: Client, products: list[str]) -> None:
    first = api.get("/v1/products?q=http23+parka&limit=1")
    assert first.status == 200, first.text
    counts = [r["count"] for r in first.json["facets"]["price_ranges"]]
    assert sum(counts) == len(slugs(api, "/v1/products?q=http23+parka&limit=1")) == 4
    again = api.get("/v1/products?q=parka+http23&limit=2&sort=price_asc")  # same words: the kept counts
    assert again.json["facets"] == first.json["facets"]


def test_unknown_parameters_beside_q_are_400(api: Client, products: list[str]) -> None:
    r = api.get("/v1/products?q=http23+parka&colour=red")
    assert r.status == 400 and "colour" in r.text
