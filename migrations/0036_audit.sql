-- The audit trail (issue 9 item 3, docs/audit.md): one append-only table, audit.records, written by one
-- generic trigger attached to every table of `shop` and `auth` except the derived and ephemeral ones
-- listed in audit.unaudited_tables; secrets are redacted by the list in audit.redacted_columns; logins
-- are recorded by the auth functions. The trail can only shrink through audit.purge (retention).
-- The reading side (api.list_audit_records, reporting.audit_log) lives in sql/.
-- depends: 0032_carriers_tax 0033_event_retention 0035_listing_statistics 0039_staff_deactivation

-- hstore: the C-level difference of two rows, which keeps an update's record cheap (docs/audit.md, "Cost").
CREATE EXTENSION IF NOT EXISTS hstore SCHEMA extensions;

SET LOCAL ROLE postcart_owner;

-- == tables =========================================================================================

CREATE TABLE audit.records (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Transaction time: every record of one request shares the instant its rows' own timestamps carry.
    at timestamptz NOT NULL DEFAULT now(),
    txid bigint NOT NULL DEFAULT txid_current(),
    account_id uuid,
    db_role text NOT NULL,
    login_role text NOT NULL DEFAULT session_user,
    request_id text,
    table_name text NOT NULL,
    record_id text,
    record_key jsonb,
    action text NOT NULL,
    old_values jsonb,
    new_values jsonb,
    CONSTRAINT records_action_check CHECK (
        action IN ('insert', 'update', 'delete', 'truncate', 'login', 'login_failed', 'purge')
    )
);
COMMENT ON TABLE audit.records IS
'The audit trail: one row per row written in an audited table of shop or auth (insert, update with only '
'the changed columns, delete, truncate), per login and failed login, and per retention purge. '
'Append-only: no role has UPDATE, DELETE or TRUNCATE, and a trigger refuses them even to the owner '
'outside audit.purge. Readable by store_admin (GET /v1/admin/audit); analysts see reporting.audit_log.';
COMMENT ON COLUMN audit.records.at IS
'Transaction start time (now()): all records of one request share it, as do the rows'' own timestamps.';
COMMENT ON COLUMN audit.records.txid IS 'The writing transaction (txid_current()): groups one request''s changes.';
COMMENT ON COLUMN audit.records.account_id IS
'The account acting (request.claims ->> sub, or the account logging in); NULL for direct SQL. No foreign '
'key: the record outlives the account.';
COMMENT ON COLUMN audit.records.db_role IS
'The role acting: the role the session switched to (SET ROLE, as every API request does), else the login.';
COMMENT ON COLUMN audit.records.login_role IS 'session_user: the login (postcart_authenticator, or a DBA''s own).';
COMMENT ON COLUMN audit.records.request_id IS 'The X-Request-Id of the HTTP request (request.id); NULL for direct SQL.';
COMMENT ON COLUMN audit.records.table_name IS
'schema.table written (audit.records for a purge, auth.sessions for logins).';
COMMENT ON COLUMN audit.records.record_id IS
'The first key column''s value as text (the id): what ?record_id= matches.';
COMMENT ON COLUMN audit.records.record_key IS 'The key columns of the row written, as a JSON object.';
COMMENT ON COLUMN audit.records.old_values IS
'Before: the whole row (delete) or only the changed columns (update); redacted columns read "[redacted]".';
COMMENT ON COLUMN audit.records.new_values IS
'After: the whole row (insert) or only the changed columns (update); for logins {email, reason}.';

CREATE INDEX records_at_idx ON audit.records USING brin (at);
CREATE INDEX records_table_record_idx ON audit.records (table_name, record_id, id);
CREATE INDEX records_account_idx ON audit.records (account_id, id) WHERE account_id IS NOT NULL;

CREATE TABLE audit.redacted_columns (
    table_name text NOT NULL,
    column_name text NOT NULL,
    reason text NOT NULL,
    PRIMARY KEY (table_name, column_name)
);
COMMENT ON TABLE audit.redacted_columns IS
'The one list of secret columns: their values reach the trail only as "[redacted]" (that they changed is '
'still recorded). Read by audit.enable_for when it attaches the trigger; a pgTAP test (31) checks every '
'column named like hash, secret, token or password in shop, auth and integration is here.';

INSERT INTO audit.redacted_columns (table_name, column_name, reason) VALUES
('auth.accounts', 'totp_secret', 'TOTP shared secret: would let anyone make codes'),
('auth.password_hashes', 'password_hash', 'argon2id hash of the password: offline guessing'),
('auth.recovery_codes', 'code_hash', 'sha256 of an MFA recovery code'),
('auth.refresh_tokens', 'token_hash', 'sha256 of a refresh token'),
('auth.staff_invitations', 'token_hash', 'sha256 of an invitation token'),
('shop.carts', 'token_hash', 'sha256 of a guest cart token'),
('integration.webhook_subscriptions', 'secret_version', 'names the signing secret (derived, not stored)'),
('integration.webhook_subscriptions', 'secret_rotated_at', 'when the signing secret changed');

CREATE TABLE audit.unaudited_tables (
    table_name text PRIMARY KEY,
    reason text NOT NULL
);
COMMENT ON TABLE audit.unaudited_tables IS
'The shop and auth tables deliberately without the audit trigger: derived read models, queues, memos '
'and counters, each rebuilt from audited tables or holding nothing a person decided. pgTAP (31) fails '
'for any other shop or auth table without the trigger.';

INSERT INTO audit.unaudited_tables (table_name, reason) VALUES
('auth.login_attempts', 'lockout counter; logins and failures are recorded as login and login_failed'),
('auth.refresh_tokens', 'token rotation bookkeeping; each refresh updates its audited auth.sessions row'),
('shop.stock_levels', 'derived: on_hand is the sum of shop.stock_movements, reserved of open shop.order_allocations'),
('shop.order_numbers', 'a counter; the number given is on the audited shop.orders row'),
('shop.catalog_version_shards', 'counters bumped by triggers (the catalog ETag)'),
('shop.catalog_schedule_instants', 'derived by a trigger from shop.products publication times'),
('shop.product_listings', 'read model kept by triggers from the catalog tables'),
('shop.product_listing_prices', 'read model kept by triggers from the price tables'),
('shop.product_listing_queue', 'queue emptied by the same transaction'),
('shop.product_listing_flushes', 'queue emptied by the same transaction'),
('shop.listing_facets', 'memo of facet counts, valid for one catalog version'),
('shop.search_words', 'derived dictionary of the listings'' search words'),
('shop.low_stock_alerts', 'derived from stock levels; the alert itself is an outbox event');

-- RLS like every table: the owner, and store_admin reading the trail. The lists are owner-only.
ALTER TABLE audit.records ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit.records FORCE ROW LEVEL SECURITY;
ALTER TABLE audit.redacted_columns ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit.redacted_columns FORCE ROW LEVEL SECURITY;
ALTER TABLE audit.unaudited_tables ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit.unaudited_tables FORCE ROW LEVEL SECURITY;
CREATE POLICY records_owner_all ON audit.records
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY records_select_store_admin ON audit.records
FOR SELECT TO store_admin USING (TRUE);
CREATE POLICY redacted_columns_owner_all ON audit.redacted_columns
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY unaudited_tables_owner_all ON audit.unaudited_tables
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);

REVOKE ALL ON audit.records, audit.redacted_columns, audit.unaudited_tables FROM PUBLIC;
-- Even the owner may not change the trail through privileges; audit.purge deletes through its own check.
REVOKE UPDATE, TRUNCATE ON audit.records FROM postcart_owner;
GRANT USAGE ON SCHEMA audit TO store_admin;
GRANT SELECT (
    id, at, txid, account_id, db_role, login_role, request_id, table_name, record_id, record_key, action,
    old_values, new_values
) ON audit.records TO store_admin;

-- == functions ======================================================================================

CREATE FUNCTION audit.tg_audited__record_change()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    -- Fixed when audit.enable_for attached the trigger: the key columns and the redacted ones.
    v_keys text[] := TG_ARGV[0]::text[];
    v_redacted text[] := TG_ARGV[1]::text[];
    v_column text;
    v_row jsonb;
    v_old jsonb;
    v_new jsonb;
    v_key jsonb;
    v_unchanged text[];
    v_role text := current_setting('role');
BEGIN
    -- Every step is a simple expression (no query per row but the INSERT): this runs on every write.
    IF TG_LEVEL = 'STATEMENT' THEN
        v_row := NULL;
    ELSIF TG_OP = 'INSERT' THEN
        v_new := to_jsonb(NEW);
        v_row := v_new;
    ELSIF TG_OP = 'DELETE' THEN
        v_old := to_jsonb(OLD);
        v_row := v_old;
    ELSE
        -- Only the columns that changed: hstore's difference of the two rows is computed in C.
        v_row := to_jsonb(NEW);
        v_unchanged := akeys(hstore(NEW) - (hstore(NEW) - hstore(OLD)));
        v_new := v_row - v_unchanged;
        IF v_new = '{}' THEN
            RETURN NULL;  -- nothing changed: nothing to record
        END IF;
        v_old := to_jsonb(OLD) - v_unchanged;
    END IF;
    FOREACH v_column IN ARRAY v_redacted LOOP
        IF v_old ->> v_column IS NOT NULL THEN
            v_old := jsonb_set(v_old, ARRAY[v_column], '"[redacted]"');
        END IF;
        IF v_new ->> v_column IS NOT NULL THEN
            v_new := jsonb_set(v_new, ARRAY[v_column], '"[redacted]"');
        END IF;
    END LOOP;
    IF v_row IS NULL THEN
        v_key := NULL;  -- TRUNCATE: the whole table
    ELSIF cardinality(v_keys) = 1 THEN
        v_key := jsonb_build_object(v_keys[1], v_row -> v_keys[1]);
    ELSE
        v_key := (SELECT jsonb_object_agg(k.name, v_row -> k.name) FROM unnest(v_keys) AS k (name));
    END IF;

    INSERT INTO audit.records (
        account_id, db_role, request_id, table_name, record_id, record_key, action, old_values, new_values
    )
    VALUES (
        (nullif(current_setting('request.claims', TRUE), '')::jsonb ->> 'sub')::uuid,
        -- The role the session switched to (SECURITY DEFINER changes current_user, not this setting).
        CASE v_role WHEN 'none' THEN session_user ELSE v_role END,
        nullif(current_setting('request.id', TRUE), ''),
        TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME,
        v_row ->> v_keys[1],
        v_key,
        lower(TG_OP),
        v_old,
        v_new
    );
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION audit.tg_audited__record_change() IS
'AFTER INSERT, UPDATE or DELETE (row) and AFTER TRUNCATE (statement) on every audited table: appends '
'one audit.records row with who (account from request.claims, role acting, login, request id), what '
'(table, key, action) and the old and new values (only the changed columns for an update; none recorded '
'when nothing changed), redacting the columns named in TG_ARGV[1]. Arguments: key columns, redacted '
'columns (text[] literals), set by audit.enable_for. Returns NULL.';

CREATE FUNCTION audit.enable_for(p_table regclass)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_name text;
    v_keys text[];
    v_redacted text[];
BEGIN
    SELECT format('%s.%s', n.nspname, c.relname) INTO v_name
    FROM pg_class AS c INNER JOIN pg_namespace AS n ON c.relnamespace = n.oid
    WHERE c.oid = p_table;
    -- The key: the primary key, else the first unique index, else every column.
    SELECT array_agg(a.attname::text ORDER BY array_position(i.indkey::int2 [], a.attnum))
    INTO v_keys
    FROM (
        SELECT x.indkey FROM pg_index AS x
        WHERE x.indrelid = p_table AND x.indisunique AND x.indpred IS NULL AND 0 <> ALL(x.indkey::int2 [])
        ORDER BY x.indisprimary DESC, x.indexrelid
        LIMIT 1
    ) AS i
    INNER JOIN pg_attribute AS a ON a.attrelid = p_table AND a.attnum = ANY(i.indkey::int2 []);
    IF v_keys IS NULL THEN
        SELECT array_agg(a.attname::text ORDER BY a.attnum) INTO v_keys
        FROM pg_attribute AS a WHERE a.attrelid = p_table AND a.attnum > 0 AND NOT a.attisdropped;
    END IF;
    SELECT coalesce(array_agg(r.column_name ORDER BY r.column_name), '{}') INTO v_redacted
    FROM audit.redacted_columns AS r WHERE r.table_name = v_name;

    EXECUTE format(
        'CREATE OR REPLACE TRIGGER audit_record_change AFTER INSERT OR UPDATE OR DELETE ON %s '
        'FOR EACH ROW EXECUTE FUNCTION audit.tg_audited__record_change(%L, %L)',
        p_table, v_keys, v_redacted
    );
    EXECUTE format(
        'CREATE OR REPLACE TRIGGER audit_record_truncate AFTER TRUNCATE ON %s '
        'FOR EACH STATEMENT EXECUTE FUNCTION audit.tg_audited__record_change(%L, %L)',
        p_table, v_keys, v_redacted
    );
END
$$;
COMMENT ON FUNCTION audit.enable_for(regclass) IS
'Attaches (or re-attaches, after a change of audit.redacted_columns or of the key) the audit triggers '
'audit_record_change and audit_record_truncate to a table, with its key columns and redacted columns as '
'arguments. Run it as the owner for every new shop or auth table: SELECT audit.enable_for(''shop.x''). '
'Returns nothing.';

CREATE FUNCTION audit.record_event(p_action text, p_account_id uuid, p_values jsonb)
RETURNS void
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
    INSERT INTO audit.records (
        account_id, db_role, request_id, table_name, record_id, record_key, action, new_values
    )
    VALUES (
        p_account_id,
        CASE current_setting('role') WHEN 'none' THEN session_user ELSE current_setting('role') END,
        nullif(current_setting('request.id', TRUE), ''),
        'auth.sessions',
        p_account_id::text,
        jsonb_build_object('account_id', p_account_id),
        p_action,
        p_values
    )
$$;
COMMENT ON FUNCTION audit.record_event(text, uuid, jsonb) IS
'Appends a login or login_failed record for an account (NULL: unknown e-mail) with p_values ({email, '
'reason}, never a password). For the auth login functions only: no grants. Returns nothing.';

CREATE FUNCTION audit.tg_records__append_only()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_stack text;
BEGIN
    -- The one way out: a DELETE issued by audit.purge itself, which raised the flag for its statement.
    -- Both are needed: the flag is a setting anyone could set, the call stack proves who issued it.
    GET DIAGNOSTICS v_stack = PG_CONTEXT;
    IF
        TG_OP = 'DELETE'
        AND current_setting('audit.purging', TRUE) = 'on'
        AND split_part(v_stack, E'\n', 3)
        LIKE 'PL/pgSQL function audit.purge(timestamp with time zone) line % at SQL statement'
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
'anyone, the owner and superusers included, unless the statement is audit.purge''s own DELETE. Returns NULL.';

CREATE TRIGGER records_append_only
BEFORE UPDATE OR DELETE OR TRUNCATE ON audit.records
FOR EACH STATEMENT EXECUTE FUNCTION audit.tg_records__append_only();

CREATE FUNCTION audit.purge(p_before timestamptz)
RETURNS bigint
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_deleted bigint;
BEGIN
    IF p_before IS NULL OR p_before > now() THEN
        PERFORM shop.fail(
            422, 'validation_failed',
            jsonb_build_object('fields', jsonb_build_object('before', 'must be a past instant')),
            'Purge only records older than a past instant.'
        );
    END IF;
    PERFORM set_config('audit.purging', 'on', TRUE);
    DELETE FROM audit.records WHERE at < p_before;
    GET DIAGNOSTICS v_deleted = ROW_COUNT;
    PERFORM set_config('audit.purging', 'off', TRUE);
    -- The purge itself stays in the trail.
    INSERT INTO audit.records (db_role, request_id, table_name, action, new_values)
    VALUES (
        CASE current_setting('role') WHEN 'none' THEN session_user ELSE current_setting('role') END,
        nullif(current_setting('request.id', TRUE), ''),
        'audit.records', 'purge',
        jsonb_build_object('before', p_before, 'deleted', v_deleted)
    );
    RETURN v_deleted;
END
$$;
COMMENT ON FUNCTION audit.purge(timestamptz) IS
'Retention: deletes the audit records older than p_before (a past instant, else PT422 validation_failed) '
'and records the purge itself (action purge, {before, deleted}); returns how many were deleted. The only '
'way records leave the trail. Owner only (run as the admin or postcart_owner): no grants.';

REVOKE ALL ON FUNCTION audit.tg_audited__record_change() FROM PUBLIC;
REVOKE ALL ON FUNCTION audit.enable_for(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit.record_event(text, uuid, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit.tg_records__append_only() FROM PUBLIC;
REVOKE ALL ON FUNCTION audit.purge(timestamptz) FROM PUBLIC;

-- == every shop and auth table, but the listed exceptions ==========================================

DO $$
BEGIN
    PERFORM audit.enable_for(c.oid)
    FROM pg_class AS c
    INNER JOIN pg_namespace AS n ON c.relnamespace = n.oid
    WHERE
        n.nspname IN ('shop', 'auth')
        AND c.relkind IN ('r', 'p')
        AND NOT c.relispartition
        AND format('%s.%s', n.nspname, c.relname) NOT IN (SELECT u.table_name FROM audit.unaudited_tables AS u);
END
$$;

RESET ROLE;
