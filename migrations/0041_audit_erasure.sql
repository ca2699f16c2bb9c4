-- Erasure reaches the audit trail (issue 9): when a customer erases their account (api.delete_me), the
-- audit records about them keep what happened, when and by whom, but their personal values (e-mail,
-- names, addresses, phone, IP address, user agent) read "[erased]". The trail stays append-only for
-- everything else: the only UPDATE it lets through is audit.forget_person's own, as the only DELETE is
-- audit.purge's.
-- depends: 0036_audit 0037_personal_data

SET LOCAL ROLE postcart_owner;

ALTER TABLE audit.records DROP CONSTRAINT records_action_check;
ALTER TABLE audit.records ADD CONSTRAINT records_action_check CHECK (
    action IN ('insert', 'update', 'delete', 'truncate', 'login', 'login_failed', 'purge', 'erase')
);

CREATE FUNCTION audit.erased_values(p_values jsonb)
RETURNS jsonb
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
    SELECT jsonb_object_agg(
        e.key,
        CASE
            WHEN e.key IN (
                'email', 'to_email', 'full_name', 'line1', 'line2', 'city', 'postal_code', 'phone', 'ip',
                'user_agent', 'shipping_address', 'billing_address'
            ) AND e.value <> 'null'::jsonb THEN '"[erased]"'::jsonb
            ELSE e.value
        END
    )
    FROM jsonb_each(p_values) AS e
$$;
COMMENT ON FUNCTION audit.erased_values(jsonb) IS
'An audit record''s old or new values with every personal member (e-mail, names, address lines, city, '
'postal code, phone, IP address, user agent, address copies) replaced by "[erased]"; NULL for NULL.';

CREATE OR REPLACE FUNCTION audit.tg_records__append_only()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_stack text;
BEGIN
    -- Two ways out: a DELETE issued by audit.purge (retention) and an UPDATE issued by
    -- audit.forget_person (erasure), each having raised its flag for its statement. Both are needed: the
    -- flag is a setting anyone could set, the call stack proves who issued the statement.
    GET DIAGNOSTICS v_stack = PG_CONTEXT;
    IF
        TG_OP = 'DELETE'
        AND current_setting('audit.purging', TRUE) = 'on'
        AND split_part(v_stack, E'\n', 3)
        LIKE 'PL/pgSQL function audit.purge(timestamp with time zone) line % at SQL statement'
    THEN
        RETURN NULL;
    END IF;
    IF
        TG_OP = 'UPDATE'
        AND current_setting('audit.forgetting', TRUE) = 'on'
        AND split_part(v_stack, E'\n', 3) LIKE 'PL/pgSQL function audit.forget_person(uuid,uuid[],text) line % at SQL statement'
    THEN
        RETURN NULL;
    END IF;
    PERFORM shop.fail(
        403, 'audit_append_only',
        jsonb_build_object('operation', lower(TG_OP)),
        'The audit trail is append-only; old records leave only through audit.purge(before).'
    );
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION audit.tg_records__append_only() IS
'BEFORE UPDATE, DELETE or TRUNCATE (statement) on audit.records: raises PT403 audit_append_only for '
'anyone, the owner and superusers included, unless the statement is audit.purge''s own DELETE or '
'audit.forget_person''s own UPDATE. Returns NULL.';

CREATE FUNCTION audit.forget_person(p_account_id uuid, p_record_ids uuid[], p_email text)
RETURNS bigint
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_ids bigint[];
    v_erased bigint;
BEGIN
    -- The records of what the person did, of the rows about them, and of logins with their e-mail.
    SELECT array_agg(r.id) INTO v_ids
    FROM audit.records AS r
    WHERE
        (
            r.account_id = p_account_id
            OR r.record_id = ANY(p_record_ids::text [])
            OR (r.action IN ('login', 'login_failed') AND lower(r.new_values ->> 'email') = lower(p_email))
        )
        AND (r.old_values IS DISTINCT FROM audit.erased_values(r.old_values)
            OR r.new_values IS DISTINCT FROM audit.erased_values(r.new_values));
    PERFORM set_config('audit.forgetting', 'on', TRUE);
    -- On one line: the trigger recognises this statement by the call stack, which quotes its text.
    UPDATE audit.records SET old_values = audit.erased_values(old_values), new_values = audit.erased_values(new_values) WHERE id = ANY(v_ids);  -- noqa: LT05
    GET DIAGNOSTICS v_erased = ROW_COUNT;
    PERFORM set_config('audit.forgetting', 'off', TRUE);
    -- The erasure itself stays in the trail, without anything personal.
    INSERT INTO audit.records (account_id, db_role, request_id, table_name, record_id, action, new_values)
    VALUES (
        p_account_id,
        CASE current_setting('role') WHEN 'none' THEN session_user ELSE current_setting('role') END,
        nullif(current_setting('request.id', TRUE), ''),
        'auth.accounts', p_account_id::text, 'erase',
        jsonb_build_object('records', v_erased)
    );
    RETURN v_erased;
END
$$;
COMMENT ON FUNCTION audit.forget_person(uuid, uuid[], text) IS
'Erasure (api.delete_me): replaces the personal values (audit.erased_values) of every audit record made '
'by the account, about one of p_record_ids (its account, addresses, carts, orders, sessions) or of a '
'login with p_email, and records the erasure (action erase, {records}); returns how many records changed. '
'The only way records change. Internal: no grants.';

-- The owner (as whom audit.forget_person runs) may update the two value columns, and nothing else; the
-- trigger above still refuses any UPDATE but forget_person's.
GRANT UPDATE (old_values, new_values) ON audit.records TO postcart_owner;

REVOKE ALL ON FUNCTION audit.erased_values(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit.forget_person(uuid, uuid[], text) FROM PUBLIC;

RESET ROLE;
