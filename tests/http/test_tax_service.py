"""The external tax service at checkout, through a server of this module's own pointed at the local tax
service (tests/tax_emulator.py, TaxJar's POST /v2/taxes): its quote is charged when it answers in time, and
on a timeout, a 500, a garbage or non-JSON answer the order is still placed with the built-in rates and
flagged (tax_source builtin_fallback, the reason, the reporting view), its totals adding up either way. The
cart keeps showing the built-in estimate."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from tests.tax_emulator import API_KEY, TaxEmulator

from .conftest import SECRET, Client, start_server
from .test_checkout import COUNTRY, checkout, make_skus, new_cart

TIMEOUT_MS = 600  # POSTCART_TAX_TIMEOUT_MS
RATE = "0.10"  # the service's rate for COUNTRY; the built-in rates have none there (no tax)


@pytest.fixture(scope="module")
def taxes() -> Iterator[TaxEmulator]:
    emulator = TaxEmulator({COUNTRY: RATE}).start()
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def tax_api(server: Client, admin_url: str, taxes: TaxEmulator,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    log_path = tmp_path_factory.mktemp("tax-server") / "server.log"
    env = {**os.environ, "DATABASE_URL": admin_url, "POSTCART_SECRET_KEY": SECRET,
           "POSTCART_TAX_API_BASE": taxes.base_url, "POSTCART_TAX_API_KEY": API_KEY,
           "POSTCART_TAX_TIMEOUT_MS": str(TIMEOUT_MS)}
    client, proc = start_server(env, log_path)
    try:
        yield client
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(autouse=True)
def no_faults_left(taxes: TaxEmulator) -> Iterator[None]:
    yield
    taxes.clear_faults()


def order_row(admin_url: str, order_id: str) -> tuple[Any, ...]:
    with psycopg.connect(admin_url) as conn:
        return conn.execute(
            "SELECT tax_source, tax_fallback_reason, subtotal, discount_total, shipping_total, tax_total, total,"
            " prices_include_tax, (SELECT array_agg(tax ORDER BY position) FROM shop.order_items WHERE order_id = o.id)"
            " FROM shop.orders AS o WHERE id = %s", [order_id]).fetchone()


def adds_up(row: tuple[Any, ...]) -> bool:
    _, _, subtotal, discount, shipping, tax, total, inclusive, _ = row
    return bool(total == subtotal - discount + shipping + (0 if inclusive else tax))


def test_the_quote_is_charged(tax_api: Client, admin_url: str, taxes: TaxEmulator) -> None:
    (sku,) = make_skus(admin_url, [5])
    cart = new_cart(tax_api, [(sku, 2)])
    shown = tax_api.get(f"/v1/carts/{cart.id}", **cart.kw()).json
    assert shown["tax_total"]["amount"] == 0  # the cart shows the built-in estimate (no rate here)
    asked = len(taxes.requests)
    r = checkout(tax_api, cart)
    assert r.status == 201, r.text
    order = r.json["order"]
    assert len(taxes.requests) == asked + 1
    # Prices include tax: 2000 holds 2000 x 0.1 / 1.1 = 181.8 -> 182; shipping 495 holds 45.
    assert (order["tax_source"], order["tax_fallback_reason"]) == ("external", None)
    assert order["items"][0]["tax"]["amount"] == 182 and float(order["items"][0]["tax_rate_percent"]) == 10
    assert order["tax_total"]["amount"] == 182 + 45 and order["total"]["amount"] == 2000 + 495
    row = order_row(admin_url, order["id"])
    assert row[:2] == ("external", None) and row[8] == [182] and adds_up(row)
    sent = taxes.requests[-1]
    assert (sent["to_country"], sent["amount"], sent["shipping"]) == (COUNTRY, 20.0, 4.95)


@pytest.mark.parametrize(("fault", "reason"), [("delay", "timeout"), ("500", "unavailable"),
                                               ("garbage", "bad_answer"), ("html", "bad_answer")])
def test_a_failing_service_falls_back_to_builtin_rates_and_flags_the_order(
        tax_api: Client, admin_url: str, taxes: TaxEmulator, fault: str, reason: str) -> None:
    (sku,) = make_skus(admin_url, [5])
    cart = new_cart(tax_api, [(sku, 2)])
    taxes.fail("taxes", fault, seconds=TIMEOUT_MS / 1000 * 3)
    r = checkout(tax_api, cart)
    assert r.status == 201, r.text
    order = r.json["order"]
    assert (order["tax_source"], order["tax_fallback_reason"]) == ("builtin_fallback", reason)
    assert order["tax_total"]["amount"] == 0 and order["total"]["amount"] == 2495
    row = order_row(admin_url, order["id"])
    assert row[:2] == ("builtin_fallback", reason) and adds_up(row)
    with psycopg.connect(admin_url) as conn:
        assert conn.execute(
            "SELECT orders FROM reporting.tax_sources_daily WHERE day = (now() AT TIME ZONE 'UTC')::date"
            " AND currency = 'EUR' AND tax_source = 'builtin_fallback' AND tax_fallback_reason = %s",
            [reason]).fetchone()[0] >= 1


def test_a_slow_answer_within_the_timeout_is_charged(tax_api: Client, admin_url: str, taxes: TaxEmulator) -> None:
    (sku,) = make_skus(admin_url, [5])
    cart = new_cart(tax_api, [(sku, 1)])
    taxes.fail("taxes", "delay", seconds=TIMEOUT_MS / 1000 / 4)
    r = checkout(tax_api, cart)
    assert r.status == 201, r.text
    assert r.json["order"]["tax_source"] == "external" and r.json["order"]["items"][0]["tax"]["amount"] == 91


def test_a_refused_cart_asks_the_service_nothing(tax_api: Client, admin_url: str, taxes: TaxEmulator) -> None:
    (sku,) = make_skus(admin_url, [5])
    cart = new_cart(tax_api, [(sku, 1)], ship=False)
    asked = len(taxes.requests)
    r = checkout(tax_api, cart)
    assert (r.status, r.error_code) == (409, "shipping_address_required")
    assert len(taxes.requests) == asked
