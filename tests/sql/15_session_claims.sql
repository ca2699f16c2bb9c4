-- Per-request claims: every session carries its role and claims, computed by triggers from its account and
-- rewritten at once when the account's kind or role changes; auth.act_as and auth.call_api read them, one
-- primary-key probe, and refuse an ended session.
BEGIN;
SELECT plan(32);

-- The stored claims of a session, readable whatever role the test has switched to.
CREATE FUNCTION pg_temp.claims_of(p_session_id uuid)
RETURNS jsonb
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT s.claims::jsonb FROM auth.sessions AS s WHERE s.id = p_session_id $$;

-- A customer with two sessions, another customer with one, and a staff member with one.
CREATE TEMP TABLE people (who text PRIMARY KEY, account_id uuid NOT NULL);
CREATE TEMP TABLE logins (who text, n integer, session_id uuid);
GRANT SELECT, INSERT ON people, logins TO PUBLIC;
SET LOCAL ROLE postcart_anon;
SELECT set_config('request.claims', '{}', TRUE);
INSERT INTO people
SELECT
    who,
    (api.register(
        jsonb_build_object('email', who || '@claims.example.com', 'full_name', initcap(who)),
        '{"password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"}'
    ) -> 'customer' ->> 'id')::uuid AS account_id
FROM unnest(ARRAY['cleo', 'otto']) AS who;
RESET ROLE;
SET LOCAL ROLE postcart_dba;
INSERT INTO people
SELECT 'stan', (auth.create_staff(
    'stan@claims.example.com',
    '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g',
    'Stan', ARRAY['catalog_manager']
) -> 'staff' ->> 'id')::uuid;
RESET ROLE;

SET LOCAL ROLE postcart_authenticator;
INSERT INTO logins
SELECT p.who, n, (auth.login_succeeded(p.account_id, sha256(convert_to(p.who || n, 'UTF8')), INTERVAL '1 day',
                                       'pgTAP', NULL) ->> 'session_id')::uuid AS session_id
FROM people AS p
CROSS JOIN generate_series(1, 2) AS n
WHERE n = 1 OR p.who = 'cleo';
RESET ROLE;

CREATE TEMP VIEW sessions_of AS
SELECT l.who, l.n, l.session_id, p.account_id FROM logins AS l INNER JOIN people AS p USING (who);
GRANT SELECT ON sessions_of TO PUBLIC;

-- ---------------------------------------------------------------------------------------------------
-- What a new session carries
-- ---------------------------------------------------------------------------------------------------
SELECT is(
    (SELECT array_agg(pg_temp.claims_of(session_id) = jsonb_build_object(
        'sub', account_id, 'sid', session_id, 'kind', 'customer', 'role', 'postcart_customer'
    ) ORDER BY n) FROM sessions_of WHERE who = 'cleo'),
    ARRAY[TRUE, TRUE],
    'a customer''s sessions carry {sub, sid, kind, role}, each its own sid'
);
SELECT is(
    (SELECT s.role_name FROM auth.sessions AS s INNER JOIN sessions_of AS l ON s.id = l.session_id
     WHERE l.who = 'cleo' AND l.n = 1),
    'postcart_customer',
    'and the role its requests run as'
);
SELECT is(
    (SELECT row(s.role_name, pg_temp.claims_of(s.id))::text
     FROM auth.sessions AS s INNER JOIN sessions_of AS l ON s.id = l.session_id WHERE l.who = 'stan'),
    (SELECT row(a.db_role::text, jsonb_build_object('sub', a.id, 'sid', l.session_id, 'kind', 'staff',
                                                    'role', a.db_role))::text
     FROM auth.accounts AS a INNER JOIN sessions_of AS l ON a.id = l.account_id WHERE l.who = 'stan'),
    'a staff member''s session carries the member''s own role'
);
SELECT is(
    (SELECT auth.session_json(session_id) FROM sessions_of WHERE who = 'cleo' AND n = 1),
    (SELECT jsonb_build_object('session_id', session_id, 'account_id', account_id, 'kind', 'customer',
                               'role', 'postcart_customer') FROM sessions_of WHERE who = 'cleo' AND n = 1),
    'session_json (what a token is issued from) reads the same row'
);

-- A value written by hand does not stick: the trigger computes it again from the account.
UPDATE auth.sessions SET role_name = 'postcart_owner', claims = '{"role": "postcart_owner"}'
WHERE id = (SELECT session_id FROM sessions_of WHERE who = 'otto');
SELECT is(
    (SELECT row(s.role_name, pg_temp.claims_of(s.id) ->> 'role')::text
     FROM auth.sessions AS s WHERE s.id = (SELECT session_id FROM sessions_of WHERE who = 'otto')),
    '(postcart_customer,postcart_customer)',
    'role and claims written by hand are replaced by the account''s'
);
UPDATE auth.sessions SET expires_at = expires_at + INTERVAL '1 hour'
WHERE id = (SELECT session_id FROM sessions_of WHERE who = 'otto');
SELECT is(
    (SELECT pg_temp.claims_of(session_id) ->> 'sid' FROM sessions_of WHERE who = 'otto'),
    (SELECT session_id::text FROM sessions_of WHERE who = 'otto'),
    'a refresh (another column) leaves them as they are'
);

-- ---------------------------------------------------------------------------------------------------
-- The lookup every request makes, as the authenticator
-- ---------------------------------------------------------------------------------------------------
SET LOCAL ROLE postcart_authenticator;
SELECT is(
    (SELECT row(c.session_role, c.session_claims::jsonb)::text
     FROM auth.session_claims((SELECT session_id FROM sessions_of WHERE who = 'cleo' AND n = 1)) AS c),
    (SELECT row('postcart_customer', pg_temp.claims_of(session_id))::text FROM sessions_of WHERE who = 'cleo' AND n = 1),
    'session_claims returns the stored role and claims text'
);
SELECT lives_ok(
    format('SELECT auth.act_as(%L, %L)', (SELECT session_id FROM sessions_of WHERE who = 'cleo' AND n = 1), 'req-1'),
    'act_as switches to a live session'
);
SELECT is(current_user::text, 'postcart_customer', 'the role is now the session''s');
SELECT is(
    current_setting('request.claims')::jsonb,
    (SELECT pg_temp.claims_of(session_id) FROM sessions_of WHERE who = 'cleo' AND n = 1),
    'request.claims are the session''s claims'
);
SELECT is(current_setting('request.id'), 'req-1', 'request.id is set');
SELECT is(auth.current_customer_id(), (SELECT account_id FROM people WHERE who = 'cleo'),
          'policies see the session''s account');
RESET ROLE;

SET LOCAL ROLE postcart_authenticator;
SELECT lives_ok($$SELECT auth.act_as(NULL, 'req-2')$$, 'act_as without a session');
SELECT is(current_user::text, 'postcart_anon', 'is anonymous');
SELECT is(current_setting('request.claims'), '{}', 'with empty claims');
RESET ROLE;

SET LOCAL ROLE postcart_authenticator;
SELECT is(
    (SELECT c.body FROM auth.call_api('me', '{}', NULL, (SELECT session_id FROM sessions_of WHERE who = 'otto'),
                                      'req-3', NULL) AS c)::jsonb ->> 'id',
    (SELECT account_id::text FROM people WHERE who = 'otto'),
    'call_api runs the api function as the session''s account'
);
RESET ROLE;
SET LOCAL ROLE postcart_authenticator;
SELECT throws_ok(
    $$SELECT * FROM auth.call_api('me', '{}', NULL, NULL, 'req-4', NULL)$$, '42501', NULL,
    'an api function the caller''s role may not execute is refused (EXECUTE is checked as the caller)'
);
RESET ROLE;
SET LOCAL ROLE postcart_authenticator;
SELECT throws_ok(
    format($$SELECT * FROM auth.call_api('me($1)::text, auth.claims', '{}', NULL, %L, 'req-5', NULL)$$,
           (SELECT session_id FROM sessions_of WHERE who = 'otto')),
    '42883', NULL,
    'the function name is only ever a name in schema api'
);
RESET ROLE;
SET LOCAL ROLE postcart_authenticator;
SELECT is(
    (SELECT c.body FROM auth.call_api(
        'register', '{"email": "pia@claims.example.com", "full_name": "Pia"}',
        '{"password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"}',
        NULL, 'req-6', NULL
    ) AS c)::jsonb -> 'customer' ->> 'email',
    'pia@claims.example.com',
    'with derived, the function gets it as its second argument'
);
RESET ROLE;

-- ---------------------------------------------------------------------------------------------------
-- Changes to the account reach its sessions at once
-- ---------------------------------------------------------------------------------------------------
-- Staff: the member's role changes (e.g. a DBA gives the account another role of its own).
CREATE ROLE pgtap_claims_staff NOLOGIN;
CREATE ROLE pgtap_claims_cleo NOLOGIN;
GRANT postcart_staff TO pgtap_claims_staff, pgtap_claims_cleo;
GRANT pgtap_claims_staff, pgtap_claims_cleo TO postcart_authenticator;
UPDATE auth.accounts SET db_role = 'pgtap_claims_staff' WHERE id = (SELECT account_id FROM people WHERE who = 'stan');
SET LOCAL ROLE postcart_authenticator;
SELECT is(
    (SELECT row(c.session_role, c.session_claims::jsonb ->> 'role')::text
     FROM auth.session_claims((SELECT session_id FROM sessions_of WHERE who = 'stan')) AS c),
    '(pgtap_claims_staff,pgtap_claims_staff)',
    'a staff member''s new role is in its session''s role and claims in the same transaction'
);
SELECT lives_ok(
    format('SELECT auth.act_as(%L, %L)', (SELECT session_id FROM sessions_of WHERE who = 'stan'), 'req-7'),
    'and its next request'
);
SELECT is(current_user::text, 'pgtap_claims_staff', 'runs as the new role');
RESET ROLE;

-- Kind: a customer account turned into a staff account (both columns change in one UPDATE).
UPDATE auth.accounts SET kind = 'staff', db_role = 'pgtap_claims_cleo' WHERE id = (SELECT account_id FROM people WHERE who = 'cleo');
SELECT is(
    (SELECT array_agg(row(s.role_name, pg_temp.claims_of(s.id) ->> 'kind', pg_temp.claims_of(s.id) ->> 'role')::text
                      ORDER BY l.n)
     FROM auth.sessions AS s INNER JOIN sessions_of AS l ON s.id = l.session_id WHERE l.who = 'cleo'),
    ARRAY['(pgtap_claims_cleo,staff,pgtap_claims_cleo)', '(pgtap_claims_cleo,staff,pgtap_claims_cleo)'],
    'a change of kind rewrites every session of the account'
);
SELECT is(
    (SELECT pg_temp.claims_of(session_id) FROM sessions_of WHERE who = 'otto'),
    (SELECT jsonb_build_object('sub', account_id, 'sid', session_id, 'kind', 'customer', 'role', 'postcart_customer')
     FROM sessions_of WHERE who = 'otto'),
    'other accounts'' sessions are untouched'
);
UPDATE auth.accounts SET full_name = 'Otto Renamed' WHERE id = (SELECT account_id FROM people WHERE who = 'otto');
SELECT is(
    (SELECT count(*) FROM auth.sessions AS s INNER JOIN sessions_of AS l ON s.id = l.session_id
     WHERE l.who = 'otto' AND pg_temp.claims_of(s.id) ->> 'kind' = 'customer'),
    1::bigint,
    'a change that is not kind or role leaves the claims alone'
);

-- ---------------------------------------------------------------------------------------------------
-- Ended sessions stop at once
-- ---------------------------------------------------------------------------------------------------
UPDATE auth.sessions SET revoked_at = now() WHERE id = (SELECT session_id FROM sessions_of WHERE who = 'cleo' AND n = 1);
SET LOCAL ROLE postcart_authenticator;
SELECT throws_ok(
    format('SELECT auth.act_as(%L, %L)', (SELECT session_id FROM sessions_of WHERE who = 'cleo' AND n = 1), 'req-8'),
    'PT401', 'token_revoked', 'a revoked session (logout, deactivation) is refused'
);
SELECT is(current_user::text, 'postcart_authenticator', 'without switching role');
SELECT throws_ok(
    format($$SELECT * FROM auth.call_api('me', '{}', NULL, %L, 'req-9', NULL)$$,
           (SELECT session_id FROM sessions_of WHERE who = 'cleo' AND n = 1)),
    'PT401', 'token_revoked', 'and so is its call'
);
SELECT lives_ok(
    format('SELECT auth.act_as(%L, %L)', (SELECT session_id FROM sessions_of WHERE who = 'cleo' AND n = 2), 'req-10'),
    'the account''s other session still works'
);
RESET ROLE;

UPDATE auth.sessions SET created_at = now() - INTERVAL '2 days', expires_at = now() - INTERVAL '1 day'
WHERE id = (SELECT session_id FROM sessions_of WHERE who = 'cleo' AND n = 2);
SET LOCAL ROLE postcart_authenticator;
SELECT throws_ok(
    format('SELECT auth.act_as(%L, %L)', (SELECT session_id FROM sessions_of WHERE who = 'cleo' AND n = 2), 'req-11'),
    'PT401', 'token_revoked', 'an expired session is refused'
);
RESET ROLE;

DELETE FROM auth.accounts WHERE id = (SELECT account_id FROM people WHERE who = 'otto');
SET LOCAL ROLE postcart_authenticator;
SELECT throws_ok(
    format('SELECT auth.act_as(%L, %L)', (SELECT session_id FROM sessions_of WHERE who = 'otto'), 'req-12'),
    'PT401', 'token_revoked', 'a deleted account''s session is gone with it'
);
RESET ROLE;

-- ---------------------------------------------------------------------------------------------------
-- Who may call what
-- ---------------------------------------------------------------------------------------------------
SELECT is(
    ARRAY(
        SELECT DISTINCT r.rolname::text
        FROM pg_roles AS r
        CROSS JOIN unnest(ARRAY['auth.act_as(uuid, text)', 'auth.call_api(text, jsonb, jsonb, uuid, text, jsonb)',
                                'auth.session_claims(uuid)']) AS f
        WHERE r.rolname IN ('postcart_authenticator', 'postcart_anon', 'postcart_customer', 'postcart_staff',
                            'postcart_analyst', 'postcart_dba')
          AND has_function_privilege(r.oid, f::regprocedure, 'EXECUTE')
        ORDER BY 1
    ),
    ARRAY['postcart_authenticator'],
    'only the authenticator may switch by session, call through call_api or read claims'
);

SELECT * FROM finish();
ROLLBACK;
