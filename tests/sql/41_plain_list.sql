-- The plain product list (no search, no filter, newest first) has its own static statement in
-- api.list_products, planned once per connection; every other list is generated per call. Both must give
-- the same pages: this file pages through the whole catalog both ways (min_price=0 filters nothing but
-- takes the generated path) and checks ties, cursors and a customer group's price on the plain path.
-- Repeatable read: the HTTP suite may publish products meanwhile, and both walks must see one catalog.
-- Fixture ids start with f41.
BEGIN;
SET TRANSACTION ISOLATION LEVEL REPEATABLE READ;
SELECT plan(8);

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
        EXIT WHEN response ->> 'next_cursor' IS NULL OR page > 2000;
        page_args := args || jsonb_build_object('cursor', response ->> 'next_cursor');
    END LOOP;
END
$$;

-- == fixture: five products published at the same instant (ties broken by id), one of them with a
-- trade price for a customer group =====================================================================
INSERT INTO shop.products (id, slug, name, status, published_at)
SELECT
    format('f4100000-0000-4000-8000-%s', lpad(n::text, 12, '0'))::uuid,
    format('tst41-item-%s', n), format('Tst41 Item %s', n), 'published', timestamptz '2025-01-01 00:00+00'
FROM generate_series(1, 5) AS n;
INSERT INTO shop.product_variants (id, product_id, sku, name)
SELECT
    format('f4110000-0000-4000-8000-%s', lpad(n::text, 12, '0'))::uuid,
    format('f4100000-0000-4000-8000-%s', lpad(n::text, 12, '0'))::uuid,
    format('TST41-%s', n), 'Default'
FROM generate_series(1, 5) AS n;
INSERT INTO shop.variant_prices (variant_id, currency, amount)
SELECT v.id, 'EUR', 4100 FROM shop.product_variants AS v WHERE v.sku LIKE 'TST41-%';
INSERT INTO shop.customer_groups (id, code, name) VALUES
('f4120000-0000-4000-8000-000000000001', 'tst41-trade', 'Tst41 Trade');
INSERT INTO auth.accounts (id, email, full_name, kind, customer_group_id) VALUES
('f4130000-0000-4000-8000-000000000001', 'tst41-trade@example.com', 'Trade', 'customer',
 'f4120000-0000-4000-8000-000000000001');
INSERT INTO shop.price_lists (id, name, customer_group_id) VALUES
('f4140000-0000-4000-8000-000000000001', 'tst41 trade', 'f4120000-0000-4000-8000-000000000001');
INSERT INTO shop.price_list_prices (price_list_id, variant_id, currency, amount) VALUES
('f4140000-0000-4000-8000-000000000001', 'f4110000-0000-4000-8000-000000000003', 'EUR', 3000);

-- == anonymous ==========================================================================================
SET LOCAL ROLE postcart_anon;
SELECT set_config('request.claims', '{}', TRUE);

CREATE TEMPORARY TABLE plain AS SELECT * FROM pg_temp.all_items('{"limit": "7"}') WITH ORDINALITY AS a (page, item, n);
CREATE TEMPORARY TABLE generated AS
SELECT * FROM pg_temp.all_items('{"limit": "7", "min_price": "0"}') WITH ORDINALITY AS a (page, item, n);

SELECT cmp_ok((SELECT count(*) FROM plain), '>=', 5::bigint, 'the plain list pages through the catalog');
SELECT is(
    (SELECT array_agg(p.item ORDER BY p.n) FROM plain AS p),
    (SELECT array_agg(g.item ORDER BY g.n) FROM generated AS g),
    'the plain list gives the same items, prices and order page after page as the generated statement'
);
SELECT is(
    (SELECT count(DISTINCT p.item ->> 'id') FROM plain AS p), (SELECT count(*) FROM plain),
    'no product is listed twice across pages'
);
SELECT is(
    (SELECT array_agg(p.item ->> 'slug' ORDER BY p.n) FROM plain AS p WHERE p.item ->> 'slug' LIKE 'tst41-%'),
    ARRAY['tst41-item-1', 'tst41-item-2', 'tst41-item-3', 'tst41-item-4', 'tst41-item-5'],
    'products published at the same instant come in id order, across page boundaries too'
);
SELECT is(
    (SELECT p.item -> 'price' FROM plain AS p WHERE p.item ->> 'slug' = 'tst41-item-3'),
    '{"amount": 4100, "currency": "EUR"}'::jsonb,
    'an anonymous caller sees the base price'
);
SELECT is(
    api.list_products(jsonb_build_object(
        'limit', '2',
        'cursor', shop.encode_cursor(jsonb_build_object(
            's', 'newest', 'n', 0, 't', '2025-01-01T00:00:00.000000', 'id', 'f4100000-0000-4000-8000-000000000002'
        ))
    )) -> 'items' -> 0 ->> 'slug',
    'tst41-item-3',
    'a cursor in the middle of a tie continues with the next id'
);

-- == a customer of the trade group ==========================================================================
RESET ROLE;
SET LOCAL ROLE postcart_customer;
SELECT set_config('request.claims', '{"sub": "f4130000-0000-4000-8000-000000000001", "kind": "customer"}', TRUE);
CREATE TEMPORARY TABLE trade AS SELECT * FROM pg_temp.all_items('{"limit": "7"}') WITH ORDINALITY AS a (page, item, n);
SELECT is(
    (SELECT t.item -> 'price' FROM trade AS t WHERE t.item ->> 'slug' = 'tst41-item-3'),
    '{"amount": 3000, "currency": "EUR"}'::jsonb,
    'a customer of a group sees its group''s price on the plain list'
);
SELECT is(
    (SELECT array_agg(t.item ORDER BY t.n) FROM trade AS t),
    (SELECT array_agg(g.item ORDER BY g.n) FROM pg_temp.all_items('{"limit": "7", "min_price": "0"}')
        WITH ORDINALITY AS g (page, item, n)),
    'and the same pages as the generated statement gives that customer'
);

SELECT * FROM finish();
ROLLBACK;
