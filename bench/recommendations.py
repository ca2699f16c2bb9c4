"""Recommendations (docs/recommendations.md) on a large shop: counting them, and serving them under load.

1. Data: bench/reporting.py's generator (--orders orders of 1 to 4 lines on 2,000 products, popular products
   more often), the products put into 24 categories (4 top-level, 5 below each), and --sessions browsing
   sessions of 2 to 8 product views each (popular products more often), all queued for counting as
   migration 0047 queues an existing shop's orders.
2. Counting: the worker's function (shop.update_recommendations, batches of 1,000) drains the queue:
   orders/s and views/s.
3. Serving: wrk sends GET /v1/products/{id}/recommendations in turn over every product and both strategies,
   signed in (no in-process cache: every request reaches the database), for --seconds; then pgbench sends
   the same call (auth.call_api with the same session) for as long: req/s, p50, and the ratio HTTP/pgbench.

Usage: flock /tmp/postcart-heavy.lock python bench/recommendations.py [--orders 200000] [--sessions 200000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg.types.json import Jsonb

from postcart.auth.passwords import hash_password
from postcart.embedded import EmbeddedCluster
from postcart.migrate import migrate

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reporting import generate  # noqa: E402 - the shared order generator
from run import EMAIL, PASSWORD, post_json, rotating_script, run_pgbench, run_wrk, start_app  # noqa: E402

CATEGORIES = """
INSERT INTO shop.categories (slug, name, parent_id)
SELECT 'bench-top-' || t, 'Bench top ' || t, NULL FROM generate_series(1, 4) AS t;
INSERT INTO shop.categories (slug, name, parent_id)
SELECT 'bench-' || t || '-' || s, 'Bench ' || t || '.' || s, c.id
FROM generate_series(1, 4) AS t, generate_series(1, 5) AS s, shop.categories AS c
WHERE c.slug = 'bench-top-' || t;
UPDATE shop.products AS p
SET category_id = c.id
FROM shop.categories AS c
WHERE p.slug LIKE 'bench-product-%'
    AND c.slug = 'bench-' || (1 + (hashtext(p.slug) & 3)) || '-' || (1 + (((hashtext(p.slug) >> 2) & 65535) % 5));
SELECT shop.refresh_product_listings(ARRAY(SELECT p.id FROM shop.products AS p));
"""

# Sessions of 2 to 8 views, products drawn like the generator's orders (popular ones more often).
VIEWS = """
INSERT INTO shop.recommendation_inputs (session_id, product_id)
SELECT 'bench-session-' || s, ('00000000-0000-4000-a000-'
       || lpad((1 + floor(2000 * power(random(), 3)))::integer::text, 12, '0'))::uuid
FROM generate_series(1, %(sessions)s) AS s, generate_series(1, 2 + (hashtext(s::text) & 7) %% 7) AS v
ORDER BY s, v;
"""


def count(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as admin, psycopg.connect(url, autocommit=True) as worker:
        worker.execute("SET ROLE postcart_worker")
        for kind, where in (("orders", "order_id IS NOT NULL"), ("views", "session_id IS NOT NULL")):
            queued = admin.execute(f"SELECT count(*) FROM shop.recommendation_inputs WHERE {where}").fetchone()[0]
            started = time.perf_counter()
            while worker.execute("SELECT shop.update_recommendations(1000)").fetchone()[0] > 0 and \
                    admin.execute(f"SELECT EXISTS (SELECT FROM shop.recommendation_inputs WHERE {where})").fetchone()[0]:
                pass
            seconds = time.perf_counter() - started
            print(f"counting {kind}: {queued:,} in {seconds:.1f} s, {queued / seconds:,.0f}/s "
                  f"(batches of 1,000 as the worker calls it)", flush=True)
        pairs = admin.execute("SELECT signal, count(*) FROM shop.product_affinities GROUP BY 1 ORDER BY 1").fetchall()
        print("pairs kept:", ", ".join(f"{signal} {n:,}" for signal, n in pairs), flush=True)
        admin.execute("VACUUM ANALYZE")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--sessions", type=int, default=200_000)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=16, help="HTTP connections (wrk)")
    parser.add_argument("--pool", type=int, default=8, help="database connections in all = pgbench clients")
    parser.add_argument("--workers", type=int, default=1, help="app processes (postcart serve --workers)")
    args = parser.parse_args()

    cluster = EmbeddedCluster(Path(tempfile.mkdtemp(prefix="postcart-bench-")))
    cluster.start()
    server = None
    try:
        migrate(cluster.url())
        generate(cluster.url(), args.orders)
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            conn.execute(CATEGORIES)
            conn.execute("INSERT INTO shop.recommendation_inputs (order_id) SELECT o.id FROM shop.orders AS o"
                         " ORDER BY o.created_at, o.id")
            conn.execute(VIEWS, {"sessions": args.sessions})
            conn.execute("VACUUM ANALYZE")
        count(cluster.url())

        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            products = [str(p) for (p,) in conn.execute(
                "SELECT product_id FROM shop.product_listings WHERE visible_from <= now() ORDER BY product_id")]
            conn.execute("SELECT api.register(%s, %s)", [Jsonb({"email": EMAIL, "full_name": "Ben Bench"}),
                                                         Jsonb({"password_hash": hash_password(PASSWORD)})])
            session = conn.execute(
                "SELECT auth.login_succeeded(a.id, %s, interval '1 hour', 'bench', NULL) FROM auth.accounts AS a"
                " WHERE a.email = %s", [os.urandom(32), EMAIL]).fetchone()[0]["session_id"]
            calls = [{"id_or_slug": p, "strategy": s} for s in ("frequently_bought_together", "also_viewed")
                     for p in products]
            conn.execute("CREATE TABLE public.bench_calls (n integer PRIMARY KEY, args jsonb NOT NULL)")
            with conn.cursor().copy("COPY public.bench_calls (n, args) FROM STDIN") as copy:
                for n, call in enumerate(calls, 1):
                    copy.write_row((n, json.dumps(call)))
            conn.execute("GRANT SELECT ON public.bench_calls TO postcart_authenticator")
        paths = [f"/v1/products/{c['id_or_slug']}/recommendations?strategy={c['strategy']}" for c in calls]
        script = (f"\\set n random(1, {len(calls)})\n"
                  "SELECT auth.call_api('product_recommendations', (SELECT b.args FROM public.bench_calls AS b"
                  f" WHERE b.n = :n), NULL, '{session}'::uuid, 'bench', NULL);\n")

        server, base = start_app(cluster.url(), args.pool, args.workers, POSTCART_RATE_LIMITS="off",
                                 POSTCART_RUN_WORKER="0")
        token = post_json(base + "/v1/auth/login", {"email": EMAIL, "password": PASSWORD})["access_token"]
        http_rps = run_wrk(base + paths[0], token, args.seconds, args.connections, rotating_script(paths))
        server.terminate()  # pgbench gets both cores, as the database's own limit
        server.wait()
        server = None
        pg_tps = run_pgbench(cluster, script, args.seconds, args.pool, "prepared")
        print(f"GET /v1/products/{{id}}/recommendations over HTTP, signed in: {http_rps:.0f} req/s "
              f"({args.workers} worker(s), {args.connections} connections, {len(paths)} paths in turn)")
        print(f"pgbench, same SQL:    {pg_tps:.0f} tx/s ({args.pool} clients)")
        print(f"ratio HTTP/pgbench:   {http_rps / pg_tps:.2f}")
    finally:
        if server is not None:
            server.terminate()
        cluster.destroy()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
