-- Refreshing the materialized reporting views (docs/reporting.md "Freshness"): the worker's
-- refresh_reports task calls reporting.refresh_views every 5 minutes. CONCURRENTLY: readers keep reading
-- the previous contents while a refresh runs, and only the rows that changed are rewritten.

CREATE OR REPLACE FUNCTION reporting.refresh_views(p_batch_size integer DEFAULT 1)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
-- Aggregating every order sorts and hashes millions of rows: in memory rather than in temporary files.
SET work_mem = '256MB'
AS $$
DECLARE
    v_view text;
    v_started timestamptz;
    v_done integer := 0;
BEGIN
    PERFORM shop.check_batch_size(p_batch_size);
    -- Due: refreshed over 4 minutes ago (the task runs every 5), stalest first. SKIP LOCKED: a second
    -- worker takes other views instead of refreshing the same one twice.
    FOR v_view IN
        SELECT r.materialized_view FROM reporting.refreshes AS r
        WHERE r.refreshed_at < now() - interval '4 minutes'
        ORDER BY r.refreshed_at, r.materialized_view
        LIMIT p_batch_size
        FOR UPDATE SKIP LOCKED
    LOOP
        v_started := clock_timestamp();
        EXECUTE format('REFRESH MATERIALIZED VIEW CONCURRENTLY %s', v_view::regclass);
        UPDATE reporting.refreshes
        SET refreshed_at = v_started,
            duration_ms = ceil(extract(EPOCH FROM clock_timestamp() - v_started) * 1000)::integer
        WHERE materialized_view = v_view;
        v_done := v_done + 1;
    END LOOP;
    RETURN v_done;
END
$$;
COMMENT ON FUNCTION reporting.refresh_views(integer) IS
'For postcart_worker: refreshes CONCURRENTLY up to p_batch_size (1 to 10000) materialized reporting views '
'last refreshed over 4 minutes ago, stalest first, skipping views another worker is refreshing, and '
'records each in reporting.refreshes. Returns how many it refreshed (0: none due).';

REVOKE EXECUTE ON FUNCTION reporting.refresh_views(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION reporting.refresh_views(integer) TO postcart_worker;
