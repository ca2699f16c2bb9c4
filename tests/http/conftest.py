"""The real app (`postcart serve`) on a free port against the test database, and a small JSON client."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

SECRET = "test-secret-key-for-the-http-suite-only-0123456789"
CORS_ORIGIN = "https://shop.example"  # the one browser origin the test server allows
# Every write request any test makes through Client, as (method, path, status, X-Request-Id of the answer):
# test_zz_audit_coverage.py checks that each write route left its mark in the audit trail.
WRITES: list[tuple[str, str, int, str]] = []


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    text: str
    json: Any = field(default=None)

    @property
    def error_code(self) -> str | None:
        return (self.json or {}).get("error", {}).get("code") if isinstance(self.json, dict) else None


class Client:
    def __init__(self, port: int):
        self.port = port

    def request(self, method: str, path: str, json_body: Any = None, token: str | None = None,
                headers: dict[str, str] | None = None, raw: bytes | None = None) -> Response:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        all_headers = dict(headers or {})
        body = raw
        if json_body is not None:
            body = json.dumps(json_body).encode()
            all_headers.setdefault("Content-Type", "application/json")
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        conn.request(method, path, body=body, headers=all_headers)
        resp = conn.getresponse()
        text = resp.read().decode()
        conn.close()
        parsed = None
        if text and resp.getheader("Content-Type", "").startswith("application/json"):
            parsed = json.loads(text)
        answer = Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, text, parsed)
        if method not in ("GET", "HEAD", "OPTIONS"):
            WRITES.append((method, path, answer.status, answer.headers.get("x-request-id", "")))
        return answer

    def get(self, path: str, **kw: Any) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, json_body: Any = None, **kw: Any) -> Response:
        return self.request("POST", path, json_body, **kw)

    def put(self, path: str, json_body: Any = None, **kw: Any) -> Response:
        return self.request("PUT", path, json_body, **kw)

    def patch(self, path: str, json_body: Any = None, **kw: Any) -> Response:
        return self.request("PATCH", path, json_body, **kw)

    def delete(self, path: str, **kw: Any) -> Response:
        return self.request("DELETE", path, **kw)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_ready(client: Client, proc: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if client.get("/ready").status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError("server did not become ready")


def start_server(env: dict[str, str], log_path: Any, *args: str) -> tuple[Client, subprocess.Popen]:
    """`postcart serve` on a free port with env (and more of serve's arguments, e.g. "--workers", "2"), its
    output into log_path; returns once it is ready."""
    port = free_port()
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "postcart", "serve", "--port", str(port), *args],
                                env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    client = Client(port)
    client.log_path = log_path  # type: ignore[attr-defined]
    try:
        wait_until_ready(client, proc)
    except BaseException:
        proc.terminate()
        proc.wait(timeout=30)
        raise
    return client, proc


@pytest.fixture(scope="session")
def server(admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    # The demo store is the shared baseline of the HTTP and race tests. It loads only into an empty catalog,
    # so it goes first, before any test adds products of its own.
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("SELECT shop.load_demo_catalog()")
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    env = {**os.environ, "DATABASE_URL": admin_url, "POSTCART_SECRET_KEY": SECRET,
           "POSTCART_MAX_BODY_BYTES": str(64 * 1024), "POSTCART_CORS_ORIGINS": CORS_ORIGIN}
    client, proc = start_server(env, log_path)
    try:
        yield client
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def api(server: Client) -> Client:
    return server


@dataclass
class PrivateStack:
    """A cluster and an app server of a test's own, for tests that stop the database or read its log."""

    cluster: Any
    client: Client
    admin_url: str
    server_log: Any
    pg_log: Any


@pytest.fixture(scope="module")
def private_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateStack]:
    from pathlib import Path

    from postcart.embedded import EmbeddedCluster
    from postcart.migrate import migrate

    if os.environ.get("POSTCART_TEST_DATABASE_URL"):
        pytest.skip("needs a cluster of its own; POSTCART_TEST_DATABASE_URL points at a shared server")
    root = Path(tmp_path_factory.mktemp("private"))
    cluster = EmbeddedCluster(root / "db", fast=True)
    cluster.start()
    # The harshest logging a DBA might switch on: every statement, and every error's statement.
    with psycopg_connect(cluster.url()) as conn:
        conn.execute("ALTER SYSTEM SET log_statement = 'all'")
        conn.execute("SELECT pg_reload_conf()")
    migrate(cluster.url())
    port = free_port()
    server_log = root / "server.log"
    env = {**os.environ, "DATABASE_URL": cluster.url(), "POSTCART_SECRET_KEY": SECRET, "POSTCART_LOG_LEVEL": "DEBUG"}
    with open(server_log, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "postcart", "serve", "--port", str(port)],
                                env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    client = Client(port)
    try:
        wait_until_ready(client, proc)
        yield PrivateStack(cluster, client, cluster.url(), server_log, cluster.pgdata / "server.log")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        cluster.destroy()


def psycopg_connect(url: str) -> Any:
    import psycopg

    return psycopg.connect(url, autocommit=True)
