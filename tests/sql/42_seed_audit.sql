-- The catalog generator and the audit trail (migration 0048): shop.seed_catalog writes one 'seed' record
-- saying what it added, no record per generated row, and leaves the audit triggers on for everyone after it.
-- Only this transaction's records are looked at (txid), as the HTTP suite may write beside this file.
BEGIN;
SELECT plan(7);

SET LOCAL ROLE postcart_owner;
SELECT is(shop.seed_catalog(3), 3, 'the seed adds three products');

SELECT is(
    (
        SELECT count(*) FROM audit.records AS r
        WHERE r.txid = txid_current() AND r.action <> 'seed'
            AND r.table_name IN ('shop.products', 'shop.product_variants', 'shop.variant_prices', 'shop.stock_movements')
    ),
    0::bigint,
    'no record per generated product, variant, price or stock movement'
);
SELECT is(
    (
        SELECT jsonb_build_object('table', r.table_name, 'role', r.db_role) || (r.new_values - 'slugs')
        FROM audit.records AS r
        WHERE r.txid = txid_current() AND r.action = 'seed'
    ),
    jsonb_build_object(
        'table', 'shop.products', 'role', 'postcart_owner', 'products', 3, 'variants', 9, 'prices', 18,
        'stock_movements', (
            SELECT count(*) FROM shop.stock_movements AS m
            INNER JOIN shop.product_variants AS v ON m.variant_id = v.id
            INNER JOIN shop.products AS p ON v.product_id = p.id
            WHERE p.xmin::text = (txid_current() % 4294967296)::text
        )
    ),
    'one seed record says what was added, and by whom'
);
SELECT matches(
    (SELECT r.new_values ->> 'slugs' FROM audit.records AS r WHERE r.txid = txid_current() AND r.action = 'seed'),
    '^-s[0-9]+ to -s[0-9]+$',
    'and which slug numbers'
);
SELECT is(
    (
        SELECT array_agg(t.tgenabled::text ORDER BY t.tgrelid::regclass::text)
        FROM pg_trigger AS t
        WHERE t.tgname = 'audit_record_change'
            AND t.tgrelid::regclass::text IN (
                'shop.products', 'shop.product_variants', 'shop.variant_prices', 'shop.stock_movements'
            )
    ),
    ARRAY['O', 'O', 'O', 'O'],
    'the four audit triggers are on again when it returns'
);

-- A write after the seed, in the same transaction, is recorded as usual.
UPDATE shop.products SET name = name || ' (renamed)'
WHERE id = (SELECT p.id FROM shop.products AS p WHERE p.xmin::text = (txid_current() % 4294967296)::text LIMIT 1);
SELECT is(
    (SELECT count(*) FROM audit.records AS r WHERE r.txid = txid_current() AND r.action = 'update'
        AND r.table_name = 'shop.products'),
    1::bigint,
    'a product renamed after the seed is audited'
);

RESET ROLE;
SELECT throws_ok(
    $$UPDATE audit.records SET action = 'insert' WHERE action = 'seed'$$,
    NULL, NULL, 'a seed record is append-only like every other'
);

SELECT * FROM finish();
ROLLBACK;
