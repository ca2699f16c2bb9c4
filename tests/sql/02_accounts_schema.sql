-- Accounts schema: RLS enabled and forced with the designed policies on every table holding customer or
-- staff data, least-privilege grants, and every api/auth function documented and safely defined.
BEGIN;
SELECT plan(99);

-- RLS enabled AND forced
SELECT ok(
    (SELECT c.relrowsecurity AND c.relforcerowsecurity FROM pg_class AS c WHERE c.oid = t::regclass),
    format('RLS is enabled and forced on %s', t)
)
FROM unnest(ARRAY[
    'auth.accounts', 'auth.password_hashes', 'auth.sessions', 'auth.refresh_tokens', 'auth.login_attempts',
    'shop.addresses', 'auth.recovery_codes', 'auth.staff_invitations', 'shop.countries'
]) AS t;

-- The policies, exactly
SELECT policies_are('auth', 'accounts', ARRAY['accounts_owner_all', 'accounts_select_self', 'accounts_update_self']);
SELECT policies_are('auth', 'password_hashes', ARRAY['password_hashes_owner_all']);
SELECT policies_are('auth', 'sessions', ARRAY['sessions_owner_all']);
SELECT policies_are('auth', 'refresh_tokens', ARRAY['refresh_tokens_owner_all']);
SELECT policies_are('auth', 'login_attempts', ARRAY['login_attempts_owner_all']);
SELECT policies_are('shop', 'addresses', ARRAY['addresses_owner_all', 'addresses_customer_own']);
SELECT policies_are('auth', 'recovery_codes', ARRAY['recovery_codes_owner_all']);
SELECT policies_are('auth', 'staff_invitations', ARRAY['staff_invitations_owner_all']);
SELECT policies_are('shop', 'countries', ARRAY['countries_owner_all', 'countries_select_all']);
SELECT policy_roles_are('shop', 'addresses', 'addresses_customer_own', ARRAY['postcart_customer']);
SELECT policy_roles_are('auth', 'accounts', 'accounts_owner_all', ARRAY['postcart_owner']);

-- Policies read the caller once per statement, and the filtered columns are indexed
SELECT ok(
    (SELECT bool_and(p.qual LIKE '%( SELECT auth.current\_%')
     FROM pg_policies AS p
     WHERE p.schemaname IN ('auth', 'shop') AND p.tablename IN ('accounts', 'addresses')
       AND p.policyname NOT LIKE '%owner_all'),
    'customer and staff policies wrap the claim helper in a sub-SELECT'
);
SELECT has_index('shop', 'addresses', 'addresses_customer_id_created_at_id_idx', 'addresses are indexed by customer');
SELECT has_index('auth', 'login_attempts', 'login_attempts_email_attempted_at_idx', 'login attempts by e-mail and time');
SELECT has_index('auth', 'sessions', 'sessions_account_id_idx', 'sessions by account');

-- Nobody but the owner touches credentials, sessions, tokens or attempts
SELECT table_privs_are('auth', t, r, ARRAY[]::text[], format('%s has no privilege on auth.%s', r, t))
FROM unnest(ARRAY['password_hashes', 'sessions', 'refresh_tokens', 'login_attempts', 'recovery_codes',
                   'staff_invitations']) AS t
CROSS JOIN unnest(ARRAY['postcart_anon', 'postcart_customer', 'postcart_staff', 'postcart_authenticator',
                        'postcart_dba']) AS r
WHERE t IN ('password_hashes', 'recovery_codes', 'staff_invitations') OR r NOT IN ('postcart_staff', 'postcart_dba');

SELECT ok(
    NOT has_column_privilege('postcart_customer', 'auth.accounts', 'totp_secret', 'SELECT')
    AND NOT has_column_privilege('postcart_staff', 'auth.accounts', 'totp_secret', 'SELECT')
    AND NOT has_column_privilege('postcart_customer', 'auth.accounts', 'email', 'UPDATE')
    AND NOT has_column_privilege('postcart_customer', 'auth.accounts', 'kind', 'UPDATE')
    AND has_column_privilege('postcart_customer', 'auth.accounts', 'full_name', 'UPDATE'),
    'a customer may read its profile but not the TOTP secret, and may change only its name'
);
SELECT ok(
    NOT has_table_privilege('postcart_anon', 'auth.accounts', 'SELECT')
    AND NOT has_table_privilege('postcart_anon', 'shop.addresses', 'SELECT')
    AND NOT has_column_privilege('postcart_customer', 'shop.addresses', 'customer_id', 'INSERT')
    AND NOT has_column_privilege('postcart_customer', 'shop.addresses', 'customer_id', 'UPDATE'),
    'anon sees no account or address; a customer cannot choose an address''s owner'
);

-- Anonymous callers cannot reach the authenticator's or the DBA's functions, nor the hashes
SET LOCAL ROLE postcart_anon;
SELECT throws_ok($$SELECT auth.login_lookup('a@example.com')$$, '42501', NULL, 'anon cannot call login_lookup');
SELECT throws_ok(
    $$SELECT * FROM auth.session_claims(gen_random_uuid())$$, '42501', NULL, 'anon cannot call session_claims'
);
SELECT throws_ok(
    $$SELECT auth.create_staff('x@example.com', '$argon2id$x', 'X', ARRAY['store_admin'])$$,
    '42501', NULL, 'anon cannot call create_staff'
);
SELECT throws_ok(
    $$SELECT auth.invite_staff('x@example.com', 'X', ARRAY['store_admin'])$$, '42501', NULL, 'anon cannot invite staff'
);
SELECT throws_ok($$SELECT * FROM auth.staff_members$$, '42501', NULL, 'anon cannot list staff');
SELECT throws_ok($$SELECT * FROM auth.recovery_codes$$, '42501', NULL, 'anon cannot read recovery codes');
SELECT throws_ok($$SELECT password_hash FROM auth.password_hashes$$, '42501', NULL, 'anon cannot read hashes');
SET LOCAL ROLE postcart_customer;
SELECT throws_ok($$SELECT password_hash FROM auth.password_hashes$$, '42501', NULL, 'a customer cannot read hashes');
RESET ROLE;

SELECT function_privs_are('auth', 'login_lookup', ARRAY['text'], 'postcart_anon', ARRAY[]::text[]);
SELECT function_privs_are('auth', 'login_lookup', ARRAY['text'], 'postcart_authenticator', ARRAY['EXECUTE']);
SELECT function_privs_are('auth', 'session_claims', ARRAY['uuid'], 'postcart_customer', ARRAY[]::text[]);
SELECT function_privs_are(
    'auth', 'create_staff', ARRAY['text', 'text', 'text', 'text[]'], 'postcart_dba', ARRAY['EXECUTE']
);
SELECT function_privs_are('auth', 'invite_staff', ARRAY['text', 'text', 'text[]'], 'postcart_dba', ARRAY['EXECUTE']);
SELECT function_privs_are('auth', 'reinvite_staff', ARRAY['text'], 'postcart_dba', ARRAY['EXECUTE']);
SELECT function_privs_are('auth', 'reauth_lookup', ARRAY['uuid'], 'postcart_authenticator', ARRAY['EXECUTE']);
SELECT function_privs_are('auth', 'reauth_lookup', ARRAY['uuid'], 'postcart_customer', ARRAY[]::text[]);
SELECT function_privs_are(
    'auth', 'spend_recovery_code', ARRAY['uuid', 'bytea'], 'postcart_authenticator', ARRAY['EXECUTE']
);
SELECT function_privs_are(
    'auth', 'staff_invitation_email', ARRAY['bytea'], 'postcart_authenticator', ARRAY['EXECUTE']
);
SELECT function_privs_are('auth', 'staff_invitation_email', ARRAY['bytea'], 'postcart_anon', ARRAY[]::text[]);
SELECT function_privs_are('api', 'register', ARRAY['jsonb', 'jsonb'], 'postcart_anon', ARRAY['EXECUTE']);
SELECT function_privs_are('api', 'accept_staff_invitation', ARRAY['jsonb', 'jsonb'], 'postcart_anon', ARRAY['EXECUTE']);
SELECT function_privs_are('api', 'update_address', ARRAY['jsonb'], 'postcart_customer', ARRAY['EXECUTE']);
SELECT function_privs_are('api', 'delete_address', ARRAY['jsonb'], 'postcart_anon', ARRAY[]::text[]);
SELECT hasnt_function('api', 'register', ARRAY['jsonb'], 'the one-argument register (args with a hash) is gone');
SELECT hasnt_function(
    'auth', 'new_account', ARRAY['text', 'text', 'text', 'text', 'text'], 'no function takes a plain password'
);
SELECT is(
    (SELECT array_agg(p.oid::regprocedure::text ORDER BY 1)
     FROM pg_proc AS p
     WHERE p.pronamespace IN ('api'::regnamespace, 'auth'::regnamespace)
       AND EXISTS (SELECT FROM unnest(p.proargnames) AS a (name) WHERE a.name ~ '^p_password$')),
    NULL,
    'no api or auth function has a plain-password parameter'
);

-- The staff view: for DBAs only, running with its owner's rights, showing no credential
SELECT table_privs_are('auth', 'staff_members', 'postcart_dba', ARRAY['SELECT']);
SELECT table_privs_are('auth', 'staff_members', 'postcart_customer', ARRAY[]::text[]);
SELECT columns_are('auth', 'staff_members',
                   ARRAY['id', 'email', 'full_name', 'roles', 'state', 'mfa_enabled', 'created_at', 'deactivated_at']);
SELECT ok(
    NOT coalesce((SELECT 'security_invoker=true' = ANY(c.reloptions) FROM pg_class AS c
                  WHERE c.oid = 'auth.staff_members'::regclass), FALSE),
    'staff_members runs with its owner''s rights (DBAs have no grant on auth.accounts)'
);

-- Password hashes: argon2id with the server's parameters only
SELECT ok(
    auth.password_hash_is_valid(
        '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g'
    ),
    'a hash with the server''s parameters is valid'
);
SELECT ok(
    NOT auth.password_hash_is_valid(h),
    format('refused: %s', h)
)
FROM unnest(ARRAY[
    '$argon2id$v=19$m=1048576,t=8,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g',
    '$argon2id$v=19$m=65536,t=1,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g',
    '$argon2i$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g',
    '$argon2id$v=16$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g',
    '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g',
    '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaA',
    '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g$x',
    '$argon2id$x'
]) AS h;
SELECT col_has_check('auth', 'password_hashes', 'password_hash', 'the hash column has a CHECK');
INSERT INTO auth.accounts (id, email, full_name) VALUES ('00000000-0000-4000-8000-0000000000c1', 'h@example.com', 'H');
SELECT throws_ok(
    $$INSERT INTO auth.password_hashes (account_id, password_hash) VALUES ('00000000-0000-4000-8000-0000000000c1',
      '$argon2id$v=19$m=1048576,t=8,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g')$$,
    '23514', NULL, 'a hostile hash (m=1 GiB, t=8) cannot be stored, even by the superuser'
);

-- Countries: ISO 3166-1 alpha-2, readable by the API roles, referenced by addresses
SELECT is((SELECT count(*) FROM shop.countries), 249::bigint, 'every ISO 3166-1 alpha-2 code is listed');
SELECT fk_ok('shop', 'addresses', 'country', 'shop', 'countries', 'code');
SELECT table_privs_are('shop', 'countries', 'postcart_customer', ARRAY['SELECT']);
SELECT function_privs_are('api', 'list_addresses', ARRAY['jsonb'], 'postcart_anon', ARRAY[]::text[]);

-- Every function in api and auth is documented and states its volatility on purpose; every SECURITY
-- DEFINER one pins its search_path and is not executable by PUBLIC.
SELECT is(
    (SELECT array_agg(p.oid::regprocedure::text ORDER BY 1)
     FROM pg_proc AS p
     WHERE p.pronamespace IN ('api'::regnamespace, 'auth'::regnamespace)
       AND obj_description(p.oid, 'pg_proc') IS NULL),
    NULL,
    'every api and auth function has a COMMENT'
);
SELECT is(
    (SELECT array_agg(p.oid::regprocedure::text ORDER BY 1)
     FROM pg_proc AS p
     WHERE p.pronamespace IN ('api'::regnamespace, 'auth'::regnamespace) AND p.prosecdef
       AND NOT coalesce('search_path=pg_catalog, extensions, pg_temp' = ANY(p.proconfig), FALSE)),
    NULL,
    'every SECURITY DEFINER function sets search_path = pg_catalog, extensions, pg_temp'
);
SELECT is(
    (SELECT array_agg(p.oid::regprocedure::text ORDER BY 1)
     FROM pg_proc AS p
     WHERE p.pronamespace IN ('api'::regnamespace, 'auth'::regnamespace)
       AND has_function_privilege('public', p.oid, 'EXECUTE')),
    NULL,
    'no api or auth function is executable by PUBLIC'
);
SELECT is(
    (SELECT array_agg(c.oid::regclass::text ORDER BY 1)
     FROM pg_class AS c
     WHERE c.relnamespace IN ('auth'::regnamespace, 'shop'::regnamespace) AND c.relkind IN ('r', 'v')
       AND c.relname IN ('accounts', 'password_hashes', 'sessions', 'refresh_tokens', 'login_attempts', 'addresses',
                         'recovery_codes', 'staff_invitations', 'countries', 'staff_members')
       AND obj_description(c.oid, 'pg_class') IS NULL),
    NULL,
    'every accounts table has a COMMENT'
);

SELECT * FROM finish();
ROLLBACK;
