-- Undoes 0041: the trail's append-only trigger lets only the purge through again; erase records go.
SET LOCAL ROLE postcart_owner;

REVOKE UPDATE (old_values, new_values) ON audit.records FROM postcart_owner;
DROP FUNCTION audit.forget_person(uuid, uuid[], text);
DROP FUNCTION audit.erased_values(jsonb);
CREATE OR REPLACE FUNCTION audit.tg_records__append_only()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_stack text;
BEGIN
    GET DIAGNOSTICS v_stack = PG_CONTEXT;
    IF
        TG_OP = 'DELETE'
        AND current_setting('audit.purging', TRUE) = 'on'
        AND split_part(v_stack, E'\n', 3)
        LIKE 'PL/pgSQL function audit.purge(timestamp with time zone) line % at SQL statement'
    THEN
        RETURN NULL;
    END IF;
    PERFORM shop.fail(
        403, 'audit_append_only',
        jsonb_build_object('operation', lower(TG_OP)),
        'The audit trail is append-only; old records leave only through audit.purge(before).'
    );
    RETURN NULL;
END
$$;
ALTER TABLE audit.records DROP CONSTRAINT records_action_check;
-- Erase records cannot stay under the old rule; the records they describe keep their erased values.
ALTER TABLE audit.records DISABLE TRIGGER records_append_only;
DELETE FROM audit.records
WHERE action = 'erase';
ALTER TABLE audit.records ENABLE TRIGGER records_append_only;
ALTER TABLE audit.records ADD CONSTRAINT records_action_check CHECK (
    action IN ('insert', 'update', 'delete', 'truncate', 'login', 'login_failed', 'purge')
);

RESET ROLE;
