-- Carts (migration 0025, sql/shop/carts.sql, sql/api/carts.sql): the constraints the cart rules rely on,
-- shop.price_cart's arithmetic with prices including and excluding tax (rounding per line, discounts split
-- exactly, shipping taxed as its class, free shipping), what blocks checkout, access (another customer's
-- cart or a wrong token is 404, a closed cart 409), the API's refusals, the merge at login and the sweep
-- of abandoned carts. The fixture replaces rates, zones and methods inside this transaction.
BEGIN;
SELECT plan(69);

-- == fixture ========================================================================================
DELETE FROM shop.shipping_method_tiers;
DELETE FROM shop.shipping_methods;
DELETE FROM shop.shipping_zones;
DELETE FROM shop.tax_rates;
DELETE FROM shop.promotions WHERE code IS NULL;  -- no automatic promotion in the way
INSERT INTO shop.tax_rates (country, region, tax_class, rate_percent, name) VALUES
('DE', NULL, 'standard', 19, 'MwSt 19'),
('DE', NULL, 'reduced', 7, 'MwSt 7'),
('US', 'CA', 'standard', 7.25, 'CA sales tax');
INSERT INTO shop.shipping_zones (id, code, name) VALUES
('e1900000-0000-4000-8000-000000000001', 'tst19-de', 'Tst19 DE'),
('e1900000-0000-4000-8000-000000000002', 'tst19-us', 'Tst19 US');
INSERT INTO shop.shipping_zone_countries (zone_id, country) VALUES
('e1900000-0000-4000-8000-000000000001', 'DE'), ('e1900000-0000-4000-8000-000000000002', 'US');
INSERT INTO shop.shipping_methods (id, zone_id, code, name, currency, rate_kind, flat_amount, free_from_subtotal) VALUES
('e19a0000-0000-4000-8000-000000000001', 'e1900000-0000-4000-8000-000000000001', 'tst19-std', 'Standard', 'EUR',
 'flat', 490, NULL),
('e19a0000-0000-4000-8000-000000000002', 'e1900000-0000-4000-8000-000000000001', 'tst19-free', 'Free over 50', 'EUR',
 'flat', 690, 5000),
('e19a0000-0000-4000-8000-000000000003', 'e1900000-0000-4000-8000-000000000002', 'tst19-us', 'US ground', 'USD',
 'flat', 800, NULL);

INSERT INTO shop.products (id, slug, name, status, tax_class) VALUES
('a1900000-0000-4000-8000-000000000001', 'tst19-a', 'Tst19 A', 'published', 'standard'),
('a1900000-0000-4000-8000-000000000002', 'tst19-b', 'Tst19 B', 'published', 'reduced'),
('a1900000-0000-4000-8000-000000000003', 'tst19-c', 'Tst19 C', 'draft', 'standard');
INSERT INTO shop.product_variants (id, product_id, sku, name, weight_grams) VALUES
('b1900000-0000-4000-8000-000000000001', 'a1900000-0000-4000-8000-000000000001', 'TST19-A', 'A', 100),
('b1900000-0000-4000-8000-000000000002', 'a1900000-0000-4000-8000-000000000002', 'TST19-B', 'B', 250),
('b1900000-0000-4000-8000-000000000003', 'a1900000-0000-4000-8000-000000000003', 'TST19-C', 'C', 10);
INSERT INTO shop.variant_prices (variant_id, currency, amount) VALUES
('b1900000-0000-4000-8000-000000000001', 'EUR', 1000),
('b1900000-0000-4000-8000-000000000002', 'EUR', 333),
('b1900000-0000-4000-8000-000000000003', 'EUR', 500),
('b1900000-0000-4000-8000-000000000001', 'USD', 1999);
INSERT INTO shop.warehouses (id, code, name) VALUES ('d1900000-0000-4000-8000-000000000001', 'tst19', 'Tst19');
INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity) VALUES
('b1900000-0000-4000-8000-000000000001', 'd1900000-0000-4000-8000-000000000001', 'receipt', 20),
('b1900000-0000-4000-8000-000000000002', 'd1900000-0000-4000-8000-000000000001', 'receipt', 5);
UPDATE shop.product_variants SET backorder_limit = 3 WHERE id = 'b1900000-0000-4000-8000-000000000002';

INSERT INTO auth.accounts (id, email, full_name) VALUES
('f1900000-0000-4000-8000-000000000001', 'tst19-ada@example.com', 'Ada'),
('f1900000-0000-4000-8000-000000000002', 'tst19-bob@example.com', 'Bob');

-- A guest cart (token 'tok-1') with two lines, shipped to Germany.
INSERT INTO shop.carts (id, token_hash, currency, shipping_address, shipping_method_id) VALUES
('c1900000-0000-4000-8000-000000000001', sha256('tok-1'), 'EUR', '{"country": "DE", "full_name": "X"}',
 'e19a0000-0000-4000-8000-000000000001');
-- Lines added in one transaction share created_at; their ids then order them.
INSERT INTO shop.cart_items (id, cart_id, variant_id, quantity, quoted_unit_price) VALUES
('11900000-0000-4000-8000-000000000001', 'c1900000-0000-4000-8000-000000000001', 'b1900000-0000-4000-8000-000000000001',
 2, 1000),
('11900000-0000-4000-8000-000000000002', 'c1900000-0000-4000-8000-000000000001', 'b1900000-0000-4000-8000-000000000002',
 3, 333);

CREATE FUNCTION pg_temp.priced(cart uuid, path text[]) RETURNS text LANGUAGE sql AS $$
    SELECT shop.price_cart(cart) #>> path
$$;

-- == constraints ====================================================================================
SELECT throws_ok(
    $$INSERT INTO shop.carts (currency) VALUES ('EUR')$$, '23514', NULL, 'a cart belongs to a customer or a token'
);
SELECT throws_ok(
    $$INSERT INTO shop.carts (token_hash, currency) VALUES ('\x0102', 'EUR')$$, '23514', NULL,
    'a token hash is a sha256 (32 bytes)'
);
SELECT throws_ok(
    $$INSERT INTO shop.carts (token_hash, currency) VALUES (sha256('tok-1'), 'EUR')$$, '23505', NULL,
    'two carts never share a token'
);
SELECT throws_ok(
    $$INSERT INTO shop.carts (token_hash, currency, status) VALUES (sha256('x1'), 'EUR', 'merged')$$, '23514', NULL,
    'a merged cart names the cart it went into'
);
SELECT throws_ok(
    $$INSERT INTO shop.carts (token_hash, currency, status) VALUES (sha256('x2'), 'EUR', 'abandoned')$$, '23514',
    NULL, 'an abandoned cart has abandoned_at'
);
SELECT throws_ok(
    $$INSERT INTO shop.carts (token_hash, currency, email) VALUES (sha256('x3'), 'EUR', 'not an email')$$, '23514',
    NULL, 'a cart''s e-mail is an address'
);
SELECT lives_ok(
    $$INSERT INTO shop.carts (customer_id, currency) VALUES ('f1900000-0000-4000-8000-000000000001', 'EUR')$$,
    'a customer''s open cart'
);
SELECT throws_ok(
    $$INSERT INTO shop.carts (customer_id, currency) VALUES ('f1900000-0000-4000-8000-000000000001', 'EUR')$$,
    '23505', NULL, 'a customer has at most one open cart'
);
SELECT throws_ok(
    $$INSERT INTO shop.cart_items (cart_id, variant_id, quantity, quoted_unit_price)
      VALUES ('c1900000-0000-4000-8000-000000000001', 'b1900000-0000-4000-8000-000000000003', 1000, 1)$$,
    '23514', NULL, 'a line holds at most 999 units'
);
SELECT throws_ok(
    $$INSERT INTO shop.cart_items (cart_id, variant_id, quantity, quoted_unit_price)
      VALUES ('c1900000-0000-4000-8000-000000000001', 'b1900000-0000-4000-8000-000000000003', 0, 1)$$,
    '23514', NULL, 'a line holds at least 1 unit'
);
SELECT throws_ok(
    $$INSERT INTO shop.cart_items (cart_id, variant_id, quantity, quoted_unit_price)
      VALUES ('c1900000-0000-4000-8000-000000000001', 'b1900000-0000-4000-8000-000000000001', 1, 1)$$,
    '23505', NULL, 'one line per variant'
);

-- == price_cart: prices include tax (the store default) ============================================
-- Lines: 2 x 10.00 (19 %) = 20.00 and 3 x 3.33 (7 %) = 9.99; shipping 4.90 (standard class, 19 %).
SELECT is(pg_temp.priced('c1900000-0000-4000-8000-000000000001', '{subtotal}'), '2999', 'subtotal: 2000 + 999');
SELECT is(
    pg_temp.priced('c1900000-0000-4000-8000-000000000001', '{lines,0,tax}'), '319',
    'tax taken out of 2000 at 19 %: 2000 x 19 / 119 = 319.33 -> 319'
);
SELECT is(
    pg_temp.priced('c1900000-0000-4000-8000-000000000001', '{lines,1,tax}'), '65',
    'tax taken out of 999 at 7 %: 999 x 7 / 107 = 65.35 -> 65'
);
SELECT is(
    pg_temp.priced('c1900000-0000-4000-8000-000000000001', '{shipping,tax}'), '78',
    'shipping taxed as its class: 490 x 19 / 119 = 78.2 -> 78'
);
SELECT is(pg_temp.priced('c1900000-0000-4000-8000-000000000001', '{tax_total}'), '462', 'tax total 319 + 65 + 78');
SELECT is(
    pg_temp.priced('c1900000-0000-4000-8000-000000000001', '{total}'), '3489',
    'total with tax included: 2999 + 490, tax not added'
);
SELECT is(pg_temp.priced('c1900000-0000-4000-8000-000000000001', '{weight_grams}'), '950', 'weight 2 x 100 + 3 x 250');
SELECT is(
    pg_temp.priced('c1900000-0000-4000-8000-000000000001', '{problems}'), '[]', 'nothing blocks this cart''s checkout'
);

-- == price_cart: prices exclude tax =================================================================
UPDATE shop.store_settings SET prices_include_tax = FALSE;
SELECT is(
    pg_temp.priced('c1900000-0000-4000-8000-000000000001', '{lines,1,tax}'), '70',
    'tax added to 999 at 7 %: 69.93 -> 70'
);
SELECT is(
    pg_temp.priced('c1900000-0000-4000-8000-000000000001', '{tax_total}'), '543', 'tax total 380 + 70 + 93'
);
SELECT is(
    pg_temp.priced('c1900000-0000-4000-8000-000000000001', '{total}'), '4032', 'total with tax added: 2999 + 490 + 543'
);
UPDATE shop.store_settings SET prices_include_tax = TRUE;

-- == discounts split over the lines =================================================================
INSERT INTO shop.promotions (id, code, name, kind, value) VALUES
('a19f0000-0000-4000-8000-000000000001', 'TST19-TEN', 'Ten percent', 'percent', 10);
UPDATE shop.carts SET coupon_id = 'a19f0000-0000-4000-8000-000000000001'
WHERE id = 'c1900000-0000-4000-8000-000000000001';
SELECT is(
    pg_temp.priced('c1900000-0000-4000-8000-000000000001', '{discount_total}'), '300', '10 % of 2999 = 299.9 -> 300'
);
SELECT is(
    ARRAY[pg_temp.priced('c1900000-0000-4000-8000-000000000001', '{lines,0,discount}'),
          pg_temp.priced('c1900000-0000-4000-8000-000000000001', '{lines,1,discount}')],
    ARRAY['200', '100'],
    'split 2000 : 999 by largest remainder: 200.07 -> 200, 99.93 -> 100 (sums to 300 exactly)'
);
SELECT is(
    pg_temp.priced('c1900000-0000-4000-8000-000000000001', '{lines,0,line_total}'), '1800',
    'line_total = quantity x unit_price - discount'
);
SELECT is(
    pg_temp.priced('c1900000-0000-4000-8000-000000000001', '{lines,0,tax}'), '287',
    'tax on the line after its discount: 1800 x 19 / 119 = 287.39 -> 287'
);
SELECT is(
    pg_temp.priced('c1900000-0000-4000-8000-000000000001', '{total}'), '3189', 'total 2999 - 300 + 490'
);
SELECT is(
    (shop.price_cart('c1900000-0000-4000-8000-000000000001') -> 'promotions' -> 0) - 'promotion_id',
    '{"code": "TST19-TEN", "kind": "percent", "amount": 300}'::jsonb,
    'the coupon is listed with what it gave'
);

-- == free shipping and the free-over threshold =====================================================
UPDATE shop.carts SET shipping_method_id = 'e19a0000-0000-4000-8000-000000000002'
WHERE id = 'c1900000-0000-4000-8000-000000000001';
SELECT is(
    pg_temp.priced('c1900000-0000-4000-8000-000000000001', '{shipping_total}'), '690',
    'under the threshold (5000, before discounts) the method costs 690'
);
UPDATE shop.cart_items SET quantity = 3
WHERE cart_id = 'c1900000-0000-4000-8000-000000000001' AND variant_id = 'b1900000-0000-4000-8000-000000000001';
SELECT is(
    pg_temp.priced('c1900000-0000-4000-8000-000000000001', '{shipping_total}'), '690', '3999: still under'
);
UPDATE shop.cart_items SET quantity = 5
WHERE cart_id = 'c1900000-0000-4000-8000-000000000001' AND variant_id = 'b1900000-0000-4000-8000-000000000001';
SELECT is(
    pg_temp.priced('c1900000-0000-4000-8000-000000000001', '{shipping_total}'), '0',
    '5999 reaches the threshold: free (although 5999 - 600 discount is below it)'
);
INSERT INTO shop.promotions (id, code, name, kind) VALUES
('a19f0000-0000-4000-8000-000000000002', 'TST19-SHIP', 'Free shipping', 'free_shipping');
UPDATE shop.carts SET coupon_id = 'a19f0000-0000-4000-8000-000000000002',
    shipping_method_id = 'e19a0000-0000-4000-8000-000000000001'
WHERE id = 'c1900000-0000-4000-8000-000000000001';
SELECT is(
    ARRAY[pg_temp.priced('c1900000-0000-4000-8000-000000000001', '{shipping_total}'),
          pg_temp.priced('c1900000-0000-4000-8000-000000000001', '{shipping,tax}'),
          pg_temp.priced('c1900000-0000-4000-8000-000000000001', '{promotions,0,amount}'),
          pg_temp.priced('c1900000-0000-4000-8000-000000000001', '{discount_total}')],
    ARRAY['0', '0', '490', '0'],
    'a free shipping coupon zeroes shipping and its tax, and says what it was worth'
);
UPDATE shop.carts SET coupon_id = NULL WHERE id = 'c1900000-0000-4000-8000-000000000001';

-- == what blocks checkout ===========================================================================
INSERT INTO shop.carts (id, token_hash, currency) VALUES ('c1900000-0000-4000-8000-000000000002', sha256('tok-2'), 'EUR');
SELECT is(
    pg_temp.priced('c1900000-0000-4000-8000-000000000002', '{problems}')::jsonb,
    '[{"code": "cart_empty"}, {"code": "shipping_address_required"}]'::jsonb,
    'an empty cart without an address'
);
SELECT is(
    pg_temp.priced('c1900000-0000-4000-8000-000000000002', '{tax_calculated}'), 'false',
    'without an address no tax is calculated, and the cart says so'
);
INSERT INTO shop.cart_items (id, cart_id, variant_id, quantity, quoted_unit_price) VALUES
('11900000-0000-4000-8000-000000000003', 'c1900000-0000-4000-8000-000000000002', 'b1900000-0000-4000-8000-000000000003',
 1, 500),
('11900000-0000-4000-8000-000000000004', 'c1900000-0000-4000-8000-000000000002', 'b1900000-0000-4000-8000-000000000001',
 1, 900);
UPDATE shop.carts SET shipping_address = '{"country": "US", "region": "CA"}',
    shipping_method_id = 'e19a0000-0000-4000-8000-000000000001'
WHERE id = 'c1900000-0000-4000-8000-000000000002';
SELECT is(
    (SELECT jsonb_agg(p ->> 'code' ORDER BY p ->> 'code')
     FROM jsonb_array_elements(shop.price_cart('c1900000-0000-4000-8000-000000000002') -> 'problems') AS p),
    '["not_for_sale", "price_changed", "shipping_method_unavailable"]'::jsonb,
    'a draft product''s line, a changed price and a method that does not ship there block checkout'
);
SELECT is(
    ARRAY[pg_temp.priced('c1900000-0000-4000-8000-000000000002', '{lines,0,unit_price}'),
          pg_temp.priced('c1900000-0000-4000-8000-000000000002', '{subtotal}')],
    ARRAY[NULL, '1000'],
    'a line not for sale has no price and counts in no total'
);
UPDATE shop.carts SET currency = 'USD', shipping_method_id = 'e19a0000-0000-4000-8000-000000000003'
WHERE id = 'c1900000-0000-4000-8000-000000000002';
SELECT is(
    ARRAY[pg_temp.priced('c1900000-0000-4000-8000-000000000002', '{subtotal}'),
          pg_temp.priced('c1900000-0000-4000-8000-000000000002', '{lines,1,tax}')],
    ARRAY['1999', '135'],
    'in USD to California: the USD price, and 7.25 % taken out of it: 1999 x 7.25 / 107.25 = 135.13 -> 135'
);

-- == access =========================================================================================
SELECT is(
    (shop.caller_cart('c1900000-0000-4000-8000-000000000001', sha256('tok-1'), FALSE)).id,
    'c1900000-0000-4000-8000-000000000001'::uuid,
    'the token''s holder reaches the guest cart'
);
SELECT throws_ok(
    $$SELECT shop.caller_cart('c1900000-0000-4000-8000-000000000001', sha256('tok-2'), FALSE)$$,
    'PT404', 'cart_not_found', 'another cart''s token is 404'
);
SELECT throws_ok(
    $$SELECT shop.caller_cart('c1900000-0000-4000-8000-000000000001', NULL, FALSE)$$,
    'PT404', 'cart_not_found', 'no token is 404'
);
SELECT throws_ok(
    $$SELECT shop.caller_cart(gen_random_uuid(), sha256('tok-1'), FALSE)$$,
    'PT404', 'cart_not_found', 'an unknown cart is the same 404'
);
UPDATE shop.carts SET customer_id = 'f1900000-0000-4000-8000-000000000002'
WHERE id = 'c1900000-0000-4000-8000-000000000002';
SET LOCAL ROLE postcart_customer;
SELECT set_config('request.claims', '{"sub": "f1900000-0000-4000-8000-000000000001", "kind": "customer"}', TRUE);
SELECT throws_ok(
    $$SELECT api.get_cart('{"id": "c1900000-0000-4000-8000-000000000002"}',
                          jsonb_build_object('cart_token_sha256', encode(sha256('tok-2'), 'hex')))$$,
    'PT404', 'cart_not_found', 'another customer''s cart is 404, even with its old token'
);
SELECT throws_ok(
    $$SELECT shop.caller_cart('c1900000-0000-4000-8000-000000000002', NULL, FALSE)$$,
    '42501', NULL, 'clients cannot call the access helper itself'
);
SELECT is(
    (SELECT count(*)::integer FROM shop.carts WHERE id = 'c1900000-0000-4000-8000-000000000002'), 0,
    'RLS hides another customer''s cart from plain SQL'
);
SELECT set_config('request.claims', '{"sub": "f1900000-0000-4000-8000-000000000002", "kind": "customer"}', TRUE);
SELECT is(
    api.get_cart('{"id": "c1900000-0000-4000-8000-000000000002"}', '{"cart_token_sha256": null}') ->> 'id',
    'c1900000-0000-4000-8000-000000000002',
    'its customer reaches it without a token'
);
SELECT is(
    (SELECT count(*)::integer FROM shop.carts WHERE id = 'c1900000-0000-4000-8000-000000000002'), 1,
    'and reads it from plain SQL'
);
SELECT throws_ok(
    $$INSERT INTO shop.cart_items (cart_id, variant_id, quantity, quoted_unit_price)
      VALUES ('c1900000-0000-4000-8000-000000000002', 'b1900000-0000-4000-8000-000000000002', 1, 0)$$,
    '42501', NULL, 'but writes only through the API'
);
RESET ROLE;
SELECT set_config('request.claims', '', TRUE);
UPDATE shop.carts SET status = 'abandoned', abandoned_at = now() WHERE id = 'c1900000-0000-4000-8000-000000000002';
SELECT throws_ok(
    $$SELECT shop.caller_cart('c1900000-0000-4000-8000-000000000002', NULL, FALSE)$$,
    'PT404', 'cart_not_found', 'an anonymous caller does not reach a customer''s cart'
);
SELECT set_config('request.claims', '{"sub": "f1900000-0000-4000-8000-000000000002", "kind": "customer"}', TRUE);
SELECT throws_ok(
    $$SELECT shop.caller_cart('c1900000-0000-4000-8000-000000000002', NULL, TRUE)$$,
    'PT409', 'cart_not_open', 'a cart that is no longer open does not change'
);
SELECT set_config('request.claims', '', TRUE);

-- == the API's refusals change nothing ==============================================================
SELECT throws_ok(
    $$SELECT api.add_cart_item('{"id": "c1900000-0000-4000-8000-000000000001", "sku": "TST19-B", "quantity": 6}',
                               jsonb_build_object('cart_token_sha256', encode(sha256('tok-1'), 'hex')))$$,
    'PT409', 'out_of_stock', 'the line would hold 9 of 5 on hand + 3 on backorder'
);
SELECT is(
    (SELECT quantity FROM shop.cart_items
     WHERE cart_id = 'c1900000-0000-4000-8000-000000000001' AND variant_id = 'b1900000-0000-4000-8000-000000000002'),
    3, 'the line is unchanged'
);
SELECT lives_ok(
    $$SELECT api.add_cart_item('{"id": "c1900000-0000-4000-8000-000000000001", "sku": "TST19-B", "quantity": 5}',
                               jsonb_build_object('cart_token_sha256', encode(sha256('tok-1'), 'hex')))$$,
    '8 units: all that can be ordered'
);
SELECT throws_ok(
    $$SELECT api.add_cart_item('{"id": "c1900000-0000-4000-8000-000000000001", "sku": "TST19-C", "quantity": 1}',
                               jsonb_build_object('cart_token_sha256', encode(sha256('tok-1'), 'hex')))$$,
    'PT409', 'not_for_sale', 'a draft product is not for sale'
);

-- == merge at login =================================================================================
-- Ada has an open cart (made above): 2 of A. A guest cart with 19 of A, 1 of B and an e-mail merges in.
INSERT INTO shop.cart_items (cart_id, variant_id, quantity, quoted_unit_price)
SELECT id, 'b1900000-0000-4000-8000-000000000001', 2, 1000 FROM shop.carts
WHERE customer_id = 'f1900000-0000-4000-8000-000000000001';
INSERT INTO shop.carts (id, token_hash, currency, email) VALUES
('c1900000-0000-4000-8000-000000000003', sha256('tok-3'), 'EUR', 'guest@example.com');
INSERT INTO shop.cart_items (cart_id, variant_id, quantity, quoted_unit_price) VALUES
('c1900000-0000-4000-8000-000000000003', 'b1900000-0000-4000-8000-000000000001', 19, 1),
('c1900000-0000-4000-8000-000000000003', 'b1900000-0000-4000-8000-000000000002', 1, 1);
SELECT is(
    shop.merge_cart_at_login('f1900000-0000-4000-8000-000000000001', sha256('tok-3')),
    (SELECT id FROM shop.carts WHERE customer_id = 'f1900000-0000-4000-8000-000000000001' AND status = 'open'),
    'the guest cart merges into the customer''s open cart'
);
SELECT is(
    ARRAY(SELECT ci.quantity || ' x ' || v.sku || ' at ' || ci.quoted_unit_price
          FROM shop.cart_items AS ci JOIN shop.product_variants AS v ON v.id = ci.variant_id
          JOIN shop.carts AS c ON c.id = ci.cart_id
          WHERE c.customer_id = 'f1900000-0000-4000-8000-000000000001' AND c.status = 'open' ORDER BY v.sku),
    ARRAY['20 x TST19-A at 1000', '1 x TST19-B at 333'],
    'same variant: 2 + 19 capped at the 20 orderable; new lines added; all re-quoted'
);
SELECT is(
    (SELECT status || ' into ' || (merged_into = (SELECT id FROM shop.carts
        WHERE customer_id = 'f1900000-0000-4000-8000-000000000001' AND status = 'open'))::text
     FROM shop.carts WHERE id = 'c1900000-0000-4000-8000-000000000003'),
    'merged into true', 'the guest cart is merged into it'
);
SELECT is(
    (SELECT email::text FROM shop.carts WHERE customer_id = 'f1900000-0000-4000-8000-000000000001' AND status = 'open'),
    'guest@example.com', 'the customer''s cart takes the guest''s e-mail when it has none'
);
SELECT is(
    shop.merge_cart_at_login('f1900000-0000-4000-8000-000000000001', sha256('tok-3')), NULL,
    'a merged cart does not merge again'
);
SELECT is(shop.merge_cart_at_login('f1900000-0000-4000-8000-000000000001', sha256('nope')), NULL, 'a bad token merges nothing');
INSERT INTO auth.accounts (id, email, full_name) VALUES ('f1900000-0000-4000-8000-000000000003', 'tst19-cy@example.com', 'Cy');
INSERT INTO shop.carts (id, token_hash, currency) VALUES ('c1900000-0000-4000-8000-000000000004', sha256('tok-4'), 'EUR');
SELECT is(
    shop.merge_cart_at_login('f1900000-0000-4000-8000-000000000003', sha256('tok-4')),
    'c1900000-0000-4000-8000-000000000004'::uuid, 'without an open cart the customer adopts the guest cart'
);
SELECT is(
    (SELECT customer_id::text || ' ' || coalesce(token_hash::text, 'no token')
     FROM shop.carts WHERE id = 'c1900000-0000-4000-8000-000000000004'),
    'f1900000-0000-4000-8000-000000000003 no token', 'it is theirs and its token stops working'
);
SELECT is(
    has_function_privilege('postcart_anon', 'shop.merge_cart_at_login(uuid, bytea)', 'EXECUTE')
    OR has_function_privilege('postcart_customer', 'shop.merge_cart_at_login(uuid, bytea)', 'EXECUTE'),
    FALSE, 'only the login step (the authenticator) may merge'
);

-- == abandoned carts ================================================================================
UPDATE shop.carts SET expires_at = now() - interval '1 second'
WHERE id IN ('c1900000-0000-4000-8000-000000000001', 'c1900000-0000-4000-8000-000000000004');
UPDATE shop.carts SET email = 'tst19-guest@example.com' WHERE id = 'c1900000-0000-4000-8000-000000000001';
SELECT throws_ok($$SELECT shop.sweep_abandoned_carts(0)$$, 'PT422', 'validation_failed', 'a batch is 1 to 10000');
SELECT is(shop.sweep_abandoned_carts(1000) >= 2, TRUE, 'the expired open carts are swept');
SELECT is(
    ARRAY(SELECT status FROM shop.carts WHERE id IN ('c1900000-0000-4000-8000-000000000001',
        'c1900000-0000-4000-8000-000000000004', 'c1900000-0000-4000-8000-000000000003') ORDER BY id),
    ARRAY['abandoned', 'merged', 'abandoned'], 'they are abandoned; a merged cart stays merged'
);
SELECT is(
    (SELECT payload - 'items' FROM integration.events
     WHERE type = 'cart.abandoned' AND subject_id = 'c1900000-0000-4000-8000-000000000001'),
    jsonb_build_object('cart_id', 'c1900000-0000-4000-8000-000000000001', 'email', 'tst19-guest@example.com',
                       'currency', 'EUR', 'total', jsonb_build_object('amount', 5 * 1000 + 8 * 333, 'currency', 'EUR')),
    'cart.abandoned carries the cart, its e-mail and its total at the last quoted prices'
);
SELECT is(
    (SELECT jsonb_array_length(payload -> 'items') FROM integration.events
     WHERE type = 'cart.abandoned' AND subject_id = 'c1900000-0000-4000-8000-000000000001'),
    2, 'and its items'
);
SELECT is(
    (SELECT count(*)::integer FROM integration.events
     WHERE type = 'cart.abandoned' AND subject_id = 'c1900000-0000-4000-8000-000000000004'),
    0, 'a cart without an e-mail (or items) emits nothing'
);
SELECT is(shop.sweep_abandoned_carts(1000), 0, 'a second sweep finds nothing');

SELECT * FROM finish();
ROLLBACK;
