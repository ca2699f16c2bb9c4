"""Tax and shipping over HTTP: a product's tax class and its variants' weights through the admin product API.
The rules themselves (shop.compute_tax, shop.shipping_options) are tested in tests/sql/18_tax_shipping.sql."""

from __future__ import annotations

import uuid

import pytest

from .conftest import Client
from .test_catalog_admin import staff_token


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
