"""Rate limits under a burst from one client, served by two worker processes at once: the limit is kept
in PostgreSQL, so exactly `burst` requests pass however the processes interleave (docs/rate-limits.md)."""

from __future__ import annotations

import os
import random
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from tests.http.conftest import SECRET, Client, start_server

N = 40
LIMIT = 10
RULE = "race_reset_per_ip"


@pytest.fixture(scope="module")
def two_limited_workers(admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    log_path = tmp_path_factory.mktemp("two-limited-workers") / "server.log"
    env = {**os.environ, "DATABASE_URL": admin_url, "POSTCART_SECRET_KEY": SECRET, "POSTCART_LOG_LEVEL": "WARNING",
           "POSTCART_RATE_LIMITS": "on", "POSTCART_TRUSTED_PROXIES": "127.0.0.1/32"}
    client, proc = start_server(env, log_path, "--workers", "2")
    try:
        yield client
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def only_race_rule(admin: psycopg.Connection) -> Iterator[None]:
    """Password reset requests limited by this rule alone: LIMIT per hour per address, all at once."""
    others = [name for (name,) in admin.execute(
        "UPDATE integration.rate_limit_rules SET enabled = FALSE"
        " WHERE enabled AND 'request_password_reset' = ANY(functions) RETURNING name").fetchall()]
    admin.execute("INSERT INTO integration.rate_limit_rules (name, functions, client_key, requests, per, burst)"
                  " VALUES (%s, '{request_password_reset}', 'ip', %s, '1 hour', %s)", [RULE, LIMIT, LIMIT])
    try:
        yield
    finally:
        admin.execute("DELETE FROM integration.rate_limit_rules WHERE name = %s", [RULE])
        admin.execute("UPDATE integration.rate_limit_rules SET enabled = TRUE WHERE name = ANY(%s)", [others])


def test_exactly_the_limit_passes_across_two_processes(two_limited_workers: Client, only_race_rule: None) -> None:
    ip = f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
    start = threading.Barrier(N)

    def one() -> int:
        email = f"race-{uuid.uuid4().hex[:10]}@example.com"
        start.wait()
        return two_limited_workers.post("/v1/auth/password-reset", {"email": email},
                                        headers={"X-Forwarded-For": ip}).status

    with ThreadPoolExecutor(max_workers=N) as pool:
        statuses = list(pool.map(lambda _: one(), range(N)))
    assert statuses.count(202) == LIMIT and statuses.count(429) == N - LIMIT, sorted(statuses)


def test_exactly_the_limit_passes_across_many_connections(admin_url: str, only_race_rule: None) -> None:
    """The same race without HTTP: N sessions of the authenticator's kind take the limit at one moment."""
    ip = f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
    start = threading.Barrier(N)

    def one() -> str:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute("SET ROLE postcart_authenticator")
            start.wait()
            try:
                conn.execute("SELECT auth.take_rate_limit('request_password_reset', %s::jsonb, '{}', NULL)",
                             [f'{{"ip": "{ip}"}}'])
                return "passed"
            except psycopg.Error as exc:
                return exc.sqlstate or "?"

    with ThreadPoolExecutor(max_workers=N) as pool:
        outcomes = list(pool.map(lambda _: one(), range(N)))
    assert outcomes.count("passed") == LIMIT and outcomes.count("PT429") == N - LIMIT, sorted(outcomes)
