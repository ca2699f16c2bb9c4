"""Product lists raced against catalog version changes: every list request may memoise its facets and drop
those of older versions (shop.remember_listing_facets), and many of them at once, some in transactions
that list several times, must never deadlock or fail: the memo is an optimisation, never a reason for an
error. Each answer's facets still equal what counting them afresh gives."""

from __future__ import annotations

import json
import random
import time
import threading
from concurrent.futures import ThreadPoolExecutor

import psycopg

from tests.http.conftest import Client

READERS = 8
ROUNDS = 40


def filters(conn: psycopg.Connection) -> list[str]:
    slugs = [s for (s,) in conn.execute("SELECT slug FROM shop.categories ORDER BY slug LIMIT 6").fetchall()]
    made = [{"category": s} for s in slugs] + [{"category": s, "in_stock": "true"} for s in slugs]
    made += [{}, {"in_stock": "true"}, {"min_price": "1000"}, {"max_price": "5000", "in_stock": "true"}]
    return [json.dumps(f) for f in made]


def test_lists_racing_version_changes_never_fail(server: Client, admin_url: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        queries = filters(conn)
    stop = threading.Event()
    errors: list[BaseException] = []

    def bump_versions() -> int:
        n = 0
        with psycopg.connect(admin_url, autocommit=True) as conn:
            while not stop.is_set():
                # What any catalog write does (shop.tg__bump_catalog_version), in either counter.
                column = random.choice(["version", "stock_version"])
                conn.execute(f"UPDATE shop.catalog_version_shards SET {column} = {column} + 1 WHERE shard = %s",
                             [random.randrange(16)])
                n += 1
        return n

    def read(seed: int) -> int:
        rng = random.Random(seed)
        done = 0
        try:
            with psycopg.connect(admin_url) as conn:
                for _ in range(ROUNDS):
                    with conn.transaction():
                        conn.execute("SET LOCAL ROLE postcart_anon")
                        for args in rng.sample(queries, 3):
                            conn.execute("SELECT api.list_products(%s::jsonb)", [args]).fetchone()
                            done += 1
        except BaseException as e:  # noqa: BLE001 - reported below, with every other thread's
            errors.append(e)
        return done

    with ThreadPoolExecutor(max_workers=READERS + 1) as pool:
        bumps = pool.submit(bump_versions)
        lists = list(pool.map(read, range(READERS)))
        stop.set()
        assert bumps.result() > 0
    assert errors == [], errors[:3]
    assert sum(lists) == READERS * ROUNDS * 3

    # The memo holds what counting afresh gives.
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("SET ROLE postcart_anon")
        for args in queries:
            kept = conn.execute("SELECT api.list_products(%s::jsonb) -> 'facets'", [args]).fetchone()[0]
            kept_again = conn.execute("SELECT api.list_products(%s::jsonb) -> 'facets'", [args]).fetchone()[0]
            conn.execute("RESET ROLE")
            conn.execute("DELETE FROM shop.listing_facets")
            conn.execute("SET ROLE postcart_anon")
            fresh = conn.execute("SELECT api.list_products(%s::jsonb) -> 'facets'", [args]).fetchone()[0]
            assert kept == kept_again == fresh, args


def remember_calls(admin_url: str) -> int:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute("SELECT calls FROM pg_stat_user_functions WHERE schemaname = 'shop'"
                           " AND funcname = 'remember_listing_facets'").fetchone()
    return row[0] if row else 0


def test_many_requests_for_the_same_new_facets_count_them_once(server: Client, admin_url: str) -> None:
    args = json.dumps({"in_stock": "true", "min_price": "1"})
    before = remember_calls(admin_url)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("UPDATE shop.catalog_version_shards SET stock_version = stock_version + 1 WHERE shard = 0")
    start = threading.Barrier(READERS)

    def read(_: int) -> dict:
        # Function call counts as pg_stat_user_functions keeps them, flushed when the connection closes.
        with psycopg.connect(admin_url, autocommit=True, options="-c track_functions=pl") as conn:
            conn.execute("SET ROLE postcart_anon")
            start.wait()
            return conn.execute("SELECT api.list_products(%s::jsonb) -> 'facets'", [args]).fetchone()[0]

    with ThreadPoolExecutor(max_workers=READERS) as pool:
        answers = list(pool.map(read, range(READERS)))
    assert all(a == answers[0] for a in answers)
    deadline = time.monotonic() + 5
    while remember_calls(admin_url) == before and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1)  # every closed backend has flushed its counts by now
    assert remember_calls(admin_url) - before == 1, "one request counted, the others waited for its memo"
