-- Orders after checkout (sql/shop/orders.sql, sql/api/orders.sql, migration 0027): the status machine
-- (every allowed change, refused ones from plain SQL too), the snapshot and delete guard, payments,
-- shipments through the ledger, cancellation releasing stock and coupon uses, returns with and without
-- restock, the unpaid-order sweeper, reporting.sales_daily, and who sees what.
BEGIN;
SELECT plan(70);

-- == helpers (temporary, this session only) =========================================================
SET LOCAL ROLE postcart_dba;
CREATE TEMP TABLE made AS
SELECT auth.invite_staff(format('tst21-%s@example.com', r), 'T', ARRAY[r])
FROM unnest(ARRAY['order_manager', 'support_agent', 'inventory_manager']) AS r;
RESET ROLE;
CREATE TEMP TABLE member AS
SELECT split_part(split_part(a.email::text, '@', 1), '-', 2) AS permission, a.id, a.db_role::text AS db_role
FROM auth.accounts AS a WHERE a.email::text LIKE 'tst21-%@example.com';
GRANT SELECT ON member TO PUBLIC;
INSERT INTO auth.accounts (id, email, full_name) VALUES
('c2100000-0000-4000-8000-000000000001', 'tst21-ada@example.com', 'Ada'),
('c2100000-0000-4000-8000-000000000002', 'tst21-bob@example.com', 'Bob');

-- Switch into a staff member holding a permission role, or a customer, with the claims a request sets.
CREATE FUNCTION pg_temp.act_as(who text)
RETURNS text
LANGUAGE sql
AS $$
    SELECT coalesce(
        (SELECT set_config('request.claims', jsonb_build_object('sub', m.id, 'role', m.db_role, 'kind', 'staff')::text, TRUE)
             || set_config('role', m.db_role, TRUE)
         FROM member AS m WHERE m.permission = who),
        set_config('request.claims', jsonb_build_object('sub', who, 'role', 'postcart_customer', 'kind', 'customer')::text, TRUE)
            || set_config('role', 'postcart_customer', TRUE)
    )
$$;
CREATE FUNCTION pg_temp.back()
RETURNS text
LANGUAGE sql
AS $$
    SELECT set_config('request.claims', '', TRUE) || set_config('role', 'none', TRUE)
$$;

-- Places an order the way checkout does (until it exists): an ordered cart, the lines, allocations by
-- warehouse priority from what is available, reserved up on the stock rows, the order row last with the
-- next number. p_lines: [[variant_id, quantity], ...] at 1000 a unit; currency SEK (no other test uses it).
CREATE FUNCTION pg_temp.place(p_customer uuid, p_lines jsonb, p_method text DEFAULT 'manual', p_due interval DEFAULT '7 days')
RETURNS uuid
LANGUAGE plpgsql
AS $$
DECLARE
    order_id uuid := gen_random_uuid();
    cart uuid;
    line record;
    item uuid;
    place record;
    wanted integer;
    total bigint := 0;
    num bigint;
BEGIN
    SET CONSTRAINTS ALL DEFERRED;
    INSERT INTO shop.carts (customer_id, token_hash, currency, status, order_id)
    VALUES (p_customer, CASE WHEN p_customer IS NULL THEN sha256(order_id::text::bytea) END, 'SEK', 'ordered', order_id)
    RETURNING id INTO cart;
    FOR line IN SELECT (l.value ->> 0)::uuid AS variant_id, (l.value ->> 1)::integer AS quantity, l.n
                FROM jsonb_array_elements(p_lines) WITH ORDINALITY AS l (value, n) LOOP
        INSERT INTO shop.order_items (order_id, position, variant_id, product_id, sku, name, quantity, unit_price,
                                      line_total, tax_class)
        SELECT order_id, line.n, v.id, v.product_id, v.sku, v.name, line.quantity, 1000, line.quantity * 1000, 'standard'
        FROM shop.product_variants AS v WHERE v.id = line.variant_id
        RETURNING id INTO item;
        total := total + line.quantity * 1000;
        wanted := line.quantity;
        FOR place IN SELECT s.warehouse_id, s.on_hand - s.reserved AS available
                     FROM shop.stock_levels AS s JOIN shop.warehouses AS w ON w.id = s.warehouse_id
                     WHERE s.variant_id = line.variant_id AND s.on_hand > s.reserved
                     ORDER BY w.priority, w.code
                     FOR UPDATE OF s LOOP
            EXIT WHEN wanted = 0;
            INSERT INTO shop.order_allocations (order_item_id, warehouse_id, variant_id, quantity)
            VALUES (item, place.warehouse_id, line.variant_id, least(wanted, place.available));
            UPDATE shop.stock_levels SET reserved = reserved + least(wanted, place.available)
            WHERE variant_id = line.variant_id AND warehouse_id = place.warehouse_id;
            wanted := wanted - least(wanted, place.available);
        END LOOP;
    END LOOP;
    UPDATE shop.order_numbers SET last_number = last_number + 1 RETURNING last_number INTO num;
    INSERT INTO shop.orders (id, number, customer_id, cart_id, email, currency, payment_method, prices_include_tax,
                             subtotal, discount_total, shipping_total, tax_total, total, shipping_address,
                             shipping_method_code, shipping_method_name, payment_due_at)
    VALUES (order_id, num,
            p_customer, cart, 'tst21@example.com', 'SEK', p_method, TRUE, total, 0, 0, 0, total, '{"country": "SE"}',
            'standard', 'Standard', now() + p_due);
    RETURN order_id;
END
$$;

-- Forces an order into a status without the trigger (setting up a test), then asks for another through
-- it; returns NULL when allowed, else the error's code.
CREATE FUNCTION pg_temp.try_transition(p_from text, p_to text, p_method text DEFAULT 'manual')
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    o uuid := pg_temp.place('c2100000-0000-4000-8000-000000000001', '[["b2100000-0000-4000-8000-000000000003", 1]]', p_method);
BEGIN
    SET LOCAL session_replication_role = replica;
    UPDATE shop.orders SET status = p_from, cancelled_at = CASE WHEN p_from = 'cancelled' THEN now() END WHERE id = o;
    SET LOCAL session_replication_role = origin;
    BEGIN
        UPDATE shop.orders SET status = p_to WHERE id = o;
    EXCEPTION WHEN OTHERS THEN
        RETURN SQLSTATE || ' ' || SQLERRM;
    END;
    RETURN NULL;
END
$$;

-- Every (variant, warehouse) of this file whose reserved is not the sum of its open allocations, or whose
-- on_hand is not the sum of its movements.
CREATE VIEW pg_temp.disagreeing AS
SELECT s.variant_id, s.warehouse_id
FROM shop.stock_levels AS s
WHERE s.variant_id::text LIKE 'b2100000-%' AND (
    s.reserved <> coalesce((
        SELECT sum(a.quantity - a.quantity_fulfilled - a.quantity_released) FROM shop.order_allocations AS a
        WHERE a.variant_id = s.variant_id AND a.warehouse_id = s.warehouse_id
    ), 0)
    OR s.on_hand <> (SELECT sum(m.quantity) FROM shop.stock_movements AS m
                     WHERE m.variant_id = s.variant_id AND m.warehouse_id = s.warehouse_id)
);

CREATE FUNCTION pg_temp.stock(v text, w text)
RETURNS text
LANGUAGE sql
AS $$
    SELECT s.on_hand || '/' || s.reserved FROM shop.stock_levels AS s
    WHERE s.variant_id = ('b2100000-0000-4000-8000-00000000000' || v)::uuid
      AND s.warehouse_id = ('d2100000-0000-4000-8000-00000000000' || w)::uuid
$$;

-- == fixture: variant 1: 3 units near (priority 1), 10 far (priority 2); 2: 50 far; 3: none ========
INSERT INTO shop.products (id, slug, name) VALUES ('a2100000-0000-4000-8000-000000000001', 'tst21', 'Tst21');
INSERT INTO shop.product_variants (id, product_id, sku, name) VALUES
('b2100000-0000-4000-8000-000000000001', 'a2100000-0000-4000-8000-000000000001', 'TST21-ONE', 'One'),
('b2100000-0000-4000-8000-000000000002', 'a2100000-0000-4000-8000-000000000001', 'TST21-TWO', 'Two'),
('b2100000-0000-4000-8000-000000000003', 'a2100000-0000-4000-8000-000000000001', 'TST21-THREE', 'Three');
INSERT INTO shop.warehouses (id, code, name, priority) VALUES
('d2100000-0000-4000-8000-000000000001', 'tst21-near', 'Near', 1),
('d2100000-0000-4000-8000-000000000002', 'tst21-far', 'Far', 2);
INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity) VALUES
('b2100000-0000-4000-8000-000000000001', 'd2100000-0000-4000-8000-000000000001', 'receipt', 3),
('b2100000-0000-4000-8000-000000000001', 'd2100000-0000-4000-8000-000000000002', 'receipt', 10),
('b2100000-0000-4000-8000-000000000002', 'd2100000-0000-4000-8000-000000000002', 'receipt', 50);

-- == the status machine =============================================================================
SELECT is(
    ARRAY(
        SELECT t.from_status || ' -> ' || t.to_status || ': ' || pg_temp.try_transition(
            t.from_status, t.to_status, CASE WHEN t.to_status = 'fulfilled' THEN 'cash_on_delivery' ELSE 'manual' END
        )
        FROM shop.order_transitions AS t
        WHERE pg_temp.try_transition(
            t.from_status, t.to_status, CASE WHEN t.to_status = 'fulfilled' THEN 'cash_on_delivery' ELSE 'manual' END
        ) IS NOT NULL
    ),
    ARRAY[]::text[],
    'every change in shop.order_transitions is allowed'
);
SELECT is((SELECT count(*)::integer FROM shop.order_transitions), 11, 'eleven changes, cash on delivery''s included');
SELECT is(
    ARRAY(
        SELECT f || ' -> ' || t || ': ' || coalesce(pg_temp.try_transition(f, t), 'allowed')
        FROM unnest(ARRAY['pending_payment', 'paid', 'fulfilled', 'completed', 'cancelled', 'returned', 'refunded']) AS f
        CROSS JOIN unnest(ARRAY['pending_payment', 'paid', 'fulfilled', 'completed', 'cancelled', 'returned', 'refunded']) AS t
        WHERE f <> t
            AND NOT EXISTS (SELECT FROM shop.order_transitions AS x WHERE x.from_status = f AND x.to_status = t)
            AND coalesce(pg_temp.try_transition(f, t), '') NOT LIKE 'PT409 invalid_transition'
    ),
    ARRAY[]::text[],
    'every other change is PT409 invalid_transition'
);
SELECT is(pg_temp.try_transition('pending_payment', 'fulfilled', 'manual'), 'PT409 invalid_transition',
          'only cash on delivery ships unpaid');
SELECT is(pg_temp.try_transition('paid', 'pending_payment'), 'PT409 invalid_transition', 'paid never goes back');
SELECT is(pg_temp.try_transition('cancelled', 'paid'), 'PT409 invalid_transition', 'a cancelled order stays cancelled');
SELECT is(pg_temp.try_transition('refunded', 'fulfilled'), 'PT409 invalid_transition', 'refunded is final');

CREATE TEMP TABLE o1 AS SELECT pg_temp.place('c2100000-0000-4000-8000-000000000001', '[["b2100000-0000-4000-8000-000000000002", 2]]') AS id;
SELECT throws_ok(
    format($$UPDATE shop.orders SET status = 'fulfilled' WHERE id = %L$$, (SELECT id FROM o1)),
    'PT409', 'invalid_transition', 'a plain UPDATE is refused like the API'
);
SELECT throws_like(
    format($$UPDATE shop.orders SET status = 'completed' WHERE id = %L$$, (SELECT id FROM o1)),
    '%invalid_transition%', 'the error names the code'
);
UPDATE shop.orders SET status = 'paid' WHERE id = (SELECT id FROM o1);
SELECT ok((SELECT paid_at IS NOT NULL AND updated_at = now() FROM shop.orders WHERE id = (SELECT id FROM o1)),
          'becoming paid stamps paid_at and updated_at');
SELECT is(
    (SELECT array_agg(type ORDER BY type) FROM integration.events WHERE subject_id = (SELECT id FROM o1)),
    ARRAY['order.paid'], 'and writes order.paid in the same transaction'
);

-- == the snapshot never changes; orders are never deleted ===========================================
SELECT throws_ok(
    format($$UPDATE shop.orders SET total = total + 1, subtotal = subtotal + 1 WHERE id = %L$$, (SELECT id FROM o1)),
    'PT409', 'order_snapshot_immutable', 'totals are the checkout''s'
);
SELECT throws_ok(
    format($$UPDATE shop.order_items SET unit_price = 1 WHERE order_id = %L$$, (SELECT id FROM o1)),
    'PT409', 'order_snapshot_immutable', 'line prices are the checkout''s'
);
SELECT throws_ok(
    format($$UPDATE shop.order_items SET quantity = 1 WHERE order_id = %L$$, (SELECT id FROM o1)),
    'PT409', 'order_snapshot_immutable', 'line quantities are the checkout''s'
);
SELECT throws_ok(
    format($$DELETE FROM shop.orders WHERE id = %L$$, (SELECT id FROM o1)),
    'PT409', 'order_not_deletable', 'orders are not deleted, not even by their owner'
);
SELECT throws_ok(
    format($$DELETE FROM shop.order_items WHERE order_id = %L$$, (SELECT id FROM o1)),
    'PT409', 'order_not_deletable', 'nor their lines'
);
SELECT lives_ok(
    format($$UPDATE shop.orders SET email = 'anon@example.invalid', shipping_address = '{}' WHERE id = %L$$, (SELECT id FROM o1)),
    'contact details may be anonymised'
);

-- == payments (order_manager) =======================================================================
CREATE TEMP TABLE o2 AS SELECT pg_temp.place('c2100000-0000-4000-8000-000000000001', '[["b2100000-0000-4000-8000-000000000001", 5]]') AS id;
GRANT SELECT ON o1, o2 TO PUBLIC;
SELECT is(pg_temp.stock('1', '1') || ' ' || pg_temp.stock('1', '2'), '3/3 10/2', 'checkout reserved 3 near and 2 far');
SELECT pg_temp.act_as('order_manager');
SELECT is(
    api.admin_record_payment(jsonb_build_object('id', (SELECT id FROM o2), 'amount', 2000)) ->> 'payment_status',
    'partially_paid', 'a part payment'
);
SELECT throws_ok(
    format($$SELECT api.admin_record_payment('{"id": "%s", "amount": 3001}')$$, (SELECT id FROM o2)),
    'PT409', 'overpayment', 'more than the balance is refused'
);
SELECT throws_ok(
    format($$SELECT api.admin_record_payment('{"id": "%s", "amount": -1}')$$, (SELECT id FROM o2)),
    'PT422', 'validation_failed', 'an amount is a positive whole number'
);
SELECT throws_ok(
    format($$SELECT api.admin_create_fulfillment('{"id": "%s", "items": [{"item_id": "%s", "quantity": 1}]}')$$,
           (SELECT id FROM o2), (SELECT i.id FROM shop.order_items AS i WHERE i.order_id = (SELECT id FROM o2))),
    'PT409', 'order_not_fulfillable', 'an unpaid order does not ship'
);
SELECT is(
    api.admin_record_payment(jsonb_build_object('id', (SELECT id FROM o2), 'amount', 3000)) ->> 'status',
    'paid', 'the order is paid when the payments cover it'
);
SELECT pg_temp.back();
SELECT is(
    (SELECT array_agg(p.status || ' ' || p.captured_amount ORDER BY p.amount) FROM shop.payments AS p WHERE p.order_id = (SELECT id FROM o2)),
    ARRAY['captured 2000', 'captured 3000'], 'manual payments are captured at once'
);
SELECT is(
    (SELECT count(*)::integer FROM integration.events AS e
     WHERE e.type = 'payment.captured' AND e.payload ->> 'order_id' = (SELECT id FROM o2)::text),
    2, 'each writes payment.captured'
);

-- == shipments through the ledger ===================================================================
SELECT pg_temp.act_as('order_manager');
SELECT is(
    api.admin_create_fulfillment(jsonb_build_object(
        'id', (SELECT id FROM o2), 'carrier', 'Posten', 'tracking_number', 'SE1',
        'items', jsonb_build_array(jsonb_build_object(
            'item_id', (SELECT i.id FROM shop.order_items AS i WHERE i.order_id = (SELECT id FROM o2)), 'quantity', 4))
    )) ->> 'fulfillment_status',
    'partially_fulfilled', 'four of five units ship'
);
SELECT throws_ok(
    format($$SELECT api.admin_create_fulfillment('{"id": "%s", "items": [{"item_id": "%s", "quantity": 2}]}')$$,
           (SELECT id FROM o2), (SELECT i.id FROM shop.order_items AS i WHERE i.order_id = (SELECT id FROM o2))),
    'PT409', 'over_fulfillment', 'no more than is open'
);
SELECT pg_temp.back();
SELECT is(pg_temp.stock('1', '1') || ' ' || pg_temp.stock('1', '2'), '0/0 9/1',
          'the near warehouse ships first: on_hand and reserved go down together');
SELECT is(
    (SELECT array_agg(m.warehouse_id::text || ' ' || m.kind || ' ' || m.quantity ORDER BY m.warehouse_id)
     FROM shop.stock_movements AS m WHERE m.reference = (SELECT id FROM o2)::text),
    ARRAY['d2100000-0000-4000-8000-000000000001 sale -3', 'd2100000-0000-4000-8000-000000000002 sale -1'],
    'one sale movement per warehouse, referencing the order'
);
SELECT is(
    (SELECT array_agg(a.quantity_fulfilled ORDER BY a.warehouse_id) FROM shop.order_allocations AS a
     JOIN shop.order_items AS i ON i.id = a.order_item_id WHERE i.order_id = (SELECT id FROM o2)),
    ARRAY[3, 1], 'the allocations count what shipped from them'
);
SELECT set_config('role', 'postcart_customer', TRUE);
SELECT throws_ok(
    format($$SELECT api.cancel_order('{"id": "%s"}')$$, (SELECT id FROM o2)),
    'PT404', 'order_not_found', 'a customer without claims is nobody: every order is unknown to it'
);
SELECT pg_temp.back();
SELECT pg_temp.act_as('order_manager');
SELECT throws_ok(
    format($$SELECT api.cancel_order('{"id": "%s"}')$$, (SELECT id FROM o2)),
    'PT409', 'invalid_transition', 'a partly shipped order is not cancelled'
);
SELECT is(
    api.admin_create_fulfillment(jsonb_build_object(
        'id', (SELECT id FROM o2), 'tracking_number', 'SE2',
        'items', jsonb_build_array(jsonb_build_object(
            'item_id', (SELECT i.id FROM shop.order_items AS i WHERE i.order_id = (SELECT id FROM o2)), 'quantity', 1))
    )) ->> 'status',
    'fulfilled', 'the last unit ships: the order is fulfilled'
);
SELECT pg_temp.back();
SELECT is(
    (SELECT array_agg(f ->> 'tracking_number' ORDER BY f ->> 'tracking_number')
     FROM integration.events AS e CROSS JOIN jsonb_array_elements(e.payload -> 'fulfillments') AS f
     WHERE e.type = 'order.fulfilled' AND e.subject_id = (SELECT id FROM o2)),
    ARRAY['SE1', 'SE2'], 'order.fulfilled carries the tracking numbers'
);
SELECT is(pg_temp.stock('1', '2'), '8/0', 'nothing stays reserved for a shipped order');

-- == returns ========================================================================================
SELECT pg_temp.act_as('support_agent');
SELECT is(
    api.admin_create_return(jsonb_build_object(
        'id', (SELECT id FROM o2), 'restock', TRUE, 'refund_amount', 1000,
        'items', jsonb_build_array(jsonb_build_object(
            'item_id', (SELECT i.id FROM shop.order_items AS i WHERE i.order_id = (SELECT id FROM o2)), 'quantity', 2))
    )) ->> 'payment_status',
    'partially_refunded', 'a return with a refund'
);
SELECT pg_temp.back();
SELECT is(pg_temp.stock('1', '1') || ' ' || pg_temp.stock('1', '2'), '2/0 8/0',
          'restocked into the warehouse that shipped most of the line');
SELECT pg_temp.act_as('support_agent');
SELECT throws_ok(
    format($$SELECT api.admin_create_return('{"id": "%s", "restock": false, "items": [{"item_id": "%s", "quantity": 4}]}')$$,
           (SELECT id FROM o2), (SELECT i.id FROM shop.order_items AS i WHERE i.order_id = (SELECT id FROM o2))),
    'PT409', 'over_return', 'only shipped units not yet returned come back'
);
SELECT throws_ok(
    format($$SELECT api.admin_create_return('{"id": "%s", "restock": false, "refund_amount": 4001, "items": [{"item_id": "%s", "quantity": 1}]}')$$,
           (SELECT id FROM o2), (SELECT i.id FROM shop.order_items AS i WHERE i.order_id = (SELECT id FROM o2))),
    'PT409', 'over_refund', 'no more refunded than paid'
);
SELECT is(
    api.admin_create_return(jsonb_build_object(
        'id', (SELECT id FROM o2), 'restock', FALSE,
        'items', jsonb_build_array(jsonb_build_object(
            'item_id', (SELECT i.id FROM shop.order_items AS i WHERE i.order_id = (SELECT id FROM o2)), 'quantity', 3))
    )) ->> 'status',
    'returned', 'everything back: returned'
);
SELECT pg_temp.back();
SELECT is(pg_temp.stock('1', '1') || ' ' || pg_temp.stock('1', '2'), '2/0 8/0', 'without restock nothing moves');
SELECT is(
    (SELECT array_agg(m.kind || ' ' || m.quantity ORDER BY m.kind, m.quantity) FROM shop.stock_movements AS m
     WHERE m.reference = (SELECT id FROM o2)::text),
    ARRAY['return 2', 'sale -3', 'sale -1', 'sale -1'], 'the ledger holds the sales and the one restock'
);
SELECT is(
    (SELECT refunded_amount || ' ' || payment_status || ' ' || fulfillment_status FROM shop.orders WHERE id = (SELECT id FROM o2)),
    '1000 partially_refunded returned', 'the refund is recorded on the order'
);

-- == cancellation releases stock and coupon uses ====================================================
INSERT INTO shop.promotions (id, code, name, kind, value, usage_limit, times_used) VALUES
('e2100000-0000-4000-8000-000000000001', 'TST21', 'Tst21', 'percent', 10, 5, 0),
('e2100000-0000-4000-8000-000000000002', NULL, 'Tst21 auto', 'percent', 5, NULL, 0);
CREATE TEMP TABLE o3 AS SELECT pg_temp.place('c2100000-0000-4000-8000-000000000001', '[["b2100000-0000-4000-8000-000000000001", 4], ["b2100000-0000-4000-8000-000000000002", 1]]') AS id;
GRANT SELECT ON o3 TO PUBLIC;
INSERT INTO shop.promotion_redemptions (promotion_id, order_id, customer_id, email, amount)
SELECT p, (SELECT id FROM o3), 'c2100000-0000-4000-8000-000000000001', 'tst21@example.com', 100
FROM unnest(ARRAY['e2100000-0000-4000-8000-000000000001', 'e2100000-0000-4000-8000-000000000002']::uuid[]) AS p;
UPDATE shop.promotions SET times_used = 1 WHERE id = 'e2100000-0000-4000-8000-000000000001';
SELECT is(pg_temp.stock('1', '1') || ' ' || pg_temp.stock('1', '2'), '2/2 8/2', 'four units reserved by priority');

SELECT pg_temp.act_as('c2100000-0000-4000-8000-000000000002');
SELECT throws_ok(
    format($$SELECT api.cancel_order('{"id": "%s"}')$$, (SELECT id FROM o3)),
    'PT404', 'order_not_found', 'another customer''s order is unknown'
);
SELECT is((SELECT count(*)::integer FROM shop.orders WHERE id = (SELECT id FROM o3)), 0, 'and invisible');
SELECT pg_temp.act_as('c2100000-0000-4000-8000-000000000001');
SELECT is((SELECT count(*)::integer FROM shop.orders WHERE id = (SELECT id FROM o3)), 1, 'a customer sees its own order');
SELECT is(
    (SELECT count(*)::integer FROM shop.return_items AS ri JOIN shop.returns AS r ON r.id = ri.return_id
     WHERE r.order_id = (SELECT id FROM o2)),
    2, 'and what came back of it'
);
SELECT is(
    api.cancel_order(jsonb_build_object('id', (SELECT id FROM o3), 'reason', 'too slow')) ->> 'status',
    'cancelled', 'the customer cancels its unpaid order'
);
SELECT pg_temp.back();
SELECT is(pg_temp.stock('1', '1') || ' ' || pg_temp.stock('1', '2') || ' ' || pg_temp.stock('2', '2'), '2/0 8/0 50/2',
          'every reservation is released');
SELECT is(
    (SELECT array_agg(a.quantity_released ORDER BY a.quantity_released) FROM shop.order_allocations AS a
     JOIN shop.order_items AS i ON i.id = a.order_item_id WHERE i.order_id = (SELECT id FROM o3)),
    ARRAY[1, 2, 2], 'the allocations record what was released'
);
SELECT is(
    (SELECT count(*)::integer FROM shop.promotion_redemptions WHERE order_id = (SELECT id FROM o3) AND released_at IS NOT NULL),
    2, 'the redemptions are released'
);
SELECT is(
    (SELECT array_agg(times_used ORDER BY id) FROM shop.promotions WHERE id::text LIKE 'e2100000-%'),
    ARRAY[0, 0], 'the limited coupon''s use comes back'
);
SELECT is(
    (SELECT cancel_reason || ' ' || (cancelled_at IS NOT NULL) FROM shop.orders WHERE id = (SELECT id FROM o3)),
    'too slow true', 'with its reason and time'
);
SELECT is(
    (SELECT e.payload ->> 'reason' FROM integration.events AS e WHERE e.type = 'order.cancelled' AND e.subject_id = (SELECT id FROM o3)),
    'too slow', 'order.cancelled is written'
);
SELECT throws_ok(
    format($$UPDATE shop.orders SET status = 'cancelled' WHERE id = %L$$, (SELECT id FROM o2)),
    'PT409', 'invalid_transition', 'a shipped order cannot be cancelled in SQL either'
);

-- == who may do what ================================================================================
SELECT pg_temp.act_as('support_agent');
SELECT throws_ok(
    format($$SELECT api.admin_record_payment('{"id": "%s", "amount": 1}')$$, (SELECT id FROM o1)),
    '42501', NULL, 'support agents do not record payments'
);
SELECT throws_ok(
    format($$SELECT api.cancel_order('{"id": "%s"}')$$, (SELECT id FROM o1)),
    '42501', NULL, 'nor cancel'
);
SELECT pg_temp.act_as('inventory_manager');
SELECT throws_ok(
    format($$SELECT api.get_order('{"id": "%s"}')$$, (SELECT id FROM o1)),
    '42501', NULL, 'inventory managers do not read orders'
);
SELECT pg_temp.act_as('c2100000-0000-4000-8000-000000000001');
SELECT throws_ok(
    format($$SELECT api.admin_create_return('{"id": "%s", "restock": true, "items": []}')$$, (SELECT id FROM o1)),
    '42501', NULL, 'customers do not record returns'
);
SELECT throws_ok(
    'UPDATE shop.orders SET status = ''cancelled''', '42501', NULL, 'nor write orders directly'
);
SELECT pg_temp.back();
SELECT ok(
    NOT has_function_privilege('postcart_customer', 'shop.release_order(uuid)', 'EXECUTE')
    AND NOT has_function_privilege('order_manager', 'shop.release_order(uuid)', 'EXECUTE')
    AND has_function_privilege('postcart_worker', 'shop.sweep_unpaid_orders(integer)', 'EXECUTE')
    AND NOT has_function_privilege('order_manager', 'shop.sweep_unpaid_orders(integer)', 'EXECUTE'),
    'releasing is internal; only the worker sweeps'
);

-- == the unpaid-order sweeper =======================================================================
CREATE TEMP TABLE o4 AS
SELECT pg_temp.place('c2100000-0000-4000-8000-000000000002', '[["b2100000-0000-4000-8000-000000000002", 2]]', 'manual', '-1 minute') AS id, 'overdue' AS what
UNION ALL
SELECT pg_temp.place('c2100000-0000-4000-8000-000000000002', '[["b2100000-0000-4000-8000-000000000002", 3]]', 'manual', '1 hour'), 'not due'
UNION ALL
SELECT pg_temp.place('c2100000-0000-4000-8000-000000000002', '[["b2100000-0000-4000-8000-000000000002", 4]]', 'cash_on_delivery', NULL), 'never due';
SELECT is(pg_temp.stock('2', '2'), '50/11', 'nine more units reserved for three unpaid orders');
SET LOCAL ROLE postcart_worker;
SELECT cmp_ok(shop.sweep_unpaid_orders(10000), '>=', 1, 'the worker sweeps');
RESET ROLE;
SELECT is(
    ARRAY(SELECT o4.what || ' ' || o.status || ' ' || coalesce(o.cancel_reason, '-')
          FROM o4 JOIN shop.orders AS o ON o.id = o4.id ORDER BY o4.what),
    ARRAY['never due pending_payment -', 'not due pending_payment -', 'overdue cancelled payment_timeout'],
    'only the order past its payment window is cancelled, for payment_timeout'
);
SELECT is(pg_temp.stock('2', '2'), '50/9', 'its two units are released');
SELECT throws_ok('SELECT shop.sweep_unpaid_orders(0)', 'PT422', 'validation_failed', 'a batch is 1 to 10000');

-- == stock and allocations agree ====================================================================
SELECT is((SELECT count(*)::integer FROM pg_temp.disagreeing), 0,
          'reserved is the sum of open allocations and on_hand the sum of the ledger, everywhere');

-- == reporting.sales_daily ==========================================================================
CREATE TEMP TABLE expected_sales AS
SELECT count(*) || ' ' || sum(i.items) || ' ' || sum(o.total) || ' ' || sum(o.total) || ' 1000' AS line
FROM shop.orders AS o
INNER JOIN (SELECT order_id, sum(quantity) AS items FROM shop.order_items GROUP BY order_id) AS i ON i.order_id = o.id
WHERE o.currency = 'SEK' AND o.status <> 'cancelled';
GRANT SELECT ON expected_sales TO PUBLIC;
-- A materialized view (docs/reporting.md "Freshness"): the worker refreshes it; here at once.
REFRESH MATERIALIZED VIEW reporting.sales_daily;
SET LOCAL ROLE postcart_analyst;
SELECT is(
    (SELECT orders || ' ' || items || ' ' || gross || ' ' || net || ' ' || refunds
     FROM reporting.sales_daily WHERE currency = 'SEK' AND day = (now() AT TIME ZONE 'UTC')::date),
    (SELECT line FROM expected_sales),
    'sales_daily counts orders, units and money of the day, cancelled orders left out'
);
SELECT is(
    (SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute
     WHERE attrelid = 'reporting.sales_daily'::regclass AND attnum > 0 AND NOT attisdropped),
    ARRAY['day', 'currency', 'orders', 'items', 'gross', 'discounts', 'tax', 'shipping', 'net', 'refunds'],
    'and shows no personal data'
);
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
