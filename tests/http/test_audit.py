"""The audit trail over HTTP: writes made through the API land in audit.records with the account that
acted, its role and the request's X-Request-Id; logins and refused logins too (never a password);
secrets read "[redacted]"; GET /v1/admin/audit is the store admin's, and the database refuses others."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.conftest import run_cli

from .conftest import Client
from .test_checkout import ADDRESS as CHECKOUT_ADDRESS
from .test_checkout import make_skus

PASSWORD = "audit-password-1"
ADDRESS = {"full_name": "Ada Lovelace", "line1": "12 St James's Square", "city": "London",
           "postal_code": "SW1Y 4JH", "country": "GB"}


def new_staff(admin_url: str, roles: str) -> str:
    email = f"audit-{uuid.uuid4().hex[:12]}@example.com"
    made = run_cli("create-staff", "--email", email, "--password", PASSWORD, "--full-name", "Audit Staff",
                   "--roles", roles, env={"DATABASE_URL": admin_url})
    assert made.returncode == 0, made.stderr
    return email


def log_in(api: Client, email: str, request_id: str | None = None) -> dict[str, Any]:
    headers = {"X-Request-Id": request_id} if request_id else None
    r = api.post("/v1/auth/login", {"email": email, "password": PASSWORD}, headers=headers)
    assert r.status == 200, r.text
    return r.json


def rid() -> str:
    return f"audit-{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def auditor(server: Client, admin_url: str) -> str:
    return log_in(server, new_staff(admin_url, "store_admin"))["access_token"]


def trail(api: Client, token: str, **query: str) -> list[dict[str, Any]]:
    path = "/v1/admin/audit?limit=100" + "".join(f"&{k}={v}" for k, v in query.items())
    r = api.get(path, token=token)
    assert r.status == 200, r.text
    return r.json["items"]


def records_of(admin, request_id: str) -> list[dict[str, Any]]:
    rows = admin.execute(
        "SELECT account_id::text, db_role, login_role, table_name, record_id, action, old_values, new_values"
        " FROM audit.records WHERE request_id = %s ORDER BY id", [request_id]).fetchall()
    names = ("account_id", "db_role", "login_role", "table", "record_id", "action", "old", "new")
    return [dict(zip(names, row)) for row in rows]


def test_every_kind_of_write_is_in_the_trail_with_who_and_which_request(
        api: Client, admin, admin_url: str) -> None:
    # (request id, expected table, action, record id or None, account id or None) per write made below
    expected: list[tuple[str, str, str, str | None, str | None]] = []

    # anonymous: register (no account acts yet) and a guest cart (its token hash redacted)
    email = f"audit-{uuid.uuid4().hex[:12]}@example.com"
    r_register = rid()
    made = api.post("/v1/auth/register", {"email": email, "password": PASSWORD, "full_name": "Ada"},
                    headers={"X-Request-Id": r_register})
    assert made.status == 201, made.text
    customer_id = made.json["customer"]["id"]
    expected.append((r_register, "auth.accounts", "insert", customer_id, None))
    expected.append((r_register, "auth.password_hashes", "insert", customer_id, None))
    r_cart = rid()
    cart = api.post("/v1/carts", {"currency": "EUR"}, headers={"X-Request-Id": r_cart})
    assert cart.status == 201, cart.text
    expected.append((r_cart, "shop.carts", "insert", cart.json["id"], None))

    # a login, then the customer's own writes: an address added, changed and removed
    r_login = rid()
    token = log_in(api, email, r_login)["access_token"]
    expected.append((r_login, "auth.sessions", "login", customer_id, customer_id))
    r_add = rid()
    address = api.post("/v1/me/addresses", ADDRESS, token=token, headers={"X-Request-Id": r_add})
    assert address.status == 201, address.text
    address_id = address.json["id"]
    expected.append((r_add, "shop.addresses", "insert", address_id, customer_id))
    r_change = rid()
    changed = api.patch(f"/v1/me/addresses/{address_id}", {"city": "Bath"}, token=token,
                        headers={"X-Request-Id": r_change})
    assert changed.status == 200, changed.text
    expected.append((r_change, "shop.addresses", "update", address_id, customer_id))
    r_remove = rid()
    removed = api.delete(f"/v1/me/addresses/{address_id}", token=token, headers={"X-Request-Id": r_remove})
    assert removed.status in (200, 204), removed.text
    expected.append((r_remove, "shop.addresses", "delete", address_id, customer_id))

    # staff: a catalog manager adds a category
    manager_email = new_staff(admin_url, "catalog_manager")
    manager = log_in(api, manager_email)["access_token"]
    manager_id = admin.execute("SELECT id::text FROM auth.accounts WHERE email = %s", [manager_email]).fetchone()[0]
    r_category = rid()
    category = api.post("/v1/admin/categories", {"name": f"Audit {uuid.uuid4().hex[:6]}"}, token=manager,
                        headers={"X-Request-Id": r_category})
    assert category.status == 201, category.text
    expected.append((r_category, "shop.categories", "insert", category.json["id"], manager_id))

    # a refused login and a logout
    r_failed = rid()
    refused = api.post("/v1/auth/login", {"email": email, "password": "wrong-password-9"},
                       headers={"X-Request-Id": r_failed})
    assert refused.status == 401
    expected.append((r_failed, "auth.sessions", "login_failed", customer_id, customer_id))
    r_logout = rid()
    assert api.post("/v1/auth/logout", token=token, headers={"X-Request-Id": r_logout}).status == 204
    expected.append((r_logout, "auth.sessions", "update", None, customer_id))

    for request_id, table, action, record_id, account_id in expected:
        found = [rec for rec in records_of(admin, request_id) if rec["table"] == table and rec["action"] == action]
        assert found, (request_id, table, action)
        rec = found[0]
        assert rec["account_id"] == account_id, (table, action, rec)
        assert rec["login_role"] == "postcart_authenticator"
        if record_id is not None:
            assert rec["record_id"] == record_id, (table, action, rec)

    # who: the role acting, not the owner a SECURITY DEFINER function runs as
    by_request = {r: records_of(admin, r) for r, *_ in expected}
    assert {rec["db_role"] for rec in by_request[r_add]} == {"postcart_customer"}
    assert {rec["db_role"] for rec in by_request[r_category]} == {f"postcart_staff_{manager_id.replace('-', '')[:12]}"}
    # what: only the changed column of an update; secrets never in clear
    update = next(rec for rec in by_request[r_change] if rec["table"] == "shop.addresses")
    assert set(update["new"]) - {"updated_at"} == {"city"} and update["new"]["city"] == "Bath"
    assert update["old"]["city"] == "London"
    cart_row = next(rec for rec in by_request[r_cart] if rec["table"] == "shop.carts")
    assert cart_row["new"]["token_hash"] == "[redacted]"
    password_row = next(rec for rec in by_request[r_register] if rec["table"] == "auth.password_hashes")
    assert password_row["new"]["password_hash"] == "[redacted]"
    failed = next(rec for rec in by_request[r_failed] if rec["action"] == "login_failed")
    assert failed["new"] == {"email": email, "reason": "invalid_credentials"}
    assert "wrong-password-9" not in str(by_request[r_failed])


def test_store_admin_reads_the_trail_newest_first_and_others_are_refused(
        api: Client, admin_url: str, auditor: str) -> None:
    email = new_staff(admin_url, "support_agent")
    member = log_in(api, email)["access_token"]
    page = trail(api, auditor, table="auth.sessions")
    assert page and all(item["table"] == "auth.sessions" for item in page)
    assert [item["id"] for item in page] == sorted((item["id"] for item in page), reverse=True)
    latest_login = next(item for item in page if item["action"] == "login")
    assert latest_login["new_values"] == {"email": email}

    # keyset pages: the second page continues where the first stopped
    first = api.get("/v1/admin/audit?limit=2", token=auditor).json
    second = api.get(f"/v1/admin/audit?limit=2&cursor={first['next_cursor']}", token=auditor).json
    assert first["next_cursor"] and second["items"][0]["id"] < first["items"][-1]["id"]

    assert api.get("/v1/admin/audit", token=member).status == 403
    assert api.get("/v1/admin/audit").status == 401
    bad = api.get("/v1/admin/audit?since=yesterday&record_id=x", token=auditor)
    assert bad.status == 400 and set(bad.json["error"]["details"]["fields"]) == {"since", "table"}


def test_a_checkout_and_the_staff_follow_ups_are_in_the_trail(api: Client, admin, admin_url: str) -> None:
    (sku,) = make_skus(admin_url, [5])
    email = f"audit-{uuid.uuid4().hex[:12]}@example.com"
    customer_id = api.post("/v1/auth/register", {"email": email, "password": PASSWORD, "full_name": "Buyer"}
                           ).json["customer"]["id"]
    token = log_in(api, email)["access_token"]

    def as_customer(request_id: str) -> dict[str, Any]:
        return {"token": token, "headers": {"X-Request-Id": request_id}}

    r_cart, r_item, r_address, r_method, r_checkout = rid(), rid(), rid(), rid(), rid()
    cart_id = api.post("/v1/carts", {"currency": "EUR"}, **as_customer(r_cart)).json["id"]
    assert api.post(f"/v1/carts/{cart_id}/items", {"sku": sku.sku, "quantity": 2},
                    **as_customer(r_item)).status == 201
    assert api.put(f"/v1/carts/{cart_id}/shipping-address", CHECKOUT_ADDRESS, **as_customer(r_address)).status == 200
    assert api.put(f"/v1/carts/{cart_id}/shipping-method", {"code": "checkout-post"},
                   **as_customer(r_method)).status == 200
    placed = api.post(f"/v1/carts/{cart_id}/checkout", {"payment_method": "manual"},
                      token=token, headers={"X-Request-Id": r_checkout, "Idempotency-Key": uuid.uuid4().hex})
    assert placed.status == 201, placed.text
    order_id = placed.json["order"]["id"]

    manager_email = new_staff(admin_url, "order_manager")
    manager = log_in(api, manager_email)["access_token"]
    manager_id = admin.execute("SELECT id::text FROM auth.accounts WHERE email = %s", [manager_email]).fetchone()[0]
    r_paid = rid()
    paid = api.post(f"/v1/admin/orders/{order_id}/payments", {"amount": placed.json["order"]["total"]["amount"]},
                    token=manager, headers={"X-Request-Id": r_paid})
    assert paid.status == 201, paid.text

    expected = [
        (r_cart, "shop.carts", "insert", cart_id, customer_id),
        (r_item, "shop.cart_items", "insert", None, customer_id),
        (r_address, "shop.carts", "update", cart_id, customer_id),
        (r_method, "shop.carts", "update", cart_id, customer_id),
        (r_checkout, "shop.orders", "insert", order_id, customer_id),
        (r_checkout, "shop.order_items", "insert", None, customer_id),
        (r_checkout, "shop.order_allocations", "insert", None, customer_id),
        (r_checkout, "shop.carts", "update", cart_id, customer_id),
        (r_paid, "shop.payments", "insert", None, manager_id),
        (r_paid, "shop.orders", "update", order_id, manager_id),
    ]
    for request_id, table, action, record_id, account_id in expected:
        found = [rec for rec in records_of(admin, request_id) if rec["table"] == table and rec["action"] == action]
        assert found, (table, action)
        assert all(rec["account_id"] == account_id for rec in found), (table, action, found)
        if record_id is not None:
            assert record_id in {rec["record_id"] for rec in found}, (table, action, found)
    status_change = next(rec for rec in records_of(admin, r_paid)
                         if rec["table"] == "shop.orders" and rec["action"] == "update")
    assert status_change["old"]["status"] == "pending_payment" and status_change["new"]["status"] == "paid"
    # the trail of one order, as an auditor reads it
    auditor = log_in(api, new_staff(admin_url, "store_admin"))["access_token"]
    history = trail(api, auditor, table="shop.orders", record_id=order_id)
    assert [item["action"] for item in history][-1] == "insert"
    assert {item["request_id"] for item in history} >= {r_checkout, r_paid}


def test_a_login_the_database_refuses_is_recorded_with_its_code(api: Client, admin, admin_url: str) -> None:
    email = new_staff(admin_url, "support_agent")
    admin.execute("SELECT auth.deactivate_staff(%s)", [email])
    request_id = rid()
    refused = api.post("/v1/auth/login", {"email": email, "password": PASSWORD}, headers={"X-Request-Id": request_id})
    assert (refused.status, refused.error_code) == (403, "account_deactivated")
    (record,) = records_of(admin, request_id)
    assert record["action"] == "login_failed"
    assert record["new"] == {"email": email, "reason": "account_deactivated"}
    assert record["account_id"] == admin.execute("SELECT id::text FROM auth.accounts WHERE email = %s",
                                                 [email]).fetchone()[0]
