"""TLS end to end, with certificates the tests make (trustme): `postcart serve` over HTTPS with HSTS, an
embedded cluster that refuses TCP clients without TLS, and a DATABASE_URL whose sslmode and sslrootcert
the app, its pool and the worker honour."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg
import pytest
import trustme

from postcart.embedded import EmbeddedCluster
from tests.conftest import run_cli
from tests.http.conftest import free_port

pytestmark = pytest.mark.slow

SECRET = "tls-test-secret-key-0123456789abcdefghij"
PASSWORD = "tls-test-authenticator-password-5c1e"


def _get(url: str, context: ssl.SSLContext | None = None) -> tuple[int, dict[str, str], bytes]:
    with urllib.request.urlopen(url, timeout=10, context=context) as answer:
        return answer.status, dict(answer.headers), answer.read()


def _serve(args: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTCART_", "DATABASE_URL"))}
    full_env.update(env)
    with open(log_path, "w") as log:
        return subprocess.Popen([sys.executable, "-m", "postcart", "serve", *args], env=full_env, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def _wait_https(url: str, context: ssl.SSLContext, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, log_path.read_text()
        try:
            _get(url, context)
            return
        except (urllib.error.URLError, ConnectionError, ssl.SSLError):
            time.sleep(0.2)
    raise AssertionError(f"not serving: {log_path.read_text()}")


def test_serve_over_https_with_hsts(admin_url: str, tmp_path: Path) -> None:
    authority = trustme.CA()
    leaf = authority.issue_cert("127.0.0.1", "localhost")
    cert, key = tmp_path / "server.pem", tmp_path / "server.key"
    leaf.private_key_pem.write_to_path(str(key))
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    client = ssl.create_default_context()
    authority.configure_trust(client)
    port = free_port()
    log_path = tmp_path / "server.log"
    proc = _serve(["--port", str(port), "--tls-cert", str(cert), "--tls-key", str(key)],
                  {"DATABASE_URL": admin_url, "POSTCART_SECRET_KEY": SECRET}, log_path)
    try:
        base = f"https://127.0.0.1:{port}"
        _wait_https(f"{base}/health", client, proc, log_path)
        status, headers, body = _get(f"{base}/v1/products?limit=1", client)
        assert status == 200 and "items" in json.loads(body)
        assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
        # Plain HTTP on the same port gets no answer a client could take for the API.
        with pytest.raises((urllib.error.URLError, ConnectionError)):
            _get(f"http://127.0.0.1:{port}/health")
        # A client that does not trust the certificate's issuer refuses the server.
        with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
            _get(f"{base}/health", ssl.create_default_context())
        assert f"serving on https://127.0.0.1:{port}" in log_path.read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_certificate_that_is_missing_or_does_not_fit_stops_serve_in_one_line(admin_url: str,
                                                                               tmp_path: Path) -> None:
    env = {"DATABASE_URL": admin_url, "POSTCART_SECRET_KEY": SECRET}
    missing = run_cli("serve", "--port", str(free_port()), "--tls-cert", str(tmp_path / "nope.pem"),
                      "--tls-key", str(tmp_path / "nope.key"), env=env)
    assert missing.returncode == 2 and "nope.pem" in missing.stderr and "Traceback" not in missing.stderr
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    wrong = run_cli("serve", "--port", str(free_port()), "--tls-cert", str(garbage), "--tls-key", str(garbage),
                    env=env)
    assert wrong.returncode == 2 and "garbage.pem" in wrong.stderr and "Traceback" not in wrong.stderr
    half = run_cli("serve", "--port", str(free_port()), "--tls-cert", str(garbage), env=env)
    assert half.returncode == 2 and "POSTCART_TLS_KEY" in half.stderr


def test_an_embedded_cluster_that_requires_tls(tmp_path: Path) -> None:
    """TCP without TLS is refused, TLS verified against the cluster's own certificate is accepted, and the
    Unix socket (the app's way in) is unaffected; turning the setting off again takes effect on start."""
    cluster = EmbeddedCluster(tmp_path / "db", fast=True, require_tls=True)
    cluster.start()
    try:
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            conn.execute(f"ALTER ROLE postgres PASSWORD '{PASSWORD}'")
        tcp = cluster.tcp_url().replace("postgres@", f"postgres:{PASSWORD}@", 1)
        assert "sslmode=verify-full" in tcp
        with psycopg.connect(tcp) as conn:
            assert conn.execute("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()[0]
        plain = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{cluster.port}/postcart?sslmode=disable"
        with pytest.raises(psycopg.OperationalError, match="no encryption"):
            psycopg.connect(plain).close()
        # Pinning another certificate fails: the client really verifies.
        other = trustme.CA()
        other.cert_pem.write_to_path(str(tmp_path / "other.pem"))
        with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
            psycopg.connect(tcp.replace(str(cluster.certificate), str(tmp_path / "other.pem"))).close()

        relaxed = EmbeddedCluster(tmp_path / "db", fast=True)
        relaxed.start()  # running: the new rules are reloaded
        psycopg.connect(plain).close()
    finally:
        cluster.stop()


def test_database_url_sslmode_is_honoured_by_the_app_and_the_worker(tmp_path: Path) -> None:
    """migrate, serve and worker against a server that accepts only TLS, through DATABASE_URL with
    sslmode=verify-full and sslrootcert: every connection they open is encrypted."""
    cluster = EmbeddedCluster(tmp_path / "db", fast=True, require_tls=True)
    cluster.start()
    try:
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            conn.execute(f"ALTER ROLE postgres PASSWORD '{PASSWORD}'")
        url = cluster.tcp_url().replace("postgres@", f"postgres:{PASSWORD}@", 1)
        env = {"DATABASE_URL": url, "POSTCART_AUTHENTICATOR_PASSWORD": PASSWORD, "POSTCART_SECRET_KEY": SECRET}
        migrated = run_cli("migrate", env=env, timeout=300)
        assert migrated.returncode == 0, migrated.stderr
        assert run_cli("worker", "--once", env=env).returncode == 0
        port = free_port()
        log_path = tmp_path / "server.log"
        proc = _serve(["--port", str(port)], env, log_path)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    status, _, _ = _get(f"http://127.0.0.1:{port}/v1/products?limit=1")
                    break
                except (urllib.error.URLError, ConnectionError):
                    assert time.monotonic() < deadline and proc.poll() is None, log_path.read_text()
                    time.sleep(0.2)
            assert status == 200
            with psycopg.connect(cluster.url(), autocommit=True) as conn:
                app = conn.execute("SELECT count(*), bool_and(s.ssl) FROM pg_stat_activity AS a"
                                   " JOIN pg_stat_ssl AS s USING (pid) WHERE a.usename = 'postcart_authenticator'"
                                   ).fetchone()
            assert app[0] >= 1 and app[1] is True, app
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    finally:
        cluster.stop()
