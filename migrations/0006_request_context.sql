-- The request path carries the caller's identity from the session row, never from the token alone
-- (auth.session_claims replaces auth.verify_session), and Idempotency-Key scopes are passed in apart
-- from the client's key (new signatures of the integration functions). Bind parameters of the
-- authenticator's statements are never written to PostgreSQL's log, whatever log_statement says.
-- depends: 0005_totp_last_step

DO $$
BEGIN
    -- log_parameter_max_length is a superuser setting; on a server where migrations run without
    -- superuser the DBA sets it (docs/operations.md).
    IF (SELECT r.rolsuper FROM pg_catalog.pg_roles AS r WHERE r.rolname = current_user) THEN
        ALTER ROLE postcart_authenticator SET log_parameter_max_length = 0;
        ALTER ROLE postcart_authenticator SET log_parameter_max_length_on_error = 0;
    END IF;
END
$$;

SET LOCAL ROLE postcart_owner;

DROP FUNCTION IF EXISTS auth.verify_session(uuid);
DROP FUNCTION IF EXISTS integration.claim_idempotency_key(text, bytea);
DROP FUNCTION IF EXISTS integration.save_idempotent_response(text, integer, jsonb);
DROP FUNCTION IF EXISTS integration.idempotency_owner();

RESET ROLE;
