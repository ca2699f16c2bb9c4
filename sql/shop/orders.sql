-- Orders after checkout (migration 0025, docs/orders.md "Orders after checkout"): the order as the API
-- shows it, the status machine and its side effects (one trigger), the snapshot guard, and the shared
-- steps of payments, fulfilments, cancellations and returns. Repeatable: applied after the migrations.
--
-- Locking, everywhere: the order row first (SELECT ... FOR UPDATE, or the UPDATE of its status), then
-- stock rows in (variant_id, warehouse_id) order, as checkout locks them, so the two never deadlock.
-- Written in PL/pgSQL where a body names functions of schemas applied after shop (auth, integration).

-- == shapes ==========================================================================================

CREATE OR REPLACE FUNCTION shop.order_json_of(o shop.orders)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    -- The lines, fulfilments, payments and returns are read as the caller (row-level security).
    RETURN jsonb_build_object(
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
        -- builtin, external (a tax service's quote) or builtin_fallback (the service failed: check it).
        'tax_source', o.tax_source,
        'tax_fallback_reason', o.tax_fallback_reason,
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
                'service', f.carrier_service,
                'label_status', f.label_status,
                'label_url', f.label_url,
                'label_error', f.label_error,
                'tracking_status', f.tracking_status,
                'delivered_at', auth.to_rfc3339(f.delivered_at),
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
    );
END
$$;
COMMENT ON FUNCTION shop.order_json_of(shop.orders) IS
'The order row o as the API shows it: {id, number, status, payment_status, fulfillment_status, email, currency, '
'items: [{id, variant_id, product_id, sku, name, quantity, unit_price, discount, line_total, tax, '
'tax_rate_percent, quantity_fulfilled, quantity_returned}], subtotal, discount_total, shipping_total, '
'tax_total, total, prices_include_tax, tax_source, tax_fallback_reason, paid_amount, refunded_amount, '
'refund_due (paid and not given back '
'on a cancelled order), shipping_address, shipping_method: {code, name}, payment_method, coupon_code, '
'payment_due_at, created_at, updated_at, paid_at, fulfilled_at, cancelled_at, cancel_reason, fulfillments: '
'[{id, carrier, tracking_number, service, label_status, label_url, label_error, tracking_status, '
'delivered_at, items: [{item_id, quantity}], created_at}], payments: [{id, provider, '
'status, amount, captured_amount, refunded_amount, note, created_at}], returns: [{id, restock, '
'refund_amount, reason, items, created_at}]}, money as {amount, currency}. Reads its lines, '
'fulfilments, payments and returns as the caller (RLS). Used by shop.order_json, and by checkout before the '
'order row is written.';

CREATE OR REPLACE FUNCTION shop.order_json(p_order_id uuid)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    -- As the caller: row-level security decides which order (a customer's own, any for order staff and
    -- for the definer functions that place and change orders). Not visible: NULL.
    RETURN (SELECT shop.order_json_of(o) FROM shop.orders AS o WHERE o.id = p_order_id);
END
$$;
COMMENT ON FUNCTION shop.order_json(uuid) IS
'The order p_order_id as the API shows it (shop.order_json_of). Reads as the caller (RLS): NULL when the '
'order is unknown or not the caller''s to see.';

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

-- == who is calling ==================================================================================
CREATE OR REPLACE FUNCTION shop.caller_holds(p_role name)
RETURNS boolean
LANGUAGE sql
STABLE
AS $$
    -- The role setting is the caller's even inside a SECURITY DEFINER function (which changes only
    -- current_user); without SET ROLE the caller is the session user.
    SELECT pg_has_role(coalesce(nullif(current_setting('role'), 'none'), session_user), p_role, 'MEMBER')
$$;
COMMENT ON FUNCTION shop.caller_holds(name) IS
'Whether the calling role (the role setting, also inside SECURITY DEFINER functions; else the session '
'user) is a member of p_role, e.g. order_manager. Returns boolean.';

-- == locking =========================================================================================
CREATE OR REPLACE FUNCTION shop.lock_order(p_order_id uuid)
RETURNS shop.orders
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    locked shop.orders;
BEGIN
    SELECT o.* INTO locked FROM shop.orders AS o WHERE o.id = p_order_id FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM shop.fail(404, 'order_not_found', jsonb_build_object('id', p_order_id), 'There is no such order.');
    END IF;
    RETURN locked;
END
$$;
COMMENT ON FUNCTION shop.lock_order(uuid) IS
'Locks an order row until the end of the transaction (the first lock every order change takes) and '
'returns it; PT404 order_not_found when there is none (as the caller sees them).';

CREATE OR REPLACE FUNCTION shop.lock_order_holds(p_order_ids uuid[])
RETURNS void
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    -- Stock rows in checkout's order, then promotions by id: what releasing these orders will write.
    PERFORM
    FROM shop.stock_levels AS s
    WHERE (s.variant_id, s.warehouse_id) IN (
        SELECT a.variant_id, a.warehouse_id
        FROM shop.order_items AS i
        INNER JOIN shop.order_allocations AS a ON i.id = a.order_item_id
        WHERE i.order_id = ANY(p_order_ids) AND a.quantity > a.quantity_fulfilled + a.quantity_released
    )
    ORDER BY s.variant_id, s.warehouse_id
    FOR UPDATE;
    PERFORM
    FROM shop.promotions AS p
    WHERE p.id IN (
        SELECT r.promotion_id
        FROM shop.promotion_redemptions AS r
        WHERE r.order_id = ANY(p_order_ids) AND r.released_at IS NULL
    )
    ORDER BY p.id
    FOR UPDATE;
END
$$;
COMMENT ON FUNCTION shop.lock_order_holds(uuid[]) IS
'Locks what cancelling these (already locked) orders releases: the stock rows of their open allocations '
'in (variant_id, warehouse_id) order, as checkout locks them, then the promotions of their live '
'redemptions by id. Returns nothing.';

-- == releasing what an order holds (cancellation, the unpaid-order sweeper) ==========================
CREATE OR REPLACE FUNCTION shop.release_order(p_order_id uuid)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
BEGIN
    PERFORM shop.lock_order_holds(ARRAY[p_order_id]);
    -- Every open allocation gives its units back: reserved down on its stock row, quantity_released up.
    UPDATE shop.stock_levels AS s
    SET reserved = s.reserved - h.open
    FROM (
        SELECT a.variant_id, a.warehouse_id, sum(a.quantity - a.quantity_fulfilled - a.quantity_released) AS open
        FROM shop.order_items AS i
        INNER JOIN shop.order_allocations AS a ON i.id = a.order_item_id
        WHERE i.order_id = p_order_id AND a.quantity > a.quantity_fulfilled + a.quantity_released
        GROUP BY a.variant_id, a.warehouse_id
    ) AS h
    WHERE s.variant_id = h.variant_id AND s.warehouse_id = h.warehouse_id;
    UPDATE shop.order_allocations AS a
    SET quantity_released = a.quantity - a.quantity_fulfilled
    FROM shop.order_items AS i
    WHERE
        i.id = a.order_item_id AND i.order_id = p_order_id
        AND a.quantity > a.quantity_fulfilled + a.quantity_released;

    -- Coupon uses come back: the redemption stops counting, and a limited promotion's count goes down.
    PERFORM shop.release_promotions(p_order_id);
END
$$;
COMMENT ON FUNCTION shop.release_order(uuid) IS
'Gives back what an order holds (called when it is cancelled): every open allocation is released '
'(stock_levels.reserved down, quantity_released up) and every live promotion redemption released '
'(released_at set; times_used down for promotions with a usage_limit), locking stock rows in '
'(variant_id, warehouse_id) order. Internal (no grants). Returns nothing.';

-- == the status machine ==============================================================================
CREATE OR REPLACE FUNCTION shop.tg_orders__transition()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    payload jsonb;
BEGIN
    IF NOT EXISTS (
        SELECT FROM shop.order_transitions AS t WHERE t.from_status = OLD.status AND t.to_status = NEW.status
    )
    -- Only cash on delivery ships before it is paid.
    OR (OLD.status = 'pending_payment' AND NEW.status = 'fulfilled' AND OLD.payment_method <> 'cash_on_delivery')
    -- Once a unit has shipped, the order is returned, not cancelled.
    OR (NEW.status = 'cancelled' AND OLD.fulfillment_status <> 'unfulfilled') THEN
        PERFORM shop.fail(
            409, 'invalid_transition',
            jsonb_build_object(
                'from', OLD.status, 'to', NEW.status, 'payment_method', OLD.payment_method,
                'fulfillment_status', OLD.fulfillment_status
            ),
            'Orders move pending_payment -> paid -> fulfilled -> completed, are cancelled before anything '
            'ships, and are returned or refunded after; shop.order_transitions lists every allowed change.'
        );
    END IF;

    NEW.updated_at := now();
    payload := jsonb_build_object(
        'order_id', NEW.id, 'number', NEW.number, 'from', OLD.status, 'status', NEW.status,
        'payment_status', NEW.payment_status, 'fulfillment_status', NEW.fulfillment_status,
        'total', shop.money_json(NEW.total, NEW.currency), 'paid_amount', shop.money_json(NEW.paid_amount, NEW.currency)
    );
    CASE NEW.status
        WHEN 'paid' THEN
            NEW.paid_at := coalesce(NEW.paid_at, now());
        WHEN 'fulfilled' THEN
            NEW.fulfilled_at := now();
            payload := payload || jsonb_build_object('fulfillments', coalesce((
                SELECT jsonb_agg(
                    jsonb_build_object('id', f.id, 'carrier', f.carrier, 'tracking_number', f.tracking_number)
                    ORDER BY f.created_at, f.id
                )
                FROM shop.fulfillments AS f
                WHERE f.order_id = NEW.id
            ), '[]'));
        WHEN 'cancelled' THEN
            NEW.cancelled_at := now();
            NEW.cancel_reason := coalesce(NEW.cancel_reason, 'cancelled');
            PERFORM shop.release_order(NEW.id);
            payload := payload || jsonb_build_object(
                'reason', NEW.cancel_reason,
                'refund_due', shop.money_json(NEW.paid_amount - NEW.refunded_amount, NEW.currency)
            );
        ELSE
            NULL;
    END CASE;
    PERFORM integration.emit('order.' || NEW.status, NEW.id, payload);
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION shop.tg_orders__transition() IS
'BEFORE UPDATE OF status trigger on shop.orders, the one place a status change is checked and acted on, '
'whoever writes it (API, worker or plain SQL): a change not in shop.order_transitions, pending_payment -> '
'fulfilled for any payment method but cash_on_delivery, or a cancellation after units shipped is PT409 '
'invalid_transition {from, to, payment_method, fulfillment_status}. Sets updated_at and paid_at / '
'fulfilled_at / cancelled_at (and a default cancel_reason), releases the stock and coupon uses of a '
'cancelled order (shop.release_order), and writes the event order.<new status> in the same transaction. '
'Returns the row.';

CREATE OR REPLACE FUNCTION shop.tg_orders__snapshot()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM shop.fail(
            409, 'order_not_deletable', jsonb_build_object('table', TG_TABLE_NAME),
            'Orders and their lines are kept for accounting: cancel the order instead.'
        );
    END IF;
    PERFORM shop.fail(
        409, 'order_snapshot_immutable', jsonb_build_object('table', TG_TABLE_NAME, 'id', OLD.id),
        'The lines, prices and totals of an order are what the customer agreed to at checkout; record a '
        'payment, shipment, return or cancellation instead.'
    );
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION shop.tg_orders__snapshot() IS
'BEFORE UPDATE (of snapshot columns) and BEFORE DELETE trigger on shop.orders and shop.order_items: the '
'checkout snapshot (lines, prices, discounts, tax, totals, number, currency) never changes and orders are '
'never deleted, whoever asks: PT409 order_snapshot_immutable / order_not_deletable. Never returns.';

-- == request arguments ===============================================================================
CREATE OR REPLACE FUNCTION shop.order_id_arg(p_args jsonb)
RETURNS uuid
LANGUAGE plpgsql
STABLE  -- not IMMUTABLE: a constant call would raise while being planned
AS $$
BEGIN
    IF p_args ->> 'id' ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
        RETURN (p_args ->> 'id')::uuid;
    END IF;
    -- Not an id at all: as unknown as an order that does not exist.
    PERFORM shop.fail(404, 'order_not_found', jsonb_build_object('id', p_args ->> 'id'), 'There is no such order.');
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION shop.order_id_arg(jsonb) IS
'The order id of a request (p_args.id, from the path) as uuid; PT404 order_not_found when it is not one.';

CREATE OR REPLACE FUNCTION shop.list_orders(p_args jsonb, p_customer_id uuid, p_status text)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    page_size integer := shop.page_size(p_args);
    last_seen jsonb;
    after_at timestamptz;
    after_id uuid;
    result jsonb;
BEGIN
    IF page_size IS NULL THEN
        PERFORM shop.fail(
            400, 'validation_failed', '{"fields": {"limit": "must be between 1 and 100"}}',
            'Ask for 1 to 100 orders per page.'
        );
    END IF;
    last_seen := shop.cursor_after(p_args, '{"at": "timestamptz", "id": "uuid"}');
    after_at := (last_seen ->> 'at')::timestamptz;
    after_id := (last_seen ->> 'id')::uuid;

    -- Newest first, down (customer_id | status, created_at, id) or (created_at, id); RLS applies.
    WITH page AS (
        SELECT o.created_at, o.id, shop.order_summary_json(o) AS item,
            row_number() OVER (ORDER BY o.created_at DESC, o.id DESC) AS n
        FROM shop.orders AS o
        WHERE (p_customer_id IS NULL OR o.customer_id = p_customer_id)
            AND (p_status IS NULL OR o.status = p_status)
            AND (after_id IS NULL OR (o.created_at, o.id) < (after_at, after_id))
        ORDER BY o.created_at DESC, o.id DESC
        LIMIT page_size + 1
    )

    SELECT jsonb_build_object(
        'items', coalesce(jsonb_agg(p.item ORDER BY p.n) FILTER (WHERE p.n <= page_size), '[]'),
        'next_cursor', CASE WHEN count(*) > page_size THEN
            shop.encode_cursor((
                SELECT jsonb_build_object('at', auth.to_rfc3339(l.created_at), 'id', l.id)
                FROM page AS l WHERE l.n = page_size
            ))
        END
    ) INTO result
    FROM page AS p;
    RETURN result;
END
$$;
COMMENT ON FUNCTION shop.list_orders(jsonb, uuid, text) IS
'A page of orders as the caller may see them (RLS), newest first (created_at, id), only p_customer_id''s '
'and only those in p_status when given: {items: [order summaries], next_cursor}. p_args.limit (1..100, '
'default 20) and p_args.cursor; PT400 validation_failed / invalid_cursor.';

-- == order lines in a request: [{item_id, quantity}] =================================================
CREATE OR REPLACE FUNCTION shop.order_lines_arg(p_args jsonb, p_order_id uuid)
RETURNS TABLE (item_id uuid, quantity integer)
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    problem text;
BEGIN
    IF jsonb_typeof(p_args -> 'items') IS DISTINCT FROM 'array' OR jsonb_array_length(p_args -> 'items') = 0 THEN
        problem := 'must be a non-empty list of {item_id, quantity}';
    ELSIF jsonb_array_length(p_args -> 'items') > 999 THEN
        problem := 'must list at most 999 lines';
    ELSE
        SELECT CASE
            WHEN jsonb_typeof(e.value) IS DISTINCT FROM 'object' THEN format('item %s must be {item_id, quantity}', e.n)
            WHEN e.value ->> 'item_id' IS NULL OR jsonb_typeof(e.value -> 'item_id') <> 'string'
                OR e.value ->> 'item_id' !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                THEN format('item %s: item_id must be the id of a line of this order', e.n)
            WHEN shop.whole_number_error(e.value, 'quantity', TRUE, 1, 999) IS NOT NULL
                THEN format('item %s: quantity %s', e.n, shop.whole_number_error(e.value, 'quantity', TRUE, 1, 999))
        END
        INTO problem
        FROM jsonb_array_elements(p_args -> 'items') WITH ORDINALITY AS e (value, n)
        WHERE jsonb_typeof(e.value) IS DISTINCT FROM 'object'
            OR e.value ->> 'item_id' IS NULL OR jsonb_typeof(e.value -> 'item_id') <> 'string'
            OR e.value ->> 'item_id' !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
            OR shop.whole_number_error(e.value, 'quantity', TRUE, 1, 999) IS NOT NULL
        ORDER BY e.n
        LIMIT 1;
    END IF;
    IF problem IS NULL THEN
        SELECT CASE
            WHEN count(DISTINCT lower(e.value ->> 'item_id')) < count(*) THEN 'must name each line once'
            WHEN count(i.id) < count(*) THEN 'names a line that is not part of this order'
        END
        INTO problem
        FROM jsonb_array_elements(p_args -> 'items') AS e (value)
        LEFT JOIN shop.order_items AS i ON i.id = (e.value ->> 'item_id')::uuid AND i.order_id = p_order_id;
    END IF;
    IF problem IS NOT NULL THEN
        PERFORM shop.fail(
            422, 'validation_failed', jsonb_build_object('fields', jsonb_build_object('items', problem)),
            'List the order lines as items: [{item_id, quantity}], each line once.'
        );
    END IF;
    RETURN QUERY
    SELECT (e.value ->> 'item_id')::uuid, (e.value ->> 'quantity')::integer
    FROM jsonb_array_elements(p_args -> 'items') AS e (value);
END
$$;
COMMENT ON FUNCTION shop.order_lines_arg(jsonb, uuid) IS
'The lines a shipment or return names in p_args.items ([{item_id, quantity 1..999}], each a line of order '
'p_order_id, each once), as rows (item_id, quantity); PT422 validation_failed naming details.fields.items '
'otherwise.';

-- == the unpaid-order sweeper ========================================================================
CREATE OR REPLACE FUNCTION shop.sweep_unpaid_orders(p_batch_size integer DEFAULT 100)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    due uuid[];
    swept integer;
BEGIN
    PERFORM shop.check_batch_size(p_batch_size);
    -- Orders first (skipping those a request holds: it may be paying them), then everything their
    -- cancellations release, in one sorted pass: the same order checkout and the order routes lock in.
    SELECT array_agg(d.id) INTO due
    FROM (
        SELECT o.id
        FROM shop.orders AS o
        WHERE o.status = 'pending_payment' AND o.payment_due_at < now() AND o.fulfillment_status = 'unfulfilled'
        ORDER BY o.payment_due_at
        LIMIT p_batch_size
        FOR UPDATE SKIP LOCKED
    ) AS d;
    IF due IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM shop.lock_order_holds(due);
    -- The status trigger releases each order's stock and coupon uses and writes order.cancelled.
    UPDATE shop.orders AS o
    SET status = 'cancelled', cancel_reason = 'payment_timeout'
    WHERE o.id = ANY(due);
    GET DIAGNOSTICS swept = ROW_COUNT;
    RETURN swept;
END
$$;
COMMENT ON FUNCTION shop.sweep_unpaid_orders(integer) IS
'For postcart_worker: cancels up to p_batch_size (1 to 10000, default 100) orders still pending_payment '
'past their payment_due_at (set at checkout from the payment method''s window) with reason '
'payment_timeout, oldest due first, skipping orders another transaction holds; each cancellation releases '
'stock and coupon uses exactly like one asked for (the status trigger). Returns the number cancelled.';

-- == triggers ========================================================================================
CREATE OR REPLACE TRIGGER _100_snapshot
BEFORE UPDATE OF number, cart_id, currency, payment_method, prices_include_tax, subtotal, discount_total,
shipping_total, tax_total, total, shipping_tax, shipping_method_code, shipping_method_name, coupon_code,
created_at ON shop.orders
FOR EACH ROW
WHEN (
    (
        old.number, old.cart_id, old.currency, old.payment_method, old.prices_include_tax, old.subtotal,
        old.discount_total, old.shipping_total, old.tax_total, old.total, old.shipping_tax,
        old.shipping_method_code, old.shipping_method_name, old.coupon_code, old.created_at
    ) IS DISTINCT FROM (
        new.number, new.cart_id, new.currency, new.payment_method, new.prices_include_tax, new.subtotal,
        new.discount_total, new.shipping_total, new.tax_total, new.total, new.shipping_tax,
        new.shipping_method_code, new.shipping_method_name, new.coupon_code, new.created_at
    )
)
EXECUTE FUNCTION shop.tg_orders__snapshot();
CREATE OR REPLACE TRIGGER _100_not_deleted
BEFORE DELETE ON shop.orders
FOR EACH ROW EXECUTE FUNCTION shop.tg_orders__snapshot();
CREATE OR REPLACE TRIGGER _200_set_updated_at
BEFORE UPDATE ON shop.orders
FOR EACH ROW EXECUTE FUNCTION shop.tg__set_updated_at();
CREATE OR REPLACE TRIGGER _500_transition
BEFORE UPDATE OF status ON shop.orders
FOR EACH ROW WHEN (old.status IS DISTINCT FROM new.status)
EXECUTE FUNCTION shop.tg_orders__transition();

-- Lines: only what shipments and returns count changes, and a deleted variant or product may go NULL.
CREATE OR REPLACE TRIGGER _100_snapshot
BEFORE UPDATE ON shop.order_items
FOR EACH ROW
WHEN (
    (
        old.id, old.order_id, old.position, old.sku, old.name, old.quantity, old.unit_price, old.discount,
        old.line_total, old.tax_class, old.tax_rate_percent, old.tax
    ) IS DISTINCT FROM (
        new.id, new.order_id, new.position, new.sku, new.name, new.quantity, new.unit_price, new.discount,
        new.line_total, new.tax_class, new.tax_rate_percent, new.tax
    )
    OR (new.variant_id IS NOT NULL AND new.variant_id IS DISTINCT FROM old.variant_id)
    OR (new.product_id IS NOT NULL AND new.product_id IS DISTINCT FROM old.product_id)
)
EXECUTE FUNCTION shop.tg_orders__snapshot();
CREATE OR REPLACE TRIGGER _100_not_deleted
BEFORE DELETE ON shop.order_items
FOR EACH ROW EXECUTE FUNCTION shop.tg_orders__snapshot();

CREATE OR REPLACE TRIGGER _200_set_updated_at
BEFORE UPDATE ON shop.payments
FOR EACH ROW EXECUTE FUNCTION shop.tg__set_updated_at();

-- == grants ==========================================================================================
REVOKE ALL ON FUNCTION shop.order_json(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.order_json(uuid) TO postcart_customer, order_manager, support_agent;
REVOKE ALL ON FUNCTION shop.order_json_of(shop.orders) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.order_json_of(shop.orders) TO postcart_customer, order_manager, support_agent;
REVOKE ALL ON FUNCTION shop.order_summary_json(shop.orders) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.order_summary_json(shop.orders) TO postcart_customer, order_manager, support_agent;
REVOKE ALL ON FUNCTION shop.caller_holds(name) FROM PUBLIC;
REVOKE ALL ON FUNCTION shop.lock_order(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION shop.lock_order_holds(uuid[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION shop.release_order(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION shop.tg_orders__transition() FROM PUBLIC;
REVOKE ALL ON FUNCTION shop.tg_orders__snapshot() FROM PUBLIC;
REVOKE ALL ON FUNCTION shop.order_lines_arg(jsonb, uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION shop.order_id_arg(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.order_id_arg(jsonb) TO postcart_customer, order_manager, support_agent;
REVOKE ALL ON FUNCTION shop.list_orders(jsonb, uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.list_orders(jsonb, uuid, text) TO postcart_customer, order_manager, support_agent;
REVOKE ALL ON FUNCTION shop.sweep_unpaid_orders(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.sweep_unpaid_orders(integer) TO postcart_worker;
