-- The audit trail for auditors: GET /v1/admin/audit (store_admin). SECURITY INVOKER: store_admin's column
-- grant and RLS policy on audit.records decide, so every other role is refused by the database.
-- The trail is written by migrations/0036_audit.sql; docs/audit.md explains it.

CREATE OR REPLACE FUNCTION api.list_audit_records(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    page_size integer := shop.page_size(args);
    want_table text := nullif(args ->> 'table', '');
    want_record text := nullif(args ->> 'record_id', '');
    since timestamptz;
    before timestamptz;
    after_id bigint;
    last_seen jsonb;
    fields jsonb := '{}';
    result jsonb;
BEGIN
    IF page_size IS NULL THEN
        fields := fields || '{"limit": "must be between 1 and 100"}';
    END IF;
    IF shop.timestamp_field_error(args, 'since') IS NOT NULL THEN
        fields := fields || jsonb_build_object('since', shop.timestamp_field_error(args, 'since'));
    END IF;
    IF shop.timestamp_field_error(args, 'before') IS NOT NULL THEN
        fields := fields || jsonb_build_object('before', shop.timestamp_field_error(args, 'before'));
    END IF;
    IF want_record IS NOT NULL AND want_table IS NULL THEN
        fields := fields || '{"table": "is required with record_id"}';
    END IF;
    IF fields <> '{}' THEN
        PERFORM shop.fail(
            400, 'validation_failed', jsonb_build_object('fields', fields),
            'Some query parameters are invalid; details.fields says which and why.'
        );
    END IF;
    since := (args ->> 'since')::timestamptz;
    before := (args ->> 'before')::timestamptz;
    IF nullif(args ->> 'cursor', '') IS NOT NULL THEN
        last_seen := shop.decode_cursor(args ->> 'cursor');
        IF last_seen ->> 'id' !~ '^[0-9]{1,18}$' THEN
            PERFORM shop.fail_invalid_cursor();
        END IF;
        after_id := (last_seen ->> 'id')::bigint;
    END IF;

    -- Newest first by id (insertion order); with table and record_id the index on both answers.
    WITH page AS (
        SELECT r.*, row_number() OVER (ORDER BY r.id DESC) AS n
        FROM audit.records AS r
        WHERE
            (want_table IS NULL OR r.table_name = want_table)
            AND (want_record IS NULL OR r.record_id = want_record)
            AND (since IS NULL OR r.at >= since)
            AND (before IS NULL OR r.at < before)
            AND (after_id IS NULL OR r.id < after_id)
        ORDER BY r.id DESC
        LIMIT page_size + 1
    )

    SELECT jsonb_build_object(
        'items', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                'id', page.id, 'at', page.at, 'txid', page.txid, 'account_id', page.account_id,
                'db_role', page.db_role, 'login_role', page.login_role, 'request_id', page.request_id,
                'table', page.table_name, 'record_id', page.record_id, 'record_key', page.record_key,
                'action', page.action, 'old_values', page.old_values, 'new_values', page.new_values
            ) ORDER BY page.n)
            FROM page WHERE page.n <= page_size
        ), '[]'),
        'next_cursor', (
            SELECT shop.encode_cursor(jsonb_build_object('id', page.id))
            FROM page
            WHERE page.n = page_size AND EXISTS (SELECT FROM page AS more WHERE more.n > page_size)
        )
    )
    INTO result;
    RETURN result;
END
$$;
COMMENT ON FUNCTION api.list_audit_records(jsonb) IS
'GET /v1/admin/audit (store_admin): the audit trail, newest first, in keyset pages (limit 1..100, default '
'20; cursor), optionally of one table (table, e.g. shop.orders) and one record (record_id, with table), '
'from since (inclusive) and before (exclusive) instants. Returns {items: [{id, at, txid, account_id, '
'db_role, login_role, request_id, table, record_id, record_key, action, old_values, new_values}], '
'next_cursor}; secrets read "[redacted]". Errors: PT400 validation_failed, PT400 invalid_cursor; other '
'roles are refused (403).';

REVOKE ALL ON FUNCTION api.list_audit_records(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.list_audit_records(jsonb) TO store_admin;
