"""Tax and shipping over HTTP: a product's tax class and its variants' weights through the admin product API,
and the staff routes for tax rates and shipping methods. The rules themselves (shop.compute_tax,
shop.shipping_options) are tested in tests/sql/18_tax_shipping.sql."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from postcart.http.routes import ROUTES
from tests.concurrency.test_account_races import race

from .conftest import Client
from .test_catalog_admin import staff_token
from .test_fuzz import StateSummary, db, fuzz, fuzz_schema, state  # noqa: F401 (fixtures)


@pytest.fixture(scope="module")
def manager(server: Client, admin_url: str) -> str:
    return staff_token(server, admin_url, "catalog_manager")


def test_a_catalog_manager_sets_the_tax_class_and_weights(api: Client, manager: str) -> None:
    t = uuid.uuid4().hex[:8]
    r = api.post("/v1/admin/products", {
        "name": f"Cookbook {t}", "tax_class": "reduced",
        "variants": [{"sku": f"BOOK-{t}-H", "name": "Hardback", "weight_grams": 850},
                     {"sku": f"BOOK-{t}-E", "name": "E-book"}],
    }, token=manager)
    assert r.status == 201, r.text
    assert r.json["tax_class"] == "reduced"
    assert [(v["sku"], v["weight_grams"]) for v in r.json["variants"]] == [(f"BOOK-{t}-H", 850), (f"BOOK-{t}-E", 0)]

    changed = api.patch(f"/v1/admin/products/{r.json['id']}", {
        "tax_class": "zero", "variants": [{"sku": f"BOOK-{t}-H", "weight_grams": 900}],
    }, token=manager)
    assert changed.status == 200, changed.text
    assert changed.json["tax_class"] == "zero"
    assert [v["weight_grams"] for v in changed.json["variants"]] == [900, 0]

    renamed = api.patch(f"/v1/admin/products/{r.json['id']}", {"name": f"Cookbook {t} 2nd ed."}, token=manager)
    assert renamed.json["tax_class"] == "zero" and renamed.json["variants"][0]["weight_grams"] == 900, \
        "members left out are unchanged"
    shown = api.get(f"/v1/admin/products/{r.json['id']}", token=manager)
    assert shown.json["tax_class"] == "zero"


def test_a_product_without_a_class_is_standard(api: Client, manager: str) -> None:
    t = uuid.uuid4().hex[:8]
    r = api.post("/v1/admin/products", {"name": f"Mug {t}"}, token=manager)
    assert r.status == 201, r.text
    assert r.json["tax_class"] == "standard"


@pytest.mark.parametrize("weight", [-1, 1.5, "heavy", 10_000_001, None, True])
def test_a_bad_weight_is_422_naming_the_variant(api: Client, manager: str, weight: object) -> None:
    t = uuid.uuid4().hex[:8]
    r = api.post("/v1/admin/products", {
        "name": f"Lamp {t}", "slug": f"lamp-{t}", "variants": [{"sku": f"LAMP-{t}", "name": "Lamp", "weight_grams": weight}],
    }, token=manager)
    assert r.status == 422, r.text
    assert r.error_code == "validation_failed"
    assert list(r.json["error"]["details"]["fields"]) == ["variants.0.weight_grams"]
    assert api.get(f"/v1/admin/products?q=lamp-{t}", token=manager).json["items"] == [], "nothing was written"


def test_a_bad_tax_class_is_refused(api: Client, manager: str) -> None:
    t = uuid.uuid4().hex[:8]
    wrong_type = api.post("/v1/admin/products", {"name": f"Vase {t}", "tax_class": 7}, token=manager)
    assert wrong_type.status == 422, wrong_type.text
    assert list(wrong_type.json["error"]["details"]["fields"]) == ["tax_class"]
    unknown = api.post("/v1/admin/products", {"name": f"Vase {t}", "slug": f"vase-{t}", "tax_class": "luxury"},
                       token=manager)
    assert unknown.status == 404, unknown.text
    assert unknown.error_code == "tax_class_not_found"
    assert unknown.json["error"]["details"]["fields"] == {"tax_class": "no tax class has this code"}
    assert api.get(f"/v1/admin/products?q=vase-{t}", token=manager).json["items"] == [], "nothing was written"


# -- the rule functions name every bad argument (for the cart and checkout that call them) -------------
def sql_error(admin: psycopg.Connection, statement: str) -> tuple[str | None, str | None, dict]:
    with pytest.raises(psycopg.Error) as raised:
        admin.execute(statement)
    diag = raised.value.diag
    return diag.sqlstate, diag.message_primary, json.loads(diag.message_detail or "{}")


def test_compute_tax_names_every_bad_argument(admin: psycopg.Connection) -> None:
    state, code, detail = sql_error(admin, "SELECT * FROM shop.compute_tax(ARRAY[100, -1, NULL], "
                                           "ARRAY['standard', 'luxury'], NULL, NULL, NULL, NULL)")
    assert (state, code) == ("PT422", "validation_failed")
    assert detail["fields"] == {
        "amounts[2]": "must be a whole number of minor units, 0 or more",
        "amounts[3]": "must be a whole number of minor units, 0 or more",
        "tax_classes": "must name one tax class per amount",
        "tax_classes[2]": "is not a tax class",
        "country": "is required",
        "prices_include_tax": "must be true or false",
        "at": "is required",
    }


def test_shipping_options_names_every_bad_argument(admin: psycopg.Connection) -> None:
    state, code, detail = sql_error(admin, "SELECT * FROM shop.shipping_options(NULL, NULL, -1, NULL, NULL)")
    assert (state, code) == ("PT422", "validation_failed")
    assert detail["fields"] == {
        "country": "is required", "weight_grams": "must be a whole number of grams, 0 or more",
        "subtotal": "must be a whole number of minor units, 0 or more", "currency": "is required",
    }


# -- tax rates and shipping methods (store_admin writes, any staff member reads) ----------------------
@pytest.fixture(scope="module")
def store_admin(server: Client, admin_url: str) -> str:
    return staff_token(server, admin_url, "store_admin")


@pytest.fixture(scope="module")
def support(server: Client, admin_url: str) -> str:
    return staff_token(server, admin_url, "support_agent")


def unused_region(admin: psycopg.Connection, table: str) -> str:
    """A region code of Norway no row of `table` names yet: each test writes its own place."""
    while True:
        region = "Q" + uuid.uuid4().hex[:2].upper()
        if not admin.execute(f"SELECT 1 FROM shop.{table} WHERE country = 'NO' AND region = %s",
                             [region]).fetchone():
            return region


def test_a_store_admin_adds_tax_rates_and_staff_list_them(api: Client, store_admin: str, support: str,
                                                          admin: psycopg.Connection) -> None:
    region = unused_region(admin, "tax_rates")
    body = {"country": "NO", "region": region, "tax_class": "standard", "rate_percent": 8.875,
            "name": "Test rate", "valid_to": "2031-01-01T00:00:00Z"}
    r = api.post("/v1/admin/tax-rates", body, token=store_admin)
    assert r.status == 201, r.text
    rate = r.json["tax_rate"]
    assert (rate["country"], rate["region"], rate["rate_percent"], rate["valid_from"]) == ("NO", region, 8.875, None)
    assert rate["valid_to"].startswith("2031-01-01T00:00:00")
    later = api.post("/v1/admin/tax-rates", {**body, "rate_percent": 9, "valid_from": "2031-01-01T00:00:00Z",
                                             "valid_to": None}, token=store_admin)
    assert later.status == 201, "a rate may start where the previous one ends"

    overlap = api.post("/v1/admin/tax-rates", {**body, "valid_to": None, "valid_from": "2030-06-01T00:00:00Z"},
                       token=store_admin)
    assert overlap.status == 409 and overlap.error_code == "tax_rate_overlaps", overlap.text
    assert set(overlap.json["error"]["details"]["overlapping"]) == {rate["id"], later.json["tax_rate"]["id"]}

    # Any staff member pages through the country's rates; ours come in (class, start) order.
    seen: list[dict] = []
    cursor = None
    while True:
        query = "/v1/admin/tax-rates?country=NO&limit=1" + (f"&cursor={cursor}" if cursor else "")
        page = api.get(query, token=support)
        assert page.status == 200, page.text
        seen += page.json["items"]
        cursor = page.json["next_cursor"]
        if cursor is None:
            break
    ours = [(x["region"], x["rate_percent"]) for x in seen if x["region"] == region]
    assert ours == [(region, 8.875), (region, 9)]
    assert {x["country"] for x in seen} == {"NO"}
    assert len({x["id"] for x in seen}) == len(seen), "no rate twice across pages"


@pytest.mark.parametrize(("body", "field"), [
    ({"country": "XX"}, "country"), ({"country": "no"}, "country"), ({"region": "california"}, "region"),
    ({"rate_percent": 100.5}, "rate_percent"), ({"rate_percent": -1}, "rate_percent"),
    ({"rate_percent": 7.12345}, "rate_percent"), ({"rate_percent": "7"}, "rate_percent"), ({"name": " "}, "name"),
    ({"tax_class": 3}, "tax_class"), ({"valid_from": "tomorrow"}, "valid_from"),
    ({"valid_from": "2031-01-01T00:00:00Z", "valid_to": "2030-01-01T00:00:00Z"}, "valid_to"),
])
def test_a_bad_tax_rate_is_422_naming_the_field(api: Client, store_admin: str, admin: psycopg.Connection,
                                                 body: dict, field: str) -> None:
    before = admin.execute("SELECT count(*) FROM shop.tax_rates").fetchone()
    good = {"country": "NO", "region": "ZZ9", "tax_class": "standard", "rate_percent": 5, "name": "x"}
    r = api.post("/v1/admin/tax-rates", {**good, **body}, token=store_admin)
    assert r.status == 422, r.text
    assert list(r.json["error"]["details"]["fields"]) == [field]
    assert admin.execute("SELECT count(*) FROM shop.tax_rates").fetchone() == before


def test_only_store_admins_write_tax_rates(api: Client, manager: str, support: str) -> None:
    body = {"country": "NO", "tax_class": "standard", "rate_percent": 25, "name": "MVA"}
    assert api.post("/v1/admin/tax-rates", body, token=manager).status == 403
    assert api.post("/v1/admin/tax-rates", body, token=support).status == 403
    assert api.post("/v1/admin/tax-rates", body).status == 401
    assert api.get("/v1/admin/tax-rates").status == 401
    unknown = api.post("/v1/admin/tax-rates", {**body, "tax_class": "luxury"}, token=manager)
    assert unknown.status == 403, "permission is checked before anything else"


@pytest.fixture
def zone(admin: psycopg.Connection) -> Iterator[str]:
    """A zone of its own (zones are managed in SQL): one Norwegian region."""
    code = f"tst-{uuid.uuid4().hex[:8]}"
    region = unused_region(admin, "shipping_zone_countries")
    zone_id = admin.execute("INSERT INTO shop.shipping_zones (code, name) VALUES (%s, 'Test zone') RETURNING id",
                            [code]).fetchone()[0]
    admin.execute("INSERT INTO shop.shipping_zone_countries (zone_id, country, region) VALUES (%s, 'NO', %s)",
                  [zone_id, region])
    yield code
    admin.execute("DELETE FROM shop.shipping_methods WHERE zone_id = %s", [zone_id])
    admin.execute("DELETE FROM shop.shipping_zones WHERE id = %s", [zone_id])


def test_a_store_admin_adds_shipping_methods_that_apply_at_once(api: Client, store_admin: str, support: str,
                                                                 admin: psycopg.Connection, zone: str) -> None:
    parcel = api.post("/v1/admin/shipping-methods", {
        "zone": zone, "code": f"{zone}-parcel", "name": "Parcel", "currency": "NOK", "rate_kind": "weight_tiered",
        "free_from_subtotal": 100000, "tiers": [{"max_weight_grams": 1000, "amount": 9900},
                                                {"min_weight_grams": 1001, "max_weight_grams": 5000, "amount": 14900}],
    }, token=store_admin)
    assert parcel.status == 201, parcel.text
    method = parcel.json["shipping_method"]
    assert method["zone"]["code"] == zone and method["tax_class"] == "standard" and method["active"] is True
    assert method["tiers"] == [
        {"min_weight_grams": 0, "max_weight_grams": 1000, "amount": {"amount": 9900, "currency": "NOK"}},
        {"min_weight_grams": 1001, "max_weight_grams": 5000, "amount": {"amount": 14900, "currency": "NOK"}},
    ]
    assert method["free_from_subtotal"] == {"amount": 100000, "currency": "NOK"} and method["flat_amount"] is None
    express = api.post("/v1/admin/shipping-methods", {
        "zone": zone, "code": f"{zone}-express", "name": "Express", "currency": "NOK", "rate_kind": "flat",
        "flat_amount": 12900, "tax_class": "reduced", "position": 2,
    }, token=store_admin)
    assert express.status == 201, express.text

    region = method["zone"]["countries"][0]["region"]
    options = admin.execute("SELECT code, amount FROM shop.shipping_options('NO', %s, 1001, 5000, 'NOK')",
                            [region]).fetchall()
    assert options == [(f"{zone}-express", 12900), (f"{zone}-parcel", 14900)], "cheapest first, 1001 g is tier 2"

    listed = api.get("/v1/admin/shipping-methods?limit=100", token=support)
    assert listed.status == 200, listed.text
    codes = [m["code"] for m in listed.json["items"]]
    assert codes == sorted(codes)
    taken = api.post("/v1/admin/shipping-methods", {
        "zone": zone, "code": f"{zone}-express", "name": "Again", "currency": "NOK", "rate_kind": "flat",
        "flat_amount": 1,
    }, token=store_admin)
    assert taken.status == 409 and taken.error_code == "shipping_method_exists", taken.text


@pytest.mark.parametrize("path", ["/v1/admin/tax-rates", "/v1/admin/shipping-methods"])
def test_a_cursor_not_from_the_list_is_400(api: Client, support: str, path: str) -> None:
    # Not base64, then a well-formed cursor (base64url of a JSON object) without this list's keys.
    tampered = base64.urlsafe_b64encode(json.dumps({"name": "x"}).encode()).decode().rstrip("=")
    for cursor in ("!", tampered):
        r = api.get(f"{path}?cursor={cursor}", token=support)
        assert (r.status, r.error_code) == (400, "invalid_cursor"), r.text
        assert list(r.json["error"]["details"]["fields"]) == ["cursor"]


@pytest.mark.parametrize(("change", "fields"), [
    ({"rate_kind": "flat", "tiers": None}, ["flat_amount"]),
    ({"flat_amount": 100}, ["flat_amount"]),
    ({"rate_kind": "flat", "flat_amount": 100}, ["tiers"]),
    ({"tiers": []}, ["tiers"]),
    ({"tiers": [{"max_weight_grams": 1000, "amount": 1}, {"min_weight_grams": 1000, "amount": 2}]}, ["tiers.1"]),
    ({"tiers": [{"amount": 1}, {"min_weight_grams": 5, "max_weight_grams": 9, "amount": 2}]}, ["tiers.1"]),
    ({"tiers": [{"min_weight_grams": 10, "max_weight_grams": 9, "amount": 1}]}, ["tiers.0"]),
    ({"tiers": [{"max_weight_grams": 1000}, {"min_weight_grams": 1.5, "amount": -1}]},
     ["tiers.0.amount", "tiers.1.min_weight_grams", "tiers.1.amount"]),
    ({"tiers": ["light"]}, ["tiers.0"]),
    ({"currency": "nok", "code": "Bad Code", "active": "yes", "position": 0.5},
     ["currency", "code", "active", "position"]),
    ({"free_from_subtotal": -1, "rate_kind": "by_volume"}, ["free_from_subtotal", "rate_kind"]),
])
def test_a_bad_shipping_method_is_422_naming_each_field(api: Client, store_admin: str, zone: str,
                                                         admin: psycopg.Connection, change: dict,
                                                         fields: list[str]) -> None:
    body = {"zone": zone, "code": f"{zone}-x", "name": "X", "currency": "NOK", "rate_kind": "weight_tiered",
            "tiers": [{"amount": 100}], **change}
    r = api.post("/v1/admin/shipping-methods", body, token=store_admin)
    assert r.status == 422, r.text
    assert sorted(r.json["error"]["details"]["fields"]) == sorted(fields), r.text
    assert admin.execute("SELECT count(*) FROM shop.shipping_methods WHERE code = %s", [f"{zone}-x"]).fetchone() == (0,)


def test_unknown_zone_or_class_is_404_and_only_store_admins_write(api: Client, store_admin: str, manager: str,
                                                                   zone: str) -> None:
    body = {"zone": zone, "code": f"{zone}-y", "name": "Y", "currency": "NOK", "rate_kind": "flat", "flat_amount": 1}
    no_zone = api.post("/v1/admin/shipping-methods", {**body, "zone": "nowhere-at-all"}, token=store_admin)
    assert no_zone.status == 404 and no_zone.error_code == "shipping_zone_not_found", no_zone.text
    no_class = api.post("/v1/admin/shipping-methods", {**body, "tax_class": "luxury"}, token=store_admin)
    assert no_class.status == 404 and no_class.error_code == "tax_class_not_found", no_class.text
    assert api.post("/v1/admin/shipping-methods", body, token=manager).status == 403
    assert api.post("/v1/admin/shipping-methods", body).status == 401
    assert api.get("/v1/admin/shipping-methods").status == 401


# -- no request to these routes, however malformed, is a 5xx or changes anything when refused ----------
OURS = [(r.method, r.path) for r in ROUTES if "/tax-rates" in r.path or "/shipping-methods" in r.path]


@pytest.mark.parametrize(("method", "path"), OURS)
def test_fuzz_as_a_store_admin(fuzz_schema: Any, method: str, path: str, store_admin: str,
                               state: StateSummary) -> None:  # noqa: F811
    fuzz(fuzz_schema, method, path, {"Authorization": f"Bearer {store_admin}"}, state)


# -- races: the constraints decide, many real connections at once ----------------------------------------
def test_racing_overlapping_rates_leave_exactly_one(server: Client, store_admin: str,
                                                    admin: psycopg.Connection) -> None:
    region = unused_region(admin, "tax_rates")
    counter = iter(range(1000))
    results = race(lambda: server.post("/v1/admin/tax-rates", {
        "country": "NO", "region": region, "tax_class": "reduced", "rate_percent": next(counter), "name": "race",
    }, token=store_admin))
    statuses = sorted(r.status for r in results)
    assert statuses == [201] + [409] * (len(results) - 1), statuses
    assert {r.error_code for r in results if r.status == 409} == {"tax_rate_overlaps"}
    assert admin.execute("SELECT count(*) FROM shop.tax_rates WHERE country = 'NO' AND region = %s",
                         [region]).fetchone() == (1,)


def test_racing_methods_with_one_code_leave_exactly_one(server: Client, store_admin: str, zone: str,
                                                        admin: psycopg.Connection) -> None:
    results = race(lambda: server.post("/v1/admin/shipping-methods", {
        "zone": zone, "code": f"{zone}-race", "name": "Race", "currency": "NOK", "rate_kind": "weight_tiered",
        "tiers": [{"max_weight_grams": 1000, "amount": 100}],
    }, token=store_admin))
    statuses = sorted(r.status for r in results)
    assert statuses == [201] + [409] * (len(results) - 1), statuses
    assert admin.execute("SELECT count(*) FROM shop.shipping_method_tiers AS t JOIN shop.shipping_methods AS m"
                         " ON m.id = t.method_id WHERE m.code = %s", [f"{zone}-race"]).fetchone() == (1,), \
        "the losers' tiers were rolled back with them"
