-- Login, sessions and refresh tokens. These run as postcart_authenticator before any role switch
-- (login, refresh) or at the start of every authenticated request (session_claims, through
-- sql/auth/50_requests.sql).

-- == triggers: every session carries its role and claims, as the account says ==========================

CREATE OR REPLACE FUNCTION auth.tg_sessions__claims()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_deactivated_at timestamptz;
BEGIN
    -- FOR SHARE: a concurrent change of the account's kind or role, or its deactivation, either waits
    -- for this session to commit (and then rewrites or revokes it) or is waited for and read here.
    SELECT
        auth.account_role(a.kind, a.db_role),
        jsonb_build_object(
            'sub', a.id, 'sid', NEW.id, 'kind', a.kind, 'role', auth.account_role(a.kind, a.db_role)
        )::text,
        a.deactivated_at
    INTO NEW.role_name, NEW.claims, v_deactivated_at
    FROM auth.accounts AS a
    WHERE a.id = NEW.account_id
    FOR SHARE;
    IF TG_OP = 'INSERT' AND v_deactivated_at IS NOT NULL THEN
        PERFORM shop.fail(
            403, 'account_deactivated',
            '{}'::jsonb,
            'This account has been deactivated; a store administrator can reactivate it.'
        );
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION auth.tg_sessions__claims() IS
'BEFORE INSERT or UPDATE of id, account_id, role_name or claims on auth.sessions: computes role_name and '
'claims {sub, sid, kind, role} from the account, so a value written by hand never sticks; refuses a new '
'session of a deactivated account (PT403 account_deactivated); returns NEW.';

CREATE OR REPLACE TRIGGER sessions_claims
BEFORE INSERT OR UPDATE OF id, account_id, role_name, claims ON auth.sessions
FOR EACH ROW EXECUTE FUNCTION auth.tg_sessions__claims();

CREATE OR REPLACE FUNCTION auth.tg_accounts__session_claims()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
BEGIN
    -- Touching account_id is enough: the sessions' own trigger recomputes their role and claims.
    UPDATE auth.sessions AS s
    SET account_id = s.account_id
    WHERE s.account_id = NEW.id;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION auth.tg_accounts__session_claims() IS
'AFTER UPDATE of kind or db_role on auth.accounts: rewrites the role and claims of every session of the '
'account in the same transaction, so its next request (in any process) acts as the new role; returns NULL.';

CREATE OR REPLACE TRIGGER accounts_session_claims
AFTER UPDATE OF kind, db_role ON auth.accounts
FOR EACH ROW
WHEN (old.kind IS DISTINCT FROM new.kind OR old.db_role IS DISTINCT FROM new.db_role)
EXECUTE FUNCTION auth.tg_accounts__session_claims();

-- == functions ======================================================================================

CREATE OR REPLACE FUNCTION auth.session_json(p_session_id uuid)
RETURNS jsonb
LANGUAGE sql
STABLE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
    SELECT jsonb_build_object(
        'session_id', s.id,
        'account_id', s.account_id,
        'kind', s.claims::jsonb ->> 'kind',
        'role', s.role_name
    )
    FROM auth.sessions AS s
    WHERE s.id = p_session_id
$$;
COMMENT ON FUNCTION auth.session_json(uuid) IS
'Describes a session for the token issuer: returns {session_id, account_id, kind, role}, role being '
'postcart_customer for customers and the member''s own db_role for staff. Internal: no grants.';

CREATE OR REPLACE FUNCTION auth.session_claims(p_session_id uuid)
RETURNS TABLE (session_role text, session_claims text)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
BEGIN
    -- Everything about the caller comes from this row, kept by the triggers above: a token names its
    -- session and nothing more is believed of it.
    RETURN QUERY
    SELECT s.role_name, s.claims
    FROM auth.sessions AS s
    WHERE s.id = p_session_id AND s.revoked_at IS NULL AND s.expires_at > now();
    IF NOT FOUND THEN
        PERFORM shop.fail(
            401, 'token_revoked',
            '{}'::jsonb,
            'This session has ended (logged out, revoked or expired); log in again.'
        );
    END IF;
END
$$;
COMMENT ON FUNCTION auth.session_claims(uuid) IS
'Runs first in every authenticated request (one primary-key lookup, through auth.act_as), as '
'postcart_authenticator: returns one row (session_role, session_claims) with the role to switch to and '
'the claims {sub, sid, kind, role} as JSON text, stored on the live session by triggers from its '
'account; raises PT401 token_revoked when the session is unknown, revoked or expired. The token only '
'names the session: nothing else in it is trusted.';

CREATE OR REPLACE FUNCTION auth.count_login_attempt(p_email extensions.citext)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_locked_until timestamptz;
BEGIN
    -- Check and count in one step, one attempt at a time per e-mail: otherwise a burst of parallel
    -- guesses would all pass the check before any of them was counted.
    PERFORM pg_advisory_xact_lock(hashtextextended('postcart.login:' || lower(p_email::text), 0));

    -- A failure "locks" when it is the 10th (or later) failure within 15 minutes, counting only failures
    -- after the last successful login; the lock lasts 15 minutes from that failure. Only the last 30
    -- minutes can matter: a locking failure in the last 15 looks back at most 15 more.
    SELECT max(f.attempted_at) + INTERVAL '15 minutes'
    INTO v_locked_until
    FROM (
        SELECT
            la.attempted_at,
            count(*) OVER (
                ORDER BY la.attempted_at RANGE BETWEEN INTERVAL '15 minutes' PRECEDING AND CURRENT ROW
            ) AS failures
        FROM auth.login_attempts AS la
        WHERE
            la.email = p_email
            AND NOT la.succeeded
            AND la.attempted_at > now() - INTERVAL '30 minutes'
            AND la.attempted_at > coalesce((
                SELECT max(ok.attempted_at)
                FROM auth.login_attempts AS ok
                WHERE ok.email = p_email AND ok.succeeded AND ok.attempted_at > now() - INTERVAL '30 minutes'
            ), '-infinity')
    ) AS f
    WHERE f.failures >= 10;

    IF v_locked_until > now() THEN
        PERFORM shop.fail(
            429, 'too_many_attempts',
            jsonb_build_object(
                'retry_after', ceil(extract(EPOCH FROM v_locked_until - now()))::integer
            ),
            'Too many failed logins for this e-mail address; try again later.'
        );
    END IF;

    -- Every attempt counts as a failure until a success (a login, or a re-authentication that changed
    -- something) is recorded after it.
    INSERT INTO auth.login_attempts (email, succeeded) VALUES (p_email, FALSE);
END
$$;
COMMENT ON FUNCTION auth.count_login_attempt(extensions.citext) IS
'The lockout rule, for auth.login_lookup and auth.reauth_lookup: raises PT429 too_many_attempts '
'(details.retry_after in seconds) after 10 failures for this e-mail within 15 minutes since its last '
'success; otherwise records this attempt as a failure (until a success follows it). Serialized per '
'e-mail by an advisory lock, so parallel guesses cannot slip past the limit. Internal: no grants.';

CREATE OR REPLACE FUNCTION auth.login_lookup(p_email text)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_email extensions.citext := left(btrim(coalesce(p_email, '')), 320);
    v_result jsonb;
BEGIN
    PERFORM auth.count_login_attempt(v_email);

    SELECT jsonb_build_object(
        'account_id', a.id,
        'password_hash', p.password_hash,
        'kind', a.kind,
        'role', auth.account_role(a.kind, a.db_role),
        'totp_secret', a.totp_secret
    )
    INTO v_result
    FROM auth.accounts AS a
    LEFT JOIN auth.password_hashes AS p ON a.id = p.account_id
    WHERE a.email = v_email;

    RETURN coalesce(v_result, jsonb_build_object(
        'account_id', NULL, 'password_hash', NULL, 'kind', NULL, 'role', NULL, 'totp_secret', NULL
    ));
END
$$;
COMMENT ON FUNCTION auth.login_lookup(text) IS
'First step of a login, for postcart_authenticator: raises PT429 too_many_attempts (details.retry_after '
'in seconds) after 10 failures within 15 minutes since the last success; otherwise records this attempt '
'(a failure until auth.login_succeeded follows it) and returns {account_id, password_hash, kind, role, '
'totp_secret}, every member null for an unknown e-mail. Serialized per e-mail, so parallel guesses '
'cannot slip past the limit.';

CREATE OR REPLACE FUNCTION auth.reauth_lookup(p_session_id uuid)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_result jsonb;
BEGIN
    SELECT jsonb_build_object(
        'account_id', a.id,
        'email', a.email,
        'password_hash', p.password_hash,
        'totp_secret', a.totp_secret
    )
    INTO v_result
    FROM auth.sessions AS s
    INNER JOIN auth.accounts AS a ON s.account_id = a.id
    LEFT JOIN auth.password_hashes AS p ON a.id = p.account_id
    WHERE s.id = p_session_id AND s.revoked_at IS NULL AND s.expires_at > now();
    IF v_result IS NULL THEN
        PERFORM shop.fail(
            401, 'token_revoked',
            '{}'::jsonb,
            'This session has ended (logged out, revoked or expired); log in again.'
        );
    END IF;
    -- The same lockout as logins: a stolen access token cannot be used to guess the password here.
    PERFORM auth.count_login_attempt((v_result ->> 'email')::extensions.citext);
    RETURN v_result - 'email';
END
$$;
COMMENT ON FUNCTION auth.reauth_lookup(uuid) IS
'First step of a re-authentication (the password again, before an MFA change), for '
'postcart_authenticator: for the live session p_session_id (else PT401 token_revoked) applies the '
'login lockout of its account''s e-mail (PT429 too_many_attempts) and records the attempt as a failure '
'until the change it allows succeeds; returns {account_id, password_hash, totp_secret}.';

CREATE OR REPLACE FUNCTION auth.spend_recovery_code(p_account_id uuid, p_code_hash bytea)
RETURNS boolean
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
    -- One conditional UPDATE: of two logins racing with the same code, exactly one gets TRUE.
    WITH spent AS (
        UPDATE auth.recovery_codes AS r
        SET used_at = now()
        WHERE r.account_id = p_account_id AND r.code_hash = p_code_hash AND r.used_at IS NULL
        RETURNING r.account_id
    )

    SELECT EXISTS (SELECT FROM spent)
$$;
COMMENT ON FUNCTION auth.spend_recovery_code(uuid, bytea) IS
'For postcart_authenticator, at a login that offers a recovery code instead of a TOTP code: marks the '
'account''s unused code with this sha256 used and returns TRUE; FALSE when there is no such unused code '
'(wrong, or already spent).';

CREATE OR REPLACE FUNCTION auth.spend_totp_step(p_account_id uuid, p_step bigint)
RETURNS boolean
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
    -- One conditional UPDATE: of two logins racing with the same code, exactly one gets TRUE.
    WITH spent AS (
        UPDATE auth.accounts AS a
        SET totp_last_step = p_step
        WHERE a.id = p_account_id AND (a.totp_last_step IS NULL OR a.totp_last_step < p_step)
        RETURNING a.id
    )

    SELECT EXISTS (SELECT FROM spent)
$$;
COMMENT ON FUNCTION auth.spend_totp_step(uuid, bigint) IS
'For postcart_authenticator, after a TOTP code checked out at login: records its time step and returns '
'TRUE, or returns FALSE when that step (or a later one) was already used, i.e. the code is a replay.';

CREATE OR REPLACE FUNCTION auth.login_succeeded(
    p_account_id uuid, p_refresh_hash bytea, p_refresh_ttl interval, p_user_agent text, p_ip inet
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_email extensions.citext;
    v_session_id uuid;
BEGIN
    IF p_refresh_ttl IS NULL OR p_refresh_ttl <= INTERVAL '0' THEN
        PERFORM shop.fail(
            422, 'validation_failed',
            jsonb_build_object('fields', jsonb_build_object('refresh_ttl', 'must be positive')),
            'The refresh token lifetime must be a positive interval.'
        );
    END IF;
    SELECT a.email INTO v_email FROM auth.accounts AS a WHERE a.id = p_account_id;
    IF NOT FOUND THEN
        PERFORM shop.fail(
            404, 'account_not_found',
            jsonb_build_object('account_id', p_account_id),
            'There is no account with this id.'
        );
    END IF;

    INSERT INTO auth.login_attempts (email, succeeded) VALUES (v_email, TRUE);
    PERFORM audit.record_event('login', p_account_id, jsonb_build_object('email', v_email));
    INSERT INTO auth.sessions (account_id, expires_at, user_agent, ip)
    VALUES (p_account_id, now() + p_refresh_ttl, left(p_user_agent, 1000), p_ip)
    RETURNING id INTO v_session_id;
    INSERT INTO auth.refresh_tokens (token_hash, session_id, expires_at)
    VALUES (p_refresh_hash, v_session_id, now() + p_refresh_ttl);
    RETURN auth.session_json(v_session_id);
END
$$;
COMMENT ON FUNCTION auth.login_succeeded(uuid, bytea, interval, text, inet) IS
'Last step of a login, for postcart_authenticator once the password (and OTP) checked out: records the '
'success (also in the audit trail, action login), opens a session expiring after p_refresh_ttl and '
'stores its first refresh token (sha256 of the opaque token); returns {session_id, account_id, kind, role}.';

CREATE OR REPLACE FUNCTION auth.login_failed(p_email text, p_account_id uuid, p_reason text, p_request_id text)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_email extensions.citext := left(btrim(p_email), 320);
    v_account_id uuid := p_account_id;
BEGIN
    IF p_reason IS NULL OR p_reason !~ '^[a-z_]{1,40}$' THEN
        PERFORM shop.fail(
            422, 'validation_failed',
            jsonb_build_object('fields', jsonb_build_object('reason', 'must be an error code')),
            'The reason is the snake_case code the login was refused with.'
        );
    END IF;
    IF v_account_id IS NULL THEN
        SELECT a.id INTO v_account_id FROM auth.accounts AS a WHERE a.email = v_email;
    ELSIF v_email IS NULL THEN
        SELECT a.email INTO v_email FROM auth.accounts AS a WHERE a.id = v_account_id;
    END IF;
    PERFORM set_config('request.id', left(p_request_id, 200), TRUE);
    PERFORM audit.record_event(
        'login_failed', v_account_id, jsonb_build_object('email', v_email, 'reason', p_reason)
    );
END
$$;
COMMENT ON FUNCTION auth.login_failed(text, uuid, text, text) IS
'For postcart_authenticator, when a login or a re-authentication (before an MFA change) is refused: '
'records login_failed in the audit trail with the e-mail attempted (or the account''s, given its id), '
'the account when known, the refusal code (p_reason, snake_case) and the request id; never a password. '
'The lockout itself counts attempts in auth.login_attempts. Returns nothing.';

CREATE OR REPLACE FUNCTION auth.refresh_session(p_token_hash bytea, p_new_hash bytea, p_refresh_ttl interval)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_session_id uuid;
    v_used_at timestamptz;
BEGIN
    IF p_refresh_ttl IS NULL OR p_refresh_ttl <= INTERVAL '0' THEN
        PERFORM shop.fail(
            422, 'validation_failed',
            jsonb_build_object('fields', jsonb_build_object('refresh_ttl', 'must be positive')),
            'The refresh token lifetime must be a positive interval.'
        );
    END IF;

    -- The rotation itself: one conditional UPDATE. A concurrent use of the same token waits for the row
    -- lock, re-reads used_at, finds it set and falls through to the reuse branch below.
    UPDATE auth.refresh_tokens AS t
    SET used_at = now()
    FROM auth.sessions AS s
    WHERE
        t.token_hash = p_token_hash
        AND t.used_at IS NULL
        AND t.expires_at > now()
        AND s.id = t.session_id
        AND s.revoked_at IS NULL
        AND s.expires_at > now()
    RETURNING t.session_id INTO v_session_id;

    IF v_session_id IS NOT NULL THEN
        -- Sliding sessions: each refresh keeps the session alive for another p_refresh_ttl.
        UPDATE auth.sessions
        SET expires_at = greatest(expires_at, now() + p_refresh_ttl)
        WHERE id = v_session_id;
        INSERT INTO auth.refresh_tokens (token_hash, session_id, expires_at)
        VALUES (p_new_hash, v_session_id, now() + p_refresh_ttl);
        RETURN auth.session_json(v_session_id);
    END IF;

    SELECT t.session_id, t.used_at INTO v_session_id, v_used_at
    FROM auth.refresh_tokens AS t
    WHERE t.token_hash = p_token_hash;

    IF v_used_at IS NOT NULL THEN
        -- Reuse of a rotated token: someone holds a stolen copy. End the session for everyone. This
        -- must commit, so it is not followed by a RAISE: NULL tells the caller to answer 401.
        UPDATE auth.sessions SET revoked_at = now()
        WHERE id = v_session_id AND revoked_at IS NULL;
        RETURN NULL;
    END IF;

    PERFORM shop.fail(
        401, 'invalid_refresh_token',
        '{}'::jsonb,
        'This refresh token is unknown, expired or belongs to an ended session; log in again.'
    );
END
$$;
COMMENT ON FUNCTION auth.refresh_session(bytea, bytea, interval) IS
'Rotates a refresh token, for postcart_authenticator: marks the presented token (sha256) used, stores '
'p_new_hash as its successor and extends the session to now() + p_refresh_ttl; returns {session_id, '
'account_id, kind, role}. Unknown or expired token, or ended session: raises PT401 invalid_refresh_token. '
'A token that was already used (theft): revokes its session and returns NULL instead of raising, so the '
'revocation commits; the caller must commit and answer 401 invalid_refresh_token.';

REVOKE EXECUTE ON FUNCTION auth.tg_sessions__claims() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.tg_accounts__session_claims() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.session_json(uuid) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.session_claims(uuid) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.count_login_attempt(extensions.citext) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.login_lookup(text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.reauth_lookup(uuid) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.spend_recovery_code(uuid, bytea) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.login_succeeded(uuid, bytea, interval, text, inet) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.spend_totp_step(uuid, bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.refresh_session(bytea, bytea, interval) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.login_failed(text, uuid, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.session_claims(uuid) TO postcart_authenticator;
GRANT EXECUTE ON FUNCTION auth.login_lookup(text) TO postcart_authenticator;
GRANT EXECUTE ON FUNCTION auth.reauth_lookup(uuid) TO postcart_authenticator;
GRANT EXECUTE ON FUNCTION auth.spend_recovery_code(uuid, bytea) TO postcart_authenticator;
GRANT EXECUTE ON FUNCTION auth.login_succeeded(uuid, bytea, interval, text, inet) TO postcart_authenticator;
GRANT EXECUTE ON FUNCTION auth.spend_totp_step(uuid, bigint) TO postcart_authenticator;
GRANT EXECUTE ON FUNCTION auth.refresh_session(bytea, bytea, interval) TO postcart_authenticator;
GRANT EXECUTE ON FUNCTION auth.login_failed(text, uuid, text, text) TO postcart_authenticator;
