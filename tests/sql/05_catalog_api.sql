-- Catalog API as the storefront calls it: anonymous (and customer) callers see published products only,
-- keyset pages cover every product exactly once, filters, typo-tolerant search, facets, errors.
-- Other data may already be in the database (the HTTP tests load the demo catalog): assertions either
-- look at this file's tst5-* fixture or compare with what the caller can see in SQL.
BEGIN;
SELECT plan(56);

-- == helpers (temporary, this session only) =========================================================
-- Every item of every page, following next_cursor until it is null.
CREATE FUNCTION pg_temp.all_items(args jsonb)
RETURNS TABLE (page integer, item jsonb)
LANGUAGE plpgsql
AS $$
DECLARE
    response jsonb;
    page_args jsonb := args;
BEGIN
    page := 0;
    LOOP
        page := page + 1;
        response := api.list_products(page_args);
        FOR item IN SELECT e FROM jsonb_array_elements(response -> 'items') AS e LOOP
            RETURN NEXT;
        END LOOP;
        EXIT WHEN response ->> 'next_cursor' IS NULL OR page > 1000;
        page_args := args || jsonb_build_object('cursor', response ->> 'next_cursor');
    END LOOP;
END
$$;

-- The error a statement raises: {state, message, detail (parsed JSON)}; NULL when it succeeds.
CREATE FUNCTION pg_temp.error_of(statement text)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    state text;
    message text;
    detail text;
BEGIN
    EXECUTE statement;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
    RETURN jsonb_build_object('state', state, 'message', message, 'detail', nullif(detail, '')::jsonb);
END
$$;

-- == fixture ========================================================================================
INSERT INTO shop.categories (id, parent_id, slug, name, position) VALUES
('c5000000-0000-4000-8000-000000000001', NULL, 'tst5-root', 'Tst5 Root', 90),
('c5000000-0000-4000-8000-000000000002', 'c5000000-0000-4000-8000-000000000001', 'tst5-kids', 'Tst5 Kids', 1),
('c5000000-0000-4000-8000-000000000003', NULL, 'tst5-other', 'Tst5 Other', 91);
INSERT INTO shop.products (id, slug, name, description, attributes, category_id, status, published_at)
SELECT
    format('a5000000-0000-4000-8000-%s', lpad(n::text, 12, '0'))::uuid,
    f.slug, f.name, f.description, '{"material": "wool"}', f.category_id, f.status,
    CASE WHEN f.status = 'published' THEN timestamptz '2024-03-01 12:00+00' + f.day * interval '1 day' END
FROM (VALUES
    (1, 'tst5-cozy-hoodie', 'Tst5 Cozy Hoodie', 'Warm.', 'c5000000-0000-4000-8000-000000000002'::uuid, 'published', 1),
    (2, 'tst5-zip-hoodie', 'Tst5 Zip Hoodie', 'Zips.', 'c5000000-0000-4000-8000-000000000002', 'published', 2),
    (3, 'tst5-plain-tee', 'Tst5 Plain Tee', 'Plain.', 'c5000000-0000-4000-8000-000000000001', 'published', 3),
    (4, 'tst5-item-04', 'Tst5 Item', 'Filler.', 'c5000000-0000-4000-8000-000000000003', 'published', 4),
    (5, 'tst5-item-05', 'Tst5 Item', 'Filler.', 'c5000000-0000-4000-8000-000000000003', 'published', 4),
    (6, 'tst5-item-06', 'Tst5 Item', 'Filler.', 'c5000000-0000-4000-8000-000000000003', 'published', 4),
    (7, 'tst5-item-07', 'Tst5 Item', 'Filler.', 'c5000000-0000-4000-8000-000000000003', 'published', 4),
    (8, 'tst5-item-08', 'Tst5 Item', 'Filler with organic cotton.', 'c5000000-0000-4000-8000-000000000003', 'published', 5),
    (9, 'tst5-creme-brulee-mug', 'Tst5 Crème Brûlée Mug', 'Sweet.', 'c5000000-0000-4000-8000-000000000003', 'published', 6),
    (10, 'tst5-secret-hoodie', 'Tst5 Secret Hoodie', 'Not yet.', 'c5000000-0000-4000-8000-000000000002', 'draft', 0)
) AS f (n, slug, name, description, category_id, status, day);
INSERT INTO shop.product_variants (id, product_id, sku, name, options, position)
SELECT
    format('b5000000-0000-4000-8000-%s', lpad((p * 10 + v)::text, 12, '0'))::uuid,
    format('a5000000-0000-4000-8000-%s', lpad(p::text, 12, '0'))::uuid,
    format('TST5-%s-%s', p, v), format('Variant %s', v), jsonb_build_object('size', v), v
FROM generate_series(1, 10) AS p
CROSS JOIN generate_series(1, 2) AS v;
-- Prices: product 1 costs 1500 / 1200 (so its price is 1200), product 2 2500 / 2600, product 3 900 / 950,
-- fillers 1000 (ties), the mug 1800, the draft 1100. USD is EUR + 100.
INSERT INTO shop.variant_prices (variant_id, currency, amount)
SELECT v.id, c.currency, CASE split_part(v.sku, '-', 2)
    WHEN '1' THEN CASE WHEN v.position = 1 THEN 1500 ELSE 1200 END
    WHEN '2' THEN 2500 + (v.position - 1) * 100
    WHEN '3' THEN 900 + (v.position - 1) * 50
    WHEN '9' THEN 1800
    WHEN '10' THEN 1100
    ELSE 1000
END + c.extra
FROM shop.product_variants AS v
CROSS JOIN (VALUES ('EUR', 0), ('USD', 100)) AS c (currency, extra)
WHERE v.sku LIKE 'TST5-%';
INSERT INTO shop.warehouses (id, code, name) VALUES
('d5000000-0000-4000-8000-000000000001', 'tst5-a', 'Tst5 A'),
('d5000000-0000-4000-8000-000000000002', 'tst5-b', 'Tst5 B');
-- Product 1: variant 1 has 2 + 3 - 2 = 3 available, variant 2 none; product 2 nothing at all.
-- Stock arrives through the ledger (migration 0023), which creates the stock rows; empty pairs get an
-- empty row; then the reservations.
INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity)
SELECT v.id, w.id, 'receipt', CASE WHEN v.sku = 'TST5-1-1' AND w.code = 'tst5-a' THEN 2
                                   WHEN v.sku = 'TST5-1-1' THEN 3
                                   ELSE 10 END
FROM shop.product_variants AS v
CROSS JOIN shop.warehouses AS w
WHERE v.sku LIKE 'TST5-%' AND w.code LIKE 'tst5-%'
    AND NOT (v.sku <> 'TST5-1-1' AND (v.sku LIKE 'TST5-1-%' OR v.sku LIKE 'TST5-2-%'));
INSERT INTO shop.stock_levels (variant_id, warehouse_id)
SELECT v.id, w.id
FROM shop.product_variants AS v
CROSS JOIN shop.warehouses AS w
WHERE v.sku LIKE 'TST5-%' AND w.code LIKE 'tst5-%'
ON CONFLICT DO NOTHING;
UPDATE shop.stock_levels AS s SET reserved = 2
FROM shop.product_variants AS v, shop.warehouses AS w
WHERE s.variant_id = v.id AND s.warehouse_id = w.id AND v.sku = 'TST5-1-1' AND w.code = 'tst5-b';

-- == as an anonymous caller =========================================================================
SET LOCAL ROLE postcart_anon;
SELECT set_config('request.claims', '{}', TRUE);

CREATE TEMPORARY TABLE visible AS
SELECT p.id::text AS id FROM shop.products AS p
WHERE EXISTS (SELECT FROM shop.variant_prices AS vp WHERE vp.product_id = p.id AND vp.currency = 'EUR');

-- shape
SELECT is(
    (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(api.list_products('{"limit": "2"}')) AS k),
    ARRAY['facets', 'items', 'next_cursor'], 'list_products returns items, next_cursor and facets'
);
SELECT is(
    (SELECT array_agg(k ORDER BY k)
     FROM jsonb_object_keys(api.list_products('{"limit": "1"}') -> 'items' -> 0) AS k),
    ARRAY['category', 'description', 'id', 'image_url', 'in_stock', 'name', 'price', 'slug'],
    'an item has exactly the documented fields'
);
SELECT is(
    jsonb_array_length(api.list_products('{"limit": "2"}') -> 'items'), 2, 'limit is honoured (as a string)'
);
SELECT is(
    jsonb_array_length(api.list_products('{"limit": 3}') -> 'items'), 3, 'limit is honoured (as a number)'
);
SELECT is(
    jsonb_array_length(api.list_products('{}') -> 'items'), least(20, (SELECT count(*) FROM visible)::integer),
    'the default page has 20 items'
);

-- keyset pages: every published product exactly once, for every sort order
SELECT bag_eq(
    $$SELECT item ->> 'id' FROM pg_temp.all_items('{"limit": "3"}')$$,
    'SELECT id FROM visible',
    'newest: the pages hold every published product exactly once'
);
SELECT bag_eq(
    $$SELECT item ->> 'id' FROM pg_temp.all_items('{"limit": "4", "sort": "price_asc"}')$$,
    'SELECT id FROM visible',
    'price_asc: the pages hold every published product exactly once'
);
SELECT bag_eq(
    $$SELECT item ->> 'id' FROM pg_temp.all_items('{"limit": "5", "sort": "price_desc"}')$$,
    'SELECT id FROM visible',
    'price_desc: the pages hold every published product exactly once'
);
SELECT bag_eq(
    $$SELECT item ->> 'id' FROM pg_temp.all_items('{"limit": "2", "sort": "name"}')$$,
    'SELECT id FROM visible',
    'name: the pages hold every published product exactly once'
);
SELECT bag_eq(
    $$SELECT item ->> 'id' FROM pg_temp.all_items('{"limit": "2", "q": "tst5"}')$$,
    $$SELECT id::text FROM shop.products WHERE slug LIKE 'tst5-%'$$,
    'relevance: the pages of a search hold every match exactly once'
);
SELECT ok(
    (SELECT bool_and(a <= b) FROM (
        SELECT (item -> 'price' ->> 'amount')::bigint AS a,
               lead((item -> 'price' ->> 'amount')::bigint) OVER (ORDER BY page, ordinality) AS b
        FROM pg_temp.all_items('{"limit": "4", "sort": "price_asc"}') WITH ORDINALITY
    ) AS pairs WHERE b IS NOT NULL),
    'price_asc pages are in ascending price order'
);
SELECT ok(
    (SELECT bool_and(a >= b) FROM (
        SELECT (item -> 'price' ->> 'amount')::bigint AS a,
               lead((item -> 'price' ->> 'amount')::bigint) OVER (ORDER BY page, ordinality) AS b
        FROM pg_temp.all_items('{"limit": "5", "sort": "price_desc"}') WITH ORDINALITY
    ) AS pairs WHERE b IS NOT NULL),
    'price_desc pages are in descending price order'
);
SELECT is(
    (SELECT array_agg(item ->> 'slug' ORDER BY page, ordinality)
     FROM pg_temp.all_items('{"limit": "2", "category": "tst5-other", "sort": "newest"}') WITH ORDINALITY),
    (SELECT array_agg(slug ORDER BY published_at DESC, id) FROM shop.products
     WHERE slug LIKE 'tst5-item-%' OR slug = 'tst5-creme-brulee-mug'),
    'newest is newest first, ties broken the same way on every page'
);
SELECT is(
    api.list_products('{"category": "tst5-root", "limit": "3"}') -> 'next_cursor', 'null'::jsonb,
    'the last page has next_cursor null'
);
SELECT is(
    (SELECT count(*) FROM pg_temp.all_items('{"limit": "100"}') WHERE item ->> 'slug' = 'tst5-secret-hoodie'),
    0::bigint, 'drafts never appear in the list'
);

-- filters
SELECT set_eq(
    $$SELECT item ->> 'slug' FROM pg_temp.all_items('{"category": "tst5-root"}')$$,
    ARRAY['tst5-cozy-hoodie', 'tst5-zip-hoodie', 'tst5-plain-tee'],
    'a category includes its subcategories'
);
SELECT set_eq(
    $$SELECT item ->> 'slug' FROM pg_temp.all_items('{"category": "tst5-kids"}')$$,
    ARRAY['tst5-cozy-hoodie', 'tst5-zip-hoodie'],
    'a subcategory holds only its own products'
);
SELECT set_eq(
    $$SELECT item ->> 'slug' FROM pg_temp.all_items('{"category": "tst5-root", "min_price": "1000"}')$$,
    ARRAY['tst5-cozy-hoodie', 'tst5-zip-hoodie'],
    'min_price filters on the lowest variant price'
);
SELECT set_eq(
    $$SELECT item ->> 'slug' FROM pg_temp.all_items('{"category": "tst5-root", "max_price": "1200"}')$$,
    ARRAY['tst5-cozy-hoodie', 'tst5-plain-tee'],
    'max_price is inclusive'
);
SELECT set_eq(
    $$SELECT item ->> 'slug'
      FROM pg_temp.all_items('{"q": "tst5", "min_price": "1000", "max_price": "1500"}')$$,
    ARRAY['tst5-cozy-hoodie', 'tst5-item-04', 'tst5-item-05', 'tst5-item-06', 'tst5-item-07', 'tst5-item-08'],
    'min_price and max_price together'
);
SELECT ok(
    (SELECT bool_and((item -> 'price' ->> 'amount')::bigint BETWEEN 1000 AND 1500)
     FROM pg_temp.all_items('{"min_price": "1000", "max_price": "1500"}')),
    'every listed price lies in the range'
);

-- prices, stock, category
SELECT is(
    (SELECT item -> 'price' FROM pg_temp.all_items('{"category": "tst5-kids"}')
     WHERE item ->> 'slug' = 'tst5-cozy-hoodie'),
    '{"amount": 1200, "currency": "EUR"}'::jsonb, 'the price is the lowest variant price, in EUR by default'
);
SELECT is(
    (SELECT item -> 'price' FROM pg_temp.all_items('{"category": "tst5-kids", "currency": "usd"}')
     WHERE item ->> 'slug' = 'tst5-cozy-hoodie'),
    '{"amount": 1300, "currency": "USD"}'::jsonb, 'prices in another currency on request'
);
SELECT is(
    (SELECT array_agg((item ->> 'in_stock')::boolean ORDER BY item ->> 'slug')
     FROM pg_temp.all_items('{"category": "tst5-kids"}')),
    ARRAY[TRUE, FALSE], 'in_stock: true when any variant is available, false when none is'
);
SELECT is(
    (SELECT item -> 'category' ->> 'slug' FROM pg_temp.all_items('{"category": "tst5-kids"}') LIMIT 1),
    'tst5-kids', 'items carry their category'
);

-- search
SELECT ok(
    (api.list_products('{"q": "hodie"}') -> 'items' -> 0 ->> 'name') ILIKE '%hoodie%',
    'a typo ("hodie") finds hoodies first'
);
SELECT set_eq(
    $$SELECT item ->> 'slug' FROM pg_temp.all_items('{"q": "tst5 hodie"}')$$,
    ARRAY['tst5-cozy-hoodie', 'tst5-zip-hoodie'],
    'every word must match; drafts stay hidden'
);
SELECT is(
    api.list_products('{"q": "creme brulee"}') -> 'items' -> 0 ->> 'slug', 'tst5-creme-brulee-mug',
    'search ignores accents'
);
SELECT is(
    api.list_products('{"q": "ZIP HOODIE"}') -> 'items' -> 0 ->> 'slug', 'tst5-zip-hoodie',
    'search ignores case and puts the best match first'
);
SELECT is(
    api.list_products('{"q": "tst5 organic"}') -> 'items' -> 0 ->> 'slug', 'tst5-item-08',
    'search also looks in descriptions'
);
SELECT is(
    jsonb_array_length(api.list_products('{"q": "qqqxxzz"}') -> 'items'), 0, 'nonsense finds nothing'
);

-- facets
SELECT is(
    (SELECT jsonb_agg(f ORDER BY f ->> 'slug')
     FROM jsonb_array_elements(api.list_products('{"category": "tst5-root"}') -> 'facets' -> 'categories') AS f),
    '[{"slug": "tst5-kids", "name": "Tst5 Kids", "count": 2}, {"slug": "tst5-root", "name": "Tst5 Root", "count": 3}]',
    'category facets count matching products, subcategories included'
);
SELECT is(
    api.list_products('{"category": "tst5-root"}') -> 'facets' -> 'price_ranges',
    '[{"min": 0, "max": 999, "count": 1}, {"min": 1000, "max": 2499, "count": 1}, {"min": 2500, "max": 4999, "count": 1}]',
    'price range facets count products by price band'
);

-- errors
SELECT throws_ok(
    $$SELECT api.list_products('{"limit": "0"}')$$, 'PT400', 'validation_failed', 'limit 0 is rejected'
);
SELECT throws_ok(
    $$SELECT api.list_products('{"limit": "101"}')$$, 'PT400', 'validation_failed', 'limit 101 is rejected'
);
SELECT is(
    pg_temp.error_of($$SELECT api.list_products('{"limit": "abc"}')$$) -> 'detail',
    '{"fields": {"limit": "must be between 1 and 100"}}',
    'the error names the offending field'
);
SELECT throws_ok(
    $$SELECT api.list_products('{"cursor": "not a cursor"}')$$, 'PT400', 'invalid_cursor', 'a bad cursor is rejected'
);
SELECT throws_ok(
    $$SELECT api.list_products('{"cursor": "%%%"}')$$, 'PT400', 'invalid_cursor', 'so is a cursor of junk'
);
SELECT throws_ok(
    $$SELECT api.list_products('{"cursor": "eyJ4IjogMX0"}')$$, 'PT400', 'invalid_cursor',
    'and well-formed JSON that is no position'
);
SELECT throws_ok(
    format(
        'SELECT api.list_products(%L)',
        jsonb_build_object('sort', 'price_asc', 'cursor', api.list_products('{"limit": "1"}') ->> 'next_cursor')
    ),
    'PT400', 'invalid_cursor', 'a cursor only continues the sort order it came from'
);
SELECT is(
    pg_temp.error_of($$SELECT api.list_products('{"currency": "JPY"}')$$) -> 'detail' -> 'fields' ->> 'currency',
    'no products are priced in this currency', 'an unknown currency is a validation error'
);
SELECT throws_ok(
    $$SELECT api.list_products('{"sort": "random"}')$$, 'PT400', 'validation_failed', 'an unknown sort is rejected'
);
SELECT throws_ok(
    $$SELECT api.list_products('{"min_price": "2000", "max_price": "1000"}')$$, 'PT400', 'validation_failed',
    'min_price above max_price is rejected'
);
SELECT throws_ok(
    $$SELECT api.list_products('{"category": "tst5-nope"}')$$, 'PT400', 'validation_failed',
    'an unknown category is rejected'
);

-- one product
SELECT is(
    api.get_product('{"id_or_slug": "tst5-cozy-hoodie"}'),
    api.get_product('{"id_or_slug": "a5000000-0000-4000-8000-000000000001"}'),
    'get_product finds a product by slug and by id alike'
);
SELECT is(
    (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(api.get_product('{"id_or_slug": "tst5-cozy-hoodie"}')) AS k),
    ARRAY['attributes', 'category', 'description', 'id', 'image_url', 'media', 'name', 'slug', 'variants'],
    'a product has exactly the documented fields'
);
SELECT is(
    api.get_product('{"id_or_slug": "tst5-cozy-hoodie"}') -> 'variants',
    jsonb_build_array(
        jsonb_build_object(
            'id', 'b5000000-0000-4000-8000-000000000011', 'sku', 'TST5-1-1', 'name', 'Variant 1',
            'options', '{"size": 1}'::jsonb, 'price', '{"amount": 1500, "currency": "EUR"}'::jsonb,
            'in_stock', TRUE, 'available_quantity', 3
        ),
        jsonb_build_object(
            'id', 'b5000000-0000-4000-8000-000000000012', 'sku', 'TST5-1-2', 'name', 'Variant 2',
            'options', '{"size": 2}'::jsonb, 'price', '{"amount": 1200, "currency": "EUR"}'::jsonb,
            'in_stock', FALSE, 'available_quantity', 0
        )
    ),
    'variants in order, with price, in_stock and available = on_hand - reserved over all warehouses'
);
SELECT is(
    api.get_product('{"id_or_slug": "tst5-cozy-hoodie", "currency": "USD"}') -> 'variants' -> 0 -> 'price',
    '{"amount": 1600, "currency": "USD"}', 'variant prices in the requested currency'
);
SELECT throws_ok(
    $$SELECT api.get_product('{"id_or_slug": "tst5-secret-hoodie"}')$$, 'PT404', 'product_not_found',
    'a draft is not found (by slug)'
);
SELECT throws_ok(
    $$SELECT api.get_product('{"id_or_slug": "a5000000-0000-4000-8000-000000000010"}')$$, 'PT404',
    'product_not_found', 'a draft is not found (by id)'
);
SELECT throws_ok(
    $$SELECT api.get_product('{"id_or_slug": "not-a-uuid-or-slug!"}')$$, 'PT404', 'product_not_found',
    'a malformed id is just not found (no 22P02)'
);
SELECT throws_ok(
    $$SELECT api.get_product('{}')$$, 'PT400', 'validation_failed', 'id_or_slug is required'
);

-- categories
SELECT is(
    (SELECT n -> 'children' FROM jsonb_array_elements(api.list_categories('{}') -> 'items') AS n
     WHERE n ->> 'slug' = 'tst5-root'),
    '[{"id": "c5000000-0000-4000-8000-000000000002", "slug": "tst5-kids", "name": "Tst5 Kids", "children": []}]',
    'list_categories returns the tree'
);
RESET ROLE;

-- == customers see what anonymous callers see; staff may preview drafts ==============================
SET LOCAL ROLE postcart_customer;
SELECT throws_ok(
    $$SELECT api.get_product('{"id_or_slug": "tst5-secret-hoodie"}')$$, 'PT404', 'product_not_found',
    'a customer does not see drafts either'
);
RESET ROLE;
SET LOCAL ROLE postcart_staff;
SELECT is(
    api.get_product('{"id_or_slug": "tst5-secret-hoodie"}') ->> 'slug', 'tst5-secret-hoodie',
    'staff can preview a draft'
);
SELECT is(
    (SELECT count(*) FROM pg_temp.all_items('{"category": "tst5-kids"}')), 2::bigint,
    'the storefront list stays published-only for staff'
);
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
