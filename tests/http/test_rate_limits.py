"""Rate limits over HTTP (docs/rate-limits.md): a server of the test's own with the limits on and
127.0.0.1 trusted as a proxy, so each test speaks for clients of its own through X-Forwarded-For."""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from .conftest import SECRET, Client, Response, start_server
from .test_accounts import PASSWORD, register


@pytest.fixture(scope="module")
def limited(server: Client, admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    log_path = tmp_path_factory.mktemp("limited-server") / "server.log"
    env = {**os.environ, "DATABASE_URL": admin_url, "POSTCART_SECRET_KEY": SECRET, "POSTCART_RATE_LIMITS": "on",
           "POSTCART_TRUSTED_PROXIES": "127.0.0.1/32"}
    client, proc = start_server(env, log_path)
    try:
        yield client
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def new_ip() -> str:
    """A client address of the test's own (one in 16 million: no other test of the run shares it)."""
    return f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


def from_ip(ip: str) -> dict[str, str]:
    # As a proxy reports its client: the peer, 127.0.0.1, is the proxy the server trusts.
    return {"X-Forwarded-For": ip}


def burst(admin: psycopg.Connection, rule: str) -> int:
    row = admin.execute("SELECT burst FROM integration.rate_limit_rules WHERE name = %s AND enabled", [rule]).fetchone()
    assert row, f"rule {rule} is not enabled"
    return int(row[0])


def bad_login(api: Client, ip: str) -> Response:
    email = f"nobody-{uuid.uuid4().hex[:12]}@example.com"
    return api.post("/v1/auth/login", {"email": email, "password": "wrong password!"}, headers=from_ip(ip))


def assert_refused(r: Response, code: str, rule: str) -> None:
    assert r.status == 429 and r.error_code == code, r.text
    details: dict[str, Any] = r.json["error"]["details"]
    assert details["rule"] == rule
    assert r.headers["retry-after"] == str(details["retry_after"]) and int(r.headers["retry-after"]) > 0


def test_login_from_one_client_is_refused_with_retry_after(limited: Client, admin: psycopg.Connection) -> None:
    ip, other_ip = new_ip(), new_ip()
    # Wrong passwords: each attempt fails with 401 and still counts (the lookup's statement commits).
    for _ in range(burst(admin, "login_per_ip")):
        assert bad_login(limited, ip).status == 401
    refused = bad_login(limited, ip)
    assert_refused(refused, "too_many_attempts", "login_per_ip")
    assert bad_login(limited, other_ip).status == 401, "another client is not affected"


def test_a_refused_login_looks_nothing_up(limited: Client, admin: psycopg.Connection) -> None:
    ip = new_ip()
    for _ in range(burst(admin, "login_per_ip")):
        bad_login(limited, ip)
    email = f"refused-{uuid.uuid4().hex[:12]}@example.com"
    r = limited.post("/v1/auth/login", {"email": email, "password": "wrong password!"}, headers=from_ip(ip))
    assert r.status == 429
    recorded = admin.execute("SELECT count(*) FROM auth.login_attempts WHERE email = %s", [email]).fetchone()
    assert recorded == (0,), "the refusal recorded no attempt against the account's lockout"


def test_failed_registrations_count_and_answer_as_before(limited: Client, api: Client,
                                                         admin: psycopg.Connection) -> None:
    ip = new_ip()
    taken = register(api)["email"]
    body = {"email": taken, "password": PASSWORD, "full_name": "Someone Else"}
    unlimited = api.post("/v1/auth/register", body)
    answers = [limited.post("/v1/auth/register", body, headers=from_ip(ip))
               for _ in range(burst(admin, "register_per_ip"))]
    # The error of a counted request comes back as data and is answered exactly as a raised one.
    assert {(r.status, r.text) for r in answers} == {(unlimited.status, unlimited.text)}
    assert unlimited.status == 409
    assert_refused(limited.post("/v1/auth/register", body, headers=from_ip(ip)), "rate_limited", "register_per_ip")


def test_a_counted_validation_error_names_its_fields(limited: Client) -> None:
    r = limited.post("/v1/auth/register", {"email": "not an address", "password": PASSWORD, "full_name": "X"},
                     headers=from_ip(new_ip()))
    assert r.status == 422 and r.error_code == "validation_failed"
    assert "email" in r.json["error"]["details"]["fields"]


def test_a_failed_keyed_request_leaves_its_idempotency_key_free(limited: Client, api: Client,
                                                                admin: psycopg.Connection) -> None:
    taken = register(api)["email"]
    key = f"rl-{uuid.uuid4()}"
    headers = {**from_ip(new_ip()), "Idempotency-Key": key}
    body = {"email": taken, "password": PASSWORD, "full_name": "Someone Else"}
    assert limited.post("/v1/auth/register", body, headers=headers).status == 409
    assert admin.execute("SELECT count(*) FROM integration.idempotency_keys WHERE key = %s", [key]).fetchone() == (0,)
    body["email"] = f"fresh-{uuid.uuid4().hex[:12]}@example.com"
    r = limited.post("/v1/auth/register", body, headers=headers)
    assert r.status == 201, "the key was not spent by the failed request"
    replay = limited.post("/v1/auth/register", body, headers=headers)
    assert replay.status == 201 and replay.headers.get("idempotent-replayed") == "true"


def test_openapi_lists_429_with_retry_after(api: Client) -> None:
    paths = api.get("/openapi.json").json["paths"]
    for path, method in (("/v1/auth/login", "post"), ("/v1/carts/{id}/checkout", "post")):
        refused = paths[path][method]["responses"]["429"]
        assert refused["headers"]["Retry-After"]["schema"] == {"type": "integer"}
    assert "429" not in paths["/health"]["get"]["responses"]
