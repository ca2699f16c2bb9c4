-- The outbox (integration.events, migration 0023): every domain event is written by integration.emit() in
-- the transaction that makes the change, and a NOTIFY on channel integration_events wakes the dispatcher
-- when that transaction commits.

CREATE OR REPLACE FUNCTION integration.emit(p_type text, p_subject_id uuid, p_payload jsonb)
RETURNS uuid
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    event_id uuid;
BEGIN
    -- PL/pgSQL, not one SQL statement: a SECURITY DEFINER sql function is parsed and planned on every call.
    INSERT INTO integration.events (type, subject_id, payload)
    VALUES (p_type, p_subject_id, coalesce(p_payload, '{}'))
    RETURNING id INTO event_id;
    RETURN event_id;
END
$$;
COMMENT ON FUNCTION integration.emit(text, uuid, jsonb) IS
'Writes a domain event to the outbox in the caller''s transaction: p_type (dotted lower case, e.g. '
'stock.low, order.paid), the id of what it is about, and its data (a JSON object; NULL = {}). Delivered '
'only if the transaction commits. Returns the event id (the webhook-id). No grants: called by the '
'database''s own functions and triggers, never by a client, so nobody can forge an event.';

CREATE OR REPLACE FUNCTION integration.tg_events__notify()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    -- One notification per transaction (PostgreSQL folds identical ones), delivered at commit.
    PERFORM pg_notify('integration_events', '');
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION integration.tg_events__notify() IS
'AFTER INSERT statement trigger on integration.events: NOTIFY integration_events (empty payload), so a '
'dispatcher LISTENing wakes when the events commit. Returns NULL.';

CREATE OR REPLACE TRIGGER _500_notify
AFTER INSERT ON integration.events
FOR EACH STATEMENT EXECUTE FUNCTION integration.tg_events__notify();

REVOKE ALL ON FUNCTION integration.emit(text, uuid, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION integration.tg_events__notify() FROM PUBLIC;
