-- The audit trail's redaction list (migration 0036) names every column that looks like a secret in shop,
-- auth and integration; migration 0038 added one: the sha256 of a rate-limited client's key (its address,
-- e-mail or session). Its table is not audited, but the list is the one place that says which columns are
-- secrets, and tests/sql/31_audit_guard.sql checks it is complete.
-- depends: 0036_audit 0038_rate_limits

SET LOCAL ROLE postcart_owner;

INSERT INTO audit.redacted_columns (table_name, column_name, reason) VALUES
('integration.rate_limit_buckets', 'key_hash', 'sha256 of a rate-limited client''s address, e-mail or session id');

RESET ROLE;
