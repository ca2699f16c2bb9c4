"""What the rate limits cost a request, server-side: EXPLAIN ANALYZE of the limiter and of a whole
auth.call_api with the limits off and on, each statement its own transaction, p50 of --runs runs.
A latency check, not a throughput benchmark: run it against a development database (it raises the rules'
rates for the run so nothing is refused, and puts them back). Usage: python bench/rate_limits.py URL"""

from __future__ import annotations

import argparse
import statistics
import uuid

import psycopg

IP = '{"ip": "192.0.2.1"}'
CASES = [
    ("limiter, limits off", "SELECT auth.take_rate_limit('checkout', NULL, '{}', %(sid)s)"),
    ("limiter, function no rule names", f"SELECT auth.take_rate_limit('list_products', '{IP}', '{{}}', %(sid)s)"),
    ("limiter, checkout (ip + session)", f"SELECT auth.take_rate_limit('checkout', '{IP}', '{{}}', %(sid)s)"),
    ("limiter, login (ip + email)",
     f"SELECT auth.take_rate_limit('login', '{IP}', '{{\"email\": \"x@example.com\"}}', NULL)"),
    ("call_api request_password_reset, limits off",
     "SELECT * FROM auth.call_api('request_password_reset', '{\"email\": \"x@example.com\"}', NULL, NULL, 'b', NULL)"),
    ("call_api request_password_reset, counted",
     f"SELECT * FROM auth.call_api('request_password_reset', '{{\"email\": \"x@example.com\"}}', NULL, NULL, 'b',"
     f" '{IP}')"),
    ("call_api list_categories, limits off",
     "SELECT * FROM auth.call_api('list_categories', '{}', NULL, NULL, 'b', NULL)"),
    ("call_api list_categories, limits on (no rule)",
     f"SELECT * FROM auth.call_api('list_categories', '{{}}', NULL, NULL, 'b', '{IP}')"),
]


def p50_us(conn: psycopg.Connection, query: str, runs: int) -> float:
    sid = str(uuid.uuid4())
    times = []
    for _ in range(runs):
        plan = conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + query, {"sid": sid}).fetchone()[0]
        times.append(plan[0]["Execution Time"] * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    with psycopg.connect(args.url, autocommit=True) as conn:
        saved = conn.execute("SELECT name, requests, burst FROM integration.rate_limit_rules").fetchall()
        conn.execute("UPDATE integration.rate_limit_rules SET requests = 100000000, burst = 100000000")
        try:
            for name, query in CASES:
                print(f"{name:48s} p50 {p50_us(conn, query, args.runs):7.1f} µs")
        finally:
            for name, requests, burst in saved:
                conn.execute("UPDATE integration.rate_limit_rules SET requests = %s, burst = %s WHERE name = %s",
                             [requests, burst, name])
            conn.execute("DELETE FROM integration.rate_limit_buckets WHERE key_hash = sha256('192.0.2.1')"
                         " OR key_hash = sha256('x@example.com')")


if __name__ == "__main__":
    main()
