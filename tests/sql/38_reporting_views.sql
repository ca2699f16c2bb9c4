-- Reporting views (issue 10, parts 2 and 5; docs/reporting.md): the views exist and the analyst reads
-- every one (comments: 06; personal columns: 33); the figures of each new view on a small fixture in the
-- test currency XTS (sales, top products, lifetime value with every RFM segment and the score
-- boundaries, coupons, stock value, sell-through); the materialized ones change only when
-- reporting.refresh_views runs, which only the worker may call.
BEGIN;
SELECT plan(41);

-- == the views =======================================================================================
SELECT is(
    ARRAY(
        SELECT v FROM unnest(ARRAY[
            'sales_daily', 'top_products', 'customer_lifetime_value', 'inventory_valuation', 'low_stock',
            'coupon_performance', 'variant_sell_through', 'audit_log'
        ]) AS v
        WHERE NOT EXISTS (
            SELECT FROM pg_class AS c
            WHERE c.relnamespace = 'reporting'::regnamespace AND c.relname = v AND c.relkind IN ('v', 'm')
        )
    ),
    ARRAY[]::text[],
    'every reporting view of docs/reporting.md exists'
);
SELECT is(
    ARRAY(
        SELECT c.relname::text FROM pg_class AS c
        WHERE c.relnamespace = 'reporting'::regnamespace AND c.relkind IN ('v', 'm')
          AND NOT has_table_privilege('postcart_analyst', c.oid, 'SELECT')
        ORDER BY 1
    ),
    ARRAY[]::text[],
    'postcart_analyst may read every view and materialized view in reporting'
);
SELECT is(
    ARRAY(
        SELECT c.relname::text FROM pg_class AS c
        WHERE c.relnamespace = 'reporting'::regnamespace AND c.relkind = 'm'
          AND NOT EXISTS (
              SELECT FROM pg_index AS i
              WHERE i.indrelid = c.oid AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
          )
        ORDER BY 1
    ),
    ARRAY[]::text[],
    'every materialized view has a plain unique index (REFRESH ... CONCURRENTLY needs one)'
);
SELECT is(
    ARRAY(
        SELECT c.oid::regclass::text FROM pg_class AS c
        WHERE c.relnamespace = 'reporting'::regnamespace AND c.relkind = 'm'
        EXCEPT SELECT r.materialized_view FROM reporting.refreshes AS r
    ),
    ARRAY[]::text[],
    'every materialized view is on the refresh list'
);

-- == fixture (currency XTS) ==========================================================================
INSERT INTO auth.accounts (id, email, full_name)
SELECT ('f3800000-0000-4000-8000-00000000000' || n)::uuid, 'tst38-' || n || '@example.com', 'Tst38 ' || n
FROM generate_series(1, 9) AS n;
INSERT INTO shop.products (id, slug, name) VALUES
('a3800000-0000-4000-8000-000000000001', 'tst38-a', 'Tst38 A'),
('a3800000-0000-4000-8000-000000000002', 'tst38-b', 'Tst38 B');
INSERT INTO shop.product_variants (id, product_id, sku, name) VALUES
('b3800000-0000-4000-8000-000000000001', 'a3800000-0000-4000-8000-000000000001', 'TST38-A1', 'One'),
('b3800000-0000-4000-8000-000000000002', 'a3800000-0000-4000-8000-000000000001', 'TST38-A2', 'Two'),
('b3800000-0000-4000-8000-000000000003', 'a3800000-0000-4000-8000-000000000002', 'TST38-B3', 'Three'),
('b3800000-0000-4000-8000-000000000004', 'a3800000-0000-4000-8000-000000000002', 'TST38-B4', 'Four');
-- B3 has no XTS price: its units are unpriced in the valuation.
INSERT INTO shop.variant_prices (variant_id, currency, amount) VALUES
('b3800000-0000-4000-8000-000000000001', 'XTS', 1000),
('b3800000-0000-4000-8000-000000000002', 'XTS', 2000);
INSERT INTO shop.warehouses (id, code, name) VALUES
('d3800000-0000-4000-8000-000000000001', 'tst38-w1', 'Tst38 one'),
('d3800000-0000-4000-8000-000000000002', 'tst38-w2', 'Tst38 two');
INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity) VALUES
('b3800000-0000-4000-8000-000000000001', 'd3800000-0000-4000-8000-000000000001', 'receipt', 30),
('b3800000-0000-4000-8000-000000000001', 'd3800000-0000-4000-8000-000000000002', 'receipt', 10),
('b3800000-0000-4000-8000-000000000003', 'd3800000-0000-4000-8000-000000000001', 'receipt', 5);

-- An order of customer p_customer (1 to 9; NULL: a guest) placed p_days ago, with lines
-- [[variant 1-4, quantity, unit price, tax]], prices including tax, no shipping.
CREATE FUNCTION pg_temp.place(p_n integer, p_customer integer, p_days integer, p_lines jsonb,
                              p_status text DEFAULT 'completed')
RETURNS void
LANGUAGE sql
AS $$
    INSERT INTO shop.carts (id, customer_id, token_hash, currency, status, order_id)
    SELECT o.id, o.customer, CASE WHEN o.customer IS NULL THEN sha256(o.id::text::bytea) END, 'XTS', 'ordered', o.id
    FROM (SELECT ('c3800000-0000-4000-8000-' || lpad(p_n::text, 12, '0'))::uuid AS id,
                 ('f3800000-0000-4000-8000-00000000000' || p_customer)::uuid AS customer) AS o;
    INSERT INTO shop.orders (id, number, customer_id, cart_id, email, currency, status, payment_method,
                             prices_include_tax, subtotal, discount_total, shipping_total, tax_total, total,
                             shipping_address, shipping_method_code, shipping_method_name, created_at,
                             cancelled_at)
    SELECT c.id, 3800000 + p_n, c.customer_id, c.id, 'tst38@example.com', 'XTS', p_status, 'manual', TRUE,
           l.subtotal, 0, 0, l.tax, l.subtotal, '{}', 'x', 'x', now() - p_days * interval '1 day',
           CASE WHEN p_status = 'cancelled' THEN now() END
    FROM shop.carts AS c,
         (SELECT sum((e ->> 1)::bigint * (e ->> 2)::bigint) AS subtotal, sum((e ->> 3)::bigint) AS tax
          FROM jsonb_array_elements(p_lines) AS e) AS l
    WHERE c.id = ('c3800000-0000-4000-8000-' || lpad(p_n::text, 12, '0'))::uuid;
    INSERT INTO shop.order_items (order_id, position, variant_id, product_id, sku, name, quantity, unit_price,
                                  line_total, tax_class, tax)
    SELECT ('c3800000-0000-4000-8000-' || lpad(p_n::text, 12, '0'))::uuid, e.n, v.id, v.product_id, v.sku, v.name,
           (e.line ->> 1)::integer, (e.line ->> 2)::bigint, (e.line ->> 1)::bigint * (e.line ->> 2)::bigint,
           'standard', (e.line ->> 3)::bigint
    FROM jsonb_array_elements(p_lines) WITH ORDINALITY AS e (line, n)
    INNER JOIN shop.product_variants AS v
        ON v.id = ('b3800000-0000-4000-8000-00000000000' || (e.line ->> 0))::uuid;
$$;

-- Customer 1: 10 orders, the last 2 days ago (champions); 2: one live order 10 days ago and a cancelled
-- one (new); 3: 3 orders 200 days ago (at_risk); 4: 2 orders 400 days ago (lost); 5 and 6: one order 30
-- and 31 days ago (recency 5 and 4; new); 7: 9 orders 100 days ago (loyal); 8: 2 orders 100 days ago
-- (promising); 9: 2 orders 300 days ago (hibernating). Order 11 is a guest's.
DO $$
BEGIN
    PERFORM pg_temp.place(1, 1, 2, '[[1, 3, 1000, 0]]');
    PERFORM pg_temp.place(2, 1, 20, '[[1, 6, 1000, 958], [3, 1, 500, 0]]');
    PERFORM pg_temp.place(3, 1, 40, '[[1, 5, 1000, 0]]');
    PERFORM pg_temp.place(3 + n, 1, 50, '[[2, 1, 2000, 0]]') FROM generate_series(1, 7) AS n;
    PERFORM pg_temp.place(11, NULL, 2, '[[1, 1, 1000, 0]]');
    PERFORM pg_temp.place(12, 2, 2, '[[1, 50, 1000, 0]]', 'cancelled');
    PERFORM pg_temp.place(13, 2, 10, '[[3, 2, 500, 0]]');
    PERFORM pg_temp.place(13 + n, 3, 200, '[[2, 1, 2000, 0]]') FROM generate_series(1, 3) AS n;
    PERFORM pg_temp.place(16 + n, 4, 400, '[[2, 1, 2000, 0]]') FROM generate_series(1, 2) AS n;
    PERFORM pg_temp.place(19, 5, 30, '[[2, 1, 2000, 0]]');
    PERFORM pg_temp.place(20, 6, 31, '[[2, 1, 2000, 0]]');
    PERFORM pg_temp.place(20 + n, 7, 100, '[[2, 1, 2000, 0]]') FROM generate_series(1, 9) AS n;
    PERFORM pg_temp.place(29 + n, 8, 100, '[[2, 1, 2000, 0]]') FROM generate_series(1, 2) AS n;
    PERFORM pg_temp.place(31 + n, 9, 300, '[[2, 1, 2000, 0]]') FROM generate_series(1, 2) AS n;
END
$$;

INSERT INTO shop.promotions (id, code, name, kind, value, usage_limit, times_used) VALUES
('e3800000-0000-4000-8000-000000000001', 'TST38-SAVE', 'Tst38 save', 'percent', 10, 4, 1),
('e3800000-0000-4000-8000-000000000002', 'TST38-NEVER', 'Tst38 never', 'percent', 10, NULL, 0);
INSERT INTO shop.promotion_redemptions (promotion_id, order_id, customer_id, email, amount, released_at) VALUES
('e3800000-0000-4000-8000-000000000001', 'c3800000-0000-4000-8000-000000000001',
 'f3800000-0000-4000-8000-000000000001', 'tst38@example.com', 300, NULL),
('e3800000-0000-4000-8000-000000000001', 'c3800000-0000-4000-8000-000000000012',
 'f3800000-0000-4000-8000-000000000002', 'tst38@example.com', 5000, now());

-- == refresh =========================================================================================
SELECT is(
    (SELECT count(*) FROM reporting.sales_daily WHERE currency = 'XTS'), 0::bigint,
    'a materialized view does not show the new orders before a refresh'
);
UPDATE reporting.refreshes SET refreshed_at = now() - interval '1 hour';
CREATE TEMP TABLE due AS SELECT count(*)::integer AS n FROM reporting.refreshes;
GRANT SELECT ON due TO postcart_worker;
SET LOCAL ROLE postcart_worker;
SELECT is(reporting.refresh_views(2), 2, 'the worker refreshes up to batch_size views a call');
SELECT is(reporting.refresh_views(100), (SELECT n - 2 FROM due), '... then the rest that are due');
SELECT is(reporting.refresh_views(100), 0, '... and none again within 4 minutes');
SELECT throws_ok('SELECT reporting.refresh_views(0)', 'PT422', 'validation_failed', 'a batch size below 1 is refused');
RESET ROLE;
SELECT is(
    (SELECT count(*) FROM reporting.refreshes WHERE refreshed_at < now() - interval '4 minutes'), 0::bigint,
    'each refresh is recorded'
);
SELECT ok(
    has_function_privilege('postcart_worker', 'reporting.refresh_views(integer)', 'EXECUTE')
    AND NOT has_function_privilege('postcart_analyst', 'reporting.refresh_views(integer)', 'EXECUTE')
    AND NOT has_function_privilege('postcart_dba', 'reporting.refresh_views(integer)', 'EXECUTE')
    AND NOT has_function_privilege('store_admin', 'reporting.refresh_views(integer)', 'EXECUTE')
    AND NOT has_function_privilege('postcart_anon', 'reporting.refresh_views(integer)', 'EXECUTE'),
    'only the worker may refresh'
);

-- == sales_daily =====================================================================================
SELECT is(
    (SELECT row(orders, items, gross, discounts, tax, shipping, net, refunds)::text FROM reporting.sales_daily
     WHERE currency = 'XTS' AND day = ((now() - interval '2 days') AT TIME ZONE 'UTC')::date),
    '(2,4,4000,0,0,0,4000,0)',
    'sales_daily: the day''s live orders (a cancelled one left out), units and amounts'
);
SELECT is(
    (SELECT row(orders, items, gross, tax, net)::text FROM reporting.sales_daily
     WHERE currency = 'XTS' AND day = ((now() - interval '20 days') AT TIME ZONE 'UTC')::date),
    '(1,7,6500,958,5542)',
    'sales_daily: net is the totals without their tax'
);

-- == top_products ====================================================================================
SELECT is(
    (SELECT row(units, revenue)::text FROM reporting.top_products
     WHERE period = 'day' AND currency = 'XTS' AND product_slug = 'tst38-a'
       AND period_start = ((now() - interval '2 days') AT TIME ZONE 'UTC')::date),
    '(4,4000)',
    'top_products: a product''s units and revenue on a day (guest orders counted, cancelled ones not)'
);
SELECT is(
    ARRAY(SELECT row(product_slug, units, revenue)::text FROM reporting.top_products
          WHERE period = 'week' AND currency = 'XTS'
            AND period_start = date_trunc('week', (now() - interval '20 days') AT TIME ZONE 'UTC')::date
          ORDER BY revenue DESC),
    ARRAY['(tst38-a,6,5042)', '(tst38-b,1,500)'],
    'top_products: a week''s products by revenue, without the tax included in the prices'
);
SELECT is(
    (SELECT row(sum(units), sum(revenue))::text FROM reporting.top_products
     WHERE period = 'month' AND currency = 'XTS'),
    (SELECT row(sum(units), sum(revenue))::text FROM reporting.top_products
     WHERE period = 'week' AND currency = 'XTS'),
    'top_products: the months add up to the weeks'
);
SELECT is(
    (SELECT array_agg(DISTINCT period_start ORDER BY period_start) FROM reporting.top_products
     WHERE period = 'day' AND currency = 'XTS'),
    ARRAY[((now() - interval '2 days') AT TIME ZONE 'UTC')::date],
    'top_products: days are kept for the last 7 days only (not 10 days ago)'
);
SELECT is(
    (SELECT sum(revenue) FROM reporting.top_products WHERE period = 'week' AND currency = 'XTS'), 69542::numeric,
    'top_products: every live line counted once per kind of period'
);

-- == customer_lifetime_value =========================================================================
CREATE TEMP TABLE clv AS
SELECT n, v.*
FROM generate_series(1, 9) AS n
INNER JOIN reporting.customer_lifetime_value AS v
    ON v.customer_key = reporting.pseudonymous_key(('f3800000-0000-4000-8000-00000000000' || n)::uuid)
WHERE v.currency = 'XTS';
SELECT is(
    ARRAY(SELECT rfm_segment FROM clv ORDER BY n),
    ARRAY['champions', 'new', 'at_risk', 'lost', 'new', 'new', 'loyal', 'promising', 'hibernating'],
    'customer_lifetime_value: a named RFM segment per customer, every segment reached'
);
SELECT is(
    ARRAY(SELECT row(recency_days, recency_score, frequency_score, monetary_score)::text FROM clv ORDER BY n),
    ARRAY['(2,5,5,5)', '(10,5,1,1)', '(200,2,3,4)', '(400,1,2,4)', '(30,5,1,2)', '(31,4,1,2)', '(100,3,4,5)',
          '(100,3,2,4)', '(300,2,2,4)'],
    'RFM scores: recency 30 days is 5 and 31 is 4; 10 orders 5, 9 orders 4; revenue quintiles, ties share one'
);
SELECT is(
    (SELECT row(orders, revenue, repeat_customer, average_order_value)::text FROM clv WHERE n = 1),
    '(10,27542,t,2754)',
    'customer_lifetime_value: orders, revenue without tax, repeat flag and average order'
);
SELECT is(
    (SELECT row(orders, repeat_customer)::text FROM clv WHERE n = 2), '(1,f)',
    'a cancelled order is not counted: one order, not a repeat customer'
);
SELECT is(
    (SELECT cohort_month FROM clv WHERE n = 3),
    date_trunc('month', (now() - interval '200 days') AT TIME ZONE 'UTC')::date,
    'the cohort is the month of the first order'
);
SELECT is(
    (SELECT as_of FROM clv LIMIT 1), (now() AT TIME ZONE 'UTC')::date, 'recency is counted up to the refresh day'
);

-- == coupon_performance ==============================================================================
SELECT is(
    (SELECT row(coupon_code, redemptions, orders, customers, discount_given, revenue, times_used, usage_limit,
                usage_percent)::text
     FROM reporting.coupon_performance WHERE promotion_id = 'e3800000-0000-4000-8000-000000000001'),
    '(TST38-SAVE,2,1,1,300,3000,1,4,25.0)',
    'coupon_performance: redemptions, live orders, discount given, their revenue and usage against the limit'
);
SELECT is(
    (SELECT array_agg(row(currency, redemptions, orders, usage_percent)::text)
     FROM reporting.coupon_performance WHERE promotion_id = 'e3800000-0000-4000-8000-000000000002'),
    ARRAY['(,0,0,)'],
    'a promotion never redeemed has one row of zeros'
);

-- == inventory_valuation =============================================================================
SELECT is(
    ARRAY(SELECT row(warehouse_code, variants, units, value_at_base_price, available_value_at_base_price,
                     unpriced_units)::text
          FROM reporting.inventory_valuation WHERE currency = 'XTS' AND warehouse_code LIKE 'tst38-%'
          ORDER BY warehouse_code),
    ARRAY['(tst38-w1,1,30,30000,30000,5)', '(tst38-w2,1,10,10000,10000,0)'],
    'inventory_valuation: on-hand units at base price per warehouse, units without a price apart'
);
SELECT is(
    (SELECT count(DISTINCT currency) FROM reporting.inventory_valuation WHERE warehouse_code = 'tst38-w2'),
    (SELECT count(DISTINCT currency) FROM shop.variant_prices),
    'inventory_valuation: a row per warehouse for every currency prices are in'
);

-- == variant_sell_through ============================================================================
SELECT is(
    (SELECT row(on_hand, reserved, available, units_sold_7d, units_sold_30d, daily_rate_7d, daily_rate_30d,
                sell_through_30d, stock_cover_days)::text
     FROM reporting.variant_sell_through WHERE sku = 'TST38-A1'),
    '(40,0,40,4,10,0.57,0.33,0.2000,120.0)',
    'sell-through: 7 and 30 days of units (older and cancelled orders left out), share sold, days of cover'
);
SELECT is(
    (SELECT row(units_sold_7d, units_sold_30d, sell_through_30d, stock_cover_days)::text
     FROM reporting.variant_sell_through WHERE sku = 'TST38-B3'),
    '(0,3,0.3750,50.0)',
    'sell-through: 3 of 3 + 5 sold; 5 units last 50 days at 0.1 a day'
);
SELECT is(
    (SELECT row(units_sold_30d, sell_through_30d, stock_cover_days, last_sold_at)::text
     FROM reporting.variant_sell_through WHERE sku = 'TST38-B4'),
    '(0,,,)',
    'sell-through: a variant without sales or stock has no rate and no cover'
);
SELECT is(
    (SELECT last_sold_at FROM reporting.variant_sell_through WHERE sku = 'TST38-A1'),
    (SELECT created_at FROM shop.orders WHERE id = 'c3800000-0000-4000-8000-000000000001'),
    'sell-through: when it last sold'
);

-- == the analyst reads each view =====================================================================
SET LOCAL ROLE postcart_analyst;
SELECT lives_ok('SELECT * FROM reporting.sales_daily LIMIT 1', 'the analyst reads sales_daily');
SELECT lives_ok('SELECT * FROM reporting.top_products LIMIT 1', 'the analyst reads top_products');
SELECT lives_ok('SELECT * FROM reporting.customer_lifetime_value LIMIT 1', 'the analyst reads customer_lifetime_value');
SELECT lives_ok('SELECT * FROM reporting.inventory_valuation LIMIT 1', 'the analyst reads inventory_valuation');
SELECT lives_ok('SELECT * FROM reporting.low_stock LIMIT 1', 'the analyst reads low_stock');
SELECT lives_ok('SELECT * FROM reporting.coupon_performance LIMIT 1', 'the analyst reads coupon_performance');
SELECT lives_ok('SELECT * FROM reporting.variant_sell_through LIMIT 1', 'the analyst reads variant_sell_through');
SELECT lives_ok('SELECT * FROM reporting.refreshes', 'the analyst sees when each view was refreshed');
SELECT throws_ok('SELECT reporting.refresh_views(1)', '42501', NULL, 'the analyst cannot refresh');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
