-- Staff accounts: create_staff makes a per-member role the pool can switch into, holding the requested
-- permission roles; DBAs grant and revoke them; unknown roles are refused.
BEGIN;
SELECT plan(40);

CREATE FUNCTION pg_temp.error_detail(p_sql text)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    v_detail text;
BEGIN
    EXECUTE p_sql;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL;
    RETURN v_detail::jsonb;
END
$$;

SET LOCAL ROLE postcart_dba;
CREATE TEMP TABLE staff AS
SELECT auth.create_staff(
    'Sam@Example.com', '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g', 'Sam Staff',
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
        'roles', jsonb_build_array('catalog_manager', 'order_manager'),
        'active', TRUE, 'state', 'active', 'mfa_enabled', FALSE, 'deactivated_at', NULL,
        'created_at', (SELECT body -> 'staff' -> 'created_at' FROM staff)
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
    $$SELECT api.create_staff('{"email": "eve@example.com"}', '{}')$$, '42501', NULL,
    'a member without store_admin cannot create staff'
);
RESET ROLE;

-- Refusals
SET LOCAL ROLE postcart_dba;
SELECT throws_ok(
    $$SELECT auth.create_staff('x@example.com', '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g', 'X', ARRAY['postcart_owner'])$$,
    'PT422', 'unknown_role', 'an unknown permission role is rejected'
);
SELECT is(
    pg_temp.error_detail($$SELECT auth.create_staff('x@example.com', '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g', 'X', ARRAY['emperor'])$$) -> 'fields',
    '{"roles": "emperor is not a permission role"}'::jsonb,
    'unknown_role names the roles field, in details.fields'
);
SELECT throws_ok(
    $$SELECT auth.create_staff('y@example.com', '$argon2id$v=19$m=1048576,t=8,p=4$x$y', 'Y', ARRAY['support_agent'])$$,
    'PT422', 'invalid_password_hash', 'only hashes with the server''s parameters are accepted'
);
SELECT throws_ok(
    $$SELECT auth.create_staff('y@example.com', NULL, 'Y', ARRAY['support_agent'])$$,
    'PT422', 'validation_failed', 'create_staff needs a hash (invite_staff is for members without one)'
);
SELECT throws_ok(
    $$SELECT auth.create_staff('SAM@example.com', '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g', 'Sam 2', NULL)$$,
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
    (api.create_staff('{"email": "tia@example.com", "full_name": "Tia", "roles": ["support_agent"]}',
                      '{"password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"}') -> 'staff') - 'id' - 'created_at',
    '{"email": "tia@example.com", "full_name": "Tia", "roles": ["support_agent"], "active": true, "state": "active",
      "mfa_enabled": false, "deactivated_at": null}'::jsonb,
    'a store_admin creates staff through api.create_staff'
);
SELECT throws_ok(
    $$SELECT api.create_staff('{"email": "u@example.com", "full_name": "U", "roles": "store_admin"}',
                              '{"password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"}')$$,
    'PT422', 'validation_failed', 'roles must be an array'
);
SELECT throws_ok(
    $$SELECT api.create_staff('{"email": "v@example.com", "full_name": "V", "roles": [],
                                "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"}', '{}')$$,
    'PT422', 'validation_failed', 'a hash among the client''s arguments is ignored'
);
RESET ROLE;

-- ---------------------------------------------------------------------------------------------------
-- Invitations and the staff list, as a DBA
-- ---------------------------------------------------------------------------------------------------
SET LOCAL ROLE postcart_dba;
CREATE TEMP TABLE invitation AS
SELECT auth.invite_staff('Ivy@Example.com', ' Ivy ', ARRAY['support_agent']) AS token;
GRANT SELECT ON invitation TO PUBLIC;
SELECT ok((SELECT token ~ '^[0-9a-f]{64}$' FROM invitation), 'invite_staff returns a token of 64 hex digits');
SELECT is(
    (SELECT jsonb_build_object('full_name', full_name, 'roles', roles, 'state', state, 'mfa_enabled', mfa_enabled)
     FROM auth.staff_members WHERE email = 'ivy@example.com'),
    '{"full_name": "Ivy", "roles": ["support_agent"], "state": "invited", "mfa_enabled": false}'::jsonb,
    'the invited member is listed as invited, with its roles'
);
SELECT is(
    (SELECT roles FROM auth.staff_members WHERE email = 'sam@example.com'),
    ARRAY['catalog_manager', 'store_admin'],
    'staff_members shows each member''s permission roles'
);
SELECT is(
    (SELECT state FROM auth.staff_members WHERE email = 'sam@example.com'), 'active', 'a member with a password is active'
);
SELECT throws_ok(
    $$SELECT auth.invite_staff('ivy@example.com', 'Ivy 2', ARRAY['support_agent'])$$,
    'PT409', 'email_taken', 'an e-mail is invited once'
);
SELECT throws_ok(
    $$SELECT auth.reinvite_staff('sam@example.com')$$, 'PT409', 'staff_already_active',
    'a member with a password is not invited again'
);
SELECT throws_ok($$SELECT email FROM auth.accounts$$, '42501', NULL, 'the DBA reads staff through the view only');
RESET ROLE;

SELECT is(
    (SELECT i.token_hash FROM auth.staff_invitations AS i INNER JOIN auth.accounts AS a ON i.account_id = a.id
     WHERE a.email = 'ivy@example.com'),
    (SELECT sha256(convert_to(token, 'UTF8')) FROM invitation),
    'only the token''s sha256 is stored'
);
SELECT ok(
    (SELECT i.expires_at BETWEEN now() + interval '7 days' - interval '1 minute' AND now() + interval '7 days'
     FROM auth.staff_invitations AS i INNER JOIN auth.accounts AS a ON i.account_id = a.id
     WHERE a.email = 'ivy@example.com'),
    'an invitation is valid for 7 days'
);

-- The member redeems it over HTTP: the authenticator finds the e-mail, then anon sets the password
SET LOCAL ROLE postcart_authenticator;
SELECT is(
    auth.staff_invitation_email((SELECT sha256(convert_to(token, 'UTF8')) FROM invitation)), 'Ivy@Example.com',
    'the e-mail of an open invitation is found by the token''s sha256'
);
SELECT is(auth.staff_invitation_email(sha256('unknown')), NULL, 'an unknown token finds nothing');
SELECT set_config('role', 'postcart_anon', true), set_config('request.claims', '{}', true);
SELECT throws_ok(
    $$SELECT api.accept_staff_invitation('{}', jsonb_build_object(
        'token_hash', encode(sha256('unknown'), 'hex'), 'password_hash', '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g'))$$,
    'PT400', 'invalid_token', 'an unknown token is refused'
);
SELECT is(
    api.accept_staff_invitation('{}', (SELECT jsonb_build_object(
        'token_hash', encode(sha256(convert_to(token, 'UTF8')), 'hex'), 'password_hash', '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g') FROM invitation)),
    NULL,
    'an open invitation sets the password'
);
SELECT throws_ok(
    format('SELECT api.accept_staff_invitation(%L, %L)', '{}', (SELECT jsonb_build_object(
        'token_hash', encode(sha256(convert_to(token, 'UTF8')), 'hex'), 'password_hash', '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g') FROM invitation)),
    'PT400', 'invalid_token', 'an invitation is used once'
);
RESET ROLE;
SELECT is(
    (SELECT state FROM auth.staff_members WHERE email = 'ivy@example.com'), 'active', 'the member is now active'
);

SELECT * FROM finish();
ROLLBACK;
