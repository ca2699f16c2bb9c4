"""The staff catalog gaps over HTTP: changing and listing places, reading, changing and deleting price lists,
markdowns on collections (listed and deleted), and deletes of products never shown, their variants and
images, empty categories and collections; each refused to everyone but catalog managers by the database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from .conftest import Client
from .test_accounts import login, register
from .test_catalog_admin import create, staff_token, tag


@pytest.fixture(scope="module")
def manager(server: Client, admin_url: str) -> str:
    return staff_token(server, admin_url, "catalog_manager")


@pytest.fixture(scope="module")
def support(server: Client, admin_url: str) -> str:
    return staff_token(server, admin_url, "support_agent")


@pytest.fixture(scope="module")
def shopper(server: Client) -> str:
    return str(login(server, register(server)["email"])["access_token"])


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def all_pages(api: Client, path: str, token: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        r = api.get(path + ("&" if "?" in path else "?") + "limit=100" + (f"&cursor={cursor}" if cursor else ""),
                    token=token)
        assert r.status == 200, r.text
        items += r.json["items"]
        cursor = r.json["next_cursor"]
        if cursor is None:
            return items


@pytest.fixture
def shop_item(api: Client, manager: str, admin: psycopg.Connection) -> Iterator[dict[str, Any]]:
    """A published product (one variant, 5000 EUR) in a category of its own; removed afterwards by the admin
    (the only one who may delete a product that has been shown)."""
    t = tag()
    category = api.post("/v1/admin/categories", {"name": f"Gap {t}"}, token=manager).json
    product = create(api, manager, name=f"Gap Coat {t}", status="published", category_id=category["id"],
                     variants=[{"sku": f"GAP-{t}", "name": "One", "prices": [{"amount": 5000, "currency": "EUR"}]}])
    yield {**product, "sku": f"GAP-{t}", "category": category}
    admin.execute("DELETE FROM shop.products WHERE id = %s", [product["id"]])
    admin.execute("DELETE FROM shop.categories WHERE id = %s", [category["id"]])


def shown_price(api: Client, product: dict[str, Any]) -> int:
    page = api.get(f"/v1/products/{product['slug']}")
    assert page.status == 200, page.text
    listed = api.get(f"/v1/products?category={product['category']['slug']}").json["items"]
    assert [i["price"]["amount"] for i in listed] == [page.json["variants"][0]["price"]["amount"]]
    return int(page.json["variants"][0]["price"]["amount"])


# -- stores ------------------------------------------------------------------------------------------
# Off Antarctica, far from every other test's places: a store here is the nearest one to SPOT.
SPOT = (-62.5, 95.0)


def store_body(code: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "name": f"Gap Store {code}", "latitude": SPOT[0] + 0.5, "longitude": SPOT[1],
            "pickup": True, "address": {"line1": "2 Harbour Road", "city": "Stanley", "postal_code": "FIQQ 1ZZ",
                                        "country": "FK"}, **extra}


@pytest.fixture(scope="module", autouse=True)
def remove_places(admin_url: str) -> Iterator[None]:
    yield
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("DELETE FROM shop.warehouses WHERE upper(code) LIKE 'GAP-%'")


def test_patch_a_store_changes_only_what_is_sent(api: Client, manager: str) -> None:
    code = f"GAP-{tag().upper()}"
    made = api.post("/v1/admin/stores", store_body(code, address={
        "line1": "2 Harbour Road", "line2": "Unit 4", "city": "Stanley", "postal_code": "FIQQ 1ZZ", "country": "FK"}),
        token=manager)
    assert made.status == 201, made.text
    path = f"/v1/admin/stores/{made.json['id']}"
    r = api.patch(path, {"name": "Harbour Shop", "address": {"city": "Port Stanley", "line2": None, "country": "fk"},
                         "latitude": SPOT[0]}, token=manager)
    assert r.status == 200, r.text
    assert r.json["name"] == "Harbour Shop" and r.json["code"] == code
    assert r.json["address"] == {"line1": "2 Harbour Road", "line2": None, "city": "Port Stanley",
                                 "postal_code": "FIQQ 1ZZ", "country": "FK"}
    assert (r.json["latitude"], r.json["longitude"], r.json["pickup"], r.json["listed"]) == (*SPOT, True, True)
    near = api.get(f"/v1/stores?near={SPOT[0]},{SPOT[1]}&limit=1").json["items"]
    assert [(i["code"], i["distance_km"]) for i in near] == [(code, 0)], "the new position is searched at once"

    hidden = api.patch(path, {"listed": False}, token=manager)
    assert hidden.status == 200 and hidden.json["listed"] is False
    assert code not in {i["code"] for i in api.get(f"/v1/stores?near={SPOT[0]},{SPOT[1]}&limit=5").json["items"]}
    staff_list = all_pages(api, "/v1/admin/stores", manager)
    assert [(i["code"], i["listed"]) for i in staff_list if i["id"] == made.json["id"]] == [(code, False)]
    assert len({i["id"] for i in staff_list}) == len(staff_list)
    assert [i["name"] for i in staff_list] == sorted(i["name"] for i in staff_list)


def test_patch_a_store_validates_what_is_sent(api: Client, manager: str, admin: psycopg.Connection) -> None:
    made = api.post("/v1/admin/stores", store_body(f"GAP-{tag().upper()}"), token=manager).json
    path = f"/v1/admin/stores/{made['id']}"
    r = api.patch(path, {"code": "NEW-1", "name": " ", "latitude": 91, "longitude": "east", "listed": "yes",
                         "address": {"line1": "", "country": "XX"}}, token=manager)
    assert r.status == 422 and r.error_code == "validation_failed", r.text
    assert set(r.json["error"]["details"]["fields"]) == {"code", "name", "latitude", "longitude", "listed",
                                                          "address.line1", "address.country"}
    assert api.patch(path, {"address": "somewhere"}, token=manager).json["error"]["details"]["fields"] == {
        "address": "must be an object with any of line1, line2, city, postal_code and country"}
    assert api.get(f"/v1/admin/stores?limit=100&cursor={'x' * 8}", token=manager).status == 400
    for unknown in (str(uuid.uuid4()), "not-an-id"):
        missing = api.patch(f"/v1/admin/stores/{unknown}", {"name": "X"}, token=manager)
        assert missing.status == 404 and missing.error_code == "store_not_found"

    # A fulfilment centre without an address or a position cannot be listed, nor get half a position.
    code = f"GAP-DC-{tag()}"
    centre = admin.execute("INSERT INTO shop.warehouses (code, name) VALUES (%s, 'DC') RETURNING id", [code]).fetchone()
    assert centre is not None
    listed = api.patch(f"/v1/admin/stores/{centre[0]}", {"listed": True}, token=manager)
    assert listed.status == 422 and set(listed.json["error"]["details"]["fields"]) == {"listed"}
    half = api.patch(f"/v1/admin/stores/{centre[0]}", {"latitude": 10}, token=manager)
    assert half.status == 422 and set(half.json["error"]["details"]["fields"]) == {"latitude", "longitude"}
    row = [i for i in all_pages(api, "/v1/admin/stores", manager) if i["code"] == code]
    assert [(i["listed"], i["latitude"], i["address"]["line1"]) for i in row] == [(False, None, None)]


# -- price lists -------------------------------------------------------------------------------------
def test_price_lists_are_read_changed_and_deleted(api: Client, manager: str, shop_item: dict[str, Any]) -> None:
    name = f"Gap Sale {tag()}"
    now = datetime.now(UTC)
    made = api.post("/v1/admin/price-lists", {"name": name, "starts_at": rfc3339(now - timedelta(hours=1))},
                    token=manager)
    assert made.status == 201, made.text
    path = f"/v1/admin/price-lists/{made.json['price_list']['id']}"
    own_end = now + timedelta(days=2)
    put = api.put(f"{path}/prices", {"prices": [
        {"sku": shop_item["sku"], "amount": 4000, "currency": "EUR", "ends_at": rfc3339(own_end)},
        {"sku": shop_item["sku"], "amount": 3000, "currency": "EUR", "min_quantity": 10}]}, token=manager)
    assert put.status == 200, put.text
    assert shown_price(api, shop_item) == 4000

    one = api.get(path, token=manager)
    assert one.status == 200 and one.json["price_list"]["name"] == name
    assert [(p["sku"], p["amount"], p["min_quantity"]) for p in one.json["prices"]] == [
        (shop_item["sku"], 4000, 1), (shop_item["sku"], 3000, 10)]
    window = one.json["prices"][0]["window"]
    assert datetime.fromisoformat(window["starts_at"]) == datetime.fromisoformat(made.json["price_list"]["starts_at"])
    assert datetime.fromisoformat(window["ends_at"]) == own_end
    assert one.json["prices"][1]["window"]["ends_at"] is None and one.json["prices"][1]["ends_at"] is None
    listed = [i for i in all_pages(api, "/v1/admin/price-lists", manager) if i["name"] == name]
    assert [(i["id"], i["price_count"]) for i in listed] == [(made.json["price_list"]["id"], 2)]

    # A list starting after its first price's own end would leave that price no window.
    later = api.patch(path, {"starts_at": rfc3339(now + timedelta(days=3))}, token=manager)
    assert later.status == 422 and later.error_code == "price_outside_list_window", later.text
    assert set(later.json["error"]["details"]["fields"]) == {"starts_at"}
    assert [p["amount"] for p in later.json["error"]["details"]["prices"]] == [4000]
    other = api.post("/v1/admin/price-lists", {"name": f"{name} other"}, token=manager).json["price_list"]
    taken = api.patch(path, {"name": other["name"]}, token=manager)
    assert taken.status == 409 and taken.error_code == "price_list_exists"
    bad = api.patch(path, {"priority": "high", "customer_group": "no-such-group", "ends_at": "soon"}, token=manager)
    assert bad.status == 422 and set(bad.json["error"]["details"]["fields"]) == {"priority", "customer_group",
                                                                                 "ends_at"}
    assert shown_price(api, shop_item) == 4000, "refused changes change nothing"

    future = api.patch(path, {"name": f"{name} (moved)", "starts_at": rfc3339(now + timedelta(days=1)),
                              "priority": 5}, token=manager)
    assert future.status == 200, future.text
    assert future.json["price_list"]["name"] == f"{name} (moved)" and future.json["price_list"]["priority"] == 5
    assert shown_price(api, shop_item) == 5000, "the list's prices moved with its window"
    back = api.patch(path, {"starts_at": None}, token=manager)
    assert back.status == 200 and back.json["price_list"]["starts_at"] is None
    assert shown_price(api, shop_item) == 4000

    assert api.delete(path, token=manager).status == 204
    assert shown_price(api, shop_item) == 5000
    assert api.get(path, token=manager).error_code == "price_list_not_found"
    assert api.delete(path, token=manager).status == 404
    assert api.patch(path, {"name": "X"}, token=manager).status == 404
    assert api.delete(f"/v1/admin/price-lists/{other['id']}", token=manager).status == 204


# -- markdowns -----------------------------------------------------------------------------------------
def test_a_markdown_on_a_collection(api: Client, manager: str, shop_item: dict[str, Any]) -> None:
    t = tag()
    collection = api.post("/v1/admin/collections", {"name": f"Gap Picks {t}"}, token=manager).json
    now = datetime.now(UTC)
    body = {"name": f"Picks {t}", "percent_off": 25, "collection": collection["slug"],
            "starts_at": rfc3339(now - timedelta(minutes=1)), "ends_at": rfc3339(now + timedelta(hours=1))}
    made = api.post("/v1/admin/markdowns", body, token=manager)
    assert made.status == 201, made.text
    markdown = made.json["markdown"]
    assert markdown["collection"] == {"id": collection["id"], "slug": collection["slug"], "name": f"Gap Picks {t}"}
    assert markdown["category"] is None and markdown["product"] is None
    assert shown_price(api, shop_item) == 5000, "the product is not in the collection yet"
    put = api.put(f"/v1/admin/collections/{collection['id']}/products", {"product_ids": [shop_item["id"]]},
                  token=manager)
    assert put.status == 200
    assert shown_price(api, shop_item) == 3750
    active = all_pages(api, "/v1/admin/markdowns?status=active", manager)
    assert markdown["id"] in {m["id"] for m in active}
    assert markdown["id"] not in {m["id"] for m in all_pages(api, "/v1/admin/markdowns?status=scheduled", manager)}
    assert api.get("/v1/admin/markdowns?status=soon", token=manager).status == 400

    assert api.delete(f"/v1/admin/markdowns/{markdown['id']}", token=manager).status == 204
    assert shown_price(api, shop_item) == 5000
    gone = api.delete(f"/v1/admin/markdowns/{markdown['id']}", token=manager)
    assert gone.status == 404 and gone.error_code == "markdown_not_found"

    unknown = api.post("/v1/admin/markdowns", {**body, "collection": "no-such-collection"}, token=manager)
    assert unknown.status == 422 and unknown.json["error"]["details"]["fields"] == {
        "collection": "no collection has this slug"}
    two = api.post("/v1/admin/markdowns", {**body, "product": shop_item["slug"]}, token=manager)
    assert two.status == 422 and set(two.json["error"]["details"]["fields"]) == {"product", "collection"}


# -- deletes -------------------------------------------------------------------------------------------
def test_only_a_product_never_shown_is_deleted(api: Client, manager: str, shop_item: dict[str, Any]) -> None:
    t = tag()
    draft = create(api, manager, name=f"Gap Draft {t}", media=[{"url": f"https://img.example/{t}.jpg"}],
                   variants=[{"sku": f"GD-{t}-A", "name": "A"}, {"sku": f"GD-{t}-B", "name": "B"}])
    removed = api.patch(f"/v1/admin/products/{draft['id']}", {"variants": [{"sku": f"GD-{t}-A", "remove": True}]},
                        token=manager)
    assert removed.status == 200, removed.text
    assert [v["sku"] for v in removed.json["variants"]] == [f"GD-{t}-B"]
    assert api.delete(f"/v1/admin/products/{draft['id']}", token=manager).status == 204
    assert api.get(f"/v1/admin/products/{draft['id']}", token=manager).status == 404
    assert api.delete(f"/v1/admin/products/{draft['id']}", token=manager).error_code == "product_not_found"
    again = create(api, manager, name=f"Gap Draft {t}", variants=[{"sku": f"GD-{t}-A", "name": "A"}])
    assert again["slug"] == draft["slug"], "its slug and SKUs are free again"

    shown = api.delete(f"/v1/admin/products/{shop_item['id']}", token=manager)
    assert shown.status == 409 and shown.error_code == "product_was_published", shown.text
    archived = api.patch(f"/v1/admin/products/{shop_item['id']}", {"status": "archived"}, token=manager)
    assert archived.status == 200
    assert api.delete(f"/v1/admin/products/{shop_item['id']}", token=manager).status == 409, "archived, still kept"
    variant = api.patch(f"/v1/admin/products/{shop_item['id']}", {"variants": [{"sku": shop_item["sku"],
                                                                                "remove": True}]}, token=manager)
    assert variant.status == 409 and variant.json["error"]["details"]["fields"] == {
        "variants.0.remove": "the product has been on the storefront: its variants stay"}
    assert api.patch(f"/v1/admin/products/{shop_item['id']}", {"variants": [{"sku": "x", "remove": "yes"}]},
                     token=manager).status == 422


def test_images_are_removed_one_at_a_time(api: Client, manager: str) -> None:
    t = tag()
    product = create(api, manager, name=f"Gap Pics {t}", media=[{"url": f"https://img.example/{t}-1.jpg"},
                                                                {"url": f"https://img.example/{t}-2.jpg"}])
    first = product["media"][0]["id"]
    assert api.delete(f"/v1/admin/products/{product['id']}/media/{first}", token=manager).status == 204
    after = api.get(f"/v1/admin/products/{product['id']}", token=manager).json
    assert [m["url"] for m in after["media"]] == [f"https://img.example/{t}-2.jpg"]
    assert after["image_url"] == f"https://img.example/{t}-2.jpg"
    again = api.delete(f"/v1/admin/products/{product['id']}/media/{first}", token=manager)
    assert again.status == 404 and again.error_code == "media_not_found"


def test_categories_are_deleted_only_when_empty(api: Client, manager: str, shop_item: dict[str, Any]) -> None:
    t = tag()
    parent = api.post("/v1/admin/categories", {"name": f"Gap Parent {t}"}, token=manager).json
    child = api.post("/v1/admin/categories", {"name": f"Gap Child {t}", "parent_id": parent["id"]}, token=manager).json
    with_child = api.delete(f"/v1/admin/categories/{parent['id']}", token=manager)
    assert with_child.status == 409 and with_child.error_code == "category_not_empty"
    assert with_child.json["error"]["details"] | {"id": None} == {"id": None, "subcategories": 1, "products": 0}
    with_product = api.delete(f"/v1/admin/categories/{shop_item['category']['id']}", token=manager)
    assert with_product.status == 409 and with_product.json["error"]["details"]["products"] == 1
    assert api.delete(f"/v1/admin/categories/{child['id']}", token=manager).status == 204
    assert api.delete(f"/v1/admin/categories/{parent['id']}", token=manager).status == 204
    assert parent["slug"] not in str(api.get("/v1/categories").json)
    assert api.delete(f"/v1/admin/categories/{parent['id']}", token=manager).error_code == "category_not_found"


def test_a_deleted_collection_is_gone_and_its_products_stay(api: Client, manager: str,
                                                            shop_item: dict[str, Any]) -> None:
    made = api.post("/v1/admin/collections", {"name": f"Gap Gone {tag()}"}, token=manager).json
    api.put(f"/v1/admin/collections/{made['id']}/products", {"product_ids": [shop_item["id"]]}, token=manager)
    assert api.get(f"/v1/collections/{made['slug']}").status == 200
    assert api.delete(f"/v1/admin/collections/{made['id']}", token=manager).status == 204
    assert api.get(f"/v1/collections/{made['slug']}").status == 404
    assert api.get(f"/v1/products/{shop_item['slug']}").status == 200
    assert api.delete(f"/v1/admin/collections/{made['id']}", token=manager).error_code == "collection_not_found"


# -- who may -------------------------------------------------------------------------------------------
NEW_ADMIN_CALLS = [
    ("GET", "/v1/admin/stores", None),
    ("PATCH", f"/v1/admin/stores/{uuid.uuid4()}", {"name": "X"}),
    ("GET", "/v1/admin/price-lists", None),
    ("GET", f"/v1/admin/price-lists/{uuid.uuid4()}", None),
    ("PATCH", f"/v1/admin/price-lists/{uuid.uuid4()}", {"name": "X"}),
    ("DELETE", f"/v1/admin/price-lists/{uuid.uuid4()}", None),
    ("GET", "/v1/admin/markdowns", None),
    ("DELETE", f"/v1/admin/markdowns/{uuid.uuid4()}", None),
    ("DELETE", f"/v1/admin/products/{uuid.uuid4()}", None),
    ("DELETE", f"/v1/admin/products/{uuid.uuid4()}/media/{uuid.uuid4()}", None),
    ("DELETE", f"/v1/admin/categories/{uuid.uuid4()}", None),
    ("DELETE", f"/v1/admin/collections/{uuid.uuid4()}", None),
]


@pytest.mark.parametrize(("method", "path", "body"), NEW_ADMIN_CALLS)
def test_only_catalog_managers_may(api: Client, shopper: str, support: str, manager: str, method: str, path: str,
                                   body: Any) -> None:
    for token, status, code in ((None, 401, "unauthorized"), (shopper, 403, "forbidden"), (support, 403, "forbidden")):
        r = api.request(method, path, body, token=token)
        assert (r.status, r.error_code) == (status, code), (method, path, token and "signed in", r.text)
    assert api.request(method, path, body, token=manager).status in (200, 404)


def test_openapi_lists_the_new_routes(api: Client) -> None:
    paths = api.get("/openapi.json").json["paths"]
    assert set(paths["/v1/admin/stores"]) == {"get", "post"} and "patch" in paths["/v1/admin/stores/{id}"]
    assert set(paths["/v1/admin/price-lists/{id}"]) == {"get", "patch", "delete"}
    assert "delete" in paths["/v1/admin/markdowns/{id}"] and "get" in paths["/v1/admin/markdowns"]
    for path in ("/v1/admin/products/{id}", "/v1/admin/products/{id}/media/{media_id}", "/v1/admin/categories/{id}",
                 "/v1/admin/collections/{id}"):
        assert "delete" in paths[path], path
