"""Every Accounts row of API.md through the real server, with its error paths."""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from typing import Any

import jwt
import psycopg
import pyotp
import pytest
from argon2 import PasswordHasher

from postcart.db import with_user
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


def client_hash(password: str) -> str:
    """What an attacker would send: a valid argon2id hash of a password of its choosing."""
    return PasswordHasher().hash(password)


def account_count(admin, email: str) -> int:
    return admin.execute("SELECT count(*) FROM auth.accounts WHERE email = %s", [email]).fetchone()[0]


def test_register_refuses_a_non_string_password_with_a_client_hash(api: Client, admin) -> None:
    email = new_email()
    r = api.post("/v1/auth/register", {"email": email, "password": 12345678901, "full_name": "Mallory",
                                       "password_hash": client_hash("x")})
    assert r.status == 422 and r.error_code == "validation_failed", r.text
    assert r.json["error"]["details"]["fields"] == {"password": "must be a string"}
    assert account_count(admin, email) == 0
    assert api.post("/v1/auth/login", {"email": email, "password": "x"}).status == 401


def test_register_ignores_a_client_password_hash(api: Client, admin) -> None:
    email = new_email()
    r = api.post("/v1/auth/register", {"email": email, "password": PASSWORD, "full_name": "Mallory",
                                       "password_hash": client_hash("chosen by the client")})
    assert r.status == 201, r.text
    assert api.post("/v1/auth/login", {"email": email, "password": "chosen by the client"}).status == 401
    login(api, email)
    stored = admin.execute("SELECT p.password_hash FROM auth.password_hashes p JOIN auth.accounts a "
                           "ON a.id = p.account_id WHERE a.email = %s", [email]).fetchone()[0]
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


@pytest.mark.parametrize(("body", "fields"), [
    ({"email": 5, "password": PASSWORD, "full_name": ["Ada"]}, {"email", "full_name"}),
    ({"email": "a@example.com", "password": None, "full_name": 7}, {"password", "full_name"}),
    ({"password": {"a": 1}}, {"email", "full_name", "password"}),
    ({"email": "not-an-email", "full_name": "", "password": True}, {"email", "full_name", "password"}),
])
def test_register_validation_names_only_client_fields(api: Client, body: dict, fields: set) -> None:
    r = api.post("/v1/auth/register", body)
    assert r.status == 422 and r.error_code == "validation_failed", r.text
    assert set(r.json["error"]["details"]["fields"]) == fields


@pytest.mark.parametrize("password", ["short", "x" * 1025])
def test_weak_password_names_the_field(api: Client, password: str) -> None:
    r = api.post("/v1/auth/register", {"email": new_email(), "password": password, "full_name": "W"})
    assert r.status == 422 and r.error_code == "weak_password"
    assert set(r.json["error"]["details"]["fields"]) == {"password"}


def test_a_hostile_hash_cannot_be_stored(api: Client, admin) -> None:
    """A hash with m=1 GiB, t=8 (each login would take seconds and a gigabyte) is refused by the CHECK,
    as is any hash not made with the server's parameters."""
    account = register(api)
    salt, digest = "c2FsdHNhbHRzYWx0c2FsdA", "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"
    for hostile in (f"$argon2id$v=19$m=1048576,t=8,p=4${salt}${digest}", f"$argon2id$v=19$m=8,t=1,p=1${salt}${digest}",
                    f"$argon2i$v=19$m=65536,t=3,p=4${salt}${digest}", client_hash("x") + "AAAA"):
        with pytest.raises(psycopg.errors.CheckViolation):
            admin.execute("UPDATE auth.password_hashes SET password_hash = %s WHERE account_id = %s",
                          [hostile, account["id"]])
    login(api, account["email"])


def test_error_details_always_use_fields(api: Client, admin_url: str) -> None:
    email = new_email()
    register(api, email)
    taken = api.post("/v1/auth/register", {"email": email, "password": PASSWORD, "full_name": "Again"})
    assert taken.error_code == "email_taken" and set(taken.json["error"]["details"]["fields"]) == {"email"}
    bad_role = run_cli("create-staff", "--email", new_email(), "--password", "staff-password-1", "--full-name", "X",
                       "--roles", "emperor", env={"DATABASE_URL": admin_url})
    assert "unknown_role" in bad_role.stderr


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
RECOVERY_CODE = re.compile(r"^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}$")


def enable_totp(api: Client, account: dict[str, Any]) -> tuple[str, list[str]]:
    """Turn MFA on for a signed-in account: (secret, recovery codes)."""
    token = account["access_token"]
    secret = api.post("/v1/me/mfa/totp", token=token).json["secret"]
    r = api.put("/v1/me/mfa/totp", {"secret": secret, "otp": pyotp.TOTP(secret).now(), "password": PASSWORD},
                token=token)
    assert r.status == 200, r.text
    return secret, r.json["recovery_codes"]


def next_code(secret: str) -> str:
    """A code accepted now (the window allows one step ahead) and later than the one enable_totp spent."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def test_totp_enrolment_then_login_needs_the_code(api: Client, customer: dict[str, Any]) -> None:
    assert api.post("/v1/me/mfa/totp").status == 401
    token = customer["access_token"]
    setup = api.post("/v1/me/mfa/totp", token=token)
    assert setup.status == 200 and setup.json["otpauth_uri"].startswith("otpauth://totp/")
    secret = setup.json["secret"]
    wrong = api.put("/v1/me/mfa/totp", {"secret": secret, "otp": "000000", "password": PASSWORD}, token=token)
    assert wrong.status == 422 and wrong.error_code == "invalid_otp"
    assert "otp" in wrong.json["error"]["details"]["fields"]
    ok = api.put("/v1/me/mfa/totp", {"secret": secret, "otp": pyotp.TOTP(secret).now(), "password": PASSWORD},
                 token=token)
    assert ok.status == 200, ok.text
    codes = ok.json["recovery_codes"]
    assert len(codes) == 10 == len(set(codes)) and all(RECOVERY_CODE.match(c) for c in codes), codes
    assert ok.headers["cache-control"] == "no-store"  # shown once: no cache keeps them
    needs = api.post("/v1/auth/login", {"email": customer["email"], "password": PASSWORD})
    assert needs.status == 401 and needs.error_code == "otp_required"
    bad = api.post("/v1/auth/login", {"email": customer["email"], "password": PASSWORD, "otp": "123456"})
    assert bad.status == 401
    code = pyotp.TOTP(secret).now()
    # The code that confirmed the secret was spent by the enrolment itself.
    spent = api.post("/v1/auth/login", {"email": customer["email"], "password": PASSWORD, "otp": code})
    assert spent.status == 401 and spent.error_code == "invalid_otp"


def test_a_totp_code_signs_in_once(api: Client, customer: dict[str, Any], admin) -> None:
    secret, _ = enable_totp(api, customer)
    # Forget the step the enrolment spent, so the current code is fresh for this test.
    admin.execute("UPDATE auth.accounts SET totp_last_step = NULL WHERE id = %s", [customer["id"]])
    code = pyotp.TOTP(secret).now()
    login(api, customer["email"], otp=code)
    replay = api.post("/v1/auth/login", {"email": customer["email"], "password": PASSWORD, "otp": code})
    assert replay.status == 401 and replay.error_code == "invalid_otp"  # a one-time code is good once


def test_mfa_cannot_be_turned_on_with_only_an_access_token(api: Client, customer: dict[str, Any], admin) -> None:
    token = customer["access_token"]
    secret = api.post("/v1/me/mfa/totp", token=token).json["secret"]
    body = {"secret": secret, "otp": pyotp.TOTP(secret).now()}
    for attempt in (body, {**body, "password": "not the password"}, {**body, "password": 12345}):
        r = api.put("/v1/me/mfa/totp", attempt, token=token)
        assert r.status == 401 and r.error_code == "reauthentication_required", r.text
    assert admin.execute("SELECT totp_secret FROM auth.accounts WHERE id = %s", [customer["id"]]).fetchone()[0] is None
    login(api, customer["email"])  # still no second factor asked


def test_mfa_cannot_be_turned_off_without_both_proofs(api: Client, customer: dict[str, Any], admin) -> None:
    secret, codes = enable_totp(api, customer)
    token = customer["access_token"]
    attempts = [
        None, {}, {"password": PASSWORD}, {"otp": next_code(secret)}, {"recovery_code": codes[0]},
        {"password": "not the password", "otp": next_code(secret)},
        {"password": "not the password", "recovery_code": codes[0]},
        {"password": PASSWORD, "otp": "000000"}, {"password": PASSWORD, "otp": 123456},
        {"password": PASSWORD, "recovery_code": "aaaa-bbbb-cccc-dddd"},
        {"password": PASSWORD, "otp": "１２３４５６"},
    ]
    for attempt in attempts:
        r = api.delete("/v1/me/mfa/totp", json_body=attempt, token=token)
        assert r.status == 401 and r.error_code == "reauthentication_required", (attempt, r.text)
    assert admin.execute("SELECT count(*) FROM auth.recovery_codes WHERE account_id = %s AND used_at IS NULL",
                         [customer["id"]]).fetchone()[0] == 10
    needs = api.post("/v1/auth/login", {"email": customer["email"], "password": PASSWORD})
    assert needs.status == 401 and needs.error_code == "otp_required"  # MFA is still on


def test_mfa_off_with_password_and_code(api: Client, customer: dict[str, Any], admin) -> None:
    secret, _ = enable_totp(api, customer)
    r = api.delete("/v1/me/mfa/totp", json_body={"password": PASSWORD, "otp": next_code(secret)},
                   token=customer["access_token"])
    assert r.status == 204, r.text
    login(api, customer["email"])  # no second factor any more
    assert admin.execute("SELECT count(*) FROM auth.recovery_codes WHERE account_id = %s",
                         [customer["id"]]).fetchone()[0] == 0


def test_mfa_off_with_password_and_recovery_code(api: Client, customer: dict[str, Any]) -> None:
    _, codes = enable_totp(api, customer)
    r = api.delete("/v1/me/mfa/totp", json_body={"password": PASSWORD, "recovery_code": codes[3]},
                   token=customer["access_token"])
    assert r.status == 204, r.text
    login(api, customer["email"])


def test_a_recovery_code_signs_in_once(api: Client, customer: dict[str, Any]) -> None:
    _, codes = enable_totp(api, customer)
    login(api, customer["email"], recovery_code=codes[0])
    again = api.post("/v1/auth/login", {"email": customer["email"], "password": PASSWORD, "recovery_code": codes[0]})
    assert again.status == 401 and again.error_code == "invalid_recovery_code"
    # Typed loosely: upper case, spaces for dashes.
    login(api, customer["email"], recovery_code=codes[1].upper().replace("-", " "))
    wrong = api.post("/v1/auth/login", {"email": customer["email"], "password": "wrong password!",
                                        "recovery_code": codes[2]})
    assert wrong.status == 401 and wrong.error_code == "invalid_credentials"
    login(api, customer["email"], recovery_code=codes[2])  # a wrong password did not spend it


def test_turning_mfa_on_again_replaces_the_recovery_codes(api: Client, customer: dict[str, Any]) -> None:
    secret, old_codes = enable_totp(api, customer)
    off = api.delete("/v1/me/mfa/totp", json_body={"password": PASSWORD, "otp": next_code(secret)},
                     token=customer["access_token"])
    assert off.status == 204
    _, new_codes = enable_totp(api, customer)
    assert not set(old_codes) & set(new_codes)
    old = api.post("/v1/auth/login", {"email": customer["email"], "password": PASSWORD, "recovery_code": old_codes[5]})
    assert old.status == 401 and old.error_code == "invalid_recovery_code"
    login(api, customer["email"], recovery_code=new_codes[5])


def test_wrong_passwords_at_mfa_changes_count_toward_the_login_lockout(api: Client, customer: dict[str, Any]) -> None:
    token = customer["access_token"]
    secret = api.post("/v1/me/mfa/totp", token=token).json["secret"]
    body = {"secret": secret, "otp": pyotp.TOTP(secret).now(), "password": "a wrong guess"}
    for _ in range(10):
        assert api.put("/v1/me/mfa/totp", body, token=token).error_code == "reauthentication_required"
    locked = api.put("/v1/me/mfa/totp", {**body, "password": PASSWORD}, token=token)
    assert locked.status == 429 and locked.error_code == "too_many_attempts"
    assert api.post("/v1/auth/login", {"email": customer["email"], "password": PASSWORD}).status == 429


def test_a_successful_reauthentication_ends_the_failure_count(api: Client, customer: dict[str, Any]) -> None:
    for _ in range(9):
        assert api.post("/v1/auth/login", {"email": customer["email"], "password": "wrong password!"}).status == 401
    enable_totp(api, customer)  # the right password: a success
    for _ in range(9):
        assert api.post("/v1/auth/login", {"email": customer["email"], "password": "wrong password!"}).status == 401


def test_odd_otps_are_json_answers(api: Client, customer: dict[str, Any]) -> None:
    token = customer["access_token"]
    secret = api.post("/v1/me/mfa/totp", token=token).json["secret"]
    for otp in ("１２３４５６", "١٢٣٤٥٦", "12345x", "", "1" * 9):
        r = api.put("/v1/me/mfa/totp", {"secret": secret, "otp": otp, "password": PASSWORD}, token=token)
        assert r.status == 422 and r.error_code == "invalid_otp", (otp, r.text)
    enable_totp(api, customer)
    for otp in ("１２３４５６", "١٢٣٤٥٦"):
        r = api.post("/v1/auth/login", {"email": customer["email"], "password": PASSWORD, "otp": otp})
        assert r.status == 401 and r.error_code == "invalid_otp", r.text


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
    assert created.json is not None, (created.headers, created.text)
    assert created.json["staff"]["roles"] == ["order_manager"]
    login(api, body["email"], body["password"])


def test_create_staff_over_http_checks_the_password_in_python(api: Client, admin_url: str, admin) -> None:
    boss = new_email()
    assert run_cli("create-staff", "--email", boss, "--password", "staff-password-1", "--full-name", "B",
                   "--roles", "store_admin", env={"DATABASE_URL": admin_url}).returncode == 0
    token = login(api, boss, "staff-password-1")["access_token"]
    email = new_email()
    body = {"email": email, "full_name": "Hire", "roles": ["support_agent"]}
    hostile = api.post("/v1/admin/staff", {**body, "password": 12345678901, "password_hash": client_hash("x")},
                       token=token)
    assert hostile.status == 422 and hostile.error_code == "validation_failed"
    assert hostile.json["error"]["details"]["fields"] == {"password": "must be a string"}
    weak = api.post("/v1/admin/staff", {**body, "password": email.upper()}, token=token)
    assert weak.status == 422 and weak.error_code == "weak_password"
    assert account_count(admin, email) == 0
    role = api.post("/v1/admin/staff", {**body, "password": "new-hire-password", "roles": ["emperor"]}, token=token)
    assert role.status == 422 and role.error_code == "unknown_role"
    assert set(role.json["error"]["details"]["fields"]) == {"roles"}


def test_create_staff_cli_checks_the_policy(admin_url: str, admin) -> None:
    email = new_email()
    weak = run_cli("create-staff", "--email", email, "--password", "short", "--full-name", "X",
                   "--roles", "support_agent", env={"DATABASE_URL": admin_url})
    assert weak.returncode == 1 and "weak_password" in weak.stderr
    assert account_count(admin, email) == 0


# -- staff: what DBAs see and do in psql ---------------------------------------------------------------
@pytest.fixture
def dba(admin_url: str):
    with psycopg.connect(with_user(admin_url, "postcart_dba", None), autocommit=True) as conn:
        yield conn


def test_dbas_list_staff_without_reading_accounts(dba, admin_url: str) -> None:
    email = new_email()
    assert run_cli("create-staff", "--email", email, "--password", "staff-password-1", "--full-name", "Lister",
                   "--roles", "order_manager,catalog_manager", env={"DATABASE_URL": admin_url}).returncode == 0
    row = dba.execute("SELECT full_name, roles, state, mfa_enabled FROM auth.staff_members WHERE email = %s",
                      [email]).fetchone()
    assert row == ("Lister", ["catalog_manager", "order_manager"], "active", False)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        dba.execute("SELECT email FROM auth.accounts")


def test_an_invited_staff_member_sets_a_password_over_http(api: Client, dba, admin) -> None:
    email = new_email()
    token = dba.execute("SELECT auth.invite_staff(%s, %s, %s)", [email, "Ivy Invited", ["support_agent"]]).fetchone()[0]
    assert re.fullmatch(r"[0-9a-f]{64}", token)
    state = "SELECT state FROM auth.staff_members WHERE email = %s"
    assert dba.execute(state, [email]).fetchone()[0] == "invited"
    assert api.post("/v1/auth/login", {"email": email, "password": "anything-at-all"}).status == 401
    stored = admin.execute("SELECT token_hash FROM auth.staff_invitations i JOIN auth.accounts a ON a.id = i.account_id "
                           "WHERE a.email = %s", [email]).fetchone()[0]
    assert bytes(stored) == hashlib.sha256(token.encode()).digest()  # only the digest is kept

    weak = api.post("/v1/auth/staff-invitations/accept", {"token": token, "password": email.upper()})
    assert weak.status == 422 and weak.error_code == "weak_password"
    missing = api.post("/v1/auth/staff-invitations/accept", {"token": token})
    assert missing.status == 422 and set(missing.json["error"]["details"]["fields"]) == {"password"}
    accepted = api.post("/v1/auth/staff-invitations/accept", {"token": token, "password": "ivy-staff-password"})
    assert accepted.status == 204, accepted.text
    assert dba.execute(state, [email]).fetchone()[0] == "active"
    me = api.get("/v1/me", token=login(api, email, "ivy-staff-password")["access_token"])
    assert me.status == 200 and me.json["email"] == email

    again = api.post("/v1/auth/staff-invitations/accept", {"token": token, "password": "another-password-1"})
    assert again.status == 400 and again.error_code == "invalid_token"
    login(api, email, "ivy-staff-password")  # the used token changed nothing


@pytest.mark.parametrize("token", ["0" * 64, "not a token", "é" * 10, "x" * 5000])
def test_unknown_invitation_tokens_are_400(api: Client, token: str) -> None:
    r = api.post("/v1/auth/staff-invitations/accept", {"token": token, "password": "some-long-password"})
    assert r.status == 400 and r.error_code == "invalid_token"


def test_expired_invitations_are_400_and_can_be_reissued(api: Client, dba, admin) -> None:
    email = new_email()
    old = dba.execute("SELECT auth.invite_staff(%s, 'Eve Expired', ARRAY['support_agent'])", [email]).fetchone()[0]
    admin.execute("UPDATE auth.staff_invitations SET created_at = created_at - interval '8 days', "
                  "expires_at = expires_at - interval '8 days' WHERE token_hash = sha256(%s::bytea)", [old.encode()])
    expired = api.post("/v1/auth/staff-invitations/accept", {"token": old, "password": "eve-staff-password"})
    assert expired.status == 400 and expired.error_code == "invalid_token"
    new = dba.execute("SELECT auth.reinvite_staff(%s)", [email]).fetchone()[0]
    assert new != old
    assert api.post("/v1/auth/staff-invitations/accept", {"token": new, "password": "eve-staff-password"}).status == 204
    with pytest.raises(psycopg.Error) as active:
        dba.execute("SELECT auth.reinvite_staff(%s)", [email])
    assert active.value.sqlstate == "PT409" and active.value.diag.message_primary == "staff_already_active"


# -- addresses: change and remove ----------------------------------------------------------------------
def test_address_patch_changes_only_what_is_sent(api: Client, customer: dict[str, Any]) -> None:
    token = customer["access_token"]
    created = api.post("/v1/me/addresses", {**ADDRESS, "line2": "Flat 2"}, token=token).json
    r = api.patch(f"/v1/me/addresses/{created['id']}", {"city": " Bath ", "country": "gb", "line2": None}, token=token)
    assert r.status == 200, r.text
    assert r.json == {**created, "city": "Bath", "country": "GB", "line2": None}
    listed = api.get("/v1/me/addresses", token=token).json["items"]
    assert listed == [r.json]


def test_address_patch_validates_like_add(api: Client, customer: dict[str, Any]) -> None:
    token = customer["access_token"]
    created = api.post("/v1/me/addresses", ADDRESS, token=token).json
    r = api.patch(f"/v1/me/addresses/{created['id']}", {"country": "ZZ", "city": "", "phone": "call me", "line1": 5},
                  token=token)
    assert r.status == 422 and r.error_code == "validation_failed"
    assert set(r.json["error"]["details"]["fields"]) == {"country", "city", "phone", "line1"}
    assert api.get("/v1/me/addresses", token=token).json["items"] == [created]


def test_an_address_carries_a_region_for_tax_and_shipping(api: Client, customer: dict[str, Any]) -> None:
    token = customer["access_token"]
    created = api.post("/v1/me/addresses", {**ADDRESS, "country": "US", "region": " ca "}, token=token)
    assert created.status == 201, created.text
    assert created.json["region"] == "CA"
    bad = api.patch(f"/v1/me/addresses/{created.json['id']}", {"region": "California"}, token=token)
    assert bad.status == 422 and set(bad.json["error"]["details"]["fields"]) == {"region"}
    cleared = api.patch(f"/v1/me/addresses/{created.json['id']}", {"region": None}, token=token)
    assert cleared.status == 200 and cleared.json["region"] is None


def test_another_customers_address_is_404(api: Client, customer: dict[str, Any]) -> None:
    mine = api.post("/v1/me/addresses", ADDRESS, token=customer["access_token"]).json
    other = register(api)
    other_token = login(api, other["email"])["access_token"]
    for r in (api.patch(f"/v1/me/addresses/{mine['id']}", {"city": "Hacked"}, token=other_token),
              api.delete(f"/v1/me/addresses/{mine['id']}", token=other_token)):
        assert r.status == 404 and r.error_code == "address_not_found", r.text
    assert api.get("/v1/me/addresses", token=customer["access_token"]).json["items"] == [mine]


@pytest.mark.parametrize("address_id", [str(uuid.uuid4()), "not-a-uuid"])
def test_unknown_address_is_404(api: Client, customer: dict[str, Any], address_id: str) -> None:
    token = customer["access_token"]
    assert api.patch(f"/v1/me/addresses/{address_id}", {"city": "X"}, token=token).error_code == "address_not_found"
    assert api.delete(f"/v1/me/addresses/{address_id}", token=token).error_code == "address_not_found"


def test_address_delete(api: Client, customer: dict[str, Any]) -> None:
    token = customer["access_token"]
    keep = api.post("/v1/me/addresses", ADDRESS, token=token).json
    gone = api.post("/v1/me/addresses", {**ADDRESS, "line1": "Gone Street 1"}, token=token).json
    r = api.delete(f"/v1/me/addresses/{gone['id']}", token=token)
    assert r.status == 204 and r.text == ""
    assert api.get("/v1/me/addresses", token=token).json["items"] == [keep]
    assert api.delete(f"/v1/me/addresses/{gone['id']}", token=token).status == 404
    assert api.delete(f"/v1/me/addresses/{keep['id']}").status == 401


def test_country_must_be_an_iso_code(api: Client, customer: dict[str, Any]) -> None:
    token = customer["access_token"]
    for country in ("ZZ", "UK", "XK", "D"):
        r = api.post("/v1/me/addresses", {**ADDRESS, "country": country}, token=token)
        assert r.status == 422 and set(r.json["error"]["details"]["fields"]) == {"country"}, (country, r.text)
    ok = api.post("/v1/me/addresses", {**ADDRESS, "country": "ci"}, token=token)
    assert ok.status == 201 and ok.json["country"] == "CI"


def test_new_routes_are_in_openapi(api: Client) -> None:
    paths = api.get("/openapi.json").json["paths"]
    assert {"patch", "delete"} <= set(paths["/v1/me/addresses/{id}"])
    assert {"post", "put", "delete"} <= set(paths["/v1/me/mfa/totp"])
    assert "post" in paths["/v1/auth/staff-invitations/accept"]
    put = paths["/v1/me/mfa/totp"]["put"]
    assert "(args jsonb, derived jsonb)" in put["description"] and "200" in put["responses"]
