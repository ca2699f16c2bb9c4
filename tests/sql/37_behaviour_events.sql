-- Behaviour events (docs/events.md): api.record_events validates a batch whole and records all or nothing,
-- with the account from the session; the monthly partitions are made ahead, on demand and dropped after the
-- retention; nobody but the owner reads the events; the funnel and search reports count a small fixture.
BEGIN;
SELECT plan(26);

-- == validation ========================================================================================
SET LOCAL ROLE postcart_anon;
SELECT throws_ok(
    $$SELECT api.record_events('{"events": []}')$$, 'PT422', 'validation_failed', 'an empty batch is refused'
);
SELECT throws_ok(
    format($$SELECT api.record_events('{"events": %s}')$$,
           (SELECT jsonb_agg('{"type": "page_view", "session_id": "s"}'::jsonb) FROM generate_series(1, 101))),
    'PT422', 'validation_failed', '101 events are refused'
);
SELECT throws_like(
    $$SELECT api.record_events('{"events": [{"type": "page_view", "session_id": "s"},
                                            {"type": "buy", "session_id": "s"}]}')$$,
    'validation_failed', 'a bad type is refused'
);
RESET ROLE;

CREATE FUNCTION pg_temp.fields(p_args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    PERFORM api.record_events(p_args);
    RETURN NULL;
EXCEPTION WHEN SQLSTATE 'PT422' THEN
    DECLARE detail text;
    BEGIN
        GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
        RETURN detail::jsonb -> 'fields';
    END;
END
$$;
SET LOCAL ROLE postcart_anon;
SELECT is(
    pg_temp.fields('{"events": [{"type": "page_view", "session_id": "s"}, {"type": "buy", "session_id": "s"}]}'),
    '{"events[1].type": "must be page_view, product_view, add_to_cart, checkout_started or search"}',
    'details.fields names the bad event by its index'
);
SELECT is(
    pg_temp.fields(format('{"events": [{"type": "product_view", "session_id": "s", "product_id": "%s"}]}',
                          gen_random_uuid())::jsonb),
    '{"events[0].product_id": "is not a known product"}', 'an unknown product is named'
);
SELECT is(
    pg_temp.fields(jsonb_build_object('events', jsonb_build_array(
        jsonb_build_object('type', 'page_view', 'session_id', 's', 'occurred_at', now() + INTERVAL '10 minutes'),
        jsonb_build_object('type', 'page_view', 'session_id', 's', 'occurred_at', now() - INTERVAL '8 days'),
        jsonb_build_object('type', 'page_view', 'session_id', 's', 'occurred_at', '2026-02-30T00:00:00Z'),
        jsonb_build_object('type', 'page_view', 'session_id', repeat('x', 101)),
        jsonb_build_object('type', 'product_view', 'session_id', 's'),
        jsonb_build_object('type', 'page_view', 'session_id', 's', 'query', 'shoes')
    ))) ?& ARRAY['events[0].occurred_at', 'events[1].occurred_at', 'events[2].occurred_at',
                 'events[3].session_id', 'events[4].product_id', 'events[5].query'],
    TRUE, 'times out of range or malformed, long sessions, missing products and stray queries are named'
);
SELECT is(
    pg_temp.fields(jsonb_build_object('events', jsonb_build_array(
        jsonb_build_object('type', 'page_view', 'session_id', 's', 'occurred_at', now() + INTERVAL '4 minutes')
    ))),
    NULL, 'a client clock up to 5 minutes ahead is accepted'
);
RESET ROLE;
SELECT is(
    (SELECT count(*) FROM shop.behaviour_events WHERE session_id = 's' AND occurred_at > now()),
    1::bigint, 'only the accepted batch was stored: a refused batch stores nothing'
);

-- == the account comes from the session ================================================================
INSERT INTO auth.accounts (id, email, full_name)
VALUES ('00000000-0000-4000-8000-0000000037c1', 't37@example.com', 'T');
DO $$ BEGIN
    PERFORM set_config('request.claims', '{"sub": "00000000-0000-4000-8000-0000000037c1", "kind": "customer"}', TRUE);
END $$;
SET LOCAL ROLE postcart_customer;
SELECT is(
    api.record_events(format('{"events": [{"type": "search", "session_id": "t37-acc", "query": "  Blue   Hat ",
                                           "account_id": "%s"}]}', gen_random_uuid())::jsonb),
    '{"accepted": 1}', 'a signed-in customer''s batch is accepted'
);
RESET ROLE;
SELECT is(
    (SELECT account_id::text || ' ' || query FROM shop.behaviour_events WHERE session_id = 't37-acc'),
    '00000000-0000-4000-8000-0000000037c1 blue hat',
    'with the session''s account (not the body''s) and the query normalised'
);
DO $$ BEGIN PERFORM set_config('request.claims', '', TRUE); END $$;

-- == nobody reads the events ===========================================================================
SET LOCAL ROLE postcart_anon;
SELECT throws_ok('SELECT count(*) FROM shop.behaviour_events', '42501', NULL, 'anonymous callers cannot read events');
SELECT throws_ok(
    'INSERT INTO shop.behaviour_events (occurred_at, type, session_id) VALUES (now(), ''page_view'', ''x'')',
    '42501', NULL, 'nor write them but through api.record_events'
);
RESET ROLE;
SET LOCAL ROLE postcart_customer;
SELECT throws_ok('SELECT count(*) FROM shop.behaviour_events', '42501', NULL, 'customers cannot read events');
RESET ROLE;
SELECT ok(
    NOT has_table_privilege('postcart_analyst', 'shop.behaviour_events', 'SELECT')
    AND has_table_privilege('postcart_analyst', 'reporting.conversion_funnel_daily', 'SELECT')
    AND has_table_privilege('postcart_analyst', 'reporting.search_terms_without_results', 'SELECT'),
    'analysts read the reports, not the events'
);
SELECT is_empty(
    $$SELECT c.relname FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'shop.behaviour_events'::regclass AND NOT (c.relrowsecurity AND c.relforcerowsecurity)$$,
    'every partition has RLS enabled and forced'
);

-- == partitions ========================================================================================
CREATE TEMP VIEW months AS
SELECT to_date(right(c.relname, 7), 'YYYY"m"MM') AS month
FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
WHERE i.inhparent = 'shop.behaviour_events'::regclass;
GRANT SELECT ON months TO postcart_worker;

SET LOCAL ROLE postcart_worker;
SELECT lives_ok('SELECT shop.maintain_event_partitions(100)', 'the worker maintains the partitions');
SELECT set_has(
    'SELECT month FROM months',
    $$SELECT (date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => i))::date
      FROM generate_series(0, 2) AS i$$,
    'the current month and the next two have partitions'
);
SELECT is(shop.maintain_event_partitions(100), 0, 'a second run has nothing to do');
RESET ROLE;

-- An old month (made on demand, as for a late event), then the retention lowered to 2 months.
SELECT lives_ok(
    $$SELECT shop.behaviour_event_partition(now() - INTERVAL '5 months')$$, 'a missing month is made on demand'
);
DO $$ BEGIN PERFORM shop.behaviour_event_partition(now() - INTERVAL '1 month'); END $$;
INSERT INTO shop.behaviour_events (occurred_at, type, session_id)
VALUES (now() - INTERVAL '5 months', 'page_view', 't37-old');
UPDATE shop.behaviour_event_settings SET retention_months = 2;
SET LOCAL ROLE postcart_worker;
SELECT cmp_ok(shop.maintain_event_partitions(100), '>=', 1, 'the run drops partitions past the retention');
RESET ROLE;
SELECT is_empty(
    $$SELECT month FROM months WHERE month < (date_trunc('month', now() AT TIME ZONE 'UTC') - INTERVAL '2 months')$$,
    'no partition older than the retention is left'
);
SELECT is(
    (SELECT count(*) FROM shop.behaviour_events WHERE session_id = 't37-old'), 0::bigint, 'with its events'
);
SELECT set_has(
    'SELECT month FROM months',
    $$SELECT (date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => i))::date
      FROM generate_series(-1, 2) AS i$$,
    'the previous month (inside the retention), the current one and those ahead are kept'
);

-- == the reports on a small fixture ======================================================================
-- A day with no orders, 20 days ago: three sessions browse, two view a product, one adds to a cart and
-- starts a checkout. Searches: "zzq37 gizmo" twice without results, once with; "ada@example.com" left out.
DO $$ BEGIN PERFORM shop.behaviour_event_partition(now() - INTERVAL '20 days'); END $$;
INSERT INTO shop.behaviour_events (occurred_at, type, source, session_id, product_id, query, result_count)
SELECT
    date_trunc('day', now() - INTERVAL '20 days') + INTERVAL '12 hours', v.type, v.source, v.session_id, NULL,
    v.query, v.results
FROM (VALUES
    ('page_view', 'client', 'f1', NULL, NULL::integer), ('page_view', 'client', 'f2', NULL, NULL),
    ('page_view', 'client', 'f3', NULL, NULL), ('product_view', 'client', 'f1', NULL, NULL),
    ('product_view', 'client', 'f1', NULL, NULL), ('product_view', 'client', 'f2', NULL, NULL),
    ('add_to_cart', 'client', 'f1', NULL, NULL), ('checkout_started', 'client', 'f1', NULL, NULL),
    ('search', 'server', 'f1', 'zzq37 gizmo', 0), ('search', 'server', 'f2', 'zzq37 gizmo', 0),
    ('search', 'server', NULL, 'zzq37 gizmo', 4), ('search', 'server', 'f3', 'ada@example.com', 0)
) AS v (type, source, session_id, query, results);
REFRESH MATERIALIZED VIEW reporting.conversion_funnel_daily;
REFRESH MATERIALIZED VIEW reporting.search_terms_without_results;
SELECT is(
    (SELECT row(sessions, product_views, add_to_carts, checkouts, orders, conversion_rate)::text
     FROM reporting.conversion_funnel_daily WHERE day = (now() - INTERVAL '20 days')::date),
    row(3, 2, 1, 1, (SELECT count(*) FROM shop.orders
                     WHERE (created_at AT TIME ZONE 'UTC')::date = (now() - INTERVAL '20 days')::date),
        round((SELECT count(*) FROM shop.orders
               WHERE (created_at AT TIME ZONE 'UTC')::date = (now() - INTERVAL '20 days')::date) / 3.0, 4))::text,
    'the funnel counts sessions per step and the day''s orders'
);
SELECT is(
    (SELECT row(searches, sessions, last_found_at IS NOT NULL)::text
     FROM reporting.search_terms_without_results WHERE term = 'zzq37 gizmo'),
    '(2,2,t)', 'a term that found nothing twice (and something once) is listed'
);
SELECT is_empty(
    $$SELECT term FROM reporting.search_terms_without_results WHERE term LIKE '%@%'$$,
    'what looks like an e-mail address is never listed'
);

SELECT * FROM finish();
ROLLBACK;
