-- Stores API: GET /v1/stores (everyone; nearest first with ?near=lat,lng, else by name in keyset pages)
-- and POST /v1/admin/stores (catalog_manager). SECURITY INVOKER: the policies and column grants of
-- shop.warehouses (migration 0010) decide who sees and writes what.

-- == GET /v1/stores ==================================================================================
CREATE OR REPLACE FUNCTION api.list_stores(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
-- Planned with the actual position, so the KNN index scan's origin is a constant.
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    fields jsonb := '{}';
    near_text text := nullif(btrim(args ->> 'near'), '');
    near_parts text[];
    origin_lat double precision;
    origin_lng double precision;
    page_size integer;
    last_seen jsonb;
    after_name text;
    after_id uuid;
    items jsonb;
    next_cursor text;
BEGIN
    -- -- validate every parameter, then report all problems at once --------------------------------
    page_size := shop.page_size(args);
    IF page_size IS NULL THEN
        fields := fields || '{"limit": "must be between 1 and 100"}';
    END IF;
    IF near_text IS NOT NULL THEN
        near_parts := regexp_match(
            near_text, '^([-+]?[0-9]{1,10}(?:\.[0-9]{1,15})?)\s*,\s*([-+]?[0-9]{1,10}(?:\.[0-9]{1,15})?)$'
        );
        IF near_parts IS NULL THEN
            fields := fields || jsonb_build_object(
                'near', 'must be a latitude and a longitude in decimal degrees, comma-separated: 52.52,13.405'
            );
        ELSIF NOT near_parts[1]::numeric BETWEEN -90 AND 90 THEN
            fields := fields || '{"near": "the latitude (first number) must be between -90 and 90"}';
        ELSIF NOT near_parts[2]::numeric BETWEEN -180 AND 180 THEN
            fields := fields || '{"near": "the longitude (second number) must be between -180 and 180"}';
        ELSE
            origin_lat := near_parts[1]::double precision;
            origin_lng := near_parts[2]::double precision;
        END IF;
        IF nullif(args ->> 'cursor', '') IS NOT NULL THEN
            fields := fields || '{"cursor": "is not used with near: the nearest stores come in one page"}';
        END IF;
    END IF;
    IF fields <> '{}' THEN
        PERFORM shop.fail(
            400, 'validation_failed',
            jsonb_build_object('fields', fields),
            'Some query parameters are invalid; details.fields says which and why.'
        );
    END IF;

    -- -- nearest first: one page of the page_size nearest, through the GiST index --------------------
    IF near_text IS NOT NULL THEN
        SELECT coalesce(jsonb_agg(
            shop.store_json(
                s.id, s.code, s.name, s.line1, s.line2, s.city, s.postal_code, s.country, s.latitude,
                s.longitude, s.pickup, s.distance_km
            )
            ORDER BY s.distance_km, s.id
        ), '[]')
        INTO items
        FROM shop.stores_near(origin_lat, origin_lng, page_size) AS s;
        RETURN jsonb_build_object('items', items, 'next_cursor', NULL);
    END IF;

    -- -- by name, keyset pages -------------------------------------------------------------------------
    IF nullif(args ->> 'cursor', '') IS NOT NULL THEN
        last_seen := shop.decode_cursor(args ->> 'cursor');
        BEGIN
            after_name := last_seen ->> 'name';
            after_id := (last_seen ->> 'id')::uuid;
            IF after_name IS NULL OR after_id IS NULL THEN
                RAISE EXCEPTION 'incomplete cursor';
            END IF;
        EXCEPTION WHEN OTHERS THEN
            PERFORM shop.fail(
                400, 'invalid_cursor',
                jsonb_build_object('fields', jsonb_build_object('cursor', 'is not a cursor from this list')),
                'Pass back next_cursor exactly as a previous page returned it, or omit cursor.'
            );
        END;
    END IF;

    WITH page AS (
        SELECT w.id, w.code, w.name, w.line1, w.line2, w.city, w.postal_code, w.country, w.latitude, w.longitude,
            w.pickup
        FROM shop.warehouses AS w
        WHERE w.listed AND (after_id IS NULL OR (w.name, w.id) > (after_name, after_id))
        ORDER BY w.name, w.id
        LIMIT page_size + 1
    ),

    numbered AS (
        SELECT page.*, row_number() OVER (ORDER BY page.name, page.id) AS n FROM page
    )

    SELECT
        coalesce(jsonb_agg(
            shop.store_json(
                numbered.id, numbered.code, numbered.name, numbered.line1, numbered.line2, numbered.city,
                numbered.postal_code, numbered.country::text, numbered.latitude, numbered.longitude,
                numbered.pickup, NULL
            )
            ORDER BY numbered.n
        ) FILTER (WHERE numbered.n <= page_size), '[]'),
        CASE WHEN count(*) > page_size THEN
            shop.encode_cursor((
                SELECT jsonb_build_object('name', last_row.name, 'id', last_row.id)
                FROM numbered AS last_row WHERE last_row.n = page_size
            ))
        END
    INTO items, next_cursor
    FROM numbered;
    RETURN jsonb_build_object('items', items, 'next_cursor', next_cursor);
END
$$;
COMMENT ON FUNCTION api.list_stores(jsonb) IS
'Pickup stores and warehouses open to the public (listed places). With near=lat,lng (decimal degrees): '
'the limit nearest (default 20, at most 100), nearest first, with distance_km, in one page (next_cursor '
'is null); without near: all of them by name, in keyset pages (limit, cursor). Returns {items: [{id, '
'code, name, address: {line1, line2, city, postal_code, country}, latitude, longitude, pickup, '
'distance_km}], next_cursor}. 400 validation_failed with details.fields.near (not two numbers, out of '
'range), .limit or .cursor; 400 invalid_cursor.';
REVOKE ALL ON FUNCTION api.list_stores(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.list_stores(jsonb) TO postcart_anon;
GRANT EXECUTE ON FUNCTION api.list_stores(jsonb) TO postcart_customer;
GRANT EXECUTE ON FUNCTION api.list_stores(jsonb) TO postcart_staff;

-- == POST /v1/admin/stores ===========================================================================
CREATE OR REPLACE FUNCTION api.create_store(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    address jsonb := args -> 'address';
    v_code text := btrim(args ->> 'code');
    v_country text;
    fields jsonb;
    store shop.warehouses;
BEGIN
    fields := jsonb_strip_nulls(jsonb_build_object(
        'code', coalesce(
            auth.text_field_error(args, 'code', TRUE, 32),
            CASE WHEN v_code !~ '^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$'
                THEN 'must be letters and digits in groups joined by hyphens, such as BER-1' END
        ),
        'name', auth.text_field_error(args, 'name', TRUE, 200),
        'address', CASE
            WHEN address IS NULL OR jsonb_typeof(address) = 'null' THEN 'is required'
            WHEN jsonb_typeof(address) <> 'object'
                THEN 'must be an object with line1, line2 (optional), city, postal_code and country'
        END,
        'latitude', CASE
            WHEN jsonb_typeof(args -> 'latitude') IS DISTINCT FROM 'number'
                THEN 'must be a number of degrees between -90 and 90'
            WHEN NOT (args ->> 'latitude')::numeric BETWEEN -90 AND 90
                THEN 'must be a number of degrees between -90 and 90'
        END,
        'longitude', CASE
            WHEN jsonb_typeof(args -> 'longitude') IS DISTINCT FROM 'number'
                THEN 'must be a number of degrees between -180 and 180'
            WHEN NOT (args ->> 'longitude')::numeric BETWEEN -180 AND 180
                THEN 'must be a number of degrees between -180 and 180'
        END,
        'pickup', CASE
            WHEN jsonb_typeof(args -> 'pickup') NOT IN ('boolean', 'null') THEN 'must be true or false'
        END,
        'listed', CASE
            WHEN jsonb_typeof(args -> 'listed') NOT IN ('boolean', 'null') THEN 'must be true or false'
        END
    ));
    IF jsonb_typeof(address) = 'object' THEN
        v_country := upper(btrim(address ->> 'country'));
        fields := fields || jsonb_strip_nulls(jsonb_build_object(
            'address.line1', auth.text_field_error(address, 'line1', TRUE, 200),
            'address.line2', auth.text_field_error(address, 'line2', FALSE, 200),
            'address.city', auth.text_field_error(address, 'city', TRUE, 100),
            'address.postal_code', auth.text_field_error(address, 'postal_code', TRUE, 20),
            'address.country', coalesce(
                auth.text_field_error(address, 'country', TRUE, 2),
                CASE
                    WHEN NOT EXISTS (SELECT FROM shop.countries AS c WHERE c.code = v_country)
                        THEN 'must be an ISO 3166-1 alpha-2 country code'
                END
            )
        ));
    END IF;
    IF fields <> '{}' THEN
        PERFORM shop.fail(
            422, 'validation_failed',
            jsonb_build_object('fields', fields),
            'Some fields are missing or invalid; see details.fields.'
        );
    END IF;

    BEGIN
        INSERT INTO shop.warehouses (
            code, name, line1, line2, city, postal_code, country, latitude, longitude, pickup, listed
        )
        VALUES (
            v_code,
            btrim(args ->> 'name'),
            btrim(address ->> 'line1'),
            nullif(btrim(address ->> 'line2'), ''),
            btrim(address ->> 'city'),
            btrim(address ->> 'postal_code'),
            v_country,
            (args ->> 'latitude')::double precision,
            (args ->> 'longitude')::double precision,
            coalesce((args ->> 'pickup')::boolean, FALSE),
            coalesce((args ->> 'listed')::boolean, TRUE)
        )
        RETURNING * INTO store;
    EXCEPTION WHEN unique_violation THEN
        PERFORM shop.fail(
            409, 'store_code_taken',
            jsonb_build_object('fields', jsonb_build_object('code', 'is already the code of another place')),
            'Codes are unique regardless of case; choose another code.'
        );
    END;
    RETURN shop.store_json(
        store.id, store.code, store.name, store.line1, store.line2, store.city, store.postal_code,
        store.country::text, store.latitude, store.longitude, store.pickup, NULL
    ) || jsonb_build_object('listed', store.listed);
END
$$;
COMMENT ON FUNCTION api.create_store(jsonb) IS
'Adds a place (catalog_manager): {code, name, address: {line1, line2?, city, postal_code, country}, '
'latitude, longitude, pickup? (default false), listed? (shown by GET /v1/stores; default true)} -> the '
'store {id, code, name, address, latitude, longitude, pickup, distance_km: null, listed}. 422 '
'validation_failed with details.fields (address members as address.line1 ...); 409 store_code_taken when '
'the code (in any case) is used.';
REVOKE ALL ON FUNCTION api.create_store(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.create_store(jsonb) TO catalog_manager;
