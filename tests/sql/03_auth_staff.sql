-- Staff accounts: create_staff makes a per-member role the pool can switch into, holding the requested
-- permission roles; DBAs grant and revoke them; unknown roles are refused.
BEGIN;
SELECT plan(22);

SET LOCAL ROLE postcart_dba;
CREATE TEMP TABLE staff AS
SELECT auth.create_staff(
    'Sam@Example.com', 'a long staff password', '$argon2id$v=19$x', 'Sam Staff',
    ARRAY['catalog_manager', 'order_manager', 'catalog_manager']
) AS body;
GRANT SELECT ON staff TO PUBLIC;
RESET ROLE;

CREATE TEMP TABLE member AS
SELECT a.id, a.db_role::text AS db_role FROM auth.accounts AS a WHERE a.email = 'sam@example.com';
GRANT SELECT ON member TO PUBLIC;

SELECT is(
    (SELECT body FROM staff),
    (SELECT jsonb_build_object('staff', jsonb_build_object(
        'id', id, 'email', 'Sam@Example.com', 'full_name', 'Sam Staff',
        'roles', jsonb_build_array('catalog_manager', 'order_manager')
    )) FROM member),
    'create_staff returns the member with its permission roles, once each'
);
SELECT is(
    (SELECT db_role FROM member),
    (SELECT 'postcart_staff_' || left(replace(id::text, '-', ''), 12) FROM member),
    'the member''s role is postcart_staff_ and 12 hex characters of its id'
);
SELECT has_role((SELECT db_role FROM member)::name, 'the member''s role exists');
SELECT ok(
    (SELECT NOT r.rolcanlogin AND r.rolinherit AND NOT r.rolsuper AND NOT r.rolbypassrls AND NOT r.rolcreaterole
     FROM pg_roles AS r WHERE r.rolname = (SELECT db_role FROM member)),
    'it cannot log in, inherits its grants and has no special attributes'
);
SELECT is_member_of('postcart_staff', (SELECT db_role FROM member)::name, 'it is a member of postcart_staff');
SELECT is_member_of('catalog_manager', (SELECT db_role FROM member)::name, 'it has catalog_manager');
SELECT is_member_of('order_manager', (SELECT db_role FROM member)::name, 'it has order_manager');
SELECT ok(
    NOT pg_has_role((SELECT db_role FROM member), 'store_admin', 'MEMBER'), 'it lacks roles it was not given'
);
SELECT is_member_of((SELECT db_role FROM member)::name, 'postcart_authenticator', 'the pool can become it');

-- The pool switches into the member's role and the member reads its profile
SET LOCAL ROLE postcart_authenticator;
SELECT is(
    auth.login_lookup('sam@example.com') ->> 'role', (SELECT db_role FROM member), 'login_lookup names its role'
);
SELECT set_config('role', (SELECT db_role FROM member), true), set_config('request.claims', jsonb_build_object(
    'sub', (SELECT id FROM member), 'role', (SELECT db_role FROM member), 'kind', 'staff'
)::text, true);
SELECT is(current_user::text, (SELECT db_role FROM member), 'the authenticator switched into the member''s role');
SELECT is(api.me('{}') ->> 'email', 'Sam@Example.com', 'a staff member reads its own profile');
SELECT throws_ok(
    $$SELECT api.create_staff('{"email": "eve@example.com"}')$$, '42501', NULL,
    'a member without store_admin cannot create staff'
);
RESET ROLE;

-- Refusals
SET LOCAL ROLE postcart_dba;
SELECT throws_ok(
    $$SELECT auth.create_staff('x@example.com', 'a long staff password', '$argon2id$x', 'X', ARRAY['postcart_owner'])$$,
    'PT422', 'unknown_role', 'an unknown permission role is rejected'
);
SELECT throws_ok(
    $$SELECT auth.create_staff('y@example.com', 'short', '$argon2id$x', 'Y', ARRAY['support_agent'])$$,
    'PT422', 'weak_password', 'staff passwords follow the same rule as customers'''
);
SELECT throws_ok(
    $$SELECT auth.create_staff('SAM@example.com', 'a long staff password', '$argon2id$x', 'Sam 2', NULL)$$,
    'PT409', 'email_taken', 'staff e-mails are unique case-insensitively'
);

-- Grant and revoke
SELECT is(
    auth.grant_staff_role('sam@example.com', 'store_admin') -> 'staff' -> 'roles',
    '["catalog_manager", "order_manager", "store_admin"]'::jsonb,
    'grant_staff_role adds a permission role'
);
SELECT is(
    auth.revoke_staff_role('sam@example.com', 'order_manager') -> 'staff' -> 'roles',
    '["catalog_manager", "store_admin"]'::jsonb,
    'revoke_staff_role takes one away'
);
SELECT throws_ok(
    $$SELECT auth.grant_staff_role('sam@example.com', 'pg_read_all_data')$$, 'PT422', 'unknown_role',
    'only permission roles can be granted'
);
SELECT throws_ok(
    $$SELECT auth.grant_staff_role('nobody@example.com', 'store_admin')$$, 'PT404', 'staff_not_found',
    'an unknown member is reported'
);
RESET ROLE;

-- Now a store_admin, the member creates another staff account through the API
SET LOCAL ROLE postcart_authenticator;
SELECT set_config('role', (SELECT db_role FROM member), true), set_config('request.claims', jsonb_build_object(
    'sub', (SELECT id FROM member), 'role', (SELECT db_role FROM member), 'kind', 'staff'
)::text, true);
SELECT is(
    (api.create_staff('{"email": "tia@example.com", "full_name": "Tia", "password": "another long password",
                        "password_hash": "$argon2id$y", "roles": ["support_agent"]}') -> 'staff') - 'id',
    '{"email": "tia@example.com", "full_name": "Tia", "roles": ["support_agent"]}'::jsonb,
    'a store_admin creates staff through api.create_staff'
);
SELECT throws_ok(
    $$SELECT api.create_staff('{"email": "u@example.com", "full_name": "U", "password": "another long password",
                                "password_hash": "$argon2id$y", "roles": "store_admin"}')$$,
    'PT422', 'validation_failed', 'roles must be an array'
);
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
