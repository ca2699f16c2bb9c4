-- Inventory in the database (migration 0023, sql/shop/inventory.sql): the ledger is append-only and its sum
-- is on_hand whoever writes, backorders stay within the variant's limit, low stock writes one stock.low
-- event per crossing, the outbox is written only by definer functions, and who may read and write what.
BEGIN;
SELECT plan(81);

-- == helpers (temporary, this session only) =========================================================
SET LOCAL ROLE postcart_dba;
CREATE TEMP TABLE made AS
SELECT auth.invite_staff(format('tst16-%s@example.com', r), 'T', ARRAY[r])
FROM unnest(ARRAY['inventory_manager', 'order_manager', 'catalog_manager', 'store_admin']) AS r;
RESET ROLE;
CREATE TEMP TABLE member AS
SELECT split_part(split_part(a.email::text, '@', 1), '-', 2) AS permission, a.id, a.db_role::text AS db_role
FROM auth.accounts AS a WHERE a.email::text LIKE 'tst16-%@example.com';
GRANT SELECT ON member TO PUBLIC;

-- Switch into the staff member holding a permission role, with its claims.
CREATE FUNCTION pg_temp.act_as(permission text)
RETURNS text
LANGUAGE sql
AS $$
    SELECT set_config('request.claims', jsonb_build_object('sub', m.id, 'role', m.db_role, 'kind', 'staff')::text, TRUE)
        || set_config('role', m.db_role, TRUE)
    FROM member AS m WHERE m.permission = act_as.permission
$$;

-- Every (variant, warehouse) whose on_hand differs from the sum of its movements, in the whole database.
CREATE VIEW pg_temp.unbalanced AS
SELECT coalesce(s.variant_id, l.variant_id) AS variant_id, coalesce(s.warehouse_id, l.warehouse_id) AS warehouse_id
FROM shop.stock_levels AS s
FULL JOIN (
    SELECT m.variant_id, m.warehouse_id, sum(m.quantity) AS total
    FROM shop.stock_movements AS m GROUP BY m.variant_id, m.warehouse_id
) AS l ON s.variant_id = l.variant_id AND s.warehouse_id = l.warehouse_id
WHERE coalesce(s.on_hand, 0) <> coalesce(l.total, 0);

CREATE FUNCTION pg_temp.on_hand(v text, w text)
RETURNS integer
LANGUAGE sql
AS $$
    SELECT s.on_hand FROM shop.stock_levels AS s WHERE s.variant_id = v::uuid AND s.warehouse_id = w::uuid
$$;

-- == fixture ========================================================================================
INSERT INTO shop.products (id, slug, name) VALUES ('a1600000-0000-4000-8000-000000000001', 'tst16', 'Tst16');
INSERT INTO shop.product_variants (id, product_id, sku, name) VALUES
('b1600000-0000-4000-8000-000000000001', 'a1600000-0000-4000-8000-000000000001', 'TST16-PLAIN', 'Plain'),
('b1600000-0000-4000-8000-000000000002', 'a1600000-0000-4000-8000-000000000001', 'TST16-BACK', 'Backorders'),
('b1600000-0000-4000-8000-000000000003', 'a1600000-0000-4000-8000-000000000001', 'TST16-LOW', 'Watched');
INSERT INTO shop.warehouses (id, code, name) VALUES
('d1600000-0000-4000-8000-000000000001', 'tst16-one', 'Tst16 One'),
('d1600000-0000-4000-8000-000000000002', 'tst16-two', 'Tst16 Two');

-- == structure ======================================================================================
SELECT has_table('shop', 'stock_movements', 'the stock ledger exists');
SELECT has_table('shop', 'low_stock_alerts', 'the low-stock state exists');
SELECT has_table('integration', 'events', 'the outbox exists');
SELECT policies_are('shop', 'stock_movements', ARRAY[
    'stock_movements_owner_all', 'stock_movements_select_managers', 'stock_movements_insert_inventory_manager'
]);
SELECT policies_are('shop', 'low_stock_alerts', ARRAY['low_stock_alerts_owner_all', 'low_stock_alerts_select_managers']);
SELECT policies_are('integration', 'events', ARRAY['events_owner_all', 'events_select_store_admin']);
SELECT is(
    ARRAY(
        SELECT format('%s %s %s', r, t, p)
        FROM unnest(ARRAY[
            'postcart_anon', 'postcart_customer', 'postcart_staff', 'catalog_manager', 'inventory_manager',
            'order_manager', 'support_agent', 'store_admin', 'postcart_analyst', 'postcart_dba'
        ]) AS r
        CROSS JOIN unnest(ARRAY['shop.stock_movements', 'integration.events', 'shop.low_stock_alerts']) AS t
        CROSS JOIN unnest(ARRAY['UPDATE', 'DELETE', 'TRUNCATE']) AS p
        WHERE has_table_privilege(r, t, p) OR (p = 'UPDATE' AND has_any_column_privilege(r, t, p))
    ),
    ARRAY[]::text[],
    'no role may update, delete or truncate ledger, events or alerts'
);
SELECT is(
    ARRAY(
        SELECT r FROM unnest(ARRAY[
            'postcart_anon', 'postcart_customer', 'postcart_staff', 'catalog_manager', 'inventory_manager',
            'order_manager', 'support_agent', 'store_admin', 'postcart_analyst', 'postcart_dba'
        ]) AS r
        WHERE has_any_column_privilege(r, 'integration.events', 'INSERT')
            OR has_function_privilege(r, 'integration.emit(text, uuid, jsonb)', 'EXECUTE')
            OR has_any_column_privilege(r, 'shop.low_stock_alerts', 'INSERT')
    ),
    ARRAY[]::text[],
    'nobody writes events or alerts but the database''s own functions'
);
SELECT ok(
    has_column_privilege('inventory_manager', 'shop.stock_movements', 'quantity', 'INSERT')
    AND NOT has_column_privilege('inventory_manager', 'shop.stock_movements', 'staff_id', 'INSERT')
    AND NOT has_column_privilege('inventory_manager', 'shop.stock_movements', 'created_at', 'INSERT')
    AND NOT has_any_column_privilege('order_manager', 'shop.stock_movements', 'INSERT'),
    'inventory managers record movements; who and when are not theirs to say'
);
SELECT ok(
    NOT has_any_column_privilege('inventory_manager', 'shop.stock_levels', 'UPDATE')
    AND NOT has_any_column_privilege('inventory_manager', 'shop.stock_levels', 'INSERT'),
    'nobody but the owner writes stock rows'
);

-- == the ledger moves on_hand =======================================================================
INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity) VALUES
('b1600000-0000-4000-8000-000000000001', 'd1600000-0000-4000-8000-000000000001', 'receipt', 10);
SELECT is(pg_temp.on_hand('b1600000-0000-4000-8000-000000000001', 'd1600000-0000-4000-8000-000000000001'), 10,
          'a receipt creates the stock row with its quantity');
INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity) VALUES
('b1600000-0000-4000-8000-000000000001', 'd1600000-0000-4000-8000-000000000001', 'receipt', 5),
('b1600000-0000-4000-8000-000000000001', 'd1600000-0000-4000-8000-000000000001', 'sale', -3),
('b1600000-0000-4000-8000-000000000001', 'd1600000-0000-4000-8000-000000000002', 'receipt', 4);
SELECT is(pg_temp.on_hand('b1600000-0000-4000-8000-000000000001', 'd1600000-0000-4000-8000-000000000001'), 12,
          'movements in and out in one statement are added up');
SELECT is(pg_temp.on_hand('b1600000-0000-4000-8000-000000000001', 'd1600000-0000-4000-8000-000000000002'), 4,
          'each warehouse keeps its own stock');
SELECT is(
    (SELECT backorder_limit FROM shop.stock_levels
     WHERE variant_id = 'b1600000-0000-4000-8000-000000000001' AND warehouse_id = 'd1600000-0000-4000-8000-000000000002'),
    0, 'a new stock row carries its variant''s backorder limit'
);
SELECT throws_ok(
    $$INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity) VALUES
      ('b1600000-0000-4000-8000-000000000001', 'd1600000-0000-4000-8000-000000000001', 'adjustment', -13)$$,
    '23514', NULL, 'on_hand cannot go below zero'
);
SELECT throws_ok(
    $$INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity) VALUES
      ('b1600000-0000-4000-8000-000000000003', 'd1600000-0000-4000-8000-000000000001', 'correction', -1)$$,
    '23514', 'no stock of variant b1600000-0000-4000-8000-000000000003 in warehouse d1600000-0000-4000-8000-000000000001 to take from',
    'nothing can be taken where nothing was ever received'
);
SELECT throws_ok(
    $$INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity) VALUES
      ('b1600000-0000-4000-8000-000000000001', 'd1600000-0000-4000-8000-000000000001', 'receipt', -1)$$,
    '23514', NULL, 'a receipt brings goods in'
);
SELECT throws_ok(
    $$INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity) VALUES
      ('b1600000-0000-4000-8000-000000000001', 'd1600000-0000-4000-8000-000000000001', 'sale', 1)$$,
    '23514', NULL, 'a sale takes goods out'
);
SELECT throws_ok(
    $$INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity) VALUES
      ('b1600000-0000-4000-8000-000000000001', 'd1600000-0000-4000-8000-000000000001', 'adjustment', 0)$$,
    '23514', NULL, 'a movement moves something'
);
SELECT throws_ok(
    $$INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity) VALUES
      ('b1600000-0000-4000-8000-000000000001', 'd1600000-0000-4000-8000-000000000001', 'theft', -1)$$,
    '23514', NULL, 'kinds are receipt, adjustment, sale, return and correction'
);
SELECT throws_ok(
    $$INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity) VALUES
      ('b1600000-0000-4000-8000-00000000ffff', 'd1600000-0000-4000-8000-000000000001', 'receipt', 1)$$,
    '23503', NULL, 'a movement of an unknown variant is refused'
);

-- == append-only, and on_hand only through it (the owner included) ==================================
SET LOCAL ROLE postcart_owner;
SELECT throws_ok(
    $$UPDATE shop.stock_movements SET quantity = 100 WHERE variant_id = 'b1600000-0000-4000-8000-000000000001'$$,
    '42501', 'shop.stock_movements is append-only: movements are never changed or deleted',
    'the owner cannot change a movement'
);
SELECT throws_ok(
    $$DELETE FROM shop.stock_movements WHERE variant_id = 'b1600000-0000-4000-8000-000000000001'$$,
    '42501', NULL, 'the owner cannot delete a movement'
);
SELECT throws_ok('TRUNCATE shop.stock_movements', '23000', NULL, 'the ledger cannot be emptied while stock is on hand');
SELECT throws_ok(
    $$UPDATE shop.stock_levels SET on_hand = on_hand + 1
      WHERE variant_id = 'b1600000-0000-4000-8000-000000000001' AND warehouse_id = 'd1600000-0000-4000-8000-000000000001'$$,
    '23000', NULL, 'the owner cannot change on_hand behind the ledger''s back'
);
SELECT throws_ok(
    $$INSERT INTO shop.stock_levels (variant_id, warehouse_id, on_hand) VALUES
      ('b1600000-0000-4000-8000-000000000002', 'd1600000-0000-4000-8000-000000000001', 5)$$,
    '23000', NULL, 'nor create stock out of nothing'
);
SELECT throws_ok(
    $$DELETE FROM shop.stock_levels WHERE variant_id = 'b1600000-0000-4000-8000-000000000001'$$,
    '23000', NULL, 'nor make stock on hand vanish'
);
SELECT throws_ok('TRUNCATE shop.stock_levels', '23000', NULL, 'nor empty the stock levels without the ledger');
SELECT throws_ok(
    $$DELETE FROM shop.product_variants WHERE id = 'b1600000-0000-4000-8000-000000000001'$$,
    NULL, NULL, 'a variant with a stock history cannot be deleted'
);
SELECT lives_ok(
    $$INSERT INTO shop.stock_levels (variant_id, warehouse_id) VALUES
      ('b1600000-0000-4000-8000-000000000002', 'd1600000-0000-4000-8000-000000000001')$$,
    'an empty stock row matches an empty ledger'
);
SELECT lives_ok(
    $$UPDATE shop.stock_levels SET reserved = 2
      WHERE variant_id = 'b1600000-0000-4000-8000-000000000001' AND warehouse_id = 'd1600000-0000-4000-8000-000000000001'$$,
    'reservations are written on the stock row directly'
);
RESET ROLE;
SELECT is((SELECT count(*) FROM pg_temp.unbalanced), 0::bigint,
          'every stock row in the database equals the sum of its movements');

-- == as the staff ===================================================================================
SELECT pg_temp.act_as('inventory_manager');
SELECT lives_ok(
    $$INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity, note) VALUES
      ('b1600000-0000-4000-8000-000000000001', 'd1600000-0000-4000-8000-000000000002', 'receipt', 6, 'tst16 pallet')$$,
    'an inventory manager records a receipt'
);
SELECT is(
    (SELECT staff_id FROM shop.stock_movements WHERE note = 'tst16 pallet'),
    (SELECT id FROM member WHERE permission = 'inventory_manager'),
    'the movement names who recorded it, from the claims'
);
SELECT throws_ok(
    $$INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity) VALUES
      ('b1600000-0000-4000-8000-000000000001', 'd1600000-0000-4000-8000-000000000002', 'sale', -1)$$,
    '42501', NULL, 'sales are not recorded by hand'
);
SELECT throws_ok(
    $$UPDATE shop.stock_levels SET on_hand = 100$$, '42501', NULL, 'an inventory manager cannot set on_hand directly'
);
SELECT throws_ok(
    $$UPDATE shop.stock_movements SET note = 'x'$$, '42501', NULL, 'nor change a movement'
);
SELECT throws_ok(
    $$DELETE FROM shop.stock_movements$$, '42501', NULL, 'nor delete one'
);
SELECT lives_ok(
    $$UPDATE shop.warehouses SET priority = 7 WHERE id = 'd1600000-0000-4000-8000-000000000002'$$,
    'an inventory manager sets a warehouse''s priority'
);
SELECT throws_ok(
    $$UPDATE shop.warehouses SET name = 'x' WHERE id = 'd1600000-0000-4000-8000-000000000002'$$,
    '42501', NULL, 'but not its name'
);
SELECT throws_ok(
    $$UPDATE shop.warehouses SET priority = -1 WHERE id = 'd1600000-0000-4000-8000-000000000002'$$,
    '23514', NULL, 'priorities are 0 to 1,000,000'
);
SELECT throws_ok('SELECT * FROM integration.events', '42501', NULL, 'an inventory manager does not read the outbox');
SELECT throws_ok(
    $$SELECT integration.emit('order.paid', gen_random_uuid(), '{}')$$, '42501', NULL, 'nor forge an event'
);
RESET ROLE;
SELECT pg_temp.act_as('order_manager');
SELECT is(
    (SELECT sum(quantity)::integer FROM shop.stock_movements WHERE variant_id = 'b1600000-0000-4000-8000-000000000001'),
    22, 'an order manager reads the ledger'
);
SELECT throws_ok(
    $$INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity) VALUES
      ('b1600000-0000-4000-8000-000000000001', 'd1600000-0000-4000-8000-000000000002', 'receipt', 1)$$,
    '42501', NULL, 'but records nothing'
);
RESET ROLE;
SELECT pg_temp.act_as('catalog_manager');
SELECT throws_ok('SELECT * FROM shop.stock_movements', '42501', NULL, 'a catalog manager does not read the ledger');
SELECT throws_ok(
    $$UPDATE shop.product_variants SET backorder_limit = 5 WHERE id = 'b1600000-0000-4000-8000-000000000002'$$,
    '42501', NULL, 'nor set backorder limits'
);
RESET ROLE;
SELECT pg_temp.act_as('store_admin');
SELECT lives_ok('SELECT count(*) FROM integration.events', 'a store admin reads the outbox');
SELECT throws_ok(
    $$INSERT INTO integration.events (type, subject_id, payload) VALUES ('order.paid', gen_random_uuid(), '{}')$$,
    '42501', NULL, 'but writes no event'
);
RESET ROLE;
SET LOCAL ROLE postcart_customer;
SELECT set_config('request.claims', '{"sub": "00000000-0000-4000-8000-000000000016", "kind": "customer"}', TRUE);
SELECT throws_ok('SELECT * FROM shop.stock_movements', '42501', NULL, 'customers never see the ledger');
RESET ROLE;
SELECT set_config('request.claims', '{"sub": "00000000-0000-4000-8000-000000000016", "kind": "customer"}', TRUE);
INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity, note) VALUES
('b1600000-0000-4000-8000-000000000001', 'd1600000-0000-4000-8000-000000000002', 'return', 1, 'tst16 return');
SELECT is((SELECT staff_id FROM shop.stock_movements WHERE note = 'tst16 return'), NULL,
          'a movement made on a customer''s behalf names no staff member');
SELECT set_config('request.claims', '', TRUE);

-- == backorders =====================================================================================
UPDATE shop.product_variants SET backorder_limit = 3 WHERE id = 'b1600000-0000-4000-8000-000000000002';
SELECT is(
    (SELECT backorder_limit FROM shop.stock_levels WHERE variant_id = 'b1600000-0000-4000-8000-000000000002'),
    3, 'a new limit reaches the variant''s existing stock rows'
);
INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity) VALUES
('b1600000-0000-4000-8000-000000000002', 'd1600000-0000-4000-8000-000000000002', 'receipt', 2);
SELECT is(
    (SELECT backorder_limit FROM shop.stock_levels
     WHERE variant_id = 'b1600000-0000-4000-8000-000000000002' AND warehouse_id = 'd1600000-0000-4000-8000-000000000002'),
    3, 'and new ones'
);
SELECT lives_ok(
    $$UPDATE shop.stock_levels SET reserved = 5
      WHERE variant_id = 'b1600000-0000-4000-8000-000000000002' AND warehouse_id = 'd1600000-0000-4000-8000-000000000002'$$,
    'up to on_hand + the limit may be reserved (2 + 3)'
);
SELECT throws_ok(
    $$UPDATE shop.stock_levels SET reserved = 6
      WHERE variant_id = 'b1600000-0000-4000-8000-000000000002' AND warehouse_id = 'd1600000-0000-4000-8000-000000000002'$$,
    '23514', NULL, 'one more is refused'
);
SELECT throws_ok(
    $$UPDATE shop.stock_levels SET reserved = on_hand + 1
      WHERE variant_id = 'b1600000-0000-4000-8000-000000000001' AND warehouse_id = 'd1600000-0000-4000-8000-000000000002'$$,
    NULL, NULL, 'a variant without backorders reserves at most on_hand'
);
SELECT throws_ok(
    $$INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity) VALUES
      ('b1600000-0000-4000-8000-000000000002', 'd1600000-0000-4000-8000-000000000002', 'adjustment', -1)$$,
    '23514', NULL, 'on_hand cannot fall so far that the reservations exceed the limit'
);
SELECT throws_ok(
    $$UPDATE shop.product_variants SET backorder_limit = 2 WHERE id = 'b1600000-0000-4000-8000-000000000002'$$,
    '23514', NULL, 'a limit below what is already backordered is refused'
);
SELECT throws_ok(
    $$UPDATE shop.stock_levels SET backorder_limit = 50 WHERE variant_id = 'b1600000-0000-4000-8000-000000000002'$$,
    '23503', NULL, 'a stock row''s copy of the limit cannot differ from the variant''s'
);
SELECT is(
    (SELECT available FROM shop.variant_availability(ARRAY['b1600000-0000-4000-8000-000000000002'::uuid])),
    -3::bigint, 'backordered units count against availability'
);

-- == low stock ======================================================================================
CREATE FUNCTION pg_temp.low_events()
RETURNS bigint
LANGUAGE sql
AS $$
    SELECT count(*) FROM integration.events AS e
    WHERE e.type = 'stock.low' AND e.subject_id = 'b1600000-0000-4000-8000-000000000003'
$$;
INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity) VALUES
('b1600000-0000-4000-8000-000000000003', 'd1600000-0000-4000-8000-000000000001', 'receipt', 6),
('b1600000-0000-4000-8000-000000000003', 'd1600000-0000-4000-8000-000000000002', 'receipt', 4);
UPDATE shop.product_variants SET low_stock_threshold = 5 WHERE id = 'b1600000-0000-4000-8000-000000000003';
SELECT is(pg_temp.low_events(), 0::bigint, 'a threshold below what is available writes nothing');
INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity) VALUES
('b1600000-0000-4000-8000-000000000003', 'd1600000-0000-4000-8000-000000000001', 'sale', -4);
SELECT is(pg_temp.low_events(), 0::bigint, 'above the threshold (6) nothing happens');
INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity) VALUES
('b1600000-0000-4000-8000-000000000003', 'd1600000-0000-4000-8000-000000000002', 'sale', -1);
SELECT is(pg_temp.low_events(), 1::bigint, 'falling to the threshold (5, over both warehouses) writes stock.low');
SELECT is(
    (SELECT payload FROM integration.events WHERE type = 'stock.low' AND subject_id = 'b1600000-0000-4000-8000-000000000003'),
    jsonb_build_object(
        'variant_id', 'b1600000-0000-4000-8000-000000000003', 'product_id', 'a1600000-0000-4000-8000-000000000001',
        'sku', 'TST16-LOW', 'available', 5, 'low_stock_threshold', 5
    ),
    'the event says which variant, how many are left and the threshold'
);
UPDATE shop.stock_levels SET reserved = 2
WHERE variant_id = 'b1600000-0000-4000-8000-000000000003' AND warehouse_id = 'd1600000-0000-4000-8000-000000000001';
INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity) VALUES
('b1600000-0000-4000-8000-000000000003', 'd1600000-0000-4000-8000-000000000002', 'sale', -1);
SELECT is(pg_temp.low_events(), 1::bigint, 'falling further (a reservation, a sale) writes no second event');
INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity) VALUES
('b1600000-0000-4000-8000-000000000003', 'd1600000-0000-4000-8000-000000000001', 'receipt', 4);
SELECT is((SELECT count(*) FROM shop.low_stock_alerts WHERE variant_id = 'b1600000-0000-4000-8000-000000000003'),
          0::bigint, 'back above the threshold (6) re-arms the alert');
UPDATE shop.stock_levels SET reserved = 3
WHERE variant_id = 'b1600000-0000-4000-8000-000000000003' AND warehouse_id = 'd1600000-0000-4000-8000-000000000001';
SELECT is(pg_temp.low_events(), 2::bigint, 'the next crossing, by a reservation, writes a second event');
SELECT is(
    (SELECT available FROM shop.low_stock_alerts WHERE variant_id = 'b1600000-0000-4000-8000-000000000003'),
    5::bigint, 'the alert remembers what was available'
);
UPDATE shop.product_variants SET low_stock_threshold = NULL WHERE id = 'b1600000-0000-4000-8000-000000000003';
SELECT is((SELECT count(*) FROM shop.low_stock_alerts WHERE variant_id = 'b1600000-0000-4000-8000-000000000003'),
          0::bigint, 'removing the threshold removes the alert');
UPDATE shop.product_variants SET low_stock_threshold = 8 WHERE id = 'b1600000-0000-4000-8000-000000000003';
SELECT is(pg_temp.low_events(), 3::bigint, 'a threshold set above what is available alerts at once');

-- == the outbox =====================================================================================
SELECT throws_ok(
    $$SELECT integration.emit('Not A Type', gen_random_uuid(), '{}')$$, '23514', NULL, 'event types are dotted lower case'
);
SELECT throws_ok(
    $$SELECT integration.emit('order.paid', gen_random_uuid(), '[1]')$$, '23514', NULL, 'event data is an object'
);
CREATE TEMP TABLE emitted AS SELECT integration.emit('tst16.checked', 'b1600000-0000-4000-8000-000000000001', NULL) AS id;
SELECT is(
    (SELECT (e.type, e.payload, e.dispatched_at, e.attempts)::text FROM integration.events AS e
     WHERE e.id = (SELECT id FROM emitted)),
    '(tst16.checked,{},,0)', 'an event starts undispatched, with no attempts'
);
SELECT is(
    (SELECT pg_get_indexdef(i.indexrelid) FROM pg_index AS i WHERE i.indexrelid = 'integration.events_undispatched_idx'::regclass),
    'CREATE INDEX events_undispatched_idx ON integration.events USING btree (created_at, id) WHERE (dispatched_at IS NULL)',
    'undispatched events are found oldest first from an index'
);
SELECT trigger_is('integration', 'events', '_500_notify', 'integration', 'tg_events__notify',
                  'inserting events notifies the dispatcher');

-- == reporting ======================================================================================
SET LOCAL ROLE postcart_analyst;
SELECT is(
    (SELECT (sku, available, low_stock_threshold, on_hand, reserved)::text FROM reporting.low_stock
     WHERE variant_id = 'b1600000-0000-4000-8000-000000000003'),
    '(TST16-LOW,5,8,8,3)', 'the analyst sees the variant in reporting.low_stock'
);
SELECT ok(
    NOT EXISTS (SELECT FROM reporting.low_stock WHERE variant_id = 'b1600000-0000-4000-8000-000000000001'),
    'variants without a threshold are not listed'
);
SELECT columns_are('reporting', 'low_stock', ARRAY[
    'product_slug', 'product_name', 'sku', 'variant_name', 'available', 'low_stock_threshold', 'on_hand', 'reserved',
    'alerted_at', 'product_status', 'product_id', 'variant_id'
], 'reporting.low_stock holds no personal data');
SELECT throws_ok('SELECT * FROM shop.stock_movements', '42501', NULL, 'the analyst cannot read the ledger itself');
RESET ROLE;

-- == the whole database still balances ==============================================================
SELECT is((SELECT count(*) FROM pg_temp.unbalanced), 0::bigint, 'after all of this, every on_hand is its ledger''s sum');
SELECT lives_ok('TRUNCATE shop.stock_levels, shop.stock_movements', 'stock and ledger may be reset together');

SELECT * FROM finish();
ROLLBACK;
