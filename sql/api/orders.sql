-- Orders after checkout (docs/orders.md "Orders after checkout"): a customer's own orders, staff order
-- lists, cancellation, manual payments, shipments and returns. Reads are SECURITY INVOKER (row-level
-- security decides whose orders); writes are SECURITY DEFINER, since they move stock_levels.reserved,
-- which no caller may write, and EXECUTE is granted per permission role. The status trigger of
-- sql/shop/orders.sql checks and acts on every status change these make.

-- == GET /v1/orders/{id}, GET /v1/admin/orders/{id} ==================================================
CREATE OR REPLACE FUNCTION api.get_order(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    found jsonb := shop.order_json(shop.order_id_arg(args));
BEGIN
    IF found IS NULL THEN
        PERFORM shop.fail(404, 'order_not_found', jsonb_build_object('id', args ->> 'id'), 'There is no such order.');
    END IF;
    RETURN found;
END
$$;
COMMENT ON FUNCTION api.get_order(jsonb) IS
'One order (the order shape of docs/orders.md): a customer''s own, or any for order managers and support '
'agents. 404 order_not_found for an unknown id and for another customer''s order alike.';

CREATE OR REPLACE FUNCTION api.admin_get_order(args jsonb)
RETURNS jsonb
LANGUAGE sql
STABLE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
    SELECT api.get_order(args)
$$;
COMMENT ON FUNCTION api.admin_get_order(jsonb) IS
'Any order, for order managers and support agents (the order shape of docs/orders.md). 404 order_not_found.';

-- == GET /v1/me/orders, GET /v1/admin/orders ========================================================
CREATE OR REPLACE FUNCTION api.list_my_orders(args jsonb)
RETURNS jsonb
LANGUAGE sql
STABLE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
    SELECT shop.list_orders(args, coalesce(auth.current_customer_id(), '00000000-0000-0000-0000-000000000000'), NULL)
$$;
COMMENT ON FUNCTION api.list_my_orders(jsonb) IS
'The signed-in customer''s orders, newest first: {items: [{id, number, status, payment_status, '
'fulfillment_status, email, currency, item_count, total, paid_amount, payment_method, created_at, '
'updated_at}], next_cursor}; ?limit= (1..100, default 20) and ?cursor=. 400 validation_failed / '
'invalid_cursor.';

CREATE OR REPLACE FUNCTION api.admin_list_orders(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    wanted text := nullif(btrim(args ->> 'status'), '');
BEGIN
    IF wanted IS NOT NULL AND wanted NOT IN (
        'pending_payment', 'paid', 'fulfilled', 'completed', 'cancelled', 'returned', 'refunded'
    ) THEN
        PERFORM shop.fail(
            400, 'validation_failed',
            '{"fields": {"status": "must be pending_payment, paid, fulfilled, completed, cancelled, returned or refunded"}}',
            'Filter by one order status, or leave status out.'
        );
    END IF;
    RETURN shop.list_orders(args, NULL, wanted);
END
$$;
COMMENT ON FUNCTION api.admin_list_orders(jsonb) IS
'Orders of all customers (order_manager, support_agent), newest first, optionally only one ?status=: '
'{items: [order summaries as in /v1/me/orders], next_cursor}; ?limit= and ?cursor= as every list. 400 '
'validation_failed (status, limit) / invalid_cursor.';

-- == POST /v1/orders/{id}/cancel ====================================================================
CREATE OR REPLACE FUNCTION api.cancel_order(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    target shop.orders;
    problem text := auth.text_field_error(args, 'reason', FALSE, 1000);
    by_staff boolean := shop.caller_holds('order_manager');
BEGIN
    IF problem IS NOT NULL THEN
        PERFORM shop.fail(
            422, 'validation_failed', jsonb_build_object('fields', jsonb_build_object('reason', problem)),
            'A reason is optional text of at most 1000 characters.'
        );
    END IF;
    target := shop.lock_order(shop.order_id_arg(args));
    -- A customer cancels only its own orders; another's is as unknown as a missing one.
    IF NOT by_staff AND target.customer_id IS DISTINCT FROM auth.current_customer_id() THEN
        PERFORM shop.fail(404, 'order_not_found', jsonb_build_object('id', target.id), 'There is no such order.');
    END IF;
    IF target.status = 'cancelled' THEN
        PERFORM shop.fail(
            409, 'invalid_transition', jsonb_build_object('from', 'cancelled', 'to', 'cancelled'),
            'The order is already cancelled.'
        );
    END IF;
    -- The status trigger refuses what may not be cancelled and releases stock and coupon uses.
    UPDATE shop.orders AS o
    SET status = 'cancelled',
        cancel_reason = coalesce(
            nullif(btrim(args ->> 'reason'), ''),
            CASE WHEN by_staff THEN 'cancelled by staff' ELSE 'cancelled by the customer' END
        )
    WHERE o.id = target.id;
    RETURN shop.order_json(target.id);
END
$$;
COMMENT ON FUNCTION api.cancel_order(jsonb) IS
'Cancels an order (the customer''s own, or any for an order manager) while nothing of it has shipped: '
'{reason?} -> the order, status cancelled. Every open allocation is released (reserved down) and coupon '
'uses come back; a paid order keeps its payment_status and shows refund_due (refunds: issue 8). 404 '
'order_not_found (also another''s order); 409 invalid_transition (already cancelled, shipped, returned); 422 '
'validation_failed (reason).';

-- == POST /v1/admin/orders/{id}/payments ============================================================
CREATE OR REPLACE FUNCTION api.admin_record_payment(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    target shop.orders;
    fields jsonb;
    amount bigint;
    balance bigint;
BEGIN
    fields := jsonb_strip_nulls(jsonb_build_object(
        'amount', shop.whole_number_error(args, 'amount', TRUE, 1, 100000000000),
        'note', auth.text_field_error(args, 'note', FALSE, 1000)
    ));
    IF fields <> '{}' THEN
        PERFORM shop.fail(
            422, 'validation_failed', jsonb_build_object('fields', fields),
            'Send the amount received in minor units (a whole number above 0) and an optional note.'
        );
    END IF;
    amount := (args ->> 'amount')::bigint;
    target := shop.lock_order(shop.order_id_arg(args));
    IF target.status NOT IN ('pending_payment', 'paid', 'fulfilled') THEN
        PERFORM shop.fail(
            409, 'order_not_payable', jsonb_build_object('status', target.status),
            'Payments are recorded for orders that are not cancelled, returned, refunded or completed.'
        );
    END IF;
    balance := target.total - target.paid_amount;
    IF amount > balance THEN
        PERFORM shop.fail(
            409, 'overpayment',
            jsonb_build_object(
                'amount', shop.money_json(amount, target.currency), 'balance', shop.money_json(balance, target.currency)
            ),
            'The payment is more than the order still owes.'
        );
    END IF;
    -- Captured at once: the payments trigger (sql/shop/payments.sql) moves the order's paid_amount and
    -- payment_status, makes an unpaid order paid (order.paid) and writes payment.captured.
    INSERT INTO shop.payments (order_id, provider, status, amount, currency, captured_amount, note, staff_id)
    VALUES (
        target.id, 'manual', 'captured', amount, target.currency, amount, nullif(btrim(args ->> 'note'), ''),
        auth.current_account_id()
    );
    RETURN shop.order_json(target.id);
END
$$;
COMMENT ON FUNCTION api.admin_record_payment(jsonb) IS
'Records a manual payment received for an order (order_manager): {amount (minor units), note?} -> the '
'order. The payment is captured at once; paid_amount goes up and payment_status becomes partially_paid '
'or paid, and an unpaid order becomes paid when fully paid. Writes payment.captured (and order.paid). 404 '
'order_not_found; 409 overpayment (more than the open balance, details {amount, balance}) or '
'order_not_payable (cancelled and the like); 422 validation_failed.';

-- == POST /v1/admin/orders/{id}/fulfillments ========================================================
CREATE OR REPLACE FUNCTION api.admin_create_fulfillment(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    target shop.orders;
    fields jsonb;
    shipment shop.fulfillments;
    over record;
    all_shipped boolean;
    shipping jsonb;
    taking jsonb;
BEGIN
    fields := jsonb_strip_nulls(jsonb_build_object(
        'carrier', auth.text_field_error(args, 'carrier', FALSE, 100),
        'tracking_number', auth.text_field_error(args, 'tracking_number', FALSE, 100)
    ));
    IF fields <> '{}' THEN
        PERFORM shop.fail(
            422, 'validation_failed', jsonb_build_object('fields', fields),
            'carrier and tracking_number are optional text of at most 100 characters.'
        );
    END IF;
    target := shop.lock_order(shop.order_id_arg(args));
    -- The request's lines and, below, the units each allocation gives: jsonb arrays read back as rows
    -- (no temporary tables: a caller's session could have prepared one under the same name).
    SELECT jsonb_agg(to_jsonb(l)) INTO shipping FROM shop.order_lines_arg(args, target.id) AS l;
    IF NOT (target.status = 'paid' OR (target.status = 'pending_payment' AND target.payment_method = 'cash_on_delivery')) THEN
        PERFORM shop.fail(
            409, 'order_not_fulfillable',
            jsonb_build_object('status', target.status, 'payment_method', target.payment_method),
            'Only paid orders ship, or unpaid cash-on-delivery orders.'
        );
    END IF;
    SELECT i.id, s.quantity, i.quantity - i.quantity_fulfilled AS open INTO over
    FROM jsonb_to_recordset(shipping) AS s (item_id uuid, quantity integer)
    INNER JOIN shop.order_items AS i ON s.item_id = i.id
    WHERE s.quantity > i.quantity - i.quantity_fulfilled
    LIMIT 1;
    IF FOUND THEN
        PERFORM shop.fail(
            409, 'over_fulfillment', jsonb_build_object('item_id', over.id, 'quantity', over.quantity, 'open', over.open),
            'A line ships at most the units ordered and not yet shipped.'
        );
    END IF;

    -- Units come from the line's open allocations in warehouse priority order.
    SELECT jsonb_agg(jsonb_build_object(
        'item_id', c.order_item_id, 'variant_id', c.variant_id, 'warehouse_id', c.warehouse_id,
        'quantity', least(c.open, c.wanted - (c.running - c.open))
    ))
    INTO taking
    FROM (
        SELECT a.order_item_id, a.variant_id, a.warehouse_id, s.quantity AS wanted,
            a.quantity - a.quantity_fulfilled - a.quantity_released AS open,
            sum(a.quantity - a.quantity_fulfilled - a.quantity_released)
                OVER (PARTITION BY a.order_item_id ORDER BY w.priority, w.code) AS running
        FROM jsonb_to_recordset(shipping) AS s (item_id uuid, quantity integer)
        INNER JOIN shop.order_allocations AS a ON s.item_id = a.order_item_id
        INNER JOIN shop.warehouses AS w ON a.warehouse_id = w.id
        WHERE a.quantity > a.quantity_fulfilled + a.quantity_released
    ) AS c
    WHERE c.running - c.open < c.wanted;

    -- Stock rows in checkout's order; reserved first, so the sale never passes the reservation check.
    PERFORM
    FROM shop.stock_levels AS s
    WHERE (s.variant_id, s.warehouse_id) IN (
        SELECT t.variant_id, t.warehouse_id
        FROM jsonb_to_recordset(taking) AS t (item_id uuid, variant_id uuid, warehouse_id uuid, quantity integer)
    )
    ORDER BY s.variant_id, s.warehouse_id
    FOR UPDATE;
    UPDATE shop.stock_levels AS s
    SET reserved = s.reserved - t.quantity
    FROM (
        SELECT x.variant_id, x.warehouse_id, sum(x.quantity) AS quantity
        FROM jsonb_to_recordset(taking) AS x (item_id uuid, variant_id uuid, warehouse_id uuid, quantity integer)
        GROUP BY x.variant_id, x.warehouse_id
    ) AS t
    WHERE s.variant_id = t.variant_id AND s.warehouse_id = t.warehouse_id;
    BEGIN
        INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity, reference, note)
        SELECT t.variant_id, t.warehouse_id, 'sale', -t.quantity, target.id::text, format('order %s', target.number)
        FROM jsonb_to_recordset(taking) AS t (item_id uuid, variant_id uuid, warehouse_id uuid, quantity integer)
        ORDER BY t.variant_id, t.warehouse_id;
    EXCEPTION WHEN check_violation THEN
        -- Units reserved on backorder are not there to ship yet.
        PERFORM shop.fail(
            409, 'insufficient_stock', jsonb_build_object('order_id', target.id),
            'Some units are reserved on backorder and not yet on hand; receive stock first.'
        );
    END;
    UPDATE shop.order_allocations AS a
    SET quantity_fulfilled = a.quantity_fulfilled + t.quantity
    FROM jsonb_to_recordset(taking) AS t (item_id uuid, variant_id uuid, warehouse_id uuid, quantity integer)
    WHERE a.order_item_id = t.item_id AND a.warehouse_id = t.warehouse_id;

    INSERT INTO shop.fulfillments (order_id, carrier, tracking_number, staff_id)
    VALUES (
        target.id, nullif(btrim(args ->> 'carrier'), ''), nullif(btrim(args ->> 'tracking_number'), ''),
        auth.current_account_id()
    )
    RETURNING * INTO shipment;
    INSERT INTO shop.fulfillment_items (fulfillment_id, order_item_id, warehouse_id, quantity)
    SELECT shipment.id, t.item_id, t.warehouse_id, t.quantity
    FROM jsonb_to_recordset(taking) AS t (item_id uuid, variant_id uuid, warehouse_id uuid, quantity integer);
    UPDATE shop.order_items AS i
    SET quantity_fulfilled = i.quantity_fulfilled + s.quantity
    FROM jsonb_to_recordset(shipping) AS s (item_id uuid, quantity integer)
    WHERE i.id = s.item_id;

    SELECT bool_and(i.quantity_fulfilled = i.quantity) INTO all_shipped
    FROM shop.order_items AS i WHERE i.order_id = target.id;
    PERFORM integration.emit('fulfillment.created', shipment.id, jsonb_build_object(
        'fulfillment_id', shipment.id, 'order_id', target.id, 'number', target.number,
        'carrier', shipment.carrier, 'tracking_number', shipment.tracking_number,
        'items', shipping
    ));
    -- Fully shipped: status fulfilled (order.fulfilled with the tracking numbers, from the status trigger).
    UPDATE shop.orders AS o
    SET fulfillment_status = CASE WHEN all_shipped THEN 'fulfilled' ELSE 'partially_fulfilled' END,
        status = CASE WHEN all_shipped THEN 'fulfilled' ELSE o.status END
    WHERE o.id = target.id;
    RETURN shop.order_json(target.id);
END
$$;
COMMENT ON FUNCTION api.admin_create_fulfillment(jsonb) IS
'Ships units of an order (order_manager): {items: [{item_id, quantity}], carrier?, tracking_number?} -> '
'the order. Only paid orders ship, or unpaid cash-on-delivery ones. Units come from the line''s open '
'allocations in warehouse priority order: each writes a sale movement (reference: the order id) and '
'takes the units off reserved and on_hand; quantity_fulfilled goes up, fulfillment_status becomes '
'partially_fulfilled or fulfilled, and status fulfilled once every line has shipped. Writes '
'fulfillment.created (and order.fulfilled). 404 order_not_found; 409 order_not_fulfillable, '
'over_fulfillment {item_id, quantity, open}, insufficient_stock (reserved on backorder, not on hand); 422 '
'validation_failed.';

-- == POST /v1/admin/orders/{id}/returns =============================================================
CREATE OR REPLACE FUNCTION api.admin_create_return(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    target shop.orders;
    fields jsonb;
    refund bigint;
    restock boolean;
    over record;
    given_back shop.returns;
    coming_back jsonb;
    all_returned boolean;
    after shop.orders;
BEGIN
    fields := jsonb_strip_nulls(jsonb_build_object(
        'restock', CASE WHEN jsonb_typeof(args -> 'restock') IS DISTINCT FROM 'boolean' THEN 'must be true or false' END,
        'refund_amount', shop.whole_number_error(args, 'refund_amount', FALSE, 0, 100000000000),
        'reason', auth.text_field_error(args, 'reason', FALSE, 1000)
    ));
    IF fields <> '{}' THEN
        PERFORM shop.fail(
            422, 'validation_failed', jsonb_build_object('fields', fields),
            'Send the items returned, restock true or false, and optionally refund_amount and reason.'
        );
    END IF;
    restock := (args ->> 'restock')::boolean;
    refund := coalesce((args ->> 'refund_amount')::bigint, 0);
    target := shop.lock_order(shop.order_id_arg(args));
    SELECT jsonb_agg(to_jsonb(l)) INTO coming_back FROM shop.order_lines_arg(args, target.id) AS l;
    SELECT i.id, r.quantity, i.quantity_fulfilled - i.quantity_returned AS open INTO over
    FROM jsonb_to_recordset(coming_back) AS r (item_id uuid, quantity integer)
    INNER JOIN shop.order_items AS i ON r.item_id = i.id
    WHERE r.quantity > i.quantity_fulfilled - i.quantity_returned
    LIMIT 1;
    IF FOUND THEN
        PERFORM shop.fail(
            409, 'over_return', jsonb_build_object('item_id', over.id, 'quantity', over.quantity, 'returnable', over.open),
            'Only units that shipped and have not come back yet can be returned.'
        );
    END IF;
    IF refund > target.paid_amount - target.refunded_amount THEN
        PERFORM shop.fail(
            409, 'over_refund',
            jsonb_build_object(
                'refund_amount', shop.money_json(refund, target.currency),
                'refundable', shop.money_json(target.paid_amount - target.refunded_amount, target.currency)
            ),
            'A refund is at most what was paid and not yet refunded.'
        );
    END IF;

    INSERT INTO shop.returns (order_id, restock, refund_amount, reason, staff_id)
    VALUES (target.id, restock, refund, nullif(btrim(args ->> 'reason'), ''), auth.current_account_id())
    RETURNING * INTO given_back;
    -- Restocked units go back where the line's unreturned units came from: the warehouse that shipped
    -- most of them (a return line names one warehouse).
    INSERT INTO shop.return_items (return_id, order_item_id, warehouse_id, quantity)
    SELECT given_back.id, r.item_id, CASE WHEN restock THEN (
        SELECT f.warehouse_id
        FROM shop.fulfillment_items AS f
        INNER JOIN shop.warehouses AS w ON f.warehouse_id = w.id
        WHERE f.order_item_id = r.item_id
        GROUP BY f.warehouse_id, w.priority, w.code
        ORDER BY sum(f.quantity) - coalesce((
            SELECT sum(ri.quantity) FROM shop.return_items AS ri
            WHERE ri.order_item_id = r.item_id AND ri.warehouse_id = f.warehouse_id
        ), 0) DESC, w.priority, w.code
        LIMIT 1
    ) END, r.quantity
    FROM jsonb_to_recordset(coming_back) AS r (item_id uuid, quantity integer);
    IF restock THEN
        PERFORM
        FROM shop.stock_levels AS s
        WHERE (s.variant_id, s.warehouse_id) IN (
            SELECT i.variant_id, ri.warehouse_id
            FROM shop.return_items AS ri INNER JOIN shop.order_items AS i ON ri.order_item_id = i.id
            WHERE ri.return_id = given_back.id
        )
        ORDER BY s.variant_id, s.warehouse_id
        FOR UPDATE;
        -- A line whose variant was deleted since has nowhere to go back to: nothing is restocked for it.
        INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity, reference, note)
        SELECT i.variant_id, ri.warehouse_id, 'return', ri.quantity, target.id::text, format('order %s', target.number)
        FROM shop.return_items AS ri
        INNER JOIN shop.order_items AS i ON ri.order_item_id = i.id
        WHERE ri.return_id = given_back.id AND i.variant_id IS NOT NULL
        ORDER BY i.variant_id, ri.warehouse_id;
    END IF;
    UPDATE shop.order_items AS i
    SET quantity_returned = i.quantity_returned + r.quantity
    FROM jsonb_to_recordset(coming_back) AS r (item_id uuid, quantity integer)
    WHERE i.id = r.item_id;

    SELECT bool_and(i.quantity_returned = i.quantity_fulfilled) AND bool_and(i.quantity_fulfilled = i.quantity)
    INTO all_returned
    FROM shop.order_items AS i WHERE i.order_id = target.id;
    PERFORM integration.emit('return.created', given_back.id, jsonb_build_object(
        'return_id', given_back.id, 'order_id', target.id, 'number', target.number, 'restock', restock,
        'refund_amount', shop.money_json(refund, target.currency), 'reason', given_back.reason,
        'items', coming_back
    ));
    -- Everything back: status returned (order.returned); everything paid refunded: refunded (order.refunded).
    UPDATE shop.orders AS o
    SET fulfillment_status = CASE WHEN all_returned THEN 'returned' ELSE 'partially_returned' END,
        refunded_amount = o.refunded_amount + refund,
        payment_status = CASE
            WHEN refund = 0 THEN o.payment_status
            WHEN o.refunded_amount + refund = o.paid_amount THEN 'refunded'
            ELSE 'partially_refunded'
        END,
        status = CASE WHEN all_returned AND o.status IN ('fulfilled', 'completed') THEN 'returned' ELSE o.status END
    WHERE o.id = target.id
    RETURNING * INTO after;
    IF after.payment_status = 'refunded' AND after.status IN ('fulfilled', 'completed', 'returned') THEN
        UPDATE shop.orders AS o SET status = 'refunded' WHERE o.id = target.id;
    END IF;
    RETURN shop.order_json(target.id);
END
$$;
COMMENT ON FUNCTION api.admin_create_return(jsonb) IS
'Records a return of shipped units (order_manager, support_agent): {items: [{item_id, quantity}], restock, '
'refund_amount?, reason?} -> the order. With restock, each line''s units go back (a return movement) into '
'the warehouse that shipped most of its unreturned units. refund_amount (at most paid - refunded) raises '
'refunded_amount; payment_status becomes partially_refunded or refunded. Status becomes returned when '
'every unit has shipped and come back, and refunded when everything paid is refunded. Writes '
'return.created (and order.returned / order.refunded). 404 order_not_found; 409 over_return {item_id, '
'quantity, returnable}, over_refund {refund_amount, refundable}; 422 validation_failed.';

-- == grants ==========================================================================================
REVOKE ALL ON FUNCTION api.get_order(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.admin_get_order(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.list_my_orders(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.admin_list_orders(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.cancel_order(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.admin_record_payment(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.admin_create_fulfillment(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.admin_create_return(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.get_order(jsonb) TO postcart_customer, order_manager, support_agent;
GRANT EXECUTE ON FUNCTION api.admin_get_order(jsonb) TO order_manager, support_agent;
GRANT EXECUTE ON FUNCTION api.list_my_orders(jsonb) TO postcart_customer;
GRANT EXECUTE ON FUNCTION api.admin_list_orders(jsonb) TO order_manager, support_agent;
GRANT EXECUTE ON FUNCTION api.cancel_order(jsonb) TO postcart_customer, order_manager;
GRANT EXECUTE ON FUNCTION api.admin_record_payment(jsonb) TO order_manager;
GRANT EXECUTE ON FUNCTION api.admin_create_fulfillment(jsonb) TO order_manager;
GRANT EXECUTE ON FUNCTION api.admin_create_return(jsonb) TO order_manager, support_agent;
