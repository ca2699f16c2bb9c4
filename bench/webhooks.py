"""Outgoing webhooks through the outbox, measured end to end: `postcart worker` processes deliver to a local
subscriber (an aiohttp server in this process that answers 204 at once).

1. Throughput: a backlog of `--events` events written in one transaction, one subscription for all of them;
   then 1 (and 4) worker processes start, and the subscriber counts the deliveries: events per second from
   the first delivery to the last (and from the workers' start).
2. Lag: with the workers running, events are written one per transaction at `--rate` per second for
   `--seconds` (order.created with an order-sized payload, as checkout writes it); the lag of each is the
   time from its commit returning to its delivery arriving: p50, p99, max.
Usage: python bench/webhooks.py [--events 5000] [--rate 100] [--seconds 30] [--workers 1,4]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from aiohttp import web
from psycopg.types.json import Jsonb

from postcart.embedded import EmbeddedCluster
from postcart.migrate import migrate

SECRET = "bench-webhooks-secret-key-0123456789abcdef"
POSTCART = str(Path(sys.executable).parent / "postcart")
PAYLOAD = {"order_id": None, "number": 1042, "status": "pending_payment", "email": "bench@example.com",
           "currency": "EUR", "total": {"amount": 5998, "currency": "EUR"},
           "items": [{"sku": "BENCH-1", "quantity": 2, "unit_price": {"amount": 2999, "currency": "EUR"}}]}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


class Subscriber:
    """Counts deliveries by webhook-id with the time of the first arrival."""

    def __init__(self) -> None:
        self.first: dict[str, float] = {}
        self.duplicates = 0
        self.port = 0

    async def handle(self, request: web.Request) -> web.Response:
        await request.read()
        message_id = request.headers["webhook-id"]
        if message_id in self.first:
            self.duplicates += 1
        else:
            self.first[message_id] = time.monotonic()
        return web.Response(status=204)

    async def start(self) -> web.AppRunner:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return runner


def start_workers(url: str, count: int, log_dir: Path) -> list[subprocess.Popen[bytes]]:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("POSTCART_", "DATABASE_URL"))},
           "DATABASE_URL": url, "POSTCART_SECRET_KEY": SECRET, "POSTCART_LOG_LEVEL": "WARNING",
           "POSTCART_WEBHOOK_ALLOW_PRIVATE": "true"}
    procs = []
    for n in range(count):
        with open(log_dir / f"worker-{count}-{n}.log", "w") as log:
            procs.append(subprocess.Popen([POSTCART, "worker"], env=env, stdout=log, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL))
    return procs


def stop_workers(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        proc.wait(timeout=30)


def subscribe(conn: psycopg.Connection, port: int) -> str:
    conn.execute("DELETE FROM integration.webhook_subscriptions")
    return str(conn.execute("INSERT INTO integration.webhook_subscriptions (url, event_types) VALUES (%s, '{*}')"
                            " RETURNING id", [f"http://127.0.0.1:{port}/hook"]).fetchone()[0])


async def until(condition: callable, seconds: float) -> bool:  # type: ignore[valid-type]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.01)
    return bool(condition())


async def throughput(url: str, sub: Subscriber, workers: int, events: int, log_dir: Path) -> dict[str, float]:
    with psycopg.connect(url, autocommit=True) as conn:
        subscribe(conn, sub.port)
        conn.execute("SELECT integration.emit('order.created', gen_random_uuid(), %s || jsonb_build_object('n', i))"
                     " FROM generate_series(1, %s) AS i", [Jsonb(PAYLOAD), events])
    sub.first.clear()
    sub.duplicates = 0
    started = time.monotonic()
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF)
    procs = start_workers(url, workers, log_dir)
    try:
        done = await until(lambda: len(sub.first) >= events, 600)
    finally:
        stop_workers(procs)
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF)
    workers_cpu, bench_cpu = ((a.ru_utime + a.ru_stime) - (b.ru_utime + b.ru_stime)
                              for a, b in zip(cpu_after, cpu_before, strict=True))
    assert done, f"only {len(sub.first)} of {events} delivered"
    times = sorted(sub.first.values())
    return {"workers": workers, "events": events, "duplicates": sub.duplicates,
            "per_s_first_to_last": (events - 1) / (times[-1] - times[0]),
            "per_s_from_start": events / (times[-1] - started), "seconds": times[-1] - started,
            # CPU seconds per 1,000 events: the workers' (with their start-up) and this process's (the subscriber)
            "worker_cpu_ms_per_event": workers_cpu / events * 1000, "subscriber_cpu_ms_per_event": bench_cpu / events * 1000}


async def lag(url: str, sub: Subscriber, workers: int, rate: float, seconds: float, log_dir: Path) -> dict[str, float]:
    with psycopg.connect(url, autocommit=True) as conn:
        subscribe(conn, sub.port)
    sub.first.clear()
    procs = start_workers(url, workers, log_dir)
    committed: dict[str, float] = {}
    try:
        await asyncio.sleep(3)  # the workers are up and listening
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            begin = time.monotonic()
            n = 0
            while time.monotonic() - begin < seconds:
                n += 1
                due = begin + n / rate
                if (wait := due - time.monotonic()) > 0:
                    await asyncio.sleep(wait)
                payload = {**PAYLOAD, "order_id": str(uuid.uuid4())}
                cur = await conn.execute("SELECT integration.emit('order.created', gen_random_uuid(), %s)::text",
                                         [Jsonb(payload)])
                event_id = (await cur.fetchone())[0]  # type: ignore[index]
                committed[event_id] = time.monotonic()
            achieved = n / (time.monotonic() - begin)
        await until(lambda: all(e in sub.first for e in committed), 60)
    finally:
        stop_workers(procs)
    lags = [(sub.first[e] - t) * 1000 for e, t in committed.items() if e in sub.first]
    return {"workers": workers, "rate": achieved, "events": len(committed), "delivered": len(lags),
            "p50_ms": percentile(lags, 50), "p99_ms": percentile(lags, 99), "max_ms": max(lags)}


async def run(args: argparse.Namespace, url: str, log_dir: Path) -> None:
    sub = Subscriber()
    runner = await sub.start()
    try:
        for workers in args.workers:
            r = await throughput(url, sub, workers, args.events, log_dir)
            print(f"throughput, {workers} worker(s): {r['events']} events in {r['seconds']:.2f} s from start;"
                  f" {r['per_s_first_to_last']:.0f}/s first to last delivery, {r['per_s_from_start']:.0f}/s"
                  f" from start; duplicates {r['duplicates']}; CPU per event: workers"
                  f" {r['worker_cpu_ms_per_event']:.2f} ms, subscriber {r['subscriber_cpu_ms_per_event']:.2f} ms", flush=True)
        for workers in args.workers:
            r = await lag(url, sub, workers, args.rate, args.seconds, log_dir)
            print(f"lag, {workers} worker(s), {r['rate']:.0f} events/s for {args.seconds:g} s: {r['delivered']}/"
                  f"{r['events']} delivered; commit to delivery p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms,"
                  f" max {r['max_ms']:.1f} ms", flush=True)
    finally:
        await runner.cleanup()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=lambda s: [int(x) for x in s.split(",")], default=[1, 4])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-webhooks-") as tmp:
        cluster = EmbeddedCluster(Path(tmp) / "pg", fast=True)
        cluster.start()
        try:
            migrate(cluster.url())
            print(f"load before: {os.getloadavg()[0]:.2f}", flush=True)
            asyncio.run(run(args, cluster.url(), Path(tmp)))
            for log in sorted(Path(tmp).glob("worker-*.log")):
                text = log.read_text()
                if "Traceback" in text or "failed" in text:
                    print(f"{log.name}:\n{text[-2000:]}", flush=True)
        finally:
            cluster.destroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
