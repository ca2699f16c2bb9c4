-- The outbox's retention (integration.sweep_events): events dispatched more than 30 days ago go, oldest
-- first, a batch at a time, with their deliveries and attempts; an event with a delivery still pending
-- stays however old, and so does every undispatched event.
BEGIN;
SELECT plan(13);

DELETE FROM integration.events;

INSERT INTO integration.webhook_subscriptions (id, url, event_types)
VALUES ('00000000-0000-4000-8000-0000000000a1', 'https://hooks.example.com/a', '{*}');
INSERT INTO integration.events (id, type, subject_id, payload, created_at, dispatched_at)
VALUES
('00000000-0000-4000-8000-000000000001', 'order.created', gen_random_uuid(), '{}', now() - INTERVAL '31 days',
 now() - INTERVAL '31 days'),
('00000000-0000-4000-8000-000000000002', 'order.created', gen_random_uuid(), '{}', now() - INTERVAL '40 days',
 now() - INTERVAL '40 days'),
('00000000-0000-4000-8000-000000000003', 'order.paid', gen_random_uuid(), '{}', now() - INTERVAL '35 days',
 now() - INTERVAL '35 days'),
('00000000-0000-4000-8000-000000000004', 'order.paid', gen_random_uuid(), '{}', now() - INTERVAL '29 days',
 now() - INTERVAL '29 days'),
('00000000-0000-4000-8000-000000000005', 'order.paid', gen_random_uuid(), '{}', now() - INTERVAL '60 days', NULL),
('00000000-0000-4000-8000-000000000006', 'order.created', gen_random_uuid(), '{}', now() - INTERVAL '50 days',
 now() - INTERVAL '50 days');
-- event 6: its order confirmation is still pending (the mail server was down).
INSERT INTO integration.mails (kind, event_id, to_email, next_attempt_at)
VALUES ('order_confirmation', '00000000-0000-4000-8000-000000000006', 'late@example.com', now() + INTERVAL '1 hour');
INSERT INTO integration.webhook_deliveries (id, subscription_id, event_id, status, attempts, next_attempt_at,
    delivered_at)
VALUES
-- event 1: delivered; event 2: still pending (a retry due); event 4: delivered, but recent.
('00000000-0000-4000-8000-0000000000d1', '00000000-0000-4000-8000-0000000000a1',
 '00000000-0000-4000-8000-000000000001', 'delivered', 1, NULL, now() - INTERVAL '31 days'),
('00000000-0000-4000-8000-0000000000d2', '00000000-0000-4000-8000-0000000000a1',
 '00000000-0000-4000-8000-000000000002', 'pending', 3, now() + INTERVAL '1 hour', NULL),
('00000000-0000-4000-8000-0000000000d4', '00000000-0000-4000-8000-0000000000a1',
 '00000000-0000-4000-8000-000000000004', 'delivered', 1, NULL, now() - INTERVAL '29 days');
INSERT INTO integration.webhook_attempts (delivery_id, attempt, attempted_at, duration_ms, response_status)
VALUES ('00000000-0000-4000-8000-0000000000d1', 1, now() - INTERVAL '31 days', 12, 204);

SET LOCAL ROLE postcart_worker;
SELECT is(integration.sweep_events(1), 1, 'a batch of 1 deletes one event');
RESET ROLE;
SELECT ok(
    NOT EXISTS (SELECT FROM integration.events WHERE id = '00000000-0000-4000-8000-000000000003'),
    'the oldest eligible went first (35 days; the pending one at 40 days is skipped)'
);
SET LOCAL ROLE postcart_worker;
SELECT is(integration.sweep_events(10), 1, 'a larger batch deletes the other old, finished event');
SELECT is(integration.sweep_events(), 0, 'then nothing is left to delete');
RESET ROLE;
SELECT is(
    ARRAY(SELECT right(id::text, 1) FROM integration.events ORDER BY id), ARRAY['2', '4', '5', '6'],
    'kept: the old events with a pending delivery or mail, the recent one, the undispatched one'
);
SELECT ok(
    NOT EXISTS (SELECT FROM integration.webhook_deliveries WHERE id = '00000000-0000-4000-8000-0000000000d1')
    AND NOT EXISTS (SELECT FROM integration.webhook_attempts WHERE delivery_id = '00000000-0000-4000-8000-0000000000d1'),
    'the deleted event''s delivery and its attempts went with it'
);
SELECT is(
    (SELECT count(*)::integer FROM integration.webhook_deliveries), 2, 'the other deliveries stay'
);

-- Once the last attempt fails, the pending delivery is dead and its event may go.
UPDATE integration.webhook_deliveries SET status = 'dead', next_attempt_at = NULL
WHERE id = '00000000-0000-4000-8000-0000000000d2';
SET LOCAL ROLE postcart_worker;
SELECT is(integration.sweep_events(), 1, 'an old event whose delivery is dead goes');
RESET ROLE;
UPDATE integration.mails SET status = 'dead', next_attempt_at = NULL
WHERE event_id = '00000000-0000-4000-8000-000000000006';
SET LOCAL ROLE postcart_worker;
SELECT is(integration.sweep_events(), 1, 'and so does one whose mail is dead, its mail with it');
SELECT throws_ok(
    'SELECT integration.sweep_events(0)', 'PT422', NULL, 'a batch of 0 is refused'
);
SELECT throws_ok(
    'DELETE FROM integration.events', '42501', NULL, 'the worker cannot delete events itself'
);
RESET ROLE;
SET LOCAL ROLE store_admin;
SELECT throws_ok('SELECT integration.sweep_events()', '42501', NULL, 'staff cannot run the sweep');
RESET ROLE;
SELECT has_index(
    'integration', 'events', 'events_dispatched_at_idx', 'dispatched events are indexed by when they went out'
);

SELECT * FROM finish();
ROLLBACK;
