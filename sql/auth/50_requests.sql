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

-- The entry points before the client key joined them (0038); dropped so no stale overload stays granted.
DROP FUNCTION IF EXISTS auth.call_api(text, jsonb, jsonb, uuid, text);
DROP FUNCTION IF EXISTS auth.call_api_keyed(text, jsonb, jsonb, uuid, text, text, bytea, text, integer);

CREATE OR REPLACE FUNCTION auth.client_error(
    p_sqlstate text, p_message text, p_detail text, p_hint text, p_constraint text, p_column text
)
RETURNS jsonb
LANGUAGE sql
IMMUTABLE
AS $$
    -- The client's own mistakes (PT4xx refusals, bad values, broken rules) are answered, and a request
    -- the rate limit counted stays counted. Anything else (permissions, conflicts to retry, the server's
    -- faults) is raised again, undoing the count with the rest.
    SELECT CASE WHEN p_sqlstate LIKE 'PT4%' OR p_sqlstate LIKE '22%' OR p_sqlstate LIKE '23%' THEN
        jsonb_build_object(
            'sqlstate', p_sqlstate, 'message', p_message, 'detail', nullif(p_detail, ''),
            'hint', nullif(p_hint, ''), 'constraint', nullif(p_constraint, ''), 'column', nullif(p_column, '')
        )
    END
$$;
COMMENT ON FUNCTION auth.client_error(text, text, text, text, text, text) IS
'The error of a rate-limited request''s api function as {sqlstate, message, detail, hint, constraint, '
'column}, to return instead of raise (so the request stays counted), when it is the client''s (SQLSTATE '
'PT4xx, class 22 or 23); NULL when it must be raised again. For auth.call_api and auth.call_api_keyed, '
'which call it after switching to the caller''s role: granted to the roles a request may take.';

CREATE OR REPLACE FUNCTION auth.call_api_keyed(
    p_function text, p_args jsonb, p_derived jsonb, p_session_id uuid, p_request_id text, p_client jsonb,
    p_key text, p_fingerprint bytea, p_anonymous_scope text, p_status integer
)
RETURNS TABLE (replay text, body text, error jsonb)
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    v_counted boolean;
    v_result jsonb;
    v_state text;
    v_message text;
    v_detail text;
    v_hint text;
    v_constraint text;
    v_column text;
BEGIN
    -- One statement: every step of a request commits together or not at all (but for a counted request's
    -- count), in one round trip (each extra statement cost the layer a send and a wake-up). As the
    -- authenticator, before the switch: a rate limit's refusal raises here and nothing else happens.
    v_counted := auth.take_rate_limit(p_function, p_client, p_args, p_session_id);
    PERFORM auth.act_as(p_session_id, p_request_id);
    -- A subtransaction: when the rate limit counted this request, a client error undoes the function's
    -- work and the key's claim (a retry may use the key) but not the count: the statement commits and the
    -- error travels back as data.
    BEGIN
        IF p_key IS NOT NULL THEN
            replay := integration.claim_idempotency_key(p_key, p_fingerprint, p_anonymous_scope)::text;
        END IF;
        IF replay IS NULL THEN
            -- Planned and run after the switch: EXECUTE on the api function and every policy it meets are
            -- checked as the caller. %I keeps the name an identifier inside schema api.
            IF p_derived IS NULL THEN
                EXECUTE format('SELECT api.%I($1)', p_function) INTO v_result USING p_args;
            ELSE
                EXECUTE format('SELECT api.%I($1, $2)', p_function) INTO v_result USING p_args, p_derived;
            END IF;
            IF p_key IS NOT NULL THEN
                PERFORM integration.save_idempotent_response(p_key, p_anonymous_scope, p_status, v_result);
            END IF;
            body := v_result::text;
        END IF;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT,
            v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT, v_constraint = CONSTRAINT_NAME,
            v_column = COLUMN_NAME;
        IF v_counted THEN
            error := auth.client_error(v_state, v_message, v_detail, v_hint, v_constraint, v_column);
        END IF;
        IF error IS NULL THEN
            RAISE;
        END IF;
    END;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION auth.call_api_keyed(text, jsonb, jsonb, uuid, text, jsonb, text, bytea, text, integer) IS
'For postcart_authenticator, the whole of a request with an Idempotency-Key in one statement: the rate '
'limits (auth.take_rate_limit with p_client {ip}, NULL when off; PT429 when refused), '
'auth.act_as(p_session_id, p_request_id), then integration.claim_idempotency_key(p_key, p_fingerprint, '
'p_anonymous_scope) as the caller. A key seen before returns (the first response as {status, body}, '
'NULL, NULL); a new one runs api.<p_function>(p_args) (or (p_args, p_derived) when p_derived is not '
'NULL: what the server computed) as the caller''s role, records its response with p_status '
'(integration.save_idempotent_response) and returns (NULL, the result as text, NULL). p_key NULL: no '
'key is claimed or recorded (auth.call_api). When a rate limit counted the request, a client error of '
'the function (auth.client_error) comes back as (NULL, NULL, the error) with its work undone and the '
'count kept. Raises everything else (PT401 token_revoked, 42501 when the role may not call it, PT422 '
'idempotency_key_reused for the same key with another request).';

CREATE OR REPLACE FUNCTION auth.call_api(
    p_function text, p_args jsonb, p_derived jsonb, p_session_id uuid, p_request_id text, p_client jsonb
)
RETURNS TABLE (body text, error jsonb)
LANGUAGE sql
VOLATILE
AS $$
    SELECT k.body, k.error
    FROM auth.call_api_keyed(p_function, p_args, p_derived, p_session_id, p_request_id, p_client, NULL, NULL, NULL, NULL) AS k
$$;
COMMENT ON FUNCTION auth.call_api(text, jsonb, jsonb, uuid, text, jsonb) IS
'For postcart_authenticator, the whole of a request without an Idempotency-Key in one statement: '
'auth.call_api_keyed without a key. Returns (the function''s jsonb result as text, NULL), or (NULL, the '
'error) for a client error of a request a rate limit counted; raises what it raises.';

REVOKE EXECUTE ON FUNCTION auth.act_as(uuid, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.client_error(text, text, text, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.client_error(text, text, text, text, text, text)
TO postcart_anon, postcart_customer, postcart_staff;
REVOKE EXECUTE ON FUNCTION auth.call_api(text, jsonb, jsonb, uuid, text, jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.call_api_keyed(text, jsonb, jsonb, uuid, text, jsonb, text, bytea, text, integer)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.act_as(uuid, text) TO postcart_authenticator;
GRANT EXECUTE ON FUNCTION auth.call_api(text, jsonb, jsonb, uuid, text, jsonb) TO postcart_authenticator;
GRANT EXECUTE ON FUNCTION auth.call_api_keyed(text, jsonb, jsonb, uuid, text, jsonb, text, bytea, text, integer)
TO postcart_authenticator;
