"""Recommendation counters racing each other and the storefront (docs/recommendations.md): while product
views keep arriving, several workers call shop.update_recommendations at once, and every pair is counted
exactly once; a call made while another counts returns 0 at once instead of waiting."""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg

from .test_worker_races import as_worker

SESSIONS = 120
PRODUCTS = 5


def test_racing_counters_count_every_pair_once(admin, admin_url: str, app_url: str) -> None:
    tag = uuid.uuid4().hex[:8]
    products = [str(admin.execute("INSERT INTO shop.products (slug, name) VALUES (%s, %s) RETURNING id",
                                  [f"race-rec-{tag}-{n}", f"Race rec {tag} {n}"]).fetchone()[0])
                for n in range(PRODUCTS)]
    arrived = threading.Event()

    def storefront() -> None:
        """Each session views every product (the first one twice), in its own order, in two batches."""
        with psycopg.connect(admin_url, autocommit=True) as conn:
            for s in range(SESSIONS):
                order = [products[(s + k) % PRODUCTS] for k in range(PRODUCTS)] + [products[s % PRODUCTS]]
                for part in (order[:3], order[3:]):
                    conn.execute("INSERT INTO shop.recommendation_inputs (session_id, product_id)"
                                 " SELECT %s, unnest(%s::uuid[])", [f"race-{tag}-{s}", part])
        arrived.set()

    def counter() -> int:
        calls = 0
        with as_worker(app_url) as conn:
            while True:
                done = conn.execute("SELECT shop.update_recommendations(7)").fetchone()[0]
                calls += 1
                if done == 0 and arrived.is_set() and not views_still_queued():
                    return calls
                if done == 0:
                    time.sleep(0.01)

    def views_still_queued() -> bool:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            return conn.execute("SELECT EXISTS (SELECT FROM shop.recommendation_inputs"
                                " WHERE session_id LIKE %s)", [f"race-{tag}-%"]).fetchone()[0]

    with ThreadPoolExecutor(5) as pool:
        feeding = pool.submit(storefront)
        counting = [pool.submit(counter) for _ in range(4)]
        feeding.result(timeout=120)
        assert all(c.result(timeout=120) > 0 for c in counting)

    scores = dict(((str(a), str(b)), s) for a, b, s in admin.execute(
        "SELECT product_id, other_id, score FROM shop.product_affinities"
        " WHERE signal = 'viewed_together' AND product_id = ANY(%s::uuid[])", [products]).fetchall())
    assert scores == {pair: SESSIONS for pair in itertools.permutations(products, 2)}
    assert admin.execute("SELECT count(*) FROM shop.recommendation_session_views WHERE session_id LIKE %s",
                         [f"race-{tag}-%"]).fetchone()[0] == SESSIONS * PRODUCTS
    admin.execute("DELETE FROM shop.products WHERE id = ANY(%s::uuid[])", [products])


def test_a_call_while_another_counts_returns_0_at_once(admin, admin_url: str, app_url: str) -> None:
    product = admin.execute("INSERT INTO shop.products (slug, name) VALUES (%s, 'Race rec lock') RETURNING id",
                            [f"race-rec-lock-{uuid.uuid4().hex[:8]}"]).fetchone()[0]
    admin.execute("INSERT INTO shop.recommendation_inputs (session_id, product_id) VALUES ('race-lock', %s)",
                  [product])
    with as_worker(app_url) as first, as_worker(app_url) as second:
        second.execute("SET statement_timeout = '5s'")  # waiting for the first to commit would fail it
        with first.transaction():
            assert first.execute("SELECT shop.update_recommendations(10000)").fetchone()[0] >= 1
            assert second.execute("SELECT shop.update_recommendations(10000)").fetchone()[0] == 0
    admin.execute("DELETE FROM shop.products WHERE id = %s", [product])
