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

CREATE OR REPLACE FUNCTION integration.sweep_events(p_batch_size integer DEFAULT 1000)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_deleted integer;
BEGIN
    PERFORM shop.check_batch_size(p_batch_size);
    -- Staff see 30 days of delivery history. An event with a webhook delivery or a mail still pending (a
    -- retry due, a paused subscription) stays however old, until it is delivered, sent or dead.
    -- Undispatched events are never touched. Deliveries, their attempts and mails go with the event (ON
    -- DELETE CASCADE).
    WITH gone AS (
        DELETE FROM integration.events AS e
        WHERE e.id = ANY(ARRAY(
            SELECT o.id
            FROM integration.events AS o
            WHERE
                o.dispatched_at < now() - INTERVAL '30 days'
                AND NOT EXISTS (
                    SELECT FROM integration.webhook_deliveries AS d
                    WHERE d.event_id = o.id AND d.status = 'pending'
                )
                AND NOT EXISTS (SELECT FROM integration.mails AS m WHERE m.event_id = o.id AND m.status = 'pending')
            ORDER BY o.dispatched_at
            LIMIT p_batch_size
            FOR UPDATE SKIP LOCKED
        ))
        RETURNING 1
    )

    SELECT count(*)::integer INTO v_deleted FROM gone;
    RETURN v_deleted;
END
$$;
COMMENT ON FUNCTION integration.sweep_events(integer) IS
'For postcart_worker: deletes up to p_batch_size (1 to 10000, default 1000, else PT422) outbox events '
'dispatched more than 30 days ago that have no pending webhook delivery or mail, oldest first, with their '
'deliveries, attempts and mails, skipping events another transaction has locked. Returns the number of '
'events deleted.';

REVOKE EXECUTE ON FUNCTION integration.sweep_events(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION integration.sweep_events(integer) TO postcart_worker;
