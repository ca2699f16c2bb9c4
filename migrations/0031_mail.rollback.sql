-- Undoes 0031: the mail queue, suppressions, the marketing rule, account requests and the accounts'
-- verification and consent columns. The functions of sql/integration/mail.sql and sql/api/mail.sql go
-- first; `postcart migrate` re-creates what the previous release needs.
SET LOCAL ROLE postcart_owner;

DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure
        FROM pg_catalog.pg_proc AS p
        INNER JOIN pg_catalog.pg_namespace AS n ON p.pronamespace = n.oid
        WHERE n.nspname IN ('api', 'auth', 'integration')
            AND p.prosrc ~ '(integration\.(mails|mail_kinds|mail_settings|mail_suppressions)|auth\.account_requests|email_verified_at|marketing_consent)\M'
    LOOP
        EXECUTE format('DROP FUNCTION IF EXISTS %s CASCADE', f);
    END LOOP;
END
$$;

DELETE FROM integration.event_types
WHERE type IN ('customer.password_reset_requested', 'customer.email_verification_requested');
DROP TABLE IF EXISTS integration.mails CASCADE;
DROP TABLE IF EXISTS integration.mail_kinds CASCADE;
DROP TABLE IF EXISTS integration.mail_settings CASCADE;
DROP TABLE IF EXISTS integration.mail_suppressions CASCADE;
DROP TABLE IF EXISTS auth.account_requests CASCADE;
ALTER TABLE auth.accounts DROP COLUMN IF EXISTS email_verified_at;
ALTER TABLE auth.accounts DROP COLUMN IF EXISTS marketing_consent;
ALTER TABLE auth.accounts DROP COLUMN IF EXISTS marketing_consent_at;

RESET ROLE;
