"""Staff catalog management over HTTP: product types, products with variants, prices, attributes, media,
publication and scheduling, slugs and their redirects, the category tree, collections, and who may do it."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ..conftest import run_cli
from .conftest import Client

PASSWORD = "staff-password-1"


def new_email() -> str:
    return f"cat-{uuid.uuid4().hex[:12]}@example.com"


def tag() -> str:
    return uuid.uuid4().hex[:8]


def token_of(api: Client, email: str, password: str) -> str:
    r = api.post("/v1/auth/login", {"email": email, "password": password})
    assert r.status == 200, r.text
    return r.json["access_token"]


def staff_token(api: Client, admin_url: str, roles: str) -> str:
    email = new_email()
    made = run_cli("create-staff", "--email", email, "--password", PASSWORD, "--full-name", "S", "--roles", roles,
                   env={"DATABASE_URL": admin_url})
    assert made.returncode == 0, made.stderr
    return token_of(api, email, PASSWORD)


@pytest.fixture(scope="module")
def manager(server: Client, admin_url: str) -> str:
    return staff_token(server, admin_url, "catalog_manager")


@pytest.fixture(scope="module")
def support(server: Client, admin_url: str) -> str:
    return staff_token(server, admin_url, "support_agent")


@pytest.fixture(scope="module")
def shopper(server: Client) -> str:
    email = new_email()
    assert server.post("/v1/auth/register", {"email": email, "password": PASSWORD, "full_name": "C"}).status == 201
    return token_of(server, email, PASSWORD)


@pytest.fixture(scope="module")
def shirt_type(server: Client, manager: str) -> str:
    code = f"shirt-{tag()}"
    r = server.post("/v1/admin/product-types", {"code": code, "name": "Shirt", "attributes": {
        "size": {"type": "enum", "values": ["S", "M", "L"], "required": True},
        "weight_g": {"type": "number"}, "organic": {"type": "boolean"}, "material": {"type": "text"},
    }}, token=manager)
    assert r.status == 201, r.text
    assert r.json["code"] == code and r.json["attributes"]["size"]["values"] == ["S", "M", "L"]
    return code


def create(api: Client, token: str, **body: Any) -> dict[str, Any]:
    r = api.post("/v1/admin/products", body, token=token)
    assert r.status == 201, r.text
    return r.json


# -- products ----------------------------------------------------------------------------------------
def test_create_a_draft_then_publish_it(api: Client, manager: str, shirt_type: str) -> None:
    t = tag()
    category = api.post("/v1/admin/categories", {"name": f"Tops {t}"}, token=manager)
    assert category.status == 201 and category.json["slug"] == f"tops-{t}"
    product = create(
        api, manager, name=f"Crème Tee {t}", description="Soft.", product_type=shirt_type,
        attributes={"size": "M", "weight_g": 180, "organic": True, "material": "cotton"},
        category_id=category.json["id"],
        variants=[{"sku": f"TEE-{t}-M", "name": "M", "options": {"size": "M"},
                   "prices": [{"amount": 1999, "currency": "EUR"}, {"amount": 2199, "currency": "USD"}]},
                  {"sku": f"TEE-{t}-L", "name": "L", "position": 5, "prices": [{"amount": 2099, "currency": "EUR"}]}],
        media=[{"url": f"https://img.example/{t}-1.jpg", "alt": "Front"}, {"url": f"https://img.example/{t}-2.jpg"}],
    )
    assert product["slug"] == f"creme-tee-{t}" and product["status"] == "draft" and product["published_at"] is None
    assert product["product_type"]["code"] == shirt_type and product["category"]["id"] == category.json["id"]
    assert [v["sku"] for v in product["variants"]] == [f"TEE-{t}-M", f"TEE-{t}-L"]
    assert product["variants"][0]["prices"] == [{"amount": 1999, "currency": "EUR"}, {"amount": 2199, "currency": "USD"}]
    assert [m["alt"] for m in product["media"]] == ["Front", ""] and product["image_url"].endswith(f"{t}-1.jpg")

    assert api.get(f"/v1/products/{product['slug']}").status == 404  # a draft is not on the storefront
    assert api.get(f"/v1/admin/products/{product['id']}", token=manager).json["status"] == "draft"

    published = api.patch(f"/v1/admin/products/{product['id']}", {"status": "published"}, token=manager)
    assert published.status == 200 and published.json["status"] == "published" and published.json["published_at"]
    public = api.get(f"/v1/products/{product['slug']}")
    assert public.status == 200, public.text
    assert [m["url"] for m in public.json["media"]] == [f"https://img.example/{t}-1.jpg", f"https://img.example/{t}-2.jpg"]
    assert public.json["attributes"]["size"] == "M"
    listed = api.get(f"/v1/products?category={category.json['slug']}").json["items"]
    assert [i["id"] for i in listed] == [product["id"]] and listed[0]["image_url"].endswith(f"{t}-1.jpg")
    assert listed[0]["price"] == {"amount": 1999, "currency": "EUR"}

    # prices given for a variant replace its prices; unlisted variants stay
    changed = api.patch(f"/v1/admin/products/{product['id']}", {"variants": [
        {"sku": f"TEE-{t}-M", "prices": [{"amount": 1499, "currency": "EUR"}]}]}, token=manager)
    assert changed.status == 200, changed.text
    assert changed.json["variants"][0]["prices"] == [{"amount": 1499, "currency": "EUR"}]
    assert len(changed.json["variants"]) == 2
    archived = api.patch(f"/v1/admin/products/{product['id']}", {"status": "archived"}, token=manager)
    assert archived.json["status"] == "archived" and api.get(f"/v1/products/{product['slug']}").status == 404


def test_a_bad_attribute_is_422_naming_it(api: Client, manager: str, shirt_type: str) -> None:
    r = api.post("/v1/admin/products", {"name": f"Bad {tag()}", "product_type": shirt_type,
                                        "attributes": {"size": "XXL", "organic": "yes"}}, token=manager)
    assert r.status == 422 and r.error_code == "validation_failed"
    assert r.json["error"]["details"]["fields"] == {"attributes.size": "must be one of S, M, L",
                                                    "attributes.organic": "must be true or false"}
    missing = api.post("/v1/admin/products", {"name": f"Bad {tag()}", "product_type": shirt_type}, token=manager)
    assert missing.status == 422 and missing.json["error"]["details"]["fields"] == {"attributes.size": "is required"}


def test_unknown_references_are_404(api: Client, manager: str) -> None:
    r = api.post("/v1/admin/products", {"name": "X", "category_id": str(uuid.uuid4())}, token=manager)
    assert r.status == 404 and r.error_code == "category_not_found"
    assert r.json["error"]["details"]["fields"] == {"category_id": "no category has this id"}
    r = api.post("/v1/admin/products", {"name": "X", "product_type": "no-such-type"}, token=manager)
    assert r.status == 404 and r.error_code == "product_type_not_found"
    for path in (f"/v1/admin/products/{uuid.uuid4()}", "/v1/admin/products/not-a-uuid"):
        assert api.get(path, token=manager).error_code == "product_not_found"
        assert api.patch(path, {"name": "Y"}, token=manager).status == 404


def test_validation_names_every_bad_member(api: Client, manager: str) -> None:
    r = api.post("/v1/admin/products", {
        "name": " ", "status": "live", "publish_at": "tomorrow", "slug": "Not A Slug",
        "variants": [{"sku": "ok-1", "name": "A", "prices": [{"amount": -1, "currency": "eur"}]}, {"name": "B"}],
        "media": [{"url": "ftp://x"}],
    }, token=manager)
    assert r.status == 422, r.text
    assert set(r.json["error"]["details"]["fields"]) == {
        "name", "status", "publish_at", "slug", "variants.0.prices.0.amount", "variants.0.prices.0.currency",
        "variants.1.sku", "media.0.url",
    }


def test_conflicts_are_409(api: Client, manager: str) -> None:
    t = tag()
    first = create(api, manager, name=f"Dup {t}", variants=[{"sku": f"DUP-{t}", "name": "One"}])
    r = api.post("/v1/admin/products", {"name": "Other", "variants": [{"sku": f"DUP-{t}", "name": "One"}]}, token=manager)
    assert r.status == 409 and r.error_code == "sku_taken"
    r = api.post("/v1/admin/products", {"name": "Other", "slug": first["slug"]}, token=manager)
    assert r.status == 409 and r.error_code == "slug_taken"


def test_slugs_are_unique_and_old_ones_redirect(api: Client, manager: str) -> None:
    t = tag()
    a = create(api, manager, name=f"Hiking Jacket {t}", status="published",
               variants=[{"sku": f"HJ-{t}", "name": "One", "prices": [{"amount": 100, "currency": "EUR"}]}])
    b = create(api, manager, name=f"Hiking  Jacket {t}!")
    assert (a["slug"], b["slug"]) == (f"hiking-jacket-{t}", f"hiking-jacket-{t}-2")
    renamed = api.patch(f"/v1/admin/products/{a['id']}", {"name": f"Alpine Jacket {t}"}, token=manager)
    assert renamed.status == 200 and renamed.json["slug"] == f"alpine-jacket-{t}"
    assert renamed.json["former_slugs"] == [f"hiking-jacket-{t}"]
    moved = api.get(f"/v1/products/{a['slug']}")
    assert moved.status == 301 and moved.headers["location"] == f"/v1/products/alpine-jacket-{t}"
    assert moved.error_code == "moved_permanently"
    assert api.get(moved.headers["location"]).json["id"] == a["id"]
    with_currency = api.get(f"/v1/products/{a['slug']}?currency=EUR")
    assert with_currency.headers["location"] == f"/v1/products/alpine-jacket-{t}?currency=EUR"
    c = create(api, manager, name=f"Hiking Jacket {t}")  # the former slug stays reserved for its product
    assert c["slug"] == f"hiking-jacket-{t}-3"


def test_scheduled_publication_is_visible_at_the_instant(api: Client, manager: str) -> None:
    t = tag()
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
    product = create(api, manager, name=f"Launch {t}", publish_at=at.isoformat(),
                     variants=[{"sku": f"LA-{t}", "name": "One", "prices": [{"amount": 500, "currency": "EUR"}]}])
    assert product["status"] == "published" and product["scheduled"] is True
    assert datetime.fromisoformat(product["published_at"]) == at
    scheduled = api.get(f"/v1/admin/products?status=scheduled&q={product['slug']}", token=manager).json["items"]
    assert [i["id"] for i in scheduled] == [product["id"]]
    assert api.get(f"/v1/products/{product['slug']}").status == 404
    assert product["id"] not in {i["id"] for i in api.get("/v1/products?sort=newest&limit=100").json["items"]}
    time.sleep(max(0.0, (at - datetime.now(UTC)).total_seconds()) + 0.05)
    visible = api.get(f"/v1/products/{product['slug']}")
    assert visible.status == 200 and visible.json["variants"][0]["price"] == {"amount": 500, "currency": "EUR"}
    assert api.get("/v1/products?sort=newest&limit=100").json["items"][0]["id"] == product["id"]


def test_staff_list_filters_by_status_and_text(api: Client, manager: str) -> None:
    t = tag()
    made = {s: create(api, manager, name=f"Listed {t} {s}", status=s) for s in ("draft", "published", "archived")}
    for status, product in made.items():
        items = api.get(f"/v1/admin/products?status={status}&q=listed+{t}", token=manager).json["items"]
        assert [(i["id"], i["status"]) for i in items] == [(product["id"], status)]
    page1 = api.get(f"/v1/admin/products?q=LISTED+{t}&limit=2", token=manager).json
    page2 = api.get(f"/v1/admin/products?q=LISTED+{t}&limit=2&cursor={page1['next_cursor']}", token=manager).json
    assert {i["id"] for i in page1["items"] + page2["items"]} == {p["id"] for p in made.values()}
    assert page2["next_cursor"] is None
    assert api.get("/v1/admin/products?status=live", token=manager).status == 400
    assert api.get("/v1/admin/products?colour=red", token=manager).status == 400


def test_product_type_changes_that_break_products_are_409(api: Client, manager: str) -> None:
    t = tag()
    kind = api.post("/v1/admin/product-types", {"name": f"Mug {t}", "attributes": {"volume_ml": {"type": "number"}}},
                    token=manager)
    assert kind.status == 201 and kind.json["code"] == f"mug-{t}"
    create(api, manager, name=f"Mug {t}", product_type=kind.json["code"], attributes={"volume_ml": 300})
    r = api.patch(f"/v1/admin/product-types/{kind.json['id']}", {"attributes": {"volume_ml": {"type": "text"}}},
                  token=manager)
    assert r.status == 409 and r.error_code == "product_type_in_use"
    assert r.json["error"]["details"]["products"][0]["fields"] == {"attributes.volume_ml": "must be text"}
    # A change every product of the type still meets goes through: a new optional attribute, a new name.
    grown = api.patch(f"/v1/admin/product-types/{kind.json['id']}", {"name": f"Big mug {t}", "attributes": {
        "volume_ml": {"type": "number"}, "glaze": {"type": "enum", "values": ["matte", "gloss"]}}}, token=manager)
    assert grown.status == 200, grown.text
    assert grown.json["name"] == f"Big mug {t}" and grown.json["attributes"]["glaze"]["values"] == ["matte", "gloss"]
    create(api, manager, name=f"Glazed mug {t}", product_type=kind.json["code"],
           attributes={"volume_ml": 250, "glaze": "gloss"})
    bad = api.post("/v1/admin/product-types", {"name": "X", "attributes": {"size": {"type": "enum"}}}, token=manager)
    assert bad.status == 422 and "attributes.size" in bad.json["error"]["details"]["fields"]


# -- categories ----------------------------------------------------------------------------------------
def test_moving_a_category_moves_its_subtree(api: Client, manager: str) -> None:
    t = tag()

    def category(name: str, parent: str | None = None) -> dict[str, Any]:
        r = api.post("/v1/admin/categories", {"name": f"{name} {t}", "parent_id": parent}, token=manager)
        assert r.status == 201, r.text
        return r.json

    a = category("A")
    b = category("B", a["id"])
    c = category("C", b["id"])
    d = category("D")
    product = create(api, manager, name=f"Deep {t}", category_id=c["id"], status="published",
                     variants=[{"sku": f"DEEP-{t}", "name": "One", "prices": [{"amount": 1, "currency": "EUR"}]}])
    assert [i["id"] for i in api.get(f"/v1/products?category={a['slug']}").json["items"]] == [product["id"]]
    moved = api.patch(f"/v1/admin/categories/{b['id']}", {"parent_id": d["id"], "position": 3}, token=manager)
    assert moved.status == 200 and moved.json["parent_id"] == d["id"] and moved.json["position"] == 3
    assert [i["id"] for i in api.get(f"/v1/products?category={d['slug']}").json["items"]] == [product["id"]]
    assert api.get(f"/v1/products?category={a['slug']}").json["items"] == []
    cycle = api.patch(f"/v1/admin/categories/{d['id']}", {"parent_id": c["id"]}, token=manager)
    assert cycle.status == 422 and cycle.error_code == "category_cycle"
    unknown = api.patch(f"/v1/admin/categories/{d['id']}", {"parent_id": str(uuid.uuid4())}, token=manager)
    assert unknown.status == 404 and unknown.error_code == "category_not_found"
    assert api.patch(f"/v1/admin/categories/{uuid.uuid4()}", {"name": "X"}, token=manager).status == 404
    taken = api.post("/v1/admin/categories", {"name": "X", "slug": a["slug"]}, token=manager)
    assert taken.status == 409 and taken.error_code == "slug_taken"
    top = api.patch(f"/v1/admin/categories/{b['id']}", {"parent_id": None}, token=manager)
    assert top.status == 200 and top.json["parent_id"] is None


# -- collections ---------------------------------------------------------------------------------------
def test_collections_list_published_products_in_order(api: Client, manager: str) -> None:
    t = tag()
    price = [{"amount": 700, "currency": "EUR"}]
    p1 = create(api, manager, name=f"Pick One {t}", status="published", variants=[{"sku": f"P1-{t}", "name": "x", "prices": price}])
    p2 = create(api, manager, name=f"Pick Two {t}", status="published", variants=[{"sku": f"P2-{t}", "name": "x", "prices": price}])
    draft = create(api, manager, name=f"Pick Draft {t}")
    made = api.post("/v1/admin/collections", {"name": f"Summer Picks {t}"}, token=manager)
    assert made.status == 201 and made.json["slug"] == f"summer-picks-{t}" and made.json["products"] == []
    slug = made.json["slug"]
    put = api.put(f"/v1/admin/collections/{made.json['id']}/products",
                  {"product_ids": [p2["id"], draft["id"], p1["id"]]}, token=manager)
    assert put.status == 200 and [p["id"] for p in put.json["products"]] == [p2["id"], draft["id"], p1["id"]]
    public = api.get(f"/v1/collections/{slug}")
    assert public.status == 200 and public.json["name"] == f"Summer Picks {t}"
    assert [i["id"] for i in public.json["items"]] == [p2["id"], p1["id"]]
    assert public.json["items"][0]["price"] == {"amount": 700, "currency": "EUR"}
    filtered = api.get(f"/v1/products?collection={slug}&sort=name").json["items"]
    assert [i["id"] for i in filtered] == [p1["id"], p2["id"]]
    assert api.get("/v1/collections/no-such-collection").status == 404
    assert api.get("/v1/products?collection=no-such-collection").status == 400
    unknown = api.put(f"/v1/admin/collections/{made.json['id']}/products", {"product_ids": [str(uuid.uuid4())]},
                      token=manager)
    assert unknown.status == 404 and unknown.error_code == "product_not_found"
    twice = api.put(f"/v1/admin/collections/{made.json['id']}/products", {"product_ids": [p1["id"], p1["id"]]},
                    token=manager)
    assert twice.status == 422
    assert api.put(f"/v1/admin/collections/{uuid.uuid4()}/products", {"product_ids": []}, token=manager).status == 404
    again = api.post("/v1/admin/collections", {"name": f"Summer Picks {t}"}, token=manager)
    assert again.json["slug"] == f"summer-picks-{t}-2"


# -- who may ---------------------------------------------------------------------------------------------
ADMIN_CALLS = [
    ("POST", "/v1/admin/product-types", {"name": "X"}),
    ("PATCH", f"/v1/admin/product-types/{uuid.uuid4()}", {"name": "X"}),
    ("GET", "/v1/admin/products", None),
    ("POST", "/v1/admin/products", {"name": "X"}),
    ("GET", f"/v1/admin/products/{uuid.uuid4()}", None),
    ("PATCH", f"/v1/admin/products/{uuid.uuid4()}", {"name": "X"}),
    ("POST", "/v1/admin/categories", {"name": "X"}),
    ("PATCH", f"/v1/admin/categories/{uuid.uuid4()}", {"name": "X"}),
    ("POST", "/v1/admin/collections", {"name": "X"}),
    ("PUT", f"/v1/admin/collections/{uuid.uuid4()}/products", {"product_ids": []}),
]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_CALLS)
def test_only_catalog_managers_may(api: Client, shopper: str, support: str, method: str, path: str,
                                   body: Any) -> None:
    for token, status, code in ((None, 401, "unauthorized"), (shopper, 403, "forbidden"), (support, 403, "forbidden")):
        r = api.request(method, path, body, token=token)
        assert (r.status, r.error_code) == (status, code), (method, path, token and "signed in", r.text)


# -- CSV import and export -----------------------------------------------------------------------------
def post_csv(api: Client, text: str, token: str | None) -> Any:
    return api.request("POST", "/v1/admin/products/import", token=token, raw=text.encode(),
                       headers={"Content-Type": "text/csv"})


def test_import_creates_and_updates_then_export_gives_the_same_columns(api: Client, manager: str,
                                                                       shirt_type: str) -> None:
    import csv
    import io

    t = tag()
    cat = api.post("/v1/admin/categories", {"name": f"Csv {t}"}, token=manager).json["slug"]
    text = (
        "product_slug,name,description,status,category,product_type,attributes,media,sku,variant_name,options,"
        "position,price_EUR,price_USD\n"
        f'csv-tee-{t},"Csv Tee, {t}",Soft,published,{cat},{shirt_type},"{{""size"": ""M""}}",'
        f'"[{{""url"": ""https://img.example/{t}.jpg"", ""alt"": ""Front""}}]",CSV-{t}-M,M,"{{""size"": ""M""}}",0,1999,2199\n'
        f'csv-tee-{t},,,,,,,,CSV-{t}-L,L,,1,2099,\n'
        f',Csv Mug {t},,draft,,,,,,,,,,\n'
    )
    r = post_csv(api, text, manager)
    assert r.status == 200 and r.json == {"created": 2, "updated": 0}, r.text
    tee = api.get(f"/v1/products/csv-tee-{t}")
    assert tee.status == 200 and tee.json["name"] == f"Csv Tee, {t}" and tee.json["category"]["slug"] == cat
    assert [(v["sku"], v["price"]["amount"]) for v in tee.json["variants"]] == [(f"CSV-{t}-M", 1999), (f"CSV-{t}-L", 2099)]
    assert tee.json["media"] == [{"url": f"https://img.example/{t}.jpg", "alt": "Front"}]
    mug = api.get(f"/v1/admin/products?q=csv+mug+{t}", token=manager).json["items"]
    assert [(m["slug"], m["status"]) for m in mug] == [(f"csv-mug-{t}", "draft")]

    exported = api.get("/v1/admin/products/export", token=manager)
    assert exported.status == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.text, newline="")))
    header = rows[0]
    assert header[:13] == ["product_slug", "name", "description", "status", "publish_at", "category", "product_type",
                           "attributes", "media", "sku", "variant_name", "options", "position"]
    assert {"price_EUR", "price_USD"} <= set(header[13:])
    mine = [dict(zip(header, row, strict=True)) for row in rows[1:] if row[0] in (f"csv-tee-{t}", f"csv-mug-{t}")]
    assert [(m["sku"], m["price_EUR"], m["price_USD"]) for m in mine] == [
        ("", "", ""), (f"CSV-{t}-M", "1999", "2199"), (f"CSV-{t}-L", "2099", "")]

    # the export of these products, imported again, changes nothing but counts them as updated
    before = api.get(f"/v1/admin/products/{tee.json['id']}", token=manager).json
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(row for row in rows[1:] if row[0] in (f"csv-tee-{t}", f"csv-mug-{t}"))
    again = post_csv(api, buffer.getvalue(), manager)
    assert again.status == 200 and again.json == {"created": 0, "updated": 2}, again.text
    after = api.get(f"/v1/admin/products/{tee.json['id']}", token=manager).json
    for key in ("slug", "name", "description", "status", "published_at", "attributes", "category", "variants"):
        assert after[key] == before[key], key
    assert [(m["url"], m["alt"]) for m in after["media"]] == [(m["url"], m["alt"]) for m in before["media"]]


def test_one_bad_row_rejects_the_whole_import(api: Client, manager: str, shirt_type: str) -> None:
    t = tag()
    text = (
        "product_slug,name,product_type,attributes,sku,variant_name,price_EUR\n"
        f"ok-{t},Ok {t},,,OK-{t},One,100\n"
        f"bad-{t},Bad {t},,,BAD-{t},One,12.50\n"
        f"typed-{t},Typed {t},{shirt_type},\"{{\"\"size\"\": \"\"XL\"\"}}\",TY-{t},One,100\n"
        f"dup-{t},Dup {t},,,OK-{t},One,100\n"
    )
    r = post_csv(api, text, manager)
    assert r.status == 422 and r.error_code == "import_failed", r.text
    assert r.json["error"]["details"]["rows"] == [
        {"row": 3, "field": "price_EUR", "message": "must be a whole number of minor units, 0 or more (1999 = 19.99)"},
        {"row": 4, "field": "attributes.size", "message": "must be one of S, M, L"},
        {"row": 5, "field": "sku", "message": "is on row 2 too"},
    ]
    assert api.get(f"/v1/admin/products?q=ok-{t}", token=manager).json["items"] == []  # nothing was written
    unknown = post_csv(api, "name,sku,variant_name,colour\nX,X1,One,red\n", manager)
    assert unknown.status == 422 and unknown.json["error"]["details"]["rows"] == [
        {"row": 1, "field": "colour", "message": "is not a column of the import"}]


@pytest.fixture
def bulk_tag(admin: Any) -> Any:
    """A tag for bulk products, removed afterwards: thousands of them would slow later catalog tests."""
    t = tag()
    yield t
    admin.execute("DELETE FROM shop.products WHERE slug LIKE %s", [f"bulk-{t}-%"])


def test_import_of_ten_thousand_rows(api: Client, manager: str, bulk_tag: str) -> None:
    t = bulk_tag
    lines = ["product_slug,name,description,status,sku,variant_name,options,position,price_EUR"]
    for n in range(5000):  # 5,000 products of 2 variants each
        for size in ("S", "M"):
            lines.append(f'bulk-{t}-{n},Bulk {t} {n},A bulk product,published,B{t}-{n}-{size},{size},'
                         f'"{{""size"": ""{size}""}}",{"SM".index(size)},{1000 + n}')
    # Not timed here (the statement timeout bounds it; bench/import_csv.py measures it).
    r = post_csv(api, "\n".join(lines) + "\n", manager)
    assert r.status == 200 and r.json == {"created": 5000, "updated": 0}, r.text[:500]
    one = api.get(f"/v1/products/bulk-{t}-4999")
    assert [v["price"]["amount"] for v in one.json["variants"]] == [5999, 5999]
    before = api.get(f"/v1/admin/products/{one.json['id']}", token=manager).json

    # The same file again: every product counted as updated, nothing written.
    again = post_csv(api, "\n".join(lines) + "\n", manager)
    assert again.status == 200 and again.json == {"created": 0, "updated": 5000}, again.text[:500]
    assert api.get(f"/v1/admin/products/{one.json['id']}", token=manager).json["updated_at"] == before["updated_at"]
    # One price and one variant name changed among 10,000 rows: exactly those change.
    neighbour = api.get(f"/v1/admin/products?q=bulk-{t}-4998", token=manager).json["items"][0]
    changed = [line.replace(f"B{t}-4999-M,M,", f"B{t}-4999-M,Medium,").replace(",5999", ",6100")
               if line.startswith(f"bulk-{t}-4999,") and "-M," in line else line for line in lines]
    third = post_csv(api, "\n".join(changed) + "\n", manager)
    assert third.status == 200 and third.json == {"created": 0, "updated": 5000}, third.text[:500]
    after = api.get(f"/v1/admin/products/{one.json['id']}", token=manager).json
    assert [(v["name"], v["prices"][0]["amount"]) for v in after["variants"]] == [("S", 5999), ("Medium", 6100)]
    assert api.get(f"/v1/admin/products/{neighbour['id']}", token=manager).json["updated_at"] == neighbour["updated_at"]
    too_many = post_csv(api, "\n".join(lines + [lines[1]]) + "\n", manager)
    assert too_many.status == 422 and too_many.json["error"]["details"]["rows"][0]["row"] == 10002


def test_csv_routes_refuse_others_and_other_bodies(api: Client, manager: str, support: str) -> None:
    assert post_csv(api, "name,sku,variant_name\n", support).status == 403
    assert post_csv(api, "name,sku,variant_name\n", None).status == 401
    assert api.get("/v1/admin/products/export", token=support).status == 403
    as_json = api.post("/v1/admin/products/import", {"rows": []}, token=manager)
    assert as_json.status == 415
    broken = api.request("POST", "/v1/admin/products/import", token=manager, raw=b'name\n"open',
                         headers={"Content-Type": "text/csv"})
    assert broken.status == 400 and broken.error_code == "invalid_csv"
