-- Catalog tables: constraints, triggers, row-level security (enabled, forced, policies) and who may read
-- what, checked by switching roles inside the transaction.
BEGIN;
SELECT plan(61);

-- == structure ======================================================================================
SELECT has_table('shop', t, format('shop.%s exists', t))
FROM unnest(ARRAY[
    'categories', 'products', 'product_variants', 'variant_prices', 'warehouses', 'stock_levels'
]::name[]) AS t;

SELECT ok(
    (SELECT c.relrowsecurity AND c.relforcerowsecurity FROM pg_class AS c
     WHERE c.oid = format('shop.%I', t)::regclass),
    format('RLS is enabled and forced on shop.%s', t)
)
FROM unnest(ARRAY[
    'categories', 'products', 'product_variants', 'variant_prices', 'warehouses', 'stock_levels'
]::name[]) AS t;

SELECT policies_are('shop', 'categories',
    ARRAY['categories_owner_all', 'categories_select_all', 'categories_insert_catalog', 'categories_update_catalog',
          'categories_delete_catalog']);
SELECT policies_are('shop', 'products',
    ARRAY['products_owner_all', 'products_select_published', 'products_select_staff', 'products_insert_catalog',
          'products_update_catalog', 'products_delete_catalog']);
SELECT policies_are('shop', 'product_variants',
    ARRAY['product_variants_owner_all', 'product_variants_select_published', 'product_variants_select_staff',
          'product_variants_insert_catalog', 'product_variants_update_catalog', 'product_variants_delete_catalog',
          'product_variants_update_inventory_manager']);
SELECT policies_are('shop', 'variant_prices',
    ARRAY['variant_prices_owner_all', 'variant_prices_select_published', 'variant_prices_select_staff',
          'variant_prices_insert_catalog', 'variant_prices_update_catalog', 'variant_prices_delete_catalog']);
SELECT policies_are('shop', 'warehouses', ARRAY[
    'warehouses_owner_all', 'warehouses_select_staff', 'warehouses_select_listed',
    'warehouses_insert_catalog_manager', 'warehouses_update_catalog_manager', 'warehouses_update_inventory_manager'
]);
SELECT policies_are('shop', 'stock_levels', ARRAY['stock_levels_owner_all', 'stock_levels_select_staff']);

SELECT ok(
    NOT EXISTS (SELECT FROM pg_roles WHERE rolbypassrls AND NOT rolsuper),
    'no role bypasses row-level security'
);
-- Every column a policy filters by is the leading column of an index.
SELECT ok(
    EXISTS (
        SELECT FROM pg_index AS i
        WHERE i.indrelid = 'shop.products'::regclass
            AND i.indkey[0] = (SELECT attnum FROM pg_attribute
                               WHERE attrelid = 'shop.products'::regclass AND attname = 'status')
    ),
    'products.status (policy column) is indexed'
);
SELECT ok(
    EXISTS (
        SELECT FROM pg_index AS i
        WHERE i.indrelid = 'shop.product_variants'::regclass
            AND i.indkey[0] = (SELECT attnum FROM pg_attribute
                               WHERE attrelid = 'shop.product_variants'::regclass AND attname = 'product_id')
    ),
    'product_variants.product_id (policy column) is indexed'
);
SELECT ok(
    EXISTS (
        SELECT FROM pg_index AS i
        WHERE i.indrelid = 'shop.variant_prices'::regclass
            AND i.indkey[0] = (SELECT attnum FROM pg_attribute
                               WHERE attrelid = 'shop.variant_prices'::regclass AND attname = 'product_id')
    ),
    'variant_prices.product_id (policy column) is indexed'
);
SELECT has_index('shop', 'products', 'products_search_name_idx', 'trigram index on the search form of the name');

-- == fixture ========================================================================================
INSERT INTO shop.categories (id, parent_id, slug, name, position) VALUES
('c0000000-0000-4000-8000-000000000001', NULL, 'tst4-root', 'Tst4 Root', 1),
('c0000000-0000-4000-8000-000000000002', 'c0000000-0000-4000-8000-000000000001', 'tst4-child', 'Tst4 Child', 1);
INSERT INTO shop.products (id, slug, name, category_id, status) VALUES
('a0000000-0000-4000-8000-000000000001', 'tst4-live', 'Tst4 Live', 'c0000000-0000-4000-8000-000000000002', 'published'),
('a0000000-0000-4000-8000-000000000002', 'tst4-draft', 'Tst4 Draft', 'c0000000-0000-4000-8000-000000000002', 'draft'),
('a0000000-0000-4000-8000-000000000003', 'tst4-old', 'Tst4 Old', 'c0000000-0000-4000-8000-000000000001', 'archived');
INSERT INTO shop.product_variants (id, product_id, sku, name) VALUES
('b0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 'TST4-LIVE-1', 'One'),
('b0000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000002', 'TST4-DRAFT-1', 'One'),
('b0000000-0000-4000-8000-000000000003', 'a0000000-0000-4000-8000-000000000003', 'TST4-OLD-1', 'One');
INSERT INTO shop.variant_prices (variant_id, currency, amount) VALUES
('b0000000-0000-4000-8000-000000000001', 'EUR', 1000),
('b0000000-0000-4000-8000-000000000002', 'EUR', 2000),
('b0000000-0000-4000-8000-000000000003', 'EUR', 3000);
INSERT INTO shop.warehouses (id, code, name) VALUES
('d0000000-0000-4000-8000-000000000001', 'tst4-wh', 'Tst4 warehouse');
-- Stock arrives through the ledger (migration 0023); reservations are set on the stock row.
INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity) VALUES
('b0000000-0000-4000-8000-000000000001', 'd0000000-0000-4000-8000-000000000001', 'receipt', 5);
UPDATE shop.stock_levels SET reserved = 2
WHERE variant_id = 'b0000000-0000-4000-8000-000000000001' AND warehouse_id = 'd0000000-0000-4000-8000-000000000001';

-- == constraints and triggers =======================================================================
SELECT throws_ok(
    $$UPDATE shop.stock_levels SET reserved = 6 WHERE variant_id = 'b0000000-0000-4000-8000-000000000001'$$,
    '23514', NULL, 'reserved may not exceed on_hand'
);
SELECT throws_ok(
    $$UPDATE shop.stock_levels SET on_hand = -1, reserved = 0
      WHERE variant_id = 'b0000000-0000-4000-8000-000000000001'$$,
    '23514', NULL, 'on_hand may not be negative'
);
SELECT throws_ok(
    $$INSERT INTO shop.products (slug, name) VALUES ('Not A Slug', 'x')$$,
    '23514', NULL, 'slugs are lower-kebab-case'
);
SELECT throws_ok(
    $$INSERT INTO shop.products (slug, name, attributes) VALUES ('tst4-arr', 'x', '[1]')$$,
    '23514', NULL, 'attributes must be a JSON object'
);
SELECT throws_ok(
    $$INSERT INTO shop.products (slug, name, status) VALUES ('tst4-bad-status', 'x', 'live')$$,
    '23514', NULL, 'status is draft, published or archived'
);
SELECT throws_ok(
    $$INSERT INTO shop.products (slug, name) VALUES ('tst4-live', 'x')$$,
    '23505', NULL, 'product slugs are unique'
);
SELECT throws_ok(
    $$INSERT INTO shop.product_variants (product_id, sku, name)
      VALUES ('a0000000-0000-4000-8000-000000000001', 'TST4-LIVE-1', 'Dup')$$,
    '23505', NULL, 'SKUs are unique'
);
SELECT throws_ok(
    $$INSERT INTO shop.variant_prices (variant_id, currency, amount)
      VALUES ('b0000000-0000-4000-8000-000000000001', 'usd', 100)$$,
    '23514', NULL, 'currencies are three upper-case letters'
);
SELECT throws_ok(
    $$INSERT INTO shop.variant_prices (variant_id, currency, amount)
      VALUES ('b0000000-0000-4000-8000-000000000001', 'USD', -1)$$,
    '23514', NULL, 'prices are not negative'
);
SELECT throws_ok(
    $$UPDATE shop.categories SET parent_id = 'c0000000-0000-4000-8000-000000000002'
      WHERE id = 'c0000000-0000-4000-8000-000000000001'$$,
    'PT422', 'category_cycle', 'a category cannot move below its own subcategory'
);
SELECT isnt(
    (SELECT published_at FROM shop.products WHERE id = 'a0000000-0000-4000-8000-000000000001'),
    NULL, 'publishing stamps published_at'
);
SELECT is(
    (SELECT published_at FROM shop.products WHERE id = 'a0000000-0000-4000-8000-000000000002'),
    NULL, 'a draft has no published_at'
);
SELECT is(
    (SELECT product_id FROM shop.variant_prices WHERE variant_id = 'b0000000-0000-4000-8000-000000000001'),
    'a0000000-0000-4000-8000-000000000001'::uuid,
    'a price row carries its variant''s product_id'
);
SELECT throws_ok(
    $$UPDATE shop.variant_prices SET product_id = 'a0000000-0000-4000-8000-000000000002'
      WHERE variant_id = 'b0000000-0000-4000-8000-000000000001'$$,
    '23503', NULL, 'a price cannot claim another product than its variant''s'
);
UPDATE shop.products SET updated_at = '2000-01-01', name = 'Tst4 Live!'
WHERE id = 'a0000000-0000-4000-8000-000000000001';
SELECT ok(
    (SELECT updated_at > '2000-01-01' FROM shop.products WHERE id = 'a0000000-0000-4000-8000-000000000001'),
    'updating a product sets updated_at'
);

-- == anonymous callers ==============================================================================
SET LOCAL ROLE postcart_anon;
SELECT set_config('request.claims', '{}', TRUE);
SELECT is(
    (SELECT count(*) FROM shop.products WHERE status <> 'published'), 0::bigint,
    'anon sees no unpublished product'
);
SELECT is(
    (SELECT array_agg(slug ORDER BY slug) FROM shop.products WHERE slug LIKE 'tst4-%'), ARRAY['tst4-live'],
    'anon sees the published product'
);
SELECT is(
    (SELECT array_agg(sku ORDER BY sku) FROM shop.product_variants WHERE sku LIKE 'TST4-%'), ARRAY['TST4-LIVE-1'],
    'anon sees only variants of published products'
);
SELECT is(
    (SELECT array_agg(amount ORDER BY amount) FROM shop.variant_prices
     WHERE variant_id::text LIKE 'b0000000-%'), ARRAY[1000::bigint],
    'anon sees only prices of published products'
);
SELECT is(
    (SELECT count(*) FROM shop.categories WHERE slug LIKE 'tst4-%'), 2::bigint,
    'anon sees the category tree'
);
SELECT throws_ok('SELECT * FROM shop.stock_levels', '42501', NULL, 'anon cannot read stock levels');
SELECT throws_ok('SELECT * FROM shop.warehouses', '42501', NULL, 'anon cannot read warehouses');
SELECT throws_ok('SELECT created_at FROM shop.products', '42501', NULL, 'anon reads only granted columns');
SELECT throws_ok(
    $$UPDATE shop.products SET name = 'hacked' WHERE slug = 'tst4-live'$$, '42501', NULL,
    'anon cannot change products'
);
SELECT throws_ok(
    $$INSERT INTO shop.categories (slug, name) VALUES ('tst4-anon', 'x')$$, '42501', NULL,
    'anon cannot add categories'
);
SELECT is(
    (SELECT available FROM shop.variant_availability(ARRAY['b0000000-0000-4000-8000-000000000001'::uuid])),
    3::bigint, 'anon gets availability numbers through the helper (on_hand - reserved)'
);
SELECT is(
    (SELECT available FROM shop.product_availability(ARRAY['a0000000-0000-4000-8000-000000000001'::uuid])),
    3::bigint, 'and per product'
);
SELECT is(
    (SELECT array_agg(a.available)
     FROM shop.product_availability(ARRAY['a0000000-0000-4000-8000-000000000001'::uuid,
                                          'a0000000-0000-4000-8000-000000000001'::uuid]) AS a),
    ARRAY[3::bigint], 'a product named twice is one row, counted once'
);
SELECT is(
    (SELECT array_agg(a.available)
     FROM shop.variant_availability(ARRAY['b0000000-0000-4000-8000-000000000001'::uuid,
                                          'b0000000-0000-4000-8000-000000000001'::uuid]) AS a),
    ARRAY[3::bigint], 'and a variant'
);
RESET ROLE;

-- == customers ======================================================================================
SET LOCAL ROLE postcart_customer;
SELECT set_config('request.claims', '{"sub": "00000000-0000-4000-8000-000000000000"}', TRUE);
SELECT is(
    (SELECT count(*) FROM shop.products WHERE status <> 'published'), 0::bigint,
    'a customer sees no unpublished product'
);
SELECT is(
    (SELECT count(*) FROM shop.product_variants WHERE sku LIKE 'TST4-%'), 1::bigint,
    'a customer sees only variants of published products'
);
SELECT throws_ok('SELECT * FROM shop.stock_levels', '42501', NULL, 'a customer cannot read stock levels');
RESET ROLE;

-- == staff ==========================================================================================
SET LOCAL ROLE postcart_staff;
SELECT is(
    (SELECT count(*) FROM shop.products WHERE slug LIKE 'tst4-%'), 3::bigint,
    'staff see drafts and archived products too'
);
SELECT is(
    (SELECT count(*) FROM shop.variant_prices WHERE variant_id::text LIKE 'b0000000-%'), 3::bigint,
    'staff see every price'
);
SELECT is(
    (SELECT on_hand FROM shop.stock_levels WHERE variant_id = 'b0000000-0000-4000-8000-000000000001'), 5,
    'staff read stock levels'
);
SELECT throws_ok(
    $$UPDATE shop.stock_levels SET on_hand = 50$$, '42501', NULL, 'plain staff cannot change stock'
);
RESET ROLE;

-- == analysts =======================================================================================
SET LOCAL ROLE postcart_analyst;
SELECT throws_ok('SELECT * FROM shop.products', '42501', NULL, 'the analyst cannot read shop.products');
SELECT throws_ok('SELECT * FROM shop.stock_levels', '42501', NULL, 'the analyst cannot read shop.stock_levels');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
