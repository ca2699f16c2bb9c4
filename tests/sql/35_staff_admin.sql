-- Staff administration (issue 9): DBAs and store administrators deactivate, reactivate and re-role staff
-- members; deactivation ends every session in the same transaction and no new one can be opened; only
-- store_admin may call the HTTP functions, and nobody locks themselves out. Fixture e-mails end in
-- @t35.example.com.
BEGIN;
SELECT plan(30);

CREATE FUNCTION pg_temp.error_of(p_sql text)
RETURNS text
LANGUAGE plpgsql
AS $$
BEGIN
    EXECUTE p_sql;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    RETURN sqlstate || ' ' || sqlerrm;
END
$$;

-- As a staff member's own session would run it: role and claims of that session, as auth.act_as sets them.
CREATE FUNCTION pg_temp.as_session(p_session_id uuid, p_sql text)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    answer jsonb;
BEGIN
    SET LOCAL ROLE postcart_authenticator;
    PERFORM auth.act_as(p_session_id, 'req-t35');
    EXECUTE p_sql INTO answer;
    RESET ROLE;
    RETURN answer;
EXCEPTION WHEN OTHERS THEN
    RESET ROLE;
    RETURN jsonb_build_object('error', sqlstate || ' ' || sqlerrm);
END
$$;

CREATE FUNCTION pg_temp.login(p_account_id uuid)
RETURNS uuid
LANGUAGE plpgsql
AS $$
DECLARE
    v_session uuid;
BEGIN
    SET LOCAL ROLE postcart_authenticator;
    v_session := (auth.login_succeeded(
        p_account_id, sha256(convert_to(gen_random_uuid()::text, 'UTF8')), INTERVAL '1 day', 'pgTAP', NULL
    ) ->> 'session_id')::uuid;
    RESET ROLE;
    RETURN v_session;
END
$$;

CREATE TEMP TABLE people (who text PRIMARY KEY, account_id uuid, db_role text);
GRANT SELECT, INSERT, UPDATE ON people TO PUBLIC;
SET LOCAL ROLE postcart_dba;
INSERT INTO people (who, account_id)
SELECT who, (auth.create_staff(
    who || '@t35.example.com',
    '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g',
    initcap(who), roles
) -> 'staff' ->> 'id')::uuid
FROM (VALUES ('boss', ARRAY['store_admin']), ('clerk', ARRAY['order_manager', 'support_agent'])) AS v (who, roles);
RESET ROLE;
UPDATE people AS p SET db_role = a.db_role FROM auth.accounts AS a WHERE a.id = p.account_id;

CREATE TEMP TABLE sessions AS
SELECT who, n, pg_temp.login(account_id) AS id FROM people CROSS JOIN generate_series(1, 2) AS n;
GRANT SELECT, INSERT ON sessions TO PUBLIC;

-- == the DBA's functions ===============================================================================
SET LOCAL ROLE postcart_dba;
SELECT is(
    auth.deactivate_staff('Clerk@T35.example.com') -> 'staff' ->> 'state', 'deactivated',
    'auth.deactivate_staff finds the member case-insensitively and reports them deactivated'
);
SELECT is(
    (SELECT s.state FROM auth.staff_members AS s WHERE s.email = 'clerk@t35.example.com'), 'deactivated',
    'auth.staff_members shows the state'
);
SELECT is(
    (SELECT s.roles FROM auth.staff_members AS s WHERE s.email = 'clerk@t35.example.com'),
    ARRAY['order_manager', 'support_agent'], 'their roles are kept'
);
RESET ROLE;
SELECT is(
    (SELECT count(*)::integer FROM auth.sessions AS s WHERE s.account_id = (SELECT account_id FROM people WHERE who = 'clerk') AND s.revoked_at IS NULL),
    0, 'every session of the member ended in the same transaction'
);
SELECT is(
    (SELECT count(*)::integer FROM auth.sessions AS s WHERE s.account_id = (SELECT account_id FROM people WHERE who = 'boss') AND s.revoked_at IS NULL),
    2, 'other members'' sessions live on'
);
SELECT is(
    pg_temp.as_session((SELECT id FROM sessions WHERE who = 'clerk' AND n = 1), $$SELECT api.me('{}')$$) ->> 'error',
    'PT401 token_revoked', 'the very next request with the member''s token is refused'
);
SELECT ok(
    NOT pg_has_role('postcart_authenticator', (SELECT db_role FROM people WHERE who = 'clerk'), 'MEMBER'),
    'the pool can no longer switch to the member''s role'
);
SELECT is(
    pg_temp.error_of(format('SELECT pg_temp.login(%L)', (SELECT account_id FROM people WHERE who = 'clerk'))),
    'PT403 account_deactivated', 'a new login is refused by the database'
);
SELECT is(
    pg_temp.error_of(format(
        'INSERT INTO auth.sessions (account_id, expires_at) VALUES (%L, now() + INTERVAL ''1 hour'')',
        (SELECT account_id FROM people WHERE who = 'clerk')
    )),
    'PT403 account_deactivated', 'even a session written by hand'
);
SET LOCAL ROLE postcart_dba;
SELECT is(
    auth.deactivate_staff('clerk@t35.example.com') -> 'staff' ->> 'active', 'false', 'deactivating twice is a no-op'
);
SELECT is(
    auth.reactivate_staff('clerk@t35.example.com') -> 'staff' ->> 'state', 'active', 'auth.reactivate_staff'
);
SELECT is(
    pg_temp.error_of($$SELECT auth.deactivate_staff('nobody@t35.example.com')$$), 'PT404 staff_not_found',
    'an unknown e-mail is 404 staff_not_found'
);
RESET ROLE;
SELECT ok(
    pg_has_role('postcart_authenticator', (SELECT db_role FROM people WHERE who = 'clerk'), 'MEMBER'),
    'reactivation gives the pool its role back'
);
SELECT isnt(pg_temp.login((SELECT account_id FROM people WHERE who = 'clerk')), NULL, 'and the member can log in');
SELECT is(
    pg_temp.as_session((SELECT id FROM sessions WHERE who = 'clerk' AND n = 2), $$SELECT api.me('{}')$$) ->> 'error',
    'PT401 token_revoked', 'old sessions stay ended'
);

-- == over HTTP: only store_admin =======================================================================
-- Other tests leave staff in the shared database, so the pages start at a cursor just before the fixture's
-- e-mails and the filters are checked item by item.
SELECT is(
    pg_temp.as_session(
        (SELECT id FROM sessions WHERE who = 'boss' AND n = 1),
        format($$SELECT api.admin_list_staff('{"role": "support_agent", "cursor": "%s"}')$$, shop.encode_cursor(
            '{"name": "clerk@t35.example.com", "id": "00000000-0000-0000-0000-000000000000"}'
        ))
    ) -> 'items' -> 0 ->> 'email',
    'clerk@t35.example.com', 'a store administrator lists the staff, filtered by role'
);
SELECT is(
    (SELECT bool_and(i.item -> 'roles' ? 'support_agent') FROM jsonb_array_elements(
        pg_temp.as_session((SELECT id FROM sessions WHERE who = 'boss' AND n = 1),
                           $$SELECT api.admin_list_staff('{"role": "support_agent", "limit": "100"}')$$) -> 'items'
    ) AS i (item)),
    TRUE, 'and leaves out those without the role'
);
SELECT is(
    pg_temp.as_session((SELECT id FROM sessions WHERE who = 'boss' AND n = 1),
                       $$SELECT api.admin_list_staff('{"limit": "1"}')$$) ->> 'next_cursor' IS NOT NULL,
    TRUE, 'pages carry a cursor'
);
SELECT is(
    pg_temp.as_session(
        (SELECT id FROM sessions WHERE who = 'boss' AND n = 1),
        format($$SELECT api.update_staff('{"id": "%s", "roles": ["catalog_manager"]}')$$,
               (SELECT account_id FROM people WHERE who = 'clerk'))
    ) -> 'staff' -> 'roles',
    '["catalog_manager"]'::jsonb, 'PATCH roles replaces the member''s roles with exactly these'
);
SELECT ok(
    NOT pg_has_role((SELECT db_role FROM people WHERE who = 'clerk'), 'order_manager', 'MEMBER'),
    'the role taken away is gone from the database role'
);
SELECT is(
    pg_temp.as_session(
        (SELECT id FROM sessions WHERE who = 'boss' AND n = 1),
        format($$SELECT api.update_staff('{"id": "%s", "active": false}')$$,
               (SELECT account_id FROM people WHERE who = 'clerk'))
    ) -> 'staff' ->> 'state',
    'deactivated', 'PATCH active false deactivates'
);
SELECT is(
    (SELECT array_agg(DISTINCT i.item ->> 'state') || array_agg(i.item ->> 'email') FILTER (WHERE i.item ->> 'email' LIKE '%@t35.example.com')
     FROM jsonb_array_elements(
        pg_temp.as_session(
            (SELECT id FROM sessions WHERE who = 'boss' AND n = 1),
            format($$SELECT api.admin_list_staff('{"active": "false", "cursor": "%s"}')$$, shop.encode_cursor(
                '{"name": "boss@t35.example.com", "id": "00000000-0000-0000-0000-000000000000"}'
            ))
        ) -> 'items'
    ) AS i (item)),
    ARRAY['deactivated', 'clerk@t35.example.com'], 'GET active=false lists only the deactivated ones'
);
SELECT is(
    pg_temp.as_session(
        (SELECT id FROM sessions WHERE who = 'boss' AND n = 1),
        format($$SELECT api.update_staff('{"id": "%s", "roles": ["emperor"]}')$$,
               (SELECT account_id FROM people WHERE who = 'clerk'))
    ) ->> 'error',
    'PT422 unknown_role', 'an unknown role is 422 unknown_role'
);
SELECT is(
    pg_temp.as_session(
        (SELECT id FROM sessions WHERE who = 'boss' AND n = 1),
        format($$SELECT api.update_staff('{"id": "%s", "active": "no", "roles": "all"}')$$,
               (SELECT account_id FROM people WHERE who = 'clerk'))
    ) ->> 'error',
    'PT422 validation_failed', 'a mistyped body is 422 validation_failed'
);
SELECT is(
    pg_temp.as_session((SELECT id FROM sessions WHERE who = 'boss' AND n = 1),
                       $$SELECT api.update_staff('{"id": "00000000-0000-4000-8000-000000000000", "active": true}')$$)
    ->> 'error',
    'PT404 staff_not_found', 'an unknown id is 404'
);
SELECT is(
    pg_temp.as_session(
        (SELECT id FROM sessions WHERE who = 'boss' AND n = 1),
        format($$SELECT api.update_staff('{"id": "%s", "active": false}')$$,
               (SELECT account_id FROM people WHERE who = 'boss'))
    ) ->> 'error',
    'PT409 cannot_lock_self_out', 'a store administrator cannot deactivate themselves'
);
SELECT is(
    pg_temp.as_session(
        (SELECT id FROM sessions WHERE who = 'boss' AND n = 1),
        format($$SELECT api.update_staff('{"id": "%s", "roles": ["order_manager"]}')$$,
               (SELECT account_id FROM people WHERE who = 'boss'))
    ) ->> 'error',
    'PT409 cannot_lock_self_out', 'nor give up store_admin themselves'
);
SELECT is(
    pg_temp.as_session(
        (SELECT id FROM sessions WHERE who = 'boss' AND n = 1),
        format($$SELECT api.update_staff('{"id": "%s", "roles": ["store_admin", "catalog_manager"]}')$$,
               (SELECT account_id FROM people WHERE who = 'boss'))
    ) -> 'staff' -> 'roles',
    '["catalog_manager", "store_admin"]'::jsonb, 'but may give themselves more'
);
-- Clerk is deactivated; a fresh member with catalog_manager only tries the store administrator's routes.
SET LOCAL ROLE postcart_dba;
INSERT INTO people (who, account_id)
SELECT 'cat', (auth.create_staff(
    'cat@t35.example.com',
    '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g',
    'Cat', ARRAY['catalog_manager']
) -> 'staff' ->> 'id')::uuid;
RESET ROLE;
INSERT INTO sessions SELECT 'cat', 1, pg_temp.login((SELECT account_id FROM people WHERE who = 'cat'));
SELECT is(
    pg_temp.as_session((SELECT id FROM sessions WHERE who = 'cat'), $$SELECT api.admin_list_staff('{}')$$) ->> 'error',
    '42501 permission denied for function admin_list_staff',
    'other staff may not list the staff: the database refuses'
);
SELECT is(
    pg_temp.as_session(
        (SELECT id FROM sessions WHERE who = 'cat'),
        format($$SELECT api.update_staff('{"id": "%s", "roles": ["store_admin"]}')$$,
               (SELECT account_id FROM people WHERE who = 'cat'))
    ) ->> 'error',
    '42501 permission denied for function update_staff', 'nor promote themselves'
);

SELECT * FROM finish();
ROLLBACK;
