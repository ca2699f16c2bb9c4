-- Recommendations (migration 0047, docs/recommendations.md): the worker's update_recommendations task
-- counts the orders and product views queued in shop.recommendation_inputs into pair counts
-- (shop.product_affinities), sales per product and the bestsellers of each category;
-- api.product_recommendations (sql/api/recommendations.sql) reads them.

CREATE OR REPLACE FUNCTION shop.update_recommendations(p_batch_size integer DEFAULT 1000)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    -- A big order or a crawling session would add pairs by the square of its size and say little: the
    -- first products of each count, the rest do not.
    max_basket constant integer := 30;
    max_session constant integer := 50;
    v_taken integer;
    v_orders uuid[];
    v_sessions text[];
    v_products uuid[];
    v_fresh_sessions text[];
    v_fresh_products uuid[];
    v_categories uuid[];
BEGIN
    PERFORM shop.check_batch_size(p_batch_size);
    -- One counter at a time: two workers would each miss the pairs between the views of one session that
    -- are split across their batches. The other one returns 0 (nothing done) and tries again later.
    IF NOT pg_try_advisory_xact_lock(hashtext('shop.update_recommendations')) THEN
        RETURN 0;
    END IF;

    WITH taken AS (
        DELETE FROM shop.recommendation_inputs AS q
        WHERE q.id IN (SELECT i.id FROM shop.recommendation_inputs AS i ORDER BY i.id LIMIT p_batch_size)
        RETURNING q.*
    )

    SELECT
        count(*)::integer,
        array_agg(t.order_id) FILTER (WHERE t.order_id IS NOT NULL),
        array_agg(t.session_id ORDER BY t.id) FILTER (WHERE t.session_id IS NOT NULL),
        array_agg(t.product_id ORDER BY t.id) FILTER (WHERE t.session_id IS NOT NULL)
    INTO v_taken, v_orders, v_sessions, v_products
    FROM taken AS t;
    IF v_taken = 0 THEN
        RETURN 0;
    END IF;

    -- -- orders: pairs of products in one order, units per product, the bestsellers they change ----------
    IF v_orders IS NOT NULL THEN
        WITH lines AS (
            SELECT i.order_id, i.product_id, sum(i.quantity) AS units, min(i.position) AS first_position
            FROM shop.order_items AS i
            WHERE i.order_id = ANY(v_orders) AND i.product_id IS NOT NULL  -- NULL: the product was deleted
            GROUP BY i.order_id, i.product_id
        ),

        basket AS (
            SELECT
                l.order_id,
                l.product_id,
                row_number() OVER (PARTITION BY l.order_id ORDER BY l.first_position) AS n
            FROM lines AS l
        ),

        -- Runs to completion although nothing reads it, like every data-modifying WITH.
        pairs AS (
            INSERT INTO shop.product_affinities AS a (product_id, signal, other_id, score)
            SELECT x.product_id, 'bought_together', y.product_id, count(*)
            FROM basket AS x
            INNER JOIN basket AS y ON x.order_id = y.order_id AND x.product_id <> y.product_id
            WHERE x.n <= max_basket AND y.n <= max_basket
            GROUP BY x.product_id, y.product_id
            ORDER BY x.product_id, y.product_id
            ON CONFLICT (product_id, signal, other_id) DO UPDATE
                SET score = a.score + excluded.score, updated_at = now()
        )

        INSERT INTO shop.product_sales_counts AS s (product_id, units, orders)
        SELECT l.product_id, sum(l.units), count(*)
        FROM lines AS l
        GROUP BY l.product_id
        ORDER BY l.product_id
        ON CONFLICT (product_id) DO UPDATE
            SET units = s.units + excluded.units, orders = s.orders + excluded.orders;

        -- The bestsellers of every category above a product just sold, recomputed from the counts.
        SELECT array_agg(DISTINCT c.id)
        INTO v_categories
        FROM shop.product_listings AS l
        CROSS JOIN LATERAL unnest(l.category_path) AS c (id)
        WHERE l.product_id IN (SELECT i.product_id FROM shop.order_items AS i WHERE i.order_id = ANY(v_orders));
        IF v_categories IS NOT NULL THEN
            DELETE FROM shop.category_bestsellers AS b WHERE b.category_id = ANY(v_categories);
            INSERT INTO shop.category_bestsellers (category_id, rank, product_id)
            SELECT c.id, t.rank, t.product_id
            FROM unnest(v_categories) AS c (id)
            CROSS JOIN LATERAL (
                SELECT s.product_id, row_number() OVER (ORDER BY s.units DESC, s.product_id) AS rank
                FROM shop.product_sales_counts AS s
                INNER JOIN shop.product_listings AS l ON s.product_id = l.product_id
                WHERE l.category_path @> ARRAY[c.id] AND l.visible_from IS NOT NULL
                ORDER BY s.units DESC, s.product_id
                LIMIT 100
            ) AS t;
        END IF;
    END IF;

    -- -- product views: each product a session views for the first time pairs with those it viewed before --
    IF v_sessions IS NOT NULL THEN
        WITH viewed AS (
            SELECT DISTINCT ON (v.session_id, v.product_id) v.session_id, v.product_id, v.ord
            FROM unnest(v_sessions, v_products) WITH ORDINALITY AS v (session_id, product_id, ord)
            WHERE EXISTS (SELECT FROM shop.products AS p WHERE p.id = v.product_id)  -- not deleted since
            ORDER BY v.session_id, v.product_id, v.ord
        ),

        ranked AS (
            SELECT w.session_id, w.product_id, row_number() OVER (PARTITION BY w.session_id ORDER BY w.ord) AS n
            FROM viewed AS w
        ),

        fresh AS (
            INSERT INTO shop.recommendation_session_views (session_id, product_id)
            SELECT r.session_id, r.product_id
            FROM ranked AS r
            WHERE
                r.n + (
                    SELECT count(*) FROM shop.recommendation_session_views AS s WHERE s.session_id = r.session_id
                ) <= max_session
            ORDER BY r.session_id, r.product_id
            ON CONFLICT (session_id, product_id) DO NOTHING
            RETURNING session_id, product_id
        )

        SELECT array_agg(f.session_id), array_agg(f.product_id)
        INTO v_fresh_sessions, v_fresh_products
        FROM fresh AS f;

        IF v_fresh_sessions IS NOT NULL THEN
            -- Each unordered pair with a fresh view once: a fresh product pairs with every other product of
            -- the session, except a fresh one sorting after it (that one pairs with it instead).
            WITH fresh AS (
                SELECT f.session_id, f.product_id
                FROM unnest(v_fresh_sessions, v_fresh_products) AS f (session_id, product_id)
            ),

            pairs AS (
                SELECT f.product_id AS x, s.product_id AS y
                FROM fresh AS f
                INNER JOIN shop.recommendation_session_views AS s
                    ON f.session_id = s.session_id AND f.product_id <> s.product_id
                WHERE NOT EXISTS (
                    SELECT FROM fresh AS g
                    WHERE g.session_id = s.session_id AND g.product_id = s.product_id AND g.product_id > f.product_id
                )
            ),

            both_ways AS (
                SELECT p.x AS product_id, p.y AS other_id FROM pairs AS p
                UNION ALL
                SELECT p.y, p.x FROM pairs AS p
            )

            INSERT INTO shop.product_affinities AS a (product_id, signal, other_id, score)
            SELECT b.product_id, 'viewed_together', b.other_id, count(*)
            FROM both_ways AS b
            GROUP BY b.product_id, b.other_id
            ORDER BY b.product_id, b.other_id
            ON CONFLICT (product_id, signal, other_id) DO UPDATE
                SET score = a.score + excluded.score, updated_at = now();
        END IF;
    END IF;
    RETURN v_taken;
END
$$;
COMMENT ON FUNCTION shop.update_recommendations(integer) IS
'For postcart_worker (task update_recommendations): takes up to p_batch_size (1 to 10000) inputs off '
'shop.recommendation_inputs, oldest first, and counts them: an order adds 1 to bought_together for every '
'pair of its first 30 distinct products (both ways), its units to shop.product_sales_counts, and recomputes '
'shop.category_bestsellers for the categories above its products; a product viewed for the first time in '
'a session (up to 50 products per session) adds 1 to viewed_together with each product the session viewed '
'before. One call at a time (an advisory lock: a concurrent call returns 0). Returns the inputs taken.';

CREATE OR REPLACE FUNCTION shop.sweep_recommendation_sessions(p_batch_size integer DEFAULT 1000)
RETURNS integer
-- PL/pgSQL, checked when first called: shop.sweep_rows (sweeps.sql) is created after this file.
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
BEGIN
    -- A session's views pair with each other for 30 days; its counted pairs stay in the affinities.
    RETURN shop.sweep_rows('shop.recommendation_session_views', 'viewed_at', INTERVAL '30 days', p_batch_size);
END
$$;
COMMENT ON FUNCTION shop.sweep_recommendation_sessions(integer) IS
'For postcart_worker: forgets up to p_batch_size (1 to 10000) products viewed in browsing sessions more '
'than 30 days ago (shop.recommendation_session_views); returns how many.';

REVOKE EXECUTE ON FUNCTION shop.update_recommendations(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.update_recommendations(integer) TO postcart_worker;
REVOKE EXECUTE ON FUNCTION shop.sweep_recommendation_sessions(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.sweep_recommendation_sessions(integer) TO postcart_worker;
