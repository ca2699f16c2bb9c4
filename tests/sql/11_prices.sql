-- Prices: the precedence of shop.resolve_prices at the exact start and end instants of windows, quantity
-- tiers, markdown scopes and rounding, the exclusion constraint on price list windows and its sync with
-- the list, who may read and write what, and resolved prices in the catalog API.
-- Fixture ids start with e11; times are in 2031 so nothing else in the database is active then.
BEGIN;
SELECT plan(72);

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
        'state', state, 'message', message,
        'detail', CASE WHEN detail LIKE '{%' THEN detail::jsonb ELSE to_jsonb(nullif(detail, '')) END
    );
END
$$;
GRANT EXECUTE ON FUNCTION pg_temp.error_of(text) TO PUBLIC;

-- Shorthand: the unit price of a fixture variant (by its number) for a group code, quantity and instant.
CREATE FUNCTION pg_temp.price(variant integer, group_code text, quantity integer, at timestamptz)
RETURNS bigint
LANGUAGE sql
AS $$
    SELECT shop.resolve_price(
        format('e1100000-0000-4000-8000-0000000000%s', lpad(variant::text, 2, '0'))::uuid, 'EUR',
        (SELECT g.id FROM shop.customer_groups AS g WHERE g.code = group_code), quantity, at
    )
$$;

-- == fixture ========================================================================================
-- Categories: tst11-root > tst11-kid; tst11-other apart.
INSERT INTO shop.categories (id, parent_id, slug, name) VALUES
('e11c0000-0000-4000-8000-000000000001', NULL, 'tst11-root', 'Tst11 Root'),
('e11c0000-0000-4000-8000-000000000002', 'e11c0000-0000-4000-8000-000000000001', 'tst11-kid', 'Tst11 Kid'),
('e11c0000-0000-4000-8000-000000000003', NULL, 'tst11-other', 'Tst11 Other');
-- Products 1 and 4 in tst11-kid, 2 in tst11-other, 3 a draft in tst11-kid; one variant each (variant n
-- belongs to product n).
INSERT INTO shop.products (id, slug, name, category_id, status) VALUES
('e11a0000-0000-4000-8000-000000000001', 'tst11-jacket', 'Tst11 Jacket', 'e11c0000-0000-4000-8000-000000000002', 'published'),
('e11a0000-0000-4000-8000-000000000002', 'tst11-mug', 'Tst11 Mug', 'e11c0000-0000-4000-8000-000000000003', 'published'),
('e11a0000-0000-4000-8000-000000000003', 'tst11-draft', 'Tst11 Draft', 'e11c0000-0000-4000-8000-000000000002', 'draft'),
('e11a0000-0000-4000-8000-000000000004', 'tst11-socks', 'Tst11 Socks', 'e11c0000-0000-4000-8000-000000000002', 'published');
INSERT INTO shop.product_variants (id, product_id, sku, name)
SELECT
    format('e1100000-0000-4000-8000-0000000000%s', lpad(n::text, 2, '0'))::uuid,
    format('e11a0000-0000-4000-8000-%s', lpad(n::text, 12, '0'))::uuid,
    'TST11-' || n, 'Variant ' || n
FROM generate_series(1, 4) AS n;
-- Base prices (EUR only): jacket 1000, mug 2000, draft 500, socks 333.
INSERT INTO shop.variant_prices (variant_id, currency, amount) VALUES
('e1100000-0000-4000-8000-000000000001', 'EUR', 1000),
('e1100000-0000-4000-8000-000000000002', 'EUR', 2000),
('e1100000-0000-4000-8000-000000000003', 'EUR', 500),
('e1100000-0000-4000-8000-000000000004', 'EUR', 333);
INSERT INTO shop.customer_groups (id, code, name) VALUES
('e11b0000-0000-4000-8000-000000000001', 'tst11-wholesale', 'Tst11 Wholesale'),
('e11b0000-0000-4000-8000-000000000002', 'tst11-vip', 'Tst11 VIP');
INSERT INTO auth.accounts (id, email, full_name, kind, customer_group_id) VALUES
('e11d0000-0000-4000-8000-000000000001', 'tst11-trade@example.com', 'Trade', 'customer', 'e11b0000-0000-4000-8000-000000000001'),
('e11d0000-0000-4000-8000-000000000002', 'tst11-retail@example.com', 'Retail', 'customer', NULL);

-- Price lists. The sale runs [2031-06-01, 2031-06-15).
INSERT INTO shop.price_lists (id, name, customer_group_id, starts_at, ends_at, priority) VALUES
('e11e0000-0000-4000-8000-000000000001', 'tst11 wholesale', 'e11b0000-0000-4000-8000-000000000001', NULL, NULL, 0),
('e11e0000-0000-4000-8000-000000000002', 'tst11 sale', NULL, '2031-06-01 00:00+00', '2031-06-15 00:00+00', 0),
('e11e0000-0000-4000-8000-000000000003', 'tst11 big sale', NULL, '2031-06-01 00:00+00', '2031-06-15 00:00+00', 10),
('e11e0000-0000-4000-8000-000000000004', 'tst11 vip', 'e11b0000-0000-4000-8000-000000000002', NULL, NULL, 0),
('e11e0000-0000-4000-8000-000000000005', 'tst11 weekly', NULL, NULL, NULL, 0);
INSERT INTO shop.price_list_prices (price_list_id, variant_id, currency, min_quantity, amount) VALUES
-- wholesale: jacket 800 from 1, 700 from 10, 600 from 50
('e11e0000-0000-4000-8000-000000000001', 'e1100000-0000-4000-8000-000000000001', 'EUR', 1, 800),
('e11e0000-0000-4000-8000-000000000001', 'e1100000-0000-4000-8000-000000000001', 'EUR', 10, 700),
('e11e0000-0000-4000-8000-000000000001', 'e1100000-0000-4000-8000-000000000001', 'EUR', 50, 600),
-- sale: jacket 900, mug 1500; big sale (priority 10): mug 1400
('e11e0000-0000-4000-8000-000000000002', 'e1100000-0000-4000-8000-000000000001', 'EUR', 1, 900),
('e11e0000-0000-4000-8000-000000000002', 'e1100000-0000-4000-8000-000000000002', 'EUR', 1, 1500),
('e11e0000-0000-4000-8000-000000000003', 'e1100000-0000-4000-8000-000000000002', 'EUR', 1, 1400),
-- vip: jacket 100
('e11e0000-0000-4000-8000-000000000004', 'e1100000-0000-4000-8000-000000000001', 'EUR', 1, 100);
-- weekly (a list without a window; its prices have their own, back to back): socks 300 in the first week
-- of July 2031, 250 in the second.
INSERT INTO shop.price_list_prices (price_list_id, variant_id, currency, amount, starts_at, ends_at) VALUES
('e11e0000-0000-4000-8000-000000000005', 'e1100000-0000-4000-8000-000000000004', 'EUR', 300, '2031-07-01 00:00+00', '2031-07-08 00:00+00'),
('e11e0000-0000-4000-8000-000000000005', 'e1100000-0000-4000-8000-000000000004', 'EUR', 250, '2031-07-08 00:00+00', '2031-07-15 00:00+00');

-- == precedence at the boundaries ===================================================================
SELECT is(pg_temp.price(1, NULL, 1, '2031-05-31 23:59:59.999999+00'), 1000::bigint, 'one microsecond before a sale: the base price');
SELECT is(pg_temp.price(1, NULL, 1, '2031-06-01 00:00:00+00'), 900::bigint, 'at the sale''s starts_at exactly: the sale price (inclusive)');
SELECT is(pg_temp.price(1, NULL, 1, '2031-06-01 00:00:00.000001+00'), 900::bigint, 'one microsecond after the start: the sale price');
SELECT is(pg_temp.price(1, NULL, 1, '2031-06-14 23:59:59.999999+00'), 900::bigint, 'one microsecond before ends_at: still the sale price');
SELECT is(pg_temp.price(1, NULL, 1, '2031-06-15 00:00:00+00'), 1000::bigint, 'at ends_at exactly: the base price again (exclusive)');
SELECT is(pg_temp.price(1, NULL, 1, '2031-06-15 00:00:00.000001+00'), 1000::bigint, 'one microsecond after the end: the base price');
SELECT is(pg_temp.price(1, 'tst11-wholesale', 1, '2031-06-01 00:00+00'), 800::bigint, 'during the sale a customer group''s list beats the sale list (800, not 900)');
SELECT is(pg_temp.price(1, 'tst11-wholesale', 1, '2031-05-01 00:00+00'), 800::bigint, 'outside the sale the group list beats the base');
SELECT is(pg_temp.price(2, NULL, 1, '2031-06-01 00:00+00'), 1400::bigint, 'among lists for everyone the higher priority wins (1400 over 1500)');
SELECT is(pg_temp.price(2, 'tst11-wholesale', 1, '2031-06-01 00:00+00'), 1400::bigint, 'a group without a price for the variant falls back to the lists for everyone');
SELECT is(pg_temp.price(1, 'tst11-vip', 1, '2031-05-01 00:00+00'), 100::bigint, 'a VIP gets the VIP list');
SELECT is(pg_temp.price(1, 'tst11-wholesale', 1, '2031-05-01 00:00+00'), 800::bigint, 'a wholesale customer never gets the VIP list');
SELECT is(
    (SELECT row(r.source, r.price_list_id, r.base_amount, r.amount, r.line_amount)::text
     FROM shop.resolve_prices(ARRAY['e1100000-0000-4000-8000-000000000002'::uuid], ARRAY[3], 'EUR', NULL, '2031-06-01 00:00+00') AS r),
    row('price_list', 'e11e0000-0000-4000-8000-000000000003'::uuid, 2000::bigint, 1400::bigint, 4200::bigint)::text,
    'resolve_prices names the source and the winning list, with base, unit and line amounts'
);
SELECT is(
    (SELECT count(*) FROM shop.resolve_prices(ARRAY['e1100000-0000-4000-8000-000000000001'::uuid], NULL, 'USD', NULL, now())),
    0::bigint, 'a variant without a base price in the currency is not sold in it (no row)'
);
SELECT is(
    (SELECT array_agg(r.amount ORDER BY r.quantity)
     FROM shop.resolve_prices(
         ARRAY['e1100000-0000-4000-8000-000000000001', 'e1100000-0000-4000-8000-000000000001']::uuid[],
         ARRAY[1, 10], 'EUR', 'e11b0000-0000-4000-8000-000000000001', '2031-05-01 00:00+00'
     ) AS r),
    ARRAY[800, 700]::bigint[], 'one call resolves several lines, each at its own quantity'
);

-- == quantity tiers =================================================================================
SELECT is(pg_temp.price(1, 'tst11-wholesale', 9, '2031-05-01 00:00+00'), 800::bigint, '9 units: below the 10 tier');
SELECT is(pg_temp.price(1, 'tst11-wholesale', 10, '2031-05-01 00:00+00'), 700::bigint, '10 units: the 10 tier');
SELECT is(pg_temp.price(1, 'tst11-wholesale', 49, '2031-05-01 00:00+00'), 700::bigint, '49 units: still the 10 tier');
SELECT is(pg_temp.price(1, 'tst11-wholesale', 50, '2031-05-01 00:00+00'), 600::bigint, '50 units: the largest tier reached');
SELECT is(pg_temp.price(1, 'tst11-wholesale', 0, '2031-05-01 00:00+00'), 800::bigint, 'a quantity below 1 counts as 1');

-- == the exclusion constraint and the list's window ==================================================
SELECT throws_ok(
    $$INSERT INTO shop.price_list_prices (price_list_id, variant_id, currency, amount, starts_at, ends_at)
      VALUES ('e11e0000-0000-4000-8000-000000000002', 'e1100000-0000-4000-8000-000000000001', 'EUR', 850,
              '2031-06-10 00:00+00', '2031-06-12 00:00+00')$$,
    '23P01', NULL, 'a second sale price for the jacket inside the list''s window overlaps the first: refused'
);
SELECT throws_ok(
    $$INSERT INTO shop.price_list_prices (price_list_id, variant_id, currency, amount, starts_at, ends_at)
      VALUES ('e11e0000-0000-4000-8000-000000000005', 'e1100000-0000-4000-8000-000000000004', 'EUR', 1,
              '2031-07-07 23:59:59.999999+00', '2031-07-08 00:00:00.000001+00')$$,
    '23P01', NULL, 'two microseconds straddling the weekly boundary overlap both weeks: refused'
);
SELECT lives_ok(
    $$INSERT INTO shop.price_list_prices (price_list_id, variant_id, currency, min_quantity, amount, starts_at, ends_at)
      VALUES ('e11e0000-0000-4000-8000-000000000005', 'e1100000-0000-4000-8000-000000000004', 'EUR', 5, 200,
              '2031-07-01 00:00+00', '2031-07-15 00:00+00')$$,
    'the same window for another min_quantity is a tier, not an overlap'
);
SELECT lives_ok(
    $$INSERT INTO shop.price_list_prices (price_list_id, variant_id, currency, amount, starts_at, ends_at)
      VALUES ('e11e0000-0000-4000-8000-000000000005', 'e1100000-0000-4000-8000-000000000004', 'EUR', 240,
              '2031-07-15 00:00+00', '2031-07-22 00:00+00')$$,
    'a window starting exactly where another ends does not overlap it'
);
SELECT is(pg_temp.price(4, NULL, 1, '2031-07-07 23:59:59.999999+00'), 300::bigint, 'back-to-back prices: the first week until its last microsecond');
SELECT is(pg_temp.price(4, NULL, 1, '2031-07-08 00:00:00+00'), 250::bigint, 'back-to-back prices: the second week from its first instant');
SELECT is(pg_temp.price(4, NULL, 5, '2031-07-08 00:00:00+00'), 200::bigint, 'the 5 tier of the same list');
SELECT is(
    (SELECT pp.valid_during FROM shop.price_list_prices AS pp
     WHERE pp.price_list_id = 'e11e0000-0000-4000-8000-000000000002' AND pp.variant_id = 'e1100000-0000-4000-8000-000000000001'),
    tstzrange('2031-06-01 00:00+00', '2031-06-15 00:00+00', '[)'),
    'a price without its own window carries the list''s window'
);
INSERT INTO shop.price_list_prices (price_list_id, variant_id, currency, amount, valid_during, priority, customer_group_id)
VALUES ('e11e0000-0000-4000-8000-000000000003', 'e1100000-0000-4000-8000-000000000004', 'EUR', 1, '[2000-01-01,2000-01-02)', 99,
        'e11b0000-0000-4000-8000-000000000002');
SELECT is(
    (SELECT row(pp.valid_during, pp.priority, pp.customer_group_id)::text FROM shop.price_list_prices AS pp
     WHERE pp.price_list_id = 'e11e0000-0000-4000-8000-000000000003' AND pp.variant_id = 'e1100000-0000-4000-8000-000000000004'),
    row(tstzrange('2031-06-01 00:00+00', '2031-06-15 00:00+00', '[)'), 10, NULL::uuid)::text,
    'hand-written window, priority and group on a price row are replaced by the list''s'
);
DELETE FROM shop.price_list_prices
WHERE price_list_id = 'e11e0000-0000-4000-8000-000000000003' AND variant_id = 'e1100000-0000-4000-8000-000000000004';
UPDATE shop.price_lists SET ends_at = '2031-06-05 00:00+00' WHERE id = 'e11e0000-0000-4000-8000-000000000002';
SELECT is(pg_temp.price(1, NULL, 1, '2031-06-04 23:59:59.999999+00'), 900::bigint, 'a shortened sale still applies before its new end');
SELECT is(pg_temp.price(1, NULL, 1, '2031-06-05 00:00+00'), 1000::bigint, 'shortening the list''s window moves its prices'' end (trigger sync)');
UPDATE shop.price_lists SET ends_at = '2031-06-15 00:00+00' WHERE id = 'e11e0000-0000-4000-8000-000000000002';
SELECT is(
    pg_temp.error_of($$UPDATE shop.price_lists SET starts_at = '2031-08-01 00:00+00', ends_at = '2031-09-01 00:00+00'
                       WHERE id = 'e11e0000-0000-4000-8000-000000000005'$$) ->> 'message',
    'price_outside_list_window', 'moving a list''s window away from its prices'' own windows is refused'
);
UPDATE shop.price_lists SET customer_group_id = 'e11b0000-0000-4000-8000-000000000002'
WHERE id = 'e11e0000-0000-4000-8000-000000000001';
SELECT is(pg_temp.price(1, 'tst11-wholesale', 1, '2031-05-01 00:00+00'), 1000::bigint, 'moving a list to another group moves its prices (trigger sync)');
UPDATE shop.price_lists SET customer_group_id = 'e11b0000-0000-4000-8000-000000000001'
WHERE id = 'e11e0000-0000-4000-8000-000000000001';

-- == markdowns: scopes, precedence, rounding ===========================================================
INSERT INTO shop.markdowns (id, name, percent_off, category_id, product_id, starts_at, ends_at) VALUES
-- 10% off tst11-root (and so tst11-kid) during the sale
('e11f0000-0000-4000-8000-000000000001', 'tst11 root', 10, 'e11c0000-0000-4000-8000-000000000001', NULL, '2031-06-01 00:00+00', '2031-06-15 00:00+00'),
-- 25% off the mug, 30% off tst11-other, same window
('e11f0000-0000-4000-8000-000000000002', 'tst11 mug', 25, NULL, 'e11a0000-0000-4000-8000-000000000002', '2031-06-01 00:00+00', '2031-06-15 00:00+00'),
('e11f0000-0000-4000-8000-000000000003', 'tst11 other', 30, 'e11c0000-0000-4000-8000-000000000003', NULL, '2031-06-01 00:00+00', '2031-06-15 00:00+00'),
-- 50% off the socks for one day in August
('e11f0000-0000-4000-8000-000000000004', 'tst11 half', 50, NULL, 'e11a0000-0000-4000-8000-000000000004', '2031-08-01 00:00+00', '2031-08-02 00:00+00');
SELECT is(pg_temp.price(1, NULL, 1, '2031-06-01 00:00+00'), 810::bigint, 'a category markdown reaches a product in a subcategory, on top of the sale price (900 - 10%)');
SELECT is(pg_temp.price(1, 'tst11-wholesale', 1, '2031-06-01 00:00+00'), 720::bigint, 'and on top of the group price (800 - 10%)');
SELECT is(pg_temp.price(1, NULL, 1, '2031-05-31 23:59:59.999999+00'), 1000::bigint, 'one microsecond before the markdown starts: undiscounted base');
SELECT is(pg_temp.price(1, NULL, 1, '2031-06-14 23:59:59.999999+00'), 810::bigint, 'one microsecond before the markdown ends: discounted');
SELECT is(pg_temp.price(1, NULL, 1, '2031-06-15 00:00+00'), 1000::bigint, 'at the markdown''s ends_at: undiscounted (exclusive)');
SELECT is(pg_temp.price(2, NULL, 1, '2031-06-01 00:00+00'), 980::bigint, 'of a product and a category markdown the larger wins, no stacking (1400 - 30%)');
SELECT is(
    (SELECT r.markdown_id FROM shop.resolve_prices(ARRAY['e1100000-0000-4000-8000-000000000002'::uuid], NULL, 'EUR', NULL, '2031-06-01 00:00+00') AS r),
    'e11f0000-0000-4000-8000-000000000003'::uuid, 'resolve_prices names the markdown applied'
);
SELECT is(pg_temp.price(4, NULL, 1, '2031-06-01 00:00+00'), 300::bigint, 'rounding per unit: 333 - 10% = 299.7 -> 300');
SELECT is(
    (SELECT r.line_amount FROM shop.resolve_prices(ARRAY['e1100000-0000-4000-8000-000000000004'::uuid], ARRAY[3], 'EUR', NULL, '2031-06-01 00:00+00') AS r),
    899::bigint, 'rounding per line: 3 x 333 = 999 - 10% = 899.1 -> 899 (not 3 x 300)'
);
SELECT is(pg_temp.price(4, NULL, 1, '2031-08-01 00:00+00'), 167::bigint, 'halves round up: 333 - 50% = 166.5 -> 167 (half even would give 166)');
SELECT is(shop.apply_percent_off(1001, 50), 501::bigint, '1001 - 50% = 500.5 -> 501 (half even would give 500)');
SELECT is(shop.apply_percent_off(1999, 12.5), 1749::bigint, '1999 - 12.5% = 1749.125 -> 1749');
SELECT is(pg_temp.price(2, NULL, 1, '2031-08-01 00:00+00'), 2000::bigint, 'a product markdown leaves other products alone');
SELECT throws_ok(
    $$INSERT INTO shop.markdowns (name, percent_off, category_id, product_id, starts_at, ends_at)
      VALUES ('both', 5, 'e11c0000-0000-4000-8000-000000000001', 'e11a0000-0000-4000-8000-000000000001', now(), now() + interval '1 day')$$,
    '23514', NULL, 'a markdown has one scope: a category or a product'
);

-- == who may read and write ==========================================================================
CREATE ROLE tst11_catalog NOLOGIN IN ROLE postcart_staff, catalog_manager;
CREATE ROLE tst11_orders NOLOGIN IN ROLE postcart_staff, order_manager;

SET LOCAL ROLE postcart_anon;
SELECT set_config('request.claims', '{}', TRUE);
SELECT throws_ok('SELECT count(*) FROM shop.price_lists', '42501', NULL, 'anonymous callers cannot read price lists');
SELECT throws_ok('SELECT count(*) FROM shop.markdowns', '42501', NULL, 'anonymous callers cannot read markdowns');
SELECT throws_ok(
    $$SELECT shop.resolve_price('e1100000-0000-4000-8000-000000000001', 'EUR', 'e11b0000-0000-4000-8000-000000000002', 1, now())$$,
    '42501', NULL, 'anonymous callers cannot resolve prices for a group of their choosing'
);
SELECT is(
    (SELECT array_agg(r.amount ORDER BY r.variant_id) FROM shop.caller_prices(
        ARRAY['e1100000-0000-4000-8000-000000000001', 'e1100000-0000-4000-8000-000000000003']::uuid[], NULL, 'EUR') AS r),
    ARRAY[1000]::bigint[], 'anonymous: caller_prices gives the base price, and nothing for a draft'
);

RESET ROLE;
-- shop.caller_product_prices resolves the touched products one by one while they are at most a third of
-- the catalog (by the planner's row count, fresh from ANALYZE); the set-based pass is tested below.
ANALYZE shop.variant_prices;
SET LOCAL ROLE postcart_customer;
SELECT set_config('request.claims', '{"sub": "e11d0000-0000-4000-8000-000000000001", "kind": "customer"}', TRUE);
SELECT throws_ok('SELECT count(*) FROM shop.price_list_prices', '42501', NULL, 'customers cannot read price list prices');
SELECT throws_ok('SELECT count(*) FROM shop.customer_groups', '42501', NULL, 'customers cannot read customer groups');
SELECT throws_ok(
    $$UPDATE auth.accounts SET customer_group_id = 'e11b0000-0000-4000-8000-000000000002' WHERE id = 'e11d0000-0000-4000-8000-000000000001'$$,
    '42501', NULL, 'a customer cannot change its own customer group'
);
SELECT is(shop.current_customer_group(), 'e11b0000-0000-4000-8000-000000000001'::uuid, 'a customer learns its own group');
SELECT is(
    (SELECT r.amount FROM shop.caller_prices(ARRAY['e1100000-0000-4000-8000-000000000001'::uuid], NULL, 'EUR') AS r),
    800::bigint, 'a wholesale customer''s caller_prices use its group''s list (not the VIP one)'
);
SELECT is(
    (api.get_product('{"id_or_slug": "tst11-jacket"}') -> 'variants' -> 0 -> 'price'),
    '{"amount": 800, "currency": "EUR"}'::jsonb, 'get_product shows a wholesale customer its price'
);
SELECT is(
    (SELECT array_agg(i ->> 'slug' ORDER BY i ->> 'slug')
     FROM jsonb_array_elements(api.list_products('{"category": "tst11-kid", "min_price": "700", "max_price": "900"}') -> 'items') AS i),
    ARRAY['tst11-jacket'], 'list_products filters a wholesale customer by its resolved price'
);
SELECT is(
    (SELECT array_agg((i -> 'price' ->> 'amount')::bigint ORDER BY i ->> 'slug')
     FROM jsonb_array_elements(api.list_products('{"category": "tst11-kid", "sort": "price_desc"}') -> 'items') AS i),
    ARRAY[800, 333]::bigint[], 'list_products shows a wholesale customer resolved prices'
);
SELECT is(
    (SELECT array_agg(format('%s=%s', r.product_id, r.amount) ORDER BY r.product_id)
     FROM shop.caller_product_prices('EUR') AS r WHERE r.product_id::text LIKE 'e11a%'),
    (SELECT array_agg(format('%s=%s', r.product_id, r.amount) ORDER BY r.product_id)
     FROM (SELECT c.product_id, min(c.amount) AS amount FROM shop.caller_prices(NULL, NULL, 'EUR') AS c
           WHERE c.product_id::text LIKE 'e11a%' GROUP BY c.product_id) AS r),
    'the catalog''s per-product prices (shortcut for untouched products) equal the lowest resolved variant prices'
);
SELECT throws_ok($$SELECT api.create_price_list('{"name": "mine"}')$$, '42501', NULL, 'customers cannot create price lists');
RESET ROLE;
UPDATE pg_catalog.pg_class SET reltuples = 1 WHERE oid = 'shop.variant_prices'::regclass;  -- rolled back
SET LOCAL ROLE postcart_customer;
SELECT is(
    (SELECT array_agg(format('%s=%s', r.product_id, r.amount) ORDER BY r.product_id)
     FROM shop.caller_product_prices('EUR') AS r WHERE r.product_id::text LIKE 'e11a%'),
    ARRAY['e11a0000-0000-4000-8000-000000000001=800', 'e11a0000-0000-4000-8000-000000000002=2000',
          'e11a0000-0000-4000-8000-000000000004=333'],
    'the set-based pass over the whole catalog gives the same per-product prices'
);

RESET ROLE;
SET LOCAL ROLE postcart_customer;
SELECT set_config('request.claims', '{"sub": "e11d0000-0000-4000-8000-000000000002", "kind": "customer"}', TRUE);
SELECT is(
    (api.get_product('{"id_or_slug": "tst11-jacket"}') -> 'variants' -> 0 -> 'price' ->> 'amount')::bigint,
    1000::bigint, 'a customer in no group sees the base price'
);
SELECT is(
    jsonb_array_length(api.list_products('{"category": "tst11-kid", "min_price": "700", "max_price": "900"}') -> 'items'),
    0, 'and is not found by the wholesale price range'
);

RESET ROLE;
SET LOCAL ROLE tst11_orders;
SELECT throws_ok(
    $$INSERT INTO shop.price_lists (name) VALUES ('tst11 by orders')$$, '42501', NULL,
    'staff without catalog_manager cannot write price lists'
);
SELECT throws_ok(
    $$SELECT api.create_markdown('{}')$$, '42501', NULL, 'staff without catalog_manager cannot call the markdown API'
);
SELECT ok((SELECT count(*) >= 5 FROM shop.price_lists), 'any staff member reads price lists');

RESET ROLE;
SET LOCAL ROLE tst11_catalog;
SELECT lives_ok(
    $$SELECT api.create_price_list('{"name": "tst11 by catalog", "starts_at": "2031-01-01T00:00:00Z"}')$$,
    'a catalog manager creates price lists'
);
SELECT is(
    pg_temp.error_of($$SELECT api.replace_price_list_prices('{"id": "e11e0000-0000-4000-8000-000000000002", "prices": [
        {"sku": "TST11-1", "amount": 1, "currency": "EUR"},
        {"sku": "TST11-NOPE", "amount": 1, "currency": "EUR"},
        {"sku": "TST11-2", "amount": -1, "currency": "EUR"}]}')$$) -> 'detail',
    '{"fields": {"prices.2.amount": "must be a whole number of minor units, 0 or more (1999 = 19.99)"}}'::jsonb,
    'a bad amount is named by its row index'
);
SELECT is(
    (pg_temp.error_of($$SELECT api.replace_price_list_prices('{"id": "e11e0000-0000-4000-8000-000000000002", "prices": [
        {"sku": "TST11-1", "amount": 1, "currency": "EUR"},
        {"sku": "TST11-NOPE", "amount": 1, "currency": "EUR"},
        {"sku": "TST11-2", "amount": 5, "currency": "USD"},
        {"sku": "TST11-1", "amount": 2, "currency": "EUR", "starts_at": "2031-06-14T00:00:00Z"}]}')$$) -> 'detail' -> 'fields'),
    '{"prices.1.sku": "no variant has this SKU", "prices.2.currency": "the variant has no base price in this currency",
      "prices.3": "overlaps prices.0: same sku, currency and min_quantity at the same time"}'::jsonb,
    'unknown SKUs, currencies without a base price and overlapping rows are named by index'
);
SELECT is(pg_temp.price(1, 'tst11-vip', 1, '2031-05-01 00:00+00'), 100::bigint, 'staff may resolve prices for any group and instant');
SELECT is(
    (SELECT count(*) FROM shop.price_list_prices WHERE price_list_id = 'e11e0000-0000-4000-8000-000000000002'),
    2::bigint, 'a rejected replacement changes nothing (all or nothing)'
);

SELECT * FROM finish();
ROLLBACK;
