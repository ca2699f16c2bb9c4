-- Cross-cutting guards: RLS on every table that holds data, the customer sign-up report, and
-- idempotency keys scoped to their caller.
BEGIN;
SELECT plan(19);

SELECT is(
    ARRAY(
        SELECT format('%I.%I', n.nspname, c.relname)
        FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE n.nspname IN ('shop', 'auth', 'audit', 'integration') AND c.relkind IN ('r', 'p')
          AND NOT (c.relrowsecurity AND c.relforcerowsecurity)
        ORDER BY 1
    ),
    -- The catalog's read model holds no customer or staff data; forced RLS would hide its column
    -- statistics from the planner (migration 0035). Only its owner and staff may read it.
    ARRAY['shop.product_listing_prices', 'shop.product_listings'],
    'every table in shop, auth, audit and integration has RLS enabled and forced, but the read model''s two'
);
SELECT ok(
    (SELECT bool_and(c.relrowsecurity AND NOT c.relforcerowsecurity) FROM pg_class AS c
     WHERE c.oid IN ('shop.product_listings'::regclass, 'shop.product_listing_prices'::regclass))
    AND NOT has_table_privilege('postcart_anon', 'shop.product_listings', 'SELECT')
    AND NOT has_table_privilege('postcart_customer', 'shop.product_listing_prices', 'SELECT'),
    'the read model keeps RLS enabled (staff go through it) and storefront roles cannot read it at all'
);
SELECT policies_are('integration', 'idempotency_keys', ARRAY['owner_all'], 'idempotency keys: owner policy only');

-- SECURITY DEFINER only with a pinned search_path, and no function of ours is executable by PUBLIC.
SELECT is(
    ARRAY(
        SELECT p.oid::regprocedure::text
        FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
        WHERE n.nspname IN ('api', 'shop', 'auth', 'audit', 'integration', 'reporting') AND p.prosecdef
          AND NOT coalesce(p.proconfig::text[] && ARRAY['search_path=pg_catalog, extensions, pg_temp',
                                                       'search_path=pg_catalog, pg_temp'], FALSE)
        ORDER BY 1
    ),
    ARRAY[]::text[],
    'every SECURITY DEFINER function pins its search_path'
);
SELECT is(
    ARRAY(
        SELECT p.oid::regprocedure::text
        FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
        WHERE n.nspname IN ('api', 'shop', 'auth', 'audit', 'integration', 'reporting')
          AND has_function_privilege('public', p.oid, 'EXECUTE')
        ORDER BY 1
    ),
    ARRAY[]::text[],
    'no function of ours is executable by PUBLIC: every grant is explicit'
);
SELECT is(
    ARRAY(
        SELECT p.oid::regprocedure::text
        FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
        WHERE n.nspname IN ('api', 'shop', 'auth', 'integration') AND obj_description(p.oid, 'pg_proc') IS NULL
        ORDER BY 1
    ),
    ARRAY[]::text[],
    'every function says in a COMMENT what it does and returns'
);
SELECT is(
    ARRAY(
        SELECT c.oid::regclass::text
        FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE n.nspname IN ('shop', 'auth', 'integration', 'reporting') AND c.relkind IN ('r', 'v', 'm')
          AND obj_description(c.oid, 'pg_class') IS NULL
        ORDER BY 1
    ),
    ARRAY[]::text[],
    'every table and view has a COMMENT'
);

-- The sign-up report counts customers, not staff, and shows no personal data.
SELECT lives_ok(
    $$SELECT api.register(
        jsonb_build_object('email', 'report-test@example.com', 'full_name', 'Report Test'),
        jsonb_build_object('password_hash',
                           '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g')
    )$$,
    'a customer registers'
);
SET LOCAL ROLE postcart_analyst;
SELECT ok(
    (SELECT signups >= 1 FROM reporting.customer_signups WHERE month = date_trunc('month', now() AT TIME ZONE 'UTC')::date),
    'the analyst sees this month''s sign-ups'
);
SELECT columns_are('reporting', 'customer_signups', ARRAY['month', 'signups', 'customers_to_date'],
                   'the sign-up report has no personal columns');
SELECT throws_ok('SELECT count(*) FROM auth.accounts', '42501', NULL, 'the analyst cannot read accounts');
RESET ROLE;

-- Idempotency keys: a new key claims, a saved response replays, a changed request is refused.
SET LOCAL ROLE postcart_anon;
SELECT set_config('request.claims', '{}', TRUE);
SELECT is(integration.claim_idempotency_key('k-1', '\x01', 'cart:a'), NULL, 'a new key is claimed (NULL: run the request)');
SELECT lives_ok(
    $$SELECT integration.save_idempotent_response('k-1', 'cart:a', 201, '{"ok": true}')$$, 'the response is saved'
);
SELECT is(
    integration.claim_idempotency_key('k-1', '\x01', 'cart:a'), '{"status": 201, "body": {"ok": true}}'::jsonb,
    'the same key and request replay the first response'
);
SELECT throws_ok(
    $$SELECT integration.claim_idempotency_key('k-1', '\x02', 'cart:a')$$, 'PT422', 'idempotency_key_reused',
    'the same key with another request is refused'
);
SELECT is(
    integration.claim_idempotency_key('k-1', '\x02', 'cart:b'), NULL,
    'another anonymous client''s key of the same name is its own: no replay, no refusal'
);
SELECT throws_ok('SELECT * FROM integration.idempotency_keys', '42501', NULL, 'callers cannot read stored responses');
RESET ROLE;
SET LOCAL ROLE postcart_customer;
SELECT set_config('request.claims', '{"sub": "00000000-0000-0000-0000-000000000001", "kind": "customer"}', TRUE);
SELECT is(
    integration.claim_idempotency_key('k-1', '\x02', 'cart:a'), NULL,
    'a signed-in caller''s keys are its account''s: the anonymous scope is ignored'
);
RESET ROLE;

-- The authenticator's bind parameters never reach PostgreSQL's log (migration 0006; needs a superuser).
SELECT ok(
    NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) OR EXISTS (
        SELECT FROM pg_db_role_setting AS s
        INNER JOIN pg_roles AS r ON s.setrole = r.oid
        WHERE r.rolname = 'postcart_authenticator'
            AND 'log_parameter_max_length=0' = ANY(s.setconfig)
            AND 'log_parameter_max_length_on_error=0' = ANY(s.setconfig)
    ),
    'postcart_authenticator logs no bind parameters'
);

SELECT * FROM finish();
ROLLBACK;
