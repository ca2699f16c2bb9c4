"""The webhook sender against a real subscriber: an aiohttp server on loopback in the test, answering as
each test needs (200, 500s, hanging). Signatures verify with the standardwebhooks package; failures are
retried with backoff and recorded; a hanging subscriber is cut off and does not hold up another; dead
deliveries replay; inactive subscriptions get nothing; two workers never send one attempt twice; and a
worker killed mid-attempt leaves the delivery to another."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from aiohttp import web
from standardwebhooks import Webhook

from postcart.integrations.webhooks import subscription_secret
from postcart.workers import Task, Worker
from postcart.workers.webhooks import SenderOptions
from tests.webhooks_fixture import emit, remove_webhooks

KEY = "worker-webhook-tests-secret-key-0123456789"
DISPATCH = Task("dispatch_events", "integration.dispatch_events", interval=0.5, wake_on=("integration_events",))


def options(**kw: Any) -> SenderOptions:
    base: dict[str, Any] = {"secret": KEY, "timeout": 2.0, "concurrency": 8, "max_attempts": 5,
                            "backoff_base": 0.05, "backoff_cap": 0.2, "poll_interval": 0.05,
                            "allow_private": True}  # the subscribers run on loopback
    return SenderOptions(**{**base, **kw})


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: str
    at: float


@dataclass
class Subscriber:
    """What the loopback server received, and how it answers: `failures` 500s per webhook-id first, hang
    on /hang, hang once per webhook-id on /hang-once, else 200."""

    port: int = 0
    received: list[Received] = field(default_factory=list)
    failures: int = 0
    failing: bool = False  # /toggle answers 500 while set
    _seen: Counter[str] = field(default_factory=Counter)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def ids(self, path: str | None = None) -> Counter[str]:
        return Counter(r.headers["webhook-id"] for r in self.received if path is None or r.path == path)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.text()
        message_id = request.headers.get("webhook-id", "")
        self.received.append(Received(request.path, dict(request.headers), body, time.monotonic()))
        self._seen[request.path + message_id] += 1
        if request.path == "/hang" or (request.path == "/hang-once" and self._seen[request.path + message_id] == 1):
            await asyncio.sleep(60)
        if request.path == "/toggle" and self.failing:
            return web.Response(status=500)
        if self._seen[request.path + message_id] <= self.failures:
            return web.Response(status=500, text="try again")
        return web.Response(status=204)


@asynccontextmanager
async def subscriber(**kw: Any) -> AsyncIterator[Subscriber]:
    state = Subscriber(**kw)
    app = web.Application()
    app.router.add_post("/{tail:.*}", state.handle)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield state
    finally:
        await runner.cleanup()


def subscribe(admin: psycopg.Connection, url: str, events: list[str] | None = None, active: bool = True) -> str:
    return str(admin.execute(
        "INSERT INTO integration.webhook_subscriptions (url, event_types, active) VALUES (%s, %s, %s) RETURNING id",
        [url, events or ["*"], active]).fetchone()[0])


def deliveries(admin: psycopg.Connection, subscription: str) -> list[tuple[Any, ...]]:
    """(event_id, status, attempts, [(attempt, response_status, error)]) per delivery, oldest first."""
    return admin.execute(
        "SELECT d.event_id::text, d.status, d.attempts, coalesce((SELECT array_agg(ARRAY[a.attempt::text,"
        " a.response_status::text, a.error] ORDER BY a.id) FROM integration.webhook_attempts a"
        " WHERE a.delivery_id = d.id), '{}')"
        " FROM integration.webhook_deliveries d WHERE d.subscription_id = %s ORDER BY d.created_at, d.id",
        [subscription]).fetchall()


def status(admin: psycopg.Connection, subscription: str) -> str | None:
    """The status of the subscription's one delivery (None before the dispatcher made it)."""
    row = admin.execute("SELECT status FROM integration.webhook_deliveries WHERE subscription_id = %s",
                        [subscription]).fetchone()
    return row[0] if row else None


async def until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.05)
    return condition()


@asynccontextmanager
async def running(app_url: str, **kw: Any) -> AsyncIterator[Worker]:
    worker = Worker(app_url, [DISPATCH], webhooks=options(**kw))
    task = asyncio.create_task(worker.run())
    try:
        yield worker
    finally:
        worker.stop()
        await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 15)


def test_a_delivery_is_signed_per_standard_webhooks(admin, app_url: str) -> None:
    async def scenario() -> None:
        async with subscriber() as sub:
            hook = subscribe(admin, sub.url("/ok"), ["order.paid"])
            try:
                event = emit(admin, "order.paid", {"order_id": "o-1", "total": {"amount": 1999, "currency": "EUR"}})
                emit(admin, "stock.low", {"sku": "X"})  # not subscribed
                worker = Worker(app_url, [DISPATCH], webhooks=options())
                await worker.run(once=True)
                assert len(sub.received) == 1, sub.received
                got = sub.received[0]
                assert got.headers["webhook-id"] == event
                assert got.headers["Content-Type"] == "application/json"
                payload = Webhook(subscription_secret(KEY, hook, 1)).verify(got.body, got.headers)
                assert payload["type"] == "order.paid" and payload["data"]["total"] == {"amount": 1999, "currency": "EUR"}
                assert payload["timestamp"].endswith("Z")
                # Another secret does not verify it.
                try:
                    Webhook(subscription_secret(KEY, hook, 2)).verify(got.body, got.headers)
                    raise AssertionError("a wrong secret verified the signature")
                except Exception as exc:  # noqa: BLE001 - the verifier's error
                    assert "signature" in str(exc).lower()
                assert deliveries(admin, hook) == [(event, "delivered", 1, [["1", "204", None]])]
            finally:
                remove_webhooks(admin, [hook])

    asyncio.run(scenario())


def test_during_a_rotation_both_secrets_verify(admin, app_url: str) -> None:
    async def scenario() -> None:
        async with subscriber() as sub:
            hook = subscribe(admin, sub.url("/ok"))
            try:
                admin.execute("UPDATE integration.webhook_subscriptions SET secret_version = 2 WHERE id = %s", [hook])
                emit(admin)
                await Worker(app_url, [DISPATCH], webhooks=options()).run(once=True)
                got = sub.received[0]
                assert len(got.headers["webhook-signature"].split(" ")) == 2
                for version in (1, 2):
                    Webhook(subscription_secret(KEY, hook, version)).verify(got.body, got.headers)
            finally:
                remove_webhooks(admin, [hook])

    asyncio.run(scenario())


def test_500s_are_retried_with_backoff_until_a_2xx(admin, app_url: str) -> None:
    async def scenario() -> None:
        async with subscriber(failures=2) as sub:
            hook = subscribe(admin, sub.url("/flaky"))
            try:
                event = emit(admin)
                async with running(app_url):
                    assert await until(lambda: status(admin, hook) == "delivered", 20), deliveries(admin, hook)
                assert deliveries(admin, hook) == [(event, "delivered", 3, [["1", "500", None], ["2", "500", None],
                                                                            ["3", "204", None]])]
                assert sub.ids() == Counter({event: 3})
                gaps = [b.at - a.at for a, b in zip(sub.received, sub.received[1:], strict=False)]
                assert all(gap >= 0 for gap in gaps)
            finally:
                remove_webhooks(admin, [hook])

    asyncio.run(scenario())


def test_a_hanging_subscriber_is_cut_off_and_does_not_hold_up_another(admin, app_url: str) -> None:
    async def scenario() -> None:
        async with subscriber() as sub:
            hanging = subscribe(admin, sub.url("/hang"))
            prompt = subscribe(admin, sub.url("/ok"))
            try:
                events = [emit(admin) for _ in range(6)]
                started = time.monotonic()
                # Two slots: the hanging subscriber may hold one of them, never both.
                async with running(app_url, timeout=1.5, concurrency=2):
                    assert await until(lambda: len(sub.ids("/ok")) == 6, 10)
                    prompt_done = max(r.at for r in sub.received if r.path == "/ok") - started
                    # While a request hangs, no worker transaction stays open (a claim or a record lasts ms).
                    for _ in range(10):
                        open_long = admin.execute(
                            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'postcart-worker'"
                            " AND xact_start < clock_timestamp() - INTERVAL '300 milliseconds'").fetchone()[0]
                        assert open_long == 0
                        await asyncio.sleep(0.1)
                    assert await until(lambda: any(d[2] >= 1 and d[3] for d in deliveries(admin, hanging)), 10)
                assert prompt_done < 1.5, f"the prompt subscriber waited {prompt_done:.2f} s"
                assert sub.ids("/ok") == Counter(dict.fromkeys(events, 1))
                cut = [a for d in deliveries(admin, hanging) for a in d[3]]
                assert cut and all(a[1] is None and a[2] == "timed out after 1.5 s" for a in cut), cut
                assert {d[1] for d in deliveries(admin, hanging)} == {"pending"}  # retried later
            finally:
                remove_webhooks(admin, [hanging, prompt])

    asyncio.run(scenario())


def test_dead_after_the_last_attempt_then_a_replay_delivers(admin, app_url: str) -> None:
    async def scenario() -> None:
        async with subscriber(failing=True) as sub:
            hook = subscribe(admin, sub.url("/toggle"))
            try:
                event = emit(admin)
                async with running(app_url, max_attempts=3):
                    assert await until(lambda: status(admin, hook) == "dead", 20), deliveries(admin, hook)
                    await asyncio.sleep(0.3)
                    assert sub.ids() == Counter({event: 3})  # nothing more once dead
                    sub.failing = False
                    delivery = admin.execute("SELECT id FROM integration.webhook_deliveries WHERE subscription_id = %s",
                                             [hook]).fetchone()[0]
                    admin.execute("SELECT integration.replay_webhook_delivery(%s, %s)", [hook, delivery])
                    assert await until(lambda: status(admin, hook) == "delivered", 10)
                assert deliveries(admin, hook) == [(event, "delivered", 1, [
                    ["1", "500", None], ["2", "500", None], ["3", "500", None], ["1", "204", None]])]
            finally:
                remove_webhooks(admin, [hook])

    asyncio.run(scenario())


def test_an_inactive_subscription_receives_nothing(admin, app_url: str) -> None:
    async def scenario() -> None:
        async with subscriber() as sub:
            off = subscribe(admin, sub.url("/off"), active=False)
            paused = subscribe(admin, sub.url("/paused"))
            try:
                emit(admin)
                # Fanned out while paused was active; then it is deactivated before anything is sent.
                admin.execute("SET ROLE postcart_worker")
                admin.execute("SELECT integration.dispatch_events(10000)")
                admin.execute("RESET ROLE")
                admin.execute("UPDATE integration.webhook_subscriptions SET active = FALSE WHERE id = %s", [paused])
                emit(admin)
                await Worker(app_url, [DISPATCH], webhooks=options()).run(once=True)
                assert sub.received == []
                assert deliveries(admin, off) == []
                assert [d[1:3] for d in deliveries(admin, paused)] == [("pending", 0)]  # waits, unsent
                # Active again: what waited goes out (and only that: the second event came while inactive).
                admin.execute("UPDATE integration.webhook_subscriptions SET active = TRUE WHERE id = %s", [paused])
                await Worker(app_url, [DISPATCH], webhooks=options()).run(once=True)
                assert [r.path for r in sub.received] == ["/paused"]
            finally:
                remove_webhooks(admin, [off, paused])

    asyncio.run(scenario())


def test_two_workers_on_one_backlog_send_each_event_once(admin, app_url: str) -> None:
    async def scenario() -> None:
        async with subscriber() as sub:
            hook = subscribe(admin, sub.url("/race"))
            try:
                admin.execute("SELECT integration.emit('order.created', gen_random_uuid(), jsonb_build_object('n', i))"
                              " FROM generate_series(1, 400) AS i")
                async with running(app_url, concurrency=8) as one, running(app_url, concurrency=8) as two:
                    assert await until(lambda: len(sub.received) >= 400, 60), len(sub.received)
                    await asyncio.sleep(0.5)  # anything sent twice would arrive by now
                    assert one.sender and two.sender and one.sender.sent > 0 and two.sender.sent > 0
                counts = sub.ids("/race")
                assert len(counts) == 400 and set(counts.values()) == {1}, Counter(counts.values())
                rows = deliveries(admin, hook)
                assert {(d[1], d[2]) for d in rows} == {("delivered", 1)} and len(rows) == 400
            finally:
                remove_webhooks(admin, [hook])

    asyncio.run(scenario())


def test_a_worker_killed_mid_attempt_leaves_the_delivery_to_another(admin, app_url: str) -> None:
    async def scenario() -> None:
        async with subscriber() as sub:
            hook = subscribe(admin, sub.url("/hang-once"))
            try:
                event = emit(admin)
                doomed = Worker(app_url, [DISPATCH], webhooks=options(timeout=30, lease=1.0))
                task = asyncio.create_task(doomed.run())
                # The claim has committed and the request is out: kill the worker before any outcome.
                assert await until(lambda: len(sub.received) == 1, 10)
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                assert deliveries(admin, hook)[0][1:3] == ("pending", 1)
                async with running(app_url, lease=1.0):
                    assert await until(lambda: status(admin, hook) == "delivered", 15), deliveries(admin, hook)
                (event_id, state, attempts, history), = deliveries(admin, hook)
                assert (event_id, state, attempts) == (event, "delivered", 2)
                assert history[0][0] == "1" and history[0][1] is None and "no outcome recorded" in history[0][2]
                assert history[1] == ["2", "204", None]
                assert sub.ids() == Counter({event: 2})  # at least once: consumers dedupe by webhook-id
            finally:
                remove_webhooks(admin, [hook])

    asyncio.run(scenario())


def test_the_body_is_the_event(admin, app_url: str) -> None:
    async def scenario() -> None:
        async with subscriber() as sub:
            hook = subscribe(admin, sub.url("/body"), ["stock.low"])
            try:
                subject = uuid.uuid4()
                event = str(admin.execute("SELECT integration.emit('stock.low', %s, '{\"sku\": \"S-1\", \"available\": 2}')",
                                          [subject]).fetchone()[0])
                await Worker(app_url, [DISPATCH], webhooks=options()).run(once=True)
                body = json.loads(sub.received[0].body)
                created = admin.execute("SELECT auth.to_rfc3339(created_at) FROM integration.events WHERE id = %s",
                                        [event]).fetchone()[0]
                assert body == {"type": "stock.low", "timestamp": created, "data": {"sku": "S-1", "available": 2}}
            finally:
                remove_webhooks(admin, [hook])

    asyncio.run(scenario())


def test_subscribers_on_internal_addresses_are_refused_unless_allowed(admin, app_url: str) -> None:
    """By default nothing is sent to loopback: not by address, not by IPv4-mapped IPv6, not by a name that
    resolves there. Each attempt fails with the reason, and the subscriber receives nothing."""
    async def scenario() -> None:
        async with subscriber() as sub:
            hooks = [subscribe(admin, url) for url in (
                sub.url("/address"), f"http://localhost:{sub.port}/name", f"http://[::ffff:127.0.0.1]:{sub.port}/mapped")]
            try:
                emit(admin)
                async with running(app_url, allow_private=False, max_attempts=1):
                    assert await until(lambda: all(status(admin, h) == "dead" for h in hooks), 20), \
                        [deliveries(admin, h) for h in hooks]
                assert sub.received == []
                errors = [deliveries(admin, h)[0][3][0][2] for h in hooks]
                assert all(e.startswith("refused: ") and "not a public address" in e for e in errors), errors
            finally:
                remove_webhooks(admin, hooks)

    asyncio.run(scenario())
