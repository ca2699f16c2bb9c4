-- Outgoing webhooks in the database (migration 0029, sql/integration/webhooks.sql): only store admins manage
-- subscriptions and nobody but the definer functions writes deliveries; the dispatcher fans events out
-- only to active subscriptions whose types match; claims lease, skip what is held and share slots between
-- subscriptions; outcomes decide only their own attempt; deliveries move only along their state rules.
BEGIN;
SELECT plan(57);

-- == helpers (temporary, this session only) =========================================================
SET LOCAL ROLE postcart_dba;
CREATE TEMP TABLE made AS
SELECT auth.invite_staff(format('tst24-%s@example.com', r), 'T', ARRAY[r])
FROM unnest(ARRAY['store_admin', 'order_manager']) AS r;
RESET ROLE;
CREATE TEMP TABLE member AS
SELECT split_part(split_part(a.email::text, '@', 1), '-', 2) AS permission, a.id, a.db_role::text AS db_role
FROM auth.accounts AS a WHERE a.email::text LIKE 'tst24-%@example.com';
GRANT SELECT ON member TO PUBLIC;

CREATE FUNCTION pg_temp.act_as(permission text)
RETURNS text
LANGUAGE sql
AS $$
    SELECT set_config('request.claims', jsonb_build_object('sub', m.id, 'role', m.db_role, 'kind', 'staff')::text, TRUE)
        || set_config('role', m.db_role, TRUE)
    FROM member AS m WHERE m.permission = act_as.permission
$$;

-- The deliveries of the test's subscriptions: 'A order.created pending 0', ...
CREATE VIEW pg_temp.fanned AS
SELECT s.description AS sub, e.type, d.status, d.attempts, d.id, d.subscription_id
FROM integration.webhook_deliveries AS d
INNER JOIN integration.webhook_subscriptions AS s ON d.subscription_id = s.id
INNER JOIN integration.events AS e ON d.event_id = e.id
WHERE s.description LIKE 'tst24 %';
GRANT SELECT ON pg_temp.fanned TO PUBLIC;

-- == structure and privileges =======================================================================
SELECT has_table('integration', 'event_types', 'the event type catalogue exists');
SELECT has_table('integration', 'webhook_subscriptions', 'subscriptions exist');
SELECT has_table('integration', 'webhook_deliveries', 'deliveries exist');
SELECT has_table('integration', 'webhook_attempts', 'the attempt history exists');
SELECT policies_are('integration', 'webhook_subscriptions',
                    ARRAY['webhook_subscriptions_owner_all', 'webhook_subscriptions_store_admin']);
SELECT policies_are('integration', 'webhook_deliveries',
                    ARRAY['webhook_deliveries_owner_all', 'webhook_deliveries_select_store_admin']);
SELECT policies_are('integration', 'webhook_attempts',
                    ARRAY['webhook_attempts_owner_all', 'webhook_attempts_select_store_admin']);
SELECT policies_are('integration', 'event_types', ARRAY['event_types_owner_all', 'event_types_select_store_admin']);
SELECT is(
    ARRAY(
        SELECT c.relname::text FROM pg_class AS c
        WHERE c.relnamespace = 'integration'::regnamespace
            AND c.relname IN ('event_types', 'webhook_subscriptions', 'webhook_deliveries', 'webhook_attempts')
            AND c.relrowsecurity AND c.relforcerowsecurity
        ORDER BY 1
    ),
    ARRAY['event_types', 'webhook_attempts', 'webhook_deliveries', 'webhook_subscriptions'],
    'row-level security is enabled and forced on the four tables'
);
SELECT is(
    ARRAY(
        SELECT format('%s %s', r, p)
        FROM unnest(ARRAY[
            'postcart_anon', 'postcart_customer', 'postcart_staff', 'catalog_manager', 'inventory_manager',
            'order_manager', 'support_agent', 'postcart_analyst', 'postcart_dba', 'postcart_worker'
        ]) AS r
        CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE']) AS p
        WHERE has_any_column_privilege(r, 'integration.webhook_subscriptions', p)
            OR has_table_privilege(r, 'integration.webhook_subscriptions', 'DELETE')
    ),
    ARRAY[]::text[],
    'no role but store_admin may see or manage subscriptions'
);
SELECT ok(
    has_column_privilege('store_admin', 'integration.webhook_subscriptions', 'url', 'INSERT')
    AND has_table_privilege('store_admin', 'integration.webhook_subscriptions', 'DELETE')
    AND NOT has_column_privilege('store_admin', 'integration.webhook_subscriptions', 'secret_version', 'INSERT'),
    'store admins create and delete subscriptions; the first secret version is not theirs to choose'
);
SELECT is(
    ARRAY(
        SELECT format('%s %s %s', r, t, p)
        FROM unnest(ARRAY[
            'postcart_anon', 'postcart_customer', 'postcart_staff', 'order_manager', 'store_admin',
            'postcart_worker', 'postcart_dba'
        ]) AS r
        CROSS JOIN unnest(ARRAY['integration.webhook_deliveries', 'integration.webhook_attempts']) AS t
        CROSS JOIN unnest(ARRAY['INSERT', 'UPDATE']) AS p
        WHERE has_any_column_privilege(r, t, p) OR has_table_privilege(r, t, 'DELETE')
    ),
    ARRAY[]::text[],
    'nobody writes deliveries or attempts but the definer functions'
);
SELECT is(
    ARRAY(
        SELECT p.oid::regprocedure::text FROM pg_proc AS p
        WHERE p.pronamespace = 'integration'::regnamespace AND has_function_privilege('postcart_worker', p.oid, 'EXECUTE')
        ORDER BY 1
    ),
    ARRAY[
        'integration.claim_mails(integer,interval)',
        'integration.claim_webhook_deliveries(integer,interval,integer,jsonb)',
        'integration.dispatch_events(integer)',
        'integration.record_mail_attempts(jsonb,integer,interval,interval)',
        'integration.record_webhook_attempts(jsonb,integer,interval,interval)',
        'integration.sweep_events(integer)', 'integration.sweep_idempotency_keys(integer)',
        'integration.sweep_rate_limit_buckets(integer)'
    ],
    'the worker runs the dispatcher, the claim and the record (and its sweep), nothing else of integration'
);
SELECT ok(
    NOT has_function_privilege('store_admin', 'integration.claim_webhook_deliveries(integer,interval,integer,jsonb)', 'EXECUTE')
    AND NOT has_function_privilege('store_admin', 'integration.record_webhook_attempts(jsonb,integer,interval,interval)', 'EXECUTE')
    AND NOT has_function_privilege('store_admin', 'integration.dispatch_events(integer)', 'EXECUTE'),
    'store admins cannot claim or decide deliveries'
);
SELECT is(
    ARRAY(
        SELECT a.attname::text FROM pg_attribute AS a
        WHERE a.attrelid = 'integration.webhook_subscriptions'::regclass AND a.attnum > 0 AND a.attname ~ 'secret'
        ORDER BY 1
    ),
    ARRAY['secret_rotated_at', 'secret_version'],
    'a subscription stores which secret, never the secret itself'
);

-- == validation =====================================================================================
SELECT is(
    integration.webhook_subscription_errors('https://a.example/x', ARRAY['order.created', 'stock.low']), '{}'::jsonb,
    'a good url and known types: no errors'
);
SELECT is(
    integration.webhook_subscription_errors('https://me:pw@a.example/', ARRAY['*', 'order.paid']),
    jsonb_build_object('url', 'must not contain a user name or password',
                       'events', '"*" already means every event type: send it alone'),
    'credentials in the url and "*" with others are refused, each under its field'
);
SELECT is(
    integration.webhook_subscription_errors('gopher://a.example', ARRAY['order.created', 'no.such', 'a.b']),
    jsonb_build_object('url', 'must be an http:// or https:// URL', 'events', 'unknown event type(s): a.b, no.such'),
    'other schemes and unknown types are refused, naming the types'
);

SELECT pg_temp.act_as('store_admin');
SELECT throws_ok(
    $$INSERT INTO integration.webhook_subscriptions (url, event_types) VALUES ('https://u:p@a.example', '{*}')$$,
    'PT422', 'validation_failed', 'a store admin''s INSERT in SQL is checked like the API''s'
);
SELECT throws_ok(
    $$INSERT INTO integration.webhook_subscriptions (url, event_types) VALUES ('https://a.example', '{order.sent}')$$,
    'PT422', 'validation_failed', 'an unknown type is refused in SQL too'
);
SELECT lives_ok(
    $$INSERT INTO integration.webhook_subscriptions (url, event_types, description, active) VALUES
        ('https://a.example/a', '{order.created,order.created}', 'tst24 A', TRUE),
        ('https://a.example/b', '{*}', 'tst24 B', TRUE),
        ('https://a.example/c', '{order.created}', 'tst24 C', FALSE),
        ('https://a.example/d', '{stock.low}', 'tst24 D', TRUE)$$,
    'a store admin subscribes in SQL'
);
SELECT is(
    (SELECT array_agg(s.event_types::text || ' v' || s.secret_version ORDER BY s.description)
     FROM integration.webhook_subscriptions AS s WHERE s.description LIKE 'tst24 %'),
    ARRAY['{order.created} v1', '{*} v1', '{order.created} v1', '{stock.low} v1'],
    'types are kept without repeats; every subscription starts at secret version 1'
);
SELECT throws_ok(
    $$UPDATE integration.webhook_subscriptions SET secret_version = 3 WHERE description = 'tst24 A'$$,
    'PT409', 'invalid_secret_version', 'a rotation skips no version'
);
SELECT lives_ok(
    $$UPDATE integration.webhook_subscriptions SET secret_version = secret_version + 1 WHERE description = 'tst24 D'$$,
    'a rotation adds one'
);
SELECT throws_ok(
    $$UPDATE integration.webhook_subscriptions SET secret_version = 1 WHERE description = 'tst24 D'$$,
    'PT409', 'invalid_secret_version', 'a replaced secret never comes back'
);
SELECT ok(
    (SELECT s.secret_rotated_at IS NOT NULL FROM integration.webhook_subscriptions AS s WHERE s.description = 'tst24 D'),
    'the rotation is dated (the previous secret still signs for 24 hours)'
);
RESET ROLE;
SELECT pg_temp.act_as('order_manager');
SELECT throws_ok(
    'SELECT count(*) FROM integration.webhook_subscriptions', '42501', NULL, 'an order manager cannot see subscriptions'
);
RESET ROLE;

-- == fan-out ========================================================================================
CREATE TEMP TABLE emitted AS
SELECT integration.emit(v.type, gen_random_uuid(), jsonb_build_object('n', v.n)) AS id
FROM (VALUES ('order.created', 1), ('stock.low', 2), ('order.paid', 3)) AS v (type, n);
SET LOCAL ROLE postcart_worker;
SELECT cmp_ok(integration.dispatch_events(10000), '>=', 3, 'the dispatcher claims the new events');
RESET ROLE;
SELECT is(
    ARRAY(SELECT f.sub || ' ' || f.type || ' ' || f.status || ' ' || f.attempts FROM pg_temp.fanned AS f ORDER BY 1),
    ARRAY[
        'tst24 A order.created pending 0',
        'tst24 B order.created pending 0', 'tst24 B order.paid pending 0', 'tst24 B stock.low pending 0',
        'tst24 D stock.low pending 0'
    ],
    'one delivery per event and active subscription naming its type or "*"; none for the inactive one'
);
SELECT is(
    (SELECT count(*) FROM integration.events AS e WHERE e.dispatched_at IS NULL)::integer, 0,
    'every event is marked dispatched'
);
-- The deliveries by name, for the steps run as postcart_worker (which reads no table).
CREATE TEMP TABLE ids AS SELECT f.sub, f.type, f.id, f.subscription_id FROM pg_temp.fanned AS f;
GRANT SELECT ON ids TO PUBLIC;
SET LOCAL ROLE postcart_worker;
SELECT is(integration.dispatch_events(10000), 0, 'a dispatched event is not claimed again');
SELECT throws_ok(
    'SELECT integration.dispatch_events(0)', 'PT422', 'validation_failed', 'a batch has 1 to 10000 events'
);

-- == claims =========================================================================================
CREATE TEMP TABLE first_claim AS
SELECT c.*, i.sub FROM integration.claim_webhook_deliveries(1000, '1 minute', 1, '{}') AS c
INNER JOIN ids AS i ON c.delivery_id = i.id;
RESET ROLE;
GRANT SELECT ON first_claim TO PUBLIC;
SELECT is(
    (SELECT array_agg(s.description ORDER BY s.description) FROM first_claim AS c
     INNER JOIN integration.webhook_subscriptions AS s ON c.subscription_id = s.id),
    ARRAY['tst24 A', 'tst24 B', 'tst24 D'],
    'with one slot per subscription, a claim takes one due delivery of each'
);
SELECT ok(
    (SELECT bool_and(c.attempt = 1 AND d.locked_until = now() + INTERVAL '1 minute' AND d.next_attempt_at = d.locked_until)
     FROM first_claim AS c INNER JOIN integration.webhook_deliveries AS d ON c.delivery_id = d.id),
    'a claim counts the attempt and leases it; it is due again only when the lease runs out'
);
SELECT ok(
    (SELECT bool_and(c.body::jsonb ?& ARRAY['type', 'timestamp', 'data']) FROM first_claim AS c),
    'the body is {type, timestamp, data}'
);
SELECT is(
    (SELECT c.secret_versions FROM first_claim AS c INNER JOIN integration.webhook_subscriptions AS s
     ON c.subscription_id = s.id WHERE s.description = 'tst24 D'),
    ARRAY[2, 1], 'after a rotation, the new and the previous secret sign'
);
SET LOCAL ROLE postcart_worker;
SELECT is(
    (SELECT count(*)::integer FROM integration.claim_webhook_deliveries(1000, '1 minute', 10, '{}') AS c
     WHERE c.delivery_id IN (SELECT f.delivery_id FROM first_claim AS f)),
    0, 'a leased delivery is not claimed again'
);
SELECT is(
    (SELECT count(*)::integer FROM integration.claim_webhook_deliveries(
        1000, '1 minute', 2, jsonb_build_object((SELECT c.subscription_id FROM first_claim AS c
                                                 WHERE c.sub = 'tst24 B'), 2)) AS c
     WHERE c.url = 'https://a.example/b'),
    0, 'nothing more for a subscription that already has its share of slots in flight'
);
RESET ROLE;

-- == outcomes =======================================================================================
CREATE FUNCTION pg_temp.outcome(p_sub text, p_attempt integer, p_status integer, p_error text)
RETURNS jsonb
LANGUAGE sql
AS $$
    SELECT jsonb_build_array(jsonb_build_object(
        'delivery_id', c.delivery_id, 'attempt', p_attempt, 'attempted_at', now(), 'duration_ms', 12,
        'response_status', p_status, 'error', p_error
    ))
    FROM first_claim AS c
    WHERE c.sub = p_sub
$$;
GRANT EXECUTE ON FUNCTION pg_temp.outcome(text, integer, integer, text) TO PUBLIC;
SET LOCAL ROLE postcart_worker;
SELECT is(
    integration.record_webhook_attempts(pg_temp.outcome('tst24 B', 7, 200, NULL), 3, '10 seconds', '1 minute'), 0,
    'an outcome for an attempt that is not the leased one decides nothing'
);
SELECT is(
    integration.record_webhook_attempts(
        pg_temp.outcome('tst24 A', 1, 204, NULL) || pg_temp.outcome('tst24 B', 1, 500, NULL)
        || pg_temp.outcome('tst24 D', 1, NULL, 'timed out after 10 s'),
        1 + 2, '10 seconds', '1 minute'
    ),
    3, 'the leased attempts'' outcomes are recorded'
);
RESET ROLE;
SELECT is(
    ARRAY(SELECT f.sub || ' ' || f.status || ' ' || f.attempts FROM pg_temp.fanned AS f
          WHERE f.id IN (SELECT c.delivery_id FROM first_claim AS c) ORDER BY 1),
    ARRAY['tst24 A delivered 1', 'tst24 B pending 1', 'tst24 D pending 1'],
    '2xx delivers; a 500 and a timeout leave the delivery pending'
);
SELECT ok(
    (SELECT d.next_attempt_at BETWEEN now() AND now() + INTERVAL '10 seconds' AND d.locked_until IS NULL
        AND d.last_response_status = 500
     FROM integration.webhook_deliveries AS d INNER JOIN pg_temp.fanned AS f ON d.id = f.id
     WHERE f.sub = 'tst24 B' AND f.id IN (SELECT c.delivery_id FROM first_claim AS c)),
    'after a first failure the retry waits a random time below the base'
);
SELECT is(
    (SELECT array_agg(coalesce(a.response_status::text, a.error) || ' #' || a.attempt ORDER BY a.response_status, a.attempt)
     FROM integration.webhook_attempts AS a
     WHERE a.delivery_id = (SELECT c.delivery_id FROM first_claim AS c
                            INNER JOIN integration.webhook_subscriptions AS s ON c.subscription_id = s.id
                            WHERE s.description = 'tst24 B')),
    ARRAY['200 #7', '500 #1'],
    'every outcome is history, the stale one too'
);
-- Attempt 3 of 3 (the third claim): the last failure kills it.
UPDATE integration.webhook_deliveries AS d SET attempts = 2, next_attempt_at = now() - INTERVAL '1 second'
WHERE d.id = (SELECT f.id FROM pg_temp.fanned AS f WHERE f.sub = 'tst24 D');
SET LOCAL ROLE postcart_worker;
SELECT is(
    (SELECT array_agg(c.attempt) FROM integration.claim_webhook_deliveries(1000, '1 minute', 1000, '{}') AS c
     WHERE c.url = 'https://a.example/d'),
    ARRAY[3], 'the third attempt is claimed'
);
SELECT is(
    integration.record_webhook_attempts(pg_temp.outcome('tst24 D', 3, 503, NULL), 3, '10 seconds', '1 minute'), 1,
    'its failure is recorded'
);
RESET ROLE;
SELECT is(
    (SELECT d.status || ' ' || coalesce(d.next_attempt_at::text, 'no retry') FROM integration.webhook_deliveries AS d
     WHERE d.id = (SELECT f.id FROM pg_temp.fanned AS f WHERE f.sub = 'tst24 D')),
    'dead no retry', 'after the last attempt the delivery is dead'
);

-- == a lost lease, the backoff cap ==================================================================
CREATE TEMP TABLE lost_one AS
SELECT i.id FROM ids AS i
WHERE i.sub = 'tst24 B' AND i.id NOT IN (SELECT c.delivery_id FROM first_claim AS c)
ORDER BY i.type LIMIT 1;
GRANT SELECT ON lost_one TO PUBLIC;
UPDATE integration.webhook_deliveries AS d
SET attempts = 1, locked_until = now() - INTERVAL '1 second', next_attempt_at = now() - INTERVAL '1 second',
    last_attempt_at = now() - INTERVAL '1 minute'
WHERE d.id = (SELECT l.id FROM lost_one AS l);
SET LOCAL ROLE postcart_worker;
SELECT is(
    (SELECT array_agg(c.attempt) FROM integration.claim_webhook_deliveries(1000, '1 minute', 1000, '{}') AS c
     WHERE c.delivery_id = (SELECT l.id FROM lost_one AS l)),
    ARRAY[2], 'a delivery whose lease ran out is claimed again, as the next attempt'
);
RESET ROLE;
SELECT is(
    (SELECT a.attempt || ' ' || a.error FROM integration.webhook_attempts AS a
     WHERE a.delivery_id = (SELECT l.id FROM lost_one AS l)),
    '1 no outcome recorded: the worker stopped or lost the database during the attempt',
    'the lost attempt is history'
);
UPDATE integration.webhook_deliveries AS d SET attempts = 9
WHERE d.id = (SELECT l.id FROM lost_one AS l);
CREATE TEMP TABLE lost AS
SELECT jsonb_build_array(jsonb_build_object(
    'delivery_id', f.id, 'attempt', 9, 'attempted_at', now(), 'duration_ms', 1, 'response_status', 502
)) AS outcomes
FROM lost_one AS f;
GRANT SELECT ON lost TO PUBLIC;
SET LOCAL ROLE postcart_worker;
SELECT is(integration.record_webhook_attempts((SELECT l.outcomes FROM lost AS l), 20, '10 seconds', '1 minute'), 1,
          'attempt 9 fails');
RESET ROLE;
SELECT ok(
    (SELECT d.next_attempt_at <= now() + INTERVAL '1 minute' FROM integration.webhook_deliveries AS d
     WHERE d.id = (SELECT l.id FROM lost_one AS l)),
    'the wait never exceeds the cap (10 s * 2^8 would be 42 minutes)'
);

-- == state rules and replay =========================================================================
SELECT throws_ok(
    $$UPDATE integration.webhook_deliveries SET status = 'dead', next_attempt_at = NULL, delivered_at = NULL
      WHERE id = (SELECT f.id FROM pg_temp.fanned AS f WHERE f.sub = 'tst24 A')$$,
    'PT409', 'invalid_transition', 'a delivered delivery does not become dead, even for the owner'
);
SELECT throws_ok(
    $$UPDATE integration.webhook_deliveries SET status = 'pending', next_attempt_at = now()
      WHERE id = (SELECT f.id FROM pg_temp.fanned AS f WHERE f.sub = 'tst24 D')$$,
    'PT409', 'invalid_transition', 'a dead delivery goes back to pending only with attempts reset'
);
SELECT throws_ok(
    $$UPDATE integration.webhook_attempts SET response_status = 200$$,
    'PT409', 'attempts_append_only', 'the attempt history is append-only'
);
SELECT pg_temp.act_as('store_admin');
SELECT throws_ok(
    format('SELECT integration.replay_webhook_delivery(%L, %L)',
           (SELECT f.subscription_id FROM pg_temp.fanned AS f WHERE f.sub = 'tst24 B' AND f.type = 'stock.low'),
           (SELECT f.id FROM pg_temp.fanned AS f WHERE f.sub = 'tst24 B' AND f.type = 'stock.low')),
    'PT409', 'delivery_pending', 'a pending delivery is not replayed'
);
SELECT is(
    (SELECT r.status || ' ' || r.attempts || ' ' || (r.next_attempt_at = now()) FROM integration.replay_webhook_delivery(
        (SELECT f.subscription_id FROM pg_temp.fanned AS f WHERE f.sub = 'tst24 D'),
        (SELECT f.id FROM pg_temp.fanned AS f WHERE f.sub = 'tst24 D')) AS r),
    'pending 0 true', 'a dead delivery replays: pending, attempts 0, due at once'
);
SELECT throws_ok(
    format('SELECT integration.replay_webhook_delivery(%L, %L)',
           (SELECT f.subscription_id FROM pg_temp.fanned AS f WHERE f.sub = 'tst24 B' AND f.type = 'stock.low'),
           (SELECT f.id FROM pg_temp.fanned AS f WHERE f.sub = 'tst24 D')),
    'PT404', 'delivery_not_found', 'another subscription''s delivery is not found'
);
-- Deleting a subscription takes its deliveries and their history along.
DELETE FROM integration.webhook_subscriptions AS s WHERE s.description = 'tst24 B';
RESET ROLE;
SELECT is(
    (SELECT count(*)::integer FROM pg_temp.fanned AS f WHERE f.sub = 'tst24 B')
    + (SELECT count(*)::integer FROM integration.webhook_attempts AS a
       WHERE NOT EXISTS (SELECT FROM integration.webhook_deliveries AS d WHERE d.id = a.delivery_id)),
    0, 'a deleted subscription leaves no delivery or history behind'
);

SELECT * FROM finish();
ROLLBACK;
