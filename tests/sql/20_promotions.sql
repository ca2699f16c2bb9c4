-- Promotions and coupons (migration 0025, sql/shop/promotions.sql, sql/api/promotions.sql): the table's
-- constraints, the exact largest-remainder split, windows at their exact instants, targets (a category
-- with its descendants, a collection, a product; none = every line), the minimum on the eligible lines,
-- currency, the stacking rule with its cap, redemption and release with both limits, and who may manage
-- promotions. Races are in tests/concurrency/test_coupon_races.py.
BEGIN;
SELECT plan(60);

-- == fixture: a category tree, a collection, three products in a guest cart =========================
DELETE FROM shop.promotions WHERE code IS NULL;
INSERT INTO shop.categories (id, slug, name, parent_id) VALUES
('c2000000-0000-4000-8000-00000000000a', 'tst20-top', 'Top', NULL),
('c2000000-0000-4000-8000-00000000000b', 'tst20-mid', 'Mid', 'c2000000-0000-4000-8000-00000000000a'),
('c2000000-0000-4000-8000-00000000000c', 'tst20-leaf', 'Leaf', 'c2000000-0000-4000-8000-00000000000b');
INSERT INTO shop.collections (id, slug, name) VALUES ('c2000000-0000-4000-8000-0000000000c1', 'tst20-col', 'Col');
INSERT INTO shop.products (id, slug, name, status, category_id) VALUES
('a2000000-0000-4000-8000-000000000001', 'tst20-a', 'Tst20 A', 'published', 'c2000000-0000-4000-8000-00000000000c'),
('a2000000-0000-4000-8000-000000000002', 'tst20-b', 'Tst20 B', 'published', NULL),
('a2000000-0000-4000-8000-000000000003', 'tst20-c', 'Tst20 C', 'published', NULL),
('a2000000-0000-4000-8000-000000000004', 'tst20-d', 'Tst20 D (not in the cart)', 'published', NULL);
INSERT INTO shop.collection_products (collection_id, product_id, position) VALUES
('c2000000-0000-4000-8000-0000000000c1', 'a2000000-0000-4000-8000-000000000002', 0);
INSERT INTO shop.product_variants (id, product_id, sku, name) VALUES
('b2000000-0000-4000-8000-000000000001', 'a2000000-0000-4000-8000-000000000001', 'TST20-A', 'A'),
('b2000000-0000-4000-8000-000000000002', 'a2000000-0000-4000-8000-000000000002', 'TST20-B', 'B'),
('b2000000-0000-4000-8000-000000000003', 'a2000000-0000-4000-8000-000000000003', 'TST20-C', 'C');
INSERT INTO shop.variant_prices (variant_id, currency, amount) VALUES
('b2000000-0000-4000-8000-000000000001', 'EUR', 1000),
('b2000000-0000-4000-8000-000000000002', 'EUR', 500),
('b2000000-0000-4000-8000-000000000003', 'EUR', 333);
INSERT INTO shop.carts (id, token_hash, currency, email) VALUES
('c2000000-0000-4000-8000-000000000001', sha256('tok-20'), 'EUR', 'tst20@example.com');
-- Subtotal 2000 + 1000 + 999 = 3999. One transaction: the ids order the lines.
INSERT INTO shop.cart_items (id, cart_id, variant_id, quantity, quoted_unit_price) VALUES
('12000000-0000-4000-8000-000000000001', 'c2000000-0000-4000-8000-000000000001', 'b2000000-0000-4000-8000-000000000001',
 2, 1000),
('12000000-0000-4000-8000-000000000002', 'c2000000-0000-4000-8000-000000000001', 'b2000000-0000-4000-8000-000000000002',
 2, 500),
('12000000-0000-4000-8000-000000000003', 'c2000000-0000-4000-8000-000000000001', 'b2000000-0000-4000-8000-000000000003',
 3, 333);

-- The reason a promotion does not apply to the cart (NULL: it applies) and its amount.
CREATE FUNCTION pg_temp.verdict(promotion_code text) RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(e ->> 'reason', 'applies ' || (e ->> 'amount'))
    FROM shop.promotions AS p,
        LATERAL shop.evaluate_promotion(
            p, 'EUR',
            (SELECT jsonb_agg(jsonb_build_object('product_id', l -> 'product_id',
                'amount', (l ->> 'unit_price')::bigint * (l ->> 'quantity')::bigint) ORDER BY n)
             FROM jsonb_array_elements(shop.price_cart('c2000000-0000-4000-8000-000000000001') -> 'lines')
                 WITH ORDINALITY AS x (l, n)),
            NULL, NULL, 'tst20@example.com'
        ) AS e
    WHERE p.code = promotion_code
$$;
CREATE FUNCTION pg_temp.discounts() RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(l ->> 'discount', ' ' ORDER BY n)
    FROM jsonb_array_elements(shop.price_cart('c2000000-0000-4000-8000-000000000001') -> 'lines')
        WITH ORDINALITY AS x (l, n)
$$;

-- == constraints ====================================================================================
SELECT throws_ok($$INSERT INTO shop.promotions (name, kind, value) VALUES ('x', 'percent', 0)$$, '23514', NULL,
                 'a percentage is above 0');
SELECT throws_ok($$INSERT INTO shop.promotions (name, kind, value) VALUES ('x', 'percent', 100.5)$$, '23514', NULL,
                 'and at most 100');
SELECT throws_ok($$INSERT INTO shop.promotions (name, kind, value) VALUES ('x', 'fixed', 500)$$, '23514', NULL,
                 'a fixed amount needs its currency');
SELECT throws_ok($$INSERT INTO shop.promotions (name, kind, value, currency) VALUES ('x', 'fixed', 1.5, 'EUR')$$,
                 '23514', NULL, 'a fixed amount is whole minor units');
SELECT throws_ok($$INSERT INTO shop.promotions (name, kind, value) VALUES ('x', 'free_shipping', 1)$$, '23514', NULL,
                 'free shipping has no value');
SELECT throws_ok($$INSERT INTO shop.promotions (name, kind, value, min_subtotal) VALUES ('x', 'percent', 5, 100)$$,
                 '23514', NULL, 'a minimum subtotal needs its currency');
SELECT throws_ok(
    $$INSERT INTO shop.promotions (name, kind, value, starts_at, ends_at) VALUES ('x', 'percent', 5, now(), now())$$,
    '23514', NULL, 'a window ends after it starts'
);
SELECT throws_ok(
    $$INSERT INTO shop.promotions (name, kind, value, usage_limit, times_used) VALUES ('x', 'percent', 5, 2, 3)$$,
    '23514', NULL, 'times_used never passes usage_limit'
);
SELECT throws_ok($$INSERT INTO shop.promotions (code, name, kind, value) VALUES ('a b', 'x', 'percent', 5)$$,
                 '23514', NULL, 'a code is letters, digits, _ and -');
INSERT INTO shop.promotions (code, name, kind, value) VALUES ('TST20-Ten', 'Ten', 'percent', 10);
SELECT throws_ok($$INSERT INTO shop.promotions (code, name, kind, value) VALUES ('tst20-ten', 'x', 'percent', 5)$$,
                 '23505', NULL, 'codes are unique, case-insensitively');

-- == the largest-remainder split ====================================================================
SELECT is(shop.split_amount(10, '{1,1,1}'), '{4,3,3}'::bigint[], '10 over three equal lines: the first takes the tie');
SELECT is(shop.split_amount(300, '{2000,999}'), '{200,100}'::bigint[], '200.07 and 99.93: the larger remainder rounds up');
SELECT is(shop.split_amount(7, '{0,5,0}'), '{0,7,0}'::bigint[], 'lines of weight 0 get nothing');
SELECT is(shop.split_amount(5, '{5,0}'), '{5,0}'::bigint[], 'the whole of a line at most');
SELECT is(shop.split_amount(3, '{0,0}'), '{0,0}'::bigint[], 'nothing to split over gives nothing');
SELECT is(
    (SELECT bool_and((SELECT sum(x) FROM unnest(shop.split_amount(t, w)) AS x) = t)
     FROM (SELECT (random() * 1000)::bigint AS t, ARRAY[1000::bigint, 1 + (random() * 3000)::bigint, 333, 7] AS w
           FROM generate_series(1, 200)) AS cases),
    TRUE, 'the shares always sum to the total (200 random cases)'
);

-- == windows at their exact instants ================================================================
INSERT INTO shop.promotions (code, name, kind, value, starts_at, ends_at) VALUES
('TST20-STARTS-NOW', 'x', 'percent', 5, now(), NULL),
('TST20-STARTS-NEXT', 'x', 'percent', 5, now() + interval '1 microsecond', NULL),
('TST20-ENDS-NOW', 'x', 'percent', 5, NULL, now()),
('TST20-ENDS-NEXT', 'x', 'percent', 5, NULL, now() + interval '1 microsecond');
SELECT is(pg_temp.verdict('TST20-STARTS-NOW'), 'applies 200', 'a promotion starting at this instant applies (inclusive)');
SELECT is(pg_temp.verdict('TST20-STARTS-NEXT'), 'not_started', 'one starting a microsecond later does not yet');
SELECT is(pg_temp.verdict('TST20-ENDS-NOW'), 'ended', 'one ending at this instant no longer applies (exclusive)');
SELECT is(pg_temp.verdict('TST20-ENDS-NEXT'), 'applies 200', 'one ending a microsecond later still applies');

-- == targets, minimum, currency ====================================================================
INSERT INTO shop.promotions (id, code, name, kind, value, currency, min_subtotal) VALUES
('a20f0000-0000-4000-8000-000000000001', 'TST20-CAT', 'x', 'percent', 50, NULL, NULL),
('a20f0000-0000-4000-8000-000000000002', 'TST20-COL', 'x', 'percent', 50, NULL, NULL),
('a20f0000-0000-4000-8000-000000000003', 'TST20-PROD', 'x', 'fixed', 5000, 'EUR', NULL),
('a20f0000-0000-4000-8000-000000000004', 'TST20-MIN', 'x', 'fixed', 100, 'EUR', 3000),
('a20f0000-0000-4000-8000-000000000005', 'TST20-USD', 'x', 'fixed', 100, 'USD', NULL),
('a20f0000-0000-4000-8000-000000000006', 'TST20-NONE', 'x', 'percent', 10, NULL, NULL);
INSERT INTO shop.promotion_targets (promotion_id, category_id, collection_id, product_id) VALUES
('a20f0000-0000-4000-8000-000000000001', 'c2000000-0000-4000-8000-00000000000a', NULL, NULL),
('a20f0000-0000-4000-8000-000000000002', NULL, 'c2000000-0000-4000-8000-0000000000c1', NULL),
('a20f0000-0000-4000-8000-000000000003', NULL, NULL, 'a2000000-0000-4000-8000-000000000003'),
('a20f0000-0000-4000-8000-000000000004', 'c2000000-0000-4000-8000-00000000000b', NULL, NULL),
('a20f0000-0000-4000-8000-000000000006', NULL, NULL, 'a2000000-0000-4000-8000-000000000004');
SELECT throws_ok(
    $$INSERT INTO shop.promotion_targets (promotion_id, category_id, product_id) VALUES
      ('a20f0000-0000-4000-8000-000000000001', 'c2000000-0000-4000-8000-00000000000b',
       'a2000000-0000-4000-8000-000000000001')$$,
    '23514', NULL, 'a target is one category, collection or product'
);
SELECT is(pg_temp.verdict('TST20-CAT'), 'applies 1000', 'a category reaches its grandchildren: 50 % of A''s 2000');
SELECT is(pg_temp.verdict('TST20-COL'), 'applies 500', 'a collection reaches its products: 50 % of B''s 1000');
SELECT is(pg_temp.verdict('TST20-PROD'), 'applies 999', 'a fixed amount is capped at its eligible lines (C: 999)');
SELECT is(pg_temp.verdict('TST20-Ten'), 'applies 400', 'no targets: every line, 10 % of 3999 = 399.9 -> 400');
SELECT is(pg_temp.verdict('TST20-MIN'), 'min_subtotal', 'the minimum counts the eligible lines only (2000 < 3000)');
UPDATE shop.promotions SET min_subtotal = 2000 WHERE code = 'TST20-MIN';
SELECT is(pg_temp.verdict('TST20-MIN'), 'applies 100', 'an eligible subtotal equal to the minimum reaches it');
SELECT is(pg_temp.verdict('TST20-USD'), 'currency', 'a fixed amount in another currency does not apply');
SELECT is(pg_temp.verdict('TST20-NONE'), 'no_eligible_items', 'a promotion reaching no line does not apply');

-- == stacking: one coupon plus the best automatic promotion, capped ================================
UPDATE shop.carts SET coupon_id = (SELECT id FROM shop.promotions WHERE code = 'TST20-Ten')
WHERE id = 'c2000000-0000-4000-8000-000000000001';
INSERT INTO shop.promotions (id, name, kind, value, currency, created_at) VALUES
('a20f0000-0000-4000-8000-0000000000a1', 'Auto 3 %', 'percent', 3, NULL, now() - interval '2 days'),
('a20f0000-0000-4000-8000-0000000000a2', 'Auto 1.50', 'fixed', 150, 'EUR', now() - interval '1 day'),
('a20f0000-0000-4000-8000-0000000000a3', 'Auto 1.20 earlier', 'fixed', 120, 'EUR', now() - interval '3 days'),
('a20f0000-0000-4000-8000-0000000000a4', 'Auto 1.20 later', 'fixed', 120, 'EUR', now() - interval '1 hour');
SELECT is(
    (SELECT jsonb_agg(p -> 'amount' ORDER BY n)
     FROM jsonb_array_elements(shop.price_cart('c2000000-0000-4000-8000-000000000001') -> 'promotions')
         WITH ORDINALITY AS x (p, n)),
    '[400, 150]'::jsonb,
    'the coupon (400) plus the single best automatic one (150 beats 3 % = 120)'
);
SELECT is(
    pg_temp.discounts(), '275 138 137',
    'the coupon''s 400 splits 200/100/100 (99.925 rounds up), then 150 over what is left (1800/900/899): 75/38/37'
);
SELECT is(
    (shop.price_cart('c2000000-0000-4000-8000-000000000001') ->> 'discount_total')::bigint, 550::bigint,
    'the line discounts sum exactly to the total'
);
DELETE FROM shop.promotions WHERE id = 'a20f0000-0000-4000-8000-0000000000a2';
SELECT is(
    (shop.price_cart('c2000000-0000-4000-8000-000000000001') #>> '{promotions,1,promotion_id}'),
    'a20f0000-0000-4000-8000-0000000000a3',
    'equal automatic amounts (3 % of 3999 = 120, and two of 120): the earliest created wins'
);
UPDATE shop.promotions SET value = 100 WHERE code = 'TST20-Ten';
SELECT is(
    (shop.price_cart('c2000000-0000-4000-8000-000000000001') ->> 'discount_total')::bigint, 3999::bigint,
    'a 100 % coupon plus an automatic promotion: the sum is capped at the subtotal'
);
SELECT is(
    (shop.price_cart('c2000000-0000-4000-8000-000000000001') #>> '{promotions,1,amount}'), '0',
    'the automatic one gives what is left: nothing'
);
SELECT is(pg_temp.discounts(), '2000 1000 999', 'no line goes below 0');
UPDATE shop.promotions SET value = 10 WHERE code = 'TST20-Ten';
DELETE FROM shop.promotions WHERE code IS NULL;

-- == a coupon that no longer applies blocks checkout ===============================================
UPDATE shop.promotions SET usage_limit = 1, times_used = 1 WHERE code = 'TST20-Ten';
SELECT is(
    shop.price_cart('c2000000-0000-4000-8000-000000000001') -> 'problems' -> 1,
    '{"code": "coupon_exhausted", "coupon_code": "TST20-Ten", "reason": "usage_limit"}'::jsonb,
    'an exhausted coupon is a problem (and gives nothing)'
);
SELECT is(
    (shop.price_cart('c2000000-0000-4000-8000-000000000001') ->> 'discount_total'), '0', 'no discount'
);
UPDATE shop.promotions SET usage_limit = NULL, times_used = 0, ends_at = now() WHERE code = 'TST20-Ten';
SELECT is(
    shop.price_cart('c2000000-0000-4000-8000-000000000001') -> 'problems' -> 1 ->> 'reason', 'ended',
    'so is one that ended'
);
SELECT throws_ok(
    $$SELECT api.set_cart_coupon('{"id": "c2000000-0000-4000-8000-000000000001", "code": "tst20-ten"}',
                                 jsonb_build_object('cart_token_sha256', encode(sha256('tok-20'), 'hex')))$$,
    'PT409', 'coupon_not_applicable', 'applying it is refused with its reason'
);
SELECT throws_ok(
    $$SELECT api.set_cart_coupon('{"id": "c2000000-0000-4000-8000-000000000001", "code": "tst20-nope"}',
                                 jsonb_build_object('cart_token_sha256', encode(sha256('tok-20'), 'hex')))$$,
    'PT404', 'coupon_not_found', 'an unknown code is not found'
);
SELECT lives_ok(
    $$SELECT api.set_cart_coupon('{"id": "c2000000-0000-4000-8000-000000000001", "code": "tst20-cat"}',
                                 jsonb_build_object('cart_token_sha256', encode(sha256('tok-20'), 'hex')))$$,
    'a code applies case-insensitively'
);

-- == redemption and release =========================================================================
INSERT INTO auth.accounts (id, email, full_name) VALUES ('f2000000-0000-4000-8000-000000000001', 'tst20-c@example.com', 'C');
INSERT INTO shop.carts (id, token_hash, currency)
SELECT ('c2000000-0000-4000-8000-00000000010' || n)::uuid, sha256(convert_to('tok-20-' || n, 'UTF8')), 'EUR' FROM generate_series(1, 5) AS n;
INSERT INTO shop.orders (id, number, cart_id, email, currency, payment_method, prices_include_tax, subtotal,
    discount_total, shipping_total, tax_total, total, shipping_address, shipping_method_code, shipping_method_name)
SELECT ('d2000000-0000-4000-8000-00000000000' || n)::uuid, 2000000 + n, ('c2000000-0000-4000-8000-00000000010' || n)::uuid,
    'tst20@example.com', 'EUR', 'manual', TRUE, 0, 0, 0, 0, 0, '{}', 'x', 'x'
FROM generate_series(1, 5) AS n;
INSERT INTO shop.promotions (id, code, name, kind, value, usage_limit, per_customer_limit) VALUES
('a20f0000-0000-4000-8000-0000000000b1', 'TST20-LIM', 'Limited', 'percent', 5, 2, NULL),
('a20f0000-0000-4000-8000-0000000000b2', 'TST20-PER', 'Once each', 'percent', 5, NULL, 1);

CREATE FUNCTION pg_temp.redeem(order_n integer, promotion_code text, customer uuid, email text) RETURNS integer
LANGUAGE sql AS $$
    SELECT shop.redeem_promotions(
        ('d2000000-0000-4000-8000-00000000000' || order_n)::uuid, customer, email::citext,
        (SELECT jsonb_build_array(jsonb_build_object('promotion_id', p.id, 'code', p.code, 'kind', p.kind, 'amount', 25))
         FROM shop.promotions AS p WHERE p.code = promotion_code)
    )
$$;
CREATE FUNCTION pg_temp.times_used(promotion_code text) RETURNS integer LANGUAGE sql AS $$
    SELECT times_used FROM shop.promotions WHERE code = promotion_code
$$;

SELECT is(pg_temp.redeem(1, 'TST20-LIM', NULL, 'a@example.com'), 1, 'a use of a limited coupon is taken');
SELECT is(pg_temp.redeem(2, 'TST20-LIM', NULL, 'b@example.com'), 1, 'and a second, the last');
SELECT throws_ok($$SELECT pg_temp.redeem(3, 'TST20-LIM', NULL, 'c@example.com')$$, 'PT409', 'coupon_exhausted',
                 'a third is refused: the usage limit is reached');
SELECT is(pg_temp.times_used('TST20-LIM'), 2, 'times_used counts the two live uses');
SELECT is(shop.release_promotions('d2000000-0000-4000-8000-000000000001'), 1, 'cancelling order 1 releases its use');
SELECT is(
    ARRAY[pg_temp.times_used('TST20-LIM')::text,
          (SELECT (released_at IS NOT NULL)::text FROM shop.promotion_redemptions
           WHERE order_id = 'd2000000-0000-4000-8000-000000000001')],
    ARRAY['1', 'true'], 'the use is given back and the redemption marked released'
);
SELECT is(shop.release_promotions('d2000000-0000-4000-8000-000000000001'), 0, 'releasing twice gives back nothing more');
SELECT is(pg_temp.redeem(3, 'TST20-LIM', NULL, 'c@example.com'), 1, 'the use given back can be taken again');

SELECT is(pg_temp.redeem(1, 'TST20-PER', NULL, 'guest@example.com'), 1, 'a once-per-customer coupon, by a guest');
SELECT is(pg_temp.times_used('TST20-PER'), 0, 'without a usage limit times_used is not kept (no row lock taken)');
SELECT throws_ok($$SELECT pg_temp.redeem(2, 'TST20-PER', NULL, 'GUEST@example.com')$$, 'PT409', 'coupon_exhausted',
                 'the same e-mail again (any case) is refused');
SELECT is(pg_temp.redeem(2, 'TST20-PER', 'f2000000-0000-4000-8000-000000000001', 'c1@example.com'), 1,
          'a signed-in customer once');
SELECT throws_ok(
    $$SELECT pg_temp.redeem(4, 'TST20-PER', 'f2000000-0000-4000-8000-000000000001', 'c2@example.com')$$,
    'PT409', 'coupon_exhausted', 'the same account again, with another e-mail, is refused'
);
SELECT is(
    shop.release_promotions('d2000000-0000-4000-8000-000000000002'), 2,
    'cancelling order 2 gives back both its uses (the limited coupon''s and this one)'
);
SELECT is(pg_temp.redeem(4, 'TST20-PER', 'f2000000-0000-4000-8000-000000000001', 'c2@example.com'), 1,
          'so the customer may use it again');
SELECT is(
    (SELECT count(*)::integer FROM shop.promotion_redemptions WHERE amount = 25 AND email = 'c2@example.com'), 1,
    'each redemption records the order''s e-mail and the discount it gave'
);
SELECT is(
    shop.price_cart('c2000000-0000-4000-8000-000000000105') IS NOT NULL
    AND NOT has_function_privilege('postcart_customer', 'shop.redeem_promotions(uuid, uuid, citext, jsonb)', 'EXECUTE')
    AND NOT has_function_privilege('postcart_anon', 'shop.release_promotions(uuid)', 'EXECUTE'),
    TRUE, 'redemption and release are for the checkout and order functions only'
);

-- == who manages promotions =========================================================================
SELECT is(
    ARRAY(SELECT r FROM unnest(ARRAY['catalog_manager', 'order_manager', 'support_agent', 'store_admin',
                                      'postcart_customer', 'postcart_anon']) AS r
          WHERE has_function_privilege(r, 'api.admin_create_coupon(jsonb)', 'EXECUTE')),
    ARRAY['catalog_manager'], 'only catalog managers may create coupons'
);

SELECT * FROM finish();
ROLLBACK;
