-- Undoes 0029: the webhook tables with their subscriptions, deliveries and history (the outbox itself,
-- integration.events, stays). The functions of sql/integration/webhooks.sql and sql/api/webhooks.sql go
-- first; `postcart migrate` re-creates them.
SET LOCAL ROLE postcart_owner;

DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure
        FROM pg_catalog.pg_proc AS p
        INNER JOIN pg_catalog.pg_namespace AS n ON p.pronamespace = n.oid
        WHERE n.nspname IN ('api', 'integration')
            AND p.prosrc ~ 'integration\.(event_types|webhook_subscriptions|webhook_deliveries|webhook_attempts)\M'
    LOOP
        EXECUTE format('DROP FUNCTION IF EXISTS %s CASCADE', f);
    END LOOP;
END
$$;

DROP TABLE IF EXISTS integration.webhook_attempts CASCADE;
DROP TABLE IF EXISTS integration.webhook_deliveries CASCADE;
DROP TABLE IF EXISTS integration.webhook_subscriptions CASCADE;
DROP TABLE IF EXISTS integration.event_types CASCADE;

RESET ROLE;
