-- How an HTTP request enters the database: as postcart_authenticator, it switches to the caller's role and
-- claims (read from the session row, auth.session_claims) and then calls one api function as that role.
-- One statement, so the layer sends a single prepared statement per request (docs/architecture.md).

CREATE OR REPLACE FUNCTION auth.act_as(p_session_id uuid, p_request_id text)
RETURNS void
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    v_role text := 'postcart_anon';
    v_claims text := '{}';
BEGIN
    IF p_session_id IS NOT NULL THEN
        SELECT c.session_role, c.session_claims INTO v_role, v_claims
        FROM auth.session_claims(p_session_id) AS c;
    END IF;
    -- Local to the transaction. Not SECURITY DEFINER (PostgreSQL refuses a role switch there): the
    -- authenticator switches to a role it was granted, as it would with SET LOCAL ROLE.
    PERFORM
        set_config('role', v_role, TRUE),
        set_config('request.claims', v_claims, TRUE),
        set_config('request.id', p_request_id, TRUE);
END
$$;
COMMENT ON FUNCTION auth.act_as(uuid, text) IS
'For postcart_authenticator, first in a request''s transaction: switches to the role of the live session '
'p_session_id and sets request.claims {sub, sid, kind, role} from its row (PT401 token_revoked when the '
'session is unknown, revoked or expired), or to postcart_anon with empty claims when p_session_id is '
'NULL; sets request.id. Returns nothing; the settings last until the transaction ends.';

CREATE OR REPLACE FUNCTION auth.call_api(
    p_function text, p_args jsonb, p_derived jsonb, p_session_id uuid, p_request_id text
)
RETURNS text
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    v_body text;
BEGIN
    PERFORM auth.act_as(p_session_id, p_request_id);
    -- Planned and run after the switch: EXECUTE on the api function and every policy it meets are
    -- checked as the caller. %I keeps the name an identifier inside schema api.
    IF p_derived IS NULL THEN
        EXECUTE format('SELECT api.%I($1)::text', p_function) INTO v_body USING p_args;
    ELSE
        EXECUTE format('SELECT api.%I($1, $2)::text', p_function) INTO v_body USING p_args, p_derived;
    END IF;
    RETURN v_body;
END
$$;
COMMENT ON FUNCTION auth.call_api(text, jsonb, jsonb, uuid, text) IS
'For postcart_authenticator, the whole of a request without an Idempotency-Key in one statement: '
'auth.act_as(p_session_id, p_request_id), then api.<p_function>(p_args) (or (p_args, p_derived) when '
'p_derived is not NULL: what the server computed) as the caller''s role; returns the function''s jsonb '
'result as text. Raises what they raise (PT401 token_revoked, 42501 when the role may not call it).';

CREATE OR REPLACE FUNCTION auth.call_api_keyed(
    p_function text, p_args jsonb, p_derived jsonb, p_session_id uuid, p_request_id text,
    p_key text, p_fingerprint bytea, p_anonymous_scope text, p_status integer
)
RETURNS TABLE (replay text, body text)
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    result jsonb;
BEGIN
    -- One statement, like auth.call_api: every step of a request with an Idempotency-Key commits together
    -- or not at all, in one round trip (each extra statement cost the layer a send and a wake-up).
    PERFORM auth.act_as(p_session_id, p_request_id);
    replay := integration.claim_idempotency_key(p_key, p_fingerprint, p_anonymous_scope)::text;
    IF replay IS NULL THEN
        IF p_derived IS NULL THEN
            EXECUTE format('SELECT api.%I($1)', p_function) INTO result USING p_args;
        ELSE
            EXECUTE format('SELECT api.%I($1, $2)', p_function) INTO result USING p_args, p_derived;
        END IF;
        PERFORM integration.save_idempotent_response(p_key, p_anonymous_scope, p_status, result);
        body := result::text;
    END IF;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION auth.call_api_keyed(text, jsonb, jsonb, uuid, text, text, bytea, text, integer) IS
'For postcart_authenticator, the whole of a request with an Idempotency-Key in one statement: '
'auth.act_as(p_session_id, p_request_id), then integration.claim_idempotency_key(p_key, p_fingerprint, '
'p_anonymous_scope) as the caller. A key seen before returns one row (replay = the first response as '
'{status, body}, body NULL); a new one runs api.<p_function> as auth.call_api does, records its response '
'with p_status (integration.save_idempotent_response) and returns (NULL, the result as text). Raises what '
'they raise (PT422 idempotency_key_reused for the same key with another request).';

REVOKE EXECUTE ON FUNCTION auth.act_as(uuid, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.call_api(text, jsonb, jsonb, uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.act_as(uuid, text) TO postcart_authenticator;
GRANT EXECUTE ON FUNCTION auth.call_api(text, jsonb, jsonb, uuid, text) TO postcart_authenticator;
REVOKE EXECUTE ON FUNCTION auth.call_api_keyed(text, jsonb, jsonb, uuid, text, text, bytea, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.call_api_keyed(text, jsonb, jsonb, uuid, text, text, bytea, text, integer)
TO postcart_authenticator;
