"""Many real clients changing the same orders at once through the real server (cancellations, payments,
partial and full shipments), while new orders reserve the same stock rows and the unpaid-order sweeper
runs: no answer is a 5xx (no deadlock reaches a client), and afterwards the ledger, on_hand, reserved and
the open allocations agree exactly, and every order's lines, allocations, payments and status agree."""

from __future__ import annotations

import random
import threading
from typing import Any

import psycopg

from tests.concurrency.test_inventory_races import run_all  # CLIENTS threads released together
from tests.http.conftest import Client
from tests.http.test_orders import manager, new_customer, shop  # noqa: F401 - fixtures
from tests.orders_fixture import Line, place_order, remove_orders

EXPECTED_REFUSALS = {"invalid_transition", "order_not_fulfillable", "over_fulfillment", "overpayment",
                     "order_not_payable"}


def assert_books_agree(conn: psycopg.Connection, variants: list[str]) -> None:
    """Per stock row: on_hand is the ledger's sum and reserved the open allocations' sum; per order: the
    lines' shipped units are their allocations' and the sales', and the status matches the lines."""
    rows = conn.execute(
        "SELECT s.variant_id, s.warehouse_id, s.on_hand,"
        " (SELECT coalesce(sum(m.quantity), 0) FROM shop.stock_movements m"
        "   WHERE m.variant_id = s.variant_id AND m.warehouse_id = s.warehouse_id),"
        " s.reserved,"
        " (SELECT coalesce(sum(a.quantity - a.quantity_fulfilled - a.quantity_released), 0)"
        "   FROM shop.order_allocations a WHERE a.variant_id = s.variant_id AND a.warehouse_id = s.warehouse_id)"
        " FROM shop.stock_levels s WHERE s.variant_id = ANY(%s::uuid[])", [variants]).fetchall()
    for variant, warehouse, on_hand, ledger, reserved, open_units in rows:
        assert (on_hand, reserved) == (ledger, open_units), (variant, warehouse, on_hand, ledger, reserved, open_units)
    orders = conn.execute(
        "SELECT o.id, o.status, o.fulfillment_status, o.paid_amount, o.total,"
        " (SELECT coalesce(sum(p.captured_amount), 0) FROM shop.payments p WHERE p.order_id = o.id),"
        " (SELECT sum(i.quantity) FROM shop.order_items i WHERE i.order_id = o.id),"
        " (SELECT sum(i.quantity_fulfilled) FROM shop.order_items i WHERE i.order_id = o.id),"
        " (SELECT coalesce(sum(a.quantity_fulfilled), 0) FROM shop.order_allocations a"
        "   JOIN shop.order_items i ON i.id = a.order_item_id WHERE i.order_id = o.id),"
        " (SELECT coalesce(-sum(m.quantity), 0) FROM shop.stock_movements m WHERE m.reference = o.id::text),"
        " (SELECT coalesce(sum(a.quantity - a.quantity_fulfilled - a.quantity_released), 0)"
        "   FROM shop.order_allocations a JOIN shop.order_items i ON i.id = a.order_item_id WHERE i.order_id = o.id)"
        " FROM shop.orders o WHERE o.id IN (SELECT order_id FROM shop.order_items WHERE variant_id = ANY(%s::uuid[]))",
        [variants]).fetchall()
    for order_id, status, shipping, paid, total, captured, units, shipped, allocated, sold, still_open in orders:
        assert paid == captured <= total, (order_id, paid, captured, total)
        assert shipped == allocated == sold, (order_id, shipped, allocated, sold)
        if status == "cancelled":
            assert (shipped, still_open) == (0, 0), (order_id, shipped, still_open)
        else:
            assert still_open == units - shipped, (order_id, still_open, units, shipped)
        assert (status == "fulfilled") == (shipped == units), (order_id, status, shipped, units)
        assert shipping == ("unfulfilled" if shipped == 0 else "fulfilled" if shipped == units
                            else "partially_fulfilled"), (order_id, shipping, shipped)
        if status != "cancelled":  # a paid order cancelled keeps what was paid (refund_due)
            assert (status in ("paid", "fulfilled")) == (paid == total), (order_id, status, paid, total)


def test_cancel_pay_and_ship_race_on_the_same_orders(server: Client, admin_url: str, manager: str,  # noqa: F811
                                                     shop: dict[str, Any]) -> None:  # noqa: F811
    conn = shop["conn"]
    conn.execute("INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity) VALUES"
                 " (%s, %s, 'receipt', 60), (%s, %s, 'receipt', 40)", [shop["a"], shop["far"], shop["b"], shop["far"]])
    customer = new_customer(server)
    orders = [shop["order"]([Line(shop["a"], 3), Line(shop["b"], 2)], customer_id=customer["id"]) for _ in range(12)]
    rng = random.Random(21)
    jobs: list[Any] = []
    for placed in orders:
        line_a, line_b = placed.item_ids
        path = f"/v1/admin/orders/{placed.id}"
        everything = {"items": [{"item_id": line_a, "quantity": 3}, {"item_id": line_b, "quantity": 2}],
                      "tracking_number": "RACE"}
        jobs += [
            lambda p=placed: server.post(f"/v1/orders/{p.id}/cancel", {}, token=customer["token"]),
            lambda p=placed: server.post(f"/v1/orders/{p.id}/cancel", {}, token=manager),
            lambda p=path, t=placed.total: server.post(f"{p}/payments", {"amount": t}, token=manager),
            lambda p=path, t=placed.total: server.post(f"{p}/payments", {"amount": t}, token=manager),
            lambda p=path, a=line_a: server.post(f"{p}/fulfillments", {"items": [{"item_id": a, "quantity": 1}]},
                                                 token=manager),
            lambda p=path, b=everything: server.post(f"{p}/fulfillments", b, token=manager),
        ]
    # New orders reserve the same stock rows meanwhile, locking them in checkout's order.
    newcomers: list[Any] = []
    lock = threading.Lock()

    def checkout() -> Any:
        with psycopg.connect(admin_url, autocommit=True) as own:
            made = place_order(own, [Line(shop["b"], 1), Line(shop["a"], 1)])
        with lock:
            newcomers.append(made)
        return made

    jobs += [checkout for _ in range(8)]
    rng.shuffle(jobs)
    results = run_all(jobs)
    answers = [r for r in results if hasattr(r, "status")]
    assert all(r.status in (200, 201, 409) for r in answers), [r.text for r in answers if r.status >= 500][:3]
    assert {r.error_code for r in answers if r.status == 409} <= EXPECTED_REFUSALS
    assert len(newcomers) == 8
    try:
        assert_books_agree(conn, [shop["a"], shop["b"]])
        statuses = {o.id: s for o in orders
                    for (s,) in [conn.execute("SELECT status FROM shop.orders WHERE id = %s", [o.id]).fetchone()]}
        assert set(statuses.values()) <= {"cancelled", "paid", "fulfilled"}
        assert len(set(statuses.values())) > 1, statuses  # the race went more than one way
    finally:
        remove_orders(conn, [n.id for n in newcomers])  # the fixture removes only the orders it placed


def test_the_sweeper_and_payments_race_for_overdue_orders(server: Client, admin_url: str, manager: str,  # noqa: F811
                                                          shop: dict[str, Any]) -> None:  # noqa: F811
    conn = shop["conn"]
    conn.execute("INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity) VALUES"
                 " (%s, %s, 'receipt', 30)", [shop["b"], shop["far"]])
    orders = [shop["order"]([Line(shop["b"], 2)], payment_due_in="-1 minute") for _ in range(16)]

    def sweep() -> int:
        with psycopg.connect(admin_url, autocommit=True) as worker:
            worker.execute("SET ROLE postcart_worker")
            return int(worker.execute("SELECT shop.sweep_unpaid_orders(3)").fetchone()[0])

    jobs: list[Any] = [lambda p=placed: server.post(f"/v1/admin/orders/{p.id}/payments", {"amount": p.total},
                                                    token=manager) for placed in orders]
    jobs += [sweep for _ in range(8)]
    random.Random(5).shuffle(jobs)
    results = run_all(jobs)
    answers = [r for r in results if hasattr(r, "status")]
    swept = sum(r for r in results if isinstance(r, int))
    assert all(r.status in (201, 409) for r in answers), [r.text for r in answers if r.status not in (201, 409)][:3]
    assert {r.error_code for r in answers if r.status == 409} <= {"order_not_payable"}
    while (more := sweep()) > 0:  # what the racing sweeps skipped while a payment held it
        swept += more
    rows = conn.execute("SELECT status, cancel_reason, paid_amount FROM shop.orders WHERE id = ANY(%s::uuid[])",
                        [[o.id for o in orders]]).fetchall()
    paid = sum(1 for r in answers if r.status == 201)
    assert sorted((s, reason) for s, reason, _ in rows) == sorted(
        [("paid", None)] * paid + [("cancelled", "payment_timeout")] * (16 - paid))
    assert swept == 16 - paid
    assert all((amount > 0) == (status == "paid") for status, _, amount in rows)
    assert_books_agree(conn, [shop["a"], shop["b"]])
