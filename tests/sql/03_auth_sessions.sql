-- Registration, login lockout, sessions, refresh-token rotation and reuse, logout, MFA and profile.
BEGIN;
SELECT plan(60);

-- What the application does with a recovery code a user types (auth.recovery_code_hash is internal).
CREATE FUNCTION pg_temp.code_hash(p_code text)
RETURNS bytea
LANGUAGE sql
AS $$ SELECT sha256(convert_to(replace(p_code, '-', ''), 'UTF8')) $$;

CREATE FUNCTION pg_temp.error_detail(p_sql text)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    v_detail text;
BEGIN
    EXECUTE p_sql;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL;
    RETURN v_detail::jsonb;
END
$$;

-- ---------------------------------------------------------------------------------------------------
-- Registration, as anonymous
-- ---------------------------------------------------------------------------------------------------
SET LOCAL ROLE postcart_anon;
SELECT set_config('request.claims', '{}', true);

CREATE TEMP TABLE reg AS
SELECT api.register(
    '{"email": "Carol@Example.com", "full_name": " Carol ", "password_hash": "$argon2id$v=19$m=1,t=1,p=1$x$y"}',
    '{"password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"}'
) AS body;
GRANT SELECT ON reg TO PUBLIC;
SELECT is(
    (SELECT (body -> 'customer') - 'id' FROM reg),
    '{"email": "Carol@Example.com", "full_name": "Carol"}'::jsonb,
    'register returns the customer, name trimmed'
);
SELECT throws_ok(
    $$SELECT api.register('{"email": "dave@example.com", "full_name": "Dave"}',
                          '{"password_problem": {"code": "weak_password", "reason": "must be at least 10 characters"}}')$$,
    'PT422', 'weak_password', 'the server''s verdict on a weak password is reported'
);
SELECT is(
    pg_temp.error_detail($$SELECT api.register('{"email": "d@example.com", "full_name": "D"}',
        '{"password_problem": {"code": "weak_password", "reason": "must be at least 10 characters"}}')$$),
    '{"fields": {"password": "must be at least 10 characters"}}'::jsonb,
    'weak_password names the password field, in details.fields'
);
SELECT throws_ok(
    $$SELECT api.register('{"email": "mallory@example.com", "full_name": "M", "password": "long enough pw",
                            "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"}', '{}')$$,
    'PT422', 'validation_failed', 'a hash among the client''s arguments is ignored: no derived hash, no account'
);
SELECT is(
    pg_temp.error_detail($$SELECT api.register('{"email": "mallory@example.com", "full_name": "M",
                                                 "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"}', NULL)$$),
    '{"fields": {"password": "is required"}}'::jsonb,
    'it names the password, never password_hash'
);
SELECT throws_ok(
    $$SELECT api.register('{"email": "eve@example.com", "full_name": "Eve"}',
                          '{"password_hash": "$argon2id$v=19$m=1048576,t=8,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"}')$$,
    'PT422', 'invalid_password_hash', 'a hash with other parameters than the server''s is refused'
);
SELECT throws_ok(
    $$SELECT api.register('{"email": "cAROL@example.COM", "full_name": "Carol 2"}', '{"password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"}')$$,
    'PT409', 'email_taken', 'the same e-mail in another case is taken'
);
SELECT is(
    pg_temp.error_detail($$SELECT api.register('{"email": "carol@example.com", "full_name": "C"}',
                                                 '{"password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"}')$$),
    '{"fields": {"email": "is already registered"}}'::jsonb,
    'email_taken names the email field, in details.fields'
);
SELECT throws_ok(
    $$SELECT api.register('{"email": "not-an-email", "full_name": ""}', '{"password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"}')$$,
    'PT422', 'validation_failed', 'bad e-mail and empty name fail validation'
);
SELECT is(
    pg_temp.error_detail($$SELECT api.register('{"email": "not-an-email", "full_name": ""}',
        '{"password_problem": {"code": "validation_failed", "reason": "must be a string"}}')$$),
    '{"fields": {"email": "is not a valid e-mail address", "full_name": "is required",
                 "password": "must be a string"}}'::jsonb,
    'validation_failed names each field the client sent, with the server''s verdict on the password'
);
SELECT is(
    pg_temp.error_detail($$SELECT api.register('{"email": "frank@example.com", "full_name": 7}',
                                                 '{"password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"}')$$),
    '{"fields": {"full_name": "must be a string"}}'::jsonb,
    'a full_name of the wrong type is flagged'
);
SELECT throws_ok($$SELECT api.me('{}')$$, '42501', NULL, 'anon has no profile to read');
RESET ROLE;

SELECT is(
    (SELECT p.password_hash FROM auth.password_hashes AS p INNER JOIN auth.accounts AS a ON p.account_id = a.id
     WHERE a.email = 'carol@example.com'),
    '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g',
    'the server''s hash is stored next to the account, not the client''s'
);
SELECT is(
    (SELECT count(*) FROM auth.accounts WHERE email IN ('mallory@example.com', 'eve@example.com', 'frank@example.com')),
    0::bigint,
    'refused registrations created nothing'
);

-- ---------------------------------------------------------------------------------------------------
-- Login, as the authenticator
-- ---------------------------------------------------------------------------------------------------
SET LOCAL ROLE postcart_authenticator;
SELECT is(
    auth.login_lookup('CAROL@example.com') - 'account_id',
    '{"password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g", "kind": "customer",
      "role": "postcart_customer", "totp_secret": null}'::jsonb,
    'login_lookup finds the account case-insensitively with its hash and role'
);
SELECT is(
    auth.login_lookup('nobody@example.com'),
    '{"account_id": null, "password_hash": null, "kind": null, "role": null, "totp_secret": null}'::jsonb,
    'an unknown e-mail gives nulls, not an error'
);

-- Lockout: every lookup counts as a failure until a success follows. Carol has 1 so far; 9 more are
-- tolerated, and after those 10 the next attempt is refused for 15 minutes.
DO $$ BEGIN PERFORM auth.login_lookup('Carol@Example.com') FROM generate_series(1, 8); END $$;
SELECT lives_ok($$SELECT auth.login_lookup('carol@example.com')$$, 'the tenth attempt is still heard');
SELECT throws_ok(
    $$SELECT auth.login_lookup('carol@example.com')$$, 'PT429', 'too_many_attempts', 'ten failures lock'
);
SELECT ok(
    (pg_temp.error_detail($$SELECT auth.login_lookup('carol@example.com')$$) ->> 'retry_after')::integer
    BETWEEN 890 AND 901,
    'retry_after says about 15 minutes'
);
DO $$ BEGIN PERFORM auth.login_lookup('ghost@example.com') FROM generate_series(1, 10); END $$;
SELECT throws_ok(
    $$SELECT auth.login_lookup('ghost@example.com')$$, 'PT429', 'too_many_attempts',
    'unknown e-mails lock too (no account enumeration)'
);
RESET ROLE;

-- The window: failures older than 15 minutes, or before the last success, do not count
UPDATE auth.login_attempts SET attempted_at = attempted_at - interval '16 minutes' WHERE email = 'carol@example.com';
SET LOCAL ROLE postcart_authenticator;
SELECT lives_ok($$SELECT auth.login_lookup('carol@example.com')$$, 'the lock ends 15 minutes after the 10th failure');
DO $$ BEGIN PERFORM auth.login_lookup('carol@example.com') FROM generate_series(1, 9); END $$;
CREATE TEMP TABLE login AS
SELECT auth.login_succeeded(
    (SELECT (body -> 'customer' ->> 'id')::uuid FROM reg),
    sha256('refresh-1'), interval '30 days', 'pgTAP', '192.0.2.1'
) AS body;
SELECT lives_ok($$SELECT auth.login_lookup('carol@example.com')$$, 'a successful login resets the count');
SELECT is(
    (SELECT body - 'session_id' - 'account_id' FROM login),
    '{"kind": "customer", "role": "postcart_customer"}'::jsonb,
    'login_succeeded returns the session with kind and role'
);
SELECT is(
    (SELECT row(c.session_role, c.session_claims::jsonb) FROM auth.session_claims((SELECT (body ->> 'session_id')::uuid FROM login)) AS c),
    (SELECT row('postcart_customer'::text, jsonb_build_object(
        'sub', body ->> 'account_id', 'sid', body ->> 'session_id', 'kind', 'customer', 'role', 'postcart_customer'
    )) FROM login),
    'a live session yields its role and claims, read from its rows'
);
SELECT throws_ok(
    $$SELECT * FROM auth.session_claims(gen_random_uuid())$$, 'PT401', 'token_revoked', 'an unknown session does not'
);

-- ---------------------------------------------------------------------------------------------------
-- Refresh rotation and reuse
-- ---------------------------------------------------------------------------------------------------
SELECT is(
    auth.refresh_session(sha256('refresh-1'), sha256('refresh-2'), interval '30 days') ->> 'session_id',
    (SELECT body ->> 'session_id' FROM login),
    'a refresh token rotates once'
);
SELECT is(
    auth.refresh_session(sha256('refresh-2'), sha256('refresh-3'), interval '30 days') ->> 'session_id',
    (SELECT body ->> 'session_id' FROM login),
    'its successor rotates too'
);
SELECT throws_ok(
    $$SELECT auth.refresh_session(sha256('never-issued'), sha256('x'), interval '30 days')$$,
    'PT401', 'invalid_refresh_token', 'an unknown refresh token is rejected'
);
SELECT is(
    auth.refresh_session(sha256('refresh-1'), sha256('refresh-4'), interval '30 days'),
    NULL,
    'presenting a used token again returns NULL (reuse detected)'
);
SELECT throws_ok(
    format('SELECT * FROM auth.session_claims(%L)', (SELECT body ->> 'session_id' FROM login)),
    'PT401', 'token_revoked', 'reuse revoked the session: its access tokens stop working'
);
SELECT throws_ok(
    $$SELECT auth.refresh_session(sha256('refresh-3'), sha256('refresh-5'), interval '30 days')$$,
    'PT401', 'invalid_refresh_token', 'and so does the latest legitimate refresh token'
);
RESET ROLE;
SELECT is(
    (SELECT count(*) FROM auth.refresh_tokens WHERE token_hash IN (sha256('refresh-4'), sha256('refresh-5'))),
    0::bigint,
    'no token was issued for the reused or revoked ones'
);

-- An expired refresh token
SET LOCAL ROLE postcart_authenticator;
CREATE TEMP TABLE login2 AS
SELECT auth.login_succeeded(
    (SELECT (auth.login_lookup('carol@example.com') ->> 'account_id')::uuid),
    sha256('refresh-b1'), interval '30 days', NULL, NULL
) AS body;
RESET ROLE;
UPDATE auth.refresh_tokens SET expires_at = now() - interval '1 second' WHERE token_hash = sha256('refresh-b1');
SET LOCAL ROLE postcart_authenticator;
SELECT throws_ok(
    $$SELECT auth.refresh_session(sha256('refresh-b1'), sha256('refresh-b2'), interval '30 days')$$,
    'PT401', 'invalid_refresh_token', 'an expired refresh token is rejected'
);
RESET ROLE;
UPDATE auth.refresh_tokens SET expires_at = now() + interval '1 day' WHERE token_hash = sha256('refresh-b1');

-- ---------------------------------------------------------------------------------------------------
-- The customer's own requests: profile, MFA, logout
-- ---------------------------------------------------------------------------------------------------
SET LOCAL ROLE postcart_authenticator;
SELECT set_config('role', 'postcart_customer', true), set_config('request.claims', jsonb_build_object(
    'sub', body ->> 'account_id', 'role', 'postcart_customer', 'sid', body ->> 'session_id', 'kind', 'customer'
)::text, true)
FROM login2;

SELECT is(
    api.me('{}') - 'id' - 'created_at',
    '{"email": "Carol@Example.com", "full_name": "Carol", "email_verified": false, "marketing_emails": false}'::jsonb,
    'me returns the caller''s profile'
);
SELECT ok(
    api.me('{}') ->> 'created_at' ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$', 'created_at is RFC 3339 UTC'
);
SELECT is(
    api.update_me('{"full_name": "Caroline"}') ->> 'full_name', 'Caroline', 'update_me changes the name'
);
SELECT throws_ok(
    $$SELECT api.update_me('{"full_name": "   "}')$$, 'PT422', 'validation_failed', 'a blank name is rejected'
);
SELECT throws_ok(
    $$SELECT api.enable_totp('{"secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"}',
                             '{"totp_secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"}')$$,
    'PT401', 'reauthentication_required', 'without a re-authentication MFA cannot be turned on'
);
CREATE TEMP TABLE codes AS
SELECT api.enable_totp('{}', '{"totp_secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "totp_step": 100,
                             "reauthenticated": true}') AS body;
GRANT SELECT ON codes TO PUBLIC;
SELECT is(
    (SELECT count(DISTINCT c) FROM codes, jsonb_array_elements_text(body -> 'recovery_codes') AS c
     WHERE c ~ '^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}$'),
    10::bigint,
    'enable_totp turns MFA on and returns ten distinct recovery codes, xxxx-xxxx-xxxx-xxxx'
);
SELECT throws_ok(
    $$SELECT api.enable_totp('{}', '{"totp_secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "reauthenticated": true}')$$,
    'PT409', 'totp_already_enabled', 'it cannot be silently replaced'
);
SELECT throws_ok(
    $$SELECT * FROM auth.recovery_codes$$, '42501', NULL, 'a customer cannot read recovery codes'
);
SELECT throws_ok(
    $$SELECT api.disable_totp('{"password": "x", "otp": "123456"}', '{"totp_step": 200}')$$,
    'PT401', 'reauthentication_required', 'MFA cannot be turned off without a re-authentication'
);
SELECT throws_ok(
    $$SELECT api.disable_totp('{}', '{"reauthenticated": true}')$$,
    'PT401', 'reauthentication_required', 'nor without a second proof'
);
SELECT throws_ok(
    $$SELECT api.disable_totp('{}', '{"reauthenticated": true, "totp_step": 100}')$$,
    'PT401', 'reauthentication_required', 'nor with the TOTP step already used'
);
SELECT throws_ok(
    $$SELECT api.disable_totp('{}', jsonb_build_object('reauthenticated', TRUE, 'recovery_code_hash',
                                                       encode(sha256('not a code'), 'hex')))$$,
    'PT401', 'reauthentication_required', 'nor with a recovery code that is not the account''s'
);
SELECT throws_ok(
    $$SELECT api.create_staff('{"email": "x@example.com"}', '{}')$$, '42501', NULL, 'a customer cannot create staff'
);
SELECT is(api.logout('{}'), NULL, 'logout returns null');
RESET ROLE;

SELECT is(
    (SELECT totp_secret || ' ' || totp_last_step FROM auth.accounts WHERE email = 'carol@example.com'),
    'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP 100',
    'the secret is stored and the confirming code''s step is spent'
);
SELECT is(
    (SELECT array_agg(r.code_hash ORDER BY r.code_hash) FROM auth.recovery_codes AS r
     INNER JOIN auth.accounts AS a ON r.account_id = a.id WHERE a.email = 'carol@example.com'),
    (SELECT array_agg(auth.recovery_code_hash(c) ORDER BY auth.recovery_code_hash(c))
     FROM codes, jsonb_array_elements_text(body -> 'recovery_codes') AS c),
    'only the sha256 of each code is stored'
);
SELECT is(
    (SELECT succeeded FROM auth.login_attempts WHERE email = 'carol@example.com' ORDER BY attempted_at DESC LIMIT 1),
    TRUE,
    'a change after a re-authentication records a success (it ends the lockout''s failure count)'
);
SET LOCAL ROLE postcart_authenticator;
SELECT throws_ok(
    format('SELECT * FROM auth.session_claims(%L)', (SELECT body ->> 'session_id' FROM login2)),
    'PT401', 'token_revoked', 'after logout the session no longer verifies'
);
SELECT throws_ok(
    $$SELECT auth.refresh_session(sha256('refresh-b1'), sha256('refresh-b3'), interval '30 days')$$,
    'PT401', 'invalid_refresh_token', 'after logout its refresh token is dead too'
);

-- ---------------------------------------------------------------------------------------------------
-- Re-authentication and recovery codes, as the authenticator and then as the customer
-- ---------------------------------------------------------------------------------------------------
SELECT throws_ok(
    format('SELECT auth.reauth_lookup(%L)', (SELECT body ->> 'session_id' FROM login2)),
    'PT401', 'token_revoked', 'an ended session cannot re-authenticate'
);
CREATE TEMP TABLE login3 AS
SELECT auth.login_succeeded(
    (SELECT (body -> 'customer' ->> 'id')::uuid FROM reg), sha256('refresh-c1'), interval '30 days', NULL, NULL
) AS body;
SELECT is(
    auth.reauth_lookup((SELECT (body ->> 'session_id')::uuid FROM login3)) - 'account_id',
    '{"password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
      "totp_secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"}'::jsonb,
    'reauth_lookup gives the session''s account''s hash and secret'
);
SELECT is(
    auth.spend_recovery_code(
        (SELECT (body -> 'customer' ->> 'id')::uuid FROM reg),
        (SELECT pg_temp.code_hash(body -> 'recovery_codes' ->> 0) FROM codes)
    ),
    TRUE,
    'a recovery code is spent once'
);
SELECT is(
    auth.spend_recovery_code(
        (SELECT (body -> 'customer' ->> 'id')::uuid FROM reg),
        (SELECT pg_temp.code_hash(body -> 'recovery_codes' ->> 0) FROM codes)
    ),
    FALSE,
    'and not twice'
);
SELECT set_config('role', 'postcart_customer', true), set_config('request.claims', jsonb_build_object(
    'sub', body ->> 'account_id', 'role', 'postcart_customer', 'sid', body ->> 'session_id', 'kind', 'customer'
)::text, true)
FROM login3;
SELECT throws_ok(
    format(
        'SELECT api.disable_totp(%L, %L)', '{}',
        (SELECT jsonb_build_object('reauthenticated', TRUE, 'recovery_code_hash',
                                   encode(pg_temp.code_hash(body -> 'recovery_codes' ->> 0), 'hex')) FROM codes)
    ),
    'PT401', 'reauthentication_required', 'a spent recovery code cannot turn MFA off'
);
SELECT is(
    api.disable_totp('{}', (SELECT jsonb_build_object('reauthenticated', TRUE, 'recovery_code_hash',
                                                      encode(pg_temp.code_hash(body -> 'recovery_codes' ->> 1), 'hex'))
                            FROM codes)),
    NULL,
    'the password and an unused recovery code turn MFA off'
);
RESET ROLE;
SELECT is(
    (SELECT totp_secret FROM auth.accounts WHERE email = 'carol@example.com'), NULL, 'the secret is gone'
);
SELECT is(
    (SELECT count(*) FROM auth.recovery_codes AS r INNER JOIN auth.accounts AS a ON r.account_id = a.id
     WHERE a.email = 'carol@example.com'),
    0::bigint,
    'and so are the recovery codes'
);

SELECT * FROM finish();
ROLLBACK;
