-- The read model (migration 0018, sql/shop/product_listings.sql): every table that feeds
-- shop.product_listings and shop.product_listing_prices keeps them right, in the writing transaction;
-- price spans switch exactly at the scheduled instants; the whole model agrees with the catalog; the
-- storefront reads it with the products' visibility rule. Fixture ids start with f13.
BEGIN;
SELECT plan(48);

-- The listed price of a product for everyone (or a group), in a currency, at an instant.
CREATE FUNCTION pg_temp.listed(product uuid, at timestamptz, grp uuid DEFAULT NULL, cur char(3) DEFAULT 'EUR')
RETURNS text
LANGUAGE sql
AS $$
    SELECT lp.min_amount || '-' || lp.max_amount
    FROM shop.product_listing_prices AS lp
    WHERE lp.product_id = product AND lp.currency = cur AND lp.valid_during @> at
        AND lp.customer_group_id IS NOT DISTINCT FROM grp
$$;

-- == fixture ========================================================================================
INSERT INTO shop.categories (id, parent_id, slug, name) VALUES
('f1300000-0000-4000-8000-0000000000c1', NULL, 'tst13-outdoor', 'Tst13 Outdoor'),
('f1300000-0000-4000-8000-0000000000c2', 'f1300000-0000-4000-8000-0000000000c1', 'tst13-jackets', 'Tst13 Jackets'),
('f1300000-0000-4000-8000-0000000000c3', NULL, 'tst13-elsewhere', 'Tst13 Elsewhere');
INSERT INTO shop.products (id, slug, name, description, attributes, category_id, status) VALUES
('f1300000-0000-4000-8000-000000000001', 'tst13-storm-shell', 'Tst13 Storm Shell', 'Keeps rain out.',
 '{"colour": "teal", "waterproof": true, "layers": 3, "care": {"wash": 30}}', 'f1300000-0000-4000-8000-0000000000c2', 'draft');

-- products: a draft has a listing that is never listed
SELECT is(
    (SELECT row(l.visible_from, l.category_path, l.available)::text FROM shop.product_listings AS l
     WHERE l.product_id = 'f1300000-0000-4000-8000-000000000001'),
    row(NULL::timestamptz, ARRAY['f1300000-0000-4000-8000-0000000000c2', 'f1300000-0000-4000-8000-0000000000c1']::uuid[], 0)::text,
    'products: an inserted draft gets a listing at once: not visible, category path nearest first, no stock'
);
SELECT is(
    (SELECT l.facet_values FROM shop.product_listings AS l WHERE l.product_id = 'f1300000-0000-4000-8000-000000000001'),
    ARRAY['colour=teal', 'layers=3', 'waterproof=true'],
    'products: scalar attributes become facet values (objects are left out)'
);
SELECT ok(
    (SELECT l.search_document @@ to_tsquery('simple', 'storm & jackets & teal & rain')
     FROM shop.product_listings AS l WHERE l.product_id = 'f1300000-0000-4000-8000-000000000001'),
    'products: the search document holds name, category names, attribute values and description'
);
SELECT is(
    (SELECT ts_rank('{0, 0, 0, 1}', l.search_document, to_tsquery('simple', 'storm')) > 0
        AND ts_rank('{0, 0, 0, 1}', l.search_document, to_tsquery('simple', 'teal')) = 0
        AND ts_rank('{0, 0, 1, 0}', l.search_document, to_tsquery('simple', 'outdoor')) > 0
        AND ts_rank('{0, 1, 0, 0}', l.search_document, to_tsquery('simple', 'rain')) > 0
     FROM shop.product_listings AS l WHERE l.product_id = 'f1300000-0000-4000-8000-000000000001'),
    TRUE, 'products: the name weighs A, category and attribute values B, the description C'
);

UPDATE shop.products SET status = 'published', published_at = '2024-01-01 00:00+00'
WHERE id = 'f1300000-0000-4000-8000-000000000001';
SELECT is(
    (SELECT l.visible_from FROM shop.product_listings AS l WHERE l.product_id = 'f1300000-0000-4000-8000-000000000001'),
    '2024-01-01 00:00+00'::timestamptz, 'products: publishing sets visible_from'
);
UPDATE shop.products SET name = 'Tst13 Gale Shell', attributes = '{"colour": "red"}'
WHERE id = 'f1300000-0000-4000-8000-000000000001';
SELECT is(
    (SELECT row(l.name, l.summary ->> 'name', l.facet_values)::text FROM shop.product_listings AS l
     WHERE l.product_id = 'f1300000-0000-4000-8000-000000000001'),
    row('Tst13 Gale Shell', 'Tst13 Gale Shell', ARRAY['colour=red'])::text,
    'products: a rename and new attributes reach name, summary and facet values'
);

-- product_variants and variant_prices
INSERT INTO shop.product_variants (id, product_id, sku, name, position) VALUES
('f1300000-0000-4000-8000-0000000000a1', 'f1300000-0000-4000-8000-000000000001', 'TST13-S', 'S', 1),
('f1300000-0000-4000-8000-0000000000a2', 'f1300000-0000-4000-8000-000000000001', 'TST13-M', 'M', 2);
INSERT INTO shop.variant_prices (variant_id, currency, amount) VALUES
('f1300000-0000-4000-8000-0000000000a1', 'EUR', 10000),
('f1300000-0000-4000-8000-0000000000a2', 'EUR', 12000),
('f1300000-0000-4000-8000-0000000000a1', 'USD', 11000);
SELECT is(pg_temp.listed('f1300000-0000-4000-8000-000000000001', now()), '10000-12000',
    'variant_prices: an insert gives the price range per currency');
SELECT is(pg_temp.listed('f1300000-0000-4000-8000-000000000001', now(), NULL, 'USD'), '11000-11000',
    'variant_prices: each currency has its own range');
UPDATE shop.variant_prices SET amount = 9000
WHERE variant_id = 'f1300000-0000-4000-8000-0000000000a2' AND currency = 'EUR';
SELECT is(pg_temp.listed('f1300000-0000-4000-8000-000000000001', now()), '9000-10000',
    'variant_prices: an update moves the range');
DELETE FROM shop.variant_prices WHERE variant_id = 'f1300000-0000-4000-8000-0000000000a1' AND currency = 'USD';
SELECT is(pg_temp.listed('f1300000-0000-4000-8000-000000000001', now(), NULL, 'USD'), NULL,
    'variant_prices: a delete removes a currency no variant is priced in any more');
INSERT INTO shop.product_variants (id, product_id, sku, name, position) VALUES
('f1300000-0000-4000-8000-0000000000a3', 'f1300000-0000-4000-8000-000000000001', 'TST13-L', 'L', 3);
INSERT INTO shop.variant_prices (variant_id, currency, amount) VALUES ('f1300000-0000-4000-8000-0000000000a3', 'EUR', 15000);
SELECT is(pg_temp.listed('f1300000-0000-4000-8000-000000000001', now()), '9000-15000',
    'product_variants: a new variant with its price widens the range');
DELETE FROM shop.product_variants WHERE id = 'f1300000-0000-4000-8000-0000000000a3';
SELECT is(pg_temp.listed('f1300000-0000-4000-8000-000000000001', now()), '9000-10000',
    'product_variants: deleting a variant narrows it again');

-- stock_levels (on_hand moves only through the ledger, shop.stock_movements)
INSERT INTO shop.warehouses (id, code, name) VALUES
('f1300000-0000-4000-8000-0000000000b1', 'tst13-a', 'Tst13 A'),
('f1300000-0000-4000-8000-0000000000b2', 'tst13-b', 'Tst13 B');
INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity) VALUES
('f1300000-0000-4000-8000-0000000000a1', 'f1300000-0000-4000-8000-0000000000b1', 'receipt', 5),
('f1300000-0000-4000-8000-0000000000a2', 'f1300000-0000-4000-8000-0000000000b2', 'receipt', 3);
UPDATE shop.stock_levels SET reserved = 1 WHERE variant_id = 'f1300000-0000-4000-8000-0000000000a1';
SELECT is((SELECT l.available FROM shop.product_listings AS l WHERE l.product_id = 'f1300000-0000-4000-8000-000000000001'),
    7::bigint, 'stock_levels: new stock rows count on_hand - reserved over variants and warehouses');
UPDATE shop.stock_levels SET reserved = 5 WHERE variant_id = 'f1300000-0000-4000-8000-0000000000a1';
SELECT is((SELECT l.available FROM shop.product_listings AS l WHERE l.product_id = 'f1300000-0000-4000-8000-000000000001'),
    3::bigint, 'stock_levels: a reservation lowers availability');
INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity) VALUES
('f1300000-0000-4000-8000-0000000000a2', 'f1300000-0000-4000-8000-0000000000b2', 'sale', -3);
SELECT is((SELECT l.available FROM shop.product_listings AS l WHERE l.product_id = 'f1300000-0000-4000-8000-000000000001'),
    0::bigint, 'stock_levels: a sale takes its stock away');
SELECT is(
    (SELECT l.available FROM shop.product_listings AS l WHERE l.product_id = 'f1300000-0000-4000-8000-000000000001'),
    (SELECT a.available FROM shop.product_availability(ARRAY['f1300000-0000-4000-8000-000000000001'::uuid]) AS a),
    'stock_levels: the listing agrees with shop.product_availability, the one definition'
);

-- price_list_prices: a sale [2031-06-01, 2031-06-15) splits time into three spans
INSERT INTO shop.price_lists (id, name, starts_at, ends_at) VALUES
('f1300000-0000-4000-8000-0000000000d1', 'tst13 sale', '2031-06-01 00:00+00', '2031-06-15 00:00+00');
INSERT INTO shop.price_list_prices (price_list_id, variant_id, currency, amount) VALUES
('f1300000-0000-4000-8000-0000000000d1', 'f1300000-0000-4000-8000-0000000000a2', 'EUR', 7000);
SELECT is(pg_temp.listed('f1300000-0000-4000-8000-000000000001', '2031-05-31 23:59:59.999999+00'), '9000-10000',
    'price_list_prices: one microsecond before the sale, the base range');
SELECT is(pg_temp.listed('f1300000-0000-4000-8000-000000000001', '2031-06-01 00:00+00'), '7000-10000',
    'price_list_prices: at the sale''s start exactly, the sale range');
SELECT is(pg_temp.listed('f1300000-0000-4000-8000-000000000001', '2031-06-14 23:59:59.999999+00'), '7000-10000',
    'price_list_prices: one microsecond before its end, still the sale range');
SELECT is(pg_temp.listed('f1300000-0000-4000-8000-000000000001', '2031-06-15 00:00+00'), '9000-10000',
    'price_list_prices: at its end exactly, the base range again');
SELECT is(
    (SELECT count(*) FROM shop.product_listing_prices AS lp
     WHERE lp.product_id = 'f1300000-0000-4000-8000-000000000001' AND lp.currency = 'EUR'),
    3::bigint, 'price_list_prices: three spans, none overlapping (each instant above found exactly one)'
);
UPDATE shop.price_lists SET starts_at = '2031-06-10 00:00+00' WHERE id = 'f1300000-0000-4000-8000-0000000000d1';
SELECT is(pg_temp.listed('f1300000-0000-4000-8000-000000000001', '2031-06-05 00:00+00'), '9000-10000',
    'price_lists: moving a list''s window moves the spans (through its prices'' re-derivation)');
DELETE FROM shop.price_list_prices WHERE price_list_id = 'f1300000-0000-4000-8000-0000000000d1';
SELECT is(
    (SELECT count(*) FROM shop.product_listing_prices AS lp WHERE lp.product_id = 'f1300000-0000-4000-8000-000000000001'),
    1::bigint, 'price_list_prices: deleting the sale price leaves one span for all time'
);

-- a customer group's list gives the group rows of its own
INSERT INTO shop.customer_groups (id, code, name) VALUES ('f1300000-0000-4000-8000-0000000000e1', 'tst13-trade', 'Tst13 Trade');
INSERT INTO shop.price_lists (id, name, customer_group_id) VALUES
('f1300000-0000-4000-8000-0000000000d2', 'tst13 trade', 'f1300000-0000-4000-8000-0000000000e1');
INSERT INTO shop.price_list_prices (price_list_id, variant_id, currency, amount) VALUES
('f1300000-0000-4000-8000-0000000000d2', 'f1300000-0000-4000-8000-0000000000a1', 'EUR', 6000);
SELECT is(pg_temp.listed('f1300000-0000-4000-8000-000000000001', now(), 'f1300000-0000-4000-8000-0000000000e1'), '6000-9000',
    'price_list_prices: a group''s list gives that group its own range');
SELECT is(pg_temp.listed('f1300000-0000-4000-8000-000000000001', now()), '9000-10000',
    'price_list_prices: everyone else keeps the base range');

-- markdowns: on an ancestor category, in a window
INSERT INTO shop.markdowns (id, name, percent_off, category_id, starts_at, ends_at) VALUES
('f1300000-0000-4000-8000-0000000000f1', 'tst13 outdoor week', 50, 'f1300000-0000-4000-8000-0000000000c1',
 '2031-08-01 00:00+00', '2031-08-08 00:00+00');
SELECT is(pg_temp.listed('f1300000-0000-4000-8000-000000000001', '2031-08-01 00:00+00'), '4500-5000',
    'markdowns: a markdown on an ancestor category halves the range from its start');
SELECT is(pg_temp.listed('f1300000-0000-4000-8000-000000000001', '2031-08-01 00:00+00', 'f1300000-0000-4000-8000-0000000000e1'),
    '3000-4500', 'markdowns: and the group''s range too');
SELECT is(pg_temp.listed('f1300000-0000-4000-8000-000000000001', '2031-08-08 00:00+00'), '9000-10000',
    'markdowns: not from its end');
DELETE FROM shop.markdowns WHERE id = 'f1300000-0000-4000-8000-0000000000f1';
SELECT is(pg_temp.listed('f1300000-0000-4000-8000-000000000001', '2031-08-01 00:00+00'), '9000-10000',
    'markdowns: deleting it restores the range');

-- categories: rename and move
UPDATE shop.categories SET name = 'Tst13 Shells' WHERE id = 'f1300000-0000-4000-8000-0000000000c2';
SELECT is(
    (SELECT l.summary -> 'category' ->> 'name' FROM shop.product_listings AS l WHERE l.product_id = 'f1300000-0000-4000-8000-000000000001'),
    'Tst13 Shells', 'categories: a rename reaches the summaries of its products'
);
SELECT ok(
    (SELECT l.search_document @@ to_tsquery('simple', 'shells') FROM shop.product_listings AS l
     WHERE l.product_id = 'f1300000-0000-4000-8000-000000000001'),
    'categories: and their search documents'
);
UPDATE shop.categories SET parent_id = 'f1300000-0000-4000-8000-0000000000c3' WHERE id = 'f1300000-0000-4000-8000-0000000000c2';
SELECT is(
    (SELECT l.category_path FROM shop.product_listings AS l WHERE l.product_id = 'f1300000-0000-4000-8000-000000000001'),
    ARRAY['f1300000-0000-4000-8000-0000000000c2', 'f1300000-0000-4000-8000-0000000000c3']::uuid[],
    'categories: a move gives the products below their new ancestry'
);

-- collection_products
INSERT INTO shop.collections (id, slug, name) VALUES ('f1300000-0000-4000-8000-0000000000aa', 'tst13-picks', 'Tst13 Picks');
INSERT INTO shop.collection_products (collection_id, product_id, position) VALUES
('f1300000-0000-4000-8000-0000000000aa', 'f1300000-0000-4000-8000-000000000001', 0);
SELECT is(
    (SELECT l.collection_ids FROM shop.product_listings AS l WHERE l.product_id = 'f1300000-0000-4000-8000-000000000001'),
    ARRAY['f1300000-0000-4000-8000-0000000000aa']::uuid[], 'collection_products: joining a collection'
);
INSERT INTO shop.markdowns (id, name, percent_off, collection_id, starts_at, ends_at) VALUES
('f1300000-0000-4000-8000-0000000000f2', 'tst13 picks', 50, 'f1300000-0000-4000-8000-0000000000aa',
 now() - interval '1 day', now() + interval '1 day');
SELECT is(pg_temp.listed('f1300000-0000-4000-8000-000000000001', now()), '4500-5000',
    'markdowns: a markdown on a collection reaches the products in it');
DELETE FROM shop.collection_products WHERE collection_id = 'f1300000-0000-4000-8000-0000000000aa';
SELECT is(pg_temp.listed('f1300000-0000-4000-8000-000000000001', now()), '9000-10000',
    'collection_products: leaving a marked-down collection restores the price');
SELECT is(
    (SELECT l.collection_ids FROM shop.product_listings AS l WHERE l.product_id = 'f1300000-0000-4000-8000-000000000001'),
    '{}'::uuid[], 'collection_products: leaving it'
);

-- == a bulk load defers the rewrite to commit (or to SET CONSTRAINTS ... IMMEDIATE) ==================
SET CONSTRAINTS shop.product_listings_flush DEFERRED;
INSERT INTO shop.products (id, slug, name, status, published_at) VALUES
('f1300000-0000-4000-8000-000000000002', 'tst13-bulk', 'Tst13 Bulk', 'published', '2024-01-01 00:00+00');
SELECT is((SELECT count(*) FROM shop.product_listing_queue), 1::bigint, 'deferred: the product waits in the queue');
SET CONSTRAINTS shop.product_listings_flush IMMEDIATE;
SELECT is(
    (SELECT count(*) FROM shop.product_listings AS l WHERE l.product_id = 'f1300000-0000-4000-8000-000000000002'),
    1::bigint, 'deferred: the listing is written when the constraint fires'
);
SELECT is((SELECT count(*) FROM shop.product_listing_queue) + (SELECT count(*) FROM shop.product_listing_flushes),
    0::bigint, 'deferred: and the queue is empty again');

-- == the whole model agrees with the catalog ==========================================================
SELECT is(
    (SELECT count(*) FROM shop.products AS p
     LEFT JOIN shop.product_listings AS l ON p.id = l.product_id
     WHERE l.product_id IS NULL OR l.visible_from IS DISTINCT FROM shop.visible_from(p.status, p.published_at)),
    0::bigint, 'every product has a listing with its visibility'
);
SELECT is(
    (SELECT count(*) FROM (
        SELECT r.product_id, r.currency, min(r.amount) AS low, max(r.amount) AS high
        FROM (SELECT c.code::char(3) AS currency FROM (VALUES ('EUR'), ('USD'), ('GBP')) AS c (code)) AS cur
        CROSS JOIN LATERAL (
            SELECT x.product_id, x.amount, cur.currency FROM shop.resolve_prices(NULL, NULL, cur.currency, NULL, now()) AS x
        ) AS r
        GROUP BY r.product_id, r.currency
    ) AS truth
    FULL JOIN (
        SELECT lp.product_id, lp.currency, lp.min_amount AS low, lp.max_amount AS high
        FROM shop.product_listing_prices AS lp
        WHERE lp.customer_group_id IS NULL AND lp.valid_during @> now() AND lp.currency IN ('EUR', 'USD', 'GBP')
    ) AS model ON truth.product_id = model.product_id AND truth.currency = model.currency
    WHERE row(truth.low, truth.high) IS DISTINCT FROM row(model.low, model.high)),
    0::bigint, 'every listed price range equals what shop.resolve_prices gives now'
);
SELECT is(
    (SELECT count(*) FROM shop.product_listings AS l
     INNER JOIN shop.product_availability(ARRAY(SELECT p.id FROM shop.products AS p)) AS a ON l.product_id = a.product_id
     WHERE l.available <> a.available),
    0::bigint, 'every listing''s availability equals shop.product_availability'
);

-- == the storefront reads it ==========================================================================
UPDATE shop.stock_levels SET reserved = 0 WHERE variant_id = 'f1300000-0000-4000-8000-0000000000a1';
INSERT INTO shop.products (id, slug, name, attributes, category_id, status, published_at) VALUES
('f1300000-0000-4000-8000-000000000003', 'tst13-later-shell', 'Tst13 Later Shell', '{"colour": "red"}',
 'f1300000-0000-4000-8000-0000000000c2', 'published', now() + interval '1 day'),
('f1300000-0000-4000-8000-000000000004', 'tst13-blue-shell', 'Tst13 Blue Shell', '{"colour": "blue"}',
 'f1300000-0000-4000-8000-0000000000c2', 'published', '2024-01-02 00:00+00');
INSERT INTO shop.product_variants (id, product_id, sku, name) VALUES
('f1300000-0000-4000-8000-0000000000a4', 'f1300000-0000-4000-8000-000000000003', 'TST13-LATER', 'One'),
('f1300000-0000-4000-8000-0000000000a5', 'f1300000-0000-4000-8000-000000000004', 'TST13-BLUE', 'One');
INSERT INTO shop.variant_prices (variant_id, currency, amount) VALUES
('f1300000-0000-4000-8000-0000000000a4', 'EUR', 100), ('f1300000-0000-4000-8000-0000000000a5', 'EUR', 200);

SET LOCAL ROLE postcart_anon;
SELECT set_config('request.claims', '{}', TRUE);
SELECT throws_ok('SELECT count(*) FROM shop.product_listings', '42501', NULL, 'anonymous callers cannot read the read model directly');
SELECT is(
    (SELECT array_agg(i ->> 'slug' ORDER BY i ->> 'slug')
     FROM jsonb_array_elements(api.list_products('{"category": "tst13-elsewhere"}') -> 'items') AS i),
    ARRAY['tst13-blue-shell', 'tst13-storm-shell'], 'a scheduled product is not listed before its instant'
);
SELECT is(
    (SELECT array_agg(i ->> 'slug') FROM jsonb_array_elements(
        api.list_products('{"category": "tst13-elsewhere", "in_stock": "true"}') -> 'items') AS i),
    ARRAY['tst13-storm-shell'], 'in_stock=true keeps products with stock available'
);
SELECT is(
    (SELECT array_agg(i ->> 'slug' ORDER BY i ->> 'slug') FROM jsonb_array_elements(
        api.list_products('{"category": "tst13-elsewhere", "attr": {"colour": ["red", "blue"]}}') -> 'items') AS i),
    ARRAY['tst13-blue-shell', 'tst13-storm-shell'], 'attr: several values of one attribute are alternatives'
);
SELECT is(
    (SELECT array_agg(i ->> 'slug') FROM jsonb_array_elements(
        api.list_products('{"category": "tst13-elsewhere", "attr": {"colour": ["blue"]}}') -> 'items') AS i),
    ARRAY['tst13-blue-shell'], 'attr: one value must match'
);
SELECT is(
    (SELECT sum((r ->> 'count')::integer)::integer FROM jsonb_array_elements(
        api.list_products('{"category": "tst13-elsewhere"}') -> 'facets' -> 'price_ranges') AS r),
    2, 'price range facets add up to the number of matching products'
);

SELECT * FROM finish();
ROLLBACK;
