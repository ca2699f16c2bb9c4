-- Upkeep of the storefront's read model (migration 0018): shop.product_listings and
-- shop.product_listing_prices. Writers never touch them: triggers on every table they derive from queue
-- the products a statement changed, and a constraint trigger rewrites those listings once, at the end of
-- the statement or, for bulk loads that defer it, at commit (one rewrite, not one per table loaded).
-- Stock is the exception: a checkout must not rewrite a product's prices, so availability is updated
-- on its own, at once. Repeatable: applied after the migrations on every deploy.

-- == the rewrite =====================================================================================
CREATE OR REPLACE FUNCTION shop.search_text(key text, compact text)
RETURNS text
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    -- Words written with punctuation inside ("t-shirt") are split by the text-search parser ("t-shirt",
    -- "t", "shirt"); the compact form adds them joined ("tshirt"), the form q is compacted to. Only then:
    -- this runs for every listing a bulk load writes.
    SELECT CASE WHEN key ~ '[[:alnum:]][^[:alnum:][:space:]]+[[:alnum:]]' THEN key || ' ' || compact ELSE key END
$$;
COMMENT ON FUNCTION shop.search_text(text, text) IS
'The text of one weight of a listing''s search document: a text in search form (shop.search_key) and, '
'when some word of it has punctuation inside, its compact form too (shop.compact_search_key): "classic '
't-shirt" -> "classic t-shirt classic tshirt". Returns text.';
REVOKE ALL ON FUNCTION shop.search_text(text, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION shop.listing_price_spans(p_product_ids uuid[])
RETURNS TABLE (
    product_id uuid, currency char(3), customer_group_id uuid, valid_during tstzrange, min_amount bigint,
    max_amount bigint
)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
-- Compiling these plans costs more than running them.
SET jit = off
AS $$
DECLARE
    span record;
    touched uuid[];
BEGIN
    -- A product no price list or markdown reaches, now or later, costs its base prices at all times: one
    -- aggregate for all of them (the whole catalog, in a plain store).
    touched := ARRAY(
        SELECT v.product_id
        FROM shop.product_variants AS v
        INNER JOIN shop.price_list_prices AS pp ON v.id = pp.variant_id
        WHERE
            v.product_id IN (SELECT unnest(p_product_ids))
            AND (upper_inf(pp.valid_during) OR upper(pp.valid_during) > now())
        UNION
        SELECT l.product_id
        FROM shop.product_listings AS l
        INNER JOIN shop.markdowns AS m
            ON
                l.product_id = m.product_id
                OR m.category_id = ANY(l.category_path)
                OR m.collection_id = ANY(l.collection_ids)
        WHERE l.product_id IN (SELECT unnest(p_product_ids)) AND m.ends_at > now()
    );
    RETURN QUERY
    SELECT vp.product_id, vp.currency, NULL::uuid, tstzrange(NULL, NULL), min(vp.amount), max(vp.amount)
    FROM shop.variant_prices AS vp
    WHERE
        vp.product_id IN (SELECT unnest(p_product_ids))
        AND vp.product_id NOT IN (SELECT unnest(touched))
    GROUP BY vp.product_id, vp.currency;
    IF cardinality(touched) = 0 THEN
        RETURN;
    END IF;

    -- The others are resolved span by span. The instants after now at which a price of these products can change: a price list window of one
    -- of their variants or a markdown on them (or their category or its ancestors) opening or closing.
    -- Between two of them every price is constant, so resolving once per span is exact.
    CREATE TEMPORARY TABLE IF NOT EXISTS listing_spans (
        product_id uuid, currency char(3), customer_group_id uuid, starts_at timestamptz, ends_at timestamptz
    ) ON COMMIT DROP;
    -- Tells plpgsql_check the table's shape (it does not run the CREATE); at run time it only evaluates a constant.
    PERFORM 'PRAGMA:TABLE: listing_spans (product_id uuid, currency char(3), customer_group_id uuid, starts_at timestamptz, ends_at timestamptz)';
    TRUNCATE listing_spans;
    INSERT INTO listing_spans
    WITH targets AS (
        SELECT l.product_id, l.category_path, l.collection_ids
        FROM shop.product_listings AS l
        WHERE l.product_id IN (SELECT unnest(touched))
    ),

    changes AS (
        SELECT t.product_id, b.at
        FROM targets AS t
        INNER JOIN shop.product_variants AS v ON t.product_id = v.product_id
        INNER JOIN shop.price_list_prices AS pp ON v.id = pp.variant_id
        CROSS JOIN LATERAL (VALUES (lower(pp.valid_during)), (upper(pp.valid_during))) AS b (at)
        WHERE b.at > now()
        UNION
        SELECT t.product_id, b.at
        FROM targets AS t
        INNER JOIN shop.markdowns AS m
            ON
                t.product_id = m.product_id
                OR m.category_id = ANY(t.category_path)
                OR m.collection_id = ANY(t.collection_ids)
        CROSS JOIN LATERAL (VALUES (m.starts_at), (m.ends_at)) AS b (at)
        WHERE b.at > now()
    ),

    spans AS (
        SELECT s.product_id, s.starts_at, lead(s.starts_at) OVER (PARTITION BY s.product_id ORDER BY s.starts_at) AS ends_at
        FROM (
            SELECT t.product_id, '-infinity'::timestamptz AS starts_at FROM targets AS t
            UNION ALL
            SELECT c.product_id, c.at FROM changes AS c
        ) AS s
    ),

    -- Everyone, and each customer group with a price list on one of the product's variants.
    audiences AS (
        SELECT t.product_id, NULL::uuid AS customer_group_id FROM targets AS t
        UNION
        SELECT t.product_id, pp.customer_group_id
        FROM targets AS t
        INNER JOIN shop.product_variants AS v ON t.product_id = v.product_id
        INNER JOIN shop.price_list_prices AS pp ON v.id = pp.variant_id
        WHERE pp.customer_group_id IS NOT NULL AND (upper_inf(pp.valid_during) OR upper(pp.valid_during) > now())
    ),

    currencies AS (
        SELECT DISTINCT vp.product_id, vp.currency
        FROM shop.variant_prices AS vp
        WHERE vp.product_id IN (SELECT unnest(touched))
    )

    SELECT c.product_id, c.currency, a.customer_group_id, s.starts_at, s.ends_at
    FROM currencies AS c
    INNER JOIN audiences AS a ON c.product_id = a.product_id
    INNER JOIN spans AS s ON c.product_id = s.product_id;
    -- Statistics, so the joins below hash instead of looping when the whole catalog is rewritten.
    ANALYZE listing_spans;

    -- One resolution per (currency, audience, instant) for all the products that share it: for a plain
    -- catalog that is one call per currency.
    FOR span IN
        SELECT DISTINCT ls.currency, ls.customer_group_id, ls.starts_at FROM listing_spans AS ls
    LOOP
        RETURN QUERY
        SELECT
            r.product_id, span.currency, span.customer_group_id,
            tstzrange(span.starts_at, ls.ends_at, '[)'),
            min(r.amount)::bigint, max(r.amount)::bigint
        FROM shop.resolve_prices(
            ARRAY(
                SELECT v.id
                FROM listing_spans AS s
                INNER JOIN shop.product_variants AS v ON s.product_id = v.product_id
                WHERE
                    s.currency = span.currency
                    AND s.customer_group_id IS NOT DISTINCT FROM span.customer_group_id
                    AND s.starts_at = span.starts_at
            ),
            NULL, span.currency, span.customer_group_id, greatest(span.starts_at, now())
        ) AS r
        INNER JOIN listing_spans AS ls
            ON r.product_id = ls.product_id
            AND ls.currency = span.currency
            AND ls.customer_group_id IS NOT DISTINCT FROM span.customer_group_id
            AND ls.starts_at = span.starts_at
        GROUP BY r.product_id, ls.ends_at;
    END LOOP;
END
$$;
COMMENT ON FUNCTION shop.listing_price_spans(uuid[]) IS
'The price rows of the read model for the given products (which must have their listing row): for each '
'currency they are priced in, for everyone and for each customer group with a price list on one of their '
'variants, and for each span between the instants (after now) at which a price list window or a markdown '
'opens or closes, the lowest and highest unit price shop.resolve_prices gives their variants at quantity 1. '
'Returns (product_id, currency, customer_group_id, valid_during, min_amount, max_amount).';
REVOKE ALL ON FUNCTION shop.listing_price_spans(uuid[]) FROM PUBLIC;

CREATE OR REPLACE FUNCTION shop.refresh_product_listings(p_product_ids uuid[])
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
SET jit = off
AS $$
DECLARE
    rewritten integer;
BEGIN
    -- Lock first, in id order, then read in the next statements: under READ COMMITTED those see every
    -- transaction that held a lock on these rows before us, so two transactions rewriting one product
    -- one after the other can never leave the older view behind.
    PERFORM FROM shop.product_listings AS l
    WHERE l.product_id = ANY(p_product_ids)
    ORDER BY l.product_id
    FOR UPDATE;

    WITH RECURSIVE wanted AS (
        SELECT p.* FROM shop.products AS p WHERE p.id IN (SELECT unnest(p_product_ids))
    ),

    -- Each wanted category with its ancestors, nearest first.
    ancestry AS (
        SELECT c.id AS category_id, c.id AS ancestor_id, c.parent_id, 0 AS depth
        FROM shop.categories AS c
        WHERE c.id IN (SELECT w.category_id FROM wanted AS w)
        UNION ALL
        SELECT a.category_id, c.id, c.parent_id, a.depth + 1
        FROM ancestry AS a
        INNER JOIN shop.categories AS c ON a.parent_id = c.id
    ),

    paths AS (
        SELECT
            a.category_id,
            array_agg(a.ancestor_id ORDER BY a.depth) AS category_path,
            string_agg(c.name, ' ' ORDER BY a.depth) AS category_names
        FROM ancestry AS a
        INNER JOIN shop.categories AS c ON a.ancestor_id = c.id
        GROUP BY a.category_id
    ),

    collections AS (
        SELECT cp.product_id, array_agg(cp.collection_id ORDER BY cp.collection_id) AS collection_ids
        FROM shop.collection_products AS cp
        WHERE cp.product_id IN (SELECT unnest(p_product_ids))
        GROUP BY cp.product_id
    )

    INSERT INTO shop.product_listings AS l (
        product_id, visible_from, published_at, name, category_path, collection_ids, available,
        facet_values, search_document, summary, refreshed_at
    )
    SELECT
        w.id,
        shop.visible_from(w.status, w.published_at),
        w.published_at,
        w.name,
        coalesce(pa.category_path, '{}'),
        coalesce(co.collection_ids, '{}'),
        coalesce(av.available, 0),
        ARRAY(
            SELECT e.key || '=' || e.value
            FROM jsonb_each_text(w.attributes) AS e
            WHERE jsonb_typeof(w.attributes -> e.key) IN ('string', 'number', 'boolean')
            ORDER BY 1
        ),
        setweight(to_tsvector('simple', shop.search_text(w.search_name, w.search_name_compact)), 'A')
        || setweight(to_tsvector('simple', shop.search_text(
            shop.search_key(related.words), shop.compact_search_key(related.words)
        )), 'B')
        || setweight(to_tsvector('simple', shop.search_text(w.search_description, w.search_description_compact)), 'C'),
        jsonb_build_object(
            'id', w.id,
            'slug', w.slug,
            'name', w.name,
            'description', w.description,
            'image_url', w.image_url,
            'category', CASE WHEN c.id IS NOT NULL THEN
                jsonb_build_object('id', c.id, 'slug', c.slug, 'name', c.name)
            END
        ),
        now()
    FROM wanted AS w
    LEFT JOIN shop.categories AS c ON w.category_id = c.id
    LEFT JOIN paths AS pa ON w.category_id = pa.category_id
    LEFT JOIN collections AS co ON w.id = co.product_id
    LEFT JOIN shop.product_availability(p_product_ids) AS av ON w.id = av.product_id
    -- Category names and attribute values: the middle weight of the search document.
    CROSS JOIN LATERAL (
        SELECT concat_ws(' ', pa.category_names, (
            SELECT string_agg(e.value, ' ' ORDER BY e.key)
            FROM jsonb_each_text(w.attributes) AS e
            WHERE jsonb_typeof(w.attributes -> e.key) IN ('string', 'number')
        )) AS words
    ) AS related
    ON CONFLICT (product_id) DO UPDATE SET
        visible_from = excluded.visible_from,
        published_at = excluded.published_at,
        name = excluded.name,
        category_path = excluded.category_path,
        collection_ids = excluded.collection_ids,
        available = excluded.available,
        facet_values = excluded.facet_values,
        search_document = excluded.search_document,
        summary = excluded.summary,
        refreshed_at = excluded.refreshed_at;
    GET DIAGNOSTICS rewritten = ROW_COUNT;

    -- New words for the search dictionary, from published (or scheduled) products only. A writer adding a
    -- word another running transaction added waits for it (the primary key); in word order, so two such
    -- statements never deadlock (two transactions adding new words in several statements each, crosswise,
    -- could: one is then rolled back, as in any deadlock).
    INSERT INTO shop.search_words (word)
    SELECT d.word
    FROM (
        SELECT DISTINCT unnest(tsvector_to_array(l.search_document)) AS word
        FROM shop.product_listings AS l
        WHERE l.product_id IN (SELECT unnest(p_product_ids)) AND l.visible_from IS NOT NULL
    ) AS d
    WHERE
        d.word ~ '^[[:alnum:]]{2,60}$' AND d.word ~ '[[:alpha:]]'
        AND NOT EXISTS (SELECT FROM shop.search_words AS s WHERE s.word = d.word)
    ORDER BY d.word
    ON CONFLICT DO NOTHING;

    DELETE FROM shop.product_listing_prices AS lp WHERE lp.product_id IN (SELECT unnest(p_product_ids));
    INSERT INTO shop.product_listing_prices (
        product_id, currency, customer_group_id, valid_during, min_amount, max_amount
    )
    SELECT s.product_id, s.currency, s.customer_group_id, s.valid_during, s.min_amount, s.max_amount
    FROM shop.listing_price_spans(p_product_ids) AS s;
    RETURN rewritten;
END
$$;
COMMENT ON FUNCTION shop.refresh_product_listings(uuid[]) IS
'Rewrites the read model rows (shop.product_listings and shop.product_listing_prices) of the given products '
'from the catalog tables, locking them first. Products that no longer exist are skipped (their rows went '
'with them). Returns the number of listings written.';
REVOKE ALL ON FUNCTION shop.refresh_product_listings(uuid[]) FROM PUBLIC;

-- == facets memo ====================================================================================
CREATE OR REPLACE FUNCTION shop.remember_listing_facets(
    p_filter_key text, p_version text, p_facets jsonb,
    p_candidates uuid[], p_candidate_scores numeric[], p_candidate_amounts bigint[]
)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
-- A request never waits long for the memo: another transaction writing the same key gives way at once.
SET lock_timeout = '20ms'
AS $$
BEGIN
    -- Counts of older versions are never read again. Content versions ("content:…", see
    -- shop.catalog_content_version) and whole versions move apart: each only replaces its own kind.
    -- Rows another transaction is deleting or writing are skipped, not waited for: requests listing at a
    -- version change would otherwise lock the same stale rows in different orders and deadlock.
    DELETE FROM shop.listing_facets AS f
    WHERE f.filter_key IN (
        SELECT s.filter_key
        FROM shop.listing_facets AS s
        WHERE s.catalog_version <> p_version AND (s.catalog_version LIKE 'content:%') = (p_version LIKE 'content:%')
        FOR UPDATE SKIP LOCKED
    );
    INSERT INTO shop.listing_facets (
        filter_key, catalog_version, facets, candidates, candidate_scores, candidate_amounts
    )
    VALUES (p_filter_key, p_version, p_facets, p_candidates, p_candidate_scores, p_candidate_amounts)
    ON CONFLICT (filter_key) DO UPDATE
    SET catalog_version = excluded.catalog_version, facets = excluded.facets, candidates = excluded.candidates,
        candidate_scores = excluded.candidate_scores, candidate_amounts = excluded.candidate_amounts,
        computed_at = now();
EXCEPTION
    -- The memo is an optimisation: not storing it is never worth an error.
    WHEN read_only_sql_transaction THEN
        NULL;  -- on a read-only standby the facets are simply counted every time
    WHEN deadlock_detected OR lock_not_available OR serialization_failure THEN
        NULL;  -- another transaction holds the same key: its counts serve the next request
END
$$;
COMMENT ON FUNCTION shop.remember_listing_facets(text, text, jsonb, uuid[], numeric[], bigint[]) IS
'Stores the facets api.list_products counted for a filter key at a catalog version, with a search''s '
'matches (ids, scores, prices shown; NULL without q), and drops the rows of '
'other versions of the same kind that no other transaction holds. Returns nothing; never raises: in a '
'read-only transaction, or when another transaction holds the key for over 20 ms (lock_timeout), it '
'stores nothing.';
REVOKE ALL ON FUNCTION shop.remember_listing_facets(text, text, jsonb, uuid[], numeric[], bigint[]) FROM PUBLIC;

CREATE OR REPLACE FUNCTION shop.await_listing_facets(p_filter_key text, p_version text)
RETURNS shop.listing_facets
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
SET lock_timeout = '2s'
AS $$
BEGIN
    -- One request counts a filter's facets at a version while the others wait for its answer: right after a
    -- version change, the first page of a 100,000-product catalog counts for 0.6 s, and sixteen requests
    -- counting it at once spent sixteen times that. The lock is the transaction's, released when the
    -- counting request commits its memo; a waiter then reads the memo in a fresh snapshot (VOLATILE).
    PERFORM pg_advisory_xact_lock(hashtextextended('postcart.listing_facets:' || p_filter_key, 0));
    RETURN (
        SELECT f FROM shop.listing_facets AS f WHERE f.filter_key = p_filter_key AND f.catalog_version = p_version
    );
EXCEPTION WHEN lock_not_available OR deadlock_detected THEN
    RETURN NULL;  -- waited 2 s: count them here too
END
$$;
COMMENT ON FUNCTION shop.await_listing_facets(text, text) IS
'Single flight for the facets memo: takes the filter key''s transaction-level advisory lock (waiting while '
'another request counts the same facets, at most 2 s) and returns the memo row (facets, and a search''s '
'matches) stored for the key at p_version since, or NULL when the caller is to count them (it then holds '
'the lock until it commits).';
REVOKE ALL ON FUNCTION shop.await_listing_facets(text, text) FROM PUBLIC;

-- == the queue =======================================================================================
CREATE OR REPLACE FUNCTION shop.queue_listing_refresh(p_product_ids uuid[])
RETURNS void
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
    -- In id order, so two transactions queueing overlapping sets wait for each other instead of
    -- deadlocking. A product queued by a transaction still running waits for it to end.
    INSERT INTO shop.product_listing_queue (product_id)
    SELECT DISTINCT q.id FROM unnest(p_product_ids) AS q (id) WHERE q.id IS NOT NULL ORDER BY q.id
    ON CONFLICT DO NOTHING;
    INSERT INTO shop.product_listing_flushes (transaction_id)
    SELECT pg_current_xact_id() WHERE cardinality(p_product_ids) > 0
    ON CONFLICT DO NOTHING;
$$;
COMMENT ON FUNCTION shop.queue_listing_refresh(uuid[]) IS
'Marks products whose listing the current transaction must rewrite (the constraint trigger on '
'shop.product_listing_flushes does it at the end of the statement, or once at commit when deferred). '
'Returns nothing.';
REVOKE ALL ON FUNCTION shop.queue_listing_refresh(uuid[]) FROM PUBLIC;

CREATE OR REPLACE FUNCTION shop.tg_product_listing_flushes__flush()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    queued uuid[];
BEGIN
    DELETE FROM shop.product_listing_flushes AS f WHERE f.transaction_id = NEW.transaction_id;
    WITH taken AS (DELETE FROM shop.product_listing_queue RETURNING product_id)
    SELECT array_agg(taken.product_id ORDER BY taken.product_id) INTO queued FROM taken;
    IF queued IS NOT NULL THEN
        PERFORM shop.refresh_product_listings(queued);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION shop.tg_product_listing_flushes__flush() IS
'Constraint trigger on shop.product_listing_flushes, fired at the end of the statement (or at commit when '
'deferred): rewrites the listings this transaction queued and empties its queue (only its own rows are '
'visible to it). Returns NULL.';
REVOKE ALL ON FUNCTION shop.tg_product_listing_flushes__flush() FROM PUBLIC;

-- == what feeds the read model =======================================================================
-- One trigger function per table; each runs for INSERT, UPDATE and DELETE statements (three triggers,
-- since a trigger with transition tables serves one event) and queues the products the rows belong to.
CREATE OR REPLACE FUNCTION shop.tg_products__queue_listing()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
BEGIN
    -- A deleted product takes its listing along (foreign key).
    PERFORM shop.queue_listing_refresh(ARRAY(SELECT n.id FROM new_rows AS n));
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION shop.tg_products__queue_listing() IS
'AFTER INSERT/UPDATE statement trigger on shop.products: queues the rewrite of the products'' listings. '
'Returns NULL.';

CREATE OR REPLACE FUNCTION shop.tg__queue_product_listings()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM shop.queue_listing_refresh(ARRAY(SELECT n.product_id FROM new_rows AS n));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM shop.queue_listing_refresh(
            ARRAY(SELECT n.product_id FROM new_rows AS n UNION SELECT o.product_id FROM old_rows AS o)
        );
    ELSE
        PERFORM shop.queue_listing_refresh(ARRAY(SELECT o.product_id FROM old_rows AS o));
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION shop.tg__queue_product_listings() IS
'AFTER INSERT/UPDATE/DELETE statement trigger on a table whose rows carry product_id (shop.product_variants, '
'shop.variant_prices, shop.collection_products): queues the rewrite of the listings of those products, old '
'and new. Returns NULL.';

CREATE OR REPLACE FUNCTION shop.tg_price_list_prices__queue_listing()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM shop.queue_listing_refresh(ARRAY(
            SELECT v.product_id FROM new_rows AS n INNER JOIN shop.product_variants AS v ON n.variant_id = v.id
        ));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM shop.queue_listing_refresh(ARRAY(
            SELECT v.product_id
            FROM (SELECT n.variant_id FROM new_rows AS n UNION SELECT o.variant_id FROM old_rows AS o) AS r
            INNER JOIN shop.product_variants AS v ON r.variant_id = v.id
        ));
    ELSE
        PERFORM shop.queue_listing_refresh(ARRAY(
            SELECT v.product_id FROM old_rows AS o INNER JOIN shop.product_variants AS v ON o.variant_id = v.id
        ));
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION shop.tg_price_list_prices__queue_listing() IS
'AFTER INSERT/UPDATE/DELETE statement trigger on shop.price_list_prices (also fired when a list''s window, '
'group or priority changes, through their re-derivation): queues the rewrite of the listings of the '
'prices'' products. Returns NULL.';

CREATE OR REPLACE FUNCTION shop.tg_markdowns__queue_listing()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    touched_products uuid[];
    touched_categories uuid[];
    touched_collections uuid[];
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT array_agg(n.product_id), array_agg(n.category_id), array_agg(n.collection_id)
        INTO touched_products, touched_categories, touched_collections
        FROM new_rows AS n;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        SELECT
            touched_products || array_agg(o.product_id),
            touched_categories || array_agg(o.category_id),
            touched_collections || array_agg(o.collection_id)
        INTO touched_products, touched_categories, touched_collections
        FROM old_rows AS o;
    END IF;
    -- A category markdown reaches every product whose category path holds the category; a collection
    -- markdown every product in the collection.
    PERFORM shop.queue_listing_refresh(ARRAY(
        SELECT t.id FROM unnest(touched_products) AS t (id) WHERE t.id IS NOT NULL
        UNION
        SELECT l.product_id
        FROM shop.product_listings AS l
        WHERE l.category_path && ARRAY(SELECT t.id FROM unnest(touched_categories) AS t (id) WHERE t.id IS NOT NULL)
        UNION
        SELECT l.product_id
        FROM shop.product_listings AS l
        WHERE l.collection_ids && ARRAY(SELECT t.id FROM unnest(touched_collections) AS t (id) WHERE t.id IS NOT NULL)
    ));
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION shop.tg_markdowns__queue_listing() IS
'AFTER INSERT/UPDATE/DELETE statement trigger on shop.markdowns: queues the rewrite of the listings of every '
'product a changed markdown covers (its product, every product in its category or below, or in its '
'collection). Returns NULL.';

CREATE OR REPLACE FUNCTION shop.tg_categories__queue_listing()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
BEGIN
    -- A rename changes the summaries and search documents below; a move changes the category paths and
    -- the markdowns that reach the products below. Inserts reach no product yet; a deleted category
    -- empties its products' category_id, an update of shop.products.
    PERFORM shop.queue_listing_refresh(ARRAY(
        SELECT l.product_id
        FROM shop.product_listings AS l
        WHERE l.category_path && ARRAY(
            SELECT n.id
            FROM new_rows AS n
            INNER JOIN old_rows AS o ON n.id = o.id
            WHERE (n.name, n.slug, n.parent_id) IS DISTINCT FROM (o.name, o.slug, o.parent_id)
        )
    ));
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION shop.tg_categories__queue_listing() IS
'AFTER UPDATE statement trigger on shop.categories: when a category is renamed or moved, queues the '
'rewrite of the listings of every product in it or below it. Returns NULL.';

CREATE OR REPLACE FUNCTION shop.tg_stock_levels__listing_available()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    variant_ids uuid[];
    units bigint[];
    products uuid[];
    deltas bigint[];
BEGIN
    -- Each changed stock row adds what it makes available now and takes back what it made available
    -- before; summed per product, that is the change of the product's availability.
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(n.variant_id), array_agg(shop.stock_available(n.on_hand, n.reserved))
        INTO variant_ids, units
        FROM new_rows AS n;
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT array_agg(c.variant_id), array_agg(c.units)
        INTO variant_ids, units
        FROM (
            SELECT n.variant_id, shop.stock_available(n.on_hand, n.reserved)::bigint AS units FROM new_rows AS n
            UNION ALL
            SELECT o.variant_id, -shop.stock_available(o.on_hand, o.reserved)::bigint FROM old_rows AS o
        ) AS c;
    ELSE
        SELECT array_agg(o.variant_id), array_agg(-shop.stock_available(o.on_hand, o.reserved)::bigint)
        INTO variant_ids, units
        FROM old_rows AS o;
    END IF;
    SELECT array_agg(d.product_id ORDER BY d.product_id), array_agg(d.delta ORDER BY d.product_id)
    INTO products, deltas
    FROM (
        SELECT v.product_id, sum(c.units) AS delta
        FROM unnest(variant_ids, units) AS c (variant_id, units)
        INNER JOIN shop.product_variants AS v ON c.variant_id = v.id
        -- Products queued for a rewrite in this transaction are recounted then (a bulk load's stock, before
        -- its listings exist, costs nothing here).
        WHERE NOT EXISTS (SELECT FROM shop.product_listing_queue AS q WHERE q.product_id = v.product_id)
        GROUP BY v.product_id
        HAVING sum(c.units) <> 0
    ) AS d;
    IF products IS NULL THEN
        RETURN NULL;  -- e.g. a reservation on backorder: nothing shown changes, the catalog version stays
    END IF;
    -- One product at a time, in product order (two multi-product writers cannot deadlock). An UPDATE that
    -- waited for another writer of the row adds to the value that writer committed, so the sum stays exact
    -- under races without recounting the products' other stock rows. (A statement per product keeps one
    -- cached plan; a set-based UPDATE over the arrays was planned afresh on every call.)
    FOR n IN 1 .. cardinality(products) LOOP
        UPDATE shop.product_listings AS l
        SET available = l.available + deltas[n]
        WHERE l.product_id = products[n];
    END LOOP;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION shop.tg_stock_levels__listing_available() IS
'AFTER INSERT/UPDATE/DELETE statement trigger on shop.stock_levels: adds the change in availability '
'(shop.stock_available of the new rows minus that of the old ones, per product) to the products'' listings '
'at once, without rewriting the rest of the listing or recounting other stock rows; products whose '
'availability did not change are not touched. Returns NULL.';

-- == triggers ========================================================================================
CREATE OR REPLACE TRIGGER listing_insert AFTER INSERT ON shop.products
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION shop.tg_products__queue_listing();
CREATE OR REPLACE TRIGGER listing_update AFTER UPDATE ON shop.products
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION shop.tg_products__queue_listing();

CREATE OR REPLACE TRIGGER listing_insert AFTER INSERT ON shop.product_variants
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION shop.tg__queue_product_listings();
CREATE OR REPLACE TRIGGER listing_update AFTER UPDATE ON shop.product_variants
REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION shop.tg__queue_product_listings();
CREATE OR REPLACE TRIGGER listing_delete AFTER DELETE ON shop.product_variants
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION shop.tg__queue_product_listings();

CREATE OR REPLACE TRIGGER listing_insert AFTER INSERT ON shop.variant_prices
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION shop.tg__queue_product_listings();
CREATE OR REPLACE TRIGGER listing_update AFTER UPDATE ON shop.variant_prices
REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION shop.tg__queue_product_listings();
CREATE OR REPLACE TRIGGER listing_delete AFTER DELETE ON shop.variant_prices
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION shop.tg__queue_product_listings();

CREATE OR REPLACE TRIGGER listing_insert AFTER INSERT ON shop.price_list_prices
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION shop.tg_price_list_prices__queue_listing();
CREATE OR REPLACE TRIGGER listing_update AFTER UPDATE ON shop.price_list_prices
REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION shop.tg_price_list_prices__queue_listing();
CREATE OR REPLACE TRIGGER listing_delete AFTER DELETE ON shop.price_list_prices
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION shop.tg_price_list_prices__queue_listing();

CREATE OR REPLACE TRIGGER listing_insert AFTER INSERT ON shop.markdowns
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION shop.tg_markdowns__queue_listing();
CREATE OR REPLACE TRIGGER listing_update AFTER UPDATE ON shop.markdowns
REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION shop.tg_markdowns__queue_listing();
CREATE OR REPLACE TRIGGER listing_delete AFTER DELETE ON shop.markdowns
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION shop.tg_markdowns__queue_listing();

CREATE OR REPLACE TRIGGER listing_update AFTER UPDATE ON shop.categories
REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION shop.tg_categories__queue_listing();

CREATE OR REPLACE TRIGGER listing_insert AFTER INSERT ON shop.collection_products
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION shop.tg__queue_product_listings();
CREATE OR REPLACE TRIGGER listing_update AFTER UPDATE ON shop.collection_products
REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION shop.tg__queue_product_listings();
CREATE OR REPLACE TRIGGER listing_delete AFTER DELETE ON shop.collection_products
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION shop.tg__queue_product_listings();

CREATE OR REPLACE TRIGGER listing_available_insert AFTER INSERT ON shop.stock_levels
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION shop.tg_stock_levels__listing_available();
CREATE OR REPLACE TRIGGER listing_available_update AFTER UPDATE ON shop.stock_levels
REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION shop.tg_stock_levels__listing_available();
CREATE OR REPLACE TRIGGER listing_available_delete AFTER DELETE ON shop.stock_levels
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION shop.tg_stock_levels__listing_available();

-- At the end of each statement by default, so a transaction reads its own writes in the listings too. A
-- bulk load (shop.seed_catalog, the CSV import) runs `SET CONSTRAINTS shop.product_listings_flush
-- DEFERRED` and pays for one rewrite at commit. CREATE OR REPLACE does not exist for constraint triggers.
DROP TRIGGER IF EXISTS product_listings_flush ON shop.product_listing_flushes;
CREATE CONSTRAINT TRIGGER product_listings_flush AFTER INSERT ON shop.product_listing_flushes
DEFERRABLE INITIALLY IMMEDIATE
FOR EACH ROW EXECUTE FUNCTION shop.tg_product_listing_flushes__flush();

REVOKE ALL ON FUNCTION shop.tg_products__queue_listing() FROM PUBLIC;
REVOKE ALL ON FUNCTION shop.tg__queue_product_listings() FROM PUBLIC;
REVOKE ALL ON FUNCTION shop.tg_price_list_prices__queue_listing() FROM PUBLIC;
REVOKE ALL ON FUNCTION shop.tg_markdowns__queue_listing() FROM PUBLIC;
REVOKE ALL ON FUNCTION shop.tg_categories__queue_listing() FROM PUBLIC;
REVOKE ALL ON FUNCTION shop.tg_stock_levels__listing_available() FROM PUBLIC;

-- == deploy ==========================================================================================
-- Listings for products that have none (all of them, the first time) or that a migration marked stale by
-- setting refreshed_at to -infinity (0028: compact words in the search document); usually nothing to do.
SELECT shop.refresh_product_listings(
    array(
        SELECT p.id
        FROM shop.products AS p
        WHERE NOT EXISTS (
            SELECT FROM shop.product_listings AS l
            WHERE l.product_id = p.id AND l.refreshed_at > '-infinity'
        )
    )
) AS listings_written;

-- Not SECURITY DEFINER and no SET: PostgreSQL inlines it into the query that calls it, as if the lateral
-- subquery were written there (the callers are definer functions reading the read model).
CREATE OR REPLACE FUNCTION shop.listing_price(p_product_id uuid, p_currency bpchar, p_customer_group uuid)
RETURNS TABLE (amount bigint)
LANGUAGE sql
STABLE
AS $$
    SELECT lp.min_amount
    FROM shop.product_listing_prices AS lp
    WHERE
        lp.product_id = p_product_id AND lp.currency = p_currency
        AND (lp.customer_group_id IS NULL OR lp.customer_group_id = p_customer_group)
        AND lp.valid_during @> now()
    ORDER BY lp.customer_group_id NULLS LAST
    LIMIT 1
$$;
COMMENT ON FUNCTION shop.listing_price(uuid, bpchar, uuid) IS
'The price a product is shown at now in a currency, from the read model: its lowest resolved unit price for '
'the customer group (its own row where it has one, else everyone''s); no row when it is not priced in the '
'currency. Returns TABLE (amount bigint), for a LATERAL join.';
REVOKE ALL ON FUNCTION shop.listing_price(uuid, bpchar, uuid) FROM PUBLIC;
