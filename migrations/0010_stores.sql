-- Stores near me: shop.warehouses, the one table of places that hold stock, also describes the places a
-- customer may visit. A place gets an address, coordinates, `pickup` (orders can be collected there) and
-- `listed` (shown by GET /v1/stores). Its point on the earth (earthdistance's ll_to_earth, a cube) is a
-- stored generated column with a GiST index that answers nearest-first queries: the <-> operator on cube
-- orders an index scan by distance. Read and write functions live in sql/shop/stores.sql and
-- sql/api/stores.sql.
-- depends: 0003_catalog

-- Extensions are created by the migrating admin, in schema extensions like those of 0001.
CREATE EXTENSION IF NOT EXISTS cube SCHEMA extensions;
CREATE EXTENSION IF NOT EXISTS earthdistance SCHEMA extensions;

SET LOCAL ROLE postcart_owner;

-- == the function the stored point is computed by ================================================
-- earthdistance 1.1 (PostgreSQL 15 and 16) resolves cube() and the earth type through the search_path
-- each time ll_to_earth is inlined, so a column or index computed by ll_to_earth itself fails to take a
-- new row, rebuild or restore whenever schema extensions is not on the path (pg_restore, a maintenance
-- session). This wrapper pins the path and is never inlined (which costs some 60 microseconds a call:
-- hence a stored column rather than an expression read back per row). Its results are frozen in the
-- column, so it belongs to the stored schema.
CREATE FUNCTION shop.earth_point(latitude double precision, longitude double precision)
RETURNS extensions.earth
LANGUAGE sql
IMMUTABLE
STRICT
PARALLEL SAFE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
    SELECT extensions.ll_to_earth(latitude, longitude)
$$;
COMMENT ON FUNCTION shop.earth_point(double precision, double precision) IS
'The point on the earth''s surface at a latitude and longitude in degrees: extensions.ll_to_earth with '
'a pinned search_path (a sphere of radius extensions.earth() metres). Immutable, for the stored column '
'shop.warehouses.location. Returns extensions.earth (a 3-D cube point, metres from the earth''s centre).';
REVOKE ALL ON FUNCTION shop.earth_point(double precision, double precision) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.earth_point(double precision, double precision) TO postcart_anon;
GRANT EXECUTE ON FUNCTION shop.earth_point(double precision, double precision) TO postcart_customer;
GRANT EXECUTE ON FUNCTION shop.earth_point(double precision, double precision) TO postcart_staff;

-- == columns and constraints =======================================================================
-- Codes may now be written in upper case ("BER-1"); two codes that differ only in case are one code.
ALTER TABLE shop.warehouses DROP CONSTRAINT warehouses_code_check;
ALTER TABLE shop.warehouses
ADD CONSTRAINT warehouses_code_check CHECK (code ~ '^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$' AND length(code) <= 32),
ADD COLUMN line1 text,
ADD COLUMN line2 text,
ADD COLUMN city text,
ADD COLUMN postal_code text,
-- ISO 3166-1 alpha-2, checked by format (a table of countries may replace the check later).
ADD COLUMN country char(2),
ADD COLUMN latitude double precision,
ADD COLUMN longitude double precision,
ADD COLUMN location extensions.earth GENERATED ALWAYS AS (shop.earth_point(latitude, longitude)) STORED,
ADD COLUMN pickup boolean NOT NULL DEFAULT FALSE,
ADD COLUMN listed boolean NOT NULL DEFAULT FALSE,
ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(),
ADD CONSTRAINT warehouses_line1_check CHECK (char_length(btrim(line1)) BETWEEN 1 AND 200),
ADD CONSTRAINT warehouses_line2_check CHECK (char_length(btrim(line2)) BETWEEN 1 AND 200),
ADD CONSTRAINT warehouses_city_check CHECK (char_length(btrim(city)) BETWEEN 1 AND 100),
ADD CONSTRAINT warehouses_postal_code_check CHECK (char_length(btrim(postal_code)) BETWEEN 1 AND 20),
ADD CONSTRAINT warehouses_country_check CHECK (country ~ '^[A-Z]{2}$'),
-- NaN and infinities fail these too (NaN sorts above every number in PostgreSQL).
ADD CONSTRAINT warehouses_latitude_check CHECK (latitude BETWEEN -90 AND 90),
ADD CONSTRAINT warehouses_longitude_check CHECK (longitude BETWEEN -180 AND 180),
ADD CONSTRAINT warehouses_coordinates_check CHECK ((latitude IS NULL) = (longitude IS NULL)),
-- A place the public may visit (a pickup store, or anything listed) has a full address and a position.
ADD CONSTRAINT warehouses_public_place_check CHECK (
    NOT (pickup OR listed)
    OR (
        line1 IS NOT NULL AND city IS NOT NULL AND postal_code IS NOT NULL AND country IS NOT NULL
        AND latitude IS NOT NULL
    )
);

CREATE UNIQUE INDEX warehouses_code_upper_key ON shop.warehouses (upper(code));
-- Nearest first: a KNN scan of this index ordered by location <-> a point. Partial: only listed places
-- are ever searched by distance (and only they have to have coordinates).
CREATE INDEX warehouses_listed_location_idx ON shop.warehouses USING gist (location) WHERE listed;
-- The policy column (listed) leads; the list without a position is by name, keyset (name, id).
CREATE INDEX warehouses_listed_name_id_idx ON shop.warehouses (listed, name, id);

COMMENT ON TABLE shop.warehouses IS
'Places that hold stock: fulfilment centres, warehouses and shops. A place with listed = true is shown to '
'everyone by GET /v1/stores (anonymous callers and customers see only those rows); pickup = true means '
'customers may collect orders there. Either needs a full address and coordinates. Staff see all places; '
'catalog_manager adds and changes them.';
COMMENT ON COLUMN shop.warehouses.code IS
'Short stable identifier, letters and digits in hyphen-separated groups (BER-1, eu-central); unique '
'regardless of case.';
COMMENT ON COLUMN shop.warehouses.line1 IS 'Street address, first line.';
COMMENT ON COLUMN shop.warehouses.line2 IS 'Street address, second line (optional).';
COMMENT ON COLUMN shop.warehouses.city IS 'City or town.';
COMMENT ON COLUMN shop.warehouses.postal_code IS 'Postal code as the country writes it.';
COMMENT ON COLUMN shop.warehouses.country IS 'ISO 3166-1 alpha-2 country code, upper case (DE, FR, GB).';
COMMENT ON COLUMN shop.warehouses.latitude IS 'Degrees north (negative: south), -90 to 90, WGS 84.';
COMMENT ON COLUMN shop.warehouses.longitude IS 'Degrees east (negative: west), -180 to 180, WGS 84.';
COMMENT ON COLUMN shop.warehouses.location IS
'shop.earth_point(latitude, longitude): the place as a point of earthdistance''s sphere (a 3-D cube, '
'metres from the earth''s centre), for the GiST index and extensions.earth_distance. Generated.';
COMMENT ON COLUMN shop.warehouses.pickup IS 'Customers may collect orders here (a store open to the public).';
COMMENT ON COLUMN shop.warehouses.listed IS 'Shown publicly by GET /v1/stores.';
COMMENT ON COLUMN shop.warehouses.updated_at IS 'Last change of the row (set by a trigger).';

-- == row-level security ==============================================================================
-- O(1) per row: a column of the row itself.
CREATE POLICY warehouses_select_listed ON shop.warehouses
FOR SELECT TO postcart_anon, postcart_customer USING (listed);
CREATE POLICY warehouses_insert_catalog_manager ON shop.warehouses
FOR INSERT TO catalog_manager WITH CHECK (TRUE);
CREATE POLICY warehouses_update_catalog_manager ON shop.warehouses
FOR UPDATE TO catalog_manager USING (TRUE) WITH CHECK (TRUE);

-- == grants ==========================================================================================
GRANT SELECT (
    id, code, name, line1, line2, city, postal_code, country, latitude, longitude, location, pickup, listed
) ON shop.warehouses TO postcart_anon;
GRANT SELECT (
    id, code, name, line1, line2, city, postal_code, country, latitude, longitude, location, pickup, listed
) ON shop.warehouses TO postcart_customer;
GRANT SELECT (
    line1, line2, city, postal_code, country, latitude, longitude, location, pickup, listed, updated_at
) ON shop.warehouses TO postcart_staff;
-- The code is stable: set once, never updated through these grants.
GRANT INSERT (
    code, name, line1, line2, city, postal_code, country, latitude, longitude, pickup, listed
) ON shop.warehouses TO catalog_manager;
GRANT UPDATE (
    name, line1, line2, city, postal_code, country, latitude, longitude, pickup, listed
) ON shop.warehouses TO catalog_manager;

RESET ROLE;
