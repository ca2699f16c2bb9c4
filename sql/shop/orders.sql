-- Orders after checkout (migration 0025, docs/orders.md "Orders after checkout"): the order as the API
-- shows it, the status machine and its side effects (one trigger), the snapshot guard, and the shared
-- steps of payments, fulfilments, cancellations and returns. Repeatable: applied after the migrations.
--
-- Locking, everywhere: the order row first (SELECT ... FOR UPDATE, or the UPDATE of its status), then
-- stock rows in (variant_id, warehouse_id) order, as checkout locks them, so the two never deadlock.
-- Written in PL/pgSQL where a body names functions of schemas applied after shop (auth, integration).

-- == shapes ==========================================================================================
CREATE OR REPLACE FUNCTION shop.money_json(p_amount bigint, p_currency text)
RETURNS jsonb
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT jsonb_build_object('amount', p_amount, 'currency', p_currency)
$$;
COMMENT ON FUNCTION shop.money_json(bigint, text) IS
'Money as the API shows it: {amount (integer minor units), currency}. Returns jsonb (amount NULL for NULL).';

CREATE OR REPLACE FUNCTION shop.order_json(p_order_id uuid)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    -- As the caller: row-level security decides which order (a customer's own, any for order staff and
    -- for the definer functions that place and change orders). Not visible: NULL.
    RETURN (
        SELECT jsonb_build_object(
            'id', o.id,
            'number', o.number,
            'status', o.status,
            'payment_status', o.payment_status,
            'fulfillment_status', o.fulfillment_status,
            'email', o.email,
            'currency', o.currency,
            'items', coalesce((
                SELECT jsonb_agg(jsonb_build_object(
                    'id', i.id,
                    'variant_id', i.variant_id,
                    'product_id', i.product_id,
                    'sku', i.sku,
                    'name', i.name,
                    'quantity', i.quantity,
                    'unit_price', shop.money_json(i.unit_price, o.currency),
                    'discount', shop.money_json(i.discount, o.currency),
                    'line_total', shop.money_json(i.line_total, o.currency),
                    'tax', shop.money_json(i.tax, o.currency),
                    'tax_rate_percent', i.tax_rate_percent,
                    'quantity_fulfilled', i.quantity_fulfilled,
                    'quantity_returned', i.quantity_returned
                ) ORDER BY i.position)
                FROM shop.order_items AS i
                WHERE i.order_id = o.id
            ), '[]'),
            'subtotal', shop.money_json(o.subtotal, o.currency),
            'discount_total', shop.money_json(o.discount_total, o.currency),
            'shipping_total', shop.money_json(o.shipping_total, o.currency),
            'tax_total', shop.money_json(o.tax_total, o.currency),
            'total', shop.money_json(o.total, o.currency),
            'prices_include_tax', o.prices_include_tax,
            'paid_amount', shop.money_json(o.paid_amount, o.currency),
            'refunded_amount', shop.money_json(o.refunded_amount, o.currency),
            -- Money taken for an order that was cancelled and not yet given back (issue 8 refunds it).
            'refund_due', shop.money_json(
                CASE WHEN o.status = 'cancelled' THEN o.paid_amount - o.refunded_amount ELSE 0 END, o.currency
            ),
            'shipping_address', o.shipping_address,
            'shipping_method', jsonb_build_object('code', o.shipping_method_code, 'name', o.shipping_method_name),
            'payment_method', o.payment_method,
            'coupon_code', o.coupon_code,
            'payment_due_at', auth.to_rfc3339(o.payment_due_at),
            'created_at', auth.to_rfc3339(o.created_at),
            'updated_at', auth.to_rfc3339(o.updated_at),
            'paid_at', auth.to_rfc3339(o.paid_at),
            'fulfilled_at', auth.to_rfc3339(o.fulfilled_at),
            'cancelled_at', auth.to_rfc3339(o.cancelled_at),
            'cancel_reason', o.cancel_reason,
            'fulfillments', coalesce((
                SELECT jsonb_agg(jsonb_build_object(
                    'id', f.id,
                    'carrier', f.carrier,
                    'tracking_number', f.tracking_number,
                    'items', coalesce((
                        SELECT jsonb_agg(jsonb_build_object('item_id', fi.order_item_id, 'quantity', fi.quantity)
                            ORDER BY fi.order_item_id)
                        FROM (
                            SELECT x.order_item_id, sum(x.quantity)::integer AS quantity
                            FROM shop.fulfillment_items AS x
                            WHERE x.fulfillment_id = f.id
                            GROUP BY x.order_item_id
                        ) AS fi
                    ), '[]'),
                    'created_at', auth.to_rfc3339(f.created_at)
                ) ORDER BY f.created_at, f.id)
                FROM shop.fulfillments AS f
                WHERE f.order_id = o.id
            ), '[]'),
            'payments', coalesce((
                SELECT jsonb_agg(jsonb_build_object(
                    'id', p.id,
                    'provider', p.provider,
                    'status', p.status,
                    'amount', shop.money_json(p.amount, p.currency),
                    'captured_amount', shop.money_json(p.captured_amount, p.currency),
                    'refunded_amount', shop.money_json(p.refunded_amount, p.currency),
                    'note', p.note,
                    'created_at', auth.to_rfc3339(p.created_at)
                ) ORDER BY p.created_at, p.id)
                FROM shop.payments AS p
                WHERE p.order_id = o.id
            ), '[]'),
            'returns', coalesce((
                SELECT jsonb_agg(jsonb_build_object(
                    'id', r.id,
                    'restock', r.restock,
                    'refund_amount', shop.money_json(r.refund_amount, o.currency),
                    'reason', r.reason,
                    'items', coalesce((
                        SELECT jsonb_agg(jsonb_build_object('item_id', ri.order_item_id, 'quantity', ri.quantity)
                            ORDER BY ri.order_item_id)
                        FROM shop.return_items AS ri
                        WHERE ri.return_id = r.id
                    ), '[]'),
                    'created_at', auth.to_rfc3339(r.created_at)
                ) ORDER BY r.created_at, r.id)
                FROM shop.returns AS r
                WHERE r.order_id = o.id
            ), '[]')
        )
        FROM shop.orders AS o
        WHERE o.id = p_order_id
    );
END
$$;
COMMENT ON FUNCTION shop.order_json(uuid) IS
'An order as the API shows it: {id, number, status, payment_status, fulfillment_status, email, currency, '
'items: [{id, variant_id, product_id, sku, name, quantity, unit_price, discount, line_total, tax, '
'tax_rate_percent, quantity_fulfilled, quantity_returned}], subtotal, discount_total, shipping_total, '
'tax_total, total, prices_include_tax, paid_amount, refunded_amount, refund_due (paid and not given back '
'on a cancelled order), shipping_address, shipping_method: {code, name}, payment_method, coupon_code, '
'payment_due_at, created_at, updated_at, paid_at, fulfilled_at, cancelled_at, cancel_reason, fulfillments: '
'[{id, carrier, tracking_number, items: [{item_id, quantity}], created_at}], payments: [{id, provider, '
'status, amount, captured_amount, refunded_amount, note, created_at}], returns: [{id, restock, '
'refund_amount, reason, items, created_at}]}, money as {amount, currency}. Reads as the caller (RLS): NULL '
'when the order is unknown or not the caller''s to see.';

CREATE OR REPLACE FUNCTION shop.order_summary_json(o shop.orders)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    RETURN jsonb_build_object(
        'id', o.id,
        'number', o.number,
        'status', o.status,
        'payment_status', o.payment_status,
        'fulfillment_status', o.fulfillment_status,
        'email', o.email,
        'currency', o.currency,
        'item_count', (SELECT coalesce(sum(i.quantity), 0) FROM shop.order_items AS i WHERE i.order_id = o.id),
        'total', shop.money_json(o.total, o.currency),
        'paid_amount', shop.money_json(o.paid_amount, o.currency),
        'payment_method', o.payment_method,
        'created_at', auth.to_rfc3339(o.created_at),
        'updated_at', auth.to_rfc3339(o.updated_at)
    );
END
$$;
COMMENT ON FUNCTION shop.order_summary_json(shop.orders) IS
'An order in a list: {id, number, status, payment_status, fulfillment_status, email, currency, item_count '
'(units), total, paid_amount, payment_method, created_at, updated_at}. Returns jsonb.';

-- == grants ==========================================================================================
REVOKE ALL ON FUNCTION shop.money_json(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.money_json(bigint, text) TO postcart_anon, postcart_customer, postcart_staff;
REVOKE ALL ON FUNCTION shop.order_json(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.order_json(uuid) TO postcart_customer, order_manager, support_agent;
REVOKE ALL ON FUNCTION shop.order_summary_json(shop.orders) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.order_summary_json(shop.orders) TO postcart_customer, order_manager, support_agent;
