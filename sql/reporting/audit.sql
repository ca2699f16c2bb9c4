-- The audit trail for analysts, masked: who acted (kind of account, role) and what changed (table, key,
-- action, the names of the changed columns), never the values, which may be personal data or secrets.
-- Auditors who need the values use GET /v1/admin/audit (store_admin).

CREATE OR REPLACE VIEW reporting.audit_log AS
SELECT
    r.id,
    r.at,
    r.txid,
    r.action,
    r.table_name,
    r.record_id,
    a.kind AS actor_kind,
    -- A staff member's own role names the member: shown as the role every member has.
    CASE WHEN r.db_role LIKE 'postcart\_staff\_%' THEN 'postcart_staff' ELSE r.db_role END AS db_role,
    r.login_role,
    r.request_id,
    CASE WHEN r.action = 'login_failed' THEN r.new_values ->> 'reason' END AS reason,
    CASE WHEN r.action IN ('insert', 'update', 'delete') THEN
        (
            SELECT array_agg(k.name ORDER BY k.name)
            FROM jsonb_object_keys(coalesce(r.new_values, r.old_values)) AS k (name)
        )
    END AS changed_columns
FROM audit.records AS r
LEFT JOIN auth.accounts AS a ON r.account_id = a.id;

COMMENT ON VIEW reporting.audit_log IS
'The audit trail, masked for analysts: one row per audit record (a row written in shop or auth, a login '
'or failed login, a purge) with when, which table and record, the action, what kind of account acted '
'through which role, and which columns changed, but no values, no e-mail, no account id.';
COMMENT ON COLUMN reporting.audit_log.id IS 'The audit record (audit.records.id), in insertion order.';
COMMENT ON COLUMN reporting.audit_log.at IS 'Transaction time of the change.';
COMMENT ON COLUMN reporting.audit_log.txid IS 'The writing transaction: records of one request share it.';
COMMENT ON COLUMN reporting.audit_log.action IS 'insert, update, delete, truncate, login, login_failed or purge.';
COMMENT ON COLUMN reporting.audit_log.table_name IS 'schema.table written (auth.sessions for logins).';
COMMENT ON COLUMN reporting.audit_log.record_id IS 'The record''s id (its first key column), a pseudonymous key.';
COMMENT ON COLUMN reporting.audit_log.actor_kind IS 'customer or staff; NULL for direct SQL or an unknown e-mail.';
COMMENT ON COLUMN reporting.audit_log.db_role IS
'The role acting (postcart_customer, postcart_staff for any staff member, a worker role, or a DBA''s login).';
COMMENT ON COLUMN reporting.audit_log.login_role IS 'The database login (postcart_authenticator for the API).';
COMMENT ON COLUMN reporting.audit_log.request_id IS 'The HTTP request''s X-Request-Id; NULL for direct SQL.';
COMMENT ON COLUMN reporting.audit_log.reason IS 'For login_failed: the refusal code, e.g. invalid_credentials.';
COMMENT ON COLUMN reporting.audit_log.changed_columns IS
'For insert, update and delete: the names of the columns recorded (for an update, those that changed).';

GRANT SELECT ON reporting.audit_log TO postcart_analyst;
GRANT SELECT ON reporting.audit_log TO postcart_dba;
