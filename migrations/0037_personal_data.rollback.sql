-- Undoes 0037 and drops the sql/ functions built on it (sql/api/privacy.sql, sql/auth/70_privacy.sql).
-- Refused (the CHECK fails to validate) while any TOTP secret is sealed: turning MFA off for those
-- accounts, or decrypting their secrets in Python, is a decision for an operator, not a rollback.
SET LOCAL ROLE postcart_owner;

DROP FUNCTION IF EXISTS api.export_me(jsonb);
DROP FUNCTION IF EXISTS api.delete_me(jsonb, jsonb);
DROP FUNCTION IF EXISTS auth.replace_totp_secret(uuid, text, text);
DROP FUNCTION IF EXISTS auth.erased_address(jsonb);
DROP FUNCTION IF EXISTS auth.customer_subjects(uuid);

DROP INDEX integration.mails_to_email_idx;
DELETE FROM integration.event_types
WHERE type = 'customer.deleted';
ALTER TABLE auth.accounts DROP CONSTRAINT accounts_totp_secret_check;
ALTER TABLE auth.accounts ADD CONSTRAINT accounts_totp_secret_check CHECK (totp_secret ~ '^[A-Z2-7]{16,128}=*$');
COMMENT ON COLUMN auth.accounts.totp_secret IS NULL;
ALTER TABLE auth.accounts DROP COLUMN anonymised_at;

RESET ROLE;
