-- A search's matches are kept with its facets per catalog version (migration 0049): the next page, sort or
-- page size of the same search reads them instead of finding and ranking them again, and any write to
-- the catalog's content makes the next search find them anew. Fixture ids start with f43; its word,
-- "zorblax", is in no other product. Repeatable read: the catalog version must not move under the file
-- because the HTTP suite writes beside it.
BEGIN;
SET TRANSACTION ISOLATION LEVEL REPEATABLE READ;
SELECT plan(8);

INSERT INTO shop.products (id, slug, name, description, status, published_at) VALUES
('f4300000-0000-4000-8000-000000000001', 'tst43-zorblax-lamp', 'Tst43 Zorblax Lamp', 'Bright.', 'published', '2025-02-01 00:00+00'),
('f4300000-0000-4000-8000-000000000002', 'tst43-zorblax-chair', 'Tst43 Zorblax Chair', 'Sturdy.', 'published', '2025-02-02 00:00+00'),
('f4300000-0000-4000-8000-000000000003', 'tst43-zorblax-desk', 'Tst43 Zorblax Desk', 'Wide.', 'published', '2025-02-03 00:00+00');
INSERT INTO shop.product_variants (id, product_id, sku, name)
SELECT
    format('f4310000-0000-4000-8000-%s', lpad(n::text, 12, '0'))::uuid,
    format('f4300000-0000-4000-8000-%s', lpad(n::text, 12, '0'))::uuid,
    format('TST43-%s', n), 'Default'
FROM generate_series(1, 3) AS n;
INSERT INTO shop.variant_prices (variant_id, currency, amount)
SELECT v.id, 'EUR', 1000 * substr(v.sku, 7)::integer FROM shop.product_variants AS v WHERE v.sku LIKE 'TST43-%';

CREATE FUNCTION pg_temp.slugs(args jsonb)
RETURNS text[]
LANGUAGE sql
AS $$
    SELECT array_agg(i ->> 'slug' ORDER BY n)
    FROM jsonb_array_elements(api.list_products(args) -> 'items') WITH ORDINALITY AS e (i, n)
$$;
CREATE FUNCTION pg_temp.memo()
RETURNS shop.listing_facets
LANGUAGE sql
AS $$
    SELECT f FROM shop.listing_facets AS f WHERE f.filter_key = 'EUR|q=zorblax/zorblax'
$$;

SET LOCAL ROLE postcart_anon;
SELECT set_config('request.claims', '{}', TRUE);

SELECT is(
    cardinality(pg_temp.slugs('{"q": "zorblax"}')), 3, 'a search finds the three products'
);
RESET ROLE;
SELECT is(
    (SELECT cardinality(m.candidates) FROM pg_temp.memo() AS m), 3,
    'and keeps its three matches with its facets'
);
SELECT is(
    (SELECT m.catalog_version FROM pg_temp.memo() AS m), shop.catalog_content_version(),
    'under the current content version'
);

-- Keep only the last match in the memo: a search that reads it shows one product, one that searched anew
-- would show three.
UPDATE shop.listing_facets AS f
SET candidates = f.candidates[3:3], candidate_scores = f.candidate_scores[3:3],
    candidate_amounts = f.candidate_amounts[3:3]
WHERE f.filter_key = 'EUR|q=zorblax/zorblax';
SET LOCAL ROLE postcart_anon;
SELECT is(
    cardinality(pg_temp.slugs('{"q": "zorblax", "limit": "7"}')), 1,
    'another page size of the same search reads the kept matches'
);
SELECT is(
    cardinality(pg_temp.slugs('{"q": "Zorblax!", "sort": "price_desc"}')), 1,
    'so do another sort and the same words written otherwise'
);
SELECT is(
    cardinality(pg_temp.slugs('{"q": "zorblx"}')), 3,
    'a search with other words is found anew'
);

-- A write to the catalog's content moves the content version: the next search finds its matches again.
RESET ROLE;
UPDATE shop.products SET name = 'Tst43 Zorblax Reading Lamp' WHERE id = 'f4300000-0000-4000-8000-000000000001';
SET LOCAL ROLE postcart_anon;
SELECT is(
    pg_temp.slugs('{"q": "zorblax", "sort": "price_asc"}'),
    ARRAY['tst43-zorblax-lamp', 'tst43-zorblax-chair', 'tst43-zorblax-desk'],
    'after a product is renamed the search finds all three again'
);
RESET ROLE;
SELECT is(
    (SELECT cardinality(m.candidates) FROM pg_temp.memo() AS m), 3,
    'and keeps them under the new version'
);

SELECT * FROM finish();
ROLLBACK;
