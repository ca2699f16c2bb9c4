-- Staff API for tax rates and shipping methods: GET (any staff member) and POST (store_admin) of
-- /v1/admin/tax-rates and /v1/admin/shipping-methods. SECURITY INVOKER: the policies and column grants
-- of migration 0024 decide who reads and writes; the tables' constraints hold the rules
-- (docs/tax-and-shipping.md). Zones, the store setting and changes to existing rows are managed in SQL.

-- == shared ==========================================================================================
CREATE OR REPLACE FUNCTION shop.whole_number_error(value jsonb, lowest bigint, highest bigint)
RETURNS text
LANGUAGE sql
IMMUTABLE
AS $$
    -- CASE, not OR: its branches are tried in order, so the cast only meets integers.
    SELECT CASE
        WHEN coalesce(jsonb_typeof(value), 'null') = 'null' THEN NULL
        WHEN jsonb_typeof(value) <> 'number' OR value::text !~ '^-?[0-9]{1,15}$'
            THEN format('must be a whole number from %s to %s', lowest, highest)
        WHEN value::text::bigint NOT BETWEEN lowest AND highest
            THEN format('must be a whole number from %s to %s', lowest, highest)
    END
$$;
COMMENT ON FUNCTION shop.whole_number_error(jsonb, bigint, bigint) IS
'Validates an optional whole-number member of an api argument: absent or null is fine, else a JSON integer '
'from lowest to highest. Returns the problem as a short phrase, or NULL when fine (then value::text::bigint '
'is safe).';
REVOKE ALL ON FUNCTION shop.whole_number_error(jsonb, bigint, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.whole_number_error(jsonb, bigint, bigint) TO postcart_staff;

-- == tax rates =======================================================================================
CREATE OR REPLACE FUNCTION shop.tax_rate_json(r shop.tax_rates)
RETURNS jsonb
LANGUAGE sql
STABLE
AS $$
    SELECT jsonb_build_object(
        'id', r.id, 'country', r.country, 'region', r.region, 'tax_class', r.tax_class,
        'rate_percent', trim_scale(r.rate_percent), 'name', r.name,
        'valid_from', auth.to_rfc3339(r.valid_from), 'valid_to', auth.to_rfc3339(r.valid_to),
        'created_at', auth.to_rfc3339(r.created_at), 'updated_at', auth.to_rfc3339(r.updated_at)
    )
$$;
COMMENT ON FUNCTION shop.tax_rate_json(shop.tax_rates) IS
'A tax rate as the admin API shows it: {id, country, region, tax_class, rate_percent, name, valid_from, '
'valid_to, created_at, updated_at}. Returns jsonb.';
REVOKE ALL ON FUNCTION shop.tax_rate_json(shop.tax_rates) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.tax_rate_json(shop.tax_rates) TO postcart_staff;

CREATE OR REPLACE FUNCTION api.admin_list_tax_rates(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    fields jsonb := '{}';
    page_size integer := shop.page_size(args);
    only_country text := nullif(btrim(args ->> 'country'), '');
    after_country text;
    after_region text;
    after_class text;
    after_from timestamptz;
    after_id uuid;
    rows jsonb;
BEGIN
    IF page_size IS NULL THEN
        fields := fields || '{"limit": "must be between 1 and 100"}';
    END IF;
    IF only_country !~ '^[A-Z]{2}$' THEN
        fields := fields || '{"country": "must be an ISO 3166-1 alpha-2 code in upper case, e.g. DE"}';
    END IF;
    IF fields <> '{}' THEN
        PERFORM shop.fail(
            400, 'validation_failed', jsonb_build_object('fields', fields),
            'Some query parameters are invalid; details.fields says which and why.'
        );
    END IF;
    IF nullif(args ->> 'cursor', '') IS NOT NULL THEN
        DECLARE
            after jsonb := shop.decode_cursor(args ->> 'cursor');
        BEGIN
            after_country := after ->> 'country';
            after_region := after ->> 'region';
            after_class := after ->> 'tax_class';
            after_from := (after ->> 'from')::timestamptz;
            after_id := (after ->> 'id')::uuid;
            IF num_nulls(after_country, after_region, after_class, after_from, after_id) > 0 THEN
                RAISE EXCEPTION 'incomplete cursor';
            END IF;
        EXCEPTION WHEN OTHERS THEN
            PERFORM shop.fail_invalid_cursor();
        END;
    END IF;

    -- By place, class and start; keyset over the same key (NULL region first, NULL start earliest).
    SELECT jsonb_agg(page.item ORDER BY page.n)
    INTO rows
    FROM (
        SELECT
            row_number() OVER (
                ORDER BY r.country, coalesce(r.region, ''), r.tax_class,
                coalesce(r.valid_from, '-infinity'), r.id
            ) AS n,
            shop.tax_rate_json(r) || jsonb_build_object('_key', jsonb_build_object(
                'country', r.country, 'region', coalesce(r.region, ''), 'tax_class', r.tax_class,
                'from', coalesce(r.valid_from, '-infinity'), 'id', r.id
            )) AS item
        FROM shop.tax_rates AS r
        WHERE (only_country IS NULL OR r.country = only_country::char(2))
            AND (after_id IS NULL OR (
                r.country::text, coalesce(r.region, ''), r.tax_class, coalesce(r.valid_from, '-infinity'), r.id
            ) > (after_country, after_region, after_class, after_from, after_id))
        ORDER BY n
        LIMIT page_size + 1
    ) AS page;

    RETURN jsonb_build_object(
        'items', coalesce((
            SELECT jsonb_agg(e.value - '_key' ORDER BY e.n)
            FROM jsonb_array_elements(rows) WITH ORDINALITY AS e (value, n)
            WHERE e.n <= page_size
        ), '[]'),
        'next_cursor', CASE
            WHEN jsonb_array_length(coalesce(rows, '[]')) > page_size
                THEN shop.encode_cursor(rows -> (page_size - 1) -> '_key')
        END
    );
END
$$;
COMMENT ON FUNCTION api.admin_list_tax_rates(jsonb) IS
'GET /v1/admin/tax-rates?country=&limit=&cursor= (any staff member): tax rates by country, region '
'(country-wide first), class and start, in keyset pages. Returns {items: [{id, country, region, '
'tax_class, rate_percent, name, valid_from, valid_to, created_at, updated_at}], next_cursor}. Errors: '
'PT400 validation_failed (limit, country), PT400 invalid_cursor.';
REVOKE ALL ON FUNCTION api.admin_list_tax_rates(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.admin_list_tax_rates(jsonb) TO postcart_staff;

CREATE OR REPLACE FUNCTION api.admin_create_tax_rate(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    fields jsonb;
    created shop.tax_rates;
    overlapping jsonb;
BEGIN
    fields := jsonb_strip_nulls(jsonb_build_object(
        'country', CASE
            WHEN jsonb_typeof(args -> 'country') IS DISTINCT FROM 'string'
                OR NOT EXISTS (SELECT FROM shop.countries AS c WHERE c.code = args ->> 'country')
                THEN 'must be an ISO 3166-1 alpha-2 code in upper case, e.g. DE'
        END,
        'region', CASE
            WHEN coalesce(jsonb_typeof(args -> 'region'), 'null') = 'null' THEN NULL
            WHEN jsonb_typeof(args -> 'region') <> 'string' OR args ->> 'region' !~ '^[A-Z0-9]{1,3}$'
                THEN 'must be an ISO 3166-2 subdivision code without the country, e.g. CA, or null'
        END,
        'tax_class', CASE
            WHEN jsonb_typeof(args -> 'tax_class') IS DISTINCT FROM 'string'
                THEN 'must be the code of a tax class, e.g. standard or reduced'
        END,
        'rate_percent', CASE
            WHEN jsonb_typeof(args -> 'rate_percent') IS DISTINCT FROM 'number'
                OR (args ->> 'rate_percent') !~ '^[0-9]{1,3}(\.[0-9]{1,4})?$'
                THEN 'must be a percentage from 0 to 100 with at most four decimals, e.g. 19 or 8.875'
            WHEN (args ->> 'rate_percent')::numeric > 100
                THEN 'must be a percentage from 0 to 100 with at most four decimals, e.g. 19 or 8.875'
        END,
        'name', auth.text_field_error(args, 'name', TRUE, 200),
        'valid_from', shop.timestamp_field_error(args, 'valid_from'),
        'valid_to', shop.timestamp_field_error(args, 'valid_to')
    ));
    IF NOT fields ?| ARRAY['valid_from', 'valid_to']
        AND (args ->> 'valid_to')::timestamptz <= (args ->> 'valid_from')::timestamptz THEN
        fields := fields || '{"valid_to": "must be later than valid_from"}';
    END IF;
    IF fields <> '{}' THEN
        PERFORM shop.fail(
            422, 'validation_failed', jsonb_build_object('fields', fields),
            'Some fields are missing or invalid; details.fields says which and why.'
        );
    END IF;
    PERFORM shop.require_tax_class(args ->> 'tax_class');

    BEGIN
        INSERT INTO shop.tax_rates AS r (country, region, tax_class, rate_percent, name, valid_from, valid_to)
        VALUES (
            args ->> 'country', args ->> 'region', args ->> 'tax_class', (args ->> 'rate_percent')::numeric,
            btrim(args ->> 'name'), (args ->> 'valid_from')::timestamptz, (args ->> 'valid_to')::timestamptz
        )
        RETURNING r.* INTO created;
    EXCEPTION WHEN exclusion_violation THEN
        -- The constraint decided; this only names the rates in the way.
        SELECT jsonb_agg(r.id ORDER BY r.valid_from NULLS FIRST)
        INTO overlapping
        FROM shop.tax_rates AS r
        WHERE r.country = args ->> 'country' AND r.region IS NOT DISTINCT FROM args ->> 'region'
            AND r.tax_class = args ->> 'tax_class'
            AND r.valid_during
            && tstzrange((args ->> 'valid_from')::timestamptz, (args ->> 'valid_to')::timestamptz, '[)');
        PERFORM shop.fail(
            409, 'tax_rate_overlaps',
            jsonb_build_object(
                'overlapping', coalesce(overlapping, '[]'),
                'fields', jsonb_build_object('valid_from', 'another rate of this place and class is valid then')
            ),
            'Another rate of this place and class is valid in this window: end it first (valid_to).'
        );
    END;
    RETURN jsonb_build_object('tax_rate', shop.tax_rate_json(created));
END
$$;
COMMENT ON FUNCTION api.admin_create_tax_rate(jsonb) IS
'POST /v1/admin/tax-rates (store_admin): {country, region? (ISO 3166-2 code without the country, e.g. CA), '
'tax_class, rate_percent (0 to 100, up to four decimals), name (the receipt label), valid_from?, '
'valid_to? (RFC 3339; [valid_from, valid_to), open when absent)} adds a rate. Returns {tax_rate: {id, '
'country, region, tax_class, rate_percent, name, valid_from, valid_to, created_at, updated_at}}. Errors: '
'PT422 validation_failed, PT404 tax_class_not_found, PT409 tax_rate_overlaps (details.overlapping: the ids '
'of the rates of the same place and class valid in that window).';
REVOKE ALL ON FUNCTION api.admin_create_tax_rate(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.admin_create_tax_rate(jsonb) TO store_admin;

-- == shipping methods ================================================================================
CREATE OR REPLACE FUNCTION shop.shipping_method_json(method_id uuid)
RETURNS jsonb
LANGUAGE sql
STABLE
AS $$
    SELECT jsonb_build_object(
        'id', m.id, 'code', m.code, 'name', m.name,
        'zone', jsonb_build_object(
            'code', z.code, 'name', z.name,
            'countries', coalesce((
                SELECT jsonb_agg(
                    jsonb_build_object('country', zc.country, 'region', zc.region)
                    ORDER BY zc.country, zc.region NULLS FIRST
                )
                FROM shop.shipping_zone_countries AS zc WHERE zc.zone_id = z.id
            ), '[]')
        ),
        'currency', m.currency, 'rate_kind', m.rate_kind,
        'flat_amount', CASE
            WHEN m.flat_amount IS NOT NULL THEN jsonb_build_object('amount', m.flat_amount, 'currency', m.currency)
        END,
        'free_from_subtotal', CASE
            WHEN m.free_from_subtotal IS NOT NULL
                THEN jsonb_build_object('amount', m.free_from_subtotal, 'currency', m.currency)
        END,
        'tiers', coalesce((
            SELECT jsonb_agg(
                jsonb_build_object(
                    'min_weight_grams', t.min_weight_grams, 'max_weight_grams', t.max_weight_grams,
                    'amount', jsonb_build_object('amount', t.amount, 'currency', m.currency)
                )
                ORDER BY t.min_weight_grams
            )
            FROM shop.shipping_method_tiers AS t WHERE t.method_id = m.id
        ), '[]'),
        'tax_class', m.tax_class, 'active', m.active, 'position', m.position,
        'created_at', auth.to_rfc3339(m.created_at), 'updated_at', auth.to_rfc3339(m.updated_at)
    )
    FROM shop.shipping_methods AS m
    INNER JOIN shop.shipping_zones AS z ON m.zone_id = z.id
    WHERE m.id = shipping_method_json.method_id
$$;
COMMENT ON FUNCTION shop.shipping_method_json(uuid) IS
'A shipping method as the admin API shows it: {id, code, name, zone: {code, name, countries: [{country, '
'region}]}, currency, rate_kind, flat_amount: money|null, free_from_subtotal: money|null, tiers: '
'[{min_weight_grams, max_weight_grams, amount: money}], tax_class, active, position, created_at, '
'updated_at}; NULL when the caller cannot see it. Returns jsonb.';
REVOKE ALL ON FUNCTION shop.shipping_method_json(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.shipping_method_json(uuid) TO postcart_staff;

CREATE OR REPLACE FUNCTION api.admin_list_shipping_methods(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    page_size integer := shop.page_size(args);
    after_code text;
    codes text[];
BEGIN
    IF page_size IS NULL THEN
        PERFORM shop.fail(
            400, 'validation_failed', '{"fields": {"limit": "must be between 1 and 100"}}',
            'Some query parameters are invalid; details.fields says which and why.'
        );
    END IF;
    IF nullif(args ->> 'cursor', '') IS NOT NULL THEN
        after_code := shop.decode_cursor(args ->> 'cursor') ->> 'code';
        IF after_code IS NULL THEN
            PERFORM shop.fail_invalid_cursor();
        END IF;
    END IF;
    -- By code (unique), keyset over it; inactive methods included.
    SELECT array_agg(m.code ORDER BY m.code)
    INTO codes
    FROM (
        SELECT sm.code FROM shop.shipping_methods AS sm
        WHERE after_code IS NULL OR sm.code > after_code
        ORDER BY sm.code
        LIMIT page_size + 1
    ) AS m;
    RETURN jsonb_build_object(
        'items', coalesce((
            SELECT jsonb_agg(shop.shipping_method_json(m.id) ORDER BY m.code)
            FROM shop.shipping_methods AS m
            WHERE m.code = ANY(codes[1:page_size])
        ), '[]'),
        'next_cursor', CASE
            WHEN cardinality(codes) > page_size THEN shop.encode_cursor(jsonb_build_object('code', codes[page_size]))
        END
    );
END
$$;
COMMENT ON FUNCTION api.admin_list_shipping_methods(jsonb) IS
'GET /v1/admin/shipping-methods?limit=&cursor= (any staff member): every shipping method, active or not, '
'by code in keyset pages, each as shop.shipping_method_json shows it (zone with its countries, tiers). '
'Returns {items, next_cursor}. Errors: PT400 validation_failed (limit), PT400 invalid_cursor.';
REVOKE ALL ON FUNCTION api.admin_list_shipping_methods(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.admin_list_shipping_methods(jsonb) TO postcart_staff;

CREATE OR REPLACE FUNCTION api.admin_create_shipping_method(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    fields jsonb;
    kind text := args ->> 'rate_kind';
    -- Absent or null: no tiers.
    tiers jsonb := CASE WHEN coalesce(jsonb_typeof(args -> 'tiers'), 'null') = 'null' THEN '[]' ELSE args -> 'tiers' END;
    zone uuid;
    new_id uuid;
BEGIN
    fields := jsonb_strip_nulls(jsonb_build_object(
        'zone', CASE WHEN jsonb_typeof(args -> 'zone') IS DISTINCT FROM 'string' THEN 'must be a shipping zone code' END,
        'code', CASE
            WHEN jsonb_typeof(args -> 'code') IS DISTINCT FROM 'string'
                OR args ->> 'code' !~ '^[a-z0-9]+(-[a-z0-9]+)*$' OR length(args ->> 'code') > 64
                THEN 'must be lower-case letters and digits in hyphenated words, at most 64 characters'
        END,
        'name', auth.text_field_error(args, 'name', TRUE, 200),
        'currency', CASE
            WHEN jsonb_typeof(args -> 'currency') IS DISTINCT FROM 'string' OR args ->> 'currency' !~ '^[A-Z]{3}$'
                THEN 'must be a three-letter ISO 4217 code such as EUR'
        END,
        'rate_kind', CASE
            WHEN jsonb_typeof(args -> 'rate_kind') IS DISTINCT FROM 'string' OR kind NOT IN ('flat', 'weight_tiered')
                THEN 'must be flat or weight_tiered'
        END,
        'flat_amount', coalesce(
            shop.whole_number_error(args -> 'flat_amount', 0, 100000000000),
            CASE
                WHEN kind = 'flat' AND coalesce(jsonb_typeof(args -> 'flat_amount'), 'null') = 'null'
                    THEN 'is required for a flat method'
                WHEN kind = 'weight_tiered' AND coalesce(jsonb_typeof(args -> 'flat_amount'), 'null') <> 'null'
                    THEN 'is only for flat methods: a weight_tiered method is priced by its tiers'
            END
        ),
        'free_from_subtotal', shop.whole_number_error(args -> 'free_from_subtotal', 0, 100000000000),
        'tax_class', CASE
            WHEN coalesce(jsonb_typeof(args -> 'tax_class'), 'null') NOT IN ('null', 'string')
                THEN 'must be the code of a tax class, e.g. standard'
        END,
        'active', CASE
            WHEN coalesce(jsonb_typeof(args -> 'active'), 'null') NOT IN ('null', 'boolean') THEN 'must be true or false'
        END,
        'position', shop.whole_number_error(args -> 'position', -1000000, 1000000),
        'tiers', CASE
            WHEN jsonb_typeof(tiers) <> 'array'
                THEN 'must be an array of at most 100 tiers {min_weight_grams?, max_weight_grams?, amount}'
            WHEN jsonb_array_length(tiers) > 100
                THEN 'must be an array of at most 100 tiers {min_weight_grams?, max_weight_grams?, amount}'
            WHEN kind = 'weight_tiered' AND jsonb_array_length(tiers) = 0
                THEN 'a weight_tiered method needs at least one tier'
            WHEN kind = 'flat' AND jsonb_array_length(tiers) > 0 THEN 'only weight_tiered methods have tiers'
        END
    ));
    -- Each tier, then overlaps among them (the exclusion constraint would refuse them too, less clearly).
    IF NOT fields ? 'tiers' THEN
        SELECT fields || coalesce(jsonb_object_agg(p.field, p.problem), '{}')
        INTO fields
        FROM (
            SELECT format('tiers.%s', t.n - 1) AS field, 'must be {min_weight_grams?, max_weight_grams?, amount}' AS problem
            FROM jsonb_array_elements(tiers) WITH ORDINALITY AS t (tier, n)
            WHERE jsonb_typeof(t.tier) <> 'object'
            UNION ALL
            SELECT format('tiers.%s.%s', t.n - 1, k.key), k.problem
            FROM jsonb_array_elements(tiers) WITH ORDINALITY AS t (tier, n)
            CROSS JOIN LATERAL (VALUES
                ('min_weight_grams', shop.whole_number_error(t.tier -> 'min_weight_grams', 0, 1000000000000)),
                ('max_weight_grams', shop.whole_number_error(t.tier -> 'max_weight_grams', 0, 1000000000000)),
                ('amount', coalesce(
                    shop.whole_number_error(t.tier -> 'amount', 0, 100000000000),
                    CASE WHEN coalesce(jsonb_typeof(t.tier -> 'amount'), 'null') = 'null' THEN 'is required' END
                ))
            ) AS k (key, problem)
            WHERE jsonb_typeof(t.tier) = 'object' AND k.problem IS NOT NULL
        ) AS p;
    END IF;
    IF NOT fields ? 'tiers' AND NOT EXISTS (SELECT FROM jsonb_object_keys(fields) AS k WHERE k LIKE 'tiers.%') THEN
        SELECT fields || coalesce(jsonb_object_agg(p.field, p.problem), '{}')
        INTO fields
        FROM (
            SELECT DISTINCT ON (b.n)
                format('tiers.%s', b.n - 1) AS field,
                CASE
                    WHEN b.lo > b.hi THEN 'max_weight_grams must not be below min_weight_grams'
                    ELSE format('overlaps tiers.%s', a.n - 1)
                END AS problem
            FROM (
                SELECT t.n, coalesce((t.tier ->> 'min_weight_grams')::bigint, 0) AS lo, (t.tier ->> 'max_weight_grams')::bigint AS hi
                FROM jsonb_array_elements(tiers) WITH ORDINALITY AS t (tier, n)
            ) AS b
            LEFT JOIN (
                SELECT t.n, coalesce((t.tier ->> 'min_weight_grams')::bigint, 0) AS lo, (t.tier ->> 'max_weight_grams')::bigint AS hi
                FROM jsonb_array_elements(tiers) WITH ORDINALITY AS t (tier, n)
            ) AS a ON a.n < b.n AND a.lo <= coalesce(b.hi, a.lo) AND b.lo <= coalesce(a.hi, b.lo)
                AND (b.lo > b.hi) IS NOT TRUE AND (a.lo > a.hi) IS NOT TRUE
            WHERE b.lo > b.hi OR a.n IS NOT NULL
            ORDER BY b.n, a.n
        ) AS p;
    END IF;
    IF fields <> '{}' THEN
        PERFORM shop.fail(
            422, 'validation_failed', jsonb_build_object('fields', fields),
            'Some fields are missing or invalid; details.fields says which and why.'
        );
    END IF;

    SELECT z.id INTO zone FROM shop.shipping_zones AS z WHERE z.code = args ->> 'zone';
    IF zone IS NULL THEN
        PERFORM shop.fail(
            404, 'shipping_zone_not_found',
            jsonb_build_object('fields', jsonb_build_object('zone', 'no shipping zone has this code')),
            'No shipping zone has this code; zones are added in SQL (docs/tax-and-shipping.md).'
        );
    END IF;
    IF jsonb_typeof(args -> 'tax_class') = 'string' THEN
        PERFORM shop.require_tax_class(args ->> 'tax_class');
    END IF;

    BEGIN
        INSERT INTO shop.shipping_methods AS m (
            zone_id, code, name, currency, rate_kind, flat_amount, free_from_subtotal, tax_class, active, position
        )
        VALUES (
            zone, args ->> 'code', btrim(args ->> 'name'), args ->> 'currency', kind,
            (args ->> 'flat_amount')::bigint, (args ->> 'free_from_subtotal')::bigint,
            coalesce(args ->> 'tax_class', 'standard'), coalesce((args ->> 'active')::boolean, TRUE),
            coalesce((args ->> 'position')::integer, 0)
        )
        RETURNING m.id INTO new_id;
    EXCEPTION WHEN unique_violation THEN
        PERFORM shop.fail(
            409, 'shipping_method_exists',
            jsonb_build_object('fields', jsonb_build_object('code', 'is another shipping method''s code')),
            'Shipping method codes are unique: a cart selects a method by its code.'
        );
    END;
    INSERT INTO shop.shipping_method_tiers (method_id, min_weight_grams, max_weight_grams, amount)
    SELECT
        new_id, coalesce((t.tier ->> 'min_weight_grams')::bigint, 0), (t.tier ->> 'max_weight_grams')::bigint,
        (t.tier ->> 'amount')::bigint
    FROM jsonb_array_elements(tiers) AS t (tier);
    RETURN jsonb_build_object('shipping_method', shop.shipping_method_json(new_id));
END
$$;
COMMENT ON FUNCTION api.admin_create_shipping_method(jsonb) IS
'POST /v1/admin/shipping-methods (store_admin): {zone (code), code, name, currency, rate_kind (flat or '
'weight_tiered), flat_amount? (minor units; required for flat, refused for weight_tiered), '
'free_from_subtotal? (free from this subtotal, inclusive), tax_class? (default standard), active? (default '
'true), position? (order among equal prices), tiers?: [{min_weight_grams? (default 0), max_weight_grams? '
'(inclusive; null: no limit), amount}] (weight_tiered only, at least one, not overlapping)}. Returns '
'{shipping_method} as shop.shipping_method_json shows it. Errors: PT422 validation_failed (details.fields '
'names each bad member, e.g. "tiers.1.amount" or "tiers.2": "overlaps tiers.0"), PT404 '
'shipping_zone_not_found, PT404 tax_class_not_found, PT409 shipping_method_exists.';
REVOKE ALL ON FUNCTION api.admin_create_shipping_method(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.admin_create_shipping_method(jsonb) TO store_admin;
