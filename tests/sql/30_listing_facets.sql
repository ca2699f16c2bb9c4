-- Facets memoised per version (api.list_products, shop.listing_facets): without an in_stock filter they
-- are kept across stock writes (sales do not move the content version), with it they are counted again,
-- and both stay right. Fixture ids start with f30.
BEGIN;
SELECT plan(6);

CREATE FUNCTION pg_temp.list(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    answer jsonb;
BEGIN
    SET LOCAL ROLE postcart_anon;
    answer := api.list_products(args);
    RESET ROLE;
    RETURN answer;
END
$$;

INSERT INTO shop.categories (id, slug, name) VALUES ('f3000000-0000-4000-8000-0000000000c1', 'tst30-kites', 'Tst30 Kites');
INSERT INTO shop.products (id, slug, name, category_id, status, published_at) VALUES
('f3000000-0000-4000-8000-000000000001', 'tst30-red-kite', 'Tst30 Red Kite', 'f3000000-0000-4000-8000-0000000000c1',
 'published', now() - INTERVAL '1 day'),
('f3000000-0000-4000-8000-000000000002', 'tst30-blue-kite', 'Tst30 Blue Kite', 'f3000000-0000-4000-8000-0000000000c1',
 'published', now() - INTERVAL '1 day');
INSERT INTO shop.product_variants (id, product_id, sku, name) VALUES
('f3000000-0000-4000-8000-0000000000a1', 'f3000000-0000-4000-8000-000000000001', 'TST30-RED', 'Red'),
('f3000000-0000-4000-8000-0000000000a2', 'f3000000-0000-4000-8000-000000000002', 'TST30-BLUE', 'Blue');
INSERT INTO shop.variant_prices (variant_id, currency, amount) VALUES
('f3000000-0000-4000-8000-0000000000a1', 'EUR', 2000), ('f3000000-0000-4000-8000-0000000000a2', 'EUR', 3000);
INSERT INTO shop.warehouses (id, code, name) VALUES ('f3000000-0000-4000-8000-0000000000f1', 'tst30-wh', 'Tst30 WH');
INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity) VALUES
('f3000000-0000-4000-8000-0000000000a1', 'f3000000-0000-4000-8000-0000000000f1', 'receipt', 3),
('f3000000-0000-4000-8000-0000000000a2', 'f3000000-0000-4000-8000-0000000000f1', 'receipt', 3);

CREATE TEMPORARY TABLE seen AS
SELECT
    pg_temp.list('{"category": "tst30-kites"}') -> 'facets' AS all_facets,
    pg_temp.list('{"category": "tst30-kites", "in_stock": "true"}') -> 'facets' AS in_stock_facets;
SELECT is(
    (SELECT all_facets -> 'categories' -> 0 ->> 'count' FROM seen), '2', 'both kites counted'
);
SELECT ok(
    (SELECT count(*) FROM shop.listing_facets WHERE filter_key LIKE '%f3000000-0000-4000-8000-0000000000c1%') = 2
    AND (SELECT count(*) FROM shop.listing_facets WHERE catalog_version LIKE 'content:%'
         AND filter_key LIKE '%f3000000-0000-4000-8000-0000000000c1%') = 1,
    'each is kept: the plain one under the content version, the in_stock one under the whole version'
);
UPDATE shop.listing_facets SET facets = facets || '{"kept": true}'
WHERE catalog_version LIKE 'content:%' AND filter_key LIKE '%f3000000-0000-4000-8000-0000000000c1%';

-- The red kite sells out.
INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity) VALUES
('f3000000-0000-4000-8000-0000000000a1', 'f3000000-0000-4000-8000-0000000000f1', 'adjustment', -3);

SELECT is(
    pg_temp.list('{"category": "tst30-kites"}') -> 'facets' ->> 'kept', 'true',
    'after a stock write the plain facets come from the memo (a sale does not throw them away)'
);
SELECT is(
    pg_temp.list('{"category": "tst30-kites", "in_stock": "true"}') -> 'facets' -> 'categories' -> 0 ->> 'count', '1',
    'with in_stock they are counted again: one kite left'
);
SELECT is(
    jsonb_array_length(pg_temp.list('{"category": "tst30-kites", "in_stock": "true"}') -> 'items'), 1,
    'and the page agrees with them'
);
UPDATE shop.products SET description = 'Flies high.' WHERE id = 'f3000000-0000-4000-8000-000000000002';
SELECT is(
    pg_temp.list('{"category": "tst30-kites"}') -> 'facets' ->> 'kept', NULL,
    'any other catalog write counts them again'
);

SELECT * FROM finish();
ROLLBACK;
