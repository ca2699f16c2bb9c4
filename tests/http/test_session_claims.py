"""Every request reads its caller from the session row (auth.call_api): whatever ends a session or changes
what its account may do is seen by the very next request, in every worker process."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest

from postcart.auth.passwords import hash_password

from .conftest import Client
from .test_catalog_cache import two_workers  # noqa: F401 - the same two-process server

PASSWORD = "claims-password-123"
ROUNDS = 16  # requests per check, each on a new connection: the kernel spreads them over both workers


def statuses(api: Client, path: str, token: str) -> set[tuple[int, str | None]]:
    answers = [api.get(path, token=token) for _ in range(ROUNDS)]
    return {(r.status, r.error_code) for r in answers}


def login(api: Client, email: str) -> str:
    r = api.post("/v1/auth/login", {"email": email, "password": PASSWORD})
    assert r.status == 200, r.text
    return str(r.json["access_token"])


@pytest.fixture
def staff_email(admin: psycopg.Connection) -> Any:
    email = f"claims-{uuid.uuid4().hex[:10]}@example.com"
    admin.execute("SELECT auth.create_staff(%s, %s, 'Claims', '{}')", [email, hash_password(PASSWORD)])
    yield email
    role = admin.execute("DELETE FROM auth.accounts WHERE email = %s RETURNING db_role", [email]).fetchone()[0]
    admin.execute(f'DROP ROLE IF EXISTS "{role}"')


def test_logout_stops_the_token_in_every_worker(two_workers: Client) -> None:  # noqa: F811
    api = two_workers
    email = f"claims-{uuid.uuid4().hex[:10]}@example.com"
    assert api.post("/v1/auth/register", {"email": email, "password": PASSWORD, "full_name": "C"}).status == 201
    token = login(api, email)
    assert statuses(api, "/v1/me", token) == {(200, None)}
    assert api.post("/v1/auth/logout", token=token).status == 204
    assert statuses(api, "/v1/me", token) == {(401, "token_revoked")}


def test_a_permission_granted_or_revoked_applies_to_the_next_request(two_workers: Client,  # noqa: F811
                                                                     admin: psycopg.Connection,
                                                                     staff_email: str) -> None:
    api = two_workers
    token = login(api, staff_email)
    assert statuses(api, "/v1/admin/products", token) == {(403, "forbidden")}
    admin.execute("SELECT auth.grant_staff_role(%s, 'catalog_manager')", [staff_email])
    assert statuses(api, "/v1/admin/products", token) == {(200, None)}
    admin.execute("SELECT auth.revoke_staff_role(%s, 'catalog_manager')", [staff_email])
    assert statuses(api, "/v1/admin/products", token) == {(403, "forbidden")}


def test_a_session_ended_in_the_database_stops_at_once(two_workers: Client, admin: psycopg.Connection,  # noqa: F811
                                                      staff_email: str) -> None:
    """What a deactivation or a password change does to the member's sessions."""
    api = two_workers
    token = login(api, staff_email)
    assert statuses(api, "/v1/me", token) == {(200, None)}
    admin.execute("UPDATE auth.sessions SET revoked_at = now() WHERE account_id ="
                  " (SELECT id FROM auth.accounts WHERE email = %s)", [staff_email])
    assert statuses(api, "/v1/me", token) == {(401, "token_revoked")}
