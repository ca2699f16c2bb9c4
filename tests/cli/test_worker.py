"""`postcart worker` as an operator runs it, and the worker `postcart up` runs beside the web app: old rows
disappear, young ones stay, SIGTERM stops it cleanly, a missing database is waited for, and no password
reaches the log."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.conftest import POSTCART, run_cli
from tests.http.conftest import Client, free_port, wait_until_ready

pytestmark = pytest.mark.slow

SECRET = "worker-test-secret-key-0123456789abcdef"
PASSWORD = "authenticator-pass-never-logged-7f3a"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTCART_", "DATABASE_URL"))}
    env.update(extra)
    return env


def _add_rows(admin: psycopg.Connection, tag: str) -> str:
    """Rows past their retention in every swept table, and one young row beside each; returns the account."""
    account = admin.execute("INSERT INTO auth.accounts (email, full_name) VALUES (%s, 'W') RETURNING id",
                            [f"{tag}@example.com"]).fetchone()[0]
    p = {"tag": tag, "account": account}
    admin.execute("INSERT INTO auth.login_attempts (email, attempted_at, succeeded) VALUES"
                  " (%(tag)s || '-old@example.com', now() - INTERVAL '2 hours', FALSE),"
                  " (%(tag)s || '-young@example.com', now() - INTERVAL '10 minutes', FALSE)", p)
    admin.execute("INSERT INTO auth.sessions (account_id, created_at, expires_at, user_agent) VALUES"
                  " (%(account)s, now() - INTERVAL '90 days', now() - INTERVAL '31 days', 'old'),"
                  " (%(account)s, now() - INTERVAL '1 day', now() + INTERVAL '29 days', 'young')", p)
    admin.execute("INSERT INTO auth.refresh_tokens (token_hash, session_id, created_at, expires_at)"
                  " SELECT sha256(convert_to(%(tag)s || v.age, 'UTF8')), s.id, now() - INTERVAL '40 days', v.expires_at"
                  " FROM auth.sessions AS s, (VALUES ('old', now() - INTERVAL '8 days'),"
                  "  ('young', now() + INTERVAL '1 day')) AS v (age, expires_at)"
                  " WHERE s.account_id = %(account)s AND s.user_agent = 'young'", p)
    admin.execute("INSERT INTO auth.staff_invitations (token_hash, account_id, created_at, expires_at) VALUES"
                  " (sha256(convert_to(%(tag)s || 'old', 'UTF8')), %(account)s, now() - INTERVAL '60 days',"
                  "  now() - INTERVAL '31 days'),"
                  " (sha256(convert_to(%(tag)s || 'young', 'UTF8')), %(account)s, now(), now() + INTERVAL '7 days')", p)
    admin.execute("INSERT INTO integration.idempotency_keys (owner_id, key, fingerprint, status, created_at) VALUES"
                  " (%(tag)s, 'old', '\\x01', 200, now() - INTERVAL '25 hours'),"
                  " (%(tag)s, 'young', '\\x01', 200, now() - INTERVAL '23 hours')", p)
    return str(account)


def _rows(admin: psycopg.Connection, tag: str, account: str) -> dict[str, int]:
    """How many of the test's rows each table still holds."""
    p = {"tag": tag, "account": account}
    return {name: admin.execute(query, p).fetchone()[0] for name, query in {
        "login_attempts": "SELECT count(*) FROM auth.login_attempts WHERE email::text LIKE %(tag)s || '-%%'",
        "sessions": "SELECT count(*) FROM auth.sessions WHERE account_id = %(account)s",
        "refresh_tokens": "SELECT count(*) FROM auth.refresh_tokens AS t JOIN auth.sessions AS s"
                          " ON s.id = t.session_id WHERE s.account_id = %(account)s",
        "staff_invitations": "SELECT count(*) FROM auth.staff_invitations WHERE account_id = %(account)s",
        "idempotency_keys": "SELECT count(*) FROM integration.idempotency_keys WHERE owner_id = %(tag)s",
    }.items()}


ALL_OLD = {"login_attempts": 2, "sessions": 2, "refresh_tokens": 2, "staff_invitations": 2, "idempotency_keys": 2}
YOUNG_ONLY = dict.fromkeys(ALL_OLD, 1)


def test_worker_once_sweeps_every_table_and_logs_no_password(admin, admin_url: str) -> None:
    tag = f"cli-once-{time.time_ns()}"
    account = _add_rows(admin, tag)
    assert _rows(admin, tag, account) == ALL_OLD
    result = run_cli("worker", "--once", env={"DATABASE_URL": admin_url, "POSTCART_AUTHENTICATOR_PASSWORD": PASSWORD,
                                              "POSTCART_SECRET_KEY": SECRET})
    assert result.returncode == 0, result.stderr
    assert _rows(admin, tag, account) == YOUNG_ONLY
    for task in ("sweep_login_attempts", "sweep_sessions", "sweep_refresh_tokens", "sweep_staff_invitations",
                 "sweep_idempotency_keys"):
        assert f"[{task}] {task}: " in result.stderr, result.stderr  # one line per task, naming it
    assert PASSWORD not in result.stdout + result.stderr
    admin.execute("DELETE FROM auth.accounts WHERE id = %s", [account])


@contextlib.contextmanager
def _worker(database_url: str, log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`postcart worker` running, its output in log_path; killed at the end if still running."""
    with open(log_path, "w") as log:
        proc = subprocess.Popen([POSTCART, "worker"], env=_env(DATABASE_URL=database_url, POSTCART_SECRET_KEY=SECRET),
                                stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()


def _terminate(proc: subprocess.Popen[bytes], within: float, log_path: Path) -> None:
    """SIGTERM: the process exits 0 within `within` seconds (the log says what a slow stop waited for)."""
    stopped = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=15) == 0, log_path.read_text()
    assert time.monotonic() - stopped < within, log_path.read_text()


def test_worker_runs_until_sigterm(admin, admin_url: str, tmp_path: Path) -> None:
    tag = f"cli-run-{time.time_ns()}"
    account = _add_rows(admin, tag)
    with _worker(admin_url, tmp_path / "worker.log") as proc:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _rows(admin, tag, account) != YOUNG_ONLY:
            time.sleep(0.2)
        assert _rows(admin, tag, account) == YOUNG_ONLY
        assert proc.poll() is None, "the worker keeps running after its first sweeps"
        _terminate(proc, within=5, log_path=tmp_path / "worker.log")
    assert "worker stopped" in (tmp_path / "worker.log").read_text()
    admin.execute("DELETE FROM auth.accounts WHERE id = %s", [account])


def test_worker_waits_for_a_database_that_is_not_there(tmp_path: Path) -> None:
    """Nothing listens on port 9: the worker logs its failed attempts (without the password), keeps trying,
    and still stops at once on SIGTERM."""
    log_path = tmp_path / "worker.log"
    with _worker(f"postgresql://postgres:{PASSWORD}@127.0.0.1:9/postcart", log_path) as proc:
        time.sleep(3)
        assert proc.poll() is None, log_path.read_text()
        _terminate(proc, within=3, log_path=log_path)
    output = log_path.read_text()
    assert "error connecting" in output and "Traceback" not in output
    assert PASSWORD not in output


def test_worker_once_fails_when_the_database_does_not_answer() -> None:
    result = run_cli("worker", "--once", env={"DATABASE_URL": f"postgresql://postgres:{PASSWORD}@127.0.0.1:9/x",
                                              "POSTCART_SECRET_KEY": SECRET}, timeout=60)
    assert result.returncode == 1
    assert "sweep_sessions failed: no database connection" in result.stderr
    assert PASSWORD not in result.stderr


def test_worker_needs_the_secret_key_with_a_database_url(admin_url: str) -> None:
    """Webhook secrets derive from the key the web app has, so the worker needs it too."""
    result = run_cli("worker", "--once", env={"DATABASE_URL": admin_url})
    assert result.returncode == 2 and "POSTCART_SECRET_KEY" in result.stderr and "Traceback" not in result.stderr


def test_worker_without_a_database_says_so(tmp_path: Path) -> None:
    result = run_cli("worker", "--data-dir", str(tmp_path / "none"))
    assert result.returncode == 2 and "postcart up" in result.stderr and "Traceback" not in result.stderr


def test_up_runs_the_worker_in_one_process_unless_told_not_to(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    log_path = tmp_path / "up.log"

    def up(*flags: str, **env: str) -> subprocess.Popen[bytes]:
        with open(log_path, "w") as log:
            return subprocess.Popen([POSTCART, "up", "--no-demo", "--port", str(port), "--data-dir", str(data_dir),
                                     *flags], env=_env(**env), stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL)

    def stop(proc: subprocess.Popen[bytes]) -> None:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0

    proc = up(POSTCART_RUN_WORKER="0")
    try:
        wait_until_ready(Client(port), proc, seconds=120)
        url = run_cli("db-url", "--data-dir", str(data_dir)).stdout.strip()
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute("INSERT INTO auth.login_attempts (email, attempted_at, succeeded)"
                          " VALUES ('up-old@example.com', now() - INTERVAL '2 hours', FALSE)")
            time.sleep(1)
            assert admin.execute("SELECT count(*) FROM auth.login_attempts").fetchone()[0] == 1
        stop(proc)
        output = log_path.read_text()
        assert "background worker: off" in output and "worker running" not in output

        proc = up("--workers", "2")
        wait_until_ready(Client(port), proc, seconds=60)
        with psycopg.connect(url, autocommit=True) as admin:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and admin.execute("SELECT count(*) FROM auth.login_attempts").fetchone()[0]:
                time.sleep(0.2)
            assert admin.execute("SELECT count(*) FROM auth.login_attempts").fetchone()[0] == 0
        stop(proc)
        output = log_path.read_text()
        assert output.count("worker running") == 1, output  # one of the two processes runs it
        assert "worker stopped" in output
    finally:
        if proc.poll() is None:
            proc.kill()
        run_cli("down", "--data-dir", str(data_dir))
