-- The staff catalog gaps: markdowns on collections at the exact start and end instants, the record of
-- when a product was first visible and the deletes it allows (products, variants), categories deleted only
-- when empty, collections and price lists deleted with what hangs on them, and price list changes that
-- re-derive their prices or are refused. Fixture ids start with e17; times are in 2032.
BEGIN;
SELECT plan(57);

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
    RETURN jsonb_build_object(
        'state', state, 'message', message, 'detail', CASE WHEN detail LIKE '{%' THEN detail::jsonb END
    );
END
$$;
GRANT EXECUTE ON FUNCTION pg_temp.error_of(text) TO PUBLIC;

-- The unit price of fixture variant n (of product n) for everyone at an instant.
CREATE FUNCTION pg_temp.price(variant integer, at timestamptz)
RETURNS bigint
LANGUAGE sql
AS $$
    SELECT shop.resolve_price(format('e1700000-0000-4000-8000-%s', lpad(variant::text, 12, '0'))::uuid, 'EUR', NULL, 1, at)
$$;

CREATE ROLE tst17_catalog NOLOGIN IN ROLE postcart_staff, catalog_manager;
CREATE ROLE tst17_support NOLOGIN IN ROLE postcart_staff, support_agent;

-- == fixture ========================================================================================
INSERT INTO shop.categories (id, parent_id, slug, name) VALUES
('e17c0000-0000-4000-8000-000000000001', NULL, 'tst17-root', 'Tst17 Root'),
('e17c0000-0000-4000-8000-000000000002', 'e17c0000-0000-4000-8000-000000000001', 'tst17-kid', 'Tst17 Kid'),
('e17c0000-0000-4000-8000-000000000003', NULL, 'tst17-empty', 'Tst17 Empty');
-- Products 1 and 2 published (1 in the collection), 3 a draft, 4 scheduled for 2032, all in tst17-kid.
INSERT INTO shop.products (id, slug, name, category_id, status, published_at) VALUES
('e17a0000-0000-4000-8000-000000000001', 'tst17-lamp', 'Tst17 Lamp', 'e17c0000-0000-4000-8000-000000000002', 'published', NULL),
('e17a0000-0000-4000-8000-000000000002', 'tst17-rug', 'Tst17 Rug', 'e17c0000-0000-4000-8000-000000000002', 'published', NULL),
('e17a0000-0000-4000-8000-000000000003', 'tst17-draft', 'Tst17 Draft', 'e17c0000-0000-4000-8000-000000000002', 'draft', NULL),
('e17a0000-0000-4000-8000-000000000004', 'tst17-later', 'Tst17 Later', 'e17c0000-0000-4000-8000-000000000002', 'published', '2032-01-01 00:00+00');
INSERT INTO shop.product_variants (id, product_id, sku, name)
SELECT
    format('e1700000-0000-4000-8000-%s', lpad(n::text, 12, '0'))::uuid,
    format('e17a0000-0000-4000-8000-%s', lpad(n::text, 12, '0'))::uuid,
    'TST17-' || n, 'Variant ' || n
FROM generate_series(1, 4) AS n;
-- A second variant of the draft.
INSERT INTO shop.product_variants (id, product_id, sku, name) VALUES
('e1700000-0000-4000-8000-000000000033', 'e17a0000-0000-4000-8000-000000000003', 'TST17-3B', 'Variant 3B');
INSERT INTO shop.variant_prices (variant_id, currency, amount)
SELECT format('e1700000-0000-4000-8000-%s', lpad(n::text, 12, '0'))::uuid, 'EUR', 1000 * n
FROM generate_series(1, 4) AS n;
INSERT INTO shop.collections (id, slug, name) VALUES
('e17b0000-0000-4000-8000-000000000001', 'tst17-picks', 'Tst17 Picks');
INSERT INTO shop.collection_products (collection_id, product_id, position) VALUES
('e17b0000-0000-4000-8000-000000000001', 'e17a0000-0000-4000-8000-000000000001', 0);

-- == markdowns on a collection ======================================================================
-- 20% off the collection during [2032-03-01, 2032-03-08); 10% off tst17-root (so tst17-kid) during March.
INSERT INTO shop.markdowns (id, name, percent_off, collection_id, starts_at, ends_at) VALUES
('e17f0000-0000-4000-8000-000000000001', 'tst17 picks', 20, 'e17b0000-0000-4000-8000-000000000001', '2032-03-01 00:00+00', '2032-03-08 00:00+00');
INSERT INTO shop.markdowns (id, name, percent_off, category_id, starts_at, ends_at) VALUES
('e17f0000-0000-4000-8000-000000000002', 'tst17 root', 10, 'e17c0000-0000-4000-8000-000000000001', '2032-03-01 00:00+00', '2032-04-01 00:00+00');
SELECT is(pg_temp.price(1, '2032-02-29 23:59:59.999999+00'), 1000::bigint, 'one microsecond before the collection markdown: the base price');
SELECT is(pg_temp.price(1, '2032-03-01 00:00:00+00'), 800::bigint, 'at its starts_at exactly: 20% off a product in the collection (the larger of 20% and 10%)');
SELECT is(pg_temp.price(1, '2032-03-07 23:59:59.999999+00'), 800::bigint, 'one microsecond before its ends_at: still 20% off');
SELECT is(pg_temp.price(1, '2032-03-08 00:00:00+00'), 900::bigint, 'at its ends_at exactly: only the category''s 10% is left');
SELECT is(pg_temp.price(2, '2032-03-01 00:00:00+00'), 1800::bigint, 'a product outside the collection gets only the category markdown');
SELECT is(
    (SELECT r.markdown_id FROM shop.resolve_prices(ARRAY['e1700000-0000-4000-8000-000000000001'::uuid], NULL, 'EUR', NULL, '2032-03-01 00:00+00') AS r),
    'e17f0000-0000-4000-8000-000000000001'::uuid, 'resolve_prices names the collection markdown'
);
INSERT INTO shop.collection_products (collection_id, product_id, position) VALUES
('e17b0000-0000-4000-8000-000000000001', 'e17a0000-0000-4000-8000-000000000002', 1);
SELECT is(pg_temp.price(2, '2032-03-01 00:00:00+00'), 1600::bigint, 'a product put in the collection gets its markdown from then on');
DELETE FROM shop.collection_products
WHERE collection_id = 'e17b0000-0000-4000-8000-000000000001' AND product_id = 'e17a0000-0000-4000-8000-000000000001';
SELECT is(pg_temp.price(1, '2032-03-01 00:00:00+00'), 900::bigint, 'a product taken out of the collection loses it');
UPDATE shop.markdowns SET percent_off = 30 WHERE id = 'e17f0000-0000-4000-8000-000000000002';
SELECT is(pg_temp.price(2, '2032-03-01 00:00:00+00'), 1400::bigint, 'the largest markdown wins: 30% on the category over 20% on the collection');
SELECT throws_ok(
    $$INSERT INTO shop.markdowns (name, percent_off, category_id, collection_id, starts_at, ends_at)
      VALUES ('both', 5, 'e17c0000-0000-4000-8000-000000000001', 'e17b0000-0000-4000-8000-000000000001', '2032-01-01', '2032-02-01')$$,
    '23514', NULL, 'a markdown still has exactly one scope'
);

-- == first_visible_at ===============================================================================
SELECT is(
    (SELECT first_visible_at FROM shop.products WHERE id = 'e17a0000-0000-4000-8000-000000000001'),
    now(), 'a product written published and due records when it became visible'
);
SELECT is(
    (SELECT array_agg(first_visible_at IS NULL ORDER BY slug) FROM shop.products WHERE slug IN ('tst17-draft', 'tst17-later')),
    ARRAY[TRUE, TRUE], 'a draft and a scheduled product have not been visible'
);
UPDATE shop.products SET first_visible_at = '2000-01-01' WHERE id = 'e17a0000-0000-4000-8000-000000000003';
SELECT is(
    (SELECT first_visible_at FROM shop.products WHERE id = 'e17a0000-0000-4000-8000-000000000003'),
    NULL, 'first_visible_at written by hand is ignored, even by the owner'
);
UPDATE shop.products SET first_visible_at = NULL WHERE id = 'e17a0000-0000-4000-8000-000000000001';
SELECT is(
    (SELECT first_visible_at FROM shop.products WHERE id = 'e17a0000-0000-4000-8000-000000000001'),
    now(), 'nor can it be cleared'
);
UPDATE shop.products SET status = 'draft' WHERE id = 'e17a0000-0000-4000-8000-000000000002';
SELECT ok(
    (SELECT shop.ever_visible(status, published_at, first_visible_at) FROM shop.products WHERE id = 'e17a0000-0000-4000-8000-000000000002'),
    'a product taken back to draft stays one that has been visible'
);
SELECT ok(
    NOT (SELECT shop.ever_visible(status, published_at, first_visible_at) FROM shop.products WHERE id = 'e17a0000-0000-4000-8000-000000000004'),
    'a scheduled product has not been visible before its instant'
);
SELECT ok(shop.ever_visible('published', now() - INTERVAL '1 second', NULL), 'a published product whose instant has passed counts, recorded or not');

-- == deleting products and variants ================================================================
SET LOCAL ROLE tst17_catalog;
DELETE FROM shop.products WHERE id = 'e17a0000-0000-4000-8000-000000000001';
DELETE FROM shop.product_variants WHERE id = 'e1700000-0000-4000-8000-000000000002';
RESET ROLE;
SELECT is(
    (SELECT count(*) FROM shop.products WHERE id = 'e17a0000-0000-4000-8000-000000000001')
    + (SELECT count(*) FROM shop.product_variants WHERE id = 'e1700000-0000-4000-8000-000000000002'),
    2::bigint, 'in SQL a catalog manager cannot delete a product or a variant that has been visible (policy)'
);
SET LOCAL ROLE tst17_catalog;
SELECT is(
    pg_temp.error_of($$SELECT api.admin_delete_product('{"id": "e17a0000-0000-4000-8000-000000000002"}')$$) - 'detail',
    '{"state": "PT409", "message": "product_was_published"}', 'the API says why: product_was_published (archive instead)'
);
SELECT is(
    pg_temp.error_of($$SELECT api.admin_delete_product('{"id": "e17a0000-0000-4000-8000-0000000000ff"}')$$) ->> 'state',
    'PT404', 'an unknown product is 404'
);
SELECT is(
    pg_temp.error_of($$SELECT api.admin_update_product('{"id": "e17a0000-0000-4000-8000-000000000002", "variants": [{"sku": "TST17-2", "remove": true}]}')$$)
    -> 'detail' -> 'fields',
    '{"variants.0.remove": "the product has been on the storefront: its variants stay"}',
    'removing a variant of a product that has been shown is refused, naming the item'
);
SELECT is(
    (api.admin_update_product('{"id": "e17a0000-0000-4000-8000-000000000003", "variants": [{"sku": "TST17-3B", "remove": true}, {"sku": "TST17-3", "name": "Renamed"}]}')
     -> 'variants'),
    '[{"id": "e1700000-0000-4000-8000-000000000003", "sku": "TST17-3", "name": "Renamed", "options": {}, "position": 0,
       "prices": [{"amount": 3000, "currency": "EUR"}], "weight_grams": 0}]',
    'a draft''s variant is removed through PATCH, the other item still applies'
);
SELECT is(
    pg_temp.error_of($$SELECT api.admin_update_product('{"id": "e17a0000-0000-4000-8000-000000000003", "variants": [{"sku": "TST17-3", "name": "A"}, {"id": "e1700000-0000-4000-8000-000000000003", "remove": true}]}')$$)
    -> 'detail' -> 'fields',
    '{"variants.1": "names the same variant as variants.0"}', 'one item per variant'
);
SELECT is(
    pg_temp.error_of($$SELECT api.admin_update_product('{"id": "e17a0000-0000-4000-8000-000000000003", "variants": [{"sku": "NOPE-17", "remove": true}]}')$$)
    -> 'detail' -> 'fields',
    '{"variants.0": "names no variant of this product: give the id or sku of the one to remove"}', 'removing an unknown variant is 422'
);
SELECT lives_ok($$SELECT api.admin_delete_product('{"id": "e17a0000-0000-4000-8000-000000000003"}')$$, 'a draft is deleted');
SELECT lives_ok($$SELECT api.admin_delete_product('{"id": "e17a0000-0000-4000-8000-000000000004"}')$$, 'a scheduled product before its instant is deleted');
RESET ROLE;
SELECT is(
    (SELECT count(*) FROM shop.product_variants WHERE product_id IN ('e17a0000-0000-4000-8000-000000000003', 'e17a0000-0000-4000-8000-000000000004'))
    + (SELECT count(*) FROM shop.variant_prices WHERE product_id IN ('e17a0000-0000-4000-8000-000000000003', 'e17a0000-0000-4000-8000-000000000004')),
    0::bigint, 'their variants and prices went with them'
);
SET LOCAL ROLE tst17_support;
SELECT throws_ok(
    $$SELECT api.admin_delete_product('{"id": "e17a0000-0000-4000-8000-000000000002"}')$$, '42501', NULL,
    'staff without catalog_manager cannot call the delete'
);
SELECT throws_ok(
    $$DELETE FROM shop.products WHERE id = 'e17a0000-0000-4000-8000-000000000002'$$, '42501', NULL,
    'nor delete in SQL'
);
RESET ROLE;

-- == media ===========================================================================================
INSERT INTO shop.product_media (id, product_id, url, position) VALUES
('e17d0000-0000-4000-8000-000000000001', 'e17a0000-0000-4000-8000-000000000002', 'https://img.example/tst17-1.jpg', 0),
('e17d0000-0000-4000-8000-000000000002', 'e17a0000-0000-4000-8000-000000000002', 'https://img.example/tst17-2.jpg', 1);
SET LOCAL ROLE tst17_catalog;
SELECT is(
    pg_temp.error_of($$SELECT api.admin_delete_product_media('{"id": "e17a0000-0000-4000-8000-000000000001", "media_id": "e17d0000-0000-4000-8000-000000000001"}')$$) ->> 'message',
    'media_not_found', 'an image is removed only through its own product'
);
SELECT lives_ok(
    $$SELECT api.admin_delete_product_media('{"id": "e17a0000-0000-4000-8000-000000000002", "media_id": "e17d0000-0000-4000-8000-000000000001"}')$$,
    'an image of a published product is removed'
);
RESET ROLE;
SELECT is(
    (SELECT image_url FROM shop.products WHERE id = 'e17a0000-0000-4000-8000-000000000002'),
    'https://img.example/tst17-2.jpg', 'the next image becomes image_url'
);

-- == categories =====================================================================================
SELECT is(
    pg_temp.error_of($$DELETE FROM shop.categories WHERE id = 'e17c0000-0000-4000-8000-000000000002'$$),
    '{"state": "PT409", "message": "category_not_empty", "detail": {"id": "e17c0000-0000-4000-8000-000000000002", "products": 2, "subcategories": 0}}',
    'a category with products is not deleted, even by the owner, and the error counts what is in it'
);
SELECT is(
    pg_temp.error_of($$DELETE FROM shop.categories WHERE id = 'e17c0000-0000-4000-8000-000000000001'$$) -> 'detail',
    '{"id": "e17c0000-0000-4000-8000-000000000001", "products": 0, "subcategories": 1}',
    'nor one with a subcategory'
);
INSERT INTO shop.markdowns (id, name, percent_off, category_id, starts_at, ends_at) VALUES
('e17f0000-0000-4000-8000-000000000003', 'tst17 empty', 5, 'e17c0000-0000-4000-8000-000000000003', '2032-01-01', '2032-02-01');
SET LOCAL ROLE tst17_support;
SELECT throws_ok(
    $$SELECT api.admin_delete_category('{"id": "e17c0000-0000-4000-8000-000000000003"}')$$, '42501', NULL,
    'staff without catalog_manager cannot delete categories'
);
SET LOCAL ROLE tst17_catalog;
SELECT lives_ok($$SELECT api.admin_delete_category('{"id": "e17c0000-0000-4000-8000-000000000003"}')$$, 'an empty category is deleted');
SELECT is(
    pg_temp.error_of($$SELECT api.admin_delete_category('{"id": "e17c0000-0000-4000-8000-000000000003"}')$$) ->> 'message',
    'category_not_found', 'deleting it again is 404'
);
RESET ROLE;
SELECT is(
    (SELECT count(*) FROM shop.markdowns WHERE id = 'e17f0000-0000-4000-8000-000000000003'), 0::bigint,
    'its markdown went with it'
);

-- == collections ====================================================================================
SET LOCAL ROLE tst17_catalog;
SELECT lives_ok($$SELECT api.admin_delete_collection('{"id": "e17b0000-0000-4000-8000-000000000001"}')$$, 'a collection is deleted');
SELECT is(
    pg_temp.error_of($$SELECT api.admin_delete_collection('{"id": "e17b0000-0000-4000-8000-000000000001"}')$$) ->> 'message',
    'collection_not_found', 'deleting it again is 404'
);
RESET ROLE;
SELECT is(
    (SELECT count(*) FROM shop.collection_products WHERE collection_id = 'e17b0000-0000-4000-8000-000000000001')
    + (SELECT count(*) FROM shop.markdowns WHERE id = 'e17f0000-0000-4000-8000-000000000001'),
    0::bigint, 'its entries and its markdown went with it'
);
SELECT is(
    (SELECT count(*) FROM shop.products WHERE id = 'e17a0000-0000-4000-8000-000000000002'), 1::bigint, 'its products stay'
);
SELECT is(pg_temp.price(2, '2032-03-01 00:00:00+00'), 1400::bigint, 'and lose the collection''s markdown');

-- == price lists ====================================================================================
-- A list for March 2032 with back-to-back prices for the rug in its first two weeks.
INSERT INTO shop.price_lists (id, name, starts_at, ends_at, priority) VALUES
('e17e0000-0000-4000-8000-000000000001', 'tst17 march', '2032-03-01 00:00+00', '2032-04-01 00:00+00', 0);
INSERT INTO shop.price_list_prices (price_list_id, variant_id, currency, amount, starts_at, ends_at) VALUES
('e17e0000-0000-4000-8000-000000000001', 'e1700000-0000-4000-8000-000000000002', 'EUR', 1500, NULL, '2032-03-08 00:00+00'),
('e17e0000-0000-4000-8000-000000000001', 'e1700000-0000-4000-8000-000000000002', 'EUR', 1200, '2032-03-08 00:00+00', '2032-03-15 00:00+00');
CREATE TEMPORARY TABLE before_rename AS
SELECT ctid::text AS version FROM shop.price_list_prices WHERE price_list_id = 'e17e0000-0000-4000-8000-000000000001';
SET LOCAL ROLE tst17_catalog;
SELECT is(
    api.update_price_list('{"id": "e17e0000-0000-4000-8000-000000000001", "name": "tst17 march sale"}') -> 'price_list' ->> 'name',
    'tst17 march sale', 'a price list is renamed'
);
RESET ROLE;
SELECT is(
    ARRAY(SELECT ctid::text FROM shop.price_list_prices WHERE price_list_id = 'e17e0000-0000-4000-8000-000000000001' ORDER BY 1),
    ARRAY(SELECT version FROM before_rename ORDER BY 1), 'a rename leaves its prices untouched (no re-derivation)'
);
SET LOCAL ROLE tst17_catalog;
SELECT is(
    pg_temp.error_of($$SELECT api.update_price_list('{"id": "e17e0000-0000-4000-8000-000000000001", "starts_at": "2032-03-20T00:00:00Z"}')$$),
    '{"state": "PT422", "message": "price_outside_list_window", "detail": {
       "fields": {"starts_at": "leaves prices of the list (details.prices) outside its window"},
       "prices": [{"sku": "TST17-2", "amount": 1500, "currency": "EUR", "min_quantity": 1, "starts_at": null,
                   "ends_at": "2032-03-08T00:00:00.000000Z"},
                  {"sku": "TST17-2", "amount": 1200, "currency": "EUR", "min_quantity": 1,
                   "starts_at": "2032-03-08T00:00:00.000000Z", "ends_at": "2032-03-15T00:00:00.000000Z"}]}}',
    'a window that leaves prices without a window is 422, naming the list''s field and the prices'
);
SELECT is(
    pg_temp.error_of($$SELECT api.update_price_list('{"id": "e17e0000-0000-4000-8000-000000000001", "ends_at": "2032-02-01T00:00:00Z"}')$$) -> 'detail',
    '{"fields": {"ends_at": "must be later than starts_at"}}', 'an ends_at before the kept starts_at is named'
);
SELECT lives_ok(
    $$SELECT api.update_price_list('{"id": "e17e0000-0000-4000-8000-000000000001", "starts_at": "2032-03-05T00:00:00Z", "priority": 7}')$$,
    'a window that still meets every price is accepted'
);
RESET ROLE;
SELECT is(
    ARRAY(SELECT row(pp.valid_during, pp.priority)::text FROM shop.price_list_prices AS pp
          WHERE pp.price_list_id = 'e17e0000-0000-4000-8000-000000000001' ORDER BY lower(pp.valid_during)),
    ARRAY[row(tstzrange('2032-03-05 00:00+00', '2032-03-08 00:00+00', '[)'), 7)::text,
          row(tstzrange('2032-03-08 00:00+00', '2032-03-15 00:00+00', '[)'), 7)::text],
    'its prices follow: windows cut by the new start, the new priority copied'
);
SELECT is(pg_temp.price(2, '2032-03-04 23:59:59.999999+00'), 1400::bigint, 'one microsecond before the new start: base less the category''s 30%');
SELECT is(pg_temp.price(2, '2032-03-05 00:00:00+00'), 1050::bigint, 'at the new start exactly: the list price less 30%');
SELECT is(pg_temp.price(2, '2032-03-08 00:00:00+00'), 840::bigint, 'the back-to-back price from its own start (1200 less 30%)');
SELECT throws_ok(
    $$INSERT INTO shop.price_list_prices (price_list_id, variant_id, currency, amount, starts_at, ends_at)
      VALUES ('e17e0000-0000-4000-8000-000000000001', 'e1700000-0000-4000-8000-000000000002', 'EUR', 1, '2032-03-07', '2032-03-09')$$,
    '23P01', NULL, 'the exclusion constraint still compares the re-derived windows'
);
SET LOCAL ROLE tst17_support;
SELECT throws_ok(
    $$SELECT api.update_price_list('{"id": "e17e0000-0000-4000-8000-000000000001", "priority": 1}')$$, '42501', NULL,
    'staff without catalog_manager cannot change price lists'
);
SET LOCAL ROLE tst17_catalog;
SELECT lives_ok($$SELECT api.delete_price_list('{"id": "e17e0000-0000-4000-8000-000000000001"}')$$, 'a price list is deleted');
RESET ROLE;
SELECT is(
    (SELECT count(*) FROM shop.price_list_prices WHERE price_list_id = 'e17e0000-0000-4000-8000-000000000001'), 0::bigint,
    'with its prices'
);
SELECT is(pg_temp.price(2, '2032-03-08 00:00:00+00'), 1400::bigint, 'and the base price applies again (less 30%)');

SELECT * FROM finish();
ROLLBACK;
