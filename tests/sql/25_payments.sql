-- Payments (migration 0030, sql/shop/payments.sql, sql/api/payments.sql): the status machine (allowed and
-- refused changes, from plain SQL too), the order following its payments, card attempts, provider events
-- applied once and forward only, refunds within what was captured (reservations included), and grants.
BEGIN;
SELECT plan(53);

-- == helpers (temporary, this session only) =========================================================
SET LOCAL ROLE postcart_dba;
CREATE TEMP TABLE made AS
SELECT auth.invite_staff('tst25-order_manager@example.com', 'T', ARRAY['order_manager']);
RESET ROLE;
CREATE TEMP TABLE member AS
SELECT a.id, a.db_role::text AS db_role FROM auth.accounts AS a WHERE a.email::text = 'tst25-order_manager@example.com';
GRANT SELECT ON member TO PUBLIC;
INSERT INTO auth.accounts (id, email, full_name) VALUES
('c2500000-0000-4000-8000-000000000001', 'tst25-ada@example.com', 'Ada'),
('c2500000-0000-4000-8000-000000000002', 'tst25-bob@example.com', 'Bob');

CREATE FUNCTION pg_temp.as_customer(who uuid)
RETURNS text
LANGUAGE sql
AS $$
    SELECT set_config('request.claims', jsonb_build_object('sub', who, 'role', 'postcart_customer', 'kind', 'customer')::text, TRUE)
        || set_config('role', 'postcart_customer', TRUE)
$$;
CREATE FUNCTION pg_temp.as_manager()
RETURNS text
LANGUAGE sql
AS $$
    SELECT set_config('request.claims', jsonb_build_object('sub', m.id, 'role', m.db_role, 'kind', 'staff')::text, TRUE)
        || set_config('role', m.db_role, TRUE)
    FROM member AS m
$$;
CREATE FUNCTION pg_temp.back()
RETURNS text
LANGUAGE sql
AS $$
    SELECT set_config('request.claims', '', TRUE) || set_config('role', 'none', TRUE)
$$;

-- An order of p_total (NOK: no other test uses it) awaiting payment, without lines: payments need none.
CREATE FUNCTION pg_temp.place(p_customer uuid, p_total bigint)
RETURNS uuid
LANGUAGE plpgsql
AS $$
DECLARE
    order_id uuid := gen_random_uuid();
    cart uuid;
    num bigint;
BEGIN
    SET CONSTRAINTS ALL DEFERRED;
    INSERT INTO shop.carts (customer_id, token_hash, currency, status, order_id)
    VALUES (p_customer, CASE WHEN p_customer IS NULL THEN sha256('tst25-token'::bytea) END, 'NOK', 'ordered', order_id)
    RETURNING id INTO cart;
    UPDATE shop.order_numbers SET last_number = last_number + 1 RETURNING last_number INTO num;
    INSERT INTO shop.orders (id, number, customer_id, cart_id, email, currency, payment_method, prices_include_tax,
                             subtotal, discount_total, shipping_total, tax_total, total, shipping_address,
                             shipping_method_code, shipping_method_name)
    VALUES (order_id, num, p_customer, cart, 'tst25@example.com', 'NOK', 'card', TRUE, p_total, 0, 0, 0, p_total,
            '{"country": "NO"}', 'standard', 'Standard');
    SET CONSTRAINTS ALL IMMEDIATE;
    RETURN order_id;
END
$$;

-- A card payment of an order, as create_payment makes it (the superuser: no caller check).
CREATE FUNCTION pg_temp.card(p_order uuid, p_amount bigint)
RETURNS uuid
LANGUAGE sql
AS $$
    INSERT INTO shop.payments (order_id, provider, amount, currency) VALUES (p_order, 'card', p_amount, 'NOK')
    RETURNING id
$$;

-- The error a statement raises as SQLSTATE and message, or NULL.
CREATE FUNCTION pg_temp.error_of(p_sql text)
RETURNS text
LANGUAGE plpgsql
AS $$
BEGIN
    EXECUTE p_sql;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ' ' || SQLERRM;
END
$$;

CREATE FUNCTION pg_temp.event(p_id text, p_type text, p_intent text, p_status text, p_received bigint DEFAULT 0)
RETURNS jsonb
LANGUAGE sql
AS $$
    SELECT jsonb_build_object('id', p_id, 'type', p_type, 'data', jsonb_build_object('object',
        jsonb_build_object('id', p_intent, 'object', 'payment_intent', 'status', p_status, 'amount_received', p_received)))
$$;

CREATE TEMP TABLE o AS SELECT
    pg_temp.place('c2500000-0000-4000-8000-000000000001', 10000) AS machine,
    pg_temp.place('c2500000-0000-4000-8000-000000000001', 10000) AS split,
    pg_temp.place('c2500000-0000-4000-8000-000000000001', 10000) AS refunds,
    pg_temp.place('c2500000-0000-4000-8000-000000000001', 5000) AS api,
    pg_temp.place('c2500000-0000-4000-8000-000000000001', 4000) AS manual,
    pg_temp.place(NULL, 2000) AS guest;
GRANT SELECT ON o TO PUBLIC;

-- == tables, RLS =====================================================================================
SELECT has_table('shop', 'payment_transitions', 'shop.payment_transitions exists');
SELECT has_table('shop', 'refunds', 'shop.refunds exists');
SELECT has_table('integration', 'provider_events', 'integration.provider_events exists');
SELECT is(
    (SELECT count(*)::integer FROM pg_class
     WHERE oid IN ('shop.payment_transitions'::regclass, 'shop.refunds'::regclass, 'integration.provider_events'::regclass)
       AND relrowsecurity AND relforcerowsecurity),
    3, 'row-level security is enabled and forced on the new tables'
);

-- == the status machine ==============================================================================
CREATE TEMP TABLE p AS SELECT pg_temp.card((SELECT machine FROM o), 10000) AS id;
SELECT is(
    pg_temp.error_of(format('UPDATE shop.payments SET status = %L, captured_amount = 10000 WHERE id = %L', 'captured', (SELECT id FROM p))),
    'PT409 invalid_transition', 'pending -> captured skips authorized: refused'
);
SELECT lives_ok(
    format('UPDATE shop.payments SET status = %L WHERE id = %L', 'authorized', (SELECT id FROM p)),
    'pending -> authorized'
);
SELECT is(
    pg_temp.error_of(format('UPDATE shop.payments SET status = %L WHERE id = %L', 'captured', (SELECT id FROM p))),
    '23514 new row for relation "payments" violates check constraint "payments_status_amounts_check"',
    'captured without a captured amount breaks the amounts rule'
);
SELECT lives_ok(
    format('UPDATE shop.payments SET status = %L, captured_amount = 10000 WHERE id = %L', 'captured', (SELECT id FROM p)),
    'authorized -> captured'
);
SELECT is(
    pg_temp.error_of(format('UPDATE shop.payments SET status = %L WHERE id = %L', 'authorized', (SELECT id FROM p))),
    'PT409 invalid_transition', 'captured -> authorized (backward) refused'
);
SELECT is(
    pg_temp.error_of(format('UPDATE shop.payments SET status = %L WHERE id = %L', 'voided', (SELECT id FROM p))),
    'PT409 invalid_transition', 'captured -> voided refused'
);
SELECT lives_ok(
    format('UPDATE shop.payments SET status = %L, refunded_amount = 2500 WHERE id = %L', 'partially_refunded', (SELECT id FROM p)),
    'captured -> partially_refunded'
);
SELECT lives_ok(
    format('UPDATE shop.payments SET status = %L, refunded_amount = 10000 WHERE id = %L', 'refunded', (SELECT id FROM p)),
    'partially_refunded -> refunded'
);
SELECT is(
    pg_temp.error_of(format('UPDATE shop.payments SET status = %L WHERE id = %L', 'captured', (SELECT id FROM p))),
    'PT409 invalid_transition', 'refunded -> captured refused'
);
SELECT is(
    pg_temp.error_of(format(
        'INSERT INTO shop.payments (order_id, provider, status, amount, currency, captured_amount) VALUES (%L, %L, %L, 1, %L, 1)',
        (SELECT machine FROM o), 'card', 'captured', 'NOK'
    )),
    'PT409 invalid_transition', 'a card payment cannot start captured'
);
CREATE TEMP TABLE v AS SELECT pg_temp.card((SELECT machine FROM o), 100) AS id;
SELECT lives_ok(format('UPDATE shop.payments SET status = %L WHERE id = %L', 'voided', (SELECT id FROM v)), 'pending -> voided');
SELECT is(
    pg_temp.error_of(format('UPDATE shop.payments SET status = %L WHERE id = %L', 'authorized', (SELECT id FROM v)))
    || ' / ' || pg_temp.error_of(format('UPDATE shop.payments SET status = %L WHERE id = %L', 'failed', (SELECT id FROM v))),
    'PT409 invalid_transition / PT409 invalid_transition', 'voided is final'
);

-- == the order follows its payments ==================================================================
SELECT is(
    (SELECT array[status, payment_status, paid_amount::text, refunded_amount::text] FROM shop.orders WHERE id = (SELECT machine FROM o)),
    array['paid', 'refunded', '10000', '10000'],
    'captured then refunded in full: paid, and the amounts follow (nothing shipped: the status stays paid)'
);
-- One open card attempt per order: the second starts once the first is captured.
CREATE TEMP TABLE s1 AS SELECT pg_temp.card((SELECT split FROM o), 6000) AS id;
UPDATE shop.payments SET status = 'authorized' WHERE id = (SELECT id FROM s1);
UPDATE shop.payments SET status = 'captured', captured_amount = amount WHERE id = (SELECT id FROM s1);
CREATE TEMP TABLE s2 AS SELECT pg_temp.card((SELECT split FROM o), 4000) AS id;
UPDATE shop.payments SET status = 'authorized' WHERE id = (SELECT id FROM s2);
SELECT is(
    (SELECT array[status, payment_status, paid_amount::text, (paid_at IS NULL)::text] FROM shop.orders WHERE id = (SELECT split FROM o)),
    array['pending_payment', 'partially_paid', '6000', 'true'],
    'one of two payments captured: partially_paid, still pending_payment'
);
UPDATE shop.payments SET status = 'captured', captured_amount = amount WHERE id = (SELECT id FROM s2);
SELECT is(
    (SELECT array[status, payment_status, paid_amount::text, (paid_at IS NOT NULL)::text] FROM shop.orders WHERE id = (SELECT split FROM o)),
    array['paid', 'paid', '10000', 'true'],
    'captured payments cover the total: the order is paid'
);
SELECT is(
    (SELECT array_agg(e.type ORDER BY e.type) FROM integration.events AS e
     WHERE e.subject_id IN ((SELECT split FROM o), (SELECT id FROM s1), (SELECT id FROM s2))),
    array['order.paid', 'payment.captured', 'payment.captured'],
    'payment.captured per capture and order.paid once, in the same transaction'
);

-- == card attempts (api.create_payment) ==============================================================
SELECT pg_temp.as_customer('c2500000-0000-4000-8000-000000000001');
CREATE TEMP TABLE a1 AS SELECT api.create_payment(jsonb_build_object('id', (SELECT api FROM o), 'provider', 'card'), '{}') AS r;
CREATE TEMP TABLE a2 AS SELECT api.create_payment(jsonb_build_object('id', (SELECT api FROM o), 'provider', 'card'), '{}') AS r;
SELECT is(
    (SELECT array[r #>> '{payment,status}', r #>> '{payment,amount,amount}', r #>> '{payment,provider}'] FROM a1),
    array['pending', '5000', 'card'], 'a card attempt: pending, for what is due'
);
SELECT is((SELECT r #>> '{payment,id}' FROM a2), (SELECT r #>> '{payment,id}' FROM a1), 'asking again resumes the open attempt');
SELECT throws_ok(
    format('SELECT api.create_payment(%L, %L)', jsonb_build_object('id', (SELECT api FROM o), 'provider', 'manual'), '{}'),
    'PT422', 'validation_failed', 'only card is paid online'
);
SELECT pg_temp.as_customer('c2500000-0000-4000-8000-000000000002');
SELECT throws_ok(
    format('SELECT api.create_payment(%L, %L)', jsonb_build_object('id', (SELECT api FROM o), 'provider', 'card'), '{}'),
    'PT404', 'order_not_found', 'another customer''s order is unknown'
);
SELECT pg_temp.back();
SELECT throws_ok(
    format('SELECT api.create_payment(%L, %L)', jsonb_build_object('id', (SELECT split FROM o), 'provider', 'card'), '{}'),
    'PT404', 'order_not_found', 'without a customer: no order of its own'
);

-- A guest pays the order of the cart whose token it holds (the layer passes the token's sha256).
SELECT set_config('role', 'postcart_anon', TRUE);
SELECT is(
    api.create_payment(
        jsonb_build_object('id', (SELECT guest FROM o), 'provider', 'card'),
        jsonb_build_object('cart_token_sha256', encode(sha256('tst25-token'::bytea), 'hex'))
    ) #>> '{payment,amount,amount}',
    '2000', 'a guest with its cart''s token starts paying its order'
);
SELECT throws_ok(
    format('SELECT api.create_payment(%L, %L)', jsonb_build_object('id', (SELECT guest FROM o), 'provider', 'card'),
           jsonb_build_object('cart_token_sha256', encode(sha256('another'::bytea), 'hex'))),
    'PT404', 'order_not_found', 'another token: no such order'
);
SELECT pg_temp.back();

-- == what the provider reports (postcart_gateway) ====================================================
CREATE TEMP TABLE ap AS SELECT (r #>> '{payment,id}')::uuid AS id FROM a1;
GRANT SELECT ON ap TO PUBLIC;
SET LOCAL ROLE postcart_gateway;
SELECT is(
    shop.card_intent_created((SELECT id FROM ap), '{"id": "pi_tst25", "status": "requires_payment_method"}') ->> 'provider_reference',
    'pi_tst25', 'the PaymentIntent id is stored'
);
SELECT throws_ok(
    format('SELECT shop.card_intent_created(%L, %L)', (SELECT id FROM ap), '{"id": "pi_other", "status": "succeeded"}'),
    'PT409', 'provider_reference_mismatch', 'another PaymentIntent for the same attempt is refused'
);
SELECT is(
    shop.apply_card_event(pg_temp.event('evt_1', 'payment_intent.succeeded', 'pi_tst25', 'succeeded', 5000)) ->> 'outcome',
    'applied', 'payment_intent.succeeded applies'
);
SELECT is(
    shop.apply_card_event(pg_temp.event('evt_1', 'payment_intent.succeeded', 'pi_tst25', 'succeeded', 5000)) ->> 'duplicate',
    'true', 'the same event id again is a duplicate'
);
SELECT is(
    shop.apply_card_event(pg_temp.event('evt_2', 'payment_intent.canceled', 'pi_tst25', 'canceled')) ->> 'outcome',
    'ignored', 'a late canceled after the capture changes nothing'
);
SELECT is(
    shop.apply_card_event(pg_temp.event('evt_3', 'payment_intent.succeeded', 'pi_unknown', 'succeeded', 5)) ->> 'outcome',
    'unknown', 'an event about no payment of ours is recorded as unknown'
);
RESET ROLE;
SELECT is(
    (SELECT array[p.status, p.captured_amount::text, o.status, o.payment_status]
     FROM shop.payments AS p JOIN shop.orders AS o ON o.id = p.order_id WHERE p.id = (SELECT id FROM ap)),
    array['captured', '5000', 'paid', 'paid'], 'captured once; the order is paid'
);
SELECT is(
    (SELECT count(*)::integer FROM integration.provider_events WHERE event_id IN ('evt_1', 'evt_2', 'evt_3')), 3,
    'one row per provider event'
);
SELECT is(
    pg_temp.error_of($$INSERT INTO integration.provider_events (provider, event_id, type, outcome) VALUES ('card', 'evt_1', 'x', 'applied')$$),
    '23505 duplicate key value violates unique constraint "provider_events_pkey"', 'provider event ids are unique'
);
SELECT is(
    (SELECT count(*)::integer FROM integration.events WHERE type = 'payment.captured' AND subject_id = (SELECT id FROM ap)), 1,
    'payment.captured written once despite the duplicate'
);

-- == refunds =========================================================================================
CREATE TEMP TABLE rp AS SELECT pg_temp.card((SELECT refunds FROM o), 10000) AS id;
GRANT SELECT ON rp TO PUBLIC;
UPDATE shop.payments SET status = 'authorized' WHERE id = (SELECT id FROM rp);
UPDATE shop.payments SET status = 'captured', captured_amount = 10000, provider_reference = 'pi_tst25_r' WHERE id = (SELECT id FROM rp);
SELECT pg_temp.as_manager();
CREATE TEMP TABLE r1 AS SELECT api.admin_create_refund(jsonb_build_object('id', (SELECT refunds FROM o), 'amount', 3000, 'reason', 'damaged')) AS r;
CREATE TEMP TABLE r2 AS SELECT api.admin_create_refund(jsonb_build_object('id', (SELECT refunds FROM o), 'amount', 3000)) AS r;
CREATE TEMP TABLE r3 AS SELECT api.admin_create_refund(jsonb_build_object('id', (SELECT refunds FROM o), 'amount', 3000)) AS r;
GRANT SELECT ON r1, r2, r3 TO PUBLIC;
SELECT throws_ok(
    format('SELECT api.admin_create_refund(%L)', jsonb_build_object('id', (SELECT refunds FROM o), 'amount', 3000)),
    'PT409', 'refund_exceeds_captured', 'three refunds of 3000 in flight: a fourth exceeds what was captured'
);
SELECT throws_ok(
    format('SELECT api.admin_create_refund(%L)', jsonb_build_object('id', (SELECT refunds FROM o), 'amount', 0)),
    'PT422', 'validation_failed', 'a refund of nothing is refused'
);
SELECT pg_temp.back();
SELECT is(
    (SELECT array[status, refunding_amount::text, refunded_amount::text] FROM shop.payments WHERE id = (SELECT id FROM rp)),
    array['captured', '9000', '0'], 'pending card refunds are reserved on the payment'
);
SELECT is(
    pg_temp.error_of(format('UPDATE shop.payments SET refunding_amount = 11000 WHERE id = %L', (SELECT id FROM rp))),
    '23514 new row for relation "payments" violates check constraint "payments_refunding_amount_check"',
    'refunded + refunding never exceeds captured, even from plain SQL'
);
SET LOCAL ROLE postcart_gateway;
SELECT is(
    shop.refund_answered((SELECT (r #>> '{refund,id}')::uuid FROM r1), TRUE, 're_1', NULL) #>> '{order,payment_status}',
    'partially_refunded', 'a refund the provider made: the order is partially refunded'
);
SELECT is(
    shop.refund_answered((SELECT (r #>> '{refund,id}')::uuid FROM r2), FALSE, NULL, 'charge_disputed') ->> 'status',
    'failed', 'a refund the provider refused fails'
);
SELECT is(
    shop.refund_answered((SELECT (r #>> '{refund,id}')::uuid FROM r1), FALSE, NULL, 'late') ->> 'status',
    'succeeded', 'a refund answered twice keeps its first answer'
);
RESET ROLE;
SELECT is(
    (SELECT array[status, refunding_amount::text, refunded_amount::text] FROM shop.payments WHERE id = (SELECT id FROM rp)),
    array['partially_refunded', '3000', '3000'], 'succeeded moved to refunded, refused released, one still in flight'
);
SELECT is(
    (SELECT array_agg(e.payload #>> '{amount,amount}') FROM integration.events AS e
     WHERE e.type = 'payment.refunded' AND e.subject_id = (SELECT id FROM rp)),
    array['3000'], 'payment.refunded written for the refund made'
);
-- A manual payment is refunded by record.
SELECT pg_temp.as_manager();
SELECT is(
    api.admin_record_payment(jsonb_build_object('id', (SELECT manual FROM o), 'amount', 4000)) ->> 'payment_status',
    'paid', 'a manual payment through the same trigger: paid'
);
SELECT is(
    api.admin_create_refund(jsonb_build_object('id', (SELECT manual FROM o), 'amount', 4000, 'reason', 'goodwill'))
        #>> '{refund,status}',
    'succeeded', 'a manual payment''s refund is recorded at once'
);
SELECT pg_temp.back();
SELECT is(
    (SELECT array[p.status, o.payment_status, o.refunded_amount::text]
     FROM shop.payments AS p JOIN shop.orders AS o ON o.id = p.order_id WHERE p.order_id = (SELECT manual FROM o)),
    array['refunded', 'refunded', '4000'], 'the manual payment and its order are refunded'
);

-- == grants ==========================================================================================
SELECT is(
    ARRAY(
        SELECT p.oid::regprocedure::text
        FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
        WHERE n.nspname IN ('api', 'shop', 'auth', 'audit', 'integration', 'reporting')
          AND has_function_privilege('postcart_gateway', p.oid, 'EXECUTE')
          AND NOT has_function_privilege('postcart_anon', p.oid, 'EXECUTE')
        ORDER BY 1
    ),
    ARRAY['shop.apply_card_event(jsonb)', 'shop.card_intent_created(uuid,jsonb)', 'shop.card_intent_refused(uuid,text)',
          'shop.card_payments_to_void(integer)', 'shop.refund_answered(uuid,boolean,text,text)'],
    'postcart_gateway runs the provider functions, and only it (beyond what everyone may)'
);
SELECT ok(
    NOT has_function_privilege('postcart_customer', 'shop.apply_card_event(jsonb)', 'EXECUTE')
    AND NOT has_function_privilege('order_manager', 'shop.refund_answered(uuid,boolean,text,text)', 'EXECUTE'),
    'no client role may report a provider''s answer'
);
SELECT ok(
    NOT has_table_privilege('postcart_gateway', 'shop.payments', 'UPDATE')
    AND NOT has_table_privilege('postcart_gateway', 'integration.provider_events', 'INSERT'),
    'postcart_gateway has no table privilege'
);
SELECT ok(
    has_function_privilege('postcart_customer', 'api.create_payment(jsonb,jsonb)', 'EXECUTE')
    AND NOT has_function_privilege('postcart_customer', 'api.admin_create_refund(jsonb)', 'EXECUTE')
    AND has_function_privilege('order_manager', 'api.admin_create_refund(jsonb)', 'EXECUTE'),
    'customers pay, order managers refund'
);

SELECT * FROM finish();
ROLLBACK;
