-- Registration, login lockout, sessions, refresh-token rotation and reuse, logout, MFA and profile.
BEGIN;
SELECT plan(39);

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
SELECT api.register('{"email": "Carol@Example.com", "password": "correct horse battery", "full_name": " Carol ",
                      "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"}') AS body;
GRANT SELECT ON reg TO PUBLIC;
SELECT is(
    (SELECT (body -> 'customer') - 'id' FROM reg),
    '{"email": "Carol@Example.com", "full_name": "Carol"}'::jsonb,
    'register returns the customer, name trimmed'
);
SELECT throws_ok(
    $$SELECT api.register('{"email": "dave@example.com", "password": "short", "full_name": "Dave",
                            "password_hash": "$argon2id$x"}')$$,
    'PT422', 'weak_password', 'a password under 10 characters is weak'
);
SELECT throws_ok(
    $$SELECT api.register('{"email": "dave.long@example.com", "password": "DAVE.LONG@example.com",
                            "full_name": "Dave", "password_hash": "$argon2id$x"}')$$,
    'PT422', 'weak_password', 'a password equal to the e-mail (any case) is weak'
);
SELECT is(
    pg_temp.error_detail($$SELECT api.register('{"email": "d@example.com", "password": "short", "full_name": "D",
                                                 "password_hash": "$argon2id$x"}')$$),
    '{"field": "password"}'::jsonb,
    'weak_password names the password field'
);
SELECT throws_ok(
    $$SELECT api.register('{"email": "cAROL@example.COM", "password": "another long one", "full_name": "Carol 2",
                            "password_hash": "$argon2id$x"}')$$,
    'PT409', 'email_taken', 'the same e-mail in another case is taken'
);
SELECT throws_ok(
    $$SELECT api.register('{"email": "not-an-email", "password": "long enough pw", "full_name": "",
                            "password_hash": "bcrypt"}')$$,
    'PT422', 'validation_failed', 'bad e-mail, empty name and a non-argon2id hash fail validation'
);
SELECT is(
    pg_temp.error_detail($$SELECT api.register('{"email": "not-an-email", "password": "long enough pw",
                                                 "full_name": "", "password_hash": "bcrypt"}')$$),
    '{"fields": {"email": "is not a valid e-mail address", "full_name": "is required",
                 "password_hash": "must be an argon2id hash"}}'::jsonb,
    'validation_failed names each field'
);
SELECT throws_ok($$SELECT api.me('{}')$$, '42501', NULL, 'anon has no profile to read');
RESET ROLE;

SELECT is(
    (SELECT count(*) FROM auth.password_hashes AS p INNER JOIN auth.accounts AS a ON p.account_id = a.id
     WHERE a.email = 'carol@example.com' AND p.password_hash LIKE '$argon2id$%'),
    1::bigint,
    'the hash is stored next to the account'
);

-- ---------------------------------------------------------------------------------------------------
-- Login, as the authenticator
-- ---------------------------------------------------------------------------------------------------
SET LOCAL ROLE postcart_authenticator;
SELECT is(
    auth.login_lookup('CAROL@example.com') - 'account_id',
    '{"password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", "kind": "customer",
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
    (SELECT row(c.session_role, c.session_claims) FROM auth.session_claims((SELECT (body ->> 'session_id')::uuid FROM login)) AS c),
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
    '{"email": "Carol@Example.com", "full_name": "Carol"}'::jsonb,
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
SELECT is(api.enable_totp('{"totp_secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"}'), '{"mfa_enabled": true}',
    'enable_totp turns MFA on');
SELECT throws_ok(
    $$SELECT api.enable_totp('{"totp_secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"}')$$,
    'PT409', 'totp_already_enabled', 'it cannot be silently replaced'
);
SELECT throws_ok(
    $$SELECT api.create_staff('{"email": "x@example.com"}')$$, '42501', NULL, 'a customer cannot create staff'
);
SELECT is(api.logout('{}'), NULL, 'logout returns null');
RESET ROLE;

SELECT is(
    (SELECT totp_secret FROM auth.accounts WHERE email = 'carol@example.com'),
    'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP',
    'the secret is stored'
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
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
