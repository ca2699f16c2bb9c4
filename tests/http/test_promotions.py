"""Promotions and coupons over HTTP: the staff routes (catalog_manager only; validation, codes unique
case-insensitively, list, read, change, delete only when never redeemed) and coupons on carts (applied,
refused with the reason, removed; automatic promotions without a code; free shipping). The rules are
tested in tests/sql/20_promotions.sql, the races in tests/concurrency/test_coupon_races.py."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from .conftest import Client
from .test_carts import ADDRESS, Store, add, call, customer_token, guest_cart, store  # noqa: F401 - fixture
from .test_stores import staff_token


@pytest.fixture(scope="module")
def manager(server: Client, admin_url: str) -> str:
    return staff_token(server, admin_url, "catalog_manager")


def code() -> str:
    return f"T{uuid.uuid4().hex[:10]}"


def coupon(api: Client, manager: str, **body: Any) -> dict[str, Any]:
    r = api.post("/v1/admin/coupons", {"code": code(), "kind": "percent", "value": 10, **body}, token=manager)
    assert r.status == 201, r.text
    return r.json


def iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


# -- staff routes ------------------------------------------------------------------------------------
def test_a_catalog_manager_creates_reads_lists_and_changes_promotions(api: Client, manager: str,
                                                                       store: Store) -> None:
    made = coupon(api, manager, code=f"Spring-{uuid.uuid4().hex[:6]}", value=12.5, usage_limit=100,
                  per_customer_limit=1, starts_at="2026-03-01T00:00:00Z", ends_at="2099-06-01T00:00:00Z",
                  targets={"category_ids": [store.category_id], "product_ids": [store.items["mug"].product_id]})
    assert made["kind"] == "percent" and made["value"] == 12.5 and made["name"] == made["code"]
    assert made["times_used"] == 0 and made["active"] is True
    assert made["targets"] == {"category_ids": [store.category_id], "collection_ids": [],
                               "product_ids": [store.items["mug"].product_id]}
    assert datetime.fromisoformat(made["starts_at"]) == datetime(2026, 3, 1, tzinfo=UTC)
    shown = api.get(f"/v1/admin/promotions/{made['id']}", token=manager)
    assert shown.status == 200 and shown.json == made
    automatic = api.post("/v1/admin/promotions", {"name": "Everything 5 % off", "kind": "percent", "value": 5,
                                                  "active": False}, token=manager)
    assert automatic.status == 201 and automatic.json["code"] is None, automatic.text
    first = api.get("/v1/admin/promotions?limit=1", token=manager)
    assert first.status == 200 and first.json["items"][0]["id"] == automatic.json["id"], "newest first"
    second = api.get(f"/v1/admin/promotions?limit=1&cursor={first.json['next_cursor']}", token=manager)
    assert second.json["items"][0]["id"] == made["id"]
    changed = api.patch(f"/v1/admin/promotions/{made['id']}", {"active": False, "name": "Spring sale",
                                                               "targets": {}}, token=manager)
    assert changed.status == 200, changed.text
    assert (changed.json["active"], changed.json["name"], changed.json["value"]) == (False, "Spring sale", 12.5)
    assert changed.json["targets"]["category_ids"] == [] and changed.json["targets"]["product_ids"] == []
    assert api.get(f"/v1/admin/promotions/{uuid.uuid4()}", token=manager).error_code == "promotion_not_found"
    assert api.patch(f"/v1/admin/promotions/{uuid.uuid4()}", {"active": True}, token=manager).status == 404
    for r in (automatic, changed):
        assert api.delete(f"/v1/admin/promotions/{r.json['id']}", token=manager).status == 204


@pytest.mark.parametrize(("body", "fields"), [
    ({"kind": "percent", "value": 10}, {"code"}),
    ({"code": "a b", "kind": "percent", "value": 10}, {"code"}),
    ({"code": "OK-1", "kind": "bogus"}, {"kind"}),
    ({"code": "OK-1", "kind": "percent"}, {"value"}),
    ({"code": "OK-1", "kind": "percent", "value": 101}, {"value"}),
    ({"code": "OK-1", "kind": "fixed", "value": 1.5, "currency": "EUR"}, {"value"}),
    ({"code": "OK-1", "kind": "free_shipping", "value": 3}, {"value"}),
    ({"code": "OK-1", "kind": "percent", "value": 5, "usage_limit": 0, "per_customer_limit": -1},
     {"usage_limit", "per_customer_limit"}),
    ({"code": "OK-1", "kind": "percent", "value": 5, "starts_at": "soon", "currency": "euro"}, {"starts_at", "currency"}),
    ({"code": "OK-1", "kind": "percent", "value": 5, "targets": {"product_ids": [str(uuid.uuid4())]}},
     {"targets.product_ids.0"}),
])
def test_a_bad_coupon_is_422_naming_every_field(api: Client, manager: str, body: dict[str, Any],
                                                 fields: set[str]) -> None:
    r = api.post("/v1/admin/coupons", body, token=manager)
    assert r.status == 422, r.text
    assert set(r.json["error"]["details"]["fields"]) == fields


def test_rules_the_table_keeps_are_422_too(api: Client, manager: str) -> None:
    no_currency = api.post("/v1/admin/coupons", {"code": code(), "kind": "fixed", "value": 500}, token=manager)
    assert no_currency.status == 422, no_currency.text
    backwards = api.post("/v1/admin/coupons", {"code": code(), "kind": "percent", "value": 5,
                                               "starts_at": iso(timedelta(days=2)), "ends_at": iso(timedelta(days=1))},
                         token=manager)
    assert backwards.status == 422, backwards.text


def test_codes_are_unique_whatever_their_case(api: Client, manager: str) -> None:
    made = coupon(api, manager)
    again = api.post("/v1/admin/coupons", {"code": made["code"].lower(), "kind": "percent", "value": 5}, token=manager)
    assert again.status == 409 and again.error_code == "coupon_code_taken", again.text


def test_only_catalog_managers_manage_promotions(api: Client, admin_url: str) -> None:
    support = staff_token(api, admin_url, "support_agent")
    body = {"code": code(), "kind": "percent", "value": 5}
    assert api.post("/v1/admin/coupons", body, token=support).status == 403
    assert api.post("/v1/admin/coupons", body, token=customer_token(api)).status == 403
    assert api.post("/v1/admin/coupons", body).status == 401
    assert api.get("/v1/admin/promotions", token=support).status == 403


def test_a_redeemed_promotion_is_deactivated_not_deleted(api: Client, manager: str, admin_url: str) -> None:
    made = coupon(api, manager, usage_limit=3)
    with psycopg.connect(admin_url) as conn:
        cart = conn.execute("INSERT INTO shop.carts (token_hash, currency) VALUES (sha256(%s), 'EUR') RETURNING id",
                            [made["code"].encode()]).fetchone()[0]
        order = conn.execute(
            "INSERT INTO shop.orders (number, cart_id, email, currency, payment_method, prices_include_tax, subtotal,"
            " discount_total, shipping_total, tax_total, total, shipping_address, shipping_method_code,"
            " shipping_method_name) VALUES (shop.next_order_number(), %s, 'r@example.com', 'EUR', 'manual',"
            " TRUE, 0, 0, 0, 0, 0, '{}', 'x', 'x') RETURNING id", [cart]).fetchone()[0]
        conn.execute("SELECT shop.redeem_promotions(%s, NULL, 'r@example.com', jsonb_build_array("
                     "jsonb_build_object('promotion_id', %s::uuid, 'amount', 10)))", [order, made["id"]])
        conn.commit()
    try:
        assert api.get(f"/v1/admin/promotions/{made['id']}", token=manager).json["times_used"] == 1
        refused = api.delete(f"/v1/admin/promotions/{made['id']}", token=manager)
        assert refused.status == 409 and refused.error_code == "promotion_redeemed", refused.text
        low = api.patch(f"/v1/admin/promotions/{made['id']}", {"usage_limit": None}, token=manager)
        assert low.json["times_used"] == 0, "without a limit times_used is not kept"
        again = api.patch(f"/v1/admin/promotions/{made['id']}", {"usage_limit": 5}, token=manager)
        assert again.json["times_used"] == 1, "a new limit recounts the live uses"
        assert api.patch(f"/v1/admin/promotions/{made['id']}", {"active": False}, token=manager).json["active"] is False
    finally:  # the order stays (orders are never deleted); its coupon is retired
        with psycopg.connect(admin_url) as conn:
            conn.execute("UPDATE shop.promotions SET active = FALSE WHERE id = %s", [made["id"]])


# -- coupons on carts ---------------------------------------------------------------------------------
def test_a_coupon_applies_to_a_cart_and_comes_off(api: Client, manager: str, store: Store) -> None:
    made = coupon(api, manager, value=10)
    cart = guest_cart(api)
    add(api, cart, store.items["tee"], 2)
    add(api, cart, store.items["mug"], 1)
    r = call(api, cart, "PUT", "/coupon", {"code": made["code"].lower()})
    assert r.status == 200, r.text
    assert r.json["coupon_code"] == made["code"]
    assert r.json["discount_total"]["amount"] == round(4999 * 0.10)
    assert sum(i["discount"]["amount"] for i in r.json["items"]) == 500
    assert r.json["total"]["amount"] == 4999 - 500
    assert r.json["promotions"] == [{"code": made["code"], "name": made["name"], "kind": "percent",
                                     "amount": {"amount": 500, "currency": "EUR"}}]
    off = call(api, cart, "DELETE", "/coupon")
    assert off.status == 200 and off.json["coupon_code"] is None and off.json["discount_total"]["amount"] == 0


@pytest.mark.parametrize(("extra", "status", "error", "reason"), [
    ({"starts_at": "2099-01-01T00:00:00Z"}, 409, "coupon_not_applicable", "not_started"),
    ({"ends_at": "2001-01-01T00:00:00Z"}, 409, "coupon_not_applicable", "ended"),
    ({"kind": "fixed", "value": 100, "currency": "USD"}, 409, "coupon_not_applicable", "currency"),
    ({"currency": "EUR", "min_subtotal": 5000}, 409, "coupon_not_applicable", "min_subtotal"),
    ({"targets": {"product_ids": "BOOK"}}, 409, "coupon_not_applicable", "no_eligible_items"),
    ({"active": False}, 404, "coupon_not_found", None),
])
def test_a_coupon_that_does_not_apply_is_refused_with_its_reason(api: Client, manager: str, store: Store,
                                                                  extra: dict[str, Any], status: int, error: str,
                                                                  reason: str | None) -> None:
    if extra.get("targets") == {"product_ids": "BOOK"}:
        extra = {"targets": {"product_ids": [store.items["book"].product_id]}}
    made = coupon(api, manager, **extra)
    cart = guest_cart(api)
    add(api, cart, store.items["tee"], 2)
    r = call(api, cart, "PUT", "/coupon", {"code": made["code"]})
    assert r.status == status and r.error_code == error, r.text
    if reason:
        assert r.json["error"]["details"]["reason"] == reason
    assert api.get(cart.path(), headers=cart.headers).json["coupon_code"] is None, "nothing changed"


def test_an_unknown_or_exhausted_coupon(api: Client, manager: str, store: Store, admin_url: str) -> None:
    cart = guest_cart(api)
    add(api, cart, store.items["tee"])
    unknown = call(api, cart, "PUT", "/coupon", {"code": "NO-SUCH-CODE-EVER"})
    assert unknown.status == 404 and unknown.error_code == "coupon_not_found"
    assert list(unknown.json["error"]["details"]["fields"]) == ["code"]
    missing = call(api, cart, "PUT", "/coupon", {})
    assert missing.status == 422 and list(missing.json["error"]["details"]["fields"]) == ["code"]
    made = coupon(api, manager, usage_limit=1)
    with psycopg.connect(admin_url) as conn:
        conn.execute("UPDATE shop.promotions SET times_used = 1 WHERE id = %s", [made["id"]])
        conn.commit()
    used_up = call(api, cart, "PUT", "/coupon", {"code": made["code"]})
    assert used_up.status == 409 and used_up.error_code == "coupon_exhausted", used_up.text
    assert used_up.json["error"]["details"]["reason"] == "usage_limit"


def test_an_automatic_promotion_and_free_shipping(api: Client, manager: str, store: Store) -> None:
    automatic = api.post("/v1/admin/promotions", {
        "name": "Mugs 20 % off", "kind": "percent", "value": 20,
        "targets": {"collection_ids": [store.collection_id]},
    }, token=manager)
    assert automatic.status == 201, automatic.text
    try:
        cart = guest_cart(api)
        r = add(api, cart, store.items["mug"], 2)
        add(api, cart, store.items["tee"])
        r = api.get(cart.path(), headers=cart.headers)
        assert [(p["code"], p["name"], p["amount"]["amount"]) for p in r.json["promotions"]] == [
            (None, "Mugs 20 % off", round(1998 * 0.2))], "applied without a code, to the collection's mug only"
        lines = {i["sku"]: i["discount"]["amount"] for i in r.json["items"]}
        assert lines == {store.items["mug"].sku: 400, store.items["tee"].sku: 0}
        call(api, cart, "PUT", "/shipping-address", ADDRESS)
        call(api, cart, "PUT", "/shipping-method", {"code": store.standard})
        free = coupon(api, manager, kind="free_shipping", value=None)
        shipped = call(api, cart, "PUT", "/coupon", {"code": free["code"]})
        assert shipped.status == 200, shipped.text
        assert shipped.json["shipping_total"]["amount"] == 0
        assert shipped.json["shipping_method"]["amount"]["amount"] == 0
        assert {p["kind"]: p["amount"]["amount"] for p in shipped.json["promotions"]} == {
            "free_shipping": 500, "percent": 400}, "a coupon and the best automatic promotion stack"
        assert shipped.json["total"]["amount"] == 1998 + 2000 - 400
    finally:
        api.delete(f"/v1/admin/promotions/{automatic.json['id']}", token=manager)
