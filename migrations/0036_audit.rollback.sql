-- Undoes 0036: the audit triggers on shop and auth tables, then the schema's tables and functions (the
-- trail itself is lost: export it first if it matters), and what sql/ defined on top of them; the
-- previous sql/auth/20_sessions.sql, applied next, defines the logins without the trail again. hstore
-- stays: other objects may use it.
SET LOCAL ROLE postcart_owner;

DROP VIEW IF EXISTS reporting.audit_log;
DROP FUNCTION IF EXISTS api.list_audit_records(jsonb);
DROP FUNCTION IF EXISTS auth.login_failed(text, uuid, text, text);

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
REVOKE USAGE ON SCHEMA audit FROM store_admin;

RESET ROLE;
