-- Catalog API: product list with search, filters, facets and keyset pages; one product; the category
-- tree. SECURITY INVOKER throughout: what a caller sees is decided by the RLS policies of shop.*; stock
-- is reached only through the availability helpers of sql/shop/catalog.sql; cursors are sql/shop/01_cursors.sql.

-- == currencies ======================================================================================
CREATE OR REPLACE FUNCTION shop.currency_problem(currency text)
RETURNS text
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
    -- Definer rights: one index probe instead of walking the caller's visible prices; it reveals only
    -- whether anything is priced in the currency.
    SELECT CASE
        WHEN currency IS NULL OR currency !~ '^[A-Z]{3}$' THEN 'must be a three-letter ISO 4217 code such as EUR'
        WHEN NOT EXISTS (
            SELECT FROM shop.variant_prices AS vp WHERE vp.currency = currency_problem.currency::bpchar
        ) AND EXISTS (SELECT FROM shop.variant_prices)  -- an empty store lists nothing, without error
            THEN 'no products are priced in this currency'
    END
$$;
COMMENT ON FUNCTION shop.currency_problem(text) IS
'Checks a requested currency code. Returns NULL when some variant is priced in it (or nothing is priced '
'yet), else a human sentence saying what is wrong (for details.fields.currency). Reveals nothing else.';
REVOKE ALL ON FUNCTION shop.currency_problem(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.currency_problem(text) TO postcart_anon;
GRANT EXECUTE ON FUNCTION shop.currency_problem(text) TO postcart_customer;
GRANT EXECUTE ON FUNCTION shop.currency_problem(text) TO postcart_staff;

-- == GET /v1/products ================================================================================
CREATE OR REPLACE FUNCTION api.list_products(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
-- Every call is planned with its actual values, so the branches of absent filters fold away and the
-- trigram and category indexes are used when they help.
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    fields jsonb := '{}';
    q text := nullif(btrim(args ->> 'q'), '');
    q_key text;
    q_words text[];
    q_main text;
    category_slug text := nullif(btrim(args ->> 'category'), '');
    category_ids uuid[];
    req_currency text := upper(coalesce(nullif(btrim(args ->> 'currency'), ''), 'EUR'));
    min_price bigint;
    max_price bigint;
    sort_order text := nullif(btrim(args ->> 'sort'), '');
    page_size integer := 20;
    last_seen jsonb;
    after_num numeric;
    after_text text;
    after_id uuid;
    problem text;
    result jsonb;
BEGIN
    -- -- validate every parameter, then report all problems at once --------------------------------
    IF nullif(btrim(args ->> 'limit'), '') IS NOT NULL THEN
        IF btrim(args ->> 'limit') ~ '^[0-9]{1,4}$' AND btrim(args ->> 'limit')::integer BETWEEN 1 AND 100 THEN
            page_size := btrim(args ->> 'limit')::integer;
        ELSE
            fields := fields || '{"limit": "must be between 1 and 100"}';
        END IF;
    END IF;
    IF nullif(btrim(args ->> 'min_price'), '') IS NOT NULL THEN
        IF btrim(args ->> 'min_price') ~ '^[0-9]{1,15}$' THEN
            min_price := btrim(args ->> 'min_price')::bigint;
        ELSE
            fields := fields || '{"min_price": "must be a whole number of minor units (1999 = 19.99)"}';
        END IF;
    END IF;
    IF nullif(btrim(args ->> 'max_price'), '') IS NOT NULL THEN
        IF btrim(args ->> 'max_price') ~ '^[0-9]{1,15}$' THEN
            max_price := btrim(args ->> 'max_price')::bigint;
        ELSE
            fields := fields || '{"max_price": "must be a whole number of minor units (1999 = 19.99)"}';
        END IF;
    END IF;
    IF min_price > max_price THEN
        fields := fields || '{"max_price": "must not be less than min_price"}';
    END IF;
    IF length(q) > 200 THEN
        fields := fields || '{"q": "must be at most 200 characters"}';
    END IF;
    IF sort_order IS NULL THEN
        sort_order := CASE WHEN q IS NULL THEN 'newest' ELSE 'relevance' END;
    ELSIF sort_order NOT IN ('relevance', 'newest', 'price_asc', 'price_desc', 'name') THEN
        fields := fields || '{"sort": "must be one of relevance, newest, price_asc, price_desc, name"}';
    ELSIF sort_order = 'relevance' AND q IS NULL THEN
        fields := fields || '{"sort": "relevance needs a search text in q"}';
    END IF;
    problem := shop.currency_problem(req_currency);
    IF problem IS NOT NULL THEN
        fields := fields || jsonb_build_object('currency', problem);
    END IF;
    IF category_slug IS NOT NULL THEN
        WITH RECURSIVE subtree AS (
            SELECT c.id FROM shop.categories AS c WHERE c.slug = category_slug
            UNION
            SELECT c.id
            FROM shop.categories AS c
            INNER JOIN subtree AS s ON c.parent_id = s.id
        )
        SELECT array_agg(subtree.id) INTO category_ids FROM subtree;
        IF category_ids IS NULL THEN
            fields := fields || '{"category": "no category has this slug"}';
        END IF;
    END IF;
    IF fields <> '{}' THEN
        PERFORM shop.fail(
            400, 'validation_failed',
            jsonb_build_object('fields', fields),
            'Some query parameters are invalid; details.fields says which and why.'
        );
    END IF;

    -- -- where the previous page ended --------------------------------------------------------------
    IF nullif(args ->> 'cursor', '') IS NOT NULL THEN
        last_seen := shop.decode_cursor(args ->> 'cursor');
        BEGIN
            IF last_seen ->> 's' IS DISTINCT FROM sort_order THEN
                RAISE EXCEPTION 'cursor of another sort order';
            END IF;
            after_num := (last_seen ->> 'n')::numeric;
            after_text := last_seen ->> 't';
            after_id := (last_seen ->> 'id')::uuid;
            IF after_num IS NULL OR after_text IS NULL OR after_id IS NULL THEN
                RAISE EXCEPTION 'incomplete cursor';
            END IF;
        EXCEPTION WHEN OTHERS THEN
            PERFORM shop.fail(
                400, 'invalid_cursor',
                jsonb_build_object(
                    'fields', jsonb_build_object('cursor', 'is not a cursor of this sort order')
                ),
                'Pass back next_cursor exactly as a previous page returned it, with the same sort.'
            );
        END;
    END IF;

    -- Search: every word must be in the name allowing typos (trigram word similarity) or appear in the
    -- description; accents and case never matter; words of one letter and a few filler words are
    -- ignored. The longest word goes through the trigram indexes, the others are checked on its hits.
    q_key := shop.search_key(q);
    IF q_key IS NOT NULL THEN
        SELECT array_agg(w.word ORDER BY length(w.word) DESC, w.word)
        INTO q_words
        FROM (
            SELECT DISTINCT t.word
            FROM regexp_split_to_table(q_key, '[^[:alnum:]]+') AS t (word)
            WHERE length(t.word) > 1 AND t.word NOT IN ('and', 'for', 'the', 'with', 'of', 'in', 'a', 'an')
        ) AS w;
        q_words := coalesce(q_words, ARRAY[q_key]);
        q_main := q_words[1];
    END IF;

    -- -- one pass: the matching products, a page of them, and the facets over all of them ------------
    -- Every sort is expressed as an ascending key (sort_num, sort_text, id), so one keyset condition and
    -- one ORDER BY serve them all: newest is the negated publication epoch, price_desc the negated price,
    -- relevance the negated score, name the name.
    WITH RECURSIVE category_tree AS (
        SELECT c.id AS ancestor_id, c.id AS descendant_id
        FROM shop.categories AS c
        UNION
        SELECT t.ancestor_id, c.id
        FROM category_tree AS t
        INNER JOIN shop.categories AS c ON t.descendant_id = c.parent_id
    ),

    prices AS (
        SELECT vp.product_id, min(vp.amount) AS amount
        FROM shop.variant_prices AS vp
        WHERE vp.currency = req_currency::bpchar
        GROUP BY vp.product_id
    ),

    matched AS MATERIALIZED (
        SELECT
            p.id,
            p.slug,
            p.name,
            p.description,
            p.image_url,
            p.category_id,
            p.attributes,
            pr.amount AS price,
            ranked.score,
            coalesce(
                CASE sort_order
                    WHEN 'newest' THEN -extract(EPOCH FROM p.published_at)
                    WHEN 'price_asc' THEN pr.amount
                    WHEN 'price_desc' THEN -pr.amount
                    WHEN 'relevance' THEN -ranked.score
                END,
                0
            ) AS sort_num,
            CASE WHEN sort_order = 'name' THEN p.name ELSE '' END AS sort_text
        FROM shop.products AS p
        INNER JOIN prices AS pr ON p.id = pr.product_id
        -- Relevance: how well each word matches the name (a description hit counts 0.5), plus a little
        -- for the whole text resembling the name; 0..1, rounded so cursors carry it exactly.
        CROSS JOIN LATERAL (
            SELECT
                round(
                    (
                        0.8 * avg(greatest(
                            word_similarity(w.word, p.search_name),
                            CASE WHEN strpos(p.search_description, w.word) > 0 THEN 0.5 ELSE 0 END
                        ))
                        + 0.2 * similarity(q_key, p.search_name)
                    )::numeric,
                    6
                ) AS score,
                bool_and(
                    w.word <% p.search_name OR p.search_description LIKE '%' || w.word || '%'
                ) AS every_word_matches
            FROM unnest(q_words) AS w (word)
        ) AS ranked
        WHERE
            -- The storefront lists published products to everyone (staff included); RLS additionally
            -- keeps anything else away from anonymous callers and customers.
            p.status = 'published'
            AND (category_ids IS NULL OR p.category_id = ANY(category_ids))
            AND (min_price IS NULL OR pr.amount >= min_price)
            AND (max_price IS NULL OR pr.amount <= max_price)
            AND (
                q_main IS NULL
                OR (
                    (q_main <% p.search_name OR p.search_description LIKE '%' || q_main || '%')
                    AND ranked.every_word_matches
                )
            )
    ),

    page AS (
        SELECT m.*
        FROM matched AS m
        WHERE
            after_id IS NULL
            OR (m.sort_num, m.sort_text, m.id) > (after_num, after_text, after_id)
        ORDER BY m.sort_num, m.sort_text, m.id
        LIMIT page_size + 1
    ),

    numbered AS (
        SELECT
            page.*,
            row_number() OVER (ORDER BY page.sort_num, page.sort_text, page.id) AS n
        FROM page
    )

    SELECT jsonb_build_object(
        'items', coalesce((
            SELECT jsonb_agg(
                jsonb_build_object(
                    'id', n.id,
                    'slug', n.slug,
                    'name', n.name,
                    'description', n.description,
                    'price', jsonb_build_object('amount', n.price, 'currency', req_currency),
                    'in_stock', coalesce(a.available > 0, FALSE),
                    'image_url', n.image_url,
                    'category', CASE WHEN c.id IS NOT NULL THEN
                        jsonb_build_object('id', c.id, 'slug', c.slug, 'name', c.name)
                    END
                )
                ORDER BY n.n
            )
            FROM numbered AS n
            LEFT JOIN shop.categories AS c ON n.category_id = c.id
            LEFT JOIN shop.product_availability(
                ARRAY(SELECT numbered.id FROM numbered WHERE numbered.n <= page_size)
            ) AS a ON n.id = a.product_id
            WHERE n.n <= page_size
        ), '[]'),
        'next_cursor', (
            SELECT shop.encode_cursor(
                jsonb_build_object('s', sort_order, 'n', n.sort_num, 't', n.sort_text, 'id', n.id)
            )
            FROM numbered AS n
            WHERE n.n = page_size AND EXISTS (SELECT FROM numbered AS more WHERE more.n > page_size)
        ),
        'facets', jsonb_build_object(
            'categories', coalesce((
                SELECT jsonb_agg(
                    jsonb_build_object('slug', c.slug, 'name', c.name, 'count', f.n)
                    ORDER BY f.n DESC, c.name, c.slug
                )
                FROM (
                    SELECT t.ancestor_id, count(*) AS n
                    FROM matched AS m
                    INNER JOIN category_tree AS t ON m.category_id = t.descendant_id
                    GROUP BY t.ancestor_id
                ) AS f
                INNER JOIN shop.categories AS c ON f.ancestor_id = c.id
            ), '[]'),
            'price_ranges', coalesce((
                SELECT jsonb_agg(
                    jsonb_build_object('min', r.low, 'max', r.high, 'count', r.n) ORDER BY r.low
                )
                FROM (
                    SELECT b.low, b.high, count(*) AS n
                    FROM matched AS m
                    INNER JOIN (
                        VALUES (0, 999), (1000, 2499), (2500, 4999), (5000, 9999), (10000, NULL)
                    ) AS b (low, high)
                        ON m.price >= b.low AND (b.high IS NULL OR m.price <= b.high)
                    GROUP BY b.low, b.high
                ) AS r
            ), '[]'),
            'attributes', coalesce((
                SELECT jsonb_agg(
                    jsonb_build_object('name', attr.name, 'values', attr.vals) ORDER BY attr.name
                )
                FROM (
                    SELECT
                        kv.name,
                        jsonb_agg(
                            jsonb_build_object('value', kv.value, 'count', kv.n) ORDER BY kv.n DESC, kv.value
                        ) AS vals
                    FROM (
                        SELECT e.key AS name, e.value, count(*) AS n
                        FROM matched AS m
                        CROSS JOIN LATERAL jsonb_each_text(m.attributes) AS e
                        WHERE jsonb_typeof(m.attributes -> e.key) IN ('string', 'number', 'boolean')
                        GROUP BY e.key, e.value
                    ) AS kv
                    GROUP BY kv.name
                ) AS attr
            ), '[]')
        )
    )
    INTO result;

    RETURN result;
END
$$;
COMMENT ON FUNCTION api.list_products(jsonb) IS
'GET /v1/products: published products, one page at a time. Arguments (query-string values may be '
'strings): q (search: every word must be in the name, typos tolerated, or in the description; accents '
'and case ignored; best match first), category '
'(slug, includes subcategories), min_price and max_price (minor units, inclusive, compared with the '
'lowest variant price), currency (default EUR), sort (relevance [default with q], newest [default '
'without q], price_asc, price_desc, name), limit (1..100, default 20), cursor (next_cursor of the '
'previous page). Only products priced in the currency are listed. Returns {items: [{id, slug, name, '
'description, price: {amount, currency}, in_stock, image_url, category: {id, slug, name}|null}], '
'next_cursor: text|null, facets: {categories: [{slug, name, count}], price_ranges: [{min, max, count}], '
'attributes: [{name, values: [{value, count}]}]}}; facets count all matching products, not just the page. '
'Errors: PT400 validation_failed (details.fields), PT400 invalid_cursor.';
REVOKE ALL ON FUNCTION api.list_products(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.list_products(jsonb) TO postcart_anon;
GRANT EXECUTE ON FUNCTION api.list_products(jsonb) TO postcart_customer;
GRANT EXECUTE ON FUNCTION api.list_products(jsonb) TO postcart_staff;

-- == GET /v1/products/{id_or_slug} ===================================================================
CREATE OR REPLACE FUNCTION api.get_product(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    lookup text := nullif(btrim(args ->> 'id_or_slug'), '');
    key_id uuid;
    req_currency text := upper(coalesce(nullif(btrim(args ->> 'currency'), ''), 'EUR'));
    problem text;
    product shop.products%ROWTYPE;
    result jsonb;
BEGIN
    problem := shop.currency_problem(req_currency);
    IF lookup IS NULL OR problem IS NOT NULL THEN
        PERFORM shop.fail(
            400, 'validation_failed',
            jsonb_build_object('fields', jsonb_strip_nulls(jsonb_build_object(
                'id_or_slug', CASE WHEN lookup IS NULL THEN 'is required' END,
                'currency', problem
            ))),
            'Some parameters are invalid; details.fields says which and why.'
        );
    END IF;
    -- Anything shaped like a uuid is tried as an id (and as a slug); everything else only as a slug, so a
    -- malformed id is simply not found.
    IF lookup ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$' THEN
        key_id := lookup::uuid;
    END IF;

    SELECT
        p.id, p.slug, p.name, p.description, p.attributes, p.category_id, p.image_url, p.status,
        p.published_at
    INTO product.id, product.slug, product.name, product.description, product.attributes,
        product.category_id, product.image_url, product.status, product.published_at
    FROM shop.products AS p
    WHERE p.id = key_id OR p.slug = lookup
    ORDER BY p.id = key_id DESC
    LIMIT 1;

    IF product.id IS NULL THEN
        PERFORM shop.fail(
            404, 'product_not_found',
            jsonb_build_object('id_or_slug', lookup),
            'No published product has this id or slug.'
        );
    END IF;

    SELECT jsonb_build_object(
        'id', product.id,
        'slug', product.slug,
        'name', product.name,
        'description', product.description,
        'attributes', product.attributes,
        'category', (
            SELECT jsonb_build_object('id', c.id, 'slug', c.slug, 'name', c.name)
            FROM shop.categories AS c
            WHERE c.id = product.category_id
        ),
        'image_url', product.image_url,
        'variants', coalesce((
            SELECT jsonb_agg(
                jsonb_build_object(
                    'id', v.id,
                    'sku', v.sku,
                    'name', v.name,
                    'options', v.options,
                    'price', (
                        SELECT jsonb_build_object('amount', vp.amount, 'currency', vp.currency)
                        FROM shop.variant_prices AS vp
                        WHERE vp.variant_id = v.id AND vp.currency = req_currency::bpchar
                    ),
                    'in_stock', coalesce(a.available > 0, FALSE),
                    'available_quantity', greatest(coalesce(a.available, 0), 0)
                )
                ORDER BY v.position, v.sku
            )
            FROM shop.product_variants AS v
            LEFT JOIN shop.variant_availability(
                ARRAY(SELECT pv.id FROM shop.product_variants AS pv WHERE pv.product_id = product.id)
            ) AS a ON v.id = a.variant_id
            WHERE v.product_id = product.id
        ), '[]')
    )
    INTO result;
    RETURN result;
END
$$;
COMMENT ON FUNCTION api.get_product(jsonb) IS
'GET /v1/products/{id_or_slug}: one product the caller may see (published ones for anonymous callers '
'and customers; staff also see drafts). Arguments: id_or_slug (a uuid or a slug; anything not shaped '
'like a uuid is looked up as a slug), currency (default EUR). Returns {id, slug, name, description, '
'attributes, category: {id, slug, name}|null, image_url, variants: [{id, sku, name, options, price: '
'{amount, currency}|null, in_stock, available_quantity}]}, variants in display order. Errors: PT404 '
'product_not_found, PT400 validation_failed.';
REVOKE ALL ON FUNCTION api.get_product(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.get_product(jsonb) TO postcart_anon;
GRANT EXECUTE ON FUNCTION api.get_product(jsonb) TO postcart_customer;
GRANT EXECUTE ON FUNCTION api.get_product(jsonb) TO postcart_staff;

-- == GET /v1/categories ==============================================================================
CREATE OR REPLACE FUNCTION api.list_categories(args jsonb)
RETURNS jsonb
LANGUAGE sql
STABLE
SECURITY INVOKER
AS $$
    SELECT jsonb_build_object('items', shop.category_children(NULL))
$$;
COMMENT ON FUNCTION api.list_categories(jsonb) IS
'GET /v1/categories: the whole category tree. Takes no arguments (args is ignored). Returns {items: '
'[{id, slug, name, children: [...same shape...]}]}, siblings ordered by position then name.';
REVOKE ALL ON FUNCTION api.list_categories(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.list_categories(jsonb) TO postcart_anon;
GRANT EXECUTE ON FUNCTION api.list_categories(jsonb) TO postcart_customer;
GRANT EXECUTE ON FUNCTION api.list_categories(jsonb) TO postcart_staff;
