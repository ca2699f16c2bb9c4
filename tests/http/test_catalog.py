"""The first catalog slice over HTTP: published products only, keyset pages, caching headers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from urllib.parse import quote

import psycopg
import pytest

from .conftest import Client


@pytest.fixture(scope="module", autouse=True)
def demo_catalog(admin_url: str) -> Iterator[None]:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("SELECT shop.load_demo_catalog()")
    yield


def all_pages(api: Client, query: str) -> list[dict]:
    items, cursor = [], None
    while True:
        sep = "&" if "?" in query else "?"
        r = api.get(query + (f"{sep}cursor={cursor}" if cursor else ""))
        assert r.status == 200, r.text
        items += r.json["items"]
        cursor = r.json["next_cursor"]
        if cursor is None:
            return items


def test_products_list_shape(api: Client) -> None:
    r = api.get("/v1/products?limit=5")
    assert r.status == 200 and len(r.json["items"]) == 5 and r.json["next_cursor"]
    item = r.json["items"][0]
    assert set(item) >= {"id", "slug", "name", "description", "price", "in_stock", "image_url", "category"}
    assert set(item["price"]) == {"amount", "currency"} and isinstance(item["price"]["amount"], int)
    assert {"categories", "price_ranges"} <= set(r.json["facets"])


@pytest.mark.parametrize("sort", ["newest", "price_asc", "price_desc", "name"])
def test_keyset_pages_cover_every_published_product_once(api: Client, admin, sort: str) -> None:
    published = admin.execute("SELECT count(*) FROM shop.products WHERE status = 'published'").fetchone()[0]
    items = all_pages(api, f"/v1/products?limit=7&sort={sort}")
    ids = [i["id"] for i in items]
    assert len(ids) == len(set(ids)) == published


def test_anonymous_never_sees_drafts(api: Client, admin) -> None:
    draft = admin.execute("SELECT id, slug FROM shop.products WHERE status <> 'published' LIMIT 1").fetchone()
    assert draft, "the demo has drafts"
    assert str(draft[0]) not in {i["id"] for i in all_pages(api, "/v1/products?limit=100")}
    r = api.get(f"/v1/products/{draft[1]}")
    assert r.status == 404 and r.error_code == "product_not_found"


def test_product_by_slug_and_by_id(api: Client) -> None:
    first = api.get("/v1/products?limit=1").json["items"][0]
    by_slug = api.get(f"/v1/products/{first['slug']}")
    by_id = api.get(f"/v1/products/{first['id']}")
    assert by_slug.status == by_id.status == 200 and by_slug.json == by_id.json
    product = by_slug.json
    assert set(product) >= {"id", "slug", "name", "description", "attributes", "category", "variants"}
    variant = product["variants"][0]
    assert set(variant) >= {"id", "sku", "name", "options", "price", "in_stock", "available_quantity"}


def test_unknown_product_is_404(api: Client) -> None:
    assert api.get(f"/v1/products/{uuid.uuid4()}").status == 404
    assert api.get("/v1/products/no-such-thing").error_code == "product_not_found"


def test_prices_in_usd(api: Client) -> None:
    r = api.get("/v1/products?limit=3&currency=USD")
    assert r.status == 200 and all(i["price"]["currency"] == "USD" for i in r.json["items"])


def test_bad_parameters_are_400(api: Client) -> None:
    assert api.get("/v1/products?limit=0").status == 400
    assert api.get("/v1/products?limit=101").status == 400
    assert api.get("/v1/products?cursor=%%%").status == 400


def test_search_tolerates_typos(api: Client) -> None:
    r = api.get("/v1/products?q=hodie")
    assert r.status == 200 and r.json["items"]
    assert "hoodie" in r.json["items"][0]["name"].lower()


@pytest.fixture
def t_shirt(admin_url: str) -> Iterator[str]:
    """A published product named with a hyphen, beside the demo's tees (whose descriptions say T-shirt)."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        product_id = conn.execute(
            "INSERT INTO shop.products (slug, name, description, status)"
            " VALUES ('http-classic-t-shirt', 'Classic T-Shirt', 'Heavy cotton.', 'published') RETURNING id"
        ).fetchone()[0]
        conn.execute(
            "WITH v AS (INSERT INTO shop.product_variants (product_id, sku, name)"
            "           VALUES (%s, 'HTTP-TSHIRT-1', 'One size') RETURNING id)"
            " INSERT INTO shop.variant_prices (variant_id, currency, amount) SELECT v.id, 'EUR', 1990 FROM v",
            [product_id],
        )
        try:
            yield "http-classic-t-shirt"
        finally:
            conn.execute("DELETE FROM shop.products WHERE id = %s", [product_id])


@pytest.mark.parametrize("q", ["tshirt", "tshrt", "t+shirt", "T-Shirt", "t-shirt", "T%20-%20SHIRT"])
def test_search_ignores_hyphens_and_spaces_inside_words(api: Client, t_shirt: str, q: str) -> None:
    r = api.get(f"/v1/products?q={q}")
    assert r.status == 200, r.text
    assert r.json["items"] and r.json["items"][0]["slug"] == t_shirt, [i["name"] for i in r.json["items"]]


def test_search_for_tshirt_also_finds_the_demo_tees(api: Client, t_shirt: str) -> None:
    # Their names say "Tee"; their descriptions say "T-shirt".
    names = [i["name"] for i in all_pages(api, "/v1/products?q=tshirt&limit=50")]
    assert names[0] == "Classic T-Shirt" and sum(name.endswith(" Tee") for name in names) >= 5, names


def test_search_tolerates_typos_in_several_words(api: Client) -> None:
    r = api.get("/v1/products?q=sumit+flece+hodie")
    assert r.status == 200 and [i["name"] for i in r.json["items"]] == ["Summit Fleece Hoodie"]


def test_etag_and_304(api: Client) -> None:
    first = api.get("/v1/products?limit=3")
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "public, no-cache"  # stored, but revalidated: never stale
    again = api.get("/v1/products?limit=3", headers={"If-None-Match": etag})
    assert again.status == 304 and again.text == "" and again.headers["etag"] == etag


def test_categories_tree(api: Client) -> None:
    r = api.get("/v1/categories")
    assert r.status == 200 and r.json["items"]
    assert any(c["children"] for c in r.json["items"])


def test_attribute_filters_are_repeatable_and_combine(api: Client, admin) -> None:
    # The demo's attributes: pick a name with at least two values among published products.
    name, first, second = admin.execute(
        """SELECT e.key, min(e.value), max(e.value) FROM shop.products AS p, jsonb_each_text(p.attributes) AS e
           WHERE p.status = 'published' AND jsonb_typeof(p.attributes -> e.key) = 'string'
           GROUP BY e.key HAVING count(DISTINCT e.value) > 1 ORDER BY e.key LIMIT 1""").fetchone()
    expected = {
        value: {str(r[0]) for r in admin.execute(
            "SELECT id FROM shop.products WHERE status = 'published' AND attributes ->> %s = %s", (name, value))}
        for value in (first, second)
    }
    a, b = f"attr.{quote(name)}={quote(first)}", f"attr.{quote(name)}={quote(second)}"
    one = {i["id"] for i in all_pages(api, f"/v1/products?limit=100&{a}")}
    assert one == expected[first]
    either = {i["id"] for i in all_pages(api, f"/v1/products?limit=100&{a}&{b}")}
    assert either == expected[first] | expected[second]
    r = api.get(f"/v1/products?{a}&attr.no-such-attribute=x")
    assert r.status == 200 and r.json["items"] == []
    facet = next(f for f in api.get(f"/v1/products?{a}").json["facets"]["attributes"] if f["name"] == name)
    assert facet["values"] == [{"value": first, "count": len(expected[first])}]


def test_in_stock_filter(api: Client, admin) -> None:
    stocked = {str(r[0]) for r in admin.execute(
        """SELECT p.id FROM shop.products AS p WHERE p.status = 'published' AND (
             SELECT coalesce(sum(s.on_hand - s.reserved), 0) FROM shop.product_variants AS v
             JOIN shop.stock_levels AS s ON s.variant_id = v.id WHERE v.product_id = p.id) > 0""")}
    listed = all_pages(api, "/v1/products?limit=100&in_stock=true")
    assert {i["id"] for i in listed} == stocked and all(i["in_stock"] for i in listed)
    everything = all_pages(api, "/v1/products?limit=100&in_stock=false")
    assert len(everything) > len(listed)
    bad = api.get("/v1/products?in_stock=maybe")
    assert bad.status == 400 and "in_stock" in bad.json["error"]["details"]["fields"]


def test_facets_sum_to_the_matching_products(api: Client) -> None:
    r = api.get("/v1/products?limit=1")
    listed = all_pages(api, "/v1/products?limit=100")
    assert sum(b["count"] for b in r.json["facets"]["price_ranges"]) == len(listed)
    # Other tests publish products without a category: the root categories count every product in one.
    roots = {c["slug"] for c in api.get("/v1/categories").json["items"]}
    assert sum(c["count"] for c in r.json["facets"]["categories"] if c["slug"] in roots) == \
        sum(1 for i in listed if i["category"])


def test_unknown_and_malformed_family_parameters_are_400(api: Client) -> None:
    for query in ("attr=M", "attrs.size=M", "size=M"):
        r = api.get(f"/v1/products?{query}")
        assert r.status == 400 and r.error_code == "invalid_parameter", query
        assert query.split("=")[0] in r.json["error"]["details"]["fields"]
