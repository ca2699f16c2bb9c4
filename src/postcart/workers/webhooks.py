"""The webhook sender, one per worker process beside the SQL tasks: it claims due deliveries in a short
transaction that leases them (integration.claim_webhook_deliveries) and commits, sends each over HTTP
with no transaction open (integrations/webhooks.py), several at once, and records the outcomes in a
second short transaction (integration.record_webhook_attempts). The database decides what an outcome
means (delivered, retry after a backoff, dead); a worker that dies mid-attempt leaves a lease that runs
out, after which any worker claims the delivery again. So delivery is at least once, and no two workers
ever hold the same attempt: the claim skips locked rows and the lease keeps the others away."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any

import aiohttp
from psycopg import sql
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from ..integrations.webhooks import Outcome, PublicAddressesOnly, post, signed_headers, subscription_secret
from ..settings import Settings
from .retry import Backoff, describe

log = logging.getLogger("postcart.worker")

CHANNEL = "webhook_deliveries"  # NOTIFYed by the dispatcher and by replays
ROLE = "postcart_worker"
RECORD_BATCH = 500  # outcomes per recording transaction
# Under load, attempts end one after another: waiting this long (seconds) before recording lets one
# transaction record several. Claims do not wait: a free slot is filled at once.
GATHER = 0.01


@dataclass(frozen=True)
class SenderOptions:
    secret: str  # the server's secret key: subscription secrets derive from it
    timeout: float = 10.0  # seconds one attempt may take
    concurrency: int = 16  # attempts in flight at once in this process
    max_attempts: int = 8
    backoff_base: float = 60.0  # seconds
    backoff_cap: float = 6 * 3600.0  # seconds
    lease: float | None = None  # seconds a claimed attempt is ours; None: derived from the timeout
    poll_interval: float = 1.0  # seconds between looks for due retries when nothing wakes the sender
    # Subscribers on loopback, private or link-local addresses are refused unless allowed (docs/webhooks.md).
    allow_private: bool = False

    @property
    def lease_seconds(self) -> float:
        """Long enough for the attempt (the timeout) and for recording its outcome, with room to spare: a
        lease that ran out while the outcome was on its way only means one more attempt."""
        return self.lease if self.lease is not None else max(30.0, 3 * self.timeout)

    @property
    def per_subscription(self) -> int:
        """Attempts in flight to one subscription at most: half the slots, so a subscriber that hangs
        holds at most half of them until its attempts time out, and the others are still served."""
        return max(1, self.concurrency // 2)

    @classmethod
    def from_settings(cls, settings: Settings, secret: str) -> SenderOptions:
        return cls(secret=secret, timeout=settings.webhook_timeout, concurrency=settings.webhook_concurrency,
                   max_attempts=settings.webhook_max_attempts, backoff_base=settings.webhook_backoff_base,
                   backoff_cap=settings.webhook_backoff_cap, allow_private=settings.webhook_allow_private)


_CLAIM = sql.SQL(
    "SELECT delivery_id, attempt, url, subscription_id, secret_versions, event_id, body"
    " FROM integration.claim_webhook_deliveries(%s, make_interval(secs => %s), %s, %s)")
_RECORD = sql.SQL(
    "SELECT integration.record_webhook_attempts(%s, %s, make_interval(secs => %s), make_interval(secs => %s))")


@dataclass(frozen=True)
class _Claimed:
    delivery_id: Any
    attempt: int
    url: str
    subscription_id: Any
    secret_versions: list[int]
    event_id: Any
    body: str


class WebhookSender:
    def __init__(self, pool: AsyncConnectionPool, options: SenderOptions, wake: asyncio.Event) -> None:
        self.pool = pool
        self.options = options
        self.wake = wake  # set by NOTIFY webhook_deliveries (the runner's listener) and by stop()
        self.stopping = False
        # Attempts sent and their outcomes recorded, for tests and the log.
        self.sent = 0
        self.recorded = 0
        self.failures = 0  # database calls that failed
        self._in_flight: dict[asyncio.Task[None], str] = {}  # attempt → its subscription
        self._per_subscription: Counter[str] = Counter()
        self._slot_freed = asyncio.Event()
        self._outcomes: list[dict[str, Any]] = []
        self._outcome_ready = asyncio.Event()
        self._draining = False

    @property
    def busy(self) -> bool:
        """Attempts are in flight or outcomes wait to be recorded: stop() rather than cancel."""
        return bool(self._in_flight or self._outcomes)

    def stop(self) -> None:
        """Claim nothing more; the attempts in flight end (each within the timeout) and are recorded."""
        self.stopping = True
        self.wake.set()

    async def run(self, once: bool = False) -> None:
        """Until stop() (or, with `once`, until nothing is due and nothing is in flight). Cancelled, it
        abandons its attempts unrecorded, as a killed process would: their leases run out."""
        connector = aiohttp.TCPConnector(limit=self.options.concurrency, limit_per_host=0,
                                         resolver=None if self.options.allow_private else PublicAddressesOnly())
        async with aiohttp.ClientSession(connector=connector) as http:
            recorder = asyncio.create_task(self._record_loop())
            try:
                await self._claim_loop(http, once)
                if self._in_flight:
                    await asyncio.gather(*self._in_flight, return_exceptions=True)
                self._draining = True
                self._outcome_ready.set()
                await recorder
            finally:
                for task in [*self._in_flight, recorder]:
                    task.cancel()
                await asyncio.gather(*self._in_flight, recorder, return_exceptions=True)

    async def _claim_loop(self, http: aiohttp.ClientSession, once: bool) -> None:
        backoff = Backoff()
        while not self.stopping:
            self.wake.clear()
            self._slot_freed.clear()
            free = self.options.concurrency - len(self._in_flight)
            claimed = 0
            if free > 0:
                try:
                    rows = await self._claim(free)
                except Exception as exc:  # noqa: BLE001 - the sender outlives a database outage
                    self.failures += 1
                    pause = backoff.next()
                    log.warning("webhook claim failed: %s; retrying in %.0f s", describe(exc), pause)
                    if once:
                        return
                    await self._sleep(pause)
                    continue
                backoff.reset()
                for row in rows:
                    self._start(http, row)
                claimed = len(rows)
                if claimed and claimed == free:
                    continue  # there may be more due: claim again as soon as slots allow
            if once and not claimed and not self._in_flight:
                return
            await self._wait()

    async def _claim(self, limit: int) -> list[_Claimed]:
        rows = await self._call(_CLAIM, [limit, self.options.lease_seconds, self.options.per_subscription,
                                         Jsonb(dict(self._per_subscription))])
        return [_Claimed(*row) for row in rows]

    def _start(self, http: aiohttp.ClientSession, row: _Claimed) -> None:
        subscription = str(row.subscription_id)
        task = asyncio.create_task(self._attempt(http, row))
        self._in_flight[task] = subscription
        self._per_subscription[subscription] += 1
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        subscription = self._in_flight.pop(task, None)
        if subscription is not None:
            self._per_subscription[subscription] -= 1
            if self._per_subscription[subscription] <= 0:
                del self._per_subscription[subscription]
        self._slot_freed.set()

    async def _attempt(self, http: aiohttp.ClientSession, row: _Claimed) -> None:
        secrets = [subscription_secret(self.options.secret, str(row.subscription_id), version)
                   for version in row.secret_versions if version >= 1]
        headers = signed_headers(secrets, str(row.event_id), row.body)
        outcome = await post(http, row.url, headers, row.body, self.options.timeout,
                             public_only=not self.options.allow_private)
        self.sent += 1
        self._outcomes.append(_outcome_json(row, outcome))
        self._outcome_ready.set()

    async def _record_loop(self) -> None:
        """Record outcomes as they come, in batches, one short transaction each; a failed batch is retried
        after a growing pause (its leases may run out meanwhile: that only means another attempt)."""
        backoff = Backoff(first=0.5, limit=10.0)
        while True:
            if not self._outcomes:
                if self._draining:
                    return
                await self._outcome_ready.wait()
                self._outcome_ready.clear()
                if not self._draining:
                    await asyncio.sleep(GATHER)
                continue
            batch = self._outcomes[:RECORD_BATCH]
            try:
                await self._call(_RECORD, [Jsonb(batch), self.options.max_attempts, self.options.backoff_base,
                                           self.options.backoff_cap])
            except Exception as exc:  # noqa: BLE001 - kept and retried
                self.failures += 1
                pause = backoff.next()
                log.warning("recording webhook outcomes failed: %s; retrying in %.0f s", describe(exc), pause)
                await asyncio.sleep(pause)
                continue
            backoff.reset()
            del self._outcomes[:len(batch)]
            self.recorded += len(batch)

    async def _call(self, query: sql.Composable, params: list[Any]) -> list[tuple[Any, ...]]:
        """One short transaction as postcart_worker, sent in one round trip (pipeline mode)."""
        async with self.pool.connection() as conn:
            async with conn.pipeline(), conn.transaction():
                await conn.execute("SELECT set_config('role', %s, true)", [ROLE])
                cursor = await conn.execute(query, params)
            return await cursor.fetchall()

    async def _wait(self) -> None:
        """Until a notification, a free slot, or the poll interval (retries fall due without notice)."""
        waits = [asyncio.create_task(self.wake.wait()), asyncio.create_task(self._slot_freed.wait())]
        try:
            await asyncio.wait(waits, timeout=self.options.poll_interval, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
            await asyncio.gather(*waits, return_exceptions=True)

    async def _sleep(self, seconds: float) -> None:
        """A pause that stop() ends early."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wake.wait(), seconds)


def _outcome_json(row: _Claimed, outcome: Outcome) -> dict[str, Any]:
    return {"delivery_id": str(row.delivery_id), "attempt": row.attempt,
            "attempted_at": outcome.attempted_at.isoformat(), "duration_ms": outcome.duration_ms,
            "response_status": outcome.status, "error": outcome.error}
