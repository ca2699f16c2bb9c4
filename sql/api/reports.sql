-- Staff reports: GET /v1/admin/reports/{name} (docs/dashboard.md), what the dashboard at /admin/dashboard
-- draws. A fixed allowlist of reporting views; each is read only if it exists yet (to_regclass), so a view
-- another change adds later is picked up without touching this file. SECURITY DEFINER: staff have no grant
-- on the reporting schema (the views are the analysts'); the EXECUTE grant below decides who may read.

-- == input helpers ===================================================================================
CREATE OR REPLACE FUNCTION shop.date_field_error(args jsonb, key text)
RETURNS text
LANGUAGE sql
STABLE
AS $$
    -- A real day is one whose midnight is a valid time (sql/api/prices.sql checks that).
    SELECT CASE
        WHEN jsonb_typeof(args -> key) IS NULL OR jsonb_typeof(args -> key) = 'null' THEN NULL
        WHEN jsonb_typeof(args -> key) <> 'string' OR args ->> key !~ '^\d{4}-\d{2}-\d{2}$'
            THEN 'must be a date, YYYY-MM-DD, e.g. 2026-01-31'
        WHEN shop.timestamp_field_error(jsonb_build_object('day', (args ->> key) || 'T00:00:00Z'), 'day') IS NOT NULL
            THEN 'is not a valid date'
    END
$$;
COMMENT ON FUNCTION shop.date_field_error(jsonb, text) IS
'Validates an optional date member of an api argument object: absent or null is fine, else it must be a '
'YYYY-MM-DD string naming a real day. Returns the problem as a short phrase, or NULL when fine (then '
'(args ->> key)::date is safe).';
REVOKE ALL ON FUNCTION shop.date_field_error(jsonb, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.date_field_error(jsonb, text) TO postcart_staff;

-- == the allowlist ===================================================================================
CREATE OR REPLACE FUNCTION shop.staff_reports()
RETURNS TABLE (report text, date_column text, sort_keys text[])
LANGUAGE sql
IMMUTABLE
AS $$
    -- sort_keys: columns in order, '-' first for descending; keys the view lacks are skipped, and the
    -- whole row breaks ties, so pages never overlap whatever the view's final shape.
    VALUES
        ('sales_daily', 'day', ARRAY['day', 'currency']),
        ('conversion_funnel_daily', 'day', ARRAY['day']),
        ('top_products', 'period_start', ARRAY['-period_start', '-revenue', '-units']),
        ('low_stock', NULL, ARRAY['available', 'sku'])
$$;
COMMENT ON FUNCTION shop.staff_reports() IS
'The reporting views staff may read through GET /v1/admin/reports/{name}: the view''s name in schema '
'reporting, the date column the since/until filters apply to (NULL: none) and the sort order. Returns '
'one row per report.';
REVOKE ALL ON FUNCTION shop.staff_reports() FROM PUBLIC;

-- == GET /v1/admin/reports/{name} ====================================================================
CREATE OR REPLACE FUNCTION api.admin_report(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    want text := args ->> 'name';
    def record;
    view_oid oid;
    cols text[];
    as_csv boolean := coalesce(args ->> 'format', 'json') = 'csv';
    page_size integer := shop.page_size(args);
    skip bigint := 0;
    position jsonb;
    bound text;
    fields jsonb := '{}';
    conditions text[] := ARRAY['TRUE'];
    ordering text;
    rows jsonb;
    has_more boolean;
BEGIN
    SELECT r.* INTO def FROM shop.staff_reports() AS r WHERE r.report = want;
    view_oid := CASE WHEN def.report IS NOT NULL THEN to_regclass('reporting.' || quote_ident(def.report)) END;
    IF view_oid IS NULL THEN
        PERFORM shop.fail(
            404, 'report_not_found',
            jsonb_build_object('reports', (SELECT jsonb_agg(r.report ORDER BY r.report) FROM shop.staff_reports() AS r)),
            'No such report here (yet); details.reports lists the names this server knows.'
        );
    END IF;
    SELECT array_agg(a.attname::text ORDER BY a.attnum) INTO cols
    FROM pg_attribute AS a
    WHERE a.attrelid = view_oid AND a.attnum > 0 AND NOT a.attisdropped;
    IF NOT def.date_column = ANY(cols) THEN
        def.date_column := NULL;
    END IF;

    -- Validate everything first and name every bad field at once.
    IF coalesce(args ->> 'format', 'json') NOT IN ('json', 'csv') THEN
        fields := fields || '{"format": "must be json or csv"}';
    END IF;
    IF page_size IS NULL THEN
        fields := fields || '{"limit": "must be between 1 and 100"}';
    END IF;
    FOREACH bound IN ARRAY ARRAY['since', 'until'] LOOP
        IF shop.date_field_error(args, bound) IS NOT NULL THEN
            fields := fields || jsonb_build_object(bound, shop.date_field_error(args, bound));
        ELSIF args ? bound AND def.date_column IS NULL THEN
            fields := fields || jsonb_build_object(bound, 'does not apply: ' || want || ' has no dates');
        END IF;
    END LOOP;
    IF fields = '{}' AND (args ->> 'since')::date > (args ->> 'until')::date THEN
        fields := fields || '{"until": "must not be before since"}';
    END IF;
    IF args ? 'currency' AND NOT 'currency' = ANY(cols) THEN
        fields := fields || jsonb_build_object('currency', 'does not apply: ' || want || ' has no currency');
    END IF;
    IF args ? 'period' AND NOT 'period' = ANY(cols) THEN
        fields := fields || jsonb_build_object('period', 'does not apply: ' || want || ' has no periods');
    END IF;
    IF fields <> '{}' THEN
        PERFORM shop.fail(
            400, 'validation_failed', jsonb_build_object('fields', fields),
            'Some query parameters are invalid; details.fields says which and why.'
        );
    END IF;
    IF nullif(args ->> 'cursor', '') IS NOT NULL THEN
        position := shop.decode_cursor(args ->> 'cursor');
        IF position ->> 'offset' !~ '^[0-9]{1,9}$' THEN
            PERFORM shop.fail_invalid_cursor();
        END IF;
        skip := (position ->> 'offset')::bigint;
    END IF;

    -- Column names come from the catalog and the allowlist only, always quoted; values are parameters.
    IF args ? 'since' THEN
        conditions := conditions || format('v.%I >= $1', def.date_column);
    END IF;
    IF args ? 'until' THEN
        conditions := conditions || format('v.%I <= $2', def.date_column);
    END IF;
    IF args ? 'currency' THEN
        conditions := conditions || 'v.currency::text = $3'::text;
    END IF;
    IF args ? 'period' THEN
        conditions := conditions || 'v.period::text = $4'::text;
    END IF;
    SELECT string_agg(
        format('v.%I', ltrim(k.key, '-')) || CASE WHEN k.key LIKE '-%' THEN ' DESC' ELSE '' END, ', '
        ORDER BY k.n
    ) || ', ' INTO ordering
    FROM unnest(def.sort_keys) WITH ORDINALITY AS k (key, n)
    WHERE ltrim(k.key, '-') = ANY(cols);

    EXECUTE format(
        'SELECT jsonb_agg(to_jsonb(v) ORDER BY %s v::text) FROM (SELECT v.* FROM reporting.%I AS v WHERE %s '
        'ORDER BY %s v::text OFFSET $5 LIMIT $6) AS v',
        coalesce(ordering, ''), def.report, array_to_string(conditions, ' AND '), coalesce(ordering, '')
    )
    INTO rows
    USING (args ->> 'since')::date, (args ->> 'until')::date, args ->> 'currency', args ->> 'period',
    CASE WHEN as_csv THEN 0 ELSE skip END,
    CASE WHEN as_csv THEN 100000 ELSE page_size + 1 END;
    rows := coalesce(rows, '[]');

    IF as_csv THEN
        RETURN to_jsonb(shop.csv_line(cols) || E'\r\n' || coalesce((
            SELECT string_agg(
                shop.csv_line(ARRAY(SELECT r.row ->> c.name FROM unnest(cols) WITH ORDINALITY AS c (name, n) ORDER BY c.n)),
                E'\r\n' ORDER BY r.n
            ) || E'\r\n'
            FROM jsonb_array_elements(rows) WITH ORDINALITY AS r (row, n)
        ), ''));
    END IF;
    has_more := jsonb_array_length(rows) > page_size;
    RETURN jsonb_build_object(
        'report', want,
        'columns', to_jsonb(cols),
        'items', CASE WHEN has_more THEN rows - page_size ELSE rows END,
        'next_cursor', CASE WHEN has_more THEN shop.encode_cursor(jsonb_build_object('offset', skip + page_size)) END
    );
END
$$;
COMMENT ON FUNCTION api.admin_report(jsonb) IS
'GET /v1/admin/reports/{name} (store_admin, catalog_manager, inventory_manager, order_manager): the rows '
'of one reporting view staff may read (sales_daily, conversion_funnel_daily, top_products, low_stock), '
'each row an object of the view''s columns (amounts in minor units, as in docs/reporting.md). Filters: '
'since and until (inclusive days, YYYY-MM-DD) on the report''s date column, currency, and period '
'(top_products). Pages: limit 1..100 (default 20) and cursor. format=csv returns every matching row (up '
'to 100,000) as CSV with a header row, as a JSON string the layer sends as text/csv. Returns {report, '
'columns, items, next_cursor}. Errors: PT404 report_not_found (unknown, or its view does not exist yet), '
'PT400 validation_failed naming the fields, PT400 invalid_cursor; other roles are refused (403).';
REVOKE ALL ON FUNCTION api.admin_report(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.admin_report(jsonb) TO store_admin;
GRANT EXECUTE ON FUNCTION api.admin_report(jsonb) TO catalog_manager;
GRANT EXECUTE ON FUNCTION api.admin_report(jsonb) TO inventory_manager;
GRANT EXECUTE ON FUNCTION api.admin_report(jsonb) TO order_manager;
