-- Product search as the storefront calls it: hyphens and spaces inside words do not matter ("tshirt",
-- "tshrt", "t shirt" and "T-Shirt" find the same T-shirt first), typos are tolerated, drafts stay hidden,
-- and the trigram indexes serve the search under row-level security.
-- Other data may already be in the database (the HTTP tests load the demo catalog): assertions look at
-- this file's tst9-* products, by their position among the results or with the word "tst9" in q.
BEGIN;
SELECT plan(30);

-- == helpers (temporary, this session only) =========================================================
-- The slugs of every page of a search, in order, following next_cursor until it is null.
CREATE FUNCTION pg_temp.slugs(args jsonb)
RETURNS text[]
LANGUAGE plpgsql
AS $$
DECLARE
    response jsonb;
    page_args jsonb := args;
    found text[] := '{}';
BEGIN
    FOR page IN 1..1000 LOOP
        response := api.list_products(page_args);
        found := found || ARRAY(SELECT e ->> 'slug' FROM jsonb_array_elements(response -> 'items') AS e);
        EXIT WHEN response ->> 'next_cursor' IS NULL;
        page_args := args || jsonb_build_object('cursor', response ->> 'next_cursor');
    END LOOP;
    RETURN found;
END
$$;

-- The first slug a search returns.
CREATE FUNCTION pg_temp.first_slug(q text)
RETURNS text
LANGUAGE sql
AS $$
    SELECT api.list_products(jsonb_build_object('q', q)) -> 'items' -> 0 ->> 'slug'
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

-- == fixture ========================================================================================
INSERT INTO shop.products (id, slug, name, description, status, published_at)
SELECT
    format('a9000000-0000-4000-8000-%s', lpad(f.n::text, 12, '0'))::uuid, f.slug, f.name, f.description,
    f.status, CASE WHEN f.status = 'published' THEN timestamptz '2024-05-01 12:00+00' + f.n * interval '1 day' END
FROM (VALUES
    (1, 'tst9-classic-t-shirt', 'Tst9 Classic T-Shirt', 'Heavy cotton, boxy cut.', 'published'),
    (2, 'tst9-oxford-shirt', 'Tst9 Oxford Shirt', 'Button-down collar.', 'published'),
    (3, 'tst9-cat-shirt', 'Tst9 Cat Shirt', 'A shirt with cats on it.', 'published'),
    (4, 'tst9-tee-dress', 'Tst9 Tee Dress', 'Long; wear it over a T-shirt.', 'published'),
    (5, 'tst9-hiking-jacket', 'Tst9 Hiking Jacket', 'Waterproof shell.', 'published'),
    (6, 'tst9-rain-jacket', 'Tst9 Rain Jacket', 'Packs small.', 'published'),
    (7, 'tst9-snowboard-bag', 'Tst9 Snowboard Bag', 'Padded.', 'published'),
    (8, 'tst9-draft-t-shirt', 'Tst9 Draft T-Shirt', 'Not yet.', 'draft')
) AS f (n, slug, name, description, status);
INSERT INTO shop.product_variants (id, product_id, sku, name)
SELECT
    format('b9000000-0000-4000-8000-%s', lpad(n::text, 12, '0'))::uuid,
    format('a9000000-0000-4000-8000-%s', lpad(n::text, 12, '0'))::uuid,
    format('TST9-%s', n), 'One size'
FROM generate_series(1, 8) AS n;
INSERT INTO shop.variant_prices (variant_id, currency, amount)
SELECT v.id, 'EUR', 2000 FROM shop.product_variants AS v WHERE v.sku LIKE 'TST9-%';

-- == the search forms ===============================================================================
SELECT is(shop.compact_search_key('Classic T-Shirt'), 'classic tshirt', 'the compact key drops hyphens');
SELECT is(
    shop.compact_search_key('Crème Brûlée, Rock''n''Roll'), 'creme brulee rocknroll',
    'the compact key drops accents and punctuation and keeps the spaces between words'
);
SELECT is(
    (SELECT p.search_name_compact FROM shop.products AS p WHERE p.slug = 'tst9-classic-t-shirt'),
    'tst9 classic tshirt', 'products keep a compact search form of their name'
);
SELECT is(
    (SELECT p.search_description_compact FROM shop.products AS p WHERE p.slug = 'tst9-tee-dress'),
    'long wear it over a tshirt', 'and of their description'
);
SELECT has_index(
    'shop', 'products', 'products_search_name_compact_idx', 'trigram index on the compact search form of the name'
);
SELECT has_index(
    'shop', 'products', 'products_search_description_compact_idx',
    'trigram index on the compact search form of the description'
);

-- == as an anonymous caller =========================================================================
SET LOCAL ROLE postcart_anon;
SELECT set_config('request.claims', '{}', TRUE);

-- hyphens and spaces inside words
SELECT is(pg_temp.first_slug('tshirt'), 'tst9-classic-t-shirt', '"tshirt" finds the T-Shirt first');
SELECT is(pg_temp.first_slug('tshrt'), 'tst9-classic-t-shirt', '"tshrt" (a typo) finds the T-Shirt first');
SELECT is(pg_temp.first_slug('t shirt'), 'tst9-classic-t-shirt', '"t shirt" finds the T-Shirt first');
SELECT is(pg_temp.first_slug('T-Shirt'), 'tst9-classic-t-shirt', '"T-Shirt" finds the T-Shirt first');
SELECT is(pg_temp.first_slug('t-shirt'), 'tst9-classic-t-shirt', '"t-shirt" finds the T-Shirt first');
SELECT is(pg_temp.first_slug('TSHIRT'), 'tst9-classic-t-shirt', '"TSHIRT" finds the T-Shirt first');
SELECT is(pg_temp.first_slug('t.shirt'), 'tst9-classic-t-shirt', '"t.shirt" finds the T-Shirt first');
SELECT ok(
    'tst9-tee-dress' = ANY(pg_temp.slugs('{"q": "tst9 tshirt"}')),
    '"tshirt" also finds "T-shirt" in a description'
);
SELECT ok(
    array_position(pg_temp.slugs('{"q": "tst9 t shirt"}'), 'tst9-classic-t-shirt')
    < array_position(pg_temp.slugs('{"q": "tst9 t shirt"}'), 'tst9-cat-shirt'),
    '"t shirt" ranks the T-Shirt before a shirt'
);
SELECT is(pg_temp.first_slug('snow board'), 'tst9-snowboard-bag', 'a space inside a word of q does not matter');
SELECT is(pg_temp.first_slug('snow-board'), 'tst9-snowboard-bag', 'nor does a hyphen');

-- typos
SELECT is(pg_temp.first_slug('hikng jaket'), 'tst9-hiking-jacket', '"hikng jaket" finds the hiking jacket first');
SELECT set_eq(
    $$SELECT unnest(pg_temp.slugs('{"q": "tst9 hikng jaket"}'))$$,
    ARRAY['tst9-hiking-jacket'],
    'every word must still match: "hikng jaket" does not find the rain jacket'
);
SELECT is(pg_temp.first_slug('oxfrd shirt'), 'tst9-oxford-shirt', '"oxfrd shirt" finds the Oxford shirt first');
SELECT is(
    cardinality(pg_temp.slugs('{"q": "tst9 qqqxxzz"}')), 0, 'nonsense still finds nothing'
);
SELECT is(
    cardinality(pg_temp.slugs('{"q": "%"}') || pg_temp.slugs('{"q": "_"}') || pg_temp.slugs('{"q": " - "}')),
    0, 'a text without letters or digits finds nothing (no LIKE wildcards)'
);
SELECT is(pg_temp.first_slug('the tst9 t shirt'), 'tst9-classic-t-shirt', 'filler words are ignored');

-- what callers may see
SELECT ok(
    NOT 'tst9-draft-t-shirt' = ANY(pg_temp.slugs('{"q": "tshirt"}') || pg_temp.slugs('{"q": "t shirt"}')),
    'drafts stay hidden from search'
);
SELECT is(
    (SELECT count(*) FROM jsonb_array_elements(api.list_products('{"q": "tst9 draft"}') -> 'items')), 0::bigint,
    'a word only a draft has finds nothing'
);
SELECT bag_eq(
    $$SELECT unnest(pg_temp.slugs('{"q": "tshirt", "limit": "2"}'))$$,
    $$SELECT e ->> 'slug' FROM jsonb_array_elements(api.list_products('{"q": "tshirt", "limit": "100"}') -> 'items') AS e$$,
    'the pages of a search hold every match exactly once'
);
SELECT is(
    current_setting('pg_trgm.word_similarity_threshold'), '0.6',
    'the search thresholds are the functions'' own: the session keeps pg_trgm''s default'
);
RESET ROLE;

-- == index use ======================================================================================
-- Trigram operators are not leakproof, so under an application role's row-level security PostgreSQL
-- cannot use the trigram indexes; shop.search_queries reads the search dictionary as the owner.
SELECT ok(
    (SELECT p.prosecdef FROM pg_proc AS p WHERE p.oid = 'shop.search_queries(text[], text, text[])'::regprocedure),
    'search words are expanded with the owner''s rights'
);
SET LOCAL ROLE postcart_owner;
SET LOCAL enable_seqscan = off;
SELECT matches(
    pg_temp.plan_of($$SELECT p.id FROM shop.products AS p
                      WHERE 'tshrt' <% p.search_name_compact$$),
    'products_search_name_compact_idx', 'as the owner, word similarity on the compact name uses its index'
);
SELECT matches(
    pg_temp.plan_of($$SELECT p.id FROM shop.products AS p
                      WHERE p.search_description_compact LIKE '%tshirt%'$$),
    'products_search_description_compact_idx', 'as the owner, substrings of the compact description use its index'
);
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
