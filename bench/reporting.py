"""Reporting views on a large shop (issue 10): generates 1,000,000 orders with their lines, on a catalog of
2,000 products (6,000 variants, priced in EUR and USD, stocked in 3 warehouses), 200,000 customers and 40
promotions, directly in SQL (generate_series), then times every reporting view.

Generation writes with session_replication_role = replica, i.e. without triggers (audit trail, outbox
events, stock bookkeeping, order status checks, foreign keys), because those would write millions of rows
the views never read and take an hour. It stays representative for the views: every CHECK constraint
still holds (order totals agree with their lines, stock agrees with its ledger, redemptions with
times_used), the tables and indexes are the real ones, and the data are ANALYZEd before timing.

Timed, per view, as postcart_analyst (the role analysts use): `SELECT * FROM v LIMIT 100` and
`SELECT count(*) FROM v` (the whole view computed or read), best of --repeat runs, wall clock at the
client. Then each materialized view's refresh (reporting.refresh_views as postcart_worker, one view per
call as the worker does).

Usage: python bench/reporting.py [--orders 1000000] [--url postgresql://...]  (default: a throwaway
embedded cluster; with --url, a database you own: it is migrated and filled, not emptied).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from postcart.embedded import EmbeddedCluster
from postcart.migrate import migrate

# Steps run in order in one session; @orders@, @customers@ and @products@ become the sizes asked for.
GENERATE = [
    ("catalog", """
INSERT INTO shop.products (id, slug, name, status, published_at, created_at)
SELECT ('00000000-0000-4000-a000-' || lpad(n::text, 12, '0'))::uuid, 'bench-product-' || n, 'Bench product ' || n,
       CASE WHEN n % 50 = 0 THEN 'archived' ELSE 'published' END, now() - interval '400 days',
       now() - interval '400 days'
FROM generate_series(1, @products@) AS n;
INSERT INTO shop.product_variants (id, product_id, sku, name, position, low_stock_threshold)
SELECT ('00000000-0000-4000-b000-' || lpad((p * 3 + s)::text, 12, '0'))::uuid,
       ('00000000-0000-4000-a000-' || lpad(p::text, 12, '0'))::uuid, 'BENCH-' || p || '-' || s,
       (ARRAY['Small', 'Medium', 'Large'])[s + 1], s, CASE WHEN p % 10 = 0 THEN 20 END
FROM generate_series(1, @products@) AS p, generate_series(0, 2) AS s;
INSERT INTO shop.variant_prices (variant_id, product_id, currency, amount)
SELECT v.id, v.product_id, c.currency, (5 + (hashtext(v.sku) & 65535) % 95) * c.factor - 1
FROM shop.product_variants AS v, (VALUES ('EUR', 100), ('USD', 110)) AS c (currency, factor)
WHERE v.sku LIKE 'BENCH-%';
INSERT INTO shop.warehouses (code, name, priority)
VALUES ('bench-a', 'Bench A', 1), ('bench-b', 'Bench B', 2), ('bench-c', 'Bench C', 3);
INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity, reference)
SELECT v.id, w.id, 'receipt', 1 + (hashtext(v.sku || w.code) & 255), 'bench'
FROM shop.product_variants AS v, shop.warehouses AS w
WHERE v.sku LIKE 'BENCH-%' AND w.code LIKE 'bench-%';
INSERT INTO shop.stock_levels (variant_id, warehouse_id, on_hand, backorder_limit)
SELECT m.variant_id, m.warehouse_id, sum(m.quantity), 0
FROM shop.stock_movements AS m WHERE m.reference = 'bench' GROUP BY m.variant_id, m.warehouse_id;
INSERT INTO shop.promotions (code, name, kind, value, currency, usage_limit, times_used)
SELECT 'BENCH' || n, 'Bench promotion ' || n, CASE WHEN n % 4 = 0 THEN 'fixed' ELSE 'percent' END,
       CASE WHEN n % 4 = 0 THEN 500 ELSE 5 + n % 20 END, CASE WHEN n % 4 = 0 THEN 'EUR' END,
       CASE WHEN n % 3 = 0 THEN 1000000 END, 0
FROM generate_series(1, 40) AS n;
"""),
    ("customers", """
INSERT INTO auth.accounts (id, email, full_name, created_at)
SELECT ('00000000-0000-4000-c000-' || lpad(n::text, 12, '0'))::uuid, 'bench-' || n || '@example.com',
       'Bench customer ' || n, now() - interval '400 days' + n * interval '1 minute'
FROM generate_series(1, @customers@) AS n;
"""),
    # Orders over the last 365 days, more recently (growth); 75 % by customers (a few buy often), 5 %
    # cancelled, 20 % in USD, 15 % with a coupon; 1 to 4 lines each, popular products more often.
    ("order plan", """
CREATE TEMP TABLE plan AS
SELECT n,
       ('00000000-0000-4000-d000-' || lpad(n::text, 12, '0'))::uuid AS id,
       now() - 365 * (1 - sqrt(random())) * interval '1 day' AS created_at,
       CASE WHEN random() < 0.75
            THEN ('00000000-0000-4000-c000-'
                  || lpad((1 + floor(@customers@ * power(random(), 2)))::integer::text, 12, '0'))::uuid END
           AS customer_id,
       CASE WHEN random() < 0.2 THEN 'USD' ELSE 'EUR' END AS currency,
       random() < 0.05 AS cancelled,
       CASE WHEN random() < 0.15 THEN 1 + floor(random() * 40)::integer END AS promotion_n
FROM generate_series(1, @orders@) AS n;
ALTER TABLE plan ADD PRIMARY KEY (n);
"""),
    ("lines", """
INSERT INTO shop.order_items (order_id, position, variant_id, product_id, sku, name, quantity, unit_price,
                              discount, line_total, tax_class, tax_rate_percent, tax)
SELECT p.id, l.position, v.id, v.product_id, v.sku, v.name, l.quantity, vp.amount,
       CASE WHEN p.promotion_n IS NOT NULL THEN l.quantity * vp.amount / 10 ELSE 0 END,
       l.quantity * vp.amount - CASE WHEN p.promotion_n IS NOT NULL THEN l.quantity * vp.amount / 10 ELSE 0 END,
       'standard', 19,
       round((l.quantity * vp.amount - CASE WHEN p.promotion_n IS NOT NULL THEN l.quantity * vp.amount / 10
                                            ELSE 0 END) * 19 / 119.0)
FROM plan AS p
CROSS JOIN LATERAL (
    SELECT g AS position, 1 + (hashtext(p.n::text || g) & 3) / 3 AS quantity,
           ('00000000-0000-4000-b000-'
            || lpad((3 + floor(@products@ * 3 * power(random(), 3)))::integer::text, 12, '0'))::uuid AS variant_id
    FROM generate_series(1, 1 + (hashtext(p.n::text) & 3)) AS g
) AS l
INNER JOIN shop.product_variants AS v ON l.variant_id = v.id
INNER JOIN shop.variant_prices AS vp ON v.id = vp.variant_id AND p.currency = vp.currency;
"""),
    ("carts and orders", """
INSERT INTO shop.carts (id, customer_id, token_hash, currency, status, order_id, created_at)
SELECT p.id, p.customer_id, CASE WHEN p.customer_id IS NULL THEN sha256(p.id::text::bytea) END, p.currency,
       'ordered', p.id, p.created_at
FROM plan AS p;
INSERT INTO shop.orders (id, number, customer_id, cart_id, email, currency, status, payment_status,
                         fulfillment_status, payment_method, prices_include_tax, subtotal, discount_total,
                         shipping_total, shipping_tax, tax_total, total, paid_amount, shipping_address,
                         shipping_method_code, shipping_method_name, coupon_code, created_at, updated_at,
                         paid_at, cancelled_at)
SELECT p.id, 1000000 + p.n, p.customer_id, p.id, 'bench-order-' || p.n || '@example.com', p.currency,
       CASE WHEN p.cancelled THEN 'cancelled' WHEN p.created_at > now() - interval '2 days' THEN 'paid'
            ELSE 'completed' END,
       CASE WHEN p.cancelled THEN 'unpaid' ELSE 'paid' END,
       CASE WHEN p.cancelled OR p.created_at > now() - interval '2 days' THEN 'unfulfilled' ELSE 'fulfilled' END,
       'manual', TRUE, i.subtotal, i.discount, 490, 78, i.tax + 78, i.subtotal - i.discount + 490,
       CASE WHEN p.cancelled THEN 0 ELSE i.subtotal - i.discount + 490 END, '{"country": "DE"}',
       'standard', 'Standard', CASE WHEN p.promotion_n IS NOT NULL THEN 'BENCH' || p.promotion_n END,
       p.created_at, p.created_at, CASE WHEN NOT p.cancelled THEN p.created_at END,
       CASE WHEN p.cancelled THEN p.created_at + interval '1 hour' END
FROM plan AS p
INNER JOIN (
    SELECT order_id, sum(quantity * unit_price) AS subtotal, sum(discount) AS discount, sum(tax) AS tax
    FROM shop.order_items GROUP BY order_id
) AS i ON p.id = i.order_id;
"""),
    ("redemptions", """
INSERT INTO shop.promotion_redemptions (promotion_id, order_id, customer_id, email, amount, created_at, released_at)
SELECT pr.id, o.id, o.customer_id, o.email, o.discount_total, o.created_at, o.cancelled_at
FROM shop.orders AS o
INNER JOIN shop.promotions AS pr ON o.coupon_code = pr.code
WHERE o.coupon_code LIKE 'BENCH%';
UPDATE shop.promotions AS pr
SET times_used = (SELECT count(*) FROM shop.promotion_redemptions AS r
                  WHERE r.promotion_id = pr.id AND r.released_at IS NULL)
WHERE pr.code LIKE 'BENCH%';
UPDATE shop.promotions SET usage_limit = times_used + 100 WHERE code LIKE 'BENCH%' AND usage_limit IS NOT NULL;
"""),
    ("order numbers", "UPDATE shop.order_numbers SET last_number = 1000000 + @orders@;"),
]

REFRESH_ALL = "UPDATE reporting.refreshes SET refreshed_at = now() - interval '1 day'"


def views(conn: psycopg.Connection) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT c.oid::regclass::text FROM pg_class AS c WHERE c.relnamespace = 'reporting'::regnamespace"
        " AND c.relkind IN ('v', 'm') ORDER BY 1").fetchall()]


def best(conn: psycopg.Connection, query: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        conn.execute(query).fetchall()
        times.append(time.perf_counter() - started)
    return min(times) * 1000


def generate(url: str, orders: int) -> None:
    params = {"orders": orders, "customers": max(orders // 5, 1), "products": 2000}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        for name, statement in GENERATE:
            started = time.perf_counter()
            for key, value in params.items():
                statement = statement.replace(f"@{key}@", str(value))
            conn.execute(statement)  # type: ignore[arg-type]
            print(f"generated {name} in {time.perf_counter() - started:.1f} s", flush=True)
        conn.execute("SET session_replication_role = origin")
        conn.execute("VACUUM ANALYZE")
        counts = conn.execute("SELECT (SELECT count(*) FROM shop.orders), (SELECT count(*) FROM shop.order_items),"
                              " (SELECT count(*) FROM shop.promotion_redemptions)").fetchone()
        print(f"orders {counts[0]:,}, lines {counts[1]:,}, redemptions {counts[2]:,}", flush=True)


def refresh(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(REFRESH_ALL)
        conn.execute("SET ROLE postcart_worker")
        while conn.execute("SELECT reporting.refresh_views(1)").fetchone()[0]:
            pass
        conn.execute("RESET ROLE")
        for view, ms in conn.execute(
                "SELECT materialized_view, duration_ms FROM reporting.refreshes ORDER BY 1").fetchall():
            print(f"refresh {view}: {ms} ms", flush=True)
        conn.execute("VACUUM ANALYZE")


def time_views(url: str, repeat: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET ROLE postcart_analyst")
        print(f"{'view':40} {'LIMIT 100 ms':>13} {'count(*) ms':>12} {'rows':>10}")
        for view in views(conn):
            first = best(conn, f"SELECT * FROM {view} LIMIT 100", repeat)
            whole = best(conn, f"SELECT count(*) FROM {view}", repeat)
            rows = conn.execute(f"SELECT count(*) FROM {view}").fetchone()[0]
            print(f"{view:40} {first:13.1f} {whole:12.1f} {rows:10,}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--url", help="a database to fill (default: a throwaway embedded cluster)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per query; the best is reported")
    parser.add_argument("--time-only", action="store_true", help="the data are there: refresh and time")
    args = parser.parse_args()

    cluster = None
    url = args.url
    if url is None:
        cluster = EmbeddedCluster(Path(tempfile.mkdtemp(prefix="postcart-bench-")))
        cluster.start()
        url = cluster.url()
    try:
        if not args.time_only:
            migrate(url)
            generate(url, args.orders)
        refresh(url)
        time_views(url, args.repeat)
    finally:
        if cluster is not None:
            cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
