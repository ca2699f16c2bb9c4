-- Behaviour events (docs/events.md): the monthly partitions of shop.behaviour_events, their upkeep by the
-- worker, and the server's own recording of searches. The client's batches arrive through
-- api.record_events (sql/api/events.sql).

-- == partitions ======================================================================================
CREATE OR REPLACE FUNCTION shop.behaviour_event_partition(p_at timestamptz)
RETURNS regclass
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    -- Months in UTC, whatever the session's TimeZone.
    v_month timestamp := date_trunc('month', p_at AT TIME ZONE 'UTC');
    v_name text := format('behaviour_events_y%sm%s', to_char(v_month, 'YYYY'), to_char(v_month, 'MM'));
    v_table regclass := to_regclass(format('shop.%I', v_name));
BEGIN
    IF v_table IS NOT NULL THEN
        RETURN v_table;
    END IF;
    -- Two requests (or a request and the worker) making the same month: the second waits, then finds it.
    -- A lock on the table itself, not an advisory one: taking it also makes this transaction read the
    -- catalog changes committed meanwhile, so the check below sees the partition the first one made.
    LOCK TABLE shop.behaviour_events IN SHARE UPDATE EXCLUSIVE MODE;
    v_table := to_regclass(format('shop.%I', v_name));
    IF v_table IS NOT NULL THEN
        RETURN v_table;
    END IF;
    -- Made apart, then attached: ATTACH PARTITION takes only the lock held above, which lets requests insert
    -- and reports read meanwhile; CREATE TABLE ... PARTITION OF would wait for an exclusive lock behind a
    -- long report refresh, and every request would queue behind it.
    EXECUTE format(
        'CREATE TABLE shop.%I (LIKE shop.behaviour_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', v_name
    );
    -- Read through the parent (whose policies apply); read directly, a partition shows nothing but to its owner.
    EXECUTE format('ALTER TABLE shop.%I ENABLE ROW LEVEL SECURITY', v_name);
    EXECUTE format('ALTER TABLE shop.%I FORCE ROW LEVEL SECURITY', v_name);
    EXECUTE format(
        'ALTER TABLE shop.behaviour_events ATTACH PARTITION shop.%I FOR VALUES FROM (%L) TO (%L)',
        v_name, (v_month AT TIME ZONE 'UTC'), ((v_month + INTERVAL '1 month') AT TIME ZONE 'UTC')
    );
    EXECUTE format(
        'COMMENT ON TABLE shop.%I IS %L', v_name,
        format('Behaviour events of %s (UTC): a partition of shop.behaviour_events, dropped after the '
               'retention of shop.behaviour_event_settings.', to_char(v_month, 'YYYY-MM'))
    );
    RETURN format('shop.%I', v_name)::regclass;
END
$$;
COMMENT ON FUNCTION shop.behaviour_event_partition(timestamptz) IS
'The partition of shop.behaviour_events holding the month (UTC) of p_at, created first when missing (RLS '
'enabled and forced, commented; a lock on shop.behaviour_events makes concurrent callers create it once). '
'Returns its regclass. Internal: called by the event writers and the worker.';
REVOKE ALL ON FUNCTION shop.behaviour_event_partition(timestamptz) FROM PUBLIC;

CREATE OR REPLACE FUNCTION shop.maintain_event_partitions(p_batch_size integer DEFAULT 1000)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_settings shop.behaviour_event_settings;
    v_now timestamp := now() AT TIME ZONE 'UTC';
    v_oldest_kept timestamp;
    v_done integer := 0;
    v_partition record;
BEGIN
    PERFORM shop.check_batch_size(p_batch_size);
    SELECT * INTO v_settings FROM shop.behaviour_event_settings;
    -- Ahead: the current month and the next months_ahead.
    FOR i IN 0 .. v_settings.months_ahead LOOP
        EXIT WHEN v_done >= p_batch_size;
        IF to_regclass(format('shop.behaviour_events_y%s', to_char(v_now + make_interval(months => i), 'YYYY"m"MM')))
            IS NULL THEN
            PERFORM shop.behaviour_event_partition((v_now + make_interval(months => i)) AT TIME ZONE 'UTC');
            v_done := v_done + 1;
        END IF;
    END LOOP;
    -- Behind: whole months ending before the retention window, oldest first.
    v_oldest_kept := date_trunc('month', v_now) - make_interval(months => v_settings.retention_months);
    FOR v_partition IN
        SELECT c.relname
        FROM pg_inherits AS i
        INNER JOIN pg_class AS c ON i.inhrelid = c.oid
        WHERE
            i.inhparent = 'shop.behaviour_events'::regclass
            AND c.relname ~ '^behaviour_events_y[0-9]{4}m[0-9]{2}$'
            AND to_date(right(c.relname, 7), 'YYYY"m"MM') < v_oldest_kept
        ORDER BY c.relname
        LIMIT greatest(p_batch_size - v_done, 0)
    LOOP
        -- Detaching needs an exclusive lock on the table, and inserts queue behind a waiting one: wait at
        -- most a second (a long report refresh may hold the table), else leave it to the next run.
        PERFORM set_config('lock_timeout', '1s', TRUE);
        BEGIN
            EXECUTE format('ALTER TABLE shop.behaviour_events DETACH PARTITION shop.%I', v_partition.relname);
        EXCEPTION WHEN lock_not_available THEN
            EXIT;
        END;
        PERFORM set_config('lock_timeout', '0', TRUE);
        EXECUTE format('DROP TABLE shop.%I', v_partition.relname);
        v_done := v_done + 1;
    END LOOP;
    RETURN v_done;
END
$$;
COMMENT ON FUNCTION shop.maintain_event_partitions(integer) IS
'For postcart_worker: creates the monthly partitions of shop.behaviour_events for the current month (UTC) '
'and the next months_ahead, and detaches and drops those of months before the last retention_months '
'(shop.behaviour_event_settings), at most p_batch_size (1 to 10000) of both together. Returns how many '
'partitions it created or dropped (0 when everything was in place). A partition whose table lock is not '
'granted within a second (a report refresh reads the table) is left to the next run.';
REVOKE ALL ON FUNCTION shop.maintain_event_partitions(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.maintain_event_partitions(integer) TO postcart_worker;

-- == searches ========================================================================================
CREATE OR REPLACE FUNCTION shop.normalise_search(p_query text)
RETURNS text
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT nullif(left(lower(btrim(regexp_replace(p_query, '\s+', ' ', 'g'))), 200), '')
$$;
COMMENT ON FUNCTION shop.normalise_search(text) IS
'A search text as the events keep it: white space runs made one space, trimmed, lower case, at most 200 '
'characters. Returns NULL for a blank one.';
REVOKE ALL ON FUNCTION shop.normalise_search(text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION shop.record_searches(p_searches jsonb)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_count integer;
BEGIN
    IF jsonb_typeof(p_searches) IS DISTINCT FROM 'array' THEN
        RETURN 0;
    END IF;
    PERFORM shop.behaviour_event_partition(m.at)
    FROM (
        SELECT DISTINCT
            date_trunc('month', coalesce((s ->> 'occurred_at')::timestamptz, now()) AT TIME ZONE 'UTC')
            AT TIME ZONE 'UTC' AS at
        FROM jsonb_array_elements(p_searches) AS s
    ) AS m;
    INSERT INTO shop.behaviour_events (occurred_at, type, source, session_id, account_id, query, result_count)
    SELECT
        coalesce((s ->> 'occurred_at')::timestamptz, now()),
        'search',
        'server',
        nullif(left(btrim(s ->> 'session_id'), 100), ''),
        a.account_id,
        shop.normalise_search(s ->> 'query'),
        greatest((s ->> 'results')::integer, 0)
    FROM jsonb_array_elements(p_searches) AS s
    LEFT JOIN auth.sessions AS a ON a.id = (s ->> 'auth_session_id')::uuid
    WHERE shop.normalise_search(s ->> 'query') IS NOT NULL;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END
$$;
COMMENT ON FUNCTION shop.record_searches(jsonb) IS
'For the HTTP layer (postcart_authenticator): records searches it answered, cached or not, as '
'behaviour events of source server: [{query, results (products on the first page), session_id (the '
'X-Session-Id header or null), auth_session_id (the token''s session, whose account is recorded, or null), '
'occurred_at}]. Blank queries are skipped. Returns how many were recorded.';
REVOKE ALL ON FUNCTION shop.record_searches(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.record_searches(jsonb) TO postcart_authenticator;
