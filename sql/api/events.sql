-- POST /v1/events (docs/events.md): the storefront's behaviour events, in batches, anonymous or signed in.

CREATE OR REPLACE FUNCTION api.record_events(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
-- Definer rights: nobody may touch shop.behaviour_events but through this function; it creates a missing
-- month's partition too (the worker normally has).
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    max_events constant integer := 100;
    events jsonb := args -> 'events';
    fields jsonb := '{}';
    event jsonb;
    name text;
    v_type text;
    v_product text;
    v_at timestamptz;
    times timestamptz[] := '{}';
    unknown text;
    accepted integer;
BEGIN
    IF jsonb_typeof(events) IS DISTINCT FROM 'array' OR jsonb_array_length(events) NOT BETWEEN 1 AND max_events THEN
        PERFORM shop.fail(
            422, 'validation_failed',
            jsonb_build_object('fields', jsonb_build_object(
                'events', format('must be a list of 1 to %s events', max_events)
            )),
            'Send between 1 and 100 events per request; split larger batches.'
        );
    END IF;

    FOR i IN 0 .. jsonb_array_length(events) - 1 LOOP
        event := events -> i;
        name := format('events[%s]', i);
        IF jsonb_typeof(event) IS DISTINCT FROM 'object' THEN
            fields := fields || jsonb_build_object(name, 'must be an object');
            CONTINUE;
        END IF;
        v_type := event ->> 'type';
        IF jsonb_typeof(event -> 'type') IS DISTINCT FROM 'string'
            OR v_type NOT IN ('page_view', 'product_view', 'add_to_cart', 'checkout_started', 'search') THEN
            fields := fields || jsonb_build_object(
                name || '.type', 'must be page_view, product_view, add_to_cart, checkout_started or search'
            );
        END IF;
        IF jsonb_typeof(event -> 'session_id') IS DISTINCT FROM 'string'
            OR btrim(event ->> 'session_id') = '' OR char_length(event ->> 'session_id') > 100 THEN
            fields := fields || jsonb_build_object(name || '.session_id', 'must be a string of 1 to 100 characters');
        END IF;
        v_product := event ->> 'product_id';
        IF jsonb_typeof(event -> 'product_id') IS NULL OR jsonb_typeof(event -> 'product_id') = 'null' THEN
            IF v_type IN ('product_view', 'add_to_cart') THEN
                fields := fields || jsonb_build_object(name || '.product_id', 'is required for ' || v_type);
            END IF;
        ELSIF jsonb_typeof(event -> 'product_id') <> 'string'
            OR v_product !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
            fields := fields || jsonb_build_object(name || '.product_id', 'must be a product id (uuid)');
        END IF;
        IF jsonb_typeof(event -> 'query') IS NOT NULL AND jsonb_typeof(event -> 'query') <> 'null' THEN
            IF v_type IS DISTINCT FROM 'search' THEN
                fields := fields || jsonb_build_object(name || '.query', 'is only sent with search events');
            ELSIF jsonb_typeof(event -> 'query') <> 'string' OR shop.normalise_search(event ->> 'query') IS NULL
                OR char_length(event ->> 'query') > 1000 THEN
                fields := fields || jsonb_build_object(name || '.query', 'must be a non-blank string');
            END IF;
        END IF;
        v_at := NULL;
        IF jsonb_typeof(event -> 'occurred_at') IS NOT NULL AND jsonb_typeof(event -> 'occurred_at') <> 'null' THEN
            IF jsonb_typeof(event -> 'occurred_at') = 'string'
                AND event ->> 'occurred_at'
                ~ '^\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d{1,9})?([Zz]|[+-]\d\d:\d\d)$' THEN
                BEGIN
                    v_at := (event ->> 'occurred_at')::timestamptz;
                EXCEPTION WHEN data_exception THEN  -- day 30 of February, an offset of 16 hours, ...
                    v_at := NULL;
                END;
            END IF;
            IF v_at IS NULL THEN
                fields := fields || jsonb_build_object(
                    name || '.occurred_at', 'must be an RFC 3339 time, e.g. 2026-01-31T12:00:00Z'
                );
            ELSIF v_at > now() + INTERVAL '5 minutes' THEN
                fields := fields || jsonb_build_object(name || '.occurred_at', 'is in the future');
            ELSIF v_at < now() - INTERVAL '7 days' THEN
                fields := fields || jsonb_build_object(name || '.occurred_at', 'is more than 7 days ago');
            END IF;
        END IF;
        times := times || coalesce(v_at, now());
    END LOOP;

    -- Products named with a well-formed id that does not exist (whatever its status: it may have been
    -- unpublished since the page was shown).
    IF fields = '{}' THEN
        SELECT string_agg(format('events[%s].product_id', e.ord - 1), ',')
        INTO unknown
        FROM jsonb_array_elements(events) WITH ORDINALITY AS e (value, ord)
        WHERE
            e.value ->> 'product_id' IS NOT NULL
            AND NOT EXISTS (SELECT FROM shop.products AS p WHERE p.id = (e.value ->> 'product_id')::uuid);
        IF unknown IS NOT NULL THEN
            SELECT jsonb_object_agg(f, 'is not a known product') INTO fields
            FROM unnest(string_to_array(unknown, ',')) AS f;
        END IF;
    END IF;

    IF fields <> '{}' THEN
        PERFORM shop.fail(
            422, 'validation_failed',
            jsonb_build_object('fields', fields),
            'Some events are invalid; details.fields names them (events[i] counts from 0). None was recorded.'
        );
    END IF;

    PERFORM shop.behaviour_event_partition(m.at)
    FROM (
        SELECT DISTINCT date_trunc('month', t AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS at
        FROM unnest(times) AS t
    ) AS m;

    INSERT INTO shop.behaviour_events (occurred_at, type, source, session_id, account_id, product_id, query)
    SELECT
        times[e.ord],
        e.value ->> 'type',
        'client',
        e.value ->> 'session_id',
        nullif(auth.claims() ->> 'sub', '')::uuid,
        (e.value ->> 'product_id')::uuid,
        shop.normalise_search(e.value ->> 'query')
    FROM jsonb_array_elements(events) WITH ORDINALITY AS e (value, ord);
    GET DIAGNOSTICS accepted = ROW_COUNT;
    -- Product views feed "also viewed" (shop.update_recommendations counts them later).
    INSERT INTO shop.recommendation_inputs (session_id, product_id)
    SELECT e.value ->> 'session_id', (e.value ->> 'product_id')::uuid
    FROM jsonb_array_elements(events) WITH ORDINALITY AS e (value, ord)
    WHERE e.value ->> 'type' = 'product_view'
    ORDER BY e.ord;
    RETURN jsonb_build_object('accepted', accepted);
END
$$;
COMMENT ON FUNCTION api.record_events(jsonb) IS
'POST /v1/events: records a batch of storefront behaviour events, all or none: {events: [{type: page_view | '
'product_view | add_to_cart | checkout_started | search, session_id (the client''s browsing-session id, 1 to '
'100 characters), product_id? (required for product_view and add_to_cart; an existing product), query? '
'(search only), occurred_at? (RFC 3339, at most 5 minutes ahead and 7 days old; default now)}] (1 to 100)}. '
'The signed-in account is taken from the caller''s session, never from the body. Returns {accepted: n} '
'(HTTP 202). 422 validation_failed with details.fields naming events[i].member (i from 0), or events.';
REVOKE ALL ON FUNCTION api.record_events(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.record_events(jsonb) TO postcart_anon;
GRANT EXECUTE ON FUNCTION api.record_events(jsonb) TO postcart_customer;
GRANT EXECUTE ON FUNCTION api.record_events(jsonb) TO postcart_staff;
