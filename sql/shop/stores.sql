-- Stores near me: the nearest-first search over shop.warehouses (migration 0010) and the JSON shape of a
-- store. SECURITY INVOKER throughout: the RLS policies of shop.warehouses decide what a caller sees.

-- == triggers ========================================================================================
CREATE OR REPLACE TRIGGER _900_updated_at
BEFORE UPDATE ON shop.warehouses
FOR EACH ROW EXECUTE FUNCTION shop.tg__set_updated_at();

-- == nearest first ===================================================================================
-- A plain SQL function (no SET, STABLE, one SELECT), so PostgreSQL inlines it into the caller's query and
-- the ORDER BY ... <-> ... LIMIT runs as a KNN scan of warehouses_listed_location_idx. The chord distance
-- <-> orders exactly as the great-circle distance does (it grows with it), so the index's order is the
-- answer's order. earthdistance 1.1 (PostgreSQL 15, 16) finds what earth_distance calls through the
-- search_path: callers need schema extensions on it, as the database's default path and every api
-- function's pinned path have.
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
        extensions.earth_distance(w.location, shop.earth_point(origin_latitude, origin_longitude)) / 1000
    FROM shop.warehouses AS w
    WHERE w.listed
    ORDER BY w.location OPERATOR(extensions.<->) shop.earth_point(origin_latitude, origin_longitude)
    LIMIT max_rows
$$;
COMMENT ON FUNCTION shop.stores_near(double precision, double precision, integer) IS
'The max_rows listed places nearest to a latitude and longitude (degrees), nearest first, through the GiST '
'index warehouses_listed_location_idx, with their great-circle distance in km; rows the caller may not '
'see are left out by RLS. Returns (id, code, name, line1, line2, city, postal_code, country, latitude, '
'longitude, pickup, distance_km).';
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
-- STABLE like jsonb_build_object, so PostgreSQL inlines it into the caller's query.
STABLE
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
