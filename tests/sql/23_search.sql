-- Search through the word dictionary (migration 0028): every write that changes a listed product's words
-- adds them to shop.search_words in the writing transaction (a new product, a rename, a description, a
-- category rename, an attribute value; drafts add nothing until published); a word of q expands to its
-- close dictionary words; matches rank by tier (name as typed, name with a close word, anywhere as typed,
-- anywhere with a close word), and the indexes serve both steps. Fixture ids start with f23; its words
-- are made up, so no other data in the database meets them.
BEGIN;
SELECT plan(29);

-- The slugs of every page of a search, in order.
CREATE FUNCTION pg_temp.slugs(args jsonb)
RETURNS text[]
LANGUAGE plpgsql
AS $$
DECLARE
    response jsonb;
    page_args jsonb := args;
    found text[] := '{}';
BEGIN
    FOR page IN 1..100 LOOP
        response := api.list_products(page_args);
        found := found || ARRAY(SELECT e ->> 'slug' FROM jsonb_array_elements(response -> 'items') AS e);
        EXIT WHEN response ->> 'next_cursor' IS NULL;
        page_args := args || jsonb_build_object('cursor', response ->> 'next_cursor');
    END LOOP;
    RETURN found;
END
$$;

CREATE FUNCTION pg_temp.known(word text)
RETURNS boolean
LANGUAGE sql
AS $$
    SELECT EXISTS (SELECT FROM shop.search_words AS s WHERE s.word = known.word)
$$;

-- The plan of a query, as text.
CREATE FUNCTION pg_temp.plan_of(query text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    line text;
    plan text := '';
BEGIN
    FOR line IN EXECUTE 'EXPLAIN ' || query LOOP
        plan := plan || line || E'\n';
    END LOOP;
    RETURN plan;
END
$$;

-- == the dictionary's form of a text =================================================================
SELECT is(
    shop.search_text('classic t-shirt', 'classic tshirt'), 'classic t-shirt classic tshirt',
    'a word with punctuation inside adds the compact form'
);
SELECT is(shop.search_text('classic shirt', 'classic shirt'), 'classic shirt', 'nothing is added to words without');

-- == fixture ========================================================================================
INSERT INTO shop.categories (id, slug, name) VALUES
('f2300000-0000-4000-8000-0000000000c1', 'tst23-gear', 'Tst23 Quaggaware');
INSERT INTO shop.products (id, slug, name, description, attributes, category_id, status, published_at) VALUES
('f2300000-0000-4000-8000-000000000001', 'tst23-wombat-lamp', 'Tst23 Wombat Lamp', 'A lamp.', '{}', NULL, 'published', '2024-01-01'),
('f2300000-0000-4000-8000-000000000002', 'tst23-desk-lamp', 'Tst23 Desk Lamp', 'Bright.',
 '{"finish": "wombat brown"}', NULL, 'published', '2024-01-02'),
('f2300000-0000-4000-8000-000000000003', 'tst23-floor-lamp', 'Tst23 Floor Lamp', 'Loved by every wombat.', '{}', NULL,
 'published', '2024-01-03'),
('f2300000-0000-4000-8000-000000000004', 'tst23-wombats-lamp', 'Tst23 Wombats Lamp', 'Striped.', '{}', NULL,
 'published', '2024-01-04'),
('f2300000-0000-4000-8000-000000000005', 'tst23-zorbly-t-shirt', 'Tst23 Zorbly T-Shirt', 'Item 424242.', '{}',
 'f2300000-0000-4000-8000-0000000000c1', 'published', '2024-01-05'),
('f2300000-0000-4000-8000-000000000006', 'tst23-secret', 'Tst23 Glimmerquark Draft', 'Hush.', '{}', NULL, 'draft', NULL);
INSERT INTO shop.product_variants (id, product_id, sku, name)
SELECT
    format('f2300000-0000-4000-8000-0000000001%s', lpad(n::text, 2, '0'))::uuid,
    format('f2300000-0000-4000-8000-%s', lpad(n::text, 12, '0'))::uuid,
    format('TST23-%s', n), 'One size'
FROM generate_series(1, 6) AS n;
INSERT INTO shop.variant_prices (variant_id, currency, amount)
SELECT v.id, 'EUR', 1000 FROM shop.product_variants AS v WHERE v.sku LIKE 'TST23-%';

-- == upkeep: every write that changes words ==========================================================
SELECT ok(
    pg_temp.known('wombat') AND pg_temp.known('zorbly') AND pg_temp.known('tshirt') AND pg_temp.known('shirt')
    AND pg_temp.known('quaggaware'),
    'new products add the words of their names (with joined forms) and categories'
);
SELECT ok(
    NOT pg_temp.known('424242') AND NOT pg_temp.known('t'),
    'numbers and one-letter words are left out'
);
SELECT ok(NOT pg_temp.known('glimmerquark'), 'a draft adds no words');
UPDATE shop.products SET status = 'published', published_at = '2024-01-06'
WHERE id = 'f2300000-0000-4000-8000-000000000006';
SELECT ok(pg_temp.known('glimmerquark'), 'publishing adds them');

UPDATE shop.products SET name = 'Tst23 Wombat Lantern' WHERE id = 'f2300000-0000-4000-8000-000000000001';
SELECT ok(pg_temp.known('lantern'), 'a rename adds the new words');
SELECT ok(pg_temp.known('lamp'), 'words are only added: the old name''s stay');
UPDATE shop.products SET description = 'Loved by every wombat, quibbleton included.'
WHERE id = 'f2300000-0000-4000-8000-000000000003';
SELECT ok(pg_temp.known('quibbleton'), 'a new description adds its words');
UPDATE shop.categories SET name = 'Tst23 Dromaderry' WHERE id = 'f2300000-0000-4000-8000-0000000000c1';
SELECT ok(pg_temp.known('dromaderry'), 'a category rename adds the words of the products below it');
UPDATE shop.products SET attributes = '{"finish": "wombat ochrefleck"}' WHERE id = 'f2300000-0000-4000-8000-000000000002';
SELECT ok(pg_temp.known('ochrefleck'), 'a new attribute value adds its words');

-- == searching, as an anonymous caller ================================================================
SET LOCAL ROLE postcart_anon;
SELECT set_config('request.claims', '{}', TRUE);

SELECT throws_ok(
    'SELECT count(*) FROM shop.search_words', '42501', NULL, 'callers cannot read the dictionary'
);
SELECT is(
    pg_temp.slugs('{"q": "tst23 wombat"}'),
    ARRAY['tst23-wombat-lamp', 'tst23-wombats-lamp', 'tst23-desk-lamp', 'tst23-floor-lamp'],
    'the name as typed first, then a close word in a name ("wombats"), then an attribute value, then a description'
);
SELECT ok(
    (SELECT s[1:2] @> ARRAY['tst23-wombat-lamp', 'tst23-wombats-lamp'] AND s[3:] = ARRAY['tst23-desk-lamp', 'tst23-floor-lamp']
     FROM pg_temp.slugs('{"q": "tst23 wombta"}') AS s),
    'a typo finds the same: both names (each a close word now), then the attribute value, then the description'
);
SELECT is(
    (pg_temp.slugs('{"q": "wombat"}'))[1:2],
    ARRAY['tst23-wombat-lamp', 'tst23-wombats-lamp'],
    'a word as typed in a name ranks before a close word in a name ("wombats")'
);
SELECT is(pg_temp.slugs('{"q": "tst23 zorbly tshirt"}'), ARRAY['tst23-zorbly-t-shirt'], '"tshirt" finds "T-Shirt"');
SELECT is(pg_temp.slugs('{"q": "tst23 zorbly t shirt"}'), ARRAY['tst23-zorbly-t-shirt'], '"t shirt" too');
SELECT is(pg_temp.slugs('{"q": "dromaderry"}'), ARRAY['tst23-zorbly-t-shirt'], 'a category name finds its products');
SELECT is(pg_temp.slugs('{"q": "dromedary"}'), ARRAY['tst23-zorbly-t-shirt'], 'a misspelt one too');
SELECT is(pg_temp.slugs('{"q": "quibleton"}'), ARRAY['tst23-floor-lamp'], 'a misspelt description word finds its product');
SELECT is(pg_temp.slugs('{"q": "tst23 wombat zzqqxx"}'), '{}'::text[], 'every word must match');
SELECT is(pg_temp.slugs('{"q": "glimmerquark"}'), ARRAY['tst23-secret'], 'a product published in this transaction is found');
SELECT is(
    pg_temp.slugs('{"q": "tst23 lamp", "limit": "1"}'),
    pg_temp.slugs('{"q": "tst23 lamp", "limit": "100"}'),
    'pages of one hold the same matches in the same order as one page of all'
);
SELECT is(
    (SELECT sum((r ->> 'count')::integer)::integer
     FROM jsonb_array_elements(api.list_products('{"q": "tst23 lamp"}') -> 'facets' -> 'price_ranges') AS r),
    cardinality(pg_temp.slugs('{"q": "tst23 lamp"}')),
    'the facets of a search count its matches'
);
SELECT is(
    pg_temp.slugs('{"q": "tst23 lamp", "sort": "name"}'),
    ARRAY['tst23-desk-lamp', 'tst23-floor-lamp', 'tst23-wombat-lamp', 'tst23-wombats-lamp'],
    'a search sorts by name on request (the renamed lantern''s description says lamp)'
);
RESET ROLE;

-- == memo and indexes ================================================================================
SELECT ok(
    EXISTS (SELECT FROM shop.listing_facets AS f WHERE f.filter_key LIKE '%q=lamp tst23/tst23lamp'),
    'facets of a search are kept per catalog version under its words'
);
SET LOCAL ROLE postcart_owner;
SET LOCAL enable_seqscan = off;
-- A dictionary this small is read whole; its trigram index serves one of a real catalog's size.
SELECT is(
    (SELECT pg_get_indexdef(i.indexrelid) ~ 'USING gin \(word (extensions\.)?gin_trgm_ops\)'
     FROM pg_index AS i WHERE i.indexrelid = 'shop.search_words_trgm_idx'::regclass),
    TRUE, 'the dictionary has a trigram index for close words'
);
SELECT matches(
    pg_temp.plan_of($$SELECT l.product_id FROM shop.product_listings AS l
                      WHERE ts_filter(l.search_document, '{a}') @@ 'wombat'::tsquery$$),
    'product_listings_search_name_idx', 'name matches come from the index on the name part of the search document'
);
SELECT matches(
    pg_temp.plan_of($$SELECT l.product_id FROM shop.product_listings AS l WHERE l.search_document @@ 'wombat'::tsquery$$),
    'product_listings_search_document_idx', 'other matches from the index on the whole document'
);
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
