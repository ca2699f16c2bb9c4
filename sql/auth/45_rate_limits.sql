-- The rate limits' entry point (docs/rate-limits.md), in schema auth beside auth.call_api, which calls it
-- as postcart_authenticator; the rules, the buckets and the GCRA step are in schema integration
-- (migrations/0038_rate_limits.sql, sql/integration/rate_limits.sql).

CREATE OR REPLACE FUNCTION auth.take_rate_limit(
    p_function text, p_client jsonb, p_args jsonb, p_session_id uuid
)
RETURNS boolean
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_rule record;
    v_key text;
    v_wait interval;
    v_counted boolean := FALSE;
BEGIN
    IF p_client IS NULL THEN  -- POSTCART_RATE_LIMITS=off
        RETURN FALSE;
    END IF;
    FOR v_rule IN
        SELECT r.name, r.client_key, r.per / r.requests AS emission, r.burst
        FROM integration.rate_limit_rules AS r
        WHERE r.enabled AND p_function = ANY(r.functions)
        ORDER BY r.name
    LOOP
        v_key := nullif(btrim(CASE v_rule.client_key
            WHEN 'ip' THEN p_client ->> 'ip'
            WHEN 'email' THEN p_args ->> 'email'
            WHEN 'session' THEN p_session_id::text
        END), '');
        CONTINUE WHEN v_key IS NULL;
        IF v_rule.client_key = 'email' THEN
            v_key := lower(v_key);
        END IF;
        v_wait := integration.rate_limit_step(
            v_rule.name, sha256(convert_to(v_key, 'UTF8')), v_rule.emission, v_rule.burst, now()
        );
        IF v_wait IS NOT NULL THEN
            -- The raise undoes the steps of the rules before this one: a refused request counts nowhere.
            PERFORM shop.fail(
                429, CASE WHEN p_function = 'login' THEN 'too_many_attempts' ELSE 'rate_limited' END,
                jsonb_build_object(
                    'retry_after', greatest(ceil(extract(EPOCH FROM v_wait)), 1)::integer, 'rule', v_rule.name
                ),
                'Too many requests from this client; wait details.retry_after seconds (Retry-After).'
            );
        END IF;
        v_counted := TRUE;
    END LOOP;
    RETURN v_counted;
END
$$;
COMMENT ON FUNCTION auth.take_rate_limit(text, jsonb, jsonb, uuid) IS
'For postcart_authenticator, before a request to api.<p_function> (or login) runs: applies every enabled '
'rule of integration.rate_limit_rules naming p_function to the request''s key for it (ip from p_client '
'{ip}, email from p_args, session p_session_id; rules whose key is absent are skipped; p_client NULL: '
'limits off). Raises PT429 rate_limited '
'(too_many_attempts for login) with details {retry_after (seconds), rule} when one refuses, counting the '
'request nowhere; otherwise counts it under each rule and returns whether any rule applied.';

REVOKE EXECUTE ON FUNCTION auth.take_rate_limit(text, jsonb, jsonb, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.take_rate_limit(text, jsonb, jsonb, uuid) TO postcart_authenticator;
