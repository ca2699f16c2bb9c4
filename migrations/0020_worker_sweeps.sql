-- The background worker's role and the indexes its sweeps read. postcart_worker may do one thing: run
-- the sweep functions (sql/auth/50_sweeps.sql, sql/integration/sweeps.sql), which run with the owner's
-- rights and delete, in small batches, rows no rule reads any more. The worker logs in as the
-- authenticator and switches to it, like the request path does for the callers' roles.
-- depends: 0002_accounts 0004_idempotency 0007_server_derived_credentials

DO $roles$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'postcart_worker') THEN
        CREATE ROLE postcart_worker NOLOGIN;
    END IF;
END
$roles$;
GRANT postcart_worker TO postcart_authenticator;

SET LOCAL ROLE postcart_owner;

-- Schema access only: the worker has no privilege on any table, and EXECUTE on the sweep functions alone
-- (granted where they are defined).
GRANT USAGE ON SCHEMA auth TO postcart_worker;
GRANT USAGE ON SCHEMA integration TO postcart_worker;

-- Each sweep reads the oldest rows first through one of these and stops after a batch. A session or an
-- invitation ends at the earlier of its expiry and its revocation or use (least() ignores NULLs).
CREATE INDEX login_attempts_attempted_at_idx ON auth.login_attempts (attempted_at);
CREATE INDEX sessions_ended_at_idx ON auth.sessions ((least(expires_at, revoked_at)));
CREATE INDEX refresh_tokens_expires_at_idx ON auth.refresh_tokens (expires_at);
CREATE INDEX staff_invitations_ended_at_idx ON auth.staff_invitations ((least(expires_at, used_at)));
-- integration.idempotency_keys already has idempotency_keys_created_at_idx (0004).

RESET ROLE;
