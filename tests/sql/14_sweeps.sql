-- The background worker's sweeps: each deletes exactly the rows past its retention, oldest first, at most a
-- batch per call, and keeps everything else; only postcart_worker may run them, and it may do nothing else.
-- (That two workers skip each other's locked rows instead of waiting is raced in tests/concurrency.)
BEGIN;
SELECT plan(50);

-- Start from empty tables (rolled back at the end), so the counts below are this file's rows alone.
DELETE FROM auth.login_attempts;
DELETE FROM auth.sessions;
DELETE FROM auth.staff_invitations;
DELETE FROM integration.idempotency_keys;

CREATE FUNCTION pg_temp.hash(p_name text)
RETURNS bytea
LANGUAGE sql
AS $$ SELECT sha256(convert_to(p_name, 'UTF8')) $$;

-- ---------------------------------------------------------------------------------------------------
-- Login attempts: kept 1 hour (the lockout rule reads the last 30 minutes)
-- ---------------------------------------------------------------------------------------------------
INSERT INTO auth.login_attempts (email, attempted_at, succeeded)
SELECT 'old-' || n || '@example.com', now() - INTERVAL '1 hour' - n * INTERVAL '1 minute', FALSE
FROM generate_series(1, 5) AS n;
INSERT INTO auth.login_attempts (email, attempted_at, succeeded)
SELECT 'recent@example.com', now() - INTERVAL '59 minutes' + n * INTERVAL '1 minute', n = 3
FROM generate_series(0, 3) AS n;

SELECT is(auth.sweep_login_attempts(2), 2, 'login attempts: a batch of 2 deletes 2');
SELECT is(
    (SELECT array_agg(email::text ORDER BY email) FROM auth.login_attempts WHERE email LIKE 'old-%'),
    ARRAY['old-1@example.com', 'old-2@example.com', 'old-3@example.com'],
    'login attempts: the oldest went first'
);
SELECT is(auth.sweep_login_attempts(10), 3, 'login attempts: a larger batch deletes the remaining 3 old ones');
SELECT is(auth.sweep_login_attempts(), 0, 'login attempts: then nothing is left to delete');
SELECT is(
    (SELECT count(*)::integer FROM auth.login_attempts WHERE email = 'recent@example.com'), 4,
    'login attempts: those of the last hour stay, failures and successes'
);

-- ---------------------------------------------------------------------------------------------------
-- Sessions: kept 30 days after they end (expire or are revoked); their refresh tokens go with them
-- ---------------------------------------------------------------------------------------------------
INSERT INTO auth.accounts (id, email, full_name) VALUES
('00000000-0000-0000-0000-00000000aa01', 'sweep-customer@example.com', 'Sweep Customer');

INSERT INTO auth.sessions (id, account_id, created_at, expires_at, revoked_at)
SELECT s.id::uuid, '00000000-0000-0000-0000-00000000aa01', now() - INTERVAL '90 days', s.expires_at, s.revoked_at
FROM (VALUES
    ('00000000-0000-0000-0000-0000000000e1', now() - INTERVAL '40 days', NULL::timestamptz),  -- expired long ago
    ('00000000-0000-0000-0000-0000000000e2', now() + INTERVAL '5 days', now() - INTERVAL '31 days'),  -- revoked long ago
    ('00000000-0000-0000-0000-0000000000e3', now() - INTERVAL '29 days', NULL),  -- expired recently
    ('00000000-0000-0000-0000-0000000000e4', now() + INTERVAL '5 days', now() - INTERVAL '29 days'),  -- revoked recently
    ('00000000-0000-0000-0000-0000000000e5', now() + INTERVAL '5 days', NULL)  -- live
) AS s (id, expires_at, revoked_at);

INSERT INTO auth.refresh_tokens (token_hash, session_id, created_at, expires_at, used_at) VALUES
(pg_temp.hash('of-e1'), '00000000-0000-0000-0000-0000000000e1', now() - INTERVAL '70 days', now() - INTERVAL '40 days', NULL),
(pg_temp.hash('of-e2'), '00000000-0000-0000-0000-0000000000e2', now() - INTERVAL '1 day', now() + INTERVAL '5 days', NULL),
-- On the live session: used and expired more than a week ago, used and expired recently, the current one.
(pg_temp.hash('e5-old'), '00000000-0000-0000-0000-0000000000e5', now() - INTERVAL '40 days', now() - INTERVAL '8 days', now() - INTERVAL '39 days'),
(pg_temp.hash('e5-recent'), '00000000-0000-0000-0000-0000000000e5', now() - INTERVAL '36 days', now() - INTERVAL '6 days', now() - INTERVAL '1 day'),
(pg_temp.hash('e5-current'), '00000000-0000-0000-0000-0000000000e5', now() - INTERVAL '1 day', now() + INTERVAL '29 days', NULL);

SELECT is(auth.sweep_sessions(1), 1, 'sessions: a batch of 1 deletes 1');
SELECT ok(
    NOT EXISTS (SELECT FROM auth.sessions WHERE id = '00000000-0000-0000-0000-0000000000e1')
    AND EXISTS (SELECT FROM auth.sessions WHERE id = '00000000-0000-0000-0000-0000000000e2'),
    'sessions: the one that ended first went first'
);
SELECT is(auth.sweep_sessions(), 1, 'sessions: the session revoked 31 days ago goes next');
SELECT is(auth.sweep_sessions(), 0, 'sessions: then nothing is left to delete');
SELECT is(
    ARRAY(SELECT id::text FROM auth.sessions ORDER BY id),
    ARRAY['00000000-0000-0000-0000-0000000000e3', '00000000-0000-0000-0000-0000000000e4',
          '00000000-0000-0000-0000-0000000000e5'],
    'sessions: recently expired, recently revoked and live sessions stay'
);
SELECT ok(
    NOT EXISTS (SELECT FROM auth.refresh_tokens WHERE token_hash IN (pg_temp.hash('of-e1'), pg_temp.hash('of-e2'))),
    'sessions: a deleted session''s refresh tokens are gone with it, expired or not'
);

-- ---------------------------------------------------------------------------------------------------
-- Refresh tokens: kept 7 days after they expire, even while their session lives
-- ---------------------------------------------------------------------------------------------------
SELECT is(auth.sweep_refresh_tokens(), 1, 'refresh tokens: the one expired 8 days ago is deleted');
SELECT is(
    ARRAY(SELECT token_hash FROM auth.refresh_tokens ORDER BY expires_at),
    ARRAY[pg_temp.hash('e5-recent'), pg_temp.hash('e5-current')],
    'refresh tokens: the one expired 6 days ago and the current one stay'
);
SELECT ok(
    EXISTS (SELECT FROM auth.sessions WHERE id = '00000000-0000-0000-0000-0000000000e5'),
    'refresh tokens: their live session stays'
);
SELECT is(auth.sweep_refresh_tokens(), 0, 'refresh tokens: then nothing is left to delete');

INSERT INTO auth.refresh_tokens (token_hash, session_id, created_at, expires_at, used_at)
SELECT pg_temp.hash('batch-' || n), '00000000-0000-0000-0000-0000000000e5', now() - INTERVAL '50 days',
       now() - INTERVAL '20 days' + n * INTERVAL '1 hour', now() - INTERVAL '45 days'
FROM generate_series(1, 5) AS n;
SELECT is(auth.sweep_refresh_tokens(3), 3, 'refresh tokens: a batch of 3 deletes 3 of 5');
SELECT is(
    ARRAY(SELECT token_hash FROM auth.refresh_tokens WHERE token_hash IN (
        SELECT pg_temp.hash('batch-' || n) FROM generate_series(1, 5) AS n) ORDER BY expires_at),
    ARRAY[pg_temp.hash('batch-4'), pg_temp.hash('batch-5')],
    'refresh tokens: the earliest expired went first'
);
SELECT is(auth.sweep_refresh_tokens(3), 2, 'refresh tokens: a partial batch says the sweep is done');

-- ---------------------------------------------------------------------------------------------------
-- Staff invitations: kept 30 days after they end (expire, are redeemed or replaced); the accounts stay
-- ---------------------------------------------------------------------------------------------------
INSERT INTO auth.staff_invitations (token_hash, account_id, created_at, expires_at, used_at) VALUES
(pg_temp.hash('inv-expired-long-ago'), '00000000-0000-0000-0000-00000000aa01',
 now() - INTERVAL '40 days', now() - INTERVAL '33 days', NULL),
(pg_temp.hash('inv-used-long-ago'), '00000000-0000-0000-0000-00000000aa01',
 now() - INTERVAL '35 days', now() - INTERVAL '28 days', now() - INTERVAL '34 days'),
(pg_temp.hash('inv-expired-recently'), '00000000-0000-0000-0000-00000000aa01',
 now() - INTERVAL '36 days', now() - INTERVAL '29 days', NULL),
(pg_temp.hash('inv-used-recently'), '00000000-0000-0000-0000-00000000aa01',
 now() - INTERVAL '30 days', now() - INTERVAL '23 days', now() - INTERVAL '29 days'),
(pg_temp.hash('inv-open'), '00000000-0000-0000-0000-00000000aa01',
 now() - INTERVAL '1 day', now() + INTERVAL '6 days', NULL);

SELECT is(auth.sweep_staff_invitations(1), 1, 'invitations: a batch of 1 deletes 1');
SELECT ok(
    NOT EXISTS (SELECT FROM auth.staff_invitations WHERE token_hash = pg_temp.hash('inv-used-long-ago')),
    'invitations: the one that ended first (used 34 days ago, though it expired later) went first'
);
SELECT is(auth.sweep_staff_invitations(), 1, 'invitations: the one expired 33 days ago goes next');
SELECT is(auth.sweep_staff_invitations(), 0, 'invitations: then nothing is left to delete');
SELECT is(
    ARRAY(SELECT token_hash FROM auth.staff_invitations ORDER BY created_at),
    ARRAY[pg_temp.hash('inv-expired-recently'), pg_temp.hash('inv-used-recently'), pg_temp.hash('inv-open')],
    'invitations: recently ended and open invitations stay'
);
SELECT ok(
    EXISTS (SELECT FROM auth.accounts WHERE id = '00000000-0000-0000-0000-00000000aa01'),
    'invitations: the invited account stays'
);

-- ---------------------------------------------------------------------------------------------------
-- Idempotency keys: kept 24 hours (they replay that long)
-- ---------------------------------------------------------------------------------------------------
INSERT INTO integration.idempotency_keys (owner_id, key, fingerprint, status, created_at)
SELECT 'owner-a', 'old-' || n, '\x01', 201, now() - INTERVAL '24 hours' - n * INTERVAL '1 minute'
FROM generate_series(1, 3) AS n;
INSERT INTO integration.idempotency_keys (owner_id, key, fingerprint, status, created_at) VALUES
('owner-a', 'young', '\x01', 201, now() - INTERVAL '23 hours 59 minutes'),
('owner-b', 'old-1', '\x01', 201, now() - INTERVAL '1 hour');

SELECT is(integration.sweep_idempotency_keys(2), 2, 'idempotency keys: a batch of 2 deletes 2');
SELECT is(
    ARRAY(SELECT owner_id || '/' || key FROM integration.idempotency_keys ORDER BY created_at),
    ARRAY['owner-a/old-1', 'owner-a/young', 'owner-b/old-1'],
    'idempotency keys: the oldest went first; another owner''s key of the same name is its own'
);
SELECT is(integration.sweep_idempotency_keys(), 1, 'idempotency keys: the last one past 24 hours goes next');
SELECT is(integration.sweep_idempotency_keys(), 0, 'idempotency keys: then nothing is left to delete');
SELECT is(
    (SELECT count(*)::integer FROM integration.idempotency_keys), 2, 'idempotency keys: keys younger than 24 hours stay'
);

-- ---------------------------------------------------------------------------------------------------
-- Batch sizes: 1 to 10000, anything else refused before anything is deleted
-- ---------------------------------------------------------------------------------------------------
INSERT INTO auth.login_attempts (email, attempted_at, succeeded)
VALUES ('refused@example.com', now() - INTERVAL '2 hours', FALSE);
SELECT throws_ok('SELECT auth.sweep_login_attempts(0)', 'PT422', 'validation_failed', 'a batch of 0 is refused');
SELECT throws_ok(
    'SELECT auth.sweep_sessions(10001)', 'PT422', 'validation_failed', 'a batch of 10001 is refused'
);
SELECT throws_ok(
    'SELECT integration.sweep_idempotency_keys(NULL)', 'PT422', 'validation_failed',
    'a NULL batch (which LIMIT would read as "all") is refused'
);
SELECT throws_ok(
    'SELECT auth.sweep_refresh_tokens(-1)', 'PT422', 'validation_failed', 'a negative batch is refused'
);
SELECT ok(
    EXISTS (SELECT FROM auth.login_attempts WHERE email = 'refused@example.com'), 'a refused sweep deleted nothing'
);
SELECT is(auth.sweep_login_attempts(10000), 1, 'a batch of 10000 is accepted');

-- ---------------------------------------------------------------------------------------------------
-- The role: NOLOGIN, reached through the authenticator, and able to run the sweeps and nothing else
-- ---------------------------------------------------------------------------------------------------
SELECT has_role('postcart_worker', 'role postcart_worker exists');
SELECT ok(
    (SELECT NOT (rolcanlogin OR rolsuper OR rolbypassrls OR rolcreaterole) FROM pg_roles WHERE rolname = 'postcart_worker'),
    'postcart_worker cannot log in and has no special powers'
);
SELECT is_member_of('postcart_worker', 'postcart_authenticator', 'the authenticator can become the worker');
SELECT is(
    ARRAY(
        SELECT p.oid::regprocedure::text
        FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
        WHERE n.nspname IN ('api', 'shop', 'auth', 'audit', 'integration', 'reporting')
          AND has_function_privilege('postcart_worker', p.oid, 'EXECUTE')
        ORDER BY 1
    ),
    ARRAY['auth.sweep_account_requests(integer)',
          'auth.sweep_login_attempts(integer)', 'auth.sweep_refresh_tokens(integer)', 'auth.sweep_sessions(integer)',
          'auth.sweep_staff_invitations(integer)',
          'integration.claim_mails(integer,interval)',
          'integration.claim_webhook_deliveries(integer,interval,integer,jsonb)',
          'integration.dispatch_events(integer)',
          'integration.record_mail_attempts(jsonb,integer,interval,interval)',
          'integration.record_webhook_attempts(jsonb,integer,interval,interval)',
          'integration.sweep_events(integer)', 'integration.sweep_idempotency_keys(integer)',
          'integration.sweep_rate_limit_buckets(integer)', 'reporting.refresh_views(integer)',
          'shop.maintain_event_partitions(integer)', 'shop.sweep_abandoned_carts(integer)',
          'shop.sweep_recommendation_sessions(integer)', 'shop.sweep_unpaid_orders(integer)',
          'shop.update_recommendations(integer)'],
    'the worker may execute the sweeps, the outbox''s dispatch, claim and record, the reporting refresh and '
    'the recommendation counts, no other function of ours'
);
SELECT is(
    ARRAY(
        SELECT format('%s: %s', r.rolname, p.oid::regprocedure)
        FROM pg_proc AS p
        CROSS JOIN pg_roles AS r
        WHERE p.proname LIKE 'sweep\_%' AND p.pronamespace IN ('auth'::regnamespace, 'integration'::regnamespace)
          AND r.rolname IN ('postcart_authenticator', 'postcart_anon', 'postcart_customer', 'postcart_staff',
                            'catalog_manager', 'inventory_manager', 'order_manager', 'support_agent', 'store_admin',
                            'postcart_analyst', 'postcart_dba')
          AND has_function_privilege(r.oid, p.oid, 'EXECUTE')
        ORDER BY 1
    ),
    ARRAY[]::text[],
    'no other application role may run a sweep (the authenticator only after switching to the worker)'
);
SELECT is(
    ARRAY(
        SELECT c.oid::regclass::text
        FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE n.nspname IN ('api', 'shop', 'auth', 'audit', 'integration', 'reporting') AND c.relkind IN ('r', 'v', 'm', 'p')
          AND (has_table_privilege('postcart_worker', c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
               OR has_any_column_privilege('postcart_worker', c.oid, 'SELECT, INSERT, UPDATE, REFERENCES'))
        ORDER BY 1
    ),
    ARRAY[]::text[],
    'the worker has no privilege on any table or view, not even on a column'
);
SELECT ok(
    (SELECT bool_and(p.prosecdef AND p.provolatile = 'v' AND pg_get_userbyid(p.proowner) = 'postcart_owner')
     FROM pg_proc AS p
     WHERE p.proname LIKE 'sweep\_%' AND p.pronamespace IN ('auth'::regnamespace, 'integration'::regnamespace)),
    'the sweeps are VOLATILE and run with their owner''s rights (postcart_owner)'
);
SELECT has_index('auth', 'login_attempts', 'login_attempts_attempted_at_idx', 'login attempts are indexed by time');
SELECT has_index('auth', 'sessions', 'sessions_ended_at_idx', 'sessions are indexed by when they end');

INSERT INTO auth.login_attempts (email, attempted_at, succeeded)
VALUES ('as-worker@example.com', now() - INTERVAL '2 hours', FALSE);
SET LOCAL ROLE postcart_worker;
SELECT is(auth.sweep_login_attempts(), 1, 'as postcart_worker, a sweep runs and deletes');
SELECT throws_ok('SELECT count(*) FROM auth.login_attempts', '42501', NULL, 'the worker cannot read the table itself');
SELECT throws_ok(
    'DELETE FROM integration.idempotency_keys', '42501', NULL, 'nor delete from a table directly'
);
SELECT throws_ok(
    $$SELECT auth.login_lookup('someone@example.com')$$, '42501', NULL, 'nor call the authenticator''s functions'
);
RESET ROLE;
SET LOCAL ROLE postcart_authenticator;
SELECT throws_ok(
    'SELECT auth.sweep_sessions()', '42501', NULL, 'the authenticator itself (NOINHERIT) cannot run a sweep'
);
RESET ROLE;
SET LOCAL ROLE postcart_staff;
SELECT throws_ok(
    'SELECT integration.sweep_idempotency_keys()', '42501', NULL, 'staff cannot run a sweep'
);
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
