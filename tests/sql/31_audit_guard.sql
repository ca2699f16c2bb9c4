-- The audit trail's guards (issue 9 item 3): every shop and auth table carries the audit triggers unless
-- it is one of the justified exceptions in audit.unaudited_tables; every column named like a secret is in
-- the one redaction list, and each trigger was attached with its table's current list.
BEGIN;
SELECT plan(7);

SELECT is_empty(
    $$
    SELECT format('%s.%s', n.nspname, c.relname)
    FROM pg_class AS c
    INNER JOIN pg_namespace AS n ON c.relnamespace = n.oid
    WHERE
        n.nspname IN ('shop', 'auth') AND c.relkind IN ('r', 'p') AND NOT c.relispartition
        AND format('%s.%s', n.nspname, c.relname) NOT IN (SELECT table_name FROM audit.unaudited_tables)
        AND (
            SELECT count(*) FROM pg_trigger AS t
            WHERE
                t.tgrelid = c.oid AND t.tgenabled = 'O'
                AND t.tgname IN ('audit_record_change', 'audit_record_truncate')
        ) <> 2
    $$,
    'every shop and auth table has both audit triggers (rows and TRUNCATE), enabled, or is a listed exception '
    '(attach them: SELECT audit.enable_for(''shop.x''))'
);

-- Of integration, the tables a person decides (migration 0045); its queues and logs stay out.
SELECT is(
    ARRAY(
        SELECT DISTINCT t.tgrelid::regclass::text FROM pg_trigger AS t
        INNER JOIN pg_class AS c ON t.tgrelid = c.oid
        WHERE
            c.relnamespace = 'integration'::regnamespace AND t.tgenabled = 'O'
            AND t.tgname IN ('audit_record_change', 'audit_record_truncate')
        ORDER BY 1
    ),
    ARRAY['integration.mail_settings', 'integration.rate_limit_rules', 'integration.webhook_subscriptions'],
    'integration''s settings tables are audited: webhook subscriptions, rate limit rules, mail settings'
);

SELECT is_empty(
    $$
    SELECT u.table_name FROM audit.unaudited_tables AS u
    WHERE to_regclass(u.table_name) IS NULL OR length(u.reason) < 10
    $$,
    'every exception names an existing table and says why'
);

SELECT is_empty(
    $$
    SELECT format('%s.%s.%s', c.table_schema, c.table_name, c.column_name)
    FROM information_schema.columns AS c
    INNER JOIN pg_tables AS t ON c.table_schema = t.schemaname AND c.table_name = t.tablename
    WHERE
        c.table_schema IN ('shop', 'auth', 'integration')
        AND c.column_name ~ '(hash|secret|token|password)'
    EXCEPT
    SELECT format('%s.%s', r.table_name, r.column_name) FROM audit.redacted_columns AS r
    $$,
    'every column named like hash, secret, token or password in shop, auth and integration is redacted'
);

SELECT is_empty(
    $$
    SELECT format('%s.%s', r.table_name, r.column_name) FROM audit.redacted_columns AS r
    WHERE NOT EXISTS (
        SELECT FROM information_schema.columns AS c
        WHERE format('%s.%s', c.table_schema, c.table_name) = r.table_name AND c.column_name = r.column_name
    )
    $$,
    'the redaction list names only existing columns'
);

-- The trigger's second argument is the redaction list as it was when attached: after a change of the
-- list, audit.enable_for must run again.
SELECT is_empty(
    $$
    SELECT t.tgrelid::regclass::text
    FROM pg_trigger AS t
    INNER JOIN pg_class AS c ON t.tgrelid = c.oid
    INNER JOIN pg_namespace AS n ON c.relnamespace = n.oid
    WHERE
        t.tgname IN ('audit_record_change', 'audit_record_truncate')
        AND (
            SELECT coalesce(array_agg(r.column_name ORDER BY r.column_name), '{}')
            FROM audit.redacted_columns AS r WHERE r.table_name = format('%s.%s', n.nspname, c.relname)
        )::text
        <> split_part(encode(t.tgargs, 'escape'), '\000', 2)
    $$,
    'every audit trigger redacts exactly its table''s listed columns'
);

SELECT is_empty(
    $$
    SELECT format('%s.%s', n.nspname, c.relname)
    FROM pg_class AS c
    INNER JOIN pg_namespace AS n ON c.relnamespace = n.oid
    WHERE n.nspname = 'audit' AND c.relkind = 'r' AND NOT (c.relrowsecurity AND c.relforcerowsecurity)
    $$,
    'audit tables have RLS enabled and forced'
);

SELECT * FROM finish();
ROLLBACK;
