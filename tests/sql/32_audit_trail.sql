-- The audit trail's behaviour (issue 9 item 3): writes are recorded with who (account, role acting,
-- login, request id) and what (table, key, action, changed values); secrets are redacted; the trail is
-- append-only even for the owner and a superuser, except through audit.purge; only store_admin reads it,
-- analysts read the masked reporting.audit_log. Fixture e-mails end in @t32.example.com.
-- Steps whose results are not tests write them to quiet_N temp tables: the runner reads every row as TAP.
BEGIN;
SELECT plan(29);

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

CREATE TEMP TABLE fixture AS
SELECT (auth.new_account(
    'customer', '{"email": "ada@t32.example.com", "full_name": "Ada"}',
    '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g'
)).id AS customer_id;
GRANT SELECT ON fixture TO PUBLIC;

-- == a customer's request: insert, update, delete of an address ======================================
CREATE TEMP TABLE quiet_1 AS SELECT set_config('request.claims', json_build_object('sub', customer_id, 'kind', 'customer')::text, TRUE)
FROM fixture;
CREATE TEMP TABLE quiet_2 AS SELECT set_config('request.id', 'req-t32-customer', TRUE);
CREATE TEMP TABLE ids (address_id text);
GRANT SELECT, INSERT ON ids TO PUBLIC;
SET LOCAL ROLE postcart_customer;
INSERT INTO ids
SELECT api.add_address('{"full_name": "Ada L", "line1": "1 Sq", "city": "London", "postal_code": "SW1",
                         "country": "GB"}') ->> 'id';
CREATE TEMP TABLE quiet_3 AS SELECT api.update_address(jsonb_build_object('id', address_id, 'city', 'Bath'))::text FROM ids;
CREATE TEMP TABLE quiet_4 AS SELECT api.delete_address(jsonb_build_object('id', address_id))::text FROM ids;
RESET ROLE;
CREATE TEMP TABLE quiet_5 AS SELECT set_config('request.claims', '', TRUE);
CREATE TEMP TABLE quiet_6 AS SELECT set_config('request.id', '', TRUE);

SELECT is(
    (SELECT array_agg(concat_ws(' ', action, account_id, db_role, login_role, request_id, record_key) ORDER BY id)
     FROM audit.records WHERE table_name = 'shop.addresses' AND request_id = 'req-t32-customer'),
    (SELECT array_agg(concat_ws(
        ' ', v.action, f.customer_id, 'postcart_customer', session_user, 'req-t32-customer',
        jsonb_build_object('id', (SELECT address_id FROM ids)::uuid)
    ) ORDER BY v.n)
     FROM fixture AS f CROSS JOIN (VALUES (1, 'insert'), (2, 'update'), (3, 'delete')) AS v (n, action)),
    'insert, update and delete are recorded with the account, the role acting, the login, the request and the key'
);
SELECT is(
    (SELECT new_values ->> 'city' FROM audit.records
     WHERE table_name = 'shop.addresses' AND action = 'insert' AND record_id = (SELECT address_id FROM ids)),
    'London', 'an insert records the new row'
);
SELECT is(
    (SELECT array[old_values ->> 'city', new_values ->> 'city'] FROM audit.records
     WHERE table_name = 'shop.addresses' AND action = 'update' AND record_id = (SELECT address_id FROM ids)),
    array['London', 'Bath'], 'an update records the old and new values'
);
SELECT is(
    (SELECT array(SELECT jsonb_object_keys(new_values) ORDER BY 1) FROM audit.records
     WHERE table_name = 'shop.addresses' AND action = 'update' AND record_id = (SELECT address_id FROM ids)),
    array['city'], 'an update records only the changed columns (updated_at is the same instant here)'
);
SELECT is(
    (SELECT old_values ->> 'line1' FROM audit.records
     WHERE table_name = 'shop.addresses' AND action = 'delete' AND record_id = (SELECT address_id FROM ids)),
    '1 Sq', 'a delete records the old row'
);

-- == direct SQL: no account, the login as role; no-op updates are not recorded =======================
UPDATE auth.accounts SET full_name = full_name WHERE id = (SELECT customer_id FROM fixture);
SELECT is(
    (SELECT count(*)::integer FROM audit.records r, fixture f
     WHERE r.table_name = 'auth.accounts' AND r.record_id = f.customer_id::text AND r.action = 'update'),
    0, 'an update that changes nothing is not recorded'
);
UPDATE auth.accounts SET totp_secret = 'JBSWY3DPEHPK3PXP' WHERE id = (SELECT customer_id FROM fixture);
SELECT is(
    (SELECT array_agg(concat_ws(' ', coalesce(r.account_id::text, '-'), r.db_role, coalesce(r.request_id, '-'),
                                r.old_values, r.new_values))
     FROM audit.records AS r, fixture AS f
     WHERE r.table_name = 'auth.accounts' AND r.record_id = f.customer_id::text AND r.action = 'update'),
    ARRAY[concat_ws(' ', '-', session_user, '-', '{"totp_secret": null}', '{"totp_secret": "[redacted]"}')],
    'direct SQL: no account, the login as the role; a secret is redacted but its change is recorded'
);
SELECT is(
    (SELECT new_values ->> 'password_hash' FROM audit.records AS r, fixture AS f
     WHERE r.table_name = 'auth.password_hashes' AND r.record_id = f.customer_id::text AND r.action = 'insert'),
    '[redacted]', 'password hashes are redacted'
);
SELECT is(
    (SELECT count(*)::integer FROM audit.records WHERE new_values::text LIKE '%$argon2id$%'
        OR old_values::text LIKE '%$argon2id$%' OR new_values::text LIKE '%JBSWY3DPEHPK3PXP%'),
    0, 'no secret anywhere in the trail'
);

-- == truncate: one record for the table ================================================================
TRUNCATE auth.recovery_codes;
SELECT is(
    (SELECT concat_ws(' ', action, record_id, record_key) FROM audit.records
     WHERE table_name = 'auth.recovery_codes' AND action = 'truncate'),
    'truncate', 'a TRUNCATE is recorded once, with no key'
);

-- == logins ============================================================================================
SET LOCAL ROLE postcart_authenticator;
CREATE TEMP TABLE quiet_7 AS SELECT auth.login_succeeded(customer_id, sha256('t32'::bytea), INTERVAL '1 day', 'pgTAP', NULL)::text FROM fixture;
CREATE TEMP TABLE quiet_8 AS SELECT auth.login_failed('Ada@T32.example.com', NULL, 'invalid_credentials', 'req-t32-failed')::text;
CREATE TEMP TABLE quiet_9 AS SELECT auth.login_failed('nobody@t32.example.com', NULL, 'invalid_credentials', 'req-t32-unknown')::text;
RESET ROLE;
SELECT is(
    (SELECT array_agg(concat_ws(' ', r.action, r.account_id = f.customer_id, r.new_values) ORDER BY r.id)
     FROM audit.records AS r, fixture AS f
     WHERE r.action IN ('login', 'login_failed') AND lower(r.new_values ->> 'email') LIKE '%@t32.example.com'),
    ARRAY[
        'login t {"email": "ada@t32.example.com"}',
        'login_failed t {"email": "Ada@T32.example.com", "reason": "invalid_credentials"}',
        'login_failed {"email": "nobody@t32.example.com", "reason": "invalid_credentials"}'
    ],
    'logins and failed logins are recorded with the e-mail attempted and the account when known'
);
SELECT is(
    (SELECT request_id FROM audit.records WHERE action = 'login_failed' AND new_values ->> 'email' = 'Ada@T32.example.com'),
    'req-t32-failed', 'a failed login carries its request id'
);
SELECT ok(
    pg_temp.error_of($$SELECT auth.login_failed('a@t32.example.com', NULL, 'Robert''); --', NULL)$$)
    LIKE 'PT422 validation_failed', 'a failure reason must be a snake_case code'
);

-- == append-only =======================================================================================
SELECT is(
    pg_temp.error_of('DELETE FROM audit.records'), 'PT403 audit_append_only',
    'a superuser''s DELETE is refused by the trigger'
);
SELECT is(
    pg_temp.error_of($$UPDATE audit.records SET action = 'insert'$$), 'PT403 audit_append_only',
    'a superuser''s UPDATE is refused'
);
SELECT is(pg_temp.error_of('TRUNCATE audit.records'), 'PT403 audit_append_only', 'TRUNCATE is refused');
SELECT is(
    pg_temp.error_of($$SELECT set_config('audit.purging', 'on', TRUE); DELETE FROM audit.records$$),
    'PT403 audit_append_only', 'setting the purge flag by hand is not enough'
);
SELECT is(
    pg_temp.error_of($$SELECT set_config('audit.forgetting', 'on', TRUE); UPDATE audit.records SET new_values = NULL$$),
    'PT403 audit_append_only', 'nor the erasure''s'
);
CREATE TEMP TABLE owner_tries (what text, error text);
GRANT INSERT ON owner_tries TO postcart_owner;
SET LOCAL ROLE postcart_owner;
INSERT INTO owner_tries VALUES
('delete', pg_temp.error_of('DELETE FROM audit.records')),
('update', pg_temp.error_of($$UPDATE audit.records SET action = 'insert'$$));
RESET ROLE;
SELECT is(
    (SELECT error FROM owner_tries WHERE what = 'delete'), 'PT403 audit_append_only', 'the owner''s DELETE is refused'
);
SELECT ok(
    (SELECT error FROM owner_tries WHERE what = 'update') LIKE '42501 %', 'the owner has no UPDATE privilege on the trail'
);

-- == integration settings (migration 0045) ==============================================================
INSERT INTO integration.webhook_subscriptions (url, event_types) VALUES ('https://t32.example/hook', '{*}');
SELECT is(
    (SELECT concat_ws(' ', r.action, r.new_values ->> 'url', r.new_values ->> 'secret_version')
     FROM audit.records AS r INNER JOIN integration.webhook_subscriptions AS w ON r.record_id = w.id::text
     WHERE r.table_name = 'integration.webhook_subscriptions' AND w.url = 'https://t32.example/hook'),
    'insert https://t32.example/hook [redacted]',
    'a new webhook subscription is in the trail (where order data goes), its secret version redacted'
);

-- == retention purge ===================================================================================
INSERT INTO audit.records (at, db_role, table_name, action) VALUES
(now() - INTERVAL '3 years', 'postgres', 'shop.orders', 'insert'),
(now() - INTERVAL '2 years', 'postgres', 'shop.orders', 'insert');
-- The HTTP suite's worker may still be writing (and so recording) beside this file: counts stop at the
-- last record seen before the purge.
CREATE TEMP TABLE counted AS
SELECT max(id) AS last_id, count(*) FILTER (WHERE at >= now() - INTERVAL '1 year') AS newer FROM audit.records;
SELECT is(audit.purge(now() - INTERVAL '1 year'), 2::bigint, 'audit.purge deletes the records older than its instant');
SELECT is(
    (SELECT count(*) FROM audit.records WHERE id <= (SELECT last_id FROM counted)), (SELECT newer FROM counted),
    'only those: the newer records stay'
);
SELECT is(
    (SELECT new_values ->> 'deleted' FROM audit.records WHERE action = 'purge' ORDER BY id DESC LIMIT 1), '2',
    'the purge record says how many went'
);

-- == who may read ======================================================================================
SELECT is(
    (SELECT array_agg(r ORDER BY r) FROM unnest(ARRAY[
        'postcart_anon', 'postcart_customer', 'postcart_staff', 'postcart_analyst', 'postcart_authenticator',
        'catalog_manager', 'inventory_manager', 'order_manager', 'support_agent', 'store_admin', 'postcart_dba'
    ]) AS r WHERE has_column_privilege(r, 'audit.records', 'new_values', 'SELECT')),
    ARRAY['store_admin'], 'only store_admin may read the trail'
);
CREATE TEMP TABLE analyst_sees (update_row text[], failed_logins integer);
GRANT INSERT ON analyst_sees TO postcart_analyst;
SET LOCAL ROLE postcart_analyst;
INSERT INTO analyst_sees VALUES (
    (SELECT array[action, reason, array_to_string(changed_columns, ',')] FROM reporting.audit_log
     WHERE table_name = 'shop.addresses' AND action = 'update' AND record_id = (SELECT address_id FROM ids)),
    (SELECT count(*)::integer FROM reporting.audit_log
     WHERE action = 'login_failed' AND reason = 'invalid_credentials' AND request_id = 'req-t32-failed')
);
RESET ROLE;
SELECT is(
    (SELECT update_row FROM analyst_sees), array['update', NULL, 'city'],
    'analysts see which columns changed in reporting.audit_log, not the values'
);
SELECT is((SELECT failed_logins FROM analyst_sees), 1, 'and the reason of a failed login, not its e-mail');

-- == erasure (migration 0041) ===========================================================================
INSERT INTO audit.records (account_id, db_role, table_name, record_id, action, old_values, new_values) VALUES
('f3200000-0000-4000-8000-0000000000e1', 'postcart_customer', 'shop.addresses', 'f3200000-0000-4000-8000-0000000000e2',
 'update', '{"city": "Paris", "country": "FR"}', '{"city": "Lyon", "country": "FR"}'),
(NULL, 'postcart_authenticator', 'auth.sessions', NULL, 'login_failed', NULL,
 '{"email": "Erase.Me@t32.example.com", "reason": "invalid_credentials"}');
SELECT is(
    audit.forget_person('f3200000-0000-4000-8000-0000000000e1', '{}', 'erase.me@t32.example.com'), 2::bigint,
    'audit.forget_person erases the person''s records: what they did and logins with their e-mail'
);
SELECT is(
    ARRAY(
        SELECT concat(old_values, ' ', new_values) FROM audit.records
        WHERE
            account_id = 'f3200000-0000-4000-8000-0000000000e1'
            OR (action = 'login_failed' AND new_values ->> 'email' = '[erased]')
        ORDER BY id
    ),
    ARRAY[
        '{"city": "[erased]", "country": "FR"} {"city": "[erased]", "country": "FR"}',
        ' {"email": "[erased]", "reason": "invalid_credentials"}',
        ' {"records": 2}'
    ],
    'personal values read [erased], the rest stays, and the erasure is recorded'
);

SELECT * FROM finish();
ROLLBACK;
