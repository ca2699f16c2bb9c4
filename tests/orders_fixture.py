"""Places orders the way checkout does, for the tests of what happens after it (until those tests switch to
real checkouts): as the superuser, one transaction writes an ordered cart, the order with the next number,
its lines, their allocations by warehouse priority and `reserved` on the stock rows (locked in
(variant_id, warehouse_id) order, as checkout locks them). Prices are taken as given; tax is left at 0."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

import psycopg


@dataclass
class Line:
    variant_id: str
    quantity: int
    unit_price: int = 1000
    discount: int = 0


@dataclass
class Placed:
    id: str
    number: int
    total: int
    item_ids: list[str] = field(default_factory=list)


ADDRESS = {"full_name": "Ada Lovelace", "line1": "1 Analytical Street", "city": "London",
           "postal_code": "N1 1AA", "country": "GB"}


def place_order(conn: psycopg.Connection, lines: list[Line], *, customer_id: Any = None,
                email: str = "buyer@example.com", currency: str = "EUR", payment_method: str = "manual",
                shipping_total: int = 0, payment_due_in: str | None = "7 days",
                promotion_ids: tuple[Any, ...] = ()) -> Placed:
    """One order for lines (each allocated across the warehouses holding its variant, lowest priority
    first); raises when a line cannot be reserved in full. Redemptions are written for promotion_ids."""
    order_id = str(uuid.uuid4())
    subtotal = sum(line.quantity * line.unit_price for line in lines)
    discount_total = sum(line.discount for line in lines)
    total = subtotal - discount_total + shipping_total
    with conn.transaction():
        conn.execute("SET CONSTRAINTS ALL DEFERRED")  # the order row comes last, with its number
        cart_id = conn.execute(
            "INSERT INTO shop.carts (customer_id, token_hash, currency, status, order_id, email)"
            " VALUES (%s, %s, %s, 'ordered', %s, %s) RETURNING id",
            [customer_id, None if customer_id else hashlib.sha256(secrets.token_bytes(16)).digest(),
             currency, order_id, email],
        ).fetchone()[0]
        item_ids = []
        for position, line in enumerate(lines, start=1):
            item_ids.append(str(conn.execute(
                "INSERT INTO shop.order_items (order_id, position, variant_id, product_id, sku, name, quantity,"
                " unit_price, discount, line_total, tax_class)"
                " SELECT %s, %s, v.id, v.product_id, v.sku, v.name, %s, %s, %s, %s, 'standard'"
                " FROM shop.product_variants v WHERE v.id = %s RETURNING id",
                [order_id, position, line.quantity, line.unit_price, line.discount,
                 line.quantity * line.unit_price - line.discount, line.variant_id],
            ).fetchone()[0]))
        # Stock rows locked in checkout's order, then each line takes what is available by priority.
        conn.execute(
            "SELECT 1 FROM shop.stock_levels WHERE variant_id = ANY(%s::uuid[])"
            " ORDER BY variant_id, warehouse_id FOR UPDATE",
            [[line.variant_id for line in lines]],
        )
        for item_id, line in zip(item_ids, lines):
            rows = conn.execute(
                "SELECT s.warehouse_id, greatest(s.on_hand - s.reserved, 0) FROM shop.stock_levels s"
                " JOIN shop.warehouses w ON w.id = s.warehouse_id WHERE s.variant_id = %s"
                " ORDER BY w.priority, w.code",
                [line.variant_id],
            ).fetchall()
            wanted = line.quantity
            for warehouse_id, available in rows:
                take = min(wanted, available)
                if take <= 0:
                    continue
                conn.execute(
                    "INSERT INTO shop.order_allocations (order_item_id, warehouse_id, variant_id, quantity)"
                    " VALUES (%s, %s, %s, %s)", [item_id, warehouse_id, line.variant_id, take])
                conn.execute(
                    "UPDATE shop.stock_levels SET reserved = reserved + %s WHERE variant_id = %s AND warehouse_id = %s",
                    [take, line.variant_id, warehouse_id])
                wanted -= take
            if wanted:
                raise ValueError(f"fixture: {wanted} units of {line.variant_id} not in stock")
        for promotion_id in promotion_ids:
            conn.execute(
                "INSERT INTO shop.promotion_redemptions (promotion_id, order_id, customer_id, email, amount)"
                " VALUES (%s, %s, %s, %s, 0)", [promotion_id, order_id, customer_id, email])
            conn.execute("UPDATE shop.promotions SET times_used = times_used + 1 WHERE id = %s", [promotion_id])
        number = conn.execute(
            "UPDATE shop.order_numbers SET last_number = last_number + 1 RETURNING last_number").fetchone()[0]
        conn.execute(
            "INSERT INTO shop.orders (id, number, customer_id, cart_id, email, currency, payment_method,"
            " prices_include_tax, subtotal, discount_total, shipping_total, tax_total, total, shipping_address,"
            " shipping_method_code, shipping_method_name, payment_due_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, TRUE, %s, %s, %s, 0, %s, %s, 'standard', 'Standard',"
            " now() + %s::interval)",
            [order_id, number, customer_id, cart_id, email, currency, payment_method, subtotal, discount_total,
             shipping_total, total, psycopg.types.json.Jsonb(ADDRESS), payment_due_in],
        )
    return Placed(order_id, number, total, item_ids)


def remove_orders(conn: psycopg.Connection, order_ids: list[str]) -> None:
    """Test clean-up as the superuser: orders refuse DELETE to everyone, so they go (with their lines,
    payments, refunds, provider events, shipments, returns, redemptions and carts) with this session's triggers switched off. Stock
    and ledger rows are the caller's to remove."""
    with conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        ids = [str(i) for i in order_ids]
        conn.execute("DELETE FROM shop.return_items WHERE return_id IN (SELECT id FROM shop.returns"
                     " WHERE order_id = ANY(%s::uuid[]))", [ids])
        conn.execute("DELETE FROM shop.returns WHERE order_id = ANY(%s::uuid[])", [ids])
        conn.execute("DELETE FROM shop.fulfillment_items WHERE fulfillment_id IN (SELECT id FROM shop.fulfillments"
                     " WHERE order_id = ANY(%s::uuid[]))", [ids])
        conn.execute("DELETE FROM shop.fulfillments WHERE order_id = ANY(%s::uuid[])", [ids])
        conn.execute("DELETE FROM shop.refunds WHERE order_id = ANY(%s::uuid[])", [ids])
        conn.execute("DELETE FROM integration.provider_events WHERE payment_id IN (SELECT id FROM shop.payments"
                     " WHERE order_id = ANY(%s::uuid[]))", [ids])
        conn.execute("DELETE FROM shop.payments WHERE order_id = ANY(%s::uuid[])", [ids])
        conn.execute("DELETE FROM shop.promotion_redemptions WHERE order_id = ANY(%s::uuid[])", [ids])
        conn.execute("DELETE FROM shop.order_allocations WHERE order_item_id IN (SELECT id FROM shop.order_items"
                     " WHERE order_id = ANY(%s::uuid[]))", [ids])
        conn.execute("DELETE FROM shop.order_items WHERE order_id = ANY(%s::uuid[])", [ids])
        carts = [r[0] for r in conn.execute("DELETE FROM shop.orders WHERE id = ANY(%s::uuid[]) RETURNING cart_id",
                                            [ids])]
        conn.execute("DELETE FROM shop.carts WHERE id = ANY(%s::uuid[])", [carts])
        conn.execute("DELETE FROM integration.events WHERE subject_id = ANY(%s::uuid[])", [ids])
