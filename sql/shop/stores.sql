-- Stores near me: the nearest-first search over shop.warehouses (migration 0010) and the JSON shape of a
-- store. SECURITY INVOKER throughout: the RLS policies of shop.warehouses decide what a caller sees.

-- == triggers ========================================================================================
CREATE OR REPLACE TRIGGER _900_updated_at
BEFORE UPDATE ON shop.warehouses
FOR EACH ROW EXECUTE FUNCTION shop.tg__set_updated_at();

-- == distance ========================================================================================
CREATE OR REPLACE FUNCTION shop.distance_km(a extensions.earth, b extensions.earth)
RETURNS double precision
LANGUAGE sql
IMMUTABLE
STRICT
PARALLEL SAFE
-- earthdistance 1.1 looks cube_distance up through the search_path: pinned here, like shop.earth_point.
SET search_path = pg_catalog, extensions, pg_temp
AS $$
    SELECT extensions.earth_distance(a, b) / 1000
$$;
COMMENT ON FUNCTION shop.distance_km(extensions.earth, extensions.earth) IS
'Great-circle distance between two points of shop.earth_point, in kilometres, on earthdistance''s sphere '
'(radius extensions.earth() = 6,378.168 km). Returns double precision.';
REVOKE ALL ON FUNCTION shop.distance_km(extensions.earth, extensions.earth) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.distance_km(extensions.earth, extensions.earth) TO postcart_anon;
GRANT EXECUTE ON FUNCTION shop.distance_km(extensions.earth, extensions.earth) TO postcart_customer;
GRANT EXECUTE ON FUNCTION shop.distance_km(extensions.earth, extensions.earth) TO postcart_staff;

-- == nearest first ===================================================================================
-- A plain SQL function (no SET, STABLE, one SELECT), so PostgreSQL inlines it into the caller's query and
-- the ORDER BY ... <-> ... LIMIT runs as a KNN scan of warehouses_listed_earth_idx. The chord distance
-- <-> orders exactly as the great-circle distance does (it grows with it), so the index's order is the
-- answer's order.
CREATE OR REPLACE FUNCTION shop.stores_near(
    origin_latitude double precision, origin_longitude double precision, max_rows integer
)
RETURNS TABLE (
    id uuid,
    code text,
    name text,
    line1 text,
    line2 text,
    city text,
    postal_code text,
    country text,
    latitude double precision,
    longitude double precision,
    pickup boolean,
    distance_km double precision
)
LANGUAGE sql
STABLE
AS $$
    SELECT
        w.id,
        w.code,
        w.name,
        w.line1,
        w.line2,
        w.city,
        w.postal_code,
        w.country::text,
        w.latitude,
        w.longitude,
        w.pickup,
        shop.distance_km(
            shop.earth_point(w.latitude, w.longitude), shop.earth_point(origin_latitude, origin_longitude)
        )
    FROM shop.warehouses AS w
    WHERE w.listed
    ORDER BY
        shop.earth_point(w.latitude, w.longitude)
        OPERATOR(extensions.<->) shop.earth_point(origin_latitude, origin_longitude)
    LIMIT max_rows
$$;
COMMENT ON FUNCTION shop.stores_near(double precision, double precision, integer) IS
'The max_rows listed places nearest to a latitude and longitude (degrees), nearest first, through the GiST '
'index warehouses_listed_earth_idx; rows the caller may not see are left out by RLS. Returns (id, code, '
'name, line1, line2, city, postal_code, country, latitude, longitude, pickup, distance_km).';
REVOKE ALL ON FUNCTION shop.stores_near(double precision, double precision, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.stores_near(double precision, double precision, integer) TO postcart_anon;
GRANT EXECUTE ON FUNCTION shop.stores_near(double precision, double precision, integer) TO postcart_customer;
GRANT EXECUTE ON FUNCTION shop.stores_near(double precision, double precision, integer) TO postcart_staff;

-- == JSON ============================================================================================
CREATE OR REPLACE FUNCTION shop.store_json(
    id uuid, code text, name text, line1 text, line2 text, city text, postal_code text, country text,
    latitude double precision, longitude double precision, pickup boolean, distance_km double precision
)
RETURNS jsonb
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT jsonb_build_object(
        'id', id,
        'code', code,
        'name', name,
        'address', jsonb_build_object(
            'line1', line1, 'line2', line2, 'city', city, 'postal_code', postal_code, 'country', country
        ),
        'latitude', latitude,
        'longitude', longitude,
        'pickup', pickup,
        -- to the metre
        'distance_km', round(distance_km::numeric, 3)
    )
$$;
COMMENT ON FUNCTION shop.store_json(
    uuid, text, text, text, text, text, text, text, double precision, double precision, boolean, double precision
) IS
'A store as the API shows it: returns {id, code, name, address: {line1, line2, city, postal_code, '
'country}, latitude, longitude, pickup, distance_km} (distance_km rounded to metres; null when no '
'position was given).';
REVOKE ALL ON FUNCTION shop.store_json(
    uuid, text, text, text, text, text, text, text, double precision, double precision, boolean, double precision
) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.store_json(
    uuid, text, text, text, text, text, text, text, double precision, double precision, boolean, double precision
) TO postcart_anon;
GRANT EXECUTE ON FUNCTION shop.store_json(
    uuid, text, text, text, text, text, text, text, double precision, double precision, boolean, double precision
) TO postcart_customer;
GRANT EXECUTE ON FUNCTION shop.store_json(
    uuid, text, text, text, text, text, text, text, double precision, double precision, boolean, double precision
) TO postcart_staff;
