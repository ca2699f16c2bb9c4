-- Account recovery, e-mail verification and unsubscribing (docs/email.md). Tokens are checked in Python
-- (their HMAC over the request or mail id, with the server's key); these functions receive only the id
-- the token names, in `derived`, which a client can never supply.

CREATE OR REPLACE FUNCTION api.request_password_reset(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_error text := coalesce(
        auth.text_field_error(args, 'email', TRUE, 254),
        CASE WHEN NOT auth.email_is_valid(btrim(args ->> 'email')) THEN 'is not a valid e-mail address' END
    );
    v_account_id uuid;
BEGIN
    IF v_error IS NOT NULL THEN
        PERFORM shop.fail(
            422, 'validation_failed', jsonb_build_object('fields', jsonb_build_object('email', v_error)),
            'Send the e-mail address of the account.'
        );
    END IF;
    SELECT a.id INTO v_account_id
    FROM auth.accounts AS a
    WHERE a.email = btrim(args ->> 'email')::extensions.citext
    FOR NO KEY UPDATE;  -- one request at a time per account: the limit below counts right under races
    -- At most 5 live requests an hour per account, so nobody floods a mailbox; the answer is the same.
    IF v_account_id IS NOT NULL AND (
        SELECT count(*) FROM auth.account_requests AS q
        WHERE q.account_id = v_account_id AND q.kind = 'password_reset' AND q.created_at > now() - INTERVAL '1 hour'
    ) >= 5 THEN
        RETURN NULL;
    END IF;
    -- An unknown address gets a row too (no account, no event): the same work, the same answer.
    PERFORM auth.new_account_request('password_reset', v_account_id);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION api.request_password_reset(jsonb) IS
'POST /v1/auth/password-reset {email} → null (202), whether or not an account has that address (422 '
'validation_failed only for a malformed address). For an account: a request valid 30 minutes and the '
'event customer.password_reset_requested {account_id, request_id, expires_at}, which the worker mails '
'with a link holding the derived token; at most 5 an hour per account (more are answered alike and '
'ignored).';

CREATE OR REPLACE FUNCTION api.confirm_password_reset(args jsonb, derived jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_request_id uuid := shop.uuid_or_null(derived ->> 'request_id');
    v_account_id uuid;
    v_hash text := derived ->> 'password_hash';
BEGIN
    IF NOT coalesce(auth.password_hash_is_valid(v_hash), FALSE) THEN
        PERFORM shop.fail(
            422, 'invalid_password_hash', '{}'::jsonb,
            'The password hash must be an argon2id hash made with the server''s parameters.'
        );
    END IF;
    -- Spent by one conditional UPDATE: of two confirmations with one token, one finds it unused.
    UPDATE auth.account_requests AS q
    SET used_at = now()
    WHERE q.id = v_request_id AND q.kind = 'password_reset' AND q.account_id IS NOT NULL
        AND q.used_at IS NULL AND q.expires_at > now()
    RETURNING q.account_id INTO v_account_id;
    IF v_account_id IS NULL THEN
        PERFORM shop.fail(
            400, 'invalid_token', '{}'::jsonb,
            'This reset link is unknown, used or expired; ask for a new one.'
        );
    END IF;
    INSERT INTO auth.password_hashes AS p (account_id, password_hash) VALUES (v_account_id, v_hash)
    ON CONFLICT (account_id) DO UPDATE SET password_hash = excluded.password_hash, updated_at = now();
    -- The account's other resets die with this one; every session and refresh token ends.
    UPDATE auth.account_requests AS q SET used_at = now()
    WHERE q.account_id = v_account_id AND q.kind = 'password_reset' AND q.used_at IS NULL;
    UPDATE auth.sessions AS s SET revoked_at = now()
    WHERE s.account_id = v_account_id AND s.revoked_at IS NULL;
    UPDATE auth.refresh_tokens AS t SET expires_at = least(t.expires_at, now())
    FROM auth.sessions AS s
    WHERE t.session_id = s.id AND s.account_id = v_account_id AND t.used_at IS NULL AND t.expires_at > now();
    -- Proving the mailbox is as good as the password: the login lockout's failure count ends.
    INSERT INTO auth.login_attempts (email, succeeded)
    SELECT a.email, TRUE FROM auth.accounts AS a WHERE a.id = v_account_id;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION api.confirm_password_reset(jsonb, jsonb) IS
'POST /v1/auth/password-reset/confirm {token, password} → null (204). The server checks the token''s '
'HMAC and the password policy (422 weak_password) and passes derived {request_id, password_hash}. Spends '
'the request once (400 invalid_token when unknown, used or expired), sets the password, voids the '
'account''s other resets, revokes every session and refresh token of the account.';

CREATE OR REPLACE FUNCTION api.request_email_verification(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_account auth.accounts;
BEGIN
    SELECT a.* INTO v_account
    FROM auth.accounts AS a
    WHERE a.id = auth.current_account_id()
    FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        PERFORM shop.fail(401, 'unauthorized', '{}'::jsonb, 'Sign in to do this.');
    END IF;
    IF v_account.email_verified_at IS NOT NULL THEN
        PERFORM shop.fail(
            409, 'email_already_verified', '{}'::jsonb, 'This account''s e-mail address is already verified.'
        );
    END IF;
    IF (
        SELECT count(*) FROM auth.account_requests AS q
        WHERE q.account_id = v_account.id AND q.kind = 'email_verification' AND q.created_at > now() - INTERVAL '1 hour'
    ) >= 5 THEN
        PERFORM shop.fail(
            429, 'too_many_requests', '{}'::jsonb,
            'Five verification mails were sent in the last hour; use one of them or try again later.'
        );
    END IF;
    PERFORM auth.new_account_request('email_verification', v_account.id);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION api.request_email_verification(jsonb) IS
'POST /v1/me/verify-email → null (202): a new verification request for the caller''s address (48 hours) '
'and the event customer.email_verification_requested, which the worker mails. 409 email_already_verified; '
'429 too_many_requests after 5 in an hour.';

CREATE OR REPLACE FUNCTION api.confirm_email_verification(args jsonb, derived jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_request_id uuid := shop.uuid_or_null(derived ->> 'request_id');
    v_account_id uuid;
BEGIN
    -- Only for the address it was made for: an account whose e-mail changed since verifies nothing.
    UPDATE auth.account_requests AS q
    SET used_at = now()
    FROM auth.accounts AS a
    WHERE q.id = v_request_id AND q.kind = 'email_verification' AND q.used_at IS NULL AND q.expires_at > now()
        AND a.id = q.account_id AND a.email = q.email
    RETURNING q.account_id INTO v_account_id;
    IF v_account_id IS NULL THEN
        PERFORM shop.fail(
            400, 'invalid_token', '{}'::jsonb,
            'This verification link is unknown, used or expired; ask for a new one.'
        );
    END IF;
    UPDATE auth.accounts AS a SET email_verified_at = coalesce(a.email_verified_at, now())
    WHERE a.id = v_account_id;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION api.confirm_email_verification(jsonb, jsonb) IS
'POST /v1/auth/verify-email/confirm {token} → null (204); signed in or not. The server checks the '
'token''s HMAC and passes derived {request_id}; the request is spent once and the account''s address is '
'verified (GET /v1/me email_verified). 400 invalid_token when unknown, used, expired or for an address '
'the account no longer has.';

CREATE OR REPLACE FUNCTION api.unsubscribe(args jsonb, derived jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_mail integration.mails;
BEGIN
    SELECT m.* INTO v_mail FROM integration.mails AS m WHERE m.id = shop.uuid_or_null(derived ->> 'mail_id');
    IF v_mail.id IS NULL THEN
        PERFORM shop.fail(400, 'invalid_token', '{}'::jsonb, 'This unsubscribe link is unknown.');
    END IF;
    INSERT INTO integration.mail_suppressions (email, source) VALUES (v_mail.to_email, 'unsubscribe_link')
    ON CONFLICT (email) DO NOTHING;
    UPDATE auth.accounts AS a SET marketing_consent = FALSE, marketing_consent_at = now()
    WHERE a.email = v_mail.to_email AND a.marketing_consent IS DISTINCT FROM FALSE;
    RETURN jsonb_build_object('unsubscribed', TRUE);
END
$$;
COMMENT ON FUNCTION api.unsubscribe(jsonb, jsonb) IS
'POST /v1/unsubscribe?token= (RFC 8058 one-click, no sign-in) → {unsubscribed: true}: the server checks '
'the token''s HMAC over a marketing mail''s id and passes derived {mail_id}; that mail''s address gets no '
'more marketing mail (integration.mail_suppressions, and marketing_consent FALSE on its account). '
'Repeating it changes nothing. 400 invalid_token for an unknown mail.';

REVOKE ALL ON FUNCTION api.request_password_reset(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.confirm_password_reset(jsonb, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.request_email_verification(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.confirm_email_verification(jsonb, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.unsubscribe(jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.request_password_reset(jsonb) TO postcart_anon, postcart_customer, postcart_staff;
GRANT EXECUTE ON FUNCTION api.confirm_password_reset(jsonb, jsonb) TO postcart_anon, postcart_customer, postcart_staff;
GRANT EXECUTE ON FUNCTION api.request_email_verification(jsonb) TO postcart_customer, postcart_staff;
GRANT EXECUTE ON FUNCTION api.confirm_email_verification(jsonb, jsonb)
TO postcart_anon, postcart_customer, postcart_staff;
GRANT EXECUTE ON FUNCTION api.unsubscribe(jsonb, jsonb) TO postcart_anon, postcart_customer, postcart_staff;
