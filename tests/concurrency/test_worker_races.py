"""Workers racing each other: sweeps never wait on rows another transaction holds, and many sweepers at once
delete every old row exactly once (the counts they report add up), with no error and no batch too large."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from postcart.workers import Task, Worker
from tests.workers.conftest import add_old_login_attempts, sweep_everything_old, tagged_login_attempts


def as_worker(app_url: str) -> psycopg.Connection:
    """A connection like the worker's: the authenticator, switched to postcart_worker."""
    conn = psycopg.connect(app_url, autocommit=True)
    conn.execute("SET ROLE postcart_worker")
    return conn


# For each sweep: its table, which rows are this test's, and three such rows past their retention.
OLD_ROWS = {
    "auth.sweep_login_attempts": (
        "auth.login_attempts", "email::text LIKE %(tag)s || '%%'",
        "INSERT INTO auth.login_attempts (email, attempted_at, succeeded)"
        " SELECT %(tag)s || i || '@example.com', now() - INTERVAL '2 hours', FALSE FROM generate_series(1, 3) AS i"),
    "auth.sweep_sessions": (
        "auth.sessions", "account_id = %(account)s",
        "INSERT INTO auth.sessions (account_id, created_at, expires_at)"
        " SELECT %(account)s, now() - INTERVAL '90 days', now() - INTERVAL '60 days' FROM generate_series(1, 3)"),
    "auth.sweep_refresh_tokens": (
        "auth.refresh_tokens", "session_id IN (SELECT id FROM auth.sessions WHERE account_id = %(account)s)",
        "WITH s AS (INSERT INTO auth.sessions (account_id, expires_at)"
        " VALUES (%(account)s, now() + INTERVAL '1 day') RETURNING id)"
        " INSERT INTO auth.refresh_tokens (token_hash, session_id, created_at, expires_at)"
        " SELECT sha256(convert_to(%(tag)s || i, 'UTF8')), s.id, now() - INTERVAL '60 days', now() - INTERVAL '30 days'"
        " FROM s, generate_series(1, 3) AS i"),
    "auth.sweep_staff_invitations": (
        "auth.staff_invitations", "account_id = %(account)s",
        "INSERT INTO auth.staff_invitations (token_hash, account_id, created_at, expires_at)"
        " SELECT sha256(convert_to(%(tag)s || i, 'UTF8')), %(account)s, now() - INTERVAL '90 days',"
        " now() - INTERVAL '60 days' FROM generate_series(1, 3) AS i"),
    "integration.sweep_idempotency_keys": (
        "integration.idempotency_keys", "owner_id = %(tag)s",
        "INSERT INTO integration.idempotency_keys (owner_id, key, fingerprint, status, created_at)"
        " SELECT %(tag)s, 'k' || i, '\\x01', 200, now() - INTERVAL '2 days' FROM generate_series(1, 3) AS i"),
    "integration.sweep_rate_limit_buckets": (
        "integration.rate_limit_buckets", "rule_name = %(tag)s",
        "INSERT INTO integration.rate_limit_buckets (rule_name, key_hash, tat)"
        " SELECT %(tag)s, sha256(convert_to(%(tag)s || i, 'UTF8')), now() - INTERVAL '1 minute'"
        " FROM generate_series(1, 3) AS i"),
}


@pytest.mark.parametrize("function", sorted(OLD_ROWS))
def test_a_sweep_skips_rows_another_transaction_holds_instead_of_waiting(admin, app_url: str, tag: str,
                                                                         function: str) -> None:
    table, mine, insert = OLD_ROWS[function]
    account = admin.execute("INSERT INTO auth.accounts (email, full_name) VALUES (%s, 'Sweep') RETURNING id",
                            [tag + "@example.com"]).fetchone()[0]
    params = {"tag": tag, "account": account}
    sweep = f"SELECT {function}(10000)"
    try:
        while admin.execute(sweep).fetchone()[0] == 10000:  # what other tests left behind
            pass
        admin.execute(insert, params)
        count = f"SELECT count(*) FROM {table} WHERE {mine}"
        with psycopg.connect(admin.info.dsn) as holder, as_worker(app_url) as worker:
            # Another transaction holds one of the rows (as a second worker in mid-batch would).
            assert len(holder.execute(f"SELECT FROM {table} WHERE {mine} LIMIT 1 FOR UPDATE", params).fetchall()) == 1
            worker.execute("SET lock_timeout = '2s'")  # waiting on the held row would fail, not hang
            started = time.monotonic()
            assert worker.execute(sweep).fetchone()[0] == 2
            assert time.monotonic() - started < 1
            assert admin.execute(count, params).fetchone()[0] == 1
            holder.commit()
            assert worker.execute(sweep).fetchone()[0] == 1
        assert admin.execute(count, params).fetchone()[0] == 0
    finally:
        admin.execute("DELETE FROM auth.accounts WHERE id = %s", [account])


def test_many_sweepers_at_once_delete_each_row_once(admin, app_url: str, tag: str) -> None:
    rows, sweepers, batch = 20_000, 12, 500
    sweep_everything_old(admin)
    add_old_login_attempts(admin, tag, rows)
    start = threading.Barrier(sweepers)

    def sweeper() -> list[int]:
        counts = []
        with as_worker(app_url) as conn:
            start.wait()
            while (n := conn.execute("SELECT auth.sweep_login_attempts(%s)", [batch]).fetchone()[0]) > 0:
                counts.append(n)
        return counts

    with ThreadPoolExecutor(max_workers=sweepers) as pool:
        reports = list(pool.map(lambda _: sweeper(), range(sweepers)))  # an error in any thread raises here
    assert sum(map(sum, reports)) == rows  # no row counted twice, none missed
    assert max(max(r, default=0) for r in reports) <= batch
    assert sum(1 for r in reports if r) >= 2  # the work really was shared
    assert tagged_login_attempts(admin, tag) == 0


def test_two_workers_at_once_share_the_work_without_errors(admin, app_url: str, tag: str) -> None:
    rows = 12_000
    sweep_everything_old(admin)
    add_old_login_attempts(admin, tag, rows)

    async def both() -> tuple[Worker, Worker]:
        task = Task("sweep_login_attempts", "auth.sweep_login_attempts", interval=3600, batch_size=200)
        first, second = Worker(app_url, [task]), Worker(app_url, [task])
        await asyncio.gather(first.run(once=True), second.run(once=True))
        return first, second

    first, second = asyncio.run(both())
    assert not first.failures and not second.failures
    assert first.done["sweep_login_attempts"] + second.done["sweep_login_attempts"] == rows
    assert first.done["sweep_login_attempts"] > 0 and second.done["sweep_login_attempts"] > 0
    assert tagged_login_attempts(admin, tag) == 0
