-- Stores near me: the store columns of shop.warehouses and their constraints, who sees and writes which
-- places (RLS per role), nearest-first answers from the GiST index (the plan), distances against a known
-- pair of cities, and the two API functions.
BEGIN;
SELECT plan(61);

-- == structure ======================================================================================
SELECT ok(
    (SELECT extnamespace = 'extensions'::regnamespace FROM pg_extension WHERE extname = 'cube'),
    'cube is installed in schema extensions'
);
SELECT ok(
    (SELECT extnamespace = 'extensions'::regnamespace FROM pg_extension WHERE extname = 'earthdistance'),
    'earthdistance is installed in schema extensions'
);
SELECT policies_are('shop', 'warehouses', ARRAY[
    'warehouses_owner_all', 'warehouses_select_staff', 'warehouses_select_listed',
    'warehouses_insert_catalog_manager', 'warehouses_update_catalog_manager', 'warehouses_update_inventory_manager'
]);
SELECT is(
    (SELECT am.amname::text FROM pg_class AS c INNER JOIN pg_am AS am ON c.relam = am.oid
     WHERE c.oid = 'shop.warehouses_listed_location_idx'::regclass),
    'gist', 'the position index is a GiST index'
);
SELECT is(
    (SELECT pg_get_expr(i.indpred, i.indrelid) FROM pg_index AS i
     WHERE i.indexrelid = 'shop.warehouses_listed_location_idx'::regclass),
    'listed', 'it holds the listed places only'
);
SELECT ok(
    EXISTS (
        SELECT FROM pg_index AS i
        WHERE i.indrelid = 'shop.warehouses'::regclass AND i.indpred IS NULL
            AND i.indkey[0] = (SELECT attnum FROM pg_attribute
                               WHERE attrelid = 'shop.warehouses'::regclass AND attname = 'listed')
    ),
    'warehouses.listed (policy column) leads an index'
);

-- == demo stores ====================================================================================
SELECT lives_ok('SELECT shop.load_demo_stores()', 'the demo stores load (or are there already)');
SELECT is(
    (SELECT array_agg(code ORDER BY code) FROM shop.warehouses
     WHERE listed AND pickup AND code IN (
         'AMS-1', 'BER-1', 'BER-2', 'HAM-1', 'LON-1', 'MAD-1', 'MUC-1', 'NYC-1', 'PAR-1', 'PAR-2', 'VIE-1'
     )),
    ARRAY['AMS-1', 'BER-1', 'BER-2', 'HAM-1', 'LON-1', 'MAD-1', 'MUC-1', 'NYC-1', 'PAR-1', 'VIE-1'],
    'ten listed pickup stores; the Paris shop that is not open yet is not listed'
);
SELECT is(
    (SELECT s.code FROM shop.stores_near(48.2085, 16.3731, 1) AS s), 'VIE-1',
    'the nearest store to Stephansplatz is the Vienna one'
);
SELECT is(
    shop.load_demo_stores(), 0, 'loading the demo stores again adds nothing'
);

-- Only the test's places are public from here on.
UPDATE shop.warehouses SET listed = FALSE, pickup = FALSE;

-- == fixture ========================================================================================
-- Berlin and Paris city centres, a hidden shop next door to the Berlin one, a plain warehouse.
INSERT INTO shop.warehouses (
    id, code, name, line1, city, postal_code, country, latitude, longitude, pickup, listed
) VALUES
('e1000000-0000-4000-8000-000000000001', 'TST10-BER', 'Tst10 Berlin', 'Unter den Linden 1', 'Berlin',
    '10117', 'DE', 52.5200, 13.4050, TRUE, TRUE),
('e1000000-0000-4000-8000-000000000002', 'TST10-PAR', 'Tst10 Paris', '1 Rue de Rivoli', 'Paris',
    '75001', 'FR', 48.8566, 2.3522, FALSE, TRUE),
('e1000000-0000-4000-8000-000000000003', 'TST10-HID', 'Tst10 Hidden', 'Unter den Linden 2', 'Berlin',
    '10117', 'DE', 52.5201, 13.4051, FALSE, FALSE);
INSERT INTO shop.warehouses (id, code, name) VALUES
('e1000000-0000-4000-8000-000000000004', 'tst10-wh', 'Tst10 warehouse');

-- == constraints ====================================================================================
SELECT throws_ok(
    $$INSERT INTO shop.warehouses (code, name, latitude, longitude) VALUES ('TST10-X1', 'x', 90.5, 0)$$,
    '23514', NULL, 'latitude stays within -90..90'
);
SELECT throws_ok(
    $$INSERT INTO shop.warehouses (code, name, latitude, longitude) VALUES ('TST10-X2', 'x', 0, -180.01)$$,
    '23514', NULL, 'longitude stays within -180..180'
);
SELECT throws_ok(
    $$INSERT INTO shop.warehouses (code, name, latitude, longitude) VALUES ('TST10-X3', 'x', 'NaN', 0)$$,
    '23514', NULL, 'NaN is not a latitude'
);
SELECT throws_ok(
    $$INSERT INTO shop.warehouses (code, name, latitude) VALUES ('TST10-X4', 'x', 10)$$,
    '23514', NULL, 'a latitude needs a longitude'
);
SELECT throws_ok(
    $$INSERT INTO shop.warehouses (code, name, latitude, longitude, listed)
      VALUES ('TST10-X5', 'x', 10, 10, TRUE)$$,
    '23514', NULL, 'a listed place needs an address'
);
SELECT throws_ok(
    $$INSERT INTO shop.warehouses (code, name, line1, city, postal_code, country, pickup)
      VALUES ('TST10-X6', 'x', 'a', 'b', 'c', 'DE', TRUE)$$,
    '23514', NULL, 'a pickup store needs coordinates'
);
SELECT throws_ok(
    $$INSERT INTO shop.warehouses (code, name, country) VALUES ('TST10-X7', 'x', 'ZZ')$$,
    '23503', NULL, 'countries are ISO 3166-1 alpha-2 codes from shop.countries'
);
SELECT throws_ok(
    $$INSERT INTO shop.warehouses (code, name) VALUES ('tst10-ber', 'x')$$,
    '23505', NULL, 'codes are unique regardless of case'
);
SELECT throws_ok(
    $$INSERT INTO shop.warehouses (code, name) VALUES ('TST10 X', 'x')$$,
    '23514', NULL, 'codes are letters and digits in hyphen-separated groups'
);
SELECT is(
    (SELECT count(*) FROM shop.warehouses WHERE code = 'tst10-wh' AND latitude IS NULL AND NOT listed),
    1::bigint, 'a warehouse that only holds stock needs neither address nor position'
);

-- == distances ======================================================================================
-- Berlin (52.5200 N, 13.4050 E) to Paris (48.8566 N, 2.3522 E): 879.70 km on the WGS 84 ellipsoid
-- (Vincenty's inverse formula); earthdistance's sphere (radius 6378.168 km) gives 878.45 km, 0.14 % short.
SELECT ok(
    abs(
        extensions.earth_distance(shop.earth_point(52.5200, 13.4050), shop.earth_point(48.8566, 2.3522)) / 1000 - 879.70
    ) < 879.70 * 0.007,
    'Berlin-Paris is within the documented 0.7 % of the ellipsoidal distance'
);
SELECT ok(
    abs(
        extensions.earth_distance(shop.earth_point(52.5200, 13.4050), shop.earth_point(48.8566, 2.3522)) / 1000
        - 2 * 6378.168 * asin(sqrt(
            sin(radians(48.8566 - 52.5200) / 2) ^ 2
            + cos(radians(52.5200)) * cos(radians(48.8566)) * sin(radians(2.3522 - 13.4050) / 2) ^ 2
        ))
    ) < 0.001,
    'and to the metre the haversine distance on a sphere of radius 6378.168 km'
);
SELECT is(
    extensions.earth_distance(shop.earth_point(10, 20), shop.earth_point(10, 20)), 0::double precision,
    'a place is 0 km from itself'
);

-- == anonymous callers ==============================================================================
SET LOCAL ROLE postcart_anon;
SELECT set_config('request.claims', '{}', TRUE);
SELECT is(
    (SELECT array_agg(code ORDER BY code) FROM shop.warehouses), ARRAY['TST10-BER', 'TST10-PAR'],
    'anon sees only listed places'
);
SELECT throws_ok('SELECT created_at FROM shop.warehouses', '42501', NULL, 'anon reads only the public columns');
SELECT throws_ok(
    $$INSERT INTO shop.warehouses (code, name) VALUES ('TST10-ANON', 'x')$$, '42501', NULL,
    'anon cannot add places'
);
SELECT throws_ok(
    $$UPDATE shop.warehouses SET name = 'hacked'$$, '42501', NULL, 'anon cannot change places'
);
SELECT is(
    (SELECT array_agg(x ->> 'code') FROM jsonb_array_elements(
        api.list_stores('{"near": "52.52,13.405"}') -> 'items'
    ) AS x),
    ARRAY['TST10-BER', 'TST10-PAR'],
    'list_stores near Berlin: Berlin first, then Paris; the hidden shop next door is not listed'
);
SELECT is(
    (SELECT array_agg((x ->> 'distance_km')::numeric) FROM jsonb_array_elements(
        api.list_stores('{"near": "48.8566, 2.3522"}') -> 'items'
    ) AS x),
    ARRAY[
        0::numeric,
        round((
            extensions.earth_distance(shop.earth_point(52.5200, 13.4050), shop.earth_point(48.8566, 2.3522)) / 1000
        )::numeric, 3)
    ],
    'near Paris: Paris at 0 km, then Berlin at its distance rounded to metres'
);
SELECT is(
    api.list_stores('{"near": "52.52,13.405", "limit": "1"}'),
    jsonb_build_object('items', jsonb_build_array(jsonb_build_object(
        'id', 'e1000000-0000-4000-8000-000000000001', 'code', 'TST10-BER', 'name', 'Tst10 Berlin',
        'address', jsonb_build_object(
            'line1', 'Unter den Linden 1', 'line2', NULL, 'city', 'Berlin', 'postal_code', '10117', 'country', 'DE'
        ),
        'latitude', 52.52, 'longitude', 13.405, 'pickup', TRUE, 'distance_km', 0
    )), 'next_cursor', NULL),
    'limit bounds the nearest list; an item has id, code, name, address, latitude, longitude, pickup, distance_km'
);
SELECT is(
    api.list_stores('{"limit": "1"}') -> 'items' -> 0 ->> 'code', 'TST10-BER',
    'without near: by name (Berlin before Paris)'
);
SELECT is(
    api.list_stores(jsonb_build_object(
        'limit', '1', 'cursor', api.list_stores('{"limit": "1"}') ->> 'next_cursor'
    )),
    jsonb_build_object('items', jsonb_build_array((api.list_stores('{}') -> 'items') -> 1), 'next_cursor', NULL),
    'the next page by name holds Paris and ends the list'
);
SELECT ok(
    (SELECT bool_and(x -> 'distance_km' = 'null') FROM jsonb_array_elements(api.list_stores('{}') -> 'items') AS x),
    'without near there is no distance'
);
SELECT throws_ok(
    $$SELECT api.list_stores('{"near": "berlin"}')$$, 'PT400', 'validation_failed', 'near must be two numbers'
);
SELECT throws_ok(
    $$SELECT api.list_stores('{"near": "52.52"}')$$, 'PT400', 'validation_failed', 'one number is not a position'
);
SELECT throws_ok(
    $$SELECT api.list_stores('{"near": "90.01,0"}')$$, 'PT400', 'validation_failed', 'a latitude past a pole'
);
SELECT throws_ok(
    $$SELECT api.list_stores('{"near": "0,-180.5"}')$$, 'PT400', 'validation_failed', 'a longitude out of range'
);
SELECT throws_ok(
    $$SELECT api.list_stores('{"limit": "101"}')$$, 'PT400', 'validation_failed', 'limit at most 100'
);
SELECT throws_ok(
    $$SELECT api.create_store('{"code": "TST10-A"}')$$, '42501', NULL, 'anon cannot call create_store'
);
RESET ROLE;

-- == customers ======================================================================================
SET LOCAL ROLE postcart_customer;
SELECT set_config('request.claims', '{"sub": "00000000-0000-4000-8000-000000000000"}', TRUE);
SELECT is(
    (SELECT array_agg(code ORDER BY code) FROM shop.warehouses), ARRAY['TST10-BER', 'TST10-PAR'],
    'a customer sees only listed places'
);
SELECT throws_ok(
    $$INSERT INTO shop.warehouses (code, name) VALUES ('TST10-CUST', 'x')$$, '42501', NULL,
    'a customer cannot add places'
);
SELECT throws_ok(
    $$SELECT api.create_store('{"code": "TST10-C"}')$$, '42501', NULL, 'a customer cannot call create_store'
);
RESET ROLE;

-- == staff ==========================================================================================
-- Staff members' roles as auth.create_staff makes them: postcart_staff plus permission roles.
CREATE ROLE tst10_catalog NOLOGIN;
GRANT postcart_staff, catalog_manager TO tst10_catalog;
CREATE ROLE tst10_support NOLOGIN;
GRANT postcart_staff, support_agent TO tst10_support;
CREATE ROLE tst10_admin NOLOGIN;
GRANT postcart_staff, store_admin TO tst10_admin;

SET LOCAL ROLE tst10_support;
SELECT is(
    (SELECT count(*) FROM shop.warehouses WHERE code ILIKE 'tst10-%'), 4::bigint,
    'staff see every place, listed or not'
);
SELECT throws_ok(
    $$INSERT INTO shop.warehouses (code, name) VALUES ('TST10-SUP', 'x')$$, '42501', NULL,
    'a support agent cannot add places'
);
SELECT throws_ok(
    $$SELECT api.create_store('{"code": "TST10-S"}')$$, '42501', NULL, 'a support agent cannot call create_store'
);
SELECT is(
    (SELECT array_agg(x ->> 'code')
     FROM jsonb_array_elements(api.list_stores('{"near": "52.52,13.405"}') -> 'items') AS x),
    ARRAY['TST10-BER', 'TST10-PAR'],
    'the public list is the same for staff: listed places only'
);
RESET ROLE;

SET LOCAL ROLE tst10_admin;
SELECT throws_ok(
    $$SELECT api.create_store('{"code": "TST10-ADM"}')$$, '42501', NULL, 'a store admin cannot call create_store'
);
RESET ROLE;

SET LOCAL ROLE tst10_catalog;
SELECT is(
    api.create_store(jsonb_build_object(
        'code', 'TST10-LON', 'name', ' Tst10 London ', 'latitude', 51.5072, 'longitude', -0.1276, 'pickup', TRUE,
        'address', jsonb_build_object(
            'line1', '1 Strand', 'line2', '', 'city', 'London', 'postal_code', 'WC2N 5HR', 'country', 'gb'
        )
    )) - 'id',
    jsonb_build_object(
        'code', 'TST10-LON', 'name', 'Tst10 London', 'latitude', 51.5072, 'longitude', -0.1276, 'pickup', TRUE,
        'listed', TRUE, 'distance_km', NULL,
        'address', jsonb_build_object(
            'line1', '1 Strand', 'line2', NULL, 'city', 'London', 'postal_code', 'WC2N 5HR', 'country', 'GB'
        )
    ),
    'a catalog manager adds a store: trimmed, country upper-cased, listed by default'
);
SELECT is(
    (SELECT listed AND pickup FROM shop.warehouses WHERE code = 'TST10-LON'), TRUE, 'the row is listed, with pickup'
);
SELECT throws_ok(
    $$SELECT api.create_store(jsonb_build_object(
        'code', 'tst10-lon', 'name', 'Again', 'latitude', 1, 'longitude', 1,
        'address', jsonb_build_object('line1', 'a', 'city', 'b', 'postal_code', 'c', 'country', 'GB')))$$,
    'PT409', 'store_code_taken', 'a code in use (in any case) is 409'
);
SELECT throws_ok(
    $$SELECT api.create_store('{"code": "no spaces", "latitude": 95, "longitude": "east",
        "address": {"city": "", "country": "Germany"}}')$$,
    'PT422', 'validation_failed', 'bad fields are 422'
);
CREATE TEMP TABLE tst10_error (details jsonb);
DO $$
BEGIN
    PERFORM api.create_store('{"code": "no spaces", "latitude": 95, "longitude": "east", "pickup": "yes",
        "address": {"city": "", "country": "Germany"}}');
EXCEPTION WHEN SQLSTATE 'PT422' THEN
    DECLARE d text;
    BEGIN
        GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
        INSERT INTO tst10_error VALUES (d::jsonb);
    END;
END
$$;
SELECT is(
    (SELECT array_agg(k ORDER BY k) FROM tst10_error, jsonb_object_keys(details -> 'fields') AS k),
    ARRAY[
        'address.city', 'address.country', 'address.line1', 'address.postal_code', 'code', 'latitude',
        'longitude', 'name', 'pickup'
    ],
    'details.fields names every bad field, address members as address.<member>'
);
SELECT throws_ok(
    $$SELECT api.create_store('{"code": "TST10-NOADDR", "name": "x", "latitude": 1, "longitude": 1}')$$,
    'PT422', 'validation_failed', 'the address is required'
);
SELECT lives_ok(
    $$UPDATE shop.warehouses SET name = 'Tst10 London Strand' WHERE code = 'TST10-LON'$$,
    'a catalog manager renames a place'
);
SELECT throws_ok(
    $$UPDATE shop.warehouses SET code = 'TST10-LON2' WHERE code = 'TST10-LON'$$, '42501', NULL,
    'codes are stable: nobody but the owner changes them'
);
SELECT throws_ok(
    $$DELETE FROM shop.warehouses WHERE code = 'TST10-LON'$$, '42501', NULL, 'places are not deleted over the API roles'
);
RESET ROLE;
SELECT is(
    (SELECT name FROM shop.warehouses WHERE code = 'TST10-LON'), 'Tst10 London Strand', 'the rename took'
);

-- == the plan: nearest first from the GiST index ====================================================
-- Two thousand more listed places on a grid over Europe, with statistics, so the planner chooses freely.
INSERT INTO shop.warehouses (code, name, line1, city, postal_code, country, latitude, longitude, listed)
SELECT 'TST10-G' || g, 'Tst10 grid ' || g, 'Street ' || g, 'Town', '1000', 'DE', 35 + (g / 50) * 0.5,
    -10 + (g % 50) * 0.8, TRUE
FROM generate_series(0, 1999) AS g;
ANALYZE shop.warehouses;

CREATE FUNCTION pg_temp.tst10_plan(query text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    result jsonb;
BEGIN
    EXECUTE 'EXPLAIN (FORMAT JSON) ' || query INTO result;
    RETURN result;
END
$$;

SET LOCAL ROLE postcart_anon;
SELECT ok(
    jsonb_path_exists(
        pg_temp.tst10_plan('SELECT * FROM shop.stores_near(52.52, 13.405, 5)'),
        '$.** ? (@."Node Type" == "Index Scan" && @."Index Name" == "warehouses_listed_location_idx"
                 && @."Order By" like_regex "<->")'
    ),
    'as anon, the five nearest come from a KNN scan of warehouses_listed_location_idx (ordered by <->)'
);
SELECT ok(
    NOT jsonb_path_exists(
        pg_temp.tst10_plan('SELECT * FROM shop.stores_near(52.52, 13.405, 5)'), '$.** ? (@."Node Type" == "Sort")'
    ),
    'and nothing is sorted after the scan'
);
SELECT is(
    (SELECT array_agg(s.code) FROM shop.stores_near(52.52, 13.405, 3) AS s),
    (SELECT array_agg(code) FROM (
        SELECT w.code FROM shop.warehouses AS w
        ORDER BY extensions.earth_distance(shop.earth_point(w.latitude, w.longitude), shop.earth_point(52.52, 13.405))
        LIMIT 3
    ) AS by_distance),
    'the index order is the order of great-circle distance'
);
RESET ROLE;
SET LOCAL ROLE postcart_customer;
SELECT ok(
    jsonb_path_exists(
        pg_temp.tst10_plan('SELECT * FROM shop.stores_near(-33.9, 18.4, 20)'),
        '$.** ? (@."Index Name" == "warehouses_listed_location_idx")'
    ),
    'the same plan for a customer'
);
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
