-- Sweeps of the integration schema, run by the background worker like those in sql/auth/50_sweeps.sql.

CREATE OR REPLACE FUNCTION integration.sweep_idempotency_keys(p_batch_size integer DEFAULT 1000)
RETURNS integer
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
    -- Keys replay for 24 hours (integration.claim_idempotency_key); older ones only take space. A request
    -- reclaiming such a key deletes it itself, after this sweep's row lock if it holds one.
    SELECT shop.sweep_rows('integration.idempotency_keys', 'created_at', INTERVAL '24 hours', p_batch_size)
$$;
COMMENT ON FUNCTION integration.sweep_idempotency_keys(integer) IS
'For postcart_worker: deletes up to p_batch_size (1 to 10000, default 1000) idempotency keys older than 24 '
'hours (they no longer replay), oldest first, skipping rows another transaction has locked. Returns the '
'number deleted.';

REVOKE EXECUTE ON FUNCTION integration.sweep_idempotency_keys(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION integration.sweep_idempotency_keys(integer) TO postcart_worker;
