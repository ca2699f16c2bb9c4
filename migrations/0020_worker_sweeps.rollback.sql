-- The role stays (roles are cluster-wide: other databases may use it); this database forgets it.
SET LOCAL ROLE postcart_owner;

DROP FUNCTION IF EXISTS auth.sweep_login_attempts(integer);
DROP FUNCTION IF EXISTS auth.sweep_sessions(integer);
DROP FUNCTION IF EXISTS auth.sweep_refresh_tokens(integer);
DROP FUNCTION IF EXISTS auth.sweep_staff_invitations(integer);
DROP FUNCTION IF EXISTS integration.sweep_idempotency_keys(integer);
DROP FUNCTION IF EXISTS shop.sweep_rows(regclass, text, interval, integer);

DROP INDEX IF EXISTS auth.login_attempts_attempted_at_idx;
DROP INDEX IF EXISTS auth.sessions_ended_at_idx;
DROP INDEX IF EXISTS auth.refresh_tokens_expires_at_idx;
DROP INDEX IF EXISTS auth.staff_invitations_ended_at_idx;

REVOKE USAGE ON SCHEMA auth FROM postcart_worker;
REVOKE USAGE ON SCHEMA integration FROM postcart_worker;

RESET ROLE;
