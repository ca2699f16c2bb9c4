-- Idempotency-Key support for every state-changing POST (see migrations/0004_idempotency.sql).
--
-- Whose key is it? A signed-in caller's keys belong to its account (claims.sub, read from the session
-- row). An anonymous caller has no account, so the layer passes a scope it derived from the request:
-- the hash of the guest's cart token when one is sent, else a keyed hash of the request itself. Keys
-- of one anonymous client therefore never collide with, replay for or block another's.

CREATE OR REPLACE FUNCTION integration.idempotency_owner(p_anonymous_scope text)
RETURNS text
LANGUAGE sql
STABLE
AS $$
    SELECT coalesce(
        nullif(current_setting('request.claims', TRUE), '')::jsonb ->> 'sub',
        'anonymous:' || p_anonymous_scope
    )
$$;
COMMENT ON FUNCTION integration.idempotency_owner(text) IS
'The caller an idempotency key belongs to: the account id from the request claims, or '
'"anonymous:<scope>" with the scope the layer derived for an anonymous request; returns text.';

CREATE OR REPLACE FUNCTION integration.claim_idempotency_key(
    p_key text, p_fingerprint bytea, p_anonymous_scope text
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_owner text := integration.idempotency_owner(p_anonymous_scope);
    v_row integration.idempotency_keys;
BEGIN
    IF p_key IS NULL OR length(p_key) NOT BETWEEN 1 AND 255 THEN
        PERFORM shop.fail(
            400, 'invalid_idempotency_key',
            '{"fields": {"Idempotency-Key": "must have 1 to 255 characters"}}'::jsonb,
            'An Idempotency-Key has 1 to 255 characters.'
        );
    END IF;
    IF v_owner IS NULL THEN
        PERFORM shop.fail(
            500, 'idempotency_scope_missing', '{}'::jsonb, 'An anonymous request needs a scope for its key.'
        );
    END IF;
    DELETE FROM integration.idempotency_keys
    WHERE owner_id = v_owner AND key = p_key AND created_at < now() - INTERVAL '24 hours';
    -- A concurrent request with the same key holds this row's index entry until it commits or rolls
    -- back; waiting here is what makes the second request a replay instead of a second execution.
    INSERT INTO integration.idempotency_keys (owner_id, key, fingerprint, status)
    VALUES (v_owner, p_key, p_fingerprint, 200)
    ON CONFLICT DO NOTHING;
    IF FOUND THEN
        RETURN NULL;
    END IF;
    SELECT * INTO v_row FROM integration.idempotency_keys WHERE owner_id = v_owner AND key = p_key;
    IF v_row.fingerprint <> p_fingerprint THEN
        PERFORM shop.fail(
            422, 'idempotency_key_reused',
            '{"fields": {"Idempotency-Key": "was used with a different request"}}'::jsonb,
            'This Idempotency-Key was used with a different request; use a new key.'
        );
    END IF;
    RETURN jsonb_build_object('status', v_row.status, 'body', v_row.body);
END
$$;
COMMENT ON FUNCTION integration.claim_idempotency_key(text, bytea, text) IS
'Claims an Idempotency-Key for the caller (p_anonymous_scope: the layer''s scope for anonymous callers, '
'ignored for signed-in ones). Returns NULL when the key is new (the caller then runs the request and '
'saves its response in the same transaction), or {status, body} of the first response to replay. '
'Raises PT400 invalid_idempotency_key, PT422 idempotency_key_reused when the key came with a different '
'request.';

CREATE OR REPLACE FUNCTION integration.save_idempotent_response(
    p_key text, p_anonymous_scope text, p_status integer, p_body jsonb
)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- PL/pgSQL for its cached plan (a SECURITY DEFINER sql function is planned on every call).
    UPDATE integration.idempotency_keys
    SET status = p_status, body = p_body
    WHERE owner_id = integration.idempotency_owner(p_anonymous_scope) AND key = p_key;
END
$$;
COMMENT ON FUNCTION integration.save_idempotent_response(text, text, integer, jsonb) IS
'Records the response of a request whose key was claimed in the same transaction (same key and scope). '
'Returns nothing.';

REVOKE ALL ON FUNCTION integration.idempotency_owner(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION integration.claim_idempotency_key(text, bytea, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION integration.save_idempotent_response(text, text, integer, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION integration.claim_idempotency_key(text, bytea, text) TO postcart_anon;
GRANT EXECUTE ON FUNCTION integration.claim_idempotency_key(text, bytea, text) TO postcart_customer;
GRANT EXECUTE ON FUNCTION integration.claim_idempotency_key(text, bytea, text) TO postcart_staff;
GRANT EXECUTE ON FUNCTION integration.save_idempotent_response(text, text, integer, jsonb) TO postcart_anon;
GRANT EXECUTE ON FUNCTION integration.save_idempotent_response(text, text, integer, jsonb) TO postcart_customer;
GRANT EXECUTE ON FUNCTION integration.save_idempotent_response(text, text, integer, jsonb) TO postcart_staff;
