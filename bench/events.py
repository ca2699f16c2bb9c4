"""Behaviour event intake (docs/events.md), through the whole stack and against pgbench on the same SQL.

1. Intake over HTTP: `--clients` concurrent clients POST /v1/events with batches of `--batch` events (page
   and product views over the demo catalog, each client its own session) for `--seconds`: events/s.
2. pgbench sends the same call (auth.call_api('record_events', batch), as the layer does) on as many
   connections: events/s, and the ratio HTTP / pgbench.
3. What recording searches costs (search_events.py): the request's share (appending to the buffer), the
   count of a page when the buffer is written, and the database's per search in a batch of 200
   (shop.record_searches under EXPLAIN ANALYZE, p50 of --runs), beside the p50 of api.list_products for the
   same searches, which recording does not touch.
Usage: flock /tmp/postcart-heavy.lock python bench/events.py [--clients 16] [--seconds 30] [--batch 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import timeit
import uuid
from pathlib import Path

import aiohttp
import psycopg

from postcart.embedded import EmbeddedCluster
from postcart.http.search_events import SearchRecorder, result_count
from postcart.migrate import migrate

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import run_pgbench, start_app  # noqa: E402 - the shared bench helpers

SEARCHES = ["hoodie", "jaket", "tshirt", "merino sweatr", "qqqxxzz", "organic cotton", "chelsea boot", "zzz nothing"]


def batch(products: list[str], size: int, session: str) -> dict:
    events = []
    for n in range(size):
        kind = ("page_view", "product_view", "add_to_cart")[n % 3]
        event = {"type": kind, "session_id": session}
        if kind != "page_view":
            event["product_id"] = products[n % len(products)]
        events.append(event)
    return {"events": events}


async def intake(base: str, products: list[str], clients: int, seconds: int, size: int) -> float:
    deadline = time.monotonic() + seconds
    accepted = 0
    latencies: list[float] = []

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal accepted
        body = json.dumps(batch(products, size, "bench-" + uuid.uuid4().hex)).encode()
        while time.monotonic() < deadline:
            started = time.perf_counter()
            async with session.post(f"{base}/v1/events", data=body,
                                    headers={"Content-Type": "application/json"}) as resp:
                answer = await resp.json()
                assert resp.status == 202, answer
            accepted += answer["accepted"]
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.monotonic()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients)) as session:
        await asyncio.gather(*(client(session) for _ in range(clients)))
    rate = accepted / (time.monotonic() - started)
    print(f"intake over HTTP, {clients} clients, batches of {size}: {rate:.0f} events/s "
          f"({len(latencies)} batches; p50 {statistics.median(latencies):.1f} ms per batch)")
    return rate


def pgbench_script(products: list[str], size: int) -> str:
    body = json.dumps(batch(products, size, "bench-pgbench")).replace("'", "''")
    return f"SELECT auth.call_api('record_events', '{body}'::jsonb, NULL, NULL, 'bench', NULL) IS NULL;\n"


def explain_ms(conn: psycopg.Connection, query: str, params: list, runs: int) -> float:
    times = []
    for _ in range(runs):
        plan = conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + query, params).fetchone()[0]
        times.append(plan[0]["Execution Time"])
    return statistics.median(times)


def search_costs(url: str, runs: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        pages = {q: json.dumps(conn.execute("SELECT api.list_products(jsonb_build_object('q', %s::text))",
                                            [q]).fetchone()[0]) for q in SEARCHES}
        list_ms = statistics.median(
            explain_ms(conn, "SELECT api.list_products(jsonb_build_object('q', %s::text))", [q], runs // len(SEARCHES))
            for q in SEARCHES)
        searches = [{"query": SEARCHES[n % len(SEARCHES)], "results": n % 3, "session_id": f"s{n}",
                     "auth_session_id": None, "occurred_at": None} for n in range(200)]
        with conn.transaction(force_rollback=True):
            record_ms = explain_ms(conn, "SELECT shop.record_searches(%s::jsonb)", [json.dumps(searches)], runs // 10)
    recorder = SearchRecorder()
    recorder._flusher = asyncio.new_event_loop().create_future()  # noqa: SLF001 - the append alone, never flushed
    args = {"q": "hoodie"}
    body = pages["hoodie"]
    per_note = timeit.timeit(lambda: recorder.note(None, args, 200, body, "s1", None), number=5000) / 5000  # type: ignore[arg-type]
    per_parse = timeit.timeit(lambda: result_count(body), number=2000) / 2000
    print(f"api.list_products p50 over {len(SEARCHES)} searches: {list_ms:.2f} ms (unchanged: no write in it)")
    print(f"recording, HTTP layer: {per_note * 1e6:.1f} µs per search in the request (append to the buffer); "
          f"when the buffer is written, {per_parse * 1e6:.1f} µs to count a page not counted before "
          f"({len(body)} bytes; a page served from the cache is counted once)")
    print(f"recording, database: {record_ms / 200 * 1000:.1f} µs per search in a batch of 200 "
          f"({record_ms:.2f} ms per batch, off the request path)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1, help="app processes (postcart serve --workers)")
    parser.add_argument("--pool", type=int, default=8, help="database connections of the app in all")
    parser.add_argument("--runs", type=int, default=400)
    args = parser.parse_args()

    cluster = EmbeddedCluster(Path(tempfile.mkdtemp(prefix="postcart-bench-")))
    cluster.start()
    server = None
    try:
        migrate(cluster.url())
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            conn.execute("SELECT shop.load_demo_catalog()")
            conn.execute("VACUUM ANALYZE")
            products = [str(p) for (p,) in conn.execute(
                "SELECT id FROM shop.products WHERE status = 'published' ORDER BY slug")]
        search_costs(cluster.url(), args.runs)
        # Every client comes from 127.0.0.1: the per-client rate limit would refuse the load itself.
        server, base = start_app(cluster.url(), args.pool, args.workers, POSTCART_RATE_LIMITS="off")
        http_rate = asyncio.run(intake(base, products, args.clients, args.seconds, args.batch))
        server.terminate()  # pgbench gets both cores, as the database's own limit
        server.wait()
        server = None
        tps = run_pgbench(cluster, pgbench_script(products, args.batch), args.seconds, args.clients, "prepared")
        print(f"pgbench, same SQL:     {tps * args.batch:.0f} events/s ({args.clients} clients)")
        print(f"ratio HTTP/pgbench:    {http_rate / (tps * args.batch):.2f}")
    finally:
        if server is not None:
            server.terminate()
        cluster.destroy()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
