-- Sweeps: delete, a batch at a time, credentials and records no rule reads any more (shop.sweep_rows:
-- oldest first, skipping rows other transactions hold, so two workers never wait on each other). Each
-- returns how many rows it deleted; the worker calls it again while that equals the batch size. The
-- retention periods are the constants below, listed in docs/operations.md ("Background worker").

CREATE OR REPLACE FUNCTION auth.sweep_login_attempts(p_batch_size integer DEFAULT 1000)
RETURNS integer
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
    -- The lockout rule (auth.count_login_attempt) reads the last 30 minutes; an hour leaves a margin for
    -- transactions that started before this one.
    SELECT shop.sweep_rows('auth.login_attempts', 'attempted_at', INTERVAL '1 hour', p_batch_size)
$$;
COMMENT ON FUNCTION auth.sweep_login_attempts(integer) IS
'For postcart_worker: deletes up to p_batch_size (1 to 10000, default 1000) login attempts older than 1 '
'hour, oldest first, skipping rows another transaction has locked; the lockout rule reads only the last 30 '
'minutes. Returns the number deleted.';

CREATE OR REPLACE FUNCTION auth.sweep_sessions(p_batch_size integer DEFAULT 1000)
RETURNS integer
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
    -- A session ends when it expires or is revoked (least() ignores a NULL revoked_at). Ended sessions are
    -- kept 30 days, so support can still see recent sign-ins; refresh tokens go with them (ON DELETE CASCADE).
    SELECT shop.sweep_rows('auth.sessions', 'least(expires_at, revoked_at)', INTERVAL '30 days', p_batch_size)
$$;
COMMENT ON FUNCTION auth.sweep_sessions(integer) IS
'For postcart_worker: deletes up to p_batch_size (1 to 10000, default 1000) sessions that ended (expired or '
'were revoked) more than 30 days ago, with their refresh tokens, oldest first, skipping rows another '
'transaction has locked. Returns the number of sessions deleted.';

CREATE OR REPLACE FUNCTION auth.sweep_refresh_tokens(p_batch_size integer DEFAULT 1000)
RETURNS integer
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
    -- Every refresh leaves the used token behind (presenting it again revokes the session). Once expired
    -- a token is refused anyway; a week later it goes, even while its session lives on.
    SELECT shop.sweep_rows('auth.refresh_tokens', 'expires_at', INTERVAL '7 days', p_batch_size)
$$;
COMMENT ON FUNCTION auth.sweep_refresh_tokens(integer) IS
'For postcart_worker: deletes up to p_batch_size (1 to 10000, default 1000) refresh tokens, used or not, '
'that expired more than 7 days ago, oldest first, skipping rows another transaction has locked. Returns '
'the number deleted.';

CREATE OR REPLACE FUNCTION auth.sweep_staff_invitations(p_batch_size integer DEFAULT 1000)
RETURNS integer
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
    -- An invitation ends when it expires, is redeemed or is replaced (used_at). The invited account stays:
    -- auth.reinvite_staff makes a new invitation for it.
    SELECT shop.sweep_rows('auth.staff_invitations', 'least(expires_at, used_at)', INTERVAL '30 days', p_batch_size)
$$;
COMMENT ON FUNCTION auth.sweep_staff_invitations(integer) IS
'For postcart_worker: deletes up to p_batch_size (1 to 10000, default 1000) staff invitations that ended '
'(expired, redeemed or replaced) more than 30 days ago, oldest first, skipping rows another transaction '
'has locked; the invited accounts stay. Returns the number deleted.';

REVOKE EXECUTE ON FUNCTION auth.sweep_login_attempts(integer) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.sweep_sessions(integer) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.sweep_refresh_tokens(integer) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.sweep_staff_invitations(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.sweep_login_attempts(integer) TO postcart_worker;
GRANT EXECUTE ON FUNCTION auth.sweep_sessions(integer) TO postcart_worker;
GRANT EXECUTE ON FUNCTION auth.sweep_refresh_tokens(integer) TO postcart_worker;
GRANT EXECUTE ON FUNCTION auth.sweep_staff_invitations(integer) TO postcart_worker;
