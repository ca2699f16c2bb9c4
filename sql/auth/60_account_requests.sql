-- Account requests (migration 0031, docs/email.md): password resets and e-mail verifications. A request
-- is a row; its token is derived in Python from the row's id and the server's secret key and is never
-- stored, so the database alone can neither mint nor recover one. The mail carrying it is made from the
-- event the request emits (integration.fan_out_mails).

CREATE OR REPLACE FUNCTION auth.new_account_request(p_kind text, p_account_id uuid)
RETURNS auth.account_requests
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_request auth.account_requests;
BEGIN
    INSERT INTO auth.account_requests (kind, account_id, email, expires_at)
    SELECT p_kind, p_account_id,
        CASE WHEN p_kind = 'email_verification' THEN (SELECT a.email FROM auth.accounts AS a WHERE a.id = p_account_id) END,
        now() + CASE WHEN p_kind = 'password_reset' THEN INTERVAL '30 minutes' ELSE INTERVAL '48 hours' END
    RETURNING * INTO v_request;
    IF p_account_id IS NOT NULL THEN
        PERFORM integration.emit(
            CASE WHEN p_kind = 'password_reset' THEN 'customer.password_reset_requested'
                ELSE 'customer.email_verification_requested' END,
            p_account_id,
            jsonb_build_object(
                'account_id', p_account_id, 'request_id', v_request.id,
                'expires_at', auth.to_rfc3339(v_request.expires_at)
            )
        );
    END IF;
    RETURN v_request;
END
$$;
COMMENT ON FUNCTION auth.new_account_request(text, uuid) IS
'Makes a password_reset (valid 30 minutes; p_account_id NULL for an unknown address: a row, no event) '
'or email_verification (48 hours, for the account''s current address) request and, for an account, emits '
'customer.password_reset_requested or customer.email_verification_requested {account_id, request_id, '
'expires_at} (no token: the worker derives it). Returns the row. Internal: no grants.';

CREATE OR REPLACE FUNCTION auth.account_request_email(p_request_id uuid)
RETURNS text
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
    SELECT a.email::text
    FROM auth.account_requests AS q
    INNER JOIN auth.accounts AS a ON q.account_id = a.id
    WHERE q.id = p_request_id AND q.kind = 'password_reset' AND q.used_at IS NULL AND q.expires_at > now()
$$;
COMMENT ON FUNCTION auth.account_request_email(uuid) IS
'For postcart_authenticator, after the web app checked a reset token''s signature: the e-mail of the '
'account of a live password reset (the new password may not equal it); NULL when the request is unknown, '
'used or expired. Returns text.';

CREATE OR REPLACE FUNCTION auth.sweep_account_requests(p_batch_size integer DEFAULT 1000)
RETURNS integer
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
    SELECT shop.sweep_rows('auth.account_requests', 'expires_at', INTERVAL '7 days', p_batch_size)
$$;
COMMENT ON FUNCTION auth.sweep_account_requests(integer) IS
'For postcart_worker: deletes up to p_batch_size account requests that expired more than 7 days ago. '
'Returns how many it deleted.';

REVOKE ALL ON FUNCTION auth.new_account_request(text, uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION auth.account_request_email(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION auth.sweep_account_requests(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.account_request_email(uuid) TO postcart_authenticator;
GRANT EXECUTE ON FUNCTION auth.sweep_account_requests(integer) TO postcart_worker;
