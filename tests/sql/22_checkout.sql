-- Checkout's rules in the database (sql/shop/checkout.sql): stock is reserved for every line or none, from
-- physical stock in warehouse priority order before any backorder allowance, a line may split, a short
-- line is reported with what is available, and order numbers come from one counter without gaps.
BEGIN;
SELECT plan(17);

-- == fixture ========================================================================================
INSERT INTO shop.products (id, slug, name) VALUES ('a2200000-0000-4000-8000-000000000001', 'tst22', 'Tst22');
INSERT INTO shop.product_variants (id, product_id, sku, name, backorder_limit) VALUES
('b2200000-0000-4000-8000-000000000001', 'a2200000-0000-4000-8000-000000000001', 'TST22-A', 'A', 0),
('b2200000-0000-4000-8000-000000000002', 'a2200000-0000-4000-8000-000000000001', 'TST22-B', 'B', 0),
('b2200000-0000-4000-8000-000000000003', 'a2200000-0000-4000-8000-000000000001', 'TST22-BACK', 'Back', 3);
-- "near" is allocated first (priority 1), "far" second; "zero" has the same priority as far but a later code.
INSERT INTO shop.warehouses (id, code, name, priority) VALUES
('d2200000-0000-4000-8000-000000000001', 'tst22-far', 'Far', 50),
('d2200000-0000-4000-8000-000000000002', 'tst22-near', 'Near', 1),
('d2200000-0000-4000-8000-000000000003', 'tst22-zero', 'Zero', 50);
INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity) VALUES
('b2200000-0000-4000-8000-000000000001', 'd2200000-0000-4000-8000-000000000002', 'receipt', 2),
('b2200000-0000-4000-8000-000000000001', 'd2200000-0000-4000-8000-000000000001', 'receipt', 5),
('b2200000-0000-4000-8000-000000000002', 'd2200000-0000-4000-8000-000000000001', 'receipt', 1),
('b2200000-0000-4000-8000-000000000003', 'd2200000-0000-4000-8000-000000000002', 'receipt', 1),
('b2200000-0000-4000-8000-000000000003', 'd2200000-0000-4000-8000-000000000001', 'receipt', 1);

CREATE FUNCTION pg_temp.reserved(v text, w text)
RETURNS integer
LANGUAGE sql
AS $$
    SELECT s.reserved FROM shop.stock_levels AS s
    WHERE s.variant_id = ('b2200000-0000-4000-8000-00000000000' || v)::uuid
        AND s.warehouse_id = ('d2200000-0000-4000-8000-00000000000' || w)::uuid
$$;

-- == all or nothing =================================================================================
SELECT throws_ok(
    $$SELECT * FROM shop.reserve_stock(
        ARRAY['b2200000-0000-4000-8000-000000000001', 'b2200000-0000-4000-8000-000000000002']::uuid[],
        ARRAY[3, 2], ARRAY['c2200000-0000-4000-8000-000000000001', 'c2200000-0000-4000-8000-000000000002']::uuid[]
    )$$,
    'PT409', 'out_of_stock', 'one short line refuses the whole reservation'
);
SELECT is(pg_temp.reserved('1', '2') + pg_temp.reserved('1', '1') + pg_temp.reserved('2', '1'), 0,
    '... and nothing was reserved');

-- The error names every short line with what it could have had.
CREATE FUNCTION pg_temp.short_lines()
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    d text;
BEGIN
    PERFORM shop.reserve_stock(
        ARRAY['b2200000-0000-4000-8000-000000000001', 'b2200000-0000-4000-8000-000000000002']::uuid[],
        ARRAY[8, 2], ARRAY['c2200000-0000-4000-8000-000000000001', 'c2200000-0000-4000-8000-000000000002']::uuid[]
    );
    RETURN NULL;
EXCEPTION WHEN sqlstate 'PT409' THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
    RETURN d::jsonb;
END
$$;
SELECT is(
    pg_temp.short_lines(),
    '{"items": [
        {"item_id": "c2200000-0000-4000-8000-000000000001", "variant_id": "b2200000-0000-4000-8000-000000000001",
         "sku": "TST22-A", "requested": 8, "available": 7},
        {"item_id": "c2200000-0000-4000-8000-000000000002", "variant_id": "b2200000-0000-4000-8000-000000000002",
         "sku": "TST22-B", "requested": 2, "available": 1}
    ]}'::jsonb,
    'out_of_stock lists every short line with the cart item, the request and what is available'
);

-- == allocation by priority, split lines ============================================================
SELECT results_eq(
    $$SELECT line, warehouse_id::text, quantity FROM shop.reserve_stock(
        ARRAY['b2200000-0000-4000-8000-000000000001', 'b2200000-0000-4000-8000-000000000002']::uuid[],
        ARRAY[3, 1], ARRAY['c2200000-0000-4000-8000-000000000001', 'c2200000-0000-4000-8000-000000000002']::uuid[]
    ) ORDER BY line, warehouse_id$$,
    $$VALUES
        (1, 'd2200000-0000-4000-8000-000000000001', 1),
        (1, 'd2200000-0000-4000-8000-000000000002', 2),
        (2, 'd2200000-0000-4000-8000-000000000001', 1)$$,
    'a line takes the nearest warehouse first and splits to the next (1 from far after 2 from near)'
);
SELECT is(pg_temp.reserved('1', '2'), 2, 'near is fully reserved');
SELECT is(pg_temp.reserved('1', '1'), 1, 'far has one reserved');
SELECT is(pg_temp.reserved('2', '1'), 1, 'the second line reserved its one unit');
SELECT results_eq(
    $$SELECT quantity FROM shop.reserve_stock(
        ARRAY['b2200000-0000-4000-8000-000000000001']::uuid[], ARRAY[4],
        ARRAY['c2200000-0000-4000-8000-000000000001']::uuid[]
    )$$,
    $$VALUES (4)$$,
    'what is left (4 in far) can still be reserved'
);
SELECT throws_ok(
    $$SELECT * FROM shop.reserve_stock(
        ARRAY['b2200000-0000-4000-8000-000000000001']::uuid[], ARRAY[1],
        ARRAY['c2200000-0000-4000-8000-000000000001']::uuid[]
    )$$,
    'PT409', 'out_of_stock', 'and then not one unit more'
);
SELECT throws_ok(
    $$SELECT * FROM shop.reserve_stock(
        ARRAY['b2200000-0000-4000-8000-000000000009']::uuid[], ARRAY[1],
        ARRAY['c2200000-0000-4000-8000-000000000001']::uuid[]
    )$$,
    'PT409', 'out_of_stock', 'a variant without stock rows is out of stock'
);

-- == backorders: physical stock everywhere first, then the allowance ================================
SELECT results_eq(
    $$SELECT warehouse_id::text, quantity FROM shop.reserve_stock(
        ARRAY['b2200000-0000-4000-8000-000000000003']::uuid[], ARRAY[4],
        ARRAY['c2200000-0000-4000-8000-000000000003']::uuid[]
    ) ORDER BY warehouse_id$$,
    $$VALUES ('d2200000-0000-4000-8000-000000000001', 1), ('d2200000-0000-4000-8000-000000000002', 3)$$,
    'the unit on hand in far is taken before backordering in near (near: 1 on hand + 2 backordered)'
);
SELECT results_eq(
    $$SELECT warehouse_id::text, quantity FROM shop.reserve_stock(
        ARRAY['b2200000-0000-4000-8000-000000000003']::uuid[], ARRAY[4],
        ARRAY['c2200000-0000-4000-8000-000000000003']::uuid[]
    ) ORDER BY warehouse_id$$,
    $$VALUES ('d2200000-0000-4000-8000-000000000001', 3), ('d2200000-0000-4000-8000-000000000002', 1)$$,
    'the rest of the allowance: one more in near, three in far'
);
SELECT throws_ok(
    $$SELECT * FROM shop.reserve_stock(
        ARRAY['b2200000-0000-4000-8000-000000000003']::uuid[], ARRAY[1],
        ARRAY['c2200000-0000-4000-8000-000000000003']::uuid[]
    )$$,
    'PT409', 'out_of_stock', 'beyond on hand plus the backorder limit in every warehouse, nothing'
);
SELECT is(pg_temp.reserved('3', '2') - 1, 3, 'near: reserved exceeds on hand by exactly the backorder limit');

-- == order numbers ==================================================================================
UPDATE shop.order_numbers SET last_number = 41;
SELECT is(shop.next_order_number(), 42::bigint, 'the next number follows the last');
SELECT is(shop.next_order_number(), 43::bigint, 'and the one after');
SELECT is(
    has_function_privilege('postcart_customer', 'shop.reserve_stock(uuid[], integer[], uuid[])', 'EXECUTE')
    OR has_function_privilege('postcart_anon', 'shop.next_order_number()', 'EXECUTE'),
    FALSE,
    'only the owner (checkout) reserves stock and takes numbers'
);

SELECT * FROM finish();
ROLLBACK;
