-- Sweeps of the integration schema, run by the background worker like those in sql/auth/50_sweeps.sql.

CREATE OR REPLACE FUNCTION integration.sweep_idempotency_keys(p_batch_size integer DEFAULT 1000)
RETURNS integer
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
    -- Keys replay for 24 hours (integration.claim_idempotency_key); older ones only take space. A request
    -- reclaiming such a key deletes it itself and waits for (or skips past) this sweep's row lock.
    WITH doomed AS (
        SELECT k.owner_id, k.key
        FROM integration.idempotency_keys AS k
        WHERE k.created_at < now() - INTERVAL '24 hours'
        ORDER BY k.created_at
        LIMIT shop.sweep_batch_size(p_batch_size)
        FOR UPDATE SKIP LOCKED
    ),

    gone AS (
        DELETE FROM integration.idempotency_keys AS k
        USING doomed
        WHERE k.owner_id = doomed.owner_id AND k.key = doomed.key
        RETURNING 1
    )

    SELECT count(*)::integer FROM gone
$$;
COMMENT ON FUNCTION integration.sweep_idempotency_keys(integer) IS
'For postcart_worker: deletes up to p_batch_size (1 to 10000, default 1000) idempotency keys older than 24 '
'hours (they no longer replay), oldest first, skipping rows another transaction has locked. Returns the '
'number deleted.';

REVOKE EXECUTE ON FUNCTION integration.sweep_idempotency_keys(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION integration.sweep_idempotency_keys(integer) TO postcart_worker;
