"""Who may reach what, route by route, through the real server (issue 9):
- every customer-scoped route, called with another customer's object (or as a guest without its cart
  token), answers 404 and changes nothing (no IDOR);
- every staff route answers 403 to each permission role it is not meant for and lets through the roles
  API.md names, and refuses customers (403) and anonymous callers (401). The expectations are written out
  here, not read from the database, so a grant that drifts from the contract fails this test."""

from __future__ import annotations

import re
import uuid
from typing import Any

import psycopg
import pytest

from postcart.http.routes import ROUTES

from .conftest import Client
from .test_accounts import PASSWORD, new_email
from .test_catalog_admin import token_of
from .test_checkout import ADDRESS, Cart, checkout, make_skus, new_cart
from .test_staff_admin import log_in, new_staff

PERMISSION_ROLES = ("catalog_manager", "inventory_manager", "order_manager", "support_agent", "store_admin")
CM, IM, OM, SA, ADMIN = PERMISSION_ROLES
EVERY_STAFF = set(PERMISSION_ROLES)

# The permission roles that may use each staff route (API.md, "Staff", and docs/roles-and-policies.md).
STAFF_ROUTES: dict[str, set[str]] = {
    "POST /v1/admin/staff": {ADMIN},
    "GET /v1/admin/staff": {ADMIN},
    "PATCH /v1/admin/staff/{id}": {ADMIN},
    "GET /v1/admin/stores": {CM},
    "POST /v1/admin/stores": {CM},
    "PATCH /v1/admin/stores/{id}": {CM},
    "POST /v1/admin/customer-groups": {CM, ADMIN},
    "PUT /v1/admin/customers/{id}/customer-group": {CM, ADMIN},
    "GET /v1/admin/price-lists": {CM},
    "POST /v1/admin/price-lists": {CM},
    "GET /v1/admin/price-lists/{id}": {CM},
    "PATCH /v1/admin/price-lists/{id}": {CM},
    "DELETE /v1/admin/price-lists/{id}": {CM},
    "PUT /v1/admin/price-lists/{id}/prices": {CM},
    "GET /v1/admin/markdowns": {CM},
    "POST /v1/admin/markdowns": {CM},
    "DELETE /v1/admin/markdowns/{id}": {CM},
    "GET /v1/admin/tax-rates": EVERY_STAFF,
    "POST /v1/admin/tax-rates": {ADMIN},
    "GET /v1/admin/shipping-methods": EVERY_STAFF,
    "POST /v1/admin/shipping-methods": {ADMIN},
    "POST /v1/admin/product-types": {CM},
    "PATCH /v1/admin/product-types/{id}": {CM},
    "GET /v1/admin/products": {CM},
    "POST /v1/admin/products": {CM},
    "POST /v1/admin/products/import": {CM},
    "GET /v1/admin/products/export": {CM},
    "GET /v1/admin/products/{id}": {CM},
    "PATCH /v1/admin/products/{id}": {CM},
    "DELETE /v1/admin/products/{id}": {CM},
    "DELETE /v1/admin/products/{id}/media/{media_id}": {CM},
    "POST /v1/admin/categories": {CM},
    "PATCH /v1/admin/categories/{id}": {CM},
    "DELETE /v1/admin/categories/{id}": {CM},
    "POST /v1/admin/collections": {CM},
    "PUT /v1/admin/collections/{id}/products": {CM},
    "DELETE /v1/admin/collections/{id}": {CM},
    "GET /v1/admin/inventory/{sku}": {IM, OM},
    "PUT /v1/admin/inventory/{sku}": {IM},
    "PATCH /v1/admin/inventory/{sku}": {IM},
    "GET /v1/admin/inventory/{sku}/movements": {IM, OM},
    "POST /v1/admin/inventory/{sku}/movements": {IM},
    "GET /v1/admin/warehouses": {IM, OM},
    "PATCH /v1/admin/warehouses/{code}": {IM},
    "POST /v1/admin/coupons": {CM},
    "GET /v1/admin/promotions": {CM},
    "POST /v1/admin/promotions": {CM},
    "GET /v1/admin/promotions/{id}": {CM},
    "PATCH /v1/admin/promotions/{id}": {CM},
    "DELETE /v1/admin/promotions/{id}": {CM},
    "GET /v1/admin/orders": {OM, SA},
    "GET /v1/admin/orders/{id}": {OM, SA},
    "POST /v1/admin/orders/{id}/payments": {OM},
    "POST /v1/admin/orders/{id}/returns": {OM, SA},
    "POST /v1/admin/orders/{id}/refunds": {OM},
    "GET /v1/admin/orders/{id}/shipping-rates": {OM},
    "POST /v1/admin/orders/{id}/fulfillments": {OM},
    "POST /v1/admin/fulfillments/{id}/label": {OM},
    "POST /v1/admin/webhooks": {ADMIN},
    "GET /v1/admin/webhooks": {ADMIN},
    "GET /v1/admin/webhooks/{id}": {ADMIN},
    "PATCH /v1/admin/webhooks/{id}": {ADMIN},
    "DELETE /v1/admin/webhooks/{id}": {ADMIN},
    "POST /v1/admin/webhooks/{id}/rotate-secret": {ADMIN},
    "GET /v1/admin/webhooks/{id}/deliveries": {ADMIN},
    "POST /v1/admin/webhooks/{id}/deliveries/{delivery_id}/replay": {ADMIN},
    "GET /v1/admin/webhook-event-types": {ADMIN},
    "GET /v1/admin/audit": {ADMIN},
    "GET /v1/admin/reports/{name}": {CM, IM, OM, ADMIN},
}

ADMIN_ROUTES = [r for r in ROUTES if r.path.startswith("/v1/admin/")]


def key(route: Any) -> str:
    return f"{route.method} {route.path}"


def concrete(path: str) -> str:
    """The route's path with every parameter an id that names nothing."""
    return re.sub(r"\{[a-z_]+\}", lambda m: "NOSKU-0" if m.group(0) in ("{sku}", "{code}") else str(uuid.uuid4()),
                  path)


def call(api: Client, route: Any, path: str, token: str | None) -> Any:
    headers = {"Idempotency-Key": uuid.uuid4().hex} if route.method == "POST" else {}
    if route.consumes == "text/csv":
        return api.request(route.method, path, token=token, raw=b"sku\n", headers={**headers, "Content-Type": "text/csv"})
    body = None if route.method in ("GET", "DELETE") else {}
    return api.request(route.method, path, body, token=token, headers=headers)


@pytest.fixture(scope="module")
def tokens(server: Client, admin_url: str) -> dict[str, str]:
    made = {role: log_in(server, new_staff(admin_url, role))["access_token"] for role in PERMISSION_ROLES}
    email = new_email()
    assert server.post("/v1/auth/register", {"email": email, "password": PASSWORD, "full_name": "C"}).status == 201
    made["customer"] = token_of(server, email, PASSWORD)
    return made


def test_every_staff_route_has_an_expectation() -> None:
    routes = {key(r) for r in ADMIN_ROUTES}
    assert routes - STAFF_ROUTES.keys() == set(), "add the new staff routes to STAFF_ROUTES"
    assert STAFF_ROUTES.keys() - routes <= {"GET /v1/admin/audit"}, "STAFF_ROUTES names routes that do not exist"


@pytest.mark.parametrize("route", ADMIN_ROUTES, ids=key)
def test_staff_route_refuses_every_role_it_is_not_for(api: Client, tokens: dict[str, str], route: Any) -> None:
    allowed = STAFF_ROUTES[key(route)]
    path = concrete(route.path)
    for caller, token in tokens.items():
        r = call(api, route, path, token)
        if caller in allowed:
            assert r.status != 403 and r.status < 500, (caller, r.status, r.text)
        else:
            assert r.status == 403, (caller, r.status, r.text)
    anonymous = call(api, route, path, None)
    assert anonymous.status == 401, anonymous.text


# -- IDOR: another customer's objects ------------------------------------------------------------------
@pytest.fixture(scope="module")
def victim(server: Client, admin_url: str) -> dict[str, Any]:
    """A customer with an address, an open cart holding a line, and an order; plus a guest's cart."""
    sku = make_skus(admin_url, [10])[0]
    email = new_email()
    assert server.post("/v1/auth/register", {"email": email, "password": PASSWORD, "full_name": "V"}).status == 201
    token = token_of(server, email, PASSWORD)
    address = server.post("/v1/me/addresses", ADDRESS, token=token)
    assert address.status == 201, address.text
    ordered = new_cart(server, [(sku, 1)], token=token)
    order = checkout(server, ordered)
    assert order.status == 201, order.text
    cart = new_cart(server, [(sku, 1)], token=token)
    guest_cart = new_cart(server, [(sku, 1)])
    item = server.get(f"/v1/carts/{cart.id}", token=token).json["items"][0]["id"]
    guest_item = server.get(f"/v1/carts/{guest_cart.id}", **guest_cart.kw()).json["items"][0]["id"]
    return {"token": token, "address": address.json["id"], "order": order.json["order"]["id"], "cart": cart,
            "item": item, "guest_cart": guest_cart, "guest_item": guest_item, "sku": sku}


def snapshot(admin_url: str, victim: dict[str, Any]) -> Any:
    with psycopg.connect(admin_url) as conn:
        return conn.execute(
            "SELECT (SELECT to_jsonb(a) - 'updated_at' FROM shop.addresses AS a WHERE a.id = %(address)s),"
            " (SELECT jsonb_agg(to_jsonb(c) ORDER BY c.id) FROM shop.carts AS c WHERE c.id IN (%(cart)s, %(guest)s)),"
            " (SELECT jsonb_agg(to_jsonb(i) ORDER BY i.id) FROM shop.cart_items AS i"
            "  WHERE i.cart_id IN (%(cart)s, %(guest)s)),"
            " (SELECT to_jsonb(o) FROM shop.orders AS o WHERE o.id = %(order)s)",
            {"address": victim["address"], "cart": victim["cart"].id, "guest": victim["guest_cart"].id,
             "order": victim["order"]},
        ).fetchone()


# POST /v1/orders/{id}/payments needs a card gateway, which this server has not: its IDOR checks (another
# customer, a guest without or with another cart's token: 404 order_not_found) are in test_payments.py.
CUSTOMER_ROUTES = [r for r in ROUTES if "{" in r.path and r.path.startswith(("/v1/me/", "/v1/carts/", "/v1/orders/"))
                   and key(r) != "POST /v1/orders/{id}/payments"]


def bodies(route: Any, victim: dict[str, Any]) -> dict[str, Any] | None:
    """A body that would succeed for the owner, so only ownership can make the call fail."""
    return {
        "update_address": {"city": "Elsewhere"},
        "update_cart": {"email": "thief@example.com"},
        "add_cart_item": {"sku": victim["sku"].sku, "quantity": 1},
        "update_cart_item": {"quantity": 5},
        "set_cart_coupon": {"code": "NOPE"},
        "set_cart_shipping_address": ADDRESS,
        "set_cart_shipping_method": {"code": "checkout-post"},
        "checkout": {"payment_method": "manual", "email": "thief@example.com"},
    }.get(route.function, None if route.method in ("GET", "DELETE") else {})


def test_every_customer_scoped_route_hides_other_customers_objects(api: Client, admin_url: str,
                                                                    tokens: dict[str, str],
                                                                    victim: dict[str, Any]) -> None:
    assert {key(r) for r in CUSTOMER_ROUTES} >= {"GET /v1/orders/{id}", "DELETE /v1/me/addresses/{id}",
                                                  "POST /v1/carts/{id}/checkout"}
    before = snapshot(admin_url, victim)
    intruder = tokens["customer"]
    for route in CUSTOMER_ROUTES:
        ids = {"address": victim["address"], "order": victim["order"]}
        if route.path.startswith("/v1/carts/"):
            targets = [(victim["cart"].id, victim["item"], {}), (victim["guest_cart"].id, victim["guest_item"], {})]
        elif route.path.startswith("/v1/orders/"):
            targets = [(ids["order"], None, {})]
        else:
            targets = [(ids["address"], None, {})]
        for object_id, item_id, headers in targets:
            path = route.path.replace("{id}", object_id).replace("{item_id}", item_id or "")
            headers = {**headers, "Idempotency-Key": uuid.uuid4().hex} if route.method == "POST" else headers
            for who, token in (("another customer", intruder), ("a guest", None)):
                if route.auth == "required" and token is None:
                    continue
                r = api.request(route.method, path, bodies(route, victim), token=token, headers=headers)
                assert r.status == 404, (key(route), who, r.status, r.text)
            # A guest cart's token opens that cart only, not the customer's.
            if object_id == victim["cart"].id:
                r = api.request(route.method, path, bodies(route, victim), headers={
                    **headers, **victim["guest_cart"].headers})
                assert r.status == 404, (key(route), "another cart's token", r.status, r.text)
    assert snapshot(admin_url, victim) == before, "a refused request changed the victim's data"
    # And the owner still reaches every one of them.
    assert api.get(f"/v1/orders/{victim['order']}", token=victim["token"]).status == 200
    assert api.get(f"/v1/carts/{victim['cart'].id}", token=victim["token"]).status == 200
    assert api.get(f"/v1/carts/{victim['guest_cart'].id}", **victim["guest_cart"].kw()).status == 200
