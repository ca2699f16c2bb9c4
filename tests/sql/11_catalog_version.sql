-- The catalog version: bumped by every write to a table catalog responses read, readable only by the
-- authenticator (the HTTP layer asks for it before any role switch).
BEGIN;
SELECT plan(15);

-- Every table a storefront catalog response reads carries the bump trigger. A new such table must be
-- added here and in sql/shop/catalog_version.sql.
SELECT is(
    (SELECT array_agg(c.relname::text ORDER BY c.relname)
     FROM pg_trigger AS t
     INNER JOIN pg_class AS c ON t.tgrelid = c.oid
     INNER JOIN pg_namespace AS n ON c.relnamespace = n.oid
     WHERE t.tgname = 'zz_catalog_version' AND n.nspname = 'shop'),
    ARRAY[
        'categories', 'category_bestsellers', 'collection_products', 'collections', 'markdowns',
        'price_list_prices', 'price_lists', 'product_affinities', 'product_media', 'product_slugs',
        'product_types', 'product_variants', 'products', 'stock_levels', 'variant_prices', 'warehouses'
    ],
    'every catalog table bumps the version'
);

CREATE TEMPORARY TABLE v AS SELECT shop.catalog_version() AS before, shop.catalog_content_version() AS content;
SELECT lives_ok($$INSERT INTO shop.categories (slug, name) VALUES ('version-test', 'Version test')$$, 'a catalog write');
SELECT isnt(shop.catalog_version(), (SELECT before FROM v), 'a write moves the version in its transaction');
UPDATE v SET before = shop.catalog_version();
UPDATE shop.products SET name = name WHERE FALSE;
SELECT isnt(shop.catalog_version(), (SELECT before FROM v), 'even a statement that changes no row counts');
UPDATE v SET before = shop.catalog_version();
DO $$ BEGIN PERFORM count(*) FROM shop.products; END $$;
SELECT is(shop.catalog_version(), (SELECT before FROM v), 'reads do not');
UPDATE v SET before = shop.catalog_version();
UPDATE v SET content = shop.catalog_content_version();
UPDATE shop.stock_levels SET on_hand = on_hand WHERE FALSE;
SELECT isnt(shop.catalog_version(), (SELECT before FROM v), 'stock changes count (availability is shown)');
SELECT is(
    shop.catalog_content_version(), (SELECT content FROM v),
    'but not in the content version (memoised facets without an in_stock filter outlive sales)'
);
UPDATE shop.products SET name = name WHERE FALSE;
SELECT isnt(shop.catalog_content_version(), (SELECT content FROM v), 'other catalog writes move it');
SELECT ok(
    shop.catalog_content_version() LIKE 'content:%@%' AND shop.catalog_version() NOT LIKE 'content:%',
    'the two kinds of version never compare equal'
);

-- Scheduled changes: the version names the latest instant, up to now, at which one took effect.
INSERT INTO shop.markdowns (name, percent_off, category_id, starts_at, ends_at)
SELECT 'version test', 10, c.id, now(), now() + INTERVAL '1 hour'
FROM shop.categories AS c WHERE c.slug = 'version-test';
SELECT is(shop.catalog_schedule_instant(), now(), 'a markdown that begins now is the latest instant');
SELECT is(
    split_part(shop.catalog_version(), '@', 2),
    floor(extract(EPOCH FROM now()) * 1000000)::bigint::text,
    'and the version says so: when the markdown ends (an instant still ahead) the version will move'
);

SELECT ok(has_function_privilege('postcart_authenticator', 'shop.catalog_version()', 'EXECUTE'),
          'the authenticator reads the version');
SELECT ok(NOT has_function_privilege('postcart_anon', 'shop.catalog_version()', 'EXECUTE')
          AND NOT has_function_privilege('postcart_customer', 'shop.catalog_version()', 'EXECUTE'),
          'application roles do not need it');
SET LOCAL ROLE postcart_anon;
SELECT throws_ok('SELECT * FROM shop.catalog_version_shards', '42501', NULL, 'nobody reads the shards directly');
SELECT throws_ok('UPDATE shop.catalog_version_shards SET version = 0', '42501', NULL, 'nor resets them');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
