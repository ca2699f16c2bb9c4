-- Undoes 0036: the audit triggers on shop and auth tables, then the schema's tables and functions
-- (the trail itself is lost: export it first if it matters).
SET LOCAL ROLE postcart_owner;

DO $$
DECLARE
    t regclass;
BEGIN
    FOR t IN
        SELECT DISTINCT tg.tgrelid::regclass FROM pg_trigger AS tg
        WHERE tg.tgname IN ('audit_record_change', 'audit_record_truncate')
    LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS audit_record_change ON %s', t);
        EXECUTE format('DROP TRIGGER IF EXISTS audit_record_truncate ON %s', t);
    END LOOP;
END
$$;

DROP TABLE audit.records;
DROP TABLE audit.redacted_columns;
DROP TABLE audit.unaudited_tables;
DROP FUNCTION audit.purge(timestamptz);
DROP FUNCTION audit.tg_records__append_only();
DROP FUNCTION audit.record_event(text, uuid, jsonb);
DROP FUNCTION audit.enable_for(regclass);
DROP FUNCTION audit.tg_audited__record_change();
DROP FUNCTION audit.redact(jsonb, text[]);
REVOKE USAGE ON SCHEMA audit FROM store_admin;

RESET ROLE;
