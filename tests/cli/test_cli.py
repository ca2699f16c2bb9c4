"""The `postcart` command as a user runs it: up on an empty data dir, down, settings errors, db-url."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from psycopg.types.json import Jsonb

from postcart.auth.passwords import hash_password
from tests.conftest import POSTCART, run_cli
from tests.http.conftest import Client, free_port, wait_until_ready

pytestmark = pytest.mark.slow


def test_bad_setting_is_one_line_and_exit_2() -> None:
    result = run_cli("status", env={"POSTCART_POOL_SIZE": "lots"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "POSTCART_POOL_SIZE" in lines[0]
    assert "Traceback" not in result.stderr


def test_bad_database_url_is_named() -> None:
    result = run_cli("status", env={"DATABASE_URL": "mysql://nope"})
    assert result.returncode == 2 and "DATABASE_URL" in result.stderr and "Traceback" not in result.stderr


def test_help_documents_every_command() -> None:
    out = run_cli("--help").stdout
    for command in ("up", "down", "migrate", "serve", "worker", "status", "db-url", "create-staff"):
        assert command in out
    assert "--no-demo" in run_cli("up", "--help").stdout


def start_up(args: list[str], log_path: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    """`postcart up --port ARGS…` with its output in a file: a pipe nobody reads until the end would fill
    up with the migration log and block the process."""
    with open(log_path, "w") as log:
        return subprocess.Popen([POSTCART, "up", "--port", *args], env=env, stdout=log, stderr=subprocess.STDOUT,
                                text=True, stdin=subprocess.DEVNULL)


def stop_up(proc: subprocess.Popen[str], log_path: Path) -> str:
    """SIGTERM, wait for the exit, and return everything it printed."""
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    return log_path.read_text()


def test_up_on_an_empty_data_dir_serves_then_stops_cleanly(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh"
    port = free_port()
    log_path = tmp_path / "up.log"
    proc = start_up([str(port), "--data-dir", str(data_dir)], log_path,
                    env={k: v for k, v in os.environ.items() if not k.startswith(("POSTCART_", "DATABASE_URL"))})
    client = Client(port)
    try:
        started = time.monotonic()
        wait_until_ready(client, proc, seconds=60)
        assert time.monotonic() - started < 60
        # The demo store and logins exist.
        products = client.get("/v1/products?limit=100")
        assert products.status == 200 and len(products.json["items"]) >= 40
        login = client.post("/v1/auth/login", {"email": "demo@postcart.dev", "password": "demo-customer-pass"})
        assert login.status == 200, login.text
        staff = client.post("/v1/auth/login", {"email": "admin@postcart.dev", "password": "demo-admin-pass"})
        assert staff.status == 200, staff.text
        # psql-compatible URL for DBAs and analysts
        url = run_cli("db-url", "--data-dir", str(data_dir)).stdout.strip()
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT count(*) FROM shop.products").fetchone()[0] >= 40
        analyst = run_cli("db-url", "--role", "analyst", "--data-dir", str(data_dir)).stdout.strip()
        psql = subprocess.run(["psql", analyst, "-Atc", "SELECT count(*) > 0 FROM reporting.catalog_stock"],
                              capture_output=True, text=True)
        assert psql.stdout.strip() == "t", psql.stderr
        status = run_cli("status", "--data-dir", str(data_dir))
        assert "0 pending" in status.stdout
    finally:
        out = stop_up(proc, log_path)
    assert proc.returncode == 0, out
    assert "demo customer login: demo@postcart.dev" in out
    assert "embedded PostgreSQL stopped" in out
    assert "not running" in run_cli("down", "--data-dir", str(data_dir)).stdout


def test_down_stops_a_cluster_left_running(tmp_path: Path) -> None:
    data_dir = tmp_path / "left"
    migrated = run_cli("migrate", "--data-dir", str(data_dir))
    assert migrated.returncode == 0, migrated.stderr
    assert run_cli("down", "--data-dir", str(data_dir)).stdout.strip() == "stopped"
    assert "not running" in run_cli("down", "--data-dir", str(data_dir)).stdout


def test_serve_without_a_running_cluster_says_so(tmp_path: Path) -> None:
    result = run_cli("serve", "--data-dir", str(tmp_path / "none"))
    assert result.returncode == 2 and "postcart up" in result.stderr


@pytest.mark.parametrize("command", ["up", "serve"])
def test_a_busy_port_is_one_line_before_anything_starts(command: str, tmp_path: Path, admin_url: str) -> None:
    data_dir = tmp_path / "data"
    env = {"DATABASE_URL": admin_url, "POSTCART_SECRET_KEY": "busy-port-secret-key-0123456789abcdef"}
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = run_cli(command, "--port", str(port), "--data-dir", str(data_dir),
                         env=env if command == "serve" else None, timeout=30)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"port {port} is already in use" in lines[0], result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""  # no banner, no demo logins
    assert not data_dir.exists()  # no embedded database was started


def test_a_bad_port_or_host_is_refused_up_front(tmp_path: Path) -> None:
    result = run_cli("up", "--port", "99999", "--data-dir", str(tmp_path))
    assert result.returncode == 2 and "not a port number" in result.stderr and "Traceback" not in result.stderr
    result = run_cli("up", "--host", "no-such-host.invalid", "--port", "8080", "--data-dir", str(tmp_path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()] and "no-such-host.invalid" in result.stderr




def test_sigterm_lets_an_in_flight_request_finish(admin_url: str) -> None:
    """A request being handled when SIGTERM arrives still gets its answer before the server exits."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTCART_", "DATABASE_URL"))}
    env.update({"DATABASE_URL": admin_url, "POSTCART_SECRET_KEY": "drain-test-secret-key-0123456789abcdef"})
    proc = subprocess.Popen([POSTCART, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    client = Client(port)
    body = {"email": f"drain-{time.time_ns()}@example.com", "password": "drain-password-1", "full_name": "Drain"}
    try:
        wait_until_ready(client, proc)
        with psycopg.connect(admin_url) as blocker, ThreadPoolExecutor(1) as pool:
            # An uncommitted account with the same email holds the unique index: the request waits on it.
            blocker.execute("SELECT api.register(%s, %s)", [Jsonb({"email": body["email"], "full_name": "B"}),
                                                            Jsonb({"password_hash": hash_password("blocker-pass")})])
            pending = pool.submit(client.post, "/v1/auth/register", body)
            time.sleep(1.0)
            assert not pending.done()
            proc.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            blocker.rollback()  # the request can now finish, after the signal
            answer = pending.result(timeout=30)
        assert answer.status == 201, answer.text
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_serve_with_database_url_needs_a_secret_key(admin_url: str) -> None:
    result = run_cli("serve", env={"DATABASE_URL": admin_url})
    assert result.returncode == 2 and "POSTCART_SECRET_KEY" in result.stderr


def test_printed_urls_hide_passwords() -> None:
    from postcart.cli import _masked

    assert _masked("postgresql://admin:s3cret@db:5432/postcart") == "postgresql://admin:***@db:5432/postcart"
    assert _masked("postgresql://postgres@/postcart?host=/x") == "postgresql://postgres@/postcart?host=/x"


def test_workers_share_the_port_and_stop_together(admin_url: str) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTCART_", "DATABASE_URL"))}
    env.update({"DATABASE_URL": admin_url, "POSTCART_SECRET_KEY": "workers-test-secret-key-0123456789abcdef"})
    proc = subprocess.Popen([POSTCART, "serve", "--port", str(port), "--workers", "2"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        client = Client(port)
        wait_until_ready(client, proc)
        workers = [int(p) for p in subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,
                                                  text=True).stdout.split()]
        assert len(workers) == 2
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda _: client.get("/v1/categories").status, range(40)))
        assert statuses == [200] * 40
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        for pid in workers:
            assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_dead_worker_stops_the_service(admin_url: str) -> None:
    """No half-running service: when a worker dies, the others stop and the exit status says so."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTCART_", "DATABASE_URL"))}
    env.update({"DATABASE_URL": admin_url, "POSTCART_SECRET_KEY": "workers-test-secret-key-0123456789abcdef"})
    proc = subprocess.Popen([POSTCART, "serve", "--port", str(port), "--workers", "2"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        wait_until_ready(Client(port), proc)
        first, second = (int(p) for p in subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,
                                                         text=True).stdout.split())
        os.kill(first, signal.SIGKILL)
        assert proc.wait(timeout=60) == 1
        assert not Path(f"/proc/{second}").exists()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_demo_loads_only_on_the_first_start(tmp_path: Path) -> None:
    """A store started with --no-demo never gets the demo logins (published passwords) later."""
    data_dir = tmp_path / "real-store"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTCART_", "DATABASE_URL"))}
    for flags in (["--no-demo"], []):
        port = free_port()
        log_path = tmp_path / f"up-{len(flags)}.log"
        proc = start_up([str(port), "--data-dir", str(data_dir), *flags], log_path, env=env)
        try:
            wait_until_ready(Client(port), proc, seconds=60)
        finally:
            out = stop_up(proc, log_path)
        assert proc.returncode == 0, out
        assert "demo store" not in out and "login:" not in out
    assert run_cli("migrate", "--data-dir", str(data_dir)).returncode == 0  # starts the cluster again
    try:
        url = run_cli("db-url", "--data-dir", str(data_dir)).stdout.strip()
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT count(*) FROM auth.accounts").fetchone()[0] == 0
            assert conn.execute("SELECT count(*) FROM shop.products").fetchone()[0] == 0
    finally:
        run_cli("down", "--data-dir", str(data_dir))


def test_a_request_stuck_in_the_database_times_out_with_503(admin_url: str) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTCART_", "DATABASE_URL"))}
    env.update({"DATABASE_URL": admin_url, "POSTCART_SECRET_KEY": "timeout-test-secret-key-0123456789abcdef",
                "POSTCART_STATEMENT_TIMEOUT": "300"})
    proc = subprocess.Popen([POSTCART, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    client = Client(port)
    body = {"email": f"stuck-{time.time_ns()}@example.com", "password": "stuck-password-1", "full_name": "Stuck"}
    try:
        wait_until_ready(client, proc)
        with psycopg.connect(admin_url) as blocker:
            # An uncommitted account with the same email holds the unique index for longer than the timeout.
            blocker.execute("SELECT api.register(%s, %s)", [Jsonb({"email": body["email"], "full_name": "B"}),
                                                            Jsonb({"password_hash": hash_password("blocker-pass")})])
            answer = client.post("/v1/auth/register", body)
            blocker.rollback()
        assert answer.status == 503 and answer.error_code == "timeout", answer.text
        assert client.post("/v1/auth/register", body).status == 201  # nothing half-done was left behind
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_seed_builds_a_catalog_in_a_database_of_its_own(admin, admin_url: str) -> None:
    """`postcart seed` adds published products with variants, prices and stock; a second run adds more."""
    import uuid
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    from postcart.migrate import migrate

    name = "postcart_seed_" + uuid.uuid4().hex[:6]
    admin.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(admin_url)._replace(path="/" + name))
    # The seed builds these tables' secondary indexes and foreign keys once, after loading: all come back.
    shape = ("SELECT (SELECT array_agg(indexdef ORDER BY indexname) FROM pg_indexes WHERE schemaname = 'shop'"
             "        AND tablename IN ('products', 'product_variants', 'variant_prices', 'product_listings',"
             "                          'product_listing_prices')),"
             "       (SELECT array_agg(conname || pg_get_constraintdef(oid) ORDER BY conname) FROM pg_constraint"
             "        WHERE connamespace = 'shop'::regnamespace AND contype = 'f')")
    try:
        migrate(url)
        with psycopg.connect(url) as conn:
            before = conn.execute(shape).fetchone()
        first = run_cli("seed", "--products", "120", env={"DATABASE_URL": url})
        assert first.returncode == 0, first.stderr
        assert "seeded 120 products (360 variants)" in first.stdout
        assert run_cli("seed", "--products", "30", env={"DATABASE_URL": url}).returncode == 0
        with psycopg.connect(url) as conn:
            products, published, slugs = conn.execute(
                "SELECT count(*), count(*) FILTER (WHERE status = 'published'), count(DISTINCT slug)"
                " FROM shop.products").fetchone()
            assert products == published == slugs == 150
            variants, priced, stocked = conn.execute(
                "SELECT count(*), count(*) FILTER (WHERE EXISTS (SELECT FROM shop.variant_prices p"
                " WHERE p.variant_id = v.id AND p.currency = 'EUR')),"
                " count(*) FILTER (WHERE EXISTS (SELECT FROM shop.stock_levels s WHERE s.variant_id = v.id))"
                " FROM shop.product_variants v").fetchone()
            assert variants == priced == stocked == 450
            # Every product sits in a subcategory of the generated tree.
            assert conn.execute("SELECT count(*) FROM shop.products p JOIN shop.categories c ON c.id = p.category_id"
                                " WHERE c.parent_id IS NOT NULL").fetchone()[0] == 150
            assert conn.execute(shape).fetchone() == before
            # The read model and the search dictionary were written.
            assert conn.execute("SELECT count(*) FROM shop.product_listings WHERE visible_from IS NOT NULL"
                                " AND available >= 0").fetchone()[0] == 150
            assert conn.execute("SELECT count(*) FROM shop.search_words WHERE word IN ('hiking', 'jacket')"
                                ).fetchone()[0] == 2
            # The first run loaded in bulk with the derivation triggers off, the second (a quarter of the
            # store) with them on: both wrote the same derived columns, and every trigger is on again.
            assert conn.execute("SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgenabled <> 'O'"
                                " AND tgrelid::regclass::text LIKE 'shop.%'").fetchone()[0] == 0
            assert conn.execute(
                "SELECT count(*) FROM shop.products p"
                " JOIN shop.product_variants v ON v.product_id = p.id"
                " JOIN shop.variant_prices vp ON vp.variant_id = v.id"
                " WHERE p.first_visible_at = p.published_at"
                "   AND v.visible_from = shop.visible_from(p.status, p.published_at)"
                "   AND vp.product_id = p.id AND vp.visible_from = v.visible_from").fetchone()[0] == 900
        bad = run_cli("seed", "--products", "0", env={"DATABASE_URL": url})
        assert bad.returncode != 0 and "Traceback" not in bad.stderr
    finally:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
