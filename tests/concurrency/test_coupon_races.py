"""Coupon limits under races: 20 real connections redeem a promotion at once, each in its own checkout-like
transaction that holds its locks a moment before committing. A usage_limit of 5 gives exactly 5 uses and
15 × coupon_exhausted, with times_used = 5; a per_customer_limit holds likewise for one e-mail (guests, no
usage limit: the advisory-lock path) and for one account using different e-mails."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

N = 20


@dataclass
class Promo:
    id: str
    code: str
    orders: list[str]


@pytest.fixture
def promo(admin: psycopg.Connection) -> Iterator[Any]:
    """Makes a coupon with the given limits and N orders (numbered by the one counter) to redeem it with."""
    made: list[Promo] = []

    def make(usage_limit: int | None, per_customer_limit: int | None) -> Promo:
        tag = uuid.uuid4().hex[:8]
        code = f"RACE-{tag}"
        promotion_id = admin.execute(
            "INSERT INTO shop.promotions (code, name, kind, value, usage_limit, per_customer_limit)"
            " VALUES (%s, 'Race', 'percent', 10, %s, %s) RETURNING id", [code, usage_limit, per_customer_limit]
        ).fetchone()[0]
        orders = []
        for i in range(N):
            cart = admin.execute("INSERT INTO shop.carts (token_hash, currency) VALUES (sha256(%s), 'EUR')"
                                 " RETURNING id", [f"race-{tag}-{i}".encode()]).fetchone()[0]
            orders.append(str(admin.execute(
                "INSERT INTO shop.orders (number, cart_id, email, currency, payment_method, prices_include_tax,"
                " subtotal, discount_total, shipping_total, tax_total, total, shipping_address, shipping_method_code,"
                " shipping_method_name) VALUES (shop.next_order_number(), %s, 'race@example.com', 'EUR',"
                " 'manual', TRUE, 0, 0, 0, 0, 0, '{}', 'x', 'x') RETURNING id", [cart]
            ).fetchone()[0]))
        made.append(Promo(str(promotion_id), code, orders))
        return made[-1]

    yield make
    # Orders are never deleted (a trigger refuses it): the test's orders stay, their coupons are retired.
    for p in made:
        admin.execute("UPDATE shop.promotions SET active = FALSE WHERE id = %s", [p.id])


def race_redeem(admin_url: str, promo: Promo, customer: Any, email: Any) -> list[str]:
    """N connections, released together, each redeeming for its own order; 'ok' or the error's code."""
    barrier = threading.Barrier(N)
    results: list[str] = [""] * N
    applied = Jsonb([{"promotion_id": promo.id, "code": promo.code, "kind": "percent", "amount": 100}])

    def one(i: int) -> None:
        with psycopg.connect(admin_url) as conn:
            barrier.wait()
            try:
                conn.execute("SELECT shop.redeem_promotions(%s, %s, %s, %s)",
                             [promo.orders[i], customer(i), email(i), applied])
                conn.execute("SELECT pg_sleep(0.02)")  # the rest of a checkout, holding the locks
                conn.commit()
                results[i] = "ok"
            except psycopg.Error as exc:
                conn.rollback()
                results[i] = exc.diag.message_primary or exc.sqlstate or "error"

    threads = [threading.Thread(target=one, args=(i,)) for i in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def live_uses(admin: psycopg.Connection, promo: Promo) -> int:
    return int(admin.execute("SELECT count(*) FROM shop.promotion_redemptions WHERE promotion_id = %s"
                             " AND released_at IS NULL", [promo.id]).fetchone()[0])


def test_a_usage_limit_of_5_gives_exactly_5_uses_to_20_racing_checkouts(admin, admin_url: str, promo) -> None:
    p = promo(5, None)
    results = race_redeem(admin_url, p, lambda i: None, lambda i: f"buyer-{i}@example.com")
    assert results.count("ok") == 5, results
    assert results.count("coupon_exhausted") == 15, results
    assert admin.execute("SELECT times_used FROM shop.promotions WHERE id = %s", [p.id]).fetchone()[0] == 5
    assert live_uses(admin, p) == 5


def test_a_per_customer_limit_holds_for_one_email_racing(admin, admin_url: str, promo) -> None:
    p = promo(None, 2)  # no usage limit: the per-customer lock is an advisory one
    results = race_redeem(admin_url, p, lambda i: None, lambda i: "same@example.com" if i % 2 else "SAME@example.com")
    assert results.count("ok") == 2, results
    assert results.count("coupon_exhausted") == N - 2, results
    assert live_uses(admin, p) == 2
    assert admin.execute("SELECT times_used FROM shop.promotions WHERE id = %s", [p.id]).fetchone()[0] == 0


def test_a_per_customer_limit_holds_for_one_account_with_many_emails(admin, admin_url: str, promo) -> None:
    account = admin.execute("INSERT INTO auth.accounts (email, full_name) VALUES (%s, 'Racer') RETURNING id",
                            [f"racer-{uuid.uuid4().hex[:8]}@example.com"]).fetchone()[0]
    try:
        p = promo(10, 1)  # both limits: the promotion's row lock serialises the count
        results = race_redeem(admin_url, p, lambda i: account, lambda i: f"alias-{i}@example.com")
        assert results.count("ok") == 1, results
        assert results.count("coupon_exhausted") == N - 1, results
        assert admin.execute("SELECT times_used FROM shop.promotions WHERE id = %s", [p.id]).fetchone()[0] == 1
        unlimited = promo(None, 1)
        results = race_redeem(admin_url, unlimited, lambda i: account, lambda i: f"other-{i}@example.com")
        assert results.count("ok") == 1, results
    finally:
        admin.execute("DELETE FROM shop.promotion_redemptions WHERE customer_id = %s", [account])
        admin.execute("DELETE FROM auth.accounts WHERE id = %s", [account])
