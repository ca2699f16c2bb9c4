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

-- == search ========================================================================================
-- The functions below set pg_trgm parameters; PostgreSQL lets their owner do so only once the extension's
-- library has defined the parameters in this session, which calling any pg_trgm function does.
SELECT extensions.word_similarity('', '') AS loads_pg_trgm;

CREATE OR REPLACE FUNCTION shop.search_candidates(main_word text, whole text)
RETURNS SETOF uuid
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
SET plan_cache_mode = force_custom_plan
-- The thresholds of api.list_products, which rechecks every candidate.
SET "pg_trgm.word_similarity_threshold" = 0.4
SET "pg_trgm.strict_word_similarity_threshold" = 0.5
AS $$
BEGIN
    -- Definer rights: the trigram operators are not leakproof, so under the callers' row-level security
    -- PostgreSQL may not use them in index scans and would compare every published product instead.
    -- Only published products are returned, which every caller may see.
    RETURN QUERY
    SELECT p.id
    FROM shop.products AS p
    WHERE
        p.status = 'published'
        AND (
            main_word <% p.search_name
            OR main_word <% p.search_name_compact
            OR p.search_description_compact LIKE '%' || main_word || '%'
            OR whole <<% p.search_name_compact
            OR p.search_description_compact LIKE '%' || whole || '%'
        );
END
$$;
COMMENT ON FUNCTION shop.search_candidates(text, text) IS
'Search candidates for api.list_products, through the trigram indexes: published products whose name '
'(search or compact form) holds a word resembling main_word (word similarity >= 0.4) or whose compact '
'name holds words resembling whole (strict word similarity >= 0.5), or whose compact description '
'contains either. main_word is the longest word of a search text, whole the text without spaces and '
'punctuation. Returns the product ids; the caller applies the remaining conditions.';
REVOKE ALL ON FUNCTION shop.search_candidates(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.search_candidates(text, text) TO postcart_anon;
GRANT EXECUTE ON FUNCTION shop.search_candidates(text, text) TO postcart_customer;
GRANT EXECUTE ON FUNCTION shop.search_candidates(text, text) TO postcart_staff;

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
-- A word of q matches a name when its trigrams resemble a word of the name this much (pg_trgm's default,
-- 0.6, misses one-letter typos in short words: "jaket" is 0.44 like "jacket", "hikng" 0.5 like "hiking").
SET "pg_trgm.word_similarity_threshold" = 0.4
-- The whole of q, compacted, must resemble whole words of the compact name this much (pg_trgm's default):
-- "tshirt" matches "classic tshirt" (1.0) but not "cat shirt" (0.44), "cremebrulee" not "cafe creme ...".
SET "pg_trgm.strict_word_similarity_threshold" = 0.5
AS $$
DECLARE
    fields jsonb := '{}';
    q text := nullif(btrim(args ->> 'q'), '');
    q_key text;
    q_words text[];
    q_terms text[];
    q_main text;
    q_whole text;
    q_compact text;
    category_slug text := nullif(btrim(args ->> 'category'), '');
    category_ids uuid[];
    collection_slug text := nullif(btrim(args ->> 'collection'), '');
    collection_product_ids uuid[];
    req_currency text := upper(coalesce(nullif(btrim(args ->> 'currency'), ''), 'EUR'));
    min_price bigint;
    max_price bigint;
    sort_order text := nullif(btrim(args ->> 'sort'), '');
    page_size integer;
    last_seen jsonb;
    after_num numeric;
    after_text text;
    after_id uuid;
    problem text;
    result jsonb;
BEGIN
    -- -- validate every parameter, then report all problems at once --------------------------------
    page_size := shop.page_size(args);
    IF page_size IS NULL THEN
        fields := fields || '{"limit": "must be between 1 and 100"}';
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
    IF collection_slug IS NOT NULL THEN
        SELECT coalesce(array_agg(cp.product_id), '{}') INTO collection_product_ids
        FROM shop.collections AS c
        LEFT JOIN shop.collection_products AS cp ON c.id = cp.collection_id
        WHERE c.slug = collection_slug
        GROUP BY c.id;
        IF collection_product_ids IS NULL THEN
            fields := fields || '{"collection": "no collection has this slug"}';
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

    -- Search. Accents and case never matter, and neither do hyphens or spaces inside words. A product
    -- matches when either
    --   every word of q is in its name allowing typos (trigram word similarity), in the search form or
    --   the compact one ("t-shirt" has the words "t" and "shirt", "tshirt" one), or appears in its
    --   description; words of one letter and a few filler words need not match, but one-letter words
    --   count for the ranking, so "t shirt" puts a T-shirt before a shirt; or
    --   the whole of q without spaces and punctuation ("tshirt" for "t shirt" and "T-Shirt") is a word
    --   (or run of words) of the compact name, typos allowed (strict word similarity), or appears in the
    --   compact description.
    -- The longest word and the whole find candidates through the trigram indexes (shop.search_candidates);
    -- the rest is checked on those.
    q_key := shop.search_key(q);
    IF q_key IS NOT NULL THEN
        SELECT
            array_agg(w.word ORDER BY length(w.word) DESC, w.word) FILTER (WHERE length(w.word) > 1),
            array_agg(w.word ORDER BY w.word)
        INTO q_words, q_terms
        FROM (
            SELECT DISTINCT t.word
            FROM regexp_split_to_table(q_key, '[^[:alnum:]]+') AS t (word)
            WHERE t.word <> '' AND t.word NOT IN ('and', 'for', 'the', 'with', 'of', 'in', 'a', 'an')
        ) AS w;
        q_compact := shop.compact_search_key(q);
        -- Empty when q holds no letter or digit at all ("%", "-"): then nothing matches.
        q_whole := regexp_replace(q_compact, '[^[:alnum:]]+', '', 'g');
        -- Only one-letter or filler words ("the", "a b"): then those must match.
        q_words := coalesce(q_words, q_terms, ARRAY[q_whole]);
        q_terms := coalesce(q_terms, q_words);
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

    -- Each product's lowest resolved price for the caller (customer group, price lists, markdowns, now).
    prices AS (
        SELECT r.product_id, r.amount
        FROM shop.caller_product_prices(req_currency::bpchar) AS r
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
        -- Relevance: how well the words match the name on average, or the whole of q a word of the
        -- compact name, whichever is better (a description hit counts 0.5), plus a little for the whole
        -- text resembling the name; 0..1, rounded so cursors carry it exactly.
        CROSS JOIN LATERAL (
            SELECT
                round(
                    (
                        0.8 * greatest(
                            (
                                SELECT avg(greatest(
                                    word_similarity(t.word, p.search_name),
                                    word_similarity(t.word, p.search_name_compact),
                                    CASE WHEN strpos(p.search_description_compact, t.word) > 0 THEN 0.5 ELSE 0 END
                                ))
                                FROM unnest(q_terms) AS t (word)
                            ),
                            strict_word_similarity(q_whole, p.search_name_compact),
                            CASE WHEN strpos(p.search_description_compact, q_whole) > 0 THEN 0.5 ELSE 0 END
                        )
                        + 0.2 * greatest(
                            similarity(q_key, p.search_name), similarity(q_compact, p.search_name_compact)
                        )
                    )::numeric,
                    6
                ) AS score,
                (
                    SELECT bool_and(
                        w.word <% p.search_name
                        OR w.word <% p.search_name_compact
                        OR p.search_description_compact LIKE '%' || w.word || '%'
                    )
                    FROM unnest(q_words) AS w (word)
                )
                OR q_whole <<% p.search_name_compact
                OR p.search_description_compact LIKE '%' || q_whole || '%' AS matches
        ) AS ranked
        WHERE
            -- The storefront lists published products to everyone (staff included); RLS additionally
            -- keeps anything else away from anonymous callers and customers.
            p.status = 'published' AND p.published_at <= now()
            AND (category_ids IS NULL OR p.category_id = ANY(category_ids))
            AND (collection_product_ids IS NULL OR p.id = ANY(collection_product_ids))
            AND (min_price IS NULL OR pr.amount >= min_price)
            AND (max_price IS NULL OR pr.amount <= max_price)
            AND (
                q_main IS NULL
                OR (
                    q_whole <> ''
                    AND p.id IN (SELECT c.id FROM shop.search_candidates(q_main, q_whole) AS c (id))
                    AND ranked.matches
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
'strings): q (search: every word must be in the name, typos tolerated, or in the description; accents, '
'case and hyphens or spaces inside words ignored, so "tshirt", "t shirt" and "T-Shirt" find the same; '
'best match first), category '
'(slug, includes subcategories), collection (slug), min_price and max_price (minor units, inclusive, '
'compared with the price shown: the lowest variant price resolved for the caller now, after its customer '
'group''s and sale price lists and markdowns, docs/pricing.md), currency (default EUR), sort (relevance '
'[default with q], newest [default '
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
    resolved jsonb;
    moved_to text;
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
        -- A former slug: 301 to the current one, if the caller may see the product.
        SELECT p.slug INTO moved_to FROM shop.products AS p WHERE p.id = shop.product_id_by_former_slug(lookup);
        IF moved_to IS NOT NULL THEN
            PERFORM shop.fail(
                301, 'moved_permanently',
                jsonb_build_object('location', '/v1/products/' || moved_to || CASE
                    WHEN args ? 'currency' THEN '?currency=' || req_currency ELSE '' END),
                'This product has a new slug; follow Location.'
            );
        END IF;
        PERFORM shop.fail(
            404, 'product_not_found',
            jsonb_build_object('id_or_slug', lookup),
            'No published product has this id or slug.'
        );
    END IF;

    -- Resolved unit prices by variant id: the caller's (customer group, now) for a published product; a
    -- draft, scheduled or archived one only staff can see, at the price with no customer group.
    IF product.status = 'published' AND product.published_at <= now() THEN
        SELECT jsonb_object_agg(r.variant_id, r.amount) INTO resolved
        FROM shop.caller_prices(
            ARRAY(SELECT pv.id FROM shop.product_variants AS pv WHERE pv.product_id = product.id),
            NULL, req_currency::bpchar
        ) AS r;
    ELSE
        SELECT jsonb_object_agg(r.variant_id, r.amount) INTO resolved
        FROM shop.resolve_prices(
            ARRAY(SELECT pv.id FROM shop.product_variants AS pv WHERE pv.product_id = product.id),
            NULL, req_currency::bpchar, NULL, now()
        ) AS r;
    END IF;
    resolved := coalesce(resolved, '{}');

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
        'media', coalesce((
            SELECT jsonb_agg(jsonb_build_object('url', m.url, 'alt', m.alt) ORDER BY m.position, m.id)
            FROM shop.product_media AS m WHERE m.product_id = product.id
        ), '[]'),
        'variants', coalesce((
            SELECT jsonb_agg(
                jsonb_build_object(
                    'id', v.id,
                    'sku', v.sku,
                    'name', v.name,
                    'options', v.options,
                    'price', CASE WHEN resolved ? v.id::text THEN
                        jsonb_build_object('amount', (resolved ->> v.id::text)::bigint, 'currency', req_currency)
                    END,
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
'like a uuid is looked up as a slug), currency (default EUR). Each variant''s price is its unit price '
'resolved for the caller now (customer group, price lists, markdowns: docs/pricing.md). Returns {id, '
'slug, name, description, attributes, category: {id, slug, name}|null, image_url, media: [{url, alt}], '
'variants: [{id, sku, name, options, price: {amount, currency}|null, in_stock, available_quantity}]}, '
'variants and media in display order. A former slug (the product was renamed) answers PT301 '
'moved_permanently with details.location, the path of the current slug. Errors: PT404 '
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
