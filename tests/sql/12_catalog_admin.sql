-- Staff catalog management in the database: typed attributes checked whoever writes, slugs made from names
-- with a history of former ones, the category tree (moves take the subtree, no cycles), the visibility of
-- drafts and scheduled products through every row of a product, collections, media, and who may write.
BEGIN;
SELECT plan(66);

-- == helpers (temporary, this session only) =========================================================
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
    RETURN jsonb_build_object('state', state, 'message', message, 'detail', CASE WHEN detail ~ '^\{' THEN detail::jsonb END);
END
$$;

-- Staff members with one permission role each.
SET LOCAL ROLE postcart_dba;
CREATE TEMP TABLE made AS
SELECT auth.invite_staff(format('tst12-%s@example.com', r), 'T', ARRAY[r])
FROM unnest(ARRAY['catalog_manager', 'support_agent', 'order_manager', 'store_admin']) AS r;
RESET ROLE;
CREATE TEMP TABLE member AS
SELECT split_part(split_part(a.email::text, '@', 1), '-', 2) AS permission, a.id, a.db_role::text AS db_role
FROM auth.accounts AS a WHERE a.email::text LIKE 'tst12-%@example.com';
GRANT SELECT ON member TO PUBLIC;

-- Switch into a staff member's own role, with its claims.
CREATE FUNCTION pg_temp.become(permission text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    m record;
BEGIN
    SELECT * INTO m FROM member WHERE member.permission = become.permission;
    PERFORM set_config('role', m.db_role, TRUE);
    PERFORM set_config('request.claims', jsonb_build_object('sub', m.id, 'role', m.db_role, 'kind', 'staff')::text, TRUE);
    RETURN m.db_role;
END
$$;

-- == fixture ========================================================================================
INSERT INTO shop.product_types (id, code, name, attributes) VALUES (
    'e1200000-0000-4000-8000-000000000001', 'tst12-shirt', 'Tst12 Shirt',
    '{"size": {"type": "enum", "values": ["S", "M", "L"], "required": true}, "weight_g": {"type": "number"},
      "organic": {"type": "boolean"}, "material": {"type": "text"}}'
);
INSERT INTO shop.categories (id, parent_id, slug, name) VALUES
('c1200000-0000-4000-8000-00000000000a', NULL, 'tst12-a', 'Tst12 A'),
('c1200000-0000-4000-8000-00000000000b', 'c1200000-0000-4000-8000-00000000000a', 'tst12-b', 'Tst12 B'),
('c1200000-0000-4000-8000-00000000000c', 'c1200000-0000-4000-8000-00000000000b', 'tst12-c', 'Tst12 C'),
('c1200000-0000-4000-8000-00000000000d', NULL, 'tst12-d', 'Tst12 D');

-- == typed attributes ===============================================================================
SELECT lives_ok(
    $$INSERT INTO shop.products (id, slug, name, product_type_id, attributes, category_id, status) VALUES (
        'a1200000-0000-4000-8000-000000000001', 'tst12-tee', 'Tst12 Tee', 'e1200000-0000-4000-8000-000000000001',
        '{"size": "M", "weight_g": 180, "organic": true, "material": "cotton"}',
        'c1200000-0000-4000-8000-00000000000c', 'published')$$,
    'a product whose attributes follow its type is accepted'
);
SELECT is(
    pg_temp.error_of($$UPDATE shop.products SET attributes = '{"size": "XL"}' WHERE slug = 'tst12-tee'$$),
    '{"state": "PT422", "message": "validation_failed", "detail": {"fields": {"attributes.size": "must be one of S, M, L"}}}',
    'an enum outside its values is refused, naming the attribute and the values'
);
SELECT is(
    pg_temp.error_of($$UPDATE shop.products SET attributes = '{"size": "S", "weight_g": "180"}' WHERE slug = 'tst12-tee'$$)
    -> 'detail' -> 'fields',
    '{"attributes.weight_g": "must be a number"}', 'a number attribute refuses a string'
);
SELECT is(
    pg_temp.error_of($$UPDATE shop.products SET attributes = '{"size": "S", "organic": "yes"}' WHERE slug = 'tst12-tee'$$)
    -> 'detail' -> 'fields',
    '{"attributes.organic": "must be true or false"}', 'a boolean attribute refuses anything but true and false'
);
SELECT is(
    pg_temp.error_of($$UPDATE shop.products SET attributes = '{"size": "S", "material": 3}' WHERE slug = 'tst12-tee'$$)
    -> 'detail' -> 'fields',
    '{"attributes.material": "must be text"}', 'a text attribute refuses a number'
);
SELECT is(
    pg_temp.error_of($$UPDATE shop.products SET attributes = '{"size": "S", "colour": "red"}' WHERE slug = 'tst12-tee'$$)
    -> 'detail' -> 'fields',
    '{"attributes.colour": "is not an attribute of this product type"}', 'an attribute the type does not define is refused'
);
SELECT is(
    pg_temp.error_of($$UPDATE shop.products SET attributes = '{"weight_g": 1}' WHERE slug = 'tst12-tee'$$)
    -> 'detail' -> 'fields',
    '{"attributes.size": "is required"}', 'a required attribute must be present'
);
SELECT throws_ok(
    $$INSERT INTO shop.products (slug, name, product_type_id, attributes)
      VALUES ('tst12-bad', 'Tst12 Bad', 'e1200000-0000-4000-8000-000000000001', '{"size": 2}')$$,
    'PT422', 'validation_failed', 'the check holds on insert too, for any writer (here the owner)'
);
SELECT lives_ok(
    $$INSERT INTO shop.products (slug, name, attributes) VALUES ('tst12-free', 'Tst12 Free', '{"anything": [1, 2]}')$$,
    'a product without a type keeps free attributes'
);
SELECT throws_ok(
    $$UPDATE shop.products SET product_type_id = 'e1200000-0000-4000-8000-000000000001' WHERE slug = 'tst12-free'$$,
    'PT422', 'validation_failed', 'giving a product a type checks its attributes against it'
);
SELECT throws_ok(
    $$INSERT INTO shop.product_types (code, name, attributes) VALUES ('tst12-x', 'X', '{"size": {"type": "colour"}}')$$,
    '23514', NULL, 'a definition with an unknown type is refused by the CHECK'
);
SELECT is(
    shop.attribute_definition_problems('{"size": {"type": "enum"}, "Bad Name": {"type": "text"}}'),
    '{"attributes.size": "an enum needs values: 1 to 500 distinct non-empty strings", '
    '"attributes.Bad Name": "attribute names are lower-case letters, digits and underscores, starting with a letter"}',
    'definitions are checked attribute by attribute'
);
SELECT is(
    pg_temp.error_of($$UPDATE shop.product_types SET attributes = attributes || '{"size": {"type": "enum", "values": ["S", "L"], "required": true}}'
                       WHERE code = 'tst12-shirt'$$) - 'detail',
    '{"state": "PT409", "message": "product_type_in_use"}',
    'a new definition that existing products break is refused'
);
SELECT lives_ok(
    $$UPDATE shop.product_types SET attributes = attributes || '{"fit": {"type": "text"}}' WHERE code = 'tst12-shirt'$$,
    'a definition existing products still follow is accepted'
);

-- == slugs ==========================================================================================
SELECT is(shop.slugify('Crème Brûlée -- 2 Pack!'), 'creme-brulee-2-pack', 'slugs are unaccented, lower case, hyphenated');
SELECT is(shop.slugify('¿¡!'), NULL, 'a name without letters or digits gives no slug');
INSERT INTO shop.products (id, name) VALUES
('a1200000-0000-4000-8000-000000000011', 'Tst12 Mug'),
('a1200000-0000-4000-8000-000000000012', 'Tst12 Mug'),
('a1200000-0000-4000-8000-000000000013', 'Tst12 MUG!');
SELECT is(
    ARRAY(SELECT slug FROM shop.products WHERE id::text LIKE 'a1200000-0000-4000-8000-00000000001_' ORDER BY id),
    ARRAY['tst12-mug', 'tst12-mug-2', 'tst12-mug-3'],
    'a product without a slug gets one from its name, -2, -3 on collision'
);
UPDATE shop.products SET name = 'Tst12 Big Mug', slug = NULL, status = 'published'
WHERE id = 'a1200000-0000-4000-8000-000000000011';
SELECT is(
    (SELECT slug FROM shop.products WHERE id = 'a1200000-0000-4000-8000-000000000011'), 'tst12-big-mug',
    'a rename (slug set to NULL) makes a new slug'
);
SELECT is(
    shop.product_id_by_former_slug('tst12-mug'), 'a1200000-0000-4000-8000-000000000011'::uuid,
    'the former slug is kept in the history'
);
INSERT INTO shop.products (id, name) VALUES ('a1200000-0000-4000-8000-000000000014', 'Tst12 Mug');
SELECT is(
    (SELECT slug FROM shop.products WHERE id = 'a1200000-0000-4000-8000-000000000014'), 'tst12-mug-4',
    'a new product never takes another product''s former slug'
);
SELECT throws_ok(
    $$UPDATE shop.products SET slug = 'tst12-mug' WHERE id = 'a1200000-0000-4000-8000-000000000012'$$,
    'PT409', 'slug_taken', 'nor can it be given one explicitly'
);
UPDATE shop.products SET slug = 'tst12-mug' WHERE id = 'a1200000-0000-4000-8000-000000000011';
SELECT is(
    ARRAY(SELECT slug FROM shop.product_slugs WHERE product_id = 'a1200000-0000-4000-8000-000000000011'),
    ARRAY['tst12-big-mug'],
    'a product may take back its own former slug, which leaves the history'
);
UPDATE shop.products SET slug = 'tst12-big-mug-renamed' WHERE id = 'a1200000-0000-4000-8000-000000000011';
SET LOCAL ROLE postcart_anon;
SELECT set_config('request.claims', '{}', TRUE);
SELECT is(
    pg_temp.error_of($$SELECT api.get_product('{"id_or_slug": "tst12-mug"}')$$),
    '{"state": "PT301", "message": "moved_permanently", "detail": {"location": "/v1/products/tst12-big-mug-renamed"}}',
    'an old slug of a published product answers 301 with the current path'
);
SELECT is(
    pg_temp.error_of($$SELECT api.get_product('{"id_or_slug": "tst12-big-mug"}')$$) -> 'detail' ->> 'location',
    '/v1/products/tst12-big-mug-renamed', 'every former slug keeps resolving'
);
RESET ROLE;
UPDATE shop.products SET status = 'draft' WHERE id = 'a1200000-0000-4000-8000-000000000011';
SET LOCAL ROLE postcart_anon;
SELECT is(
    pg_temp.error_of($$SELECT api.get_product('{"id_or_slug": "tst12-mug"}')$$) ->> 'message', 'product_not_found',
    'the old slug of a hidden product is simply not found'
);
RESET ROLE;

-- == drafts and scheduled products ==================================================================
INSERT INTO shop.products (id, slug, name, status, published_at) VALUES
('a1200000-0000-4000-8000-000000000021', 'tst12-draft', 'Tst12 Draft', 'draft', NULL),
('a1200000-0000-4000-8000-000000000022', 'tst12-due', 'Tst12 Due', 'published', now()),
('a1200000-0000-4000-8000-000000000023', 'tst12-later', 'Tst12 Later', 'published', now() + interval '1 microsecond'),
('a1200000-0000-4000-8000-000000000024', 'tst12-archived', 'Tst12 Archived', 'archived', now() - interval '1 day');
INSERT INTO shop.product_variants (id, product_id, sku, name)
SELECT format('b1200000-0000-4000-8000-0000000000%s', right(p::text, 2))::uuid, p, 'TST12-' || right(p::text, 2), 'One'
FROM unnest(ARRAY[
    'a1200000-0000-4000-8000-000000000001', 'a1200000-0000-4000-8000-000000000021',
    'a1200000-0000-4000-8000-000000000022', 'a1200000-0000-4000-8000-000000000023',
    'a1200000-0000-4000-8000-000000000024'
]::uuid[]) AS p;
INSERT INTO shop.variant_prices (variant_id, currency, amount)
SELECT v.id, 'EUR', 1000 FROM shop.product_variants AS v WHERE v.sku LIKE 'TST12-%';
INSERT INTO shop.product_media (product_id, url, alt, position)
SELECT v.product_id, 'https://img.example/' || v.sku || '.jpg', 'photo', 0 FROM shop.product_variants AS v WHERE v.sku LIKE 'TST12-%';

SET LOCAL ROLE postcart_anon;
SELECT is(
    ARRAY(SELECT slug FROM shop.products WHERE slug LIKE 'tst12-%' AND slug NOT LIKE 'tst12-%mug%' ORDER BY slug),
    ARRAY['tst12-due', 'tst12-tee'],
    'anonymous callers see published products whose time has come (now() exactly included), no draft, '
    'no archived, no scheduled one'
);
SELECT is(
    ARRAY(SELECT sku FROM shop.product_variants WHERE sku LIKE 'TST12-%' ORDER BY sku),
    ARRAY['TST12-01', 'TST12-22'], 'the same for variants'
);
SELECT is(
    ARRAY(SELECT v.sku FROM shop.variant_prices AS vp JOIN shop.product_variants AS v ON v.id = vp.variant_id
          WHERE v.sku LIKE 'TST12-%' ORDER BY 1),
    ARRAY['TST12-01', 'TST12-22'], 'the same for prices'
);
SELECT is(
    (SELECT count(*) FROM shop.product_media WHERE url LIKE 'https://img.example/TST12-%'), 2::bigint,
    'the same for media'
);
RESET ROLE;
SET LOCAL ROLE postcart_customer;
SELECT set_config('request.claims', '{"sub": "00000000-0000-4000-8000-000000000001", "kind": "customer"}', TRUE);
SELECT is(
    (SELECT count(*) FROM shop.products WHERE slug IN ('tst12-draft', 'tst12-later', 'tst12-archived')), 0::bigint,
    'customers see no draft, scheduled or archived product either'
);
RESET ROLE;
SELECT pg_temp.become('support_agent');
SELECT is(
    (SELECT count(*) FROM shop.products WHERE slug IN ('tst12-draft', 'tst12-later', 'tst12-archived')), 3::bigint,
    'staff see drafts, scheduled and archived products'
);
SELECT is(
    (SELECT count(*) FROM shop.product_variants WHERE sku IN ('TST12-21', 'TST12-23', 'TST12-24')), 3::bigint,
    'and their variants'
);
RESET ROLE;
UPDATE shop.products SET status = 'published' WHERE slug = 'tst12-draft';
UPDATE shop.products SET published_at = now() - interval '1 second' WHERE slug = 'tst12-later';
SET LOCAL ROLE postcart_anon;
SELECT is(
    ARRAY(SELECT sku FROM shop.variant_prices AS vp JOIN shop.product_variants AS v ON v.id = vp.variant_id
          WHERE v.sku IN ('TST12-21', 'TST12-23') ORDER BY 1),
    ARRAY['TST12-21', 'TST12-23'],
    'publishing or rescheduling a product carries its visibility to its variants and prices at once'
);
RESET ROLE;
SELECT ok(
    (SELECT bool_and(qual !~* 'select') FROM pg_policies
     WHERE schemaname = 'shop' AND policyname IN (
        'products_select_published', 'product_variants_select_published', 'variant_prices_select_published',
        'product_media_select_visible', 'collection_products_select_visible')),
    'storefront policies read only their own row (no subquery: O(1) per row)'
);
SELECT is(
    (SELECT count(*) FROM pg_policies WHERE schemaname = 'shop' AND policyname IN (
        'products_select_published', 'product_variants_select_published', 'variant_prices_select_published',
        'product_media_select_visible', 'collection_products_select_visible')),
    5::bigint, 'all five storefront policies exist'
);

-- == media ==========================================================================================
SELECT is(
    (SELECT image_url FROM shop.products WHERE slug = 'tst12-due'), 'https://img.example/TST12-22.jpg',
    'the first image is the product''s image_url'
);
INSERT INTO shop.product_media (product_id, url, position)
VALUES ('a1200000-0000-4000-8000-000000000022', 'https://img.example/first.jpg', -1);
SELECT is(
    (SELECT image_url FROM shop.products WHERE slug = 'tst12-due'), 'https://img.example/first.jpg',
    'an image placed before it takes over'
);
DELETE FROM shop.product_media WHERE product_id = 'a1200000-0000-4000-8000-000000000022';
SELECT is((SELECT image_url FROM shop.products WHERE slug = 'tst12-due'), NULL, 'no image: no image_url');

-- == the category tree ==============================================================================
UPDATE shop.categories SET parent_id = 'c1200000-0000-4000-8000-00000000000d'
WHERE id = 'c1200000-0000-4000-8000-00000000000b';
SET LOCAL ROLE postcart_anon;
SELECT is(
    ARRAY(SELECT i ->> 'slug' FROM jsonb_array_elements(api.list_products('{"category": "tst12-d", "limit": 100}') -> 'items') AS i),
    ARRAY['tst12-tee'],
    'moving B (with C below it) under D: a product of C is found under D'
);
SELECT is(
    jsonb_array_length(api.list_products('{"category": "tst12-a", "limit": 100}') -> 'items'), 0,
    'and no longer under A'
);
RESET ROLE;
SELECT throws_ok(
    $$UPDATE shop.categories SET parent_id = 'c1200000-0000-4000-8000-00000000000c'
      WHERE id = 'c1200000-0000-4000-8000-00000000000d'$$,
    'PT422', 'category_cycle', 'a category cannot move below its own descendant'
);
SELECT throws_ok(
    $$UPDATE shop.categories SET parent_id = id WHERE id = 'c1200000-0000-4000-8000-00000000000d'$$,
    'PT422', 'category_cycle', 'nor below itself'
);
INSERT INTO shop.categories (name) VALUES ('Tst12 D'), ('Tst12 D');
SELECT is(
    ARRAY(SELECT slug FROM shop.categories WHERE name = 'Tst12 D' ORDER BY slug),
    ARRAY['tst12-d', 'tst12-d-2', 'tst12-d-3'], 'category slugs are made from names too'
);

-- == collections ====================================================================================
INSERT INTO shop.collections (id, slug, name) VALUES ('f1200000-0000-4000-8000-000000000001', 'tst12-picks', 'Picks');
INSERT INTO shop.collection_products (collection_id, product_id, position) VALUES
('f1200000-0000-4000-8000-000000000001', 'a1200000-0000-4000-8000-000000000022', 0),
('f1200000-0000-4000-8000-000000000001', 'a1200000-0000-4000-8000-000000000024', 1),
('f1200000-0000-4000-8000-000000000001', 'a1200000-0000-4000-8000-000000000001', 2);
SET LOCAL ROLE postcart_anon;
SELECT is(
    ARRAY(SELECT i ->> 'slug' FROM jsonb_array_elements(api.get_collection('{"slug": "tst12-picks"}') -> 'items') AS i),
    ARRAY['tst12-due', 'tst12-tee'], 'a collection shows its published products in order'
);
SELECT is(
    (SELECT count(*) FROM shop.collection_products WHERE collection_id = 'f1200000-0000-4000-8000-000000000001'),
    2::bigint, 'anonymous callers do not even see the entry of the archived product'
);
SELECT is(
    ARRAY(SELECT i ->> 'slug' FROM jsonb_array_elements(api.list_products('{"collection": "tst12-picks", "sort": "name"}') -> 'items') AS i),
    ARRAY['tst12-due', 'tst12-tee'], 'the collection filter of the product list'
);
SELECT is(
    pg_temp.error_of($$SELECT api.list_products('{"collection": "tst12-nope"}')$$) -> 'detail',
    '{"fields": {"collection": "no collection has this slug"}}', 'an unknown collection is a 400 naming it'
);
RESET ROLE;

-- == who may write ==================================================================================
SELECT pg_temp.become('catalog_manager');
SELECT lives_ok(
    $$SELECT api.admin_create_product('{"name": "Tst12 Staff Made", "product_type": "tst12-shirt",
        "attributes": {"size": "L"}, "variants": [{"sku": "TST12-SM", "name": "L", "prices": [{"amount": 500, "currency": "EUR"}]}]}')$$,
    'a catalog_manager creates a product through the API'
);
SELECT lives_ok(
    $$UPDATE shop.products SET description = 'x' WHERE slug = 'tst12-draft'$$,
    'and may write the tables directly (the rules are the database''s)'
);
SELECT throws_ok(
    $$SELECT api.admin_create_product('{"name": "Tst12 Bad Attr", "product_type": "tst12-shirt", "attributes": {"size": "XXL"}}')$$,
    'PT422', 'validation_failed', 'the API meets the same attribute check'
);
SELECT throws_ok(
    $$UPDATE shop.product_variants SET visible_from = now() WHERE sku = 'TST12-21'$$, '42501', NULL,
    'visibility is derived: not even a catalog_manager writes it'
);
SELECT throws_ok(
    $$UPDATE shop.products SET image_url = 'https://x.example/a.jpg' WHERE slug = 'tst12-draft'$$, '42501', NULL,
    'image_url is derived from media'
);
SELECT lives_ok(
    $$SELECT api.admin_create_category('{"name": "Tst12 New"}')$$, 'a catalog_manager creates categories'
);
SELECT lives_ok(
    $$SELECT api.admin_set_collection_products('{"id": "f1200000-0000-4000-8000-000000000001", "product_ids": ["a1200000-0000-4000-8000-000000000001"]}')$$,
    'and sets collections'
);
RESET ROLE;

SELECT pg_temp.become('support_agent');
SELECT throws_ok($$SELECT api.admin_create_product('{"name": "Tst12 No"}')$$, '42501', NULL,
    'a support_agent may not call the product API');
SELECT throws_ok($$SELECT api.admin_list_products('{}')$$, '42501', NULL, 'nor list products as staff');
SELECT throws_ok($$INSERT INTO shop.products (slug, name) VALUES ('tst12-sa', 'x')$$, '42501', NULL,
    'nor insert products directly');
SELECT throws_ok($$UPDATE shop.products SET name = 'x' WHERE slug = 'tst12-draft'$$, '42501', NULL,
    'nor update them');
SELECT throws_ok($$INSERT INTO shop.variant_prices (variant_id, currency, amount) VALUES ('b1200000-0000-4000-8000-000000000021', 'USD', 1)$$,
    '42501', NULL, 'nor write prices');
SELECT throws_ok($$UPDATE shop.categories SET name = 'x' WHERE slug = 'tst12-a'$$, '42501', NULL, 'nor categories');
RESET ROLE;
SELECT pg_temp.become('order_manager');
SELECT throws_ok($$SELECT api.admin_update_product('{"id": "a1200000-0000-4000-8000-000000000021", "name": "x"}')$$,
    '42501', NULL, 'an order_manager may not change products');
SELECT throws_ok($$INSERT INTO shop.collections (slug, name) VALUES ('tst12-om', 'x')$$, '42501', NULL, 'nor collections');
RESET ROLE;
SELECT pg_temp.become('store_admin');
SELECT throws_ok($$SELECT api.admin_create_category('{"name": "Tst12 No"}')$$, '42501', NULL,
    'a store_admin without catalog_manager may not either');
RESET ROLE;
SET LOCAL ROLE postcart_customer;
SELECT throws_ok($$SELECT api.admin_create_product('{"name": "Tst12 No"}')$$, '42501', NULL, 'nor a customer');
SELECT throws_ok($$INSERT INTO shop.product_media (product_id, url) VALUES ('a1200000-0000-4000-8000-000000000001', 'https://x.example/a')$$,
    '42501', NULL, 'who cannot write media either');
RESET ROLE;
SET LOCAL ROLE postcart_anon;
SELECT throws_ok($$SELECT api.admin_create_collection('{"name": "Tst12 No"}')$$, '42501', NULL, 'nor an anonymous caller');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
