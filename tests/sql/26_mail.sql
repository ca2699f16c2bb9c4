-- E-mail in the database (migration 0031, sql/integration/mail.sql, sql/auth/60_account_requests.sql,
-- sql/api/mail.sql): who may touch the queue; registration, password reset and e-mail verification
-- (single use, expiry, sessions revoked, no difference for unknown addresses); the dispatcher's fan-out per
-- event type with marketing consent; one mail per event and kind; an opt-out after the fan-out wins at
-- claim time; leases and outcomes.
BEGIN;
SELECT plan(46);

-- == helpers (temporary, this session only) =========================================================
CREATE FUNCTION pg_temp.hash()
RETURNS text
LANGUAGE sql
AS $$ SELECT '$argon2id$v=19$m=65536,t=3,p=4$' || repeat('A', 22) || '$' || repeat('B', 43) $$;

-- Runs p_sql as p_role (claims p_claims) and returns its first column as text, or 'SQLSTATE message' when
-- it raises (the role switch is undone either way); assertions then run as the test's own user.
CREATE FUNCTION pg_temp.try(p_role text, p_sql text, p_claims jsonb DEFAULT '{}')
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    result text;
BEGIN
    BEGIN
        PERFORM set_config('request.claims', p_claims::text, TRUE), set_config('role', p_role, TRUE);
        EXECUTE p_sql INTO result;
        PERFORM set_config('request.claims', '', TRUE), set_config('role', 'none', TRUE);
    EXCEPTION WHEN OTHERS THEN
        RETURN SQLSTATE || ' ' || SQLERRM;
    END;
    RETURN result;
END
$$;

-- An order without lines (fan-out needs only its e-mail), placed the way 21_orders.sql does.
CREATE FUNCTION pg_temp.place(p_customer uuid, p_email text)
RETURNS uuid
LANGUAGE plpgsql
AS $$
DECLARE
    order_id uuid := gen_random_uuid();
    cart uuid;
    num bigint;
BEGIN
    INSERT INTO shop.carts (customer_id, token_hash, currency, status, order_id)
    VALUES (p_customer, sha256(order_id::text::bytea), 'SEK', 'ordered', order_id)
    RETURNING id INTO cart;
    UPDATE shop.order_numbers SET last_number = last_number + 1 RETURNING last_number INTO num;
    INSERT INTO shop.orders (id, number, customer_id, cart_id, email, currency, payment_method, prices_include_tax,
                             subtotal, discount_total, shipping_total, tax_total, total, shipping_address,
                             shipping_method_code, shipping_method_name)
    VALUES (order_id, num, p_customer, cart, p_email, 'SEK', 'manual', TRUE, 0, 0, 0, 0, 0, '{"country": "SE"}',
            'standard', 'Standard');
    RETURN order_id;
END
$$;

-- The mails made from this test's events: 'kind status to'.
CREATE VIEW pg_temp.made AS
SELECT m.kind, m.status, m.to_email::text AS to_email, m.id, m.event_id, m.attempts, m.last_error
FROM integration.mails AS m
WHERE m.to_email::text LIKE 'tst26-%';

-- == structure and privileges =======================================================================
SELECT has_table('integration', 'mails', 'the mail queue exists');
SELECT has_table('auth', 'account_requests', 'account requests exist');
SELECT is(
    ARRAY(
        SELECT c.oid::regclass::text FROM pg_class AS c
        WHERE c.oid IN ('integration.mails'::regclass, 'integration.mail_kinds'::regclass,
                        'integration.mail_settings'::regclass, 'integration.mail_suppressions'::regclass,
                        'auth.account_requests'::regclass)
            AND c.relrowsecurity AND c.relforcerowsecurity
        ORDER BY 1
    ),
    ARRAY['auth.account_requests', 'integration.mail_kinds', 'integration.mail_settings', 'integration.mail_suppressions',
          'integration.mails'],
    'row-level security is enabled and forced on the five tables'
);
SELECT policies_are('integration', 'mails', ARRAY['mails_owner_all', 'mails_select_store_admin']);
SELECT policies_are('auth', 'account_requests', ARRAY['account_requests_owner_all']);
SELECT is(
    ARRAY(
        SELECT DISTINCT r.rolname::text FROM pg_roles AS r
        CROSS JOIN unnest(ARRAY['integration.claim_mails(integer,interval)'::regprocedure,
                                'integration.record_mail_attempts(jsonb,integer,interval,interval)'::regprocedure]) AS f (p)
        WHERE r.rolname LIKE 'postcart\_%' OR r.rolname IN ('store_admin', 'order_manager', 'support_agent')
        AND NOT r.rolsuper
        GROUP BY r.rolname HAVING bool_and(has_function_privilege(r.oid, f.p, 'EXECUTE'))
        ORDER BY 1
    ),
    ARRAY['postcart_owner', 'postcart_worker'],
    'only postcart_worker (and the owner) may claim and record mails'
);
SELECT ok(
    NOT has_function_privilege('postcart_worker', 'integration.fan_out_mails(uuid[])', 'EXECUTE')
    AND NOT has_function_privilege('postcart_customer', 'integration.marketing_allowed(extensions.citext, uuid)', 'EXECUTE'),
    'fan-out and the consent rule are internal: called only by definer functions'
);
SELECT ok(
    NOT has_table_privilege('postcart_customer', 'integration.mails', 'SELECT')
    AND NOT has_table_privilege('postcart_anon', 'auth.account_requests', 'SELECT')
    AND NOT has_table_privilege('postcart_worker', 'integration.mails', 'UPDATE')
    AND NOT has_table_privilege('store_admin', 'integration.mails', 'INSERT'),
    'nobody reads or writes the queue and the requests directly but through the functions (store admins read)'
);
SELECT is(
    (SELECT count(*)::integer FROM integration.event_types
     WHERE type IN ('customer.password_reset_requested', 'customer.email_verification_requested', 'customer.created')),
    3, 'webhook subscriptions may name the account events'
);

-- == registration: customer.created and a verification request ====================================
CREATE TEMP TABLE reg ON COMMIT DROP AS
SELECT pg_temp.try('postcart_anon', format(
    $$SELECT api.register('{"email": "tst26-ann@example.com", "full_name": "Ann"}', '{"password_hash": "%s"}') -> 'customer' ->> 'id'$$,
    pg_temp.hash()
))::uuid AS id;
CREATE FUNCTION pg_temp.ann()
RETURNS jsonb
LANGUAGE sql
AS $$ SELECT jsonb_build_object('sub', r.id, 'role', 'postcart_customer', 'kind', 'customer') FROM reg AS r $$;
SELECT is(
    (SELECT array_agg(e.type ORDER BY e.type) FROM integration.events AS e WHERE e.subject_id = (SELECT id FROM reg)),
    ARRAY['customer.created', 'customer.email_verification_requested'],
    'registering emits customer.created and a verification request'
);
SELECT ok(
    (SELECT NOT (e.payload ?| ARRAY['password', 'password_hash', 'token']) AND e.payload ->> 'email' = 'tst26-ann@example.com'
     FROM integration.events AS e WHERE e.subject_id = (SELECT id FROM reg) AND e.type = 'customer.created'),
    'customer.created carries the address and no secret'
);
SELECT is(
    (SELECT q.expires_at - q.created_at FROM auth.account_requests AS q
     WHERE q.account_id = (SELECT id FROM reg) AND q.kind = 'email_verification'),
    INTERVAL '48 hours', 'a verification is valid 48 hours'
);

-- == password reset ================================================================================
SELECT is(pg_temp.try('postcart_anon', $$SELECT api.request_password_reset('{"email": "TST26-ann@example.com"}')$$),
          NULL, 'a reset for a known address: null (202)');
SELECT is(pg_temp.try('postcart_anon', $$SELECT api.request_password_reset('{"email": "tst26-nobody@example.com"}')$$),
          NULL, 'an unknown address: the same answer');
SELECT alike(pg_temp.try('postcart_anon', $$SELECT api.request_password_reset('{"email": "not an address"}')$$),
             'PT422 validation_failed%', 'a malformed address is 422');
SELECT is(
    (SELECT count(*)::integer FROM auth.account_requests AS q WHERE q.kind = 'password_reset'
        AND q.created_at = now() AND (q.account_id = (SELECT id FROM reg) OR q.account_id IS NULL)),
    2, 'both made a request row (the unknown one without an account: the same work)'
);
SELECT is(
    (SELECT array_agg(e.payload ->> 'account_id') FROM integration.events AS e
     WHERE e.type = 'customer.password_reset_requested' AND e.created_at = now()),
    ARRAY[(SELECT id::text FROM reg)],
    'only the known address emits customer.password_reset_requested'
);
SELECT ok(
    (SELECT e.payload ?& ARRAY['account_id', 'request_id', 'expires_at'] AND NOT e.payload ? 'token'
     FROM integration.events AS e WHERE e.type = 'customer.password_reset_requested' AND e.created_at = now()),
    'the event names the request and its expiry, never a token'
);

CREATE TEMP TABLE reset ON COMMIT DROP AS
SELECT q.id FROM auth.account_requests AS q WHERE q.account_id = (SELECT id FROM reg) AND q.kind = 'password_reset';
INSERT INTO auth.sessions (id, account_id, expires_at) VALUES
('26000000-0000-4000-8000-000000000001', (SELECT id FROM reg), now() + INTERVAL '1 day');
INSERT INTO auth.refresh_tokens (token_hash, session_id, expires_at)
VALUES (sha256('tst26'), '26000000-0000-4000-8000-000000000001', now() + INTERVAL '1 day');
CREATE FUNCTION pg_temp.confirm(p_request uuid, p_hash text)
RETURNS text
LANGUAGE sql
AS $$
    SELECT pg_temp.try('postcart_anon', format(
        $q$SELECT api.confirm_password_reset('{}', '{"request_id": "%s", "password_hash": "%s"}')$q$, p_request, p_hash
    ))
$$;

SELECT is(pg_temp.confirm((SELECT id FROM reset), pg_temp.hash()), NULL, 'a live reset sets the password (204)');
SELECT alike(pg_temp.confirm((SELECT id FROM reset), pg_temp.hash()), 'PT400 invalid_token%',
             'the same request again: 400 invalid_token (single use)');
SELECT alike(pg_temp.confirm(gen_random_uuid(), 'weak'), 'PT422 invalid_password_hash%',
             'only an argon2id hash with the server''s parameters is taken');
SELECT ok(
    (SELECT s.revoked_at IS NOT NULL FROM auth.sessions AS s WHERE s.id = '26000000-0000-4000-8000-000000000001')
    AND (SELECT t.expires_at <= now() FROM auth.refresh_tokens AS t WHERE t.token_hash = sha256('tst26')),
    'the reset revoked the account''s sessions and refresh tokens'
);

-- Expired: a request made 31 minutes ago.
INSERT INTO auth.account_requests (id, kind, account_id, created_at, expires_at) VALUES
('26000000-0000-4000-8000-0000000000e1', 'password_reset', (SELECT id FROM reg), now() - INTERVAL '31 minutes',
 now() - INTERVAL '1 minute');
SELECT alike(pg_temp.confirm('26000000-0000-4000-8000-0000000000e1', pg_temp.hash()), 'PT400 invalid_token%',
             'an expired reset: 400 invalid_token');
SELECT is(pg_temp.try('postcart_authenticator', $$SELECT auth.account_request_email('26000000-0000-4000-8000-0000000000e1')$$),
          NULL, 'an expired reset names no address');
SELECT ok(
    (SELECT q.used_at IS NULL FROM auth.account_requests AS q WHERE q.id = '26000000-0000-4000-8000-0000000000e1'),
    'the refused confirmation changed nothing'
);

-- == e-mail verification ===========================================================================
CREATE TEMP TABLE verification ON COMMIT DROP AS
SELECT q.id FROM auth.account_requests AS q WHERE q.account_id = (SELECT id FROM reg) AND q.kind = 'email_verification';
SELECT is(pg_temp.try('postcart_customer', $$SELECT api.me('{}') ->> 'email_verified'$$, pg_temp.ann()), 'false',
          'a new account is not verified');
SELECT is(
    pg_temp.try('postcart_anon', format($$SELECT api.confirm_email_verification('{}', '{"request_id": "%s"}')$$,
                                        (SELECT id FROM verification))),
    NULL, 'the verification request verifies (204)'
);
SELECT alike(
    pg_temp.try('postcart_anon', format($$SELECT api.confirm_email_verification('{}', '{"request_id": "%s"}')$$,
                                        (SELECT id FROM verification))),
    'PT400 invalid_token%', 'a second time: 400 invalid_token'
);
SELECT is(pg_temp.try('postcart_customer', $$SELECT api.me('{}') ->> 'email_verified'$$, pg_temp.ann()), 'true',
          'GET /v1/me then shows email_verified');
SELECT alike(pg_temp.try('postcart_customer', $$SELECT api.request_email_verification('{}')$$, pg_temp.ann()),
             'PT409 email_already_verified%', 'asking again once verified: 409');

-- == fan-out ========================================================================================
INSERT INTO auth.accounts (id, email, full_name, marketing_consent) VALUES
('26000000-0000-4000-8000-00000000000b', 'tst26-bob@example.com', 'Bob', TRUE),
('26000000-0000-4000-8000-00000000000c', 'tst26-cid@example.com', 'Cid', NULL);
INSERT INTO integration.mail_suppressions (email, source) VALUES ('tst26-gone@example.com', 'unsubscribe_link');
CREATE TEMP TABLE orders ON COMMIT DROP AS
SELECT pg_temp.place('26000000-0000-4000-8000-00000000000b', 'tst26-order@example.com') AS id;
GRANT SELECT ON orders TO PUBLIC;
CREATE TEMP TABLE done1 ON COMMIT DROP AS SELECT integration.emit('order.created', o.id, jsonb_build_object('order_id', o.id)) FROM orders AS o;
CREATE TEMP TABLE done2 ON COMMIT DROP AS SELECT integration.emit('fulfillment.created', gen_random_uuid(), jsonb_build_object(
    'order_id', o.id, 'carrier', 'DHL', 'tracking_number', 'JD0001'
)) FROM orders AS o;
CREATE TEMP TABLE done3 ON COMMIT DROP AS SELECT integration.emit('order.paid', o.id, jsonb_build_object('order_id', o.id)) FROM orders AS o;  -- no mail
-- Abandoned carts: Bob said yes; Cid never answered; a guest; a suppressed guest.
INSERT INTO shop.carts (id, customer_id, token_hash, currency, status, abandoned_at, email) VALUES
('26000000-0000-4000-8000-0000000000c1', '26000000-0000-4000-8000-00000000000b', NULL, 'SEK', 'abandoned', now(), 'tst26-bob@example.com'),
('26000000-0000-4000-8000-0000000000c2', '26000000-0000-4000-8000-00000000000c', NULL, 'SEK', 'abandoned', now(), 'tst26-cid@example.com'),
('26000000-0000-4000-8000-0000000000c3', NULL, sha256('c3'), 'SEK', 'abandoned', now(), 'tst26-guest@example.com'),
('26000000-0000-4000-8000-0000000000c4', NULL, sha256('c4'), 'SEK', 'abandoned', now(), 'tst26-gone@example.com');
CREATE TEMP TABLE done4 ON COMMIT DROP AS SELECT integration.emit('cart.abandoned', c.id, jsonb_build_object('cart_id', c.id, 'email', c.email, 'currency', 'SEK'))
FROM shop.carts AS c WHERE c.id::text LIKE '26000000-0000-4000-8000-0000000000c%';

SELECT cmp_ok(pg_temp.try('postcart_worker', 'SELECT integration.dispatch_events(10000)')::integer, '>=', 9,
              'the dispatcher claims the events');
SELECT set_eq(
    $$SELECT kind || ' ' || status || ' ' || to_email FROM pg_temp.made$$,
    ARRAY[
        'password_reset pending tst26-ann@example.com',
        'email_verification pending tst26-ann@example.com',
        'order_confirmation pending tst26-order@example.com',
        'shipping_notification pending tst26-order@example.com',
        'abandoned_cart pending tst26-bob@example.com',
        'abandoned_cart skipped tst26-cid@example.com',
        'abandoned_cart skipped tst26-guest@example.com',
        'abandoned_cart skipped tst26-gone@example.com'
    ],
    'one mail per event that implies one, to the right address; marketing without consent is skipped (GDPR default)'
);
SELECT is(
    (SELECT count(*)::integer FROM integration.mails AS m INNER JOIN integration.events AS e ON m.event_id = e.id
     WHERE e.type = 'order.paid' AND e.subject_id = (SELECT id FROM orders)),
    0, 'events that imply no mail make none'
);
SELECT is(
    integration.fan_out_mails(ARRAY(SELECT event_id FROM pg_temp.made)), 0,
    'fanning the same events out again makes nothing (one mail per event and kind)'
);
SELECT throws_ok(
    $$INSERT INTO integration.mails (kind, event_id, to_email) SELECT kind, event_id, to_email FROM pg_temp.made LIMIT 1$$,
    '23505', NULL, 'the unique (event_id, kind) holds for any writer'
);

-- The store's soft opt-in: guests and accounts that never answered get marketing, suppressed ones never.
UPDATE integration.mail_settings SET marketing_without_consent = TRUE;
DELETE FROM integration.mails AS m WHERE m.kind = 'abandoned_cart' AND m.to_email::text LIKE 'tst26-%';
CREATE TEMP TABLE done5 ON COMMIT DROP AS SELECT integration.fan_out_mails(ARRAY(
    SELECT e.id FROM integration.events AS e WHERE e.type = 'cart.abandoned'
        AND e.subject_id::text LIKE '26000000-0000-4000-8000-0000000000c%'
));
SELECT set_eq(
    $$SELECT status || ' ' || to_email FROM pg_temp.made WHERE kind = 'abandoned_cart'$$,
    ARRAY['pending tst26-bob@example.com', 'pending tst26-cid@example.com', 'pending tst26-guest@example.com',
          'skipped tst26-gone@example.com'],
    'with soft opt-in on, only suppressed addresses are skipped'
);

-- == claim and record ===============================================================================
-- Bob opts out after the fan-out: his reminder is skipped at claim time, never handed out.
SELECT is(
    pg_temp.try('postcart_customer', $$SELECT api.update_me('{"marketing_emails": false}') ->> 'marketing_emails'$$,
                '{"sub": "26000000-0000-4000-8000-00000000000b", "role": "postcart_customer", "kind": "customer"}'),
    'false', 'PATCH /v1/me {marketing_emails: false} takes effect'
);
UPDATE integration.mails AS m SET next_attempt_at = now() - INTERVAL '1 hour'
WHERE m.id IN (SELECT id FROM pg_temp.made WHERE status = 'pending');
UPDATE integration.mails AS m SET next_attempt_at = now() + INTERVAL '1 day'
WHERE m.status = 'pending' AND m.id NOT IN (SELECT id FROM pg_temp.made);
CREATE TEMP TABLE claimed ON COMMIT DROP AS
SELECT c.* FROM jsonb_to_recordset(pg_temp.try('postcart_worker', $$
    SELECT jsonb_agg(to_jsonb(c)) FROM integration.claim_mails(100, INTERVAL '1 minute') AS c
$$)::jsonb) AS c (mail_id uuid, attempt integer, kind text, to_email text, marketing boolean, context jsonb);
SELECT is(pg_temp.try('postcart_worker', $$SELECT count(*) FROM integration.claim_mails(100, INTERVAL '1 minute')$$),
          '0', 'a second claim finds nothing: all leased');
SELECT set_eq(
    $$SELECT kind || ' ' || to_email FROM claimed$$,
    ARRAY['password_reset tst26-ann@example.com', 'email_verification tst26-ann@example.com',
          'order_confirmation tst26-order@example.com', 'shipping_notification tst26-order@example.com',
          'abandoned_cart tst26-cid@example.com', 'abandoned_cart tst26-guest@example.com'],
    'the claim hands out the due mails but not the reminder of a customer who opted out since'
);
SELECT is(
    (SELECT status || ' ' || coalesce(last_error, '') FROM pg_temp.made WHERE to_email = 'tst26-bob@example.com'),
    'skipped no marketing consent at send time', 'the opted-out reminder is recorded as skipped'
);
SELECT ok(
    (SELECT bool_and(c.context -> 'order' ->> 'email' = 'tst26-order@example.com') FROM claimed AS c
     WHERE c.kind = 'order_confirmation')
    AND (SELECT bool_and(c.context ? 'request_id') FROM claimed AS c WHERE c.kind = 'password_reset'),
    'the claim carries each template''s context (the order, the request id to derive the link from)'
);

SELECT is(
    pg_temp.try('postcart_worker', format(
        $$SELECT integration.record_mail_attempts(%L, 2, INTERVAL '1 second', INTERVAL '2 seconds')$$,
        (SELECT jsonb_agg(jsonb_build_object('mail_id', c.mail_id, 'attempt', c.attempt,
            'sent', c.kind <> 'order_confirmation', 'message_id', '<' || c.mail_id || '@x>',
            'error', CASE WHEN c.kind = 'order_confirmation' THEN 'SMTP 451: try later' END)) FROM claimed AS c)
    )),
    '6', 'every outcome of its own attempt is applied'
);
SELECT set_eq(
    $$SELECT kind || ' ' || status || ' ' || attempts FROM pg_temp.made WHERE to_email <> 'tst26-bob@example.com' AND status <> 'skipped'$$,
    ARRAY['password_reset sent 1', 'email_verification sent 1', 'order_confirmation pending 1',
          'shipping_notification sent 1', 'abandoned_cart sent 1', 'abandoned_cart sent 1'],
    'sent mails are final; the failed one waits for its retry'
);
SELECT throws_like(
    $$UPDATE integration.mails SET status = 'pending', next_attempt_at = now(), sent_at = NULL, message_id = NULL
      WHERE id IN (SELECT id FROM pg_temp.made WHERE kind = 'password_reset')$$,
    '%invalid_transition%', 'a sent mail never goes back to pending, whoever writes'
);
-- The retry fails again at the last attempt: dead.
UPDATE integration.mails AS m SET next_attempt_at = now() - INTERVAL '1 second'
WHERE m.id IN (SELECT id FROM pg_temp.made WHERE kind = 'order_confirmation');
SELECT is(
    pg_temp.try('postcart_worker', $$
        SELECT integration.record_mail_attempts(
            (SELECT jsonb_agg(jsonb_build_object('mail_id', c.mail_id, 'attempt', c.attempt, 'sent', FALSE, 'error', 'SMTP 550'))
             FROM integration.claim_mails(10, INTERVAL '1 minute') AS c),
            2, INTERVAL '1 second', INTERVAL '2 seconds'
        )
    $$),
    '1', 'the second attempt fails too'
);
SELECT is(
    (SELECT status || ' ' || attempts FROM pg_temp.made WHERE kind = 'order_confirmation'),
    'dead 2', 'after the last attempt the mail is dead'
);

SELECT * FROM finish();
ROLLBACK;
