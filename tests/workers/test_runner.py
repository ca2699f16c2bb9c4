"""The runner against the test database: batches follow each other while they are full, a NOTIFY wakes a
task, a failing task or a lost connection stops nothing, and stop() is prompt, even during an outage."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import psycopg
import pytest

from postcart.workers import TASKS, Task, Worker
from postcart.workers.runner import APPLICATION_NAME

from .conftest import add_old_login_attempts, sweep_everything_old, tagged_login_attempts

HOUR = 3600.0


def sweep_logins(**kw: object) -> Task:
    return Task("sweep_login_attempts", "auth.sweep_login_attempts", **{"interval": HOUR, **kw})  # type: ignore[arg-type]


async def until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.05)
    return condition()


async def stopped_within(worker: Worker, running: asyncio.Task[None], seconds: float) -> float:
    """stop() the worker and return how long run() took to return; fails past `seconds`."""
    started = time.monotonic()
    worker.stop()
    await asyncio.wait_for(running, seconds)
    return time.monotonic() - started


def test_the_shipped_tasks_name_functions_only_the_worker_may_run(admin) -> None:
    for task in TASKS:
        assert task.role == "postcart_worker"
        assert admin.execute("SELECT has_function_privilege('postcart_worker', %s || '(integer)', 'EXECUTE')",
                             [task.function]).fetchone()[0], task.function


def test_full_batches_are_followed_at_once_until_one_is_not_full(admin, app_url: str, tag: str) -> None:
    sweep_everything_old(admin)
    add_old_login_attempts(admin, tag, 2500)
    worker = Worker(app_url, [sweep_logins(batch_size=1000)])
    asyncio.run(worker.run(once=True))
    assert tagged_login_attempts(admin, tag) == 0
    assert worker.done["sweep_login_attempts"] == 2500
    assert worker.calls["sweep_login_attempts"] == 3  # 1000, 1000, 500: the short batch ends the run
    assert not worker.failures


def test_a_notification_wakes_a_sleeping_task(admin, app_url: str, tag: str) -> None:
    async def scenario() -> None:
        worker = Worker(app_url, [sweep_logins(wake_on=("postcart_test_wake",))])
        running = asyncio.create_task(worker.run())
        assert await until(lambda: worker.calls["sweep_login_attempts"] >= 1, 10)  # the run at start
        await asyncio.sleep(0.5)  # the listener is connected by now (it woke the task once on connecting)
        add_old_login_attempts(admin, tag, 5)
        admin.execute("NOTIFY postcart_test_wake")
        assert await until(lambda: tagged_login_attempts(admin, tag) == 0, 10), "the NOTIFY did not wake the task"
        await stopped_within(worker, running, 3)

    sweep_everything_old(admin)
    asyncio.run(scenario())


def test_without_a_notification_a_task_waits_its_interval(admin, app_url: str, tag: str) -> None:
    async def scenario() -> None:
        worker = Worker(app_url, [sweep_logins(wake_on=("postcart_test_quiet",))])
        running = asyncio.create_task(worker.run())
        assert await until(lambda: worker.calls["sweep_login_attempts"] >= 1, 10)
        await asyncio.sleep(0.5)
        calls = worker.calls["sweep_login_attempts"]
        add_old_login_attempts(admin, tag, 5)
        admin.execute("NOTIFY postcart_test_other_channel")
        await asyncio.sleep(1.5)
        assert worker.calls["sweep_login_attempts"] == calls and tagged_login_attempts(admin, tag) == 5
        await stopped_within(worker, running, 3)

    sweep_everything_old(admin)
    asyncio.run(scenario())


def test_a_failing_task_is_retried_and_stops_nothing_else(admin, app_url: str, tag: str,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        broken = Task("broken", "auth.no_such_sweep", interval=HOUR)
        forbidden = Task("forbidden", "api.me", interval=HOUR)  # not the worker's to call (no USAGE on api)
        worker = Worker(app_url, [broken, forbidden, sweep_logins(interval=0.2)])
        running = asyncio.create_task(worker.run())
        assert await until(lambda: worker.failures["broken"] >= 2, 10), "a failed task is tried again"
        assert worker.failures["forbidden"] >= 1
        add_old_login_attempts(admin, tag, 5)
        assert await until(lambda: tagged_login_attempts(admin, tag) == 0, 10)
        assert await stopped_within(worker, running, 2) < 1  # the failing tasks were only waiting

    sweep_everything_old(admin)
    with caplog.at_level(logging.WARNING, logger="postcart.worker"):
        asyncio.run(scenario())
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(m.startswith("broken failed: 42883") for m in warnings), warnings  # undefined function
    assert any(m.startswith("forbidden failed: 42501") for m in warnings), warnings  # permission denied


def test_a_task_s_own_statement_timeout_cuts_its_call_short(admin_url: str, app_url: str,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    # The table the sweep deletes from is locked: the call waits until a statement timeout ends it, the
    # task's 200 ms rather than the worker's 10 s.
    with psycopg.connect(admin_url) as locker:
        locker.execute("LOCK TABLE auth.login_attempts IN ACCESS EXCLUSIVE MODE")
        worker = Worker(app_url, [sweep_logins(statement_timeout_ms=200)])
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="postcart.worker"):
            asyncio.run(worker.run(once=True))
        elapsed = time.monotonic() - started
    assert worker.failures["sweep_login_attempts"] == 1 and elapsed < 5, elapsed
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(m.startswith("sweep_login_attempts failed: 57014") for m in warnings), warnings  # query_canceled


def test_stop_cancels_a_cancel_on_stop_call_at_once(admin, admin_url: str, app_url: str, tag: str) -> None:
    # The sweep waits on a locked table. A cancel_on_stop task is not given STOP_GRACE to finish: stop()
    # cancels its call, the server ends the statement, and the sweep's transaction rolls back.
    sweep_everything_old(admin)
    add_old_login_attempts(admin, tag, 3)

    async def scenario() -> None:
        with psycopg.connect(admin_url) as locker:
            locker.execute("LOCK TABLE auth.login_attempts IN ACCESS EXCLUSIVE MODE")
            worker = Worker(app_url, [sweep_logins(cancel_on_stop=True)])
            running = asyncio.create_task(worker.run())
            waiting = "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND wait_event_type = 'Lock'"
            assert await until(lambda: admin.execute(waiting, [APPLICATION_NAME]).fetchone()[0] == 1, 5)
            assert await stopped_within(worker, running, 3) < 2  # STOP_GRACE is 10 s
            assert await until(lambda: admin.execute(waiting, [APPLICATION_NAME]).fetchone()[0] == 0, 2)

    asyncio.run(scenario())
    assert tagged_login_attempts(admin, tag) == 3  # rolled back: nothing half done


def test_a_connection_killed_under_the_worker_is_replaced(admin, app_url: str, tag: str) -> None:
    async def scenario() -> None:
        worker = Worker(app_url, [sweep_logins(interval=0.3)])
        running = asyncio.create_task(worker.run())
        assert await until(lambda: worker.calls["sweep_login_attempts"] >= 2, 10)
        killed = admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                               " WHERE application_name = %s", [APPLICATION_NAME]).fetchone()[0]
        assert killed >= 1
        add_old_login_attempts(admin, tag, 5)
        assert await until(lambda: tagged_login_attempts(admin, tag) == 0, 15), "the worker did not reconnect"
        await stopped_within(worker, running, 3)

    sweep_everything_old(admin)
    asyncio.run(scenario())


def test_stop_is_prompt_while_the_database_does_not_answer() -> None:
    async def scenario() -> None:
        # Nothing listens on port 9 of this host: every connection attempt is refused.
        worker = Worker("postgresql://postcart_authenticator:not-a-secret@127.0.0.1:9/postcart",
                        [sweep_logins(wake_on=("postcart_test_wake",))])
        running = asyncio.create_task(worker.run())
        await asyncio.sleep(1.5)
        assert not running.done()
        assert await stopped_within(worker, running, 3) < 1

    asyncio.run(scenario())


def test_a_bad_task_definition_is_refused() -> None:
    with pytest.raises(ValueError, match="schema.name"):
        Task("x", "sweep; DROP TABLE auth.accounts", interval=1)
    with pytest.raises(ValueError, match="batch_size"):
        Task("x", "auth.sweep_sessions", interval=1, batch_size=0)


@pytest.mark.slow
def test_the_worker_comes_back_after_the_database_restarts(tmp_path, tag: str) -> None:
    """A cluster of the test's own is stopped under a running worker and started again: the worker logs,
    waits, reconnects (the listener too) and sweeps again, without a restart."""
    import os

    from postcart.db import AUTHENTICATOR, with_user
    from postcart.embedded import EmbeddedCluster
    from postcart.migrate import migrate

    if os.environ.get("POSTCART_TEST_DATABASE_URL"):
        pytest.skip("needs a cluster of its own; POSTCART_TEST_DATABASE_URL points at a shared server")
    cluster = EmbeddedCluster(tmp_path / "db", fast=True)
    cluster.start()
    try:
        migrate(cluster.url())

        async def scenario() -> None:
            # One task sleeps until notified (the listener must come back), one runs every 0.3 s (its
            # calls fail during the outage and must succeed afterwards).
            keys = Task("sweep_idempotency_keys", "integration.sweep_idempotency_keys", interval=0.3)
            worker = Worker(with_user(cluster.url(), AUTHENTICATOR, None),
                            [sweep_logins(wake_on=("postcart_test_wake",)), keys])
            running = asyncio.create_task(worker.run())
            assert await until(lambda: worker.calls["sweep_login_attempts"] >= 1, 10)
            await asyncio.to_thread(cluster.stop)
            # Down until the frequent task has failed once (after waiting POOL_WAIT for a connection).
            assert await until(lambda: worker.failures["sweep_idempotency_keys"] >= 1, 20)
            await asyncio.to_thread(cluster.start)
            with psycopg.connect(cluster.url(), autocommit=True) as admin:
                add_old_login_attempts(admin, tag, 5)
                admin.execute("INSERT INTO integration.idempotency_keys (owner_id, key, fingerprint, status, created_at)"
                              " VALUES (%s, 'k', '\\x01', 200, now() - INTERVAL '2 days')", [tag])
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline and tagged_login_attempts(admin, tag):
                    admin.execute("NOTIFY postcart_test_wake")  # heard once the listener is back
                    await asyncio.sleep(0.5)
                assert tagged_login_attempts(admin, tag) == 0, "the listener did not come back"
                assert await until(lambda: not admin.execute(
                    "SELECT count(*) FROM integration.idempotency_keys WHERE owner_id = %s", [tag]).fetchone()[0], 60)
            await stopped_within(worker, running, 3)
            assert not running.exception()

        asyncio.run(scenario())
    finally:
        cluster.destroy()
