-- Recommendations (issue 10, part 3; docs/recommendations.md): orders and product views reach the queue,
-- the worker counts them into pair scores, sales and category bestsellers, and
-- api.product_recommendations answers from them: the strategy's products first, then same-category
-- bestsellers and the newest products; only published, in-stock products priced in the currency. A new
-- order changes the answer as soon as the worker has run (freshness), without recounting anything else.
BEGIN;
SELECT plan(35);

-- == fixture (currency XTS): category tst40-c under tst40-r ==========================================
INSERT INTO shop.categories (id, slug, name, parent_id) VALUES
('e4000000-0000-4000-8000-000000000001', 'tst40-r', 'Tst40 R', NULL);
INSERT INTO shop.categories (id, slug, name, parent_id) VALUES
('e4000000-0000-4000-8000-000000000002', 'tst40-c', 'Tst40 C', 'e4000000-0000-4000-8000-000000000001');
-- P1 to P6 and P8, P9 in C, P7 in R; P8 is a draft and P9 has no stock. Older products first.
INSERT INTO shop.products (id, slug, name, category_id, status, published_at)
SELECT ('a4000000-0000-4000-8000-00000000000' || n)::uuid, 'tst40-p' || n, 'Tst40 P' || n,
       CASE WHEN n = 7 THEN 'e4000000-0000-4000-8000-000000000001'::uuid
            ELSE 'e4000000-0000-4000-8000-000000000002'::uuid END,
       CASE WHEN n = 8 THEN 'draft' ELSE 'published' END,
       CASE WHEN n = 8 THEN NULL ELSE now() - (10 - n) * INTERVAL '1 day' END
FROM generate_series(1, 9) AS n;
INSERT INTO shop.product_variants (id, product_id, sku, name)
SELECT ('b4000000-0000-4000-8000-00000000000' || n)::uuid, ('a4000000-0000-4000-8000-00000000000' || n)::uuid,
       'TST40-' || n, 'One'
FROM generate_series(1, 9) AS n;
INSERT INTO shop.variant_prices (variant_id, currency, amount)
SELECT ('b4000000-0000-4000-8000-00000000000' || n)::uuid, 'XTS', 1000 * n FROM generate_series(1, 9) AS n;
INSERT INTO shop.warehouses (id, code, name) VALUES ('d4000000-0000-4000-8000-000000000001', 'tst40-w', 'Tst40');
INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity)
SELECT ('b4000000-0000-4000-8000-00000000000' || n)::uuid, 'd4000000-0000-4000-8000-000000000001', 'receipt', 50
FROM generate_series(1, 8) AS n;

-- An order of the products p_products (1 to 9), each p_units times, queued as api.checkout queues one.
CREATE FUNCTION pg_temp.place(p_n integer, p_products integer[], p_units integer DEFAULT 1)
RETURNS void
LANGUAGE sql
AS $$
    INSERT INTO shop.carts (id, token_hash, currency, status, order_id)
    SELECT o.id, sha256(o.id::text::bytea), 'XTS', 'ordered', o.id
    FROM (SELECT ('c4000000-0000-4000-8000-' || lpad(p_n::text, 12, '0'))::uuid AS id) AS o;
    INSERT INTO shop.orders (id, number, cart_id, email, currency, status, payment_method, prices_include_tax,
                             subtotal, discount_total, shipping_total, tax_total, total, shipping_address,
                             shipping_method_code, shipping_method_name)
    SELECT c.id, 4000000 + p_n, c.id, 'tst40@example.com', 'XTS', 'pending_payment', 'manual', TRUE,
           l.subtotal, 0, 0, 0, l.subtotal, '{}', 'x', 'x'
    FROM shop.carts AS c,
         (SELECT sum(1000 * p * p_units) AS subtotal FROM unnest(p_products) AS p) AS l
    WHERE c.id = ('c4000000-0000-4000-8000-' || lpad(p_n::text, 12, '0'))::uuid;
    INSERT INTO shop.order_items (order_id, position, variant_id, product_id, sku, name, quantity, unit_price,
                                  line_total, tax_class)
    SELECT ('c4000000-0000-4000-8000-' || lpad(p_n::text, 12, '0'))::uuid, e.n, v.id, v.product_id, v.sku,
           v.name, p_units, 1000 * e.p, 1000 * e.p * p_units, 'standard'
    FROM unnest(p_products) WITH ORDINALITY AS e (p, n)
    INNER JOIN shop.product_variants AS v ON v.id = ('b4000000-0000-4000-8000-00000000000' || e.p)::uuid;
    INSERT INTO shop.recommendation_inputs (order_id)
    VALUES (('c4000000-0000-4000-8000-' || lpad(p_n::text, 12, '0'))::uuid);
$$;

-- The worker's task until the queue is empty (other tests' orders and views included). A worker running
-- beside the tests is waited for (update_recommendations would return 0 while it counts), then kept out.
CREATE FUNCTION pg_temp.count_all()
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('shop.update_recommendations'));
    WHILE shop.update_recommendations(10000) = 10000 LOOP
    END LOOP;
END
$$;
GRANT EXECUTE ON FUNCTION pg_temp.count_all() TO postcart_worker;

CREATE FUNCTION pg_temp.p(p_n integer)
RETURNS text
LANGUAGE sql
AS $$ SELECT 'a4000000-0000-4000-8000-00000000000' || p_n $$;
GRANT EXECUTE ON FUNCTION pg_temp.p(integer) TO postcart_anon;

-- The ids of a recommendation answer's items, in order, as product numbers.
CREATE FUNCTION pg_temp.ids(p_answer jsonb)
RETURNS integer[]
LANGUAGE sql
AS $$
    SELECT coalesce(array_agg(right(i ->> 'id', 1)::integer ORDER BY o), '{}')
    FROM jsonb_array_elements(p_answer -> 'items') WITH ORDINALITY AS x (i, o)
$$;
GRANT EXECUTE ON FUNCTION pg_temp.ids(jsonb) TO postcart_anon;

DO $$
BEGIN
    PERFORM pg_temp.place(1, ARRAY[1, 2, 3]);
    PERFORM pg_temp.place(2, ARRAY[1, 2]);
    PERFORM pg_temp.place(3, ARRAY[1, 4, 8, 9]);
    PERFORM pg_temp.place(4, ARRAY[5], 5);
    PERFORM pg_temp.place(5, ARRAY[7], 3);
END
$$;

-- == who may do what ====================================================================================
SELECT ok(
    NOT has_function_privilege('postcart_anon', 'shop.update_recommendations(integer)', 'EXECUTE')
    AND NOT has_function_privilege('postcart_customer', 'shop.update_recommendations(integer)', 'EXECUTE')
    AND has_function_privilege('postcart_worker', 'shop.update_recommendations(integer)', 'EXECUTE'),
    'only the worker counts'
);
SET LOCAL ROLE postcart_anon;
SELECT throws_ok('SELECT * FROM shop.product_affinities', '42501', NULL, 'the storefront reads no counts');
RESET ROLE;

-- == counting orders =====================================================================================
CREATE TEMPORARY TABLE v AS SELECT shop.catalog_version() AS before;
SET LOCAL ROLE postcart_worker;
SELECT lives_ok('SELECT pg_temp.count_all()', 'the worker counts the queue');
RESET ROLE;
SELECT is((SELECT count(*) FROM shop.recommendation_inputs)::integer, 0, 'and empties it');
SELECT isnt(shop.catalog_version(), (SELECT before FROM v), 'new counts move the catalog version');

SELECT set_eq(
    $$SELECT right(product_id::text, 1)::integer AS p, right(other_id::text, 1)::integer AS o, score::integer
      FROM shop.product_affinities
      WHERE signal = 'bought_together' AND product_id::text LIKE 'a4000000-%' AND product_id::text <= pg_temp.p(4)$$,
    $$VALUES (1, 2, 2), (1, 3, 1), (1, 4, 1), (1, 8, 1), (1, 9, 1), (2, 1, 2), (2, 3, 1), (3, 1, 1), (3, 2, 1),
             (4, 1, 1), (4, 8, 1), (4, 9, 1)$$,
    'bought_together counts the orders holding both products, both ways'
);
SELECT set_eq(
    $$SELECT right(product_id::text, 1)::integer AS p, units::integer, orders::integer FROM shop.product_sales_counts
      WHERE product_id::text LIKE 'a4000000-%'$$,
    $$VALUES (1, 3, 3), (2, 2, 2), (3, 1, 1), (4, 1, 1), (5, 5, 1), (7, 3, 1), (8, 1, 1), (9, 1, 1)$$,
    'units and orders per product'
);
SELECT results_eq(
    $$SELECT right(product_id::text, 1)::integer FROM shop.category_bestsellers
      WHERE category_id = 'e4000000-0000-4000-8000-000000000002' ORDER BY rank$$,
    $$VALUES (5), (1), (2), (3), (4), (9)$$,
    'the bestsellers of a category: most units first, drafts left out'
);
SELECT results_eq(
    $$SELECT right(product_id::text, 1)::integer FROM shop.category_bestsellers
      WHERE category_id = 'e4000000-0000-4000-8000-000000000001' ORDER BY rank$$,
    $$VALUES (5), (1), (7), (2), (3), (4), (9)$$,
    'a parent category ranks the products of its subcategories too'
);

-- == the answer ==========================================================================================
SET LOCAL ROLE postcart_anon;
SELECT is(
    pg_temp.ids(api.product_recommendations(jsonb_build_object('id_or_slug', pg_temp.p(1), 'currency', 'XTS',
                                                               'limit', 3))),
    ARRAY[2, 3, 4],
    'bought together: most orders first, the draft (8) and the product without stock (9) left out'
);
SELECT is(
    api.product_recommendations(jsonb_build_object('id_or_slug', 'tst40-p1', 'currency', 'XTS'))
    - 'items',
    '{"strategy": "frequently_bought_together", "matched": 3}',
    'a slug works too; the answer names its strategy and how many items it gave'
);
SELECT is(
    pg_temp.ids(api.product_recommendations(jsonb_build_object('id_or_slug', pg_temp.p(1), 'currency', 'XTS'))),
    ARRAY[2, 3, 4, 5, 7, 6],
    'the page is filled with the bestsellers of the category, then of its parent, then the newest products'
);
SELECT is(
    api.product_recommendations(jsonb_build_object('id_or_slug', pg_temp.p(6), 'currency', 'XTS')) - 'items',
    '{"strategy": "category_bestsellers", "matched": 0}',
    'a product never bought falls back to the category bestsellers'
);
SELECT is(
    pg_temp.ids(api.product_recommendations(jsonb_build_object('id_or_slug', pg_temp.p(6), 'currency', 'XTS'))),
    ARRAY[5, 1, 2, 3, 4, 7],
    'the category''s bestsellers first, then its parent''s'
);
SELECT throws_ok(
    format($$SELECT api.product_recommendations('{"id_or_slug": "%s", "currency": "XTS"}')$$, pg_temp.p(8)),
    'PT404', 'product_not_found', 'a draft has no recommendations'
);
SELECT throws_ok(
    $$SELECT api.product_recommendations('{"id_or_slug": "tst40-nothing", "currency": "XTS"}')$$,
    'PT404', 'product_not_found', 'nor an unknown product'
);
SELECT throws_ok(
    $$SELECT api.product_recommendations('{"id_or_slug": "tst40-p1", "strategy": "trending", "limit": "25"}')$$,
    'PT400', 'validation_failed', 'an unknown strategy or a limit over 24 is refused'
);
RESET ROLE;
SELECT is(
    (api.product_recommendations(jsonb_build_object('id_or_slug', pg_temp.p(1), 'currency', 'XTS'))
     -> 'items' -> 0),
    (SELECT l.summary || '{"price": {"amount": 2000, "currency": "XTS"}, "in_stock": true}'
     FROM shop.product_listings AS l WHERE l.product_id = pg_temp.p(2)::uuid),
    'an item is a product summary with its price and stock, as GET /v1/products lists it'
);

-- == freshness: a new order changes the answer once the worker has run ==================================
DO $$ BEGIN PERFORM pg_temp.place(6, ARRAY[6, 1]); END $$;
SET LOCAL ROLE postcart_anon;
SELECT is(
    api.product_recommendations(jsonb_build_object('id_or_slug', pg_temp.p(6), 'currency', 'XTS')) ->> 'strategy',
    'category_bestsellers',
    'before the worker runs, the order is not counted'
);
RESET ROLE;
SET LOCAL ROLE postcart_worker;
SELECT cmp_ok(shop.update_recommendations(10000), '>=', 1, 'the worker takes the new order');
RESET ROLE;
SET LOCAL ROLE postcart_anon;
SELECT is(
    api.product_recommendations(jsonb_build_object('id_or_slug', pg_temp.p(6), 'currency', 'XTS', 'limit', 2))
    - 'items',
    '{"strategy": "frequently_bought_together", "matched": 1}',
    'after it, the product bought with it leads'
);
SELECT is(
    pg_temp.ids(api.product_recommendations(jsonb_build_object('id_or_slug', pg_temp.p(6), 'currency', 'XTS',
                                                               'limit', 2))),
    ARRAY[1, 5],
    'P1 first, then the bestseller'
);
SELECT is(
    pg_temp.ids(api.product_recommendations(jsonb_build_object('id_or_slug', pg_temp.p(1), 'currency', 'XTS',
                                                               'limit', 4))),
    ARRAY[2, 3, 4, 6],
    'and the order shows on the other side too'
);
RESET ROLE;
SELECT is(
    (SELECT score::integer FROM shop.product_affinities
     WHERE product_id = pg_temp.p(1)::uuid AND other_id = pg_temp.p(2)::uuid AND signal = 'bought_together'),
    2,
    'an increment: the pairs already counted keep their scores'
);

-- == product views ========================================================================================
-- Session 1 views P1, P2, P1 again and P3; session 2 views P2 and P3: sent through POST /v1/events.
SET LOCAL ROLE postcart_anon;
SELECT is(
    api.record_events(jsonb_build_object('events', jsonb_build_array(
        jsonb_build_object('type', 'product_view', 'session_id', 'tst40-s1', 'product_id', pg_temp.p(1)),
        jsonb_build_object('type', 'product_view', 'session_id', 'tst40-s1', 'product_id', pg_temp.p(2)),
        jsonb_build_object('type', 'add_to_cart', 'session_id', 'tst40-s1', 'product_id', pg_temp.p(5)),
        jsonb_build_object('type', 'product_view', 'session_id', 'tst40-s1', 'product_id', pg_temp.p(1)),
        jsonb_build_object('type', 'product_view', 'session_id', 'tst40-s1', 'product_id', pg_temp.p(3)),
        jsonb_build_object('type', 'product_view', 'session_id', 'tst40-s2', 'product_id', pg_temp.p(2)),
        jsonb_build_object('type', 'product_view', 'session_id', 'tst40-s2', 'product_id', pg_temp.p(3))
    ))) ->> 'accepted',
    '7',
    'a batch of events is recorded'
);
RESET ROLE;
SELECT is(
    (SELECT count(*) FROM shop.recommendation_inputs WHERE session_id LIKE 'tst40-%')::integer, 6,
    'its product views are queued, and nothing else'
);
SET LOCAL ROLE postcart_worker;
SELECT lives_ok('SELECT pg_temp.count_all()', 'the worker counts the views');
RESET ROLE;
-- Later, session 1 views P4.
INSERT INTO shop.recommendation_inputs (session_id, product_id) VALUES ('tst40-s1', pg_temp.p(4)::uuid);
SET LOCAL ROLE postcart_worker;
SELECT lives_ok('SELECT pg_temp.count_all()', 'and the later view');
RESET ROLE;
SELECT set_eq(
    $$SELECT right(product_id::text, 1)::integer AS p, right(other_id::text, 1)::integer AS o, score::integer
      FROM shop.product_affinities
      WHERE signal = 'viewed_together' AND product_id::text LIKE 'a4000000-%'$$,
    $$VALUES (1, 2, 1), (2, 1, 1), (1, 3, 1), (3, 1, 1), (2, 3, 2), (3, 2, 2),
             (4, 1, 1), (1, 4, 1), (4, 2, 1), (2, 4, 1), (4, 3, 1), (3, 4, 1)$$,
    'viewed_together: sessions that viewed both, each pair once per session, a repeated view not again'
);
SET LOCAL ROLE postcart_anon;
SELECT is(
    pg_temp.ids(api.product_recommendations(jsonb_build_object('id_or_slug', pg_temp.p(2), 'currency', 'XTS',
                                                               'strategy', 'also_viewed', 'limit', 3))),
    ARRAY[3, 1, 4],
    'also viewed: most sessions first'
);
RESET ROLE;

-- A session that views 60 products: the first 50 count.
INSERT INTO shop.products (id, slug, name)
SELECT ('a4100000-0000-4000-8000-' || lpad(n::text, 12, '0'))::uuid, 'tst40-many-' || n, 'Tst40 many ' || n
FROM generate_series(1, 60) AS n;
INSERT INTO shop.recommendation_inputs (session_id, product_id)
SELECT 'tst40-s3', ('a4100000-0000-4000-8000-' || lpad(n::text, 12, '0'))::uuid FROM generate_series(1, 60) AS n;
SET LOCAL ROLE postcart_worker;
DO $$ BEGIN PERFORM pg_temp.count_all(); END $$;
RESET ROLE;
SELECT is(
    (SELECT count(*) FROM shop.recommendation_session_views WHERE session_id = 'tst40-s3')::integer, 50,
    'a session counts its first 50 products'
);
SELECT is(
    (SELECT count(*) FROM shop.product_affinities WHERE product_id::text LIKE 'a4100000-%')::integer, 50 * 49,
    'and pairs those only'
);

-- Session views are forgotten 30 days on; the pairs they counted stay.
UPDATE shop.recommendation_session_views SET viewed_at = now() - INTERVAL '31 days' WHERE session_id = 'tst40-s2';
SET LOCAL ROLE postcart_worker;
SELECT cmp_ok(shop.sweep_recommendation_sessions(10000), '>=', 2, 'the sweep forgets old session views');
RESET ROLE;
SELECT is(
    ARRAY(SELECT DISTINCT session_id FROM shop.recommendation_session_views WHERE session_id LIKE 'tst40-s_'
          ORDER BY 1),
    ARRAY['tst40-s1', 'tst40-s3'],
    'the young ones stay'
);
SELECT is(
    (SELECT score::integer FROM shop.product_affinities
     WHERE product_id = pg_temp.p(2)::uuid AND other_id = pg_temp.p(3)::uuid AND signal = 'viewed_together'),
    2,
    'and so do the pairs they counted'
);

SELECT * FROM finish();
ROLLBACK;
