-- Personal data (issue 9, docs/privacy.md): no reporting column exposes a raw e-mail, name, address, phone
-- number, IP address, token, hash or secret unless it is an allowed catalog name or masked by the masking
-- function; every table with a customer column is covered by the export (or excluded with a reason) and
-- handled by the erasure; the export and erasure functions as a customer. Fixture e-mails end in
-- @t33.example.com.
BEGIN;
SELECT plan(18);

-- == reporting: column by column ======================================================================
-- Names that are not a person's: what the column holds, and why it may be shown.
CREATE TEMP TABLE allowed_columns (view_name name, column_name name, reason text);
INSERT INTO allowed_columns VALUES
('catalog_stock', 'product_name', 'a product''s name'),
('catalog_stock', 'variant_name', 'a variant''s name'),
('catalog_stock', 'warehouse_name', 'a warehouse''s name (a business place, not a person)'),
('low_stock', 'product_name', 'a product''s name'),
('low_stock', 'variant_name', 'a variant''s name'),
('product_catalog', 'product_name', 'a product''s name'),
('product_catalog', 'category_name', 'a category''s name'),
('audit_log', 'table_name', 'the name of the table written (schema.table), not a person''s'),
('top_products', 'product_name', 'a product''s name'),
('variant_sell_through', 'product_name', 'a product''s name'),
('variant_sell_through', 'variant_name', 'a variant''s name'),
('coupon_performance', 'promotion_name', 'a promotion''s internal name'),
('inventory_valuation', 'warehouse_name', 'a warehouse''s name (a business place, not a person)');

-- The columns of every relation in reporting: views, materialized views (which information_schema.columns
-- leaves out) and tables.
CREATE TEMP VIEW reporting_columns AS
SELECT c.relname AS table_name, a.attname AS column_name
FROM pg_class AS c
INNER JOIN pg_attribute AS a ON c.oid = a.attrelid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relnamespace = 'reporting'::regnamespace AND c.relkind IN ('r', 'v', 'm');

-- Columns about a person, shown only through the masking function named here.
CREATE TEMP TABLE masked_columns (view_name name, column_name name, mask text);
INSERT INTO masked_columns VALUES
('customer_lifetime_value', 'customer_key', 'reporting.pseudonymous_key');

-- Every reporting column whose name says it may hold personal data or a credential, unless allowed or masked.
CREATE FUNCTION pg_temp.personal_columns()
RETURNS SETOF text
LANGUAGE sql
STABLE
AS $$
    SELECT c.table_name || '.' || c.column_name
    FROM reporting_columns AS c
    WHERE
        (
            c.column_name ~ '(e_?mail|name|address|line1|line2|street|city|postal|zip|phone|token|hash|secret|password|user_agent)'
            OR c.column_name ~ '(^|_)ip($|_)'
        )
        AND (c.table_name, c.column_name) NOT IN (SELECT a.view_name, a.column_name FROM allowed_columns AS a)
        AND (c.table_name, c.column_name) NOT IN (SELECT m.view_name, m.column_name FROM masked_columns AS m)
    ORDER BY 1
$$;

-- Masked columns whose view does not compute them with their masking function.
CREATE FUNCTION pg_temp.unmasked_columns()
RETURNS SETOF text
LANGUAGE sql
STABLE
AS $$
    SELECT m.view_name || '.' || m.column_name
    FROM masked_columns AS m
    WHERE NOT coalesce(
        pg_get_viewdef(to_regclass('reporting.' || quote_ident(m.view_name)))
        ~ (replace(m.mask, '.', '\.') || '\([^,)]*\)\s+AS\s+' || m.column_name || '\M'),
        FALSE
    )
    ORDER BY 1
$$;

SELECT is(
    ARRAY(SELECT pg_temp.personal_columns()), ARRAY[]::text[],
    'no reporting column exposes personal data or a credential (else: mask it, or allow it with a reason)'
);
SELECT is(
    ARRAY(SELECT pg_temp.unmasked_columns()), ARRAY[]::text[],
    'every masked reporting column is computed by its masking function'
);
SELECT is(
    ARRAY(
        SELECT a.view_name || '.' || a.column_name FROM allowed_columns AS a
        WHERE NOT EXISTS (
            SELECT FROM reporting_columns AS c
            WHERE c.table_name = a.view_name AND c.column_name = a.column_name
        )
    ),
    ARRAY[]::text[],
    'every allowed column exists (no stale entries hide a future column of the same name)'
);

-- The checks see what they must: a view that leaks, and a "masked" column computed without the mask.
CREATE VIEW reporting.t33_leak AS
SELECT
    a.email AS contact_email,
    a.full_name,
    NULL::inet AS client_ip,
    NULL::text AS reset_token,
    NULL::text AS address_line1,
    a.created_at
FROM auth.accounts AS a;
CREATE VIEW reporting.t33_fake_mask AS
SELECT o.customer_id::text AS customer_key FROM shop.orders AS o;
INSERT INTO masked_columns VALUES ('t33_fake_mask', 'customer_key', 'reporting.pseudonymous_key');
SELECT is(
    ARRAY(SELECT pg_temp.personal_columns()),
    ARRAY['t33_leak.address_line1', 't33_leak.client_ip', 't33_leak.contact_email', 't33_leak.full_name',
          't33_leak.reset_token'],
    'the walk finds a new view''s e-mail, name, IP, token and address columns'
);
SELECT is(
    ARRAY(SELECT pg_temp.unmasked_columns()), ARRAY['t33_fake_mask.customer_key'],
    'a column listed as masked but not computed by the mask is found'
);
DROP VIEW reporting.t33_leak;
DROP VIEW reporting.t33_fake_mask;
DELETE FROM masked_columns WHERE view_name = 't33_fake_mask';

SET LOCAL ROLE postcart_analyst;
SELECT lives_ok(
    'SELECT reporting.pseudonymous_key(gen_random_uuid()), count(*) FROM reporting.customer_lifetime_value',
    'an analyst reads customers only as pseudonymous keys'
);
RESET ROLE;

-- == the export covers every table about a customer =================================================
-- Tables with a column naming a customer or their e-mail: each is exported, or excluded with a reason.
CREATE TEMP TABLE exported_tables (table_name text);
INSERT INTO exported_tables VALUES
('auth.accounts'), ('auth.account_requests'), ('auth.login_attempts'), ('auth.sessions'),
('auth.password_hashes'),      -- as account.password_set only: a credential is never exported
('auth.recovery_codes'),       -- as account.recovery_codes_left only
('integration.mail_suppressions'),  -- as account.marketing_suppressed
('integration.mails'), ('integration.events'),
('shop.addresses'), ('shop.carts'), ('shop.orders'), ('shop.promotion_redemptions'), ('shop.behaviour_events');
CREATE TEMP TABLE excluded_tables (table_name text, reason text);
INSERT INTO excluded_tables VALUES
('auth.staff_invitations', 'staff accounts only: the export and erasure are a customer''s'),
('integration.idempotency_keys', 'replays of responses already exported from their own tables; erased with the '
    || 'account and swept after a day');

CREATE FUNCTION pg_temp.customer_tables()
RETURNS SETOF text
LANGUAGE sql
STABLE
AS $$
    SELECT DISTINCT c.table_schema || '.' || c.table_name
    FROM information_schema.columns AS c
    INNER JOIN information_schema.tables AS t
        ON c.table_schema = t.table_schema AND c.table_name = t.table_name AND t.table_type = 'BASE TABLE'
    WHERE
        c.table_schema IN ('shop', 'auth', 'integration')
        AND c.column_name ~ '^(customer_id|account_id|subject_id|owner_id)$|email'
        -- A partition is covered with its partitioned table (partitioned tables are 'BASE TABLE' too).
        AND NOT (SELECT r.relispartition FROM pg_class AS r WHERE r.oid = format('%I.%I', c.table_schema, c.table_name)::regclass)
    ORDER BY 1
$$;

-- Tables with a customer column in neither list.
CREATE FUNCTION pg_temp.uncovered_tables()
RETURNS SETOF text
LANGUAGE sql
STABLE
AS $$
    SELECT t FROM pg_temp.customer_tables() AS t
    EXCEPT SELECT e.table_name FROM exported_tables AS e
    EXCEPT SELECT x.table_name FROM excluded_tables AS x
    ORDER BY 1
$$;

SELECT is(
    ARRAY(SELECT pg_temp.uncovered_tables()),
    ARRAY[]::text[],
    'every table with a customer column is in the export or excluded with a reason (docs/privacy.md)'
);
SELECT is(
    ARRAY(
        SELECT e.table_name FROM exported_tables AS e
        UNION ALL
        SELECT x.table_name FROM excluded_tables AS x
        EXCEPT SELECT t FROM pg_temp.customer_tables() AS t
        ORDER BY 1
    ),
    ARRAY[]::text[],
    'the lists name only tables that exist and have a customer column'
);
SELECT is(
    ARRAY(
        SELECT e.table_name FROM exported_tables AS e
        WHERE position(e.table_name IN pg_get_functiondef('api.export_me(jsonb)'::regprocedure)) = 0
        ORDER BY 1
    ),
    ARRAY[]::text[],
    'api.export_me reads every exported table'
);
SELECT is(
    ARRAY(
        SELECT t FROM pg_temp.customer_tables() AS t
        WHERE
            t <> 'auth.staff_invitations'
            AND position(t IN pg_get_functiondef('api.delete_me(jsonb,jsonb)'::regprocedure)) = 0
        ORDER BY 1
    ),
    ARRAY[]::text[],
    'api.delete_me erases or anonymises every table with a customer column (staff invitations aside)'
);
CREATE TABLE shop.t33_wishlists (customer_id uuid);
SELECT is(
    ARRAY(SELECT pg_temp.uncovered_tables()),
    ARRAY['shop.t33_wishlists'],
    'a new table with a customer column fails the guard until the export covers it'
);
DROP TABLE shop.t33_wishlists;

-- == export and erasure as a customer ================================================================
CREATE TEMP TABLE reg AS
SELECT api.register(
    '{"email": "ann@t33.example.com", "full_name": "Ann Example"}',
    '{"password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"}'
) -> 'customer' AS customer;
GRANT SELECT ON reg TO PUBLIC;
INSERT INTO shop.addresses (customer_id, full_name, line1, city, postal_code, country)
SELECT (customer ->> 'id')::uuid, 'Ann Example', '1 Private Road', 'Leeds', 'LS1 1AA', 'GB' FROM reg;

SET LOCAL ROLE postcart_customer;
SELECT set_config('request.claims', jsonb_build_object('sub', customer ->> 'id', 'kind', 'customer')::text, TRUE)
FROM reg;
SELECT is(
    (SELECT api.export_me('{}') #>> '{addresses,0,line1}') || ' ' || (api.export_me('{}') #>> '{account,email}'),
    '1 Private Road ann@t33.example.com',
    'a customer exports their own profile and addresses'
);
SELECT throws_ok(
    $$SELECT api.delete_me('{}', '{}')$$, 'PT401', 'reauthentication_required',
    'erasure needs the server''s proof of the password'
);
SELECT throws_ok(
    $$SELECT auth.replace_totp_secret(auth.current_account_id(), NULL, NULL)$$, '42501', NULL,
    'a customer cannot re-seal secrets'
);
SELECT is(api.delete_me('{}', '{"reauthenticated": true}'), NULL, 'with it the account is erased');
RESET ROLE;

SELECT is(
    (
        SELECT a.email::text ~ '^erased-[0-9a-f]{32}@erased\.invalid$' AND a.full_name = 'Erased customer'
            AND a.anonymised_at IS NOT NULL
            AND NOT EXISTS (SELECT FROM auth.password_hashes AS p WHERE p.account_id = a.id)
            AND NOT EXISTS (SELECT FROM shop.addresses AS d WHERE d.customer_id = a.id)
        FROM auth.accounts AS a, reg
        WHERE a.id = (reg.customer ->> 'id')::uuid
    ),
    TRUE,
    'the account keeps only a placeholder: no e-mail, name, password or address'
);
SELECT is(
    (
        SELECT e.payload ->> 'customer_id' FROM integration.events AS e, reg
        WHERE e.type = 'customer.deleted' AND e.subject_id = (reg.customer ->> 'id')::uuid
    ),
    (SELECT customer ->> 'id' FROM reg),
    'customer.deleted is emitted for integrations to erase their copies'
);
SELECT is(
    auth.replace_totp_secret((SELECT (customer ->> 'id')::uuid FROM reg), NULL, 'JBSWY3DPEHPK3PXP'), FALSE,
    'replace_totp_secret stores only sealed values'
);

SELECT * FROM finish();
ROLLBACK;
