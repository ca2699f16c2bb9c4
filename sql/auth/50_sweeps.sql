-- Sweeps: delete, a batch at a time, credentials and records no rule reads any more. Each returns how
-- many rows it deleted; the worker calls it again while that equals the batch size. Rows are taken
-- oldest first with FOR UPDATE SKIP LOCKED, so two workers (or a worker and a request) never wait on
-- each other: each deletes rows the other has not locked. Retention periods are the constants below,
-- listed in docs/operations.md ("Background worker").

CREATE OR REPLACE FUNCTION auth.sweep_login_attempts(p_batch_size integer DEFAULT 1000)
RETURNS integer
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
    -- The lockout rule (auth.count_login_attempt) reads the last 30 minutes; an hour leaves a margin for
    -- transactions that started before this one.
    WITH doomed AS (
        SELECT la.id
        FROM auth.login_attempts AS la
        WHERE la.attempted_at < now() - INTERVAL '1 hour'
        ORDER BY la.attempted_at
        LIMIT shop.sweep_batch_size(p_batch_size)
        FOR UPDATE SKIP LOCKED
    ),

    gone AS (
        DELETE FROM auth.login_attempts AS la
        USING doomed
        WHERE la.id = doomed.id
        RETURNING 1
    )

    SELECT count(*)::integer FROM gone
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
    -- An ended session (expired or revoked) is kept 30 days, so support can still see recent sign-ins;
    -- its refresh tokens go with it (ON DELETE CASCADE).
    WITH doomed AS (
        SELECT s.id
        FROM auth.sessions AS s
        WHERE least(s.expires_at, s.revoked_at) < now() - INTERVAL '30 days'
        ORDER BY least(s.expires_at, s.revoked_at)
        LIMIT shop.sweep_batch_size(p_batch_size)
        FOR UPDATE SKIP LOCKED
    ),

    gone AS (
        DELETE FROM auth.sessions AS s
        USING doomed
        WHERE s.id = doomed.id
        RETURNING 1
    )

    SELECT count(*)::integer FROM gone
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
    WITH doomed AS (
        SELECT t.token_hash
        FROM auth.refresh_tokens AS t
        WHERE t.expires_at < now() - INTERVAL '7 days'
        ORDER BY t.expires_at
        LIMIT shop.sweep_batch_size(p_batch_size)
        FOR UPDATE SKIP LOCKED
    ),

    gone AS (
        DELETE FROM auth.refresh_tokens AS t
        USING doomed
        WHERE t.token_hash = doomed.token_hash
        RETURNING 1
    )

    SELECT count(*)::integer FROM gone
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
    WITH doomed AS (
        SELECT i.token_hash
        FROM auth.staff_invitations AS i
        WHERE least(i.expires_at, i.used_at) < now() - INTERVAL '30 days'
        ORDER BY least(i.expires_at, i.used_at)
        LIMIT shop.sweep_batch_size(p_batch_size)
        FOR UPDATE SKIP LOCKED
    ),

    gone AS (
        DELETE FROM auth.staff_invitations AS i
        USING doomed
        WHERE i.token_hash = doomed.token_hash
        RETURNING 1
    )

    SELECT count(*)::integer FROM gone
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
