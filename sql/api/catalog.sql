-- Catalog API: product list with search, filters, facets and keyset pages; one product; the category
-- tree. SECURITY INVOKER throughout: what a caller sees is decided by the RLS policies of shop.*; stock
-- is reached only through the availability helpers of sql/shop/catalog.sql; cursors are sql/shop/01_cursors.sql.

-- == currencies ======================================================================================
CREATE OR REPLACE FUNCTION shop.currency_problem(currency text)
RETURNS text
-- PL/pgSQL keeps the plan for the session (a SQL function with definer rights is planned on every call).
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
BEGIN
    -- Definer rights: one index probe instead of walking the caller's visible prices; it reveals only
    -- whether anything is priced in the currency.
    RETURN CASE
        WHEN currency IS NULL OR currency !~ '^[A-Z]{3}$' THEN 'must be a three-letter ISO 4217 code such as EUR'
        WHEN NOT EXISTS (
            SELECT FROM shop.variant_prices AS vp WHERE vp.currency = currency_problem.currency::bpchar
        ) AND EXISTS (SELECT FROM shop.variant_prices)  -- an empty store lists nothing, without error
            THEN 'no products are priced in this currency'
    END;
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
-- The function below sets a pg_trgm parameter; PostgreSQL lets its owner do so only once the extension's
-- library has defined the parameters in this session, which calling any pg_trgm function does.
SELECT extensions.word_similarity('', '') AS loads_pg_trgm;

CREATE OR REPLACE FUNCTION shop.search_queries(words text[], whole text, terms text[])
RETURNS TABLE (exact tsquery, fuzzy tsquery, ranking tsquery)
LANGUAGE plpgsql
STABLE
-- Definer rights: the dictionary is not granted to the callers, and under row-level security the trigram
-- operators (not leakproof) could not use its index. The dictionary holds words of published (or
-- scheduled) products only, and what comes back is a query, matched against listed products.
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
-- A word of q resembles a dictionary word when its trigrams match a part of it this much (pg_trgm's
-- default, 0.6, misses one-letter typos in short words: "jaket" is 0.44 like "jacket", "hikng" 0.5 like
-- "hiking").
SET "pg_trgm.word_similarity_threshold" = 0.4
-- and resembles it as a whole at least this much: "tst5" shares with "tshirt" only its start (word
-- similarity 0.4, similarity 0.2), "prka" with "parka" more (0.6 and 0.375).
SET "pg_trgm.similarity_threshold" = 0.3
-- The whole of q compacted must resemble a dictionary word this much: "http23prka" is 0.5 like "http23".
SET "pg_trgm.strict_word_similarity_threshold" = 0.6
-- Through the trigram index even when the dictionary is small enough for the planner to prefer reading it
-- (or its primary key) whole: that computes the similarity to every word, a few microseconds each.
SET enable_seqscan = off
SET enable_indexscan = off
SET enable_indexonlyscan = off
-- Planned once per connection: the plans above do not depend on the words.
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    typed text;
    alike text[];
    exact_parts text[] := '{}';
    fuzzy_parts text[] := '{}';
    ranked text[] := terms;
    whole_alike text[] := '{}';
BEGIN
    -- Each word with its most similar dictionary words (typos, other endings) and the longer words that
    -- contain it, at most ten, closest first. The whole of q, when it is not one of the words, only with
    -- words it resembles as a whole (strict word similarity >= 0.6: "tshirt" for "t shirt", not "tst5"
    -- for "tst5 hodie").
    FOR typed IN SELECT DISTINCT w.word FROM unnest(array_append(words, whole)) AS w (word) WHERE w.word <> '' LOOP
        -- Two statements, not one with a CASE: a condition that depends on which word this is cannot be
        -- an index condition, and the dictionary was read whole for every word (0.3 ms at 284 words).
        IF typed = ANY(words) THEN
            alike := ARRAY(
                SELECT s.word
                FROM shop.search_words AS s
                WHERE (typed <% s.word AND typed % s.word) OR (length(typed) >= 3 AND s.word LIKE '%' || typed || '%')
                ORDER BY word_similarity(typed, s.word) DESC, similarity(typed, s.word) DESC, s.word
                LIMIT 10
            );
        ELSE
            alike := ARRAY(
                SELECT s.word
                FROM shop.search_words AS s
                WHERE typed <<% s.word
                ORDER BY word_similarity(typed, s.word) DESC, similarity(typed, s.word) DESC, s.word
                LIMIT 10
            );
        END IF;
        -- A word the dictionary could hold but does not is in no listed product: left out of the
        -- alternatives (unless it has none), so the index never looks for it.
        IF typed !~ '^[[:alnum:]]{2,60}$' OR typed !~ '[[:alpha:]]' OR typed = ANY(alike) THEN
            alike := array_prepend(typed, array_remove(alike, typed));
        END IF;
        IF typed = ANY(words) THEN
            exact_parts := exact_parts || quote_literal(typed);
            fuzzy_parts := fuzzy_parts || ('(' || array_to_string(ARRAY(
                SELECT DISTINCT quote_literal(a) FROM unnest(coalesce(nullif(alike, '{}'), ARRAY[typed])) AS a
            ), ' | ') || ')');
        END IF;
        IF typed = whole THEN
            whole_alike := alike;
        END IF;
        ranked := ranked || typed || alike;
    END LOOP;
    exact := array_to_string(exact_parts, ' & ')::tsquery;
    fuzzy := array_to_string(fuzzy_parts, ' & ')::tsquery;
    -- The whole of q compacted ("tshirt" for "t shirt", "snowboard" for "snow board") is an alternative to
    -- its words, when some listed product has it or a word like it (an alternative nothing has would only
    -- make the index read every word's matches instead of their common ones).
    IF NOT whole = ANY(words) AND cardinality(whole_alike) > 0 THEN
        IF whole = ANY(whole_alike) THEN
            exact := exact || quote_literal(whole)::tsquery;
        END IF;
        fuzzy := fuzzy || ('(' || array_to_string(ARRAY(
            SELECT DISTINCT quote_literal(a) FROM unnest(whole_alike) AS a
        ), ' | ') || ')')::tsquery;
    END IF;
    ranking := array_to_string(ARRAY(
        SELECT DISTINCT quote_literal(r) FROM unnest(ranked) AS r WHERE r <> ''
    ), ' | ')::tsquery;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION shop.search_queries(text[], text, text[]) IS
'The text-search queries of a search for api.list_products, from the words of q that must match (words, '
'in search form), q compacted without spaces or punctuation (whole) and every word of q (terms). exact: '
'every word as typed, or whole; fuzzy: every word or one of its up to ten closest words in '
'shop.search_words (trigram word similarity >= 0.4 and similarity >= 0.3, or containing it), or whole or '
'one of the words it '
'resembles as a whole (strict word similarity >= 0.6); '
'ranking: any of those words or terms. Returns one row (exact, fuzzy, ranking).';
REVOKE ALL ON FUNCTION shop.search_queries(text[], text, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.search_queries(text[], text, text[]) TO postcart_anon;
GRANT EXECUTE ON FUNCTION shop.search_queries(text[], text, text[]) TO postcart_customer;
GRANT EXECUTE ON FUNCTION shop.search_queries(text[], text, text[]) TO postcart_staff;

-- Searches once drew candidates from the trigram indexes of every product's name (0009).
DROP FUNCTION IF EXISTS shop.search_candidates(text, text);

-- == GET /v1/products ================================================================================
CREATE OR REPLACE FUNCTION api.list_products(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
-- Definer rights, reading only the read model (shop.product_listings) and applying its rule for everyone:
-- listed when visible_from <= now(), the rule of the products' storefront policy. Under the callers' RLS
-- PostgreSQL could not use the array, text-search and trigram indexes (their operators are not
-- leakproof) and would test every product instead.
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
-- A page is a few index probes: compiling or parallelising it costs more than running it.
SET jit = off
SET max_parallel_workers_per_gather = 0
-- Search candidates are the first ones a scan finds: a synchronised scan, starting where another one is,
-- would pick other ones for the next page.
SET synchronize_seqscans = off
-- Its static statements are planned once per connection, whatever the arguments: each has one good plan
-- (the keyset walk of the plain list below, primary-key probes). The generated ones are planned per call.
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    fields jsonb := '{}';
    q text := nullif(btrim(args ->> 'q'), '');
    q_key text;
    q_words text[];
    q_terms text[];
    q_whole text;
    q_exact tsquery;
    q_fuzzy tsquery;
    q_rank tsquery;
    -- Search ranks at most this many matches: the best ones a few index scans find (see below).
    max_candidates constant integer := 100;
    found uuid[] := '{}';
    found_scores numeric[] := '{}';
    found_amounts bigint[] := '{}';
    price_join text;
    ranked_from text;
    tiers text[];
    tier text;
    more uuid[];
    more_scores numeric[];
    more_amounts bigint[];
    conditions text;
    -- The transaction's instant as a literal in the statements below: with now() the planner cannot use
    -- the statistics of valid_during and visible_from and guesses 0.5 %, and then a category of 36,000
    -- products took 400 ms (every price first) where the newest index stops after its first rows (2 ms).
    instant text := format('%L::timestamptz', now());
    category_slug text := nullif(btrim(args ->> 'category'), '');
    category_id uuid;
    collection_slug text := nullif(btrim(args ->> 'collection'), '');
    collection_id uuid;
    attr_all text[];
    attr_any jsonb;
    in_stock_only boolean;
    req_currency text := upper(coalesce(nullif(btrim(args ->> 'currency'), ''), 'EUR'));
    caller_group uuid := shop.current_customer_group();
    min_price bigint;
    max_price bigint;
    sort_order text := nullif(btrim(args ->> 'sort'), '');
    page_size integer;
    last_seen jsonb;
    after_num numeric;
    after_text text;
    after_id uuid;
    problem text;
    matching text;
    sort_key text;
    after_clause text;
    order_clause text;
    newest_after timestamptz;
    page_ids uuid[];
    page_amounts bigint[];
    page_n numeric[];
    page_t text[];
    items jsonb;
    next_cursor text;
    facets jsonb;
    facets_key text;
    version text;
    memo shop.listing_facets;
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
    IF args ? 'in_stock' THEN
        in_stock_only := CASE lower(btrim(args ->> 'in_stock')) WHEN 'true' THEN TRUE WHEN 'false' THEN FALSE END;
        IF in_stock_only IS NULL THEN
            fields := fields || '{"in_stock": "must be true or false"}';
        END IF;
    END IF;
    -- attr: {name: [values]} from attr.<name>=<value>; several values of one name are alternatives,
    -- several names must all hold.
    IF args ? 'attr' THEN
        IF jsonb_typeof(args -> 'attr') <> 'object' OR EXISTS (
            SELECT FROM jsonb_each(args -> 'attr') AS a
            WHERE
                jsonb_typeof(a.value) <> 'array' OR jsonb_array_length(a.value) NOT BETWEEN 1 AND 50
                OR length(a.key) NOT BETWEEN 1 AND 100
                OR EXISTS (
                    SELECT FROM jsonb_array_elements(a.value) AS v
                    WHERE jsonb_typeof(v) <> 'string' OR length(v #>> '{}') NOT BETWEEN 1 AND 200
                )
        ) OR (SELECT count(*) FROM jsonb_object_keys(args -> 'attr')) > 20 THEN
            fields := fields || '{"attr": "attr.<name>=<value> takes up to 20 names and 50 values each, of 1 to 200 characters"}';
        ELSE
            attr_all := ARRAY(
                SELECT a.key || '=' || (a.value ->> 0)
                FROM jsonb_each(args -> 'attr') AS a
                WHERE jsonb_array_length(a.value) = 1
            );
            attr_any := (
                SELECT jsonb_agg(to_jsonb(ARRAY(
                    SELECT a.key || '=' || v FROM jsonb_array_elements_text(a.value) AS v
                )))
                FROM jsonb_each(args -> 'attr') AS a
                WHERE jsonb_array_length(a.value) > 1
            );
        END IF;
    END IF;
    problem := shop.currency_problem(req_currency);
    IF problem IS NOT NULL THEN
        fields := fields || jsonb_build_object('currency', problem);
    END IF;
    IF category_slug IS NOT NULL THEN
        SELECT c.id INTO category_id FROM shop.categories AS c WHERE c.slug = category_slug;
        IF category_id IS NULL THEN
            fields := fields || '{"category": "no category has this slug"}';
        END IF;
    END IF;
    IF collection_slug IS NOT NULL THEN
        SELECT c.id INTO collection_id FROM shop.collections AS c WHERE c.slug = collection_slug;
        IF collection_id IS NULL THEN
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
            IF sort_order = 'newest' THEN
                PERFORM after_text::timestamptz;
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

    -- -- the filters, as one FROM ... WHERE for the search, the page and the facets -------------------
    -- The price is the product's lowest resolved unit price for the caller's audience now: its customer
    -- group's row where the group has one, else everyone's.
    price_join := format(CASE WHEN caller_group IS NULL THEN $sql$
        INNER JOIN LATERAL (
            SELECT lp.min_amount AS amount
            FROM shop.product_listing_prices AS lp
            WHERE lp.product_id = l.product_id AND lp.currency = $1 AND lp.customer_group_id IS NULL
                AND lp.valid_during @> %s
        ) AS pr ON TRUE $sql$
    ELSE $sql$
        INNER JOIN LATERAL (
            SELECT lp.min_amount AS amount
            FROM shop.product_listing_prices AS lp
            WHERE lp.product_id = l.product_id AND lp.currency = $1
                AND (lp.customer_group_id IS NULL OR lp.customer_group_id = $2) AND lp.valid_during @> %s
            ORDER BY lp.customer_group_id NULLS LAST
            LIMIT 1
        ) AS pr ON TRUE $sql$
    END, instant);
    conditions := format(
        $sql$ l.visible_from <= %s %s %s %s %s %s %s %s $sql$,
        instant,
        CASE WHEN category_id IS NOT NULL THEN 'AND l.category_path @> ARRAY[$9]' ELSE '' END,
        CASE WHEN collection_id IS NOT NULL THEN 'AND l.collection_ids @> ARRAY[$10]' ELSE '' END,
        CASE WHEN cardinality(attr_all) > 0 THEN 'AND l.facet_values @> $11' ELSE '' END,
        CASE WHEN attr_any IS NOT NULL THEN $sql$
            AND NOT EXISTS (
                SELECT FROM jsonb_array_elements($12) AS alt
                WHERE NOT l.facet_values && ARRAY(SELECT jsonb_array_elements_text(alt))
            ) $sql$
        ELSE '' END,
        CASE WHEN in_stock_only THEN 'AND l.available > 0' ELSE '' END,
        CASE WHEN min_price IS NOT NULL THEN 'AND pr.amount >= $13' ELSE '' END,
        CASE WHEN max_price IS NOT NULL THEN 'AND pr.amount <= $14' ELSE '' END
    );

    -- -- search: which products match q, through the indexes ---------------------------------------
    -- Accents and case never matter, and neither do hyphens or spaces inside words. A product matches when
    -- every word of q, or one of its closest words in the search dictionary (typos, other endings, longer
    -- words containing it), is in its search document (name, category names, attribute values,
    -- description), or when the whole of q without spaces and punctuation ("tshirt" for "t shirt") or one
    -- of its closest words is. Words of one letter and a few filler words need not match, but count for
    -- the ranking.
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
        -- Empty when q holds no letter or digit at all ("%", "-"): then nothing matches.
        q_whole := regexp_replace(q_key, '[^[:alnum:]]+', '', 'g');
        -- Only one-letter or filler words ("the", "a b"): then those must match.
        q_words := coalesce(q_words, q_terms, ARRAY[q_whole]);
        q_terms := coalesce(q_terms, q_words);
    END IF;

    -- -- what is known of these filters at this catalog version ------------------------------------
    -- Facets (below) count every matching product and depend on the filters and the words of q only; a
    -- search's matches (its candidates, their scores and prices) depend on the same. Both are kept per
    -- catalog version (shop.listing_facets) for every page, sort and page size. Without an in_stock
    -- filter they do not depend on stock either: kept per content version, so sales (which write stock)
    -- do not throw them away.
    facets_key := concat_ws('|', req_currency, caller_group, category_id, collection_id, in_stock_only,
        min_price, max_price, (SELECT jsonb_object_agg(a.key, (
            SELECT jsonb_agg(v ORDER BY v) FROM jsonb_array_elements_text(a.value) AS v
        )) FROM jsonb_each(args -> 'attr') AS a)::text, 'q=' || array_to_string(q_terms, ' ') || '/' || q_whole);
    version := CASE WHEN in_stock_only THEN shop.catalog_version() ELSE shop.catalog_content_version() END;
    SELECT f.* INTO memo
    FROM shop.listing_facets AS f
    WHERE f.filter_key = facets_key AND f.catalog_version = version;
    IF memo.facets IS NULL THEN
        memo := shop.await_listing_facets(facets_key, version);  -- counted meanwhile by another request?
    END IF;
    facets := memo.facets;
    IF q_key IS NOT NULL AND memo.candidates IS NOT NULL THEN
        found := memo.candidates;
        found_scores := memo.candidate_scores;
        found_amounts := memo.candidate_amounts;
    END IF;

    IF q_whole <> '' AND memo.candidates IS NULL THEN
        SELECT s.exact, s.fuzzy, s.ranking INTO q_exact, q_fuzzy, q_rank
        FROM shop.search_queries(q_words, q_whole, q_terms) AS s;
        -- Matches in four tiers, best first: in the name as typed, in the name with a close word, anywhere
        -- as typed, anywhere with a close word; each tier from a GIN index (the name part of the document
        -- has its own) or, for a word most products have, the first rows of a scan, and run only while
        -- fewer than max_candidates were found. Ranking every match of a common word would cost a visit to
        -- each; the first ones of the best tier are as good. The score puts the tier first, then the
        -- weighted text-search rank of all the words and their close ones (name, then category and
        -- attribute values, then description; shorter documents first, normalisation 1), then how much
        -- the name resembles q. Rounded so cursors carry it exactly.
        tiers := ARRAY(
            SELECT format(
                $sql$(
                    SELECT l.product_id AS id, %s AS base, l.search_document, l.name, pr.amount
                    FROM shop.product_listings AS l
                    -- The price looked up for each match found (a join could be planned the other way
                    -- round, from every price).
                    CROSS JOIN LATERAL (
                        SELECT (
                            SELECT lp.min_amount
                            FROM shop.product_listing_prices AS lp
                            WHERE lp.product_id = l.product_id AND lp.currency = $1
                                AND (lp.customer_group_id IS NULL OR lp.customer_group_id = $2)
                                AND lp.valid_during @> %s
                            ORDER BY lp.customer_group_id NULLS LAST
                            LIMIT 1
                        ) AS amount
                        OFFSET 0
                    ) AS pr
                    WHERE %s AND pr.amount IS NOT NULL AND %s
                    LIMIT $7
                )$sql$,
                t.base,
                instant,
                t.matches,
                conditions
            )
            FROM (VALUES
                (1, '0.9', $c$ts_filter(l.search_document, '{a}') @@ $4$c$),
                (2, '0.6', $c$ts_filter(l.search_document, '{a}') @@ $5 AND NOT ts_filter(l.search_document, '{a}') @@ $4$c$),
                -- Name, category names and attribute values before the description: a bonus when they hold q.
                (3, $c$0.3 + CASE WHEN ts_filter(l.search_document, '{a,b}') @@ $4 THEN 0.15 ELSE 0 END$c$,
                    $c$l.search_document @@ $4 AND NOT ts_filter(l.search_document, '{a}') @@ $5$c$),
                (4, $c$CASE WHEN ts_filter(l.search_document, '{a,b}') @@ $5 THEN 0.15 ELSE 0 END$c$,
                    $c$l.search_document @@ $5 AND NOT l.search_document @@ $4
                    AND NOT ts_filter(l.search_document, '{a}') @@ $5$c$)
            ) AS t (n, base, matches)
            -- Without close words the fuzzy tiers would find nothing more.
            WHERE t.n IN (1, 3) OR q_fuzzy <> q_exact
            ORDER BY t.n
        );
        -- One statement per tier, planned only when the tiers before it found too few (a union of all four
        -- costs more to plan than a common word's first tier to run).
        FOREACH tier IN ARRAY tiers LOOP
            EXIT WHEN cardinality(found) >= max_candidates;
            EXECUTE format(
                $sql$
                SELECT array_agg(c.id), array_agg(round((
                    c.base + 0.1 * least(ts_rank('{0.1, 0.25, 0.5, 1.0}', c.search_document, $6, 1), 1)
                    + 0.04 * similarity($3, lower(c.name))
                )::numeric, 6)), array_agg(c.amount)
                FROM %s AS c
                $sql$,
                tier
            )
            INTO more, more_scores, more_amounts
            USING req_currency::bpchar, caller_group, q_key, q_exact, q_fuzzy, q_rank,
                max_candidates - cardinality(found), NULL::uuid[], category_id, collection_id, attr_all, attr_any,
                min_price, max_price;
            found := found || more;
            found_scores := found_scores || more_scores;
            found_amounts := found_amounts || more_amounts;
        END LOOP;
    END IF;

    -- -- the matching products, as one FROM ... WHERE for the page and the facets -------------------
    -- A search's matches carry their score and price, and met the filters already; a page by relevance
    -- needs nothing else until the page's own rows.
    IF q_key IS NULL THEN
        matching := 'FROM shop.product_listings AS l ' || price_join || ' WHERE ' || conditions;
    ELSE
        ranked_from := $sql$
            FROM unnest($8::uuid[], $3::numeric[], $7::bigint[]) AS ranked (product_id, score, amount)
            CROSS JOIN LATERAL (SELECT ranked.amount) AS pr (amount) $sql$;
        matching := ranked_from || ' INNER JOIN shop.product_listings AS l ON ranked.product_id = l.product_id WHERE TRUE';
    END IF;

    -- -- one page, in an order an index can give -------------------------------------------------
    -- First the keys of the page's rows and one more (whether a next page exists), then the items of the
    -- page's rows only (a sort of search matches would otherwise build an item for each). Each sort has a
    -- primary key k1 and the product id as k2; the cursor carries the last item's (n, t, id): n the numeric
    -- key (price, score), t the text key (name, publication instant in UTC).
    IF q_key IS NULL AND sort_order = 'newest' AND category_id IS NULL AND collection_id IS NULL
        AND coalesce(cardinality(attr_all), 0) = 0 AND attr_any IS NULL AND in_stock_only IS NOT TRUE
        AND min_price IS NULL AND max_price IS NULL THEN
        -- The storefront's plain list, the most asked-for page: one static statement, so PL/pgSQL keeps
        -- its plan for the connection (the generated statement below costs 0.36 ms to parse and plan on
        -- every call, as much as running it). Without a cursor it starts after the end of time, so the
        -- first page and the next ones share the plan's index range on published_at.
        newest_after := coalesce(after_text::timestamp AT TIME ZONE 'UTC', 'infinity');
        SELECT
            array_agg(lim.product_id ORDER BY lim.published_at DESC, lim.product_id),
            array_agg(lim.amount ORDER BY lim.published_at DESC, lim.product_id),
            array_agg(0::numeric ORDER BY lim.published_at DESC, lim.product_id),
            array_agg(
                to_char(lim.published_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')
                ORDER BY lim.published_at DESC, lim.product_id
            )
        INTO page_ids, page_amounts, page_n, page_t
        FROM (
            SELECT l.product_id, l.published_at, pr.amount
            FROM shop.product_listings AS l
            CROSS JOIN LATERAL shop.listing_price(l.product_id, req_currency::bpchar, caller_group) AS pr
            WHERE l.visible_from <= now() AND l.published_at <= newest_after
                AND (l.published_at < newest_after OR l.product_id > after_id)
            ORDER BY l.published_at DESC, l.product_id
            LIMIT page_size + 1
        ) AS lim;
    ELSE
        CASE sort_order
            WHEN 'newest' THEN
                sort_key := $k$l.published_at AS k1, 0 AS n, to_char(l.published_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS t$k$;
                order_clause := 'k1 DESC, k2';
                after_clause := $k$l.published_at <= ($15::timestamp AT TIME ZONE 'UTC') AND (
                    l.published_at < ($15::timestamp AT TIME ZONE 'UTC') OR l.product_id > $16
                )$k$;
            WHEN 'name' THEN
                sort_key := 'l.name AS k1, 0 AS n, l.name AS t';
                order_clause := 'k1, k2';
                after_clause := '(l.name, l.product_id) > ($15, $16)';
            WHEN 'price_asc' THEN
                sort_key := $k$pr.amount AS k1, pr.amount AS n, '' AS t$k$;
                order_clause := 'k1, k2';
                after_clause := '(pr.amount, l.product_id) > ($17, $16)';
            WHEN 'price_desc' THEN
                sort_key := $k$pr.amount AS k1, pr.amount AS n, '' AS t$k$;
                order_clause := 'k1 DESC, k2';
                after_clause := 'pr.amount <= $17 AND (pr.amount < $17 OR l.product_id > $16)';
            ELSE
                sort_key := $k$ranked.score AS k1, ranked.score AS n, '' AS t$k$;
                order_clause := 'k1 DESC, k2';
                after_clause := 'ranked.score <= $17 AND (ranked.score < $17 OR ranked.product_id > $16)';
        END CASE;
        EXECUTE format(
            $sql$
            SELECT
                array_agg(lim.k2 ORDER BY %1$s), array_agg(lim.amount ORDER BY %1$s),
                array_agg(lim.n ORDER BY %1$s), array_agg(lim.t ORDER BY %1$s)
            FROM (
                SELECT pr.amount, %2$s, %5$s AS k2
                %3$s %4$s
                ORDER BY %1$s
                LIMIT $19 + 1
            ) AS lim
            $sql$,
            order_clause, sort_key,
            CASE WHEN sort_order = 'relevance' THEN ranked_from || ' WHERE TRUE' ELSE matching END,
            CASE WHEN after_id IS NOT NULL THEN 'AND ' || after_clause ELSE '' END,
            CASE WHEN sort_order = 'relevance' THEN 'ranked.product_id' ELSE 'l.product_id' END
        )
        INTO page_ids, page_amounts, page_n, page_t
        USING req_currency::bpchar, caller_group, found_scores, NULL::tsquery, NULL::tsquery, NULL::numeric,
            found_amounts, found, category_id, collection_id, attr_all, attr_any, min_price, max_price, after_text,
            after_id, after_num, sort_order, page_size;
    END IF;
    SELECT coalesce(jsonb_agg(
        item.summary || jsonb_build_object(
            'price', jsonb_build_object('amount', p.amount, 'currency', req_currency),
            'in_stock', item.available > 0
        )
        ORDER BY p.ord
    ), '[]')
    INTO items
    FROM unnest(page_ids[:page_size], page_amounts[:page_size]) WITH ORDINALITY AS p (product_id, amount, ord)
    INNER JOIN shop.product_listings AS item ON p.product_id = item.product_id;
    IF cardinality(page_ids) > page_size THEN
        next_cursor := shop.encode_cursor(jsonb_build_object(
            's', sort_order, 'n', page_n[page_size], 't', page_t[page_size], 'id', page_ids[page_size]
        ));
    END IF;

    -- -- facets over every matching product, not just the page ------------------------------------
    -- Categories count a product under its category and every ancestor; price ranges split the prices
    -- shown into fixed buckets (their counts add up to the number of matching products); attribute values
    -- count the products that have them. Counted once per key and version (see above).
    IF facets IS NOT NULL AND (q_key IS NULL OR memo.candidates IS NOT NULL) THEN
        RETURN jsonb_build_object('items', items, 'next_cursor', next_cursor, 'facets', facets);
    END IF;
    IF facets IS NOT NULL THEN  -- kept before matches were: keep them with these
        PERFORM shop.remember_listing_facets(facets_key, version, facets, found, found_scores, found_amounts);
        RETURN jsonb_build_object('items', items, 'next_cursor', next_cursor, 'facets', facets);
    END IF;
    EXECUTE format(
        $sql$
        WITH matched AS MATERIALIZED (
            SELECT l.category_path, l.facet_values, pr.amount %s
        )
        SELECT jsonb_build_object(
            'categories', coalesce((
                SELECT jsonb_agg(
                    jsonb_build_object('slug', c.slug, 'name', c.name, 'count', f.n)
                    ORDER BY f.n DESC, c.name, c.slug
                )
                FROM (
                    SELECT a.id, count(*) AS n
                    FROM matched AS m
                    CROSS JOIN LATERAL unnest(m.category_path) AS a (id)
                    GROUP BY a.id
                ) AS f
                INNER JOIN shop.categories AS c ON f.id = c.id
            ), '[]'),
            'price_ranges', coalesce((
                SELECT jsonb_agg(jsonb_build_object('min', r.low, 'max', r.high, 'count', r.n) ORDER BY r.low)
                FROM (
                    SELECT b.low, b.high, count(*) AS n
                    FROM matched AS m
                    INNER JOIN (
                        VALUES (0, 999), (1000, 2499), (2500, 4999), (5000, 9999), (10000, NULL)
                    ) AS b (low, high)
                        ON m.amount >= b.low AND (b.high IS NULL OR m.amount <= b.high)
                    GROUP BY b.low, b.high
                ) AS r
            ), '[]'),
            'attributes', coalesce((
                SELECT jsonb_agg(jsonb_build_object('name', attr.name, 'values', attr.vals) ORDER BY attr.name)
                FROM (
                    SELECT
                        kv.name,
                        jsonb_agg(jsonb_build_object('value', kv.value, 'count', kv.n) ORDER BY kv.n DESC, kv.value)
                            AS vals
                    FROM (
                        SELECT
                            split_part(f.value, '=', 1) AS name,
                            substr(f.value, strpos(f.value, '=') + 1) AS value,
                            count(*) AS n
                        FROM matched AS m
                        CROSS JOIN LATERAL unnest(m.facet_values) AS f (value)
                        GROUP BY f.value
                    ) AS kv
                    GROUP BY kv.name
                ) AS attr
            ), '[]')
        )
        $sql$,
        matching
    )
    INTO facets
    USING req_currency::bpchar, caller_group, found_scores, NULL::tsquery, NULL::tsquery, NULL::numeric,
        found_amounts, found, category_id, collection_id, attr_all, attr_any, min_price, max_price;
    PERFORM shop.remember_listing_facets(
        facets_key, version, facets,
        CASE WHEN q_key IS NOT NULL THEN found END,
        CASE WHEN q_key IS NOT NULL THEN found_scores END,
        CASE WHEN q_key IS NOT NULL THEN found_amounts END
    );

    RETURN jsonb_build_object('items', items, 'next_cursor', next_cursor, 'facets', facets);
END
$$;
COMMENT ON FUNCTION api.list_products(jsonb) IS
'GET /v1/products: published products, one page at a time, read from the read model '
'(shop.product_listings). Arguments (query-string values may be strings): q (search: every word, or one '
'close to it in the dictionary of the catalog''s words (typos, other endings), anywhere in the weighted '
'search document of name, category names, attribute values and description; accents, case and hyphens or '
'spaces inside words ignored, so "tshirt", "t shirt" and "T-Shirt" find the same; name matches first, then '
'category and attribute values, then description, words as typed before close ones; at most the 100 best '
'matches), category (slug, includes '
'subcategories), collection (slug), attr ({name: [values]} from attr.<name>=<value>: values of one name '
'are alternatives, names must all match), in_stock (true: only products with stock available), '
'min_price and max_price (minor units, inclusive, compared with the price shown: the lowest variant price '
'resolved for the caller now, after its customer group''s and sale price lists and markdowns, '
'docs/pricing.md), currency (default EUR), sort (relevance [default with q], newest [default without q], '
'price_asc, price_desc, name), limit (1..100, default 20), cursor (next_cursor of the previous page). '
'Only products priced in the currency are listed. Returns {items: [{id, slug, name, description, price: '
'{amount, currency}, in_stock, image_url, category: {id, slug, name}|null}], next_cursor: text|null, '
'facets: {categories: [{slug, name, count}], price_ranges: [{min, max, count}], attributes: [{name, '
'values: [{value, count}]}]}}; facets count all matching products, not just the page. Errors: PT400 '
'validation_failed (details.fields), PT400 invalid_cursor.';
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
