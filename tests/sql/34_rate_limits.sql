-- Rate limits (docs/rate-limits.md): the rules' constraints, the GCRA step (a burst, then refusal, then
-- one request per emission interval; a refused request does not advance; keys are independent), the
-- rules applied by auth.take_rate_limit, auth.call_api keeping the count of a counted request whose
-- function fails for the client's fault, the sweep, and who may change what.
BEGIN;
SELECT plan(34);

-- == the rules ========================================================================================
SELECT set_has(
    'SELECT name FROM integration.rate_limit_rules WHERE enabled',
    $$VALUES ('login_per_ip'), ('login_per_email'), ('register_per_ip'), ('checkout_per_ip'),
             ('checkout_per_session'), ('password_reset_per_email'), ('mfa_per_session')$$,
    'the defaults limit login, registration, password reset, MFA and checkout'
);
SELECT throws_ok(
    $$INSERT INTO integration.rate_limit_rules (name, functions, client_key, requests, per, burst)
      VALUES ('no_burst', '{checkout}', 'ip', 10, '1 hour', 0)$$,
    '23514', NULL, 'a rule needs a burst of at least one'
);
SELECT throws_ok(
    $$INSERT INTO integration.rate_limit_rules (name, functions, client_key, requests, per, burst)
      VALUES ('by_cookie', '{checkout}', 'cookie', 10, '1 hour', 5)$$,
    '23514', NULL, 'a rule counts by ip, email or session only'
);

-- == the GCRA step: 3 at once, then one per 6 minutes ====================================================
SELECT is(integration.rate_limit_step('t', '\x01', '6 minutes', 3, '2026-01-01 00:00Z'), NULL, 'first passes');
SELECT is(integration.rate_limit_step('t', '\x01', '6 minutes', 3, '2026-01-01 00:00Z'), NULL, 'second passes');
SELECT is(integration.rate_limit_step('t', '\x01', '6 minutes', 3, '2026-01-01 00:01Z'), NULL, 'third passes');
SELECT is(
    integration.rate_limit_step('t', '\x01', '6 minutes', 3, '2026-01-01 00:01Z'), INTERVAL '5 minutes',
    'the fourth within the burst is refused, told to wait until a slot frees (6 minutes after the first)'
);
SELECT is(
    (SELECT tat FROM integration.rate_limit_buckets WHERE rule_name = 't' AND key_hash = '\x01'),
    '2026-01-01 00:18Z'::timestamptz, 'a refused request does not advance the arrival time'
);
SELECT is(
    integration.rate_limit_step('t', '\x01', '6 minutes', 3, '2026-01-01 00:05:59Z'), INTERVAL '1 second',
    'one second early: still refused'
);
SELECT is(integration.rate_limit_step('t', '\x01', '6 minutes', 3, '2026-01-01 00:06Z'), NULL,
          'after one emission interval one more passes');
SELECT isnt(integration.rate_limit_step('t', '\x01', '6 minutes', 3, '2026-01-01 00:06Z'), NULL,
            'and only one');
SELECT is(integration.rate_limit_step('t', '\x02', '6 minutes', 3, '2026-01-01 00:06Z'), NULL,
          'another client key is counted apart');
SELECT is(integration.rate_limit_step('u', '\x01', '6 minutes', 3, '2026-01-01 00:06Z'), NULL,
          'so is the same key under another rule');
SELECT is(
    ARRAY(SELECT integration.rate_limit_step('t', '\x01', '6 minutes', 3, '2026-01-01 05:00Z') IS NULL
          FROM generate_series(1, 4)),
    ARRAY[TRUE, TRUE, TRUE, FALSE],
    'after a long quiet spell the full burst is back, and no more (the bucket does not overfill)'
);

-- == auth.take_rate_limit: the rules naming the function ==================================================
UPDATE integration.rate_limit_rules SET enabled = FALSE;
INSERT INTO integration.rate_limit_rules (name, functions, client_key, requests, per, burst) VALUES
('pgtap_ip', '{register,me}', 'ip', 2, '1 hour', 2),
('pgtap_a_email_wide', '{request_password_reset}', 'email', 100, '1 hour', 100),
('pgtap_email', '{request_password_reset}', 'email', 1, '1 hour', 1),
('pgtap_session', '{checkout}', 'session', 1, '1 hour', 1),
('pgtap_login', '{login}', 'ip', 1, '1 hour', 1);

SELECT is(auth.take_rate_limit('register', NULL, '{}', NULL), FALSE, 'limits off (no client keys): nothing counted');
SELECT is(auth.take_rate_limit('list_products', '{"ip": "192.0.2.1"}', '{}', NULL), FALSE,
          'a function no rule names is not counted');
SELECT is(auth.take_rate_limit('checkout', '{"ip": "192.0.2.1"}', '{}', NULL), FALSE,
          'a rule whose key the request lacks (a guest has no session) is skipped');
SELECT is(auth.take_rate_limit('register', '{"ip": "192.0.2.1"}', '{}', NULL), TRUE, 'a named function is counted');
SELECT is(auth.take_rate_limit('me', '{"ip": "192.0.2.1"}', '{}', NULL), TRUE,
          'a rule counts every function it names together');
SELECT throws_like(
    $$SELECT auth.take_rate_limit('register', '{"ip": "192.0.2.1"}', '{}', NULL)$$,
    'rate_limited', 'the third in the hour is refused: PT429 rate_limited'
);
CREATE FUNCTION pg_temp.refusal(p_sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_state text;
    v_message text;
    v_detail text;
BEGIN
    EXECUTE p_sql;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT, v_detail = PG_EXCEPTION_DETAIL;
    RETURN concat_ws(' ', v_state, v_message, v_detail);
END
$$;
SELECT is(
    pg_temp.refusal($$SELECT auth.take_rate_limit('register', '{"ip": "192.0.2.1"}', '{}', NULL)$$),
    'PT429 rate_limited {"rule": "pgtap_ip", "retry_after": 1800}',
    'the refusal names the rule and the seconds until a slot frees'
);
SELECT is(auth.take_rate_limit('register', '{"ip": "192.0.2.2"}', '{}', NULL), TRUE, 'another address is not refused');
SELECT is(
    pg_temp.refusal($$SELECT auth.take_rate_limit('login', '{"ip": "192.0.2.3"}', '{}', NULL),
                             auth.take_rate_limit('login', '{"ip": "192.0.2.3"}', '{}', NULL)$$),
    'PT429 too_many_attempts {"rule": "pgtap_login", "retry_after": 3600}',
    'login refusals say too_many_attempts, like the login lockout'
);
SELECT is(auth.take_rate_limit('request_password_reset', '{}', '{"email": "Someone@Example.com"}', NULL), TRUE,
          'the e-mail of the arguments is a key');
SELECT ok(
    (SELECT tat FROM integration.rate_limit_buckets WHERE rule_name = 'pgtap_a_email_wide')
    = now() + INTERVAL '36 seconds',
    'each rule naming the function counted it'
);
SELECT throws_like(
    $$SELECT auth.take_rate_limit('request_password_reset', '{}', '{"email": " someone@example.COM"}', NULL)$$,
    'rate_limited', 'e-mails are compared trimmed and case-blind'
);
SELECT ok(
    (SELECT tat FROM integration.rate_limit_buckets WHERE rule_name = 'pgtap_a_email_wide')
    = now() + INTERVAL '36 seconds',
    'a request one rule refuses is counted under none (the other rule''s step was undone)'
);
SELECT ok(
    EXISTS (SELECT FROM integration.rate_limit_buckets
            WHERE rule_name = 'pgtap_email' AND key_hash = sha256('someone@example.com'::bytea)),
    'a bucket keeps the SHA-256 of its key (the lower-cased e-mail), never the key'
);

-- == auth.call_api: a counted request's client error stays counted; other errors are raised ==============
SET LOCAL ROLE postcart_authenticator;
SELECT is(
    (SELECT c.error ->> 'sqlstate' FROM auth.call_api(
        'register', '{"email": "rl@example.com", "full_name": "R L"}', '{"password_hash": "not argon2"}', NULL, 'rq1',
        '{"ip": "192.0.2.9"}') AS c),
    'PT422', 'a counted request whose function fails for the client''s fault returns the error instead of raising'
);
RESET ROLE;
SELECT ok(
    EXISTS (SELECT FROM integration.rate_limit_buckets WHERE rule_name = 'pgtap_ip'
            AND key_hash = sha256('192.0.2.9'::bytea)),
    'so the statement commits with the request counted'
);
SET LOCAL ROLE postcart_authenticator;
SELECT throws_ok(
    $$SELECT * FROM auth.call_api('register', '{"email": "rl@example.com", "full_name": "R L"}',
      '{"password_hash": "not argon2"}', NULL, 'rq2', NULL)$$,
    'PT422', 'invalid_password_hash', 'an uncounted request''s error is raised as before'
);
SELECT throws_ok(
    $$SELECT * FROM auth.call_api('me', '{}', NULL, NULL, 'rq3', '{"ip": "192.0.2.10"}')$$,
    '42501', NULL, 'a counted request the role may not make is raised (not the client''s input: not counted)'
);
RESET ROLE;

-- == the sweep and the grants ==============================================================================
DELETE FROM integration.rate_limit_buckets;
INSERT INTO integration.rate_limit_buckets (rule_name, key_hash, tat) VALUES
('pgtap_ip', '\x01', now() - INTERVAL '1 second'), ('pgtap_ip', '\x02', now() + INTERVAL '1 minute');
SET LOCAL ROLE postcart_worker;
SELECT is(integration.sweep_rate_limit_buckets(), 1, 'the sweep deletes buckets whose arrival time has passed');
RESET ROLE;
SELECT ok(
    has_column_privilege('store_admin', 'integration.rate_limit_rules', 'burst', 'UPDATE')
    AND has_column_privilege('store_admin', 'integration.rate_limit_rules', 'name', 'INSERT')
    AND NOT has_table_privilege('store_admin', 'integration.rate_limit_buckets', 'SELECT')
    AND NOT has_table_privilege('postcart_authenticator', 'integration.rate_limit_buckets', 'UPDATE'),
    'store admins tune the rules; nobody but the functions touches the buckets'
);

SELECT * FROM finish();
ROLLBACK;
