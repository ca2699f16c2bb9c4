"""The storefront's buying path, measured through the whole stack and against pgbench on the same SQL.

1. Sequential: `--flows` guest flows one after another (create cart, add item, address, shipping method,
   checkout), each step timed: p50 and p90 of the whole flow and of the checkout call alone.
2. Flash sale: one SKU with 50 units, 100 prepared carts checking out at once: orders, refusals, oversell.
3. Checkout throughput: `--buyers` concurrent buyers checking out carts made beforehand (one line each, over
   `--products` products with plenty of stock: uncontended) for `--seconds`, orders per second; then
   pgbench sends the same checkout call (auth.call_api('checkout', ...), as the layer does) on as many
   connections, and the ratio HTTP / pgbench says how close the layer gets to the database's own limit.
4. Whole-flow throughput: the same buyers doing whole flows (five calls each) over HTTP, and pgbench
   sending the same five calls per transaction.
Usage: python bench/checkout.py [--flows 300] [--buyers 16] [--seconds 60] [--products 20] [--workers 1]
       [--without-audit]   (the audit triggers disabled on the bench's own cluster: the trail's write cost)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
import psycopg

from postcart.embedded import EmbeddedCluster
from postcart.migrate import migrate

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import free_port, run_pgbench, wait_ready  # noqa: E402 - the shared bench helpers

ADDRESS = {"full_name": "Ben Bench", "line1": "Hauptstr. 1", "city": "Berlin", "postal_code": "10115",
           "country": "DE"}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def prepare_catalog(url: str, products: int) -> list[str]:
    """`products` published products with one variant each, priced in EUR, with 10,000,000 units in stock."""
    tag = uuid.uuid4().hex[:6]
    skus = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT shop.load_demo_catalog()")
        conn.execute("SELECT shop.load_demo_tax_shipping()")
        place = conn.execute("SELECT id FROM shop.warehouses ORDER BY priority, code LIMIT 1").fetchone()[0]
        for n in range(products):
            product = conn.execute("INSERT INTO shop.products (slug, name, status) VALUES (%s, %s, 'published')"
                                   " RETURNING id", [f"bench-{tag}-{n}", f"Bench {n}"]).fetchone()[0]
            sku = f"BENCH-{tag}-{n}"
            variant = conn.execute("INSERT INTO shop.product_variants (product_id, sku, name, weight_grams)"
                                   " VALUES (%s, %s, 'One', 500) RETURNING id", [product, sku]).fetchone()[0]
            conn.execute("INSERT INTO shop.variant_prices (variant_id, currency, amount) VALUES (%s, 'EUR', 2500)",
                         [variant])
            conn.execute("INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity)"
                         " VALUES (%s, %s, 'receipt', 10000000)", [variant, place])
            skus.append(sku)
        conn.execute("VACUUM ANALYZE")
    return skus


async def flow(session: aiohttp.ClientSession, base: str, sku: str, method: str,
               timings: dict[str, list[float]] | None = None, prepare_only: bool = False) -> tuple[int, dict]:
    """One guest buying one unit of sku. Returns the checkout's status and body (or the cart when
    prepare_only)."""
    async def call(step: str, verb: str, path: str, body: dict, headers: dict) -> tuple[int, dict]:
        started = time.perf_counter()
        async with session.request(verb, base + path, json=body, headers=headers) as resp:
            data = await resp.json()
            status = resp.status
        if timings is not None:
            timings.setdefault(step, []).append((time.perf_counter() - started) * 1000)
        return status, data

    started = time.perf_counter()
    status, cart = await call("create cart", "POST", "/v1/carts", {"currency": "EUR"}, {})
    assert status == 201, cart
    headers = {"X-Cart-Token": cart["cart_token"]}
    for step, verb, path, body in (
        ("add item", "POST", f"/v1/carts/{cart['id']}/items", {"sku": sku, "quantity": 1}),
        ("address", "PUT", f"/v1/carts/{cart['id']}/shipping-address", ADDRESS),
        ("shipping method", "PUT", f"/v1/carts/{cart['id']}/shipping-method", {"code": method}),
    ):
        status, data = await call(step, verb, path, body, headers)
        assert status in (200, 201), (step, data)
    if prepare_only:
        return 0, {"id": cart["id"], "headers": headers}
    status, data = await call("checkout", "POST", f"/v1/carts/{cart['id']}/checkout",
                              {"payment_method": "manual", "email": "bench@example.com"},
                              {**headers, "Idempotency-Key": uuid.uuid4().hex})
    if timings is not None:
        timings.setdefault("whole flow", []).append((time.perf_counter() - started) * 1000)
    return status, data


async def sequential(base: str, skus: list[str], method: str, flows: int) -> None:
    timings: dict[str, list[float]] = {}
    async with aiohttp.ClientSession() as session:
        for n in range(flows):
            status, data = await flow(session, base, skus[n % len(skus)], method, timings)
            assert status == 201, data
    print(f"sequential, {flows} guest flows (ms):")
    for step, values in timings.items():
        print(f"  {step:16} p50 {statistics.median(values):6.1f}   p90 {percentile(values, 90):6.1f}")


async def flash_sale(base: str, url: str, method: str) -> None:
    (sku,) = prepare_catalog(url, 1)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity)"
                     " SELECT s.variant_id, s.warehouse_id, 'correction', 50 - s.on_hand FROM shop.stock_levels s"
                     " JOIN shop.product_variants v ON v.id = s.variant_id WHERE v.sku = %s", [sku])
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as session:
        carts = await asyncio.gather(*(flow(session, base, sku, method, prepare_only=True) for _ in range(100)))

        async def buy(cart: dict) -> int:
            async with session.post(f"{base}/v1/carts/{cart['id']}/checkout",
                                    json={"payment_method": "manual", "email": "flash@example.com"},
                                    headers={**cart["headers"], "Idempotency-Key": uuid.uuid4().hex}) as resp:
                await resp.read()
                return resp.status

        started = time.perf_counter()
        statuses = await asyncio.gather(*(buy(c) for _, c in carts))
        elapsed = time.perf_counter() - started
    with psycopg.connect(url) as conn:
        reserved, on_hand = conn.execute("SELECT sum(s.reserved), sum(s.on_hand) FROM shop.stock_levels s"
                                         " JOIN shop.product_variants v ON v.id = s.variant_id WHERE v.sku = %s",
                                         [sku]).fetchone()
    counts = {s: statuses.count(s) for s in sorted(set(statuses))}
    print(f"flash sale, 100 buyers for 50 units: {counts} in {elapsed * 1000:.0f} ms; reserved {reserved} of "
          f"{on_hand} on hand; oversold: {max(0, reserved - on_hand)}")


async def throughput(base: str, skus: list[str], method: str, buyers: int, seconds: int) -> float:
    deadline = time.monotonic() + seconds
    orders = 0
    checkout_ms: list[float] = []

    async def buyer(n: int, session: aiohttp.ClientSession) -> None:
        nonlocal orders
        k = n
        while time.monotonic() < deadline:
            timings: dict[str, list[float]] = {}
            status, data = await flow(session, base, skus[k % len(skus)], method, timings)
            assert status == 201, data
            orders += 1
            checkout_ms.extend(timings["checkout"])
            k += buyers

    started = time.monotonic()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=buyers)) as session:
        await asyncio.gather(*(buyer(n, session) for n in range(buyers)))
    rate = orders / (time.monotonic() - started)
    print(f"throughput, {buyers} buyers x {seconds} s over {len(skus)} products: {orders} orders, {rate:.0f} "
          f"orders/s (whole flows); checkout call under load p50 {statistics.median(checkout_ms):.1f} ms, "
          f"p90 {percentile(checkout_ms, 90):.1f} ms")
    return rate


def make_carts(url: str, skus: list[str], method: str, first: int, count: int) -> None:
    """Carts bench-<first>..bench-<first+count-1> (that is each one's token), one unit of a product each,
    with the address and shipping method set and the current price quoted: ready to check out. Written
    straight into the tables, as the cart routes would leave them, because only checkout is measured."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS public.bench_carts (n bigint PRIMARY KEY, id uuid NOT NULL)")
        conn.execute("GRANT SELECT ON public.bench_carts TO postcart_authenticator")
        conn.execute("""
            WITH made AS (
                INSERT INTO shop.carts (token_hash, currency, shipping_address, shipping_method_id, email)
                SELECT sha256(('bench-' || n)::bytea), 'EUR', %s::jsonb,
                       (SELECT id FROM shop.shipping_methods WHERE code = %s), 'bench@example.com'
                FROM generate_series(%s::bigint, %s::bigint) AS n
                RETURNING id, token_hash
            ), numbered AS (
                INSERT INTO public.bench_carts (n, id)
                SELECT g.n, m.id FROM made m
                JOIN generate_series(%s::bigint, %s::bigint) AS g (n) ON m.token_hash = sha256(('bench-' || g.n)::bytea)
                RETURNING n, id
            )
            INSERT INTO shop.cart_items (cart_id, variant_id, quantity, quoted_unit_price)
            SELECT c.id, v.id, 1, p.amount
            FROM numbered c
            JOIN shop.product_variants v ON v.sku = (%s::text[])[1 + c.n %% %s]
            JOIN shop.variant_prices p ON p.variant_id = v.id AND p.currency = 'EUR'
        """, [json.dumps(ADDRESS), method, first, first + count - 1, first, first + count - 1, skus, len(skus)])
        conn.execute("VACUUM ANALYZE shop.carts, shop.cart_items, public.bench_carts")


async def checkout_throughput(base: str, url: str, first: int, count: int, buyers: int, seconds: int) -> float:
    with psycopg.connect(url) as conn:
        ids = dict(conn.execute("SELECT n, id::text FROM public.bench_carts WHERE n BETWEEN %s AND %s",
                                [first, first + count - 1]).fetchall())
    queue = iter(range(first, first + count))
    deadline = time.monotonic() + seconds
    latencies: list[float] = []

    async def buyer(session: aiohttp.ClientSession) -> None:
        for n in queue:
            if time.monotonic() >= deadline:
                return
            started = time.perf_counter()
            async with session.post(f"{base}/v1/carts/{ids[n]}/checkout",
                                    json={"payment_method": "manual"},
                                    headers={"X-Cart-Token": f"bench-{n}", "Idempotency-Key": uuid.uuid4().hex}
                                    ) as resp:
                body = await resp.read()
                assert resp.status == 201, body
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.monotonic()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=buyers)) as session:
        await asyncio.gather(*(buyer(session) for _ in range(buyers)))
    elapsed = time.monotonic() - started
    if len(latencies) == count:
        print(f"warning: all {count} carts were used before {seconds} s; raise --carts")
    rate = len(latencies) / elapsed
    print(f"checkout throughput, {buyers} buyers x {elapsed:.0f} s: {len(latencies)} orders, {rate:.0f} orders/s; "
          f"checkout p50 {statistics.median(latencies):.1f} ms, p90 {percentile(latencies, 90):.1f} ms")
    return rate


def pgbench_checkout_script(first: int) -> str:
    """The checkout call as the layer sends it (auth.call_api, anonymous, the token's hash derived), on
    carts bench-<first> onwards, each taken once through a sequence."""
    return f"""SELECT nextval('public.bench_cart_seq') + {first - 1} AS n \\gset
SELECT auth.call_api('checkout', jsonb_build_object('id', (SELECT c.id FROM public.bench_carts c WHERE c.n = :n::bigint),
    'payment_method', 'manual'), jsonb_build_object('cart_token_sha256', encode(sha256(('bench-' || :n::text)::bytea), 'hex')),
    NULL, 'bench') IS NULL;
"""


def pgbench_script(skus: list[str], method: str) -> str:
    """The five api calls of a guest flow, as the layer sends them (auth.call_api, anonymous), in one
    transaction; the cart id is carried between them with \\gset."""
    sku_list = "{" + ",".join(skus) + "}"
    address = str(ADDRESS).replace("'", '"')
    # Each call switches the transaction's role (auth.act_as, local), so the role is reset between them,
    # as the layer's separate transactions would start afresh.
    return f"""\\set n random(1, {len(skus)})
BEGIN;
SELECT encode(sha256(gen_random_uuid()::text::bytea), 'hex') AS token \\gset
SELECT (auth.call_api('create_cart', '{{"currency": "EUR"}}', jsonb_build_object('cart_token_sha256', :token::text),
    NULL, 'bench')::jsonb ->> 'id') AS cart \\gset
RESET ROLE;
SELECT auth.call_api('add_cart_item', jsonb_build_object('id', :cart::text, 'quantity', 1,
    'sku', ('{sku_list}'::text[])[:n]), jsonb_build_object('cart_token_sha256', :token::text), NULL, 'bench') IS NULL;
RESET ROLE;
SELECT auth.call_api('set_cart_shipping_address', '{address}'::jsonb || jsonb_build_object('id', :cart::text),
    jsonb_build_object('cart_token_sha256', :token::text), NULL, 'bench') IS NULL;
RESET ROLE;
SELECT auth.call_api('set_cart_shipping_method', jsonb_build_object('id', :cart::text, 'code', '{method}'),
    jsonb_build_object('cart_token_sha256', :token::text), NULL, 'bench') IS NULL;
RESET ROLE;
SELECT auth.call_api('checkout', jsonb_build_object('id', :cart::text, 'payment_method', 'manual',
    'email', 'bench@example.com'), jsonb_build_object('cart_token_sha256', :token::text), NULL, 'bench') IS NULL;
COMMIT;
"""


def disable_audit(url: str) -> None:
    """Every audit trigger off, on this throwaway cluster only."""
    with psycopg.connect(url, autocommit=True) as conn:
        tables = conn.execute("SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger"
                              " WHERE tgname IN ('audit_record_change', 'audit_record_truncate')").fetchall()
        for (table,) in tables:
            conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER audit_record_change,"
                         f" DISABLE TRIGGER audit_record_truncate")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flows", type=int, default=300)
    parser.add_argument("--buyers", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--products", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1, help="app processes (postcart serve --workers)")
    parser.add_argument("--pool", type=int, default=8, help="database connections of the app in all")
    parser.add_argument("--carts", type=int, default=40000, help="carts made for each checkout throughput run")
    parser.add_argument("--without-audit", action="store_true",
                        help="disable the audit triggers (docs/audit.md) to measure what auditing costs")
    args = parser.parse_args()

    cluster = EmbeddedCluster(Path(tempfile.mkdtemp(prefix="postcart-bench-")))
    cluster.start()
    server = None
    try:
        migrate(cluster.url())
        if args.without_audit:
            disable_audit(cluster.url())
        skus = prepare_catalog(cluster.url(), args.products)
        method = "de-standard"
        with psycopg.connect(cluster.url()) as conn:
            found = conn.execute("SELECT code FROM shop.shipping_options('DE', NULL, 500, 2500, 'EUR') LIMIT 1"
                                 ).fetchone()
        method = found[0] if found else method
        port = free_port()
        # Every buyer comes from 127.0.0.1: the per-client rate limits would refuse the load itself.
        env = {**os.environ, "DATABASE_URL": cluster.url(),
               "POSTCART_POOL_SIZE": str(max(1, args.pool // args.workers)), "POSTCART_RATE_LIMITS": "off",
               "POSTCART_SECRET_KEY": "bench-only-secret-key-0123456789abcdef", "POSTCART_LOG_LEVEL": "WARNING"}
        server = subprocess.Popen([sys.executable, "-m", "postcart", "serve", "--port", str(port),
                                   "--workers", str(args.workers)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        wait_ready(base)
        asyncio.run(sequential(base, skus, method, args.flows))
        asyncio.run(flash_sale(base, cluster.url(), method))
        make_carts(cluster.url(), skus, method, 1, 2 * args.carts)
        checkout_rate = asyncio.run(checkout_throughput(base, cluster.url(), 1, args.carts, args.buyers, args.seconds))
        flow_rate = asyncio.run(throughput(base, skus, method, args.buyers, args.seconds))
        server.terminate()  # pgbench gets both cores, as the database's own limit
        server.wait()
        server = None
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            conn.execute("CREATE SEQUENCE public.bench_cart_seq; GRANT USAGE ON SEQUENCE public.bench_cart_seq"
                         " TO postcart_authenticator")
        pg_checkout = run_pgbench(cluster, pgbench_checkout_script(args.carts + 1), args.seconds, args.buyers,
                                  "prepared")
        pg_flow = run_pgbench(cluster, pgbench_script(skus, method), args.seconds, args.buyers, "prepared")
        print(f"auditing:              {'off' if args.without_audit else 'on'}")
        print(f"checkout over HTTP:    {checkout_rate:.0f} orders/s ({args.workers} worker(s), {args.buyers} buyers)")
        print(f"pgbench, same SQL:     {pg_checkout:.0f} orders/s ({args.buyers} clients)")
        print(f"ratio HTTP/pgbench:    {checkout_rate / pg_checkout:.2f}")
        print(f"whole flows over HTTP: {flow_rate:.0f} orders/s; pgbench, same SQL: {pg_flow:.0f} orders/s; "
              f"ratio {flow_rate / pg_flow:.2f}")
    finally:
        if server is not None:
            server.terminate()
        cluster.destroy()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
