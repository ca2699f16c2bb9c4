"""The layer against hostile and careless clients: claims from the session row, odd bytes, headers,
CORS, idempotency scopes and query parameters (issue 5's findings, each reproduced here)."""

from __future__ import annotations

import hashlib
import json
import socket
import uuid
from typing import Any

import jwt
import psycopg
import pytest

from tests.conftest import run_cli

from .conftest import CORS_ORIGIN, SECRET, Client

PASSWORD = "correct horse battery"


def new_email() -> str:
    return f"hard-{uuid.uuid4().hex[:12]}@example.com"


def signed_in(api: Client, email: str | None = None, password: str = PASSWORD) -> dict[str, Any]:
    email = email or new_email()
    if password == PASSWORD:
        r = api.post("/v1/auth/register", {"email": email, "password": password, "full_name": "Hardy"})
        assert r.status == 201, r.text
    tokens = api.post("/v1/auth/login", {"email": email, "password": password})
    assert tokens.status == 200, tokens.text
    return {"email": email, **tokens.json}


def staff(api: Client, admin_url: str, roles: str) -> dict[str, Any]:
    email = new_email()
    made = run_cli("create-staff", "--email", email, "--password", "staff-password-1", "--full-name", "S",
                   "--roles", roles, env={"DATABASE_URL": admin_url})
    assert made.returncode == 0, made.stderr
    return signed_in(api, email, "staff-password-1")


def raw_request(port: int, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are (http.client would refuse some) and read the whole answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


# -- finding 4: claims come from the session row, not from the token -----------------------------
def test_a_token_is_believed_only_about_its_session(api: Client, admin_url: str) -> None:
    victim = signed_in(api)
    boss = staff(api, admin_url, "store_admin")
    boss_claims = jwt.decode(boss["access_token"], SECRET, algorithms=["HS256"])
    claims = jwt.decode(victim["access_token"], SECRET, algorithms=["HS256"])
    # Signed with the real key: the victim's session, but a store admin's role and account, as staff.
    forged = jwt.encode({**claims, "role": boss_claims["role"], "sub": boss_claims["sub"], "kind": "staff"},
                        SECRET, algorithm="HS256")
    me = api.get("/v1/me", token=forged)
    assert me.status == 200 and me.json["email"] == victim["email"]  # the session's own account
    body = {"email": new_email(), "full_name": "Mole", "password": "mole-password-1", "roles": ["store_admin"]}
    assert api.post("/v1/admin/staff", body, token=forged).status == 403


# -- finding 5: odd input is a 4xx in the envelope, never a 500 ------------------------------------
@pytest.mark.parametrize("field", ["email", "full_name", "password"])
def test_nul_in_a_body_string_is_400(api: Client, field: str) -> None:
    body = {"email": new_email(), "password": PASSWORD, "full_name": "Nul"}
    body[field] = body[field][:3] + "\u0000" + body[field][3:]
    r = api.post("/v1/auth/register", body)
    assert r.status == 400 and r.error_code == "invalid_parameter"
    assert field in r.json["error"]["details"]["fields"]


def test_nul_and_lone_surrogates_in_the_query_are_400(api: Client) -> None:
    r = api.get("/v1/products?q=shi%00rt")
    assert r.status == 400 and r.json["error"]["details"]["fields"] == {"q": "must not contain NUL characters"}
    r = api.post("/v1/auth/register", raw=b'{"email": "\\ud800@example.com", "password": "x", "full_name": "y"}',
                 headers={"Content-Type": "application/json"})
    assert r.status == 400 and "email" in r.json["error"]["details"]["fields"]


def test_deeply_nested_json_is_400(api: Client) -> None:
    for depth in (40, 5000, 30_000):
        r = api.post("/v1/auth/register", raw=b'{"a": ' + b"[" * depth + b"]" * depth + b"}",
                     headers={"Content-Type": "application/json"})
        assert r.status == 400 and r.error_code == "invalid_json", depth


def test_non_ascii_bearer_token_is_401(api: Client) -> None:
    status, headers, body = raw_request(
        api.port, "GET /v1/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tökén\r\nConnection: close\r\n\r\n"
        .encode("latin-1"))
    assert status == 401 and json.loads(body)["error"]["code"] == "invalid_token"


def test_a_request_line_over_8_kb_is_json(api: Client) -> None:
    status, headers, body = raw_request(
        api.port, b"GET /v1/products?q=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status == 414 and headers["content-type"].startswith("application/json")
    assert json.loads(body)["error"]["code"] == "uri_too_long"
    assert headers["server"] == "postcart" and headers["x-content-type-options"] == "nosniff"
    status, headers, body = raw_request(
        api.port, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\nConnection: close\r\n\r\n")
    assert status == 431 and json.loads(body)["error"]["code"] == "headers_too_large"
    status, headers, body = raw_request(api.port, b"\x16\x03\x01 not http at all\r\n\r\n")
    assert status == 400 and json.loads(body)["error"]["code"] == "bad_request"


# -- finding 6: headers ---------------------------------------------------------------------------
def test_personal_and_credential_responses_are_not_stored(api: Client) -> None:
    user = signed_in(api)
    refreshed = api.post("/v1/auth/refresh", {"refresh_token": user["refresh_token"]})
    for r in (api.post("/v1/auth/login", {"email": user["email"], "password": PASSWORD}), refreshed,
              api.get("/v1/me", token=refreshed.json["access_token"]),
              api.get("/v1/me/addresses", token=refreshed.json["access_token"]),
              api.post("/v1/me/mfa/totp", token=refreshed.json["access_token"]),
              api.get("/v1/me")):
        assert r.headers["cache-control"] == "no-store", r.text


def test_security_headers_on_every_answer(api: Client) -> None:
    for r in (api.get("/health"), api.get("/v1/products?limit=1"), api.get("/v1/nope"), api.delete("/v1/products")):
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert r.headers["server"] == "postcart"  # no versions
        assert "default-src 'none'" in r.headers["content-security-policy"]
        assert "strict-transport-security" not in r.headers  # plain HTTP here; sent only over TLS


def test_405_carries_allow(api: Client) -> None:
    r = api.delete("/v1/products")
    assert r.status == 405 and set(r.headers["allow"].split(", ")) == {"GET", "HEAD"}


def test_head_on_get_routes(api: Client) -> None:
    for path in ("/health", "/v1/products?limit=1", "/v1/categories"):
        r = api.request("HEAD", path)
        assert r.status == 200 and r.text == "", path


def test_429_carries_retry_after(api: Client) -> None:
    email = new_email()
    for _ in range(10):
        api.post("/v1/auth/login", {"email": email, "password": "wrong password!"})
    r = api.post("/v1/auth/login", {"email": email, "password": "wrong password!"})
    assert r.status == 429 and r.error_code == "too_many_attempts"
    assert int(r.headers["retry-after"]) == r.json["error"]["details"]["retry_after"] > 0


# -- finding 7: idempotency keys belong to one client ---------------------------------------------
def test_anonymous_keys_cannot_be_squatted(api: Client) -> None:
    key = "shared-" + uuid.uuid4().hex
    mine = {"email": new_email(), "password": PASSWORD, "full_name": "Mine"}
    squat = api.post("/v1/auth/register", {"email": new_email(), "password": PASSWORD, "full_name": "Squatter"},
                     headers={"Idempotency-Key": key})
    r = api.post("/v1/auth/register", mine, headers={"Idempotency-Key": key})
    assert squat.status == r.status == 201 and r.json["customer"]["email"] == mine["email"]
    assert "idempotent-replayed" not in r.headers
    again = api.post("/v1/auth/register", mine, headers={"Idempotency-Key": key})
    assert again.json == r.json and again.headers["idempotent-replayed"] == "true"


def test_a_guest_cart_token_scopes_anonymous_keys(api: Client) -> None:
    key, cart = uuid.uuid4().hex, {"X-Cart-Token": uuid.uuid4().hex}
    body = {"email": new_email(), "password": PASSWORD, "full_name": "Guest"}
    assert api.post("/v1/auth/register", body, headers={"Idempotency-Key": key, **cart}).status == 201
    other = api.post("/v1/auth/register", {**body, "full_name": "Changed"}, headers={"Idempotency-Key": key, **cart})
    assert other.status == 422 and other.error_code == "idempotency_key_reused"


def test_signed_in_keys_are_per_account(api: Client) -> None:
    a, b = signed_in(api), signed_in(api)
    key = uuid.uuid4().hex
    address = {"full_name": "A", "line1": "1 Main St", "city": "Berlin", "postal_code": "10115", "country": "DE"}
    first = api.post("/v1/me/addresses", address, token=a["access_token"], headers={"Idempotency-Key": key})
    theirs = api.post("/v1/me/addresses", address, token=b["access_token"], headers={"Idempotency-Key": key})
    assert first.status == theirs.status == 201 and first.json["id"] != theirs.json["id"]
    reused = api.post("/v1/me/addresses", {**address, "city": "Paris"}, token=a["access_token"],
                      headers={"Idempotency-Key": key})
    assert reused.status == 422 and reused.error_code == "idempotency_key_reused"


def test_stored_fingerprints_are_keyed(api: Client, admin: psycopg.Connection) -> None:
    """Whoever reads the database cannot test password guesses against a stored fingerprint."""
    key = uuid.uuid4().hex
    body = {"email": new_email(), "password": PASSWORD, "full_name": "Keyed"}
    assert api.post("/v1/auth/register", body, headers={"Idempotency-Key": key}).status == 201
    stored = admin.execute("SELECT fingerprint FROM integration.idempotency_keys WHERE key = %s", [key]).fetchone()[0]
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    assert bytes(stored) != hashlib.sha256(f"POST /v1/auth/register\n{canonical}".encode()).digest()


# -- query parameters -----------------------------------------------------------------------------
def test_unknown_or_repeated_query_parameters_are_400(api: Client) -> None:
    r = api.get("/v1/products?colour=red&q=shirt")
    assert r.status == 400 and r.error_code == "invalid_parameter"
    assert r.json["error"]["details"]["fields"] == {"colour": "is not a parameter of this route"}
    r = api.get("/v1/products?q=a&q=b")
    assert r.status == 400 and r.json["error"]["details"]["fields"] == {"q": "is given more than once"}
    assert api.get("/v1/categories?x=1").status == 400
    assert api.get("/v1/products?q=shirt&limit=2").status == 200


# -- finding 8: CORS ------------------------------------------------------------------------------
def test_cors_preflight_for_a_listed_origin(api: Client) -> None:
    r = api.request("OPTIONS", "/v1/auth/login", headers={
        "Origin": CORS_ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, idempotency-key"})
    assert r.status == 204
    assert r.headers["access-control-allow-origin"] == CORS_ORIGIN
    assert "POST" in r.headers["access-control-allow-methods"]
    assert "Idempotency-Key" in r.headers["access-control-allow-headers"]
    assert "access-control-allow-credentials" not in r.headers
    actual = api.get("/v1/products?limit=1", headers={"Origin": CORS_ORIGIN})
    assert actual.headers["access-control-allow-origin"] == CORS_ORIGIN
    assert "ETag" in actual.headers["access-control-expose-headers"] and "Origin" in actual.headers["vary"]
    refused = api.get("/v1/me", headers={"Origin": CORS_ORIGIN})  # errors are readable by the page too
    assert refused.status == 401 and refused.headers["access-control-allow-origin"] == CORS_ORIGIN


def test_cors_ignores_other_origins(api: Client) -> None:
    r = api.request("OPTIONS", "/v1/auth/login", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in r.headers and r.status == 405
    r = api.get("/v1/products?limit=1", headers={"Origin": "https://evil.example"})
    assert r.status == 200 and "access-control-allow-origin" not in r.headers


def test_cors_wildcard_with_credentials_is_refused(admin_url: str) -> None:
    result = run_cli("serve", "--port", "1", env={
        "DATABASE_URL": admin_url, "POSTCART_SECRET_KEY": SECRET, "POSTCART_CORS_ORIGINS": "*",
        "POSTCART_CORS_ALLOW_CREDENTIALS": "true"})
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "POSTCART_CORS_ORIGINS=*" in result.stderr
