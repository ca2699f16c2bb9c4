-- == GET /v1/products/{id_or_slug}/recommendations (docs/recommendations.md) =========================

CREATE OR REPLACE FUNCTION api.product_recommendations(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
-- Definer rights: the counts (shop.product_affinities, shop.category_bestsellers) are the owner's alone,
-- and the items come from the read model under the storefront's rule (listed when visible_from <= now()),
-- like api.list_products.
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
SET jit = off
-- Its queries are planned once per session: their plans do not depend on the product asked for, and
-- planning the page's query on every call (PL/pgSQL's custom plans) cost as much as running it.
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    lookup text := nullif(btrim(args ->> 'id_or_slug'), '');
    key_id uuid;
    req_currency text := upper(coalesce(nullif(btrim(args ->> 'currency'), ''), 'EUR'));
    req_strategy text := coalesce(nullif(btrim(args ->> 'strategy'), ''), 'frequently_bought_together');
    req_signal text;
    page_size integer;
    fields jsonb := '{}';
    problem text;
    caller_group uuid := shop.current_customer_group();
    source_id uuid;
    source_path uuid[];
    found jsonb;
    from_signal integer;
    more jsonb;
    wanted integer;
BEGIN
    IF nullif(btrim(args ->> 'limit'), '') IS NULL THEN
        page_size := 8;
    ELSIF btrim(args ->> 'limit') ~ '^[0-9]{1,3}$' AND btrim(args ->> 'limit')::integer BETWEEN 1 AND 24 THEN
        page_size := btrim(args ->> 'limit')::integer;
    ELSE
        fields := fields || '{"limit": "must be between 1 and 24"}';
    END IF;
    req_signal := CASE req_strategy
        WHEN 'frequently_bought_together' THEN 'bought_together'
        WHEN 'also_viewed' THEN 'viewed_together'
    END;
    IF req_signal IS NULL THEN
        fields := fields || '{"strategy": "must be frequently_bought_together or also_viewed"}';
    END IF;
    problem := shop.currency_problem(req_currency);
    IF problem IS NOT NULL THEN
        fields := fields || jsonb_build_object('currency', problem);
    END IF;
    IF lookup IS NULL THEN
        fields := fields || '{"id_or_slug": "is required"}';
    END IF;
    IF fields <> '{}' THEN
        PERFORM shop.fail(
            400, 'validation_failed',
            jsonb_build_object('fields', fields),
            'Some parameters are invalid; details.fields says which and why.'
        );
    END IF;
    wanted := page_size * 4;

    IF lookup ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$' THEN
        key_id := lookup::uuid;
    END IF;
    SELECT l.product_id, l.category_path
    INTO source_id, source_path
    FROM shop.product_listings AS l
    INNER JOIN shop.products AS p ON l.product_id = p.id
    WHERE (p.id = key_id OR p.slug = lookup) AND l.visible_from <= now()
    ORDER BY p.id = key_id DESC
    LIMIT 1;
    IF source_id IS NULL THEN
        PERFORM shop.fail(
            404, 'product_not_found',
            jsonb_build_object('id_or_slug', lookup),
            'No published product has this id or slug.'
        );
    END IF;

    -- The signal's partners, strongest first, then the bestsellers of the product's category and of each
    -- category above it, nearest first; each product once, at its best place; only products listed now,
    -- in stock and priced in the currency for the caller (its customer group's price where it has one).
    -- The first `wanted` candidates only, so that a page reads a few dozen rows whatever the counts hold;
    -- should most of them be sold out, the newest products below fill the page.
    WITH candidates AS (
        SELECT DISTINCT ON (c.id) c.id, c.tier, c.pos
        FROM (
            SELECT a.other_id AS id, 1 AS tier, row_number() OVER (ORDER BY a.score DESC, a.other_id) AS pos
            FROM (
                SELECT x.other_id, x.score
                FROM shop.product_affinities AS x
                WHERE x.product_id = source_id AND x.signal = req_signal
                ORDER BY x.score DESC, x.other_id
                LIMIT wanted
            ) AS a
            UNION ALL
            SELECT b.product_id, 2, array_position(source_path, b.category_id) * 1000 + b.rank
            FROM shop.category_bestsellers AS b
            WHERE b.category_id = ANY(source_path) AND b.rank <= wanted
        ) AS c
        WHERE c.id <> source_id
        ORDER BY c.id, c.tier, c.pos
    ),

    first_ones AS (
        SELECT c.id, c.tier, c.pos FROM candidates AS c
        ORDER BY c.tier, c.pos
        LIMIT wanted
    ),

    page AS (
        SELECT c.tier, c.pos, l.summary, pr.amount
        FROM first_ones AS c
        INNER JOIN shop.product_listings AS l ON c.id = l.product_id
        CROSS JOIN LATERAL shop.listing_price(l.product_id, req_currency::bpchar, caller_group) AS pr
        WHERE l.visible_from <= now() AND l.available > 0
        ORDER BY c.tier, c.pos
        LIMIT page_size
    )

    SELECT
        coalesce(jsonb_agg(
            p.summary || jsonb_build_object(
                'price', jsonb_build_object('amount', p.amount, 'currency', req_currency), 'in_stock', TRUE
            )
            ORDER BY p.tier, p.pos
        ), '[]'),
        count(*) FILTER (WHERE p.tier = 1)
    INTO found, from_signal
    FROM page AS p;

    -- Short of a page (a new shop, a category without sales): the newest products of the same category
    -- (of the whole catalog for a product without one) fill it.
    IF jsonb_array_length(found) < page_size THEN
        SELECT coalesce(jsonb_agg(
            n.summary || jsonb_build_object(
                'price', jsonb_build_object('amount', n.amount, 'currency', req_currency), 'in_stock', TRUE
            )
            ORDER BY n.published_at DESC, n.product_id
        ), '[]')
        INTO more
        FROM (
            SELECT l.product_id, l.published_at, l.summary, pr.amount
            FROM shop.product_listings AS l
            CROSS JOIN LATERAL shop.listing_price(l.product_id, req_currency::bpchar, caller_group) AS pr
            WHERE
                l.visible_from <= now() AND l.available > 0 AND l.product_id <> source_id
                AND (cardinality(source_path) = 0 OR l.category_path @> source_path[1:1])
                AND NOT found @> jsonb_build_array(jsonb_build_object('id', l.product_id))
            ORDER BY l.published_at DESC, l.product_id
            LIMIT page_size - jsonb_array_length(found)
        ) AS n;
        found := found || more;
    END IF;

    RETURN jsonb_build_object(
        'items', found,
        'strategy', CASE WHEN from_signal > 0 THEN req_strategy ELSE 'category_bestsellers' END,
        'matched', from_signal
    );
END
$$;
COMMENT ON FUNCTION api.product_recommendations(jsonb) IS
'GET /v1/products/{id_or_slug}/recommendations: products to show beside a published product. Arguments: '
'id_or_slug, strategy (frequently_bought_together [default]: products most often in the same orders; '
'also_viewed: products most often viewed in the same browsing sessions), limit (1..24, default 8), '
'currency (default EUR). The strategy''s products come first, strongest first; the rest of the page is '
'the bestsellers of the product''s category and of each category above it, then the newest products of '
'its category. Only products listed now, in stock and priced in the currency, never the product itself. '
'Returns {items: [product summaries as in GET /v1/products], strategy: the one asked for when it gave the '
'first items, else category_bestsellers, matched: how many items the strategy itself gave}. Errors: PT400 '
'validation_failed (details.fields), PT404 product_not_found.';
REVOKE ALL ON FUNCTION api.product_recommendations(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.product_recommendations(jsonb) TO postcart_anon;
GRANT EXECUTE ON FUNCTION api.product_recommendations(jsonb) TO postcart_customer;
GRANT EXECUTE ON FUNCTION api.product_recommendations(jsonb) TO postcart_staff;
