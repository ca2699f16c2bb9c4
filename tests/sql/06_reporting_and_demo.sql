-- Reporting views (documented, readable by the analyst, who cannot reach shop or auth) and the demo
-- catalog loader (deterministic, idempotent, owner only).
BEGIN;
SELECT plan(29);

-- == demo catalog ===================================================================================
-- Start from an empty catalog inside this transaction (the HTTP tests may have loaded the demo already).
TRUNCATE shop.products CASCADE;

SELECT is(shop.load_demo_catalog(), 50, 'load_demo_catalog creates 50 products');
SELECT is(shop.load_demo_catalog(), 0, 'a second call does nothing and returns 0');
SELECT is((SELECT count(*) FROM shop.products), 50::bigint, 'still 50 products after the second call');
SELECT is(
    (SELECT array_agg(status || ':' || n ORDER BY status)
     FROM (SELECT status, count(*) AS n FROM shop.products GROUP BY status) AS s),
    ARRAY['archived:1', 'draft:2', 'published:47'], 'mostly published, a couple of drafts, one archived'
);
SELECT set_eq(
    $$SELECT parent.slug || '/' || c.slug FROM shop.categories AS c
      INNER JOIN shop.categories AS parent ON c.parent_id = parent.id
      WHERE parent.slug IN ('apparel', 'home', 'accessories')$$,
    ARRAY['apparel/t-shirts', 'apparel/hoodies', 'home/mugs', 'home/posters', 'accessories/bags', 'accessories/caps'],
    'categories with subcategories'
);
SELECT ok(
    (SELECT bool_and(n BETWEEN 2 AND 4) FROM (
        SELECT count(v.id) AS n FROM shop.products AS p
        LEFT JOIN shop.product_variants AS v ON p.id = v.product_id GROUP BY p.id
    ) AS counts),
    'every product has 2 to 4 variants'
);
SELECT is(
    (SELECT count(*) FROM shop.product_variants AS v
     WHERE (SELECT array_agg(currency::text ORDER BY currency) FROM shop.variant_prices AS vp
            WHERE vp.variant_id = v.id) IS DISTINCT FROM ARRAY['EUR', 'USD']),
    0::bigint, 'every variant is priced in EUR and USD'
);
SELECT is(
    (SELECT count(*) FROM shop.product_variants AS v
     WHERE (SELECT count(*) FROM shop.stock_levels AS s WHERE s.variant_id = v.id) <> 2),
    0::bigint, 'every variant has stock rows in both warehouses'
);
SELECT ok(
    (SELECT count(*) FROM shop.variant_availability(ARRAY(SELECT id FROM shop.product_variants)) AS a
     WHERE a.available = 0) BETWEEN 5 AND 60,
    'some variants are sold out, most are not'
);
SELECT ok(
    (SELECT bool_and(p.attributes ? 'material' AND p.description <> '' AND p.image_url IS NOT NULL)
     FROM shop.products AS p),
    'products have a description, an image and a material'
);
SELECT ok(
    has_function_privilege('postcart_owner', 'shop.load_demo_catalog()', 'EXECUTE')
    AND NOT has_function_privilege('postcart_anon', 'shop.load_demo_catalog()', 'EXECUTE')
    AND NOT has_function_privilege('postcart_staff', 'shop.load_demo_catalog()', 'EXECUTE')
    AND NOT has_function_privilege('postcart_analyst', 'shop.load_demo_catalog()', 'EXECUTE'),
    'only the owner may run load_demo_catalog'
);

-- Deterministic: the same data on every run (ids aside).
CREATE TEMPORARY TABLE demo_fingerprint AS
SELECT md5(string_agg(
    concat_ws('|', p.slug, p.name, p.status, p.published_at, c.slug, v.sku, v.options, vp.currency, vp.amount,
              (SELECT string_agg(s.on_hand || '/' || s.reserved, ',' ORDER BY w.code)
               FROM shop.stock_levels AS s INNER JOIN shop.warehouses AS w ON s.warehouse_id = w.id
               WHERE s.variant_id = v.id)),
    ';' ORDER BY v.sku, vp.currency
)) AS digest
FROM shop.products AS p
INNER JOIN shop.categories AS c ON p.category_id = c.id
INNER JOIN shop.product_variants AS v ON p.id = v.product_id
INNER JOIN shop.variant_prices AS vp ON v.id = vp.variant_id;
TRUNCATE shop.products CASCADE;
SELECT is(shop.load_demo_catalog(), 50, 'loading again into an empty catalog creates the same 50');
SELECT is(
    (SELECT md5(string_agg(
        concat_ws('|', p.slug, p.name, p.status, p.published_at, c.slug, v.sku, v.options, vp.currency, vp.amount,
                  (SELECT string_agg(s.on_hand || '/' || s.reserved, ',' ORDER BY w.code)
                   FROM shop.stock_levels AS s INNER JOIN shop.warehouses AS w ON s.warehouse_id = w.id
                   WHERE s.variant_id = v.id)),
        ';' ORDER BY v.sku, vp.currency
    ))
     FROM shop.products AS p
     INNER JOIN shop.categories AS c ON p.category_id = c.id
     INNER JOIN shop.product_variants AS v ON p.id = v.product_id
     INNER JOIN shop.variant_prices AS vp ON v.id = vp.variant_id),
    (SELECT digest FROM demo_fingerprint),
    'the demo catalog is deterministic'
);

-- The demo is what the storefront shows.
SET LOCAL ROLE postcart_anon;
SELECT set_config('request.claims', '{}', TRUE);
SELECT is(
    (SELECT count(*) FROM shop.products), 47::bigint, 'anonymous callers see the 47 published demo products'
);
SELECT ok(
    (api.list_products('{"q": "hodie"}') -> 'items' -> 0 ->> 'name') ILIKE '%hoodie%',
    'searching the demo for "hodie" finds a hoodie'
);
RESET ROLE;

-- == reporting views ================================================================================
SELECT has_view('reporting', 'catalog_stock', 'reporting.catalog_stock exists');
SELECT has_view('reporting', 'product_catalog', 'reporting.product_catalog exists');
SELECT is(
    (SELECT array_agg(c.relname::text ORDER BY c.relname) FROM pg_class AS c
     WHERE c.relnamespace = 'reporting'::regnamespace AND c.relkind IN ('v', 'm')
       AND obj_description(c.oid, 'pg_class') IS NULL),
    NULL, 'every reporting view has a comment'
);
SELECT is(
    (SELECT array_agg(c.relname || '.' || a.attname ORDER BY c.relname, a.attnum) FROM pg_class AS c
     INNER JOIN pg_attribute AS a ON c.oid = a.attrelid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE c.relnamespace = 'reporting'::regnamespace AND c.relkind IN ('v', 'm')
       AND col_description(c.oid, a.attnum) IS NULL),
    NULL, 'every column of every reporting view has a comment'
);
SELECT is(
    (SELECT count(*) FROM reporting.catalog_stock),
    (SELECT count(*) FROM shop.product_variants) * (SELECT count(*) FROM shop.warehouses),
    'catalog_stock has one row per variant and warehouse'
);
SELECT is(
    (SELECT count(*) FROM reporting.catalog_stock WHERE available <> on_hand - reserved), 0::bigint,
    'available = on_hand - reserved'
);
SELECT is(
    (SELECT row(category_path, status, variant_count, min_price, max_price, priced_variant_count)::text
     FROM reporting.product_catalog WHERE product_slug = 'aurora-organic-tee' AND currency = 'EUR'),
    '("Apparel > T-shirts",published,4,2490,2690,4)',
    'product_catalog: category path, status, variant count and price range per currency'
);
SELECT is(
    (SELECT count(*) FROM reporting.product_catalog), 100::bigint,
    'product_catalog has one row per product and currency'
);

SET LOCAL ROLE postcart_analyst;
SELECT lives_ok('SELECT * FROM reporting.catalog_stock', 'the analyst reads reporting.catalog_stock');
SELECT lives_ok('SELECT * FROM reporting.product_catalog', 'the analyst reads reporting.product_catalog');
SELECT throws_ok('SELECT * FROM shop.products', '42501', NULL, 'the analyst cannot read shop.products');
SELECT throws_ok('SELECT * FROM shop.stock_levels', '42501', NULL, 'the analyst cannot read shop.stock_levels');
SELECT throws_ok('SELECT * FROM auth.accounts', '42501', NULL, 'the analyst cannot read auth tables');
RESET ROLE;
SET LOCAL ROLE postcart_dba;
SELECT lives_ok('SELECT * FROM reporting.product_catalog', 'the DBA reads the reporting views too');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
