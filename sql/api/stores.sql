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
CREATE OR REPLACE FUNCTION shop.store_problems(args jsonb, creating boolean)
RETURNS jsonb
LANGUAGE sql
STABLE
AS $$
    -- Creating: every member is required but line2, pickup and listed. Changing: only the members sent are
    -- checked, and the code cannot change.
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'code', CASE
            WHEN NOT creating THEN CASE WHEN args ? 'code' THEN 'cannot be changed: codes are stable' END
            ELSE coalesce(
                auth.text_field_error(args, 'code', TRUE, 32),
                CASE WHEN btrim(args ->> 'code') !~ '^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$'
                    THEN 'must be letters and digits in groups joined by hyphens, such as BER-1' END
            )
        END,
        'name', auth.text_field_error(args, 'name', creating OR args ? 'name', 200),
        'address', CASE
            WHEN NOT creating AND NOT args ? 'address' THEN NULL
            WHEN creating AND coalesce(jsonb_typeof(args -> 'address'), 'null') = 'null' THEN 'is required'
            WHEN jsonb_typeof(args -> 'address') IS DISTINCT FROM 'object' THEN CASE
                WHEN creating THEN 'must be an object with line1, line2 (optional), city, postal_code and country'
                ELSE 'must be an object with any of line1, line2, city, postal_code and country'
            END
        END,
        'latitude', CASE
            WHEN NOT creating AND NOT args ? 'latitude' THEN NULL
            WHEN jsonb_typeof(args -> 'latitude') IS DISTINCT FROM 'number'
                THEN 'must be a number of degrees between -90 and 90'
            WHEN NOT (args ->> 'latitude')::numeric BETWEEN -90 AND 90
                THEN 'must be a number of degrees between -90 and 90'
        END,
        'longitude', CASE
            WHEN NOT creating AND NOT args ? 'longitude' THEN NULL
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
    )) || CASE WHEN jsonb_typeof(args -> 'address') = 'object' THEN jsonb_strip_nulls(jsonb_build_object(
        'address.line1', auth.text_field_error(args -> 'address', 'line1', creating OR args -> 'address' ? 'line1', 200),
        'address.line2', auth.text_field_error(args -> 'address', 'line2', FALSE, 200),
        'address.city', auth.text_field_error(args -> 'address', 'city', creating OR args -> 'address' ? 'city', 100),
        'address.postal_code', auth.text_field_error(
            args -> 'address', 'postal_code', creating OR args -> 'address' ? 'postal_code', 20
        ),
        'address.country', CASE WHEN creating OR args -> 'address' ? 'country' THEN coalesce(
            auth.text_field_error(args -> 'address', 'country', TRUE, 2),
            CASE
                WHEN NOT EXISTS (
                    SELECT FROM shop.countries AS c WHERE c.code = upper(btrim(args -> 'address' ->> 'country'))
                ) THEN 'must be an ISO 3166-1 alpha-2 country code'
            END
        ) END
    )) ELSE '{}' END
$$;
COMMENT ON FUNCTION shop.store_problems(jsonb, boolean) IS
'Validates the members of POST /v1/admin/stores (creating) or PATCH /v1/admin/stores/{id}: {code, name, '
'address: {line1, line2, city, postal_code, country}, latitude, longitude, pickup, listed}. Returns '
'{member: reason} (address members as address.line1 ...), empty when fine.';
REVOKE ALL ON FUNCTION shop.store_problems(jsonb, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.store_problems(jsonb, boolean) TO catalog_manager;

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
    fields := shop.store_problems(args, TRUE);
    v_country := upper(btrim(address ->> 'country'));
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

-- == GET /v1/admin/stores ============================================================================
CREATE OR REPLACE FUNCTION shop.admin_store_json(p_id uuid)
RETURNS jsonb
LANGUAGE sql
STABLE
AS $$
    SELECT shop.store_json(
        w.id, w.code, w.name, w.line1, w.line2, w.city, w.postal_code, w.country::text, w.latitude, w.longitude,
        w.pickup, NULL
    ) || jsonb_build_object('listed', w.listed, 'updated_at', auth.to_rfc3339(w.updated_at))
    FROM shop.warehouses AS w
    WHERE w.id = p_id
$$;
COMMENT ON FUNCTION shop.admin_store_json(uuid) IS
'A place as staff see it: shop.store_json (distance_km null) plus listed and updated_at; NULL when unknown. '
'Returns jsonb.';
REVOKE ALL ON FUNCTION shop.admin_store_json(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.admin_store_json(uuid) TO postcart_staff;

CREATE OR REPLACE FUNCTION api.admin_list_stores(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    page_size integer;
    after_name text;
    after_id uuid;
    result jsonb;
BEGIN
    SELECT k.page_size, k.after_name, k.after_id INTO page_size, after_name, after_id FROM shop.name_keyset(args) AS k;

    -- Every place, listed or not (the staff policy shows them all), by name: index warehouses_name_id_idx.
    WITH page AS (
        SELECT w.id, w.name, row_number() OVER (ORDER BY w.name, w.id) AS n
        FROM shop.warehouses AS w
        WHERE after_id IS NULL OR (w.name, w.id) > (after_name, after_id)
        ORDER BY w.name, w.id
        LIMIT page_size + 1
    )

    SELECT jsonb_build_object(
        'items', coalesce((
            SELECT jsonb_agg(shop.admin_store_json(page.id) ORDER BY page.n) FROM page WHERE page.n <= page_size
        ), '[]'),
        'next_cursor', (
            SELECT shop.encode_cursor(jsonb_build_object('name', page.name, 'id', page.id))
            FROM page
            WHERE page.n = page_size AND EXISTS (SELECT FROM page AS more WHERE more.n > page_size)
        )
    )
    INTO result;
    RETURN result;
END
$$;
COMMENT ON FUNCTION api.admin_list_stores(jsonb) IS
'GET /v1/admin/stores (catalog_manager): every place (stores and warehouses, listed or not) by name, in '
'keyset pages (limit 1..100, default 20; cursor). Returns {items: [{id, code, name, address, latitude, '
'longitude, pickup, distance_km: null, listed, updated_at}], next_cursor}; a fulfilment centre may have '
'no address or position (nulls). Errors: PT400 validation_failed, PT400 invalid_cursor.';
REVOKE ALL ON FUNCTION api.admin_list_stores(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.admin_list_stores(jsonb) TO catalog_manager;

-- == PATCH /v1/admin/stores/{id} =====================================================================
CREATE OR REPLACE FUNCTION api.update_store(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    address jsonb := args -> 'address';
    v_country text := upper(btrim(args -> 'address' ->> 'country'));
    fields jsonb;
    broken text;
    store_id uuid;
BEGIN
    SELECT w.id INTO store_id FROM shop.warehouses AS w WHERE w.id = shop.uuid_or_null(args ->> 'id') FOR UPDATE;
    IF store_id IS NULL THEN
        PERFORM shop.fail(404, 'store_not_found', jsonb_build_object('id', args ->> 'id'), 'There is no place with this id.');
    END IF;
    -- Only the members sent are checked and changed; address members likewise (line2 null clears it).
    fields := shop.store_problems(args - 'id', FALSE);
    IF fields <> '{}' THEN
        PERFORM shop.fail(
            422, 'validation_failed', jsonb_build_object('fields', fields),
            'Some fields are missing or invalid; see details.fields.'
        );
    END IF;

    BEGIN
        UPDATE shop.warehouses AS w SET
            name = CASE WHEN args ? 'name' THEN btrim(args ->> 'name') ELSE w.name END,
            line1 = CASE WHEN address ? 'line1' THEN btrim(address ->> 'line1') ELSE w.line1 END,
            line2 = CASE WHEN address ? 'line2' THEN nullif(btrim(address ->> 'line2'), '') ELSE w.line2 END,
            city = CASE WHEN address ? 'city' THEN btrim(address ->> 'city') ELSE w.city END,
            postal_code = CASE WHEN address ? 'postal_code' THEN btrim(address ->> 'postal_code') ELSE w.postal_code END,
            country = CASE WHEN address ? 'country' THEN v_country ELSE w.country END,
            latitude = CASE WHEN args ? 'latitude' THEN (args ->> 'latitude')::double precision ELSE w.latitude END,
            longitude = CASE WHEN args ? 'longitude' THEN (args ->> 'longitude')::double precision ELSE w.longitude END,
            pickup = coalesce((args ->> 'pickup')::boolean, w.pickup),
            listed = coalesce((args ->> 'listed')::boolean, w.listed)
        WHERE w.id = store_id;
    EXCEPTION WHEN check_violation THEN
        -- The row's rules (migration 0010) hold whoever writes; say which members break them.
        GET STACKED DIAGNOSTICS broken = CONSTRAINT_NAME;
        PERFORM shop.fail(
            422, 'validation_failed',
            jsonb_build_object('fields', CASE broken
                WHEN 'warehouses_coordinates_check' THEN jsonb_build_object(
                    'latitude', 'this place has no position yet: give latitude and longitude together',
                    'longitude', 'this place has no position yet: give latitude and longitude together'
                )
                WHEN 'warehouses_public_place_check' THEN jsonb_build_object(
                    CASE WHEN args ? 'listed' THEN 'listed' ELSE 'pickup' END,
                    'a listed or pickup place needs a full address (line1, city, postal_code, country) and a position'
                )
                ELSE jsonb_build_object('address', 'breaks the rule ' || broken)
            END),
            'Some fields are missing or invalid; see details.fields.'
        );
    END;
    -- A statement of its own: the STABLE reader sees the update from here on.
    RETURN shop.admin_store_json(store_id);
END
$$;
COMMENT ON FUNCTION api.update_store(jsonb) IS
'PATCH /v1/admin/stores/{id} (catalog_manager): any of {name, address: {line1?, line2?, city?, '
'postal_code?, country?} (members sent replace, line2 null clears), latitude, longitude, pickup, listed}; '
'absent members are unchanged; code never changes. A listed or pickup place keeps needing a full address '
'and a position. Returns the place as GET /v1/admin/stores lists it. Errors: PT404 store_not_found, PT422 '
'validation_failed (details.fields; address members as address.line1 ...).';
REVOKE ALL ON FUNCTION api.update_store(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.update_store(jsonb) TO catalog_manager;
