"""Every Accounts row of API.md through the real server, with its error paths."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
import pyotp
import pytest

from tests.conftest import run_cli

from .conftest import SECRET, Client

PASSWORD = "correct horse battery"


def new_email() -> str:
    return f"user-{uuid.uuid4().hex[:12]}@example.com"


def register(api: Client, email: str | None = None, **extra: Any) -> dict[str, Any]:
    body = {"email": email or new_email(), "password": PASSWORD, "full_name": "Ada Lovelace", **extra}
    r = api.post("/v1/auth/register", body)
    assert r.status == 201, r.text
    return {**body, **r.json["customer"]}


def login(api: Client, email: str, password: str = PASSWORD, **extra: Any) -> dict[str, Any]:
    r = api.post("/v1/auth/login", {"email": email, "password": password, **extra})
    assert r.status == 200, r.text
    return r.json


@pytest.fixture
def customer(api: Client) -> dict[str, Any]:
    account = register(api)
    return {**account, **login(api, account["email"])}


# -- register ------------------------------------------------------------------------------------
def test_register_returns_the_customer(api: Client) -> None:
    email = new_email()
    r = api.post("/v1/auth/register", {"email": email, "password": PASSWORD, "full_name": "Grace Hopper"})
    assert r.status == 201
    assert set(r.json["customer"]) == {"id", "email", "full_name"}
    assert r.json["customer"]["email"] == email and r.json["customer"]["full_name"] == "Grace Hopper"
    assert "password" not in r.text and "argon2" not in r.text


def test_register_email_is_case_insensitive(api: Client) -> None:
    email = new_email()
    register(api, email)
    r = api.post("/v1/auth/register", {"email": email.upper(), "password": PASSWORD, "full_name": "Other"})
    assert r.status == 409 and r.error_code == "email_taken"
    login(api, email.upper())  # and so is login


@pytest.mark.parametrize("password", ["short", "123456789"])
def test_register_rejects_short_passwords(api: Client, password: str) -> None:
    r = api.post("/v1/auth/register", {"email": new_email(), "password": password, "full_name": "X"})
    assert r.status == 422 and r.error_code == "weak_password"


def test_register_rejects_the_email_as_password(api: Client) -> None:
    email = new_email()
    r = api.post("/v1/auth/register", {"email": email, "password": email.upper(), "full_name": "X"})
    assert r.status == 422 and r.error_code == "weak_password"
    assert api.post("/v1/auth/login", {"email": email, "password": email.upper()}).status == 401


def test_register_names_missing_fields(api: Client) -> None:
    r = api.post("/v1/auth/register", {"email": "not-an-email", "password": PASSWORD})
    assert r.status == 422 and r.error_code == "validation_failed"
    assert {"email", "full_name"} <= set(r.json["error"]["details"]["fields"])


def test_register_replays_with_the_same_idempotency_key(api: Client) -> None:
    key = uuid.uuid4().hex
    body = {"email": new_email(), "password": PASSWORD, "full_name": "Once Only"}
    first = api.post("/v1/auth/register", body, headers={"Idempotency-Key": key})
    again = api.post("/v1/auth/register", body, headers={"Idempotency-Key": key})
    assert first.status == again.status == 201
    assert first.json == again.json
    assert again.headers.get("idempotent-replayed") == "true"
    # Anonymous keys are scoped to the request itself (nobody to scope them to): another body with the
    # same key is another request, here refused for its own reason, never a replay of someone else's.
    other = api.post("/v1/auth/register", {**body, "full_name": "Someone Else"}, headers={"Idempotency-Key": key})
    assert other.status == 409 and other.error_code == "email_taken"


# -- login ---------------------------------------------------------------------------------------
def test_login_returns_tokens(api: Client) -> None:
    account = register(api)
    tokens = login(api, account["email"])
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 900
    assert tokens["access_token"] and tokens["refresh_token"]


def test_login_wrong_password_and_unknown_email_look_the_same(api: Client) -> None:
    account = register(api)
    wrong = api.post("/v1/auth/login", {"email": account["email"], "password": "not the password"})
    unknown = api.post("/v1/auth/login", {"email": new_email(), "password": PASSWORD})
    assert wrong.status == unknown.status == 401
    assert wrong.error_code == unknown.error_code == "invalid_credentials"


def test_login_validates_its_body(api: Client) -> None:
    r = api.post("/v1/auth/login", {"email": "a@b.c"})
    assert r.status == 422 and r.error_code == "validation_failed" and "password" in r.json["error"]["details"]["fields"]


def test_login_locks_after_ten_failures(api: Client, admin) -> None:
    account = register(api)
    for _ in range(10):
        r = api.post("/v1/auth/login", {"email": account["email"], "password": "wrong password!"})
        assert r.status == 401
    locked = api.post("/v1/auth/login", {"email": account["email"], "password": PASSWORD})
    assert locked.status == 429 and locked.error_code == "too_many_attempts"
    assert 0 < locked.json["error"]["details"]["retry_after"] <= 900
    # The counters live in the database: moving them 15 minutes back lifts the lock.
    admin.execute("UPDATE auth.login_attempts SET attempted_at = attempted_at - interval '16 minutes' "
                  "WHERE email = %s", [account["email"]])
    login(api, account["email"])


# -- refresh and logout ----------------------------------------------------------------------------
def test_refresh_rotates_and_the_old_token_stops_working(api: Client, customer: dict[str, Any]) -> None:
    r = api.post("/v1/auth/refresh", {"refresh_token": customer["refresh_token"]})
    assert r.status == 200 and r.json["refresh_token"] != customer["refresh_token"]
    assert api.get("/v1/me", token=r.json["access_token"]).status == 200
    reused = api.post("/v1/auth/refresh", {"refresh_token": customer["refresh_token"]})
    assert reused.status == 401 and reused.error_code == "invalid_refresh_token"


def test_reusing_a_refresh_token_revokes_the_session(api: Client, customer: dict[str, Any]) -> None:
    fresh = api.post("/v1/auth/refresh", {"refresh_token": customer["refresh_token"]}).json
    api.post("/v1/auth/refresh", {"refresh_token": customer["refresh_token"]})  # replayed by a thief
    assert api.get("/v1/me", token=fresh["access_token"]).status == 401
    assert api.post("/v1/auth/refresh", {"refresh_token": fresh["refresh_token"]}).status == 401


def test_unknown_refresh_token_is_401(api: Client) -> None:
    r = api.post("/v1/auth/refresh", {"refresh_token": "made-up"})
    assert r.status == 401 and r.error_code == "invalid_refresh_token"


def test_logout_revokes_both_tokens_at_once(api: Client, customer: dict[str, Any]) -> None:
    assert api.get("/v1/me", token=customer["access_token"]).status == 200
    r = api.post("/v1/auth/logout", token=customer["access_token"])
    assert r.status == 204 and r.text == ""
    after = api.get("/v1/me", token=customer["access_token"])
    assert after.status == 401 and after.error_code == "token_revoked"
    assert api.post("/v1/auth/refresh", {"refresh_token": customer["refresh_token"]}).status == 401


def test_logout_without_a_token_is_401(api: Client) -> None:
    r = api.post("/v1/auth/logout")
    assert r.status == 401 and r.error_code == "unauthorized"


def test_expired_access_token_is_401(api: Client, customer: dict[str, Any]) -> None:
    claims = jwt.decode(customer["access_token"], SECRET, algorithms=["HS256"])
    claims["exp"] = int(time.time()) - 1
    r = api.get("/v1/me", token=jwt.encode(claims, SECRET, algorithm="HS256"))
    assert r.status == 401 and r.error_code == "invalid_token"


def test_forged_role_is_refused(api: Client, customer: dict[str, Any]) -> None:
    claims = jwt.decode(customer["access_token"], SECRET, algorithms=["HS256"])
    claims["role"] = "postcart_owner"
    forged = jwt.encode(claims, "not-the-secret-but-long-enough-0123456789", algorithm="HS256")
    assert api.get("/v1/me", token=forged).status == 401


# -- me and addresses ------------------------------------------------------------------------------
def test_me(api: Client, customer: dict[str, Any]) -> None:
    r = api.get("/v1/me", token=customer["access_token"])
    assert r.status == 200
    assert set(r.json) >= {"id", "email", "full_name", "created_at"}
    assert r.json["id"] == customer["id"] and r.json["email"] == customer["email"]
    assert r.json["created_at"].endswith(("Z", "+00:00"))


def test_me_anonymous_is_401(api: Client) -> None:
    r = api.get("/v1/me")
    assert r.status == 401 and r.error_code == "unauthorized"


def test_update_me(api: Client, customer: dict[str, Any]) -> None:
    r = api.patch("/v1/me", {"full_name": "Ada King"}, token=customer["access_token"])
    assert r.status == 200 and r.json["full_name"] == "Ada King"
    assert api.get("/v1/me", token=customer["access_token"]).json["full_name"] == "Ada King"


ADDRESS = {"full_name": "Ada Lovelace", "line1": "12 St James's Square", "city": "London",
           "postal_code": "SW1Y 4JH", "country": "GB", "phone": "+44 20 7946 0000"}


def test_addresses_are_private(api: Client, customer: dict[str, Any]) -> None:
    token = customer["access_token"]
    assert api.get("/v1/me/addresses", token=token).json == {"items": [], "next_cursor": None}
    created = api.post("/v1/me/addresses", ADDRESS, token=token)
    assert created.status == 201 and created.json["line1"] == ADDRESS["line1"] and created.json["id"]
    listed = api.get("/v1/me/addresses", token=token).json
    assert [a["id"] for a in listed["items"]] == [created.json["id"]]
    other = register(api)
    other_token = login(api, other["email"])["access_token"]
    assert api.get("/v1/me/addresses", token=other_token).json["items"] == []


def test_addresses_paginate_newest_first(api: Client, customer: dict[str, Any]) -> None:
    token = customer["access_token"]
    ids = [api.post("/v1/me/addresses", {**ADDRESS, "line1": f"{i} Main St"}, token=token).json["id"] for i in range(5)]
    seen, cursor = [], None
    while True:
        page = api.get("/v1/me/addresses?limit=2" + (f"&cursor={cursor}" if cursor else ""), token=token).json
        seen += [a["id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(ids))


def test_address_validation_names_fields(api: Client, customer: dict[str, Any]) -> None:
    r = api.post("/v1/me/addresses", {**ADDRESS, "country": "Narnia", "city": ""}, token=customer["access_token"])
    assert r.status == 422 and r.error_code == "validation_failed"
    assert {"country", "city"} <= set(r.json["error"]["details"]["fields"])


def test_address_bad_limit_and_cursor_are_400(api: Client, customer: dict[str, Any]) -> None:
    token = customer["access_token"]
    assert api.get("/v1/me/addresses?limit=101", token=token).status == 400
    assert api.get("/v1/me/addresses?cursor=garbage", token=token).error_code == "invalid_cursor"


def test_addresses_anonymous_is_401(api: Client) -> None:
    assert api.get("/v1/me/addresses").status == 401
    assert api.post("/v1/me/addresses", ADDRESS).status == 401


# -- two-factor ------------------------------------------------------------------------------------
def test_totp_enrolment_then_login_needs_the_code(api: Client, customer: dict[str, Any]) -> None:
    assert api.post("/v1/me/mfa/totp").status == 401
    token = customer["access_token"]
    setup = api.post("/v1/me/mfa/totp", token=token)
    assert setup.status == 200 and setup.json["otpauth_uri"].startswith("otpauth://totp/")
    secret = setup.json["secret"]
    wrong = api.put("/v1/me/mfa/totp", {"secret": secret, "otp": "000000"}, token=token)
    assert wrong.status == 422 and wrong.error_code == "invalid_otp"
    ok = api.put("/v1/me/mfa/totp", {"secret": secret, "otp": pyotp.TOTP(secret).now()}, token=token)
    assert ok.status == 204
    needs = api.post("/v1/auth/login", {"email": customer["email"], "password": PASSWORD})
    assert needs.status == 401 and needs.error_code == "otp_required"
    bad = api.post("/v1/auth/login", {"email": customer["email"], "password": PASSWORD, "otp": "123456"})
    assert bad.status == 401
    code = pyotp.TOTP(secret).now()
    login(api, customer["email"], otp=code)
    replay = api.post("/v1/auth/login", {"email": customer["email"], "password": PASSWORD, "otp": code})
    assert replay.status == 401 and replay.error_code == "invalid_otp"  # a one-time code is good once


# -- staff -------------------------------------------------------------------------------------------
def test_create_staff_then_login(api: Client, admin_url: str) -> None:
    email = new_email()
    result = run_cli("create-staff", "--email", email, "--password", "staff-password-1", "--full-name", "Sam Staff",
                     "--roles", "catalog_manager,order_manager", env={"DATABASE_URL": admin_url})
    assert result.returncode == 0, result.stderr
    tokens = login(api, email, "staff-password-1")
    me = api.get("/v1/me", token=tokens["access_token"])
    assert me.status == 200 and me.json["email"] == email
    bad = run_cli("create-staff", "--email", new_email(), "--password", "staff-password-1", "--full-name", "X",
                  "--roles", "emperor", env={"DATABASE_URL": admin_url})
    assert bad.returncode == 1 and "unknown_role" in bad.stderr


def test_store_admin_creates_staff_over_http(api: Client, admin_url: str, customer: dict[str, Any]) -> None:
    boss, clerk = new_email(), new_email()
    for email, roles in ((boss, "store_admin"), (clerk, "support_agent")):
        assert run_cli("create-staff", "--email", email, "--password", "staff-password-1", "--full-name", "S",
                       "--roles", roles, env={"DATABASE_URL": admin_url}).returncode == 0
    body = {"email": new_email(), "full_name": "New Hire", "password": "new-hire-password", "roles": ["order_manager"]}
    as_customer = api.post("/v1/admin/staff", body, token=customer["access_token"])
    assert as_customer.status == 403 and as_customer.error_code == "forbidden"
    as_clerk = api.post("/v1/admin/staff", body, token=login(api, clerk, "staff-password-1")["access_token"])
    assert as_clerk.status == 403
    created = api.post("/v1/admin/staff", body, token=login(api, boss, "staff-password-1")["access_token"])
    assert created.status == 201, created.text
    assert created.json["staff"]["roles"] == ["order_manager"]
    login(api, body["email"], body["password"])
