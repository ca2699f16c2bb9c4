-- Roles and schemas exist as DESIGN.md lists them, with the login and inheritance it prescribes.
BEGIN;
SELECT plan(20);

SELECT has_role(r, format('role %s exists', r))
FROM unnest(ARRAY[
    'postcart_owner', 'postcart_authenticator', 'postcart_anon', 'postcart_customer', 'postcart_staff',
    'catalog_manager', 'inventory_manager', 'order_manager', 'support_agent', 'store_admin',
    'postcart_analyst', 'postcart_dba'
]::name[]) AS r;

SELECT schemas_are(
    ARRAY['api', 'shop', 'auth', 'audit', 'integration', 'reporting', 'extensions', 'public', 'tap']::name[],
    'exactly the designed schemas exist'
);
SELECT is_member_of('postcart_anon', 'postcart_authenticator', 'the authenticator can become anon');
SELECT is_member_of('postcart_customer', 'postcart_authenticator', 'the authenticator can become a customer');
SELECT ok(
    (SELECT rolcanlogin AND NOT rolinherit FROM pg_roles WHERE rolname = 'postcart_authenticator'),
    'the authenticator logs in and does not inherit'
);
SELECT ok(
    (SELECT NOT (rolcanlogin OR rolsuper) FROM pg_roles WHERE rolname = 'postcart_owner'),
    'the owner cannot log in and is no superuser'
);
SELECT ok(
    (SELECT bool_and(NOT rolsuper AND NOT rolbypassrls) FROM pg_roles WHERE rolname LIKE 'postcart\_%'),
    'no application role is a superuser or bypasses RLS'
);
SELECT is(
    (SELECT array_agg(nspname::text ORDER BY nspname) FROM pg_namespace
     WHERE nspname IN ('api', 'shop', 'auth', 'audit', 'integration', 'reporting')
       AND pg_get_userbyid(nspowner) = 'postcart_owner'),
    ARRAY['api', 'audit', 'auth', 'integration', 'reporting', 'shop'],
    'postcart_owner owns the six application schemas'
);
SELECT ok(
    NOT has_schema_privilege('postcart_analyst', 'shop', 'USAGE')
    AND NOT has_schema_privilege('postcart_analyst', 'auth', 'USAGE'),
    'the analyst cannot even look into shop or auth'
);

SELECT * FROM finish();
ROLLBACK;
