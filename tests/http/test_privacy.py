"""Personal data over HTTP (docs/privacy.md): GET /v1/me/export holds everything about the caller and nothing
about anyone else; DELETE /v1/me erases the person and keeps the accounts; TOTP secrets are sealed at rest,
still work, and plain or old-key ones are re-sealed at their next use."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pyotp
import pytest

from postcart.auth import sealing
from tests.conftest import run_cli
from tests.orders_fixture import ADDRESS, Line

from .conftest import SECRET, Client
from .test_accounts import PASSWORD, login, register
from .test_orders import manager, shipped, shop, support  # noqa: F401 - fixtures

HOME = {"full_name": "Ada Lovelace", "line1": "12 Difference Engine Lane", "city": "London",
        "postal_code": "NW1 2DB", "country": "GB", "phone": "+44 20 7946 0000"}


def customer_with_data(api: Client, shop: dict[str, Any], admin: Any) -> dict[str, Any]:
    """A customer with an address, an open cart, a cancelled order and a mail, signed in from a browser."""
    account = register(api)
    r = api.post("/v1/auth/login", {"email": account["email"], "password": PASSWORD},
                 headers={"User-Agent": "privacy-test-browser/1.0"})
    token = r.json["access_token"]
    address = api.post("/v1/me/addresses", HOME, token=token)
    assert address.status == 201, address.text
    cart = api.post("/v1/carts", {"currency": "EUR"}, token=token)
    assert cart.status == 201, cart.text
    placed = shop["order"]([Line(shop["b"], 1, 1000)], customer_id=account["id"], email=account["email"])
    assert api.post(f"/v1/orders/{placed.id}/cancel", {}, token=token).status == 200
    mail = admin.execute(
        "INSERT INTO integration.mails (kind, event_id, account_id, to_email)"
        " SELECT 'email_verification', e.id, e.subject_id, %s FROM integration.events e"
        " WHERE e.subject_id = %s AND e.type = 'customer.email_verification_requested' RETURNING id",
        [account["email"], account["id"]]).fetchone()[0]
    return {**account, "token": token, "address_id": address.json["id"], "cart_id": cart.json["id"],
            "order": placed, "mail_id": str(mail)}


# -- export --------------------------------------------------------------------------------------------
def test_the_export_holds_everything_about_the_caller_and_nothing_about_others(
        api: Client, shop: dict[str, Any], manager: str, admin: Any) -> None:  # noqa: F811
    me = customer_with_data(api, shop, admin)
    other = customer_with_data(api, shop, admin)
    # A paid and shipped order of theirs, with a coupon redeemed.
    done = shipped(api, shop, manager, [Line(shop["a"], 1, 1500)])
    admin.execute("UPDATE shop.orders SET customer_id = %s, email = %s WHERE id = %s", [me["id"], me["email"], done.id])
    code = f"T33-{uuid.uuid4().hex[:8]}"
    promotion = admin.execute("INSERT INTO shop.promotions (code, name, kind, value)"
                              " VALUES (%s, 'Privacy', 'percent', 5) RETURNING id", [code]).fetchone()[0]
    admin.execute("INSERT INTO shop.promotion_redemptions (promotion_id, order_id, customer_id, email, amount)"
                  " VALUES (%s, %s, %s, %s, 75)", [promotion, done.id, me["id"], me["email"]])
    r = api.get("/v1/me/export", token=me["token"])
    assert r.status == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    doc = r.json
    account = doc["account"]
    assert (account["id"], account["email"], account["full_name"]) == (me["id"], me["email"], "Ada Lovelace")
    assert (account["password_set"], account["mfa_enabled"]) == (True, False)
    assert [a["id"] for a in doc["addresses"]] == [me["address_id"]]
    assert doc["addresses"][0]["line1"] == HOME["line1"] and doc["addresses"][0]["phone"] == HOME["phone"]
    assert {c["id"] for c in doc["carts"]} >= {me["cart_id"]}
    assert [c["status"] for c in doc["carts"] if c["order_id"] == me["order"].id] == ["ordered"]
    orders = {o["id"]: o for o in doc["orders"]}
    assert set(orders) == {me["order"].id, done.id}
    cancelled, paid = orders[me["order"].id], orders[done.id]
    assert (cancelled["status"], cancelled["email"]) == ("cancelled", me["email"])
    assert cancelled["shipping_address"] == ADDRESS
    assert [(p["provider"], p["status"]) for p in paid["payments"]] == [("manual", "captured")]
    assert len(paid["fulfillments"]) == 1 and len(paid["items"]) == 1
    assert [(r["code"], r["order_id"], r["amount"]) for r in doc["promotion_redemptions"]] == [(code, done.id, 75)]
    assert any(s["user_agent"] == "privacy-test-browser/1.0" and s["ip"] for s in doc["sessions"])
    assert any(a["succeeded"] for a in doc["login_attempts"])
    assert [q["kind"] for q in doc["account_requests"]] == ["email_verification"]
    assert [m["id"] for m in doc["mails"]] == [me["mail_id"]]
    types = {(e["type"], e["subject_id"]) for e in doc["events"]}
    assert {("customer.created", me["id"]), ("order.cancelled", me["order"].id), ("order.paid", done.id),
            ("payment.captured", paid["payments"][0]["id"]),
            ("fulfillment.created", paid["fulfillments"][0]["id"])} <= types
    # Credentials never leave, and another customer's data never appears.
    for absent in ("argon2", "password_hash", "totp_secret", other["id"], other["email"], other["cart_id"],
                   other["order"].id, other["mail_id"], other["address_id"]):
        assert absent not in r.text, absent
    admin.execute("DELETE FROM shop.promotion_redemptions WHERE promotion_id = %s", [promotion])
    admin.execute("DELETE FROM shop.promotions WHERE id = %s", [promotion])


def test_only_a_signed_in_customer_exports(api: Client, support: str) -> None:  # noqa: F811
    assert api.get("/v1/me/export").status == 401
    staff = api.get("/v1/me/export", token=support)
    assert staff.status == 403, staff.text


# -- erasure -------------------------------------------------------------------------------------------
def test_erasure_needs_the_password_and_changes_nothing_without_it(api: Client) -> None:
    me = register(api)
    token = login(api, me["email"])["access_token"]
    assert api.delete("/v1/me").status == 401
    for body in (None, {}, {"password": ""}, {"password": "not the password"}, {"password": 12345}):
        r = api.delete("/v1/me", json_body=body, token=token)
        assert (r.status, r.error_code) == (401, "reauthentication_required"), (body, r.text)
    assert api.get("/v1/me", token=token).json["email"] == me["email"]
    login(api, me["email"])


def test_an_open_order_blocks_erasure(api: Client, shop: dict[str, Any]) -> None:
    me = register(api)
    token = login(api, me["email"])["access_token"]
    placed = shop["order"]([Line(shop["b"], 1, 1000)], customer_id=me["id"], email=me["email"])
    r = api.delete("/v1/me", json_body={"password": PASSWORD}, token=token)
    assert (r.status, r.error_code) == (409, "open_orders") and r.json["error"]["details"]["orders"] == [placed.number]
    assert api.get("/v1/me", token=token).status == 200


def sales(admin: Any) -> list[tuple[Any, ...]]:
    # Materialized: refreshed here so it shows now, not the worker's last run.
    admin.execute("REFRESH MATERIALIZED VIEW reporting.sales_daily")
    return admin.execute("SELECT * FROM reporting.sales_daily ORDER BY day, currency").fetchall()


def test_erasure_anonymises_the_person_and_keeps_the_accounts(
        api: Client, shop: dict[str, Any], manager: str, support: str, admin: Any) -> None:  # noqa: F811
    me = customer_with_data(api, shop, admin)
    done = shipped(api, shop, manager, [Line(shop["a"], 2, 1500)])
    admin.execute("UPDATE shop.orders SET customer_id = %s, email = %s WHERE id = %s",
                  [me["id"], me["email"], done.id])
    second_session = login(api, me["email"])
    before = api.get(f"/v1/admin/orders/{done.id}", token=support).json
    totals = sales(admin)

    r = api.delete("/v1/me", json_body={"password": PASSWORD}, token=me["token"])
    assert r.status == 204, r.text

    # Signed out everywhere, and no way back in: the second call is 401, so is every token.
    for token in (me["token"], second_session["access_token"]):
        assert api.get("/v1/me", token=token).status == 401
    assert api.delete("/v1/me", json_body={"password": PASSWORD}, token=me["token"]).status == 401
    assert api.post("/v1/auth/refresh", {"refresh_token": second_session["refresh_token"]}).status == 401

    # The orders stay for staff with their lines and money; the person is gone from them.
    after = api.get(f"/v1/admin/orders/{done.id}", token=support).json
    for kept in ("number", "items", "subtotal", "tax_total", "total", "paid_amount", "payments", "fulfillments"):
        assert after[kept] == before[kept], kept
    assert after["email"].endswith("@erased.invalid") and after["email"] != me["email"]
    assert after["shipping_address"]["country"] == "GB"
    assert ADDRESS["line1"] not in json.dumps(after) and "Ada" not in json.dumps(after)
    assert sales(admin) == totals

    # Nothing personal left anywhere the account reaches.
    row = admin.execute(
        "SELECT email::text, full_name, totp_secret, marketing_consent, anonymised_at IS NOT NULL"
        " FROM auth.accounts WHERE id = %s", [me["id"]]).fetchone()
    assert row[0].endswith("@erased.invalid") and row[1:] == ("Erased customer", None, False, True)
    for query in ("SELECT count(*) FROM auth.password_hashes WHERE account_id = %(id)s",
                  "SELECT count(*) FROM shop.addresses WHERE customer_id = %(id)s",
                  "SELECT count(*) FROM shop.carts WHERE customer_id = %(id)s AND status <> 'ordered'",
                  "SELECT count(*) FROM auth.sessions WHERE account_id = %(id)s"
                  " AND (revoked_at IS NULL OR user_agent IS NOT NULL OR ip IS NOT NULL)",
                  "SELECT count(*) FROM auth.login_attempts WHERE email = %(email)s",
                  "SELECT count(*) FROM integration.mails WHERE account_id = %(id)s",
                  "SELECT count(*) FROM shop.orders WHERE email = %(email)s",
                  "SELECT count(*) FROM integration.events WHERE payload::text LIKE '%%' || %(email)s || '%%'"):
        assert admin.execute(query, {"id": me["id"], "email": me["email"]}).fetchone()[0] == 0, query
    # The audit trail keeps what happened, not who: its records of the person read "[erased]".
    trail = admin.execute("SELECT count(*) FILTER (WHERE concat(old_values, new_values) LIKE '%%' || %(email)s || '%%'"
                          " OR concat(old_values, new_values) LIKE '%%' || %(line1)s || '%%'),"
                          " count(*) FILTER (WHERE concat(old_values, new_values) LIKE '%%[erased]%%'),"
                          " count(*) FILTER (WHERE action = 'erase')"
                          " FROM audit.records WHERE account_id = %(id)s OR record_id = %(id)s::text",
                          {"id": me["id"], "email": me["email"], "line1": ADDRESS["line1"]}).fetchone()
    assert trail[0] == 0 and trail[1] > 0 and trail[2] == 1, trail
    deleted = admin.execute("SELECT payload FROM integration.events WHERE type = 'customer.deleted'"
                            " AND subject_id = %s", [me["id"]]).fetchall()
    assert [p[0]["customer_id"] for p in deleted] == [me["id"]]
    failed = api.post("/v1/auth/login", {"email": me["email"], "password": PASSWORD})
    assert (failed.status, failed.error_code) == (401, "invalid_credentials")


# -- TOTP secrets at rest ----------------------------------------------------------------------------------
def enrol(api: Client, customer: dict[str, Any]) -> str:
    secret = api.post("/v1/me/mfa/totp", token=customer["access_token"]).json["secret"]
    r = api.put("/v1/me/mfa/totp", {"secret": secret, "otp": pyotp.TOTP(secret).now(), "password": PASSWORD},
                token=customer["access_token"])
    assert r.status == 200, r.text
    return secret


def stored_secret(admin: Any, account_id: str) -> str:
    return admin.execute("SELECT totp_secret FROM auth.accounts WHERE id = %s", [account_id]).fetchone()[0]


def test_totp_secrets_are_sealed_and_still_sign_in(api: Client, admin: Any) -> None:
    me = register(api)
    me.update(login(api, me["email"]))
    secret = enrol(api, me)
    stored = stored_secret(admin, me["id"])
    assert stored.startswith("enc:v1:") and secret not in stored and secret.lower() not in stored.lower()
    assert sealing.keyring(SECRET).open(stored, me["id"]) == (secret, False)
    with pytest.raises(sealing.Unreadable):  # bound to its account: a copy on another row does not open
        sealing.keyring(SECRET).open(stored, register(api)["id"])
    admin.execute("UPDATE auth.accounts SET totp_last_step = NULL WHERE id = %s", [me["id"]])
    login(api, me["email"], otp=pyotp.TOTP(secret).now())
    assert stored_secret(admin, me["id"]) == stored  # sealed under the current key: left as it is


@pytest.mark.parametrize("old", ["plain", "previous key"])
def test_a_plain_or_old_key_secret_is_resealed_at_the_next_login(api: Client, admin: Any, old: str) -> None:
    me = register(api)
    secret = pyotp.random_base32()
    legacy = secret if old == "plain" else sealing.keyring("an-older-secret-key-of-32-characters-or-more").seal(
        secret, me["id"])
    admin.execute("UPDATE auth.accounts SET totp_secret = %s WHERE id = %s", [legacy, me["id"]])
    if old == "previous key":  # the test server has no POSTCART_SECRET_KEY_PREVIOUS: it cannot open this one
        r = api.post("/v1/auth/login", {"email": me["email"], "password": PASSWORD, "otp": pyotp.TOTP(secret).now()})
        assert (r.status, r.error_code) == (503, "secret_key_mismatch"), r.text
        admin.execute("UPDATE auth.accounts SET totp_secret = NULL WHERE id = %s", [me["id"]])
        return
    login(api, me["email"], otp=pyotp.TOTP(secret).now())
    stored = stored_secret(admin, me["id"])
    assert stored.startswith("enc:v1:") and sealing.keyring(SECRET).open(stored, me["id"]) == (secret, False)


def test_reencrypt_secrets_reseals_every_stale_secret(api: Client, admin: Any, admin_url: str) -> None:
    old_key = "the-key-before-the-rotation-0123456789"
    plain, rotated = register(api), register(api)
    secrets_ = {plain["id"]: pyotp.random_base32(), rotated["id"]: pyotp.random_base32()}
    admin.execute("UPDATE auth.accounts SET totp_secret = %s WHERE id = %s", [secrets_[plain["id"]], plain["id"]])
    admin.execute("UPDATE auth.accounts SET totp_secret = %s WHERE id = %s",
                  [sealing.keyring(old_key).seal(secrets_[rotated["id"]], rotated["id"]), rotated["id"]])
    env = {"DATABASE_URL": admin_url, "POSTCART_SECRET_KEY": SECRET}
    refused = run_cli("reencrypt-secrets", env=env)
    assert refused.returncode == 1 and rotated["id"] in refused.stderr  # its key is not configured
    result = run_cli("reencrypt-secrets", env={**env, "POSTCART_SECRET_KEY_PREVIOUS": old_key})
    assert result.returncode == 0, result.stderr
    for account_id, secret in secrets_.items():
        assert sealing.keyring(SECRET).open(stored_secret(admin, account_id), account_id) == (secret, False)
    again = run_cli("reencrypt-secrets", env=env)
    assert again.returncode == 0 and again.stdout.startswith("re-sealed 0 of")
    for account_id in secrets_:  # leave nothing this test sealed for the next run of the command
        admin.execute("UPDATE auth.accounts SET totp_secret = NULL WHERE id = %s", [account_id])
